//! The embedded backend: plugin state in one `redb` file, crash-safe and shared by no
//! other process.
//!
//! Reads run on tokio's blocking pool, each in its own MVCC read transaction, so they
//! never wait for a write. Writes go to one writer thread that commits them in groups —
//! the one part written by hand here. redb allows one write transaction at a time and
//! every durable commit costs an fsync (milliseconds on most disks), so one commit per
//! write would cap a busy server at a few hundred writes a second. The writer instead
//! takes every write waiting in its queue, applies them in order in a single transaction,
//! commits once with `Durability::Immediate`, and only then answers each caller. A write
//! is acknowledged only after the fsync that makes it durable, so a kill -9 at any moment
//! loses nothing acknowledged; under load, one fsync covers many writes. Each write is
//! checked against its quota before it changes anything, so a refused write leaves the
//! group's other writes untouched.

use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use berth_model::state::{
    Bucket, KeyPage, LIST_PAGE, StateError, StateFuture, StateQuota, StateStore, Usage,
    check_usage, check_value, incremented, key_problem,
};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::oneshot;

use crate::OpenError;

/// Every key: (plugin, bucket, key) → value. Tuple keys sort by plugin, then bucket, then
/// key, so a bucket's keys are one contiguous, ordered range.
const ENTRIES: TableDefinition<(&str, &str, &str), &[u8]> = TableDefinition::new("entries");

/// Each plugin's usage: plugin → (bytes, keys), kept in the same transaction as the
/// entries it counts, so it can never drift from them.
const USAGE: TableDefinition<&str, (u64, u64)> = TableDefinition::new("usage");

/// Most writes the writer puts in one transaction; bounds how long one commit takes.
const MAX_GROUP: usize = 512;

/// Plugin state in one local file.
pub struct EmbeddedStore {
    db: Arc<Database>,
    /// `None` only while dropping, so the writer sees its queue close.
    writes: Option<mpsc::Sender<Job>>,
    /// Joined on drop, so the file is released when the store is gone.
    writer: Option<std::thread::JoinHandle<()>>,
    path: PathBuf,
}

/// One write, as the writer thread applies it.
enum Write {
    Set {
        bucket: Bucket,
        quota: StateQuota,
        entries: Vec<(String, Vec<u8>)>,
    },
    Delete {
        bucket: Bucket,
        keys: Vec<String>,
    },
    Increment {
        bucket: Bucket,
        quota: StateQuota,
        key: String,
        delta: u64,
    },
}

/// A write and where to send its outcome once it is durable.
struct Job {
    write: Write,
    done: oneshot::Sender<Result<u64, StateError>>,
}

impl EmbeddedStore {
    /// Opens (or creates) the store at `path`, creating its folder.
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        let file_error = |reason: String| OpenError::File {
            path: path.to_path_buf(),
            reason,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| file_error(format!("cannot create {}: {e}", parent.display())))?;
        }
        let db = match Database::create(path) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(OpenError::InUse {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(file_error(e.to_string())),
        };
        // Both tables exist from the start, so a read never meets a missing table.
        let setup = || -> Result<(), redb::Error> {
            let txn = db.begin_write()?;
            txn.open_table(ENTRIES)?;
            txn.open_table(USAGE)?;
            txn.commit()?;
            Ok(())
        };
        setup().map_err(|e| file_error(e.to_string()))?;
        let db = Arc::new(db);
        let (writes, queue) = mpsc::channel();
        let writer_db = Arc::clone(&db);
        let writer = std::thread::Builder::new()
            .name("berth-state-writer".into())
            .spawn(move || write_loop(&writer_db, &queue))
            .map_err(|e| file_error(format!("cannot start its writer thread: {e}")))?;
        tracing::info!(path = %path.display(), "plugin state store open");
        Ok(Self {
            db,
            writes: Some(writes),
            writer: Some(writer),
            path: path.to_path_buf(),
        })
    }

    /// Hands `write` to the writer thread and waits until it is durable.
    async fn write(&self, write: Write) -> Result<u64, StateError> {
        let (done, answer) = oneshot::channel();
        self.writes
            .as_ref()
            .ok_or_else(|| self.unavailable("it is closing"))?
            .send(Job { write, done })
            .map_err(|_| self.unavailable("its writer has stopped"))?;
        answer
            .await
            .map_err(|_| self.unavailable("its writer stopped before the write was durable"))?
    }

    /// Runs `read` in a read transaction on the blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&redb::ReadTransaction) -> Result<T, StateError> + Send + 'static,
    ) -> Result<T, StateError> {
        let db = Arc::clone(&self.db);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read().map_err(|e| storage(&path, e))?;
            read(&txn)
        })
        .await
        .map_err(|e| self.unavailable(&format!("a read stopped: {e}")))?
    }

    fn unavailable(&self, why: &str) -> StateError {
        StateError::Unavailable(format!("{}: {why}", self.path.display()))
    }
}

