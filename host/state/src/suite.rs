//! The behaviour every backend must have, as test functions each backend's tests run on
//! a fresh store of its own: the same suite for the embedded file and for Redis, so the
//! two cannot drift apart.

use std::sync::Arc;

use berth_model::state::{Bucket, LIST_PAGE, StateQuota, StateStore, Usage};

fn quota() -> StateQuota {
    StateQuota::default()
}

fn kv(k: &str, v: &str) -> (String, Vec<u8>) {
    (k.to_string(), v.as_bytes().to_vec())
}

/// The text at `key`, if any.
pub(crate) async fn get(store: &dyn StateStore, bucket: &Bucket, key: &str) -> Option<String> {
    let keys = [key.to_string()];
    let values = store.get_many(bucket, &keys).await.unwrap();
    values[0].clone().map(|v| String::from_utf8(v).unwrap())
}

/// Two plugins' buckets of the same name are apart; counters count; deletes delete.
pub(crate) async fn buckets_are_per_plugin(store: &dyn StateStore) {
    let a = Bucket::new("alpha", "notes");
    let b = Bucket::new("beta", "notes");
    store
        .set_many(&a, quota(), vec![kv("k", "from alpha")])
        .await
        .unwrap();
    store
        .set_many(&b, quota(), vec![kv("k", "from beta")])
        .await
        .unwrap();
    assert_eq!(
        store.increment(&a, quota(), "n".into(), 2).await.unwrap(),
        2
    );
    assert_eq!(
        store.increment(&a, quota(), "n".into(), 40).await.unwrap(),
        42
    );
    assert_eq!(get(store, &a, "k").await.as_deref(), Some("from alpha"));
    assert_eq!(get(store, &b, "k").await.as_deref(), Some("from beta"));
    assert_eq!(get(store, &a, "n").await.as_deref(), Some("42"));
    let page = store.list_keys(&a, None).await.unwrap();
    assert_eq!(page.keys, ["k", "n"]);
    assert_eq!(page.cursor, None);
    store
        .delete_many(&a, vec!["k".into(), "gone".into()])
        .await
        .unwrap();
    assert_eq!(get(store, &a, "k").await, None);
    assert_eq!(get(store, &b, "k").await.as_deref(), Some("from beta"));
    let empty: [String; 0] = [];
    assert!(store.get_many(&a, &empty).await.unwrap().is_empty());
}

/// Counters hold decimal text; anything else, or a sum past u64, is refused unchanged.
pub(crate) async fn counters_are_exact(store: &dyn StateStore) {
    let bucket = Bucket::new("p", "c");
    let big = u64::MAX - 1;
    assert_eq!(
        store
            .increment(&bucket, quota(), "n".into(), big)
            .await
            .unwrap(),
        big
    );
    assert_eq!(
        store
            .increment(&bucket, quota(), "n".into(), 1)
            .await
            .unwrap(),
        u64::MAX
    );
    let err = store
        .increment(&bucket, quota(), "n".into(), 1)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("64 bits"), "{err}");
    store
        .set_many(&bucket, quota(), vec![kv("t", "x1")])
        .await
        .unwrap();
    let err = store
        .increment(&bucket, quota(), "t".into(), 1)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a decimal"), "{err}");
    store
        .set_many(&bucket, quota(), vec![kv("z", "007")])
        .await
        .unwrap();
    assert_eq!(
        store
            .increment(&bucket, quota(), "z".into(), 0)
            .await
            .unwrap(),
        7
    );
    assert_eq!(get(store, &bucket, "t").await.as_deref(), Some("x1"));
}

/// Usage counts keys plus values across a plugin's buckets; a write over a quota changes
/// nothing.
pub(crate) async fn quotas_refuse_the_whole_write(store: &dyn StateStore) {
    let bucket = Bucket::new("q", "b");
    let other = Bucket::new("q", "c");
    let small = StateQuota {
        max_bytes: 20,
        max_keys: 3,
        max_value_bytes: 8,
    };
    store
        .set_many(&bucket, small, vec![kv("a", "1234")])
        .await
        .unwrap();
    // Overwriting counts the new value instead of the old one.
    store
        .set_many(&bucket, small, vec![kv("a", "12345678")])
        .await
        .unwrap();
    assert_eq!(store.usage("q").await.unwrap(), Usage { bytes: 9, keys: 1 });
    let err = store
        .set_many(&other, small, vec![kv("b", "1234"), kv("c", "123456789")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("max_value_kb"), "{err}");
    let err = store
        .set_many(&other, small, vec![kv("b", "12345678"), kv("c", "12")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("max_mb"), "{err}");
    assert_eq!(get(store, &other, "b").await, None);
    // A key written twice in one batch counts once.
    store
        .set_many(
            &other,
            small,
            vec![kv("b", "1"), kv("b", "1"), kv("c", "2")],
        )
        .await
        .unwrap();
    assert_eq!(
        store.usage("q").await.unwrap(),
        Usage { bytes: 13, keys: 3 }
    );
    let err = store
        .increment(&other, small, "d".into(), 1)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("max_keys"), "{err}");
    store.delete_many(&bucket, vec!["a".into()]).await.unwrap();
    assert_eq!(store.usage("q").await.unwrap(), Usage { bytes: 4, keys: 2 });
    store
        .delete_many(&other, vec!["b".into(), "c".into()])
        .await
        .unwrap();
    assert_eq!(store.usage("q").await.unwrap(), Usage::default());
}

/// Writes and increments from many tasks at once all land, none counted twice.
pub(crate) async fn concurrent_writes_all_land(store: Arc<dyn StateStore>) {
    let bucket = Bucket::new("p", "b");
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (store, bucket) = (Arc::clone(&store), bucket.clone());
        tasks.push(tokio::spawn(async move {
            store
                .set_many(&bucket, quota(), vec![kv(&format!("k{i:02}"), "v")])
                .await
                .unwrap();
            store
                .increment(&bucket, quota(), "n".into(), 1)
                .await
                .unwrap()
        }));
    }
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=64).collect::<Vec<u64>>());
    assert_eq!(store.list_keys(&bucket, None).await.unwrap().keys.len(), 65);
    assert_eq!(store.usage("p").await.unwrap().keys, 65);
}

/// A bucket longer than a page is listed page by page, and only its own keys.
pub(crate) async fn long_buckets_are_listed_in_pages(store: &dyn StateStore) {
    let bucket = Bucket::new("p", "b");
    let entries = (0..LIST_PAGE + 5)
        .map(|i| kv(&format!("{i:05}"), ""))
        .collect();
    store.set_many(&bucket, quota(), entries).await.unwrap();
    store
        .set_many(&Bucket::new("p", "c"), quota(), vec![kv("z", "")])
        .await
        .unwrap();
    let first = store.list_keys(&bucket, None).await.unwrap();
    assert_eq!(first.keys.len(), LIST_PAGE);
    assert_eq!(first.keys[0], "00000");
    let second = store.list_keys(&bucket, first.cursor).await.unwrap();
    assert_eq!(second.keys, ["01000", "01001", "01002", "01003", "01004"]);
    assert_eq!(second.cursor, None);
}
