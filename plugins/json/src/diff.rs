//! A structural diff of two JSON documents: what was added, removed or changed, by pointer.
//!
//! Objects are compared key by key and arrays position by position (an element inserted at the
//! front shows as every later position changed; no sequence alignment is attempted). Numbers
//! compare by value, so `1` and `1.0` are equal. The result is not a JSON Patch, though each
//! entry maps onto one patch operation.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::query::escape_token;

/// The differences between a left and a right document.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub(crate) struct Diff {
    /// Whether the documents are equal (all three lists are empty).
    pub equal: bool,
    /// Values only in the right document.
    pub added: Vec<Located>,
    /// Values only in the left document.
    pub removed: Vec<Located>,
    /// Places where both documents have a value, and the values differ.
    pub changed: Vec<Changed>,
}

/// A value and where it is.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub(crate) struct Located {
    /// JSON Pointer to the value.
    pub pointer: String,
    /// The value.
    pub value: Value,
}

/// A value that differs between the documents.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub(crate) struct Changed {
    /// JSON Pointer to the value, the same in both documents.
    pub pointer: String,
    /// The left document's value.
    pub from: Value,
    /// The right document's value.
    pub to: Value,
}

/// The differences from `left` to `right`.
pub(crate) fn diff(left: &Value, right: &Value) -> Diff {
    let mut out = Diff::default();
    walk(left, right, &mut String::new(), &mut out);
    out.equal = out.added.is_empty() && out.removed.is_empty() && out.changed.is_empty();
    out
}

/// Compares `left` and `right`, both at `pointer`, recording differences in `out`.
fn walk(left: &Value, right: &Value, pointer: &mut String, out: &mut Diff) {
    match (left, right) {
        (Value::Object(l), Value::Object(r)) => {
            // serde_json maps iterate in key order, so the output is deterministic.
            for (key, value) in l {
                let len = push(pointer, &escape_token(key));
                match r.get(key) {
                    Some(other) => walk(value, other, pointer, out),
                    None => out.removed.push(located(pointer, value)),
                }
                pointer.truncate(len);
            }
            for (key, value) in r.iter().filter(|(key, _)| !l.contains_key(*key)) {
                let len = push(pointer, &escape_token(key));
                out.added.push(located(pointer, value));
                pointer.truncate(len);
            }
        }
        (Value::Array(l), Value::Array(r)) => {
            for index in 0..l.len().max(r.len()) {
                let len = push(pointer, &index.to_string());
                match (l.get(index), r.get(index)) {
                    (Some(a), Some(b)) => walk(a, b, pointer, out),
                    (Some(a), None) => out.removed.push(located(pointer, a)),
                    (None, Some(b)) => out.added.push(located(pointer, b)),
                    (None, None) => unreachable!("index is below one of the lengths"),
                }
                pointer.truncate(len);
            }
        }
        (Value::Number(a), Value::Number(b)) if same_number(a, b) => {}
        _ if left == right => {}
        _ => out.changed.push(Changed {
            pointer: pointer.clone(),
            from: left.clone(),
            to: right.clone(),
        }),
    }
}

/// Appends `/token` to `pointer`; returns the length to truncate back to.
fn push(pointer: &mut String, token: &str) -> usize {
    let len = pointer.len();
    pointer.push('/');
    pointer.push_str(token);
    len
}

/// `value` at `pointer`, owned.
fn located(pointer: &str, value: &Value) -> Located {
    Located {
        pointer: pointer.to_owned(),
        value: value.clone(),
    }
}

/// Whether two numbers are equal by value: exactly for integers, as `f64` otherwise.
fn same_number(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
        (Some(x), Some(y), _, _) => x == y,
        (_, _, Some(x), Some(y)) => x == y,
        _ => a.as_f64() == b.as_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_documents_have_no_differences() {
        let document = json!({"a": [1, {"b": null}], "c": "x"});
        let outcome = diff(&document, &document);
        assert!(outcome.equal);
    }

    #[test]
    fn additions_removals_and_changes_are_located() {
        let left = json!({"name": "a", "tags": ["x", "y"], "gone": true, "n": {"k/ey": 1}});
        let right = json!({"name": "b", "tags": ["x"], "new": 2, "n": {"k/ey": 1.0}});
        let outcome = diff(&left, &right);
        assert!(!outcome.equal);
        assert_eq!(
            outcome.added,
            vec![Located {
                pointer: "/new".into(),
                value: json!(2)
            }]
        );
        assert_eq!(
            outcome.removed,
            vec![
                Located {
                    pointer: "/gone".into(),
                    value: json!(true)
                },
                Located {
                    pointer: "/tags/1".into(),
                    value: json!("y")
                },
            ]
        );
        assert_eq!(
            outcome.changed,
            vec![Changed {
                pointer: "/name".into(),
                from: json!("a"),
                to: json!("b")
            }]
        );
    }

    #[test]
    fn a_change_of_type_is_a_change() {
        let outcome = diff(&json!({"a": [1]}), &json!({"a": {"0": 1}}));
        assert_eq!(outcome.changed.len(), 1);
        assert_eq!(outcome.changed[0].pointer, "/a");
    }

    #[test]
    fn whole_documents_can_differ() {
        let outcome = diff(&json!(1), &json!("1"));
        assert_eq!(outcome.changed[0].pointer, "");
    }
}
