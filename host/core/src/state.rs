//! What is being served right now: the current registry snapshot, swapped atomically,
//! the settings of it that the config changes live (list page size, who may use what,
//! which plugins' answers are cached), the result cache, and the count of calls running,
//! which graceful shutdown waits on.
//!
//! Readers take an `Arc` to the snapshot and keep it for as long as their request runs;
//! a writer publishes a whole new snapshot. No lock is ever held across a plugin call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::Notify;

use berth_state::cache::{CachePolicy, ResultCache};

use crate::access::Access;
use crate::registry::Registry;

/// The served state shared by every session and transport.
pub struct Served {
    registry: ArcSwap<Registry>,
    page_size: AtomicUsize,
    access: ArcSwap<Access>,
    calls: CallTracker,
    cache: OnceLock<Arc<ResultCache>>,
    /// `[plugins.NAME.cache]` of every plugin that has one.
    cache_policies: ArcSwap<HashMap<String, CachePolicy>>,
}

impl Served {
    /// State serving `registry`, listing `page_size` items per page, with no roles.
    pub fn new(registry: Registry, page_size: usize) -> Self {
        Self {
            registry: ArcSwap::from_pointee(registry),
            page_size: AtomicUsize::new(page_size),
            access: ArcSwap::from_pointee(Access::new(&Default::default())),
            calls: CallTracker::default(),
            cache: OnceLock::new(),
            cache_policies: ArcSwap::default(),
        }
    }

    /// Items per page of a list result.
    pub fn page_size(&self) -> usize {
        // Relaxed: the value stands alone; no other memory is published with it.
        self.page_size.load(Ordering::Relaxed)
    }

    /// Changes the page size for lists answered from now on.
    pub fn set_page_size(&self, page_size: usize) {
        self.page_size.store(page_size, Ordering::Relaxed);
    }

    /// The current snapshot; hold it for the duration of one request.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.load_full()
    }

    /// Makes `registry` the current snapshot for every request that starts from now on.
    pub fn publish(&self, registry: Registry) {
        self.registry.store(Arc::new(registry));
    }

    /// The roles authenticated callers are checked against.
    pub fn access(&self) -> Arc<Access> {
        self.access.load_full()
    }

    /// Puts new roles in force for requests that start from now on.
    pub fn set_access(&self, access: Access) {
        self.access.store(Arc::new(access));
    }

    /// Installs the result cache (once, at start-up; a second one is ignored).
    pub fn set_cache(&self, cache: Arc<ResultCache>) {
        let _ = self.cache.set(cache);
    }

    /// The result cache, if one is installed.
    pub fn cache(&self) -> Option<&Arc<ResultCache>> {
        self.cache.get()
    }

    /// Puts the plugins' cache settings in force for requests that start from now on.
    pub fn set_cache_policies(&self, policies: HashMap<String, CachePolicy>) {
        self.cache_policies.store(Arc::new(policies));
    }

    /// The result cache and `plugin`'s policy, when its answers are cached.
    pub fn cache_for(&self, plugin: &str) -> Option<(Arc<ResultCache>, CachePolicy)> {
        let cache = self.cache.get()?;
        let policy = *self.cache_policies.load().get(plugin)?;
        Some((Arc::clone(cache), policy))
    }

    /// The tool calls and resource reads running now.
    pub fn calls(&self) -> &CallTracker {
        &self.calls
    }
}

/// Counts running calls so shutdown can wait for them to finish.
#[derive(Default)]
pub struct CallTracker {
    running: AtomicUsize,
    idle: Notify,
    gauge: crate::metrics::CallsInFlight,
}

/// Marks one call as running until dropped.
pub struct CallGuard<'a> {
    tracker: &'a CallTracker,
    _gauge: crate::metrics::InFlight,
}

impl CallTracker {
    /// Marks a call as running until the guard drops.
    pub fn begin(&self) -> CallGuard<'_> {
        self.running.fetch_add(1, Ordering::AcqRel);
        CallGuard {
            tracker: self,
            _gauge: self.gauge.start(),
        }
    }

    /// Calls running now.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Acquire)
    }

    /// Waits until no call is running or `limit` has passed; returns the calls still
    /// running (0 when all finished).
    pub async fn wait_idle(&self, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            // Register interest before checking, so a call ending in between is seen.
            let notified = self.idle.notified();
            let running = self.running();
            if running == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.running();
            }
        }
    }
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        if self.tracker.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.tracker.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn wait_idle_returns_when_the_last_call_ends_or_at_the_limit() {
        let served = Arc::new(Served::new(Registry::default(), 10));
        assert_eq!(served.calls().wait_idle(Duration::from_secs(1)).await, 0);

        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let holder = served.clone();
        let call = tokio::spawn(async move {
            let _guard = holder.calls().begin();
            started_tx.send(()).unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        started_rx.await.unwrap();
        assert_eq!(served.calls().wait_idle(Duration::from_secs(1)).await, 1);
        assert_eq!(served.calls().wait_idle(Duration::from_secs(10)).await, 0);
        call.await.unwrap();
    }
}
