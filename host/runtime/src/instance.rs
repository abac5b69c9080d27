//! Per-call stores and the call path: every call gets a fresh [`Store`] with its own
//! WASI context (granting nothing), memory cap, epoch deadline and output capture, and
//! runs under the call timeout and the caller's cancellation token.
//!
//! Model: fresh store per call from the cached `InstancePre` (no actor, no state kept
//! between calls), so a trap, timeout or cancellation can never poison a later call and
//! nothing leaks between clients. The one exception is opt-in: a *warm* store keeps its
//! instance for later calls of a plugin the operator declared stateless (`warm.rs` keeps
//! them), and is only reused after a call that ended cleanly. This module does not
//! compile or detect contracts (`loader.rs`) and does not convert WIT types (`bindings/`).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use wasmtime::component::ResourceTable;
use wasmtime::{Store, UpdateDeadline};

use super::capabilities::http::HttpPolicy;
use berth_model::policy::Grants;
use wasmtime_wasi_http::WasiHttpCtx;

use super::RuntimeInner;
use super::capabilities::client::ClientState;
use super::capabilities::config::ConfigState;
use super::capabilities::keyvalue::KeyValueState;
use super::capabilities::log::LogState;
use super::capabilities::progress::ProgressState;
use super::capabilities::resources::ResourceState;
use super::capabilities::stdio::{CapturedOutput, Stream};
use super::cpu::Turn;
use super::limits::{MemoryCap, PluginLimits};
use super::store::StoreState;

/// How a call failed below the WIT level. The two cases are kept apart because they
/// mean different things to an operator: the plugin could not even start, or it ran
/// and crashed.
pub(crate) enum Failure {
    /// A fresh instance could not be created (start function, memory cap, …).
    Instantiate(wasmtime::Error),
    /// The guest trapped, or a host function it called failed fatally.
    Trap(wasmtime::Error),
}

/// Which compiled code a store instantiates: the engine its stores must come from, and
/// an id that tells it from the plugin's other code (Winch's and Cranelift's, `tier.rs`).
#[derive(Clone)]
pub(crate) struct Machine {
    pub(crate) engine: wasmtime::Engine,
    pub(crate) id: u64,
}

impl Machine {
    /// Code compiled for `engine`, with an id no other code has.
    pub(crate) fn new(engine: wasmtime::Engine) -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self { engine, id }
    }
}

/// What a call needs to know about the plugin it runs.
pub(crate) struct CallTarget<'a> {
    /// Value of the `plugin` field on the guest's own log lines and output.
    pub(crate) log_name: &'a Arc<str>,
    /// The plugin's config values.
    pub(crate) config: &'a ConfigState,
    /// What the plugin may reach beyond its sandbox.
    pub(crate) grants: &'a Arc<Grants>,
    /// The limits the call runs under.
    pub(crate) limits: &'a PluginLimits,
}

/// Why a call produced no value (below the WIT level).
pub(crate) enum Stopped {
    /// Instantiation failed or the guest trapped.
    Failed(Failure),
    /// The call timeout elapsed.
    TimedOut(Duration),
    /// The caller's token was cancelled.
    Cancelled,
}

/// The fresh store of one call and the capture of its output.
///
/// Dropping it replays the captured stdout/stderr into the log, whatever the outcome
/// (success, trap, timeout, cancellation, or the caller dropping its future), because a
/// failed call is when the output is most useful. The store goes with it: after a
/// timeout the guest is suspended mid-call and must never run again.
pub(crate) struct PerCall {
    store: Store<StoreState>,
    /// The id of the code the store instantiates ([`Machine`]).
    code: u64,
    stdout: CapturedOutput,
    stderr: CapturedOutput,
    log_name: Arc<str>,
}

