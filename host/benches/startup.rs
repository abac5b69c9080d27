//! Start-up: how long the real `berth` binary takes, from being launched to answering
//! `tools/list`, with the example plugins, compiling everything (cache off), with a cold
//! compilation cache (compile + store) and with a warm one (checksum + deserialize).
//!
//! Each round launches `berth serve` over stdio, writes `initialize`, `initialized` and
//! `tools/list`, and stops the clock at the `tools/list` answer. Run with
//! `cargo bench -p berth-host --bench startup`. Figures are printed, not asserted.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROUNDS: usize = 5;

/// The example plugins (the `files` one is left out: it needs a folder grant).
const EXAMPLES: [&str; 5] = [
    "berth-plugin-text",
    "berth-plugin-json",
    "berth-plugin-time",
    "berth-plugin-docs",
    "berth-plugin-http",
];

/// Launches Berth with `cache` (`off` or a folder) and times it to the first answered
/// `tools/list`; also returns how many tools it listed.
fn time_to_tools_list(plugins: &Path, cache: &str) -> (Duration, usize) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["serve", "--admin-socket", "off", "--compile-cache", cache])
        .arg("--plugins")
        .arg(plugins)
        .env("BERTH_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("berth starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let requests = [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
    ];
    for line in requests {
        writeln!(stdin, "{line}").expect("write");
    }
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let tools = loop {
        let line = lines.next().expect("an answer").expect("a line");
        let message: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        if message["id"] == 2 {
            break message["result"]["tools"]
                .as_array()
                .map_or(0, |tools| tools.len());
        }
    };
    let elapsed = started.elapsed();
    drop(stdin);
    let _ = child.wait();
    (elapsed, tools)
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let median = samples[samples.len() / 2];
    let (min, max) = (samples[0], samples[samples.len() - 1]);
    println!("{what}: median {median:.1?} (min {min:.1?}, max {max:.1?}, {ROUNDS} rounds)");
}

fn main() {
    let plugins = tempfile::tempdir().expect("plugins dir");
    let mut bytes = 0;
    for package in EXAMPLES {
        let copied = berth_test_artifacts::copy_component(package, plugins.path());
        bytes += std::fs::metadata(copied).map_or(0, |m| m.len());
    }
    println!(
        "{} example plugins, {:.1} MB of components",
        EXAMPLES.len(),
        bytes as f64 / 1e6
    );

    let off: Vec<Duration> = (0..ROUNDS)
        .map(|_| time_to_tools_list(plugins.path(), "off").0)
        .collect();
    report("cache off (compile every plugin)", off);

    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..ROUNDS {
        let cache = tempfile::tempdir().expect("cache dir");
        let dir = cache.path().to_str().expect("utf-8 path");
        let (first, tools) = time_to_tools_list(plugins.path(), dir);
        cold.push(first);
        let (second, same) = time_to_tools_list(plugins.path(), dir);
        assert_eq!(tools, same, "the cached start serves the same tools");
        warm.push(second);
    }
    report("cold cache (compile and store)", cold);
    report("warm cache (checksum and deserialize)", warm);
}
