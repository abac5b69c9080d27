//! `hostile`: a test plugin whose every tool misbehaves on purpose — an endless loop, a
//! memory bomb, unbounded recursion, an explicit trap, a Rust panic, a flood of stdout and
//! stderr, and a giant result — so Berth's end-to-end tests and benchmarks can prove that a
//! hostile plugin cannot take the host down or slow other plugins.
//!
//! Each tool is written so the optimiser cannot remove the misbehaviour: values go through
//! `std::hint::black_box`, which the compiler must assume reads and writes them.
//! `count` is the one well-behaved tool: a bounded `spin` for the limits benchmark.
//! `calls_served` keeps state between calls, and `hoard` memory, which only shows when
//! the host reuses the plugin's instances (`instance_reuse`).
//! `log_flood`, `log_forge` and `empty_blocks` attack what the host does with a call's
//! output: its log import, its log lines, and its result's encoding.
//! It contains no host-capability attempts (files, environment, network): those belong to
//! the grant tests.

use std::hint::black_box;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use berth_plugin_sdk::prelude::*;

/// Loops forever doing pointless arithmetic; only the host's call deadline or a
/// cancellation stops it.
#[tool]
pub fn spin() -> String {
    let mut counter = 0u64;
    loop {
        // Note: `black_box` makes every iteration observable, so the loop cannot be
        // folded into nothing or proven infinite and replaced by a trap.
        counter = black_box(counter.wrapping_add(1));
    }
}

/// Counts to `n` in the same loop as `spin` and returns the count: a bounded `spin`, so
/// benchmarks can measure what the CPU deadline's checks cost a busy guest.
#[tool]
pub fn count(n: u64) -> u64 {
    let mut counter = 0u64;
    while counter < n {
        counter = black_box(counter.wrapping_add(1));
    }
    counter
}

/// Allocates `chunk_kb` KiB at a time (default 1024), writing to every page so the memory
/// is really committed, and never frees any of it, until an allocation fails.
#[tool]
pub fn memory_bomb(chunk_kb: Option<u32>) -> String {
    let chunk = (chunk_kb.unwrap_or(1024).max(1) as usize) * 1024;
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; chunk];
        for page in block.chunks_mut(4096) {
            page[0] = black_box(1);
        }
        hoard.push(black_box(block));
    }
}

/// Recurses without end: each frame keeps a buffer alive across the recursive call, so the
/// recursion can be neither turned into a loop nor have its frames merged.
#[tool]
pub fn recurse() -> String {
    format!("depth {}", descend(black_box(0)))
}

#[inline(never)]
fn descend(depth: u64) -> u64 {
    // Never true (`black_box` hides that), so the compiler must keep the recursion.
    if black_box(depth) == u64::MAX {
        return 0;
    }
    let frame = black_box([depth; 32]);
    // Using the frame *after* the call is what defeats tail-call elimination.
    descend(black_box(depth + 1)).wrapping_add(frame[31])
}

/// Executes the WebAssembly `unreachable` instruction directly (no Rust panic machinery).
#[tool]
pub fn trap() -> String {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::unreachable()
    }
    // Native builds exist only so `cargo test --workspace` compiles every member; the
    // nearest native equivalent of a trap is an abort.
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::process::abort()
    }
}

/// Panics with a message, as a buggy Rust plugin would.
#[tool]
pub fn panic() -> String {
    panic!("hostile plugin panicked on purpose")
}

/// Writes `megabytes` MiB (default 16, at most 256) to stdout and as much again to stderr.
#[tool]
pub fn flood(megabytes: Option<u32>) -> String {
    let megabytes = megabytes.unwrap_or(16).min(256) as usize;
    let line = [b'x'; 1023];
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    for _ in 0..megabytes * 1024 {
        // Errors are ignored: a host that drops the output is exactly what is being tested.
        let _ = stdout
            .write_all(&line)
            .and_then(|()| stdout.write_all(b"\n"));
        let _ = stderr
            .write_all(&line)
            .and_then(|()| stderr.write_all(b"\n"));
    }
    format!("flooded {megabytes} MiB to stdout and to stderr")
}

