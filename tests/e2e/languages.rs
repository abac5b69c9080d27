//! Plugins in Python and TypeScript (issue 24), built in this run from `plugins/` with the
//! checkout's SDKs (`berth_test_artifacts::languages`): the SDKs' own unit tests, the
//! examples served beside the Rust examples and called through the official Python MCP
//! SDK client, the misbehaving test plugins against a live server, builds that must fail,
//! and `berth new --lang python|js` projects built with their README's command.

use std::path::{Path, PathBuf};
use std::process::Command;

use berth_test_artifacts::languages::{
    self, js_plugin, js_workdir, npm, output_of, python_build, python_plugin,
};
use serde_json::{Value, json};

use crate::support::{Server, berth, config_file, stdout_of, text};

fn root() -> PathBuf {
    languages::workspace_root()
}

/// Asserts that `command` succeeded, showing its output otherwise.
fn succeeds(command: &mut Command) -> String {
    let out = output_of(command);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{command:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout + &stderr
}

/// The SDKs' unit tests and the examples' native tests (plain interpreters, no wasm)
/// are part of the workspace's test command.
#[test]
fn sdk_and_example_unit_tests_pass_natively() {
    let root = root();
    succeeds(
        Command::new("python3")
            .args(["-m", "unittest", "discover", "-s", "tests", "-t", "."])
            .current_dir(root.join("plugin-sdk/python"))
            .env("PYTHONDONTWRITEBYTECODE", "1"),
    );
    succeeds(
        Command::new("python3")
            .args(["-m", "unittest", "discover", "-s", "tests"])
            .current_dir(root.join("plugins/units"))
            .env("PYTHONPATH", root.join("plugin-sdk/python"))
            .env("PYTHONDONTWRITEBYTECODE", "1"),
    );
    succeeds(
        Command::new("node")
            .args(["--test", "test/"])
            .current_dir(root.join("plugin-sdk/js")),
    );
    let markdown = js_workdir(&root.join("plugins/markdown"));
    succeeds(&mut npm(&markdown, "test"));
    succeeds(&mut npm(&markdown, "typecheck"));
}

/// Serves `extra` components beside the Rust examples and runs `calls` through the
/// official Python MCP SDK's stdio client; returns its report (see `call_tools.py`).
fn serve_beside_the_examples(extra: &[&Path], calls: Value) -> Value {
    let dir = berth_test_artifacts::fresh_dir_with(&berth_test_artifacts::EXAMPLES_WITHOUT_GRANTS);
    for component in extra {
        std::fs::copy(component, dir.path().join(component.file_name().unwrap())).unwrap();
    }
    let script = root().join("tests/python/call_tools.py");
    let out = Command::new(crate::interop::venv_python())
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_berth"))
        .arg(dir.path())
        .arg(calls.to_string())
        .env("BERTH_ADMIN_SOCKET", "off")
        .output()
        .expect("the client script runs");
    assert!(
        out.status.success(),
        "the Python MCP client failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the client prints JSON")
}

#[test]
fn the_python_example_serves_beside_the_rust_examples() {
    let units = python_plugin(&root().join("plugins/units"));
    let report = serve_beside_the_examples(
        &[&units],
        json!([
            ["units_convert", {"value": 1, "from_unit": "mi", "to_unit": "km"}],
            ["units_convert", {"value": 100, "from_unit": "C", "to_unit": "F"}],
            ["units_convert", {"value": 1, "from_unit": "kg", "to_unit": "km"}],
            ["units_convert", {"value": 1, "from_unit": "metre", "to_unit": "furlongs"}],
            ["text_count", {"text": "served beside Python"}],
        ]),
    );
    // The schema comes from the type hints.
    let schema = &report["tools"]["units_convert"];
    assert_eq!(schema["properties"]["value"]["type"], "number", "{schema}");
    assert_eq!(schema["required"], json!(["value", "from_unit", "to_unit"]));
    assert!(report["tools"]["text_count"].is_object(), "{report}");
    assert!(
        report["templates"]
            .as_array()
            .unwrap()
            .contains(&json!("units://kinds/{kind}")),
        "{report}"
    );
    let results = report["results"].as_array().unwrap();
    assert_eq!(results[0]["is_error"], false, "{report}");
    assert_eq!(results[0]["structured"]["result"], 1.609344, "{report}");
    assert_eq!(results[1]["structured"]["result"], 212.0, "{report}");
    // Mixed kinds and unknown units are errors the model sees, saying what to do.
    assert_eq!(results[2]["is_error"], true, "{report}");
    assert!(
        results[2]["text"][0].as_str().unwrap().contains("mass"),
        "{report}"
    );
    assert_eq!(results[3]["is_error"], true, "{report}");
    assert!(
        results[3]["text"][0].as_str().unwrap().contains("furlongs"),
        "{report}"
    );
    assert_eq!(results[4]["is_error"], false, "{report}");
}

#[test]
fn the_typescript_example_serves_beside_the_rust_examples() {
    let markdown = js_plugin(&root().join("plugins/markdown"));
    let doc = "# Title\n\nSee [the docs](https://example.com/docs).\n\n## Install\n\n```\n# not a heading\n```\n\n## Use\n";
    let report = serve_beside_the_examples(
        &[&markdown],
        json!([
            ["markdown_toc", {"markdown": doc}],
            ["markdown_outline", {"markdown": doc}],
            ["markdown_links", {"markdown": doc}],
            ["markdown_outline", {"markdown": 7}],
            ["json_format", {"document_text": "{\"a\":1}"}],
        ]),
    );
    // `outline` declares its input with zod: the schema the host serves came from it.
    let outline = &report["tools"]["markdown_outline"];
    assert_eq!(
        outline["properties"]["markdown"]["type"], "string",
        "{outline}"
    );
    let results = report["results"].as_array().unwrap();
    let toc = results[0]["text"][0].as_str().unwrap();
    assert!(toc.contains("- [Title](#title)"), "{toc}");
    assert!(toc.contains("  - [Install](#install)"), "{toc}");
    assert!(!toc.contains("not a heading"), "{toc}");
    let outline = &results[1]["structured"];
    assert_eq!(
        outline["headings"][0]["children"][1]["text"], "Use",
        "{report}"
    );
    let links = results[2]["text"][0].as_str().unwrap();
    assert!(links.contains("https://example.com/docs"), "{links}");
    // Arguments that do not fit the schema never reach the plugin.
    assert_eq!(results[3]["is_error"], true, "{report}");
    assert_eq!(results[4]["is_error"], false, "{report}");
}

/// Calls `tool` and returns (is the answer an error, its text: the tool's message or the
/// JSON-RPC error's).
fn outcome(server: &mut Server, tool: &str) -> (bool, String) {
    let reply = server.request("tools/call", json!({"name": tool, "arguments": {}}));
    if let Some(error) = reply.get("error") {
        return (
            true,
            error["message"].as_str().unwrap_or_default().to_owned(),
        );
    }
    let result = &reply["result"];
    (result["isError"] == true, text(result).to_owned())
}

/// Serves one misbehaving plugin with a short time limit and a memory cap, runs `faults`
/// (tool, words its error must contain) and checks after each that the plugin, and the
/// Rust example beside it, still answer.
fn faults_are_contained(
    component: &Path,
    plugin: &str,
    ok: (&str, &str),
    faults: &[(&str, &[&str])],
) {
    let dir = berth_test_artifacts::fresh_dir_with(&["berth-plugin-text"]);
    std::fs::copy(component, dir.path().join(format!("{plugin}.wasm"))).unwrap();
    let config = config_file(
        dir.path(),
        &format!("[plugins.{plugin}.limits]\ncall_timeout_ms = 3000\nmax_memory_mb = 128\n"),
    );
    let mut server = Server::initialized(dir.path(), Some(&config));
    for (tool, words) in faults {
        let (is_error, message) = outcome(&mut server, &format!("{plugin}_{tool}"));
        assert!(is_error, "{tool} did not fail: {message}");
        for word in *words {
            assert!(
                message.contains(word),
                "{tool}: `{word}` missing from: {message}"
            );
        }
        let (is_error, message) = outcome(&mut server, &format!("{plugin}_{}", ok.0));
        assert!(
            !is_error && message.contains(ok.1),
            "after {tool}: {message}"
        );
        let count = server.call("text_count", json!({"text": "still serving"}));
        assert_eq!(count["isError"], false, "after {tool}: {count}");
    }
}

#[test]
fn python_faults_are_clear_errors_and_the_host_survives() {
    let faults = python_plugin(&root().join("plugins/testing/py-faults"));
    faults_are_contained(
        &faults,
        "py-faults",
        ("ok", "still here"),
        &[
            (
                "raise_exception",
                &["raise_exception", "ValueError", "something broke"],
            ),
            ("tool_error", &["the input was not usable"]),
            ("unserializable_set", &["unserializable_set", "set", "JSON"]),
            ("unserializable_object", &["unserializable_object", "JSON"]),
            ("missing_import", &["ModuleNotFoundError"]),
            ("recurse", &["RecursionError"]),
            ("spin", &["3000"]),
            ("exhaust_memory", &["exhaust_memory"]),
        ],
    );
}

#[test]
fn javascript_faults_are_clear_errors_and_the_host_survives() {
    let faults = js_plugin(&root().join("plugins/testing/js-faults"));
    faults_are_contained(
        &faults,
        "js-faults",
        ("ok", "still here"),
        &[
            ("throw_error", &["throw_error", "something broke"]),
            ("throw_tool_error", &[]),
            ("return_bigint", &["return_bigint", "JSON"]),
            ("return_cycle", &["return_cycle", "JSON"]),
            ("async_reject", &["rejected after an await"]),
            ("stack_overflow", &["too much recursion"]),
            ("loop_forever", &["3000"]),
            ("grab_memory", &["grab_memory"]),
        ],
    );
}

/// Builds that cannot work fail with the file, the line and the cause, and write nothing.
#[test]
fn bad_python_and_javascript_builds_fail_naming_the_file_and_the_cause() {
    let out_dir = tempfile::tempdir().unwrap();
    let wasm = out_dir.path().join("bad.wasm");
    let out = python_build(&root().join("plugins/testing/py-bad-build"), &wasm);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("app.py:3"), "{stderr}");
    assert!(stderr.contains("berth_definitely_missing"), "{stderr}");
    assert!(!stderr.contains("Traceback"), "{stderr}");
    assert!(!wasm.exists());

    let dir = js_workdir(&root().join("plugins/testing/js-bad-build"));
    for (script, words) in [
        ("build", &["src/index.js:", "Expected"][..]),
        ("build:missing", &["Could not resolve", "./helpers.js"]),
        ("build:invalid", &["list_input", "\"type\": \"object\""]),
    ] {
        let out = output_of(&mut npm(&dir, script));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{script}: {all}");
        for word in words {
            assert!(all.contains(word), "{script}: `{word}` missing from: {all}");
        }
    }
}