impl PerCall {
    /// A store for one call that grants nothing: no files, no environment, no
    /// arguments, no network, stdin closed, stdout/stderr captured.
    pub(crate) fn new(runtime: &RuntimeInner, code: &Machine, target: &CallTarget<'_>) -> Self {
        Self::build(runtime, code, target, false)
    }

    /// A store like [`PerCall::new`]'s that keeps the instance its first call creates,
    /// so [`PerCall::rearm`] can make it serve more calls (see `warm.rs`).
    pub(crate) fn warm(runtime: &RuntimeInner, code: &Machine, target: &CallTarget<'_>) -> Self {
        Self::build(runtime, code, target, true)
    }

    fn build(
        runtime: &RuntimeInner,
        code: &Machine,
        target: &CallTarget<'_>,
        keeps_instance: bool,
    ) -> Self {
        let limits = target.limits;
        let stdout = CapturedOutput::new(limits.max_log_output_bytes);
        let stderr = CapturedOutput::new(limits.max_log_output_bytes);
        let wasi = super::capabilities::wasi::context(
            target.log_name,
            target.grants,
            stdout.clone(),
            stderr.clone(),
        );
        let turn = Turn::new(&runtime.cores, target.log_name);
        let state = StoreState {
            turn: Arc::clone(&turn),
            wasi,
            table: ResourceTable::new(),
            limits: MemoryCap::new(limits.max_memory_bytes),
            log: LogState::new(Arc::clone(target.log_name), limits.max_log_output_bytes),
            config: target.config.clone(),
            progress: ProgressState::default(),
            resources: ResourceState::new(
                Arc::clone(target.log_name),
                runtime.resource_listener.get().cloned(),
            ),
            client: ClientState::default(),
            keyvalue: KeyValueState::new(
                target.log_name,
                target.grants,
                runtime.state_store.get().cloned(),
            ),
            http: WasiHttpCtx::new(),
            http_policy: HttpPolicy::new(target.log_name, target.grants),
            keeps_instance,
            kept: None,
            kept_exports: Vec::new(),
            teardown: Arc::downgrade(&runtime.teardown),
        };
        let mut store = Store::new(&code.engine, state);
        if !runtime.options.limits_off {
            store.limiter(|state| &mut state.limits);
            // Every store starts at deadline 0 and would trap at once; with deadline 1
            // and yield-and-update the guest instead yields to tokio at every tick, which
            // is what lets the timeout and the cancellation token take effect by
            // dropping the call future.
            store.set_epoch_deadline(1);
            // At each tick the guest also takes, keeps or passes on its turn on the cores,
            // so a guest that runs long shares them fairly with other plugins' (`cpu.rs`).
            store.epoch_deadline_callback(move |_| {
                let tick = Arc::clone(&turn).tick();
                Ok(UpdateDeadline::YieldCustom(1, Box::pin(tick)))
            });
        }
        Self {
            store,
            code: code.id,
            stdout,
            stderr,
            log_name: Arc::clone(target.log_name),
        }
    }

    /// Whether this warm store may serve another call: it holds a live instance, its
    /// last call ended without hitting the memory cap or flooding its output, its
    /// memory is at most half the cap (a guest that keeps growing starts afresh before
    /// its growth fails a call) and the guest holds at most [`MAX_KEPT_RESOURCES`]
    /// resource handles. A fresh store never may.
    pub(crate) fn reusable(&mut self) -> bool {
        let memory = &self.store.data().limits;
        self.store.data().kept.is_some()
            && memory.largest() <= memory.max_bytes() / 2
            && self.memory_refused().is_none()
            && self.output_overflow().is_none()
            && self.store.data_mut().table.iter_mut().count() <= MAX_KEPT_RESOURCES
    }

    /// Gives back the call's turn on the cores, if it took one: the guest is done with
    /// them (it returned, or will never run again).
    pub(crate) fn end_turn(&self) {
        self.store.data().turn.end();
    }

