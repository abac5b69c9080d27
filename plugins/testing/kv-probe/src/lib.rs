//! `kv-probe`: a test plugin that uses plugin state (`wasi:keyvalue`) the way a
//! demanding or careless plugin might: any bucket name (granted or not), values of any
//! size, counters, and long series of writes. The state tests check isolation, quotas
//! and durability through it; every error is passed through as the tool's error text.
//!
//! For the result-cache tests, `tick` and `tick_error` claim to be read-only and
//! idempotent while counting every call in the `ticks` bucket — so a cached answer shows
//! as a count that did not move — and `probe://ticks` serves the count, which `bump`
//! moves and announces as changed.

use berth_plugin_sdk::kv;
use berth_plugin_sdk::prelude::*;
#[cfg(test)]
use berth_plugin_sdk::serde_json;

/// Stores `value` (text) at `key` in `bucket`.
#[tool]
pub fn set(bucket: String, key: String, value: String) -> Result<String, ToolError> {
    kv::open(&bucket)?.set_bytes(&key, value.as_bytes())?;
    Ok(format!("stored {key}"))
}

/// The text at `key` in `bucket`, or `(none)`.
#[tool(read_only)]
pub fn get(bucket: String, key: String) -> Result<String, ToolError> {
    let value = kv::open(&bucket)?.get_bytes(&key)?;
    Ok(value.map_or_else(
        || "(none)".to_string(),
        |v| String::from_utf8_lossy(&v).into_owned(),
    ))
}

/// Adds `delta` to the counter at `key` in `bucket`; returns the new value.
#[tool]
pub fn increment(bucket: String, key: String, delta: u64) -> Result<u64, ToolError> {
    Ok(kv::open(&bucket)?.increment(&key, delta)?)
}

/// Every key in `bucket`, one per line.
#[tool(read_only)]
pub fn keys(bucket: String) -> Result<String, ToolError> {
    Ok(kv::open(&bucket)?.keys()?.join("\n"))
}

/// Stores a value of `bytes` bytes at `key` in `bucket`.
#[tool]
pub fn fill(bucket: String, key: String, bytes: u64) -> Result<String, ToolError> {
    kv::open(&bucket)?.set_bytes(&key, &vec![b'x'; bytes as usize])?;
    Ok(format!("stored {bytes} bytes at {key}"))
}

/// Writes `count` keys `{prefix}0000`… one after another (each write durable before the
/// next starts); returns how many were written.
#[tool]
pub fn burst(bucket: String, prefix: String, count: u32) -> Result<u32, ToolError> {
    let bucket = kv::open(&bucket)?;
    for i in 0..count {
        bucket.set_bytes(&format!("{prefix}{i:04}"), b"1")?;
    }
    Ok(count)
}

/// Counts this call and returns the count (`label` makes calls differ). Claims to be
/// read-only and idempotent, which it is not: that is what shows caching.
#[tool(read_only, idempotent)]
pub fn tick(label: String) -> Result<u64, ToolError> {
    let _ = label;
    Ok(kv::open("ticks")?.increment("ticks", 1)?)
}

/// Counts this call, then fails: an error that must never be cached.
#[tool(read_only, idempotent)]
pub fn tick_error() -> Result<u64, ToolError> {
    let count = kv::open("ticks")?.increment("ticks", 1)?;
    Err(ToolError::result(format!("failed on purpose at {count}")))
}

/// Moves the count and says `probe://ticks` changed.
#[tool]
pub fn bump() -> Result<u64, ToolError> {
    let count = kv::open("ticks")?.increment("ticks", 1)?;
    resources::changed("probe://ticks");
    Ok(count)
}

/// The count `tick`, `tick_error` and `bump` keep.
#[resource(uri = "probe://ticks", mime_type = "text/plain")]
pub fn ticks() -> Result<String, ResourceError> {
    let count: Option<u64> = kv::get("ticks", "ticks").map_err(ResourceError::failed)?;
    Ok(count.unwrap_or(0).to_string())
}

/// Times `ops` sets and then `ops` gets of 100-byte values in `bucket`, each measured
/// from inside the call; returns p50 and p99 of each, in microseconds, as JSON.
#[tool]
pub fn timed(bucket: String, ops: u32) -> Result<String, ToolError> {
    let bucket = kv::open(&bucket)?;
    let value = [b'v'; 100];
    let mut sets = Vec::with_capacity(ops as usize);
    for i in 0..ops {
        let started = std::time::Instant::now();
        bucket.set_bytes(&format!("t{i}"), &value)?;
        sets.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let mut gets = Vec::with_capacity(ops as usize);
    for i in 0..ops {
        let started = std::time::Instant::now();
        bucket.get_bytes(&format!("t{i}"))?;
        gets.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let pct = |samples: &mut Vec<f64>, p: f64| {
        samples.sort_by(f64::total_cmp);
        samples
            .get(((samples.len().max(1) - 1) as f64 * p) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Ok(format!(
        r#"{{"set_p50_us":{:.1},"set_p99_us":{:.1},"get_p50_us":{:.1},"get_p99_us":{:.1}}}"#,
        pct(&mut sets, 0.5),
        pct(&mut sets, 0.99),
        pct(&mut gets, 0.5),
        pct(&mut gets, 0.99)
    ))
}

berth_plugin_sdk::export!(
    name: "kv-probe",
    tools: [set, get, increment, keys, fill, burst, tick, tick_error, bump, timed],
    resources: [ticks],
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_round_trip_through_the_native_store() {
        berth_plugin().validate().unwrap();
        kv::clear_for_test();
        set("b".into(), "k".into(), "v".into()).unwrap();
        assert_eq!(get("b".into(), "k".into()).unwrap(), "v");
        assert_eq!(get("c".into(), "k".into()).unwrap(), "(none)");
        assert_eq!(increment("b".into(), "n".into(), 3).unwrap(), 3);
        assert_eq!(burst("b".into(), "p".into(), 2).unwrap(), 2);
        assert_eq!(keys("b".into()).unwrap(), "k\nn\np0000\np0001");
        assert_eq!(tick("a".into()).unwrap(), 1);
        assert!(tick_error().is_err());
        assert_eq!(bump().unwrap(), 3);
        assert_eq!(
            berth_plugin_sdk::resources::take_changed_for_test(),
            ["probe://ticks"]
        );
        assert_eq!(ticks().unwrap(), "3");
        let timed: serde_json::Value =
            serde_json::from_str(&timed("b".into(), 10).unwrap()).unwrap();
        assert!(timed["get_p99_us"].as_f64().unwrap() >= timed["get_p50_us"].as_f64().unwrap());
    }
}
