//! `berth.lock`, beside the config file: the digest each plugin source resolved to, so
//! a server (and every replica, and every restart) serves exactly what was pinned until
//! an operator moves it on. Written whole to a temporary file and renamed, so a crash
//! never leaves half a lock file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::DistributionError;

/// What one plugin's source was pinned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// The source as the config wrote it when it was pinned.
    pub source: String,
    /// The artifact's manifest digest (what a tag points at).
    pub digest: String,
    /// The digest of the component itself (its one layer), which keys the local store.
    pub component: String,
    /// The key (its id, see [`crate::signature::PublicKey::id`]) whose signature on
    /// `digest` was checked, so a restart need not fetch the signature again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_with: Option<String>,
}

impl Pin {
    /// The manifest digest.
    pub fn manifest_digest(&self) -> Option<Digest> {
        self.digest.parse().ok()
    }

    /// The component's digest.
    pub fn component_digest(&self) -> Option<Digest> {
        self.component.parse().ok()
    }
}

/// The lock file's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// Pins by plugin name.
    #[serde(default)]
    pub plugins: BTreeMap<String, Pin>,
}

const HEADER: &str = "# Written by Berth: the digest each plugin source is pinned to.\n\
# `berth plugins update [NAME]` moves a pin to what its tag points at now.\n\n";

impl Lock {
    /// The lock file that goes with the config file `config` (`berth.lock` beside it).
    pub fn path_for(config: &Path) -> PathBuf {
        config.with_file_name("berth.lock")
    }

    /// Reads `path`; a missing file is an empty lock.
    pub fn load(path: &Path) -> Result<Lock, DistributionError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Lock::default()),
            Err(e) => {
                return Err(DistributionError::Lock {
                    path: path.to_path_buf(),
                    problem: format!("cannot be read: {e}"),
                });
            }
        };
        toml::from_str(&text).map_err(|e| DistributionError::Lock {
            path: path.to_path_buf(),
            problem: format!(
                "is not a valid lock file: {}; delete it to pin every source afresh",
                e.message()
            ),
        })
    }

    /// Writes the lock to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), DistributionError> {
        let failed = |e: std::io::Error| DistributionError::Lock {
            path: path.to_path_buf(),
            problem: format!("cannot be written: {e}"),
        };
        let body = toml::to_string(self).map_err(|e| DistributionError::Lock {
            path: path.to_path_buf(),
            problem: format!("cannot be written: {e}"),
        })?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
        temp.write_all(HEADER.as_bytes()).map_err(failed)?;
        temp.write_all(body.as_bytes()).map_err(failed)?;
        temp.as_file().sync_all().map_err(failed)?;
        temp.persist(path).map_err(|e| failed(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_round_trips_and_a_broken_one_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = Lock::path_for(&dir.path().join("berth.toml"));
        assert_eq!(Lock::load(&path).unwrap(), Lock::default());
        let mut lock = Lock::default();
        lock.plugins.insert(
            "json".into(),
            Pin {
                source: "oci://127.0.0.1:5000/berth/json:1".into(),
                digest: format!("sha256:{}", "1".repeat(64)),
                component: format!("sha256:{}", "2".repeat(64)),
                verified_with: None,
            },
        );
        lock.save(&path).unwrap();
        assert_eq!(Lock::load(&path).unwrap(), lock);
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .starts_with("# Written by Berth")
        );
        std::fs::write(&path, "[plugins.json]\nsource = 3\n").unwrap();
        let error = Lock::load(&path).unwrap_err().to_string();
        assert!(
            error.contains("berth.lock") && error.contains("delete it"),
            "{error}"
        );
    }
}
