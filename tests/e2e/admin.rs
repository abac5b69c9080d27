//! `berth plugins list` against running servers, through their admin sockets.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::support::{Server, berth, component, config_file, install};

fn plugins_list(runtime_dir: &Path, extra: &[&str]) -> Output {
    berth()
        .env_remove("BERTH_ADMIN_SOCKET")
        .args(["plugins", "list"])
        .args(extra)
        .env("XDG_RUNTIME_DIR", runtime_dir)
        .output()
        .unwrap()
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn file<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("{name} not listed: {status}"))
}

#[test]
fn plugins_list_shows_what_a_running_server_serves_refuses_and_disables() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    let runtime = dir.path().join("run");
    std::fs::create_dir(&plugins).unwrap();
    install(&plugins, "echo.wasm", &component("berth-plugin-echo"));
    install(&plugins, "time.wasm", &component("berth-plugin-time"));
    install(&plugins, "broken.wasm", b"not a component");
    let config = config_file(dir.path(), "[plugins.time]\nenabled = false\n");
    let runtime_var = runtime.to_str().unwrap();
    let mut server = Server::start_with_env(
        &plugins,
        Some(&config),
        &[
            ("XDG_RUNTIME_DIR", runtime_var),
            ("BERTH_ADMIN_SOCKET", "auto"),
        ],
    );
    server.initialize("2025-11-25");
    server.wait_for_log("admin socket listening");

    // Found without being told where.
    let all = json_of(&plugins_list(&runtime, &["--json"]));
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    let status = &all[0];
    assert_eq!(status["pid"], server.pid());
    let echo = file(status, "echo.wasm");
    assert_eq!(echo["state"], "serving");
    assert_eq!(echo["plugin"], "echo");
    assert!(echo["contract"].is_string(), "{echo}");
    // Winch's code until Cranelift's is swapped in (or Cranelift's from the cache).
    assert!(
        ["winch", "cranelift"].contains(&echo["compiler"].as_str().unwrap_or_default()),
        "{echo}"
    );
    assert!(
        echo["tools"]
            .as_array()
            .unwrap()
            .contains(&"echo_echo".into()),
        "{echo}"
    );
    assert!(echo["last_error"].is_null(), "{echo}");
    let broken = file(status, "broken.wasm");
    assert_eq!(broken["state"], "refused");
    assert!(broken["compiler"].is_null(), "{broken}");
    assert!(
        broken["last_error"]
            .as_str()
            .unwrap()
            .contains("broken.wasm")
    );
    assert_eq!(file(status, "time.wasm")["state"], "disabled");

    // A refused upgrade: the old build still serves, and the error is shown with it.
    install(&plugins, "echo.wasm", b"\0asm truncated");
    server.wait_for_log_count("plugin refused", 2);
    let socket = runtime.join("berth").join(format!("{}.sock", server.pid()));
    let one = json_of(&plugins_list(
        &runtime,
        &["--json", "--socket", socket.to_str().unwrap()],
    ));
    let echo = file(&one, "echo.wasm");
    assert_eq!(echo["state"], "serving", "{echo}");
    assert!(echo["last_error"].is_string(), "{echo}");

    // The table for people.
    let table = plugins_list(&runtime, &[]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(table.status.success(), "{text}");
    for needle in [
        "PLUGIN",
        "STATE",
        "CODE",
        "serving",
        "refused",
        "disabled",
        "last error:",
    ] {
        assert!(text.contains(needle), "`{needle}` missing:\n{text}");
    }

    // The socket goes with the server.
    assert!(server.close().success());
    assert!(!socket.exists(), "socket left behind");
    let gone = plugins_list(&runtime, &[]);
    assert!(!gone.status.success());
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("no running Berth server"),
        "{}",
        String::from_utf8_lossy(&gone.stderr)
    );
}

/// A plugin whose name carries a forged log line, an escape sequence, a NUL and a
/// right-to-left override (issue 18): refused, and every place that quotes the name shows
/// it escaped: the log and `berth plugins list`, text and JSON.
#[test]
pub fn forged_name() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    let runtime = dir.path().join("run");
    std::fs::create_dir(&plugins).unwrap();
    install(
        &plugins,
        "forged.wasm",
        &component("berth-test-forged-name"),
    );
    let runtime_var = runtime.to_str().unwrap();
    let mut server = Server::start_with_env(
        &plugins,
        None,
        &[
            ("XDG_RUNTIME_DIR", runtime_var),
            ("BERTH_ADMIN_SOCKET", "auto"),
        ],
    );
    server.initialize("2025-11-25");
    server.wait_for_log("admin socket listening");
    let clean = |text: &str, what: &str| {
        for line in text.lines() {
            assert!(
                !line.starts_with("2020-01-01"),
                "{what}: a forged line: {line}"
            );
        }
        assert!(
            !text.contains(['\u{1b}', '\0', '\u{202e}']),
            "{what}: raw control or bidi characters"
        );
    };
    let log = server.wait_for_log("plugin refused");
    clean(&log, "the log");
    let refusal = log.lines().find(|l| l.contains("plugin refused")).unwrap();
    assert!(
        refusal.contains("plugin name `x\\n2020-01-01T00:00:00.000000Z  INFO berth: plugin loaded FORGED\\u{1b}[2J\\u{0}\\u{202e}` is invalid"),
        "{refusal}"
    );
    let listed = plugins_list(&runtime, &[]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let text = String::from_utf8(listed.stdout).unwrap();
    clean(&text, "plugins list");
    assert!(text.contains("FORGED"), "{text}");
    let all = json_of(&plugins_list(&runtime, &["--json"]));
    let error = file(&all[0], "forged.wasm")["last_error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(error.contains("x\\n2020-01-01"), "{error}");
    assert!(server.close().success());
}
