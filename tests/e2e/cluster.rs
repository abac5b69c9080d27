//! Replicas of one deployment sharing a real `redis-server` (`[cluster]`): one rate-limit
//! budget per identity across replicas, `/ready` reporting Redis, and a replica that
//! limits on its own while Redis is down.

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
