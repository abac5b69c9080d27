//! State a plugin keeps between calls: buckets of keys and values, through the standard
//! `wasi:keyvalue` interface.
//!
//! A call runs in a fresh instance or in one an earlier call of the same session left
//! (the operator's `instance_reuse`), so a static is neither reliably kept nor reliably
//! reset: anything a tool wants to remember (a counter, an index, a token) goes here. Values are any `serde` type, stored as JSON;
//! [`Bucket::increment`] keeps counters as decimal text, which [`Bucket::get`] reads back
//! as a number. The operator grants buckets by name
//! (`[plugins.NAME.grants] keyvalue = { buckets = ["notes"] }`), and a plugin's buckets are
//! its own: another plugin opening `notes` gets a different bucket.
//!
//! On `wasm32` the host keeps the values. On other targets (native `cargo test`) each
//! thread has its own in-memory store, empty at start, so plugin tests run the same code;
//! [`clear_for_test`] empties it.
//!
//! ```
//! use berth_plugin_sdk::kv;
//!
//! let notes = kv::open("notes")?;
//! notes.set("greeting", &"hello")?;
//! assert_eq!(notes.get::<String>("greeting")?.as_deref(), Some("hello"));
//! assert_eq!(notes.increment("visits", 1)?, 1);
//! assert_eq!(kv::get::<u64>("notes", "visits")?, Some(1));
//! assert_eq!(notes.keys()?, ["greeting", "visits"]);
//! # Ok::<(), kv::KvError>(())
//! ```

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ToolError;

/// Why a state operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvError {
    /// The operator did not grant this bucket to the plugin.
    NotGranted {
        /// The bucket.
        bucket: String,
    },
    /// The store refused or failed: over quota, unavailable, not a number, … (the
    /// message says which and what to do).
    Store(String),
    /// A stored value is not the type asked for.
    Decode {
        /// Its key.
        key: String,
        /// What did not fit.
        reason: String,
    },
    /// A value could not be turned into JSON.
    Encode {
        /// Its key.
        key: String,
        /// What failed.
        reason: String,
    },
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvError::NotGranted { bucket } => write!(
                f,
                "the state bucket `{bucket}` is not granted to this plugin; the operator adds \
                 it to `keyvalue.buckets` in the plugin's grants"
            ),
            KvError::Store(message) => f.write_str(message),
            KvError::Decode { key, reason } => {
                write!(
                    f,
                    "the value of `{key}` is not what was asked for: {reason}"
                )
            }
            KvError::Encode { key, reason } => {
                write!(
                    f,
                    "the value for `{key}` cannot be stored as JSON: {reason}"
                )
            }
        }
    }
}

impl std::error::Error for KvError {}

impl From<KvError> for ToolError {
    fn from(error: KvError) -> Self {
        ToolError::failed(error)
    }
}

/// One open bucket of this plugin's state.
pub struct Bucket {
    name: String,
    handle: imp::Handle,
}

/// Opens the bucket `name` (granted by the operator).
pub fn open(name: &str) -> Result<Bucket, KvError> {
    Ok(Bucket {
        name: name.to_string(),
        handle: imp::open(name)?,
    })
}

impl Bucket {
    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value at `key`, decoded from JSON, or `None` if there is none.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, KvError> {
        self.get_bytes(key)?
            .map(|bytes| decode(key, &bytes))
            .transpose()
    }

