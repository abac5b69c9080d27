//! Contract 0.2's event hooks, end to end: the `echo` test plugin asks for `tool_called`
//! and `plugin_loaded` events and logs each one it receives (`echo saw an event`, with
//! the facts as fields), so delivery shows in the server's stderr. Also here: plugins of
//! contract 0.1, and 0.2 plugins without a hook, served and called beside SDK plugins.
//! The tests named after a test plugin (`legacy`, `no_hook`) are its `has_test!` items.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Server, component, inspect_json, install, plugins_dir, text};

const ECHO: &str = "berth-plugin-echo";

/// What echo logs for each event it receives.
const SAW: &str = "echo saw an event";

#[test]
fn a_tool_call_reaches_echos_event_hook_with_the_tool_and_outcome() {
    let dir = plugins_dir(&[ECHO]);
    let mut server = Server::initialized(dir.path(), None);
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "hi" }))),
        "hi"
    );
    server.wait_for_log("kind=tool_called plugin=echo tool=echo outcome=success duration_us=");

    let reported = server.call("echo_report_error", json!({ "message": "oops" }));
    assert_eq!(reported["isError"], true, "{reported}");
    server.wait_for_log("kind=tool_called plugin=echo tool=report_error outcome=tool_error");

    // Refused arguments never reach the plugin, but the call still happened.
    let refused = server.call("echo_add", json!({ "a": "one", "b": 2 }));
    assert_eq!(refused["isError"], true, "{refused}");
    server.wait_for_log("kind=tool_called plugin=echo tool=add outcome=invalid_arguments");

    // A delivery is not a tool call: three calls, three events, and no echo of the
    // hook's own runs, however long we wait.
    std::thread::sleep(Duration::from_millis(500));
    let log = server.stderr();
    assert_eq!(log.matches(SAW).count(), 3, "{log}");
    // The start-up loads happened before anyone listened.
    assert!(!log.contains("kind=plugin_loaded"), "{log}");
    assert!(server.close().success());
}

#[test]
fn a_plugin_dropped_in_is_announced_to_echos_hook() {
    let dir = plugins_dir(&[ECHO]);
    let mut server = Server::initialized(dir.path(), None);
    server.wait_for_log("ready");
    server.clear_notifications();

    install(dir.path(), "text.wasm", &component("berth-plugin-text"));
    server.wait_for_notification("notifications/tools/list_changed");
    let log = server.wait_for_log("kind=plugin_loaded plugin=text version=");
    let line = log
        .lines()
        .find(|l| l.contains("kind=plugin_loaded"))
        .unwrap();
    // Attributed to echo, whose hook logged it.
    assert!(line.contains("echo"), "{line}");
    assert!(server.close().success());
}

/// `berth inspect --json` of a built test plugin.
fn inspect(package: &str) -> Value {
    inspect_json(&berth_test_artifacts::wasm(package))
}

/// A plugin built for contract 0.1 loads and is callable in the same server as SDK
/// plugins of contract 0.3, and its calls are events for them.
#[test]
pub fn legacy() {
    let manifest = inspect("berth-test-legacy");
    assert_eq!(manifest["contract"], "berth:plugin@0.1.0");
    assert_eq!(manifest["events"], json!([]));

    let dir = plugins_dir(&[ECHO, "berth-test-legacy", "berth-plugin-text"]);
    let mut server = Server::initialized(dir.path(), None);
    let log = server.wait_for_log("ready");
    assert!(!log.contains("plugin refused"), "{log}");
    assert_eq!(
        text(&server.call("legacy_ping", json!({}))),
        "pong from contract 0.1"
    );
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "new" }))),
        "new"
    );
    server.wait_for_log("kind=tool_called plugin=legacy tool=ping outcome=success");
    assert!(server.close().success());
}

/// A contract 0.2 plugin that does not export the optional event hook loads and works,
/// and is never called for events.
#[test]
pub fn no_hook() {
    let manifest = inspect("berth-test-no-hook");
    assert_eq!(manifest["contract"], "berth:plugin@0.2.0");
    assert_eq!(manifest["events"], json!([]));

    let dir = plugins_dir(&[ECHO, "berth-test-no-hook"]);
    let mut server = Server::initialized(dir.path(), None);
    assert_eq!(
        text(&server.call("no-hook_ping", json!({}))),
        "pong from contract 0.2"
    );
    server.wait_for_log("kind=tool_called plugin=no-hook tool=ping outcome=success");
    let log = server.stderr();
    assert!(!log.contains("event hook failed"), "{log}");
    assert!(server.close().success());
}

/// CPU time the process `pid` has used so far (user + system), from `/proc/PID/stat`.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) start after its `)`.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf with a valid name has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis(ticks * 1000 / per_second)
}

/// CPU time the server spends over `span`.
fn cpu_over(server: &Server, span: Duration) -> Duration {
    let before = cpu_time(server.pid());
    std::thread::sleep(span);
    cpu_time(server.pid()) - before
}

/// A removed plugin's event hook stops: its running delivery is cancelled and its queued
/// events are dropped. Before, a removed hook that spins ran every queued event to its
/// deadline (issue 18: 65 runs after the unload, ~32 minutes of a core at 30 s each).
#[test]
pub fn hook_spinner() {
    let dir = plugins_dir(&[ECHO, "berth-test-hook-spinner"]);
    // Cranelift before serving: with tiering, the background compiler's CPU would count
    // towards the idle server's measured below.
    let config = crate::support::config_file(
        dir.path(),
        "[runtime]\ncompiler = \"cranelift\"\n[plugins.hook-spinner.limits]\ncall_timeout_ms = 60000\n",
    );
    let mut server = Server::initialized(dir.path(), Some(&config));
    assert_eq!(text(&server.call("hook-spinner_ping", json!({}))), "pong");
    // One event runs and the queue fills: each spins for up to a minute.
    for i in 0..70 {
        let said = format!("call {i}");
        assert_eq!(
            text(&server.call("echo_echo", json!({ "text": said }))),
            said
        );
    }
    let spinning = cpu_over(&server, Duration::from_secs(1));
    assert!(
        spinning >= Duration::from_millis(100),
        "the hook spins: {spinning:?} of CPU in 1 s"
    );

    std::fs::remove_file(dir.path().join("berth_test_hook_spinner.wasm")).unwrap();
    let log = server.wait_for_log("its event hook is stopped and its queued events dropped");
    let line = log
        .lines()
        .find(|l| l.contains("its event hook is stopped"))
        .unwrap();
    assert!(line.contains("plugin=hook-spinner pending=64"), "{line}");
    // Give the cancellation one epoch tick, then the server idles.
    std::thread::sleep(Duration::from_millis(200));
    let idle = cpu_over(&server, Duration::from_secs(2));
    assert!(
        idle < Duration::from_millis(400),
        "{idle:?} of CPU in 2 s after the unload"
    );
    assert_eq!(text(&server.call("echo_echo", json!({ "text": "x" }))), "x");
    assert!(server.close().success());
}
