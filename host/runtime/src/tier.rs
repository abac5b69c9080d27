//! Tiered compilation: which machine code a plugin's calls run, and the one swap from
//! baseline code to optimised code.
//!
//! A build the compilation cache does not hold is first compiled by wasmtime's baseline
//! compiler, Winch, in about a fifth of Cranelift's time (BENCHMARKS.md: 52 ms against
//! 269 ms for a small Rust plugin), so a new build serves, and a cold start finishes,
//! that much sooner. Winch's code runs about 1.5× slower, so the same bytes are queued
//! for Cranelift on one background thread; when its code is ready it replaces the
//! plugin's [`Code`] in place. Nothing a client sees changes at the swap (same manifest,
//! same handle, no list-changed notice): calls that started on Winch code finish on it,
//! later calls start on Cranelift's, and idle warm instances of the old code are dropped
//! when next picked (`warm.rs`). Cranelift's code also goes into the compilation cache,
//! so the next start of the same build skips both compilers.
//!
//! Why one background thread at the lowest priority, compiling one function at a time:
//! the optimised code is an improvement, never a need, and it must not take the cores
//! from calls, or from the loads of a start-up, which is when most of it is queued. The
//! thread is a std thread rather than a blocking tokio task so that a shutdown never
//! waits for a compilation nobody will use.

use std::sync::mpsc;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;

use arc_swap::ArcSwap;
use wasmtime::Engine;
use wasmtime::component::Linker;

use super::bindings::{CallablePlugin, PrepareFn};
use super::instance::{Machine, describe_error, elapsed_ms};
use super::store::StoreState;
use super::{RuntimeInner, cache};

/// Which compiler turns a build the compilation cache does not hold into machine code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CompileStrategy {
    /// Winch at once, then Cranelift in the background, swapped in when ready.
    #[default]
    Tiered,
    /// Cranelift, before the build serves: what a one-shot command wants, since it would
    /// exit before background code was ready, and that code could never reach the cache.
    Cranelift,
    /// Winch only: the quickest loads, for a machine where plugins are rebuilt more often
    /// than they are called (a plugin author's). Cranelift code from the cache is still
    /// used when the cache has it.
    Winch,
}

/// Which compiler made the code a plugin runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compiler {
    /// wasmtime's baseline compiler, Winch: fast to compile, slower to run. A build runs
    /// on it only until its Cranelift code is ready.
    Winch,
    /// wasmtime's optimising compiler, Cranelift (or its code from the compilation cache).
    Cranelift,
}

impl Compiler {
    /// The compiler's name, for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Compiler::Winch => "winch",
            Compiler::Cranelift => "cranelift",
        }
    }
}

/// One compiled form of a plugin: its pre-instantiated component, and the engine whose
/// stores can instantiate it.
pub(crate) struct Code {
    pub(crate) machine: Machine,
    pub(crate) callable: Arc<dyn CallablePlugin>,
    pub(crate) compiler: Compiler,
}

/// The code every handle of one load runs (settings changes share it), replaced once
/// when optimised code is ready.
pub(crate) struct CodeCell {
    current: ArcSwap<Code>,
}

impl CodeCell {
    pub(crate) fn new(code: Arc<Code>) -> Arc<Self> {
        Arc::new(Self {
            current: ArcSwap::new(code),
        })
    }

    /// The code a call starting now runs.
    pub(crate) fn current(&self) -> Arc<Code> {
        self.current.load_full()
    }
}

/// The baseline tier: Winch's engine and a linker for it. Its instances are allocated on
/// demand: a second instance pool would reserve as much address space again for code
/// that serves only until Cranelift's is ready.
pub(crate) struct Baseline {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<StoreState>,
}

/// A build to compile with Cranelift and swap in.
struct Job {
    /// The plugin's code; gone when every handle of the load is (reloaded, refused,
    /// removed), and then there is nothing to compile for.
    cell: Weak<CodeCell>,
    origin: String,
    bytes: Vec<u8>,
    prepare: PrepareFn,
    queued: Instant,
}

/// The background compiler's queue, started with its first job.
#[derive(Default)]
pub(crate) struct TierUp {
    jobs: OnceLock<mpsc::Sender<Job>>,
}