/// The README's build command: the fenced `sh` block that builds.
fn readme_build_command(project: &Path, marker: &str) -> String {
    let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
    readme
        .split("```sh\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .map(str::trim)
        .find(|block| block.contains(marker))
        .unwrap_or_else(|| panic!("no build command with `{marker}` in:\n{readme}"))
        .to_owned()
}

/// `berth new hello --lang python|js`, the README's build command in the project, then
/// `berth call hello.wasm hello_greet` and the project's native tests, as a newcomer
/// with only the language's own tools would.
#[test]
fn new_python_and_js_projects_build_with_their_readme_command_and_answer() {
    let parent = tempfile::tempdir().unwrap();
    for (lang, marker, native_test) in [
        (
            "python",
            "berth_sdk build",
            ".venv/bin/python -m unittest discover -s tests",
        ),
        ("js", "npm run build", "npm test"),
    ] {
        let folder = parent.path().join(lang);
        std::fs::create_dir_all(&folder).unwrap();
        stdout_of(
            berth()
                .args(["new", "hello", "--lang", lang, "--dir"])
                .arg(&folder),
        );
        let project = folder.join("hello");
        let build = readme_build_command(&project, marker);
        succeeds(
            Command::new("sh")
                .arg("-c")
                .arg(&build)
                .current_dir(&project)
                .env("PYTHONDONTWRITEBYTECODE", "1"),
        );
        let out = stdout_of(berth().arg("call").arg(project.join("hello.wasm")).args([
            "hello_greet",
            "--args",
            r#"{"name":"x"}"#,
        ]));
        let result: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            result["content"][0]["text"], "Hello, x!",
            "{lang}: {result}"
        );
        succeeds(
            Command::new("sh")
                .arg("-c")
                .arg(native_test)
                .current_dir(&project),
        );
    }
}
