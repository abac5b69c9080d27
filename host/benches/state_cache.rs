//! Plugin state and the result cache through the real `berth` binary over stdio:
//!
//! - **kv from inside a call**: `kv-probe`'s `timed` tool times 1000 `wasi:keyvalue` sets
//!   and gets of 100-byte values inside one call (guest clock), on the embedded store and
//!   on a `redis-server` (Debian's package) on loopback with `appendfsync always`;
//! - **cached vs uncached `tools/call`**: sequential `text_count` round trips of one
//!   sentence (a read-only, idempotent tool), with `[plugins.text.cache]` off and on.
//!
//! Prints figures; run with `cargo bench -p berth-host --bench state_cache` (or
//! `--profile bench-quick` while iterating).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const WARMUP: usize = 200;
const CALLS: usize = 3000;

/// A `berth serve` over stdio with one request in flight at a time.
struct Stdio1 {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
}

impl Stdio1 {
    fn start(plugins: &Path, config: &Path) -> Stdio1 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["serve", "--plugins"])
            .arg(plugins)
            .arg("--config")
            .arg(config)
            .env("BERTH_LOG", "warn")
            .env("BERTH_ADMIN_SOCKET", "off")
            // Calls on optimised code from the first one, with no background compiler
            // beside them (a tiered start would serve on Winch code while Cranelift compiles).
            .env("BERTH_RUNTIME__COMPILER", "cranelift")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("berth starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut server = Stdio1 {
            child,
            stdin,
            stdout,
            next_id: 1,
        };
        server.request(
            "initialize",
            r#"{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}"#,
        );
        server
    }

    /// Sends one request and waits for its answer line; returns it and the round trip.
    fn request(&mut self, method: &str, params: &str) -> (String, Duration) {
        let id = self.next_id;
        self.next_id += 1;
        let line =
            format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#);
        let started = Instant::now();
        self.stdin.write_all(line.as_bytes()).expect("write");
        self.stdin.write_all(b"\n").expect("write");
        self.stdin.flush().expect("flush");
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).expect("read");
        let elapsed = started.elapsed();
        assert!(answer.contains("\"result\""), "unexpected reply: {answer}");
        (answer, elapsed)
    }
}

impl Drop for Stdio1 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    samples[((samples.len() as f64 - 1.0) * p) as usize]
}

fn install(dir: &Path, package: &str, name: &str) {
    std::fs::copy(berth_test_artifacts::wasm(package), dir.join(name)).expect("copy plugin");
}

/// The text of the first content block of a `tools/call` answer line.
fn answer_text(line: &str) -> String {
    let reply: serde_json::Value = serde_json::from_str(line).expect("JSON answer");
    reply["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn kv_inside_a_call(name: &str, state: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    install(dir.path(), "berth-test-kv-probe", "kv-probe.wasm");
    let config = dir.path().join("berth.toml");
    std::fs::write(
        &config,
        format!("{state}\n[plugins.kv-probe.grants]\nkeyvalue = {{ buckets = [\"b\"] }}\n"),
    )
    .expect("config");
    let mut server = Stdio1::start(dir.path(), &config);
    let call = r#"{"name":"kv-probe_timed","arguments":{"bucket":"b","ops":1000}}"#;
    server.request("tools/call", call);
    let (line, _) = server.request("tools/call", call);
    let figures: serde_json::Value =
        serde_json::from_str(&answer_text(&line)).expect("timed answers JSON");
    println!(
        "kv inside a call, {name:<34} set p50 {:>7.1} µs  p99 {:>7.1} µs   get p50 {:>6.1} µs  p99 {:>6.1} µs",
        figures["set_p50_us"].as_f64().unwrap_or(0.0),
        figures["set_p99_us"].as_f64().unwrap_or(0.0),
        figures["get_p50_us"].as_f64().unwrap_or(0.0),
        figures["get_p99_us"].as_f64().unwrap_or(0.0),
    );
}

fn text_count(name: &str, cache: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    install(dir.path(), "berth-plugin-text", "text.wasm");
    let config = dir.path().join("berth.toml");
    std::fs::write(&config, cache).expect("config");
    let mut server = Stdio1::start(dir.path(), &config);
    let call = r#"{"name":"text_count","arguments":{"text":"The quick brown fox jumps over the lazy dog."}}"#;
    let mut samples = Vec::with_capacity(CALLS);
    for i in 0..WARMUP + CALLS {
        let (_, elapsed) = server.request("tools/call", call);
        if i >= WARMUP {
            samples.push(elapsed);
        }
    }
    let p50 = percentile(&mut samples, 0.5);
    let p99 = percentile(&mut samples, 0.99);
    println!(
        "stdio tools/call text_count, {name:<22} p50 {:>7.1} µs  p99 {:>7.1} µs  ({CALLS} sequential calls)",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
}

fn main() {
    let state = tempfile::tempdir().expect("temp dir");
    kv_inside_a_call(
        "embedded (redb)",
        &format!(
            "[state]\npath = {:?}",
            state.path().join("s.redb").display().to_string()
        ),
    );
    let redis = berth_test_services::Redis::start(berth_test_services::Persistence::EveryWrite);
    kv_inside_a_call(
        "redis (loopback, appendfsync always)",
        &format!("[state]\nbackend = \"redis\"\nurl = \"{}\"", redis.url()),
    );
    drop(redis);

    text_count("cache off", "");
    text_count(
        "cache on (memory hit)",
        "[plugins.text.cache]\nttl_secs = 600\n",
    );
}
