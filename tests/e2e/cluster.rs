//! Replicas of one deployment: behind a real `haproxy` with the session-affinity recipe,
//! and sharing a real `redis-server` (`[cluster]`): one rate-limit budget per identity
//! across replicas, `/ready` reporting Redis, a replica that limits on its own while
//! Redis is down, and sessions and streams that move to another replica.

use berth_test_services::{Haproxy, Routing};
use serde_json::json;

use crate::http_client::HttpServer;
use crate::support::{config_file, plugins_dir};

const TOKEN: &str = "berth_cluster_e2e";

#[tokio::test]
async fn replicas_share_each_callers_rate_limit_through_redis() {
    let redis = berth_test_services::Redis::start(berth_test_services::Persistence::None);
    let plugins = plugins_dir(&["berth-plugin-echo"]);
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(
        dir.path(),
        &format!(
            "[cluster]\nredis_url = \"{}\"\n\
             [http.rate_limit]\nrequests_per_minute = 6\nburst = 5\n\
             [[http.auth.tokens]]\nname = \"ci\"\nsha256 = \"{}\"\nroles = [\"all\"]\n\
             [roles.all]\ntools = [\"*\"]\n",
            redis.url(),
            berth::auth::token_digest(TOKEN)
        ),
    );
    let one = HttpServer::start(plugins.path(), Some(&config), &[]);
    let two = HttpServer::start(plugins.path(), Some(&config), &[]);

    // Each handshake is two requests (initialize, initialized): four of the five.
    let mut first = one.client(Some(TOKEN));
    first.initialize().await;
    let mut second = two.client(Some(TOKEN));
    second.initialize().await;
    first.ok("ping", json!({})).await;
    // Each replica alone has let three requests through; together they spent the burst.
    let (reply, _) = second.send("ping", json!({})).await;
    assert_eq!(reply.status, 429, "{}", reply.body);
    let (reply, _) = first.send("ping", json!({})).await;
    assert_eq!(reply.status, 429, "{}", reply.body);

    let (status, ready) = one.get("/ready", None).await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["cluster"]["redis"], "ok", "{ready}");

    // Redis down: the replicas go on, each limiting on its own, and say so.
    drop(redis);
    let (status, ready) = two.get("/ready", None).await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["cluster"]["redis"], "unreachable", "{ready}");
    let (reply, _) = second.send("ping", json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    two.process
        .wait_for_log("shared rate limits unavailable; this replica limits callers on its own");
}

/// A session lives on the replica that opened it. When that replica is gone, the next
/// replica answers the spec's 404 for the session, and the client's new `initialize`
/// there works: a lost replica costs a session, never a client.
#[tokio::test]
async fn a_session_whose_replica_is_gone_gets_404_and_reinitializes_elsewhere() {
    let plugins = plugins_dir(&["berth-plugin-echo"]);
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(
        dir.path(),
        &format!(
            "[[http.auth.tokens]]\nname = \"ci\"\nsha256 = \"{}\"\nroles = [\"all\"]\n\
             [roles.all]\ntools = [\"*\"]\n",
            berth::auth::token_digest(TOKEN)
        ),
    );
    let one = HttpServer::start(plugins.path(), Some(&config), &[]);
    let two = HttpServer::start(plugins.path(), Some(&config), &[]);
    let mut client = one.client(Some(TOKEN));
    client.initialize().await;
    let echoed = client.call("echo_echo", json!({ "text": "on one" })).await;
    assert_eq!(echoed["content"][0]["text"], "on one", "{echoed}");

    // The load balancer now sends the session's requests to the other replica.
    drop(one);
    let mut moved = two.client(Some(TOKEN));
    moved.session = client.session.clone();
    let (reply, _) = moved.send("tools/list", json!({})).await;
    assert_eq!(reply.status, 404, "{}", reply.body);
    moved.session = None;
    moved.initialize().await;
    let echoed = moved.call("echo_echo", json!({ "text": "on two" })).await;
    assert_eq!(echoed["content"][0]["text"], "on two", "{echoed}");
}

/// The config of two replicas sharing `redis` as a cluster, with two callers.
fn cluster_config(dir: &std::path::Path, redis: &berth_test_services::Redis) -> std::path::PathBuf {
    config_file(
        dir,
        &format!(
            "[cluster]\nredis_url = \"{}\"\n\
             [[http.auth.tokens]]\nname = \"ci\"\nsha256 = \"{}\"\nroles = [\"all\"]\n\
             [[http.auth.tokens]]\nname = \"other\"\nsha256 = \"{}\"\nroles = [\"all\"]\n\
             [roles.all]\ntools = [\"*\"]\n",
            redis.url(),
            berth::auth::token_digest(TOKEN),
            berth::auth::token_digest(OTHER),
        ),
    )
}

