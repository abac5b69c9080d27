//! The result cache: read-only, idempotent tools' answers and resource reads come from
//! the cache when the operator turns it on; errors never do; a resource's change, a
//! config change and a reload drop what depended on them; callers with other roles never
//! share an answer; a Redis tier is shared by servers and its outage is only a miss.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::http_client::HttpServer;
use crate::support::{Server, component, config_file, install, save_config, text};

/// A folder with `kv-probe` installed.
fn probe_dir(dir: &Path) -> std::path::PathBuf {
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    install(&plugins, "kv-probe.wasm", &component("berth-test-kv-probe"));
    plugins
}

/// kv-probe with its `ticks` bucket and caching on, plus `extra`.
fn probe_config(extra: &str) -> String {
    format!(
        "[state]\npath = \"state.redb\"\n\
         [plugins.kv-probe.grants]\nkeyvalue = {{ buckets = [\"ticks\"] }}\n\
         [plugins.kv-probe.cache]\nttl_secs = 600\n{extra}"
    )
}

fn tick(server: &mut Server, label: &str) -> String {
    let result = server.call("kv-probe_tick", json!({ "label": label }));
    assert_ne!(result["isError"], true, "{result}");
    text(&result).to_string()
}

fn read(server: &mut Server, uri: &str) -> String {
    let read = server.ok("resources/read", json!({ "uri": uri }));
    read["contents"][0]["text"].as_str().unwrap().to_string()
}

#[test]
fn cacheable_answers_come_from_the_cache_until_what_they_depend_on_changes() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = probe_dir(dir.path());
    let config = config_file(dir.path(), &probe_config(""));
    let mut server = Server::initialized(&plugins, Some(&config));

    assert_eq!(tick(&mut server, "a"), "1");
    assert_eq!(
        tick(&mut server, "a"),
        "1",
        "the second call is answered from the cache"
    );
    assert_eq!(
        tick(&mut server, "b"),
        "2",
        "other arguments are another answer"
    );
    // Errors are never kept: both calls run (and count).
    for _ in 0..2 {
        let failed = server.call("kv-probe_tick_error", json!({}));
        assert_eq!(failed["isError"], true, "{failed}");
    }
    assert_eq!(tick(&mut server, "c"), "5");

    // A resource read is kept until the plugin says the resource changed.
    assert_eq!(read(&mut server, "probe://ticks"), "5");
    assert_eq!(tick(&mut server, "d"), "6");
    assert_eq!(
        read(&mut server, "probe://ticks"),
        "5",
        "cached: nothing said it changed"
    );
    let bumped = server.call("kv-probe_bump", json!({}));
    assert_eq!(text(&bumped), "7", "{bumped}");
    assert_eq!(
        read(&mut server, "probe://ticks"),
        "7",
        "dropped on resources::changed"
    );

    // A config change of the plugin makes new answers.
    save_config(
        &config,
        &probe_config("[plugins.kv-probe.config]\nmood = \"new\"\n"),
    );
    server.wait_for_log("config applied");
    assert_eq!(tick(&mut server, "a"), "8");
    assert_eq!(tick(&mut server, "a"), "8");

    // So does a new build of it (same code, new file: the reload drops its memory tier).
    install(&plugins, "kv-probe.wasm", &component("berth-test-kv-probe"));
    let reinstalled = std::fs::read(plugins.join("kv-probe.wasm")).unwrap();
    let mut touched = reinstalled.clone();
    // A custom section appended to a component is still the same component, but
    // another file, with another digest.
    touched.extend_from_slice(&[0, 6, 5, b'b', b'e', b'r', b't', b'h']);
    std::fs::write(plugins.join("kv-probe.wasm.tmp"), &touched).unwrap();
    std::fs::rename(
        plugins.join("kv-probe.wasm.tmp"),
        plugins.join("kv-probe.wasm"),
    )
    .unwrap();
    server.wait_for_log("plugin reloaded");
    assert_eq!(tick(&mut server, "a"), "9");

    // Without [plugins.NAME.cache] every call runs.
    save_config(
        &config,
        "[state]\npath = \"state.redb\"\n\
         [plugins.kv-probe.grants]\nkeyvalue = { buckets = [\"ticks\"] }\n",
    );
    server.wait_for_log_count("config applied", 2);
    assert_eq!(tick(&mut server, "a"), "10");
    assert_eq!(tick(&mut server, "a"), "11");
    assert!(server.close().success());
}

