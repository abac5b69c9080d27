//! End-to-end tests: the real `berth` binary, real plugins built from `plugins/` in the
//! same run (by `berth-test-artifacts`), and MCP JSON-RPC over stdio as a client speaks it.

mod bad_input;
mod cli;
mod examples;
mod hot_reload;
mod interop;
mod protocol;
mod support;

/// Every test plugin must be exercised here: this fails to compile when a plugin under
/// `plugins/testing/` has no test module item named after it.
macro_rules! has_test {
    ($plugin:ident, $package:literal) => {
        #[allow(unused_imports)]
        use crate::bad_input::$plugin as _;
    };
}
berth_test_artifacts::foreach_test_plugin!(has_test);
