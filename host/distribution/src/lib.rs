//! Getting plugins from where they are published into a folder Berth can load them
//! from: OCI registries ([`oci`]), a local content-addressed [`store`] so restarts and
//! rollbacks need no network, and the lock file ([`lock`]) that pins each source to a
//! digest until an operator moves it.
//!
//! It may use no other Berth crate: it knows sources, digests and files, not plugins.
//! The binary wires it in front of the lifecycle, which serves the stored files.

pub mod auth;
pub mod digest;
pub mod error;
pub mod https;
pub mod lock;
pub mod oci;
pub mod signature;
pub mod source;
pub mod store;
mod tls;

use std::path::PathBuf;
use std::time::Duration;

pub use digest::Digest;
pub use error::DistributionError;
pub use lock::{Lock, Pin};
pub use signature::{PublicKey, SigningKey};
pub use source::{HttpsSource, OciSource, Source};
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
    /// How to sign in to each registry that needs it.
    pub credentials: auth::Credentials,
    /// Told how far a pull or push is, for a progress bar.
    pub progress: Option<std::sync::Arc<dyn Progress>>,
}

/// Follows a transfer, e.g. to draw a progress bar.
pub trait Progress: Send + Sync + std::fmt::Debug {
    /// A transfer of `total` bytes (when known) of `what` begins.
    fn start(&self, what: &str, total: Option<u64>);
    /// `bytes` more have moved.
    fn advance(&self, bytes: u64);
    /// The transfer is over.
    fn finish(&self);
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_bytes: 64 * 1024 * 1024,
            timeout: Duration::from_secs(30),
            insecure_registries: Vec::new(),
            credentials: auth::Credentials::new(),
            progress: None,
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

/// How long a whole download may take: a server that stops sending must not hold a
/// start-up for ever, so the blob gets the timeout once more per 10 MB it may have.
pub(crate) fn download_budget(options: &Options) -> Duration {
    options.timeout * (1 + u32::try_from(options.max_bytes / 10_000_000).unwrap_or(u32::MAX))
}

/// One plugin's source as the config gives it.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    /// The plugin's name (the lock file's key).
    pub name: &'a str,
    /// `oci://…` or `https://…`.
    pub source: &'a str,
    /// The SHA-256 an `https://` source must have.
    pub sha256: Option<&'a str>,
    /// The key whose cosign signature an `oci://` artifact must carry.
    pub key: Option<&'a PublicKey>,
}

/// The local file for `wanted`, pinned in `lock`: the pinned digest when the lock has
/// one for this very source (from the store, or pulled by digest), else whatever the
/// source names now, which is then pinned. With a key, the pinned manifest's signature
/// is checked once per key (and recorded in the pin). Returns the file and whether
/// `lock` changed.
pub async fn resolve(
    wanted: &Wanted<'_>,
    lock: &mut Lock,
    store: &Store,
    options: &Options,
) -> Result<(Pulled, bool), DistributionError> {
    let parsed = match wanted.source.parse::<Source>()? {
        Source::Oci(parsed) => parsed,
        Source::Https(parsed) => return resolve_https(wanted, &parsed, lock, store, options).await,
    };
    let key_id = wanted.key.map(|key| key.id().to_string());
    let pinned = lock
        .plugins
        .get(wanted.name)
        .filter(|pin| pin.source == wanted.source);
    if let Some(pin) = pinned
        && let (Some(manifest), Some(component)) = (pin.manifest_digest(), pin.component_digest())
    {
        let at = parsed.at(&manifest);
        let checked = key_id.is_none() || pin.verified_with == key_id;
        let pulled = match store.get(&component) {
            Some(path) => {
                if let (false, Some(key)) = (checked, wanted.key) {
                    oci::verify(&at, options, key).await?;
                }
                Pulled {
                    manifest,
                    component,
                    path,
                }
            }
            None => oci::pull(&at, store, options, wanted.key).await?,
        };
        if let Some(pin) = lock.plugins.get_mut(wanted.name)
            && pin.verified_with != key_id
            && key_id.is_some()
        {
            pin.verified_with = key_id;
            return Ok((pulled, true));
        }
        return Ok((pulled, false));
    }
    let pulled = oci::pull(&parsed, store, options, wanted.key).await?;
    lock.plugins.insert(
        wanted.name.to_string(),
        Pin {
            source: wanted.source.to_string(),
            digest: pulled.manifest.to_string(),
            component: pulled.component.to_string(),
            verified_with: key_id,
        },
    );
    Ok((pulled, true))
}

async fn resolve_https(
    wanted: &Wanted<'_>,
    parsed: &HttpsSource,
    lock: &mut Lock,
    store: &Store,
    options: &Options,
) -> Result<(Pulled, bool), DistributionError> {
    let bad = |problem: String| DistributionError::BadSource { problem };
    let sha256 = wanted.sha256.ok_or_else(|| {
        bad(format!(
            "{parsed} is a web source, which needs the file's SHA-256 beside it: \
             `sha256 = \"…\"` in [plugins.{}] (`sha256sum FILE.wasm` prints it)",
            wanted.name
        ))
    })?;
    let sha256: Digest = sha256.parse().map_err(|e: String| {
        bad(format!(
            "[plugins.{}] sha256 is not a SHA-256: {e}",
            wanted.name
        ))
    })?;
    if wanted.key.is_some() {
        return Err(bad(format!(
            "{parsed}: signatures are checked on oci:// sources only; a web source is \
             pinned by its sha256"
        )));
    }
    let pulled = https::fetch(parsed, &sha256, store, options).await?;
    let pin = Pin {
        source: wanted.source.to_string(),
        digest: sha256.to_string(),
        component: sha256.to_string(),
        verified_with: None,
    };
    let changed = lock.plugins.get(wanted.name) != Some(&pin);
    lock.plugins.insert(wanted.name.to_string(), pin);
    Ok((pulled, changed))
}
