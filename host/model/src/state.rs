//! Plugin state: the buckets of keys and values a plugin keeps between calls
//! (`wasi:keyvalue`), the limits on them, and the [`StateStore`] every backend implements.
//!
//! A plugin names a bucket; the host always pairs that name with the plugin's own name
//! ([`Bucket`]), so two plugins that both open `notes` never see each other's keys. The
//! runtime checks the bucket against the plugin's grant before it asks a store anything;
//! a store enforces the [`StateQuota`] in the same write that would exceed it, so two
//! concurrent writes cannot both slip under a limit. Backends live in `berth-state`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed future a [`StateStore`] returns, so the trait stays object-safe.
pub type StateFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StateError>> + Send + 'a>>;

/// Longest key a plugin may use, in bytes: keys are names, not data.
pub const MAX_KEY_BYTES: usize = 1024;

/// Longest bucket name, in bytes.
pub const MAX_BUCKET_BYTES: usize = 128;

/// Keys one `list-keys` page holds at most.
pub const LIST_PAGE: usize = 1000;

/// One plugin's bucket: the unit a grant names and the namespace keys live in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bucket {
    /// The plugin that owns it.
    pub plugin: Arc<str>,
    /// The name the plugin opened it by.
    pub name: Arc<str>,
}

impl Bucket {
    /// The bucket `name` of `plugin`.
    pub fn new(plugin: &str, name: &str) -> Self {
        Self {
            plugin: Arc::from(plugin),
            name: Arc::from(name),
        }
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.plugin, self.name)
    }
}

/// Why a bucket name is unusable, or `None` when it is fine. Bucket names are short and
/// printable so they can appear in keys of every backend and in log lines unchanged.
pub fn bucket_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("a bucket name must not be empty".into());
    }
    if name.len() > MAX_BUCKET_BYTES {
        return Some(format!(
            "a bucket name is at most {MAX_BUCKET_BYTES} bytes (this one is {})",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Some(format!(
            "bucket name `{name}` has `{c}`; use letters, digits, `-`, `_` and `.`"
        ));
    }
    None
}

/// Why a key is unusable, or `None` when it is fine.
pub fn key_problem(key: &str) -> Option<String> {
    if key.len() > MAX_KEY_BYTES {
        return Some(format!(
            "a key is at most {MAX_KEY_BYTES} bytes (this one is {})",
            key.len()
        ));
    }
    None
}

/// What one plugin may keep, across all its buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateQuota {
    /// Bytes of keys plus values.
    pub max_bytes: u64,
    /// Number of keys.
    pub max_keys: u64,
    /// Bytes of one value.
    pub max_value_bytes: u64,
}

impl Default for StateQuota {
    fn default() -> Self {
        Self {
            max_bytes: 64 << 20,
            max_keys: 100_000,
            max_value_bytes: 1 << 20,
        }
    }
}

/// How much one plugin keeps now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes of keys plus values.
    pub bytes: u64,
    /// Number of keys.
    pub keys: u64,
}

impl Usage {
    /// What an entry of `key` and `value_len` bytes counts for.
    pub fn of_entry(key: &str, value_len: usize) -> Self {
        Self {
            bytes: (key.len() + value_len) as u64,
            keys: 1,
        }
    }
}

/// Why a state operation failed. Each message says what to do, because it reaches the
/// plugin (and through its tool error, the client) and the operator's log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The write would take the plugin past a limit of its grant.
    #[error("{0}")]
    Quota(String),
    /// A key or bucket name the store does not accept.
    #[error("{0}")]
    Invalid(String),
    /// `increment` found a value that is not a decimal unsigned integer, or would overflow.
    #[error("{0}")]
    NotANumber(String),
    /// The backend cannot be reached now (Redis down, file unwritable); try again later.
    #[error("plugin state is unavailable: {0}")]
    Unavailable(String),
}

impl StateError {
    /// The quota error for a write that would need `needed` of something the plugin may
    /// have `limit` of.
    pub fn over(what: &str, needed: u64, limit: u64, key: &str) -> Self {
        Self::Quota(format!(
            "quota exceeded: this write needs {needed} {what}, the plugin may keep {limit}; \
             delete keys, or raise `{key}` in the plugin's keyvalue grant"
        ))
    }
}

/// A value's size against `quota`, before anything is written.
pub fn check_value(quota: &StateQuota, key: &str, len: usize) -> Result<(), StateError> {
    if let Some(problem) = key_problem(key) {
        return Err(StateError::Invalid(problem));
    }
    if len as u64 > quota.max_value_bytes {
        return Err(StateError::Quota(format!(
            "value for `{key}` is {len} bytes, more than the {} a value may have; raise \
             `max_value_kb` in the plugin's keyvalue grant",
            quota.max_value_bytes
        )));
    }
    Ok(())
}

