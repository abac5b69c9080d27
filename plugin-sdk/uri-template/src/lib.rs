//! RFC 6570 URI templates, the subset MCP resource templates use: parse a template,
//! match a concrete URI against it (extracting variable values), and expand it.
//!
//! Both sides of Berth need matching, which common crates do not offer (they only
//! expand): the host routes a `resources/read` to the plugin whose template matches,
//! and the plugin SDK dispatches it to the right function. Supported expressions are
//! simple `{var}`, reserved `{+var}`, fragment `{#var}`, and the path-style operators
//! `{/var}`, `{.var}`, `{?a,b}`, `{&a}`; value modifiers (`:3`, `*`) are refused at parse
//! time rather than half-supported.
#![deny(missing_docs)]

use std::collections::HashMap;
use std::fmt;

/// A parsed RFC 6570 URI template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Expr { op: Operator, vars: Vec<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Simple,
    Reserved,
    Fragment,
    Label,
    Path,
    Query,
    QueryContinuation,
}

impl Operator {
    fn prefix(self) -> &'static str {
        match self {
            Operator::Simple | Operator::Reserved => "",
            Operator::Fragment => "#",
            Operator::Label => ".",
            Operator::Path => "/",
            Operator::Query => "?",
            Operator::QueryContinuation => "&",
        }
    }

    fn separator(self) -> char {
        match self {
            Operator::Simple | Operator::Reserved | Operator::Fragment => ',',
            Operator::Label => '.',
            Operator::Path => '/',
            Operator::Query | Operator::QueryContinuation => '&',
        }
    }

    fn named(self) -> bool {
        matches!(self, Operator::Query | Operator::QueryContinuation)
    }

    /// Reserved and fragment expansion pass `/`, `?` and friends through unencoded, so
    /// their values may span path segments when matching.
    fn allows_reserved(self) -> bool {
        matches!(self, Operator::Reserved | Operator::Fragment)
    }
}

impl UriTemplate {
    /// Parses `template`, or says what is wrong with it and where.
    pub fn parse(template: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = template;
        let mut offset = 0;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let close = rest.find('}').ok_or_else(|| {
                        format!("unclosed `{{` at byte {offset}; close the expression with `}}`")
                    })?;
                    parts.push(parse_expr(&rest[1..close], offset)?);
                    rest = &rest[close + 1..];
                    offset += close + 1;
                }
                found => {
                    let end = found.unwrap_or(rest.len());
                    let literal = &rest[..end];
                    if let Some(pos) = literal.find('}') {
                        return Err(format!(
                            "unexpected `}}` at byte {} without an opening `{{`",
                            offset + pos
                        ));
                    }
                    parts.push(Part::Literal(literal.to_string()));
                    rest = &rest[end..];
                    offset += end;
                }
            }
        }
        if !parts
            .iter()
            .any(|p| matches!(p, Part::Literal(l) if l.contains(':')))
        {
            return Err(
                "a resource template must start with a URI scheme, e.g. `notes://{name}`".into(),
            );
        }
        Ok(UriTemplate {
            source: template.to_string(),
            parts,
        })
    }

    /// The template text as given.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The variable names, in order of appearance.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts
            .iter()
            .flat_map(|p| match p {
                Part::Literal(_) => [].iter(),
                Part::Expr { vars, .. } => vars.iter(),
            })
            .map(String::as_str)
    }

    /// Matches `uri` against the template and returns each variable's decoded value, in
    /// order of appearance; `None` if the URI does not fit. Variables of query operators
    /// that are absent from the URI are left out.
    pub fn matches(&self, uri: &str) -> Option<Vec<(String, String)>> {
        let mut out = Vec::new();
        if match_parts(&self.parts, uri, &mut out) {
            Some(out)
        } else {
            None
        }
    }

    /// Expands the template with `values`; a missing variable expands to nothing.
    pub fn expand(&self, values: &HashMap<&str, &str>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(l) => out.push_str(l),
                Part::Expr { op, vars } => {
                    let mut first = true;
                    for var in vars {
                        let Some(value) = values.get(var.as_str()) else {
                            continue;
                        };
                        out.push_str(if first { op.prefix() } else { "" });
                        if !first {
                            out.push(op.separator());
                        }
                        first = false;
                        if op.named() {
                            out.push_str(var);
                            out.push('=');
                        }
                        encode_into(&mut out, value, op.allows_reserved());
                    }
                }
            }
        }
        out
    }
}

