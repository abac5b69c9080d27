//! The data of every per-call store ([`StoreState`]): WASI state plus one state per
//! capability, and how the linker reaches each capability's state in it. Everything
//! that runs guest code (`bindings`, `instance`) uses it; the capabilities themselves
//! do not, which keeps them apart from the bindings that call plugins.

use std::any::Any;
use std::sync::{Arc, Weak};

use wasmtime::component::{Instance, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::capabilities;
use crate::capabilities::client::ClientState;
use crate::capabilities::config::ConfigState;
use crate::capabilities::http::HttpPolicy;
use crate::capabilities::keyvalue::KeyValueState;
use crate::capabilities::log::LogState;
use crate::capabilities::progress::ProgressState;
use crate::capabilities::resources::ResourceState;
use crate::cpu::Turn;
use crate::limits::MemoryCap;
use crate::teardown::Teardown;

/// The data of every per-call store: WASI state plus one state per capability.
pub(crate) struct StoreState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limits: MemoryCap,
    pub(crate) log: LogState,
    pub(crate) config: ConfigState,
    pub(crate) progress: ProgressState,
    pub(crate) resources: ResourceState,
    pub(crate) client: ClientState,
    pub(crate) keyvalue: KeyValueState,
    pub(crate) http: WasiHttpCtx,
    /// Checks every outgoing HTTP request against the plugin's grants.
    pub(crate) http_policy: HttpPolicy,
    /// Whether this store keeps its instance for later calls (a warm store).
    pub(crate) keeps_instance: bool,
    /// The instance a warm store keeps; always `None` in a fresh store.
    pub(crate) kept: Option<Instance>,
    /// The typed exports already looked up in the kept instance, one value per bindings
    /// type (see [`super::bindings::exports`]); always empty in a fresh store.
    pub(crate) kept_exports: Vec<Box<dyn Any + Send>>,
    /// The runtime's finished stores waiting to be dropped, which an instantiation that
    /// finds the pool full drops first. Weak, because queued stores hold it too.
    pub(crate) teardown: Weak<Teardown>,
    /// This store's claim on the cores, asked for at each epoch tick (`cpu.rs`).
    pub(crate) turn: Arc<Turn>,
}

impl StoreState {
    /// The instance this store kept from an earlier call, if it is a warm store that
    /// has one.
    pub(crate) fn kept_instance(&self) -> Option<Instance> {
        self.kept
    }

    /// Frees instance pool slots (finished calls' stores waiting to be dropped, else
    /// warm pools' idle instances), and says whether any were freed (so a full pool is
    /// worth trying again).
    pub(crate) fn reclaim_pool_slots(&self) -> bool {
        self.teardown
            .upgrade()
            .is_some_and(|teardown| teardown.reclaim())
    }

    /// Records the instance just created in this store, if it is a warm store.
    pub(crate) fn keep_instance(&mut self, instance: Instance) {
        if self.keeps_instance {
            self.kept = Some(instance);
        }
    }

    /// The exports of type `E` looked up earlier in this warm store's kept instance.
    pub(crate) fn kept_exports<E: Clone + 'static>(&self) -> Option<E> {
        self.kept_exports
            .iter()
            .find_map(|kept| kept.downcast_ref::<E>())
            .cloned()
    }

    /// Records exports just looked up in this store's kept instance, if it keeps one.
    pub(crate) fn keep_exports<E: Send + 'static>(&mut self, exports: E) {
        if self.kept.is_some() {
            self.kept_exports.push(Box::new(exports));
        }
    }
}

impl WasiHttpView for StoreState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_policy,
        }
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Adds every capability's imports to the shared linker. Stdio needs no linking: it is
/// WASI's own stdout/stderr, redirected per store.
pub(crate) fn add_to_linker(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    capabilities::log::add_to_linker(linker, |state| &mut state.log)?;
    capabilities::config::add_to_linker(linker, |state| &mut state.config)?;
    capabilities::progress::add_to_linker(linker, |state| &mut state.progress)?;
    capabilities::resources::add_to_linker(linker, |state| &mut state.resources)?;
    capabilities::client::add_to_linker(linker, |state| &mut state.client)?;
    capabilities::keyvalue::add_to_linker(linker, |state| &mut state.keyvalue)?;
    Ok(())
}
