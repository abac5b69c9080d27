//! The shared wasmtime [`Engine`] and its epoch ticker.
//!
//! One engine serves every plugin: compiled code, type information, the instance pool
//! and the epoch counter are engine-wide, and the ticker advances that counter so guests
//! yield (and can be timed out or cancelled) while they run. With tiering a second,
//! Winch engine runs new builds until Cranelift's code is ready (`tier.rs`); the ticker
//! advances both. This module does not create
//! stores or apply per-call limits; `instance.rs` does.

use std::sync::mpsc;
use std::time::Duration;

use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
    Strategy,
};

use super::{CompileStrategy, LoadError, RuntimeOptions};

/// How the engine allocates instances, as built (pooling can fall back to on-demand).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    /// Fresh mappings per instance, released when the call's store is dropped.
    OnDemand,
    /// Slots reserved once and reused, for at most this many running instances.
    Pooling {
        /// Instances that may be alive at once across all plugins.
        max_instances: u32,
        /// Whether a slot is reset through the kernel's page map (see [`pooling`]).
        page_map: bool,
    },
}

/// Largest linear memory a plugin may be given (`max_memory_mb` tops out at 4096): the
/// whole 32-bit address space, which is also what a slot reserves anyway (see
/// [`pooling`]).
const MAX_MEMORY_BYTES: usize = 4 << 30;

/// Builds the engine every plugin shares, and says how it allocates instances.
///
/// With `options.max_instances` set, the engine uses wasmtime's pooling allocator. If the
/// pool's address space cannot be reserved (a `ulimit -v`, say) the engine is built
/// with on-demand allocation instead and a warning says why: slower instantiation is
/// better than no server.
pub(crate) fn build_engine(options: &RuntimeOptions) -> Result<(Engine, Allocation), LoadError> {
    let mut config = base_config(options)?;
    config.cranelift_opt_level(OptLevel::Speed);
    // With tiering, Cranelift compiles in the background, one function at a time on a
    // thread of its own (`tier.rs`), and must not spread over every core.
    config.parallel_compilation(options.compiler != CompileStrategy::Tiered);
    if let Some(max_instances) = options.max_instances {
        let page_map = page_map_usable();
        let mut pooled = config.clone();
        pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(
            max_instances,
            page_map,
        )));
        match Engine::new(&pooled) {
            Ok(engine) => {
                let allocation = Allocation::Pooling {
                    max_instances,
                    page_map,
                };
                return Ok((engine, allocation));
            }
            Err(error) => tracing::warn!(
                max_instances,
                error = %format!("{error:#}"),
                "cannot reserve the instance pool; allocating instances on demand (slower \
                 calls); lower runtime.max_instances or raise the address-space limit"
            ),
        }
    }
    let engine = Engine::new(&config).map_err(|e| LoadError::Engine(format!("{e:#}")))?;
    Ok((engine, Allocation::OnDemand))
}

/// Builds the baseline tier's engine (Winch; see `tier.rs`), or `None` when the strategy
/// is Cranelift alone or Winch cannot run here: plugins are then compiled by Cranelift.
pub(crate) fn build_baseline_engine(options: &RuntimeOptions) -> Option<Engine> {
    if options.compiler == CompileStrategy::Cranelift {
        return None;
    }
    let mut config = base_config(options).ok()?;
    config.strategy(Strategy::Winch);
    // Winch leaves the trampolines between host and guest to Cranelift; unoptimised they
    // compile faster (a cold start of 50 plugins: 2.12 s → 1.94 s) and cost a call next
    // to nothing, for the moments a build runs on Winch code.
    config.cranelift_opt_level(OptLevel::None);
    match Engine::new(&config) {
        Ok(engine) => Some(engine),
        Err(error) => {
            tracing::info!(
                error = %format!("{error:#}"),
                "the baseline compiler (Winch) is not available here; new builds wait for Cranelift"
            );
            None
        }
    }
}

