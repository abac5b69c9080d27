//! Live plugin lifecycle over a connected stdio session: files added, upgraded, broken
//! and removed in the watched folder while the client stays connected.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{Server, text};

/// Writes `bytes` to `dir/name` the way deploy tools do: a hidden temporary file renamed
/// over the target, so the watcher never sees a half-written plugin.
fn install(dir: &Path, name: &str, bytes: &[u8]) {
    let temporary = dir.join(format!(".{name}.partial"));
    std::fs::write(&temporary, bytes).unwrap();
    std::fs::rename(&temporary, dir.join(name)).unwrap();
}

fn component(package: &str) -> Vec<u8> {
    std::fs::read(berth_test_artifacts::wasm(package)).unwrap()
}

#[test]
fn a_plugin_dropped_in_is_announced_and_served() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::initialized(dir.path(), None);
    assert!(server.tool_names().is_empty());

    install(dir.path(), "echo.wasm", &component("berth-plugin-echo"));
    server.wait_for_notification("notifications/tools/list_changed");
    server.wait_for_notification("notifications/resources/list_changed");
    assert!(server.tool_names().contains(&"echo_echo".to_string()));
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "hot" }))),
        "hot"
    );
    server.wait_for_log("plugin loaded");
}

#[test]
fn an_upgrade_swaps_in_and_a_broken_one_keeps_the_old_version() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "echo.wasm", &component("berth-plugin-echo"));
    let mut server = Server::initialized(dir.path(), None);
    assert!(server.tool_names().contains(&"echo_add".to_string()));

    // A broken build over the file: refused, the old version keeps serving, no change
    // is announced.
    install(dir.path(), "echo.wasm", b"\0asm\x0d\0\x01\0 truncated");
    server.wait_for_log("plugin refused");
    assert_eq!(
        text(&server.call("echo_add", json!({ "a": 1.5, "b": 2 }))),
        "3.5"
    );

    // Another build of plugin `echo` (one tool only) replaces it, written in place.
    std::fs::write(
        dir.path().join("echo.wasm"),
        component("berth-test-colliding"),
    )
    .unwrap();
    server.wait_for_notification("notifications/tools/list_changed");
    let names = server.tool_names();
    assert_eq!(
        names,
        ["echo_echo"],
        "the new build's tools replace the old ones"
    );
    assert_eq!(
        server.request(
            "tools/call",
            json!({ "name": "echo_add", "arguments": { "a": 1, "b": 2 } })
        )["error"]["code"],
        -32602
    );
    let log = server.wait_for_log("plugin reloaded");
    assert!(log.contains("from=0.1.0"), "{log}");
}

#[test]
fn a_removed_plugin_disappears_and_its_tools_are_unknown() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "echo.wasm", &component("berth-plugin-echo"));
    install(dir.path(), "text.wasm", &component("berth-plugin-text"));
    let mut server = Server::initialized(dir.path(), None);
    server.clear_notifications();

    std::fs::remove_file(dir.path().join("echo.wasm")).unwrap();
    server.wait_for_notification("notifications/tools/list_changed");
    server.wait_for_notification("notifications/resources/list_changed");
    let names = server.tool_names();
    assert!(names.iter().all(|n| n.starts_with("text_")), "{names:?}");
    let reply: Value = server.request(
        "tools/call",
        json!({ "name": "echo_echo", "arguments": { "text": "x" } }),
    );
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("echo_echo"),
        "{reply}"
    );
    server.wait_for_log("plugin unloaded");
    // What stayed is untouched.
    assert_ne!(
        server.call("text_slugify", json!({ "text": "Still Here" }))["isError"],
        true
    );
}

#[test]
fn calls_in_flight_finish_on_the_old_version() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "echo.wasm", &component("berth-plugin-echo"));
    let mut server = Server::initialized(dir.path(), None);

    // Start a slow call, then replace the plugin while it runs.
    let slow = json!({ "jsonrpc": "2.0", "id": "slow", "method": "tools/call",
        "params": { "name": "echo_sleep", "arguments": { "millis": 1500 } } });
    server.send_line(&slow.to_string());
    install(dir.path(), "echo.wasm", &component("berth-test-colliding"));
    server.wait_for_notification("notifications/tools/list_changed");
    assert_eq!(server.tool_names(), ["echo_echo"]);

    // The call that started before the swap completes on the build it started with.
    let reply = server.response_to(json!("slow"));
    assert_eq!(
        reply["result"]["content"][0]["text"], "slept 1500 ms",
        "{reply}"
    );
    assert_ne!(reply["result"]["isError"], true, "{reply}");
}

/// Replaces the config file the way editors save: a new file renamed over the old one.
fn save_config(path: &Path, text: &str) {
    let temporary = path.with_extension("toml.tmp");
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

#[test]
fn config_edits_apply_live_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    install(&plugins, "echo.wasm", &component("berth-plugin-echo"));
    let config = dir.path().join("berth.toml");
    std::fs::write(&config, "[plugins.echo]\nconfig = { greeting = \"one\" }\n").unwrap();
    let mut server = Server::initialized(&plugins, Some(&config));
    let greeting = |server: &mut Server| {
        text(&server.call("echo_config_get", json!({ "key": "greeting" }))).to_string()
    };
    assert_eq!(greeting(&mut server), "one");

    // A valid edit applies to the next call.
    save_config(&config, "[plugins.echo]\nconfig = { greeting = \"two\" }\n");
    server.wait_for_log("config applied");
    assert_eq!(greeting(&mut server), "two");

    // An invalid edit is refused with its line; the last good config stays in force.
    save_config(
        &config,
        "[plugins.echo]\nconfig = { greeting = \"three\" }\nenabeld = false\n",
    );
    let log = server.wait_for_log("config rejected");
    let line = log.lines().find(|l| l.contains("config rejected")).unwrap();
    assert!(
        line.contains("line 3") && line.contains("enabeld"),
        "{line}"
    );
    assert_eq!(greeting(&mut server), "two");

    // Disabling the plugin unloads it and tells the client; enabling brings it back.
    server.clear_notifications();
    save_config(&config, "[plugins.echo]\nenabled = false\n");
    server.wait_for_notification("notifications/tools/list_changed");
    assert!(server.tool_names().is_empty());
    save_config(&config, "[plugins.echo]\nenabled = true\n");
    server.wait_for_notification("notifications/tools/list_changed");
    assert!(server.tool_names().contains(&"echo_echo".to_string()));
    assert_eq!(greeting(&mut server), "<unset>");
}
