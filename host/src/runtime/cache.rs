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
//! folder see whole entries or none. Entries are never evicted here (they are small and
//! content-addressed); deleting the folder is always safe.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

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
        let key = format!("{}-{}", hex(&Sha256::digest(bytes)), self.engine_key);
        let artifact = self.dir.join(format!("{key}.cwasm"));
        let sidecar = self.dir.join(format!("{key}.sha256"));
        match self.read(engine, &artifact, &sidecar) {
            Ok(Some(component)) => return Ok((component, Compiled::Cached)),
            Ok(None) => {}
            Err(reason) => {
                tracing::warn!(plugin = origin, entry = %artifact.display(), %reason, "compilation cache entry is unusable; rebuilding it");
                let _ = std::fs::remove_file(&sidecar);
                let _ = std::fs::remove_file(&artifact);
            }
        }
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
        let actual = hash_file(artifact).map_err(|e| format!("cannot read the artifact: {e}"))?;
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

/// The SHA-256 of the file at `path`, read in chunks (an artifact is megabytes).
fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

/// Lower-case hexadecimal.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The default cache folder: `$XDG_CACHE_HOME/berth/compiled`, else
/// `$HOME/.cache/berth/compiled`; `None` when neither is set.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".cache"))
        })?;
    Some(base.join("berth").join("compiled"))
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
