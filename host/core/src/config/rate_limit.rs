//! `[http.rate_limit]`: how many requests each caller identity may make, and the rules
//! on those numbers. The buckets that enforce them are the HTTP layer's
//! (`berth_http::ratelimit`).

use serde::Deserialize;

/// Largest allowed `requests_per_minute`.
pub const MAX_REQUESTS_PER_MINUTE: u32 = 1_000_000;

/// Largest allowed `burst`. Governor multiplies the refill interval by the burst in
/// nanoseconds, which overflows for a huge burst at a low rate; this bound keeps the
/// product (at most 60 s × 10⁶) far inside `u64`.
pub const MAX_BURST: u32 = 1_000_000;

/// `[http.rate_limit]`: per-identity token buckets.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests each identity may make per minute on average; 0 turns rate limiting off.
    #[serde(default = "RateLimitConfig::default_requests_per_minute")]
    pub requests_per_minute: u32,
    /// Requests an identity may make at once after being idle (the bucket size).
    #[serde(default = "RateLimitConfig::default_burst")]
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            requests_per_minute: Self::default_requests_per_minute(),
            burst: Self::default_burst(),
        }
    }
}

impl RateLimitConfig {
    fn default_requests_per_minute() -> u32 {
        600
    }

    fn default_burst() -> u32 {
        60
    }

    /// True when these settings limit anything.
    pub fn is_on(&self) -> bool {
        self.requests_per_minute > 0
    }

    /// The first bad value as (key, problem), for config validation to prefix with
    /// `http.rate_limit.`; `burst` is only checked while limiting is on.
    pub fn problem(&self) -> Option<(String, String)> {
        if self.requests_per_minute > MAX_REQUESTS_PER_MINUTE {
            return Some((
                "requests_per_minute".into(),
                format!("must be between 0 (off) and {MAX_REQUESTS_PER_MINUTE}"),
            ));
        }
        if self.is_on() && !(1..=MAX_BURST).contains(&self.burst) {
            return Some((
                "burst".into(),
                format!("must be between 1 and {MAX_BURST} while requests_per_minute is above 0"),
            ));
        }
        None
    }
}
