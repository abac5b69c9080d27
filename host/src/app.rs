//! Wiring only: build the parts (config, runtime, registry, handler), start the
//! transport, and stop everything when the client leaves or shutdown is asked for.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{Config, ConfigError};
use crate::plugins::{self, PluginError};
use crate::protocol::BerthServer;
use crate::registry::Registry;
use crate::runtime::{LoadError, Runtime, RuntimeOptions};
use crate::shutdown::Shutdown;
use crate::state::Served;
use crate::transport::stdio;

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

/// Loads the config and every plugin in the folder and builds the first snapshot.
/// Plugins that fail are logged, one line each, and left out; the rest are served.
pub async fn prepare(options: &ServeOptions) -> Result<(Config, Arc<Served>), Error> {
    let config = Config::load(options.config_file.as_deref())?;
    let runtime = Runtime::new(runtime_options(&config))?;
    let report = plugins::load_dir(&runtime, &options.plugins_dir, &config).await?;
    for (file, error) in &report.failed {
        tracing::error!(file = %file.display(), %error, "plugin refused");
    }
    let (registry, conflicts) = Registry::build(1, report.loaded);
    for error in &conflicts {
        tracing::error!(%error, "plugin refused");
    }
    for entry in registry.plugins() {
        let manifest = entry.plugin.manifest();
        tracing::info!(
            plugin = %manifest.name,
            version = %manifest.version,
            contract = %entry.plugin.contract_version(),
            tools = manifest.tools.len(),
            resources = manifest.resources.len(),
            templates = manifest.resource_templates.len(),
            file = %entry.path.display(),
            "plugin loaded"
        );
    }
    tracing::info!(
        plugins = registry.plugins().len(),
        tools = registry.tools().len(),
        refused = report.failed.len() + conflicts.len(),
        dir = %options.plugins_dir.display(),
        "ready"
    );
    Ok((config, Arc::new(Served::new(registry))))
}

/// Serves MCP over this process's stdin and stdout until the client closes stdin or
/// `shutdown` is triggered.
pub async fn run(options: ServeOptions, shutdown: Shutdown) -> Result<(), Error> {
    let (config, served) = prepare(&options).await?;
    let server = BerthServer::new(served, config.protocol.page_size);
    stdio::serve(server, tokio::io::stdin(), tokio::io::stdout(), shutdown)
        .await
        .map_err(Error::from)
}
