//! The example plugins, served together as the README's first command serves them.

use serde_json::{Value, json};

use crate::support::{Server, text};

#[test]
fn every_example_loads_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("workspace");
    std::fs::create_dir(&workspace).unwrap();
    let mut server = serve_examples(&workspace);
    let log = server.wait_for_log("ready");
    assert!(!log.contains("plugin refused"), "{log}");
    let names = server.tool_names();
    for prefix in [
        "text_", "json_", "time_", "docs_", "files_", "http_", "notes_",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(prefix)),
            "no {prefix} tools in {names:?}"
        );
    }

    let counted = server.call("text_count", json!({ "text": "two words\nand lines" }));
    assert_ne!(counted["isError"], true, "{counted}");
    assert!(
        text(&counted).contains('4') || counted["structuredContent"]["words"] == 4,
        "{counted}"
    );

    let formatted = server.call(
        "json_format",
        json!({ "document_text": "{ \"b\": 1,\n  \"a\": [1, 2] }", "minify": true }),
    );
    assert_ne!(formatted["isError"], true, "{formatted}");
    assert!(
        text(&formatted).contains(r#"{"b":1,"a":[1,2]}"#),
        "{formatted}"
    );

    let added = server.call("notes_add", json!({ "title": "t", "text": "kept" }));
    assert_eq!(added["structuredContent"]["id"], 1, "{added}");

    let now = server.call("time_now", json!({ "zone": "Asia/Tokyo" }));
    assert_ne!(now["isError"], true, "{now}");
    assert!(text(&now).contains("+09:00"), "{now}");

    let resources = server.ok("resources/list", json!({}));
    let uris: Vec<&str> = resources["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["uri"].as_str())
        .collect();
    assert!(uris.contains(&"berth://docs/contract"), "{resources}");
    let contract: Value = server.ok("resources/read", json!({ "uri": "berth://docs/contract" }));
    assert!(
        contract["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains("package berth:plugin@0.3.0")
    );

    // The docs plugin's prompt, filled in with a topic that completion suggested.
    let prompts = server.ok("prompts/list", json!({}));
    let write = prompts["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "docs_write_plugin")
        .unwrap_or_else(|| panic!("no docs_write_plugin in {prompts}"));
    assert_eq!(write["arguments"][0]["name"], "task", "{write}");
    assert_eq!(write["arguments"][0]["required"], true, "{write}");
    let suggested = server.ok(
        "completion/complete",
        json!({
            "ref": { "type": "ref/prompt", "name": "docs_write_plugin" },
            "argument": { "name": "topic", "value": "er" },
        }),
    );
    assert_eq!(
        suggested["completion"]["values"],
        json!(["errors"]),
        "{suggested}"
    );
    let filled = server.ok(
        "prompts/get",
        json!({ "name": "docs_write_plugin", "arguments": { "task": "sum numbers", "topic": "errors" } }),
    );
    let messages = filled["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "{filled}");
    assert_eq!(messages[0]["content"]["type"], "resource", "{filled}");
    assert_eq!(
        messages[1]["content"]["resource"]["uri"],
        "berth://docs/topics/errors"
    );
    assert!(
        text_of_message(&messages[2]).contains("sum numbers"),
        "{filled}"
    );
    let missing = server.request("prompts/get", json!({ "name": "docs_write_plugin" }));
    assert_eq!(missing["error"]["code"], -32602, "{missing}");
    assert!(
        missing["error"]["message"]
            .as_str()
            .unwrap()
            .contains("needs argument `task`"),
        "{missing}"
    );
    let bad_topic = server.request(
        "prompts/get",
        json!({ "name": "docs_write_plugin", "arguments": { "task": "x", "topic": "nope" } }),
    );
    assert_eq!(bad_topic["error"]["code"], -32602, "{bad_topic}");
}

/// The text of a prompt message whose content is text.
fn text_of_message(message: &Value) -> &str {
    message["content"]["text"].as_str().unwrap_or_default()
}

/// Serves the examples as `scripts/serve` does: embedded defaults, and the `files` plugin
/// granted `workspace` through an environment override.
fn serve_examples(workspace: &std::path::Path) -> Server {
    let grant = format!(
        "[{{ host = '{}', guest = '/workspace', write = true }}]",
        workspace.display()
    );
    // `notes` keeps its state beside the workspace, granted as `scripts/serve` grants it.
    let state = workspace.with_extension("state.redb");
    let mut server = Server::start_with_env(
        &berth_test_artifacts::examples_dir(),
        None,
        &[
            ("BERTH_PLUGINS__FILES__GRANTS__FOLDERS", &grant),
            (
                "BERTH_PLUGINS__NOTES__GRANTS__KEYVALUE",
                "{ buckets = ['notes'] }",
            ),
            ("BERTH_STATE__PATH", &state.display().to_string()),
        ],
    );
    server.initialize("2025-11-25");
    server
}

/// The `files` plugin works inside its granted folder and nowhere else: `..`, absolute
/// paths elsewhere and a symlink pointing out are all refused.
#[test]
fn files_works_inside_its_grant_and_nowhere_else() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("workspace");
    std::fs::create_dir(&workspace).unwrap();
    std::fs::write(dir.path().join("secret.txt"), "outside").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), workspace.join("escape")).unwrap();
    let mut server = serve_examples(&workspace);

    let wrote = server.call(
        "files_write",
        json!({ "path": "notes/a.txt", "content": "hello", "create_parents": true }),
    );
    assert_ne!(wrote["isError"], true, "{wrote}");
    assert_eq!(
        std::fs::read_to_string(workspace.join("notes/a.txt")).unwrap(),
        "hello"
    );
    let read = server.call("files_read", json!({ "path": "/workspace/notes/a.txt" }));
    assert_eq!(text(&read), "hello", "{read}");
    let listed = server.call("files_list", json!({ "path": "notes" }));
    assert!(text(&listed).contains("a.txt"), "{listed}");
    let resource = server.ok(
        "resources/read",
        json!({ "uri": "file:///workspace/notes/a.txt" }),
    );
    assert_eq!(resource["contents"][0]["text"], "hello", "{resource}");

    for path in [
        "../secret.txt",
        "notes/../../secret.txt",
        "/etc/passwd",
        "escape",
    ] {
        let refused = server.call("files_read", json!({ "path": path }));
        assert_eq!(
            refused["isError"], true,
            "{path} must be refused: {refused}"
        );
    }
    let moved = server.call(
        "files_move",
        json!({ "from": "notes/a.txt", "to": "../a.txt" }),
    );
    assert_eq!(moved["isError"], true, "{moved}");
    assert!(!dir.path().join("a.txt").exists());
    assert!(workspace.join("notes/a.txt").exists());
}

/// A one-thread HTTP/1.1 server on 127.0.0.1 that answers every request with a JSON
/// echo of its method, path and body. Returns its address.
fn echo_http_server() -> std::net::SocketAddr {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let mut parts = request_line.split_whitespace();
            let reply = json!({
                "method": parts.next().unwrap_or_default(),
                "path": parts.next().unwrap_or_default(),
                "body": String::from_utf8_lossy(&body),
            })
            .to_string();
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                reply.len()
            );
            let _ = reader.get_mut().write_all(response.as_bytes());
        }
    });
    address
}

