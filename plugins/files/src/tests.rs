//! Native tests of every tool and resource, against a fresh temp dir per test set as the
//! root through the config value `root` (per thread, so tests run in parallel).
//!
//! Most calls go through `berth_plugin().call`, as the host would send them, so argument
//! parsing, defaults and result conversion are covered along with the file operations.

use std::fs;
use std::path::Path;

use berth_plugin_sdk::serde_json::{self, Value, json};
use berth_plugin_sdk::wit::{CallError, ContentBlock, ReadError, ToolResult};

use super::*;

/// A temp dir set as this thread's root; dropping it deletes the files.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    config::clear_for_test();
    config::set_for_test("root", dir.path().to_str().unwrap());
    dir
}

fn call(tool: &str, arguments: Value) -> Result<ToolResult, CallError> {
    berth_plugin().call(tool, arguments)
}

/// The result of a call that must succeed.
fn ok(tool: &str, arguments: Value) -> ToolResult {
    let result = call(tool, arguments.clone())
        .unwrap_or_else(|error| panic!("{tool} {arguments}: {error:?}"));
    assert!(!result.is_error, "{tool} {arguments}: {}", result.text());
    result
}

/// The message of a call that must end in an error result the model reads.
fn failed(tool: &str, arguments: Value) -> String {
    let result = call(tool, arguments.clone())
        .unwrap_or_else(|error| panic!("{tool} {arguments}: {error:?}"));
    assert!(
        result.is_error,
        "{tool} {arguments} succeeded: {}",
        result.text()
    );
    result.text()
}

/// The message of a call refused as `invalid-arguments`.
fn invalid(tool: &str, arguments: Value) -> String {
    match call(tool, arguments.clone()) {
        Err(CallError::InvalidArguments(message)) => message,
        other => panic!("{tool} {arguments}: expected invalid-arguments, got {other:?}"),
    }
}

fn text_blocks(result: &ToolResult) -> Vec<&str> {
    result
        .content
        .iter()
        .map(|block| match block {
            ContentBlock::Text(text) => text.as_str(),
            other => panic!("unexpected block {other:?}"),
        })
        .collect()
}

#[test]
fn the_manifest_is_valid_and_annotated() {
    assert_eq!(berth_plugin().validate(), Ok(()));
    let manifest = berth_plugin().manifest();
    assert_eq!(manifest.name, "files");
    let names: Vec<&str> = manifest.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["read", "write", "list", "mkdir", "delete", "move", "stat"]
    );
    let tool = |name: &str| manifest.tools.iter().find(|t| t.name == name).unwrap();
    for name in ["read", "list", "stat"] {
        assert_eq!(tool(name).annotations.read_only, Some(true), "{name}");
    }
    for name in ["write", "delete", "move"] {
        assert_eq!(tool(name).annotations.destructive, Some(true), "{name}");
    }
    assert_eq!(tool("mkdir").annotations.destructive, Some(false));
    for name in ["list", "stat", "write"] {
        assert!(tool(name).output_schema.is_some(), "{name}");
    }
    let read: Value = serde_json::from_str(&tool("read").input_schema).unwrap();
    assert_eq!(read["required"], json!(["path"]));
    assert_eq!(read["additionalProperties"], json!(false));
    let list_output: Value =
        serde_json::from_str(tool("list").output_schema.as_ref().unwrap()).unwrap();
    assert!(list_output["properties"]["entries"].is_object());
    assert_eq!(manifest.resources[0].uri, "file:///workspace/");
    assert_eq!(
        manifest.resource_templates[0].uri_template,
        "file:///workspace/{+path}"
    );
}

#[test]
fn write_then_read_text() {
    let dir = workspace();
    let written = ok("write", json!({"path": "notes.txt", "content": "héllo\n"}));
    assert_eq!(
        written.structured_json().unwrap(),
        json!({"path": "notes.txt", "bytes_written": 7, "size": 7, "mode": "overwrite"})
    );
    assert_eq!(
        fs::read(dir.path().join("notes.txt")).unwrap(),
        "héllo\n".as_bytes()
    );
    let read = ok("read", json!({"path": "notes.txt"}));
    assert_eq!(text_blocks(&read), ["héllo\n"]);
    // Overwrite is the default and replaces the contents.
    ok("write", json!({"path": "notes.txt", "content": "bye"}));
    assert_eq!(
        text_blocks(&ok("read", json!({"path": "notes.txt"}))),
        ["bye"]
    );
    // An empty file reads as an empty text.
    ok("write", json!({"path": "empty", "content": ""}));
    assert_eq!(text_blocks(&ok("read", json!({"path": "empty"}))), [""]);
}

