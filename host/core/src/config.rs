//! Typed, validated configuration from three layers, later ones winning: the embedded
//! defaults, an optional TOML file, and `BERTH_<SECTION>__<KEY>` environment variables.
//! Loading reads and checks; it does not apply anything.
//!
//! Unknown keys are errors rather than warnings, so a typo (`call_timout_ms`) is caught
//! at start-up with its line and column (or the variable's name) instead of silently
//! running on defaults.
//!
//! Environment overrides are hand-written rather than taken from a layering crate
//! because each one must be checked on its own: a bad variable is refused by name, with
//! the same rules and messages as the file, and the key paths must reach into
//! `[plugins.NAME.config]` tables whose keys no crate can know in advance.

pub mod auth;
pub mod rate_limit;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The embedded defaults, documented in place.
pub const DEFAULT_CONFIG: &str = include_str!("default-config.toml");

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has an unknown or mistyped key.
    #[error("config file {path} is invalid: {message}")]
    Parse {
        /// The file (or `<embedded defaults>`).
        path: PathBuf,
        /// The parser's message, with line, column and key.
        message: String,
    },
    /// An environment override is malformed or breaks a rule.
    #[error("environment variable {var}: {problem}")]
    Env {
        /// The variable's name.
        var: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A value is out of its allowed range.
    #[error("config file {path}: `{key}` {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The dotted key.
        key: String,
        /// What is wrong and what is allowed.
        problem: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Limits applied to every plugin call.
    #[serde(default)]
    pub runtime: RuntimeConfig,
    /// How MCP lists are served.
    #[serde(default)]
    pub protocol: ProtocolConfig,
    /// Per-plugin settings keyed by plugin name.
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginConfig>,
    /// The Streamable HTTP transport: where it listens and what guards it.
    #[serde(default)]
    pub http: HttpConfig,
    /// What each role of an authenticated HTTP caller may use, keyed by role name.
    #[serde(default)]
    pub roles: BTreeMap<String, crate::access::RoleConfig>,
    /// How plugins with a `source` are fetched and kept.
    #[serde(default)]
    pub distribution: DistributionConfig,
    /// Where plugins' `wasi:keyvalue` state is kept.
    #[serde(default)]
    pub state: StateConfig,
    /// The result cache's shared tier.
    #[serde(default)]
    pub cache: CacheConfig,
    /// What replicas of one deployment share.
    #[serde(default)]
    pub cluster: ClusterConfig,
    /// Where traces go.
    #[serde(default)]
    pub telemetry: TelemetryConfig,
}

/// `[telemetry]`: OpenTelemetry traces (a span per MCP request and per plugin call),
/// exported over OTLP/HTTP. Read at start-up.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// The collector's OTLP/HTTP base URL, e.g. `http://127.0.0.1:4318` (spans are posted
    /// to `/v1/traces` below it); unset, no spans are recorded.
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
    /// Extra headers for the collector (e.g. an API key), by name.
    #[serde(default)]
    pub otlp_headers: BTreeMap<String, String>,
    /// `service.name` of the exported spans.
    #[serde(default = "TelemetryConfig::default_service_name")]
    pub service_name: String,
    /// How often finished spans are sent, in ms.
    #[serde(default = "TelemetryConfig::default_export_interval_ms")]
    pub export_interval_ms: u64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            otlp_headers: BTreeMap::new(),
            service_name: Self::default_service_name(),
            export_interval_ms: Self::default_export_interval_ms(),
        }
    }
}

impl TelemetryConfig {
    fn default_service_name() -> String {
        "berth".into()
    }

    fn default_export_interval_ms() -> u64 {
        5000
    }

    /// Where spans are posted: `otlp_endpoint` + `/v1/traces`, if set.
    pub fn traces_url(&self) -> Option<String> {
        let base = self.otlp_endpoint.as_deref()?;
        Some(format!("{}/v1/traces", base.trim_end_matches('/')))
    }

    fn problem(&self) -> Option<(String, String)> {
        if let Some(endpoint) = &self.otlp_endpoint {
            let scheme_ok = ["http://", "https://"]
                .iter()
                .any(|scheme| endpoint.starts_with(scheme) && endpoint.len() > scheme.len());
            if !scheme_ok {
                return Some((
                    "otlp_endpoint".into(),
                    format!(
                        "`{endpoint}` is not an OTLP/HTTP base URL: use http:// or https:// and \
                         the collector's address, e.g. http://127.0.0.1:4318"
                    ),
                ));
            }
        }
        if self.service_name.trim().is_empty() {
            return Some(("service_name".into(), "must not be empty".into()));
        }
        if !(10..=600_000).contains(&self.export_interval_ms) {
            return Some((
                "export_interval_ms".into(),
                "must be between 10 and 600000".into(),
            ));
        }
        None
    }
}

/// `[cluster]`: the Redis that replicas serving one deployment share for their rate
/// limits (and `/ready` reports on). Read at start-up.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// `redis://host:port[/db]`, without a password (use `redis_url_env`).
    #[serde(default)]
    pub redis_url: Option<String>,
    /// The environment variable holding the whole Redis URL.
    #[serde(default)]
    pub redis_url_env: Option<String>,
    /// Longest a Redis connect or command may take, in ms; past it a replica limits
    /// callers on its own.
    #[serde(default = "ClusterConfig::default_timeout_ms")]
    pub timeout_ms: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            redis_url: None,
            redis_url_env: None,
            timeout_ms: Self::default_timeout_ms(),
        }
    }
}

impl ClusterConfig {
    fn default_timeout_ms() -> u64 {
        200
    }

    /// The shared Redis URL, if any: `redis_url`, or the value of `redis_url_env` now.
    pub fn redis_url(&self) -> Result<Option<String>, String> {
        redis_url(&self.redis_url, &self.redis_url_env, "cluster")
    }

    fn problem(&self) -> Option<(String, String)> {
        if !(1..=600_000).contains(&self.timeout_ms) {
            return Some(("timeout_ms".into(), "must be between 1 and 600000".into()));
        }
        redis_url_problem(&self.redis_url, &self.redis_url_env)
            .map(|(key, problem)| (format!("redis_{key}"), problem))
    }
}

/// `[state]`: the backend plugin state (`wasi:keyvalue`) lives in. Read at start-up.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// Which backend.
    #[serde(default)]
    pub backend: StateBackendKind,
    /// The embedded store's file (default: `$XDG_DATA_HOME/berth/state.redb` or
    /// `~/.local/share/berth/state.redb`); a relative path is taken from the config
    /// file's folder.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The Redis server, `redis://host:port[/db]`, without a password (use `url_env`).
    #[serde(default)]
    pub url: Option<String>,
    /// The environment variable holding the whole Redis URL, password included.
    #[serde(default)]
    pub url_env: Option<String>,
    /// Longest connecting to Redis or one Redis command may take, in ms.
    #[serde(default = "StateConfig::default_timeout_ms")]
    pub timeout_ms: u64,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self {
            backend: StateBackendKind::default(),
            path: None,
            url: None,
            url_env: None,
            timeout_ms: Self::default_timeout_ms(),
        }
    }
}

impl StateConfig {
    fn default_timeout_ms() -> u64 {
        2000
    }

    /// The Redis URL: `url`, or the value of `url_env` now. `None` for the embedded
    /// backend; an error names the variable that is not set.
    pub fn redis_url(&self) -> Result<Option<String>, String> {
        if self.backend != StateBackendKind::Redis {
            return Ok(None);
        }
        match redis_url(&self.url, &self.url_env, "state")? {
            Some(url) => Ok(Some(url)),
            None => Err("`[state] backend = \"redis\"` needs `url` or `url_env`".into()),
        }
    }

    fn problem(&self) -> Option<(String, String)> {
        if !(1..=600_000).contains(&self.timeout_ms) {
            return Some(("timeout_ms".into(), "must be between 1 and 600000".into()));
        }
        match self.backend {
            StateBackendKind::Embedded => {
                if self.url.is_some() || self.url_env.is_some() {
                    return Some((
                        "url".into(),
                        "is for `backend = \"redis\"`; the embedded backend uses `path`".into(),
                    ));
                }
            }
            StateBackendKind::Redis => {
                if self.url.is_none() && self.url_env.is_none() {
                    return Some((
                        "url".into(),
                        "is needed with `backend = \"redis\"` (or `url_env`, naming the \
                         variable that holds it)"
                            .into(),
                    ));
                }
                return redis_url_problem(&self.url, &self.url_env);
            }
        }
        None
    }
}

/// `[state] backend`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateBackendKind {
    /// One crash-safe file on this machine, used by one server at a time.
    #[default]
    Embedded,
    /// A Redis server, which several servers may share.
    Redis,
}

/// `[distribution]`: fetching plugins from registries. Read at start-up.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistributionConfig {
    /// The largest plugin accepted from a registry, in MiB.
    #[serde(default = "DistributionConfig::default_max_plugin_mb")]
    pub max_plugin_mb: u64,
    /// How long a registry may take to connect or to answer one read, in seconds.
    #[serde(default = "DistributionConfig::default_timeout_secs")]
    pub timeout_secs: u64,
    /// Registries (`host:port`) reached over plain HTTP although not on this machine.
    #[serde(default)]
    pub insecure_registries: Vec<String>,
    /// Where fetched plugins are kept (default: `$XDG_CACHE_HOME/berth/plugins` or
    /// `~/.cache/berth/plugins`).
    #[serde(default)]
    pub store: Option<PathBuf>,
    /// When true, every `oci://` source must name a key (`verify = { cosign_key }`) and
    /// carry its signature; other sources are refused.
    #[serde(default)]
    pub require_signature: bool,
    /// How to sign in to registries, keyed by `host` or `host:port`: the names of the
    /// environment variables that hold the secrets (never the secrets themselves).
    #[serde(default)]
    pub credentials: BTreeMap<String, RegistryCredentials>,
}