/// Whether `usage` after a write stays within `quota`; the error names the limit hit.
pub fn check_usage(quota: &StateQuota, usage: Usage) -> Result<(), StateError> {
    if usage.keys > quota.max_keys {
        return Err(StateError::over(
            "keys",
            usage.keys,
            quota.max_keys,
            "max_keys",
        ));
    }
    if usage.bytes > quota.max_bytes {
        return Err(StateError::over(
            "bytes",
            usage.bytes,
            quota.max_bytes,
            "max_mb",
        ));
    }
    Ok(())
}

/// The next value of a counter stored as decimal text (what `wasi:keyvalue/atomics`
/// implementations agree on, and what a person reading the store expects).
pub fn incremented(key: &str, current: Option<&[u8]>, delta: u64) -> Result<u64, StateError> {
    let current = match current {
        None => 0,
        Some(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                StateError::NotANumber(format!(
                    "cannot increment `{key}`: its value is not a decimal unsigned integer"
                ))
            })?,
    };
    current.checked_add(delta).ok_or_else(|| {
        StateError::NotANumber(format!(
            "cannot increment `{key}` by {delta}: the result would not fit in 64 bits"
        ))
    })
}

/// One page of a bucket's keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPage {
    /// Keys in ascending byte order.
    pub keys: Vec<String>,
    /// Where the next page starts, if there are more keys.
    pub cursor: Option<u64>,
}

/// A place plugin state is kept. Every method is atomic on its own: a batch write is
/// applied whole or not at all, and once a write's future is `Ok` the write survives a
/// crash of the host (for the embedded store, a kill -9; for Redis, as far as the
/// server's own persistence goes).
pub trait StateStore: Send + Sync + 'static {
    /// The values of `keys` in `bucket`, in the same order; `None` for a missing key.
    fn get_many<'a>(
        &'a self,
        bucket: &'a Bucket,
        keys: &'a [String],
    ) -> StateFuture<'a, Vec<Option<Vec<u8>>>>;

    /// Writes every entry, or none if one breaks `quota`.
    fn set_many<'a>(
        &'a self,
        bucket: &'a Bucket,
        quota: StateQuota,
        entries: Vec<(String, Vec<u8>)>,
    ) -> StateFuture<'a, ()>;

    /// Deletes `keys` from `bucket`; missing keys are fine.
    fn delete_many<'a>(&'a self, bucket: &'a Bucket, keys: Vec<String>) -> StateFuture<'a, ()>;

    /// Adds `delta` to the counter at `key` (missing counts as 0) and returns the result.
    fn increment<'a>(
        &'a self,
        bucket: &'a Bucket,
        quota: StateQuota,
        key: String,
        delta: u64,
    ) -> StateFuture<'a, u64>;

    /// One page of `bucket`'s keys, starting at `cursor` (from the previous page).
    fn list_keys<'a>(&'a self, bucket: &'a Bucket, cursor: Option<u64>)
    -> StateFuture<'a, KeyPage>;

    /// What `plugin` keeps now, across its buckets.
    fn usage<'a>(&'a self, plugin: &'a str) -> StateFuture<'a, Usage>;

    /// The backend's name and location, for logs (`embedded /var/lib/berth/state.redb`).
    fn describe(&self) -> String;
}

/// A shared handle to the configured state store.
pub type SharedStateStore = Arc<dyn StateStore>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_and_keys_are_checked() {
        assert_eq!(bucket_name_problem("notes"), None);
        assert_eq!(bucket_name_problem("a.b-c_1"), None);
        assert!(bucket_name_problem("").is_some());
        assert!(bucket_name_problem("a/b").unwrap().contains("`/`"));
        assert!(bucket_name_problem(&"x".repeat(200)).is_some());
        assert!(key_problem(&"k".repeat(MAX_KEY_BYTES + 1)).is_some());
        assert_eq!(key_problem("any key / with ünicode"), None);
    }

    #[test]
    fn counters_are_decimal_text() {
        assert_eq!(incremented("c", None, 5), Ok(5));
        assert_eq!(incremented("c", Some(b"41"), 1), Ok(42));
        assert!(matches!(
            incremented("c", Some(b"x"), 1),
            Err(StateError::NotANumber(_))
        ));
        assert!(matches!(
            incremented("c", Some(u64::MAX.to_string().as_bytes()), 1),
            Err(StateError::NotANumber(_))
        ));
    }

    #[test]
    fn quota_errors_name_the_limit_to_raise() {
        let quota = StateQuota {
            max_bytes: 10,
            max_keys: 2,
            max_value_bytes: 4,
        };
        let err = check_value(&quota, "k", 5).unwrap_err().to_string();
        assert!(err.contains("max_value_kb"), "{err}");
        let err = check_usage(&quota, Usage { bytes: 1, keys: 3 })
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_keys"), "{err}");
        let err = check_usage(&quota, Usage { bytes: 11, keys: 1 })
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_mb"), "{err}");
        assert_eq!(check_usage(&quota, Usage { bytes: 10, keys: 2 }), Ok(()));
    }
}
