//! `berth-native-baseline [--http ADDR]`: the `text` plugin's tools served natively by a
//! plain rmcp server, over stdio (the default) or Streamable HTTP. Logs go to stderr only
//! (stdout is the MCP channel under stdio), filtered by `BERTH_LOG` like Berth's.

use anyhow::Context as _;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "The text plugin's tools served natively: the limit Berth is measured against"
)]
struct Cli {
    /// Serve Streamable HTTP at `/mcp` on this address (`127.0.0.1:0` picks a free port)
    /// instead of stdio; the address is logged as `listening addr=…`.
    #[arg(long, value_name = "ADDR")]
    http: Option<std::net::SocketAddr>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("BERTH_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    match cli.http {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            let local = listener.local_addr().context("no local address")?;
            // Printed whatever the log filter, so scripts can always find the port.
            eprintln!("listening addr={local}");
            berth_native_baseline::serve_http(listener).await?;
        }
        None => berth_native_baseline::serve_stdio().await?,
    }
    Ok(())
}