/// `[distribution.credentials."REGISTRY"]`: where the sign-in for one registry is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryCredentials {
    /// The variable holding the user name (with `password_env`).
    #[serde(default)]
    pub username_env: Option<String>,
    /// The variable holding the password or access token (with `username_env`).
    #[serde(default)]
    pub password_env: Option<String>,
    /// The variable holding a bearer token (instead of a user and password).
    #[serde(default)]
    pub token_env: Option<String>,
}

/// `[plugins.NAME] verify`: whose signature the plugin's `oci://` source must carry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyConfig {
    /// A cosign public key (PEM); a relative path is taken from the config file's folder.
    pub cosign_key: PathBuf,
}

impl DistributionConfig {
    fn default_max_plugin_mb() -> u64 {
        64
    }

    fn default_timeout_secs() -> u64 {
        30
    }
}

impl Default for DistributionConfig {
    fn default() -> Self {
        DistributionConfig {
            max_plugin_mb: Self::default_max_plugin_mb(),
            timeout_secs: Self::default_timeout_secs(),
            insecure_registries: Vec::new(),
            store: None,
            require_signature: false,
            credentials: BTreeMap::new(),
        }
    }
}

/// `[http]`: the Streamable HTTP transport. `auth`, `rate_limit` (and `[roles]`) apply
/// live; the rest is read at start-up, and a change logs that it needs a restart.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to serve HTTP on (`127.0.0.1:8080`); unset: HTTP is off unless
    /// `berth serve --http ADDR` asks for it.
    #[serde(default)]
    pub listen: Option<String>,
    /// Path of the MCP endpoint.
    #[serde(default = "HttpConfig::default_path")]
    pub path: String,
    /// `Host` header values accepted (`name` or `name:port`), against DNS rebinding;
    /// empty accepts any (only sensible behind a proxy that checks it).
    #[serde(default = "HttpConfig::default_hosts")]
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed to call (`https://app.example.com`, `http://localhost:*`);
    /// a request carrying any other `Origin` is refused with 403.
    #[serde(default = "HttpConfig::default_origins")]
    pub allowed_origins: Vec<String>,
    /// Largest request body accepted, in KiB; larger ones get 413.
    #[serde(default = "HttpConfig::default_body")]
    pub max_body_kb: u64,
    /// Sessions open at once; an `initialize` past that gets 503.
    #[serde(default = "HttpConfig::default_sessions")]
    pub max_sessions: usize,
    /// A session without any request for this long is closed.
    #[serde(default = "HttpConfig::default_idle")]
    pub session_idle_secs: u64,
    /// HTTP requests handled at once across all clients; past that, 503 with
    /// `Retry-After`.
    #[serde(default = "HttpConfig::default_concurrent")]
    pub max_concurrent_requests: usize,
    /// Longest a request may take to be read and answered with a response head; tool
    /// calls themselves are bounded by `[runtime] call_timeout_ms`.
    #[serde(default = "HttpConfig::default_request_timeout")]
    pub request_timeout_ms: u64,
    /// On SIGTERM or Ctrl-C, how long calls in flight may take to finish before
    /// sessions are ended anyway.
    #[serde(default = "HttpConfig::default_grace")]
    pub shutdown_grace_ms: u64,
    /// Closes a request's SSE stream that has been open this long without its answer
    /// (SEP-1699 polling): the client reconnects with `Last-Event-ID` and gets the rest.
    /// Frees connections held by long calls and gets past proxies' idle timeouts; 0: off.
    #[serde(default)]
    pub sse_poll_after_ms: u64,
    /// Keeps every SSE event so a client can resume a stream with `Last-Event-ID`
    /// (in memory, or in Redis with `[cluster]`). Off saves that memory and work per
    /// event; streams are then live only.
    #[serde(default = "yes")]
    pub resumable_streams: bool,
    /// Who may call: bearer tokens and JWTs.
    #[serde(default)]
    pub auth: crate::config::auth::AuthConfig,
    /// Requests per identity.
    #[serde(default)]
    pub rate_limit: crate::config::rate_limit::RateLimitConfig,
}

impl HttpConfig {
    fn default_path() -> String {
        "/mcp".into()
    }
    fn default_hosts() -> Vec<String> {
        vec!["localhost".into(), "127.0.0.1".into(), "::1".into()]
    }
    fn default_origins() -> Vec<String> {
        ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]
            .map(String::from)
            .to_vec()
    }
    fn default_body() -> u64 {
        4096
    }
    fn default_sessions() -> usize {
        1000
    }
    fn default_idle() -> u64 {
        300
    }
    fn default_concurrent() -> usize {
        256
    }
    fn default_request_timeout() -> u64 {
        60_000
    }
    fn default_grace() -> u64 {
        10_000
    }

    /// `max_body_kb` in bytes.
    pub fn max_body_bytes(&self) -> usize {
        usize::try_from(self.max_body_kb)
            .unwrap_or(usize::MAX)
            .saturating_mul(1024)
    }

    /// The address in `listen`, if set and valid.
    pub fn listen_addr(&self) -> Option<std::net::SocketAddr> {
        self.listen.as_deref().and_then(|a| parse_listen(a).ok())
    }

    /// The settings only a restart applies, to tell whether an edit needs one.
    pub fn restart_only(&self) -> HttpConfig {
        HttpConfig {
            auth: Default::default(),
            rate_limit: Default::default(),
            ..self.clone()
        }
    }

    /// The first rule broken, as (key suffix, problem).
    fn problem(&self) -> Option<(String, String)> {
        let range = |key: &str, value: u64, range: std::ops::RangeInclusive<u64>| {
            (!range.contains(&value)).then(|| {
                (
                    key.to_string(),
                    format!("must be between {} and {}", range.start(), range.end()),
                )
            })
        };
        if let Some(listen) = &self.listen
            && listen.parse::<std::net::SocketAddr>().is_err()
        {
            return Some((
                "listen".into(),
                format!(
                    "`{listen}` is not an IP address and port, like \"127.0.0.1:8080\" or \"[::1]:8080\""
                ),
            ));
        }
        if !self.path.starts_with('/') || self.path.len() < 2 || self.path.ends_with('/') {
            return Some((
                "path".into(),
                "must start with `/`, name a path and not end with `/`, like \"/mcp\"".into(),
            ));
        }
        for (i, origin) in self.allowed_origins.iter().enumerate() {
            if origin != "null" && !origin.contains("://") {
                return Some((
                    format!("allowed_origins[{i}]"),
                    format!("`{origin}` needs a scheme, like \"https://app.example.com\""),
                ));
            }
        }
        range("max_body_kb", self.max_body_kb, 1..=1_048_576)
            .or_else(|| range("max_sessions", self.max_sessions as u64, 1..=1_000_000))
            .or_else(|| range("session_idle_secs", self.session_idle_secs, 1..=86_400))
            .or_else(|| {
                range(
                    "max_concurrent_requests",
                    self.max_concurrent_requests as u64,
                    1..=100_000,
                )
            })
            .or_else(|| range("request_timeout_ms", self.request_timeout_ms, 1..=3_600_000))
            .or_else(|| range("shutdown_grace_ms", self.shutdown_grace_ms, 0..=3_600_000))
            .or_else(|| range("sse_poll_after_ms", self.sse_poll_after_ms, 0..=3_600_000))
            .or_else(|| {
                (self.sse_poll_after_ms > 0 && !self.resumable_streams).then(|| {
                    (
                        "sse_poll_after_ms".to_string(),
                        "needs `resumable_streams = true`: a closed stream is resumed from the \
                         kept events"
                            .to_string(),
                    )
                })
            })
            .or_else(|| {
                self.auth
                    .problem()
                    .map(|(key, problem)| (format!("auth.{key}"), problem))
            })
            .or_else(|| {
                self.rate_limit
                    .problem()
                    .map(|(key, problem)| (format!("rate_limit.{key}"), problem))
            })
    }
}

/// An HTTP listen address: `IP:PORT` (`0.0.0.0:8080`, `[::1]:8080`), or a bare port,
/// which binds loopback (`8080` is `127.0.0.1:8080`), so exposing Berth is always spelled
/// out.
pub fn parse_listen(text: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse().map_err(|_| {
        format!(
            "`{text}` is not a port or an IP address and port, like \"8080\", \"127.0.0.1:8080\" or \"[::1]:8080\""
        )
    })
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: None,
            path: Self::default_path(),
            allowed_hosts: Self::default_hosts(),
            allowed_origins: Self::default_origins(),
            max_body_kb: Self::default_body(),
            max_sessions: Self::default_sessions(),
            session_idle_secs: Self::default_idle(),
            max_concurrent_requests: Self::default_concurrent(),
            request_timeout_ms: Self::default_request_timeout(),
            shutdown_grace_ms: Self::default_grace(),
            sse_poll_after_ms: 0,
            resumable_streams: true,
            auth: Default::default(),
            rate_limit: Default::default(),
        }
    }
}

