//! Plugin state and result-cache figures for BENCHMARKS.md: what one `wasi:keyvalue`
//! operation costs on each backend (a plugin waits for it), what a burst of concurrent
//! writes achieves (the embedded store's group commit, Redis's pipelining), and what a
//! cache hit costs per tier. Prints figures; runs a real `redis-server` on loopback.
//!
//! Run with `cargo bench -p berth-state --bench state`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_model::state::{Bucket, StateQuota, StateStore};
use berth_state::cache::{CacheKey, CachePolicy, ResultCache};
use berth_state::{EmbeddedStore, RedisStore};
use berth_test_services::{Persistence, Redis};

const SEQUENTIAL: usize = 2000;
const WRITERS: usize = 64;
const PER_WRITER: usize = 100;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    samples[((samples.len() as f64 - 1.0) * p) as usize]
}

fn show(what: &str, samples: &mut [Duration]) {
    let p50 = percentile(samples, 0.5);
    let p99 = percentile(samples, 0.99);
    println!(
        "{what:<44} p50 {:>8.1} µs   p99 {:>8.1} µs",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
}

async fn backend(name: &str, store: Arc<dyn StateStore>) {
    let bucket = Bucket::new("bench", "b");
    let quota = StateQuota::default();
    let value = vec![b'v'; 100];
    let mut samples = Vec::with_capacity(SEQUENTIAL);
    for i in 0..SEQUENTIAL {
        let started = Instant::now();
        store
            .set_many(&bucket, quota, vec![(format!("k{i}"), value.clone())])
            .await
            .unwrap();
        samples.push(started.elapsed());
    }
    show(&format!("{name}: set (100 B), one at a time"), &mut samples);

    let keys: Vec<String> = (0..SEQUENTIAL).map(|i| format!("k{i}")).collect();
    let mut samples = Vec::with_capacity(SEQUENTIAL);
    for key in &keys {
        let started = Instant::now();
        let one = [key.clone()];
        store.get_many(&bucket, &one).await.unwrap();
        samples.push(started.elapsed());
    }
    show(&format!("{name}: get"), &mut samples);

    let mut samples = Vec::with_capacity(SEQUENTIAL);
    for _ in 0..SEQUENTIAL {
        let started = Instant::now();
        store
            .increment(&bucket, quota, "counter".into(), 1)
            .await
            .unwrap();
        samples.push(started.elapsed());
    }
    show(&format!("{name}: increment"), &mut samples);

    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (store, bucket, value) = (Arc::clone(&store), bucket.clone(), value.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_WRITER {
                store
                    .set_many(&bucket, quota, vec![(format!("w{w}-{i}"), value.clone())])
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "{:<44} {:>8.0} writes/s ({} writers × {} durable writes in {:.0} ms)",
        format!("{name}: concurrent sets"),
        (WRITERS * PER_WRITER) as f64 / elapsed.as_secs_f64(),
        WRITERS,
        PER_WRITER,
        elapsed.as_secs_f64() * 1e3
    );
}

async fn cache(name: &str, cache: &ResultCache, through_redis: bool) {
    let policy = CachePolicy {
        ttl: Duration::from_secs(600),
        max_bytes: 64 << 20,
    };
    let answer = vec![b'a'; 1024];
    let request = "tool\ncount\n{\"text\":\"some words\"}\nall";
    let key = CacheKey {
        plugin: "bench",
        identity: "0123456789abcdef",
        tag: None,
        request,
    };
    cache.put(&key, policy, answer).await;
    let mut samples = Vec::with_capacity(SEQUENTIAL);
    for _ in 0..SEQUENTIAL {
        if through_redis {
            cache.forget_plugin("bench");
        }
        let started = Instant::now();
        assert!(cache.get(&key, policy).await.is_some());
        samples.push(started.elapsed());
    }
    show(&format!("{name}: hit (1 KiB answer)"), &mut samples);
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let embedded = EmbeddedStore::open(&dir.path().join("state.redb")).unwrap();
        backend("embedded (redb, fsync per commit)", Arc::new(embedded)).await;

        // As an operator would run it for state: every write flushed before it is
        // answered, like the embedded store's durable commit.
        let server = Redis::start(Persistence::EveryWrite);
        let url = server.url();
        let redis = RedisStore::new(&url, Duration::from_secs(2)).unwrap();
        backend("redis (appendfsync always)", Arc::new(redis)).await;

        let memory = ResultCache::new(None).unwrap();
        cache("cache, memory tier", &memory, false).await;
        let shared = ResultCache::new(Some((&url, Duration::from_secs(2)))).unwrap();
        cache("cache, redis tier (memory tier empty)", &shared, true).await;
    });
}
