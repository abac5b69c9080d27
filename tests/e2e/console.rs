//! The operator console (`/console`): in a real browser (Debian's headless Chromium,
//! driven by Playwright from the e2e virtualenv) beside a connected MCP client, and over
//! plain HTTP for what a browser would never send (forged origins, stale forms, no
//! session).

use std::path::Path;
use std::process::Command;

use crate::http_client::HttpServer;
use crate::support::{config_file, plugins_dir};

const ADMIN: &str = "berth_console_admin_token_for_tests";
const READER: &str = "berth_console_reader_token_for_tests";
const CALLER: &str = "berth_console_plain_caller_token";
/// Form bodies here hold only URL-safe values, so they need no encoding.
const FORM: &str = "application/x-www-form-urlencoded";

/// Admin and read-only console roles, and a caller with tools but no console.
fn config(dir: &Path) -> std::path::PathBuf {
    config_with(dir, "")
}

/// [`config`] plus `extra` TOML.
fn config_with(dir: &Path, extra: &str) -> std::path::PathBuf {
    let token = |name: &str, token: &str, role: &str| {
        format!(
            "[[http.auth.tokens]]\nname = \"{name}\"\nsha256 = \"{}\"\nroles = [\"{role}\"]\n\n",
            berth::auth::token_digest(token)
        )
    };
    config_file(
        dir,
        &format!(
            "{}{}{}[roles.ops]\ntools = [\"*\"]\nconsole = \"admin\"\n\n\
             [roles.viewer]\nconsole = \"read\"\n\n[roles.user]\ntools = [\"*\"]\n{extra}",
            token("alice", ADMIN, "ops"),
            token("victor", READER, "viewer"),
            token("carol", CALLER, "user"),
        ),
    )
}

/// Playwright for Python, in the e2e virtualenv (the browser itself is Debian's).
const PLAYWRIGHT: &str = "playwright==1.65.3";

