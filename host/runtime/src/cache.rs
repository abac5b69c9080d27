//! The on-disk compilation cache: a plugin's compiled artifact, keyed by what decides
//! its machine code, so a restart, a rollback or a second server on the same machine
//! skips Cranelift (0.1 s for a small Rust guest, seconds for Python/JS ones).
//!
//! Written by hand because it is where Berth turns bytes from disk into executable code:
//! `Component::deserialize_file` is `unsafe` precisely because wasmtime trusts the
//! artifact.
//! So an entry is only ever used when
//! - its name is the key: SHA-256 of the component's bytes and the engine's
//!   compatibility hash (the wasmtime version and every setting that changes generated
//!   code), so a
//!   different engine or plugin can never pick it up; and
//! - its contents hash to the digest in its sidecar file, written after the artifact by
//!   this process: a truncated, corrupted or foreign file is detected before wasmtime
//!   sees it. wasmtime's own header check (version, target, flags) runs after that.
//!
//! Anything wrong with an entry (unreadable, mismatched, refused by wasmtime) is logged,
//! removed and rebuilt; the cache never fails a load that compiling would not fail.
//! Writes go to a temporary file renamed into place, so concurrent servers sharing the
//! folder see whole entries or none. Deleting the folder is always safe.
//!
//! Every rebuilt plugin is a new key, so a folder nobody tends grows by megabytes per
//! build. Opening the cache evicts (see [`Eviction`]): entries unused for 30 days, then,
//! beyond 2 GiB, the least recently used ones that no server used in the last hour; a hit
//! marks its entry used by setting the artifact's modification time.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// How a component was obtained, for logs and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compiled {
    /// Loaded from a valid cache entry.
    Cached,
    /// Compiled (no entry, or the entry was unusable) and stored.
    Fresh,
    /// Compiled; caching is off or the entry could not be written.
    Uncached,
}

/// `bytes` compiled by `engine` and stored in `cache` when there is one (no lookup: the
/// caller has looked). Blocking.
pub(crate) fn compile_in(
    cache: Option<&CompileCache>,
    engine: &Engine,
    origin: &str,
    bytes: &[u8],
) -> wasmtime::Result<(Component, Compiled)> {
    match cache {
        Some(cache) => cache.compile_and_store(engine, origin, bytes),
        None => Component::from_binary(engine, bytes).map(|c| (c, Compiled::Uncached)),
    }
}

/// A folder of compiled artifacts for one engine.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
    /// The engine part of every key: its compatibility hash.
    engine_key: String,
}

