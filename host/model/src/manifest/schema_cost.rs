//! What checking a value against a plugin's JSON Schema may cost, bounded before the
//! schema is ever used: a plugin's schema is untrusted input, and a validator explores
//! every branch of `anyOf`/`oneOf`/`allOf` it meets, following `$ref`s as often as they
//! are written. A chain of 40 `$defs` each `anyOf` two `$ref`s to the next is 40 lines of
//! JSON that takes 2^40 steps to check (the outside review's server-freezing schema).
//!
//! The one clever part of this module is [`measure`]: it unfolds the schema the way a
//! validator walks it, without a value, and refuses two shapes:
//! - a schema whose unfolding passes [`MAX_UNFOLDED`] subschemas: this bounds every
//!   non-recursive fan-out, and the work per place in a value with it;
//! - a recursive `$ref` that can be reached twice *at the same place in a value*, which
//!   makes the work grow exponentially with how deep the value nests. Each time the
//!   unfolding comes back to a `$ref` target it is still inside, it notes the path of
//!   value steps taken since (a property name, an array index, or "any property" / "any
//!   element" for `additionalProperties`, `items` and the like). Two such paths where one
//!   can match the start of the other mean some nested value has two ways down, and so
//!   2^depth; when no path can, every nested value has one way down (the paths form a
//!   prefix code). A `$ref` cycle that takes no value step at all never ends and is
//!   refused too.
//!
//! It over-approximates (it does not know that a `type` keyword rules a branch out), so a
//! refusal names the `$ref` and the rule, for the author to restructure; real schemas
//! (schemars output, recursive trees and expressions) pass. It does not check that the
//! schema is valid: the `jsonschema` compiler does that.

use std::collections::HashMap;

use serde_json::Value;

/// Most subschemas an unfolded schema may hold. Checking one place of a value visits at
/// most this many, so a value of N nodes costs at most N times this.
pub const MAX_UNFOLDED: usize = 20_000;

/// Deepest nesting of subschemas and `$ref`s the unfolding follows; deeper is refused
/// (it bounds this module's own recursion, too).
const MAX_DEPTH: usize = 200;

/// Most distinct ways back into one recursive `$ref` target; comparing them is
/// quadratic, and no real schema comes near it.
const MAX_BACK_PATHS: usize = 64;

/// One step into a value, as a schema keyword takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// The member with this name (`properties`).
    Member(String),
    /// Any member (`additionalProperties`, `patternProperties`, `unevaluatedProperties`).
    AnyMember,
    /// The element at this index (`prefixItems`, draft 7's array `items`).
    Element(usize),
    /// Any element (`items`, `additionalItems`, `contains`, `unevaluatedItems`).
    AnyElement,
    /// A member's name, as a string value (`propertyNames`).
    Name,
}

impl Step {
    /// Whether both steps can lead to the same place in some value.
    fn may_meet(&self, other: &Step) -> bool {
        use Step::*;
        match (self, other) {
            (Member(a), Member(b)) => a == b,
            (Element(a), Element(b)) => a == b,
            (Member(_) | AnyMember, Member(_) | AnyMember) => true,
            (Element(_) | AnyElement, Element(_) | AnyElement) => true,
            (Name, Name) => true,
            _ => false,
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Member(name) => write!(f, "/{}", name.escape_debug()),
            Step::AnyMember => f.write_str("/*"),
            Step::Element(index) => write!(f, "/{index}"),
            Step::AnyElement => f.write_str("/[*]"),
            Step::Name => f.write_str("/(name)"),
        }
    }
}

/// What [`measure`] found about an accepted schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaCost {
    /// Subschemas in the unfolded schema: the most a validator visits at one place in a
    /// value.
    pub unfolded: usize,
}

/// Unfolds `schema` as a validator would walk it and returns its size, or says why
/// checking values against it could take unbounded time.
pub fn measure(schema: &Value) -> Result<SchemaCost, String> {
    let mut walk = Walk {
        root: schema,
        anchors: HashMap::new(),
        ids: HashMap::new(),
        inside: Vec::new(),
        steps: Vec::new(),
        back_paths: HashMap::new(),
        unfolded: 0,
        depth: 0,
    };
    index(schema, &mut walk.anchors, &mut walk.ids, 0);
    walk.visit(schema, "#")?;
    Ok(SchemaCost {
        unfolded: walk.unfolded,
    })
}