const OTHER: &str = "berth_cluster_other_e2e";

/// With a cluster, a session outlives its replica: the next replica restores it from
/// Redis (its owner only) and answers as if nothing happened; the events of a finished
/// stream replay there from `Last-Event-ID`.
#[tokio::test]
async fn with_a_cluster_a_session_and_its_streams_move_to_another_replica() {
    let redis = berth_test_services::Redis::start(berth_test_services::Persistence::None);
    let plugins = plugins_dir(&["berth-plugin-echo"]);
    let dir = tempfile::tempdir().unwrap();
    let config = cluster_config(dir.path(), &redis);
    let one = HttpServer::start(plugins.path(), Some(&config), &[]);
    let two = HttpServer::start(plugins.path(), Some(&config), &[]);
    let mut client = one.client(Some(TOKEN));
    client.initialize().await;
    // A call answered on an SSE stream: its events carry ids of the cluster's store.
    let (reply, _) = client
        .send(
            "tools/call",
            json!({ "name": "echo_echo", "arguments": { "text": "on one" } }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let ids: Vec<&str> = reply
        .body
        .lines()
        .filter_map(|line| line.strip_prefix("id:"))
        .map(str::trim)
        .collect();
    assert!(
        ids.len() >= 2,
        "a priming event and the answer: {}",
        reply.body
    );
    let session = client.session.clone().unwrap();
    drop(one);

    // Another caller cannot take the session over.
    let mut thief = two.client(Some(OTHER));
    thief.session = Some(session.clone());
    let (reply, _) = thief.send("tools/list", json!({})).await;
    assert_eq!(reply.status, 403, "{}", reply.body);

    // Its owner carries on on the other replica, without a new initialize.
    let mut moved = client.fork(100);
    moved.set_url(&two.mcp_url());
    let echoed = moved.call("echo_echo", json!({ "text": "on two" })).await;
    assert_eq!(echoed["content"][0]["text"], "on two", "{echoed}");
    two.process
        .wait_for_log("session restored from the cluster");

    // The first stream's answer replays on this replica after its priming event.
    let replay = reqwest::Client::new()
        .get(two.mcp_url())
        .bearer_auth(TOKEN)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-11-25")
        .header("last-event-id", ids[0])
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 200);
    let body = replay.text().await.unwrap();
    assert!(body.contains("on one"), "{body}");
    assert!(
        body.contains(&format!("id: {}", ids[1])) || body.contains(&format!("id:{}", ids[1])),
        "{body}"
    );
}

/// The README's haproxy recipe: round robin for new sessions, then every request of a
/// session to the replica that opened it (learned from the `Mcp-Session-Id` in its
/// answer). Clients through it work on three replicas without a cluster; through plain
/// round robin, a session's next request reaches a replica that never saw it.
#[tokio::test]
async fn haproxy_with_the_affinity_recipe_keeps_each_session_on_its_replica() {
    let plugins = plugins_dir(&["berth-plugin-echo"]);
    let dir = tempfile::tempdir().unwrap();
    // haproxy sends the Host it was given (its own port), which any port of 127.0.0.1
    // matches.
    let config = config_file(
        dir.path(),
        &format!(
            "[[http.auth.tokens]]\nname = \"ci\"\nsha256 = \"{}\"\nroles = [\"all\"]\n\
             [roles.all]\ntools = [\"*\"]\n",
            berth::auth::token_digest(TOKEN)
        ),
    );
    let replicas: Vec<HttpServer> = (0..3)
        .map(|_| HttpServer::start(plugins.path(), Some(&config), &[]))
        .collect();
    let backends: Vec<String> = replicas
        .iter()
        .map(|r| r.base.trim_start_matches("http://").to_string())
        .collect();
    let url = |proxy: &Haproxy| format!("{}/mcp", proxy.base());

    let sticky = Haproxy::start(&backends, Routing::SessionAffinity);
    for client in 0..6 {
        let mut session = crate::http_client::Client::new(&url(&sticky), Some(TOKEN));
        session.initialize().await;
        for call in 0..5 {
            let text = format!("client {client} call {call}");
            let echoed = session.call("echo_echo", json!({ "text": text })).await;
            assert_eq!(echoed["content"][0]["text"], text, "{echoed}");
        }
    }
    let mut spread = Vec::new();
    for replica in &replicas {
        let (_, ready) = replica.get("/ready", None).await;
        spread.push(ready["counts"]["sessions"].as_u64().unwrap());
    }
    assert_eq!(spread.iter().sum::<u64>(), 6, "{spread:?}");
    assert!(
        spread.iter().all(|&n| n == 2),
        "round robin for new sessions: {spread:?}"
    );

    let plain = Haproxy::start(&backends, Routing::RoundRobin);
    let mut session = crate::http_client::Client::new(&url(&plain), Some(TOKEN));
    let (reply, _) = session.try_initialize().await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let (reply, _) = session.send("tools/list", json!({})).await;
    assert_eq!(reply.status, 404, "without affinity: {}", reply.body);

    // Stateless requests (2026-07-28) need no affinity: round robin serves every one.
    let mut stateless = crate::http_client::Client::new(&url(&plain), Some(TOKEN));
    for (name, value) in [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "echo_echo"),
    ] {
        stateless.extra.insert(name, value.parse().unwrap());
    }
    for id in 0..6 {
        let body = json!({
            "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": "echo_echo", "arguments": { "text": format!("stateless {id}") },
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities": {},
                    "io.modelcontextprotocol/clientInfo": { "name": "stateless", "version": "1" }
                } }
        });
        let reply = stateless.post_raw(body.to_string()).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(
            reply.response(id)["result"]["content"][0]["text"],
            format!("stateless {id}"),
            "{}",
            reply.body
        );
    }
}