/// Over HTTP, an answer cached for one set of roles is not given to another; `/metrics`
/// counts hits and misses.
#[tokio::test]
async fn callers_with_other_roles_never_share_an_answer() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = probe_dir(dir.path());
    let digest = berth::auth::token_digest;
    let config = config_file(
        dir.path(),
        &probe_config(&format!(
            "[[http.auth.tokens]]\nname = \"one\"\nsha256 = \"{}\"\nroles = [\"alpha\"]\n\
             [[http.auth.tokens]]\nname = \"two\"\nsha256 = \"{}\"\nroles = [\"beta\"]\n\
             [[http.auth.tokens]]\nname = \"three\"\nsha256 = \"{}\"\nroles = [\"alpha\"]\n\
             [roles.alpha]\ntools = [\"kv-probe/*\"]\n\
             [roles.beta]\ntools = [\"kv-probe/*\"]\n",
            digest("berth_cache_one"),
            digest("berth_cache_two"),
            digest("berth_cache_three"),
        )),
    );
    let server = HttpServer::start(&plugins, Some(&config), &[]);
    let mut answers = Vec::new();
    for token in ["berth_cache_one", "berth_cache_two", "berth_cache_three"] {
        let mut client = server.client(Some(token));
        client.initialize().await;
        let result = client.call("kv-probe_tick", json!({ "label": "x" })).await;
        answers.push(text(&result).to_string());
    }
    assert_eq!(answers, ["1", "2", "1"], "alpha's answer is alpha's only");
    let (_, metrics) = server.get("/metrics", Some("berth_cache_one")).await;
    let metrics = metrics.as_str().unwrap_or_default().to_string();
    assert!(
        metrics.contains("berth_cache_hits_total{tier=\"memory\"} 1")
            && metrics.contains("berth_cache_misses_total 2"),
        "{metrics}"
    );
}

/// Two servers share answers through a Redis tier; with Redis stopped, calls are answered
/// by the plugin (and the memory tier) without failing or waiting.
#[test]
fn a_redis_tier_is_shared_and_its_outage_is_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let redis = berth_test_services::Redis::start(berth_test_services::Persistence::None);
    let plugins = probe_dir(dir.path());
    // The count lives in Redis too, so both servers count together.
    let shared = format!(
        "[state]\nbackend = \"redis\"\nurl = \"{url}\"\n\
         [cache]\nurl = \"{url}\"\ntimeout_ms = 300\n\
         [plugins.kv-probe.grants]\nkeyvalue = {{ buckets = [\"ticks\"] }}\n\
         [plugins.kv-probe.cache]\nttl_secs = 600\n",
        url = redis.url()
    );
    let config = config_file(dir.path(), &shared);
    let mut one = Server::initialized(&plugins, Some(&config));
    let mut two = Server::initialized(&plugins, Some(&config));
    assert_eq!(tick(&mut one, "a"), "1");
    assert_eq!(tick(&mut two, "a"), "1", "answered from the shared tier");
    assert_eq!(read(&mut two, "probe://ticks"), "1");
    let bumped = one.call("kv-probe_bump", json!({}));
    assert_eq!(text(&bumped), "2", "{bumped}");
    // The change reaches the shared tier; `two` read it through Redis, and its own
    // memory copy is dropped only when it hears of the change itself or the entry
    // expires, so ask a third server.
    let mut three = Server::initialized(&plugins, Some(&config));
    let deadline = Instant::now() + Duration::from_secs(10);
    while read(&mut three, "probe://ticks") != "2" {
        assert!(
            Instant::now() < deadline,
            "the shared tier kept the old read"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(three);

    // Redis down: the cache is only a miss; state calls fail with their own error.
    redis.stop();
    let started = Instant::now();
    assert_eq!(tick(&mut one, "a"), "1", "the memory tier still answers");
    let missed = one.call("kv-probe_tick", json!({ "label": "new" }));
    assert_eq!(missed["isError"], true, "{missed}");
    assert!(
        text(&missed).contains("plugin state is unavailable"),
        "{missed}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let log = one.stderr();
    assert!(!log.contains("panicked"), "{log}");
}
