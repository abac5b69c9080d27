//! `tools/call` over Streamable HTTP through the real `berth` binary: N concurrent
//! clients, each in its own session, calling `echo_echo` back to back for a fixed time;
//! prints requests per second and p50/p99 latency at 1, 16 and 64 clients, with a
//! static token and with a JWT. Then the cost of checking one credential in process:
//! the same token again (what a client sends with every request, a verified JWT coming
//! from the authenticator's cache) and tokens seen for the first time (a full check).
//! Run with `cargo bench -p berth-host --bench http`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use berth::auth::{AuthConfig, Authenticator};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;

const WARMUP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(5);
const STATIC_TOKEN: &str = "berth_bench_token";
const SECRET: &str = "a shared secret of at least thirty-two bytes";
const ISSUER: &str = "https://issuer.bench/";
const AUDIENCE: &str = "https://berth.bench/mcp";

fn config() -> String {
    format!(
        r#"[http]
max_concurrent_requests = 1024
[http.rate_limit]
requests_per_minute = 0
[[http.auth.tokens]]
name = "bench"
sha256 = "{}"
roles = ["all"]
[http.auth.jwt]
issuer = "{ISSUER}"
audience = ["{AUDIENCE}"]
algorithms = ["HS256"]
secret = "{SECRET}"
[roles.all]
tools = ["*"]
"#,
        berth::auth::token_digest(STATIC_TOKEN)
    )
}

fn jwt() -> String {
    sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(SECRET.as_bytes()),
        0,
    )
}

/// A JWT for the bench's issuer and audience, valid for an hour, told apart from the
/// others by its `jti`.
fn sign(alg: Algorithm, key: &EncodingKey, jti: u32) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let claims = json!({
        "sub": "bench", "iss": ISSUER, "aud": AUDIENCE, "exp": exp, "roles": ["all"],
        "jti": jti.to_string(),
    });
    encode(&Header::new(alg), &claims, key).unwrap()
}

