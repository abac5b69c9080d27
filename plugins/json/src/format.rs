//! Re-formatting JSON: pretty-printed with a chosen indent, or minified, keys sorted or not.
//!
//! serde_json's `Value` keeps object keys sorted (this workspace does not enable its
//! `preserve_order` feature, and enabling it in one plugin would change key order for every
//! crate built alongside it). Formatting must not reorder a document it was given as text, so
//! this module parses text into its own [`Ordered`] tree, which keeps keys in document order
//! (duplicates included) and sorts them only when asked.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Number, Value};

/// A JSON value whose objects keep their keys in document order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ordered {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Ordered>),
    /// Members in document order; a key may repeat, as it may in JSON text.
    Object(Vec<(String, Ordered)>),
}

impl Ordered {
    /// Sorts every object's members by key, recursively (stable, so duplicates keep their order).
    pub(crate) fn sort_keys(&mut self) {
        match self {
            Ordered::Array(items) => items.iter_mut().for_each(Ordered::sort_keys),
            Ordered::Object(members) => {
                members.sort_by(|a, b| a.0.cmp(&b.0));
                members.iter_mut().for_each(|(_, value)| value.sort_keys());
            }
            Ordered::Null | Ordered::Bool(_) | Ordered::Number(_) | Ordered::String(_) => {}
        }
    }
}

impl From<Value> for Ordered {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => Ordered::Null,
            Value::Bool(b) => Ordered::Bool(b),
            Value::Number(n) => Ordered::Number(n),
            Value::String(s) => Ordered::String(s),
            Value::Array(items) => Ordered::Array(items.into_iter().map(Ordered::from).collect()),
            Value::Object(map) => {
                Ordered::Object(map.into_iter().map(|(k, v)| (k, v.into())).collect())
            }
        }
    }
}

impl Serialize for Ordered {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Ordered::Null => serializer.serialize_unit(),
            Ordered::Bool(b) => serializer.serialize_bool(*b),
            Ordered::Number(n) => n.serialize(serializer),
            Ordered::String(s) => serializer.serialize_str(s),
            Ordered::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Ordered::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (key, value) in members {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OrderedVisitor)
    }
}

/// Builds an [`Ordered`] from whatever JSON value comes.
struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = Ordered;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Ordered, E> {
        Ok(Ordered::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Ordered, E> {
        Ok(Ordered::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Ordered, E> {
        Ok(Ordered::Number(n.into()))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Ordered, E> {
        Ok(Ordered::Number(n.into()))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Ordered, E> {
        // JSON text cannot hold NaN or infinities, so this only fails for other formats.
        Number::from_f64(n)
            .map(Ordered::Number)
            .ok_or_else(|| E::custom("a number that JSON cannot represent"))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Ordered, E> {
        Ok(Ordered::String(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Ordered, E> {
        Ok(Ordered::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Ordered::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
        let mut members = Vec::new();
        while let Some(member) = map.next_entry()? {
            members.push(member);
        }
        Ok(Ordered::Object(members))
    }
}

/// How to lay out the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// One member or element per line, indented by this many spaces per level.
    Pretty { indent: usize },
    /// No whitespace at all.
    Minified,
}

/// `document` as JSON text laid out as `layout`.
pub(crate) fn format(document: &Ordered, layout: Layout) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail, and an `Ordered` always serializes.
    let written = match layout {
        Layout::Minified => document.serialize(&mut serde_json::Serializer::new(&mut out)),
        Layout::Pretty { indent } => {
            let indent = " ".repeat(indent);
            let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
            document.serialize(&mut serde_json::Serializer::with_formatter(
                &mut out, formatter,
            ))
        }
    };
    written.expect("serializing to memory");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Ordered {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn keys_keep_their_order_unless_sorted() {
        let mut document = parse(r#"{"b": 1, "a": {"d": [true, null], "c": "x"}}"#);
        assert_eq!(
            format(&document, Layout::Minified),
            r#"{"b":1,"a":{"d":[true,null],"c":"x"}}"#
        );
        document.sort_keys();
        assert_eq!(
            format(&document, Layout::Minified),
            r#"{"a":{"c":"x","d":[true,null]},"b":1}"#
        );
    }

    #[test]
    fn pretty_uses_the_indent() {
        let document = parse(r#"{"a": [1, 2.5]}"#);
        assert_eq!(
            format(&document, Layout::Pretty { indent: 4 }),
            "{\n    \"a\": [\n        1,\n        2.5\n    ]\n}"
        );
    }

    #[test]
    fn duplicate_keys_and_numbers_survive() {
        let document = parse(r#"{"a": 1, "a": -2, "big": 18446744073709551615, "f": 1e-7}"#);
        assert_eq!(
            format(&document, Layout::Minified),
            r#"{"a":1,"a":-2,"big":18446744073709551615,"f":1e-7}"#
        );
    }

    #[test]
    fn a_value_converts() {
        let document = Ordered::from(serde_json::json!({"x": [1, "y", null, false]}));
        assert_eq!(
            format(&document, Layout::Minified),
            r#"{"x":[1,"y",null,false]}"#
        );
    }
}
