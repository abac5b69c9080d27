//! Per-plugin configuration values the operator granted (the contract's `config` import).
//!
//! On `wasm32` the values come from the host's config file. On other targets (native
//! `cargo test`) there is no host: values come from a thread-local map that tests fill
//! with [`set_for_test`] and empty with [`clear_for_test`]. It is thread-local because
//! `cargo test` runs tests on parallel threads, so each test sees only its own values.
//!
//! ```
//! use berth_plugin_sdk::config;
//!
//! # #[cfg(not(target_arch = "wasm32"))]
//! config::set_for_test("greeting", "hi");
//! assert_eq!(config::get("greeting").as_deref(), Some("hi"));
//! assert_eq!(config::get("missing"), None);
//! assert_eq!(config::entries(), vec![("greeting".to_string(), "hi".to_string())]);
//! ```

/// The value of `key`, or `None` if the operator did not set it.
pub fn get(key: &str) -> Option<String> {
    imp::get(key)
}

/// Every key and value set for this plugin, sorted by key.
pub fn entries() -> Vec<(String, String)> {
    imp::entries()
}

/// Sets `key` to `value` for [`get`] and [`entries`] on the current thread (native only).
#[cfg(not(target_arch = "wasm32"))]
pub fn set_for_test(key: impl Into<String>, value: impl Into<String>) {
    imp::VALUES.with(|values| values.borrow_mut().insert(key.into(), value.into()));
}

/// Removes every value set with [`set_for_test`] on the current thread (native only).
#[cfg(not(target_arch = "wasm32"))]
pub fn clear_for_test() {
    imp::VALUES.with(|values| values.borrow_mut().clear());
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use crate::__private::bindings::berth::plugin::config;

    pub(super) fn get(key: &str) -> Option<String> {
        config::get(key)
    }

    pub(super) fn entries() -> Vec<(String, String)> {
        config::entries()
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    thread_local! {
        // A BTreeMap so `entries` is sorted by key, as the host's is.
        pub(super) static VALUES: RefCell<BTreeMap<String, String>> =
            const { RefCell::new(BTreeMap::new()) };
    }

    pub(super) fn get(key: &str) -> Option<String> {
        VALUES.with(|values| values.borrow().get(key).cloned())
    }

    pub(super) fn entries() -> Vec<(String, String)> {
        VALUES.with(|values| {
            values
                .borrow()
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect()
        })
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn test_values_are_per_thread_and_sorted() {
        clear_for_test();
        set_for_test("b", "2");
        set_for_test("a", "1");
        assert_eq!(get("a").as_deref(), Some("1"));
        assert_eq!(
            entries(),
            vec![("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        std::thread::spawn(|| assert_eq!(get("a"), None))
            .join()
            .unwrap();
        clear_for_test();
        assert_eq!(get("a"), None);
    }
}