    /// Cuts a finished call's ties so the warm store can wait for the next: its output
    /// goes to the log now rather than when the store is dropped, and its log records,
    /// progress reports and client requests stop reaching the last call's client.
    pub(crate) fn settled(&mut self) {
        self.emit_output();
        let state = self.store.data_mut();
        state.log.forward_to(None);
        state.progress.forward_to(None, false);
        state.client.connect(None);
    }

    /// Logs what the guest wrote to stdout and stderr since the last time.
    pub(crate) fn emit_output(&mut self) {
        self.stdout.emit(&self.log_name, Stream::Stdout);
        self.stderr.emit(&self.log_name, Stream::Stderr);
    }

    /// Readies a warm store for its next call: a new epoch deadline, as a fresh store
    /// gets, counted from now.
    pub(crate) fn rearm(&mut self, runtime: &RuntimeInner) {
        if !runtime.options.limits_off {
            self.store.set_epoch_deadline(1);
        }
    }

    /// Connects the call to the client it serves: its log records and progress reports
    /// go to the context's notice sink, and its requests to the context's client.
    pub(crate) fn serve(&mut self, ctx: &berth_model::manifest::CallContext) {
        let state = self.store.data_mut();
        state.log.start_call();
        state.log.forward_to(ctx.notices.clone());
        state.progress.forward_to(ctx.notices.clone(), ctx.progress);
        state.client.connect(ctx.client.clone());
    }

    /// The call's store.
    pub(crate) fn store(&mut self) -> &mut Store<StoreState> {
        &mut self.store
    }

    /// Whether this store runs `code` (a warm store may run code since replaced).
    pub(crate) fn runs(&self, code: &Machine) -> bool {
        self.code == code.id
    }

    /// The memory growth the cap refused during this call, if any, and the cap: a trap
    /// after a refusal is the guest dying of the memory limit.
    pub(crate) fn memory_refused(&self) -> Option<(usize, usize)> {
        let cap = &self.store.data().limits;
        cap.refused().map(|requested| (requested, cap.max_bytes()))
    }

    /// The first stream the guest overflowed (stdout, stderr, or the `log` import), with
    /// what it wrote and the cap.
    pub(crate) fn output_overflow(&self) -> Option<(&'static str, usize, usize)> {
        let stdout = self.stdout.overflow().map(|(w, c)| ("stdout", w, c));
        let stderr = || self.stderr.overflow().map(|(w, c)| ("stderr", w, c));
        let log = || {
            let log = self.store.data().log.overflow();
            log.map(|(w, c)| ("the log", w, c))
        };
        stdout.or_else(stderr).or_else(log)
    }

    /// The last non-empty stderr lines (at most [`STDERR_TAIL_BYTES`]), quoted into trap
    /// messages because that is where a panicking guest explains itself.
    fn stderr_tail(&self) -> Option<String> {
        let tail = self.stderr.tail(STDERR_TAIL_BYTES)?;
        // One line for a one-line message; Rust's hint about RUST_BACKTRACE is dropped
        // because a plugin's environment is not the operator's to set.
        let joined = tail
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with("note: run with `RUST_BACKTRACE"))
            .collect::<Vec<_>>()
            .join(" ");
        (!joined.is_empty()).then_some(joined)
    }

    /// Renders `stopped` for a person, quoting stderr when the guest trapped.
    pub(crate) fn explain(&self, stopped: &Stopped) -> String {
        match stopped {
            Stopped::Failed(Failure::Trap(e)) => describe_error(e, self.stderr_tail().as_deref()),
            Stopped::Failed(Failure::Instantiate(e)) => describe_error(e, None),
            Stopped::TimedOut(limit) => format!("did not finish within {limit:?}"),
            Stopped::Cancelled => "cancelled".to_string(),
        }
    }
}

impl Drop for PerCall {
    fn drop(&mut self) {
        self.emit_output();
    }
}

