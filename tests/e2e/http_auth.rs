//! Who may call what over HTTP, end to end: static tokens and JWTs (HS256, RS256 from
//! a JWKS), the 401 challenge and the RFC 9728 metadata it points to, roles filtering
//! lists and refusing calls, sessions bound to their identity, per-identity rate limits,
//! and credentials changing live with the config file.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::http_client::HttpServer;
use crate::support::{config_file, plugins_dir, save_config, text};

pub(crate) const READER_TOKEN: &str = "berth_reader_e2e";
pub(crate) const ADMIN_TOKEN: &str = "berth_admin_e2e";
const NOBODY_TOKEN: &str = "berth_nobody_e2e";
const HS_SECRET: &str = "an HS256 secret only these tests know";
const AUDIENCE: &str = "https://berth.test/mcp";
const ISSUER: &str = "https://issuer.test/";

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/auth")
        .join(name)
}

fn config(extra: &str) -> String {
    let digest = berth::auth::token_digest;
    format!(
        r#"[http.auth]
resource = "{AUDIENCE}"
authorization_servers = ["{ISSUER}"]
scopes_supported = ["reader"]

[[http.auth.tokens]]
name = "reader-bot"
sha256 = "{reader}"
roles = ["reader"]

[[http.auth.tokens]]
name = "admin-bot"
sha256 = "{admin}"
roles = ["admin"]

[[http.auth.tokens]]
name = "nobody-bot"
sha256 = "{nobody}"

[http.auth.jwt]
issuer = "{ISSUER}"
audience = ["{AUDIENCE}"]
algorithms = ["HS256", "RS256"]
secret = "{HS_SECRET}"
jwks_file = "{jwks}"

[roles.reader]
tools = ["echo/echo", "echo/greet"]
resources = ["echo/echo://hello"]

[roles.admin]
tools = ["*"]
resources = ["*"]
{extra}"#,
        reader = digest(READER_TOKEN),
        admin = digest(ADMIN_TOKEN),
        nobody = digest(NOBODY_TOKEN),
        jwks = fixture("jwks.json").display(),
    )
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub(crate) fn hs256(claims: Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(HS_SECRET.as_bytes()),
    )
    .unwrap()
}

fn rs256(claims: Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("berth-test-rsa".into());
    let key = std::fs::read(fixture("rsa-private.pem")).unwrap();
    encode(&header, &claims, &EncodingKey::from_rsa_pem(&key).unwrap()).unwrap()
}

