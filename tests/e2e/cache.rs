//! The compilation cache through the real binary: the first start serves on Winch's code
//! and stores Cranelift's when its background compiler is done (tiering), the next one
//! loads the stored artifact, and a corrupted entry is detected, rebuilt and never run.

use serde_json::json;

use crate::support::{Server, plugins_dir, text};

/// How a start got its plugin's code, as its log says.
#[derive(Debug, PartialEq)]
enum Code {
    /// From the cache.
    Cached,
    /// Winch's code first, then Cranelift's compiled in the background, stored and swapped in.
    TieredUp,
}

/// Starts Berth on `plugins` with the cache in `cache`, logging how each plugin's code
/// was obtained, checks that echo answers (again after Cranelift's code is swapped in,
/// when it starts on Winch's) and returns how the code came and the log.
fn serve_once(plugins: &std::path::Path, cache: &std::path::Path) -> (Code, String) {
    let cache = cache.to_str().unwrap();
    let args = [
        "--compile-cache",
        cache,
        "--log-level",
        "info,berth::runtime=debug",
    ];
    let mut server = Server::start_with_args(plugins, None, &args, &[]);
    server.initialize("2025-11-25");
    let echo = |server: &mut Server| {
        let echoed = server.call("echo_echo", json!({ "text": "cached?" }));
        assert_eq!(text(&echoed), "cached?", "{echoed}");
    };
    echo(&mut server);
    let log = server.stderr();
    let code = if log.contains("plugin code from the compilation cache") {
        assert!(!log.contains("winch"), "{log}");
        Code::Cached
    } else {
        let loaded = log
            .lines()
            .find(|l| l.contains("plugin compiled and linked"));
        assert!(loaded.is_some_and(|l| l.contains("winch")), "{log}");
        let swapped = server.wait_for_log_line("optimised code swapped in", 1);
        assert!(swapped.contains("compiled=Fresh"), "{swapped}");
        echo(&mut server);
        Code::TieredUp
    };
    let log = server.stderr();
    server.close();
    (code, log)
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

    // A new build serves on Winch's code; Cranelift's is stored once it is swapped in.
    let (first, _) = serve_once(plugins.path(), cache.path());
    assert_eq!(first, Code::TieredUp);
    let stored = artifacts(cache.path());
    assert_eq!(stored.len(), 1, "{stored:?}");

    let (second, _) = serve_once(plugins.path(), cache.path());
    assert_eq!(second, Code::Cached);

    let mut bytes = std::fs::read(&stored[0]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(&stored[0], &bytes).unwrap();
    let (third, log) = serve_once(plugins.path(), cache.path());
    assert!(log.contains("rebuilding it"), "{log}");
    assert_eq!(third, Code::TieredUp);

    let (fourth, _) = serve_once(plugins.path(), cache.path());
    assert_eq!(fourth, Code::Cached);
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