/// A resource a plugin changes on one replica: clients subscribed on another replica hear
/// of it, and that replica's cached read of it is dropped.
#[tokio::test]
async fn a_resource_change_on_one_replica_reaches_subscribers_and_caches_on_another() {
    let redis = berth_test_services::Redis::start(berth_test_services::Persistence::None);
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    crate::support::install(
        &plugins,
        "kv-probe.wasm",
        &crate::support::component("berth-test-kv-probe"),
    );
    let config = config_file(
        dir.path(),
        &format!(
            "[cluster]\nredis_url = \"{url}\"\n\
             [state]\nbackend = \"redis\"\nurl = \"{url}\"\n\
             [plugins.kv-probe.grants]\nkeyvalue = {{ buckets = [\"ticks\"] }}\n\
             [plugins.kv-probe.cache]\nttl_secs = 600\n\
             [[http.auth.tokens]]\nname = \"ci\"\nsha256 = \"{digest}\"\nroles = [\"all\"]\n\
             [roles.all]\ntools = [\"*\"]\nresources = [\"*\"]\n",
            url = redis.url(),
            digest = berth::auth::token_digest(TOKEN),
        ),
    );
    let one = HttpServer::start(&plugins, Some(&config), &[]);
    let two = HttpServer::start(&plugins, Some(&config), &[]);
    // Pub/sub reaches those listening: wait until the replica that must hear is.
    two.process
        .wait_for_log("hearing other replicas' resource changes");

    let mut watcher = two.client(Some(TOKEN));
    watcher.initialize().await;
    watcher
        .ok("resources/subscribe", json!({ "uri": "probe://ticks" }))
        .await;
    let mut stream = watcher.listen().await;
    let read = |result: serde_json::Value| result["contents"][0]["text"].clone();
    let first = watcher
        .ok("resources/read", json!({ "uri": "probe://ticks" }))
        .await;
    assert_eq!(read(first), "0");

    let mut changer = one.client(Some(TOKEN));
    changer.initialize().await;
    let bumped = changer.call("kv-probe_bump", json!({})).await;
    assert_eq!(bumped["content"][0]["text"], "1", "{bumped}");

    let updated =
        crate::http_client::next_notification(&mut stream, "notifications/resources/updated").await;
    assert_eq!(updated["params"]["uri"], "probe://ticks", "{updated}");
    let again = watcher
        .ok("resources/read", json!({ "uri": "probe://ticks" }))
        .await;
    assert_eq!(read(again), "1", "replica two's cached read was dropped");
}

/// What one client of the load test saw.
#[derive(Debug, Default)]
struct Seen {
    calls: u64,
    /// Calls that needed a second try (the replica answering them died).
    retried: u64,
    /// Sessions begun again after a 404.
    reinitialized: u64,
    /// Calls that failed twice, or were answered wrongly or twice.
    failed: Vec<String>,
}

