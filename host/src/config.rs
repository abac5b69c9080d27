//! Typed, validated configuration: the embedded defaults, layered under an optional TOML
//! file. Loading reads and checks; it does not apply anything.
//!
//! Unknown keys are errors rather than warnings, so a typo (`call_timout_ms`) is caught
//! at start-up with its line and column instead of silently running on defaults.

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

impl Default for Config {
    fn default() -> Self {
        Self::parse(DEFAULT_CONFIG, Path::new("<embedded defaults>"))
            .expect("the embedded default config is valid; a unit test checks it")
    }
}

impl Config {
    /// Loads the defaults, then the file at `path` over them when one is given.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
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
        self.plugins.get(name).cloned().unwrap_or(PluginConfig {
            enabled: true,
            config: BTreeMap::new(),
        })
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
}
