//! The `berth serve` process itself: settings that live outside MCP.

use crate::support::Server;

/// The allocator settings compiled into the binary are in force, and an operator's
/// `_RJEM_MALLOC_CONF` adds to them: here it asks jemalloc to print its options at exit,
/// and the printout shows the compiled-in background purging and decay settings alongside.
#[test]
fn the_allocator_purges_in_the_background_and_takes_the_operators_options() {
    let mut server = Server::start_with_env(
        &berth_test_artifacts::examples_dir(),
        None,
        &[("_RJEM_MALLOC_CONF", "stats_print:true")],
    );
    server.initialize("2025-11-25");
    assert!(!server.tool_names().is_empty());
    server.terminate();
    assert!(server.wait_exit().success());
    // jemalloc lists its options in a fixed order, the decay settings first.
    let stderr = server.wait_for_log("opt.stats_print: true");
    for line in [
        "opt.background_thread: true",
        "opt.dirty_decay_ms: 100",
        "opt.muzzy_decay_ms: 0",
        "opt.tcache_max: 262144",
        "opt.stats_print: true",
    ] {
        assert!(stderr.contains(line), "no {line:?} in:\n{stderr}");
    }
}
