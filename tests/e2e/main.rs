//! End-to-end tests: the real `berth` binary, real plugins built from `plugins/` in the
//! same run (by `berth-test-artifacts`), and MCP JSON-RPC over stdio and Streamable
//! HTTP as clients speak it.

mod admin;
mod bad_input;
mod baseline;
mod build_sharing;
mod cache;
mod claims;
mod cli;
mod cluster;
mod config;
mod conformance;
mod console;
mod deploy;
mod distribution;
mod events;
mod examples;
mod grants;
mod hostile_output;
mod hot_reload;
mod http;
mod http_auth;
mod http_client;
mod http_hardening;
mod interop;
mod languages;
mod process;
mod protocol;
mod result_cache;
mod sandbox;
mod state;
mod support;
mod telemetry;

/// Where `has_test!` looks for each test plugin's test.
mod plugin_tests {
    pub use crate::admin::*;
    pub use crate::bad_input::*;
    pub use crate::claims::*;
    pub use crate::conformance::*;
    pub use crate::events::*;
    pub use crate::grants::*;
    pub use crate::hot_reload::*;
    pub use crate::sandbox::*;
    pub use crate::state::*;
}

/// Every test plugin must be exercised here: this fails to compile when a plugin under
/// `plugins/testing/` has no test module item named after it.
macro_rules! has_test {
    ($plugin:ident, $package:literal) => {
        #[allow(unused_imports)]
        use crate::plugin_tests::$plugin as _;
    };
}
berth_test_artifacts::foreach_test_plugin!(has_test);
