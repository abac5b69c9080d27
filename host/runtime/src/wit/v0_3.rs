//! The Rust types and traits wasmtime generates for `berth:plugin@0.3.x`, world `full`, from the frozen WIT in
//! `wit/berth-plugin/`. Generated code only: the capabilities implement its imports, and
//! `bindings::v0_3` calls its exports.

wasmtime::component::bindgen!({
    path: "../../wit/berth-plugin/v0.3",
    world: "full",
    exports: { default: async },
    // `client` waits for the client's answer, so its host functions are async; the other
    // imports never wait and stay synchronous.
    imports: {
        "berth:plugin/client.sample": async,
        "berth:plugin/client.elicit": async,
    },
    with: {
        "berth:plugin/types": crate::wit::v0_1::berth::plugin::types,
    },
});
