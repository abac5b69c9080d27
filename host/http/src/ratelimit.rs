//! Per-identity rate limiting for HTTP requests: owns the `[http.rate_limit]` settings,
//! and the token buckets (one per caller identity), which it forgets once idle — in this
//! process, or in Redis for every replica of a deployment (`[cluster]`,
//! [`SharedLimits`]). Deciding who a caller is, and answering 429, is the HTTP layer's
//! job.
//!
//! A keyed limiter (governor's, one GCRA state per key) is the right tool rather than one
//! shared bucket or a bucket per connection: each identity ("token:ci", "ip:127.0.0.1")
//! gets its own budget, so a noisy client exhausts only its own and can never spend
//! another's, and reconnecting does not buy a fresh bucket. A key costs one small map
//! entry, and [`RateLimiter::forget_idle`] drops entries that are indistinguishable from
//! a fresh bucket, so memory follows the number of recently active identities.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::Quota;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;

pub use berth_core::config::rate_limit::{MAX_BURST, MAX_REQUESTS_PER_MINUTE, RateLimitConfig};

/// The quota these settings describe, or `None` when limiting is off. Out-of-range
/// values (a config that skipped validation) are clamped rather than trusted, so
/// governor's arithmetic cannot overflow.
fn quota(config: &RateLimitConfig) -> Option<Quota> {
    let per_minute = NonZeroU32::new(config.requests_per_minute.min(MAX_REQUESTS_PER_MINUTE))?;
    let burst = NonZeroU32::new(config.burst.clamp(1, MAX_BURST)).unwrap_or(NonZeroU32::MIN);
    Some(Quota::per_minute(per_minute).allow_burst(burst))
}

/// Governor's keyed limiter over identity strings.
type Buckets<C> = governor::RateLimiter<
    String,
    DashMapStateStore<String>,
    C,
    NoOpMiddleware<<C as Clock>::Instant>,
>;

/// Keyed token buckets, one per identity string (like "token:ci" or "ip:127.0.0.1").
///
/// `C` is the clock; only tests pick another than the default (governor's fake clock).
pub struct RateLimiter<C: Clock = DefaultClock> {
    buckets: Buckets<C>,
}

impl RateLimiter {
    /// Buckets as `config` describes them, or `None` when the config turns limiting off.
    pub fn new(config: &RateLimitConfig) -> Option<Self> {
        Self::with_clock(config, DefaultClock::default())
    }
}

impl<C: Clock> RateLimiter<C> {
    /// Like [`RateLimiter::new`], reading time from `clock`.
    pub fn with_clock(config: &RateLimitConfig, clock: C) -> Option<Self> {
        let quota = quota(config)?;
        Some(Self {
            buckets: governor::RateLimiter::dashmap_with_clock(quota, clock),
        })
    }

    /// Takes one request from `key`'s bucket, or says how long until one is available.
    pub fn check(&self, key: &str) -> Result<(), RetryAfter> {
        self.buckets
            .check_key(&key.to_owned())
            .map_err(|not_until| RetryAfter(not_until.wait_time_from(self.buckets.clock().now())))
    }

    /// Forgets buckets that are full again, bounding memory, and returns how many keys
    /// remain. A forgotten key starts over with a full bucket, which is exactly what it
    /// had, so forgetting never grants a request that would have been refused.
    pub fn forget_idle(&self) -> usize {
        self.buckets.retain_recent();
        self.buckets.shrink_to_fit();
        self.buckets.len()
    }
}

/// Rate limits every replica shares: the same GCRA as the local buckets, with each
/// identity's state (its theoretical arrival time) kept in Redis and updated by one Lua
/// script, so replicas behind a load balancer share one budget per identity and a caller
/// cannot get N times its quota by spreading requests. Time is Redis's own (`TIME`), so
/// replicas whose clocks disagree still agree on the limit. Written by hand because the
/// maintained GCRA crates (governor) keep state in process; the script is the whole of it.
pub struct SharedLimits {
    connection: redis::aio::ConnectionManager,
    shown: String,
    script: redis::Script,
    /// Keeps an outage to a log line every ten seconds.
    warned: berth_state::Throttle,
}

/// KEYS: the identity's state. ARGV: the emission interval (µs per request) and the
/// tolerance (µs a burst may run ahead). Answers 0 when the request passes, otherwise the
/// µs until one would.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat - now > tolerance then
  return tat - now - tolerance
end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return 0
";

