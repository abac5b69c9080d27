//! The result cache's two tiers: answers of cacheable tool calls and resource reads, kept
//! in this process (moka, bounded by bytes per plugin) and, when configured, in Redis as
//! a tier that several servers share.
//!
//! This module keeps bytes under keys; what is cacheable, how a request becomes a key
//! and how an answer becomes bytes are the protocol layer's. A key names the plugin
//! build and settings it was computed by, so a reload or config change makes old entries
//! unreachable at once (and [`ResultCache::forget_plugin`] frees their memory). A resource
//! an answer came from is its *tag*: [`ResultCache::invalidate`] bumps the tag's
//! generation, which is part of every key under it, so one increment (in Redis: `INCR`,
//! seen by every server) drops every cached read of that resource without finding them.
//! A miss in memory that hits Redis is copied into memory. Redis trouble never fails a
//! call: a read error counts as a miss and a write error is logged, and the memory tier
//! goes on serving.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::ConnectionManager;
use sha2::{Digest, Sha256};

/// Cache lookups answered from a tier, by tier (`memory`, `redis`).
pub const CACHE_HITS: &str = "berth_cache_hits_total";
/// Cache lookups no tier could answer.
pub const CACHE_MISSES: &str = "berth_cache_misses_total";
/// Entries the memory tier dropped to stay within a plugin's `max_mb`.
pub const CACHE_EVICTIONS: &str = "berth_cache_evictions_total";
/// Bytes held in the memory tier now.
pub const CACHE_MEMORY_BYTES: &str = "berth_cache_memory_bytes";
/// Bytes written to the Redis tier.
pub const CACHE_REDIS_BYTES_WRITTEN: &str = "berth_cache_redis_bytes_written_total";

/// How one plugin's answers are cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    /// How long an answer may be served after it was computed.
    pub ttl: Duration,
    /// Most bytes of answers the memory tier keeps for the plugin.
    pub max_bytes: u64,
}

/// Where a cached answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// This process.
    Memory,
    /// The shared Redis tier.
    Redis,
}

impl Tier {
    fn label(self) -> &'static str {
        match self {
            Tier::Memory => "memory",
            Tier::Redis => "redis",
        }
    }
}

/// What identifies one cacheable request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey<'a> {
    /// The plugin.
    pub plugin: &'a str,
    /// Its build and settings (digest of the component, config and grants).
    pub identity: &'a str,
    /// The resource the answer depends on, if any (its URI), for invalidation.
    pub tag: Option<&'a str>,
    /// The request itself, canonical (tool and arguments, or URI; roles when they matter).
    pub request: &'a str,
}

/// One plugin's memory tier and the policy it was built for.
struct PluginTier {
    policy: CachePolicy,
    entries: moka::sync::Cache<String, Arc<[u8]>>,
}

/// The result cache: memory, plus Redis when configured.
pub struct ResultCache {
    tiers: Mutex<HashMap<String, Arc<PluginTier>>>,
    /// Each tag's generation in this process, by (plugin, tag).
    generations: Mutex<HashMap<(String, String), Generation>>,
    shared: Option<Shared>,
    evictions: Arc<AtomicU64>,
}

/// A tag's generation here, and how many of its bumps have not reached Redis yet.
#[derive(Debug, Default, Clone, Copy)]
struct Generation {
    local: u64,
    /// While non-zero, Redis may still hold answers this process already dropped, so
    /// answers under the tag skip the shared tier.
    unshared: u32,
}

/// The Redis tier.
struct Shared {
    connection: ConnectionManager,
    shown: String,
    get: redis::Script,
    put: redis::Script,
}

/// KEYS: the tag's generation key, the entry's key without its generation.
const SHARED_GET: &str = r"
local g = redis.call('GET', KEYS[1]) or '0'
return redis.call('GET', KEYS[2] .. ':' .. g)
";

/// KEYS as for get; ARGV: the value, its time to live in ms.
const SHARED_PUT: &str = r"
local g = redis.call('GET', KEYS[1]) or '0'
redis.call('SET', KEYS[2] .. ':' .. g, ARGV[1], 'PX', ARGV[2])
return 1
";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One hash of every part of `key` (each length-prefixed, so parts cannot run together).
fn digest(key: &CacheKey<'_>) -> String {
    let mut hash = Sha256::new();
    for part in [key.identity, key.tag.unwrap_or(""), key.request] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    hex(&hash.finalize())
}

