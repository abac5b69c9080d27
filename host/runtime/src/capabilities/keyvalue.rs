//! Plugin state (`wasi:keyvalue` store, atomics and batch): buckets of keys a plugin
//! keeps between calls, on the server's configured state backend.
//!
//! Grant needed: `[plugins.NAME.grants] keyvalue = { buckets = ["notes"] }` (plus the
//! optional `max_mb`, `max_keys`, `max_value_kb` quotas). A plugin opens buckets by name,
//! and every bucket it opens is its own: the host pairs the name with the plugin's name,
//! so two plugins that open `notes` never share a key. Opening a bucket that is not
//! granted answers `access-denied` and logs one line naming the key to add. Quotas are
//! the backend's to enforce (in the same write that would exceed them); their errors,
//! like an unreachable backend's, reach the plugin as `other` with the whole story.

use std::sync::Arc;

use wasmtime::component::Resource;

use super::PLUGIN_TARGET;
use crate::wit::keyvalue::OpenBucket;
use crate::wit::keyvalue::wasi::keyvalue::{atomics, batch, store};
use berth_model::policy::Grants;
use berth_model::state::{Bucket, SharedStateStore, StateError, bucket_name_problem};

/// Buckets one store may hold open at once; a plugin that keeps opening without closing
/// is told so instead of growing the host's memory.
const MAX_OPEN_BUCKETS: usize = 64;

/// Per-store state of the `wasi:keyvalue` capability.
pub(crate) struct KeyValueState {
    plugin: Arc<str>,
    grants: Arc<Grants>,
    backend: Option<SharedStateStore>,
    open: Vec<Option<Bucket>>,
}

impl KeyValueState {
    /// The state for calls of `plugin` with `grants`, on `backend` (none: the server
    /// keeps no plugin state, and every open says so).
    pub(crate) fn new(
        plugin: &Arc<str>,
        grants: &Arc<Grants>,
        backend: Option<SharedStateStore>,
    ) -> Self {
        Self {
            plugin: Arc::clone(plugin),
            grants: Arc::clone(grants),
            backend,
            open: Vec::new(),
        }
    }

    /// The bucket behind a guest handle, and the backend to reach it on.
    fn target(
        &self,
        handle: &Resource<OpenBucket>,
    ) -> Result<(Bucket, SharedStateStore), store::Error> {
        let bucket = self
            .open
            .get(handle.rep() as usize)
            .and_then(Option::as_ref)
            .cloned()
            .ok_or_else(|| store::Error::Other("this bucket handle is closed".into()))?;
        let backend = self.backend.clone().ok_or_else(not_configured)?;
        Ok((bucket, backend))
    }

    /// The quota of this plugin's grant (a bucket is only open when there is a grant).
    fn quota(&self) -> berth_model::state::StateQuota {
        self.grants
            .keyvalue
            .as_ref()
            .map(|grant| grant.quota)
            .unwrap_or_default()
    }

    fn refuse(&self, bucket: &str, why: &str) -> store::Error {
        tracing::warn!(
            target: PLUGIN_TARGET,
            plugin = %self.plugin,
            bucket,
            "keyvalue access denied: {why}"
        );
        store::Error::AccessDenied
    }
}

fn not_configured() -> store::Error {
    store::Error::Other("this server keeps no plugin state ([state] is not set up)".into())
}

/// A backend error as the guest sees it: `other` with the whole message.
fn to_guest(error: StateError) -> store::Error {
    store::Error::Other(error.to_string())
}

impl store::Host for KeyValueState {
    async fn open(&mut self, identifier: String) -> Result<Resource<OpenBucket>, store::Error> {
        if let Some(problem) = bucket_name_problem(&identifier) {
            return Err(store::Error::Other(problem));
        }
        let Some(grant) = self.grants.keyvalue.as_ref() else {
            return Err(self.refuse(
                &identifier,
                &format!(
                    "the plugin has no keyvalue grant; add `keyvalue = {{ buckets = \
                     [\"{identifier}\"] }}` to `plugins.{}.grants`",
                    self.plugin
                ),
            ));
        };
        if !grant.allows(&identifier) {
            return Err(self.refuse(
                &identifier,
                &format!(
                    "bucket not granted; add \"{identifier}\" to `plugins.{}.grants.keyvalue.buckets`",
                    self.plugin
                ),
            ));
        }
        if self.backend.is_none() {
            return Err(not_configured());
        }
        let bucket = Bucket {
            plugin: Arc::clone(&self.plugin),
            name: Arc::from(identifier),
        };
        let slot = match self.open.iter().position(Option::is_none) {
            Some(free) => free,
            None if self.open.len() < MAX_OPEN_BUCKETS => {
                self.open.push(None);
                self.open.len() - 1
            }
            None => {
                return Err(store::Error::Other(format!(
                    "{MAX_OPEN_BUCKETS} buckets are open already; drop a bucket handle \
                     before opening another"
                )));
            }
        };
        self.open[slot] = Some(bucket);
        Ok(Resource::new_own(slot as u32))
    }
}