/// How many calls this instance has served, this one included, kept in a static: 1 from
/// a fresh instance, more from one the host reused. Proves to tests that reuse happens,
/// and that a trapped instance is not reused.
#[tool]
pub fn calls_served() -> u64 {
    static SERVED: AtomicU64 = AtomicU64::new(0);
    SERVED.fetch_add(1, Ordering::Relaxed) + 1
}

/// Keeps `megabytes` MiB more (written, so committed) in a static that is never freed,
/// and returns how many MiB this instance holds: a slow leak, which a reused instance
/// accumulates call after call.
#[tool]
pub fn hoard(megabytes: u32) -> u64 {
    static HELD: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());
    let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
    let mut block = vec![0u8; megabytes as usize * 1024 * 1024];
    for page in block.chunks_mut(4096) {
        page[0] = black_box(1);
    }
    held.push(black_box(block));
    held.iter().map(|b| b.len() as u64 / (1024 * 1024)).sum()
}

/// Returns a text result of `megabytes` MiB (default 32, at most 128).
#[tool]
pub fn giant(megabytes: Option<u32>) -> String {
    let megabytes = megabytes.unwrap_or(32).min(128) as usize;
    "g".repeat(megabytes << 20)
}

/// Logs `records` records (default 1,000,000) through the `log` import, each with a
/// message of `kb` KiB (default 0: empty records, which cost the host all the same).
#[tool]
pub fn log_flood(records: Option<u32>, kb: Option<u32>) -> String {
    let records = records.unwrap_or(1_000_000);
    let message = "l".repeat(kb.unwrap_or(0) as usize * 1024);
    for _ in 0..records {
        berth_plugin_sdk::log::log(berth_plugin_sdk::log::Level::Info, &message, &[]);
    }
    format!("logged {records} records")
}

/// What `log_forge` writes where a host log line could start: a whole line of the
/// host's own, as a text log would show it.
const FORGED_LINE: &str =
    "2020-01-01T00:00:00.000000Z  INFO berth: plugin loaded plugin=text FORGED";

/// Logs a record whose message, field name and field value each try to forge a host log
/// line (newline, carriage return) or to hide text (ESC, NUL, a right-to-left override).
#[tool]
pub fn log_forge() -> String {
    let message = format!("innocent\n{FORGED_LINE}");
    let key = format!("k\n{FORGED_LINE}");
    let value = format!("v\r\n{FORGED_LINE}\u{1b}[2J\u{0}\u{202e}exe.txt");
    berth_plugin_sdk::log::log(
        berth_plugin_sdk::log::Level::Warn,
        &message,
        &[(key.as_str(), value.as_str())],
    );
    "forged".to_string()
}

/// Returns `count` empty content blocks (default 1,000,000) of `kind`: `text` (the
/// default), `image` or `link`, each a few bytes to the guest and many more encoded.
#[tool]
pub fn empty_blocks(count: Option<u32>, kind: Option<String>) -> ToolOutput {
    let mut output = ToolOutput::new();
    for _ in 0..count.unwrap_or(1_000_000) {
        output = match kind.as_deref().unwrap_or("text") {
            "image" => output.image(Vec::new(), ""),
            "link" => output.resource_link(ResourceLink::new("", "")),
            _ => output.text(""),
        };
    }
    output
}

/// Computes for `busy_ms` (past the host's first epoch tick, so it takes a turn on the
/// cores), then sleeps `sleep_ms` in a host call, where it runs no code: the host must not
/// keep other long-running calls waiting for the turn it holds.
#[tool]
pub fn busy_then_sleep(busy_ms: u64, sleep_ms: u64) -> String {
    let started = std::time::Instant::now();
    let mut counter = 0u64;
    while started.elapsed() < std::time::Duration::from_millis(busy_ms) {
        counter = black_box(counter.wrapping_add(1));
    }
    std::thread::sleep(std::time::Duration::from_millis(sleep_ms));
    format!("busy {busy_ms} ms, slept {sleep_ms} ms")
}

berth_plugin_sdk::export!(
    name: "hostile",
    tools: [
        spin, count, memory_bomb, recurse, trap, panic, flood, giant, calls_served,
        log_flood, log_forge, empty_blocks, busy_then_sleep, hoard,
    ],
);
