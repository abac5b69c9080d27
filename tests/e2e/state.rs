//! Plugin state (`wasi:keyvalue`) on the embedded backend: what a plugin keeps survives
//! restarts and a kill -9 mid-burst, each plugin sees only its own buckets (even with the
//! same name), and grants and quotas refuse with errors that say what to change.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use berth_test_services::{Persistence, Redis};

use crate::support::{Server, berth, component, config_file, install, stdout_of, text};

/// The text of a tool call's result, and whether it is an error result.
fn outcome(server: &mut Server, tool: &str, arguments: Value) -> (String, bool) {
    let result = server.call(tool, arguments);
    (text(&result).to_string(), result["isError"] == true)
}

fn success(server: &mut Server, tool: &str, arguments: Value) -> String {
    let (text, is_error) = outcome(server, tool, arguments);
    assert!(!is_error, "{tool} failed: {text}\n{}", server.stderr());
    text
}

fn failure(server: &mut Server, tool: &str, arguments: Value) -> String {
    let (text, is_error) = outcome(server, tool, arguments);
    assert!(is_error, "{tool} should have failed, got: {text}");
    text
}

/// A folder with `notes` and `kv-probe` installed.
fn plugins(dir: &Path) -> std::path::PathBuf {
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    install(&plugins, "notes.wasm", &component("berth-plugin-notes"));
    install(&plugins, "kv-probe.wasm", &component("berth-test-kv-probe"));
    plugins
}

/// Grants `notes` its bucket, as `scripts/serve` does.
const NOTES_GRANT: &str = "[plugins.notes.grants]\nkeyvalue = { buckets = [\"notes\"] }\n";

const PROBE_GRANT: &str = "[state]\npath = \"state.redb\"\n\
     [plugins.notes.grants]\nkeyvalue = { buckets = [\"notes\"] }\n\
     [plugins.kv-probe.grants]\n\
     keyvalue = { buckets = [\"notes\", \"small\"], max_keys = 40, max_value_kb = 1 }\n";

/// The probe and `notes` both open a bucket called `notes`, and never see each other's
/// keys; ungranted buckets, oversized values and too many keys are refused with the key
/// to raise; everything kept is there after a restart.
#[test]
pub fn kv_probe() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugins(dir.path());
    let config = config_file(dir.path(), PROBE_GRANT);
    let mut server = Server::initialized(&plugins, Some(&config));

    let added = server.call(
        "notes_add",
        json!({ "title": "Groceries", "text": "milk, eggs", "tags": ["home"] }),
    );
    assert_eq!(added["structuredContent"]["id"], 1, "{added}");
    assert_eq!(
        success(&mut server, "kv-probe_keys", json!({ "bucket": "notes" })),
        "",
        "the probe's `notes` bucket is its own"
    );
    success(
        &mut server,
        "kv-probe_set",
        json!({ "bucket": "notes", "key": "next-id", "value": "not a number" }),
    );
    let second = server.call(
        "notes_add",
        json!({ "title": "Standup", "text": "ship it" }),
    );
    assert_eq!(second["structuredContent"]["id"], 2, "{second}");
    assert_eq!(
        success(
            &mut server,
            "kv-probe_increment",
            json!({ "bucket": "small", "key": "n", "delta": 41 })
        ),
        "41"
    );
    assert_eq!(
        success(
            &mut server,
            "kv-probe_increment",
            json!({ "bucket": "small", "key": "n", "delta": 1 })
        ),
        "42"
    );
    let err = failure(
        &mut server,
        "kv-probe_increment",
        json!({ "bucket": "notes", "key": "next-id", "delta": 1 }),
    );
    assert!(err.contains("not a decimal unsigned integer"), "{err}");

    // Not granted: the plugin learns which bucket, the operator which key to add.
    let err = failure(
        &mut server,
        "kv-probe_get",
        json!({ "bucket": "other", "key": "k" }),
    );
    assert!(err.contains("`other` is not granted"), "{err}");
    let log = server.wait_for_log("keyvalue access denied");
    assert!(
        log.contains("add \"other\" to `plugins.kv-probe.grants.keyvalue.buckets`"),
        "{log}"
    );

    // Quotas: one value's size, then the number of keys (across the plugin's buckets).
    let err = failure(
        &mut server,
        "kv-probe_fill",
        json!({ "bucket": "small", "key": "big", "bytes": 2000 }),
    );
    assert!(
        err.contains("2000 bytes") && err.contains("max_value_kb"),
        "{err}"
    );
    let err = failure(
        &mut server,
        "kv-probe_burst",
        json!({ "bucket": "small", "prefix": "k", "count": 60 }),
    );
    assert!(err.contains("max_keys"), "{err}");
    // The keys written before the limit stay (each write is its own), and no more.
    let keys = success(&mut server, "kv-probe_keys", json!({ "bucket": "small" }));
    let probe_keys = keys.lines().count() + 1; // + next-id in `notes`
    assert_eq!(probe_keys, 40, "{keys}");
    assert!(server.close().success());

    // A new process finds everything where it was.
    let mut server = Server::initialized(&plugins, Some(&config));
    let found: Value = serde_json::from_str(&success(
        &mut server,
        "notes_search",
        json!({ "query": "" }),
    ))
    .unwrap();
    let titles: Vec<&str> = found
        .as_array()
        .unwrap_or_else(|| panic!("{found}"))
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Groceries", "Standup"]);
    let read = server.ok("resources/read", json!({ "uri": "notes://note/1" }));
    assert!(
        read["contents"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("# Groceries\n\nmilk, eggs"),
        "{read}"
    );
    assert_eq!(
        success(
            &mut server,
            "kv-probe_get",
            json!({ "bucket": "notes", "key": "next-id" })
        ),
        "not a number"
    );
    assert_eq!(
        success(
            &mut server,
            "kv-probe_get",
            json!({ "bucket": "small", "key": "n" })
        ),
        "42"
    );
    assert!(server.close().success());
}

