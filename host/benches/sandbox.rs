//! What the sandbox limits cost and how fast they act (issue 4):
//!
//! - call cost with limits on (the product path: epoch-instrumented code with a deadline,
//!   memory limiter, concurrency gate, result cap) and off (an engine without epoch
//!   interruption, no limiter, gate or result cap: `RuntimeOptions::limits_off`), for a
//!   trivial call (`echo`) and a CPU-bound one (`hostile`'s `count`, 10 million turns);
//! - time from cancelling a spinning guest's token to its call returning (store dropped);
//! - resident memory per concurrent call, with N `echo_sleep` calls in flight;
//! - fairness (issue 18): `text_count` latency alone and beside 64 spinning `hostile`
//!   calls, with the host-wide turns on the cores (`runtime/cpu.rs`: one core fewer than
//!   the machine) and without a cap (as before), and what the cap costs two long calls
//!   of one plugin that could each have had a core.
//!
//! Run with `cargo bench -p berth-host --bench sandbox`. Plain timing loops (no
//! criterion) because two of the three figures are latencies and memory, not throughput.

use std::time::{Duration, Instant};

use berth::manifest::{CallContext, ToolOutput};
use berth::runtime::{
    CallError, CompileStrategy, LoadedPlugin, PluginLimits, PluginSettings, Runtime, RuntimeOptions,
};
use tokio_util::sync::CancellationToken;

const ECHO: &str = "berth-plugin-echo";
const HOSTILE: &str = "berth-test-hostile";
const TEXT: &str = "berth-plugin-text";

/// Limits that never turn a benchmark call away.
fn roomy() -> PluginSettings {
    PluginSettings {
        limits: PluginLimits {
            max_concurrent_calls: 1024,
            max_queued_calls: 1024,
            ..PluginLimits::default()
        },
        ..PluginSettings::default()
    }
}

async fn load(runtime: &Runtime, package: &str) -> LoadedPlugin {
    let path = berth_test_artifacts::wasm(package);
    runtime.load(&path, roomy()).await.expect("plugin loads")
}

/// Sorted durations of `n` sequential calls of `tool` after `n / 10` warm-up calls.
async fn time_calls(plugin: &LoadedPlugin, tool: &str, args: &str, n: usize) -> Vec<Duration> {
    let (ctx, cancel) = (CallContext::default(), CancellationToken::new());
    for _ in 0..n / 10 {
        plugin
            .call_tool(tool, args, &ctx, &cancel)
            .await
            .expect("call");
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let output = plugin
            .call_tool(tool, args, &ctx, &cancel)
            .await
            .expect("call");
        times.push(start.elapsed());
        std::hint::black_box(output);
    }
    times.sort();
    times
}

/// Starts a call of `tool` with `args` on a task of its own (as a server's request handler
/// runs); `cancel` stops it. The task yields the outcome and when it came.
fn spawn_call(
    plugin: &LoadedPlugin,
    tool: &'static str,
    args: &'static str,
    cancel: &CancellationToken,
) -> tokio::task::JoinHandle<(Result<ToolOutput, CallError>, Instant)> {
    let (plugin, cancel) = (plugin.clone(), cancel.clone());
    tokio::spawn(async move {
        let result = plugin
            .call_tool(tool, args, &CallContext::default(), &cancel)
            .await;
        (result, Instant::now())
    })
}

fn pct(times: &[Duration], p: usize) -> Duration {
    times[(times.len() * p / 100).min(times.len() - 1)]
}

fn show(what: &str, times: &[Duration]) {
    println!(
        "{what}: p50 {:?}, p90 {:?}, p99 {:?}, min {:?} (n = {})",
        pct(times, 50),
        pct(times, 90),
        pct(times, 99),
        times[0],
        times.len()
    );
}

