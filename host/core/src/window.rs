//! Each tool's calls, errors and latency over the last minutes, for the operator
//! console, recorded on the call path beside the Prometheus series ([`crate::metrics`]).
//!
//! Why not read `/metrics`: its histograms are cumulative since start-up, and the console
//! shows what happens now. Why not the bus: a `tools/call` publishes an event only while
//! a plugin hook watches calls, because waking subscribers per call was measured to cost
//! more than the rest of the call path's bookkeeping (BENCHMARKS.md, issue 7).
//!
//! The one clever part: recording is lock-free. A tool's [`Window`] is a ring of
//! [`BUCKETS`] buckets of [`BUCKET`] each; a bucket holds atomic counts and a latency
//! histogram with four sub-buckets per power of two of microseconds (so a percentile is
//! off by at most a fifth). The first call to land in a slot whose time has passed claims
//! it with a compare-and-swap on its epoch and clears it; a call racing that clear may be
//! lost or counted in the new bucket, which a console can live with. Windows are kept per
//! (plugin, tool) for the process, so they survive a plugin's reload.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use berth_model::events::CallOutcome;

/// How long one bucket covers.
pub const BUCKET: Duration = Duration::from_secs(10);
/// Buckets kept: the window is `BUCKET × BUCKETS` (5 minutes).
pub const BUCKETS: usize = 30;
/// Sub-buckets per power of two of microseconds.
const SUB: u32 = 4;
/// Latency classes: from under 1 µs to about 2^31 µs (36 minutes), four per doubling.
const CLASSES: usize = 32 * SUB as usize;

/// When the process started counting: bucket epochs are counted from here.
static START: LazyLock<Instant> = LazyLock::new(Instant::now);
/// Windows by (plugin, tool).
type Windows = BTreeMap<(String, String), Arc<Window>>;
/// Every tool's window.
static WINDOWS: LazyLock<Mutex<Windows>> = LazyLock::new(Default::default);

struct Bucket {
    /// Which bucket of time this slot holds (elapsed / BUCKET), plus one (0: never used).
    epoch: AtomicU64,
    calls: AtomicU64,
    errors: AtomicU64,
    latency: [AtomicU32; CLASSES],
}

impl Default for Bucket {
    fn default() -> Self {
        Self {
            epoch: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            latency: std::array::from_fn(|_| AtomicU32::new(0)),
        }
    }
}

/// One tool's ring of buckets.
pub struct Window {
    buckets: [Bucket; BUCKETS],
}

/// One tool's figures over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// The plugin's name.
    pub plugin: String,
    /// The tool's own name.
    pub tool: String,
    /// Calls in the window.
    pub calls: u64,
    /// Calls that did not succeed (tool errors, crashes, timeouts, refused arguments).
    pub errors: u64,
    /// Median latency (of calls whose guest ran).
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// Calls per bucket, oldest first, for a chart.
    pub calls_per_bucket: Vec<u64>,
    /// Errors per bucket, oldest first.
    pub errors_per_bucket: Vec<u64>,
}

/// The window of `plugin`'s tool `tool`, made on first use.
pub fn window(plugin: &str, tool: &str) -> Arc<Window> {
    let mut windows = WINDOWS.lock().unwrap_or_else(|p| p.into_inner());
    Arc::clone(
        windows
            .entry((plugin.to_string(), tool.to_string()))
            .or_insert_with(|| {
                Arc::new(Window {
                    buckets: std::array::from_fn(|_| Bucket::default()),
                })
            }),
    )
}

/// The figures of every tool called in the window, by plugin and tool name.
pub fn figures() -> Vec<Figures> {
    let windows: Vec<_> = WINDOWS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(key, window)| (key.clone(), Arc::clone(window)))
        .collect();
    let now = epoch(Instant::now());
    windows
        .into_iter()
        .filter_map(|((plugin, tool), window)| window.figures(plugin, tool, now))
        .collect()
}

fn epoch(at: Instant) -> u64 {
    (at.saturating_duration_since(*START).as_millis() / BUCKET.as_millis()) as u64 + 1
}

/// The latency class of `duration`: four per doubling of microseconds.
fn class(duration: Duration) -> usize {
    let us = duration.as_micros().min(u128::from(u32::MAX)) as u32;
    if us < 1 {
        return 0;
    }
    let power = 31 - us.leading_zeros();
    // The two bits below the leading one pick the sub-bucket.
    let sub = if power >= 2 {
        (us >> (power - 2)) & (SUB - 1)
    } else {
        (us << (2 - power)) & (SUB - 1)
    };
    ((power * SUB + sub) as usize + 1).min(CLASSES - 1)
}

/// The upper bound of latency class `class`.
fn class_bound(class: usize) -> Duration {
    if class == 0 {
        return Duration::from_micros(1);
    }
    let index = class as u32 - 1;
    let (power, sub) = (index / SUB, index % SUB);
    let base = 1u64 << power;
    Duration::from_micros(base + base * u64::from(sub + 1) / u64::from(SUB))
}

