//! The Rust types and traits wasmtime generates for `berth:plugin@0.2.x`, world `full`, from the frozen WIT in
//! `wit/berth-plugin/`. Generated code only: the capabilities implement its imports, and
//! `bindings::v0_2` calls its exports.

wasmtime::component::bindgen!({
    path: "../../wit/berth-plugin/v0.2",
    world: "full",
    // As in 0.1: exports are async so epoch ticks, timeouts and cancellation take
    // effect; the imports never wait and stay synchronous.
    exports: { default: async },
    with: {
        "berth:plugin/types": crate::wit::v0_1::berth::plugin::types,
    },
});
