//! Contract versions: one generated-bindings module per supported `berth:plugin`
//! version, and the small [`CallablePlugin`] trait that hides which one a plugin uses.
//!
//! Adding a contract version means adding `vX_Y.rs` (bindgen + `From` conversions for
//! what changed + one `CallablePlugin` impl) and one entry in [`CONTRACTS`]; the loader
//! and the call path do not change. Types a new version leaves unchanged are not
//! generated twice: `v0_2` maps 0.2's `types` interface onto 0.1's Rust types (bindgen
//! `with`), so one set of conversions serves both. Interfaces with functions the host
//! implements (`log`, `config`) are linked once per version, because their instance
//! names carry the version (`berth:plugin/log@0.1.0` and `@0.2.0` are different imports);
//! `capabilities/` adds both. This module does not detect a component's version (the
//! loader does) and does not own stores or limits (`instance.rs` does).

mod since_0_2;
pub(crate) mod v0_1;
pub(crate) mod v0_2;
pub(crate) mod v0_3;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};

use wasmtime::Store;
use wasmtime::component::{Component, Instance, InstancePre, Linker};

pub(crate) use crate::instance::Failure;
use crate::store::StoreState;
use berth_model::events::{EventKind, PluginEvent};
use berth_model::manifest::{
    CallContext, CompletionRequest, Completions, GuestError, Icon, IconItem, Manifest,
    PromptOutput, PromptSpec, ResourceContents, ToolOutput,
};
use berth_model::policy::Needs;

/// The newest contract this host speaks.
#[allow(
    unused_imports,
    reason = "the alias is the documented name for new code"
)]
pub(crate) use v0_3 as latest;

/// Package and interface of the export that carries the contract version, as
/// `berth:plugin/guest@X.Y.Z`.
pub(crate) const GUEST_INTERFACE: &str = "berth:plugin/guest";

/// The instance a call runs in: the one a warm store kept from an earlier call (see
/// `runtime/warm.rs`), or a new one from `pre`, which a warm store then keeps.
/// Instantiation failures are kept apart from traps.
async fn instance(
    pre: &InstancePre<StoreState>,
    store: &mut Store<StoreState>,
) -> Result<Instance, Failure> {
    if let Some(kept) = store.data().kept_instance() {
        return Ok(kept);
    }
    let instance = match pre.instantiate_async(&mut *store).await {
        // The pool may be full only of finished calls' stores waiting to be dropped, or
        // of idle warm instances (`runtime/teardown.rs`): drop them and try once more.
        Err(error)
            if error.is::<wasmtime::PoolConcurrencyLimitError>()
                && store.data().reclaim_pool_slots() =>
        {
            pre.instantiate_async(&mut *store).await
        }
        other => other,
    }
    .map_err(Failure::Instantiate)?;
    store.data_mut().keep_instance(instance);
    Ok(instance)
}

/// The typed exports `load` finds in the call's [`instance`]. `load` type-checks every
/// function of an interface by name, about 2 % of a warm call over HTTP (BENCHMARKS.md,
/// issue 7); a warm store looks them up once and keeps them with its instance, since
/// both live and die together.
pub(crate) async fn exports<E: Clone + Send + 'static>(
    pre: &InstancePre<StoreState>,
    store: &mut Store<StoreState>,
    load: impl FnOnce(&mut Store<StoreState>, &Instance) -> wasmtime::Result<E>,
) -> Result<E, Failure> {
    if let Some(kept) = store.data().kept_exports::<E>() {
        return Ok(kept);
    }
    let instance = instance(pre, store).await?;
    let exports = load(store, &instance).map_err(Failure::Instantiate)?;
    store.data_mut().keep_exports(exports.clone());
    Ok(exports)
}

/// What every `CallablePlugin` method returns: a boxed future so the trait stays
/// object-safe. Each call runs in the instance of the given store ([`instance`]).
pub(crate) type CallFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Failure>> + Send + 'a>>;

