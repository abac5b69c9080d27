//! The Redis backend: plugin state on a Redis server that several Berth replicas share.
//!
//! Layout: each bucket is one hash, `berth:kv:{PLUGIN}:BUCKET` (field = key), and each
//! plugin's usage is the hash `berth:kv-usage:{PLUGIN}` (`bytes`, `keys`). The braces are
//! a Redis Cluster hash tag: all of a plugin's keys live in one slot, so the scripts that
//! touch a bucket and the usage together stay legal there. Every write is one Lua script,
//! which Redis runs atomically: it checks the quota against the usage and applies the
//! write and the new usage together, or changes nothing. Counters are added as decimal
//! strings inside the script, because Lua numbers are doubles and would round past 2^53.
//!
//! The connection is `redis`'s `ConnectionManager`: one multiplexed connection, opened on
//! first use and re-opened in the background after a failure, with a timeout on every
//! command, so a Redis that is down or stalled fails a plugin's state call with the reason
//! instead of holding it past its deadline. The first command on a connection that broke
//! while idle (Redis restarted) is what notices; reads and idempotent writes are then
//! sent once more on the new connection, so a restart goes unseen. An increment is never
//! sent twice, since the first may have been applied: it fails, and the next one works.

use std::future::Future;
use std::time::Duration;

use berth_model::state::{
    Bucket, KeyPage, LIST_PAGE, StateError, StateFuture, StateQuota, StateStore, Usage,
    check_value, key_problem,
};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Plugin state on a Redis server.
pub struct RedisStore {
    connection: ConnectionManager,
    /// The server's address without credentials, for messages.
    shown: String,
    scripts: Scripts,
}

struct Scripts {
    set_many: redis::Script,
    delete_many: redis::Script,
    increment: redis::Script,
}

/// Reads the plugin's usage into `bytes` and `keys`. Shared by the scripts below.
const USAGE_PRELUDE: &str = r"
local bytes = tonumber(redis.call('HGET', KEYS[2], 'bytes') or '0')
local keys = tonumber(redis.call('HGET', KEYS[2], 'keys') or '0')
local function old_len(k)
  if redis.call('HEXISTS', KEYS[1], k) == 1 then
    return redis.call('HSTRLEN', KEYS[1], k)
  end
  return false
end
local function save_usage()
  if keys <= 0 then
    redis.call('DEL', KEYS[2])
  else
    redis.call('HSET', KEYS[2], 'bytes', tostring(bytes), 'keys', tostring(keys))
  end
end
";

/// ARGV: max_bytes, max_keys, then key, value pairs. All or nothing.
const SET_MANY: &str = r"
local before_bytes, before_keys = bytes, keys
local seen = {}
for i = 3, #ARGV, 2 do
  local k, v = ARGV[i], ARGV[i + 1]
  local old = seen[k]
  if old == nil then old = old_len(k) end
  if old then
    bytes = bytes - #k - old
    keys = keys - 1
  end
  bytes = bytes + #k + #v
  keys = keys + 1
  seen[k] = #v
end
if bytes > before_bytes or keys > before_keys then
  if keys > tonumber(ARGV[2]) then return {'keys', tostring(keys)} end
  if bytes > tonumber(ARGV[1]) then return {'bytes', tostring(bytes)} end
end
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
save_usage()
return {'ok', ''}
";

/// ARGV: the keys to delete.
const DELETE_MANY: &str = r"
for i = 1, #ARGV do
  local k = ARGV[i]
  local old = old_len(k)
  if old then
    bytes = bytes - #k - old
    keys = keys - 1
    redis.call('HDEL', KEYS[1], k)
  end
end
save_usage()
return {'ok', ''}
";