#[test]
fn write_modes() {
    let dir = workspace();
    ok(
        "write",
        json!({"path": "a.txt", "content": "one", "mode": "create"}),
    );
    let message = failed(
        "write",
        json!({"path": "a.txt", "content": "two", "mode": "create"}),
    );
    assert!(
        message.contains("`a.txt`") && message.contains("already exists"),
        "{message}"
    );
    assert!(message.contains("overwrite"), "{message}");
    let appended = ok(
        "write",
        json!({"path": "a.txt", "content": "+two", "mode": "append"}),
    );
    assert_eq!(appended.structured_json().unwrap()["bytes_written"], 4);
    assert_eq!(appended.structured_json().unwrap()["size"], 7);
    assert_eq!(
        fs::read_to_string(dir.path().join("a.txt")).unwrap(),
        "one+two"
    );
    // Append creates a missing file.
    ok(
        "write",
        json!({"path": "new.log", "content": "x", "mode": "append"}),
    );
    assert_eq!(fs::read_to_string(dir.path().join("new.log")).unwrap(), "x");
    assert!(
        invalid(
            "write",
            json!({"path": "a", "content": "", "mode": "merge"})
        )
        .contains("mode")
    );
}

#[test]
fn write_needs_parents_unless_asked_to_create_them() {
    let dir = workspace();
    let message = failed("write", json!({"path": "a/b/c.txt", "content": "x"}));
    assert!(
        message.contains("`a/b`") && message.contains("does not exist"),
        "{message}"
    );
    assert!(message.contains("create_parents"), "{message}");
    ok(
        "write",
        json!({"path": "a/b/c.txt", "content": "x", "create_parents": true}),
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("a/b/c.txt")).unwrap(),
        "x"
    );
    // A parent that is a file.
    let message = failed("write", json!({"path": "a/b/c.txt/d", "content": "x"}));
    assert!(message.contains("is a file, not a folder"), "{message}");
    // The root itself, and a folder, are not files.
    assert!(
        invalid("write", json!({"path": ".", "content": "x"})).contains("granted folder itself")
    );
    let message = failed("write", json!({"path": "a", "content": "x"}));
    assert!(message.contains("cannot write `a`"), "{message}");
}

#[test]
fn base64_round_trips_any_bytes() {
    let dir = workspace();
    let bytes: Vec<u8> = (0..=255).collect();
    let encoded = STANDARD.encode(&bytes);
    ok(
        "write",
        json!({"path": "all.bin", "content": encoded, "encoding": "base64"}),
    );
    assert_eq!(fs::read(dir.path().join("all.bin")).unwrap(), bytes);
    let read = ok("read", json!({"path": "all.bin", "encoding": "base64"}));
    assert_eq!(text_blocks(&read), [encoded.as_str()]);
    // Binary as UTF-8 is refused with a pointer to base64.
    let message = failed("read", json!({"path": "all.bin"}));
    assert!(
        message.contains("`all.bin` is not valid UTF-8"),
        "{message}"
    );
    assert!(message.contains("offset 128"), "{message}");
    assert!(message.contains("base64"), "{message}");
    // Decoding tolerates line breaks and missing padding; garbage is invalid arguments.
    ok(
        "write",
        json!({"path": "w.bin", "content": "aGVs\nbG8", "encoding": "base64"}),
    );
    assert_eq!(fs::read(dir.path().join("w.bin")).unwrap(), b"hello");
    let message = invalid(
        "write",
        json!({"path": "w.bin", "content": "not base64!", "encoding": "base64"}),
    );
    assert!(message.contains("not valid base64"), "{message}");
    assert!(invalid("read", json!({"path": "w.bin", "encoding": "latin1"})).contains("encoding"));
}