/// Core instances per component instance the pool allows on average.
pub(super) const CORE_INSTANCES_PER_COMPONENT: u32 = 16;
/// Tables per component instance the pool allows on average.
pub(super) const TABLES_PER_COMPONENT: u32 = 8;
/// Elements per table: Python (componentize-py) guests have CPython's large function
/// table.
const TABLE_ELEMENTS: usize = 100_000;
/// Bytes of each linear memory and table reset in place rather than decommitted after a
/// call (see [`pooling`]).
const KEEP_RESIDENT_BYTES: usize = 64 << 10;

/// The pool for `max_instances` running plugin instances.
///
/// Why pooling: every call instantiates its plugin afresh (no state survives a call),
/// so instantiation is on the hot path. The pool keeps each linear memory's reservation,
/// its copy-on-write image mapping and the guest's async stack between calls, so an
/// instantiation is a slot pick and a few resets instead of several `mmap`/`munmap`
/// pairs. A slot that was used by the same module before is picked first.
///
/// Sizing: one call holds one component instance and one async stack; a component built
/// by `wasm-component-ld` holds one linear memory and several small core instances and
/// tables (its own module, the WASI adapter and the shims between them: 3 core instances
/// and 2 tables for an SDK plugin, as `runtime::tests` checks; a Python guest links
/// more). The per-component ratios below leave room for those. Each memory slot reserves 4 GiB
/// plus guards of address space (what wasmtime reserves per 32-bit memory anyway, so
/// bounds checks stay elided); nothing is resident until a guest touches it.
/// `max_memory_mb` stays enforced per plugin by the store's limiter; the pool's cap is
/// only the 4 GiB ceiling of the config range.
fn pooling(max_instances: u32, page_map: bool) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(max_instances)
        .total_stacks(max_instances)
        .total_memories(max_instances)
        .total_core_instances(max_instances.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
        .total_tables(max_instances.saturating_mul(TABLES_PER_COMPONENT))
        .max_memory_size(MAX_MEMORY_BYTES)
        .table_elements(TABLE_ELEMENTS)
        // Multi-memory and multi-table modules are valid wasm; refusing them here would
        // make a plugin that loads on-demand fail to load pooled.
        .max_memories_per_module(4)
        .max_tables_per_module(8);
    // Resetting a slot for its next call. With the kernel's page map (`PAGEMAP_SCAN`;
    // `page_map_usable` says when it is safe to use) wasmtime asks which pages
    // the call dirtied and copies back only those, up to the keep-resident size,
    // instead of copying that whole size back and `madvise`-ing the rest of the
    // memory, whose TLB shootdowns and refaults dominated a call in profiles. The pages
    // stay resident, so the next call in the slot (the pool prefers a slot the same
    // plugin used) faults nothing in. Measured with the micro bench: a fresh echo call
    // took 25 µs with the 64 KiB keep-resident alone and 12 µs with the page map too;
    // keep-resident sizes from 64 KiB to 4 MiB made no difference, and the `versus`
    // plugin's call dirties less than 64 KiB (no `madvise` per call).
    pool.linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_BYTES);
    if page_map {
        pool.pagemap_scan(Enabled::Yes);
    }
    pool
}

/// Whether slot resets may use the kernel's page map: the kernel has it (Linux 6.7+)
/// and no swap area is active.
///
/// wasmtime 48 resets only the dirty pages the page map reports as present, so a dirty
/// page swapped out before its slot is reset would keep the last call's data for the
/// next call in that slot (bytecodealliance/wasmtime#14357). Without swap no page can
/// be swapped out, so the page map is used only when `/proc/swaps` lists no swap area
/// at start-up (and [`EpochTicker`] keeps checking).
fn page_map_usable() -> bool {
    if !PoolingAllocationConfig::is_pagemap_scan_available() {
        return false;
    }
    if swap_may_be_active() {
        tracing::info!(
            "swap is active: instance slots are reset without the kernel's page map, which \
             makes fresh calls slower; turn swap off and restart Berth for the faster reset"
        );
        return false;
    }
    true
}

/// Whether a swap area may be active: listed in `/proc/swaps`, or that file unreadable.
fn swap_may_be_active() -> bool {
    std::fs::read_to_string("/proc/swaps").map_or(true, |swaps| !no_swap_active(&swaps))
}

