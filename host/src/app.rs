//! Wiring only: build the parts (config, runtime, lifecycle, watcher, handler), start
//! the transports, and stop everything when the stdio client leaves or shutdown is
//! asked for, letting calls in flight finish within the grace period.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::bus::{Bus, Event};
use crate::config::{Config, ConfigError, EnvOverride};
use crate::lifecycle::Lifecycle;
use crate::plugins::PluginError;
use crate::protocol::BerthServer;
use crate::registry::Registry;
use crate::runtime::{LoadError, Runtime, RuntimeOptions};
use crate::shutdown::Shutdown;
use crate::state::Served;
use crate::transport::{http, stdio};
use crate::watch;
use berth_state::cache::ResultCache;
use tokio::sync::broadcast;

/// What `berth serve` needs to start.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The plugins folder.
    pub plugins_dir: PathBuf,
    /// The config file, if any (embedded defaults otherwise).
    pub config_file: Option<PathBuf>,
    /// `BERTH_<SECTION>__<KEY>` overrides, layered over the file (and re-applied over
    /// every new version of it).
    pub env: Vec<EnvOverride>,
    /// Where the admin socket listens, if anywhere.
    pub admin_socket: AdminSocketPlace,
    /// Where compiled plugins are kept between runs; `None`: compile on every load.
    pub compile_cache: Option<PathBuf>,
    /// Serve Streamable HTTP here (wins over `[http] listen`).
    pub http: Option<SocketAddr>,
    /// Serve stdio too when HTTP is on (without HTTP, stdio is always served).
    pub stdio: bool,
}

