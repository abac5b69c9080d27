//! Sandbox limits over a real server: every misbehaviour of the `hostile` test plugin ends
//! in a tool error naming the plugin and the cause, while `echo` keeps answering at its
//! usual speed, memory comes back, cancellation stops a spinning guest, a full queue
//! answers "busy", and a limit edited in the config applies to the next call. The instance
//! pool shared by all plugins answers "busy" when full, and a machine that cannot reserve
//! it still serves. Warm instances are reused only where the config allows it, and never
//! after a call that trapped.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Server, berth, component, config_file, install, save_config, text};

/// Small limits for `hostile`, so each misbehaviour is cut short quickly; `echo` keeps the
/// defaults.
const HOSTILE_LIMITS: &str = "\
[plugins.hostile.limits]
call_timeout_ms = 2000
max_memory_mb = 32
max_result_kb = 256
max_log_output_kb = 64
";

/// A plugins folder with `hostile` and `echo`, a config, and a started server.
pub(crate) fn start(config: &str) -> (tempfile::TempDir, std::path::PathBuf, Server) {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    install(&plugins, "hostile.wasm", &component("berth-test-hostile"));
    install(&plugins, "echo.wasm", &component("berth-plugin-echo"));
    let config = config_file(dir.path(), config);
    let server = Server::initialized(&plugins, Some(&config));
    (dir, config, server)
}

/// Sends a `tools/call` without waiting for its answer; its id is `id`.
fn send_call(server: &mut Server, id: &str, tool: &str, arguments: Value) {
    let line = json!({
        "jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": { "name": tool, "arguments": arguments }
    });
    server.send_line(&line.to_string());
}

/// The `CallToolResult` answering request `id`.
fn result_of(server: &mut Server, id: &str) -> Value {
    let reply = server.response_to(json!(id));
    assert!(reply.get("error").is_none(), "{reply}");
    reply["result"].clone()
}

/// How long each of `n` sequential `echo` calls takes, sorted.
fn echo_latencies(server: &mut Server, n: usize) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..n)
        .map(|i| {
            let start = Instant::now();
            let result = server.call("echo_echo", json!({ "text": format!("ping {i}") }));
            let took = start.elapsed();
            assert_eq!(text(&result), format!("ping {i}"));
            took
        })
        .collect();
    times.sort();
    times
}

fn median(times: &[Duration]) -> Duration {
    times[times.len() / 2]
}