impl CompileCache {
    /// A cache in `dir` (created if missing) for artifacts of `engine`.
    pub fn open(dir: &Path, engine: &Engine) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        // The compatibility hash covers the settings that shape compiled code; hashing it
        // with a fixed-key SipHash gives a stable text for the file name. A different
        // Rust release may hash differently: that is a cache miss, never a wrong hit,
        // because the artifact's own header is still checked by wasmtime.
        let mut hasher = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = format!("engine-{:016x}", hasher.finish());
        // A folder that cannot be tidied still serves: eviction only ever logs.
        match evict(dir, Eviction::DEFAULT, SystemTime::now()) {
            Ok(evicted) if evicted.entries > 0 || evicted.stray_files > 0 => tracing::info!(
                dir = %dir.display(),
                entries = evicted.entries,
                stray_files = evicted.stray_files,
                freed_bytes = evicted.bytes,
                kept_entries = evicted.kept_entries,
                kept_bytes = evicted.kept_bytes,
                "evicted compilation cache entries"
            ),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(dir = %dir.display(), %error, "could not tidy the compilation cache folder; it keeps every entry")
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            engine_key,
        })
    }

    /// The folder the entries live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The component for `bytes`: from a valid entry, else compiled and stored. Blocking
    /// (reads, hashes and possibly compiles); run it on a blocking thread.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        origin: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, Compiled)> {
        match self.load(engine, origin, bytes) {
            Some(component) => Ok((component, Compiled::Cached)),
            None => self.compile_and_store(engine, origin, bytes),
        }
    }

    /// The component for `bytes` from a valid entry; `None` when there is none. An entry
    /// that must not be used is logged and removed. Blocking.
    pub fn load(&self, engine: &Engine, origin: &str, bytes: &[u8]) -> Option<Component> {
        let (artifact, sidecar) = self.paths(bytes);
        match self.read(engine, &artifact, &sidecar) {
            Ok(found) => found,
            Err(reason) => {
                tracing::warn!(plugin = origin, entry = %artifact.display(), %reason, "compilation cache entry is unusable; rebuilding it");
                let _ = std::fs::remove_file(&sidecar);
                let _ = std::fs::remove_file(&artifact);
                None
            }
        }
    }

    /// Compiles `bytes` and stores the artifact; a failed store is logged, never an
    /// error (the component is still good). Blocking.
    pub fn compile_and_store(
        &self,
        engine: &Engine,
        origin: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, Compiled)> {
        let (artifact, sidecar) = self.paths(bytes);
        let component = Component::from_binary(engine, bytes)?;
        let stored = component
            .serialize()
            .map_err(|e| e.to_string())
            .and_then(|serialized| self.write(&artifact, &sidecar, &serialized));
        match stored {
            Ok(()) => Ok((component, Compiled::Fresh)),
            Err(reason) => {
                tracing::warn!(plugin = origin, dir = %self.dir.display(), %reason, "could not store the compiled plugin in the cache");
                Ok((component, Compiled::Uncached))
            }
        }
    }

    /// The artifact and sidecar paths of `bytes`' entry.
    fn paths(&self, bytes: &[u8]) -> (PathBuf, PathBuf) {
        let key = format!("{}-{}", hex(&Sha256::digest(bytes)), self.engine_key);
        (
            self.dir.join(format!("{key}.cwasm")),
            self.dir.join(format!("{key}.sha256")),
        )
    }

    /// The entry's component; `None` when there is no entry, an error when there is one
    /// that must not be used.
    fn read(
        &self,
        engine: &Engine,
        artifact: &Path,
        sidecar: &Path,
    ) -> Result<Option<Component>, String> {
        let expected = match std::fs::read_to_string(sidecar) {
            Ok(text) => text.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // An artifact without its sidecar is a write that did not finish.
                return match artifact.exists() {
                    true => Err("its checksum file is missing".into()),
                    false => Ok(None),
                };
            }
            Err(e) => return Err(format!("cannot read its checksum file: {e}")),
        };
        let opened = std::fs::File::open(artifact);
        let (file, actual) = opened
            .and_then(|mut file| hash(&mut file).map(|digest| (file, digest)))
            .map_err(|e| format!("cannot read the artifact: {e}"))?;
        if actual != expected {
            return Err(format!(
                "its contents hash to {actual}, not the {expected} recorded when it was written"
            ));
        }
        // The artifact is mapped rather than copied into memory: its pages are shared
        // with the page cache and only those the plugin's calls touch become resident,
        // which is most of what an idle plugin would otherwise cost (BENCHMARKS.md).
        //
        // SAFETY: the file is byte for byte what `Component::serialize` produced for an
        // engine with this compatibility hash (the key names both, and the checksum
        // proves the bytes are the ones written after serializing). Between the check
        // and the mapping the path can only change by another server's rename of a whole
        // entry with the same key, hence the same contents; entries are never written in
        // place. wasmtime still checks the header (version, target, settings) and refuses
        // a mismatch with an error.
        let component = unsafe { Component::deserialize_file(engine, artifact) }
            .map_err(|e| format!("wasmtime refused it: {e:#}"))?;
        mark_used(&file, artifact);
        Ok(Some(component))
    }

    /// Stores `serialized` and then its checksum, each through a temporary file renamed
    /// into place.
    fn write(&self, artifact: &Path, sidecar: &Path, serialized: &[u8]) -> Result<(), String> {
        write_atomically(&self.dir, artifact, serialized)?;
        let digest = hex(&Sha256::digest(serialized));
        write_atomically(&self.dir, sidecar, digest.as_bytes())
    }
}

/// Writes `bytes` to `path` via a uniquely named temporary file in `dir`.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| e.to_string())?;
    temp.write_all(bytes).map_err(|e| e.to_string())?;
    temp.persist(path).map_err(|e| e.error.to_string())?;
    Ok(())
}

/// Records that the entry whose artifact `file` (at `artifact`) is was just used:
/// eviction goes by the artifact's modification time. A folder this user cannot change
/// (a shared, read-only cache) keeps the write time instead, which only makes eviction
/// earlier.
fn mark_used(file: &std::fs::File, artifact: &Path) {
    if let Err(error) = file.set_modified(SystemTime::now()) {
        tracing::debug!(entry = %artifact.display(), %error, "could not mark the cache entry used");
    }
}

/// When entries leave the cache folder.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Eviction {
    /// An entry not used for this long is removed.
    pub max_unused: Duration,
    /// Beyond this many bytes the least recently used entries are removed...
    pub max_bytes: u64,
    /// ...but never one used within this long, so that the plugins the servers on this
    /// machine run cannot push each other out, however large they are together.
    pub keep_recent: Duration,
}