/// `[runtime]`: the limits every plugin's calls run under, unless its
/// `[plugins.NAME.limits]` overrides them. All apply live, to calls that start after an
/// edit.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Longest a call may take, queue wait included, in milliseconds.
    #[serde(default = "RuntimeConfig::default_timeout")]
    pub call_timeout_ms: u64,
    /// Cap on each linear memory of a plugin, in MiB.
    #[serde(default = "RuntimeConfig::default_memory")]
    pub max_memory_mb: u64,
    /// Calls of one plugin that may run at once.
    #[serde(default = "RuntimeConfig::default_concurrent")]
    pub max_concurrent_calls: u64,
    /// Calls of one plugin that may wait for a slot; past that, calls fail as busy.
    #[serde(default = "RuntimeConfig::default_queued")]
    pub max_queued_calls: u64,
    /// Cap on one call's result (text, blobs, structured content), in KiB.
    #[serde(default = "RuntimeConfig::default_result")]
    pub max_result_kb: u64,
    /// Cap on the stdout, and separately the stderr, one call may log, in KiB.
    #[serde(default = "RuntimeConfig::default_log_output")]
    pub max_log_output_kb: u64,
    /// Plugin instances that may run at once across all plugins: the size of the
    /// instance pool. Engine-wide and read at start-up, unlike the per-plugin limits.
    #[serde(default = "RuntimeConfig::default_instances")]
    pub max_instances: u32,
    /// Guests that may run past their first epoch tick at once, across all plugins: the
    /// turns on the cores that long-running calls share (`runtime/cpu.rs`). Unset: one
    /// fewer than the machine's cores, at least one. Engine-wide and read at start-up.
    #[serde(default)]
    pub max_running_guests: Option<usize>,
    /// Which compiler turns a build the compilation cache does not hold into machine
    /// code (`runtime/tier.rs`). Engine-wide and read at start-up.
    #[serde(default)]
    pub compiler: CompilerConfig,
    /// Who may be handed a plugin instance that served an earlier call: `"session"`
    /// (the default) the later calls of the same session only, `"call"` nobody. A
    /// plugin's own `instance_reuse` overrides it; sharing across clients is only ever a
    /// plugin's own setting.
    #[serde(default)]
    pub instance_reuse: ReuseConfig,
    /// How long, in seconds, an instance kept for a session's (or an identity's, or
    /// everyone's) next call waits for it before it is dropped. Read at start-up.
    #[serde(default = "RuntimeConfig::default_instance_idle")]
    pub instance_idle_secs: u64,
}

/// `[runtime] compiler`: which compiler makes a new build's machine code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompilerConfig {
    /// Winch at once, Cranelift in the background, swapped in when ready.
    #[default]
    Tiered,
    /// Cranelift before the build serves.
    Cranelift,
    /// Winch only (Cranelift code from the compilation cache still used).
    Winch,
}

impl CompilerConfig {
    /// The runtime's name for it.
    pub fn runtime(self) -> berth_runtime::CompileStrategy {
        match self {
            CompilerConfig::Tiered => berth_runtime::CompileStrategy::Tiered,
            CompilerConfig::Cranelift => berth_runtime::CompileStrategy::Cranelift,
            CompilerConfig::Winch => berth_runtime::CompileStrategy::Winch,
        }
    }
}

/// `instance_reuse`: who may be handed a plugin instance that served an earlier call
/// (the runtime's `warm.rs` explains each).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReuseConfig {
    /// Nobody: a fresh instance for every call.
    Call,
    /// Later calls of the same MCP session (or, for stateless HTTP requests, of the same
    /// authenticated identity).
    #[default]
    Session,
    /// Any later call, whichever client makes it (`[plugins.NAME]` only).
    Shared,
}

impl ReuseConfig {
    fn runtime(self) -> berth_runtime::InstanceReuse {
        match self {
            ReuseConfig::Call => berth_runtime::InstanceReuse::Call,
            ReuseConfig::Session => berth_runtime::InstanceReuse::Session,
            ReuseConfig::Shared => berth_runtime::InstanceReuse::Shared,
        }
    }
}

/// `[plugins.NAME.limits]`: one plugin's own limits; each unset key takes the
/// `[runtime]` value of the same name.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// See [`RuntimeConfig::call_timeout_ms`].
    pub call_timeout_ms: Option<u64>,
    /// See [`RuntimeConfig::max_memory_mb`].
    pub max_memory_mb: Option<u64>,
    /// See [`RuntimeConfig::max_concurrent_calls`].
    pub max_concurrent_calls: Option<u64>,
    /// See [`RuntimeConfig::max_queued_calls`].
    pub max_queued_calls: Option<u64>,
    /// See [`RuntimeConfig::max_result_kb`].
    pub max_result_kb: Option<u64>,
    /// See [`RuntimeConfig::max_log_output_kb`].
    pub max_log_output_kb: Option<u64>,
}

/// Each limit's key, allowed range and the range as people read it.
const LIMIT_RANGES: [(&str, std::ops::RangeInclusive<u64>, &str); 6] = [
    (
        "call_timeout_ms",
        1..=3_600_000,
        "between 1 and 3600000 (one hour)",
    ),
    ("max_memory_mb", 1..=4096, "between 1 and 4096"),
    ("max_concurrent_calls", 1..=1024, "between 1 and 1024"),
    ("max_queued_calls", 0..=100_000, "between 0 and 100000"),
    (
        "max_result_kb",
        1..=1_048_576,
        "between 1 and 1048576 (1 GiB)",
    ),
    (
        "max_log_output_kb",
        0..=1_048_576,
        "between 0 and 1048576 (1 GiB)",
    ),
];

impl LimitsConfig {
    /// The values in [`LIMIT_RANGES`] order.
    fn values(&self) -> [Option<u64>; 6] {
        [
            self.call_timeout_ms,
            self.max_memory_mb,
            self.max_concurrent_calls,
            self.max_queued_calls,
            self.max_result_kb,
            self.max_log_output_kb,
        ]
    }

    /// The first value out of its range: (key, allowed range).
    fn problem(&self) -> Option<(&'static str, &'static str)> {
        self.values().into_iter().zip(LIMIT_RANGES.iter()).find_map(
            |(value, (key, range, text))| {
                value.filter(|v| !range.contains(v)).map(|_| (*key, *text))
            },
        )
    }
}

/// `[protocol]`: how MCP lists are served.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolConfig {
    /// Items per page of a list result.
    #[serde(default = "ProtocolConfig::default_page_size")]
    pub page_size: usize,
}

/// `[plugins.NAME]`: settings of one plugin.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// When false the plugin is not served.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Where the plugin is published (`oci://REGISTRY/REPO:TAG`, `…@sha256:…`, or an
    /// `https://…/x.wasm` with `sha256`), for a plugin fetched rather than dropped in the
    /// plugins folder; pinned in `berth.lock`.
    #[serde(default)]
    pub source: Option<String>,
    /// The SHA-256 of an `https://` source's file, which it must have.
    #[serde(default)]
    pub sha256: Option<String>,
    /// The key whose cosign signature an `oci://` source must carry.
    #[serde(default)]
    pub verify: Option<VerifyConfig>,
    /// Whether a tagged `source` is checked for a moved tag while serving.
    #[serde(default)]
    pub update: UpdatePolicy,
    /// With `update = "poll"`: seconds between checks of the tag.
    #[serde(default = "PluginConfig::default_poll_interval_secs")]
    pub poll_interval_secs: u64,
    /// Values the plugin reads through its `config` import.
    #[serde(default)]
    pub config: BTreeMap<String, toml::Value>,
    /// Which plugin versions may be served (`"^1.2"`, `">=2, <3"`); a file whose
    /// version does not match is refused. Unset: any version.
    #[serde(default)]
    pub version: Option<semver::VersionReq>,
    /// Limits of this plugin's calls that differ from `[runtime]`.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// What the plugin may reach beyond its sandbox; nothing unless granted here.
    #[serde(default)]
    pub grants: GrantsConfig,
    /// What its tool names start with instead of `<name>_`; `""` serves them under their
    /// own names (the plugin is then responsible for names that do not collide).
    #[serde(default)]
    pub tool_prefix: Option<String>,
    /// Who may be handed an instance of this plugin that served an earlier call, over
    /// `[runtime] instance_reuse`: `"call"`, `"session"` or `"shared"` (any client: only
    /// for plugins that keep no state between calls). Unset: `"shared"` when
    /// `warm_instances` is set, else the `[runtime]` value.
    #[serde(default)]
    pub instance_reuse: Option<ReuseConfig>,
    /// Idle instances kept between calls: shared by every client (`"shared"`), or one
    /// per session across sessions (`"session"`, default 32). Set alone, it means
    /// `instance_reuse = "shared"`.
    #[serde(default)]
    pub warm_instances: Option<usize>,
    /// Whether this plugin keeps its names (plugin name, tool and prompt names, resource
    /// URIs) when it and another plugin claim the same one and neither is served yet (at
    /// start-up, or both dropped in at once). Without a preference Berth serves neither.
    #[serde(default)]
    pub preferred: bool,
    /// URI starts this plugin may serve resources under whatever its grants say (e.g.
    /// `"file:///shared/"`); by default a `file:` or `http(s):` resource URI must be
    /// covered by a folder or network grant.
    #[serde(default)]
    pub resource_uris: Vec<String>,
    /// Caching of its read-only, idempotent tools' answers and of its resource reads;
    /// off unless set.
    #[serde(default)]
    pub cache: Option<PluginCacheConfig>,
}

