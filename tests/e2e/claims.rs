//! Names and URIs belong to the plugin the operator meant to serve (issue 18): an
//! impostor named to collide with `text`'s tool at start-up is refused with `text` unless
//! the config prefers one; a `file:` resource URI needs a folder grant behind it (or the
//! operator's say-so); and even with that, one dropped in later cannot shadow a URI that
//! `files` serves through its template.

use serde_json::json;

use crate::support::{Server, component, config_file, install, plugins_dir, text};

const TEXT: &str = "berth-plugin-text";
const IMPOSTOR: &str = "berth-test-impostor";
const ECHO: &str = "berth-plugin-echo";

/// The operator lets the impostor declare its `file:` resource without a folder grant,
/// so what else stops it is what is tested.
const IMPOSTOR_URIS: &str = "[plugins.text_change]\nresource_uris = [\"file:///workspace/\"]\n";

/// The refusal line about `file` (the file it refuses, not one it mentions), waited for.
fn refusal(server: &Server, file: &str) -> String {
    let refused = format!("{file} error=");
    let log = server.wait_for_log(&refused);
    log.lines()
        .find(|l| l.contains("plugin refused") && l.contains(&refused))
        .unwrap_or_else(|| panic!("no refusal of {file}:\n{log}"))
        .to_string()
}

/// Named after the plugin, as `foreach_test_plugin!` requires.
#[test]
pub fn impostor() {
    // Loaded together and neither preferred: both refused, whatever the file names.
    let dir = plugins_dir(&[ECHO, TEXT, IMPOSTOR]);
    let config = config_file(dir.path(), IMPOSTOR_URIS);
    let mut server = Server::initialized(dir.path(), Some(&config));
    let tools = server.tool_names();
    assert!(
        tools.iter().all(|t| t.starts_with("echo_")),
        "only echo serves: {tools:?}"
    );
    for (file, other) in [
        ("berth_test_impostor.wasm", "text"),
        ("berth_plugin_text.wasm", "text_change"),
    ] {
        let line = refusal(&server, file);
        assert!(
            line.contains(&format!("it and plugin `{other}`"))
                && line.contains("both claim the tool name `text_change_case`")
                && line.contains("Berth serves neither"),
            "{line}"
        );
    }
    assert!(server.close().success());

    // The operator prefers `text`: it keeps the name and the impostor is refused.
    let preferred = format!("{IMPOSTOR_URIS}[plugins.text]\npreferred = true\n");
    let config = config_file(dir.path(), &preferred);
    let mut server = Server::initialized(dir.path(), Some(&config));
    let changed = server.call(
        "text_change_case",
        json!({ "text": "a b", "case": "upper" }),
    );
    assert_eq!(text(&changed), "A B");
    let line = refusal(&server, "berth_test_impostor.wasm");
    assert!(line.contains("the config prefers `text`"), "{line}");
    assert!(server.close().success());
}

#[test]
fn a_static_resource_cannot_shadow_another_plugins_template() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    let workspace = dir.path().join("workspace");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::create_dir_all(&workspace).unwrap();
    std::fs::write(workspace.join("notes.txt"), "real notes").unwrap();
    install(&plugins, "files.wasm", &component("berth-plugin-files"));
    let files_grant = format!(
        "[plugins.files.grants]\nfolders = [{{ host = {:?}, guest = \"/workspace\", write = true }}]\n",
        workspace.display().to_string()
    );
    let config = config_file(dir.path(), &format!("{files_grant}{IMPOSTOR_URIS}"));
    let mut server = Server::initialized(&plugins, Some(&config));
    let read = |server: &mut Server| {
        let result = server.ok(
            "resources/read",
            json!({ "uri": "file:///workspace/notes.txt" }),
        );
        result["contents"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(read(&mut server), "real notes");

    install(&plugins, "impostor.wasm", &component(IMPOSTOR));
    let line = refusal(&server, "impostor.wasm");
    assert!(
        line.contains(
            "its resource `file:///workspace/notes.txt` falls under the template \
             `file:///workspace/{+path}` of plugin `files`"
        ),
        "{line}"
    );
    assert_eq!(read(&mut server), "real notes");
    assert!(server.close().success());
}

#[test]
fn a_file_resource_needs_a_folder_grant_behind_it() {
    let dir = plugins_dir(&[ECHO, IMPOSTOR]);
    let mut server = Server::initialized(dir.path(), None);
    let line = refusal(&server, "berth_test_impostor.wasm");
    assert!(
        line.contains(
            "its resource `file:///workspace/notes.txt` names `/workspace/notes.txt`, which is \
             in no folder granted to it"
        ) && line.contains("plugins.text_change.resource_uris"),
        "{line}"
    );
    assert_eq!(text(&server.call("echo_echo", json!({ "text": "x" }))), "x");
    assert!(server.close().success());
}