    /// Stores `value` at `key` as JSON.
    pub fn set<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), KvError> {
        self.set_bytes(key, &encode(key, value)?)
    }

    /// The bytes at `key`, as stored.
    pub fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        imp::get(&self.handle, key)
    }

    /// Stores `value` at `key` as it is.
    pub fn set_bytes(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        imp::set(&self.handle, key, value)
    }

    /// Removes `key`; a missing key is fine.
    pub fn delete(&self, key: &str) -> Result<(), KvError> {
        imp::delete(&self.handle, key)
    }

    /// Whether `key` has a value.
    pub fn exists(&self, key: &str) -> Result<bool, KvError> {
        imp::exists(&self.handle, key)
    }

    /// Adds `delta` to the counter at `key` (a missing key counts as 0), atomically even
    /// when calls run at once, and returns the new value.
    pub fn increment(&self, key: &str, delta: u64) -> Result<u64, KvError> {
        imp::increment(&self.handle, key, delta)
    }

    /// Every key in the bucket, in ascending byte order.
    pub fn keys(&self) -> Result<Vec<String>, KvError> {
        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) = imp::list_keys(&self.handle, cursor)?;
            keys.extend(page);
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(keys),
            }
        }
    }

    /// The values at `keys`, in the same order, in one round trip.
    pub fn get_many<T: DeserializeOwned>(
        &self,
        keys: &[impl AsRef<str>],
    ) -> Result<Vec<Option<T>>, KvError> {
        let keys: Vec<String> = keys.iter().map(|k| k.as_ref().to_string()).collect();
        let values = imp::get_many(&self.handle, &keys)?;
        keys.iter()
            .zip(values)
            .map(|(key, value)| value.map(|bytes| decode(key, &bytes)).transpose())
            .collect()
    }

    /// Stores every entry, or none of them (for example when one would exceed the quota).
    pub fn set_many<T: Serialize>(
        &self,
        entries: impl IntoIterator<Item = (impl AsRef<str>, T)>,
    ) -> Result<(), KvError> {
        let entries = entries
            .into_iter()
            .map(|(key, value)| {
                let key = key.as_ref().to_string();
                let bytes = encode(&key, &value)?;
                Ok((key, bytes))
            })
            .collect::<Result<Vec<_>, KvError>>()?;
        imp::set_many(&self.handle, entries)
    }

    /// Removes every key in `keys`.
    pub fn delete_many(&self, keys: &[impl AsRef<str>]) -> Result<(), KvError> {
        let keys = keys.iter().map(|k| k.as_ref().to_string()).collect();
        imp::delete_many(&self.handle, keys)
    }
}

/// The value at `key` in `bucket` (see [`Bucket::get`]).
pub fn get<T: DeserializeOwned>(bucket: &str, key: &str) -> Result<Option<T>, KvError> {
    open(bucket)?.get(key)
}

/// Stores `value` at `key` in `bucket` (see [`Bucket::set`]).
pub fn set<T: Serialize + ?Sized>(bucket: &str, key: &str, value: &T) -> Result<(), KvError> {
    open(bucket)?.set(key, value)
}

/// Removes `key` from `bucket` (see [`Bucket::delete`]).
pub fn delete(bucket: &str, key: &str) -> Result<(), KvError> {
    open(bucket)?.delete(key)
}

/// Adds `delta` to the counter at `key` in `bucket` (see [`Bucket::increment`]).
pub fn increment(bucket: &str, key: &str, delta: u64) -> Result<u64, KvError> {
    open(bucket)?.increment(key, delta)
}

/// Every key in `bucket` (see [`Bucket::keys`]).
pub fn keys(bucket: &str) -> Result<Vec<String>, KvError> {
    open(bucket)?.keys()
}