/// The `http` plugin reaches a granted local server, and is refused (with a clear error
/// and a log line) for one that is not granted.
#[test]
fn http_reaches_granted_hosts_only() {
    let granted = echo_http_server();
    let other = echo_http_server();
    let workspace = tempfile::tempdir().unwrap();
    let grant = format!("[\"http://{granted}\"]");
    let folders = format!(
        "[{{ host = '{}', guest = '/workspace', write = true }}]",
        workspace.path().display()
    );
    let mut server = Server::start_with_env(
        &berth_test_artifacts::examples_dir(),
        None,
        &[
            ("BERTH_PLUGINS__HTTP__GRANTS__NETWORK", &grant),
            ("BERTH_PLUGINS__FILES__GRANTS__FOLDERS", &folders),
        ],
    );
    server.initialize("2025-11-25");

    let fetched = server.call(
        "http_fetch",
        json!({ "url": format!("http://{granted}/items?x=1"), "method": "POST", "body": "hello" }),
    );
    assert_ne!(fetched["isError"], true, "{fetched}");
    let result = &fetched["structuredContent"];
    assert_eq!(result["status"], 200, "{fetched}");
    assert_eq!(result["json"]["method"], "POST", "{fetched}");
    assert_eq!(result["json"]["path"], "/items?x=1", "{fetched}");
    assert_eq!(result["json"]["body"], "hello", "{fetched}");

    let refused = server.call("http_fetch", json!({ "url": format!("http://{other}/") }));
    assert_eq!(refused["isError"], true, "{refused}");
    assert!(
        text(&refused).contains("not in this plugin's network grants"),
        "{refused}"
    );
    let line = server.wait_for_log_line("network access denied", 1);
    assert!(
        line.contains("plugin=http") && line.contains(&other.port().to_string()),
        "{line}"
    );
}
