//! The MCP surface over stdio: handshake, lists with pagination, calls, resources, and
//! the session's life; stdio that is a socket pair or a file as well as pipes.

use serde_json::json;

use crate::support::{Server, config_file, plugins_dir, text};

const ECHO: &str = "berth-plugin-echo";

#[test]
fn initialize_negotiates_every_handshake_version() {
    let dir = plugins_dir(&[ECHO]);
    for version in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
        let mut server = Server::start(dir.path(), None);
        let result = server.initialize(version);
        assert_eq!(result["protocolVersion"], version);
        assert_eq!(result["serverInfo"]["name"], "berth");
        assert_eq!(result["capabilities"]["tools"]["listChanged"], true);
        assert_eq!(result["capabilities"]["resources"]["listChanged"], true);
        assert!(server.ok("ping", json!({})).is_object());
        assert!(server.close().success());
    }
    // An unknown version is answered with the newest handshake version we speak.
    let mut server = Server::start(dir.path(), None);
    let result = server.initialize("1999-01-01");
    assert_eq!(result["protocolVersion"], "2025-11-25");
}

#[test]
fn stateless_2026_revision_answers_discover_and_requests() {
    let dir = plugins_dir(&[ECHO]);
    let mut server = Server::start(dir.path(), None);
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": { "name": "e2e", "version": "1" },
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let discovered = server.ok("server/discover", json!({ "_meta": meta }));
    let versions = discovered["supportedVersions"].as_array().unwrap();
    assert!(versions.contains(&json!("2026-07-28")), "{discovered}");
    assert!(versions.contains(&json!("2024-11-05")), "{discovered}");
    let tools = server.ok("tools/list", json!({ "_meta": meta }));
    assert!(
        tools["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "echo_echo")
    );
    let result = server.ok(
        "tools/call",
        json!({ "_meta": meta, "name": "echo_echo", "arguments": { "text": "stateless" } }),
    );
    assert_eq!(text(&result), "stateless");
}

#[test]
fn tools_list_pages_with_cursors() {
    let dir = plugins_dir(&[ECHO, "berth-plugin-text"]);
    let config = config_file(dir.path(), "[protocol]\npage_size = 3\n");
    let mut server = Server::initialized(dir.path(), Some(&config));
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let params = match &cursor {
            Some(c) => json!({ "cursor": c }),
            None => json!({}),
        };
        let page = server.ok("tools/list", params);
        let tools = page["tools"].as_array().unwrap();
        assert!(tools.len() <= 3);
        for tool in tools {
            let name = tool["name"].as_str().unwrap();
            let valid = name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            assert!(valid, "tool name `{name}` breaks ^[a-zA-Z0-9_-]{{1,64}}$");
            assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
            assert!(
                tool["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{tool}"
            );
            names.push(name.to_string());
        }
        pages += 1;
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert!(pages > 2, "expected several pages, got {pages}");
    let unique: std::collections::HashSet<_> = names.iter().collect();
    assert_eq!(
        unique.len(),
        names.len(),
        "a tool was listed twice: {names:?}"
    );
    assert!(names.contains(&"echo_echo".to_string()));
    assert!(names.iter().any(|n| n.starts_with("text_")));

    let bad = server.request("tools/list", json!({ "cursor": "garbage" }));
    assert_eq!(bad["error"]["code"], -32602, "{bad}");
}

#[test]
fn tool_calls_return_content_structure_and_errors() {
    let dir = plugins_dir(&[ECHO]);
    let config = config_file(
        dir.path(),
        "[plugins.echo]\nconfig = { greeting = \"ahoy\" }\n",
    );
    let mut server = Server::initialized(dir.path(), Some(&config));

    let tools = server.ok("tools/list", json!({}));
    let greet = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "echo_greet")
        .unwrap()
        .clone();
    assert!(greet["outputSchema"].is_object(), "{greet}");
    assert_eq!(greet["inputSchema"]["required"], json!(["name"]), "{greet}");

    let result = server.call("echo_echo", json!({ "text": "hello" }));
    assert_eq!(text(&result), "hello");
    assert_ne!(result["isError"], true);

    let result = server.call("echo_add", json!({ "a": 2, "b": 3.5 }));
    assert_eq!(text(&result), "5.5");

    let result = server.call("echo_greet", json!({ "name": "Ada", "excited": true }));
    assert!(result["structuredContent"].is_object(), "{result}");
    assert!(text(&result).contains("Ada"));

    // Schema violations are tool errors naming the field and the rule; the plugin never runs.
    let result = server.call("echo_add", json!({ "a": "two", "b": 1 }));
    assert_eq!(result["isError"], true);
    assert!(text(&result).contains("/a"), "{result}");
    assert!(text(&result).contains("type"), "{result}");
    let result = server.call("echo_echo", json!({}));
    assert_eq!(result["isError"], true);
    assert!(text(&result).contains("text"), "{result}");

    // A plugin's own error is a tool result with isError, not a protocol fault.
    let result = server.call("echo_fail", json!({ "message": "disk on fire" }));
    assert_eq!(result["isError"], true);
    assert!(text(&result).contains("disk on fire"), "{result}");
    let result = server.call("echo_report_error", json!({ "message": "no rows" }));
    assert_eq!(result["isError"], true);
    assert!(text(&result).contains("no rows"), "{result}");

    // Unknown tools get the JSON-RPC error the spec names.
    let reply = server.request(
        "tools/call",
        json!({ "name": "echo_nope", "arguments": {} }),
    );
    assert_eq!(reply["error"]["code"], -32602, "{reply}");

    // Configuration values reach the plugin; unset keys do not.
    assert_eq!(
        text(&server.call("echo_config_get", json!({ "key": "greeting" }))),
        "ahoy"
    );
    assert_eq!(
        text(&server.call("echo_config_get", json!({ "key": "other" }))),
        "<unset>"
    );

    // Media content is base64 with its MIME type.
    let result = server.call("echo_image", json!({}));
    let image = result["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "image")
        .unwrap();
    assert_eq!(image["mimeType"], "image/png");
    assert!(
        image["data"].as_str().unwrap().starts_with("iVBOR"),
        "{image}"
    );

    // The call context carries the client's name.
    let result = server.call("echo_context", json!({}));
    assert!(text(&result).contains("berth-e2e"), "{result}");
}

#[test]
fn guest_output_and_logs_go_to_stderr_never_stdout() {
    let dir = plugins_dir(&[ECHO]);
    let mut server = Server::initialized(dir.path(), None);
    let result = server.call("echo_print_stdout", json!({ "text": "sneaky-line" }));
    assert_ne!(result["isError"], true, "{result}");
    // Every stdout line is parsed as JSON by the support code; the next request still works.
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "still fine" }))),
        "still fine"
    );
    let log = server.wait_for_log("sneaky-line");
    assert!(
        log.contains("echo"),
        "guest output is tagged with the plugin:\n{log}"
    );

    server.call("echo_log_fields", json!({ "message": "structured-hello" }));
    let log = server.wait_for_log("structured-hello");
    let line = log
        .lines()
        .find(|l| l.contains("structured-hello"))
        .unwrap();
    assert!(line.contains("a=1") || line.contains("\"a\""), "{line}");
}