impl Drop for EmbeddedStore {
    /// Lets the writer finish the writes already queued (each was promised an answer),
    /// then waits for it, so the file's lock is released when this returns.
    fn drop(&mut self) {
        self.writes = None;
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!(path = %self.path.display(), "plugin state writer panicked");
        }
    }
}

fn storage(path: &Path, e: impl Into<redb::Error>) -> StateError {
    StateError::Unavailable(format!("{}: {}", path.display(), e.into()))
}

/// The writer thread: takes whatever writes are waiting, applies them in one transaction,
/// commits durably, then answers. Ends when the store is dropped and the queue is empty.
fn write_loop(db: &Database, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let outcomes = apply_group(db, &group);
        match outcomes {
            Ok(outcomes) => {
                for (job, outcome) in group.into_iter().zip(outcomes) {
                    let _ = job.done.send(outcome);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, writes = group.len(), "plugin state commit failed");
                let error = StateError::Unavailable(format!("the write was not stored: {e}"));
                for job in group {
                    let _ = job.done.send(Err(error.clone()));
                }
            }
        }
    }
}

/// Applies every write of a group in one durable transaction. The outer error means the
/// transaction failed as a whole (nothing in it was stored); the inner results are each
/// write's own outcome (a refused write changed nothing).
fn apply_group(db: &Database, group: &[Job]) -> Result<Vec<Result<u64, StateError>>, redb::Error> {
    let txn = db.begin_write()?;
    let mut outcomes = Vec::with_capacity(group.len());
    {
        let mut entries = txn.open_table(ENTRIES)?;
        let mut usage = txn.open_table(USAGE)?;
        for job in group {
            outcomes.push(apply(&mut entries, &mut usage, &job.write)?);
        }
    }
    txn.commit()?;
    Ok(outcomes)
}

