//! One plugin in each SDK language, side by side (issue 24): the `hello` project that
//! `berth new --lang rust|python|js` writes, built as its README says, then:
//!
//! - **build**: the project's build command with its dependencies already installed (Rust:
//!   the plugin crate after a touch; Python: componentize-py; JS: esbuild + componentize-js);
//! - **size** of the component;
//! - **compile**: loading it with the compilation cache off (Cranelift, pre-instantiation
//!   and `describe`), what the first start after a new build cost before tiering;
//! - **winch**: the same load with Winch, what a new build waits for now (Cranelift's code
//!   follows in the background);
//! - **cached load**: loading it again from a filled compilation cache (checksum +
//!   deserialize + pre-instantiation + `describe`), what every later start costs;
//! - **fresh call**: instantiate + `greet` + teardown, Berth's default for every call, p50
//!   and p99 of 2 000 calls;
//! - **warm call**: `greet` on a kept instance (`warm_instances`), p50 and p99.
//!
//! Run with `cargo bench -p berth-host --bench languages`. Needs `python3` and `npm`; the
//! first run installs componentize-py and the npm packages under `target/`. Figures are
//! printed, never asserted.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use berth::cli::Lang;
use berth::manifest::CallContext;
use berth::runtime::{
    CompileStrategy, InstanceReuse, LoadedPlugin, PluginSettings, Runtime, RuntimeOptions,
};
use berth_test_artifacts::languages;
use tokio_util::sync::CancellationToken;

const CALLS: usize = 2_000;
const LOADS: usize = 5;

fn main() {
    // Outside the workspace: cargo would take the Rust project for a stray member.
    let projects = tempfile::Builder::new()
        .prefix("berth-bench-languages-")
        .tempdir()
        .expect("a folder for the projects");
    let projects = projects.path();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    println!(
        "{:<8} {:>9} {:>9} {:>10} {:>10} {:>12} {:>11} {:>11} {:>10} {:>10}",
        "language",
        "build",
        "size",
        "compile",
        "winch",
        "cached load",
        "fresh p50",
        "fresh p99",
        "warm p50",
        "warm p99"
    );
    for (label, lang) in [
        ("rust", Lang::Rust),
        ("python", Lang::Python),
        ("js", Lang::Js),
    ] {
        let parent = projects.join(label);
        std::fs::create_dir_all(&parent).expect("creating the project's parent");
        let project = berth::commands::new_plugin("hello", lang, &parent, None)
            .unwrap_or_else(|e| panic!("berth new --lang {label}: {e}"));
        let (wasm, build) = build(lang, &project);
        let size = std::fs::metadata(&wasm)
            .expect("the component exists")
            .len();

        let load_with = |compiler| {
            median((0..LOADS).map(|_| {
                let runtime = Runtime::new(RuntimeOptions {
                    compiler,
                    ..RuntimeOptions::default()
                })
                .expect("berth runtime");
                let start = Instant::now();
                load(&rt, &runtime, &wasm);
                start.elapsed()
            }))
        };
        let compile = load_with(CompileStrategy::Cranelift);
        let winch = load_with(CompileStrategy::Winch);
        let cache = tempfile::tempdir().expect("a cache folder");
        let cached = RuntimeOptions {
            compile_cache: Some(cache.path().to_path_buf()),
            compiler: CompileStrategy::Cranelift,
            ..RuntimeOptions::default()
        };
        load(
            &rt,
            &Runtime::new(cached.clone()).expect("berth runtime"),
            &wasm,
        );
        let cached_load = median((0..LOADS).map(|_| {
            let runtime = Runtime::new(cached.clone()).expect("berth runtime");
            let start = Instant::now();
            load(&rt, &runtime, &wasm);
            start.elapsed()
        }));

        let runtime = Runtime::new(RuntimeOptions {
            compiler: CompileStrategy::Cranelift,
            ..RuntimeOptions::default()
        })
        .expect("berth runtime");
        let fresh = load(&rt, &runtime, &wasm);
        let (fresh_p50, fresh_p99) = calls(&rt, &fresh);
        let warm = fresh.with_settings(PluginSettings {
            reuse: InstanceReuse::Shared,
            warm_instances: 1,
            ..PluginSettings::default()
        });
        let (warm_p50, warm_p99) = calls(&rt, &warm);

        println!(
            "{label:<8} {:>9} {:>9} {:>10} {:>10} {:>12} {:>11} {:>11} {:>10} {:>10}",
            format!("{:.1} s", build.as_secs_f64()),
            format!("{:.1} MB", size as f64 / 1e6),
            ms(compile),
            ms(winch),
            ms(cached_load),
            us(fresh_p50),
            us(fresh_p99),
            us(warm_p50),
            us(warm_p99),
        );
    }
}

