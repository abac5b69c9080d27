//! Berth's `http` plugin: one tool, `fetch`, that makes an HTTP request through the host's
//! outbound HTTP (`wasi:http`) and returns the status, headers and body.
//!
//! The plugin declares no destinations: what it may reach is exactly the operator's
//! `[plugins.http.grants] network = [...]` list, enforced by the host before anything is
//! sent. A request to anywhere else comes back as a clear error saying so.

use std::collections::BTreeMap;

use berth_plugin_sdk::prelude::*;

mod url;
#[cfg(target_arch = "wasm32")]
mod wasi_client;

/// Largest response body returned, in bytes; the rest is cut and the cut is reported.
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// Arguments of `fetch`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchArgs {
    /// The absolute `http://` or `https://` URL.
    pub url: String,
    /// The method, e.g. `GET` (default), `POST`, `PUT`, `DELETE`, `PATCH`, `HEAD`.
    #[serde(default)]
    pub method: Option<String>,
    /// Request headers by name.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A request body, sent as UTF-8 text.
    #[serde(default)]
    pub body: Option<String>,
}

/// What `fetch` returns.
#[derive(Debug, Serialize, JsonSchema, PartialEq)]
pub struct Fetched {
    /// The HTTP status code.
    pub status: u16,
    /// Response headers by lower-case name (repeated headers joined with `, `).
    pub headers: BTreeMap<String, String>,
    /// The body as text (invalid UTF-8 replaced), cut at 4 MiB.
    pub body: String,
    /// The body parsed as JSON, when the response says it is JSON and it parses.
    pub json: Option<berth_plugin_sdk::serde_json::Value>,
    /// True when the body was longer than 4 MiB and was cut.
    pub truncated: bool,
}

/// The parts of a request, checked, ready for the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Upper-case method.
    pub method: String,
    /// The parsed URL.
    pub url: url::Url,
    /// Headers as given.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// Checks `args` and builds the request; every mistake is an `invalid_arguments` error
/// the model can correct.
pub fn prepare(args: FetchArgs) -> Result<Request, ToolError> {
    let url = url::Url::parse(&args.url).map_err(ToolError::invalid_arguments)?;
    let method = args
        .method
        .unwrap_or_else(|| "GET".to_string())
        .to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(ToolError::invalid_arguments(format!(
            "`{method}` is not an HTTP method; use GET, POST, PUT, DELETE, PATCH or HEAD"
        )));
    }
    for (name, value) in &args.headers {
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid_name {
            return Err(ToolError::invalid_arguments(format!(
                "`{name}` is not a valid header name"
            )));
        }
        if value.contains(['\r', '\n']) {
            return Err(ToolError::invalid_arguments(format!(
                "the value of header `{name}` contains a line break"
            )));
        }
    }
    let body = args.body.unwrap_or_default().into_bytes();
    let mut headers: Vec<(String, String)> = args.headers.into_iter().collect();
    // A known length instead of chunked transfer encoding: many servers (and every
    // simple one) only read a body whose length they were told.
    if !body.is_empty()
        && !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-length"))
    {
        headers.push(("content-length".to_string(), body.len().to_string()));
    }
    Ok(Request {
        method,
        url,
        headers,
        body,
    })
}

/// Shapes a raw response into [`Fetched`].
pub fn shape(status: u16, headers: Vec<(String, Vec<u8>)>, mut body: Vec<u8>) -> Fetched {
    let mut joined: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(&value).into_owned();
        joined
            .entry(name.to_ascii_lowercase())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let truncated = body.len() > MAX_BODY_BYTES;
    body.truncate(MAX_BODY_BYTES);
    let body = String::from_utf8_lossy(&body).into_owned();
    let is_json = joined
        .get("content-type")
        .is_some_and(|t| t.contains("json"));
    let json = match is_json && !truncated {
        true => berth_plugin_sdk::serde_json::from_str(&body).ok(),
        false => None,
    };
    Fetched {
        status,
        headers: joined,
        body,
        json,
        truncated,
    }
}

/// Makes an HTTP request to a host the operator granted and returns the status, the
/// response headers and the body (as text, and parsed when it is JSON). A request to a
/// host that is not granted fails with an error saying so; a non-2xx status is not an
/// error, the status is in the result.
#[tool(open_world)]
pub fn fetch(#[args] args: FetchArgs) -> Result<Fetched, ToolError> {
    let request = prepare(args)?;
    send(&request)
}

#[cfg(target_arch = "wasm32")]
fn send(request: &Request) -> Result<Fetched, ToolError> {
    wasi_client::send(request)
}

#[cfg(not(target_arch = "wasm32"))]
fn send(request: &Request) -> Result<Fetched, ToolError> {
    Err(ToolError::failed(format!(
        "{} {}: outbound HTTP exists only inside the host (wasi:http)",
        request.method, request.url
    )))
}

berth_plugin_sdk::export!(name: "http", tools: [fetch]);

#[cfg(test)]
mod tests {
    use super::*;

    fn args(url: &str) -> FetchArgs {
        FetchArgs {
            url: url.to_string(),
            method: None,
            headers: BTreeMap::new(),
            body: None,
        }
    }

    #[test]
    fn requests_are_checked_before_they_are_sent() {
        let request = prepare(args("http://127.0.0.1:8080/a/b?c=d")).unwrap();
        assert_eq!(request.method, "GET");
        assert_eq!(request.url.authority, "127.0.0.1:8080");
        assert_eq!(request.url.path_with_query, "/a/b?c=d");
        assert!(request.headers.is_empty());
        let mut post = args("http://x/");
        post.body = Some("hello".into());
        assert_eq!(
            prepare(post).unwrap().headers,
            [("content-length".to_string(), "5".to_string())]
        );
        let mut bad = args("http://x/");
        bad.method = Some("GE T".into());
        assert!(prepare(bad).is_err());
        let mut bad = args("http://x/");
        bad.headers.insert("X-Ok".into(), "a\r\nInjected: 1".into());
        assert!(prepare(bad).is_err());
        let mut bad = args("http://x/");
        bad.headers.insert("Bad Name".into(), "v".into());
        assert!(prepare(bad).is_err());
        assert!(prepare(args("ftp://x/")).is_err());
    }

    #[test]
    fn responses_are_shaped_with_json_and_cuts() {
        let fetched = shape(
            200,
            vec![
                ("Content-Type".into(), b"application/json".to_vec()),
                ("Set-Cookie".into(), b"a=1".to_vec()),
                ("set-cookie".into(), b"b=2".to_vec()),
            ],
            br#"{"ok":true}"#.to_vec(),
        );
        assert_eq!(fetched.headers["set-cookie"], "a=1, b=2");
        assert_eq!(
            fetched.json,
            Some(berth_plugin_sdk::serde_json::json!({"ok": true}))
        );
        let big = shape(200, vec![], vec![b'x'; MAX_BODY_BYTES + 1]);
        assert!(big.truncated);
        assert_eq!(big.body.len(), MAX_BODY_BYTES);
    }

    #[test]
    fn outside_the_host_fetch_says_why_it_cannot() {
        let err = fetch(args("http://127.0.0.1:1/")).unwrap_err();
        assert!(err.to_string().contains("wasi:http"), "{err}");
    }
}