impl fmt::Display for UriTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn parse_expr(body: &str, offset: usize) -> Result<Part, String> {
    let (op, names) = match body.chars().next() {
        Some('+') => (Operator::Reserved, &body[1..]),
        Some('#') => (Operator::Fragment, &body[1..]),
        Some('.') => (Operator::Label, &body[1..]),
        Some('/') => (Operator::Path, &body[1..]),
        Some('?') => (Operator::Query, &body[1..]),
        Some('&') => (Operator::QueryContinuation, &body[1..]),
        Some(c @ ('=' | ',' | '!' | '@' | '|')) => {
            return Err(format!(
                "operator `{c}` at byte {offset} is reserved by RFC 6570 and not supported"
            ));
        }
        _ => (Operator::Simple, body),
    };
    let mut vars = Vec::new();
    for name in names.split(',') {
        if name.ends_with('*') || name.contains(':') {
            return Err(format!(
                "modifier in `{{{body}}}` at byte {offset} is not supported; use plain variable names"
            ));
        }
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '%');
        if !valid {
            return Err(format!(
                "invalid variable name `{name}` in `{{{body}}}` at byte {offset}: use letters, digits and `_`"
            ));
        }
        vars.push(name.to_string());
    }
    // Two adjacent variables in a simple expression cannot be told apart when matching
    // unless they are comma-separated, which the separator handles below.
    Ok(Part::Expr { op, vars })
}

/// Backtracking matcher: templates are short and have few expressions, so trying each
/// split point is cheap and keeps the code obviously correct.
fn match_parts(parts: &[Part], uri: &str, out: &mut Vec<(String, String)>) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return uri.is_empty();
    };
    match first {
        Part::Literal(l) => uri
            .strip_prefix(l.as_str())
            .is_some_and(|tail| match_parts(rest, tail, out)),
        Part::Expr { op, vars } => {
            let prefix = op.prefix();
            // Query operators may be absent entirely.
            if op.named() && !uri.starts_with(prefix) && match_parts(rest, uri, out) {
                return true;
            }
            let Some(body_and_tail) = uri.strip_prefix(prefix) else {
                return false;
            };
            // Candidate ends of this expression's text, shortest first: a lazy match lets a
            // reserved `{+path}` stop before a following `{?query}`.
            let ends: Vec<usize> = (0..=body_and_tail.len())
                .filter(|&i| body_and_tail.is_char_boundary(i))
                .collect();
            for end in ends {
                let body = &body_and_tail[..end];
                if !body.chars().all(|c| allowed_in_value(c, *op)) {
                    continue;
                }
                let Some(values) = split_values(body, *op, vars) else {
                    continue;
                };
                let mark = out.len();
                out.extend(values);
                if match_parts(rest, &body_and_tail[end..], out) {
                    return true;
                }
                out.truncate(mark);
            }
            false
        }
    }
}

fn allowed_in_value(c: char, op: Operator) -> bool {
    if op.allows_reserved() {
        return !c.is_whitespace();
    }
    // Unreserved characters, percent-encoding, plus the operator's own separators.
    c.is_ascii_alphanumeric()
        || matches!(c, '-' | '.' | '_' | '~' | '%')
        || c == op.separator()
        || (op.named() && c == '=')
}

