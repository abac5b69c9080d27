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

use std::sync::{Arc, Mutex, PoisonError};

use super::instance::PerCall;

/// The stores of finished calls that wait to be dropped.
#[derive(Default)]
pub(crate) struct Teardown {
    queue: Mutex<Vec<PerCall>>,
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
