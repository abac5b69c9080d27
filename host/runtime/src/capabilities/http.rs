//! Outgoing HTTP (`wasi:http/outgoing-handler`): every request a plugin makes is checked
//! against its `network` grants by scheme, host and port before anything is sent. A
//! request that no rule allows fails with wasi:http's `HTTP-request-denied` error (the
//! plugin can tell the client exactly that) and one log line naming the plugin and the
//! destination; an allowed one goes through wasmtime-wasi-http's own client (hyper,
//! rustls with the webpki roots).
//!
//! Grant needed: `[plugins.NAME.grants] network = ["https://host", …]`. The check is on
//! the URL's host name, which is what the operator wrote; raw sockets, which only see
//! addresses, are checked separately (see `wasi.rs`).

use std::future::Future;
use std::sync::Arc;

use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use super::PLUGIN_TARGET;
use berth_model::policy::Grants;

/// The per-call hooks wasi:http consults; only `send_request` is Berth's own.
pub(crate) struct HttpPolicy {
    plugin: Arc<str>,
    grants: Arc<Grants>,
}

impl HttpPolicy {
    /// The policy for one call of `plugin`.
    pub(crate) fn new(plugin: &Arc<str>, grants: &Arc<Grants>) -> Self {
        Self {
            plugin: Arc::clone(plugin),
            grants: Arc::clone(grants),
        }
    }

    /// Whether `uri` may be requested, with the scheme, host and port it was judged by.
    fn allows(&self, uri: &http::Uri) -> (bool, String) {
        let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
        let host = uri.host().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "http" { 80 } else { 443 });
        let destination = format!("{scheme}://{}:{port}", uri.host().unwrap_or_default());
        (self.grants.allows_url(&scheme, host, port), destination)
    }
}

/// What `send_request` returns: the response and a future that finishes its I/O.
type Sent = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for HttpPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Sent {
        let (allowed, destination) = self.allows(request.uri());
        if !allowed {
            tracing::warn!(
                target: PLUGIN_TARGET,
                plugin = %self.plugin,
                %destination,
                method = %request.method(),
                "network access denied: not in the plugin's grants"
            );
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        tracing::debug!(
            target: PLUGIN_TARGET,
            plugin = %self.plugin,
            %destination,
            method = %request.method(),
            "outgoing request"
        );
        // Allowed: exactly what the library does by default.
        let mut default = DefaultHooks;
        default.send_request(request, options, fut)
    }
}

/// The library's default hooks, to hand an allowed request on to.
struct DefaultHooks;

impl WasiHttpHooks for DefaultHooks {}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_model::policy::NetworkRule;

    fn policy(rules: &[&str]) -> HttpPolicy {
        let grants = Grants {
            network: rules
                .iter()
                .map(|r| NetworkRule::parse(r).unwrap())
                .collect(),
            ..Grants::default()
        };
        HttpPolicy::new(&Arc::from("p"), &Arc::new(grants))
    }

    fn allows(policy: &HttpPolicy, uri: &str) -> bool {
        policy.allows(&uri.parse().unwrap()).0
    }

    #[test]
    fn requests_are_judged_by_scheme_host_and_port() {
        let p = policy(&["http://127.0.0.1:8080", "https://*.example.com"]);
        assert!(allows(&p, "http://127.0.0.1:8080/x?y=1"));
        assert!(!allows(&p, "http://127.0.0.1:8081/"));
        assert!(!allows(&p, "https://127.0.0.1:8080/"));
        assert!(allows(&p, "https://api.example.com/v1"));
        assert!(!allows(&p, "http://api.example.com/v1"));
        assert!(!allows(&p, "https://example.com.evil.org/"));
        assert!(!allows(&policy(&[]), "https://api.example.com/"));
    }
}