/// A pre-instantiated plugin of one contract version, callable in Berth's own types.
///
/// Every method makes one call in `store`'s instance ([`instance`]): a fresh store
/// instantiates the plugin for that call alone, so no guest state survives from one call
/// to the next; only a warm store, which the operator opted into, serves several.
pub(crate) trait CallablePlugin: Send + Sync + 'static {
    /// Calls `describe`.
    fn describe<'a>(&'a self, store: &'a mut Store<StoreState>) -> CallFuture<'a, Manifest>;

    /// Calls `call-tool`; the inner `Result` is the plugin's own verdict.
    fn call_tool<'a>(
        &'a self,
        store: &'a mut Store<StoreState>,
        tool: &'a str,
        arguments_json: &'a str,
        ctx: &'a CallContext,
    ) -> CallFuture<'a, Result<ToolOutput, GuestError>>;

    /// Calls `read-resource`; the inner `Result` is the plugin's own verdict.
    fn read_resource<'a>(
        &'a self,
        store: &'a mut Store<StoreState>,
        uri: &'a str,
        ctx: &'a CallContext,
    ) -> CallFuture<'a, Result<Vec<ResourceContents>, GuestError>>;

    /// Whether the plugin exports an event hook (contract 0.2's optional `events`).
    /// Without one, `interests` is empty and `on_event` does nothing; that is the
    /// default, and all a 0.1 plugin can be.
    fn has_event_hook(&self) -> bool {
        false
    }

    /// Calls `interests`: the kinds of event the plugin wants (unsorted, maybe
    /// repeated). The default is none, without instantiating anything.
    fn interests<'a>(
        &'a self,
        _store: &'a mut Store<StoreState>,
    ) -> CallFuture<'a, Vec<EventKind>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Whether the plugin exports `needs` (contract 0.2's optional declaration).
    fn declares_needs(&self) -> bool {
        false
    }

    /// Calls `needs`: the grants the plugin declares it needs. The default is none,
    /// without instantiating anything.
    fn needs<'a>(&'a self, _store: &'a mut Store<StoreState>) -> CallFuture<'a, Needs> {
        Box::pin(async { Ok(Needs::default()) })
    }

    /// Whether the plugin exports `prompts` (contract 0.3's optional prompts).
    fn offers_prompts(&self) -> bool {
        false
    }

    /// Calls `list-prompts` (contract 0.3's optional `prompts`). The default is none,
    /// without instantiating anything.
    fn list_prompts<'a>(
        &'a self,
        _store: &'a mut Store<StoreState>,
    ) -> CallFuture<'a, Vec<PromptSpec>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Calls `get-prompt`; the inner `Result` is the plugin's own verdict. The default
    /// (a plugin without prompts) knows no prompt.
    fn get_prompt<'a>(
        &'a self,
        _store: &'a mut Store<StoreState>,
        name: &'a str,
        _arguments: &'a [(String, String)],
        _ctx: &'a CallContext,
    ) -> CallFuture<'a, Result<PromptOutput, GuestError>> {
        Box::pin(async move { Ok(Err(GuestError::UnknownPrompt(name.to_string()))) })
    }

    /// Whether the plugin exports `icons` (contract 0.3's optional export).
    fn has_icons(&self) -> bool {
        false
    }

    /// Calls `icons` (contract 0.3's optional export). The default is none, without
    /// instantiating anything.
    fn icons<'a>(
        &'a self,
        _store: &'a mut Store<StoreState>,
    ) -> CallFuture<'a, Vec<(IconItem, Vec<Icon>)>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Whether the plugin exports `completion` (contract 0.3's optional suggestions).
    fn completes(&self) -> bool {
        false
    }

    /// Calls `complete`; the inner `Result` is the plugin's own verdict. The default
    /// suggests nothing.
    fn complete<'a>(
        &'a self,
        _store: &'a mut Store<StoreState>,
        _request: &'a CompletionRequest,
    ) -> CallFuture<'a, Result<Completions, GuestError>> {
        Box::pin(async { Ok(Ok(Completions::default())) })
    }

    /// Calls `on-event` with `event`. The default does nothing.
    fn on_event<'a>(
        &'a self,
        _store: &'a mut Store<StoreState>,
        _event: &'a PluginEvent,
    ) -> CallFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}

