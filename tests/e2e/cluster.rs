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