#[test]
fn a_trapping_call_does_not_hurt_the_next_one() {
    let dir = plugins_dir(&[ECHO]);
    let mut server = Server::initialized(dir.path(), None);
    let result = server.call("echo_trap", json!({}));
    assert_eq!(result["isError"], true, "{result}");
    assert!(text(&result).contains("echo"), "names the plugin: {result}");
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "after" }))),
        "after"
    );
}

#[test]
fn resources_list_templates_and_read() {
    let dir = plugins_dir(&[ECHO]);
    let mut server = Server::initialized(dir.path(), None);
    let list = server.ok("resources/list", json!({}));
    let uris: Vec<&str> = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    assert!(
        uris.contains(&"echo://hello") && uris.contains(&"echo://bytes"),
        "{list}"
    );

    let templates = server.ok("resources/templates/list", json!({}));
    assert_eq!(
        templates["resourceTemplates"][0]["uriTemplate"], "echo://items/{id}",
        "{templates}"
    );

    let read = server.ok("resources/read", json!({ "uri": "echo://hello" }));
    assert_eq!(read["contents"][0]["text"], "hello from echo");
    assert_eq!(read["contents"][0]["mimeType"], "text/plain");

    let read = server.ok("resources/read", json!({ "uri": "echo://bytes" }));
    let blob = read["contents"][0]["blob"].as_str().unwrap();
    assert!(blob.starts_with("AAECAwQF"), "bytes 0..=255 base64: {blob}");

    let read = server.ok("resources/read", json!({ "uri": "echo://items/42" }));
    assert_eq!(read["contents"][0]["text"], "item 42");

    let missing = server.request("resources/read", json!({ "uri": "nowhere://x" }));
    assert_eq!(missing["error"]["code"], -32002, "{missing}");
}