/// Empties the current thread's in-memory store (native only).
#[cfg(not(target_arch = "wasm32"))]
pub fn clear_for_test() {
    imp::STORE.with(|store| store.borrow_mut().clear());
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, KvError> {
    serde_json::from_slice(bytes).map_err(|e| KvError::Decode {
        key: key.to_string(),
        reason: e.to_string(),
    })
}

fn encode<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<Vec<u8>, KvError> {
    serde_json::to_vec(value).map_err(|e| KvError::Encode {
        key: key.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::KvError;
    use crate::__private::keyvalue::wasi::keyvalue::{atomics, batch, store};

    pub(super) struct Handle {
        name: String,
        bucket: store::Bucket,
    }

    fn error(bucket: &str, e: store::Error) -> KvError {
        match e {
            store::Error::AccessDenied => KvError::NotGranted {
                bucket: bucket.to_string(),
            },
            store::Error::NoSuchStore => KvError::Store(format!("no state bucket `{bucket}`")),
            store::Error::Other(message) => KvError::Store(message),
        }
    }

    pub(super) fn open(name: &str) -> Result<Handle, KvError> {
        let bucket = store::open(name).map_err(|e| error(name, e))?;
        Ok(Handle {
            name: name.to_string(),
            bucket,
        })
    }

    pub(super) fn get(h: &Handle, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        h.bucket.get(key).map_err(|e| error(&h.name, e))
    }

    pub(super) fn set(h: &Handle, key: &str, value: &[u8]) -> Result<(), KvError> {
        h.bucket.set(key, value).map_err(|e| error(&h.name, e))
    }

    pub(super) fn delete(h: &Handle, key: &str) -> Result<(), KvError> {
        h.bucket.delete(key).map_err(|e| error(&h.name, e))
    }

    pub(super) fn exists(h: &Handle, key: &str) -> Result<bool, KvError> {
        h.bucket.exists(key).map_err(|e| error(&h.name, e))
    }

    pub(super) fn increment(h: &Handle, key: &str, delta: u64) -> Result<u64, KvError> {
        atomics::increment(&h.bucket, key, delta).map_err(|e| error(&h.name, e))
    }

    pub(super) fn list_keys(
        h: &Handle,
        cursor: Option<u64>,
    ) -> Result<(Vec<String>, Option<u64>), KvError> {
        let page = h.bucket.list_keys(cursor).map_err(|e| error(&h.name, e))?;
        Ok((page.keys, page.cursor))
    }

    pub(super) fn get_many(h: &Handle, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, KvError> {
        let found = batch::get_many(&h.bucket, keys).map_err(|e| error(&h.name, e))?;
        Ok(found.into_iter().map(|kv| kv.map(|(_, v)| v)).collect())
    }

    pub(super) fn set_many(h: &Handle, entries: Vec<(String, Vec<u8>)>) -> Result<(), KvError> {
        batch::set_many(&h.bucket, &entries).map_err(|e| error(&h.name, e))
    }

    pub(super) fn delete_many(h: &Handle, keys: Vec<String>) -> Result<(), KvError> {
        batch::delete_many(&h.bucket, &keys).map_err(|e| error(&h.name, e))
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    //! One in-memory store per thread, with the host's semantics: sorted keys, decimal
    //! counters, all-or-nothing batches.

    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use super::KvError;

    type Buckets = BTreeMap<String, BTreeMap<String, Vec<u8>>>;

    thread_local! {
        pub(super) static STORE: RefCell<Buckets> = const { RefCell::new(BTreeMap::new()) };
    }

    pub(super) struct Handle(String);

    fn with<T>(h: &Handle, f: impl FnOnce(&mut BTreeMap<String, Vec<u8>>) -> T) -> T {
        STORE.with(|store| f(store.borrow_mut().entry(h.0.clone()).or_default()))
    }

    pub(super) fn open(name: &str) -> Result<Handle, KvError> {
        Ok(Handle(name.to_string()))
    }

    pub(super) fn get(h: &Handle, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(with(h, |b| b.get(key).cloned()))
    }

    pub(super) fn set(h: &Handle, key: &str, value: &[u8]) -> Result<(), KvError> {
        with(h, |b| b.insert(key.to_string(), value.to_vec()));
        Ok(())
    }

    pub(super) fn delete(h: &Handle, key: &str) -> Result<(), KvError> {
        with(h, |b| b.remove(key));
        Ok(())
    }

    pub(super) fn exists(h: &Handle, key: &str) -> Result<bool, KvError> {
        Ok(with(h, |b| b.contains_key(key)))
    }

    pub(super) fn increment(h: &Handle, key: &str, delta: u64) -> Result<u64, KvError> {
        with(h, |b| {
            let current = match b.get(key) {
                None => 0,
                Some(bytes) => std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|t| t.trim().parse::<u64>().ok())
                    .ok_or_else(|| {
                        KvError::Store(format!(
                            "cannot increment `{key}`: its value is not a decimal unsigned integer"
                        ))
                    })?,
            };
            let next = current.checked_add(delta).ok_or_else(|| {
                KvError::Store(format!("cannot increment `{key}` by {delta}: overflow"))
            })?;
            b.insert(key.to_string(), next.to_string().into_bytes());
            Ok(next)
        })
    }

    pub(super) fn list_keys(
        h: &Handle,
        _cursor: Option<u64>,
    ) -> Result<(Vec<String>, Option<u64>), KvError> {
        Ok((with(h, |b| b.keys().cloned().collect()), None))
    }

    pub(super) fn get_many(h: &Handle, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, KvError> {
        Ok(with(h, |b| {
            keys.iter().map(|k| b.get(k).cloned()).collect()
        }))
    }

    pub(super) fn set_many(h: &Handle, entries: Vec<(String, Vec<u8>)>) -> Result<(), KvError> {
        with(h, |b| b.extend(entries));
        Ok(())
    }

    pub(super) fn delete_many(h: &Handle, keys: Vec<String>) -> Result<(), KvError> {
        with(h, |b| {
            for key in keys {
                b.remove(&key);
            }
        });
        Ok(())
    }
}
