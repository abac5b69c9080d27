//! Bad plugins: each is refused with one clear log line naming the file and the reason,
//! while every good plugin beside it keeps serving. Test functions are named after the
//! test plugin they exercise (see `foreach_test_plugin!` in main.rs).

use serde_json::json;

use crate::support::{Server, plugins_dir, text};

const ECHO: &str = "berth-plugin-echo";

/// Serves echo plus `bad`, checks echo still works, and returns the log line about `file`.
fn refused(bad_package: &str, file: &str, reason: &str) {
    let dir = plugins_dir(&[ECHO, bad_package]);
    refused_in(dir, file, reason);
}

fn refused_in(dir: tempfile::TempDir, file: &str, reason: &str) {
    let mut server = Server::initialized(dir.path(), None);
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "alive" }))),
        "alive"
    );
    let log = server.wait_for_log("ready");
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("plugin refused") && l.contains(file))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one refusal line for {file}:\n{log}"
    );
    assert!(
        lines[0].contains(reason),
        "refusal of {file} should say `{reason}`:\n{}",
        lines[0]
    );
    let tools = server.ok("tools/list", json!({}));
    for tool in tools["tools"].as_array().unwrap() {
        assert!(
            tool["name"].as_str().unwrap().starts_with("echo_"),
            "only echo serves: {tool}"
        );
    }
    assert!(server.close().success());
}

#[test]
pub fn describe_trap() {
    refused(
        "berth-test-describe-trap",
        "berth_test_describe_trap.wasm",
        "describe",
    );
}

#[test]
pub fn bad_schema() {
    refused(
        "berth-test-bad-schema",
        "berth_test_bad_schema.wasm",
        "schema",
    );
}

#[test]
pub fn duplicate_tool() {
    refused(
        "berth-test-duplicate-tool",
        "berth_test_duplicate_tool.wasm",
        "declared twice",
    );
}

#[test]
pub fn interests_trap() {
    // Stating its event interests is part of a plugin describing itself.
    refused(
        "berth-test-interests-trap",
        "berth_test_interests_trap.wasm",
        "`interests` failed",
    );
}

#[test]
pub fn future_contract() {
    refused(
        "berth-test-future-contract",
        "berth_test_future_contract.wasm",
        "berth:plugin@1.0.0",
    );
}

#[test]
pub fn cli_command() {
    refused(
        "berth-test-cli-command",
        "berth-test-cli-command.wasm",
        "berth:plugin/guest",
    );
}

/// Two plugins named `echo`: loaded together, neither is served (file order must not
/// decide); dropped in beside a served `echo`, the newcomer is refused and `echo` serves on.
#[test]
pub fn colliding() {
    let dir = plugins_dir(&[ECHO, "berth-test-colliding"]);
    let mut server = Server::initialized(dir.path(), None);
    let log = server.wait_for_log("ready");
    let refusals: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("plugin refused"))
        .collect();
    assert_eq!(refusals.len(), 2, "{log}");
    for line in refusals {
        assert!(
            line.contains("both claim the plugin name `echo`")
                && line.contains("remove one of the files or rename one of the plugins"),
            "{line}"
        );
    }
    assert!(server.tool_names().is_empty());
    assert!(server.close().success());

    let dir = plugins_dir(&[ECHO]);
    let mut server = Server::initialized(dir.path(), None);
    crate::support::install(
        dir.path(),
        "berth_test_colliding.wasm",
        &crate::support::component("berth-test-colliding"),
    );
    let log = server.wait_for_log("plugin refused");
    assert!(
        log.contains("already provides a plugin named `echo`"),
        "{log}"
    );
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "alive" }))),
        "alive"
    );
    assert!(server.close().success());
}

#[test]
pub fn echo() {
    // The well-behaved test plugin next to files that are not plugins at all.
    let dir = plugins_dir(&[ECHO]);
    std::fs::write(
        dir.path().join("notes.wasm"),
        b"these are not the bytes you want",
    )
    .unwrap();
    refused_in(dir, "notes.wasm", "not a WebAssembly");
}

#[test]
fn core_modules_are_refused() {
    let dir = plugins_dir(&[ECHO]);
    // The smallest valid core module: magic and version 1, no sections.
    std::fs::write(dir.path().join("core.wasm"), b"\0asm\x01\0\0\0").unwrap();
    refused_in(dir, "core.wasm", "core WebAssembly module");
}

#[test]
fn truncated_components_are_refused() {
    let dir = plugins_dir(&[ECHO]);
    let bytes = std::fs::read(berth_test_artifacts::wasm("berth-plugin-text")).unwrap();
    std::fs::write(dir.path().join("half.wasm"), &bytes[..bytes.len() / 2]).unwrap();
    refused_in(dir, "half.wasm", "half.wasm");
}

