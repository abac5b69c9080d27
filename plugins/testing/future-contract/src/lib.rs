//! A Berth test plugin built against a contract version the host does not support.
//!
//! `wit/plugin.wit` is a copy of the v0.1 contract with only the package version changed to
//! `1.0.0`, so the component exports `berth:plugin/guest@1.0.0` and is otherwise a valid plugin.
//! It exists so the host's tests can check that an unsupported contract is refused at load time
//! with an error that names the version, instead of a linker error or a wrong call. It uses
//! `wit-bindgen` directly: the SDK only speaks the contract versions it was released with.

wit_bindgen::generate!({
    path: "wit",
    world: "plugin",
});

include!("../../ping_guest.rs");

ping_guest!(
    FutureContract,
    name: "future-contract",
    description: "Speaks contract 1.0.0.",
    reply: "pong"
);

export!(FutureContract);
