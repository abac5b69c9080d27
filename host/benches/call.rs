//! What a plugin call costs: a fresh store, instantiation from the cached `InstancePre`
//! and one `call-tool` of the echo plugin, through the public `LoadedPlugin::call_tool`
//! (so timeout/cancellation plumbing and output capture are included); plus, for scale,
//! what loading the plugin (compile + pre-instantiate + `describe`) costs.
//!
//! Run with `cargo bench -p berth-host --bench call`.

use std::hint::black_box;

use berth::manifest::CallContext;
use berth::runtime::{PluginSettings, Runtime, RuntimeOptions};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio_util::sync::CancellationToken;

const ECHO: &str = "berth-plugin-echo";

fn call(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let runtime = Runtime::new(RuntimeOptions::default()).expect("berth runtime");
    let path = berth_test_artifacts::wasm(ECHO);
    let bytes = std::fs::read(&path).expect("echo component");
    let plugin = rt
        .block_on(runtime.load(&path, PluginSettings::default()))
        .expect("echo loads");
    let ctx = CallContext::default();
    let cancel = CancellationToken::new();

    c.bench_function("call_tool echo (fresh store + instantiate + call)", |b| {
        b.iter(|| {
            let output = rt
                .block_on(plugin.call_tool("echo", r#"{"text":"hi"}"#, &ctx, &cancel))
                .expect("echo answers");
            black_box(output)
        })
    });

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

criterion_group!(benches, call);
criterion_main!(benches);