/// `[plugins.NAME.cache]`: how long one plugin's cacheable answers are kept, and how
/// much of them this process keeps in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginCacheConfig {
    /// How long an answer may be served after it was computed, in seconds.
    pub ttl_secs: u64,
    /// Most bytes of this plugin's answers kept in memory, in MiB.
    #[serde(default = "PluginCacheConfig::default_max_mb")]
    pub max_mb: u64,
}

impl PluginCacheConfig {
    fn default_max_mb() -> u64 {
        64
    }

    fn problem(&self) -> Option<(String, String)> {
        if !(1..=86_400 * 30).contains(&self.ttl_secs) {
            return Some((
                "ttl_secs".into(),
                "must be between 1 and 2592000 (30 days)".into(),
            ));
        }
        if !(1..=65_536).contains(&self.max_mb) {
            return Some(("max_mb".into(), "must be between 1 and 65536".into()));
        }
        None
    }

    /// The policy the cache applies.
    pub fn policy(&self) -> berth_state::cache::CachePolicy {
        berth_state::cache::CachePolicy {
            ttl: std::time::Duration::from_secs(self.ttl_secs),
            max_bytes: self.max_mb << 20,
        }
    }
}

/// `[cache]`: the result cache's shared tier. Read at start-up.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// A Redis server shared by every replica, `redis://host:port[/db]`, without a
    /// password (use `url_env`); unset: memory only.
    #[serde(default)]
    pub url: Option<String>,
    /// The environment variable holding the whole Redis URL.
    #[serde(default)]
    pub url_env: Option<String>,
    /// Longest a Redis connect or command may take, in ms; past it the answer comes from
    /// the plugin.
    #[serde(default = "CacheConfig::default_timeout_ms")]
    pub timeout_ms: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            url: None,
            url_env: None,
            timeout_ms: Self::default_timeout_ms(),
        }
    }
}

impl CacheConfig {
    fn default_timeout_ms() -> u64 {
        500
    }

    /// The shared tier's URL, if any: `url`, or the value of `url_env` now.
    pub fn redis_url(&self) -> Result<Option<String>, String> {
        redis_url(&self.url, &self.url_env, "cache")
    }

    fn problem(&self) -> Option<(String, String)> {
        if !(1..=600_000).contains(&self.timeout_ms) {
            return Some(("timeout_ms".into(), "must be between 1 and 600000".into()));
        }
        redis_url_problem(&self.url, &self.url_env)
    }
}

/// The URL from `url` or from the variable `url_env` names (`section` labels errors).
fn redis_url(
    url: &Option<String>,
    url_env: &Option<String>,
    section: &str,
) -> Result<Option<String>, String> {
    match (url, url_env) {
        (Some(url), _) => Ok(Some(url.clone())),
        (None, Some(var)) => std::env::var(var)
            .map(Some)
            .map_err(|_| format!("`[{section}] url_env` names {var}, which is not set")),
        (None, None) => Ok(None),
    }
}

/// What is wrong with a `url`/`url_env` pair, as (key, problem).
fn redis_url_problem(url: &Option<String>, url_env: &Option<String>) -> Option<(String, String)> {
    match (url, url_env) {
        (Some(_), Some(_)) => Some((
            "url_env".into(),
            "and the URL itself are exclusive; set one".into(),
        )),
        (Some(url), None) => {
            let Some(rest) = url.strip_prefix("redis://") else {
                return Some(("url".into(), format!("`{url}` is not a redis:// URL")));
            };
            if rest.split('/').next().unwrap_or_default().contains('@') {
                return Some((
                    "url".into(),
                    "carries credentials; keep secrets out of the config file: put the whole \
                     URL in an environment variable and name it in the `…url_env` key beside \
                     this one"
                        .into(),
                ));
            }
            None
        }
        _ => None,
    }
}

/// `[plugins.NAME.grants]`: folders, environment variables and network destinations
/// one plugin may use. Everything is denied unless listed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantsConfig {
    /// Folders of this machine the plugin sees at a path of its own.
    #[serde(default)]
    pub folders: Vec<FolderGrantConfig>,
    /// Names of environment variables passed through from Berth's own environment.
    #[serde(default)]
    pub env: Vec<String>,
    /// Environment variables set for the plugin here, by name.
    #[serde(default)]
    pub env_values: BTreeMap<String, String>,
    /// Destinations it may connect to: `host`, `host:port`, `*.domain`, optionally
    /// behind `http://` or `https://`.
    #[serde(default)]
    pub network: Vec<String>,
    /// State buckets it may keep through `wasi:keyvalue`, and how much.
    #[serde(default)]
    pub keyvalue: Option<KeyValueGrantConfig>,
}

/// `keyvalue = { buckets = ["notes"], max_mb = 64 }`: one plugin's state grant.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyValueGrantConfig {
    /// Bucket names the plugin may open (`"*"`: any). Each is the plugin's own: another
    /// plugin's bucket of the same name is a different bucket.
    pub buckets: Vec<String>,
    /// Most the plugin may keep, keys plus values, across its buckets, in MiB.
    #[serde(default = "KeyValueGrantConfig::default_max_mb")]
    pub max_mb: u64,
    /// Most keys it may keep across its buckets.
    #[serde(default = "KeyValueGrantConfig::default_max_keys")]
    pub max_keys: u64,
    /// Largest single value, in KiB.
    #[serde(default = "KeyValueGrantConfig::default_max_value_kb")]
    pub max_value_kb: u64,
}

impl KeyValueGrantConfig {
    fn default_max_mb() -> u64 {
        64
    }
    fn default_max_keys() -> u64 {
        100_000
    }
    fn default_max_value_kb() -> u64 {
        1024
    }

    fn problem(&self) -> Option<(String, String)> {
        if self.buckets.is_empty() {
            return Some((
                "buckets".into(),
                "must name at least one bucket (or \"*\" for any)".into(),
            ));
        }
        for (i, bucket) in self.buckets.iter().enumerate() {
            if bucket != "*"
                && let Some(problem) = berth_model::state::bucket_name_problem(bucket)
            {
                return Some((format!("buckets[{i}]"), problem));
            }
        }
        if !(1..=1_048_576).contains(&self.max_mb) {
            return Some(("max_mb".into(), "must be between 1 and 1048576".into()));
        }
        if !(1..=1_000_000_000).contains(&self.max_keys) {
            return Some(("max_keys".into(), "must be between 1 and 1000000000".into()));
        }
        if !(1..=65_536).contains(&self.max_value_kb) {
            return Some((
                "max_value_kb".into(),
                "must be between 1 and 65536 (64 MiB)".into(),
            ));
        }
        None
    }

    /// The grant as the runtime enforces it.
    pub fn resolve(&self) -> berth_model::policy::KeyValueGrant {
        berth_model::policy::KeyValueGrant {
            buckets: self.buckets.clone(),
            quota: berth_model::state::StateQuota {
                max_bytes: self.max_mb << 20,
                max_keys: self.max_keys,
                max_value_bytes: self.max_value_kb << 10,
            },
        }
    }
}

/// One granted folder.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderGrantConfig {
    /// The folder on this machine (absolute).
    pub host: PathBuf,
    /// Where the plugin sees it (absolute, e.g. `/workspace`).
    pub guest: String,
    /// Whether the plugin may change things there (default read-only).
    #[serde(default)]
    pub write: bool,
}

impl GrantsConfig {
    /// The grants in the form the runtime enforces, with passed-through variables read
    /// from this process's environment now (one missing there is simply not set for
    /// the plugin). Call after validation: rules that do not parse are skipped.
    pub fn resolve(&self) -> berth_model::policy::Grants {
        let mut env: BTreeMap<String, String> = self
            .env
            .iter()
            .filter_map(|name| std::env::var(name).ok().map(|v| (name.clone(), v)))
            .collect();
        env.extend(self.env_values.clone());
        berth_model::policy::Grants {
            folders: self
                .folders
                .iter()
                .map(|f| berth_model::policy::FolderGrant {
                    host: f.host.clone(),
                    guest: f.guest.clone(),
                    write: f.write,
                })
                .collect(),
            env,
            env_names: self
                .env
                .iter()
                .chain(self.env_values.keys())
                .cloned()
                .collect(),
            network: self
                .network
                .iter()
                .filter_map(|r| berth_model::policy::NetworkRule::parse(r).ok())
                .collect(),
            keyvalue: self.keyvalue.as_ref().map(KeyValueGrantConfig::resolve),
        }
    }

