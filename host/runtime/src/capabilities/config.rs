//! The `config` capability: a plugin reads the values the operator set for it.
//!
//! Grant needed: the operator's per-plugin config table (passed in as
//! [`crate::PluginSettings::config`]); a plugin with no table sees no keys. This
//! module serves values; it does not decide which keys a plugin may have (the config
//! layer does) and never exposes one plugin's values to another.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use crate::wit::v0_1::berth::plugin::config as config_v0_1;
use crate::wit::v0_2::berth::plugin::config as config_v0_2;
use crate::wit::v0_3::berth::plugin::config as config_v0_3;

/// Per-store state of the `config` capability: the plugin's values, shared read-only by
/// every store of that plugin.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigState {
    /// Sorted by key, which is the order `entries` promises.
    values: Arc<BTreeMap<String, String>>,
}

impl ConfigState {
    /// Serves `values`.
    pub(crate) fn new(values: Arc<BTreeMap<String, String>>) -> Self {
        Self { values }
    }

    /// The values, sorted by key.
    pub(crate) fn values(&self) -> &BTreeMap<String, String> {
        &self.values
    }
}

impl config_v0_1::Host for ConfigState {
    fn get(&mut self, key: String) -> Option<String> {
        self.values.get(&key).cloned()
    }

    fn entries(&mut self) -> Vec<(String, String)> {
        self.values
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

// Contracts 0.2 and 0.3 have the same interface under other instance names.
impl config_v0_2::Host for ConfigState {
    fn get(&mut self, key: String) -> Option<String> {
        config_v0_1::Host::get(self, key)
    }

    fn entries(&mut self) -> Vec<(String, String)> {
        config_v0_1::Host::entries(self)
    }
}

impl config_v0_3::Host for ConfigState {
    fn get(&mut self, key: String) -> Option<String> {
        config_v0_1::Host::get(self, key)
    }

    fn entries(&mut self) -> Vec<(String, String)> {
        config_v0_1::Host::entries(self)
    }
}

/// Adds the `config` import of every supported contract to `linker`; `get` finds the
/// state in the store's data.
pub(crate) fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut ConfigState,
) -> wasmtime::Result<()> {
    config_v0_1::add_to_linker::<T, HasSelf<ConfigState>>(linker, get)?;
    config_v0_2::add_to_linker::<T, HasSelf<ConfigState>>(linker, get)?;
    config_v0_3::add_to_linker::<T, HasSelf<ConfigState>>(linker, get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use config_v0_1::Host as _;

    fn state(pairs: &[(&str, &str)]) -> ConfigState {
        ConfigState::new(Arc::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
    }

    #[test]
    fn get_returns_set_values_only() {
        let mut s = state(&[("city", "Oslo")]);
        assert_eq!(s.get("city".into()).as_deref(), Some("Oslo"));
        assert_eq!(s.get("country".into()), None);
        assert_eq!(ConfigState::default().get("city".into()), None);
    }

    #[test]
    fn entries_are_sorted_by_key() {
        let mut s = state(&[("b", "2"), ("c", "3"), ("a", "1")]);
        assert_eq!(
            s.entries(),
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".into(), "2".into()),
                ("c".into(), "3".into())
            ]
        );
    }
}
