//! Which answers the result cache may give, and the key each request is kept under.
//!
//! A tool's answer is cacheable when the operator turned caching on for its plugin
//! (`[plugins.NAME.cache]`) and the tool says it is read-only and idempotent; a resource
//! read is cacheable when its plugin's caching is on. The key is the plugin's identity
//! (its build, config values and grants), the request in canonical form, and — for an
//! authenticated caller — the caller's roles, so an answer computed for one set of roles
//! is never given to another. Only answers that are not errors are kept: a failed,
//! refused, timed-out or cancelled call never reaches [`Cacheable::keep`].

use std::sync::Arc;

use berth_core::registry::PluginEntry;
use berth_core::state::Served;
use berth_state::cache::{CacheKey, CachePolicy, ResultCache, Tier};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Caller;

/// One request whose answer may come from, or go to, the result cache.
pub(crate) struct Cacheable {
    cache: Arc<ResultCache>,
    policy: CachePolicy,
    plugin: String,
    identity: String,
    tag: Option<String>,
    request: String,
}

/// Who the answer is for, as far as it may differ: the roles of an authenticated caller;
/// everyone else may use everything, so they share answers.
fn audience(caller: &Caller) -> String {
    match caller {
        Caller::Authenticated(identity) => {
            let roles: Vec<&str> = identity.roles.iter().map(String::as_str).collect();
            format!("roles:{}", roles.join(","))
        }
        Caller::Trusted | Caller::Unverified => "all".to_string(),
    }
}

impl Cacheable {
    /// The cache entry of a call of `tool` with `arguments`, if its answer is cacheable.
    pub(crate) fn tool(
        served: &Served,
        plugin: &PluginEntry,
        tool: &berth_model::manifest::ToolSpec,
        arguments: &serde_json::Value,
        caller: &Caller,
    ) -> Option<Self> {
        let hints = &tool.annotations;
        if hints.read_only != Some(true) || hints.idempotent != Some(true) {
            return None;
        }
        // `serde_json` keeps object keys sorted, so equal arguments print equally.
        Self::new(served, plugin, || {
            let request = format!("tool\n{}\n{arguments}\n{}", tool.name, audience(caller));
            (None, request)
        })
    }

    /// The cache entry of a read of `uri`, if its plugin's answers are cached.
    pub(crate) fn resource(
        served: &Served,
        plugin: &PluginEntry,
        uri: &str,
        caller: &Caller,
    ) -> Option<Self> {
        Self::new(served, plugin, || {
            let request = format!("resource\n{uri}\n{}", audience(caller));
            (Some(uri.to_string()), request)
        })
    }

    /// The entry when `plugin`'s answers are cached; `tag_and_request` (which prints the
    /// arguments) runs only then, so uncached calls do not pay for it.
    fn new(
        served: &Served,
        plugin: &PluginEntry,
        tag_and_request: impl FnOnce() -> (Option<String>, String),
    ) -> Option<Self> {
        let name = plugin.name();
        let (cache, policy) = served.cache_for(name)?;
        let (tag, request) = tag_and_request();
        Some(Self {
            cache,
            policy,
            plugin: name.to_string(),
            identity: plugin.plugin.identity().to_string(),
            tag,
            request,
        })
    }

    fn key(&self) -> CacheKey<'_> {
        CacheKey {
            plugin: &self.plugin,
            identity: &self.identity,
            tag: self.tag.as_deref(),
            request: &self.request,
        }
    }

    /// The cached answer, if there is one that still reads as a `T`.
    pub(crate) async fn find<T: DeserializeOwned>(&self) -> Option<(T, Tier)> {
        let (bytes, tier) = self.cache.get(&self.key(), self.policy).await?;
        match serde_json::from_slice(&bytes) {
            Ok(answer) => Some((answer, tier)),
            Err(error) => {
                // Another version's shape, or a damaged shared entry: answer afresh.
                tracing::debug!(plugin = %self.plugin, %error, "cached answer unreadable; calling the plugin");
                None
            }
        }
    }

    /// Keeps a successful `answer`.
    pub(crate) async fn keep<T: Serialize>(&self, answer: &T) {
        match serde_json::to_vec(answer) {
            Ok(bytes) => self.cache.put(&self.key(), self.policy, bytes).await,
            Err(error) => {
                tracing::warn!(plugin = %self.plugin, %error, "answer not cached: it does not serialize");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::access::{AuthMethod, Identity};

    #[test]
    fn answers_are_shared_only_by_callers_with_the_same_roles() {
        let with = |roles: &[&str]| {
            Caller::Authenticated(Arc::new(Identity {
                subject: "s".into(),
                roles: roles.iter().map(|r| r.to_string()).collect(),
                method: AuthMethod::StaticToken,
            }))
        };
        assert_eq!(audience(&with(&["b", "a"])), audience(&with(&["a", "b"])));
        assert_ne!(audience(&with(&["a"])), audience(&with(&["a", "b"])));
        assert_ne!(audience(&with(&[])), audience(&Caller::Trusted));
        assert_eq!(audience(&Caller::Trusted), "all");
    }
}
