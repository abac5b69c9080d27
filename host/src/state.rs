//! What is being served right now: the current registry snapshot, swapped atomically.
//!
//! Readers take an `Arc` to the snapshot and keep it for as long as their request runs;
//! a writer publishes a whole new snapshot. No lock is ever held across a plugin call.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::registry::Registry;

/// The served state shared by every session and transport.
pub struct Served {
    registry: ArcSwap<Registry>,
}

impl Served {
    /// State serving `registry`.
    pub fn new(registry: Registry) -> Self {
        Self {
            registry: ArcSwap::from_pointee(registry),
        }
    }

    /// The current snapshot; hold it for the duration of one request.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.load_full()
    }

    /// Makes `registry` the current snapshot for every request that starts from now on.
    pub fn publish(&self, registry: Registry) {
        self.registry.store(Arc::new(registry));
    }
}
