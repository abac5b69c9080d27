//! Where this server keeps plugin state: the `[state]` section turned into a store the
//! runtime hands to plugins' `wasi:keyvalue` calls. The store opens on first use, so a
//! server whose plugins keep no state creates no file.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, StateBackendKind};

/// The store `[state]` names; a relative `path` is taken from `config_file`'s folder. A
/// Redis URL is read from `url_env` now; an error names what is missing.
pub fn store(
    config: &Config,
    config_file: Option<&Path>,
) -> Result<berth_state::SharedStateStore, String> {
    let backend = match config.state.backend {
        StateBackendKind::Embedded => {
            let path = match &config.state.path {
                Some(path) if path.is_relative() => Some(
                    config_file
                        .and_then(Path::parent)
                        .map_or_else(|| path.clone(), |dir| dir.join(path)),
                ),
                Some(path) => Some(path.clone()),
                None => berth_state::default_path(),
            };
            berth_state::Backend::Embedded { path }
        }
        StateBackendKind::Redis => berth_state::Backend::Redis {
            url: config.state.redis_url()?.unwrap_or_default(),
            timeout: Duration::from_millis(config.state.timeout_ms),
        },
    };
    Ok(Arc::new(berth_state::Lazy::new(backend)))
}
