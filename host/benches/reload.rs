//! How fast an upgrade goes live, and what a swap costs the call path.
//!
//! 1. Reload latency: a real watcher and lifecycle on a temporary plugins folder; the
//!    `flip` plugin's file is replaced (atomic rename) alternately by its 1.0.0 and
//!    2.0.0 builds, and the time from the rename to the first snapshot serving the new
//!    version is measured. A rename into place is acted on at once; the watcher's
//!    debounce (printed apart) only delays changes not known to be complete.
//!    The server is tiered (the default): a new build serves on Winch code, and
//!    Cranelift's is swapped in later without a new snapshot.
//! 2. The load alone (compile + pre-instantiate + `describe`) of the same build, with
//!    Winch and with Cranelift, so the latency can be split into debounce + load + the
//!    rest; and the same load from a warm compilation cache.
//! 3. The call path's cost of a swap: taking the current snapshot (one atomic load and a
//!    reference-count increment), with and without a writer swapping continuously.
//!
//! Run with `cargo bench -p berth-host --bench reload`. Figures are printed, not asserted.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use berth::app::{AdminSocketPlace, ServeOptions};
use berth::bus::Bus;
use berth::config::EnvOverride;
use berth::registry::Registry;
use berth::runtime::{CompileStrategy, PluginSettings, Runtime, RuntimeOptions};
use berth::shutdown::Shutdown;
use berth::state::Served;

const ROUNDS: usize = 20;

fn install(dir: &Path, bytes: &[u8]) {
    let temporary = dir.join(".flip.wasm.partial");
    std::fs::write(&temporary, bytes).expect("write");
    std::fs::rename(&temporary, dir.join("flip.wasm")).expect("rename");
}

fn served_version(served: &Served) -> Option<String> {
    let registry = served.registry();
    let entry = registry.plugins().first()?;
    Some(entry.plugin.manifest().version.clone())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "{what}: n={} mean={mean:.1?} p50={:.1?} p90={:.1?} max={:.1?}",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.9),
        samples[samples.len() - 1],
    );
}

/// Rounds of installing the two builds in turn into a watched folder served with
/// `[runtime] compiler = COMPILER`: the time from each rename to the snapshot serving it,
/// and the server's snapshots.
fn reload_latencies(
    rt: &tokio::runtime::Runtime,
    builds: &[Vec<u8>; 2],
    compiler: &str,
) -> (Vec<Duration>, Arc<Served>) {
    let versions = ["1.0.0", "2.0.0"];
    let dir = tempfile::tempdir().expect("temp dir");
    install(dir.path(), &builds[0]);
    let shutdown = Shutdown::new();
    let setting = EnvOverride::parse("BERTH_RUNTIME__COMPILER", compiler)
        .expect("an override")
        .expect("a valid override");
    let options = ServeOptions {
        plugins_dir: dir.path().to_path_buf(),
        config_file: None,
        env: vec![setting],
        admin_socket: AdminSocketPlace::Off,
        // Every reload compiles: this measures the uncached path.
        compile_cache: None,
        http: None,
        stdio: false,
    };
    let lifecycle = rt
        .block_on(berth::app::prepare(&options, &Bus::new()))
        .expect("prepare");
    {
        let _guard = rt.enter();
        berth::app::watch_plugins(lifecycle.clone(), &shutdown).expect("watch");
    }
    let served = lifecycle.served().clone();
    assert_eq!(served_version(&served).as_deref(), Some(versions[0]));
    let mut latencies = Vec::new();
    for round in 1..=ROUNDS {
        let next = round % 2;
        install(dir.path(), &builds[next]);
        let written = Instant::now();
        while served_version(&served).as_deref() != Some(versions[next]) {
            assert!(
                written.elapsed() < Duration::from_secs(30),
                "reload never happened"
            );
            std::thread::sleep(Duration::from_micros(200));
        }
        latencies.push(written.elapsed());
        // Let the watcher go quiet so each round is one burst.
        std::thread::sleep(Duration::from_millis(300));
    }
    shutdown.trigger();
    (latencies, served)
}

fn main() {
    let builds = [
        std::fs::read(berth_test_artifacts::wasm("berth-test-flip-one")).expect("flip 1.0.0"),
        std::fs::read(berth_test_artifacts::wasm("berth-test-flip-two")).expect("flip 2.0.0"),
    ];
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");

    // 1. Reload latency through the real watcher and lifecycle: tiered (the default), and
    // with Winch alone, whose server has no background compiler busy between rounds.
    println!(
        "watcher debounce (not waited for after a rename into place): {:?}",
        berth::watch::DEBOUNCE
    );
    let mut served = None;
    for (compiler, what) in [
        ("tiered", "reload latency, rename to new version served"),
        (
            "winch",
            "reload latency, Winch alone (no background compiler)",
        ),
    ] {
        let (latencies, snapshots) = reload_latencies(&rt, &builds, compiler);
        report(what, latencies);
        served.get_or_insert(snapshots);
    }
    println!("   target (issue 26): p50 at most 150ms");

    // 2. The load alone, alternating the two builds, ten times.
    let time_loads = |runtime: &Runtime| -> Vec<Duration> {
        (0..10)
            .map(|i| {
                let started = Instant::now();
                rt.block_on(runtime.load_bytes(
                    "flip.wasm",
                    builds[i % 2].clone(),
                    PluginSettings::default(),
                ))
                .expect("flip loads");
                started.elapsed()
            })
            .collect()
    };
    for (compiler, what) in [
        (
            CompileStrategy::Winch,
            "load alone, Winch (what a tiered reload waits for)",
        ),
        (
            CompileStrategy::Cranelift,
            "load alone, Cranelift (compile + pre-instantiate + describe)",
        ),
    ] {
        let runtime = Runtime::new(RuntimeOptions {
            compiler,
            ..RuntimeOptions::default()
        })
        .expect("runtime");
        report(what, time_loads(&runtime));
    }

    // 2b. The same load from a warm compilation cache (a restart, or a rollback to a
    // build seen before): checksum + deserialize instead of compiling. The first round
    // fills the cache.
    let cache_dir = tempfile::tempdir().expect("cache dir");
    let cached = Runtime::new(RuntimeOptions {
        compile_cache: Some(cache_dir.path().to_path_buf()),
        compiler: CompileStrategy::Cranelift,
        ..RuntimeOptions::default()
    })
    .expect("runtime");
    time_loads(&cached);
    report(
        "load from a warm compilation cache (checksum + deserialize + pre-instantiate + describe)",
        time_loads(&cached),
    );

    // 3. Taking a snapshot, quiet and under continuous swaps.
    let entries = served
        .expect("a reload round ran")
        .registry()
        .plugins()
        .iter()
        .map(|e| (**e).clone())
        .collect();
    let snapshot = Arc::new(Served::new(Registry::build(1, entries).0, 100));
    let per_load = |served: &Served| {
        const N: u32 = 2_000_000;
        let started = Instant::now();
        for _ in 0..N {
            std::hint::black_box(served.registry());
        }
        started.elapsed() / N
    };
    println!(
        "snapshot load, no writer: {:?} per call",
        per_load(&snapshot)
    );
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (snapshot, stop) = (snapshot.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                snapshot.publish(Registry::default());
                swaps += 1;
            }
            swaps
        })
    };
    let started = Instant::now();
    let during = per_load(&snapshot);
    stop.store(true, Ordering::Relaxed);
    let swaps = writer.join().expect("writer");
    println!(
        "snapshot load, writer swapping continuously ({:.0} swaps/s): {during:?} per call",
        swaps as f64 / started.elapsed().as_secs_f64()
    );
}