impl TierUp {
    /// Queues `bytes`, running on Winch code in `cell`, for Cranelift.
    pub(crate) fn queue(
        runtime: &Arc<RuntimeInner>,
        cell: &Arc<CodeCell>,
        origin: &str,
        bytes: Vec<u8>,
        prepare: PrepareFn,
    ) {
        let job = Job {
            cell: Arc::downgrade(cell),
            origin: origin.to_string(),
            bytes,
            prepare,
            queued: Instant::now(),
        };
        let jobs = runtime
            .tier_up
            .jobs
            .get_or_init(|| start_worker(Arc::downgrade(runtime)));
        if jobs.send(job).is_err() {
            // The worker could not start (logged then): the plugin stays on Winch code.
            tracing::debug!(
                plugin = origin,
                "no background compiler; the plugin keeps its baseline code"
            );
        }
    }
}

/// Starts the background compiler thread. It holds the runtime weakly, so a runtime
/// whose last user is gone ends (dropping the sender ends the thread's loop).
fn start_worker(runtime: Weak<RuntimeInner>) -> mpsc::Sender<Job> {
    let (jobs, queue) = mpsc::channel::<Job>();
    let started = std::thread::Builder::new()
        .name("berth-tier-up".into())
        .spawn(move || {
            lower_priority();
            while let Ok(job) = queue.recv() {
                // Upgraded per job and dropped before waiting for the next, so an idle
                // worker never keeps the runtime alive.
                let Some(runtime) = runtime.upgrade() else {
                    break;
                };
                let origin = job.origin.clone();
                // A compiler panic is a wasmtime bug; it must cost one plugin its optimised
                // code, not every later build theirs (as the blocking compile of a load
                // turns a panic into a refused build rather than a dead thread).
                let compiled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    optimise(&runtime, job)
                }));
                if compiled.is_err() {
                    tracing::error!(
                        plugin = %origin,
                        "the background compiler panicked on this plugin; it keeps running on \
                         baseline code"
                    );
                }
            }
        });
    if let Err(error) = started {
        tracing::warn!(%error, "cannot start the background compiler; plugins keep their baseline code");
    }
    jobs
}

/// Compiles one job's bytes with Cranelift (or takes them from the compilation cache,
/// which then stores them) and swaps the result into its plugin.
fn optimise(runtime: &RuntimeInner, job: Job) {
    if job.cell.strong_count() == 0 {
        return;
    }
    let start = Instant::now();
    let compiled = cache::compile_in(
        runtime.cache.as_ref(),
        &runtime.engine,
        &job.origin,
        &job.bytes,
    );
    let code = compiled.and_then(|(component, how)| {
        (job.prepare)(&runtime.linker, &component).map(|callable| (callable, how))
    });
    let (callable, how) = match code {
        Ok(done) => done,
        Err(error) => {
            // Winch compiled it and the contract linked, so this is a Cranelift limit
            // (or a full disk for the cache); the plugin serves on, on Winch code.
            tracing::warn!(
                plugin = %job.origin,
                error = %describe_error(&error, None),
                "Cranelift could not compile a plugin that runs on baseline code; it keeps \
                 running on that (slower) code"
            );
            return;
        }
    };
    let Some(cell) = job.cell.upgrade() else {
        return;
    };
    cell.current.store(Arc::new(Code {
        machine: Machine::new(runtime.engine.clone()),
        callable,
        compiler: Compiler::Cranelift,
    }));
    tracing::debug!(
        plugin = %job.origin,
        compiled = ?how,
        compile_ms = elapsed_ms(start),
        since_load_ms = elapsed_ms(job.queued),
        "optimised code swapped in"
    );
}

/// Puts the calling thread at the lowest scheduling priority (nice 19), so that it runs
/// when the cores have nothing else to do. Linux keeps a nice value per thread.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `gettid` has no preconditions; `setpriority` on the calling thread's
        // own id changes only that thread's nice value and reports failure by return.
        let lowered = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19)
        };
        if lowered != 0 {
            tracing::debug!(
                error = %std::io::Error::last_os_error(),
                "background compiler runs at normal priority"
            );
        }
    }
}