#[test]
fn malformed_lines_get_json_rpc_errors_and_the_session_goes_on() {
    let dir = plugins_dir(&[ECHO]);
    let mut server = Server::initialized(dir.path(), None);
    server.send_line("this is not json");
    let reply = server.response_to(serde_json::Value::Null);
    assert_eq!(reply["error"]["code"], -32700, "{reply}");

    server.send_line(r#"{"jsonrpc":"2.0","id":"x","params":{}}"#);
    let reply = server.response_to(json!("x"));
    assert_eq!(reply["error"]["code"], -32600, "{reply}");

    server.send_line(r#"[{"jsonrpc":"2.0","id":9,"method":"ping"}]"#);
    let reply = server.response_to(serde_json::Value::Null);
    assert_eq!(reply["error"]["code"], -32600, "{reply}");

    // Well-formed JSON-RPC whose params do not fit the method: the spec's invalid params.
    let reply = server.request("tools/call", json!({ "arguments": {} }));
    assert_eq!(reply["error"]["code"], -32602, "{reply}");

    let reply = server.request("no/such/method", json!({}));
    assert_eq!(reply["error"]["code"], -32601, "{reply}");

    assert!(server.ok("ping", json!({})).is_object());
}

#[test]
fn the_server_exits_cleanly_when_the_client_closes_stdin() {
    let dir = plugins_dir(&[ECHO]);
    let mut server = Server::initialized(dir.path(), None);
    server.ok("tools/list", json!({}));
    let status = server.close();
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn plugin_logs_reach_a_client_that_asked_for_them_at_its_level() {
    let plugins = plugins_dir(&["berth-plugin-echo"]);
    let mut server = Server::initialized(plugins.path(), None);
    // Not asked for: nothing is sent.
    server.call("echo_log_fields", json!({ "message": "unasked" }));
    // Asked for warnings: an info record is filtered out.
    assert_eq!(
        server.ok("logging/setLevel", json!({ "level": "warning" })),
        json!({})
    );
    server.call("echo_log_fields", json!({ "message": "too quiet" }));
    assert_eq!(server.pending_count("notifications/message"), 0);
    // Asked for info: the record arrives, before the answer, from logger `echo`.
    server.ok("logging/setLevel", json!({ "level": "info" }));
    let id = json!("logged-call");
    server.send_line(
        &json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": "echo_log_fields", "arguments": { "message": "heard" } } })
        .to_string(),
    );
    let first = server.next_message(std::time::Instant::now() + crate::support::REPLY_TIMEOUT);
    assert_eq!(first["method"], "notifications/message", "{first}");
    assert_eq!(first["params"]["level"], "info");
    assert_eq!(first["params"]["logger"], "echo");
    assert_eq!(
        first["params"]["data"],
        json!({ "message": "heard", "a": "1", "b": "two" })
    );
    let answer = server.response_to(id);
    assert_eq!(text(&answer["result"]), "logged");
    // The host log keeps every record (the later one is waited for: stderr is read by
    // another thread, so the earlier one being there says nothing about the later).
    let log = server.wait_for_log("too quiet");
    assert!(log.contains("unasked"), "the host log keeps every record");
}

/// The three lines of a session that initializes and lists tools (id 2).
fn handshake_and_list() -> String {
    [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "e2e", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    ]
    .iter()
    .map(|line| format!("{line}\n"))
    .collect()
}

/// The `tools/list` answer among `output`'s lines.
fn listed_tools(output: &str) -> Vec<String> {
    let answer = output
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a JSON line"))
        .find(|message| message["id"] == 2)
        .unwrap_or_else(|| panic!("no tools/list answer in {output:?}"));
    answer["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|tool| tool["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_client_on_a_socket_pair_is_served() {
    // Some clients (Node's child_process among them) give a server a socket pair rather
    // than pipes; Berth drives it on its reactor like a pipe.
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixStream;
    let dir = plugins_dir(&[ECHO]);
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let child = crate::support::berth()
        .args(["serve", "--plugins"])
        .arg(dir.path())
        .env("BERTH_LOG", "warn,berth::transport::stdio=debug")
        .stdin(std::os::fd::OwnedFd::from(theirs.try_clone().unwrap()))
        .stdout(std::os::fd::OwnedFd::from(theirs))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("berth starts");
    ours.write_all(handshake_and_list().as_bytes()).unwrap();
    let mut reader = BufReader::new(ours.try_clone().unwrap());
    let mut output = String::new();
    while !output.lines().any(|line| line.contains("\"id\":2")) {
        assert_ne!(reader.read_line(&mut output).unwrap(), 0, "{output}");
    }
    assert!(listed_tools(&output).contains(&"echo_echo".to_string()));
    // Closing our side ends the session, as closing stdin does.
    ours.shutdown(std::net::Shutdown::Both).unwrap();
    let ended = child.wait_with_output().unwrap();
    assert!(ended.status.success(), "{ended:?}");
    let log = String::from_utf8_lossy(&ended.stderr);
    assert!(!log.contains("stays on tokio's blocking pool"), "{log}");
}

#[test]
fn a_session_read_from_a_file_is_answered() {
    // A file is not a pipe: it stays on tokio's blocking-pool stdin, and its end ends the
    // session once its requests are answered.
    let dir = plugins_dir(&[ECHO]);
    let requests = dir.path().join("requests.jsonl");
    std::fs::write(&requests, handshake_and_list()).unwrap();
    let output = crate::support::berth()
        .args(["serve", "--plugins"])
        .arg(dir.path())
        .env("BERTH_LOG", "warn,berth::transport::stdio=debug")
        .stdin(std::fs::File::open(&requests).unwrap())
        .output()
        .expect("berth runs");
    assert!(output.status.success(), "{output:?}");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("stdin stays on tokio's blocking pool"),
        "{log}"
    );
    assert!(
        !log.contains("stdout stays on tokio's blocking pool"),
        "{log}"
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(listed_tools(&stdout).contains(&"echo_echo".to_string()));
}