/// Starts Berth on a free port, with `resumable` streams or not; returns the process and
/// the MCP URL.
fn start(dir: &std::path::Path, resumable: bool) -> (Child, String) {
    let config = dir.join("berth.toml");
    std::fs::write(&config, self::config()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["serve", "--http", "127.0.0.1:0", "--admin-socket", "off"])
        .arg("--plugins")
        .arg(dir.join("plugins"))
        .arg("--config")
        .arg(&config)
        .env("BERTH_LOG", "warn,berth::transport::http=info")
        .env("BERTH_HTTP__RESUMABLE_STREAMS", resumable.to_string())
        // Calls on optimised code from the first one, with no background compiler beside
        // them (a tiered start would serve on Winch code while Cranelift compiles).
        .env("BERTH_RUNTIME__COMPILER", "cranelift")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("berth starts");
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut lines = stderr.lines();
    let addr = loop {
        let line = lines.next().expect("berth logs its address").unwrap();
        if let Some(addr) = line
            .split_whitespace()
            .find_map(|p| p.strip_prefix("addr="))
            .filter(|_| line.contains("serving MCP over HTTP"))
        {
            break addr.to_string();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, format!("http://{addr}/mcp"))
}

/// One client session: initialize, then call until `until`; returns the latencies of
/// the calls that started after `measure_from`.
async fn client(
    url: String,
    token: String,
    measure_from: Instant,
    until: Instant,
) -> Vec<Duration> {
    let http = {
        berth_distribution::init_tls();
        reqwest::Client::new()
    };
    let post = |body: String, session: Option<&str>| {
        let mut request = http
            .post(&url)
            .bearer_auth(&token)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(body);
        if let Some(session) = session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-11-25");
        }
        request.send()
    };
    let init = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": { "name": "bench", "version": "1" } } });
    let response = post(init.to_string(), None).await.expect("initialize");
    assert_eq!(response.status(), 200, "initialize refused");
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    response.text().await.unwrap();
    let ack = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    post(ack.to_string(), Some(&session)).await.unwrap();
    let mut samples = Vec::new();
    let mut id = 1u64;
    loop {
        let started = Instant::now();
        if started >= until {
            break;
        }
        let call = json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": "echo_echo", "arguments": { "text": "hello, berth" } } });
        id += 1;
        let response = post(call.to_string(), Some(&session)).await.expect("call");
        assert_eq!(response.status(), 200);
        let body = response.text().await.unwrap();
        assert!(body.contains("hello, berth"), "{body}");
        if started >= measure_from {
            samples.push(started.elapsed());
        }
    }
    samples
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("plugins")).unwrap();
    std::fs::copy(
        berth_test_artifacts::wasm("berth-plugin-echo"),
        dir.path().join("plugins/echo.wasm"),
    )
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    println!("tools/call echo_echo over Streamable HTTP (each client its own session)");
    println!(
        "{:<8} {:>8} {:>10} {:>10} {:>10}  streams",
        "auth", "clients", "calls/s", "p50", "p99"
    );
    // Resumable streams (the default: every event kept) and live-only streams, side by
    // side, so what keeping events costs is measured in one run.
    let rounds = [
        (true, "token", STATIC_TOKEN.to_string()),
        (false, "token", STATIC_TOKEN.to_string()),
        (true, "jwt", jwt()),
    ];
    for (resumable, auth, token) in rounds {
        let (mut server, url) = start(dir.path(), resumable);
        for clients in [1usize, 16, 64] {
            let measure_from = Instant::now() + WARMUP;
            let until = measure_from + MEASURE;
            let mut samples: Vec<Duration> = runtime.block_on(async {
                let tasks: Vec<_> = (0..clients)
                    .map(|_| tokio::spawn(client(url.clone(), token.clone(), measure_from, until)))
                    .collect();
                let mut all = Vec::new();
                for task in tasks {
                    all.extend(task.await.unwrap());
                }
                all
            });
            samples.sort();
            println!(
                "{auth:<8} {clients:>8} {:>10.0} {:>10.2?} {:>10.2?}  {}",
                samples.len() as f64 / MEASURE.as_secs_f64(),
                percentile(&samples, 0.50),
                percentile(&samples, 0.99),
                if resumable { "resumable" } else { "live only" },
            );
        }
        let _ = server.kill();
        let _ = server.wait();
    }

    // The cost of checking one credential, in process.
    let config: berth::config::Config =
        berth::config::Config::parse(&config(), std::path::Path::new("bench")).unwrap();
    let auth: &AuthConfig = &config.http.auth;
    let authenticator = Authenticator::new(auth).unwrap();
    let (rsa, rsa_key) = rs256_authenticator();
    let hs_key = EncodingKey::from_secret(SECRET.as_bytes());
    // Distinct tokens, each checked once: signing RS256 is slow, so fewer of those.
    let fresh = |alg, key: &EncodingKey, n: u32| -> Vec<String> {
        (1..=n).map(|jti| bearer(&sign(alg, key, jti))).collect()
    };
    let rows = [
        (
            "static token",
            &authenticator,
            bearer(STATIC_TOKEN),
            Vec::new(),
        ),
        (
            "JWT HS256",
            &authenticator,
            bearer(&jwt()),
            fresh(Algorithm::HS256, &hs_key, 5_000),
        ),
        (
            "JWT RS256",
            &rsa,
            bearer(&sign(Algorithm::RS256, &rsa_key, 0)),
            fresh(Algorithm::RS256, &rsa_key, 500),
        ),
    ];
    println!("\ncredential check per request (Authenticator::authenticate)");
    println!(
        "{:<14} {:>12} {:>12}",
        "credential", "same token", "new token"
    );
    for (name, authenticator, same, new) in rows {
        let same = std::slice::from_ref(&same);
        time_checks(authenticator, same, 1_000);
        let same = time_checks(authenticator, same, 20_000);
        let new = match new.is_empty() {
            true => "-".to_string(),
            false => format!("{:.2?}", time_checks(authenticator, &new, 1)),
        };
        println!("{name:<14} {:>12} {new:>12}", format!("{same:.2?}"));
    }
}

/// The mean time of one `authenticate`, over `rounds` passes through `headers`.
fn time_checks(authenticator: &Authenticator, headers: &[String], rounds: u32) -> Duration {
    let started = Instant::now();
    for _ in 0..rounds {
        for header in headers {
            let identity = authenticator.authenticate(Some(std::hint::black_box(header)));
            std::hint::black_box(identity.unwrap());
        }
    }
    started.elapsed() / (rounds * headers.len() as u32)
}

/// The `Authorization` header value carrying `token`.
fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// An authenticator that takes RS256 JWTs from the test fixtures' key, and the private
/// key that signs them.
fn rs256_authenticator() -> (Authenticator, EncodingKey) {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/auth");
    let text = format!(
        r#"[http.auth.jwt]
issuer = "{ISSUER}"
audience = ["{AUDIENCE}"]
algorithms = ["RS256"]
public_key_file = "{}"
"#,
        fixtures.join("rsa-public.pem").display()
    );
    let config = berth::config::Config::parse(&text, std::path::Path::new("bench")).unwrap();
    let authenticator = Authenticator::new(&config.http.auth).unwrap();
    let key = std::fs::read(fixtures.join("rsa-private.pem")).unwrap();
    (authenticator, EncodingKey::from_rsa_pem(&key).unwrap())
}