/// ARGV: max_bytes, max_keys, max_value_bytes, key, delta (decimal).
const INCREMENT: &str = r"
local MAX = '18446744073709551615'
local function add(a, b)
  local out, carry, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local d = carry
    if i > 0 then d = d + string.byte(a, i) - 48; i = i - 1 end
    if j > 0 then d = d + string.byte(b, j) - 48; j = j - 1 end
    out[#out + 1] = string.char(48 + d % 10)
    carry = math.floor(d / 10)
  end
  local sum = string.reverse(table.concat(out)):gsub('^0+', '')
  if sum == '' then return '0' end
  return sum
end
local k = ARGV[4]
local current = redis.call('HGET', KEYS[1], k)
local digits = '0'
if current then
  digits = string.match(current, '^%s*(%d+)%s*$')
  if not digits then return {'nan', ''} end
end
local sum = add(digits, ARGV[5])
if #sum > #MAX or (#sum == #MAX and sum > MAX) then return {'overflow', ''} end
if #sum > tonumber(ARGV[3]) then return {'value', tostring(#sum)} end
local old = old_len(k)
local before_bytes, before_keys = bytes, keys
if old then
  bytes = bytes - #k - old
  keys = keys - 1
end
bytes = bytes + #k + #sum
keys = keys + 1
if bytes > before_bytes or keys > before_keys then
  if keys > tonumber(ARGV[2]) then return {'keys', tostring(keys)} end
  if bytes > tonumber(ARGV[1]) then return {'bytes', tostring(bytes)} end
end
redis.call('HSET', KEYS[1], k, sum)
save_usage()
return {'ok', sum}
";

impl RedisStore {
    /// A store on the server at `url`; nothing is connected until first use. `timeout`
    /// bounds connecting and each command.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, crate::OpenError> {
        let (connection, shown) = connect(url, timeout)?;
        let script = |body: &str| redis::Script::new(&format!("{USAGE_PRELUDE}{body}"));
        Ok(Self {
            connection,
            shown,
            scripts: Scripts {
                set_many: script(SET_MANY),
                delete_many: script(DELETE_MANY),
                increment: script(INCREMENT),
            },
        })
    }

    fn unavailable(&self, e: &redis::RedisError) -> StateError {
        StateError::Unavailable(format!("redis {}: {e}", self.shown))
    }

    /// Runs `op` on the connection; when it found the connection lost and `op` may be
    /// repeated safely, runs it once more on the new one.
    async fn send<T, F, Fut>(&self, repeatable: bool, mut op: F) -> Result<T, StateError>
    where
        F: FnMut(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        match op(self.connection.clone()).await {
            Ok(value) => Ok(value),
            Err(e) if repeatable && (e.is_connection_dropped() || e.is_io_error()) => {
                tracing::debug!(redis = %self.shown, error = %e, "redis connection lost; sending again");
                op(self.connection.clone())
                    .await
                    .map_err(|e| self.unavailable(&e))
            }
            Err(e) => Err(self.unavailable(&e)),
        }
    }

    fn bucket_key(bucket: &Bucket) -> String {
        format!("berth:kv:{{{}}}:{}", bucket.plugin, bucket.name)
    }

    fn usage_key(plugin: &str) -> String {
        format!("berth:kv-usage:{{{plugin}}}")
    }

    /// Runs a write script and turns its `{status, detail}` answer into a result.
    async fn run(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
        repeatable: bool,
        quota: &StateQuota,
        key: &str,
    ) -> Result<String, StateError> {
        let (status, detail): (String, String) = self
            .send(repeatable, |mut connection| async move {
                invocation.invoke_async(&mut connection).await
            })
            .await?;
        let needed = || detail.parse::<u64>().unwrap_or(0);
        match status.as_str() {
            "ok" => Ok(detail),
            "keys" => Err(StateError::over(
                "keys",
                needed(),
                quota.max_keys,
                "max_keys",
            )),
            "bytes" => Err(StateError::over(
                "bytes",
                needed(),
                quota.max_bytes,
                "max_mb",
            )),
            "value" => Err(check_value(quota, key, needed() as usize)
                .err()
                .unwrap_or_else(|| StateError::Quota(format!("value for `{key}` too large")))),
            "nan" => Err(StateError::NotANumber(format!(
                "cannot increment `{key}`: its value is not a decimal unsigned integer"
            ))),
            "overflow" => Err(StateError::NotANumber(format!(
                "cannot increment `{key}`: the result would not fit in 64 bits"
            ))),
            other => Err(StateError::Unavailable(format!(
                "redis {}: unexpected script answer `{other}`",
                self.shown
            ))),
        }
    }
}