/// A tool schema that takes 2^40 steps to check a value against froze the whole server
/// on its first call (the outside review, issue 18); it is refused at load instead,
/// naming the tool, and the server answers `ping` at once.
#[test]
pub fn schema_bomb() {
    let dir = plugins_dir(&[ECHO, "berth-test-schema-bomb"]);
    let mut server = Server::initialized(dir.path(), None);
    let started = std::time::Instant::now();
    server.ok("ping", json!({}));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "ping took {:?}",
        started.elapsed()
    );
    assert!(server.close().success());
    refused_in(
        plugins_dir(&[ECHO, "berth-test-schema-bomb"]),
        "berth_test_schema_bomb.wasm",
        "the input schema of tool `input_bomb` is invalid: checking a value against it would \
         visit more than 20000 subschemas",
    );
}

/// Asserts that the first occurrences of `needles` in the server's log come in this order.
fn logged_in_order(server: &Server, needles: &[&str]) {
    let log = server.stderr();
    let positions: Vec<usize> = needles
        .iter()
        .map(|needle| {
            log.find(needle)
                .unwrap_or_else(|| panic!("no `{needle}`:\n{log}"))
        })
        .collect();
    assert!(
        positions.is_sorted(),
        "not in the order {needles:?}:\n{log}"
    );
}

/// A plugin slow in its load-time exports, but within its budget, does not hold up the
/// others: start-up serves them without it, and it joins when it finishes, with a
/// `list_changed` to clients (issue 18).
#[test]
pub fn slow_loader() {
    let dir = plugins_dir(&[ECHO, "berth-test-slow-loader"]);
    let mut server = Server::initialized(dir.path(), None);
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "alive" }))),
        "alive"
    );
    server.wait_for_notification("notifications/tools/list_changed");
    assert!(
        server
            .tool_names()
            .contains(&"slow-loader_ping".to_string()),
        "{:?}",
        server.tool_names()
    );
    assert_eq!(text(&server.call("slow-loader_ping", json!({}))), "pong");
    // The load is logged just after the snapshot (and so the notice) goes out.
    server.wait_for_log("plugin=slow-loader");
    logged_in_order(
        &server,
        &["plugin still loading", " ready", "plugin=slow-loader"],
    );
    assert!(server.close().success());

    // A late load overtaken by a newer build of its file is dropped, not published.
    let dir = plugins_dir(&[ECHO]);
    let server = Server::initialized(dir.path(), None);
    let slow = crate::support::component("berth-test-slow-loader");
    crate::support::install(dir.path(), "late.wasm", &slow);
    server.wait_for_log("plugin still loading");
    let legacy = crate::support::component("berth-test-legacy");
    crate::support::install(dir.path(), "late.wasm", &legacy);
    server.wait_for_log("plugin=legacy");
    // Past the moment the slow build's load ends.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let log = server.stderr();
    assert!(!log.contains("plugin=slow-loader"), "{log}");
    assert!(server.close().success());
}

/// A load's exports run under the `[runtime]` limits and share one deadline: an endless
/// `interests` held start-up (and `initialize`) for a hard-coded 30 s whatever the config
/// said (issue 18); with `call_timeout_ms = 1500` it is refused after 1.5 s.
#[test]
pub fn load_spinner() {
    let dir = plugins_dir(&[ECHO, "berth-test-load-spinner"]);
    let config = crate::support::config_file(dir.path(), "[runtime]\ncall_timeout_ms = 1500\n");
    let started = std::time::Instant::now();
    let mut server = Server::initialized(dir.path(), Some(&config));
    let waited = started.elapsed();
    assert!(
        waited < std::time::Duration::from_secs(10),
        "initialize took {waited:?}"
    );
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "alive" }))),
        "alive"
    );
    let line = server.wait_for_log_line("plugin refused", 1);
    assert!(line.contains("berth_test_load_spinner.wasm"), "{line}");
    assert!(
        line.contains("its load-time exports did not finish within 1.5s together"),
        "{line}"
    );
    // Serving did not wait for the spinner's budget: the others were ready first.
    logged_in_order(
        &server,
        &["plugin still loading", " ready", "plugin refused"],
    );
    assert!(server.close().success());

    // The plugin's own limits apply once `describe` has named it.
    let config = crate::support::config_file(
        dir.path(),
        "[plugins.load-spinner.limits]\ncall_timeout_ms = 700\n",
    );
    let server = Server::initialized(dir.path(), Some(&config));
    let line = server.wait_for_log_line("plugin refused", 1);
    assert!(
        line.contains("its load-time exports did not finish within 700ms together"),
        "{line}"
    );
    assert!(server.close().success());

    // A new build of a served plugin runs its whole load, `describe` included, under the
    // served plugin's limits: `echo.wasm` replaced by a build that spins while loading.
    let dir = plugins_dir(&[ECHO]);
    let config =
        crate::support::config_file(dir.path(), "[plugins.echo.limits]\ncall_timeout_ms = 600\n");
    let server = Server::initialized(dir.path(), Some(&config));
    crate::support::install(
        dir.path(),
        "berth_plugin_echo.wasm",
        &crate::support::component("berth-test-load-spinner"),
    );
    let line = server.wait_for_log_line("plugin refused", 1);
    assert!(
        line.contains("its load-time exports did not finish within 600ms together"),
        "{line}"
    );
    assert!(server.close().success());
}