fn split_values(body: &str, op: Operator, vars: &[String]) -> Option<Vec<(String, String)>> {
    let pieces: Vec<&str> = if vars.len() == 1 && !op.named() {
        vec![body]
    } else {
        body.split(op.separator()).collect()
    };
    let mut values = Vec::new();
    if op.named() {
        for piece in pieces {
            let (name, value) = piece.split_once('=')?;
            if !vars.iter().any(|v| v == name) {
                return None;
            }
            values.push((name.to_string(), percent_decode(value)?));
        }
    } else {
        if pieces.len() != vars.len() || pieces.iter().any(|p| p.is_empty()) {
            return None;
        }
        for (var, piece) in vars.iter().zip(pieces) {
            values.push((var.clone(), percent_decode(piece)?));
        }
    }
    Some(values)
}

/// Decodes `%XX` escapes (RFC 3986) into UTF-8 text; `None` for a malformed escape or
/// bytes that are not UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn encode_into(out: &mut String, value: &str, allow_reserved: bool) {
    for byte in value.bytes() {
        let c = byte as char;
        let keep = c.is_ascii_alphanumeric()
            || matches!(c, '-' | '.' | '_' | '~')
            || (allow_reserved && ":/?#[]@!$&'()*+,;=".contains(c));
        if keep {
            out.push(c);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(t: &str, uri: &str) -> Option<Vec<(String, String)>> {
        UriTemplate::parse(t).unwrap().matches(uri)
    }

    fn pairs(p: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(
            p.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn simple_variables_match_one_segment() {
        assert_eq!(
            m("notes://notes/{name}", "notes://notes/todo"),
            pairs(&[("name", "todo")])
        );
        assert_eq!(m("notes://notes/{name}", "notes://notes/a/b"), None);
        assert_eq!(m("notes://notes/{name}", "notes://notes/"), None);
        assert_eq!(
            m("db://{table}/{id}", "db://users/42"),
            pairs(&[("table", "users"), ("id", "42")])
        );
        assert_eq!(
            m("x://{a}", "x://hello%20world"),
            pairs(&[("a", "hello world")])
        );
    }

    #[test]
    fn reserved_variables_span_segments() {
        assert_eq!(
            m("file:///{+path}", "file:///src/main.rs"),
            pairs(&[("path", "src/main.rs")])
        );
        assert_eq!(
            m("file:///{+path}.md", "file:///a/b.md"),
            pairs(&[("path", "a/b")])
        );
    }

    #[test]
    fn operators_match() {
        assert_eq!(
            m("x://r{/a,b}", "x://r/1/2"),
            pairs(&[("a", "1"), ("b", "2")])
        );
        assert_eq!(
            m("x://s{?q,n}", "x://s?q=cat&n=3"),
            pairs(&[("q", "cat"), ("n", "3")])
        );
        assert_eq!(m("x://s{?q}", "x://s"), pairs(&[]));
        assert_eq!(m("x://s{?q}", "x://s?z=1"), None);
    }

    #[test]
    fn expand_round_trips() {
        let t = UriTemplate::parse("x://{a}/{+b}{?q}").unwrap();
        let values = HashMap::from([("a", "one two"), ("b", "c/d"), ("q", "x")]);
        let uri = t.expand(&values);
        assert_eq!(uri, "x://one%20two/c/d?q=x");
        assert_eq!(
            t.matches(&uri),
            pairs(&[("a", "one two"), ("b", "c/d"), ("q", "x")])
        );
    }

    #[test]
    fn parse_errors_say_where() {
        assert!(
            UriTemplate::parse("x://{a")
                .unwrap_err()
                .contains("unclosed")
        );
        assert!(UriTemplate::parse("x://a}").unwrap_err().contains("byte 5"));
        assert!(
            UriTemplate::parse("x://{a*}")
                .unwrap_err()
                .contains("modifier")
        );
        assert!(
            UriTemplate::parse("x://{a b}")
                .unwrap_err()
                .contains("invalid variable")
        );
        assert!(UriTemplate::parse("{a}").unwrap_err().contains("scheme"));
        assert_eq!(
            UriTemplate::parse("x://{a}/{b}")
                .unwrap()
                .variables()
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
    }
}
