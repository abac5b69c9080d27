//! What can go wrong getting a plugin from where it is published, each naming the
//! source so an operator knows which `[plugins.NAME] source` to look at.

use std::path::PathBuf;

use crate::digest::Digest;

/// Why a plugin could not be fetched, stored, pushed or pinned.
#[derive(Debug, thiserror::Error)]
pub enum DistributionError {
    /// The `source` text is not a reference Berth can fetch.
    #[error("{problem}")]
    BadSource {
        /// What is wrong and how to write it.
        problem: String,
    },
    /// The registry could not be reached, or refused or failed the request.
    #[error("{origin}: the registry failed: {reason}")]
    Registry {
        /// The reference.
        origin: String,
        /// What the registry (or the connection) said.
        reason: String,
    },
    /// The artifact is not a Wasm component as `wkg`/`oci-wasm` publish them.
    #[error(
        "{origin} is not a Wasm component artifact: {reason}; publish it with `berth plugins \
         push FILE.wasm {origin}` (or `wkg oci push`)"
    )]
    NotWasm {
        /// The reference.
        origin: String,
        /// What is not as expected.
        reason: String,
    },
    /// A download broke off.
    #[error("{origin}: the download failed: {reason}")]
    Download {
        /// The reference.
        origin: String,
        /// Why.
        reason: String,
    },
    /// The content is larger than `[distribution] max_plugin_mb` allows.
    #[error(
        "{origin} is more than {max_bytes} bytes, the limit `[distribution] max_plugin_mb` sets"
    )]
    TooLarge {
        /// The reference.
        origin: String,
        /// The limit.
        max_bytes: u64,
    },
    /// The content's digest is not the one it was pinned to.
    #[error(
        "{origin} does not match its pinned digest: expected {expected}, got {found}; the \
         content changed or was tampered with, so it is not used"
    )]
    DigestMismatch {
        /// The reference.
        origin: String,
        /// The pinned digest.
        expected: Digest,
        /// The digest of what arrived.
        found: Digest,
    },
    /// The local store could not be written or read.
    #[error("the plugin store at {} cannot be used: {source}", path.display())]
    Store {
        /// The folder or file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The credentials for a registry could not be found.
    #[error("signing in to {registry}: {problem}")]
    Credentials {
        /// The registry.
        registry: String,
        /// Which variable or file to fix.
        problem: String,
    },
    /// A signing or verification key could not be used.
    #[error("the key {} {problem}", path.display())]
    Key {
        /// The key file (empty for a key made in memory).
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The artifact's signature is missing or does not verify.
    #[error("{origin} ({digest}) is refused: {reason}")]
    Signature {
        /// The reference.
        origin: String,
        /// The manifest digest the signature had to vouch for.
        digest: Digest,
        /// Why no signature counts.
        reason: String,
    },
    /// The lock file could not be read or written.
    #[error("the lock file {} {problem}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}
