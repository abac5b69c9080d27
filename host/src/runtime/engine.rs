//! The shared wasmtime [`Engine`] and its epoch ticker.
//!
//! One engine serves every plugin: compiled code, type information and the epoch
//! counter are engine-wide, and the ticker advances that counter so guests yield (and
//! can be timed out or cancelled) while they run. This module does not create stores or
//! apply per-call limits; `instance.rs` does.

use std::sync::mpsc;
use std::time::Duration;

use wasmtime::{Config, Engine, OptLevel};

use super::{LoadError, RuntimeOptions};

/// Builds the engine every plugin shares.
pub(crate) fn build_engine(options: &RuntimeOptions) -> Result<Engine, LoadError> {
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
        .concurrency_support(false)
        .cranelift_opt_level(OptLevel::Speed);
    // Note: the default on-demand allocator is kept on purpose. The pooling allocator
    // saves microseconds per instantiation but caps concurrent instances and per-module
    // shapes engine-wide (which large Python/JS guests can exceed) and reserves
    // terabytes of address space up front; MCP calls are milliseconds apart anyway.
    Engine::new(&config).map_err(|e| LoadError::Engine(format!("{e:#}")))
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

impl EpochTicker {
    /// Starts ticking `engine` every `tick`.
    pub(crate) fn start(engine: Engine, tick: Duration) -> Result<Self, LoadError> {
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("berth-epoch".into())
            .spawn(move || {
                // Only a timeout means "tick again"; a disconnect means the runtime is gone.
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
                    engine.increment_epoch();
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
    fn builds_the_default_engine() {
        build_engine(&RuntimeOptions::default()).expect("default engine");
    }
}
