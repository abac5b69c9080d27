//! Checking values against plugins' JSON Schemas (a call's arguments, a tool's structured
//! result) where a costly check cannot hold up the server, and under the call's deadline.
//!
//! A schema's cost is bounded at load (`manifest::schema_cost`), but a bounded schema
//! times a large value can still take long. Each check first prices itself
//! ([`CompiledSchema::cost_of`]): a cheap one, which is nearly every call, runs inline on
//! the async runtime, as it costs less than a hand-off; a costly one runs on tokio's
//! blocking pool, at most [`costly_checks`] at once, and the caller stops waiting at the
//! deadline. A check the caller gave up on runs to its (bounded) end on its thread while
//! still holding its place, so abandoned checks can never take more cores than that.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Semaphore;

use berth_model::manifest::CompiledSchema;

/// Checks priced at most this many steps run inline: well under a millisecond.
pub const INLINE_COST: u64 = 50_000;

/// Why a value did not pass its schema check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckError {
    /// The value breaks the schema: every violation (at most ten), by field and rule.
    Problems(String),
    /// The check did not finish before the call's deadline, `limit` after the call began.
    TimedOut(Duration),
}

/// How many costly checks may run at once: one core fewer than the machine has (at
/// least one), so they can never take every core from the calls.
fn costly_checks() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Semaphore::new(cores.saturating_sub(1).max(1))
    })
}

/// Checks `value` against `schema`, inline when cheap and on the blocking pool when not,
/// giving up at `deadline`; `whole` names the value when a violation is at its root.
/// `limit` is the call timeout the deadline came from, for the report.
pub async fn check(
    schema: &CompiledSchema,
    value: &Arc<Value>,
    whole: &'static str,
    deadline: tokio::time::Instant,
    limit: Duration,
) -> Result<(), CheckError> {
    if schema.cost_of(value) <= INLINE_COST {
        return problems(&schema.validator, value, whole).map_err(CheckError::Problems);
    }
    let validator = Arc::clone(&schema.validator);
    let value = Arc::clone(value);
    let costly = async move {
        // The semaphore is never closed, so acquiring fails only in theory; a check
        // without a permit still runs rather than wrongly passing.
        let permit = costly_checks().acquire().await.ok();
        let running = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            problems(&validator, &value, whole)
        });
        match running.await {
            Ok(outcome) => outcome.map_err(CheckError::Problems),
            Err(join) => Err(CheckError::Problems(format!(
                "the schema check failed inside the host: {join}"
            ))),
        }
    };
    match tokio::time::timeout_at(deadline, costly).await {
        Ok(outcome) => outcome,
        Err(_elapsed) => {
            tracing::warn!(
                limit_ms = limit.as_millis() as u64,
                "a schema check ran past the call's deadline; it finishes on its own thread"
            );
            Err(CheckError::TimedOut(limit))
        }
    }
}

/// Most violations described in one answer.
const MAX_PROBLEMS: usize = 10;

/// Longest description of one violation: the validator's message may quote the value
/// (every unexpected key of an object, say), and a caller that sent a million keys must
/// not get them back in a 10 MB error.
const MAX_PROBLEM_BYTES: usize = 1024;

