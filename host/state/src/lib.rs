//! Where plugin state lives: the [`StateStore`] backends behind `wasi:keyvalue`, and
//! [`open`], which builds the one the operator configured.
//!
//! `embedded` (the default) keeps everything in one crash-safe file under the data dir;
//! nothing else has to run. `redis` keeps it on a Redis server that several replicas can
//! share. [`Lazy`] opens the backend on the first state operation, so
//! a server whose plugins keep no state never creates (or locks) a state file. The
//! runtime owns the guest-facing interface and the grant checks; this crate owns only
//! keeping bytes and counting them against quotas.

pub mod cache;
mod embedded;
mod lazy;
mod redis;
#[cfg(test)]
mod suite;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use berth_model::state::{SharedStateStore, StateStore};
pub use embedded::EmbeddedStore;
pub use lazy::Lazy;
pub use redis::{RedisStore, Throttle, connect as redis_connection, shown as redacted_url};

/// Which backend to open, from `[state]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// One file on this machine.
    Embedded {
        /// The store's file; `None` when neither the config nor the environment says
        /// where it goes (no `[state] path`, no `$XDG_DATA_HOME` or `$HOME`).
        path: Option<PathBuf>,
    },
    /// A Redis server.
    Redis {
        /// `redis://[user:password@]host:port[/db]`.
        url: String,
        /// Longest a connection attempt or one command may take.
        timeout: Duration,
    },
}

/// Why a backend could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// There is nowhere to put the embedded store.
    #[error(
        "plugin state has no file: set `[state] path` (neither $XDG_DATA_HOME nor $HOME is \
         set to put the default under)"
    )]
    NoPath,
    /// Another process holds the embedded store's file.
    #[error(
        "state store {path} is open in another process (another berth serving the same \
         config?); give each server its own `[state] path`, or share state through \
         `[state] backend = \"redis\"`"
    )]
    InUse {
        /// The file.
        path: PathBuf,
    },
    /// The Redis URL is not usable.
    #[error("cannot use the Redis server {url}: {reason}")]
    Redis {
        /// The URL, without its password.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The file or its folder could not be created, read or written.
    #[error("cannot open the state store {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// Opens the configured backend.
pub fn open(backend: &Backend) -> Result<SharedStateStore, OpenError> {
    match backend {
        Backend::Embedded { path: Some(path) } => Ok(Arc::new(EmbeddedStore::open(path)?)),
        Backend::Embedded { path: None } => Err(OpenError::NoPath),
        Backend::Redis { url, timeout } => Ok(Arc::new(RedisStore::new(url, *timeout)?)),
    }
}

/// The default embedded store file: `$XDG_DATA_HOME/berth/state.redb`, else
/// `~/.local/share/berth/state.redb`. State is data, not cache: it lives apart from the
/// compile and plugin caches, which may be deleted at any time.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".local/share"))
        })?;
    Some(base.join("berth").join("state.redb"))
}
