//! The command line: what each `berth` subcommand takes. Parsing only; `main` acts on it.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Berth: an MCP server whose tools and resources come from sandboxed WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, long_about = None)]
pub struct Cli {
    /// Log filter for stderr (e.g. `info`, `berth=debug`); overrides BERTH_LOG.
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP with every plugin in a folder: over stdio, or over Streamable HTTP with
    /// `--http` (add `--stdio` for both).
    Serve {
        /// Folder of plugin components (`*.wasm`).
        #[arg(long, value_name = "DIR", env = "BERTH_PLUGINS")]
        plugins: PathBuf,
        /// TOML config file layered over the embedded defaults.
        #[arg(long, value_name = "FILE", env = "BERTH_CONFIG")]
        config: Option<PathBuf>,
        /// Admin socket for `berth plugins list`: `auto` (in $XDG_RUNTIME_DIR/berth or
        /// the temp folder), `off`, or a path.
        #[arg(
            long,
            value_name = "auto|off|PATH",
            env = "BERTH_ADMIN_SOCKET",
            default_value = "auto"
        )]
        admin_socket: String,
        #[command(flatten)]
        compile_cache: CompileCache,
        /// Serve MCP over Streamable HTTP on this address: `IP:PORT`, or a bare port for
        /// loopback (`8080` is `127.0.0.1:8080`); wins over `[http] listen`. Stdio is
        /// then off unless `--stdio` is given.
        #[arg(long, value_name = "ADDR", env = "BERTH_HTTP", value_parser = crate::config::parse_listen)]
        http: Option<std::net::SocketAddr>,
        /// Serve stdio as well as HTTP; the process then ends when the stdio client
        /// closes stdin.
        #[arg(long)]
        stdio: bool,
    },
    /// Make API tokens for `[[http.auth.tokens]]`.
    Token {
        /// What to do.
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Look at the plugins of running servers.
    Plugins {
        /// What to do.
        #[command(subcommand)]
        command: PluginsCommand,
    },
    /// Print a plugin's manifest: tools with schemas, resources, contract version.
    Inspect {
        /// The plugin component: a `.wasm` file, or `oci://REGISTRY/REPO:TAG` (fetched
        /// into the local store first).
        file: PathBuf,
        /// Print JSON instead of a summary.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        compile_cache: CompileCache,
    },
    /// Run one tool of a plugin without a client and print the MCP result.
    Call {
        /// The plugin component.
        file: PathBuf,
        /// Tool name, with or without the `<plugin>_` prefix.
        tool: String,
        /// Arguments as a JSON object.
        #[arg(long, default_value = "{}")]
        args: String,
        /// A config file whose settings for this plugin (values, grants) apply.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// A config value for the plugin (repeatable; wins over the config file's).
        #[arg(long = "config-value", value_name = "KEY=VALUE", value_parser = parse_key_value)]
        config_values: Vec<(String, String)>,
        #[command(flatten)]
        compile_cache: CompileCache,
    },
    /// Print the embedded default configuration.
    DefaultConfig,
    /// Start a plugin project: a manifest, one tool with a test, and a README with the
    /// build and try-it commands.
    New {
        /// The plugin's name (also the folder's).
        name: String,
        /// The language of the project.
        #[arg(long, value_enum, default_value_t = Lang::Rust)]
        lang: Lang,
        /// The folder to make it in.
        #[arg(long, value_name = "DIR", default_value = ".")]
        dir: PathBuf,
        /// The `plugin-sdk` folder of a Berth checkout (default: the one this binary was
        /// built from).
        #[arg(long, value_name = "DIR")]
        sdk: Option<PathBuf>,
    },
}

/// `--compile-cache`, for every command that loads plugins.
#[derive(Debug, clap::Args)]
pub struct CompileCache {
    /// Where compiled plugins are kept between runs: `auto`
    /// ($XDG_CACHE_HOME/berth/compiled or ~/.cache/berth/compiled), `off`, or a folder.
    /// Python and JavaScript plugins take seconds to compile, Rust ones a fraction of one.
    #[arg(
        long = "compile-cache",
        value_name = "auto|off|DIR",
        env = "BERTH_COMPILE_CACHE",
        default_value = "auto"
    )]
    pub value: String,
}

impl CompileCache {
    /// The folder the value names: `auto` is the user's cache folder (none when it cannot
    /// be found), `off` none.
    pub fn dir(&self) -> Option<PathBuf> {
        match self.value.as_str() {
            "auto" => crate::runtime::cache::default_dir(),
            "off" => None,
            dir => Some(dir.into()),
        }
    }
}

