//! TLS for registry connections: rustls on the ring provider the process already links
//! (for plugins' wasi:http), installed once as the process default, rather than a second
//! crypto library just for pulls.
//!
//! reqwest is built with `rustls-no-provider` for this, which applies to every reqwest
//! client in the process (feature unification): anything that builds one (the e2e
//! suite's HTTP client, the benches) calls [`init`] first.

/// Installs ring as rustls' process-wide provider, if nothing else has yet.
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Another part of the process may have installed one first; that one is kept.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