/// The server's resident memory, from `/proc/PID/status`, in KiB.
pub(crate) fn rss_kib(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// Each hostile tool, its arguments, and what its error must say besides the plugin.
const MISBEHAVIOURS: [(&str, &str, &str); 7] = [
    ("spin", "{}", "call_timeout_ms = 2000"),
    ("memory_bomb", "{}", "limit max_memory_mb = 32"),
    ("recurse", "{}", "crashed"),
    ("trap", "{}", "wasm `unreachable` instruction executed"),
    ("panic", "{}", "hostile plugin panicked on purpose"),
    // 4 MiB: far over the result cap, well under the memory cap.
    (
        "giant",
        r#"{"megabytes":4}"#,
        "returned a result of 4.0 MiB (limit max_result_kb = 256)",
    ),
    // 1 MiB to each stream against a 64 KiB cap.
    (
        "flood",
        r#"{"megabytes":1}"#,
        "wrote 1.0 MiB to stdout, more than the host keeps (limit max_log_output_kb = 64)",
    ),
];

/// Sends every misbehaviour at once (ids `ROUND-TOOL`).
fn send_all(server: &mut Server, round: &str) {
    for (tool, args, _) in MISBEHAVIOURS {
        let args: Value = serde_json::from_str(args).unwrap();
        send_call(
            server,
            &format!("{round}-{tool}"),
            &format!("hostile_{tool}"),
            args,
        );
    }
}

/// Checks the answers of [`send_all`]: each misbehaviour is an error result naming the
/// plugin and its cause.
fn check_all(server: &mut Server, round: &str) {
    for (tool, _, cause) in MISBEHAVIOURS {
        let result = result_of(server, &format!("{round}-{tool}"));
        assert_eq!(result["isError"], true, "{tool}: {result}");
        let message = text(&result);
        assert!(message.contains("plugin `hostile@"), "{tool}: {message}");
        assert!(
            message.contains(cause),
            "{tool}: `{cause}` missing in {message}"
        );
        println!("{tool}: {message}");
    }
}

/// Named after the plugin, as `foreach_test_plugin!` requires: every misbehaviour at once,
/// twice, with `echo` called all the while.
#[test]
pub fn hostile() {
    let (_dir, _config, mut server) = start(HOSTILE_LIMITS);
    let baseline = echo_latencies(&mut server, 15);

    // The first round also warms the allocator up, so the memory check below compares
    // like with like.
    send_all(&mut server, "warm-up");
    check_all(&mut server, "warm-up");
    let rss_before = rss_kib(&server);

    send_all(&mut server, "again");
    // `spin` holds a core for 2 s and the others crash, allocate and flood meanwhile;
    // `echo` must not notice.
    let during = echo_latencies(&mut server, 15);
    check_all(&mut server, "again");
    let (normal, loaded) = (median(&baseline), median(&during));
    let slowest = *during.last().unwrap();
    assert!(
        loaded <= normal * 10 + Duration::from_millis(100),
        "echo's median went from {normal:?} to {loaded:?} next to a hostile plugin"
    );
    // A guest that did not yield would hold a worker until its 2 s deadline.
    assert!(
        slowest < Duration::from_millis(1500),
        "an echo call took {slowest:?} next to a hostile plugin"
    );

    // Memory comes back: every call's store (and the memory bomb's 32 MiB) is freed.
    for round in 0..3 {
        for n in 0..2 {
            send_call(
                &mut server,
                &format!("bomb-{round}-{n}"),
                "hostile_memory_bomb",
                json!({}),
            );
        }
        for n in 0..2 {
            let result = result_of(&mut server, &format!("bomb-{round}-{n}"));
            assert!(text(&result).contains("ran out of memory"), "{result}");
        }
    }
    // A finished call's store is dropped just after its answer goes out (the runtime's
    // teardown queue), so the last bombs' memory may still be mapped for a moment.
    let limit = rss_before + 24 * 1024;
    let settled = Instant::now() + Duration::from_secs(2);
    let mut rss_after = rss_kib(&server);
    while rss_after > limit && Instant::now() < settled {
        std::thread::sleep(Duration::from_millis(20));
        rss_after = rss_kib(&server);
    }
    println!(
        "echo p50 {normal:?} alone, {loaded:?} (max {slowest:?}) next to hostile; \
         RSS {rss_before} KiB before memory bombs, {rss_after} KiB after"
    );
    assert!(
        rss_after <= limit,
        "resident memory grew from {rss_before} KiB to {rss_after} KiB after memory bombs"
    );

    // Each limit hit is one log line with its fields, and the server is still serving.
    let log = server.wait_for_log("limit=\"max_memory_mb\"");
    assert!(log.contains("hit a limit"), "{log}");
    assert!(log.contains("max_log_output_kb = 64"), "{log}");
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "still here" }))),
        "still here"
    );
    assert!(server.close().success());
}

#[test]
fn cancellation_stops_a_spinning_guest_promptly() {
    let config = "[plugins.hostile.limits]\ncall_timeout_ms = 20000\n";
    let (_dir, _config, mut server) = start(config);
    send_call(&mut server, "spin", "hostile_spin", json!({}));
    std::thread::sleep(Duration::from_millis(300));
    let cancelled_at = Instant::now();
    server.notify(
        "notifications/cancelled",
        json!({ "requestId": "spin", "reason": "the user gave up" }),
    );
    server.wait_for_log("was cancelled");
    let stopped_after = cancelled_at.elapsed();
    // The guest yields every 10 ms epoch; the rest is the log's round trip. Far below
    // the 20 s deadline either way.
    assert!(
        stopped_after < Duration::from_secs(2),
        "the spinning guest stopped {stopped_after:?} after the cancellation"
    );
    // Nothing is left running: the plugin takes the next call at once.
    let result = server.call("hostile_trap", json!({}));
    assert_eq!(result["isError"], true);
    assert_eq!(text(&server.call("echo_echo", json!({ "text": "x" }))), "x");
}

/// Sends `n` calls of `millis` ms to `echo_sleep` at once; returns the busy errors' texts
/// and the number of successes.
fn burst(server: &mut Server, round: &str, n: usize, millis: u64) -> (Vec<String>, usize) {
    for i in 0..n {
        send_call(
            server,
            &format!("{round}-{i}"),
            "echo_sleep",
            json!({ "millis": millis }),
        );
    }
    let mut busy = Vec::new();
    let mut done = 0;
    for i in 0..n {
        let result = result_of(server, &format!("{round}-{i}"));
        if result["isError"] == true {
            busy.push(text(&result).to_string());
        } else {
            assert_eq!(text(&result), format!("slept {millis} ms"));
            done += 1;
        }
    }
    (busy, done)
}