/// Collects `$anchor`/`$dynamicAnchor` names and `$id`s, so `$ref`s to them resolve.
fn index<'a>(
    node: &'a Value,
    anchors: &mut HashMap<&'a str, &'a Value>,
    ids: &mut HashMap<&'a str, &'a Value>,
    depth: usize,
) {
    // serde_json already refuses JSON nested deeper than 128, so this never cuts a
    // schema short; it only keeps the recursion's bound visible.
    if depth > MAX_DEPTH {
        return;
    }
    match node {
        Value::Object(map) => {
            for key in ["$anchor", "$dynamicAnchor"] {
                if let Some(Value::String(name)) = map.get(key) {
                    anchors.insert(name, node);
                }
            }
            if let Some(Value::String(id)) = map.get("$id") {
                ids.insert(id.trim_end_matches('#'), node);
            }
            for value in map.values() {
                index(value, anchors, ids, depth + 1);
            }
        }
        Value::Array(items) => {
            for item in items {
                index(item, anchors, ids, depth + 1);
            }
        }
        _ => {}
    }
}

struct Walk<'a> {
    root: &'a Value,
    anchors: HashMap<&'a str, &'a Value>,
    ids: HashMap<&'a str, &'a Value>,
    /// The `$ref` targets being unfolded, outermost first, each with the number of value
    /// steps taken when it was entered.
    inside: Vec<(*const Value, usize)>,
    /// Value steps from the root to where the unfolding is.
    steps: Vec<Step>,
    /// For each target in `inside`: the step paths by which the unfolding came back to it.
    back_paths: HashMap<*const Value, Vec<Vec<Step>>>,
    unfolded: usize,
    depth: usize,
}

impl<'a> Walk<'a> {
    /// Unfolds one subschema; `at` is where it is written, for messages.
    fn visit(&mut self, node: &'a Value, at: &str) -> Result<(), String> {
        let Value::Object(map) = node else {
            // `true`, `false`, or something the compiler will refuse.
            return self.count(at);
        };
        self.count(at)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!(
                "at `{at}`: subschemas and `$ref`s nest deeper than {MAX_DEPTH} levels"
            ));
        }
        for (keyword, value) in map {
            let here = format!("{at}/{keyword}");
            match keyword.as_str() {
                "$ref" | "$dynamicRef" | "$recursiveRef" => {
                    if let Value::String(reference) = value {
                        self.follow(reference, &here)?;
                    }
                }
                "allOf" | "anyOf" | "oneOf" => self.each(value, &here, None)?,
                "not" | "if" | "then" | "else" => self.visit(value, &here)?,
                "dependentSchemas" | "dependencies" => self.members(value, &here, None)?,
                "properties" => {
                    if let Value::Object(properties) = value {
                        for (name, schema) in properties {
                            let step = Step::Member(name.clone());
                            self.step(step, schema, &format!("{here}/{name}"))?;
                        }
                    }
                }
                "patternProperties" => self.members(value, &here, Some(Step::AnyMember))?,
                "additionalProperties" | "unevaluatedProperties" => {
                    self.step(Step::AnyMember, value, &here)?
                }
                "propertyNames" => self.step(Step::Name, value, &here)?,
                "prefixItems" => self.each(value, &here, Some(Step::AnyElement))?,
                // Draft 7 and earlier: an array of schemas is a tuple, one is every element.
                "items" if value.is_array() => self.each(value, &here, Some(Step::AnyElement))?,
                "items" | "additionalItems" | "unevaluatedItems" | "contains" => {
                    self.step(Step::AnyElement, value, &here)?
                }
                _ => {}
            }
        }
        self.depth -= 1;
        Ok(())
    }

    fn count(&mut self, at: &str) -> Result<(), String> {
        self.unfolded += 1;
        if self.unfolded > MAX_UNFOLDED {
            return Err(format!(
                "checking a value against it would visit more than {MAX_UNFOLDED} subschemas \
                 (the count passed the limit at `{at}`): its `$ref`s fan out, e.g. an \
                 `anyOf`/`oneOf`/`allOf` whose branches `$ref` the same definitions again and \
                 again; define each shape once and refer to it from one place"
            ));
        }
        Ok(())
    }

    /// Visits `node` one value step further down.
    fn step(&mut self, step: Step, node: &'a Value, at: &str) -> Result<(), String> {
        self.steps.push(step);
        let result = self.visit(node, at);
        self.steps.pop();
        result
    }

    /// Visits every schema of an array; `step` (with `AnyElement` meaning "the element
    /// at this index") goes one value step down for each.
    fn each(&mut self, value: &'a Value, at: &str, step: Option<Step>) -> Result<(), String> {
        if let Value::Array(schemas) = value {
            for (index, schema) in schemas.iter().enumerate() {
                let here = format!("{at}/{index}");
                match step {
                    Some(_) => self.step(Step::Element(index), schema, &here)?,
                    None => self.visit(schema, &here)?,
                }
            }
        }
        Ok(())
    }

    /// Visits every schema of an object's members, one `step` down when given.
    fn members(&mut self, value: &'a Value, at: &str, step: Option<Step>) -> Result<(), String> {
        if let Value::Object(schemas) = value {
            for (name, schema) in schemas {
                // Draft 7's `dependencies` also allows arrays of names: no subschema.
                if schema.is_array() {
                    continue;
                }
                let here = format!("{at}/{name}");
                match &step {
                    Some(step) => self.step(step.clone(), schema, &here)?,
                    None => self.visit(schema, &here)?,
                }
            }
        }
        Ok(())
    }

    /// Unfolds the target of `reference`, unless the unfolding is already inside it.
    fn follow(&mut self, reference: &str, at: &str) -> Result<(), String> {
        let target = self.resolve(reference).ok_or_else(|| {
            format!(
                "at `{at}`: `{}` does not point into the schema itself (Berth resolves \
                 `#/json/pointer`, `#anchor` and `$id` references only)",
                reference.escape_debug()
            )
        })?;
        let key: *const Value = target;
        if let Some(&(_, entered_at)) = self.inside.iter().find(|(inside, _)| *inside == key) {
            if entered_at == self.steps.len() {
                return Err(format!(
                    "at `{at}`: `{}` leads back to itself without a step into the value, \
                     so checking any value would never end",
                    reference.escape_debug()
                ));
            }
            let path = self.steps[entered_at..].to_vec();
            let paths = self.back_paths.entry(key).or_default();
            paths.push(path);
            if paths.len() > MAX_BACK_PATHS {
                return Err(format!(
                    "at `{at}`: `{}` is referred back to by more than {MAX_BACK_PATHS} paths",
                    reference.escape_debug()
                ));
            }
            return self.count(at);
        }
        self.inside.push((key, self.steps.len()));
        let result = self.visit(target, at);
        self.inside.pop();
        let paths = self.back_paths.remove(&key).unwrap_or_default();
        result?;
        check_unambiguous(reference, &paths)
    }

    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        let (base, fragment) = match reference.split_once('#') {
            Some((base, fragment)) => (base, fragment),
            None => (reference, ""),
        };
        let document = if base.is_empty() {
            self.root
        } else {
            self.ids.get(base).copied()?
        };
        if fragment.is_empty() {
            return Some(document);
        }
        if fragment.starts_with('/') {
            return pointer(document, fragment);
        }
        self.anchors.get(fragment).copied()
    }
}