type Entries<'t> = redb::Table<'t, (&'static str, &'static str, &'static str), &'static [u8]>;
type UsageTable<'t> = redb::Table<'t, &'static str, (u64, u64)>;

/// One write: checks it whole against the quota, then changes the tables.
fn apply(
    entries: &mut Entries<'_>,
    usage: &mut UsageTable<'_>,
    write: &Write,
) -> Result<Result<u64, StateError>, redb::Error> {
    let bucket = match write {
        Write::Set { bucket, .. }
        | Write::Delete { bucket, .. }
        | Write::Increment { bucket, .. } => bucket,
    };
    let (plugin, name) = (&*bucket.plugin, &*bucket.name);
    let before = usage
        .get(plugin)?
        .map(|g| {
            let (bytes, keys) = g.value();
            Usage { bytes, keys }
        })
        .unwrap_or_default();
    let mut after = before;
    // The value each key will hold, decided before anything is written.
    let mut planned: Vec<(&str, Option<Vec<u8>>)> = Vec::new();
    let mut answer = 0;
    match write {
        Write::Set {
            quota,
            entries: new,
            ..
        } => {
            for (key, value) in new {
                if let Err(e) = check_value(quota, key, value.len()) {
                    return Ok(Err(e));
                }
                planned.push((key, Some(value.clone())));
            }
        }
        Write::Delete { keys, .. } => {
            for key in keys {
                planned.push((key, None));
            }
        }
        Write::Increment {
            quota, key, delta, ..
        } => {
            if let Some(problem) = key_problem(key) {
                return Ok(Err(StateError::Invalid(problem)));
            }
            let current = entries.get((plugin, name, key.as_str()))?;
            let next = match incremented(key, current.as_ref().map(|g| g.value()), *delta) {
                Ok(next) => next,
                Err(e) => return Ok(Err(e)),
            };
            drop(current);
            let text = next.to_string().into_bytes();
            if let Err(e) = check_value(quota, key, text.len()) {
                return Ok(Err(e));
            }
            planned.push((key, Some(text)));
            answer = next;
        }
    }
    // Usage after the write: a key written twice in one batch counts once, at its last
    // value, so the plan is folded in order over what is stored.
    let mut seen: std::collections::HashMap<&str, Option<usize>> = Default::default();
    for (key, value) in &planned {
        let old_len = match seen.get(key) {
            Some(len) => *len,
            None => entries.get((plugin, name, *key))?.map(|g| g.value().len()),
        };
        if let Some(len) = old_len {
            let old = Usage::of_entry(key, len);
            after.bytes = after.bytes.saturating_sub(old.bytes);
            after.keys = after.keys.saturating_sub(old.keys);
        }
        if let Some(value) = value {
            let new = Usage::of_entry(key, value.len());
            after.bytes += new.bytes;
            after.keys += new.keys;
        }
        seen.insert(key, value.as_ref().map(Vec::len));
    }
    let grows = after.bytes > before.bytes || after.keys > before.keys;
    if grows {
        let quota = match write {
            Write::Set { quota, .. } | Write::Increment { quota, .. } => Some(quota),
            Write::Delete { .. } => None,
        };
        if let Some(quota) = quota
            && let Err(e) = check_usage(quota, after)
        {
            return Ok(Err(e));
        }
    }
    for (key, value) in &planned {
        match value {
            Some(value) => {
                entries.insert((plugin, name, *key), value.as_slice())?;
            }
            None => {
                entries.remove((plugin, name, *key))?;
            }
        }
    }
    if after != before {
        if after == Usage::default() {
            usage.remove(plugin)?;
        } else {
            usage.insert(plugin, (after.bytes, after.keys))?;
        }
    }
    Ok(Ok(answer))
}

impl StateStore for EmbeddedStore {
    fn get_many<'a>(
        &'a self,
        bucket: &'a Bucket,
        keys: &'a [String],
    ) -> StateFuture<'a, Vec<Option<Vec<u8>>>> {
        let bucket = bucket.clone();
        let keys = keys.to_vec();
        let path = self.path.clone();
        Box::pin(self.read(move |txn| {
            let table = txn.open_table(ENTRIES).map_err(|e| storage(&path, e))?;
            keys.iter()
                .map(|key| {
                    let found = table
                        .get((&*bucket.plugin, &*bucket.name, key.as_str()))
                        .map_err(|e| storage(&path, e))?;
                    Ok(found.map(|g| g.value().to_vec()))
                })
                .collect()
        }))
    }

    fn set_many<'a>(
        &'a self,
        bucket: &'a Bucket,
        quota: StateQuota,
        entries: Vec<(String, Vec<u8>)>,
    ) -> StateFuture<'a, ()> {
        Box::pin(async move {
            self.write(Write::Set {
                bucket: bucket.clone(),
                quota,
                entries,
            })
            .await
            .map(drop)
        })
    }

    fn delete_many<'a>(&'a self, bucket: &'a Bucket, keys: Vec<String>) -> StateFuture<'a, ()> {
        Box::pin(async move {
            self.write(Write::Delete {
                bucket: bucket.clone(),
                keys,
            })
            .await
            .map(drop)
        })
    }

    fn increment<'a>(
        &'a self,
        bucket: &'a Bucket,
        quota: StateQuota,
        key: String,
        delta: u64,
    ) -> StateFuture<'a, u64> {
        Box::pin(self.write(Write::Increment {
            bucket: bucket.clone(),
            quota,
            key,
            delta,
        }))
    }

    fn list_keys<'a>(
        &'a self,
        bucket: &'a Bucket,
        cursor: Option<u64>,
    ) -> StateFuture<'a, KeyPage> {
        let bucket = bucket.clone();
        let path = self.path.clone();
        Box::pin(self.read(move |txn| {
            let table = txn.open_table(ENTRIES).map_err(|e| storage(&path, e))?;
            let (plugin, name) = (&*bucket.plugin, &*bucket.name);
            // The cursor is the number of keys already listed: keys sort in a fixed
            // order, so a page starts where the previous one ended (keys added or
            // deleted meanwhile may shift it, which the interface allows).
            let skip = cursor.unwrap_or(0) as usize;
            let range = table
                .range((plugin, name, "")..)
                .map_err(|e| storage(&path, e))?;
            let mut page = KeyPage::default();
            for item in range.skip(skip) {
                let (key, _) = item.map_err(|e| storage(&path, e))?;
                let (p, b, k) = key.value();
                if p != plugin || b != name {
                    break;
                }
                if page.keys.len() == LIST_PAGE {
                    page.cursor = Some((skip + LIST_PAGE) as u64);
                    break;
                }
                page.keys.push(k.to_string());
            }
            Ok(page)
        }))
    }

    fn usage<'a>(&'a self, plugin: &'a str) -> StateFuture<'a, Usage> {
        let plugin = plugin.to_string();
        let path = self.path.clone();
        Box::pin(self.read(move |txn| {
            let table = txn.open_table(USAGE).map_err(|e| storage(&path, e))?;
            let found = table.get(plugin.as_str()).map_err(|e| storage(&path, e))?;
            Ok(found
                .map(|g| {
                    let (bytes, keys) = g.value();
                    Usage { bytes, keys }
                })
                .unwrap_or_default())
        }))
    }

    fn describe(&self) -> String {
        format!("embedded {}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite;

    fn fresh() -> (tempfile::TempDir, EmbeddedStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("state.redb")).unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn the_shared_suite_holds_on_the_embedded_store() {
        suite::buckets_are_per_plugin(&fresh().1).await;
        suite::counters_are_exact(&fresh().1).await;
        suite::quotas_refuse_the_whole_write(&fresh().1).await;
        suite::long_buckets_are_listed_in_pages(&fresh().1).await;
        let (_dir, store) = fresh();
        suite::concurrent_writes_all_land(Arc::new(store)).await;
    }

    #[tokio::test]
    async fn values_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let bucket = Bucket::new("alpha", "notes");
        {
            let store = EmbeddedStore::open(&path).unwrap();
            let entry = vec![("k".to_string(), b"kept".to_vec())];
            store
                .set_many(&bucket, StateQuota::default(), entry)
                .await
                .unwrap();
        }
        let store = EmbeddedStore::open(&path).unwrap();
        assert_eq!(
            suite::get(&store, &bucket, "k").await.as_deref(),
            Some("kept")
        );
        assert_eq!(
            store.usage("alpha").await.unwrap(),
            Usage { bytes: 5, keys: 1 }
        );
    }

    #[tokio::test]
    async fn a_second_process_on_the_same_file_is_refused() {
        let (dir, _first) = fresh();
        let err = EmbeddedStore::open(&dir.path().join("state.redb"))
            .err()
            .unwrap();
        assert!(matches!(err, OpenError::InUse { .. }), "{err}");
    }
}
