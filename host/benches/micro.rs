//! Micro benchmarks of the call path, in process (criterion):
//!
//! - **instantiate + call**: one `call_tool` of the echo plugin through the public
//!   `LoadedPlugin::call_tool` (fresh store and WASI context, instantiation from the
//!   cached `InstancePre`, one `call-tool`, and the store's drop, which the next
//!   iteration's call runs before it instantiates; the timeout/cancellation wrapper and
//!   output capture included), with the pooling allocator (what `berth` runs) and with
//!   on-demand allocation, so the pool's share is visible, and with a warm instance
//!   (`warm_instances`), which skips instantiation. With pooling the fresh call is also
//!   split where the server splits it: the answer (everything until `call_tool` returns)
//!   and the teardown (the store's drop, which `berth` runs after the answer has gone out),
//!   each timed alone;
//! - **the `versus` call**: `text_count` of one sentence, fresh and on a warm instance (the
//!   sandbox's share, guest work, lowering and lifting, of what the end-to-end bench
//!   measures);
//! - **schema validation**: checking a tool's arguments against its compiled input
//!   schema, as every `tools/call` does before the plugin runs;
//! - **registry lookup**: finding a tool by its qualified name in a registry snapshot
//!   serving the example plugins;
//! - for scale, what loading a plugin (compile + pre-instantiate + `describe`) costs.
//!
//! Run with `cargo bench -p berth-host --bench micro`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use berth::manifest::CallContext;
use berth::registry::{PluginEntry, Registry};
use berth::runtime::{
    Allocation, CompileStrategy, InstanceReuse, LoadedPlugin, PluginSettings, Runtime,
    RuntimeOptions,
};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime as Tokio;
use tokio_util::sync::CancellationToken;

const ECHO: &str = "berth-plugin-echo";
const TEXT: &str = "berth-plugin-text";

fn tokio() -> Tokio {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn load(rt: &Tokio, runtime: &Runtime, package: &str) -> LoadedPlugin {
    rt.block_on(runtime.load(
        &berth_test_artifacts::wasm(package),
        PluginSettings::default(),
    ))
    .unwrap_or_else(|e| panic!("{package} loads: {e}"))
}

fn instantiate_and_call(c: &mut Criterion) {
    let rt = tokio();
    let mut group = c.benchmark_group("instantiate + call-tool echo");
    for (label, max_instances) in [("pooling", Some(1000)), ("on-demand", None)] {
        let runtime = Runtime::new(RuntimeOptions {
            max_instances,
            compiler: CompileStrategy::Cranelift,
            ..RuntimeOptions::default()
        })
        .expect("berth runtime");
        if max_instances.is_some() {
            assert!(
                matches!(runtime.allocation(), Allocation::Pooling { .. }),
                "the pool could not be reserved on this machine"
            );
        }
        let plugin = load(&rt, &runtime, ECHO);
        let echo = Call {
            rt: &rt,
            plugin: &plugin,
            tool: "echo",
            arguments: r#"{"text":"hi"}"#,
        };
        echo.bench(&mut group, label, Timed::Cycle);
        if max_instances.is_some() {
            echo.bench(&mut group, "pooling, answer only", Timed::Answer);
            echo.bench(&mut group, "pooling, teardown only", Timed::Teardown);
            // What an operator's `warm_instances` buys: no instantiation at all.
            let warm = plugin.with_settings(PluginSettings {
                reuse: InstanceReuse::Shared,
                warm_instances: 1,
                ..PluginSettings::default()
            });
            Call {
                plugin: &warm,
                ..echo
            }
            .bench(&mut group, "pooling, warm instance", Timed::Cycle);
        }
    }
    group.finish();
}

/// The tool `versus` calls, fresh (the default) and on a warm instance. Warm, this is the
/// guest's own work (arguments parsed, Unicode segmentation, the result serialized) plus
/// the host's lowering and lifting, which is the sandbox's share of a `versus` call once
/// instantiation is out of the way; fresh adds instantiating a plugin larger than echo
/// and resetting the memory its call dirtied.
///
/// The same on Winch's code (what a new build runs until Cranelift's is swapped in), whose
/// instances are allocated on demand rather than from the pool.
fn text_count(c: &mut Criterion) {
    let rt = tokio();
    let mut group = c.benchmark_group("call-tool text_count (the versus call)");
    for (label, compiler) in [
        ("pooling", CompileStrategy::Cranelift),
        ("winch", CompileStrategy::Winch),
    ] {
        let runtime = Runtime::new(RuntimeOptions {
            compiler,
            ..RuntimeOptions::default()
        })
        .expect("berth runtime");
        text_count_on(&rt, &runtime, &mut group, label);
    }
    group.finish();
}

/// [`text_count`]'s rows for one runtime, labelled `label`.
fn text_count_on(
    rt: &Tokio,
    runtime: &Runtime,
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    label: &str,
) {
    let fresh = load(rt, runtime, TEXT);
    let warm = fresh.with_settings(PluginSettings {
        reuse: InstanceReuse::Shared,
        warm_instances: 1,
        ..PluginSettings::default()
    });
    let count = Call {
        rt,
        plugin: &fresh,
        tool: "count",
        arguments: r#"{"text":"The quick brown fox jumps over the lazy dog."}"#,
    };
    count.bench(group, label, Timed::Cycle);
    count.bench(group, &format!("{label}, answer only"), Timed::Answer);
    Call {
        plugin: &warm,
        ..count
    }
    .bench(group, &format!("{label}, warm instance"), Timed::Cycle);
}

/// What a row of the call benchmarks times.
#[derive(Clone, Copy)]
enum Timed {
    /// The whole call, its store's teardown included: `call_tool` queues the store and
    /// spawns the task that drops it, and the next iteration's call runs either of them
    /// before it instantiates.
    Cycle,
    /// Until `call_tool` returns, which is when the server sends the answer; the store's
    /// teardown runs between iterations, untimed, as the server runs it after the answer.
    Answer,
    /// Only that teardown: the task `call_tool` spawned, run by yielding to it.
    Teardown,
}

/// One tool call, benchmarked the ways [`Timed`] lists.
#[derive(Clone, Copy)]
struct Call<'a> {
    rt: &'a Tokio,
    plugin: &'a LoadedPlugin,
    tool: &'a str,
    arguments: &'a str,
}