#[test]
fn a_full_queue_answers_busy_and_a_limit_edit_applies_to_the_next_call() {
    let limits = |queued: u32| {
        format!("[plugins.echo.limits]\nmax_concurrent_calls = 2\nmax_queued_calls = {queued}\n")
    };
    let (_dir, config, mut server) = start(&limits(1));
    // 2 run, 1 waits, 2 are turned away at once.
    let (busy, done) = burst(&mut server, "tight", 5, 600);
    assert_eq!(done, 3, "{busy:?}");
    assert_eq!(busy.len(), 2, "{busy:?}");
    for message in &busy {
        assert!(
            message.contains("plugin `echo@")
                && message.contains("is busy: 2 calls running and 1 waiting")
                && message.contains("max_concurrent_calls = 2, max_queued_calls = 1")
                && message.contains("[plugins.echo.limits]"),
            "{message}"
        );
    }
    server.wait_for_log("limit=\"max_queued_calls\"");

    // A longer queue, applied live: the same burst is now served in full.
    save_config(&config, &limits(3));
    server.wait_for_log("config applied");
    let (busy, done) = burst(&mut server, "roomy", 5, 300);
    assert!(busy.is_empty(), "{busy:?}");
    assert_eq!(done, 5);
}

#[test]
fn a_full_instance_pool_answers_busy_naming_max_instances() {
    // One slot for every plugin. Only `hostile` is served: it has no event hook, so
    // nothing but these calls takes the slot. A spinning call holds it, so a second call
    // (far below the plugin's own concurrency limit) finds the pool full.
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    install(&plugins, "hostile.wasm", &component("berth-test-hostile"));
    let config = config_file(
        dir.path(),
        "[runtime]\nmax_instances = 1\n[plugins.hostile.limits]\ncall_timeout_ms = 2000\n",
    );
    let mut server = Server::initialized(&plugins, Some(&config));
    send_call(&mut server, "long", "hostile_spin", json!({}));
    // Give the spinning call time to take the slot first (a call sent right behind it
    // could otherwise win the slot and leave the spin refused instead).
    std::thread::sleep(Duration::from_millis(500));
    let deadline = Instant::now() + Duration::from_secs(20);
    let result = loop {
        let result = server.call("hostile_count", json!({ "n": 1 }));
        if result["isError"] == true {
            break result;
        }
        assert!(
            Instant::now() < deadline,
            "the pool never filled up: {result}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let message = text(&result);
    assert!(
        message.contains("Berth is running its maximum of 1 plugin instances")
            && message.contains("raise `max_instances` under `[runtime]`"),
        "{message}"
    );
    // The spinning call ends at its timeout and gives its slot back.
    let spun = result_of(&mut server, "long");
    assert!(text(&spun).contains("did not finish within"), "{spun}");
    assert_eq!(text(&server.call("hostile_count", json!({ "n": 3 }))), "3");
}

#[test]
fn a_machine_that_cannot_reserve_the_instance_pool_still_serves() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "echo.wasm", &component("berth-plugin-echo"));
    // 32 GiB of address space: far less than the default pool reserves (about 4 GiB per
    // slot), plenty for instances mapped one at a time.
    let template = berth();
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -v 33554432 && exec \"$0\" \"$@\"")
        .arg(template.get_program())
        .args(["serve", "--plugins"])
        .arg(dir.path());
    // The same environment `berth()` gives the binary (no developer BERTH_* settings).
    for (key, value) in template.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    let mut server = Server::spawn(cmd);
    server.initialize("2025-11-25");
    server.wait_for_log("cannot reserve the instance pool; allocating instances on demand");
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "still" }))),
        "still"
    );
}

