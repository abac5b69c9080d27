//! Warm instances: the opt-in exception to "a fresh instance per call".
//!
//! For a plugin whose `[plugins.NAME] warm_instances` is N > 0, up to N stores whose
//! instance survived a call wait here to serve later calls of the same plugin handle,
//! skipping instantiation and tear-down, which are most of what a small call costs (see
//! BENCHMARKS.md). What is given up is isolation between calls: whatever the guest left
//! in its memory and globals is there for the next call, whichever client makes it. So
//! the operator opts in per plugin, for plugins that keep no state between calls, and
//! the default of 0 keeps every call fresh.
//!
//! Only a call that returned (with a result or the plugin's own error) hands its
//! instance on; a trap, timeout, cancellation, refused memory growth or output flood
//! drops it, so a call that went wrong never leaves a half-run instance for the next. So
//! does a guest holding more than a few resource handles between calls, so a guest that
//! leaks them cannot grow its table for as long as Berth runs.
//! A settings change makes a new plugin handle with an empty pool (`with_settings`), so
//! new config values and grants never meet an instance that started under the old ones.

use std::sync::{Arc, Mutex, PoisonError};

use super::RuntimeInner;
use super::instance::{CallTarget, PerCall};
use super::teardown::Teardown;

/// The largest `warm_instances` the config accepts: more idle instances than a plugin
/// can have calls running at once would only hold memory.
pub const MAX_WARM_INSTANCES: usize = 1024;

/// One plugin handle's idle warm stores.
pub(crate) struct WarmPool {
    /// How many idle stores are kept; 0 turns reuse off.
    keep: usize,
    /// Idle stores, most recently used last. Locked only to push or pop, never across a
    /// call.
    idle: Mutex<Vec<PerCall>>,
}

impl WarmPool {
    /// A pool keeping up to `keep` idle instances (none, and no reuse, for 0).
    pub(crate) fn new(keep: usize) -> Self {
        Self {
            keep: keep.min(MAX_WARM_INSTANCES),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The store for a call: the most recently used idle one (still warm in the CPU's
    /// caches), readied for the call, or a new one, which is a warm store when this
    /// pool keeps any and a fresh one otherwise.
    pub(crate) fn checkout(&self, runtime: &RuntimeInner, target: &CallTarget<'_>) -> PerCall {
        if self.keep == 0 {
            return PerCall::new(runtime, target);
        }
        let idle = self.lock().pop();
        match idle {
            Some(mut call) => {
                call.rearm(runtime);
                // For the call's trace span (if one is recorded): no instantiation.
                tracing::Span::current().record("berth.instance", "warm");
                call
            }
            None => PerCall::warm(runtime, target),
        }
    }

    /// Takes back the store of a finished call. It waits for the next call when the
    /// guest `returned`, the store is reusable and the pool has room; otherwise it goes
    /// to `teardown` with its instance, which logs its output.
    pub(crate) fn checkin(&self, mut call: PerCall, returned: bool, teardown: &Arc<Teardown>) {
        if !returned || !call.reusable() {
            teardown.defer(call);
            return;
        }
        call.settled();
        let surplus = {
            let mut idle = self.lock();
            if idle.len() < self.keep {
                idle.push(call);
                None
            } else {
                Some(call)
            }
        };
        // Outside the lock: freeing an instance is not free.
        if let Some(surplus) = surplus {
            teardown.defer(surplus);
        }
    }

    /// How many idle stores wait for a call.
    pub(crate) fn idle(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PerCall>> {
        // Only pushes and pops happen under the lock, so a panic elsewhere cannot have
        // left the list inconsistent.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
