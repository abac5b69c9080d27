//! The code wasmtime generates from each supported contract version's WIT, one module
//! per version and nothing else. It sits apart from `bindings` (which calls a plugin's
//! exports, and so needs the store) so that the capabilities, which implement the
//! imports, depend on the generated traits without depending on the store that holds
//! them.

pub(crate) mod keyvalue;
pub(crate) mod v0_1;
pub(crate) mod v0_2;
pub(crate) mod v0_3;