#[test]
fn reads_page_through_large_files() {
    let dir = workspace();
    fs::write(dir.path().join("abc.txt"), "abcdefghij").unwrap();
    let part = ok("read", json!({"path": "abc.txt", "offset": 2, "length": 3}));
    let blocks = text_blocks(&part);
    assert_eq!(blocks[0], "cde");
    assert!(blocks[1].contains("bytes 2..5 of 10"), "{}", blocks[1]);
    assert!(blocks[1].contains("offset 5"), "{}", blocks[1]);
    let tail = ok("read", json!({"path": "abc.txt", "offset": 7}));
    assert_eq!(text_blocks(&tail)[0], "hij");
    assert!(text_blocks(&tail)[1].contains("end of the file"));
    let past = ok("read", json!({"path": "abc.txt", "offset": 99}));
    assert_eq!(text_blocks(&past)[0], "");
    assert!(text_blocks(&past)[1].contains("past the end"));
    let base64 = ok(
        "read",
        json!({"path": "abc.txt", "offset": 1, "length": 2, "encoding": "base64"}),
    );
    assert_eq!(text_blocks(&base64)[0], STANDARD.encode("bc"));
}

#[test]
fn partial_text_reads_never_split_a_character() {
    let dir = workspace();
    // "é" is two bytes (1..3), "€" three (3..6).
    fs::write(dir.path().join("u.txt"), "aé€z").unwrap();
    let first = ok("read", json!({"path": "u.txt", "length": 2}));
    assert_eq!(text_blocks(&first)[0], "a");
    assert!(
        text_blocks(&first)[1].contains("offset 1"),
        "{}",
        text_blocks(&first)[1]
    );
    let next = ok("read", json!({"path": "u.txt", "offset": 1, "length": 4}));
    assert_eq!(text_blocks(&next)[0], "é");
    // Starting inside a character is explained.
    let message = failed("read", json!({"path": "u.txt", "offset": 2}));
    assert!(
        message.contains("inside a multi-byte character"),
        "{message}"
    );
    // A length too small for the one character there.
    let message = failed("read", json!({"path": "u.txt", "offset": 3, "length": 1}));
    assert!(message.contains("too small"), "{message}");
}

#[test]
fn one_read_is_capped_at_8_mib() {
    let dir = workspace();
    let size = MAX_READ as usize + 10;
    fs::write(dir.path().join("big.txt"), vec![b'a'; size]).unwrap();
    let read = ok("read", json!({"path": "big.txt"}));
    let blocks = text_blocks(&read);
    assert_eq!(blocks[0].len(), MAX_READ as usize);
    assert!(blocks[1].contains("at most 8 MiB"), "{}", blocks[1]);
    assert!(
        blocks[1].contains(&format!("offset {MAX_READ}")),
        "{}",
        blocks[1]
    );
    let rest = ok("read", json!({"path": "big.txt", "offset": MAX_READ}));
    assert_eq!(text_blocks(&rest)[0], "aaaaaaaaaa");
    // The resource template refuses rather than truncating.
    let ReadError::Failed(message) = berth_plugin()
        .read("file:///workspace/big.txt")
        .unwrap_err()
    else {
        panic!("expected failed");
    };
    assert!(message.contains("`read` tool"), "{message}");
}

#[test]
fn read_errors_name_the_path_and_the_reason() {
    let dir = workspace();
    let message = failed("read", json!({"path": "missing.txt"}));
    assert!(
        message.starts_with("cannot read `missing.txt`: it does not exist"),
        "{message}"
    );
    fs::create_dir(dir.path().join("sub")).unwrap();
    let message = failed("read", json!({"path": "sub"}));
    assert!(
        message.contains("is a folder") && message.contains("list"),
        "{message}"
    );
    let message = failed("read", json!({"path": "missing/dir/x"}));
    assert!(message.contains("does not exist"), "{message}");
}

