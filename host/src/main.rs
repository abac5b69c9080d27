//! The `berth` binary: parse the command line, send logs to stderr (stdout is the MCP
//! channel under stdio), and hand over to the library.

use std::process::ExitCode;

use anyhow::Context as _;
use berth::app::AdminSocketPlace;
use berth::cli::{Cli, Command, PluginsCommand, TokenCommand};
use clap::Parser;

/// jemalloc instead of glibc's allocator: a loaded HTTP call spent about 13 % of its
/// time in glibc's `malloc`/`free`, and with jemalloc HTTP at 16 clients went from
/// 0.63–0.66× to 0.74–0.85× of the native server's throughput (BENCHMARKS.md, issue 7).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, which it reads from this symbol at start-up (an operator's
/// `_RJEM_MALLOC_CONF` environment variable still overrides them).
///
/// - `background_thread:true,dirty_decay_ms:100,muzzy_decay_ms:0`: most of Berth's heap
///   is allocated while plugins load and then freed. jemalloc's default keeps freed pages
///   resident for ten seconds, and purges only when some thread allocates, so an idle
///   server with 50 plugins stayed 18 MiB larger (even with a one-second decay). Purging
///   at once (`dirty_decay_ms:0`, before) instead cost a loaded server an `madvise`, and
///   its TLB shootdown on every core, whenever a call's frees emptied a run of pages,
///   plus the page faults to get them back on the next call: about 4 + 2 µs of a fresh
///   HTTP call. A background thread purging what has stayed free for 100 ms does both:
///   under load pages are reused before they age (HTTP at 16 clients: 10 % less CPU per
///   fresh call, 5 % per warm call), and idle they go back with no allocation to prompt
///   it, but for a few MiB jemalloc leaves behind (an idle 50-plugin server holds 23–25
///   MiB of anonymous memory against 19–20 MiB purging at once, the same 8 s later;
///   BENCHMARKS.md, issue 7).
/// - `tcache_max:262144`: a fresh call frees blocks larger than the thread cache's
///   default 32 KiB limit (the context of each core instance in its store, sized by the
///   module's functions, tables and globals). Handed back to the arena, each was purged
///   and faulted in again by the next call: 12 % of a loaded server's CPU when purging
///   was immediate. Caching blocks up to 256 KiB per thread keeps them for the next
///   call, which took HTTP at 16 clients with fresh instances from about 7 700 to 11 300
///   calls/s (BENCHMARKS.md, issue 7).
#[unsafe(export_name = "_rjem_malloc_conf")]
#[allow(non_upper_case_globals)]
pub static malloc_conf: Option<&'static std::ffi::c_char> =
    // SAFETY: a pointer to the first byte of a NUL-terminated string literal, which
    // lives for the whole program; jemalloc only reads it.
    Some(unsafe {
        &*c"background_thread:true,dirty_decay_ms:100,muzzy_decay_ms:0,tcache_max:262144".as_ptr()
    });

fn init_logging(cli: &Cli, tracer: Option<opentelemetry_sdk::trace::SdkTracer>) {
    let spec = match &cli.log_level {
        Some(level) => level.clone(),
        None => std::env::var("BERTH_LOG").unwrap_or_else(|_| "info".to_string()),
    };
    let filter = berth::logging::filter(&spec);
    berth::logging::init(filter, cli.log_format, tracer);
}

