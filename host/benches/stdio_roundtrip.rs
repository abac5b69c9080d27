//! `tools/call` round trips over stdio through the real `berth` binary: a client writes
//! one request line and waits for its response line, sequentially, as an agent does.
//! Prints the distribution; run with `cargo bench -p berth-host --bench stdio_roundtrip`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WARMUP: usize = 200;
const CALLS: usize = 3000;

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters nothing here.
    let dir = tempfile::tempdir().expect("temp dir");
    let echo = berth_test_artifacts::wasm("berth-plugin-echo");
    std::fs::copy(&echo, dir.path().join("echo.wasm")).expect("copy echo");
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["serve", "--plugins"])
        .arg(dir.path())
        .env("BERTH_LOG", "warn")
        // Calls on optimised code from the first one, with no background compiler beside
        // them (a tiered start would serve on Winch code while Cranelift compiles).
        .env("BERTH_RUNTIME__COMPILER", "cranelift")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("berth starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    let mut roundtrip = |request: &str| -> Duration {
        let start = Instant::now();
        stdin.write_all(request.as_bytes()).expect("write");
        stdin.write_all(b"\n").expect("write");
        stdin.flush().expect("flush");
        line.clear();
        stdout.read_line(&mut line).expect("read");
        let elapsed = start.elapsed();
        assert!(line.contains("\"result\""), "unexpected reply: {line}");
        elapsed
    };
    roundtrip(
        r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#,
    );
    // The initialized notification has no reply, so it is written without waiting.
    let call = |id: usize| {
        format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo_echo","arguments":{{"text":"hello, berth"}}}}}}"#
        )
    };
    let mut samples = Vec::with_capacity(CALLS);
    for id in 1..=WARMUP + CALLS {
        let elapsed = roundtrip(&call(id));
        if id > WARMUP {
            samples.push(elapsed);
        }
    }
    drop(stdin);
    let _ = child.wait();
    samples.sort();
    let total: Duration = samples.iter().sum();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "stdio tools/call round trip (echo_echo), {CALLS} sequential calls after {WARMUP} warm-up:"
    );
    println!(
        "  mean {:?}  p50 {:?}  p90 {:?}  p99 {:?}  max {:?}",
        total / CALLS as u32,
        pct(0.5),
        pct(0.9),
        pct(0.99),
        samples[samples.len() - 1]
    );
    println!(
        "  throughput {:.0} calls/s (one client, sequential)",
        CALLS as f64 / total.as_secs_f64()
    );
}
