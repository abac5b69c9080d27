//! Change notices for the plugin's own resources (the contract's `resources` import).
//!
//! ```
//! use berth_plugin_sdk::prelude::*;
//!
//! /// Saves a note.
//! #[tool]
//! fn save(name: String, text: String) -> &'static str {
//!     // … store `text` somewhere …
//!     # let _ = text;
//!     resources::changed(&format!("notes://notes/{name}"));
//!     "saved"
//! }
//! # berth_plugin_sdk::export!(tools: [save]);
//! # fn main() {
//! # berth_plugin_sdk::resources::take_changed_for_test();
//! berth_plugin().call("save", serde_json::json!({"name": "a", "text": "b"})).unwrap();
//! assert_eq!(berth_plugin_sdk::resources::take_changed_for_test(), ["notes://notes/a"]);
//! # }
//! ```
//!
//! Clients that subscribed to the URI get `notifications/resources/updated`; a URI the
//! plugin does not serve (as a static resource or through one of its templates) is
//! ignored. It never blocks and never fails, and may be called during any call or event
//! hook. On other targets than `wasm32` (native `cargo test`) the URIs are recorded in a
//! thread-local list that [`take_changed_for_test`] returns.

/// Says that the contents of the resource at `uri`, one this plugin serves, changed.
pub fn changed(uri: &str) {
    imp::changed(uri);
}

/// Returns and forgets the URIs passed to [`changed`] on the current thread so far
/// (native only).
#[cfg(not(target_arch = "wasm32"))]
pub fn take_changed_for_test() -> Vec<String> {
    imp::CHANGED.with(|changed| std::mem::take(&mut *changed.borrow_mut()))
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use crate::__private::bindings::berth::plugin::resources;

    pub(super) fn changed(uri: &str) {
        resources::changed(uri);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::cell::RefCell;

    thread_local! {
        // Thread-local because `cargo test` runs tests on parallel threads.
        pub(super) static CHANGED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn changed(uri: &str) {
        CHANGED.with(|changed| changed.borrow_mut().push(uri.to_string()));
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn native_changes_are_recorded() {
        take_changed_for_test();
        changed("a://1");
        changed("a://2");
        assert_eq!(take_changed_for_test(), ["a://1", "a://2"]);
        assert!(take_changed_for_test().is_empty());
    }
}
