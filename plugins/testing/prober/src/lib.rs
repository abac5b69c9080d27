//! A Berth test plugin that reaches for what a sandbox must control: files, environment
//! variables and network connections. It declares no needs, so everything it gets comes
//! from the operator's grants alone; each tool reports what happened instead of failing,
//! so tests can read the outcome.

use berth_plugin_sdk::prelude::*;

/// Reads a file and returns its text, or `error: …` with the OS reason.
#[tool]
pub fn read_file(path: String) -> String {
    match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => format!("error: {e}"),
    }
}

/// Writes `text` to a file; returns `written` or `error: …`.
#[tool]
pub fn write_file(path: String, text: String) -> String {
    match std::fs::write(&path, text) {
        Ok(()) => "written".to_string(),
        Err(e) => format!("error: {e}"),
    }
}

/// The value of an environment variable, or `<unset>`.
#[tool]
pub fn env(name: String) -> String {
    std::env::var(&name).unwrap_or_else(|_| "<unset>".to_string())
}

/// Every environment variable the plugin sees, as `NAME=value` lines.
#[tool]
pub fn env_all() -> String {
    let mut vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
    vars.sort();
    vars.join("\n")
}

/// Opens a TCP connection to `address` (`ip:port`); returns `connected` or `error: …`.
#[tool]
pub fn connect(address: String) -> String {
    let address: std::net::SocketAddr = match address.parse() {
        Ok(a) => a,
        Err(e) => return format!("error: bad address: {e}"),
    };
    match std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_secs(5)) {
        Ok(_) => "connected".to_string(),
        Err(e) => format!("error: {e}"),
    }
}

/// Resolves `host` to addresses (wasi:sockets name lookup); returns `resolved: …` or
/// `error: …`.
#[tool]
pub fn resolve(host: String) -> String {
    use std::net::ToSocketAddrs;
    match (host.as_str(), 80).to_socket_addrs() {
        Ok(addresses) => format!("resolved: {:?}", addresses.collect::<Vec<_>>()),
        Err(e) => format!("error: {e}"),
    }
}

berth_plugin_sdk::export!(
    name: "prober",
    tools: [read_file, write_file, env, env_all, connect, resolve],
);
