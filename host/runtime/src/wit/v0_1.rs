//! The Rust types and traits wasmtime generates for `berth:plugin@0.1.x`, world `plugin`, from the frozen WIT in
//! `wit/berth-plugin/`. Generated code only: the capabilities implement its imports, and
//! `bindings::v0_1` calls its exports.

wasmtime::component::bindgen!({
    path: "../../wit/berth-plugin/v0.1",
    world: "plugin",
    // Exports are called with `call_async` so a guest yields at every epoch tick and a
    // timeout or cancellation can drop the call. The imports (`log`, `config`) never
    // wait on anything, so they stay synchronous: cheaper, and testable without a runtime.
    exports: { default: async },
});