impl Eviction {
    /// Berth's policy: 30 days unused, 2 GiB, one hour.
    pub(crate) const DEFAULT: Eviction = Eviction {
        max_unused: Duration::from_secs(30 * 24 * 60 * 60),
        max_bytes: 2 << 30,
        keep_recent: Duration::from_secs(60 * 60),
    };
}

/// A temporary file older than this is a write that never finished (a crash between
/// creating and renaming it); younger, it may be another server's write in progress.
const STRAY_AFTER: Duration = Duration::from_secs(60 * 60);

/// What one eviction pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Evicted {
    /// Entries removed.
    pub entries: usize,
    /// Unfinished writes removed.
    pub stray_files: usize,
    /// Bytes those took.
    pub bytes: u64,
    /// Entries left.
    pub kept_entries: usize,
    /// Bytes they take.
    pub kept_bytes: u64,
}

/// One entry on disk: its artifact and sidecar, whichever exist.
#[derive(Default)]
struct OnDisk {
    files: Vec<PathBuf>,
    bytes: u64,
    /// The artifact's modification time, else the sidecar's.
    last_used: Option<SystemTime>,
    has_artifact: bool,
}

/// Removes from `dir`, as of `now`, the entries `policy` lets go and unfinished writes.
/// Files that are neither (another program's) are left alone. An entry another server
/// removes meanwhile is skipped; one removed under a server about to read it costs that
/// server a recompile (a missing file is an unusable entry), never a wrong hit.
pub(crate) fn evict(dir: &Path, policy: Eviction, now: SystemTime) -> std::io::Result<Evicted> {
    let age = |time: SystemTime| now.duration_since(time).unwrap_or_default();
    let mut done = Evicted::default();
    let mut entries: HashMap<String, OnDisk> = HashMap::new();
    for item in std::fs::read_dir(dir)? {
        let item = item?;
        let path = item.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Ok(meta) = item.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let modified = meta.modified().ok();
        // `tempfile`'s names: `write_atomically` creates its files with its defaults.
        if name.starts_with(".tmp") {
            if modified.is_some_and(|time| age(time) > STRAY_AFTER) && remove(&path) {
                done.stray_files += 1;
                done.bytes += meta.len();
            }
            continue;
        }
        let (stem, is_artifact) = match (name.strip_suffix(".cwasm"), name.strip_suffix(".sha256"))
        {
            (Some(stem), _) => (stem, true),
            (_, Some(stem)) => (stem, false),
            _ => continue,
        };
        let entry = entries.entry(stem.to_string()).or_default();
        entry.files.push(path);
        entry.bytes += meta.len();
        if is_artifact || !entry.has_artifact {
            entry.last_used = modified;
        }
        entry.has_artifact |= is_artifact;
    }

    let mut kept: Vec<OnDisk> = Vec::with_capacity(entries.len());
    for entry in entries.into_values() {
        // No readable time: treated as just used, so it is never evicted by mistake.
        let unused = entry.last_used.map_or(Duration::ZERO, age);
        if unused > policy.max_unused {
            done.remove(entry);
        } else {
            kept.push(entry);
        }
    }
    // Least recently used first.
    kept.sort_by_key(|entry| entry.last_used.unwrap_or(now));
    let mut total: u64 = kept.iter().map(|entry| entry.bytes).sum();
    let mut kept = kept.into_iter().peekable();
    while total > policy.max_bytes
        && let Some(oldest) =
            kept.next_if(|e| e.last_used.is_some_and(|t| age(t) > policy.keep_recent))
    {
        total -= oldest.bytes;
        done.remove(oldest);
    }
    for entry in kept {
        done.kept_entries += 1;
        done.kept_bytes += entry.bytes;
    }
    Ok(done)
}

impl Evicted {
    /// Removes `entry`'s files and counts what went.
    fn remove(&mut self, entry: OnDisk) {
        let mut removed = false;
        for file in &entry.files {
            removed |= remove(file);
        }
        if removed {
            self.entries += 1;
            self.bytes += entry.bytes;
        }
    }
}

/// Removes `path`; false if it was already gone or could not be removed (logged).
fn remove(path: &Path) -> bool {
    match std::fs::remove_file(path) {
        Ok(()) => true,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => false,
        Err(error) => {
            tracing::warn!(file = %path.display(), %error, "could not remove a compilation cache file");
            false
        }
    }
}