#[test]
fn warm_instances_are_reused_only_where_allowed_and_never_after_a_trap() {
    let served =
        |server: &mut Server| text(&server.call("hostile_calls_served", json!({}))).to_string();
    // Cranelift from the start (the compiler is read at start-up only): a tiered build's
    // swap to Cranelift's code would start the session's instance afresh mid-test.
    let (_dir, config, mut server) = start(&format!(
        "[runtime]\ncompiler = \"cranelift\"\n\
         {HOSTILE_LIMITS}[plugins.hostile]\nwarm_instances = 2\n"
    ));
    // The call count lives in the plugin's memory: it grows only in a reused instance.
    assert_eq!(served(&mut server), "1");
    assert_eq!(served(&mut server), "2");
    assert_eq!(served(&mut server), "3");
    let trapped = server.call("hostile_panic", json!({}));
    assert_eq!(trapped["isError"], true, "{trapped}");
    // The trapped instance was dropped, not handed on; the next call starts afresh.
    assert_eq!(served(&mut server), "1");
    // Back to the default, reuse within the session (stdio has one): a config edit
    // starts the plugin with no kept instance, then its calls share one.
    save_config(&config, HOSTILE_LIMITS);
    server.wait_for_log("config applied");
    assert_eq!(served(&mut server), "1");
    assert_eq!(served(&mut server), "2");
    // Turning reuse off applies at once: every call gets a fresh instance again.
    save_config(
        &config,
        &format!("{HOSTILE_LIMITS}[plugins.hostile]\ninstance_reuse = \"call\"\n"),
    );
    server.wait_for_log_count("config applied", 2);
    assert_eq!(served(&mut server), "1");
    assert_eq!(served(&mut server), "1");
    // Sharing between clients is refused as a server-wide default, naming the key.
    save_config(&config, "[runtime]\ninstance_reuse = \"shared\"\n");
    let line = server.wait_for_log_line("config rejected", 1);
    assert!(line.contains("runtime.instance_reuse"), "{line}");
    assert_eq!(served(&mut server), "1");
    // A value out of range is refused and the last good config stays in force.
    save_config(&config, "[plugins.hostile]\nwarm_instances = 100000\n");
    let line = server.wait_for_log_line("config rejected", 2);
    assert!(line.contains("plugins.hostile.warm_instances"), "{line}");
    assert_eq!(served(&mut server), "1");
}

/// One plugin's CPU cannot slow another plugin's calls (issue 18): 64 spinning calls at
/// once left `echo` waiting behind a 10 ms slice of each (hundreds of ms per call on two
/// cores); now the spinners share the cores one turn at a time and `echo` runs beside
/// them.
#[test]
fn sixty_four_spinning_calls_do_not_slow_another_plugin() {
    let limits = "[plugins.hostile.limits]\ncall_timeout_ms = 4000\n\
                  max_concurrent_calls = 64\nmax_queued_calls = 64\n";
    let (_dir, _config, mut server) = start(limits);
    let alone = echo_latencies(&mut server, 15);
    for i in 0..64 {
        send_call(&mut server, &format!("spin-{i}"), "hostile_spin", json!({}));
    }
    // Let every spinner reach its first epoch tick.
    std::thread::sleep(Duration::from_millis(300));
    let beside = echo_latencies(&mut server, 21);
    let (alone, beside_p50) = (median(&alone), median(&beside));
    println!("echo p50 {alone:?} alone, {beside_p50:?} beside 64 spinning calls");
    assert!(
        beside_p50 < alone * 4 + Duration::from_millis(25),
        "echo's median went from {alone:?} to {beside_p50:?} beside 64 spinning calls"
    );
    for i in 0..64 {
        let result = result_of(&mut server, &format!("spin-{i}"));
        assert!(
            text(&result).contains("call_timeout_ms = 4000"),
            "spin-{i}: {result}"
        );
    }
    assert!(server.close().success());
}

/// A call that holds a turn on the cores while it sleeps in a host call runs no code and
/// cannot pass its turn on; another long call must not wait for it to wake up.
#[test]
fn a_turn_held_by_a_sleeping_call_does_not_stall_other_long_calls() {
    let limits = "[plugins.hostile.limits]\ncall_timeout_ms = 20000\n";
    let (_dir, _config, mut server) = start(limits);
    send_call(
        &mut server,
        "sleeper",
        "hostile_busy_then_sleep",
        json!({ "busy_ms": 50, "sleep_ms": 6000 }),
    );
    // The sleeper is asleep holding its turn by now.
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    // Long enough to need a turn (a few hundred ms of counting).
    let result = server.call("hostile_count", json!({ "n": 300_000_000u64 }));
    let took = started.elapsed();
    assert_eq!(result["isError"], false, "{result}");
    assert!(
        took < Duration::from_secs(3),
        "a long call waited {took:?} behind a sleeping one"
    );
    let slept = result_of(&mut server, "sleeper");
    assert!(text(&slept).contains("slept 6000 ms"), "{slept}");
    assert!(server.close().success());
}
