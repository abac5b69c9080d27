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

#[test]
pub fn colliding() {
    refused(
        "berth-test-colliding",
        "berth_test_colliding.wasm",
        "already provides a plugin named `echo`",
    );
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