/// Every violation of `validator` by `value` (at most [`MAX_PROBLEMS`], each cut to
/// [`MAX_PROBLEM_BYTES`]), by field and rule; `whole` names the value itself when the
/// violation is at its root.
pub fn problems(
    validator: &jsonschema::Validator,
    value: &Value,
    whole: &str,
) -> Result<(), String> {
    // Almost every value is valid: `is_valid` stops at nothing and builds no error, which
    // `iter_errors` does for the same walk. Only an invalid value is walked twice.
    if validator.is_valid(value) {
        return Ok(());
    }
    let problems: Vec<String> = validator
        .iter_errors(value)
        .take(MAX_PROBLEMS)
        .map(|e| {
            let field = cut(e.instance_path().to_string(), MAX_PROBLEM_BYTES / 4);
            let field = if field.is_empty() {
                whole.to_string()
            } else {
                format!("`{field}`")
            };
            let problem = cut(e.to_string(), MAX_PROBLEM_BYTES);
            format!("{field}: {problem} (rule `{}`)", e.schema_path())
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// `text` cut to at most `max` bytes at a character boundary, saying so.
fn cut(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = text.len() - end;
    text.truncate(end);
    text.push_str(&format!("… [{cut} bytes cut]"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compiled(schema: Value) -> CompiledSchema {
        let unfolded = berth_model::manifest::schema_cost::measure(&schema)
            .unwrap()
            .unfolded;
        CompiledSchema {
            validator: Arc::new(jsonschema::validator_for(&schema).unwrap()),
            schema: Arc::new(schema.as_object().unwrap().clone()),
            unfolded,
        }
    }

    fn far() -> tokio::time::Instant {
        tokio::time::Instant::now() + Duration::from_secs(60)
    }

    #[tokio::test]
    async fn cheap_and_costly_checks_find_the_same_problems() {
        let schema = compiled(json!({
            "type": "object",
            "properties": { "n": { "type": "integer" } },
            "additionalProperties": { "type": "string" },
        }));
        let small = Arc::new(json!({ "n": "x" }));
        assert!(schema.cost_of(&small) <= INLINE_COST);
        // Enough members to price the check past the inline budget.
        let mut members: serde_json::Map<String, Value> =
            (0..20_000).map(|i| (format!("k{i}"), json!("v"))).collect();
        members.insert("n".into(), json!("x"));
        let large = Arc::new(Value::Object(members));
        assert!(schema.cost_of(&large) > INLINE_COST);
        for value in [&small, &large] {
            let error = check(
                &schema,
                value,
                "(the arguments)",
                far(),
                Duration::from_secs(60),
            )
            .await
            .unwrap_err();
            let CheckError::Problems(text) = error else {
                panic!("{error:?}")
            };
            assert!(
                text.starts_with("`/n`: \"x\" is not of type \"integer\""),
                "{text}"
            );
        }
        let fine = Arc::new(json!({ "n": 1, "a": "b" }));
        check(
            &schema,
            &fine,
            "(the arguments)",
            far(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn a_costly_check_past_the_deadline_times_out_without_blocking_the_runtime() {
        // A schema at the load bound and a value large enough to take a while.
        let schema = compiled(json!({
            "type": "object",
            "additionalProperties": { "anyOf": [
                { "type": "array", "items": { "type": "string", "pattern": "^a+b$" } },
                { "type": "array", "items": { "type": "string", "pattern": "^a+c$" } },
            ] },
        }));
        let long: Vec<Value> = (0..200).map(|_| json!("a".repeat(1000))).collect();
        let members: serde_json::Map<String, Value> =
            (0..200).map(|i| (format!("k{i}"), json!(long))).collect();
        let value = Arc::new(Value::Object(members));
        let deadline = tokio::time::Instant::now();
        let limit = Duration::from_millis(1);
        let outcome = check(&schema, &value, "(x)", deadline, limit).await;
        assert_eq!(outcome, Err(CheckError::TimedOut(limit)));
    }

    #[test]
    fn a_million_unexpected_keys_make_a_short_answer() {
        let schema = compiled(json!({
            "type": "object",
            "properties": { "n": { "type": "integer" } },
            "additionalProperties": false,
        }));
        let members: serde_json::Map<String, Value> = (0..100_000)
            .map(|i| (format!("unexpected-key-{i}"), json!(i)))
            .collect();
        let text = problems(&schema.validator, &Value::Object(members), "(x)").unwrap_err();
        assert!(text.len() < 2 * MAX_PROBLEM_BYTES, "{} bytes", text.len());
        assert!(text.contains("bytes cut]"), "{text}");
    }
}
