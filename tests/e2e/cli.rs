//! One-shot commands: `berth inspect` and `berth call` for plugin authors, `berth token new`
//! for operators.

use serde_json::Value;

use crate::support::{berth, inspect_json, stdout_of};

const ECHO: &str = "berth-plugin-echo";

#[test]
fn inspect_prints_the_manifest() {
    let manifest = inspect_json(&berth_test_artifacts::wasm(ECHO));
    assert_eq!(manifest["name"], "echo");
    assert_eq!(manifest["contract"], "berth:plugin@0.3.0");
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
    let out = stdout_of(
        berth()
            .args(["call"])
            .arg(berth_test_artifacts::wasm(ECHO))
            .args(["echo", "--args", r#"{"text":"from the cli"}"#]),
    );
    let result: Value = serde_json::from_slice(&out).unwrap();
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

#[test]
fn token_new_prints_a_token_and_a_config_entry_that_accepts_it() {
    let out = stdout_of(berth().args(["token", "new", "--name", "ci", "--role", "reader"]));
    let stdout = String::from_utf8(out).unwrap();
    let token = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("berth_"))
        .unwrap_or_else(|| panic!("no token in {stdout}"));
    let entry = &stdout[stdout.find("[[http.auth.tokens]]").expect("an entry")..];
    assert!(
        entry.contains(&berth::auth::token_digest(token)),
        "{stdout}"
    );
    // The entry is valid config as printed.
    let config: berth::config::Config =
        berth::config::Config::parse(entry, std::path::Path::new("printed")).unwrap();
    assert_eq!(config.http.auth.tokens[0].name, "ci");
    assert_eq!(config.http.auth.tokens[0].roles, ["reader"]);
    // Two tokens are never the same.
    let again = berth().args(["token", "new"]).output().unwrap();
    assert!(!String::from_utf8(again.stdout).unwrap().contains(token));
}

/// `berth new` writes a project that builds with the README's command and whose tool
/// `berth call` runs, as a newcomer would do it.
#[test]
fn new_writes_a_plugin_that_builds_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let out = berth()
        .args(["new", "hello", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let project = dir.path().join("hello");
    let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
    assert!(
        readme.contains("cargo build --release --target wasm32-wasip2"),
        "{readme}"
    );
    // Built as the README says; the target folder is kept under this workspace's, so
    // later runs reuse the dependencies.
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/new-plugin");
    let built = std::process::Command::new(env!("CARGO"))
        .args(["build", "--release", "--target", "wasm32-wasip2", "--quiet"])
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "the new project does not build:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let wasm = target.join("wasm32-wasip2/release/hello.wasm");
    let out = stdout_of(berth().arg("call").arg(&wasm).args([
        "hello_greet",
        "--args",
        r#"{"name":"x"}"#,
    ]));
    let result: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(result["content"][0]["text"], "Hello, x!", "{result}");

    // A second project of the same name is refused, and nothing is overwritten.
    let again = berth()
        .args(["new", "hello", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
}
