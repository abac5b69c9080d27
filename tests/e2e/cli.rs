//! The plugin author's one-shot commands: `berth inspect` and `berth call`.

use serde_json::Value;

use crate::support::{berth, inspect_json};

const ECHO: &str = "berth-plugin-echo";

#[test]
fn inspect_prints_the_manifest() {
    let manifest = inspect_json(&berth_test_artifacts::wasm(ECHO));
    assert_eq!(manifest["name"], "echo");
    assert_eq!(manifest["contract"], "berth:plugin@0.2.0");
    assert_eq!(
        manifest["events"],
        serde_json::json!(["plugin-loaded", "tool-called"])
    );
    let echo = manifest["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "echo_echo")
        .unwrap();
    assert_eq!(
        echo["inputSchema"]["properties"]["text"]["type"], "string",
        "{echo}"
    );
    assert!(!echo["description"].as_str().unwrap().is_empty());

    let out = berth()
        .arg("inspect")
        .arg(berth_test_artifacts::wasm(ECHO))
        .output()
        .unwrap();
    let summary = String::from_utf8(out.stdout).unwrap();
    assert!(
        summary.contains("echo_echo")
            && summary.contains("echo://items/{id}")
            && summary.contains("events: plugin-loaded, tool-called"),
        "{summary}"
    );
}

#[test]
fn inspect_explains_what_is_wrong() {
    let out = berth()
        .arg("inspect")
        .arg(berth_test_artifacts::wasm("berth-test-future-contract"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("berth:plugin@1.0.0") && err.contains("0.1") && err.contains("0.2"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn call_runs_one_tool() {
    let out = berth()
        .args(["call"])
        .arg(berth_test_artifacts::wasm(ECHO))
        .args(["echo", "--args", r#"{"text":"from the cli"}"#])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["content"][0]["text"], "from the cli");

    let out = berth()
        .args(["call"])
        .arg(berth_test_artifacts::wasm(ECHO))
        .args([
            "config_get",
            "--args",
            r#"{"key":"k"}"#,
            "--config-value",
            "k=v",
        ])
        .output()
        .unwrap();
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["content"][0]["text"], "v");

    let out = berth()
        .args(["call"])
        .arg(berth_test_artifacts::wasm(ECHO))
        .args(["fail", "--args", r#"{"message":"boom"}"#])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "an error result exits 2");

    let out = berth()
        .args(["call"])
        .arg(berth_test_artifacts::wasm(ECHO))
        .args(["nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no tool `nope`"));
}
