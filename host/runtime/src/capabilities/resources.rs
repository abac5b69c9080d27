//! The `resources` capability: a plugin says one of its resources changed, and clients
//! subscribed to that URI are told (`notifications/resources/updated`).
//!
//! Grant needed: none; a plugin can only speak for URIs it serves, because the session
//! notifier checks that the reporting plugin is the one serving each subscribed URI. This
//! module only hands the notice to the host's listener (the event bus, set up by the
//! app); it keeps no subscriptions.

use std::sync::Arc;

use crate::wit::v0_3::berth::plugin::resources as resources_v0_3;

/// Longest URI a plugin may report; a longer one cannot be a URI anyone subscribed to
/// through a sane client, and is ignored.
const MAX_URI_BYTES: usize = 8 * 1024;

/// Who hears that `plugin` (first argument) says the resource at `uri` (second) changed.
pub type ResourceListener = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// Per-store state of the `resources` capability.
#[derive(Clone)]
pub(crate) struct ResourceState {
    /// The plugin's name (its file name while it is being described).
    plugin: Arc<str>,
    /// The host's listener, when one is installed.
    listener: Option<ResourceListener>,
}

impl ResourceState {
    /// Notices from `plugin` go to `listener`.
    pub(crate) fn new(plugin: Arc<str>, listener: Option<ResourceListener>) -> Self {
        Self { plugin, listener }
    }
}

impl resources_v0_3::Host for ResourceState {
    fn changed(&mut self, uri: String) {
        if let Some(listener) = &self.listener
            && !uri.is_empty()
            && uri.len() <= MAX_URI_BYTES
        {
            listener(&self.plugin, &uri);
        }
    }
}

/// Adds the `resources` import to `linker`; `get` finds the state in the store's data.
pub(crate) fn add_to_linker<T: 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> &mut ResourceState,
) -> wasmtime::Result<()> {
    resources_v0_3::add_to_linker::<T, wasmtime::component::HasSelf<ResourceState>>(linker, get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use resources_v0_3::Host as _;
    use std::sync::Mutex;

    #[test]
    fn tells_the_listener_who_said_what_and_ignores_junk() {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&heard);
        let listener: ResourceListener = Arc::new(move |plugin: &str, uri: &str| {
            sink.lock().unwrap().push(format!("{plugin} {uri}"));
        });
        let mut state = ResourceState::new("notes".into(), Some(listener));
        state.changed("notes://a".into());
        state.changed(String::new());
        state.changed("x".repeat(MAX_URI_BYTES + 1));
        assert_eq!(*heard.lock().unwrap(), vec!["notes notes://a".to_string()]);

        ResourceState::new("notes".into(), None).changed("notes://a".into());
    }
}