/// A connection to the Redis at `url` as every Berth use of Redis wants it: opened on
/// first use, re-opened in the background after a failure, each connect and command
/// bounded by `timeout`. Returns it with the URL as messages may show it (no password).
pub fn connect(
    url: &str,
    timeout: Duration,
) -> Result<(ConnectionManager, String), crate::OpenError> {
    let shown = shown(url);
    let refused = |e: redis::RedisError| crate::OpenError::Redis {
        url: shown.clone(),
        reason: e.to_string(),
    };
    let client = redis::Client::open(url).map_err(refused)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        // Reconnection happens in the background between calls; a call that meets a
        // broken connection fails at once rather than retrying past its deadline.
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_secs(2));
    let connection = ConnectionManager::new_lazy_with_config(client, config).map_err(refused)?;
    Ok((connection, shown))
}

/// Lets a warning about Redis through at most every ten seconds, so an outage logs a
/// line now and then rather than one per request.
#[derive(Debug, Default)]
pub struct Throttle(std::sync::atomic::AtomicU64);

impl Throttle {
    /// Whether a warning may be logged now.
    pub fn ready(&self) -> bool {
        use std::sync::atomic::Ordering;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let last = self.0.load(Ordering::Relaxed);
        now.saturating_sub(last) >= 10_000
            && self
                .0
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// `url` without its password, for messages and logs.
pub fn shown(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

impl StateStore for RedisStore {
    fn get_many<'a>(
        &'a self,
        bucket: &'a Bucket,
        keys: &'a [String],
    ) -> StateFuture<'a, Vec<Option<Vec<u8>>>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let command = redis::cmd("HMGET")
                .arg(Self::bucket_key(bucket))
                .arg(keys)
                .to_owned();
            let command = &command;
            self.send(true, |mut connection| async move {
                command.query_async(&mut connection).await
            })
            .await
        })
    }

    fn set_many<'a>(
        &'a self,
        bucket: &'a Bucket,
        quota: StateQuota,
        entries: Vec<(String, Vec<u8>)>,
    ) -> StateFuture<'a, ()> {
        Box::pin(async move {
            for (key, value) in &entries {
                check_value(&quota, key, value.len())?;
            }
            let mut invocation = self.scripts.set_many.prepare_invoke();
            invocation
                .key(Self::bucket_key(bucket))
                .key(Self::usage_key(&bucket.plugin))
                .arg(quota.max_bytes)
                .arg(quota.max_keys);
            for (key, value) in &entries {
                invocation.arg(key).arg(value);
            }
            self.run(&invocation, true, &quota, "").await.map(drop)
        })
    }

    fn delete_many<'a>(&'a self, bucket: &'a Bucket, keys: Vec<String>) -> StateFuture<'a, ()> {
        Box::pin(async move {
            let mut invocation = self.scripts.delete_many.prepare_invoke();
            invocation
                .key(Self::bucket_key(bucket))
                .key(Self::usage_key(&bucket.plugin));
            for key in &keys {
                invocation.arg(key);
            }
            self.run(&invocation, true, &StateQuota::default(), "")
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
        Box::pin(async move {
            if let Some(problem) = key_problem(&key) {
                return Err(StateError::Invalid(problem));
            }
            let mut invocation = self.scripts.increment.prepare_invoke();
            invocation
                .key(Self::bucket_key(bucket))
                .key(Self::usage_key(&bucket.plugin))
                .arg(quota.max_bytes)
                .arg(quota.max_keys)
                .arg(quota.max_value_bytes)
                .arg(&key)
                .arg(delta.to_string());
            let sum = self.run(&invocation, false, &quota, &key).await?;
            sum.parse::<u64>().map_err(|_| {
                StateError::Unavailable(format!(
                    "redis {}: the counter `{key}` came back as `{sum}`",
                    self.shown
                ))
            })
        })
    }

    fn list_keys<'a>(
        &'a self,
        bucket: &'a Bucket,
        cursor: Option<u64>,
    ) -> StateFuture<'a, KeyPage> {
        Box::pin(async move {
            let command = redis::cmd("HKEYS").arg(Self::bucket_key(bucket)).to_owned();
            let command = &command;
            let mut keys: Vec<String> = self
                .send(true, |mut connection| async move {
                    command.query_async(&mut connection).await
                })
                .await?;
            // Sorted, and paged by position, exactly as the embedded store pages.
            keys.sort_unstable();
            let skip = cursor.unwrap_or(0) as usize;
            let rest = keys.len().saturating_sub(skip);
            let keys: Vec<String> = keys.into_iter().skip(skip).take(LIST_PAGE).collect();
            let cursor = (rest > LIST_PAGE).then_some((skip + LIST_PAGE) as u64);
            Ok(KeyPage { keys, cursor })
        })
    }

    fn usage<'a>(&'a self, plugin: &'a str) -> StateFuture<'a, Usage> {
        Box::pin(async move {
            let command = redis::cmd("HMGET")
                .arg(Self::usage_key(plugin))
                .arg("bytes")
                .arg("keys")
                .to_owned();
            let command = &command;
            let (bytes, keys): (Option<u64>, Option<u64>) = self
                .send(true, |mut connection| async move {
                    command.query_async(&mut connection).await
                })
                .await?;
            Ok(Usage {
                bytes: bytes.unwrap_or(0),
                keys: keys.unwrap_or(0),
            })
        })
    }

    fn describe(&self) -> String {
        format!("redis {}", self.shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use berth_test_services::{Persistence, Redis};

    fn store(server: &Redis) -> RedisStore {
        RedisStore::new(&server.url(), Duration::from_secs(2)).unwrap()
    }

    #[tokio::test]
    async fn the_shared_suite_holds_on_redis() {
        let server = Redis::start(Persistence::None);
        crate::suite::buckets_are_per_plugin(&store(&server)).await;
        crate::suite::counters_are_exact(&store(&server)).await;
        crate::suite::quotas_refuse_the_whole_write(&store(&server)).await;
        let fresh = Redis::start(Persistence::None);
        crate::suite::long_buckets_are_listed_in_pages(&store(&fresh)).await;
        let fresh = Redis::start(Persistence::None);
        crate::suite::concurrent_writes_all_land(Arc::new(store(&fresh))).await;
    }

    #[tokio::test]
    async fn a_stopped_server_fails_calls_quickly_naming_it() {
        let server = Redis::start(Persistence::None);
        let store = store(&server);
        let bucket = Bucket::new("p", "b");
        let entry = || vec![("k".to_string(), b"v".to_vec())];
        store
            .set_many(&bucket, StateQuota::default(), entry())
            .await
            .unwrap();
        let url = server.url();
        drop(server);
        let started = std::time::Instant::now();
        let err = store.usage("p").await.unwrap_err();
        assert!(
            matches!(err, StateError::Unavailable(_)) && err.to_string().contains(&url),
            "{err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        // A new server on another port is another URL; on the same one, the manager
        // reconnects by itself: the e2e test restarts a server in place.
    }

    #[tokio::test]
    async fn a_server_that_is_down_from_the_start_fails_calls_quickly() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let store = RedisStore::new(
            &format!("redis://127.0.0.1:{port}"),
            Duration::from_millis(500),
        )
        .unwrap();
        let started = std::time::Instant::now();
        let err = store.usage("p").await.unwrap_err();
        assert!(
            matches!(err, StateError::Unavailable(_))
                && err.to_string().contains(&format!("127.0.0.1:{port}")),
            "{err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        // Once a server is there, the same store reaches it.
        let dir = tempfile::tempdir().unwrap();
        let server = berth_test_services::Redis::start_in(dir.path(), port, Persistence::None);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while store.usage("p").await.is_err() {
            assert!(std::time::Instant::now() < deadline, "never connected");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        drop(server);
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            shown("redis://:s3cret@10.0.0.1:6379/0"),
            "redis://***@10.0.0.1:6379/0"
        );
        assert_eq!(shown("redis://user:pw@h"), "redis://***@h");
        assert_eq!(shown("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