impl Window {
    /// Records one finished call at `at`.
    pub fn record(&self, outcome: CallOutcome, duration: Duration, at: Instant) {
        let epoch = epoch(at);
        let bucket = &self.buckets[(epoch % BUCKETS as u64) as usize];
        let seen = bucket.epoch.load(Ordering::Acquire);
        if seen != epoch {
            if seen > epoch {
                return; // a late record for a bucket already recycled
            }
            if bucket
                .epoch
                .compare_exchange(seen, epoch, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                bucket.calls.store(0, Ordering::Relaxed);
                bucket.errors.store(0, Ordering::Relaxed);
                for class in &bucket.latency {
                    class.store(0, Ordering::Relaxed);
                }
            }
        }
        bucket.calls.fetch_add(1, Ordering::Relaxed);
        if outcome != CallOutcome::Success {
            bucket.errors.fetch_add(1, Ordering::Relaxed);
        }
        if outcome != CallOutcome::InvalidArguments {
            bucket.latency[class(duration)].fetch_add(1, Ordering::Relaxed);
        }
    }

    fn figures(&self, plugin: String, tool: String, now: u64) -> Option<Figures> {
        let oldest = now.saturating_sub(BUCKETS as u64 - 1);
        let mut calls_per_bucket = vec![0; BUCKETS];
        let mut errors_per_bucket = vec![0; BUCKETS];
        let mut latency = [0u64; CLASSES];
        for bucket in &self.buckets {
            let epoch = bucket.epoch.load(Ordering::Acquire);
            if epoch < oldest || epoch > now {
                continue;
            }
            // The newest bucket is the last slot, however young the process is.
            let slot = BUCKETS - 1 - (now - epoch) as usize;
            calls_per_bucket[slot] = bucket.calls.load(Ordering::Relaxed);
            errors_per_bucket[slot] = bucket.errors.load(Ordering::Relaxed);
            for (total, class) in latency.iter_mut().zip(&bucket.latency) {
                *total += u64::from(class.load(Ordering::Relaxed));
            }
        }
        let calls: u64 = calls_per_bucket.iter().sum();
        if calls == 0 {
            return None;
        }
        let timed: u64 = latency.iter().sum();
        let percentile = |q: f64| {
            let rank = ((timed as f64 * q).ceil() as u64).max(1);
            let mut seen = 0;
            for (class, count) in latency.iter().enumerate() {
                seen += count;
                if seen >= rank {
                    return class_bound(class);
                }
            }
            Duration::ZERO
        };
        Some(Figures {
            plugin,
            tool,
            calls,
            errors: errors_per_bucket.iter().sum(),
            p50: percentile(0.5),
            p99: percentile(0.99),
            calls_per_bucket,
            errors_per_bucket,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_classes_are_within_a_fifth() {
        for us in [1u64, 2, 3, 7, 50, 99, 1000, 12_345, 1_000_000, 30_000_000] {
            let d = Duration::from_micros(us);
            let bound = class_bound(class(d));
            assert!(bound >= d, "{us} µs: bound {bound:?}");
            assert!(
                bound.as_secs_f64() <= d.as_secs_f64() * 1.26 + 1e-6,
                "{us} µs: bound {bound:?}"
            );
        }
    }

    #[test]
    fn figures_cover_the_window_and_forget_what_left_it() {
        let window = Window {
            buckets: std::array::from_fn(|_| Bucket::default()),
        };
        let start = *START + BUCKET * 3;
        for i in 1..=100u64 {
            let outcome = match i % 10 {
                0 => CallOutcome::ToolError,
                _ => CallOutcome::Success,
            };
            window.record(outcome, Duration::from_micros(i), start);
        }
        window.record(
            CallOutcome::Success,
            Duration::from_micros(7),
            start + BUCKET,
        );
        let now = epoch(start + BUCKET);
        let f = window.figures("text".into(), "count".into(), now).unwrap();
        assert_eq!((f.calls, f.errors), (101, 10));
        assert!(
            f.p50 >= Duration::from_micros(50) && f.p50 <= Duration::from_micros(64),
            "{f:?}"
        );
        assert!(
            f.p99 >= Duration::from_micros(99) && f.p99 <= Duration::from_micros(128),
            "{f:?}"
        );
        assert_eq!(f.calls_per_bucket[BUCKETS - 2..], [100, 1]);
        // A window later the first bucket has left it, and then the second.
        let later = epoch(start + BUCKET * BUCKETS as u32);
        assert_eq!(
            window.figures("t".into(), "c".into(), later).unwrap().calls,
            1
        );
        let gone = epoch(start + BUCKET * (BUCKETS as u32 + 1));
        assert!(window.figures("t".into(), "c".into(), gone).is_none());
    }
}
