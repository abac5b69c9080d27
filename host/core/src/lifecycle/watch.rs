//! Watches the plugins folder (and the config file) and turns bursts of file-system events into single
//! "something changed" ticks.
//!
//! Editors and `cp` produce several events per save (create, modify, modify, rename…),
//! so raw events are coalesced: a tick is sent once the folder has been quiet for the
//! debounce interval. The exception is an event that says a file is complete: closed
//! after writing, or renamed into place (how deploy tools and `install` put a build
//! down). Waiting out the debounce then only delays the new build, so the tick goes at
//! once; later events of the same burst still get their debounced tick, and the rescan
//! it causes finds nothing new. The tick carries no detail on purpose: the lifecycle
//! rescans the folder and compares what it finds with what it serves, which handles
//! create, modify, atomic rename and delete the same way and cannot miss an event that
//! was coalesced. Hidden and temporary files never cause a tick.

use std::path::Path;
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use crate::lifecycle::plugins::is_plugin_file;

/// How long the folder must be quiet before a change is acted on.
pub const DEBOUNCE: Duration = Duration::from_millis(200);
/// After an event that says a file is complete, how long the rest of its burst gets to
/// arrive: one rename comes as several events (from, to, both), which must make one tick.
pub const SETTLE: Duration = Duration::from_millis(10);

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
            Ok(event) => {
                if let Some(raw) = classify(&event, &matches) {
                    let _ = raw_tx.send(raw);
                }
            }
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

/// What a raw event says about a watched file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Raw {
    /// It changed; more may follow.
    Changed,
    /// It is complete: closed after writing, or renamed into place.
    Complete,
}

/// What `event` says, if it touches a watched file (either side of a rename counts) and
/// is not a mere read.
fn classify(event: &notify::Event, matches: &impl Fn(&Path) -> bool) -> Option<Raw> {
    use notify::EventKind;
    use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => event
            .paths
            .iter()
            .any(|p| matches(p))
            .then_some(Raw::Complete),
        EventKind::Access(_) => None,
        // The destination is the last path (`Both` carries from and to).
        EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both))
            if event.paths.last().is_some_and(|p| matches(p)) =>
        {
            Some(Raw::Complete)
        }
        _ => event
            .paths
            .iter()
            .any(|p| matches(p))
            .then_some(Raw::Changed),
    }
}

/// Forwards one tick per burst of raw events, after `debounce` of quiet, or at once when
/// an event says a file is complete. A tick that is still pending when more changes
/// arrive absorbs them (the channel holds one), so a slow consumer sees at most one tick
/// per rescan it owes.
async fn coalesce(
    mut raw: mpsc::UnboundedReceiver<Raw>,
    ticks: mpsc::Sender<()>,
    debounce: Duration,
) {
    while let Some(first) = raw.recv().await {
        let mut complete = first == Raw::Complete;
        if !complete {
            loop {
                match tokio::time::timeout(debounce, raw.recv()).await {
                    Ok(Some(Raw::Changed)) => continue,
                    Ok(Some(Raw::Complete)) => {
                        complete = true;
                        break;
                    }
                    Ok(None) => return,
                    Err(_quiet) => break,
                }
            }
        }
        if complete {
            // The rest of the burst (a rename's other events) joins this tick.
            loop {
                match tokio::time::timeout(SETTLE, raw.recv()).await {
                    Ok(Some(_)) => continue,
                    Ok(None) => return,
                    Err(_quiet) => break,
                }
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
            raw_tx.send(Raw::Changed).unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            ticks.try_recv().is_err(),
            "no tick while events keep coming"
        );
        tokio::time::sleep(DEBOUNCE + Duration::from_millis(10)).await;
        assert!(ticks.try_recv().is_ok(), "one tick after the quiet period");
        assert!(ticks.try_recv().is_err(), "only one");

        raw_tx.send(Raw::Changed).unwrap();
        tokio::time::sleep(DEBOUNCE * 2).await;
        assert!(
            ticks.try_recv().is_ok(),
            "a later change gives another tick"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_complete_file_ticks_at_once_even_mid_burst() {
        let (raw_tx, raw_rx) = mpsc::unbounded_channel();
        let (tick_tx, mut ticks) = mpsc::channel(1);
        tokio::spawn(coalesce(raw_rx, tick_tx, DEBOUNCE));
        // A rename's events make one tick, at once, even when its second event comes a
        // moment after the first and the consumer took the first tick in between (how
        // one config save was once applied twice).
        raw_tx.send(Raw::Complete).unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
        let mut seen = usize::from(ticks.try_recv().is_ok());
        raw_tx.send(Raw::Complete).unwrap();
        tokio::time::sleep(SETTLE + Duration::from_millis(1)).await;
        seen += usize::from(ticks.try_recv().is_ok());
        tokio::time::sleep(DEBOUNCE * 2).await;
        seen += usize::from(ticks.try_recv().is_ok());
        assert_eq!(seen, 1, "one tick for the rename's events");
        raw_tx.send(Raw::Changed).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        raw_tx.send(Raw::Complete).unwrap();
        tokio::time::sleep(SETTLE + Duration::from_millis(1)).await;
        assert!(
            ticks.try_recv().is_ok(),
            "a close after writes ends the wait"
        );
        tokio::time::sleep(DEBOUNCE * 2).await;
        assert!(ticks.try_recv().is_err(), "and nothing is left over");
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
    fn only_plugin_files_matter_and_complete_ones_say_so() {
        use notify::event::{
            AccessKind, AccessMode, CreateKind, EventKind, ModifyKind, RenameMode,
        };
        let event = |kind: EventKind, paths: &[&str]| {
            paths
                .iter()
                .fold(notify::Event::new(kind), |e, p| e.add_path((*p).into()))
        };
        let created = EventKind::Create(CreateKind::File);
        assert_eq!(
            classify(&event(created, &["/p/echo.wasm"]), &is_plugin_file),
            Some(Raw::Changed)
        );
        assert_eq!(
            classify(&event(created, &["/p/.echo.wasm.swp"]), &is_plugin_file),
            None
        );
        assert_eq!(
            classify(&event(created, &["/p/notes.txt"]), &is_plugin_file),
            None
        );
        let closed = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert_eq!(
            classify(&event(closed, &["/p/echo.wasm"]), &is_plugin_file),
            Some(Raw::Complete)
        );
        let read = EventKind::Access(AccessKind::Close(AccessMode::Read));
        assert_eq!(
            classify(&event(read, &["/p/echo.wasm"]), &is_plugin_file),
            None
        );
        // A build renamed into place, from a hidden temporary name.
        let renamed = EventKind::Modify(ModifyKind::Name(RenameMode::Both));
        assert_eq!(
            classify(
                &event(renamed, &["/p/.echo.partial", "/p/echo.wasm"]),
                &is_plugin_file
            ),
            Some(Raw::Complete)
        );
        // Renamed away: a change, not a complete build.
        assert_eq!(
            classify(
                &event(renamed, &["/p/echo.wasm", "/p/.old"]),
                &is_plugin_file
            ),
            Some(Raw::Changed)
        );
    }
}
