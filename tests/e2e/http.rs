//! Streamable HTTP end to end: the real binary on 127.0.0.1 port 0, spoken to as MCP
//! clients speak it. The flow, sessions and their limits, the operational endpoints,
//! stdio and HTTP side by side, and graceful shutdown.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::http_client::{HttpServer, next_notification};
use crate::support::{component, config_file, install, plugins_dir, text};

/// Loopback development: authentication off, everything else default.
const NO_AUTH: &str = "[http.auth]\nenabled = false\n";

fn echo_server(config: &str) -> (tempfile::TempDir, HttpServer) {
    let plugins = plugins_dir(&["berth-plugin-echo"]);
    let config = config_file(plugins.path(), config);
    let server = HttpServer::start(plugins.path(), Some(&config), &[]);
    (plugins, server)
}

#[tokio::test]
async fn the_full_mcp_flow_over_http() {
    let (_plugins, server) = echo_server(NO_AUTH);
    assert!(
        server
            .process
            .stderr()
            .contains("HTTP AUTHENTICATION IS OFF"),
        "turning auth off must be loud"
    );
    let mut client = server.client(None);
    let info = client.initialize().await;
    assert_eq!(info["protocolVersion"], "2025-11-25", "{info}");
    assert_eq!(info["serverInfo"]["name"], "berth");
    assert!(
        info["capabilities"]["tools"]["listChanged"] == true,
        "{info}"
    );

    let names = client.tool_names().await;
    assert!(names.contains(&"echo_echo".to_string()), "{names:?}");
    // By default, pages served from this machine may call; others may not.
    let mut local_page = server.client(None);
    local_page
        .extra
        .insert("origin", "http://localhost:5173".parse().unwrap());
    local_page.initialize().await;
    let mut other_page = server.client(None);
    other_page
        .extra
        .insert("origin", "https://elsewhere.example".parse().unwrap());
    assert_eq!(other_page.try_initialize().await.0.status, 403);
    let result = client
        .call("echo_echo", json!({ "text": "over http" }))
        .await;
    assert_eq!(text(&result), "over http");
    let result = client.call("echo_add", json!({ "a": 2, "b": 3 })).await;
    assert_eq!(text(&result).parse::<f64>().ok(), Some(5.0), "{result}");
    let resources = client.ok("resources/list", json!({})).await;
    assert!(!resources["resources"].as_array().unwrap().is_empty());
    client.ok("ping", json!({})).await;

    // A request without the session header is not part of any session.
    let session = client.session.take();
    let (reply, _) = client.send("tools/list", json!({})).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    client.session = session;

    // Operational endpoints.
    let (status, health) = server.get("/health", None).await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    let (status, ready) = server.get("/ready", None).await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["counts"]["plugins"], 1, "{ready}");
    assert_eq!(ready["counts"]["sessions"], 2, "{ready}");
    assert!(ready["counts"]["tools"].as_u64().unwrap() >= 10, "{ready}");
    let (status, metrics) = server.get("/metrics", None).await;
    assert_eq!(status, 200);
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics
            .contains(r#"berth_tool_calls_total{plugin="echo",tool="echo",outcome="success"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("berth_tool_call_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(metrics.contains("berth_http_sessions 2"), "{metrics}");
    assert!(metrics.contains("berth_plugins_served 1"), "{metrics}");
    let (status, _) = server.get("/nowhere", None).await;
    assert_eq!(status, 404);

    // DELETE ends the session; its id is then unknown.
    assert_eq!(client.delete().await, 202);
    let (reply, _) = client.send("tools/list", json!({})).await;
    assert_eq!(reply.status, 404, "{}", reply.body);
    // The session's transport winds down after the DELETE is answered, so the count
    // follows a moment later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (_, ready) = server.get("/ready", None).await;
        if ready["counts"]["sessions"] == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the deleted session is still counted: {ready}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_2026_stateless_mode_answers_without_a_session() {
    let (_plugins, server) = echo_server(NO_AUTH);
    let client = server.client(None);
    let reply = client
        .call_stateless(7, "echo_echo", json!({ "text": "no session" }))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.header("mcp-session-id").is_none());
    assert_eq!(text(&reply.response(7)["result"]), "no session");
}

