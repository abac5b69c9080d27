//! The configured backend, opened on first use ([`Lazy`]).

use berth_model::state::{
    Bucket, KeyPage, SharedStateStore, StateError, StateFuture, StateQuota, StateStore, Usage,
};
use tokio::sync::OnceCell;

use crate::Backend;

/// A [`StateStore`] that opens its backend when a plugin first uses state. An open that
/// fails (the file is locked by another server, its folder is read-only) fails that
/// operation with the reason and is tried again by the next one, so fixing the cause
/// needs no restart.
pub struct Lazy {
    backend: Backend,
    store: OnceCell<SharedStateStore>,
}

impl Lazy {
    /// A store that opens `backend` when first used.
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            store: OnceCell::new(),
        }
    }

    /// The open backend, opening it now if this is the first use.
    async fn store(&self) -> Result<&SharedStateStore, StateError> {
        self.store
            .get_or_try_init(|| async {
                let backend = self.backend.clone();
                // Opening a file store may wait on the disk (and recover after a crash).
                tokio::task::spawn_blocking(move || crate::open(&backend))
                    .await
                    .map_err(|e| StateError::Unavailable(format!("opening stopped: {e}")))?
                    .map_err(|e| {
                        tracing::error!(error = %e, "plugin state store could not be opened");
                        StateError::Unavailable(e.to_string())
                    })
            })
            .await
    }
}

impl StateStore for Lazy {
    fn get_many<'a>(
        &'a self,
        bucket: &'a Bucket,
        keys: &'a [String],
    ) -> StateFuture<'a, Vec<Option<Vec<u8>>>> {
        Box::pin(async move { self.store().await?.get_many(bucket, keys).await })
    }

    fn set_many<'a>(
        &'a self,
        bucket: &'a Bucket,
        quota: StateQuota,
        entries: Vec<(String, Vec<u8>)>,
    ) -> StateFuture<'a, ()> {
        Box::pin(async move { self.store().await?.set_many(bucket, quota, entries).await })
    }

    fn delete_many<'a>(&'a self, bucket: &'a Bucket, keys: Vec<String>) -> StateFuture<'a, ()> {
        Box::pin(async move { self.store().await?.delete_many(bucket, keys).await })
    }

    fn increment<'a>(
        &'a self,
        bucket: &'a Bucket,
        quota: StateQuota,
        key: String,
        delta: u64,
    ) -> StateFuture<'a, u64> {
        Box::pin(async move {
            self.store()
                .await?
                .increment(bucket, quota, key, delta)
                .await
        })
    }

    fn list_keys<'a>(
        &'a self,
        bucket: &'a Bucket,
        cursor: Option<u64>,
    ) -> StateFuture<'a, KeyPage> {
        Box::pin(async move { self.store().await?.list_keys(bucket, cursor).await })
    }

    fn usage<'a>(&'a self, plugin: &'a str) -> StateFuture<'a, Usage> {
        Box::pin(async move { self.store().await?.usage(plugin).await })
    }

    fn describe(&self) -> String {
        match &self.backend {
            Backend::Embedded { path: Some(path) } => format!("embedded {}", path.display()),
            Backend::Embedded { path: None } => "embedded (no path)".to_string(),
            Backend::Redis { url, .. } => format!("redis {}", crate::redis::shown(url)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn nothing_is_created_until_first_use_and_a_failed_open_is_retried() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.redb");
        let lazy = Lazy::new(Backend::Embedded {
            path: Some(path.clone()),
        });
        assert!(!path.exists());
        // Another holder of the file makes the first use fail, with the reason…
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let holder = crate::EmbeddedStore::open(&path).unwrap();
        let bucket = Bucket::new("p", "b");
        let err = lazy.usage("p").await.unwrap_err();
        assert!(err.to_string().contains("another process"), "{err}");
        // …and once it lets go, the next use opens it.
        drop(holder);
        lazy.set_many(
            &bucket,
            StateQuota::default(),
            vec![("k".into(), b"v".to_vec())],
        )
        .await
        .unwrap();
        assert_eq!(lazy.usage("p").await.unwrap().keys, 1);
    }
}
