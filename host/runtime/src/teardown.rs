//! Tearing down finished calls' stores after their answers have gone out.
//!
//! Dropping a fresh call's store resets its pool slot (the memory pages the call wrote
//! are copied back from the plugin's image, its tables cleared) and frees its instance
//! contexts: about 15 µs of a small call over stdio (BENCHMARKS.md, issue 7), all of it
//! after the answer is known. [`Teardown::defer`] takes that work out of the answer's way:
//! the store waits in a queue that a spawned task empties once the answering task has
//! yielded, by which time the answer is on its way to the client. A call that starts
//! while stores still wait empties the queue first ([`Teardown::finish`]), so they never
//! pile up under load; and an instantiation that finds the pool full empties it and
//! tries again (`bindings::instance`), so waiting stores never keep pool slots from a
//! new call: a pool sized for N running calls still serves N.
//!
//! What the guest wrote to stdout and stderr is logged before its store is queued, so
//! the log keeps the order of the calls.
//!
//! Warm pools' idle instances hold pool slots too; the teardown knows every pool that
//! keeps any, so [`Teardown::reclaim`] can take them back when the pool is full.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::instance::PerCall;
use super::warm::IdleHolder;

/// The stores of finished calls that wait to be dropped.
#[derive(Default)]
pub(crate) struct Teardown {
    queue: Mutex<Vec<PerCall>>,
    /// Every warm pool that may keep idle instances, for [`Teardown::reclaim`].
    holders: Mutex<Vec<Weak<dyn IdleHolder>>>,
}

impl Teardown {
    /// Queues `call`'s store to be dropped after the current task yields, and logs its
    /// captured output now. Outside a tokio runtime the store is dropped at once.
    pub(crate) fn defer(self: &Arc<Self>, mut call: PerCall) {
        call.emit_output();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let first = {
            let mut queue = self.lock();
            queue.push(call);
            queue.len() == 1
        };
        // One task per batch: stores queued before it runs go with the first one's.
        if first {
            let teardown = Arc::clone(self);
            runtime.spawn(async move {
                teardown.finish();
            });
        }
    }

    /// Drops every queued store now, and says how many there were.
    pub(crate) fn finish(&self) -> usize {
        let queued = std::mem::take(&mut *self.lock());
        let count = queued.len();
        // Dropped outside the lock: resetting slots is the slow part.
        drop(queued);
        count
    }

    /// Records a warm pool whose idle instances [`Teardown::reclaim`] may take back;
    /// pools that have gone are forgotten as new ones arrive.
    pub(crate) fn hold_idle(&self, holder: Weak<dyn IdleHolder>) {
        let mut holders = self.holders.lock().unwrap_or_else(PoisonError::into_inner);
        holders.retain(|known| known.strong_count() > 0);
        holders.push(holder);
    }

    /// Frees pool slots for an instantiation that found the pool full: drops the stores
    /// waiting here, or, when there were none, every warm pool's idle instances (a new
    /// call matters more than a kept instance's saved microseconds). Says whether
    /// anything was freed, so trying again is worth it.
    pub(crate) fn reclaim(&self) -> bool {
        if self.finish() > 0 {
            return true;
        }
        let holders: Vec<_> = {
            let holders = self.holders.lock().unwrap_or_else(PoisonError::into_inner);
            holders.iter().filter_map(Weak::upgrade).collect()
        };
        let released: usize = holders.iter().map(|pool| pool.release_idle()).sum();
        if released > 0 {
            tracing::info!(
                released,
                "the instance pool was full: dropped idle warm instances to make room"
            );
        }
        released > 0
    }

    /// How many stores wait to be dropped.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PerCall>> {
        // Only pushes and takes happen under the lock, so a panic elsewhere cannot have
        // left the queue inconsistent.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
