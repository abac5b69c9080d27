//! Live plugin lifecycle over connected sessions: files added, upgraded, broken and
//! removed in the watched folder while the clients stay connected.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Server, component, install, save_config, text};

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

    // A slow call is running when the file goes away.
    let slow = json!({ "jsonrpc": "2.0", "id": "slow", "method": "tools/call",
        "params": { "name": "echo_sleep", "arguments": { "millis": 1500 } } });
    server.send_line(&slow.to_string());
    std::thread::sleep(std::time::Duration::from_millis(100));
    std::fs::remove_file(dir.path().join("echo.wasm")).unwrap();
    server.wait_for_notification("notifications/tools/list_changed");
    let reply = server.response_to(json!("slow"));
    assert_eq!(
        reply["result"]["content"][0]["text"], "slept 1500 ms",
        "the call in flight completes: {reply}"
    );
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
    let line = server.wait_for_log_line("config rejected", 1);
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

#[test]
fn a_file_written_slowly_is_served_only_once_complete() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::initialized(dir.path(), None);
    let bytes = component("berth-plugin-echo");
    let target = dir.path().join("echo.wasm");
    let mut file = std::fs::File::create(&target).unwrap();
    // Each pause outlasts the watcher's debounce, so the server looks at every prefix.
    let chunks: Vec<&[u8]> = bytes.chunks(bytes.len().div_ceil(6)).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        std::io::Write::write_all(&mut file, chunk).unwrap();
        file.sync_data().unwrap();
        if i + 1 < chunks.len() {
            std::thread::sleep(Duration::from_millis(350));
            let names = server.tool_names();
            assert!(
                names.is_empty(),
                "served after {} of {} chunks: {names:?}",
                i + 1,
                chunks.len()
            );
        }
    }
    drop(file);
    server.wait_for_notification("notifications/tools/list_changed");
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "whole" }))),
        "whole"
    );
    let log = server.wait_for_log("plugin loaded");
    assert_eq!(log.matches("plugin loaded").count(), 1, "{log}");
}

/// Checks one `flip_version` answer: no error, and every block and the structured
/// value carry the same build's version and the caller's `n`. Returns the version.
fn flip_answer(reply: &Value, n: u64) -> String {
    let result = &reply["result"];
    assert!(reply.get("error").is_none(), "call failed: {reply}");
    assert_ne!(result["isError"], true, "call failed: {reply}");
    let stamp = result["structuredContent"]["stamp"].as_str().unwrap();
    let (version, echoed) = stamp.split_once(':').unwrap();
    assert_eq!(echoed, n.to_string(), "{reply}");
    let blocks = result["content"].as_array().unwrap();
    assert!(blocks.len() >= 3, "{reply}");
    for block in blocks {
        if let Some(text) = block["text"].as_str()
            && !text.starts_with('{')
        {
            assert_eq!(text, stamp, "an answer mixes builds: {reply}");
        }
    }
    assert!(["1.0.0", "2.0.0"].contains(&version), "{reply}");
    version.to_string()
}

/// Reload under load: calls keep running, eight at a time on a stdio session and four
/// at a time on each of three HTTP sessions of the same process, while the plugin file
/// is replaced 50 times with alternating versions, half by atomic rename and half by
/// rewriting the file in place. No call may fail and no answer may mix builds.
#[test]
pub fn flip_one() {
    const SWAPS: usize = 50;
    const IN_FLIGHT: u64 = 8;
    const HTTP_SESSIONS: u64 = 3;
    const HTTP_IN_FLIGHT: u64 = 4;
    let dir = tempfile::tempdir().unwrap();
    let builds = [
        component("berth-test-flip-one"),
        component("berth-test-flip-two"),
    ];
    install(dir.path(), "flip.wasm", &builds[0]);
    let config = tempfile::tempdir().unwrap();
    let config = crate::support::config_file(
        config.path(),
        "[http.auth]\nenabled = false\n[http.rate_limit]\nrequests_per_minute = 0\n",
    );
    let http = crate::http_client::HttpServer::start(dir.path(), Some(&config), &["--stdio"]);
    let url = http.mcp_url();
    let mut server = http.process;
    let init = server.initialize("2025-11-25");
    assert_eq!(init["protocolVersion"], "2025-11-25", "{init}");
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let http_calls = {
        let done = done.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(http_load(url, HTTP_SESSIONS, HTTP_IN_FLIGHT, done))
        })
    };

    let swapper = {
        let dir = dir.path().to_path_buf();
        let builds = builds.clone();
        std::thread::spawn(move || {
            for swap in 1..=SWAPS {
                let bytes = &builds[swap % 2];
                if swap % 4 < 2 {
                    install(&dir, "flip.wasm", bytes);
                } else {
                    std::fs::write(dir.join("flip.wasm"), bytes).unwrap();
                }
                // Varied pauses: some swaps land inside the debounce window of the
                // previous one, most after it.
                std::thread::sleep(Duration::from_millis(120 + (swap as u64 * 37) % 200));
            }
        })
    };

    let mut calls = 0u64;
    let mut seen = std::collections::BTreeMap::<String, u64>::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !swapper.is_finished() {
        assert!(Instant::now() < deadline, "swapping took too long");
        let ids: Vec<u64> = (0..IN_FLIGHT).map(|i| calls + i).collect();
        for n in &ids {
            let call = json!({ "jsonrpc": "2.0", "id": format!("flip-{n}"), "method": "tools/call",
                "params": { "name": "flip_version", "arguments": { "n": n } } });
            server.send_line(&call.to_string());
        }
        for n in ids {
            let reply = server.response_to(json!(format!("flip-{n}")));
            *seen.entry(flip_answer(&reply, n)).or_default() += 1;
        }
        calls += IN_FLIGHT;
    }
    swapper.join().unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let over_http = http_calls.join().unwrap();
    let log = server.stderr();
    let reloads = log.matches("plugin reloaded").count();
    eprintln!(
        "{calls} stdio calls, {reloads} reloads, answers by version: stdio {seen:?}, http {over_http:?}"
    );
    assert!(seen.len() == 2, "both builds served over stdio: {seen:?}");
    assert!(
        over_http.len() == 2,
        "both builds served over HTTP: {over_http:?}"
    );
    // Swaps closer together than the debounce, or landing while a load runs (about a
    // second each for a debug build on a busy 2-core machine), coalesce into one reload
    // by design; what matters is that several happened under load.
    assert!(
        reloads >= 3,
        "the swaps were applied ({reloads} reloads):\n{log}"
    );
}