/// A plugin that uses state is refused at load without a keyvalue grant, with the key
/// to add; `berth inspect` says it needs state.
#[test]
fn state_needs_a_grant() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugins(dir.path());
    let config = config_file(
        dir.path(),
        &format!("[state]\npath = \"state.redb\"\n{NOTES_GRANT}"),
    );
    let mut server = Server::initialized(&plugins, Some(&config));
    let log = server.wait_for_log("kv-probe");
    assert!(
        log.contains("needs plugin state (it imports wasi:keyvalue)")
            && log.contains("plugins.kv-probe.grants.keyvalue"),
        "{log}"
    );
    let tools = server.tool_names();
    assert!(
        tools.iter().all(|t| !t.starts_with("kv-probe_")),
        "{tools:?}"
    );
    assert!(tools.contains(&"notes_add".to_string()), "{tools:?}");
    drop(server);

    let inspected = crate::support::inspect_json(&plugins.join("kv-probe.wasm"));
    assert_eq!(inspected["needs"]["keyvalue"], true, "{inspected}");
    let inspected = crate::support::inspect_json(&component_path("berth-plugin-json"));
    assert_eq!(inspected["needs"]["keyvalue"], false, "{inspected}");
}

fn component_path(package: &str) -> std::path::PathBuf {
    berth_test_artifacts::wasm(package)
}