/// Where `berth serve` puts its admin socket (see [`crate::admin`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminSocketPlace {
    /// `<runtime dir>/<pid>.sock`, where `berth plugins list` looks; a failure to set it
    /// up is logged and the server runs without it.
    Auto,
    /// No admin socket.
    Off,
    /// This path; a failure to set it up stops start-up.
    Path(PathBuf),
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
    /// The admin socket asked for could not be set up.
    #[error(transparent)]
    Admin(#[from] crate::admin::AdminError),
    /// The MCP session failed to start.
    #[error(transparent)]
    Session(#[from] stdio::SessionError),
    /// The HTTP transport could not start.
    #[error(transparent)]
    Http(#[from] http::HttpError),
    /// `[state]` or `[cache]` names a store that cannot be used (a Redis URL variable
    /// not set).
    #[error("plugin state: {0}")]
    State(String),
    /// The metrics recorder could not be installed.
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
}

/// Loads the config and every plugin in the folder and publishes the first snapshot.
/// Plugins that fail are logged, one line each, and left out; the rest are served.
pub async fn prepare(options: &ServeOptions, bus: &Bus) -> Result<Arc<Lifecycle>, Error> {
    let config = Config::load(options.config_file.as_deref(), &options.env)?;
    prepare_with(config, options, bus).await
}

/// [`prepare`] with the config already loaded.
async fn prepare_with(
    config: Config,
    options: &ServeOptions,
    bus: &Bus,
) -> Result<Arc<Lifecycle>, Error> {
    // Every limit is per plugin and travels with its settings (`Config::limits_for`);
    // only the pool's size shapes the engine, so only it needs a restart to change.
    let runtime = Runtime::new(RuntimeOptions {
        compile_cache: options.compile_cache.clone(),
        max_instances: Some(config.runtime.max_instances),
        max_running_guests: config.runtime.max_running_guests,
        compiler: config.runtime.compiler.runtime(),
        instance_idle: std::time::Duration::from_secs(config.runtime.instance_idle_secs),
        ..RuntimeOptions::default()
    })?;
    runtime.use_state_store(
        crate::plugin_state::store(&config, options.config_file.as_deref())
            .map_err(Error::State)?,
    );
    let cache = result_cache(&config, bus)?;
    // A plugin's "this resource changed" drops the cached reads of it, and becomes a bus
    // fact; each session decides whether it subscribed and whether that plugin serves
    // the URI.
    let changes = bus.clone();
    let stale = Arc::clone(&cache);
    runtime.on_resource_changed(Arc::new(move |plugin: &str, uri: &str| {
        stale.invalidate(plugin, uri);
        changes.publish(Event::ResourceChanged {
            plugin: plugin.to_string(),
            uri: uri.to_string(),
        });
    }));
    let served = Arc::new(Served::new(Registry::default(), config.protocol.page_size));
    served.set_cache(cache);
    let lifecycle = Arc::new(Lifecycle::new(
        runtime,
        config.clone(),
        options.plugins_dir.clone(),
        served,
        bus.clone(),
    ));
    // Builds of the folder's plugins, for roll-backs from the console: kept in the user's
    // cache like compiled code, so `--compile-cache off` (nothing written to the cache)
    // keeps none either.
    if options.compile_cache.is_some()
        && let Some(dir) = crate::runtime::cache::berth_cache_dir()
    {
        lifecycle.keep_history(dir.join("history"));
    }
    let unfetched =
        crate::sources::fetch(&config, options.config_file.as_deref(), &lifecycle).await;
    let summary = lifecycle.rescan().await?;
    let registry = lifecycle.served().registry();
    tracing::info!(
        plugins = registry.plugins().len(),
        tools = registry.tools().len(),
        refused = summary.refused + unfetched,
        dir = %options.plugins_dir.display(),
        "ready"
    );
    Ok(lifecycle)
}

/// The result cache `[cache]` describes. Its memory is freed as plugins are reloaded,
/// unloaded or reconfigured (their old answers are unreachable then: keys carry each
/// plugin's build and settings), by a task that follows the bus for as long as it runs.
fn result_cache(config: &Config, bus: &Bus) -> Result<Arc<ResultCache>, Error> {
    let url = config.cache.redis_url().map_err(Error::State)?;
    let timeout = Duration::from_millis(config.cache.timeout_ms);
    let cache = ResultCache::new(url.as_deref().map(|url| (url, timeout)))
        .map_err(|e| Error::State(e.to_string()))?;
    let mut facts = bus.subscribe_facts();
    let weak = Arc::downgrade(&cache);
    tokio::spawn(async move {
        loop {
            let fact = facts.recv().await;
            let Some(cache) = weak.upgrade() else { break };
            match fact {
                Ok(Event::PluginReloaded { plugin, .. } | Event::PluginUnloaded { plugin, .. }) => {
                    cache.forget_plugin(&plugin);
                }
                Ok(Event::ConfigApplied) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    cache.forget_all();
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    Ok(cache)
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
    env: Vec<EnvOverride>,
    lifecycle: Arc<Lifecycle>,
    shutdown: &Shutdown,
) -> Result<(), Error> {
    let (watcher, ticks) = watch::watch_file(&file, watch::DEBOUNCE)?;
    let env = Arc::new(env);
    on_ticks(watcher, ticks, shutdown, move || {
        let (file, env, lifecycle) = (file.clone(), env.clone(), lifecycle.clone());
        async move {
            match Config::load(Some(&file), &env) {
                Ok(config) => {
                    // Sources first, so the rescan that applying the config starts sees
                    // the files they name now.
                    crate::sources::fetch(&config, Some(&file), &lifecycle).await;
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

/// Serves the pins of `berth.lock` (beside `config_file`) as they change, e.g. after
/// `berth plugins update`: the sources are fetched again and the folder rescanned, so a
/// new pin swaps in like a file upgrade.
pub fn watch_lock(
    config_file: PathBuf,
    lifecycle: Arc<Lifecycle>,
    shutdown: &Shutdown,
) -> Result<(), Error> {
    let lock = berth_distribution::Lock::path_for(&config_file);
    let (watcher, ticks) = watch::watch_file(&lock, watch::DEBOUNCE)?;
    on_ticks(watcher, ticks, shutdown, move || {
        let (file, lifecycle) = (config_file.clone(), lifecycle.clone());
        async move {
            crate::sources::fetch(&lifecycle.config(), Some(&file), &lifecycle).await;
            if let Err(error) = lifecycle.rescan().await {
                tracing::error!(%error, "serving the new pins failed");
            }
        }
    });
    Ok(())
}

/// Serves MCP over stdio, Streamable HTTP or both, sharing one registry, until the
/// stdio client closes stdin or `shutdown` is triggered (SIGTERM, Ctrl-C). Then intake
/// stops, calls in flight get `[http] shutdown_grace_ms` to finish, and sessions end.
pub async fn run(options: ServeOptions, shutdown: Shutdown) -> Result<(), Error> {
    // A config that cannot serve HTTP is refused before plugins are compiled.
    let config = Config::load(options.config_file.as_deref(), &options.env)?;
    if let Some(addr) = http::listen_addr(options.http, &config) {
        http::preflight(addr, &config.http)?;
    }
    let metrics = crate::metrics::Metrics::install()?;
    let bus = Bus::new();
    let lifecycle = prepare_with(config, &options, &bus).await?;
    crate::metrics::spawn_bus_recorder(&bus, lifecycle.served().clone(), &shutdown);
    metrics.spawn_upkeep(&shutdown);
    watch_plugins(lifecycle.clone(), &shutdown)?;
    // Plugin event hooks must not learn host paths: the folder and the config file
    // are redacted from what they are shown.
    let redactor = crate::hooks::PathRedactor::new(
        std::iter::once(options.plugins_dir.clone()).chain(options.config_file.clone()),
    );
    crate::hooks::spawn(&bus, lifecycle.served().clone(), redactor, &shutdown);
    if let Some(file) = &options.config_file {
        watch_config(
            file.clone(),
            options.env.clone(),
            lifecycle.clone(),
            &shutdown,
        )?;
        watch_lock(file.clone(), lifecycle.clone(), &shutdown)?;
    }
    crate::sources::spawn_poller(lifecycle.clone(), options.config_file.clone(), &shutdown);
    if let Some(url) = lifecycle
        .config()
        .cluster
        .redis_url()
        .map_err(Error::State)?
    {
        let cache = lifecycle.served().cache().cloned();
        crate::fanout::spawn(&url, &bus, cache, &shutdown).map_err(Error::State)?;
    }
    // Held until the end: dropping it removes the socket file.
    let _admin = admin_socket(&options.admin_socket, &lifecycle, &shutdown).await?;
    let server = BerthServer::new(lifecycle.served().clone(), bus);

    let http_addr = http::listen_addr(options.http, &lifecycle.config());
    let http_server = match http_addr {
        Some(addr) => {
            Some(http::start(addr, lifecycle.clone(), server.clone(), metrics, &shutdown).await?)
        }
        None => None,
    };
    let stdio_ended = tokio_util::sync::CancellationToken::new();
    let stdio_session = (options.stdio || http_addr.is_none()).then(|| {
        let (ended, shutdown) = (stdio_ended.clone(), shutdown.clone());
        shutdown.clone().spawn(async move {
            let (input, output) = stdio::process_stdio();
            let result = stdio::serve(server, input, output, shutdown).await;
            ended.cancel();
            result
        })
    });

    // With stdio the process belongs to the client that launched it: when it leaves
    // (closes stdin), Berth stops, as it does on a signal.
    tokio::select! {
        _ = shutdown.triggered() => {}
        _ = stdio_ended.cancelled() => {}
    }
    shutdown.trigger();
    let grace = Duration::from_millis(lifecycle.config().http.shutdown_grace_ms);
    let deadline = tokio::time::Instant::now() + grace;
    let running = lifecycle.served().calls().running();
    if running > 0 {
        tracing::info!(
            running,
            grace_ms = grace.as_millis() as u64,
            "shutting down: waiting for calls in flight"
        );
    }
    let left = lifecycle.served().calls().wait_idle(grace).await;
    if left > 0 {
        tracing::warn!(
            left,
            "grace period over; cancelling the calls still running"
        );
    }
    // A finished call's answer is still on its way out: let HTTP responses complete.
    if let Some(http) = &http_server
        && !http
            .requests_done(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
    {
        tracing::warn!("grace period over; ending HTTP requests still being answered");
    }
    shutdown.end_sessions();
    let result = match stdio_session {
        Some(session) => session.await.unwrap_or_else(|error| Err(error.into())),
        None => Ok(()),
    };
    shutdown.complete().await;
    tracing::info!("shut down");
    result.map_err(Error::from)
}

/// Sets up the admin socket `place` asks for.
async fn admin_socket(
    place: &AdminSocketPlace,
    lifecycle: &Arc<Lifecycle>,
    shutdown: &Shutdown,
) -> Result<Option<crate::admin::AdminSocket>, Error> {
    use crate::admin::AdminSocket;
    match place {
        AdminSocketPlace::Off => Ok(None),
        AdminSocketPlace::Path(path) => Ok(Some(
            AdminSocket::bind(path.clone(), lifecycle.clone(), shutdown).await?,
        )),
        AdminSocketPlace::Auto => {
            let path = crate::admin::default_socket(std::process::id());
            match AdminSocket::bind(path, lifecycle.clone(), shutdown).await {
                Ok(socket) => Ok(Some(socket)),
                Err(error) => {
                    tracing::warn!(%error, "running without an admin socket; `berth plugins list` will not see this server");
                    Ok(None)
                }
            }
        }
    }
}
