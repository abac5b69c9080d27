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
}

/// `[runtime]`: limits applied to every plugin call.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Longest a call may run, in milliseconds.
    #[serde(default = "RuntimeConfig::default_timeout")]
    pub call_timeout_ms: u64,
    /// Cap on each linear memory of a plugin, in MiB.
    #[serde(default = "RuntimeConfig::default_memory")]
    pub max_memory_mb: u64,
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
    /// Values the plugin reads through its `config` import.
    #[serde(default)]
    pub config: BTreeMap<String, toml::Value>,
    /// Which plugin versions may be served (`"^1.2"`, `">=2, <3"`); a file whose
    /// version does not match is refused. Unset: any version.
    #[serde(default)]
    pub version: Option<semver::VersionReq>,
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
    /// The call timeout as a duration.
    pub fn call_timeout(&self) -> Duration {
        Duration::from_millis(self.call_timeout_ms)
    }
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            call_timeout_ms: Self::default_timeout(),
            max_memory_mb: Self::default_memory(),
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

impl Default for PluginConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            config: BTreeMap::new(),
            version: None,
        }
    }
}

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
        if !(1..=3_600_000).contains(&self.runtime.call_timeout_ms) {
            return Err(invalid(
                "runtime.call_timeout_ms",
                "must be between 1 and 3600000 (one hour)",
            ));
        }
        if !(1..=4096).contains(&self.runtime.max_memory_mb) {
            return Err(invalid(
                "runtime.max_memory_mb",
                "must be between 1 and 4096",
            ));
        }
        if !(1..=10_000).contains(&self.protocol.page_size) {
            return Err(invalid("protocol.page_size", "must be between 1 and 10000"));
        }
        for name in self.plugins.keys() {
            if !crate::manifest::is_valid_name(name, crate::manifest::MAX_PLUGIN_NAME_LEN) {
                return Err(invalid(
                    &format!("plugins.{name}"),
                    "is not a valid plugin name: use 1 to 32 characters from [a-zA-Z0-9_-]",
                ));
            }
        }
        Ok(())
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