impl SharedLimits {
    /// Limits kept on the Redis server at `url`; nothing connects until the first
    /// request. `timeout` bounds connecting and each check.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, String> {
        let (connection, shown) =
            berth_state::redis_connection(url, timeout).map_err(|e| e.to_string())?;
        Ok(Self {
            connection,
            shown,
            script: redis::Script::new(GCRA),
            warned: berth_state::Throttle::default(),
        })
    }

    /// Takes one request from `key`'s shared budget under `config` (always passes when
    /// limiting is off); an error when Redis could not answer, and the caller then
    /// limits on its own.
    pub async fn check(
        &self,
        key: &str,
        config: &RateLimitConfig,
    ) -> Result<Result<(), RetryAfter>, String> {
        let Some(quota) = quota(config) else {
            return Ok(Ok(()));
        };
        let interval = quota.replenish_interval().as_micros() as u64;
        let tolerance = interval * u64::from(quota.burst_size().get() - 1);
        let mut connection = self.connection.clone();
        let wait: u64 = self
            .script
            .key(format!("berth:rate:{key}"))
            .arg(interval)
            .arg(tolerance)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| format!("redis {}: {e}", self.shown))?;
        Ok(match wait {
            0 => Ok(()),
            micros => Err(RetryAfter(Duration::from_micros(micros))),
        })
    }

    /// Logs that a shared check failed (at most every ten seconds).
    pub fn warn_unshared(&self, error: &str) {
        if self.warned.ready() {
            tracing::warn!(%error, "shared rate limits unavailable; this replica limits callers on its own until Redis answers");
        }
    }

    /// Whether Redis answers now, for `/ready`.
    pub async fn ping(&self) -> Result<(), String> {
        let mut connection = self.connection.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map(drop)
            .map_err(|e| format!("redis {}: {e}", self.shown))
    }
}