/// One call's outcome: `Ok` with its answer, or what went wrong.
fn answer_of(reply: &crate::http_client::Reply, id: u64, text: &str) -> Result<(), String> {
    if reply.status != 200 {
        return Err(format!("HTTP {}", reply.status));
    }
    let answers: Vec<_> = reply
        .messages
        .iter()
        .filter(|m| m["id"] == id && (m.get("result").is_some() || m.get("error").is_some()))
        .collect();
    match answers.as_slice() {
        [one] if one["result"]["content"][0]["text"] == text => Ok(()),
        [one] => Err(format!("a wrong answer: {one}")),
        [] => Err(format!("no answer in: {}", reply.body)),
        _ => Err(format!("answered {} times", answers.len())),
    }
}

/// 16 clients (8 stateless, 8 with sessions) through haproxy on three replicas sharing a
/// Redis, for 30 s; one replica is killed with SIGKILL a third of the way in. Nothing is
/// lost: a call whose replica died is tried once more (as clients do on a broken
/// connection) and succeeds, sessions move to another replica, and no call is answered
/// twice or wrongly.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_clients_through_haproxy_survive_a_replica_killed_mid_run() {
    let redis = berth_test_services::Redis::start(berth_test_services::Persistence::None);
    let plugins = plugins_dir(&["berth-plugin-echo"]);
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(
        dir.path(),
        &format!(
            "[cluster]\nredis_url = \"{}\"\n\
             [http.rate_limit]\nrequests_per_minute = 0\n\
             [[http.auth.tokens]]\nname = \"ci\"\nsha256 = \"{}\"\nroles = [\"all\"]\n\
             [roles.all]\ntools = [\"*\"]\n",
            redis.url(),
            berth::auth::token_digest(TOKEN)
        ),
    );
    let replicas: Vec<HttpServer> = (0..3)
        .map(|_| HttpServer::start(plugins.path(), Some(&config), &[]))
        .collect();
    let backends: Vec<String> = replicas
        .iter()
        .map(|r| r.base.trim_start_matches("http://").to_string())
        .collect();
    let proxy = Haproxy::start(&backends, Routing::SessionAffinity);
    let url = format!("{}/mcp", proxy.base());
    let run_for = std::time::Duration::from_secs(30);
    let end = std::time::Instant::now() + run_for;

    let mut clients = Vec::new();
    for n in 0..16u64 {
        let url = url.clone();
        clients.push(tokio::spawn(async move {
            let stateless = n % 2 == 0;
            let mut seen = Seen::default();
            let mut client = crate::http_client::Client::new(&url, Some(TOKEN));
            if stateless {
                for (name, value) in [
                    ("mcp-protocol-version", "2026-07-28"),
                    ("mcp-method", "tools/call"),
                    ("mcp-name", "echo_echo"),
                ] {
                    client.extra.insert(name, value.parse().unwrap());
                }
            } else {
                client.initialize().await;
            }
            let mut id = 1000;
            while std::time::Instant::now() < end {
                id += 1;
                let text = format!("client {n} call {id}");
                let mut params = json!({ "name": "echo_echo", "arguments": { "text": text } });
                if stateless {
                    params["_meta"] = json!({
                        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                        "io.modelcontextprotocol/clientCapabilities": {},
                        "io.modelcontextprotocol/clientInfo": { "name": "load", "version": "1" }
                    });
                }
                let body =
                    json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params })
                        .to_string();
                let mut outcome = answer_of(&client.post_raw(body.clone()).await, id, &text);
                if let Err(first) = &outcome {
                    seen.retried += 1;
                    if first == "HTTP 404" && !stateless {
                        seen.reinitialized += 1;
                        client.session = None;
                        client.initialize().await;
                    }
                    outcome = answer_of(&client.post_raw(body).await, id, &text);
                }
                seen.calls += 1;
                if let Err(error) = outcome {
                    seen.failed.push(format!("client {n} call {id}: {error}"));
                }
            }
            seen
        }));
    }
    tokio::time::sleep(run_for / 3).await;
    // SAFETY: kill(2) with a child pid we own and a valid signal number.
    unsafe { libc::kill(replicas[0].process.pid() as libc::pid_t, libc::SIGKILL) };

    let mut all = Seen::default();
    for client in clients {
        let seen = client.await.unwrap();
        all.calls += seen.calls;
        all.retried += seen.retried;
        all.reinitialized += seen.reinitialized;
        all.failed.extend(seen.failed);
    }
    println!(
        "{} calls, {} tried twice, {} sessions begun again",
        all.calls, all.retried, all.reinitialized
    );
    assert!(
        all.failed.is_empty(),
        "{} failed: {:?}",
        all.failed.len(),
        all.failed
    );
    assert!(all.calls > 16 * 20, "only {} calls in 30 s", all.calls);
    assert_eq!(
        all.reinitialized, 0,
        "with [cluster], a session moves to another replica without a new initialize"
    );
}