/// The trace exporter `serve`'s config asks for. It is read here, before the log is set
/// up, because the exporter is a layer of the process's one subscriber; a config that
/// does not load is reported by `serve` itself a moment later, so it only means no
/// exporter here.
fn start_telemetry(cli: &Cli) -> anyhow::Result<Option<opentelemetry_sdk::trace::SdkTracer>> {
    let Command::Serve { config, .. } = &cli.command else {
        return Ok(None);
    };
    let Ok(env) = berth::config::EnvOverride::from_process() else {
        return Ok(None);
    };
    match berth::config::Config::load(config.as_deref(), &env) {
        Ok(config) => Ok(berth::telemetry::start(&config.telemetry)?),
        Err(_) => Ok(None),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let tracer = match start_telemetry(&cli) {
        Ok(tracer) => tracer,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(&cli, tracer);
    let code = match execute(cli.command).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    };
    berth::telemetry::shutdown();
    code
}

async fn execute(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve {
            plugins,
            config,
            admin_socket,
            compile_cache,
            http,
            stdio,
        } => {
            let shutdown = berth::shutdown::Shutdown::new();
            shutdown.on_signals();
            let options = berth::app::ServeOptions {
                plugins_dir: plugins,
                config_file: config,
                env: berth::config::EnvOverride::from_process()?,
                admin_socket: match admin_socket.as_str() {
                    "auto" => AdminSocketPlace::Auto,
                    "off" => AdminSocketPlace::Off,
                    path => AdminSocketPlace::Path(path.into()),
                },
                compile_cache: compile_cache.dir(),
                http,
                stdio,
            };
            berth::app::run(options, shutdown)
                .await
                .context("berth serve failed")?;
            // Tokio's stdin read blocks a thread that cannot be interrupted; exiting here
            // avoids waiting on it once the session is over and stdout is flushed. The
            // spans of the last requests go out first.
            berth::telemetry::shutdown();
            std::process::exit(0);
        }
        Command::Inspect {
            file,
            json,
            compile_cache,
        } => {
            let text = berth::commands::inspect(&file, json, compile_cache.dir()).await?;
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Call {
            file,
            tool,
            args,
            config,
            config_values,
            compile_cache,
        } => {
            let (text, is_error) = berth::commands::call(
                &file,
                &tool,
                &args,
                config.as_deref(),
                config_values.into_iter().collect(),
                compile_cache.dir(),
            )
            .await?;
            println!("{text}");
            Ok(if is_error {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Plugins {
            command: PluginsCommand::List { socket, json },
        } => {
            // With --socket the JSON is one status object; discovery gives an array,
            // whatever the number of servers found, so scripts see a stable shape.
            let (statuses, text) = match socket {
                Some(socket) => {
                    let status = berth::admin::query(&socket).await?;
                    let text = serde_json::to_string_pretty(&status)?;
                    (vec![status], text)
                }
                None => {
                    let statuses = berth::admin::discover().await?;
                    let text = serde_json::to_string_pretty(&statuses)?;
                    (statuses, text)
                }
            };
            if json {
                println!("{text}");
            } else {
                let tables: Vec<String> = statuses.iter().map(berth::admin::render).collect();
                print!("{}", tables.join("\n"));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugins {
            command: PluginsCommand::Update { name, config },
        } => {
            println!(
                "{}",
                berth::commands::update(name.as_deref(), &config).await?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugins {
            command:
                PluginsCommand::Pull {
                    reference,
                    config,
                    key,
                },
        } => {
            println!(
                "{}",
                berth::commands::pull(&reference, config.as_deref(), key.as_deref()).await?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugins {
            command:
                PluginsCommand::Sign {
                    reference,
                    key,
                    config,
                },
        } => {
            println!(
                "{}",
                berth::commands::sign(&reference, &key, config.as_deref()).await?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugins {
            command: PluginsCommand::Keygen { dir },
        } => {
            println!("{}", berth::commands::keygen(&dir)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugins {
            command:
                PluginsCommand::Push {
                    file,
                    reference,
                    config,
                    sign,
                },
        } => {
            println!(
                "{}",
                berth::commands::push(&file, &reference, config.as_deref(), sign.as_deref())
                    .await?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            command: TokenCommand::New { name, roles },
        } => {
            let (token, digest) = berth::auth::new_token().context("making a random token")?;
            let roles: Vec<String> = roles.iter().map(|r| format!("{r:?}")).collect();
            println!("token (give this to the client; it is not stored anywhere):\n  {token}\n");
            println!("config entry (add it to the Berth config file):");
            println!(
                "[[http.auth.tokens]]\nname = {name:?}\nsha256 = \"{digest}\"\nroles = [{}]",
                roles.join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::DefaultConfig => {
            print!("{}", berth::config::DEFAULT_CONFIG);
            Ok(ExitCode::SUCCESS)
        }
        Command::New {
            name,
            lang,
            dir,
            sdk,
        } => {
            let project = berth::commands::new_plugin(&name, lang, &dir, sdk.as_deref())?;
            eprintln!(
                "wrote {}; see its README.md for the build command",
                project.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