    /// The first rule broken, as (key suffix, problem).
    fn problem(&self) -> Option<(String, String)> {
        let mut guests = std::collections::BTreeSet::new();
        for (i, folder) in self.folders.iter().enumerate() {
            let key = format!("folders[{i}]");
            if !folder.host.is_absolute() {
                return Some((format!("{key}.host"), "must be an absolute path".into()));
            }
            let guest = &folder.guest;
            if !guest.starts_with('/')
                || guest.split('/').any(|part| part == ".." || part == ".")
                || guest.contains('\0')
            {
                return Some((
                    format!("{key}.guest"),
                    "must be an absolute path without `.` or `..` parts, like \"/workspace\""
                        .into(),
                ));
            }
            if !guests.insert(guest.trim_end_matches('/').to_string()) {
                return Some((
                    format!("{key}.guest"),
                    format!("`{guest}` is granted twice; each guest path maps one folder"),
                ));
            }
        }
        let valid_name = |name: &str| {
            name.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        for name in self.env.iter().chain(self.env_values.keys()) {
            if !valid_name(name) {
                return Some((
                    "env".into(),
                    format!(
                        "`{name}` is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)"
                    ),
                ));
            }
        }
        for (i, rule) in self.network.iter().enumerate() {
            if let Err(problem) = berth_model::policy::NetworkRule::parse(rule) {
                return Some((format!("network[{i}]"), problem));
            }
        }
        if let Some((key, problem)) = self.keyvalue.as_ref().and_then(|kv| kv.problem()) {
            return Some((format!("keyvalue.{key}"), problem));
        }
        None
    }
}

fn yes() -> bool {
    true
}

impl RuntimeConfig {
    fn default_timeout() -> u64 {
        30_000
    }
    fn default_memory() -> u64 {
        256
    }
    fn default_concurrent() -> u64 {
        8
    }
    fn default_queued() -> u64 {
        32
    }
    fn default_result() -> u64 {
        4096
    }
    fn default_log_output() -> u64 {
        1024
    }
    fn default_instances() -> u32 {
        berth_runtime::DEFAULT_MAX_INSTANCES
    }

    fn default_instance_idle() -> u64 {
        berth_runtime::IDLE_EXPIRY.as_secs()
    }

    /// The settings only a restart applies (they shape the engine: the instance pool, the
    /// turns on the cores, the compiler, the kept instances' idle time) whose value differs
    /// in `new`, as (key, new value).
    pub fn restart_only_changes(&self, new: &RuntimeConfig) -> Vec<(&'static str, String)> {
        fn changed<T: PartialEq + std::fmt::Debug>(
            key: &'static str,
            old: &T,
            new: &T,
        ) -> Option<(&'static str, String)> {
            (old != new).then(|| (key, format!("{new:?}")))
        }
        [
            changed("max_instances", &self.max_instances, &new.max_instances),
            changed(
                "max_running_guests",
                &self.max_running_guests,
                &new.max_running_guests,
            ),
            changed("compiler", &self.compiler, &new.compiler),
            changed(
                "instance_idle_secs",
                &self.instance_idle_secs,
                &new.instance_idle_secs,
            ),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The defaults as a [`LimitsConfig`] with every key set.
    fn as_limits(&self) -> LimitsConfig {
        LimitsConfig {
            call_timeout_ms: Some(self.call_timeout_ms),
            max_memory_mb: Some(self.max_memory_mb),
            max_concurrent_calls: Some(self.max_concurrent_calls),
            max_queued_calls: Some(self.max_queued_calls),
            max_result_kb: Some(self.max_result_kb),
            max_log_output_kb: Some(self.max_log_output_kb),
        }
    }
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            call_timeout_ms: Self::default_timeout(),
            max_memory_mb: Self::default_memory(),
            max_concurrent_calls: Self::default_concurrent(),
            max_queued_calls: Self::default_queued(),
            max_result_kb: Self::default_result(),
            max_log_output_kb: Self::default_log_output(),
            max_instances: Self::default_instances(),
            max_running_guests: None,
            compiler: CompilerConfig::default(),
            instance_reuse: ReuseConfig::default(),
            instance_idle_secs: Self::default_instance_idle(),
        }
    }
}

impl ProtocolConfig {
    fn default_page_size() -> usize {
        100
    }
}

impl Default for ProtocolConfig {
    fn default() -> Self {
        Self {
            page_size: Self::default_page_size(),
        }
    }
}

impl PluginConfig {
    /// The plugin's config values as the strings its `config` import returns: strings
    /// verbatim, other TOML values in their TOML spelling (`42`, `true`, `[1, 2]`).
    pub fn values(&self) -> BTreeMap<String, String> {
        self.config
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect()
    }
}

impl PluginConfig {
    /// The runtime settings these give a plugin: its config values and its grants, and
    /// its reuse of instances over `runtime`'s (the `[runtime]` default). Its limits are
    /// [`Config::limits_for`]'s; [`Config::settings_for`] has both.
    fn settings(&self, runtime: &RuntimeConfig) -> berth_runtime::PluginSettings {
        let reuse = match (self.instance_reuse, self.warm_instances) {
            (Some(reuse), _) => reuse,
            (None, Some(_)) => ReuseConfig::Shared,
            (None, None) => runtime.instance_reuse,
        };
        let warm_instances = match reuse {
            ReuseConfig::Call => 0,
            ReuseConfig::Session => self.warm_instances.unwrap_or(DEFAULT_SESSION_INSTANCES),
            ReuseConfig::Shared => self.warm_instances.unwrap_or(DEFAULT_SHARED_INSTANCES),
        };
        berth_runtime::PluginSettings {
            config: self.values(),
            grants: std::sync::Arc::new(self.grants.resolve()),
            reuse: reuse.runtime(),
            warm_instances,
            ..Default::default()
        }
    }

    /// The requirement that `version` fails, if any. A version that is not semver fails
    /// any requirement (manifest validation refuses such plugins before this is asked).
    pub fn version_refuses(&self, version: &str) -> Option<&semver::VersionReq> {
        let requirement = self.version.as_ref()?;
        match semver::Version::parse(version) {
            Ok(v) if requirement.matches(&v) => None,
            _ => Some(requirement),
        }
    }
}

/// `[plugins.NAME] update`: what moves a plugin source's pin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdatePolicy {
    /// Only `berth plugins update` (the default): what is served never changes by itself.
    #[default]
    Pinned,
    /// The tag is checked every `poll_interval_secs`; a moved tag is pulled, pinned and
    /// swapped in like a file upgrade.
    Poll,
}

impl PluginConfig {
    fn default_poll_interval_secs() -> u64 {
        60
    }
}

impl Default for PluginConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            source: None,
            sha256: None,
            verify: None,
            update: UpdatePolicy::Pinned,
            poll_interval_secs: Self::default_poll_interval_secs(),
            config: BTreeMap::new(),
            version: None,
            limits: LimitsConfig::default(),
            grants: GrantsConfig::default(),
            tool_prefix: None,
            instance_reuse: None,
            warm_instances: None,
            preferred: false,
            resource_uris: Vec::new(),
            cache: None,
        }
    }
}

/// Idle instances a plugin set to `instance_reuse = "shared"` keeps when it does not say
/// how many (`warm_instances`).
pub const DEFAULT_SHARED_INSTANCES: usize = 8;

/// Idle instances a plugin reusing per session keeps across sessions when it does not say
/// how many (`warm_instances`): enough for the sessions of a busy server's working set,
/// few enough that a plugin with a large heap does not hold much memory.
pub const DEFAULT_SESSION_INSTANCES: usize = 32;

/// Prefix of the environment variables that override config keys.
pub const ENV_PREFIX: &str = "BERTH_";

/// Separator between key segments in an override's name (`BERTH_RUNTIME__CALL_TIMEOUT_MS`);
/// double because keys themselves contain single underscores.
pub const ENV_SEPARATOR: &str = "__";

/// One `BERTH_<SECTION>__<KEY>` environment variable, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvOverride {
    /// The variable's name, for errors.
    pub var: String,
    /// The lower-cased key path, e.g. `["runtime", "call_timeout_ms"]`.
    pub path: Vec<String>,
    /// The value: a TOML value when it parses as one (`5000`, `true`, `[1, 2]`), the raw
    /// text as a string otherwise.
    pub value: toml::Value,
}

impl EnvOverride {
    /// Parses one variable; `None` when its name is not an override (no prefix, or no
    /// `__`, like `BERTH_LOG` or `BERTH_CONFIG`).
    pub fn parse(var: &str, value: &str) -> Option<Result<Self, ConfigError>> {
        let rest = var.strip_prefix(ENV_PREFIX)?;
        if !rest.contains(ENV_SEPARATOR) {
            return None;
        }
        let path: Vec<String> = rest.split(ENV_SEPARATOR).map(str::to_lowercase).collect();
        if path.iter().any(String::is_empty) {
            return Some(Err(ConfigError::Env {
                var: var.to_string(),
                problem: "has an empty key segment; write it as BERTH_SECTION__KEY, e.g. \
                          BERTH_RUNTIME__CALL_TIMEOUT_MS"
                    .to_string(),
            }));
        }
        Some(Ok(Self {
            var: var.to_string(),
            path,
            value: env_value(value),
        }))
    }

    /// Every override in this process's environment, sorted by name so that a conflict
    /// between two of them resolves the same way on every start.
    pub fn from_process() -> Result<Vec<Self>, ConfigError> {
        let mut found = Vec::new();
        for (var, value) in std::env::vars_os() {
            let Some(name) = var.to_str() else { continue };
            if !name.starts_with(ENV_PREFIX) {
                continue;
            }
            let Some(value) = value.to_str() else {
                return Err(ConfigError::Env {
                    var: name.to_string(),
                    problem: "its value is not valid UTF-8".to_string(),
                });
            };
            if let Some(parsed) = Self::parse(name, value) {
                found.push(parsed?);
            }
        }
        found.sort_by(|a, b| a.var.cmp(&b.var));
        Ok(found)
    }

