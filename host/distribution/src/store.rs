//! The local content-addressed store of plugin files: each file under the SHA-256 of its
//! bytes (`sha256/<hex>.wasm`), so restarts and rollbacks need no network and a file
//! can never be served under a digest it does not have.
//!
//! A file enters only through [`Store::put`]: it is streamed into a temporary file in the
//! store's own folder (so the final rename is atomic), hashed and counted on the way,
//! cut off at the size limit, checked against the digest it was asked for, synced, and
//! only then renamed into place. A failed or interrupted download leaves no file under
//! any digest.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::digest::Digest;
use crate::error::DistributionError;

/// The store in one folder.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store in `dir`, created if missing.
    pub fn open(dir: &Path) -> Result<Store, DistributionError> {
        let blobs = dir.join("sha256");
        std::fs::create_dir_all(&blobs).map_err(|source| DistributionError::Store {
            path: blobs.clone(),
            source,
        })?;
        Ok(Store {
            dir: dir.to_path_buf(),
        })
    }

    /// The folder the store keeps its files in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the file with `digest` is (or would be) kept.
    pub fn path_of(&self, digest: &Digest) -> PathBuf {
        self.dir
            .join("sha256")
            .join(format!("{}.wasm", digest.hex()))
    }

    /// The path of the file with `digest` if the store has it.
    pub fn get(&self, digest: &Digest) -> Option<PathBuf> {
        let path = self.path_of(digest);
        path.is_file().then_some(path)
    }

    /// Streams `reader` into the store. Refuses more than `max_bytes`, and a stream
    /// whose SHA-256 is not `expected` (when given); `origin` names the source in errors.
    /// Returns the digest and the stored file's path.
    pub async fn put(
        &self,
        reader: &mut (impl AsyncRead + Unpin),
        expected: Option<&Digest>,
        max_bytes: u64,
        origin: &str,
        progress: Option<&dyn crate::Progress>,
    ) -> Result<(Digest, PathBuf), DistributionError> {
        let store_err = |source| DistributionError::Store {
            path: self.dir.clone(),
            source,
        };
        let mut temp = tempfile::Builder::new()
            .prefix(".incoming-")
            .tempfile_in(self.dir.join("sha256"))
            .map_err(store_err)?;
        let mut hasher = Sha256::new();
        let mut total: u64 = 0;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read =
                reader
                    .read(&mut buffer)
                    .await
                    .map_err(|source| DistributionError::Download {
                        origin: origin.to_string(),
                        reason: source.to_string(),
                    })?;
            if read == 0 {
                break;
            }
            total += read as u64;
            if let Some(progress) = progress {
                progress.advance(read as u64);
            }
            if total > max_bytes {
                return Err(DistributionError::TooLarge {
                    origin: origin.to_string(),
                    max_bytes,
                });
            }
            hasher.update(&buffer[..read]);
            temp.write_all(&buffer[..read]).map_err(store_err)?;
        }
        let digest = Digest::from_sha256(hasher.finalize().into());
        if let Some(expected) = expected
            && *expected != digest
        {
            return Err(DistributionError::DigestMismatch {
                origin: origin.to_string(),
                expected: expected.clone(),
                found: digest,
            });
        }
        temp.as_file().sync_all().map_err(store_err)?;
        let path = self.path_of(&digest);
        temp.persist(&path).map_err(|e| store_err(e.error))?;
        Ok((digest, path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(bytes: &[u8]) -> Digest {
        Digest::from_sha256(Sha256::digest(bytes).into())
    }

    fn leftovers(store: &Store) -> Vec<PathBuf> {
        std::fs::read_dir(store.dir().join("sha256"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }

    #[tokio::test]
    async fn a_file_is_kept_under_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let bytes = b"\0asm component bytes".to_vec();
        let expected = digest_of(&bytes);
        let (digest, path) = store
            .put(&mut bytes.as_slice(), Some(&expected), 1024, "test", None)
            .await
            .unwrap();
        assert_eq!(digest, expected);
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        assert_eq!(store.get(&digest), Some(path));
        assert_eq!(leftovers(&store).len(), 1);
    }

    #[tokio::test]
    async fn a_wrong_digest_or_too_many_bytes_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let bytes = vec![7u8; 4096];
        let wrong = digest_of(b"something else");
        let error = store
            .put(
                &mut bytes.as_slice(),
                Some(&wrong),
                1 << 20,
                "oci://r/x:1",
                None,
            )
            .await
            .unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("oci://r/x:1") && text.contains(&wrong.to_string()),
            "{text}"
        );
        let error = store
            .put(&mut bytes.as_slice(), None, 1000, "oci://r/x:1", None)
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("more than 1000 bytes"),
            "{error}"
        );
        assert!(leftovers(&store).is_empty(), "{:?}", leftovers(&store));
        assert_eq!(store.get(&wrong), None);
    }
}