/// `berth call` keeps state in the file its config names, so two runs count on.
#[test]
fn berth_call_keeps_state_between_runs() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(
        dir.path(),
        &format!("[state]\npath = \"state.redb\"\n{NOTES_GRANT}"),
    );
    for expected in [1, 2] {
        let out = stdout_of(
            berth()
                .arg("call")
                .arg(component_path("berth-plugin-notes"))
                .args(["add", "--args", r#"{"title":"t","text":"x"}"#])
                .arg("--config")
                .arg(&config),
        );
        let result: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(result["structuredContent"]["id"], expected, "{result}");
    }
    assert!(dir.path().join("state.redb").exists());
}

/// Many writes in flight, then kill -9: after a restart every write the client saw
/// acknowledged is there.
#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugins(dir.path());
    let config = config_file(
        dir.path(),
        "[state]\npath = \"state.redb\"\n\
         [plugins.kv-probe.grants]\nkeyvalue = { buckets = [\"b\"] }\n\
         [plugins.kv-probe.limits]\nmax_concurrent_calls = 32\nmax_queued_calls = 1000\n",
    );
    let mut server = Server::initialized(&plugins, Some(&config));
    const WRITES: u64 = 400;
    // Request ids start after initialize's; remember which key each one writes.
    let mut keys_by_id = std::collections::HashMap::new();
    for i in 0..WRITES {
        let id = 1000 + i;
        keys_by_id.insert(id, format!("k{i:04}"));
        let line = json!({
            "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": "kv-probe_set",
                        "arguments": { "bucket": "b", "key": format!("k{i:04}"), "value": "v" } }
        });
        server.send_line(&line.to_string());
    }
    let mut acknowledged = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.len() < (WRITES / 4) as usize {
        let message = server.next_message(deadline);
        if let Some(id) = message["id"].as_u64() {
            assert!(
                message["result"]["isError"] != true && message.get("result").is_some(),
                "a write failed: {message}"
            );
            acknowledged.insert(keys_by_id[&id].clone());
        }
    }
    // SAFETY: kill(2) with a child pid we own and a valid signal number.
    assert_eq!(
        unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGKILL) },
        0
    );
    // Answers already on the pipe were acknowledged too.
    let drain = Instant::now() + Duration::from_millis(500);
    while Instant::now() < drain {
        let message = server.try_next_message(drain);
        let Some(message) = message else { break };
        if let Some(id) = message["id"].as_u64()
            && message.get("result").is_some()
            && message["result"]["isError"] != true
        {
            acknowledged.insert(keys_by_id[&id].clone());
        }
    }
    drop(server);

    let mut server = Server::initialized(&plugins, Some(&config));
    let stored: BTreeSet<String> = success(&mut server, "kv-probe_keys", json!({ "bucket": "b" }))
        .lines()
        .map(str::to_string)
        .collect();
    let lost: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost (of {}): {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    assert!(stored.len() >= acknowledged.len());
    assert!(server.close().success());
}

/// Two servers share state through one Redis; with Redis stopped, a state call fails at
/// once with a clear error (and the host serves on); when Redis is back, the servers
/// reconnect by themselves and find everything kept before.
#[test]
fn redis_state_is_shared_and_survives_a_redis_restart() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(Persistence::EveryWrite);
    let plugins = plugins(dir.path());
    let config = config_file(
        dir.path(),
        &format!(
            "[state]\nbackend = \"redis\"\nurl = \"{}\"\ntimeout_ms = 1000\n{NOTES_GRANT}\
             [plugins.kv-probe.grants]\n\
             keyvalue = {{ buckets = [\"notes\"], max_value_kb = 1 }}\n",
            redis.url()
        ),
    );
    let mut one = Server::initialized(&plugins, Some(&config));
    let mut two = Server::initialized(&plugins, Some(&config));
    let added = one.call(
        "notes_add",
        json!({ "title": "Shared", "text": "via redis" }),
    );
    assert_eq!(added["structuredContent"]["id"], 1, "{added}");
    let found = success(&mut two, "notes_search", json!({ "query": "redis" }));
    assert!(found.contains("Shared"), "{found}");
    assert_eq!(
        success(&mut two, "kv-probe_keys", json!({ "bucket": "notes" })),
        "",
        "the probe's `notes` bucket is its own on Redis too"
    );
    let err = failure(
        &mut two,
        "kv-probe_fill",
        json!({ "bucket": "notes", "key": "big", "bytes": 2000 }),
    );
    assert!(err.contains("max_value_kb"), "{err}");

    let stopped = redis.stop();
    let port = stopped.port();
    let started = Instant::now();
    let err = failure(
        &mut one,
        "notes_add",
        json!({ "title": "Lost", "text": "x" }),
    );
    assert!(
        err.contains("plugin state is unavailable") && err.contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a state call waited {:?} for a stopped Redis",
        started.elapsed()
    );
    // The host's own checks still answer: an ungranted bucket is refused as before.
    let err = failure(&mut one, "kv-probe_keys", json!({ "bucket": "nope" }));
    assert!(err.contains("`nope` is not granted"), "{err}");

    let _redis = stopped.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    let id = loop {
        let (text, is_error) = outcome(
            &mut one,
            "notes_add",
            json!({ "title": "Back", "text": "y" }),
        );
        if !is_error {
            let note: Value = serde_json::from_str(&text).unwrap();
            break note["id"].clone();
        }
        assert!(Instant::now() < deadline, "never reconnected: {text}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(id, 2, "the restarted Redis kept note 1 and its counter");
    let found = success(&mut two, "notes_search", json!({ "query": "" }));
    assert!(
        found.contains("Shared") && found.contains("Back"),
        "{found}"
    );
}