pub(crate) fn claims(sub: &str, roles: &[&str]) -> Value {
    json!({ "sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600, "roles": roles })
}

pub(crate) fn start(extra: &str) -> (tempfile::TempDir, std::path::PathBuf, HttpServer) {
    let plugins = plugins_dir(&["berth-plugin-echo"]);
    let config = config_file(plugins.path(), &config(extra));
    let server = HttpServer::start(plugins.path(), Some(&config), &[]);
    (plugins, config, server)
}

/// Initializes with `token` and returns the HTTP status and the body of the refusal.
async fn initialize_status(server: &HttpServer, token: Option<&str>) -> (u16, String, Value) {
    let mut client = server.client(token);
    let (reply, _) = client.try_initialize().await;
    let challenge = reply.header("www-authenticate").unwrap_or("").to_string();
    (reply.status, challenge, reply.json())
}

#[tokio::test]
async fn the_auth_matrix() {
    let (_plugins, _config, server) = start("");
    let metadata_url = "https://berth.test/.well-known/oauth-protected-resource/mcp";

    // No credentials: 401 pointing at the metadata, no error code (RFC 6750 3.1).
    let (status, challenge, _) = initialize_status(&server, None).await;
    assert_eq!(status, 401);
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")),
        "{challenge}"
    );
    assert!(!challenge.contains("error="), "{challenge}");

    let refused: [(&str, String); 6] = [
        ("an unknown token", "berth_not_a_real_token".to_string()),
        (
            "an expired JWT",
            hs256(
                json!({ "sub": "late", "iss": ISSUER, "aud": AUDIENCE, "exp": now() - 3600, "roles": ["admin"] }),
            ),
        ),
        (
            "a JWT for another audience",
            hs256(
                json!({ "sub": "lost", "iss": ISSUER, "aud": "https://other.test/", "exp": now() + 600 }),
            ),
        ),
        (
            "a JWT from another issuer",
            hs256(
                json!({ "sub": "forged", "iss": "https://evil.test/", "aud": AUDIENCE, "exp": now() + 600 }),
            ),
        ),
        (
            "a JWT signed with another secret",
            encode(
                &Header::new(Algorithm::HS256),
                &claims("x", &["admin"]),
                &EncodingKey::from_secret(b"wrong"),
            )
            .unwrap(),
        ),
        (
            "a JWT not valid yet",
            hs256(
                json!({ "sub": "early", "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 7200, "nbf": now() + 3600 }),
            ),
        ),
    ];
    for (what, token) in &refused {
        let (status, challenge, body) = initialize_status(&server, Some(token)).await;
        assert_eq!(status, 401, "{what} must be refused: {body}");
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{what}: {challenge}"
        );
        assert!(
            challenge.contains("resource_metadata="),
            "{what}: {challenge}"
        );
        assert!(
            !body["message"].as_str().unwrap_or("").is_empty(),
            "{what}: {body}"
        );
    }
    let log = server.process.stderr();
    assert!(log.contains("authentication failed"), "{log}");

    // The metadata document the challenge points to.
    let (status, metadata) = server
        .get("/.well-known/oauth-protected-resource/mcp", None)
        .await;
    assert_eq!(status, 200, "{metadata}");
    assert_eq!(metadata["resource"], AUDIENCE);
    assert_eq!(metadata["authorization_servers"], json!([ISSUER]));
    assert_eq!(metadata["bearer_methods_supported"], json!(["header"]));

    // Valid credentials, with and without the role.
    let mut nobody = server.client(Some(NOBODY_TOKEN));
    nobody.initialize().await;
    assert!(
        nobody.tool_names().await.is_empty(),
        "a token without roles sees nothing"
    );
    let refused = nobody
        .request(
            "tools/call",
            json!({ "name": "echo_echo", "arguments": { "text": "hi" } }),
        )
        .await;
    // Answered as if the tool did not exist (issue 19): the caller cannot tell a hidden
    // tool from a missing one; the log says what happened and which roles would allow it.
    let missing = nobody
        .request(
            "tools/call",
            json!({ "name": "echo_no_such_tool", "arguments": {} }),
        )
        .await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    assert_eq!(
        refused["error"]["message"], "Unknown tool: echo_echo",
        "{refused}"
    );
    assert_eq!(
        missing["error"]["code"], refused["error"]["code"],
        "{missing}"
    );
    let log = server.process.wait_for_log("access denied");
    let line = log.lines().find(|l| l.contains("access denied")).unwrap();
    assert!(
        line.contains("subject=nobody-bot")
            && line.contains("roles_that_allow=")
            && line.contains("reader")
            && line.contains("admin"),
        "{line}"
    );

    let mut reader = server.client(Some(READER_TOKEN));
    reader.initialize().await;
    let mut names = reader.tool_names().await;
    names.sort();
    assert_eq!(names, ["echo_echo", "echo_greet"]);
    let result = reader.call("echo_echo", json!({ "text": "allowed" })).await;
    assert_eq!(text(&result), "allowed");
    let refused = reader
        .request(
            "tools/call",
            json!({ "name": "echo_add", "arguments": { "a": 1, "b": 2 } }),
        )
        .await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    let resources = reader.ok("resources/list", json!({})).await;
    let uris: Vec<&str> = resources["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    assert_eq!(uris, ["echo://hello"]);
    let templates = reader.ok("resources/templates/list", json!({})).await;
    assert_eq!(templates["resourceTemplates"], json!([]), "{templates}");
    let read = reader
        .ok("resources/read", json!({ "uri": "echo://hello" }))
        .await;
    assert_eq!(read["contents"][0]["text"], "hello from echo");
    let refused = reader
        .request("resources/read", json!({ "uri": "echo://items/1" }))
        .await;
    assert_eq!(refused["error"]["code"], -32002, "{refused}");
    assert_eq!(
        refused["error"]["message"], "Resource not found: echo://items/1",
        "{refused}"
    );

    // JWTs: roles from the claim, HS256 and RS256 (key chosen from the JWKS by kid).
    for token in [
        hs256(claims("alice", &["admin"])),
        rs256(claims("bob", &["admin"])),
    ] {
        let mut admin = server.client(Some(&token));
        admin.initialize().await;
        assert!(admin.tool_names().await.len() >= 10);
        let result = admin.call("echo_add", json!({ "a": 20, "b": 22 })).await;
        assert_eq!(text(&result).parse::<f64>().ok(), Some(42.0), "{result}");
    }
    let mut scoped = server.client(Some(&hs256(json!({
        "sub": "carol", "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600, "scope": "reader other"
    }))));
    scoped.initialize().await;
    assert_eq!(scoped.tool_names().await.len(), 2, "scopes count as roles");

    // A session belongs to whoever opened it.
    let mut thief = server.client(Some(ADMIN_TOKEN));
    thief.session = reader.session.clone();
    let (reply, _) = thief.send("tools/list", json!({})).await;
    assert_eq!(reply.status, 403, "{}", reply.body);

    // Metrics count the refusals and need a credential to read.
    let (status, _) = server.get("/metrics", None).await;
    assert_eq!(status, 401);
    let (status, metrics) = server.get("/metrics", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200);
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains("berth_auth_failures_total{reason=\"expired\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("berth_access_denied_total{kind=\"tool\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn each_identity_has_its_own_rate_limit() {
    let (_plugins, _config, server) =
        start("\n[http.rate_limit]\nrequests_per_minute = 6\nburst = 3\n");
    let mut reader = server.client(Some(READER_TOKEN));
    reader.initialize().await; // initialize + initialized: two of the three
    reader.ok("ping", json!({})).await;
    let (reply, _) = reader.send("ping", json!({})).await;
    assert_eq!(reply.status, 429, "{}", reply.body);
    let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry), "{retry}");
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("reader-bot")
    );
    // Another identity is unaffected.
    let mut admin = server.client(Some(ADMIN_TOKEN));
    admin.initialize().await;
    admin.ok("ping", json!({})).await;
    let (_, metrics) = server.get("/metrics", Some(ADMIN_TOKEN)).await;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("berth_rate_limited_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn revoking_a_token_in_the_config_applies_live() {
    let (_plugins, config, server) = start("");
    let mut reader = server.client(Some(READER_TOKEN));
    reader.initialize().await;
    // Drop the reader token and let the reader role see `add` too; the admin keeps going.
    let edited = self::config("")
        .replace(
            &berth::auth::token_digest(READER_TOKEN),
            &berth::auth::token_digest("berth_replacement"),
        )
        .replace(
            r#"tools = ["echo/echo", "echo/greet"]"#,
            r#"tools = ["echo/echo", "echo/greet", "echo/add"]"#,
        );
    save_config(&config, &edited);
    server
        .process
        .wait_for_log("HTTP authentication and rate limits updated");
    let (reply, _) = reader.send("tools/list", json!({})).await;
    assert_eq!(
        reply.status, 401,
        "a revoked token is refused at once: {}",
        reply.body
    );
    let mut replacement = server.client(Some("berth_replacement"));
    replacement.initialize().await;
    assert_eq!(
        replacement.tool_names().await.len(),
        3,
        "the role edit applies too"
    );
}

#[tokio::test]
async fn authentication_cannot_be_turned_off_live_on_a_reachable_address() {
    let plugins = plugins_dir(&["berth-plugin-echo"]);
    let config = config_file(plugins.path(), &config(""));
    let server = HttpServer::start_on("0.0.0.0:0", plugins.path(), Some(&config), &[]);
    save_config(&config, "[http.auth]\nenabled = false\n");
    server
        .process
        .wait_for_log("refused to turn HTTP authentication off on a non-loopback address");
    let (status, _, _) = initialize_status(&server, None).await;
    assert_eq!(status, 401, "authentication stays on");
    let mut admin = server.client(Some(ADMIN_TOKEN));
    admin.initialize().await;
}