/// How long a refused caller should wait before its next request can pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds for the `Retry-After` header, rounded up, at least 1.
    pub fn header_secs(&self) -> u64 {
        // Rounding down would invite a retry that is refused again; zero would invite
        // an immediate one.
        let secs = self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0);
        secs.max(1)
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn config(requests_per_minute: u32, burst: u32) -> RateLimitConfig {
        RateLimitConfig {
            requests_per_minute,
            burst,
        }
    }

    /// A limiter on a fake clock, which only moves when the test advances it.
    fn fake(
        requests_per_minute: u32,
        burst: u32,
    ) -> (RateLimiter<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::with_clock(&config(requests_per_minute, burst), clock.clone())
            .expect("on");
        (limiter, clock)
    }

    #[test]
    fn a_burst_passes_then_the_next_request_waits_for_one_refill() {
        // 60 a minute: one request refills every second.
        let (limiter, clock) = fake(60, 3);
        for _ in 0..3 {
            assert_eq!(limiter.check("token:ci"), Ok(()));
        }
        assert_eq!(
            limiter.check("token:ci"),
            Err(RetryAfter(Duration::from_secs(1)))
        );
        clock.advance(Duration::from_millis(400));
        assert_eq!(
            limiter.check("token:ci"),
            Err(RetryAfter(Duration::from_millis(600)))
        );
        clock.advance(Duration::from_millis(600));
        assert_eq!(limiter.check("token:ci"), Ok(()));
        assert!(limiter.check("token:ci").is_err());
    }

    #[tokio::test]
    async fn replicas_share_one_budget_per_identity_through_redis() {
        let redis = berth_test_services::Redis::start(berth_test_services::Persistence::None);
        let one = SharedLimits::new(&redis.url(), Duration::from_secs(1)).unwrap();
        let two = SharedLimits::new(&redis.url(), Duration::from_secs(1)).unwrap();
        let limits = config(60, 3);
        // Three requests, spread over both replicas, use up the burst…
        assert_eq!(one.check("token:ci", &limits).await, Ok(Ok(())));
        assert_eq!(two.check("token:ci", &limits).await, Ok(Ok(())));
        assert_eq!(one.check("token:ci", &limits).await, Ok(Ok(())));
        // …so the fourth is refused on either, with the wait until one refills.
        let Ok(Err(RetryAfter(wait))) = two.check("token:ci", &limits).await else {
            panic!("the fourth request passed");
        };
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // Another identity has its own budget.
        assert_eq!(two.check("token:other", &limits).await, Ok(Ok(())));
        assert_eq!(two.ping().await, Ok(()));
        // Limiting off: everything passes, Redis untouched.
        assert_eq!(one.check("token:ci", &config(0, 3)).await, Ok(Ok(())));
        drop(redis);
        let error = one.check("token:ci", &limits).await.unwrap_err();
        assert!(error.contains("127.0.0.1"), "{error}");
        assert!(one.ping().await.is_err());
    }

    #[test]
    fn the_real_clock_refuses_past_the_burst_with_a_positive_wait() {
        // One a minute: nothing can refill while the test runs.
        let limiter = RateLimiter::new(&config(1, 2)).expect("on");
        assert_eq!(limiter.check("ip:127.0.0.1"), Ok(()));
        assert_eq!(limiter.check("ip:127.0.0.1"), Ok(()));
        let RetryAfter(wait) = limiter.check("ip:127.0.0.1").unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
    }

    #[test]
    fn keys_have_independent_buckets() {
        let (limiter, _clock) = fake(60, 2);
        assert!(limiter.check("token:noisy").is_ok());
        assert!(limiter.check("token:noisy").is_ok());
        assert!(limiter.check("token:noisy").is_err());
        // The noisy caller spent only its own budget.
        assert!(limiter.check("token:quiet").is_ok());
        assert!(limiter.check("token:quiet").is_ok());
        assert!(limiter.check("token:quiet").is_err());
    }

    #[test]
    fn header_secs_rounds_up_to_at_least_one() {
        let secs = |d| RetryAfter(d).header_secs();
        assert_eq!(secs(Duration::ZERO), 1);
        assert_eq!(secs(Duration::from_millis(200)), 1);
        assert_eq!(secs(Duration::from_secs(1)), 1);
        assert_eq!(secs(Duration::from_millis(1200)), 2);
        assert_eq!(secs(Duration::new(59, 1)), 60);
    }

    #[test]
    fn zero_requests_per_minute_turns_limiting_off() {
        assert!(RateLimiter::new(&config(0, 60)).is_none());
        // The burst is irrelevant when off, even an invalid one.
        assert!(RateLimiter::new(&config(0, 0)).is_none());
        assert!(RateLimiter::new(&RateLimitConfig::default()).is_some());
    }

    #[test]
    fn problem_names_the_first_bad_value() {
        assert_eq!(RateLimitConfig::default().problem(), None);
        assert_eq!(config(0, 0).problem(), None);
        assert_eq!(config(MAX_REQUESTS_PER_MINUTE, MAX_BURST).problem(), None);
        assert_eq!(config(1, 1).problem(), None);
        let key = |c: RateLimitConfig| c.problem().map(|(key, _)| key);
        assert_eq!(key(config(10, 0)).as_deref(), Some("burst"));
        assert_eq!(key(config(10, MAX_BURST + 1)).as_deref(), Some("burst"));
        assert_eq!(
            key(config(MAX_REQUESTS_PER_MINUTE + 1, 0)).as_deref(),
            Some("requests_per_minute")
        );
        let (_, problem) = config(10, 0).problem().unwrap();
        assert!(problem.starts_with("must be between 1 and"), "{problem}");
    }

    #[test]
    fn an_invalid_config_is_clamped_instead_of_overflowing() {
        // One a minute with the largest u32 burst would overflow governor's nanoseconds.
        let limiter = RateLimiter::new(&config(1, u32::MAX)).expect("on");
        assert!(limiter.check("k").is_ok());
        let limiter = RateLimiter::new(&config(5, 0)).expect("on");
        assert!(limiter.check("k").is_ok());
        assert!(limiter.check("k").is_err());
    }

    #[test]
    fn config_reads_from_toml_with_defaults_and_refuses_unknown_keys() {
        let empty: RateLimitConfig = toml::from_str("").unwrap();
        assert_eq!(empty, RateLimitConfig::default());
        assert_eq!(empty, config(600, 60));
        let set: RateLimitConfig = toml::from_str("requests_per_minute = 0").unwrap();
        assert_eq!(set, config(0, 60));
        let error = toml::from_str::<RateLimitConfig>("requests_per_minit = 5").unwrap_err();
        assert!(error.to_string().contains("requests_per_minit"), "{error}");
    }

    #[test]
    fn forget_idle_drops_refilled_buckets_and_keeps_the_rest() {
        let (limiter, clock) = fake(60, 2);
        assert!(limiter.check("token:gone").is_ok());
        assert!(limiter.check("token:gone").is_ok());
        // Its bucket is empty, so forgetting it would hand out a free refill.
        assert_eq!(limiter.forget_idle(), 1);
        clock.advance(Duration::from_secs(10));
        assert!(limiter.check("token:busy").is_ok());
        assert_eq!(
            limiter.forget_idle(),
            1,
            "only the recently used key remains"
        );
        // The forgotten key starts with a full bucket: what it had anyway, no more.
        assert!(limiter.check("token:gone").is_ok());
        assert!(limiter.check("token:gone").is_ok());
        assert!(limiter.check("token:gone").is_err());
    }
}