/// Whether the text of `/proc/swaps` lists no swap area (only its header line).
fn no_swap_active(swaps: &str) -> bool {
    swaps.lines().skip(1).all(|line| line.trim().is_empty())
}

/// Engine settings that do not depend on the allocation strategy.
fn base_config(options: &RuntimeOptions) -> Result<Config, LoadError> {
    if options.epoch_tick.is_zero() {
        return Err(LoadError::Engine(
            "the epoch tick must be longer than zero (it paces how often guests yield)".into(),
        ));
    }
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        // Guests are interrupted by epochs, not fuel: an epoch check is a load and a
        // compare per loop header, and the ticker thread does the counting.
        // (Off only for the limits benchmark's baseline.)
        .epoch_interruption(!options.limits_off)
        // Concurrency support is only needed for WASI p3 / async components, and with
        // it on every call pays for extra store bookkeeping (~2.6x on `call_async`).
        .concurrency_support(false);
    Ok(config)
}

/// Advances the engine's epoch every tick on a dedicated thread, for as long as this
/// value lives.
///
/// The thread owns the receiving end of a channel and this value owns the sender;
/// dropping it disconnects the channel, which wakes the thread at once and ends it. A
/// std thread (rather than a tokio task) keeps ticking even when every runtime worker
/// is busy, which is exactly when a runaway guest must be interrupted.
#[derive(Debug)]
pub(crate) struct EpochTicker {
    _stop: mpsc::Sender<()>,
}

/// How often the ticker looks for swap turned on after start-up (see [`EpochTicker`]).
const SWAP_CHECK_INTERVAL: Duration = Duration::from_secs(10);

impl EpochTicker {
    /// Starts ticking `engines` (every tier's) every `tick`. With `watch_swap` (slots are reset through
    /// the page map) it also reads `/proc/swaps` every [`SWAP_CHECK_INTERVAL`] and logs
    /// an error, once, if swap was turned on since start-up: the reset strategy cannot
    /// change while instances live, so the operator has to restart Berth.
    pub(crate) fn start(
        engines: Vec<Engine>,
        tick: Duration,
        watch_swap: bool,
    ) -> Result<Self, LoadError> {
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("berth-epoch".into())
            .spawn(move || {
                let mut watch_swap = watch_swap;
                let mut last_check = std::time::Instant::now();
                // Only a timeout means "tick again"; a disconnect means the runtime is gone.
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
                    for engine in &engines {
                        engine.increment_epoch();
                    }
                    if watch_swap && last_check.elapsed() >= SWAP_CHECK_INTERVAL {
                        last_check = std::time::Instant::now();
                        if swap_may_be_active() {
                            tracing::error!(
                                "swap was turned on after Berth started, and instance slots \
                                 are reset through the kernel's page map, which misses \
                                 written pages that were swapped out: a call could see the \
                                 last call's memory; restart Berth (it then resets slots \
                                 without the page map) or turn swap off"
                            );
                            watch_swap = false;
                        }
                    }
                }
                tracing::debug!("epoch ticker stopped");
            })
            .map_err(|e| LoadError::Engine(format!("cannot start the epoch ticker thread: {e}")))?;
        Ok(Self { _stop: stop })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_zero_tick() {
        let options = RuntimeOptions {
            epoch_tick: Duration::ZERO,
            ..RuntimeOptions::default()
        };
        assert!(matches!(build_engine(&options), Err(LoadError::Engine(_))));
    }

    #[test]
    fn the_page_map_is_used_only_without_swap() {
        let header = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
        assert!(no_swap_active(header));
        assert!(no_swap_active(""));
        let with_swap = format!("{header}/swapfile   file   2097148   0   -2\n");
        assert!(!no_swap_active(&with_swap));
        let zram = format!("{header}/dev/zram0   partition   8388604   1024   100\n");
        assert!(!no_swap_active(&zram));
    }

    #[test]
    fn builds_the_default_engine() {
        build_engine(&RuntimeOptions::default()).expect("default engine");
    }
}