#[test]
fn an_operator_sees_the_fleet_and_disables_a_plugin_in_a_real_browser() {
    assert!(
        Path::new("/usr/bin/chromium").is_file(),
        "the console test needs Debian's chromium (scripts/test installs it as root)"
    );
    let python = crate::interop::venv_python_with(PLAYWRIGHT);
    let plugins = plugins_dir(&["berth-plugin-text", "berth-plugin-json"]);
    // Two builds of plugin `flip` (1.0.0 served first), for the roll-back.
    crate::support::install(
        plugins.path(),
        "flip.wasm",
        &crate::support::component("berth-test-flip-one"),
    );
    let config = config(plugins.path());
    let server = HttpServer::start(plugins.path(), Some(&config), &[]);
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshot = artifacts.join("console.png");
    let _ = std::fs::remove_file(&screenshot);
    let out = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/console.py"))
        .arg(&server.base)
        .arg(plugins.path())
        .arg(ADMIN)
        .arg(READER)
        .arg(&screenshot)
        .arg(berth_test_artifacts::wasm("berth-test-flip-two"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("console ok"),
        "the browser run failed\nstdout:\n{stdout}\nstderr:\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.process.stderr()
    );
    assert!(
        std::fs::metadata(&screenshot).unwrap().len() > 10_000,
        "no screenshot"
    );
    // Every admin action and refusal is an audit record naming who.
    let log = server.process.stderr();
    for needle in [
        "action=\"plugin.disable\" target=\"text\" outcome=\"ok\"",
        "action=\"plugin.enable\" target=\"text\" outcome=\"ok\"",
        "who=\"alice\" action=\"plugin.reload\" target=\"json\" outcome=\"ok\"",
        "who=\"alice\" action=\"plugin.rollback\" target=\"flip\" outcome=\"ok: back to 1.0.0",
        "who=\"victor\" action=\"plugin.disable\" target=\"text\" outcome=\"refused: read-only console role\"",
        "outcome=\"bad credentials\"",
    ] {
        assert!(
            log.contains(needle),
            "no audit record `{needle}` in:\n{log}"
        );
    }
}

/// Posts the form `body` to `url` from `origin` (none when empty) with the session
/// `cookie` (none when empty), as a browser's form submission.
async fn post_form(
    client: &reqwest::Client,
    url: &str,
    origin: &str,
    cookie: &str,
    body: String,
) -> reqwest::Response {
    let mut request = client.post(url).header("content-type", FORM).body(body);
    if !origin.is_empty() {
        request = request.header("origin", origin);
    }
    if !cookie.is_empty() {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

/// Signs in with `token` over plain HTTP and returns the session cookie and the page.
async fn sign_in(server: &HttpServer, client: &reqwest::Client, token: &str) -> (String, String) {
    let login = format!("{}/console/login", server.base);
    let signed = post_form(client, &login, &server.base, "", format!("token={token}")).await;
    assert_eq!(signed.status(), 303, "{:?}", signed.text().await);
    let cookie = signed.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    assert!(
        signed.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("HttpOnly; SameSite=Strict")
    );
    let page = client
        .get(format!("{}/console", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (cookie, page)
}

#[tokio::test]
async fn the_console_refuses_strangers_forged_forms_and_tokens_without_a_console_role() {
    let plugins = plugins_dir(&["berth-plugin-text"]);
    // A granted environment value: its name may show, its value never.
    let config = config_with(
        plugins.path(),
        "\n[plugins.text.grants]\nenv_values = { BERTH_TEST_SECRET = \"s3cr3t-value-never-shown\" }\n",
    );
    let server = HttpServer::start(plugins.path(), Some(&config), &[]);
    let client = crate::support::reqwest_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = |path: &str| format!("{}{path}", server.base);

    // No session: sent to sign in; parts and actions refused.
    let page = client.get(url("/console")).send().await.unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/console/login");
    for path in ["/console/fragments/plugins", "/console/events"] {
        assert_eq!(
            client.get(url(path)).send().await.unwrap().status(),
            401,
            "{path}"
        );
    }
    let disable = url("/console/plugins/text/disable");
    let act = post_form(&client, &disable, &server.base, "", "csrf=x".into()).await;
    assert_eq!(act.status(), 403);

    // A sign-in form posted from another site is refused before the token is looked at.
    let login = url("/console/login");
    let attacker = "https://attacker.example";
    let forged = post_form(&client, &login, attacker, "", format!("token={ADMIN}")).await;
    assert_eq!(forged.status(), 403);

    // A valid token whose roles have no console role is refused, saying why.
    let plain = post_form(&client, &login, &server.base, "", format!("token={CALLER}")).await;
    assert_eq!(plain.status(), 401);
    assert!(plain.text().await.unwrap().contains("console = "));

    // Signed in as admin: an action needs this origin and the session's CSRF token.
    let (cookie, page) = sign_in(&server, &client, ADMIN).await;
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let attempt = |origin: &'static str, csrf: String| {
        post_form(&client, &disable, origin, &cookie, format!("csrf={csrf}"))
    };
    assert_eq!(attempt(attacker, csrf.clone()).await.status(), 403);
    assert_eq!(attempt("", csrf.clone()).await.status(), 403);
    let stale = post_form(
        &client,
        &disable,
        &server.base,
        &cookie,
        "csrf=stale".into(),
    )
    .await;
    assert_eq!(stale.status(), 403);
    // A name nothing serves is no plugin to act on: no lasting override is made for it.
    let nosuch = url("/console/plugins/nosuch/disable");
    let unknown = post_form(
        &client,
        &nosuch,
        &server.base,
        &cookie,
        format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(unknown.status(), 404);
    // The page carries security headers and no secret: no token, no token digest.
    let response = client
        .get(url("/console"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let page = response.text().await.unwrap();
    for secret in [ADMIN, READER, CALLER] {
        assert!(!page.contains(secret));
        assert!(!page.contains(&berth::auth::token_digest(secret)));
    }
    assert!(page.contains("data-plugin=\"text\""), "{page}");
    // Which compiler's code each plugin runs (tiering: Winch's, then Cranelift's).
    assert!(
        page.contains("<td class=\"code\">winch</td>")
            || page.contains("<td class=\"code\">cranelift</td>"),
        "{page}"
    );
    assert!(page.contains("env BERTH_TEST_SECRET"), "{page}");
    assert!(!page.contains("s3cr3t-value-never-shown"));
}

#[tokio::test]
async fn callers_refused_by_their_rate_limit_appear_in_the_feed() {
    use futures::StreamExt as _;

    let plugins = plugins_dir(&["berth-plugin-text"]);
    let config = config_with(
        plugins.path(),
        "\n[http.rate_limit]\nrequests_per_minute = 6\nburst = 2\n",
    );
    let server = HttpServer::start(plugins.path(), Some(&config), &[]);
    let client = crate::support::reqwest_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (cookie, _) = sign_in(&server, &client, ADMIN).await;
    let feed = client
        .get(format!("{}/console/events", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    let mut feed = feed.bytes_stream();
    // Past its burst, carol's requests get 429, and the console hears of it once.
    let mut refused = 0;
    let started = std::time::Instant::now();
    for _ in 0..6 {
        let mut caller = server.client(Some(CALLER));
        if caller.try_initialize().await.0.status == 429 {
            refused += 1;
        }
    }
    assert!(refused >= 3, "only {refused} requests were refused");
    let spent = started.elapsed();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut seen = String::new();
    while !(seen.contains("\"rate_limited\"") && seen.contains("carol")) {
        let chunk = tokio::time::timeout_at(deadline, feed.next())
            .await
            .unwrap_or_else(|_| panic!("no rate-limit event in the feed: {seen}"))
            .expect("the feed stays open")
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    // Then whatever else it sends about them, until it has been quiet a while: stopping
    // at the first sighting could never count a second one.
    while let Ok(Some(Ok(chunk))) =
        tokio::time::timeout(std::time::Duration::from_millis(500), feed.next()).await
    {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let announced = seen.matches("\"rate_limited\"").count() as u64;
    assert!(
        announced <= spent.as_secs() + 1,
        "at most one announcement per second per caller, {announced} in {spent:?}: {seen}"
    );
}

/// An open event feed ends when the server is told to stop, instead of holding its
/// shutdown up for good (the HTTP server waits for every response still being sent).
#[tokio::test]
async fn an_open_event_feed_does_not_hold_up_shutdown() {
    let plugins = plugins_dir(&["berth-plugin-text"]);
    let config = config(plugins.path());
    let mut server = HttpServer::start(plugins.path(), Some(&config), &[]);
    let client = crate::support::reqwest_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (cookie, _) = sign_in(&server, &client, ADMIN).await;
    let feed = client
        .get(format!("{}/console/events", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    server.process.terminate();
    // Well inside the default 10 s grace period, which an idle server does not need.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let status = loop {
        if let Some(status) = server.process.try_exit() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not stop with a console feed open:\n{}",
            server.process.stderr()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
    drop(feed);
}

/// A console role taken away by a config edit applies to sessions already signed in: the
/// next action is refused as read-only, and with no console role left the session ends.
#[tokio::test]
async fn a_config_edit_narrows_console_sessions_already_signed_in() {
    let plugins = plugins_dir(&["berth-plugin-text"]);
    let config = config(plugins.path());
    let server = HttpServer::start(plugins.path(), Some(&config), &[]);
    let client = crate::support::reqwest_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (cookie, page) = sign_in(&server, &client, ADMIN).await;
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let text = std::fs::read_to_string(&config).unwrap();
    let narrowed = text.replace("console = \"admin\"", "console = \"read\"");
    assert_ne!(text, narrowed);
    std::fs::write(&config, narrowed).unwrap();
    server.process.wait_for_log("config applied");
    let disable = format!("{}/console/plugins/text/disable", server.base);
    let csrf_field = format!("csrf={csrf}");
    let refused = post_form(&client, &disable, &server.base, &cookie, csrf_field.clone()).await;
    assert_eq!(refused.status(), 403, "{:?}", refused.text().await);
    // No console role at all: the session is over.
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("console = \"read\"\n\n[roles.viewer]", "\n[roles.viewer]"),
    )
    .unwrap();
    server.process.wait_for_log_count("config applied", 2);
    let page = client
        .get(format!("{}/console", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303, "sent to sign in again");
}