/// Calls `flip_version` from `sessions` HTTP sessions, `in_flight` at a time on each,
/// until `done`; returns how many answers each version gave.
async fn http_load(
    url: String,
    sessions: u64,
    in_flight: u64,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::collections::BTreeMap<String, u64> {
    let mut callers = Vec::new();
    for _ in 0..sessions {
        let mut session = crate::http_client::Client::new(&url, None);
        session.initialize().await;
        for lane in 0..in_flight {
            // Ids are per session: each lane numbers its own range.
            let mut client = session.fork(1_000_000 * (lane + 1));
            let done = done.clone();
            callers.push(tokio::spawn(async move {
                let mut seen = std::collections::BTreeMap::<String, u64>::new();
                let mut n = lane;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let reply = client
                        .request(
                            "tools/call",
                            json!({ "name": "flip_version", "arguments": { "n": n } }),
                        )
                        .await;
                    *seen.entry(flip_answer(&reply, n)).or_default() += 1;
                    n += in_flight;
                }
                seen
            }));
        }
    }
    let mut all = std::collections::BTreeMap::new();
    for caller in callers {
        for (version, count) in caller.await.unwrap() {
            *all.entry(version).or_default() += count;
        }
    }
    all
}

/// A downgrade is allowed, and logged as one.
#[test]
pub fn flip_two() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "flip.wasm", &component("berth-test-flip-two"));
    let mut server = Server::initialized(dir.path(), None);
    let reply = server.request(
        "tools/call",
        json!({ "name": "flip_version", "arguments": { "n": 1 } }),
    );
    assert_eq!(flip_answer(&reply, 1), "2.0.0");

    install(dir.path(), "flip.wasm", &component("berth-test-flip-one"));
    let line = server.wait_for_log_line("plugin downgraded", 1);
    assert!(
        line.contains("from=2.0.0") && line.contains("to=1.0.0"),
        "{line}"
    );
    server.wait_for_log("plugin reloaded");
    let reply = server.request(
        "tools/call",
        json!({ "name": "flip_version", "arguments": { "n": 2 } }),
    );
    assert_eq!(flip_answer(&reply, 2), "1.0.0");
}

/// A client subscribed to a resource hears `notifications/resources/updated` when the
/// plugin serving it is rebuilt or removed, and nothing once it unsubscribes.
#[test]
fn subscribers_hear_of_a_new_build_of_the_plugin_serving_their_resource() {
    let dir = tempfile::tempdir().unwrap();
    let echo = component("berth-plugin-echo");
    install(dir.path(), "echo.wasm", &echo);
    let mut server = Server::initialized(dir.path(), None);
    assert_eq!(
        server.ok("resources/subscribe", json!({ "uri": "echo://hello" })),
        json!({})
    );
    // A URI nothing serves may be subscribed to as well.
    server.ok("resources/subscribe", json!({ "uri": "later://thing" }));

    // A rebuild (same bytes, new file) may serve new contents: subscribers are told.
    install(dir.path(), "echo.wasm", &echo);
    let updated = server.wait_for_notification("notifications/resources/updated");
    assert_eq!(updated["params"]["uri"], "echo://hello", "{updated}");

    // Removal: the resource is gone, which is a change too.
    std::fs::remove_file(dir.path().join("echo.wasm")).unwrap();
    let updated = server.wait_for_notification("notifications/resources/updated");
    assert_eq!(updated["params"]["uri"], "echo://hello", "{updated}");

    // Unsubscribed: a new build goes unannounced (the log line shows it happened).
    server.ok("resources/unsubscribe", json!({ "uri": "echo://hello" }));
    install(dir.path(), "echo.wasm", &echo);
    server.wait_for_notification("notifications/tools/list_changed");
    server.ok("ping", json!({}));
    assert_eq!(server.pending_count("notifications/resources/updated"), 0);
}
