//! A `wasi:cli` command component: a plain Rust program, not a Berth plugin.
//!
//! Built for `wasm32-wasip2`, a binary becomes a component of another world, exporting
//! `wasi:cli/run` rather than `berth:plugin/guest`. It exists so the host's tests can check that
//! such a component, perhaps dropped into the plugin directory by mistake, is refused at load
//! time with an error saying it is not a Berth plugin, and that it never runs.

fn main() {
    // Under stdio, stdout is the MCP channel: if the host ever ran this, a test would see it.
    println!("berth-test-cli-command ran, but it is not a Berth plugin");
}
