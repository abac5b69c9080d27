//! Start-up and memory of the real `berth` binary (issue 7):
//!
//! 1. launch to the first answered `tools/list` with the 5 example plugins, compiling every
//!    plugin (cache off), with a cold compilation cache (compile + store) and a warm one
//!    (checksum + deserialize);
//! 2. the same with 50 generated plugins (see `support/fleet.rs`), cold and warm cache, and the
//!    number of tools they list (checked: 50 × 3). Cold starts are tiered (Winch code first,
//!    the default) and, for comparison, with Cranelift before serving;
//! 3. resident memory of the idle server (`VmRSS`, `RssAnon`, `RssFile`, `RssShmem` from
//!    `/proc/<pid>/status`, 1 s after the first `tools/list`) with no plugins, the fleet and
//!    the examples, and what each loaded plugin adds;
//! 4. resident memory per concurrent call: N `echo_sleep` calls in flight on one stdio
//!    connection, RSS during minus RSS before, ÷ N.
//!
//! Each launch runs `berth serve` over stdio, writes `initialize`, `initialized` and
//! `tools/list` at once, and stops the clock at the `tools/list` answer (its first page: the
//! default page holds 100 tools; the rest of the pages are fetched untimed, to count them).
//!
//! Run with `cargo bench -p berth-host --bench startup`. The first run also builds the fleet
//! (a nested cargo, a few minutes on two cores); later runs find it up to date. Figures are
//! printed, never asserted; the targets are printed beside them.

#[path = "support/fleet.rs"]
mod fleet;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Lines, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Rounds of the example start-ups (each cold round is followed by a warm one).
const ROUNDS: usize = 5;
/// Cold start-ups of the fleet, each with a fresh cache: every one compiles 50 plugins.
const FLEET_COLD_ROUNDS: usize = 3;
/// Warm start-ups of the fleet.
const FLEET_WARM_ROUNDS: usize = 7;
/// Launches per idle-memory figure; the median (by `VmRSS`) is shown.
const MEMORY_ROUNDS: usize = 3;
/// How long the server idles after its first `tools/list` before its memory is read, so that
/// start-up's transient allocations have been freed and background tasks have settled.
const IDLE: Duration = Duration::from_secs(1);
/// How long each `echo_sleep` call sleeps, and when during it the memory is read.
const SLEEP: Duration = Duration::from_millis(1500);
const SAMPLE_AFTER: Duration = Duration::from_millis(700);
/// Calls in flight per round; the first round warms allocator and code pages and is shown
/// but marked as such.
const IN_FLIGHT: [usize; 5] = [200, 1, 10, 100, 200];

/// Printed beside the figures (issue 7's targets), never asserted.
const TARGET_WARM_FLEET: Duration = Duration::from_millis(500);
/// Issue 26's target for a cold start of the fleet.
const TARGET_COLD_FLEET: Duration = Duration::from_millis(1500);
const TARGET_KIB_PER_PLUGIN: f64 = 2048.0;

const ECHO: &str = "berth-plugin-echo";

/// A running `berth serve` spoken to over stdio.
struct Berth {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    /// Answers read while waiting for another id (concurrent calls finish in any order).
    early: HashMap<u64, Value>,
}

impl Berth {
    /// Launches `berth serve` on `plugins` with `cache` (`off` or a folder) and `env` on top.
    fn launch(plugins: &Path, cache: &str, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["serve", "--admin-socket", "off", "--compile-cache", cache])
            .arg("--plugins")
            .arg(plugins)
            .env("BERTH_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("berth starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Berth {
            child,
            stdin,
            stdout,
            early: HashMap::new(),
        }
    }

    fn write(&mut self, message: &Value) {
        writeln!(self.stdin, "{message}").expect("write to berth");
    }