#[test]
fn paths_outside_the_root_are_refused_by_every_tool() {
    let dir = workspace();
    let root = dir.path().display().to_string();
    for bad in ["../x", "a/../../x", "/etc/passwd", "/workspace/../etc"] {
        for (tool, arguments) in [
            ("read", json!({"path": bad})),
            ("write", json!({"path": bad, "content": "x"})),
            ("list", json!({"path": bad})),
            ("mkdir", json!({"path": bad})),
            ("delete", json!({"path": bad})),
            ("stat", json!({"path": bad})),
            ("move", json!({"from": bad, "to": "y"})),
            ("move", json!({"from": "y", "to": bad})),
        ] {
            let message = invalid(tool, arguments);
            assert!(message.contains(&format!("`{bad}`")), "{tool}: {message}");
            assert!(message.contains(&root), "{tool}: {message}");
        }
    }
    assert!(invalid("read", json!({"path": ""})).contains("empty"));
    assert!(invalid("read", json!({"path": "a\u{0}b"})).contains("NUL"));
    assert!(!dir.path().parent().unwrap().join("x").exists());
}

#[test]
fn absolute_paths_inside_the_root_work() {
    let dir = workspace();
    fs::write(dir.path().join("a.txt"), "A").unwrap();
    let absolute = dir.path().join("a.txt").display().to_string();
    assert_eq!(text_blocks(&ok("read", json!({"path": absolute}))), ["A"]);
    // `/workspace` names the root whatever it is configured to be.
    assert_eq!(
        text_blocks(&ok("read", json!({"path": "/workspace/a.txt"}))),
        ["A"]
    );
    assert_eq!(
        text_blocks(&ok("read", json!({"path": "./sub/../a.txt"}))),
        ["A"]
    );
}