/// Polls `call` until it finishes, `deadline` passes, or `cancel` fires; `limit` is the
/// call timeout the deadline came from, for the report. Dropping the call future is what
/// stops the guest: it is parked at an epoch yield point.
pub(crate) async fn race<T>(
    call: impl Future<Output = Result<T, Failure>>,
    deadline: tokio::time::Instant,
    limit: Duration,
    cancel: &CancellationToken,
) -> Result<T, Stopped> {
    tokio::select! {
        // Checked first so an already-cancelled request never starts the guest.
        biased;
        () = cancel.cancelled() => Err(Stopped::Cancelled),
        result = tokio::time::timeout_at(deadline, call) => match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(failure)) => Err(Stopped::Failed(failure)),
            Err(_elapsed) => Err(Stopped::TimedOut(limit)),
        },
    }
}

/// Resource handles a warm instance may hold between calls (a stream it keeps open, say).
/// A guest that leaks handles call after call gets a fresh instance once it holds more,
/// so the leak stays bounded instead of growing the table for as long as Berth runs.
const MAX_KEPT_RESOURCES: usize = 16;

/// How many bytes of the end of stderr a trap message quotes: enough for a Rust panic
/// message and its location, short enough for a client-facing error.
const STDERR_TAIL_BYTES: usize = 512;

/// Renders a wasmtime error for a person: the root cause first (e.g. "wasm `unreachable`
/// instruction executed"), then the guest's last stderr words when given (where a Rust
/// panic prints its message), all on one line; the wasm backtrace goes to the debug log.
pub(crate) fn describe_error(error: &wasmtime::Error, stderr_tail: Option<&str>) -> String {
    let backtrace = error.downcast_ref::<wasmtime::WasmBacktrace>();
    // With a backtrace, the chain is just "error while executing at wasm backtrace: …";
    // without one, the chain (outermost first) says where it failed.
    let mut text = if backtrace.is_some() || error.chain().count() == 1 {
        error.root_cause().to_string()
    } else {
        format!("{error:#}")
    };
    if matches!(
        error.downcast_ref::<wasmtime::Trap>(),
        Some(wasmtime::Trap::UnreachableCodeReached)
    ) {
        text.push_str(" (this is how a panic in a Rust plugin ends)");
    }
    if let Some(tail) = stderr_tail {
        text.push_str("; the plugin's stderr ended with: ");
        // One line: the message lands in a single log line and a client-facing error.
        text.push_str(&tail.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    if let Some(backtrace) = backtrace {
        // The backtrace helps the plugin's author, not the client or the operator's log
        // line, so it goes to the debug log only.
        tracing::debug!(target: super::PLUGIN_TARGET, %backtrace, "wasm backtrace of the trap above");
    }
    text
}

/// Milliseconds since `start`, for the `elapsed_ms` log field.
pub(crate) fn elapsed_ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never() -> CancellationToken {
        CancellationToken::new()
    }

    fn soon() -> tokio::time::Instant {
        tokio::time::Instant::now() + Duration::from_secs(1)
    }

    #[tokio::test]
    async fn race_reports_timeout() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, Failure>(())
        };
        let limit = Duration::from_millis(20);
        let deadline = tokio::time::Instant::now() + limit;
        let outcome = race(slow, deadline, limit, &never()).await;
        assert!(matches!(outcome, Err(Stopped::TimedOut(d)) if d == limit));
    }

    #[tokio::test]
    async fn race_prefers_cancellation_and_passes_values() {
        let cancel = CancellationToken::new();
        cancel.cancel();
        let outcome = race(
            async { Ok::<_, Failure>(1) },
            soon(),
            Duration::from_secs(1),
            &cancel,
        )
        .await;
        assert!(matches!(outcome, Err(Stopped::Cancelled)));
        let outcome = race(
            async { Ok::<_, Failure>(2) },
            soon(),
            Duration::from_secs(1),
            &never(),
        )
        .await;
        assert!(matches!(outcome, Ok(2)));
    }
}