    fn request(&mut self, id: u64, method: &str, params: Value) {
        self.write(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
    }

    /// The result of request `id`; panics on an error answer.
    fn answer(&mut self, id: u64) -> Value {
        let message = loop {
            if let Some(message) = self.early.remove(&id) {
                break message;
            }
            let line = self
                .stdout
                .next()
                .expect("berth answers before closing stdout")
                .expect("a line");
            let message: Value = serde_json::from_str(&line).expect("JSON");
            // Notifications have no id and are not waited for.
            if let Some(other) = message["id"].as_u64() {
                self.early.insert(other, message);
            }
        };
        assert!(
            message.get("error").is_none(),
            "request {id} failed: {message}"
        );
        message["result"].clone()
    }

    fn memory(&self) -> Memory {
        Memory::of(self.child.id())
    }

    /// Closes stdin (which ends a stdio server) and waits for the process.
    fn stop(self) {
        let Berth {
            mut child, stdin, ..
        } = self;
        drop(stdin);
        let _ = child.wait();
    }
}

/// Launches Berth and times it to the first answered `tools/list`; then pages through the
/// rest of the list (untimed) and returns the running server and the number of tools.
fn start(plugins: &Path, cache: &str, env: &[(&str, &str)]) -> (Berth, Duration, usize) {
    let started = Instant::now();
    let mut berth = Berth::launch(plugins, cache, env);
    berth.request(
        1,
        "initialize",
        json!({
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"},
        }),
    );
    berth.write(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    berth.request(2, "tools/list", json!({}));
    let mut page = berth.answer(2);
    let elapsed = started.elapsed();

    let mut tools = 0;
    for id in 3.. {
        tools += page["tools"].as_array().map_or(0, Vec::len);
        let Some(cursor) = page["nextCursor"].as_str().map(str::to_owned) else {
            break;
        };
        berth.request(id, "tools/list", json!({"cursor": cursor}));
        page = berth.answer(id);
    }
    (berth, elapsed, tools)
}

/// Times a start-up that is stopped right after it answered; returns the time and tool count.
fn time_start(plugins: &Path, cache: &str) -> (Duration, usize) {
    time_start_with(plugins, cache, &[])
}

/// [`time_start`] with `env` on top.
fn time_start_with(plugins: &Path, cache: &str, env: &[(&str, &str)]) -> (Duration, usize) {
    let (berth, elapsed, tools) = start(plugins, cache, env);
    berth.stop();
    (elapsed, tools)
}

/// The server's settings for Cranelift alone: every load compiles with it before serving.
const CRANELIFT: &[(&str, &str)] = &[("BERTH_RUNTIME__COMPILER", "cranelift")];

/// Fills `cache` with Cranelift's code of every plugin in `plugins`. A tiered start serves
/// on Winch code and stores Cranelift's only as its background compiler gets to it, so a
/// cold round leaves the cache partly filled; the warm rounds need all of it.
fn fill_cache(plugins: &Path, cache: &str) {
    time_start_with(plugins, cache, CRANELIFT);
}

/// Resident memory of a process, in KiB, from `/proc/<pid>/status`.
#[derive(Clone, Copy)]
struct Memory {
    /// All resident pages.
    rss: u64,
    /// Resident anonymous pages: heap, stacks, instance memories, deserialized code.
    anon: u64,
    /// Resident pages of mapped files: the binary and libraries.
    file: u64,
    /// Resident shared memory (memfd-backed mappings, such as wasmtime's memory images);
    /// with the two above it makes up `VmRSS`.
    shmem: u64,
}

impl Memory {
    fn of(pid: u32) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .expect("/proc/<pid>/status (this bench needs Linux)");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
        };
        Memory {
            rss: field("VmRSS"),
            anon: field("RssAnon"),
            file: field("RssFile"),
            shmem: field("RssShmem"),
        }
    }
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "VmRSS {} (RssAnon {}, RssFile {}, RssShmem {})",
            mib(self.rss as f64),
            mib(self.anon as f64),
            mib(self.file as f64),
            mib(self.shmem as f64)
        )
    }
}

fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

/// `(a - b) / n` for each of the four figures, in KiB (negative if memory went down).
fn per(a: Memory, b: Memory, n: usize) -> [f64; 4] {
    let d = |x: u64, y: u64| (x as f64 - y as f64) / n as f64;
    [
        d(a.rss, b.rss),
        d(a.anon, b.anon),
        d(a.file, b.file),
        d(a.shmem, b.shmem),
    ]
}

/// Resident memory of the server idling after its first `tools/list`: the median of
/// [`MEMORY_ROUNDS`] launches by `VmRSS`. Also checks the tool count.
fn idle_memory(plugins: &Path, cache: &str, tools: usize) -> Memory {
    let mut samples: Vec<Memory> = (0..MEMORY_ROUNDS)
        .map(|_| {
            let (berth, _, listed) = start(plugins, cache, &[]);
            assert_eq!(listed, tools, "every plugin loaded");
            std::thread::sleep(IDLE);
            let memory = berth.memory();
            berth.stop();
            memory
        })
        .collect();
    samples.sort_by_key(|m| m.rss);
    samples[samples.len() / 2]
}

