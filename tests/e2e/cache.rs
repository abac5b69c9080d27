//! The compilation cache through the real binary: the first start compiles and stores,
//! the next one loads the stored artifact, and a corrupted entry is detected, rebuilt
//! and never run.

use serde_json::json;

use crate::support::{Server, plugins_dir, text};

/// Starts Berth on `plugins` with the cache in `cache`, logging how each plugin's code
/// was obtained, and checks that echo answers.
fn serve_once(plugins: &std::path::Path, cache: &std::path::Path) -> String {
    let cache = cache.to_str().unwrap();
    let args = [
        "--compile-cache",
        cache,
        "--log-level",
        "info,berth::runtime=debug",
    ];
    let mut server = Server::start_with_args(plugins, None, &args, &[]);
    server.initialize("2025-11-25");
    let echoed = server.call("echo_echo", json!({ "text": "cached?" }));
    assert_eq!(text(&echoed), "cached?", "{echoed}");
    let log = server.stderr();
    server.close();
    log
}

fn artifacts(cache: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect()
}

#[test]
fn a_restart_loads_compiled_code_and_a_corrupt_entry_is_rebuilt() {
    let plugins = plugins_dir(&["berth-plugin-echo"]);
    let cache = tempfile::tempdir().unwrap();

    let first = serve_once(plugins.path(), cache.path());
    assert!(first.contains("compiled=Fresh"), "{first}");
    let stored = artifacts(cache.path());
    assert_eq!(stored.len(), 1, "{stored:?}");

    let second = serve_once(plugins.path(), cache.path());
    assert!(second.contains("compiled=Cached"), "{second}");
    assert!(!second.contains("compiled=Fresh"), "{second}");

    let mut bytes = std::fs::read(&stored[0]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(&stored[0], &bytes).unwrap();
    let third = serve_once(plugins.path(), cache.path());
    assert!(third.contains("rebuilding it"), "{third}");
    assert!(third.contains("compiled=Fresh"), "{third}");

    let fourth = serve_once(plugins.path(), cache.path());
    assert!(fourth.contains("compiled=Cached"), "{fourth}");
}

#[test]
fn with_the_cache_off_nothing_is_written() {
    let plugins = plugins_dir(&["berth-plugin-echo"]);
    let home = tempfile::tempdir().unwrap();
    let mut server = Server::start_with_args(
        plugins.path(),
        None,
        &["--compile-cache", "off"],
        &[("XDG_CACHE_HOME", home.path().to_str().unwrap())],
    );
    server.initialize("2025-11-25");
    assert!(!server.tool_names().is_empty());
    server.close();
    assert!(
        std::fs::read_dir(home.path()).unwrap().next().is_none(),
        "the cache folder was touched"
    );
}
