//! Watches the plugins folder (and the config file) and turns bursts of file-system events into single
//! "something changed" ticks.
//!
//! Editors and `cp` produce several events per save (create, modify, modify, rename…),
//! so raw events are coalesced: a tick is sent once the folder has been quiet for the
//! debounce interval. The tick carries no detail on purpose: the lifecycle rescans the
//! folder and compares what it finds with what it serves, which handles create, modify,
//! atomic rename and delete the same way and cannot miss an event that was coalesced.
//! Hidden and temporary files never cause a tick.

use std::path::Path;
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use crate::lifecycle::plugins::is_plugin_file;

/// How long the folder must be quiet before a change is acted on.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// Why the folder could not be watched.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch plugins folder {dir}: {source}")]
pub struct WatchError {
    dir: String,
    source: notify::Error,
}

/// A live watch; dropping it stops the watch and ends the tick stream.
pub struct DirWatcher {
    _watcher: notify::RecommendedWatcher,
}

/// Starts watching `dir` for plugin files; the receiver yields one `()` per
/// quiet-after-change period.
pub fn watch_dir(
    dir: &Path,
    debounce: Duration,
) -> Result<(DirWatcher, mpsc::Receiver<()>), WatchError> {
    watch_matching(dir, debounce, is_plugin_file)
}

/// Starts watching the config file `file`. Its folder is watched, not the file itself,
/// because editors save by renaming a new file over the old one, which would end a watch
/// on the old file.
///
/// A file that is a symlink into its own folder is also followed through the link's
/// first step. That is the layout of a Kubernetes ConfigMap volume: `berth.toml` links
/// to `..data/berth.toml`, and an update swaps the `..data` link to a new folder with one
/// rename, an event that never names `berth.toml` itself.
pub fn watch_file(
    file: &Path,
    debounce: Duration,
) -> Result<(DirWatcher, mpsc::Receiver<()>), WatchError> {
    let dir = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let names = watched_names(file);
    watch_matching(&dir, debounce, move |path: &Path| {
        path.file_name()
            .is_some_and(|n| names.iter().any(|m| m == n))
    })
}

/// The names in `file`'s folder whose changes can change what `file` reads: its own,
/// and, when it is a relative symlink, the first step of the link (`..data`).
fn watched_names(file: &Path) -> Vec<std::ffi::OsString> {
    let mut names: Vec<_> = file
        .file_name()
        .map(|n| n.to_os_string())
        .into_iter()
        .collect();
    if let Ok(target) = std::fs::read_link(file)
        && target.is_relative()
        && let Some(std::path::Component::Normal(first)) = target.components().next()
        && target.components().count() > 1
    {
        names.push(first.to_os_string());
    }
    names
}

fn watch_matching(
    dir: &Path,
    debounce: Duration,
    matches: impl Fn(&Path) -> bool + Send + 'static,
) -> Result<(DirWatcher, mpsc::Receiver<()>), WatchError> {
    let (raw_tx, raw_rx) = mpsc::unbounded_channel();
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(event) if relevant(&event, &matches) => {
                let _ = raw_tx.send(());
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "file watcher error"),
        })
        .map_err(|source| WatchError {
            dir: dir.display().to_string(),
            source,
        })?;
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        .map_err(|source| WatchError {
            dir: dir.display().to_string(),
            source,
        })?;
    let (tick_tx, tick_rx) = mpsc::channel(1);
    tokio::spawn(coalesce(raw_rx, tick_tx, debounce));
    Ok((DirWatcher { _watcher: watcher }, tick_rx))
}

/// An event matters when it touches a watched file (either side of a rename counts) and
/// is not a mere read.
fn relevant(event: &notify::Event, matches: &impl Fn(&Path) -> bool) -> bool {
    !matches!(event.kind, notify::EventKind::Access(_)) && event.paths.iter().any(|p| matches(p))
}

/// Forwards one tick per burst of raw events, after `debounce` of quiet. A tick that
/// is still pending when more changes arrive absorbs them (the channel holds one), so a
/// slow consumer sees at most one tick per rescan it owes.
async fn coalesce(
    mut raw: mpsc::UnboundedReceiver<()>,
    ticks: mpsc::Sender<()>,
    debounce: Duration,
) {
    while raw.recv().await.is_some() {
        loop {
            match tokio::time::timeout(debounce, raw.recv()).await {
                Ok(Some(())) => continue,
                Ok(None) => return,
                Err(_quiet) => break,
            }
        }
        match ticks.try_send(()) {
            Ok(()) | Err(mpsc::error::TrySendError::Full(())) => {}
            Err(mpsc::error::TrySendError::Closed(())) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_becomes_one_tick_after_quiet() {
        let (raw_tx, raw_rx) = mpsc::unbounded_channel();
        let (tick_tx, mut ticks) = mpsc::channel(1);
        tokio::spawn(coalesce(raw_rx, tick_tx, DEBOUNCE));
        for _ in 0..5 {
            raw_tx.send(()).unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            ticks.try_recv().is_err(),
            "no tick while events keep coming"
        );
        tokio::time::sleep(DEBOUNCE + Duration::from_millis(10)).await;
        assert!(ticks.try_recv().is_ok(), "one tick after the quiet period");
        assert!(ticks.try_recv().is_err(), "only one");

        raw_tx.send(()).unwrap();
        tokio::time::sleep(DEBOUNCE * 2).await;
        assert!(
            ticks.try_recv().is_ok(),
            "a later change gives another tick"
        );
    }

    #[test]
    fn a_configmap_style_symlink_is_followed_through_its_first_step() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("..2026_a")).unwrap();
        std::fs::write(dir.path().join("..2026_a/berth.toml"), "").unwrap();
        std::os::unix::fs::symlink("..2026_a", dir.path().join("..data")).unwrap();
        std::os::unix::fs::symlink("..data/berth.toml", dir.path().join("berth.toml")).unwrap();
        std::fs::write(dir.path().join("plain.toml"), "").unwrap();
        assert_eq!(
            watched_names(&dir.path().join("berth.toml")),
            ["berth.toml", "..data"]
        );
        assert_eq!(
            watched_names(&dir.path().join("plain.toml")),
            ["plain.toml"]
        );
    }

    #[test]
    fn only_plugin_files_matter() {
        use notify::event::{CreateKind, EventKind};
        let event = |path: &str| {
            notify::Event::new(EventKind::Create(CreateKind::File)).add_path(path.into())
        };
        assert!(relevant(&event("/p/echo.wasm"), &is_plugin_file));
        assert!(!relevant(&event("/p/.echo.wasm.swp"), &is_plugin_file));
        assert!(!relevant(&event("/p/notes.txt"), &is_plugin_file));
    }
}