impl Call<'_> {
    /// Benchmarks this call as `label`, timing what `timed` says.
    fn bench(
        self,
        group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        label: &str,
        timed: Timed,
    ) {
        let ctx = CallContext::default();
        let cancel = CancellationToken::new();
        let call = || {
            let answer = self
                .plugin
                .call_tool(self.tool, self.arguments, &ctx, &cancel);
            let output = self
                .rt
                .block_on(answer)
                .unwrap_or_else(|e| panic!("{} answers: {e}", self.tool));
            black_box(output);
        };
        // On this current-thread runtime the spawned teardown task runs only inside a
        // `block_on`, so yielding once is what lets it drop the queued store.
        let teardown = || self.rt.block_on(tokio::task::yield_now());
        group.bench_function(label, |b| match timed {
            Timed::Cycle => b.iter(call),
            Timed::Answer | Timed::Teardown => b.iter_custom(|iters| {
                let mut timed_part = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    call();
                    let answered = Instant::now();
                    teardown();
                    timed_part += match timed {
                        Timed::Answer => answered - start,
                        _ => answered.elapsed(),
                    };
                }
                timed_part
            }),
        });
    }
}

fn schema_and_registry(c: &mut Criterion) {
    let rt = tokio();
    let runtime = Runtime::new(RuntimeOptions::default()).expect("berth runtime");
    let entries: Vec<PluginEntry> = berth_test_artifacts::EXAMPLES_WITHOUT_GRANTS
        .iter()
        .map(|package| {
            let path = berth_test_artifacts::wasm(package);
            let checked = rt
                .block_on(berth::plugins::load_checked(
                    &runtime,
                    &path,
                    Default::default(),
                ))
                .unwrap_or_else(|e| panic!("{package} loads: {e}"));
            PluginEntry {
                plugin: checked.plugin,
                path,
                tool_prefix: None,
                schemas: checked.schemas,
            }
        })
        .collect();
    let (registry, refused) = Registry::build(1, entries);
    assert!(refused.is_empty(), "the examples collide: {refused:?}");
    let tools = registry.tools().len();

    let tool = registry
        .tool("text_regex_find")
        .expect("text serves regex_find");
    let valid = serde_json::json!({
        "text": "one two three, four five",
        "pattern": "\\b\\w+\\b",
        "case_insensitive": true,
        "max_matches": 10
    });
    let invalid = serde_json::json!({ "text": 3, "max_matches": "ten" });
    let mut group = c.benchmark_group("schema validation (text_regex_find arguments)");
    group.bench_function("valid", |b| {
        b.iter(|| berth::protocol::validate_arguments(&tool.input.validator, black_box(&valid)))
    });
    group.bench_function("invalid (3 problems described)", |b| {
        b.iter(|| berth::protocol::validate_arguments(&tool.input.validator, black_box(&invalid)))
    });
    group.finish();

    let mut group = c.benchmark_group(format!("registry lookup ({tools} tools)"));
    group.bench_function("tool by qualified name", |b| {
        b.iter(|| registry.tool(black_box("json_format")).is_some())
    });
    group.bench_function("unknown tool", |b| {
        b.iter(|| registry.tool(black_box("json_nothing")).is_none())
    });
    group.finish();
}

fn load_plugin(c: &mut Criterion) {
    let rt = tokio();
    let runtime = Runtime::new(RuntimeOptions::default()).expect("berth runtime");
    let bytes = std::fs::read(berth_test_artifacts::wasm(ECHO)).expect("echo component");
    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.bench_function(
        "load_bytes echo (compile + pre-instantiate + describe)",
        |b| {
            b.iter(|| {
                let loaded = rt
                    .block_on(runtime.load_bytes(
                        "echo.wasm",
                        bytes.clone(),
                        PluginSettings::default(),
                    ))
                    .expect("echo loads");
                black_box(loaded)
            })
        },
    );
    group.finish();
}

criterion_group!(
    benches,
    instantiate_and_call,
    text_count,
    schema_and_registry,
    load_plugin
);
criterion_main!(benches);