impl store::HostBucket for KeyValueState {
    async fn get(
        &mut self,
        handle: Resource<OpenBucket>,
        key: String,
    ) -> Result<Option<Vec<u8>>, store::Error> {
        let (bucket, backend) = self.target(&handle)?;
        let mut values = backend.get_many(&bucket, &[key]).await.map_err(to_guest)?;
        Ok(values.pop().flatten())
    }

    async fn set(
        &mut self,
        handle: Resource<OpenBucket>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), store::Error> {
        let (bucket, backend) = self.target(&handle)?;
        backend
            .set_many(&bucket, self.quota(), vec![(key, value)])
            .await
            .map_err(to_guest)
    }

    async fn delete(
        &mut self,
        handle: Resource<OpenBucket>,
        key: String,
    ) -> Result<(), store::Error> {
        let (bucket, backend) = self.target(&handle)?;
        backend
            .delete_many(&bucket, vec![key])
            .await
            .map_err(to_guest)
    }

    async fn exists(
        &mut self,
        handle: Resource<OpenBucket>,
        key: String,
    ) -> Result<bool, store::Error> {
        Ok(store::HostBucket::get(self, handle, key).await?.is_some())
    }

    async fn list_keys(
        &mut self,
        handle: Resource<OpenBucket>,
        cursor: Option<u64>,
    ) -> Result<store::KeyResponse, store::Error> {
        let (bucket, backend) = self.target(&handle)?;
        let page = backend.list_keys(&bucket, cursor).await.map_err(to_guest)?;
        Ok(store::KeyResponse {
            keys: page.keys,
            cursor: page.cursor,
        })
    }

    async fn drop(&mut self, handle: Resource<OpenBucket>) -> wasmtime::Result<()> {
        if let Some(slot) = self.open.get_mut(handle.rep() as usize) {
            *slot = None;
        }
        Ok(())
    }
}

impl atomics::Host for KeyValueState {
    async fn increment(
        &mut self,
        handle: Resource<OpenBucket>,
        key: String,
        delta: u64,
    ) -> Result<u64, store::Error> {
        let (bucket, backend) = self.target(&handle)?;
        backend
            .increment(&bucket, self.quota(), key, delta)
            .await
            .map_err(to_guest)
    }
}

impl batch::Host for KeyValueState {
    async fn get_many(
        &mut self,
        handle: Resource<OpenBucket>,
        keys: Vec<String>,
    ) -> Result<Vec<Option<(String, Vec<u8>)>>, store::Error> {
        let (bucket, backend) = self.target(&handle)?;
        let values = backend.get_many(&bucket, &keys).await.map_err(to_guest)?;
        Ok(keys
            .into_iter()
            .zip(values)
            .map(|(key, value)| value.map(|v| (key, v)))
            .collect())
    }

    async fn set_many(
        &mut self,
        handle: Resource<OpenBucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Result<(), store::Error> {
        let (bucket, backend) = self.target(&handle)?;
        backend
            .set_many(&bucket, self.quota(), key_values)
            .await
            .map_err(to_guest)
    }

    async fn delete_many(
        &mut self,
        handle: Resource<OpenBucket>,
        keys: Vec<String>,
    ) -> Result<(), store::Error> {
        let (bucket, backend) = self.target(&handle)?;
        backend.delete_many(&bucket, keys).await.map_err(to_guest)
    }
}

/// Adds `wasi:keyvalue` (store, atomics, batch) to `linker`; `get` finds the state in
/// the store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> &mut KeyValueState,
) -> wasmtime::Result<()> {
    type Own = wasmtime::component::HasSelf<KeyValueState>;
    store::add_to_linker::<T, Own>(linker, get)?;
    atomics::add_to_linker::<T, Own>(linker, get)?;
    batch::add_to_linker::<T, Own>(linker, get)?;
    Ok(())
}