#[test]
fn a_relative_root_in_config_is_a_failure() {
    let _dir = workspace();
    config::set_for_test("root", "relative");
    match call("list", json!({})) {
        Err(CallError::Failed(message)) => assert!(message.contains("absolute"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_root_says_the_folder_is_not_granted() {
    let dir = workspace();
    let gone = dir.path().join("gone");
    config::set_for_test("root", gone.to_str().unwrap());
    let message = failed("read", json!({"path": "a.txt"}));
    assert!(message.contains("has not granted"), "{message}");
    assert!(message.contains(gone.to_str().unwrap()), "{message}");
    assert!(failed("list", json!({})).contains("grants"));
    assert!(matches!(
        berth_plugin().read("file:///workspace/"),
        Err(ReadError::Failed(_))
    ));
}

#[test]
fn list_shows_entries_with_kinds_sizes_and_times() {
    let dir = workspace();
    fs::create_dir_all(dir.path().join("src/deep/deeper")).unwrap();
    fs::write(dir.path().join("b.txt"), "12345").unwrap();
    fs::write(dir.path().join("src/main.rs"), "fn main() {}").unwrap();
    fs::write(dir.path().join("src/deep/deeper/x"), "").unwrap();

    let result = ok("list", json!({}));
    let listing = result.structured_json().unwrap();
    assert_eq!(listing["path"], ".");
    assert_eq!(listing["truncated"], false);
    let entries = listing["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["name"], "b.txt");
    assert_eq!(entries[0]["kind"], "file");
    assert_eq!(entries[0]["size"], 5);
    let modified = entries[0]["modified"].as_str().unwrap();
    assert!(
        modified.len() == 20 && modified.ends_with('Z'),
        "{modified}"
    );
    assert_eq!(entries[1]["path"], "src");
    assert_eq!(entries[1]["kind"], "dir");
    assert!(entries[1].get("size").is_none());

    let paths = |arguments: Value| -> Vec<String> {
        ok("list", arguments).structured_json().unwrap()["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["path"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        paths(json!({"recursive": true})),
        [
            "b.txt",
            "src",
            "src/deep",
            "src/deep/deeper",
            "src/deep/deeper/x",
            "src/main.rs"
        ]
    );
    assert_eq!(
        paths(json!({"recursive": true, "max_depth": 2})),
        ["b.txt", "src", "src/deep", "src/main.rs"]
    );
    assert_eq!(paths(json!({"path": "src"})), ["src/deep", "src/main.rs"]);
    assert_eq!(
        paths(json!({"path": "/workspace/src/deep"})),
        ["src/deep/deeper"]
    );

    let limited = ok("list", json!({"recursive": true, "limit": 3}));
    let limited = limited.structured_json().unwrap();
    assert_eq!(limited["entries"].as_array().unwrap().len(), 3);
    assert_eq!(limited["truncated"], true);
    // Exactly at the limit is not truncated.
    let exact = ok("list", json!({"limit": 2})).structured_json().unwrap();
    assert_eq!(exact["truncated"], false);

    let message = failed("list", json!({"path": "b.txt"}));
    assert!(message.contains("cannot list `b.txt`"), "{message}");
    assert!(failed("list", json!({"path": "nope"})).contains("does not exist"));
    assert!(invalid("list", json!({"max_depth": "deep"})).contains("max_depth"));
}

#[test]
fn mkdir_creates_folders() {
    let dir = workspace();
    assert_eq!(
        ok("mkdir", json!({"path": "docs"})).text(),
        "created the folder `docs`"
    );
    assert!(dir.path().join("docs").is_dir());
    let message = failed("mkdir", json!({"path": "docs"}));
    assert!(
        message.contains("`docs`") && message.contains("already exists"),
        "{message}"
    );
    assert!(failed("mkdir", json!({"path": "x/y/z"})).contains("does not exist"));
    ok("mkdir", json!({"path": "x/y/z", "parents": true}));
    assert!(dir.path().join("x/y/z").is_dir());
    assert!(
        ok("mkdir", json!({"path": "x/y", "parents": true}))
            .text()
            .contains("already exists")
    );
    fs::write(dir.path().join("file"), "").unwrap();
    assert!(failed("mkdir", json!({"path": "file/sub", "parents": true})).contains("`file/sub`"));
}

#[test]
fn delete_files_and_folders() {
    let dir = workspace();
    fs::create_dir_all(dir.path().join("full/inner")).unwrap();
    fs::write(dir.path().join("full/inner/f"), "x").unwrap();
    fs::create_dir(dir.path().join("empty")).unwrap();
    fs::write(dir.path().join("f.txt"), "x").unwrap();

    assert_eq!(
        ok("delete", json!({"path": "f.txt"})).text(),
        "deleted the file `f.txt`"
    );
    assert!(!dir.path().join("f.txt").exists());
    assert!(
        ok("delete", json!({"path": "empty"}))
            .text()
            .contains("empty folder")
    );
    let message = failed("delete", json!({"path": "full"}));
    assert!(
        message.contains("not empty") && message.contains("recursive: true"),
        "{message}"
    );
    assert!(dir.path().join("full/inner/f").exists());
    ok("delete", json!({"path": "full", "recursive": true}));
    assert!(!dir.path().join("full").exists());
    assert!(failed("delete", json!({"path": "full"})).contains("does not exist"));
    for root in [".", "/workspace", "a/.."] {
        let message = invalid("delete", json!({"path": root, "recursive": true}));
        assert!(message.contains("cannot be deleted"), "{message}");
    }
    assert!(dir.path().exists());
}

#[test]
fn move_renames_and_protects_existing_targets() {
    let dir = workspace();
    fs::write(dir.path().join("a.txt"), "A").unwrap();
    fs::write(dir.path().join("b.txt"), "B").unwrap();
    fs::create_dir(dir.path().join("folder")).unwrap();

    assert_eq!(
        ok("move", json!({"from": "a.txt", "to": "folder/a.txt"})).text(),
        "moved `a.txt` to `folder/a.txt`"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("folder/a.txt")).unwrap(),
        "A"
    );
    let message = failed("move", json!({"from": "folder/a.txt", "to": "b.txt"}));
    assert!(
        message.contains("`b.txt` already exists") && message.contains("overwrite"),
        "{message}"
    );
    assert_eq!(fs::read_to_string(dir.path().join("b.txt")).unwrap(), "B");
    ok(
        "move",
        json!({"from": "folder/a.txt", "to": "b.txt", "overwrite": true}),
    );
    assert_eq!(fs::read_to_string(dir.path().join("b.txt")).unwrap(), "A");

    // Folders move with their contents.
    fs::write(dir.path().join("folder/inner"), "i").unwrap();
    ok("move", json!({"from": "folder", "to": "renamed"}));
    assert!(dir.path().join("renamed/inner").exists());

    let message = failed("move", json!({"from": "b.txt", "to": "nowhere/b.txt"}));
    assert!(
        message.contains("`nowhere` does not exist") && message.contains("mkdir"),
        "{message}"
    );
    let message = failed("move", json!({"from": "ghost", "to": "x"}));
    assert!(
        message.starts_with("cannot move `ghost` to `x`: it does not exist"),
        "{message}"
    );
    assert!(
        invalid("move", json!({"from": "renamed", "to": "renamed/sub"})).contains("into itself")
    );
    assert!(invalid("move", json!({"from": ".", "to": "x"})).contains("granted folder itself"));
    assert!(
        invalid("move", json!({"from": "b.txt", "to": "/workspace"}))
            .contains("granted folder itself")
    );
    assert!(
        ok("move", json!({"from": "b.txt", "to": "./b.txt"}))
            .text()
            .contains("nothing to do")
    );
}

#[test]
fn stat_describes_files_and_folders() {
    let dir = workspace();
    fs::write(dir.path().join("page.md"), "# hi").unwrap();
    let stat = ok("stat", json!({"path": "page.md"}))
        .structured_json()
        .unwrap();
    assert_eq!(stat["path"], "page.md");
    assert_eq!(stat["kind"], "file");
    assert_eq!(stat["size"], 4);
    assert_eq!(stat["readonly"], false);
    assert_eq!(stat["mime_type"], "text/markdown");
    assert!(stat["modified"].as_str().unwrap().ends_with('Z'));
    assert!(stat.get("target").is_none());
    let root = ok("stat", json!({"path": "."})).structured_json().unwrap();
    assert_eq!(root["kind"], "dir");
    assert_eq!(root["path"], ".");
    assert!(failed("stat", json!({"path": "nope"})).starts_with("cannot inspect `nope`"));
}

#[cfg(unix)]
#[test]
fn symbolic_links_are_handled_without_escaping() {
    use std::os::unix::fs::symlink;

    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("root");
    fs::create_dir(&root).unwrap();
    config::clear_for_test();
    config::set_for_test("root", root.to_str().unwrap());
    fs::write(outer.path().join("secret.txt"), "secret").unwrap();
    fs::create_dir(outer.path().join("elsewhere")).unwrap();
    fs::write(root.join("real.txt"), "real").unwrap();
    symlink(outer.path().join("secret.txt"), root.join("out")).unwrap();
    symlink("../elsewhere", root.join("outdir")).unwrap();
    symlink("real.txt", root.join("in")).unwrap();

    // Reading or writing through an escaping link is refused, naming the link.
    let message = invalid("read", json!({"path": "out"}));
    assert!(message.contains("symbolic link `out`"), "{message}");
    invalid("write", json!({"path": "out", "content": "x"}));
    invalid("write", json!({"path": "outdir/new.txt", "content": "x"}));
    invalid("list", json!({"path": "outdir"}));
    invalid("mkdir", json!({"path": "outdir/sub"}));
    assert_eq!(
        fs::read_to_string(outer.path().join("secret.txt")).unwrap(),
        "secret"
    );
    assert!(!outer.path().join("elsewhere/new.txt").exists());
    assert!(berth_plugin().read("file:///workspace/out").is_err());

    // Links inside the root are followed.
    assert_eq!(text_blocks(&ok("read", json!({"path": "in"}))), ["real"]);
    ok("write", json!({"path": "in", "content": "changed"}));
    assert_eq!(
        fs::read_to_string(root.join("real.txt")).unwrap(),
        "changed"
    );

    // Listing and stat show links as links, without following them.
    let listing = ok("list", json!({"recursive": true}))
        .structured_json()
        .unwrap();
    let kinds: Vec<(&str, &str)> = listing["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["path"].as_str().unwrap(),
                entry["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("in", "symlink"),
            ("out", "symlink"),
            ("outdir", "symlink"),
            ("real.txt", "file")
        ]
    );
    let stat = ok("stat", json!({"path": "outdir"}))
        .structured_json()
        .unwrap();
    assert_eq!(stat["kind"], "symlink");
    assert_eq!(stat["target"], "../elsewhere");

    // Deleting a link removes the link, never its target.
    assert!(
        ok("delete", json!({"path": "out"}))
            .text()
            .contains("symbolic link")
    );
    assert!(!root.join("out").exists());
    assert!(outer.path().join("secret.txt").exists());
    ok("delete", json!({"path": "outdir", "recursive": true}));
    assert!(outer.path().join("elsewhere").is_dir());
}

#[test]
fn the_template_reads_text_blobs_and_folders() {
    let dir = workspace();
    fs::create_dir(dir.path().join("src")).unwrap();
    fs::write(dir.path().join("src/main.rs"), "fn main() {}").unwrap();
    fs::write(dir.path().join("pixel.png"), [0x89, b'P', b'N', b'G']).unwrap();
    fs::write(dir.path().join("data"), [0xff, 0x00]).unwrap();
    fs::write(dir.path().join("plain.png"), "ascii but an image").unwrap();
    fs::write(dir.path().join("my file.txt"), "spaced").unwrap();

    let contents = berth_plugin()
        .read("file:///workspace/src/main.rs")
        .unwrap();
    assert_eq!(contents[0].uri, "file:///workspace/src/main.rs");
    assert_eq!(contents[0].as_text(), Some("fn main() {}"));
    assert_eq!(contents[0].mime_type.as_deref(), Some("text/x-rust"));

    let png = &berth_plugin().read("file:///workspace/pixel.png").unwrap()[0];
    assert_eq!(png.as_blob(), Some(&[0x89, b'P', b'N', b'G'][..]));
    assert_eq!(png.mime_type.as_deref(), Some("image/png"));
    let plain = &berth_plugin().read("file:///workspace/plain.png").unwrap()[0];
    assert!(plain.as_blob().is_some());
    let data = &berth_plugin().read("file:///workspace/data").unwrap()[0];
    assert_eq!(data.mime_type.as_deref(), Some("application/octet-stream"));
    assert_eq!(data.as_blob(), Some(&[0xff, 0x00][..]));

    let spaced = &berth_plugin()
        .read("file:///workspace/my%20file.txt")
        .unwrap()[0];
    assert_eq!(spaced.as_text(), Some("spaced"));

    let folder = &berth_plugin().read("file:///workspace/src").unwrap()[0];
    assert_eq!(folder.as_text(), Some("src/main.rs  (12 bytes)\n"));
    assert_eq!(folder.mime_type.as_deref(), Some("text/plain"));

    assert!(matches!(
        berth_plugin().read("file:///workspace/missing.txt"),
        Err(ReadError::NotFound(_))
    ));
    let Err(ReadError::NotFound(message)) = berth_plugin().read("file:///workspace/../etc/passwd")
    else {
        panic!("expected not-found");
    };
    assert!(message.contains("outside the granted folder"), "{message}");
}

#[test]
fn the_root_resource_lists_the_folder() {
    let dir = workspace();
    assert_eq!(
        berth_plugin().read("file:///workspace/").unwrap()[0].as_text(),
        Some("(the folder `.` is empty)\n")
    );
    fs::create_dir(dir.path().join("docs")).unwrap();
    fs::write(dir.path().join("a.txt"), "abc").unwrap();
    let contents = berth_plugin().read("file:///workspace/").unwrap();
    assert_eq!(contents[0].mime_type.as_deref(), Some("text/plain"));
    assert_eq!(contents[0].as_text(), Some("a.txt  (3 bytes)\ndocs/\n"));
}

#[test]
fn tools_are_plain_functions_too() {
    let dir = workspace();
    let written = write(WriteArgs {
        path: "x.txt".into(),
        content: "x".into(),
        encoding: Encoding::Utf8,
        mode: WriteMode::Create,
        create_parents: false,
    })
    .unwrap();
    assert_eq!(written.bytes_written, 1);
    assert_eq!(list(ListArgs::default()).unwrap().entries[0].path, "x.txt");
    assert_eq!(stat("x.txt".into()).unwrap().kind, Kind::File);
    assert!(Path::new(&dir.path().join("x.txt")).exists());
}