/// The SHA-256 of `file` as lower-case hex, read in chunks (an artifact is megabytes).
pub fn hash(file: &mut std::fs::File) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    std::io::copy(file, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The default cache folder: `$XDG_CACHE_HOME/berth/compiled`, else
/// `$HOME/.cache/berth/compiled`; `None` when neither is set.
pub fn default_dir() -> Option<PathBuf> {
    Some(berth_cache_dir()?.join("compiled"))
}

/// Berth's folder in the user's cache: `$XDG_CACHE_HOME/berth`, else
/// `$HOME/.cache/berth`; `None` when neither is set.
pub fn berth_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".cache"))
        })?;
    Some(base.join("berth"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        super::super::engine::build_engine(&super::super::RuntimeOptions::default())
            .unwrap()
            .0
    }

    fn plugin_bytes() -> Vec<u8> {
        std::fs::read(berth_test_artifacts::wasm("berth-test-legacy")).unwrap()
    }

    fn entries(dir: &Path, extension: &str) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == extension))
            .collect()
    }

    #[test]
    fn compiles_once_then_loads_the_stored_artifact() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let cache = CompileCache::open(dir.path(), &engine).unwrap();
        let bytes = plugin_bytes();
        let (_, first) = cache
            .load_or_compile(&engine, "legacy.wasm", &bytes)
            .unwrap();
        assert_eq!(first, Compiled::Fresh);
        let (_, second) = cache
            .load_or_compile(&engine, "legacy.wasm", &bytes)
            .unwrap();
        assert_eq!(second, Compiled::Cached);
        assert_eq!(entries(dir.path(), "cwasm").len(), 1);
    }

    #[test]
    fn a_corrupt_truncated_or_half_written_entry_is_rebuilt_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let cache = CompileCache::open(dir.path(), &engine).unwrap();
        let bytes = plugin_bytes();
        cache
            .load_or_compile(&engine, "legacy.wasm", &bytes)
            .unwrap();
        let artifact = entries(dir.path(), "cwasm").remove(0);
        let sidecar = artifact.with_extension("sha256");

        // One flipped byte in the code.
        let mut serialized = std::fs::read(&artifact).unwrap();
        let middle = serialized.len() / 2;
        serialized[middle] ^= 0xff;
        std::fs::write(&artifact, &serialized).unwrap();
        let (_, how) = cache
            .load_or_compile(&engine, "legacy.wasm", &bytes)
            .unwrap();
        assert_eq!(how, Compiled::Fresh, "a flipped byte must force a rebuild");

        // Truncated.
        let serialized = std::fs::read(&artifact).unwrap();
        std::fs::write(&artifact, &serialized[..serialized.len() / 3]).unwrap();
        let (_, how) = cache
            .load_or_compile(&engine, "legacy.wasm", &bytes)
            .unwrap();
        assert_eq!(
            how,
            Compiled::Fresh,
            "a truncated entry must force a rebuild"
        );

        // The checksum never written.
        std::fs::remove_file(&sidecar).unwrap();
        let (_, how) = cache
            .load_or_compile(&engine, "legacy.wasm", &bytes)
            .unwrap();
        assert_eq!(
            how,
            Compiled::Fresh,
            "an entry without its checksum is rebuilt"
        );
        let (_, how) = cache
            .load_or_compile(&engine, "legacy.wasm", &bytes)
            .unwrap();
        assert_eq!(how, Compiled::Cached, "and the rebuilt entry is used again");
    }

    #[test]
    fn another_engine_configuration_never_shares_an_entry() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let other = super::super::engine::build_engine(&super::super::RuntimeOptions {
            limits_off: true,
            ..Default::default()
        })
        .unwrap()
        .0;
        let bytes = plugin_bytes();
        let cache = CompileCache::open(dir.path(), &engine).unwrap();
        cache
            .load_or_compile(&engine, "legacy.wasm", &bytes)
            .unwrap();
        let other_cache = CompileCache::open(dir.path(), &other).unwrap();
        let (_, how) = other_cache
            .load_or_compile(&other, "legacy.wasm", &bytes)
            .unwrap();
        assert_eq!(how, Compiled::Fresh);
        assert_eq!(entries(dir.path(), "cwasm").len(), 2);
    }

    const DAY: Duration = Duration::from_secs(24 * 60 * 60);
    const HOUR: Duration = Duration::from_secs(60 * 60);

    /// Writes `bytes` bytes to `dir/name`, last modified `ago` before `now`.
    fn file(dir: &Path, name: &str, bytes: usize, now: SystemTime, ago: Duration) {
        let path = dir.join(name);
        std::fs::write(&path, vec![0u8; bytes]).unwrap();
        set_age(&path, now, ago);
    }

    fn set_age(path: &Path, now: SystemTime, ago: Duration) {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(now - ago)
            .unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn eviction_removes_entries_unused_for_thirty_days_and_unfinished_writes() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        file(dir.path(), "old-engine-1.cwasm", 1000, now, 31 * DAY);
        file(dir.path(), "old-engine-1.sha256", 64, now, 31 * DAY);
        file(dir.path(), "used-engine-1.cwasm", 1000, now, 29 * DAY);
        file(dir.path(), "used-engine-1.sha256", 64, now, 40 * DAY);
        file(dir.path(), "orphan-engine-1.sha256", 64, now, 31 * DAY);
        file(dir.path(), ".tmpCRASHED", 500, now, 2 * HOUR);
        file(dir.path(), ".tmpWRITING", 500, now, Duration::ZERO);
        file(dir.path(), "notes.txt", 10, now, 100 * DAY);

        let evicted = evict(dir.path(), Eviction::DEFAULT, now).unwrap();
        assert_eq!(
            names(dir.path()),
            [
                ".tmpWRITING",
                "notes.txt",
                "used-engine-1.cwasm",
                "used-engine-1.sha256"
            ],
            "the artifact's time counts, not the sidecar's; others' files stay"
        );
        assert_eq!(
            evicted,
            Evicted {
                entries: 2,
                stray_files: 1,
                bytes: 1064 + 64 + 500,
                kept_entries: 1,
                kept_bytes: 1064,
            }
        );
    }

    #[test]
    fn beyond_the_size_cap_the_least_recently_used_go_but_never_a_recent_one() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        for (name, ago) in [
            ("a", 3 * HOUR),
            ("b", 2 * HOUR),
            ("c", HOUR / 2),
            ("d", Duration::ZERO),
        ] {
            file(dir.path(), &format!("{name}-engine-1.cwasm"), 100, now, ago);
        }
        let policy = Eviction {
            max_unused: 30 * DAY,
            max_bytes: 250,
            keep_recent: HOUR,
        };
        let evicted = evict(dir.path(), policy, now).unwrap();
        assert_eq!(names(dir.path()), ["c-engine-1.cwasm", "d-engine-1.cwasm"]);
        assert_eq!((evicted.entries, evicted.kept_bytes), (2, 200));

        // Over the cap with only recently used entries left: they all stay.
        let evicted = evict(
            dir.path(),
            Eviction {
                max_bytes: 50,
                ..policy
            },
            now,
        )
        .unwrap();
        assert_eq!(evicted.entries, 0);
        assert_eq!(names(dir.path()).len(), 2);
    }

    #[test]
    fn a_hit_marks_its_entry_used_so_eviction_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let bytes = plugin_bytes();
        let cache = CompileCache::open(dir.path(), &engine).unwrap();
        cache
            .load_or_compile(&engine, "legacy.wasm", &bytes)
            .unwrap();
        let artifact = entries(dir.path(), "cwasm").remove(0);

        // Unused for 40 days, then used: the next server start keeps it.
        set_age(&artifact, SystemTime::now(), 40 * DAY);
        let (_, how) = cache
            .load_or_compile(&engine, "legacy.wasm", &bytes)
            .unwrap();
        assert_eq!(how, Compiled::Cached);
        let cache = CompileCache::open(dir.path(), &engine).unwrap();
        assert_eq!(
            entries(dir.path(), "cwasm"),
            std::slice::from_ref(&artifact)
        );

        // Unused for 40 days and not used since: the next start removes it.
        set_age(&artifact, SystemTime::now(), 40 * DAY);
        let cache_after = CompileCache::open(dir.path(), &engine).unwrap();
        assert!(entries(dir.path(), "cwasm").is_empty());
        assert!(entries(dir.path(), "sha256").is_empty());
        let (_, how) = cache_after
            .load_or_compile(&engine, "legacy.wasm", &bytes)
            .unwrap();
        assert_eq!(how, Compiled::Fresh);
        drop(cache);
    }

    #[test]
    fn an_unwritable_folder_still_compiles() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let cache = CompileCache::open(dir.path(), &engine).unwrap();
        drop(dir);
        let (_, how) = cache
            .load_or_compile(&engine, "legacy.wasm", &plugin_bytes())
            .unwrap();
        assert_eq!(how, Compiled::Uncached);
    }
}