/// How many calls the `hostile` instance that served this one has served: 1 fresh, more
/// when the instance was kept from an earlier call.
async fn served(client: &mut crate::http_client::Client) -> String {
    text(&client.call("hostile_calls_served", json!({})).await).to_string()
}

/// The same, asked in no session (the 2026-07-28 stateless way).
async fn served_stateless(client: &crate::http_client::Client) -> String {
    let reply = client
        .call_stateless(1, "hostile_calls_served", json!({}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    text(&reply.response(1)["result"]).to_string()
}

/// `berth_warm_instances{plugin="hostile"}` once it reads `expected`, within 5 s.
async fn wait_for_warm_instances(server: &HttpServer, token: &str, expected: u64) {
    let line = format!("berth_warm_instances{{plugin=\"hostile\"}} {expected}");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (_, metrics) = server.get("/metrics", Some(token)).await;
        let metrics = metrics.as_str().unwrap_or_default().to_string();
        if metrics.lines().any(|l| l == line) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no `{line}` in:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Issue 26: a plugin instance that served a call serves the later calls of the same
/// session (the default `instance_reuse = "session"`), never another session's, even
/// one of the same caller; it goes when its session does. Stateless requests reuse per
/// authenticated identity.
#[tokio::test]
async fn instances_are_reused_within_a_session_never_across_and_go_with_it() {
    let plugins = plugins_dir(&["berth-test-hostile"]);
    let digest = berth::auth::token_digest;
    // Cranelift from the start: a tiered build's swap to Cranelift's code would start a
    // session's instance afresh mid-test.
    let config = format!(
        "[[http.auth.tokens]]\nname = \"alice\"\nsha256 = \"{}\"\nroles = [\"all\"]\n\
         [[http.auth.tokens]]\nname = \"bob\"\nsha256 = \"{}\"\nroles = [\"all\"]\n\
         [roles.all]\ntools = [\"*\"]\n\
         [runtime]\ncompiler = \"cranelift\"\n",
        digest("alice-secret"),
        digest("bob-secret"),
    );
    let config = config_file(plugins.path(), &config);
    let server = HttpServer::start(plugins.path(), Some(&config), &[]);
    let (mut a, mut b) = (
        server.client(Some("alice-secret")),
        server.client(Some("alice-secret")),
    );
    a.initialize().await;
    b.initialize().await;
    assert_eq!(served(&mut a).await, "1");
    assert_eq!(served(&mut a).await, "2", "a's calls share its instance");
    assert_eq!(
        served(&mut b).await,
        "1",
        "b is another session of the same caller: it never gets a's instance"
    );
    assert_eq!(served(&mut b).await, "2");
    assert_eq!(served(&mut a).await, "3");
    wait_for_warm_instances(&server, "alice-secret", 2).await;
    // Which compiler's code it runs (Cranelift's from the start, as configured).
    let (_, metrics) = server.get("/metrics", Some("alice-secret")).await;
    let metrics = metrics.as_str().unwrap_or_default().to_string();
    assert!(
        metrics
            .lines()
            .any(|l| l == r#"berth_plugin_compiler{plugin="hostile",compiler="cranelift"} 1"#),
        "{metrics}"
    );
    // The session ends: its instance goes with it, b's stays.
    assert_eq!(a.delete().await, 202);
    wait_for_warm_instances(&server, "alice-secret", 1).await;
    assert_eq!(served(&mut b).await, "3");

    // Stateless requests reuse per authenticated caller: alice's two share, bob's not.
    let (alice, bob) = (
        server.client(Some("alice-secret")),
        server.client(Some("bob-secret")),
    );
    assert_eq!(served_stateless(&alice).await, "1");
    assert_eq!(served_stateless(&alice).await, "2");
    assert_eq!(served_stateless(&bob).await, "1");
    assert_eq!(served_stateless(&alice).await, "3");
    wait_for_warm_instances(&server, "alice-secret", 3).await;
}

#[tokio::test]
async fn stdio_and_http_share_one_registry_and_both_hear_of_changes() {
    let plugins = plugins_dir(&["berth-plugin-echo"]);
    let config = config_file(plugins.path(), NO_AUTH);
    let mut server = HttpServer::start(plugins.path(), Some(&config), &["--stdio"]);
    let init = server.process.initialize("2025-11-25");
    assert_eq!(init["protocolVersion"], "2025-11-25");
    server
        .process
        .notify("notifications/initialized", json!({}));
    let mut client = server.client(None);
    client.initialize().await;
    let mut stream = client.listen().await;
    // A second HTTP session hears of the change too.
    let mut other = server.client(None);
    other.initialize().await;
    let mut other_stream = other.listen().await;

    install(plugins.path(), "time.wasm", &component("berth-plugin-time"));
    next_notification(&mut stream, "notifications/tools/list_changed").await;
    next_notification(&mut other_stream, "notifications/tools/list_changed").await;
    server
        .process
        .wait_for_notification("notifications/tools/list_changed");
    let over_http = client.tool_names().await;
    assert!(
        over_http.iter().any(|n| n.starts_with("time_")),
        "{over_http:?}"
    );
    let over_stdio = server.process.tool_names();
    assert_eq!(
        sorted(over_http),
        sorted(over_stdio),
        "both transports serve the same registry"
    );

    // With --stdio the process belongs to its stdio client: closing stdin ends it.
    let status = server.process.close();
    assert!(status.success(), "{status:?}");
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

#[tokio::test]
async fn browsers_from_other_origins_and_unknown_hosts_are_refused() {
    let (_plugins, server) = echo_server(&format!(
        "{NO_AUTH}[http]\nallowed_origins = [\"https://app.example.com\"]\n"
    ));
    let mut evil = server.client(None);
    evil.extra
        .insert("origin", "https://evil.example".parse().unwrap());
    let (reply, _) = evil.try_initialize().await;
    assert_eq!(reply.status, 403, "{}", reply.body);

    let mut app = server.client(None);
    app.extra
        .insert("origin", "https://app.example.com".parse().unwrap());
    app.initialize().await;

    // DNS rebinding: a name that resolves here but is not ours.
    let mut rebound = server.client(None);
    rebound
        .extra
        .insert("host", "attacker.example".parse().unwrap());
    let (reply, _) = rebound.try_initialize().await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.json()["error"], "host", "{}", reply.body);
}

#[tokio::test]
async fn bodies_past_the_limit_get_413() {
    let (_plugins, server) = echo_server(&format!("{NO_AUTH}[http]\nmax_body_kb = 1\n"));
    let mut client = server.client(None);
    client.initialize().await;
    let big = "x".repeat(4096);
    let (reply, _) = client
        .send(
            "tools/call",
            json!({ "name": "echo_echo", "arguments": { "text": big } }),
        )
        .await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    // The session is unharmed.
    let result = client.call("echo_echo", json!({ "text": "small" })).await;
    assert_eq!(text(&result), "small");
}

#[tokio::test]
async fn idle_sessions_expire_and_the_cap_refuses_new_ones() {
    let (_plugins, server) = echo_server(&format!(
        "{NO_AUTH}[http]\nsession_idle_secs = 1\nmax_sessions = 1\n"
    ));
    let mut first = server.client(None);
    first.initialize().await;
    let mut second = server.client(None);
    let (reply, _) = second.try_initialize().await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.json()["error"], "sessions_full", "{}", reply.body);
    assert!(reply.header("retry-after").is_some());

    // Idle past the timeout: the session is gone, and its slot with it.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (reply, _) = first.send("tools/list", json!({})).await;
    assert_eq!(
        reply.status, 404,
        "an expired session must be unknown: {}",
        reply.body
    );
    let (_, ready) = server.get("/ready", None).await;
    assert_eq!(ready["counts"]["sessions"], 0, "{ready}");
    second.initialize().await;
}

#[tokio::test]
async fn requests_past_the_concurrency_limit_are_refused_while_a_call_runs() {
    let (_plugins, server) =
        echo_server(&format!("{NO_AUTH}[http]\nmax_concurrent_requests = 1\n"));
    let mut client = server.client(None);
    client.initialize().await;
    let mut slow = client.fork(1000);
    let call =
        tokio::spawn(async move { slow.call("echo_sleep", json!({ "millis": 3000 })).await });
    // Wait until the slow call holds the only slot.
    server.wait_for_calls_in_flight(1).await;
    let (reply, _) = client.send("ping", json!({})).await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.json()["error"], "busy");
    assert_eq!(reply.header("retry-after"), Some("1"));
    let result = call.await.unwrap();
    assert!(text(&result).contains("3000"), "{result}");
    client.ok("ping", json!({})).await;
}

#[tokio::test]
async fn sigterm_lets_calls_in_flight_finish_refuses_new_ones_and_exits_0() {
    let (_plugins, mut server) = echo_server(NO_AUTH);
    let mut client = server.client(None);
    client.initialize().await;
    let mut calls = Vec::new();
    for n in 1..=3 {
        let mut slow = client.fork(1000 * n);
        calls.push(tokio::spawn(async move {
            slow.call("echo_sleep", json!({ "millis": 2000 })).await
        }));
    }
    server.wait_for_calls_in_flight(3).await;
    server.process.terminate();
    server
        .process
        .wait_for_log("shutting down: waiting for calls in flight");
    // New requests are refused while the calls finish: the listener is closed, and a
    // request that still finds an open connection gets 503.
    let refused = crate::support::http_client()
        .post(server.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-session-id", client.session.clone().unwrap())
        .body(r#"{"jsonrpc":"2.0","id":99,"method":"ping"}"#)
        .send()
        .await;
    match refused {
        Err(error) => assert!(error.is_connect() || error.is_request(), "{error}"),
        Ok(response) => {
            assert_eq!(response.status().as_u16(), 503);
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "shutting_down", "{body}");
        }
    }
    for call in calls {
        let result: Value = call
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", server.process.stderr()));
        assert!(text(&result).contains("2000"), "{result}");
    }
    let status = server.process.wait_exit();
    assert_eq!(status.code(), Some(0), "{}", server.process.stderr());
    assert!(server.process.stderr().contains("shut down"));
}

#[tokio::test]
async fn a_request_that_is_not_sent_in_time_gets_504() {
    let (_plugins, server) = echo_server(&format!("{NO_AUTH}[http]\nrequest_timeout_ms = 500\n"));
    let mut client = server.client(None);
    client.initialize().await;
    // Half a request, then nothing for longer than the timeout: a slow or stuck client.
    let half = br#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":"#.to_vec();
    let stalled = futures::stream::once(async move { Ok::<_, std::io::Error>(half) }).chain(
        futures::stream::once(async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(b"{}}".to_vec())
        }),
    );
    let started = std::time::Instant::now();
    let reply = client.post_raw(reqwest::Body::wrap_stream(stalled)).await;
    assert_eq!(reply.status, 504, "{}", reply.body);
    assert_eq!(reply.json()["error"], "timeout");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // The session carries on.
    client.ok("ping", json!({})).await;
}

#[test]
fn http_refuses_to_start_without_credentials_or_with_auth_off_off_loopback() {
    let plugins = plugins_dir(&[]);
    let refused = |config: &str, addr: &str| {
        let config = config_file(plugins.path(), config);
        let out = crate::support::berth()
            .args(["serve", "--http", addr, "--plugins"])
            .arg(plugins.path())
            .arg("--config")
            .arg(&config)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let no_credentials = refused("", "127.0.0.1:0");
    assert!(
        no_credentials.contains("HTTP needs credentials")
            && no_credentials.contains("berth token new"),
        "{no_credentials}"
    );
    let exposed = refused(NO_AUTH, "0.0.0.0:0");
    assert!(
        exposed.contains("only allowed on a loopback address"),
        "{exposed}"
    );
}
