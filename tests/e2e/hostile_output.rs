//! What a hostile plugin does with a call's output, over a real server (issue 18): a
//! flood of log records is cut at the call's log budget, log text cannot forge or hide
//! host log lines (text or JSON), and a result of a million empty blocks is refused by
//! the result cap as what it would cost to send.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::sandbox::{rss_kib, start};
use crate::support::{Server, component, install, text};

/// Calls `tool` and returns its error text, checking it came back within `within`.
fn refused_within(server: &mut Server, tool: &str, arguments: Value, within: Duration) -> String {
    let started = Instant::now();
    let result = server.call(tool, arguments);
    let took = started.elapsed();
    assert_eq!(result["isError"], true, "{tool}: {result}");
    assert!(took < within, "{tool} took {took:?}");
    text(&result).to_string()
}

#[test]
fn a_log_flood_ends_at_the_calls_log_budget() {
    // The cap is what ends the call, not its deadline, even on a busy machine.
    let limits = "[plugins.hostile.limits]\ncall_timeout_ms = 30000\nmax_log_output_kb = 64\n";
    let (_dir, _config, mut server) = start(limits);
    // 100,000 empty records, then 256 MiB in 256 KiB records: both against 64 KiB.
    for arguments in [
        json!({ "records": 100_000 }),
        json!({ "records": 1024, "kb": 256 }),
    ] {
        let message = refused_within(
            &mut server,
            "hostile_log_flood",
            arguments,
            Duration::from_secs(30),
        );
        assert!(
            message.contains("to the log, more than the host keeps (limit max_log_output_kb = 64)"),
            "{message}"
        );
    }
    // What reached the host log is the budget's worth, not the flood.
    let log = server.wait_for_log("its further records are dropped");
    assert!(
        log.len() < 4 << 20,
        "the host log holds {} bytes",
        log.len()
    );
    assert!(
        rss_kib(&server) < 512 * 1024,
        "resident memory reached {} KiB",
        rss_kib(&server)
    );
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "still here" }))),
        "still here"
    );
    assert!(server.close().success());
}

/// Checks the log of a server that ran `hostile_log_forge`: the record is on one line,
/// and nothing the plugin wrote starts a line or reaches the log raw.
fn check_forge(log: &str, is_json: bool) {
    for line in log.lines() {
        assert!(!line.starts_with("2020-01-01"), "a forged line: {line}");
        if is_json {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"));
        }
    }
    assert!(
        !log.contains(['\u{1b}', '\0', '\r']),
        "raw control characters in the log"
    );
    // JSON strings carry U+202E as it is (valid JSON); a text line must not.
    assert!(
        is_json || !log.contains('\u{202e}'),
        "a raw U+202E in the log"
    );
    let record: Vec<&str> = log.lines().filter(|l| l.contains("innocent")).collect();
    assert_eq!(record.len(), 1, "{log}");
    assert!(
        record[0].contains("FORGED") && record[0].contains("hostile"),
        "{}",
        record[0]
    );
}

#[test]
fn plugin_log_text_cannot_forge_or_hide_host_log_lines() {
    let (_dir, _config, mut server) = start("");
    assert_eq!(text(&server.call("hostile_log_forge", json!({}))), "forged");
    let log = server.wait_for_log("innocent");
    check_forge(&log, false);
    assert!(log.contains("innocent\\n2020-01-01"), "{log}");
    assert!(server.close().success());

    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "hostile.wasm", &component("berth-test-hostile"));
    let mut server = Server::start_with_args(dir.path(), None, &["--log-format", "json"], &[]);
    server.initialize("2025-11-25");
    assert_eq!(text(&server.call("hostile_log_forge", json!({}))), "forged");
    let log = server.wait_for_log("innocent");
    check_forge(&log, true);
    assert!(server.close().success());
}

#[test]
fn a_million_empty_blocks_are_refused_by_the_result_cap() {
    // The default caps: room in the guest for a million blocks, 4 MiB for the answer.
    let limits = "[plugins.hostile.limits]\nmax_memory_mb = 256\nmax_result_kb = 4096\n";
    let (_dir, _config, mut server) = start(limits);
    for kind in ["text", "image", "link"] {
        let message = refused_within(
            &mut server,
            "hostile_empty_blocks",
            json!({ "kind": kind }),
            Duration::from_secs(20),
        );
        assert!(
            message.contains("(limit max_result_kb = 4096)"),
            "{kind}: {message}"
        );
    }
    // A few blocks are an ordinary result.
    let result = server.call("hostile_empty_blocks", json!({ "count": 3 }));
    assert_eq!(result["isError"], false, "{result}");
    assert_eq!(result["content"].as_array().unwrap().len(), 3);
    assert!(
        rss_kib(&server) < 512 * 1024,
        "resident memory reached {} KiB",
        rss_kib(&server)
    );
    assert!(server.close().success());
}
