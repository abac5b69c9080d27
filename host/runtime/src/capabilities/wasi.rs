//! The WASI context of one call, built from the plugin's grants: preopened folders,
//! environment variables and the socket address check. Nothing else is ever granted:
//! no arguments, no stdin, no inherited environment, no clock or random beyond WASI's
//! defaults, and no network unless a rule allows the destination.
//!
//! Folders are checked when the plugin is loaded (see `berth::plugins`); one that
//! disappears afterwards is left out of the call's context and logged, so the plugin
//! sees "not found" rather than the host failing the call for a reason the plugin cannot
//! act on.

use std::sync::Arc;

use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use super::PLUGIN_TARGET;
use super::stdio::CapturedOutput;
use berth_model::policy::Grants;

/// The WASI context for one call of `plugin` under `grants`.
pub(crate) fn context(
    plugin: &Arc<str>,
    grants: &Arc<Grants>,
    stdout: CapturedOutput,
    stderr: CapturedOutput,
) -> WasiCtx {
    let mut builder = WasiCtxBuilder::new();
    builder.stdout(stdout).stderr(stderr);
    for folder in &grants.folders {
        let perms = match folder.write {
            true => FsPerms::ReadWrite,
            false => FsPerms::ReadOnly,
        };
        if let Err(error) = builder.preopened_dir(&folder.host, &folder.guest, perms) {
            tracing::error!(
                plugin = %plugin,
                host = %folder.host.display(),
                guest = %folder.guest,
                %error,
                "a granted folder cannot be opened; the call runs without it"
            );
        }
    }
    let env: Vec<(&String, &String)> = grants.env.iter().collect();
    builder.envs(&env);
    // Spelled out even where they are the defaults: "no network unless granted" is a
    // promise of this host and must not change silently with a wasmtime upgrade.
    let networked = !grants.network.is_empty();
    // Name lookups stay off even with network grants: wasmtime can only allow them all,
    // and a lookup of any name reaches DNS servers outside (data can leave in the names
    // asked). Nothing a plugin may reach needs one: a raw socket is only allowed to an
    // address a rule names literally, and outgoing HTTP is resolved by the host after
    // its grant check.
    builder
        .allow_ip_name_lookup(false)
        .allow_tcp(networked)
        .allow_udp(false);
    let (grants, plugin) = (Arc::clone(grants), Arc::clone(plugin));
    builder.socket_addr_check(move |addr, use_| {
        let allowed = match use_ {
            // The OS binds a connecting socket to the wildcard address first; allowing
            // that grants nothing by itself, since the connect is checked next.
            SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
            SocketAddrUse::TcpConnect => grants.allows_socket(addr),
            // Plugins serve through MCP, never by listening; UDP is never granted.
            SocketAddrUse::TcpListen
            | SocketAddrUse::TcpAccept
            | SocketAddrUse::UdpBind
            | SocketAddrUse::UdpSend
            | SocketAddrUse::UdpReceive => false,
        };
        if !allowed {
            tracing::warn!(
                target: PLUGIN_TARGET,
                plugin = %plugin,
                address = %addr,
                use_ = ?use_,
                "network access denied: not in the plugin's grants"
            );
        }
        Box::pin(async move { allowed })
    });
    builder.build()
}