    /// Writes this override into `table`, creating intermediate tables.
    fn apply(&self, table: &mut toml::Table) -> Result<(), ConfigError> {
        let (last, parents) = self.path.split_last().expect("parse refuses empty paths");
        let mut current = table;
        for (depth, segment) in parents.iter().enumerate() {
            let entry = current
                .entry(segment.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            current = entry.as_table_mut().ok_or_else(|| ConfigError::Env {
                var: self.var.clone(),
                problem: format!(
                    "`{}` is a value, not a table, so it has no key `{}`",
                    self.path[..=depth].join("."),
                    self.path[depth + 1]
                ),
            })?;
        }
        current.insert(last.clone(), self.value.clone());
        Ok(())
    }
}

/// An override's text as a TOML value when it is one, else as a string, so
/// `BERTH_RUNTIME__CALL_TIMEOUT_MS=5000` is a number and `…__GREETING=hello` a string.
fn env_value(text: &str) -> toml::Value {
    format!("v = {text}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_string()))
}

impl Default for Config {
    fn default() -> Self {
        Self::parse(DEFAULT_CONFIG, Path::new("<embedded defaults>"))
            .expect("the embedded default config is valid; a unit test checks it")
    }
}

impl Config {
    /// Loads the defaults, then the file at `path` over them when one is given, then
    /// `env` over both.
    pub fn load(path: Option<&Path>, env: &[EnvOverride]) -> Result<Self, ConfigError> {
        let (text, label) = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                (text, path)
            }
            None => (String::new(), Path::new("<embedded defaults>")),
        };
        Self::parse_with_env(&text, label, env)
    }

    /// Parses `text` as [`Config::parse`] does, then applies `env` one variable at a
    /// time, checking after each so a bad one is refused by its name.
    pub fn parse_with_env(
        text: &str,
        path: &Path,
        env: &[EnvOverride],
    ) -> Result<Self, ConfigError> {
        let mut config = Self::parse(text, path)?;
        if env.is_empty() {
            return Ok(config);
        }
        // The file already parsed as a `Config`, so it is a valid TOML table.
        let mut table: toml::Table = text.parse().map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: one_line(text, &e),
        })?;
        for var in env {
            var.apply(&mut table)?;
            let problem = |problem: String| ConfigError::Env {
                var: var.var.clone(),
                problem,
            };
            config = toml::Value::Table(table.clone())
                .try_into::<Config>()
                .map_err(|e| {
                    problem(format!(
                        "sets `{}`, which the config does not accept: {}",
                        var.path.join("."),
                        e.message().split_whitespace().collect::<Vec<_>>().join(" ")
                    ))
                })?;
            config.validate(path).map_err(|e| match e {
                ConfigError::Invalid {
                    key, problem: p, ..
                } => problem(format!("`{key}` {p}")),
                other => other,
            })?;
        }
        Ok(config)
    }

    /// Parses and validates `text`; `path` only labels errors. Missing keys take their
    /// defaults.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: one_line(text, &e),
        })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &str, problem: &str| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            problem: problem.to_string(),
        };
        if let Some((key, range)) = self.runtime.as_limits().problem() {
            return Err(invalid(
                &format!("runtime.{key}"),
                &format!("must be {range}"),
            ));
        }
        // Each pool slot reserves about 4 GiB of address space (not memory); 10000 slots
        // is a third of what x86-64 user space holds.
        if !(1..=10_000).contains(&self.runtime.max_instances) {
            return Err(invalid(
                "runtime.max_instances",
                "must be between 1 and 10000",
            ));
        }
        // Past a day, an idle instance is memory held for a client that has gone.
        if !(1..=86_400).contains(&self.runtime.instance_idle_secs) {
            return Err(invalid(
                "runtime.instance_idle_secs",
                "must be between 1 and 86400 seconds (a day); set instance_reuse = \"call\" to keep no instances",
            ));
        }
        if let Some(guests) = self.runtime.max_running_guests
            && !(1..=1024).contains(&guests)
        {
            return Err(invalid(
                "runtime.max_running_guests",
                "must be between 1 and 1024 (leave it out for one fewer than the cores)",
            ));
        }
        if !(1..=10_000).contains(&self.protocol.page_size) {
            return Err(invalid("protocol.page_size", "must be between 1 and 10000"));
        }
        if !(1..=4096).contains(&self.distribution.max_plugin_mb) {
            return Err(invalid(
                "distribution.max_plugin_mb",
                "must be between 1 and 4096",
            ));
        }
        if !(1..=3600).contains(&self.distribution.timeout_secs) {
            return Err(invalid(
                "distribution.timeout_secs",
                "must be between 1 and 3600",
            ));
        }
        for (registry, credentials) in &self.distribution.credentials {
            let key = format!("distribution.credentials.\"{registry}\"");
            match (
                &credentials.username_env,
                &credentials.password_env,
                &credentials.token_env,
            ) {
                (Some(_), Some(_), None) | (None, None, Some(_)) => {}
                _ => {
                    return Err(invalid(
                        &key,
                        "needs either `username_env` and `password_env`, or `token_env` \
                         alone: the names of environment variables holding the secrets",
                    ));
                }
            }
        }
        for (name, plugin) in &self.plugins {
            let source = plugin.source.as_deref();
            let oci = source.is_some_and(|s| s.starts_with("oci://"));
            let web = source.is_some_and(|s| s.starts_with("https://") || s.starts_with("http://"));
            if plugin.verify.is_some() && !oci {
                return Err(invalid(
                    &format!("plugins.{name}.verify"),
                    "applies to an `oci://` source, and this plugin has none",
                ));
            }
            if plugin.sha256.is_some() && !web {
                return Err(invalid(
                    &format!("plugins.{name}.sha256"),
                    "pins an `https://` source, and this plugin has none (an oci:// source \
                     is pinned in berth.lock, or with @sha256: in the source)",
                ));
            }
            if web && plugin.sha256.is_none() {
                return Err(invalid(
                    &format!("plugins.{name}.sha256"),
                    "is needed beside an `https://` source: the file's SHA-256 (`sha256sum \
                     FILE.wasm` prints it), so nothing unpinned is served",
                ));
            }
            if self.distribution.require_signature && plugin.enabled && source.is_some() {
                if web {
                    return Err(invalid(
                        &format!("plugins.{name}.source"),
                        "is a web source, which cannot carry a signature, and \
                         [distribution] require_signature is true; publish it to an OCI \
                         registry and sign it",
                    ));
                }
                if plugin.verify.is_none() {
                    return Err(invalid(
                        &format!("plugins.{name}.verify"),
                        "is missing: [distribution] require_signature is true, so a source \
                         needs `verify = { cosign_key = \"cosign.pub\" }`",
                    ));
                }
            }
            if plugin.update == UpdatePolicy::Poll {
                if !oci || source.is_some_and(|s| s.contains('@')) {
                    return Err(invalid(
                        &format!("plugins.{name}.update"),
                        "is \"poll\", which needs a `source` with a tag to poll (a source \
                         pinned with @sha256 never moves)",
                    ));
                }
                if !(1..=86_400).contains(&plugin.poll_interval_secs) {
                    return Err(invalid(
                        &format!("plugins.{name}.poll_interval_secs"),
                        "must be between 1 and 86400",
                    ));
                }
            }
            if let Some((key, range)) = plugin.limits.problem() {
                return Err(invalid(
                    &format!("plugins.{name}.limits.{key}"),
                    &format!("must be {range}"),
                ));
            }
            if !berth_model::manifest::is_valid_name(
                name,
                berth_model::manifest::MAX_PLUGIN_NAME_LEN,
            ) {
                return Err(invalid(
                    &format!("plugins.{name}"),
                    "is not a valid plugin name: use 1 to 32 characters from [a-zA-Z0-9_-]",
                ));
            }
            if let Some((key, problem)) = plugin.grants.problem() {
                return Err(invalid(&format!("plugins.{name}.grants.{key}"), &problem));
            }
            if let Some((key, problem)) = plugin.cache.as_ref().and_then(|c| c.problem()) {
                return Err(invalid(&format!("plugins.{name}.cache.{key}"), &problem));
            }
            if let Some(prefix) = &plugin.tool_prefix
                && (prefix.len() > berth_model::manifest::MAX_PLUGIN_NAME_LEN + 1
                    || !prefix
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            {
                return Err(invalid(
                    &format!("plugins.{name}.tool_prefix"),
                    "must be at most 33 characters from [a-zA-Z0-9_-] (\"\" for none)",
                ));
            }
            if plugin
                .warm_instances
                .is_some_and(|n| n > berth_runtime::MAX_WARM_INSTANCES)
            {
                return Err(invalid(
                    &format!("plugins.{name}.warm_instances"),
                    &format!(
                        "must be between 0 and {} (0 keeps no instance between calls)",
                        berth_runtime::MAX_WARM_INSTANCES
                    ),
                ));
            }
        }
        if self.runtime.instance_reuse == ReuseConfig::Shared {
            return Err(invalid(
                "runtime.instance_reuse",
                "must be \"session\" or \"call\": handing one client's instance to another \
                 is a choice per plugin, for plugins that keep no state between calls \
                 (set instance_reuse = \"shared\" under [plugins.NAME])",
            ));
        }
        if let Some((key, problem)) = self.http.problem() {
            return Err(invalid(&format!("http.{key}"), &problem));
        }
        if let Some((key, problem)) = self.state.problem() {
            return Err(invalid(&format!("state.{key}"), &problem));
        }
        if let Some((key, problem)) = self.cache.problem() {
            return Err(invalid(&format!("cache.{key}"), &problem));
        }
        if let Some((key, problem)) = self.cluster.problem() {
            return Err(invalid(&format!("cluster.{key}"), &problem));
        }
        if let Some((key, problem)) = self.telemetry.problem() {
            return Err(invalid(&format!("telemetry.{key}"), &problem));
        }
        if let Some((key, problem)) = crate::access::roles_problem(&self.roles) {
            return Err(invalid(&format!("roles.{key}"), &problem));
        }
        Ok(())
    }

    /// Every `[plugins.NAME.cache]`, as the cache applies them.
    pub fn cache_policies(
        &self,
    ) -> std::collections::HashMap<String, berth_state::cache::CachePolicy> {
        self.plugins
            .iter()
            .filter(|(_, plugin)| plugin.enabled)
            .filter_map(|(name, plugin)| Some((name.clone(), plugin.cache?.policy())))
            .collect()
    }

    /// Everything plugin `name` runs with: its [`PluginConfig::settings`] and its
    /// [`Config::limits_for`].
    pub fn settings_for(&self, name: &str) -> berth_runtime::PluginSettings {
        berth_runtime::PluginSettings {
            limits: self.limits_for(name),
            ..self.plugin(name).settings(&self.runtime)
        }
    }

    /// The limits plugin `name` runs under: its `[plugins.NAME.limits]` over `[runtime]`.
    pub fn limits_for(&self, name: &str) -> berth_runtime::PluginLimits {
        match self.plugins.get(name) {
            Some(plugin) => self.merge_limits(&plugin.limits),
            None => self.default_limits(),
        }
    }

    /// The `[runtime]` limits, for calls made before a plugin's name is known (its
    /// `describe` at load).
    pub fn default_limits(&self) -> berth_runtime::PluginLimits {
        self.merge_limits(&LimitsConfig::default())
    }

    fn merge_limits(&self, own: &LimitsConfig) -> berth_runtime::PluginLimits {
        let r = &self.runtime;
        let kb = |v: u64| {
            usize::try_from(v)
                .unwrap_or(usize::MAX)
                .saturating_mul(1024)
        };
        let count = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        berth_runtime::PluginLimits {
            call_timeout: Duration::from_millis(own.call_timeout_ms.unwrap_or(r.call_timeout_ms)),
            max_memory_bytes: kb(own.max_memory_mb.unwrap_or(r.max_memory_mb)).saturating_mul(1024),
            max_concurrent_calls: count(own.max_concurrent_calls.unwrap_or(r.max_concurrent_calls)),
            max_queued_calls: count(own.max_queued_calls.unwrap_or(r.max_queued_calls)),
            max_result_bytes: kb(own.max_result_kb.unwrap_or(r.max_result_kb)),
            max_log_output_bytes: kb(own.max_log_output_kb.unwrap_or(r.max_log_output_kb)),
        }
    }

    /// Settings for plugin `name` (defaults when the config does not mention it).
    pub fn plugin(&self, name: &str) -> PluginConfig {
        self.plugins.get(name).cloned().unwrap_or_default()
    }
}