/// Follows a JSON pointer (RFC 6901, percent-decoded as a URI fragment) into `document`.
fn pointer<'a>(document: &'a Value, fragment: &str) -> Option<&'a Value> {
    let decoded = berth_uri_template::percent_decode(fragment)?;
    document.pointer(&decoded)
}

/// Refuses a recursive target that two of its back paths could reach at the same place
/// in a value: one path matching the start of another (or both the same).
fn check_unambiguous(reference: &str, paths: &[Vec<Step>]) -> Result<(), String> {
    for (i, first) in paths.iter().enumerate() {
        for second in &paths[i + 1..] {
            let meet = first.iter().zip(second).all(|(a, b)| a.may_meet(b));
            if meet {
                let show = |path: &[Step]| path.iter().map(ToString::to_string).collect::<String>();
                return Err(format!(
                    "`{}` refers back to itself by two paths that can meet at the same place \
                     in a value (`{}` and `{}`), so checking a value nested N levels deep \
                     would take 2^N steps; give each recursive branch its own property",
                    reference.escape_debug(),
                    show(first),
                    show(second)
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The outside review's schema: `d_i` is `anyOf` two `$ref`s to `d_{i+1}`.
    fn chain(depth: usize, descend: bool) -> Value {
        let mut defs = serde_json::Map::new();
        for i in 0..depth {
            let next = json!({ "$ref": format!("#/$defs/d{}", i + 1) });
            let branch = if descend {
                json!({ "type": "object", "properties": { "x": next } })
            } else {
                next
            };
            defs.insert(
                format!("d{i}"),
                json!({ "anyOf": [branch.clone(), branch] }),
            );
        }
        defs.insert(format!("d{depth}"), json!({ "type": "string" }));
        json!({
            "type": "object",
            "properties": { "x": { "$ref": "#/$defs/d0" } },
            "$defs": defs,
        })
    }

    #[test]
    fn refuses_an_exponential_ref_chain_and_accepts_a_short_one() {
        for descend in [false, true] {
            let error = measure(&chain(40, descend)).unwrap_err();
            assert!(error.contains("more than 20000 subschemas"), "{error}");
            let cost = measure(&chain(5, descend)).unwrap();
            assert!(cost.unfolded < 300, "{cost:?}");
        }
    }

    #[test]
    fn accepts_ordinary_schemas_with_their_size() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": { "type": "string" },
                "b": { "type": "array", "items": { "$ref": "#/$defs/Point" } },
                "c": { "$ref": "#/$defs/Point" },
            },
            "$defs": { "Point": { "type": "object", "properties": {
                "x": { "type": "number" }, "y": { "type": "number" } } } },
        });
        // root, a, b, b/items, its target and x, y, then c, its target and x, y.
        assert_eq!(measure(&schema).unwrap().unfolded, 11);
    }

    #[test]
    fn accepts_recursive_trees_and_expressions() {
        let tree = json!({
            "type": "object",
            "properties": { "root": { "$ref": "#/$defs/Node" } },
            "$defs": { "Node": { "type": "object", "properties": {
                "left": { "$ref": "#/$defs/Node" },
                "right": { "$ref": "#/$defs/Node" },
                "children": { "type": "array", "items": { "$ref": "#/$defs/Node" } },
            } } },
        });
        measure(&tree).unwrap();
        // schemars' shape for `enum Expr { Add { l, r }, Neg(Box<Expr>), Lit(i64) }`.
        let expr = json!({
            "type": "object",
            "properties": { "e": { "$ref": "#/$defs/Expr" } },
            "$defs": { "Expr": { "oneOf": [
                { "type": "object", "properties": { "Add": { "type": "object", "properties": {
                    "l": { "$ref": "#/$defs/Expr" }, "r": { "$ref": "#/$defs/Expr" } } } } },
                { "type": "object", "properties": { "Neg": { "$ref": "#/$defs/Expr" } } },
                { "type": "integer" },
            ] } },
        });
        measure(&expr).unwrap();
        // Any JSON value: arrays and objects of itself (never both at one place).
        let json_value = json!({
            "type": "object",
            "additionalProperties": { "$ref": "#/$defs/V" },
            "$defs": { "V": { "anyOf": [
                { "type": "array", "items": { "$ref": "#/$defs/V" } },
                { "type": "object", "additionalProperties": { "$ref": "#/$defs/V" } },
                { "type": ["string", "number", "boolean", "null"] },
            ] } },
        });
        measure(&json_value).unwrap();
    }

    #[test]
    fn refuses_recursion_that_doubles_per_level() {
        let doubling = json!({
            "type": "object",
            "properties": { "x": { "$ref": "#/$defs/N" } },
            "$defs": { "N": { "anyOf": [
                { "type": "object", "properties": { "x": { "$ref": "#/$defs/N" } } },
                { "type": "object", "additionalProperties": { "$ref": "#/$defs/N" } },
            ] } },
        });
        let error = measure(&doubling).unwrap_err();
        assert!(error.contains("2^N steps"), "{error}");
        assert!(error.contains("`/x` and `/*`"), "{error}");
        // One path a prefix of another also doubles: x, and x then x again.
        let fibonacci = json!({
            "type": "object",
            "$defs": { "N": { "anyOf": [
                { "properties": { "x": { "$ref": "#/$defs/N" } } },
                { "properties": { "x": { "properties": { "x": { "$ref": "#/$defs/N" } } } } },
            ] } },
            "properties": { "x": { "$ref": "#/$defs/N" } },
        });
        assert!(measure(&fibonacci).unwrap_err().contains("2^N steps"));
    }

    #[test]
    fn refuses_loops_that_never_step_into_the_value() {
        let looping = json!({
            "type": "object",
            "$ref": "#/$defs/A",
            "$defs": { "A": { "allOf": [{ "$ref": "#/$defs/B" }] }, "B": { "$ref": "#/$defs/A" } },
        });
        let error = measure(&looping).unwrap_err();
        assert!(error.contains("never end"), "{error}");
        let to_root = json!({ "type": "object", "anyOf": [{ "$ref": "#" }] });
        assert!(measure(&to_root).unwrap_err().contains("never end"));
    }

    #[test]
    fn resolves_anchors_ids_and_escaped_pointers_and_refuses_the_rest() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": { "$ref": "#thing" },
                "b": { "$ref": "urn:example:shape" },
                "c": { "$ref": "#/$defs/a~1b%20c" },
            },
            "$defs": {
                "T": { "$anchor": "thing", "type": "string" },
                "S": { "$id": "urn:example:shape", "type": "number" },
                "a/b c": { "type": "boolean" },
            },
        });
        measure(&schema).unwrap();
        let outside =
            json!({ "type": "object", "properties": { "a": { "$ref": "file:///etc/passwd" } } });
        let error = measure(&outside).unwrap_err();
        assert!(error.contains("does not point into the schema"), "{error}");
    }
}