/// One supported contract range and its entry points.
pub(crate) struct Contract {
    /// Semver range of `berth:plugin/guest@…` versions these bindings call.
    pub(crate) req: &'static str,
    /// The range as shown to people, e.g. `berth:plugin@0.1.x`.
    pub(crate) display: &'static str,
    /// Adds the contract's own (non-capability) imports to the shared linker.
    pub(crate) add_to_linker: fn(&mut Linker<StoreState>) -> wasmtime::Result<()>,
    /// Pre-instantiates a component of this contract.
    pub(crate) prepare: PrepareFn,
}

/// Pre-instantiates a component against the shared linker, type-checking its imports.
pub(crate) type PrepareFn =
    fn(&Linker<StoreState>, &Component) -> wasmtime::Result<Arc<dyn CallablePlugin>>;

/// Every contract this host supports, oldest first.
pub(crate) const CONTRACTS: &[Contract] = &[
    Contract {
        req: v0_1::VERSION_REQ,
        display: v0_1::DISPLAY,
        add_to_linker: v0_1::add_to_linker,
        prepare: v0_1::prepare,
    },
    Contract {
        req: v0_2::VERSION_REQ,
        display: v0_2::DISPLAY,
        add_to_linker: v0_2::add_to_linker,
        prepare: v0_2::prepare,
    },
    Contract {
        req: v0_3::VERSION_REQ,
        display: v0_3::DISPLAY,
        add_to_linker: v0_3::add_to_linker,
        prepare: v0_3::prepare,
    },
];

/// The parsed ranges of [`CONTRACTS`], in the same order.
static SUPPORTED: LazyLock<Vec<semver::VersionReq>> = LazyLock::new(|| {
    CONTRACTS
        .iter()
        // The ranges are constants checked by a unit test; an unparsable one would be a
        // build mistake, and matching nothing is the safe failure for it.
        .map(|c| semver::VersionReq::parse(c.req).unwrap_or(semver::VersionReq::STAR))
        .collect()
});

/// The supported contract ranges as semver requirements.
pub(crate) fn supported() -> &'static [semver::VersionReq] {
    &SUPPORTED
}

/// The supported contract ranges for people, e.g. `berth:plugin@0.1.x, berth:plugin@0.2.x`.
pub(crate) fn supported_display() -> String {
    CONTRACTS
        .iter()
        .map(|c| c.display)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The contract that can call a plugin exporting `version`, if any.
pub(crate) fn contract_for(version: &semver::Version) -> Option<&'static Contract> {
    CONTRACTS
        .iter()
        .zip(supported())
        .find(|(_, req)| req.matches(version))
        .map(|(contract, _)| contract)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_range_parses() {
        for contract in CONTRACTS {
            semver::VersionReq::parse(contract.req).expect(contract.req);
        }
        assert_eq!(supported().len(), CONTRACTS.len());
    }

    #[test]
    fn picks_the_contract_for_a_version() {
        let v = |s: &str| semver::Version::parse(s).unwrap();
        assert!(contract_for(&v("0.1.0")).is_some());
        assert!(contract_for(&v("0.1.7")).is_some());
        assert!(contract_for(&v("0.1.0-rc.1")).is_none());
        assert_eq!(contract_for(&v("0.1.3")).unwrap().req, v0_1::VERSION_REQ);
        assert_eq!(contract_for(&v("0.2.0")).unwrap().req, v0_2::VERSION_REQ);
        assert_eq!(contract_for(&v("0.2.4")).unwrap().req, v0_2::VERSION_REQ);
        assert!(contract_for(&v("0.2.0-rc.1")).is_none());
        assert_eq!(contract_for(&v("0.3.0")).unwrap().req, v0_3::VERSION_REQ);
        assert_eq!(contract_for(&v("0.3.2")).unwrap().req, v0_3::VERSION_REQ);
        assert!(contract_for(&v("0.4.0")).is_none());
        assert!(contract_for(&v("1.0.0")).is_none());
        assert_eq!(
            supported_display(),
            "berth:plugin@0.1.x, berth:plugin@0.2.x, berth:plugin@0.3.x"
        );
    }
}
