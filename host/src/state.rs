//! What is being served right now: the current registry snapshot, swapped atomically,
//! and the list page size, which the config can change live.
//!
//! Readers take an `Arc` to the snapshot and keep it for as long as their request runs;
//! a writer publishes a whole new snapshot. No lock is ever held across a plugin call.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arc_swap::ArcSwap;

use crate::registry::Registry;

/// The served state shared by every session and transport.
pub struct Served {
    registry: ArcSwap<Registry>,
    page_size: AtomicUsize,
}

impl Served {
    /// State serving `registry`, listing `page_size` items per page.
    pub fn new(registry: Registry, page_size: usize) -> Self {
        Self {
            registry: ArcSwap::from_pointee(registry),
            page_size: AtomicUsize::new(page_size),
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
}
