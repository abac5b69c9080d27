//! Getting plugins from where they are published into a folder Berth can load them
//! from: OCI registries ([`oci`]), a local content-addressed [`store`] so restarts and
//! rollbacks need no network, and the lock file ([`lock`]) that pins each source to a
//! digest until an operator moves it.
//!
//! It may use no other Berth crate: it knows sources, digests and files, not plugins.
//! The binary wires it in front of the lifecycle, which serves the stored files.

pub mod digest;
pub mod error;
pub mod lock;
pub mod oci;
pub mod source;
pub mod store;
mod tls;

use std::path::PathBuf;
use std::time::Duration;

pub use digest::Digest;
pub use error::DistributionError;
pub use lock::{Lock, Pin};
pub use source::OciSource;
pub use store::Store;
pub use tls::init as init_tls;

/// How fetching behaves (`[distribution]` in the config).
#[derive(Debug, Clone)]
pub struct Options {
    /// The largest component accepted, in bytes.
    pub max_bytes: u64,
    /// How long a registry may take to connect or to answer one read.
    pub timeout: Duration,
    /// Registries (`host:port`) reached over plain HTTP although not on this machine.
    pub insecure_registries: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_bytes: 64 * 1024 * 1024,
            timeout: Duration::from_secs(30),
            insecure_registries: Vec::new(),
        }
    }
}

/// A component fetched into the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// The manifest digest it was found under.
    pub manifest: Digest,
    /// The component's own digest.
    pub component: Digest,
    /// Where the store keeps it.
    pub path: PathBuf,
}

/// The local file for plugin `name`'s `source`, pinned in `lock`: the pinned digest when
/// the lock has one for this very source (from the store, or pulled by digest), else
/// whatever the source names now, which is then pinned. Returns the file and whether
/// `lock` changed.
pub async fn resolve(
    name: &str,
    source: &str,
    lock: &mut Lock,
    store: &Store,
    options: &Options,
) -> Result<(Pulled, bool), DistributionError> {
    let parsed: OciSource = source.parse()?;
    let pinned = lock.plugins.get(name).filter(|pin| pin.source == source);
    if let Some(pin) = pinned
        && let (Some(manifest), Some(component)) = (pin.manifest_digest(), pin.component_digest())
    {
        if let Some(path) = store.get(&component) {
            return Ok((
                Pulled {
                    manifest,
                    component,
                    path,
                },
                false,
            ));
        }
        let pulled = oci::pull(&parsed.at(&manifest), store, options).await?;
        return Ok((pulled, false));
    }
    let pulled = oci::pull(&parsed, store, options).await?;
    lock.plugins.insert(
        name.to_string(),
        Pin {
            source: source.to_string(),
            digest: pulled.manifest.to_string(),
            component: pulled.component.to_string(),
        },
    );
    Ok((pulled, true))
}