/// Languages `berth new` writes projects in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust, with `berth-plugin-sdk`.
    Rust,
    /// Python, with the Python `berth-plugin-sdk` on componentize-py.
    Python,
    /// TypeScript, with `@berth/plugin-sdk` on componentize-js.
    Js,
}

/// `berth plugins …`.
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List each running server's plugin files: name, version, contract, state, tools
    /// and last error.
    List {
        /// The admin socket of one server (default: every server of this user).
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Fetch a plugin from an OCI registry into the local store; prints its digests and
    /// where it is kept.
    Pull {
        /// `oci://REGISTRY/REPOSITORY:TAG` or `oci://REGISTRY/REPOSITORY@sha256:…`.
        reference: String,
        /// Config file whose `[distribution]` settings apply.
        #[arg(long, value_name = "FILE", env = "BERTH_CONFIG")]
        config: Option<PathBuf>,
        /// Refuse it unless it carries a cosign signature by this public key.
        #[arg(long, value_name = "cosign.pub")]
        key: Option<PathBuf>,
    },
    /// Move the pins in `berth.lock` (beside the config file) to what each plugin's
    /// source names now, and print each plugin's old → new digest. A running server
    /// with that config sees the lock change and swaps the new builds in.
    Update {
        /// Only this plugin (default: every plugin with a `source`).
        name: Option<String>,
        /// The config file whose sources to update; `berth.lock` sits beside it.
        #[arg(long, value_name = "FILE", env = "BERTH_CONFIG")]
        config: PathBuf,
    },
    /// Publish a plugin component to an OCI registry (the Wasm artifact layout `wkg`
    /// uses); prints the manifest digest to pin.
    Push {
        /// The plugin (`.wasm` component).
        file: PathBuf,
        /// `oci://REGISTRY/REPOSITORY:TAG`.
        reference: String,
        /// Config file whose `[distribution]` settings apply.
        #[arg(long, value_name = "FILE", env = "BERTH_CONFIG")]
        config: Option<PathBuf>,
        /// Sign it too, with this private key (its password in `COSIGN_PASSWORD`).
        #[arg(long, value_name = "cosign.key")]
        sign: Option<PathBuf>,
    },
    /// Sign what a reference names now with a private key (a cosign signature, stored
    /// beside it in the registry as `sha256-DIGEST.sig`).
    Sign {
        /// `oci://REGISTRY/REPOSITORY:TAG` or `…@sha256:…`.
        reference: String,
        /// The private key (its password in `COSIGN_PASSWORD`).
        #[arg(long, value_name = "cosign.key")]
        key: PathBuf,
        /// Config file whose `[distribution]` settings apply.
        #[arg(long, value_name = "FILE", env = "BERTH_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Make a signing key pair: `cosign.key` (encrypted with `COSIGN_PASSWORD`) and
    /// `cosign.pub`, the same formats cosign uses.
    Keygen {
        /// The folder to write them in.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

/// `berth token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a new random token (give it to the client) and the config entry holding
    /// its SHA-256 (put it in the config; the token itself is never stored).
    New {
        /// The name the token's caller is known by in logs and `[roles]` checks.
        #[arg(long, default_value = "client")]
        name: String,
        /// Roles to grant (repeatable).
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
    },
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got `{text}`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_takes_the_documented_form() {
        let cli = Cli::try_parse_from(["berth", "serve", "--plugins", "p", "--config", "c.toml"])
            .unwrap();
        assert!(matches!(cli.command, Command::Serve { .. }));
        assert!(
            Cli::try_parse_from(["berth", "call", "x.wasm", "t", "--config-value", "novalue"])
                .is_err()
        );
    }

    #[test]
    fn a_bare_http_port_binds_loopback() {
        let http = |arg: &str| match Cli::try_parse_from([
            "berth",
            "serve",
            "--plugins",
            "p",
            "--http",
            arg,
        ]) {
            Ok(Cli {
                command: Command::Serve { http, .. },
                ..
            }) => Ok(http.unwrap().to_string()),
            Ok(_) => unreachable!("serve parses as serve"),
            Err(error) => Err(error.to_string()),
        };
        assert_eq!(http("8080").unwrap(), "127.0.0.1:8080");
        assert_eq!(http("0.0.0.0:9000").unwrap(), "0.0.0.0:9000");
        assert_eq!(http("[::1]:9000").unwrap(), "[::1]:9000");
        assert!(
            http("localhost:80")
                .unwrap_err()
                .contains("is not a port or an IP address")
        );
    }
}