async fn call_cost() {
    for (label, limits_off) in [("limits on ", false), ("limits off", true)] {
        let runtime = Runtime::new(RuntimeOptions {
            limits_off,
            compiler: CompileStrategy::Cranelift,
            ..RuntimeOptions::default()
        })
        .expect("runtime");
        let echo = load(&runtime, ECHO).await;
        let hostile = load(&runtime, HOSTILE).await;
        show(
            &format!("call cost, {label}, echo_echo"),
            &time_calls(&echo, "echo", r#"{"text":"hi"}"#, 3000).await,
        );
        show(
            &format!("call cost, {label}, hostile_count 10M"),
            &time_calls(&hostile, "count", r#"{"n":10000000}"#, 50).await,
        );
    }
}

async fn cancel_latency() {
    let runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
    let hostile = load(&runtime, HOSTILE).await;
    let mut times = Vec::new();
    for _ in 0..50 {
        let cancel = CancellationToken::new();
        let call = spawn_call(&hostile, "spin", "{}", &cancel);
        // Let it spin for a while, so the cancellation finds it mid-loop.
        tokio::time::sleep(Duration::from_millis(30)).await;
        let cancelled_at = Instant::now();
        cancel.cancel();
        let (result, returned_at) = call.await.expect("call task");
        assert!(result.is_err(), "spin cannot finish on its own");
        times.push(returned_at - cancelled_at);
    }
    times.sort();
    show(
        "cancel -> spinning guest stopped (epoch tick 10 ms)",
        &times,
    );
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

async fn memory_per_call() {
    let runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
    let echo = load(&runtime, ECHO).await;
    // Warm up allocator and code pages with one round of the largest size.
    for n in [200, 1, 10, 100, 200] {
        let before = rss_kib();
        let never = CancellationToken::new();
        let calls: Vec<_> = (0..n)
            .map(|_| spawn_call(&echo, "sleep", r#"{"millis":1500}"#, &never))
            .collect();
        tokio::time::sleep(Duration::from_millis(700)).await;
        let during = rss_kib();
        let (running, _) = echo.load();
        for call in calls {
            call.await.expect("call task").0.expect("sleep");
        }
        let after = rss_kib();
        let per_call = (during.saturating_sub(before)) as f64 / n as f64;
        println!(
            "memory, {n:>3} echo_sleep calls in flight ({running} running): RSS {before} -> {during} -> {after} KiB, {per_call:.0} KiB per call"
        );
    }
}

/// `text_count` alone and beside 64 spinning calls, and two long `count`s at once, with
/// `max_running_guests` at `slots` (`None`: the default, one core fewer than the machine).
async fn fairness() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (label, slots) in [
        ("uncapped (before)", Some(1 << 20)),
        ("turns on cores - 1", None),
    ] {
        let runtime = Runtime::new(RuntimeOptions {
            max_running_guests: slots,
            compiler: CompileStrategy::Cranelift,
            ..RuntimeOptions::default()
        })
        .expect("runtime");
        let text = load(&runtime, TEXT).await;
        let hostile = load(&runtime, HOSTILE).await;
        // Each call is a task of its own, handed to the worker pool from outside it, as a
        // server's request handler is woken by its I/O: it waits in the run queues with
        // whatever else is runnable (a loop of calls inside one task would never leave
        // its worker, and `block_on`'s own thread is outside the pool).
        let timed = |n: usize| {
            let text = text.clone();
            async move {
                let args = r#"{"text":"one two three. four five six seven."}"#;
                let mut times = Vec::with_capacity(n);
                let never = CancellationToken::new();
                for _ in 0..n {
                    let start = Instant::now();
                    let call = spawn_call(&text, "count", args, &never);
                    call.await.expect("call task").0.expect("count");
                    times.push(start.elapsed());
                }
                times.sort();
                times
            }
        };
        show(
            &format!("fairness, {label}, text_count alone"),
            &timed(300).await,
        );
        let stop = CancellationToken::new();
        let spinners: Vec<_> = (0..64)
            .map(|_| spawn_call(&hostile, "spin", "{}", &stop))
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        show(
            &format!("fairness, {label}, text_count beside 64 spinning calls"),
            &timed(100).await,
        );
        stop.cancel();
        for spinner in spinners {
            let (outcome, _) = spinner.await.expect("spinner task");
            assert!(outcome.is_err(), "a spinner cannot finish on its own");
        }
        // Two CPU-bound calls of one plugin at once: with a cap below the core count they
        // share the cores' turns, which is the cap's price.
        let started = Instant::now();
        let never = CancellationToken::new();
        let counts: Vec<_> = (0..2)
            .map(|_| spawn_call(&hostile, "count", r#"{"n":300000000}"#, &never))
            .collect();
        for count in counts {
            count.await.expect("count task").0.expect("count");
        }
        println!(
            "fairness, {label}, two hostile_count 300M at once on {cores} cores: {:?}",
            started.elapsed()
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; this harness takes no options.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        call_cost().await;
        cancel_latency().await;
        memory_per_call().await;
        fairness().await;
    });
}