/// The parser's complaint as one log-friendly line: `line L, column C: message`.
fn one_line(text: &str, error: &toml::de::Error) -> String {
    let message = error
        .message()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("test.toml"))
    }

    #[test]
    fn polling_needs_a_tagged_source_and_a_sane_interval() {
        let ok =
            parse("[plugins.flip]\nsource = \"oci://r.io/a/flip:stable\"\nupdate = \"poll\"\n")
                .unwrap();
        assert_eq!(ok.plugins["flip"].update, UpdatePolicy::Poll);
        assert_eq!(ok.plugins["flip"].poll_interval_secs, 60);
        assert_eq!(ok.distribution.max_plugin_mb, 64);
        for (text, key) in [
            ("[plugins.flip]\nupdate = \"poll\"\n", "plugins.flip.update"),
            (
                "[plugins.flip]\nsource = \"oci://r.io/a/flip@sha256:00\"\nupdate = \"poll\"\n",
                "plugins.flip.update",
            ),
            (
                "[plugins.flip]\nsource = \"oci://r.io/a/f:1\"\nupdate = \"poll\"\npoll_interval_secs = 0\n",
                "plugins.flip.poll_interval_secs",
            ),
            (
                "[distribution]\nmax_plugin_mb = 0\n",
                "distribution.max_plugin_mb",
            ),
        ] {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(key), "{text}: {error}");
        }
    }

    #[test]
    fn signatures_web_pins_and_credentials_are_checked_together() {
        let ok = parse(
            "[distribution]\nrequire_signature = true\n\
             [distribution.credentials.\"ghcr.io\"]\ntoken_env = \"GHCR_TOKEN\"\n\
             [plugins.json]\nsource = \"oci://ghcr.io/a/json:1\"\n\
             verify = { cosign_key = \"cosign.pub\" }\n\
             [plugins.off]\nenabled = false\nsource = \"oci://ghcr.io/a/off:1\"\n",
        )
        .unwrap();
        assert!(ok.distribution.require_signature);
        assert_eq!(
            ok.plugins["json"].verify.as_ref().unwrap().cosign_key,
            PathBuf::from("cosign.pub")
        );
        for (text, key, why) in [
            (
                "[distribution]\nrequire_signature = true\n[plugins.j]\nsource = \"oci://r.io/j:1\"\n",
                "plugins.j.verify",
                "require_signature",
            ),
            (
                "[distribution]\nrequire_signature = true\n[plugins.j]\nsource = \"https://e.com/j.wasm\"\nsha256 = \"00\"\n",
                "plugins.j.source",
                "cannot carry a signature",
            ),
            (
                "[plugins.j]\nsource = \"https://e.com/j.wasm\"\n",
                "plugins.j.sha256",
                "sha256sum",
            ),
            ("[plugins.j]\nsha256 = \"00\"\n", "plugins.j.sha256", "no"),
            (
                "[plugins.j]\nverify = { cosign_key = \"k.pub\" }\n",
                "plugins.j.verify",
                "oci://",
            ),
            (
                "[distribution.credentials.\"r.io\"]\nusername_env = \"U\"\n",
                "distribution.credentials.\"r.io\"",
                "password_env",
            ),
        ] {
            let error = parse(text).unwrap_err().to_string();
            assert!(
                error.contains(key) && error.contains(why),
                "{text}: {error}"
            );
        }
    }

    #[test]
    fn state_backends_and_keyvalue_grants_are_checked() {
        let ok = parse(
            "[state]\nbackend = \"redis\"\nurl = \"redis://127.0.0.1:6379/2\"\n\
             [plugins.notes.grants]\nkeyvalue = { buckets = [\"notes\", \"*\"], max_mb = 2 }\n",
        )
        .unwrap();
        assert_eq!(ok.state.backend, StateBackendKind::Redis);
        assert_eq!(
            ok.state.redis_url().unwrap().as_deref(),
            Some("redis://127.0.0.1:6379/2")
        );
        let grant = ok.plugins["notes"].grants.resolve().keyvalue.unwrap();
        assert_eq!(grant.quota.max_bytes, 2 << 20);
        assert_eq!(grant.quota.max_value_bytes, 1 << 20);
        assert!(grant.allows("anything"));
        assert_eq!(Config::default().state.redis_url(), Ok(None));
        for (text, key, why) in [
            ("[state]\nbackend = \"redis\"\n", "state.url", "url_env"),
            (
                "[state]\nbackend = \"redis\"\nurl = \"redis://:pw@h:6379\"\n",
                "state.url",
                "url_env",
            ),
            (
                "[state]\nbackend = \"redis\"\nurl = \"http://h\"\n",
                "state.url",
                "redis://",
            ),
            ("[state]\nurl = \"redis://h\"\n", "state.url", "embedded"),
            (
                "[cluster]\nredis_url = \"redis://:pw@h:6379\"\n",
                "cluster.redis_url",
                "url_env",
            ),
            (
                "[cache]\nurl = \"redis://h\"\nurl_env = \"X\"\n",
                "cache.url_env",
                "exclusive",
            ),
            ("[state]\ntimeout_ms = 0\n", "state.timeout_ms", "between"),
            (
                "[plugins.n.grants]\nkeyvalue = { buckets = [] }\n",
                "plugins.n.grants.keyvalue.buckets",
                "at least one",
            ),
            (
                "[plugins.n.grants]\nkeyvalue = { buckets = [\"a/b\"] }\n",
                "plugins.n.grants.keyvalue.buckets[0]",
                "letters, digits",
            ),
            (
                "[plugins.n.grants]\nkeyvalue = { buckets = [\"a\"], max_value_kb = 0 }\n",
                "plugins.n.grants.keyvalue.max_value_kb",
                "between",
            ),
        ] {
            let error = parse(text).unwrap_err().to_string();
            assert!(
                error.contains(key) && error.contains(why),
                "{text}: {error}"
            );
        }
        let unset =
            parse("[state]\nbackend = \"redis\"\nurl_env = \"BERTH_TEST_UNSET_REDIS_URL\"\n")
                .unwrap();
        assert!(
            unset
                .state
                .redis_url()
                .unwrap_err()
                .contains("BERTH_TEST_UNSET_REDIS_URL")
        );
    }

    #[test]
    fn embedded_defaults_parse() {
        let config = Config::default();
        assert_eq!(config.runtime.call_timeout_ms, 30_000);
        assert_eq!(config.protocol.page_size, 100);
        assert!(config.plugins.is_empty());
    }

    #[test]
    fn empty_file_means_defaults() {
        assert_eq!(parse("").unwrap(), Config::default());
    }

    #[test]
    fn plugin_values_become_strings() {
        let config =
            parse("[plugins.echo]\nconfig = { greeting = \"hi\", count = 3, on = true }\n")
                .unwrap();
        let values = config.plugin("echo").values();
        assert_eq!(values["greeting"], "hi");
        assert_eq!(values["count"], "3");
        assert_eq!(values["on"], "true");
        assert!(config.plugin("other").enabled);
    }

    #[test]
    fn unknown_keys_name_line_and_key() {
        let err = parse("[runtime]\ncall_timout_ms = 5\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("call_timout_ms"), "{err}");
    }

    #[test]
    fn out_of_range_values_name_the_key() {
        let err = parse("[runtime]\ncall_timeout_ms = 0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("runtime.call_timeout_ms"), "{err}");
        let err = parse("[plugins.\"a b\"]\n").unwrap_err().to_string();
        assert!(err.contains("plugins.a b"), "{err}");
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<EnvOverride> {
        pairs
            .iter()
            .filter_map(|(k, v)| EnvOverride::parse(k, v))
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn with_env(text: &str, pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::parse_with_env(text, Path::new("test.toml"), &env(pairs))
    }

    #[test]
    fn env_overrides_win_over_the_file_and_reach_plugin_values() {
        let config = with_env(
            "[runtime]\ncall_timeout_ms = 100\n[plugins.echo]\nconfig = { greeting = \"file\" }\n",
            &[
                ("BERTH_RUNTIME__CALL_TIMEOUT_MS", "5000"),
                ("BERTH_PLUGINS__ECHO__CONFIG__GREETING", "from env"),
                ("BERTH_PLUGINS__TIME__ENABLED", "false"),
                ("BERTH_PLUGINS__TIME__VERSION", "^1.2"),
            ],
        )
        .unwrap();
        assert_eq!(config.runtime.call_timeout_ms, 5000);
        assert_eq!(config.plugin("echo").values()["greeting"], "from env");
        let time = config.plugin("time");
        assert!(!time.enabled);
        assert_eq!(time.version.unwrap().to_string(), "^1.2");
    }

    #[test]
    fn names_without_a_key_path_are_not_overrides() {
        assert!(EnvOverride::parse("BERTH_LOG", "debug").is_none());
        assert!(EnvOverride::parse("BERTH_CONFIG", "/etc/berth.toml").is_none());
        assert!(EnvOverride::parse("HOME__X", "y").is_none());
        assert!(
            EnvOverride::parse("BERTH_RUNTIME____X", "1")
                .unwrap()
                .is_err()
        );
    }

    #[test]
    fn bad_env_overrides_are_refused_by_name() {
        let err = with_env("", &[("BERTH_RUNTIME__CALL_TIMOUT_MS", "5")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("BERTH_RUNTIME__CALL_TIMOUT_MS"), "{err}");
        assert!(err.contains("call_timout_ms"), "{err}");
        let err = with_env("", &[("BERTH_RUNTIME__CALL_TIMEOUT_MS", "0")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("BERTH_RUNTIME__CALL_TIMEOUT_MS"), "{err}");
        assert!(err.contains("between 1 and 3600000"), "{err}");
        let err = with_env("", &[("BERTH_RUNTIME__CALL_TIMEOUT_MS", "soon")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("BERTH_RUNTIME__CALL_TIMEOUT_MS"), "{err}");
        let err = with_env("", &[("BERTH_RUNTIME__CALL_TIMEOUT_MS__X", "1")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("runtime.call_timeout_ms.x"), "{err}");
        let file = "[runtime]\ncall_timeout_ms = 5\n";
        let err = with_env(file, &[("BERTH_RUNTIME__CALL_TIMEOUT_MS__X", "1")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a value, not a table"), "{err}");
    }

    #[test]
    fn plugin_limits_override_the_runtime_defaults_key_by_key() {
        let config = parse(
            "[runtime]\nmax_concurrent_calls = 2\nmax_result_kb = 64\n\
             [plugins.echo.limits]\ncall_timeout_ms = 250\nmax_memory_mb = 16\nmax_queued_calls = 0\n",
        )
        .unwrap();
        let echo = config.limits_for("echo");
        assert_eq!(echo.call_timeout, Duration::from_millis(250));
        assert_eq!(echo.max_memory_bytes, 16 << 20);
        assert_eq!(echo.max_queued_calls, 0);
        assert_eq!(echo.max_concurrent_calls, 2);
        assert_eq!(echo.max_result_bytes, 64 << 10);
        assert_eq!(echo.max_log_output_bytes, 1024 << 10);
        let other = config.limits_for("other");
        assert_eq!(other.call_timeout, Duration::from_secs(30));
        assert_eq!(other.max_queued_calls, 32);
        // The embedded defaults are the runtime's own defaults.
        assert_eq!(
            Config::default().limits_for("x"),
            berth_runtime::PluginLimits::default()
        );
    }

    #[test]
    fn edits_of_start_up_only_runtime_settings_are_named() {
        let before = parse("[runtime]\nmax_instances = 10\n").unwrap().runtime;
        let after =
            parse("[runtime]\nmax_instances = 20\ncompiler = \"winch\"\ncall_timeout_ms = 5\n")
                .unwrap()
                .runtime;
        assert_eq!(
            before.restart_only_changes(&after),
            [
                ("max_instances", "20".to_string()),
                ("compiler", "Winch".to_string())
            ],
            "call_timeout_ms applies live"
        );
        assert!(after.restart_only_changes(&after).is_empty());
    }

    #[test]
    fn kept_instances_wait_30_s_unless_the_operator_says_otherwise() {
        assert_eq!(parse("").unwrap().runtime.instance_idle_secs, 30);
        let config = parse("[runtime]\ninstance_idle_secs = 5\n").unwrap();
        assert_eq!(config.runtime.instance_idle_secs, 5);
        for bad in ["0", "86401"] {
            let err = parse(&format!("[runtime]\ninstance_idle_secs = {bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("runtime.instance_idle_secs"), "{err}");
            assert!(err.contains("between 1 and 86400"), "{err}");
        }
    }

    #[test]
    fn instance_reuse_is_per_session_by_default_and_shared_only_per_plugin() {
        use berth_runtime::InstanceReuse::{Call, Session, Shared};
        let reuse = |toml: &str, name: &str| {
            let settings = parse(toml).unwrap().settings_for(name);
            (settings.reuse, settings.warm_instances)
        };
        let session = DEFAULT_SESSION_INSTANCES;
        assert_eq!(reuse("", "echo"), (Session, session));
        assert_eq!(
            reuse("[runtime]\ninstance_reuse = \"call\"\n", "echo"),
            (Call, 0)
        );
        // A plugin's own choice wins over the runtime's, either way.
        let toml = "[runtime]\ninstance_reuse = \"call\"\n[plugins.echo]\ninstance_reuse = \"session\"\nwarm_instances = 3\n";
        assert_eq!(reuse(toml, "echo"), (Session, 3));
        assert_eq!(reuse(toml, "other"), (Call, 0));
        let toml = "[plugins.echo]\ninstance_reuse = \"call\"\nwarm_instances = 3\n";
        assert_eq!(reuse(toml, "echo"), (Call, 0));
        // `warm_instances` alone keeps meaning what it meant before sessions: shared.
        assert_eq!(
            reuse("[plugins.echo]\nwarm_instances = 4\n", "echo"),
            (Shared, 4)
        );
        let toml = "[plugins.echo]\ninstance_reuse = \"shared\"\n";
        assert_eq!(reuse(toml, "echo"), (Shared, DEFAULT_SHARED_INSTANCES));
        let err = parse("[runtime]\ninstance_reuse = \"shared\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`runtime.instance_reuse` must be \"session\" or \"call\"")
                && err.contains("[plugins.NAME]"),
            "{err}"
        );
        let err = parse("[runtime]\ninstance_reuse = \"process\"\n")
            .unwrap_err()
            .to_string();
        // The parser names the place and the choices.
        assert!(err.contains("line 2") && err.contains("`session`"), "{err}");
    }

    #[test]
    fn out_of_range_limits_name_their_key() {
        let err = parse("[runtime]\nmax_concurrent_calls = 0\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`runtime.max_concurrent_calls` must be between 1 and 1024"),
            "{err}"
        );
        let err = parse("[plugins.echo.limits]\nmax_result_kb = 0\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`plugins.echo.limits.max_result_kb` must be between 1"),
            "{err}"
        );
        let err = parse("[plugins.echo.limits]\nmax_stack = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_stack"), "{err}");
        let err = parse("[plugins.echo]\nwarm_instances = 5000\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`plugins.echo.warm_instances` must be between 0 and 1024"),
            "{err}"
        );
        let config = parse("[plugins.echo]\nwarm_instances = 4\n").unwrap();
        assert_eq!(config.settings_for("echo").warm_instances, 4);
        let err = with_env(
            "",
            &[("BERTH_PLUGINS__ECHO__LIMITS__MAX_MEMORY_MB", "9999")],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("BERTH_PLUGINS__ECHO__LIMITS__MAX_MEMORY_MB"),
            "{err}"
        );
    }

    #[test]
    fn version_requirements_parse_and_refuse() {
        let config = parse("[plugins.echo]\nversion = \">=1.2, <2\"\n").unwrap();
        let echo = config.plugin("echo");
        assert!(echo.version_refuses("1.4.0").is_none());
        assert!(echo.version_refuses("2.0.0").is_some());
        assert!(echo.version_refuses("1.1.9").is_some());
        assert!(config.plugin("other").version_refuses("0.0.1").is_none());
        let err = parse("[plugins.echo]\nversion = \"one\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
    }
}
