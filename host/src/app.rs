//! Wiring only: build the parts (config, runtime, lifecycle, watcher, handler), start
//! the transport, and stop everything when the client leaves or shutdown is asked for.

use std::path::PathBuf;
use std::sync::Arc;

use crate::bus::Bus;
use crate::config::{Config, ConfigError};
use crate::lifecycle::Lifecycle;
use crate::plugins::PluginError;
use crate::protocol::BerthServer;
use crate::registry::Registry;
use crate::runtime::{LoadError, Runtime, RuntimeOptions};
use crate::shutdown::Shutdown;
use crate::state::Served;
use crate::transport::stdio;
use crate::watch;

/// What `berth serve` needs to start.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The plugins folder.
    pub plugins_dir: PathBuf,
    /// The config file, if any (embedded defaults otherwise).
    pub config_file: Option<PathBuf>,
}

/// Why the server could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The plugins folder could not be read.
    #[error(transparent)]
    Plugins(#[from] PluginError),
    /// The engine could not be created.
    #[error(transparent)]
    Runtime(#[from] LoadError),
    /// The plugins folder cannot be watched.
    #[error(transparent)]
    Watch(#[from] watch::WatchError),
    /// The MCP session failed to start.
    #[error(transparent)]
    Session(#[from] stdio::SessionError),
}

/// The runtime options the config asks for.
pub fn runtime_options(config: &Config) -> RuntimeOptions {
    RuntimeOptions {
        call_timeout: config.runtime.call_timeout(),
        max_memory_bytes: (config.runtime.max_memory_mb as usize) << 20,
        ..RuntimeOptions::default()
    }
}

/// Loads the config and every plugin in the folder and publishes the first snapshot.
/// Plugins that fail are logged, one line each, and left out; the rest are served.
pub async fn prepare(options: &ServeOptions, bus: &Bus) -> Result<(Config, Arc<Lifecycle>), Error> {
    let config = Config::load(options.config_file.as_deref())?;
    let runtime = Runtime::new(runtime_options(&config))?;
    let served = Arc::new(Served::new(Registry::default()));
    let lifecycle = Lifecycle::new(
        runtime,
        config.clone(),
        options.plugins_dir.clone(),
        served,
        bus.clone(),
    );
    let summary = lifecycle.rescan().await?;
    let registry = lifecycle.served().registry();
    tracing::info!(
        plugins = registry.plugins().len(),
        tools = registry.tools().len(),
        refused = summary.refused,
        dir = %options.plugins_dir.display(),
        "ready"
    );
    Ok((config, Arc::new(lifecycle)))
}

/// Runs `on_change` after every tick from `ticks` until shutdown, one at a time (a
/// change arriving meanwhile becomes the next tick). The watcher lives as long as the
/// task.
fn on_ticks<F, Fut>(
    watcher: watch::DirWatcher,
    mut ticks: tokio::sync::mpsc::Receiver<()>,
    shutdown: &Shutdown,
    mut on_change: F,
) where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let stop = shutdown.child_token();
    shutdown.spawn(async move {
        let _watcher = watcher;
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                tick = ticks.recv() => match tick {
                    Some(()) => on_change().await,
                    None => break,
                },
            }
        }
    });
}

/// Rescans the plugins folder after every burst of changes until shutdown.
pub fn watch_plugins(lifecycle: Arc<Lifecycle>, shutdown: &Shutdown) -> Result<(), Error> {
    let (watcher, ticks) = watch::watch_dir(lifecycle.dir(), watch::DEBOUNCE)?;
    on_ticks(watcher, ticks, shutdown, move || {
        let lifecycle = lifecycle.clone();
        async move {
            if let Err(error) = lifecycle.rescan().await {
                tracing::error!(%error, "rescanning the plugins folder failed");
            }
        }
    });
    Ok(())
}

/// Re-reads the config file after every burst of changes until shutdown. A valid file
/// is applied at once; an invalid one is refused with its line and key, and the last
/// good configuration stays in force.
pub fn watch_config(
    file: PathBuf,
    lifecycle: Arc<Lifecycle>,
    shutdown: &Shutdown,
) -> Result<(), Error> {
    let (watcher, ticks) = watch::watch_file(&file, watch::DEBOUNCE)?;
    on_ticks(watcher, ticks, shutdown, move || {
        let (file, lifecycle) = (file.clone(), lifecycle.clone());
        async move {
            match Config::load(Some(&file)) {
                Ok(config) => {
                    if let Err(error) = lifecycle.apply_config(config).await {
                        tracing::error!(%error, "applying the new config failed");
                    }
                }
                Err(error) => {
                    tracing::error!(file = %file.display(), %error, "config rejected; the last good configuration stays in force");
                    let error = error.to_string();
                    lifecycle
                        .bus()
                        .publish(crate::bus::Event::ConfigRejected { error });
                }
            }
        }
    });
    Ok(())
}

/// Serves MCP over this process's stdin and stdout until the client closes stdin or
/// `shutdown` is triggered.
pub async fn run(options: ServeOptions, shutdown: Shutdown) -> Result<(), Error> {
    let bus = Bus::new();
    let (config, lifecycle) = prepare(&options, &bus).await?;
    watch_plugins(lifecycle.clone(), &shutdown)?;
    if let Some(file) = &options.config_file {
        watch_config(file.clone(), lifecycle.clone(), &shutdown)?;
    }
    let server = BerthServer::new(lifecycle.served().clone(), bus, config.protocol.page_size);
    stdio::serve(server, tokio::io::stdin(), tokio::io::stdout(), shutdown)
        .await
        .map_err(Error::from)
}