fn report(what: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let median = samples[samples.len() / 2];
    let (min, max) = (samples[0], samples[samples.len() - 1]);
    println!(
        "{what}: median {median:.1?} (min {min:.1?}, max {max:.1?}, {} rounds)",
        samples.len()
    );
    median
}

/// Total size of the components in `dir`, in MB.
fn megabytes(dir: &Path) -> f64 {
    let bytes: u64 = std::fs::read_dir(dir)
        .expect("plugins dir")
        .flatten()
        .filter_map(|entry| entry.metadata().ok())
        .map(|metadata| metadata.len())
        .sum();
    bytes as f64 / 1e6
}

fn main() {
    // 1. The examples: cache off, cold and warm. The last round's cache stays warm for the
    // memory figures below.
    let examples = tempfile::tempdir().expect("plugins dir");
    for package in berth_test_artifacts::EXAMPLES_WITHOUT_GRANTS {
        berth_test_artifacts::copy_component(package, examples.path());
    }
    println!(
        "== {} example plugins, {:.1} MB of components ==",
        berth_test_artifacts::EXAMPLES_WITHOUT_GRANTS.len(),
        megabytes(examples.path())
    );
    let off: Vec<Duration> = (0..ROUNDS)
        .map(|_| time_start(examples.path(), "off").0)
        .collect();
    report("cache off (tiered: Winch, Cranelift later)", off);
    let off: Vec<Duration> = (0..ROUNDS)
        .map(|_| time_start_with(examples.path(), "off", CRANELIFT).0)
        .collect();
    report("cache off, Cranelift before serving", off);

    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let mut example_tools = 0;
    let mut examples_cache = None;
    for _ in 0..ROUNDS {
        let cache = examples_cache.insert(tempfile::tempdir().expect("cache dir"));
        let dir = cache.path().to_str().expect("utf-8 path");
        let (first, tools) = time_start(examples.path(), dir);
        cold.push(first);
        fill_cache(examples.path(), dir);
        let (second, same) = time_start(examples.path(), dir);
        assert_eq!(tools, same, "the cached start serves the same tools");
        warm.push(second);
        example_tools = tools;
    }
    report("cold cache (tiered: Winch, Cranelift stored later)", cold);
    report("warm cache (checksum and deserialize)", warm);

    // 2. The fleet.
    let built = fleet::build();
    let fleet_dir = tempfile::tempdir().expect("plugins dir");
    for (n, component) in built.components.iter().enumerate() {
        let copy = fleet_dir
            .path()
            .join(format!("berth-plugin-fleet-{n:02}.wasm"));
        std::fs::copy(component, &copy).expect("copying a fleet component");
    }
    let fleet_tools = fleet::PLUGINS * fleet::TOOLS_PER_PLUGIN;
    println!(
        "\n== {} generated fleet plugins, {} tools each, {:.1} MB of components (fleet build \
         or up-to-date check: {:.1?}) ==",
        fleet::PLUGINS,
        fleet::TOOLS_PER_PLUGIN,
        megabytes(fleet_dir.path()),
        built.build_time
    );
    let mut cold = Vec::new();
    let mut fleet_cache = None;
    for _ in 0..FLEET_COLD_ROUNDS {
        // A fresh cache each round; the last one stays warm for the rounds below.
        let cache = fleet_cache.insert(tempfile::tempdir().expect("cache dir"));
        let dir = cache.path().to_str().expect("utf-8 path");
        let (elapsed, tools) = time_start(fleet_dir.path(), dir);
        assert_eq!(tools, fleet_tools, "every fleet plugin's tools are listed");
        cold.push(elapsed);
    }
    let median = report("cold cache (tiered: Winch, Cranelift stored later)", cold);
    println!(
        "   target: at most {TARGET_COLD_FLEET:?} -> {}",
        if median <= TARGET_COLD_FLEET {
            "met"
        } else {
            "NOT met"
        }
    );
    let cranelift: Vec<Duration> = (0..FLEET_COLD_ROUNDS)
        .map(|_| {
            let cache = tempfile::tempdir().expect("cache dir");
            let dir = cache.path().to_str().expect("utf-8 path");
            time_start_with(fleet_dir.path(), dir, CRANELIFT).0
        })
        .collect();
    report(
        "cold cache, Cranelift before serving (compile and store)",
        cranelift,
    );
    let fleet_cache = fleet_cache.expect("a cold round ran");
    let fleet_cache_dir = fleet_cache.path().to_str().expect("utf-8 path");
    fill_cache(fleet_dir.path(), fleet_cache_dir);
    let warm: Vec<Duration> = (0..FLEET_WARM_ROUNDS)
        .map(|_| {
            let (elapsed, tools) = time_start(fleet_dir.path(), fleet_cache_dir);
            assert_eq!(tools, fleet_tools, "every fleet plugin's tools are listed");
            elapsed
        })
        .collect();
    let median = report("warm cache (checksum and deserialize)", warm);
    println!(
        "   target: under {TARGET_WARM_FLEET:?} -> {}",
        if median < TARGET_WARM_FLEET {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "tools listed: {fleet_tools} (= {} × {})",
        fleet::PLUGINS,
        fleet::TOOLS_PER_PLUGIN
    );

    // 3. Idle memory.
    println!(
        "\n== idle memory: 1 s after the first tools/list, median of {MEMORY_ROUNDS} launches =="
    );
    let empty = tempfile::tempdir().expect("plugins dir");
    let none = idle_memory(empty.path(), "off", 0);
    println!("no plugins: {none}");
    let examples_cache = examples_cache.expect("a cold round ran");
    let examples_dir = examples_cache.path().to_str().expect("utf-8 path");
    for (what, dir, cache, plugins, tools) in [
        (
            "50 fleet plugins",
            fleet_dir.path(),
            fleet_cache_dir,
            fleet::PLUGINS,
            fleet_tools,
        ),
        (
            "5 example plugins",
            examples.path(),
            examples_dir,
            berth_test_artifacts::EXAMPLES_WITHOUT_GRANTS.len(),
            example_tools,
        ),
    ] {
        let loaded = idle_memory(dir, cache, tools);
        let [rss, anon, file, shmem] = per(loaded, none, plugins);
        println!("{what}, warm cache: {loaded}");
        println!(
            "   idle memory per plugin: VmRSS {:.2} MiB = {rss:.0} KiB (RssAnon {anon:.0} KiB, \
             RssFile {file:.0} KiB, RssShmem {shmem:.0} KiB); target under {} -> {}",
            rss / 1024.0,
            mib(TARGET_KIB_PER_PLUGIN),
            if rss < TARGET_KIB_PER_PLUGIN {
                "met"
            } else {
                "NOT met"
            }
        );
    }

    // 4. Memory per concurrent call, through the binary: one stdio connection, N requests
    // written at once. The per-plugin limits are raised so that all N run at once rather than
    // queue (a queued call holds no store yet).
    println!(
        "\n== memory per concurrent call: N echo_sleep calls ({SLEEP:?} each) in flight on one \
         stdio connection, read {SAMPLE_AFTER:?} in =="
    );
    let echo = tempfile::tempdir().expect("plugins dir");
    berth_test_artifacts::copy_component(ECHO, echo.path());
    let echo_cache = tempfile::tempdir().expect("cache dir");
    let echo_cache = echo_cache.path().to_str().expect("utf-8 path");
    time_start(echo.path(), echo_cache);
    let limits = [
        ("BERTH_RUNTIME__MAX_CONCURRENT_CALLS", "1024"),
        ("BERTH_RUNTIME__MAX_QUEUED_CALLS", "1024"),
    ];
    let (mut berth, _, _) = start(echo.path(), echo_cache, &limits);
    std::thread::sleep(IDLE);
    let mut next_id = 100;
    for (round, n) in IN_FLIGHT.into_iter().enumerate() {
        let before = berth.memory();
        let sent = Instant::now();
        let ids: Vec<u64> = (next_id..next_id + n as u64).collect();
        next_id += n as u64;
        for &id in &ids {
            berth.request(
                id,
                "tools/call",
                json!({"name": "echo_sleep", "arguments": {"millis": SLEEP.as_millis() as u64}}),
            );
        }
        std::thread::sleep(SAMPLE_AFTER);
        let during = berth.memory();
        for &id in &ids {
            let result = berth.answer(id);
            assert_ne!(result["isError"], true, "echo_sleep failed: {result}");
        }
        // All N answered in about one sleep means they ran at once; N sleeps would mean queued.
        let answered = sent.elapsed();
        std::thread::sleep(Duration::from_millis(200));
        let after = berth.memory();
        let [rss, anon, _, shmem] = per(during, before, n);
        println!(
            "N = {n:>3}{}: VmRSS {} -> {} -> {} after; per call {rss:.0} KiB (RssAnon \
             {anon:.0} KiB, RssShmem {shmem:.0} KiB); all answered in {answered:.2?}",
            if round == 0 { " (warm-up)" } else { "" },
            mib(before.rss as f64),
            mib(during.rss as f64),
            mib(after.rss as f64),
        );
    }
    berth.stop();
}