/// Builds `project` as its README says (dependencies installed first, untimed) and
/// returns the component and how long the timed build took.
fn build(lang: Lang, project: &Path) -> (PathBuf, Duration) {
    match lang {
        Lang::Rust => {
            let target = languages::workspace_root().join("target/new-plugin");
            let cargo = || {
                let mut command = Command::new(env!("CARGO"));
                command
                    .args(["build", "--release", "--target", "wasm32-wasip2", "--quiet"])
                    .current_dir(project)
                    .env("CARGO_TARGET_DIR", &target);
                for (key, _) in std::env::vars_os() {
                    if key
                        .to_str()
                        .is_some_and(berth_test_artifacts::is_outer_build_env)
                    {
                        command.env_remove(key);
                    }
                }
                command
            };
            succeed(&mut cargo());
            let source = project.join("src/lib.rs");
            let text = std::fs::read_to_string(&source).expect("the project's lib.rs");
            std::fs::write(&source, format!("{text}\n")).expect("touching lib.rs");
            let start = Instant::now();
            succeed(&mut cargo());
            (
                target.join("wasm32-wasip2/release/hello.wasm"),
                start.elapsed(),
            )
        }
        Lang::Python | Lang::Js => {
            let (build, language): (fn(&Path) -> PathBuf, _) = match lang {
                Lang::Python => (languages::python_plugin, "python"),
                _ => (languages::js_plugin, "js"),
            };
            let wasm = build(project);
            languages::forget(project, language);
            let start = Instant::now();
            assert_eq!(build(project), wasm);
            (wasm, start.elapsed())
        }
    }
}

fn succeed(command: &mut Command) {
    let output = languages::output_of(command);
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn load(rt: &tokio::runtime::Runtime, runtime: &Runtime, wasm: &Path) -> LoadedPlugin {
    rt.block_on(runtime.load(wasm, PluginSettings::default()))
        .unwrap_or_else(|e| panic!("{} loads: {e}", wasm.display()))
}

/// p50 and p99 of `CALLS` calls of `greet` (after 100 untimed ones).
fn calls(rt: &tokio::runtime::Runtime, plugin: &LoadedPlugin) -> (Duration, Duration) {
    let ctx = CallContext::default();
    let cancel = CancellationToken::new();
    let mut times = Vec::with_capacity(CALLS);
    for i in 0..CALLS + 100 {
        let start = Instant::now();
        let output = rt
            .block_on(plugin.call_tool("greet", r#"{"name":"Ada"}"#, &ctx, &cancel))
            .unwrap_or_else(|e| panic!("greet answers: {e}"));
        let elapsed = start.elapsed();
        std::hint::black_box(output);
        // Lets the spawned teardown of the call's store run, as the server does after
        // answering; untimed, as it is off the answer's path.
        rt.block_on(tokio::task::yield_now());
        if i >= 100 {
            times.push(elapsed);
        }
    }
    times.sort();
    (times[times.len() / 2], times[times.len() * 99 / 100])
}

fn median(times: impl Iterator<Item = Duration>) -> Duration {
    let mut times: Vec<Duration> = times.collect();
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}
