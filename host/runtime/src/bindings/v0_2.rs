//! Bindings for contract `berth:plugin@0.2.x`, generated from the frozen WIT in
//! `wit/berth-plugin/v0.2`, the conversions of its `events` types from and to Berth's
//! [`berth_model::events`] types, and the [`CallablePlugin`] impl for this version.
//!
//! 0.2 is 0.1 plus the optional `events` export. Its `types` interface is identical to
//! 0.1's, so bindgen maps it onto the 0.1 Rust types (`with` below) and the manifest and
//! result conversions in `v0_1.rs` serve both versions: wasmtime type-checks component
//! values by structure (field and case names and types), not by interface name. The
//! `log` and `config` imports are generated here anyway, because the linker needs them
//! under their 0.2 names; `runtime/capabilities/` implements them.
//!
//! A 0.2 component may target world `plugin` (no hook), `plugin-with-events` or `full`
//! (hook and `needs`); the exports are looked up one interface at a time, so every kind
//! loads through here.

use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::{Component, InstancePre, Linker};

use super::{CallFuture, CallablePlugin, Failure};
use crate::store::StoreState;
use berth_model::events::CallOutcome;
use berth_model::events::{EventKind, PluginEvent};
use berth_model::manifest;
use berth_model::policy::{FolderNeed, Needs};

pub(crate) use crate::wit::v0_2::*;

use self::exports::berth::plugin::events as wit_events;
use self::exports::berth::plugin::guest;
use self::exports::berth::plugin::needs as wit_needs;
use crate::wit::v0_1::berth::plugin::types as wit;

/// The range of contract versions these bindings can call; wasmtime matches a
/// component's `@0.2.N` names against our `@0.2.0` ones by semver compatibility.
pub(crate) const VERSION_REQ: &str = ">=0.2.0, <0.3.0";

/// How this contract range is shown to people.
pub(crate) const DISPLAY: &str = "berth:plugin@0.2.x";

/// The `types` interface's instance name. It has no functions, but `log` and `guest`
/// `use` it, so a component imports it and the linker must define it; because its Rust
/// types are 0.1's, bindgen generates no `add_to_linker` for it here.
const TYPES_INSTANCE: &str = "berth:plugin/types@0.2.0";

/// The `events` export's name; the component's `@0.2.N` export matches it.
const EVENTS_INTERFACE: &str = "berth:plugin/events@0.2.0";

/// The `needs` export's name.
const NEEDS_INTERFACE: &str = "berth:plugin/needs@0.2.0";

/// Adds this contract's own imports (besides the capabilities) to the shared linker.
pub(crate) fn add_to_linker(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    linker.instance(TYPES_INSTANCE)?;
    Ok(())
}

/// Pre-instantiates `component` against `linker`, type-checking every import now, and
/// finds its exports: `guest` is required, `events` optional.
pub(crate) fn prepare(
    linker: &Linker<StoreState>,
    component: &Component,
) -> wasmtime::Result<Arc<dyn CallablePlugin>> {
    let pre = linker.instantiate_pre(component)?;
    let guest = guest::GuestIndices::new(&pre)?;
    // Absent is fine (world `plugin`); present but malformed fails the load.
    let events = match component.get_export_index(None, EVENTS_INTERFACE) {
        Some(_) => Some(wit_events::GuestIndices::new(&pre)?),
        None => None,
    };
    let needs = match component.get_export_index(None, NEEDS_INTERFACE) {
        Some(_) => Some(wit_needs::GuestIndices::new(&pre)?),
        None => None,
    };
    Ok(Arc::new(V0_2 {
        pre,
        guest,
        events,
        needs,
    }))
}

/// A plugin of contract 0.2: its pre-instantiated component and where its exports are.
struct V0_2 {
    pre: InstancePre<StoreState>,
    guest: guest::GuestIndices,
    events: Option<wit_events::GuestIndices>,
    needs: Option<wit_needs::GuestIndices>,
}

super::since_0_2::instance_helpers!(V0_2);

impl CallablePlugin for V0_2 {
    super::since_0_2::guest_events_needs_methods!();
}

super::since_0_2::needs_and_events_conversions!();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_req_matches_0_2_only() {
        let req = semver::VersionReq::parse(VERSION_REQ).expect("constant is valid");
        assert!(req.matches(&semver::Version::new(0, 2, 0)));
        assert!(req.matches(&semver::Version::new(0, 2, 9)));
        assert!(!req.matches(&semver::Version::new(0, 1, 0)));
        assert!(!req.matches(&semver::Version::new(0, 3, 0)));
    }

    #[test]
    fn converts_events() {
        let event = PluginEvent::ToolCalled {
            plugin: "echo".into(),
            tool: "add".into(),
            duration_us: 42,
            outcome: CallOutcome::Crashed,
        };
        match wit_events::Event::from(&event) {
            wit_events::Event::ToolCalled(called) => {
                assert_eq!(called.tool, "add");
                assert_eq!(called.duration_us, 42);
                assert!(matches!(called.outcome, wit_events::CallOutcome::Crashed));
            }
            _ => panic!("expected tool-called"),
        }
        assert!(matches!(
            wit_events::Event::from(&PluginEvent::ConfigApplied),
            wit_events::Event::ConfigApplied
        ));
        assert_eq!(
            EventKind::from(wit_events::EventKind::PluginLoadFailed),
            EventKind::PluginLoadFailed
        );
    }
}
