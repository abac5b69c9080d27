//! The HTTP face against the outside review's five defects (issue 19): sessions belong to
//! the method and subject that opened them; a new-session POST is read under a request
//! slot and the deadline; an answer given before the body was read says
//! `Connection: close`; DELETE of an ended session is 404; malformed JSON is a 400 with a
//! JSON-RPC parse error.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::http_auth::{ADMIN_TOKEN, READER_TOKEN, claims, hs256, start};

/// Sends `head` (request line and headers, without `Host` and the blank line) and then
/// `body` on a new connection to `base`; returns the response head, lower-cased, or what
/// arrived before `wait` passed.
fn raw(base: &str, head: &str, body: &[u8], wait: Duration) -> String {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(wait)).unwrap();
    stream
        .write_all(format!("{head}\r\nHost: {addr}\r\n\r\n").as_bytes())
        .unwrap();
    stream.write_all(body).unwrap();
    let mut got = Vec::new();
    let mut buffer = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buffer[..n]),
        }
    }
    String::from_utf8_lossy(&got).to_ascii_lowercase()
}

#[tokio::test]
async fn a_session_belongs_to_the_method_and_subject_that_opened_it() {
    let (_plugins, _config, server) = start("");
    // A static token named `admin-bot`, and a JWT whose `sub` is the same name.
    let jwt = hs256(claims("admin-bot", &["admin"]));
    for (owner_token, other_token) in [(ADMIN_TOKEN, jwt.as_str()), (jwt.as_str(), ADMIN_TOKEN)] {
        let mut owner = server.client(Some(owner_token));
        owner.initialize().await;
        let mut other = server.client(Some(other_token));
        other.session = owner.session.clone();
        let (reply, _) = other.send("tools/list", json!({})).await;
        assert_eq!(reply.status, 403, "{}", reply.body);
        assert_eq!(other.delete().await, 403);
        // The owner's session is untouched.
        assert!(owner.tool_names().await.len() >= 10);
        assert!(matches!(owner.delete().await, 200 | 202));
    }
}

#[tokio::test]
async fn a_new_session_post_is_read_under_a_slot_and_the_deadline() {
    let (_plugins, _config, server) = start(
        "\n[http]\nmax_sessions = 2\nrequest_timeout_ms = 1500\nmax_concurrent_requests = 1\n",
    );
    let mut first = server.client(Some(READER_TOKEN));
    first.initialize().await;
    let mut second = server.client(Some(READER_TOKEN));
    second.initialize().await;
    // Sessions full: a POST without a session promises 1000 bytes and sends 10.
    let base = server.base.clone();
    let slow = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let head = raw(
            &base,
            &format!(
                "POST /mcp HTTP/1.1\r\nAuthorization: Bearer {READER_TOKEN}\r\n\
                 Content-Type: application/json\r\n\
                 Accept: application/json, text/event-stream\r\nContent-Length: 1000"
            ),
            b"{\"jsonrpc\"",
            Duration::from_secs(5),
        );
        (head, started.elapsed())
    });
    // While the slow request is read, it holds the only request slot.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (reply, _) = first.send("ping", json!({})).await;
    assert_eq!(
        reply.status, 503,
        "the slow request holds the slot: {}",
        reply.body
    );
    let (head, took) = slow.await.unwrap();
    assert!(head.starts_with("http/1.1 504"), "{head}");
    assert!(took < Duration::from_secs(4), "answered after {took:?}");
    // And the slot comes back.
    first.ok("ping", json!({})).await;
}

#[tokio::test]
async fn answers_before_the_body_is_read_say_connection_close() {
    let (_plugins, _config, server) = start("");
    let base = server.base.clone();
    let addr = base.trim_start_matches("http://").to_string();
    // Headers first; the body would follow a moment later.
    let cases = [
        (
            "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2",
            "401",
        ),
        (
            "POST /nowhere HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2",
            "404",
        ),
    ];
    for (head, status) in cases {
        let got = raw(&base, head, b"", Duration::from_secs(5));
        assert!(got.starts_with(&format!("http/1.1 {status}")), "{got}");
        assert!(got.contains("connection: close"), "{status}: {got}");
    }
    // A Host outside the allow-list, refused before anything is read.
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .write_all(b"POST /mcp HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 2\r\n\r\n")
        .unwrap();
    let mut head = vec![0u8; 2048];
    let n = stream.read(&mut head).unwrap();
    let head = String::from_utf8_lossy(&head[..n]).to_ascii_lowercase();
    assert!(
        head.starts_with("http/1.1 403") && head.contains("connection: close"),
        "{head}"
    );

    // A pooled client: a refused POST whose body arrives late, then its next request.
    let pooled = crate::support::http_client();
    let late = futures::stream::once(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"{}"))
    });
    let refused = pooled
        .post(server.mcp_url())
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(late))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let health = pooled.get(format!("{base}/health")).send().await;
    assert_eq!(health.expect("the next request is answered").status(), 200);
}

#[tokio::test]
async fn delete_of_an_ended_or_unknown_session_is_404() {
    let (_plugins, _config, server) = start("");
    let mut client = server.client(Some(ADMIN_TOKEN));
    client.initialize().await;
    assert!(matches!(client.delete().await, 200 | 202));
    assert_eq!(client.delete().await, 404);
    client.session = Some("no-such-session".into());
    assert_eq!(client.delete().await, 404);
}

#[tokio::test]
async fn malformed_json_is_a_400_with_a_json_rpc_error() {
    let (_plugins, _config, server) = start("");
    let mut client = server.client(Some(ADMIN_TOKEN));
    client.initialize().await;
    for (body, code) in [("{not json", -32700), (r#"{"no":"jsonrpc"}"#, -32600)] {
        let reply = client.post_raw(body.to_string()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        let error: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(error["jsonrpc"], "2.0", "{error}");
        assert_eq!(error["id"], Value::Null, "{error}");
        assert_eq!(error["error"]["code"], code, "{error}");
    }
    // The session is still fine.
    client.ok("ping", json!({})).await;
}