impl ResultCache {
    /// A cache with a memory tier only, or with Redis at `redis` (URL and timeout) too.
    pub fn new(redis: Option<(&str, Duration)>) -> Result<Arc<Self>, crate::OpenError> {
        let shared = match redis {
            None => None,
            Some((url, timeout)) => {
                let (connection, shown) = crate::redis::connect(url, timeout)?;
                Some(Shared {
                    connection,
                    shown,
                    get: redis::Script::new(SHARED_GET),
                    put: redis::Script::new(SHARED_PUT),
                })
            }
        };
        Ok(Arc::new(Self {
            tiers: Mutex::default(),
            generations: Mutex::default(),
            shared,
            evictions: Arc::default(),
        }))
    }

    /// Whether a shared Redis tier is configured.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Entries the memory tier has evicted for size so far.
    pub fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }

    /// Bytes held in the memory tier now.
    pub fn memory_bytes(&self) -> u64 {
        let tiers = self.tiers.lock().unwrap_or_else(|e| e.into_inner());
        tiers
            .values()
            .map(|t| {
                t.entries.run_pending_tasks();
                t.entries.weighted_size()
            })
            .sum()
    }

    fn update_gauge(&self) {
        metrics::gauge!(CACHE_MEMORY_BYTES).set(self.memory_bytes() as f64);
    }

    /// The plugin's memory tier under `policy` (a new one when the policy changed).
    fn tier(&self, plugin: &str, policy: CachePolicy) -> Arc<PluginTier> {
        let mut tiers = self.tiers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tier) = tiers.get(plugin)
            && tier.policy == policy
        {
            return Arc::clone(tier);
        }
        let evictions = Arc::clone(&self.evictions);
        let entries = moka::sync::Cache::builder()
            .max_capacity(policy.max_bytes)
            .weigher(|key: &String, value: &Arc<[u8]>| {
                u32::try_from(key.len() + value.len()).unwrap_or(u32::MAX)
            })
            .time_to_live(policy.ttl)
            .eviction_listener(move |_key, _value, cause| {
                if cause == moka::notification::RemovalCause::Size {
                    evictions.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!(CACHE_EVICTIONS).increment(1);
                }
            })
            .build();
        let tier = Arc::new(PluginTier { policy, entries });
        tiers.insert(plugin.to_string(), Arc::clone(&tier));
        tier
    }

    fn generation(&self, plugin: &str, tag: Option<&str>) -> Generation {
        let Some(tag) = tag else {
            return Generation::default();
        };
        let generations = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        generations
            .get(&(plugin.to_string(), tag.to_string()))
            .copied()
            .unwrap_or_default()
    }

    /// The shared tier, unless an invalidation of the key's tag is still on its way there.
    fn shared_for(&self, key: &CacheKey<'_>) -> Option<&Shared> {
        let shared = self.shared.as_ref()?;
        (self.generation(key.plugin, key.tag).unshared == 0).then_some(shared)
    }

    /// The entry's name in memory: every part of the key, and the tag's generation here.
    fn memory_key(&self, key: &CacheKey<'_>) -> String {
        let generation = self.generation(key.plugin, key.tag).local;
        format!("{}:{generation}", digest(key))
    }

    /// The Redis names of the entry (without its generation) and of its tag's generation.
    fn shared_keys(key: &CacheKey<'_>) -> (String, String) {
        let tag = hex(&Sha256::digest(key.tag.unwrap_or("").as_bytes()));
        (
            format!("berth:cache:{{{}}}:{}", key.plugin, digest(key)),
            format!("berth:cache-gen:{{{}}}:{tag}", key.plugin),
        )
    }

    /// The cached answer for `key`, and the tier it came from.
    pub async fn get(&self, key: &CacheKey<'_>, policy: CachePolicy) -> Option<(Arc<[u8]>, Tier)> {
        let tier = self.tier(key.plugin, policy);
        let memory_key = self.memory_key(key);
        if let Some(found) = tier.entries.get(&memory_key) {
            metrics::counter!(CACHE_HITS, "tier" => Tier::Memory.label()).increment(1);
            return Some((found, Tier::Memory));
        }
        if let Some(shared) = self.shared_for(key) {
            let (entry, generation) = Self::shared_keys(key);
            let mut invocation = shared.get.prepare_invoke();
            invocation.key(generation).key(entry);
            let mut connection = shared.connection.clone();
            match invocation
                .invoke_async::<Option<Vec<u8>>>(&mut connection)
                .await
            {
                Ok(Some(bytes)) => {
                    let bytes: Arc<[u8]> = Arc::from(bytes);
                    tier.entries.insert(memory_key, Arc::clone(&bytes));
                    self.update_gauge();
                    metrics::counter!(CACHE_HITS, "tier" => Tier::Redis.label()).increment(1);
                    return Some((bytes, Tier::Redis));
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(redis = %shared.shown, %error, "result cache: redis read failed; answering from the plugin");
                }
            }
        }
        metrics::counter!(CACHE_MISSES).increment(1);
        None
    }

    /// Keeps `answer` for `key` in every tier.
    pub async fn put(&self, key: &CacheKey<'_>, policy: CachePolicy, answer: Vec<u8>) {
        let tier = self.tier(key.plugin, policy);
        let memory_key = self.memory_key(key);
        let answer: Arc<[u8]> = Arc::from(answer);
        tier.entries.insert(memory_key, Arc::clone(&answer));
        self.update_gauge();
        if let Some(shared) = self.shared_for(key) {
            let (entry, generation) = Self::shared_keys(key);
            let mut invocation = shared.put.prepare_invoke();
            invocation
                .key(generation)
                .key(entry)
                .arg(&*answer)
                .arg(policy.ttl.as_millis().max(1) as u64);
            let mut connection = shared.connection.clone();
            match invocation.invoke_async::<i64>(&mut connection).await {
                Ok(_) => {
                    metrics::counter!(CACHE_REDIS_BYTES_WRITTEN).increment(answer.len() as u64);
                }
                Err(error) => {
                    tracing::warn!(redis = %shared.shown, %error, "result cache: redis write failed; kept in memory only");
                }
            }
        }
    }

    /// Drops this process's cached answers that depend on `tag` (a resource of `plugin`),
    /// leaving Redis alone: another replica said it changed, and bumped Redis itself.
    pub fn invalidate_here(&self, plugin: &str, tag: &str) {
        let mut generations = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        generations
            .entry((plugin.to_string(), tag.to_string()))
            .or_default()
            .local += 1;
    }

    /// Drops every cached answer that depends on `tag` (a resource of `plugin`): here at
    /// once, and in Redis as soon as it answers. Until then this process does not use
    /// Redis for the tag, so nothing it already dropped can come back from there. Called
    /// from inside a plugin call, so it never waits.
    pub fn invalidate(self: &Arc<Self>, plugin: &str, tag: &str) {
        let id = (plugin.to_string(), tag.to_string());
        let send = self.shared.is_some() && tokio::runtime::Handle::try_current().is_ok();
        {
            let mut generations = self.generations.lock().unwrap_or_else(|e| e.into_inner());
            let generation = generations.entry(id.clone()).or_default();
            generation.local += 1;
            if send {
                generation.unshared += 1;
            }
        }
        if !send {
            return;
        }
        let cache = Arc::clone(self);
        tokio::spawn(async move {
            cache.invalidate_shared(&id.0, &id.1).await;
            let mut generations = cache.generations.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(generation) = generations.get_mut(&id) {
                generation.unshared -= 1;
            }
        });
    }

    async fn invalidate_shared(&self, plugin: &str, tag: &str) {
        let Some(shared) = &self.shared else { return };
        let key = CacheKey {
            plugin,
            identity: "",
            tag: Some(tag),
            request: "",
        };
        let (_, generation) = Self::shared_keys(&key);
        let mut connection = shared.connection.clone();
        let bumped: redis::RedisResult<i64> = redis::cmd("INCR")
            .arg(&generation)
            .query_async(&mut connection)
            .await;
        if let Err(error) = bumped {
            tracing::warn!(redis = %shared.shown, %error, plugin, uri = tag, "result cache: redis invalidation failed; other servers may answer from their cache until the entries expire");
        }
    }

    /// Frees the memory tier of every plugin (after a config change, which may have
    /// changed any plugin's settings).
    pub fn forget_all(&self) {
        self.tiers.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.update_gauge();
    }

    /// Frees the memory tier of `plugin` (it was reloaded, unloaded or reconfigured; its
    /// old entries can no longer be reached).
    pub fn forget_plugin(&self, plugin: &str) {
        let removed = self
            .tiers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(plugin);
        if removed.is_some() {
            self.update_gauge();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_bytes: u64) -> CachePolicy {
        CachePolicy {
            ttl: Duration::from_secs(60),
            max_bytes,
        }
    }

    fn key<'a>(identity: &'a str, tag: Option<&'a str>, request: &'a str) -> CacheKey<'a> {
        CacheKey {
            plugin: "p",
            identity,
            tag,
            request,
        }
    }

    async fn tiers_behave(cache: &Arc<ResultCache>, shared: bool) {
        let k = key("build-1", None, "tool a {}");
        assert!(cache.get(&k, policy(1 << 20)).await.is_none());
        cache.put(&k, policy(1 << 20), b"answer".to_vec()).await;
        let (bytes, tier) = cache.get(&k, policy(1 << 20)).await.unwrap();
        assert_eq!((&*bytes, tier), (&b"answer"[..], Tier::Memory));
        // Another build or other settings: another key.
        assert!(
            cache
                .get(&key("build-2", None, "tool a {}"), policy(1 << 20))
                .await
                .is_none()
        );

        // Forgetting the memory tier leaves Redis (when there is one) to answer.
        cache.forget_plugin("p");
        let found = cache.get(&k, policy(1 << 20)).await;
        if shared {
            assert_eq!(found.unwrap().1, Tier::Redis);
            assert_eq!(
                cache.get(&k, policy(1 << 20)).await.unwrap().1,
                Tier::Memory
            );
        } else {
            assert!(found.is_none());
        }

        // A resource's change drops every answer tagged with it, and only those.
        let r = key("build-1", Some("notes://index"), "read notes://index");
        let other = key("build-1", Some("notes://note/1"), "read notes://note/1");
        cache.put(&r, policy(1 << 20), b"index".to_vec()).await;
        cache.put(&other, policy(1 << 20), b"note".to_vec()).await;
        cache.invalidate("p", "notes://index");
        assert!(cache.get(&r, policy(1 << 20)).await.is_none());
        assert!(cache.get(&other, policy(1 << 20)).await.is_some());
    }

    #[tokio::test]
    async fn the_memory_tier_answers_and_forgets() {
        let cache = ResultCache::new(None).unwrap();
        assert!(!cache.is_shared());
        tiers_behave(&cache, false).await;
    }

    #[tokio::test]
    async fn the_memory_tier_stays_within_its_bytes() {
        let cache = ResultCache::new(None).unwrap();
        let small = policy(4096);
        for i in 0..64 {
            let request = format!("tool a {{\"i\":{i}}}");
            cache
                .put(&key("b", None, &request), small, vec![b'x'; 512])
                .await;
        }
        assert!(cache.memory_bytes() <= 4096, "{}", cache.memory_bytes());
        assert!(cache.evictions() > 0);
    }

    #[tokio::test]
    async fn redis_is_the_shared_tier_and_its_trouble_is_a_miss() {
        let server = berth_test_services::Redis::start(berth_test_services::Persistence::None);
        let url = server.url();
        let cache = ResultCache::new(Some((&url, Duration::from_secs(1)))).unwrap();
        assert!(cache.is_shared());
        tiers_behave(&cache, true).await;
        // A second process sees what the first cached, and the first one's invalidation.
        let other = ResultCache::new(Some((&url, Duration::from_secs(1)))).unwrap();
        let k = key("build-1", None, "tool a {}");
        assert_eq!(other.get(&k, policy(1 << 20)).await.unwrap().1, Tier::Redis);
        let r = key("build-1", Some("u"), "read u");
        cache.put(&r, policy(1 << 20), b"v".to_vec()).await;
        cache.invalidate("p", "u");
        // Another process learns of it once Redis has the new generation (a process
        // that had the answer in memory keeps it until its time to live ends).
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let fresh = || ResultCache::new(Some((&url, Duration::from_secs(1)))).unwrap();
        while fresh().get(&r, policy(1 << 20)).await.is_some() {
            assert!(
                std::time::Instant::now() < deadline,
                "never invalidated in redis"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Redis gone: lookups miss, writes keep to memory, nothing fails.
        drop(server);
        let k2 = key("build-1", None, "tool b {}");
        assert!(cache.get(&k2, policy(1 << 20)).await.is_none());
        cache.put(&k2, policy(1 << 20), b"w".to_vec()).await;
        assert_eq!(
            cache.get(&k2, policy(1 << 20)).await.unwrap().1,
            Tier::Memory
        );
    }
}
