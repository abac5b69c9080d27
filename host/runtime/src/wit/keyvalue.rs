//! The Rust types and traits wasmtime generates for `wasi:keyvalue@0.2.0-draft` (store,
//! atomics, batch), from the WIT vendored in `wit/wasi-keyvalue/` — the version
//! wasmtime 48's own `wasmtime-wasi-keyvalue` links. That crate keeps values in memory
//! for one store only, so Berth generates the interface itself and implements it on its
//! own state backends (`capabilities/keyvalue.rs`).

wasmtime::component::bindgen!({
    path: "../../wit/wasi-keyvalue",
    world: "wasi:keyvalue/imports",
    // Every operation may wait for the backend (a durable commit, a Redis round trip).
    imports: { default: async },
    with: {
        "wasi:keyvalue/store.bucket": crate::wit::keyvalue::OpenBucket,
    },
});

/// The guest's handle to one open bucket (the `bucket` resource); its representation
/// indexes the open buckets of the store's `KeyValueState`.
pub struct OpenBucket;
