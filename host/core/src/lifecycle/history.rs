//! Earlier builds of the plugins in the folder, kept so an operator can roll a plugin
//! back to the build it served before its last reload.
//!
//! Every build a folder plugin is served from is copied into a history folder as
//! `<sha256>.wasm` (checked against the digest the runtime computed, so a file replaced
//! between its load and the copy is never kept under the wrong name). A roll-back writes
//! the previous build back over the plugin's file, the way a deploy tool would (a hidden
//! temporary file renamed over it), and the lifecycle loads it as any new build: the
//! same checks, the same events, clients told their lists changed. Fetched plugins
//! (`source = …`) are not kept here: their builds are pinned by digest in `berth.lock`.
//! Builds not used for [`KEEP_FOR`] leave the folder when a new one arrives.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// How long an unused build stays in the history folder.
pub const KEEP_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

/// One build of a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    /// SHA-256 of the component, hex.
    pub digest: String,
    /// The version its manifest gave.
    pub version: String,
}

/// Why a plugin could not be rolled back.
#[derive(Debug, thiserror::Error)]
pub enum RollBackError {
    /// No plugin of that name is served.
    #[error("no plugin named {0} is served")]
    NotServed(String),
    /// The plugin comes from a `source`, whose builds are pinned in `berth.lock`.
    #[error(
        "{0} is fetched from its `source`: pin the earlier digest there \
         (`source = \"oci://…@sha256:…\"`) instead"
    )]
    Sourced(String),
    /// Nothing was served before the current build (since this server started).
    #[error("{0} has no earlier build to go back to since this server started")]
    NoPrevious(String),
    /// This server keeps no history (`--compile-cache off`, or no cache folder).
    #[error(
        "this server keeps no earlier builds: it runs with `--compile-cache off`, or has no \
         cache folder ($XDG_CACHE_HOME or $HOME)"
    )]
    NoHistory,
    /// The earlier build could not be put back.
    #[error("could not put back {plugin} {version}: {error}")]
    Restore {
        /// The plugin.
        plugin: String,
        /// The version that was to be restored.
        version: String,
        /// What failed.
        error: String,
    },
    /// The restored build was refused when loaded.
    #[error(transparent)]
    Load(#[from] crate::plugins::PluginError),
}

/// The history folder and what each plugin served before its current build.
pub(crate) struct History {
    dir: PathBuf,
    previous: Mutex<HashMap<String, Build>>,
}

impl History {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            previous: Mutex::new(HashMap::new()),
        }
    }

    fn entry(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}.wasm"))
    }

    /// Records that `plugin` was served from `before` until its build just replaced it.
    pub(crate) fn replaced(&self, plugin: &str, before: Build) {
        self.previous
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(plugin.to_string(), before);
    }

    /// The build `plugin` served before its current one, if it is still kept.
    pub(crate) fn previous(&self, plugin: &str) -> Option<Build> {
        let previous = self.previous.lock().unwrap_or_else(|p| p.into_inner());
        previous
            .get(plugin)
            .filter(|build| self.entry(&build.digest).is_file())
            .cloned()
    }

    /// Keeps the build at `path` (which the runtime hashed to `digest`), in the
    /// background: a large component is copied and hashed off the async threads.
    pub(crate) fn keep(&self, path: &Path, digest: &str) {
        let (path, dir, entry) = (path.to_path_buf(), self.dir.clone(), self.entry(digest));
        let digest = digest.to_string();
        tokio::task::spawn_blocking(move || {
            if let Err(error) = keep(&path, &dir, &entry, &digest) {
                tracing::warn!(file = %path.display(), %error, "could not keep this build for a roll-back");
            }
        });
    }

    /// Writes the kept build `digest` over `over` (a hidden temporary file in the same
    /// folder, renamed over it).
    pub(crate) fn restore(&self, digest: &str, over: &Path) -> std::io::Result<()> {
        let name = over
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temporary = over.with_file_name(format!(".{name}.rollback"));
        std::fs::copy(self.entry(digest), &temporary)?;
        std::fs::rename(&temporary, over)
    }
}

fn keep(path: &Path, dir: &Path, entry: &Path, digest: &str) -> std::io::Result<()> {
    if entry.is_file() {
        // Touched, so that a build still in use is never the oldest.
        std::fs::File::options()
            .append(true)
            .open(entry)?
            .set_modified(SystemTime::now())?;
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    let temporary = dir.join(format!(".{digest}.partial"));
    std::fs::copy(path, &temporary)?;
    let copied = berth_runtime::cache::hash(&mut std::fs::File::open(&temporary)?)?;
    if copied != digest {
        // The file changed after it was loaded; its new build will be kept when it loads.
        std::fs::remove_file(&temporary)?;
        return Ok(());
    }
    std::fs::rename(&temporary, entry)?;
    prune(dir, SystemTime::now());
    Ok(())
}

/// Removes builds not used for [`KEEP_FOR`].
fn prune(dir: &Path, now: SystemTime) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|modified| now.duration_since(modified).unwrap_or_default() > KEEP_FOR);
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use sha2::{Digest as _, Sha256};

    #[tokio::test]
    async fn a_build_is_kept_under_its_digest_and_put_back_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = dir.path().join("p.wasm");
        std::fs::write(&plugin, b"build one").unwrap();
        let digest = berth_runtime::cache::hex(&Sha256::digest(b"build one"));
        let history_dir = dir.path().join("history");
        keep(
            &plugin,
            &history_dir,
            &history_dir.join(format!("{digest}.wasm")),
            &digest,
        )
        .unwrap();
        // A wrong digest (the file changed after its load) keeps nothing.
        keep(&plugin, &history_dir, &history_dir.join("bad.wasm"), "bad").unwrap();
        assert!(!history_dir.join("bad.wasm").exists());

        let history = History::new(history_dir);
        assert_eq!(history.previous("p"), None);
        let one = Build {
            digest: digest.clone(),
            version: "1.0.0".into(),
        };
        history.replaced("p", one.clone());
        assert_eq!(history.previous("p"), Some(one));
        std::fs::write(&plugin, b"build two").unwrap();
        history.restore(&digest, &plugin).unwrap();
        assert_eq!(std::fs::read(&plugin).unwrap(), b"build one");
        assert!(!dir.path().join(".p.wasm.rollback").exists());
    }
}
