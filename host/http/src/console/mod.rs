//! The operator console at `/console` on the HTTP listener: the plugins served (version,
//! contract, digest, state, the compiler of its code, last error, needs), each tool's call
//! rate, error rate and latency over the last minutes with small charts, the open sessions,
//! and a live feed of what happens (loads, reloads, refusals, config applied or rejected,
//! access denied) over SSE from the bus (and rate-limit refusals). An admin may reload a
//! plugin's file and enable and disable plugins, through the lifecycle's paths (see
//! [`Lifecycle::reload_plugin`] and [`Lifecycle::set_enabled`]), and every action is an
//! audit record.
//!
//! Pages are rendered here as HTML (every dynamic value escaped) with one stylesheet and
//! one small ES module, both compiled into the binary: no build step, no CDN.
//!
//! Who may look: a browser signs in once with an API token (or a JWT) whose roles have
//! `console = "read"` or `"admin"`; the console then keeps a session of its own behind an
//! `HttpOnly`, `SameSite=Strict` cookie, for [`SESSION_TTL`]. Every form that changes
//! something must come from this origin (`Origin`, else `Referer`, naming the request's
//! `Host`) and carry the session's CSRF token. With `[http] auth` off (loopback
//! development only), the console needs no sign-in and allows everything, as MCP does.

// Handlers' helpers fail with the whole response to send (a redirect, a 403); boxing it
// would only move the allocation, as in `Gate::authenticate`.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use berth_core::access::{ConsoleAccess, console_access};
use berth_core::bus::Event;
use berth_core::lifecycle::{FileNote, Lifecycle};
use berth_core::shutdown::Shutdown;
use berth_protocol::Caller;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use crate::gate::Gate;
use berth_core::window;

/// How long a console sign-in lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// Console sessions kept at once; past it the one closest to expiring is dropped.
const MAX_LOGINS: usize = 1024;
/// The console session's cookie.
const COOKIE: &str = "berth_console";

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

/// A signed-in browser.
#[derive(Clone)]
struct Login {
    /// Who signed in: the token's name or the JWT's subject.
    who: String,
    /// What the console lets it do, as of this request.
    access: ConsoleAccess,
    /// The roles it signed in with, against which `access` is worked out again on every
    /// request, so a config edit that takes a console role away applies at once; `None`
    /// for the local session of a server without authentication.
    roles: Option<std::collections::BTreeSet<String>>,
    /// The token every form must carry.
    csrf: String,
    expires: Instant,
}

struct Inner {
    gate: Gate,
    lifecycle: Arc<Lifecycle>,
    logins: Mutex<HashMap<String, Login>>,
    /// The last [`RECENT`] feed entries as sent (JSON text), oldest first: a page that
    /// opens (or reloads after an action) shows what just happened.
    recent: Mutex<std::collections::VecDeque<Arc<str>>>,
    /// Each feed entry once, as the keeper made it, for every open event stream: the
    /// mapping from bus events is done once, not once per viewer.
    feed: tokio::sync::broadcast::Sender<Arc<str>>,
    /// Cancelled when the server starts to shut down: open event streams end then, or
    /// the HTTP server would wait for them forever.
    stop: tokio_util::sync::CancellationToken,
}

/// Feed entries a new page is sent before the live ones.
const RECENT: usize = 50;
/// Feed entries an open stream may fall behind by before it is told it missed some.
const FEED_CAPACITY: usize = 256;

/// The console's state, shared by its handlers.
#[derive(Clone)]
pub struct Console(Arc<Inner>);

impl Console {
    /// The console of the server behind `gate` and `lifecycle`; keeps the recent feed
    /// until `shutdown`.
    pub fn new(gate: Gate, lifecycle: Arc<Lifecycle>, shutdown: &Shutdown) -> Self {
        let stop = shutdown.child_token();
        let console = Self(Arc::new(Inner {
            gate,
            lifecycle,
            logins: Mutex::new(HashMap::new()),
            recent: Mutex::new(Default::default()),
            feed: tokio::sync::broadcast::channel(FEED_CAPACITY).0,
            stop: stop.clone(),
        }));
        let mut facts = console.0.lifecycle.bus().subscribe_facts();
        let keeper = console.clone();
        shutdown.spawn(async move {
            loop {
                let event = tokio::select! {
                    () = stop.cancelled() => break,
                    event = facts.recv() => event,
                };
                let entry = match event {
                    Ok(event) => feed_entry(&event),
                    Err(RecvError::Lagged(missed)) => Some(lagged(missed)),
                    Err(RecvError::Closed) => break,
                };
                if let Some(entry) = entry {
                    let text: Arc<str> = Arc::from(entry.to_string());
                    // Sent under the lock a new stream subscribes under: each entry is in
                    // its backlog or among its live ones, never both, never neither.
                    let mut recent = keeper.0.recent.lock().unwrap_or_else(|p| p.into_inner());
                    if recent.len() == RECENT {
                        recent.pop_front();
                    }
                    recent.push_back(Arc::clone(&text));
                    // No stream open: nobody to send to.
                    let _ = keeper.0.feed.send(text);
                }
            }
        });
        console
    }

    /// The console's routes, under `/console`.
    pub fn router(self) -> Router {
        Router::new()
            .route("/console", get(page))
            .route("/console/login", get(login_page).post(login))
            .route("/console/logout", post(logout))
            .route("/console/console.css", get(css))
            .route("/console/console.js", get(js))
            .route("/console/fragments/{name}", get(fragment))
            .route("/console/events", get(events))
            .route("/console/plugins/{name}/{action}", post(act))
            .with_state(self)
            .layer(axum::middleware::map_response(harden))
    }

    fn logins(&self) -> std::sync::MutexGuard<'_, HashMap<String, Login>> {
        self.0.logins.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The signed-in browser behind `headers`' cookie, if its sign-in is still valid.
    /// With authentication off, every browser is let in (and given a session, for its
    /// CSRF token).
    fn login(&self, headers: &HeaderMap) -> Option<(String, Login)> {
        let now = Instant::now();
        let mut logins = self.logins();
        logins.retain(|_, login| login.expires > now);
        let id = cookie(headers)?;
        let mut login = logins.get(&id)?.clone();
        if let Some(roles) = &login.roles {
            match console_access(&self.0.lifecycle.config().roles, roles) {
                Some(access) => login.access = access,
                None => {
                    logins.remove(&id);
                    return None;
                }
            }
        }
        Some((id, login))
    }

    /// Opens a console session for `who` (signed in with `roles`, see [`Login::roles`])
    /// and returns its cookie id.
    fn open(
        &self,
        who: String,
        access: ConsoleAccess,
        roles: Option<std::collections::BTreeSet<String>>,
    ) -> Result<String, Response> {
        let (Ok((id, _)), Ok((csrf, _))) = (crate::auth::new_token(), crate::auth::new_token())
        else {
            return Err(plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "no randomness for a session",
            ));
        };
        let login = Login {
            who,
            access,
            roles,
            csrf,
            expires: Instant::now() + SESSION_TTL,
        };
        let mut logins = self.logins();
        // Bounded: with authentication off every cookie-less page view opens a session.
        if logins.len() >= MAX_LOGINS {
            let now = Instant::now();
            logins.retain(|_, login| login.expires > now);
            if logins.len() >= MAX_LOGINS
                && let Some(oldest) = logins
                    .iter()
                    .min_by_key(|(_, login)| login.expires)
                    .map(|(id, _)| id.clone())
            {
                logins.remove(&oldest);
            }
        }
        logins.insert(id.clone(), login);
        Ok(id)
    }

    fn auth_off(&self) -> bool {
        !self.0.gate.auth_enabled()
    }
}

/// Headers on every console response: scripts, styles and connections from this origin
/// only (no inline script runs, whatever a plugin's name or an error message holds), no
/// framing, no caching of pages that show the server's state.
async fn harden(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
             form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The `berth_console` cookie's value.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

fn set_cookie(id: &str, max_age: Duration) -> HeaderValue {
    let value = format!(
        "{COOKIE}={id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}",
        max_age.as_secs()
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}

/// Whether a state-changing request comes from a page of this origin: its `Origin`
/// (else its `Referer`) names the `Host` it was sent to. Browsers always send `Origin`
/// with a cross-site POST, so a form on another site cannot pass.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let from = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    let Some(from) = from else { return false };
    let rest = from
        .strip_prefix("http://")
        .or_else(|| from.strip_prefix("https://"));
    rest.is_some_and(|rest| rest.split('/').next() == Some(host))
}

/// Escapes text for HTML element content and quoted attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An audit record: who did what to what, and how it went (target `berth::audit`).
fn audit(who: &str, action: &str, target: &str, outcome: &str) {
    tracing::info!(target: "berth::audit", who, action, target, outcome, "console action");
}

fn shell(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><link rel=\"stylesheet\" href=\"/console/console.css\"></head>\
         <body>{body}</body></html>",
        esc(title)
    ))
}

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
        .into_response()
}

async fn login_page(State(console): State<Console>) -> Response {
    if console.auth_off() {
        return Redirect::to("/console").into_response();
    }
    login_form(None)
}

fn login_form(problem: Option<&str>) -> Response {
    let problem = problem
        .map(|p| format!("<p class=\"error\" id=\"problem\">{}</p>", esc(p)))
        .unwrap_or_default();
    let body = format!(
        "<section class=\"login\"><h2>Berth console</h2>{problem}\
         <form method=\"post\" action=\"/console/login\"><label>API token or JWT\
         <input type=\"password\" name=\"token\" autocomplete=\"off\" autofocus required></label>\
         <button type=\"submit\">Sign in</button></form>\
         <p class=\"muted\">A role with <code>console = \"read\"</code> or \
         <code>\"admin\"</code> is needed.</p></section>"
    );
    let status = match problem.is_empty() {
        true => StatusCode::OK,
        false => StatusCode::UNAUTHORIZED,
    };
    (status, shell("Sign in · Berth", &body)).into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if !same_origin(&headers) {
        return plain(
            StatusCode::FORBIDDEN,
            "sign-in forms are accepted from this origin only",
        );
    }
    let mut bearer = HeaderMap::new();
    let Ok(value) = HeaderValue::from_str(&format!("Bearer {}", form.token.trim())) else {
        return login_form(Some("that is not a token"));
    };
    bearer.insert(header::AUTHORIZATION, value);
    let identity = match console.0.gate.authenticate(&bearer) {
        Ok(Caller::Authenticated(identity)) => identity,
        Ok(_) => return Redirect::to("/console").into_response(),
        Err(_) => {
            audit("unknown", "console.sign_in", "console", "bad credentials");
            return login_form(Some("the token was not accepted"));
        }
    };
    let roles = &console.0.lifecycle.config().roles;
    let Some(access) = console_access(roles, &identity.roles) else {
        audit(
            &identity.subject,
            "console.sign_in",
            "console",
            "no console role",
        );
        return login_form(Some(
            "this token's roles do not include the console: give one of them console = \"read\" or \"admin\"",
        ));
    };
    let id = match console.open(
        identity.subject.clone(),
        access,
        Some(identity.roles.clone()),
    ) {
        Ok(id) => id,
        Err(response) => return response,
    };
    audit(&identity.subject, "console.sign_in", "console", "ok");
    let mut response = Redirect::to("/console").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&id, SESSION_TTL));
    response
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// The signed-in browser of a state-changing request, if it is allowed to make one.
fn checked(
    console: &Console,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<(String, Login), Response> {
    if !same_origin(headers) {
        return Err(plain(
            StatusCode::FORBIDDEN,
            "forms are accepted from this origin only",
        ));
    }
    let Some((id, login)) = console.login(headers) else {
        return Err(plain(StatusCode::FORBIDDEN, "sign in to the console first"));
    };
    if csrf != login.csrf {
        audit(&login.who, "console.form", "console", "bad csrf token");
        return Err(plain(
            StatusCode::FORBIDDEN,
            "the form is stale; reload the page",
        ));
    }
    Ok((id, login))
}

async fn logout(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let (id, login) = match checked(&console, &headers, &form.csrf) {
        Ok(found) => found,
        Err(response) => return response,
    };
    console.logins().remove(&id);
    audit(&login.who, "console.sign_out", "console", "ok");
    let mut response = Redirect::to("/console/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie("", Duration::ZERO));
    response
}

/// The console session of a page view: signed in, or (auth off) a fresh one.
fn viewer(console: &Console, headers: &HeaderMap) -> Result<(Login, Option<String>), Response> {
    if let Some((_, login)) = console.login(headers) {
        return Ok((login, None));
    }
    if console.auth_off() {
        let id = console.open(
            "local (authentication off)".into(),
            ConsoleAccess::Admin,
            None,
        )?;
        let login = console.logins().get(&id).cloned();
        return login
            .map(|login| (login, Some(id)))
            .ok_or_else(|| plain(StatusCode::INTERNAL_SERVER_ERROR, "session lost"));
    }
    Err(Redirect::to("/console/login").into_response())
}

async fn page(State(console): State<Console>, headers: HeaderMap) -> Response {
    let (login, new_cookie) = match viewer(&console, &headers) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let access = match login.access {
        ConsoleAccess::Admin => "admin",
        ConsoleAccess::Read => "read-only",
    };
    let body = format!(
        "<header><h1>Berth console</h1><span class=\"muted\">berth {version}</span>\
         <span class=\"who\">{who} · {access}</span>\
         <form method=\"post\" action=\"/console/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <button type=\"submit\">Sign out</button></form></header><main>\
         <section class=\"wide\" id=\"plugins\" data-refresh=\"/console/fragments/plugins\">{plugins}</section>\
         <section id=\"tools\" data-refresh=\"/console/fragments/tools\">{tools}</section>\
         <section><h2>Events</h2><ul id=\"feed\"></ul></section>\
         <section id=\"sessions\" data-refresh=\"/console/fragments/sessions\">{sessions}</section>\
         </main><script type=\"module\" src=\"/console/console.js\"></script>",
        version = env!("CARGO_PKG_VERSION"),
        who = esc(&login.who),
        csrf = esc(&login.csrf),
        plugins = plugins_table(&console, &login),
        tools = tools_table(),
        sessions = sessions_table(&console),
    );
    let mut response = shell("Berth console", &body).into_response();
    if let Some(id) = new_cookie {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, set_cookie(&id, SESSION_TTL));
    }
    response
}

async fn fragment(
    State(console): State<Console>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some((_, login)) = console.login(&headers) else {
        return plain(StatusCode::UNAUTHORIZED, "sign in to the console first");
    };
    let html = match name.as_str() {
        "plugins" => plugins_table(&console, &login),
        "tools" => tools_table(),
        "sessions" => sessions_table(&console),
        _ => return plain(StatusCode::NOT_FOUND, "no such part of the console"),
    };
    Html(html).into_response()
}

/// The plugins table: served ones, then files disabled or refused.
fn plugins_table(console: &Console, login: &Login) -> String {
    let lifecycle = &console.0.lifecycle;
    let registry = lifecycle.served().registry();
    let config = lifecycle.config();
    let mut notes = lifecycle.notes();
    let admin = login.access == ConsoleAccess::Admin;
    let button = |name: &str, action: &str| -> String {
        if !admin {
            return String::new();
        }
        format!(
            "<form method=\"post\" action=\"/console/plugins/{n}/{action}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <button type=\"submit\" data-action=\"{action}\">{action}</button></form>",
            n = esc(name),
            csrf = esc(&login.csrf),
        )
    };
    let mut rows = String::new();
    for entry in registry.plugins() {
        let manifest = entry.plugin.manifest();
        let error = match notes.remove(&entry.path) {
            Some(FileNote::Refused { error, .. }) => error,
            _ => String::new(),
        };
        let tools = registry
            .tools()
            .iter()
            .filter(|t| Arc::ptr_eq(&t.plugin, entry))
            .count();
        let needs = needs_text(entry.plugin.needs());
        let plugin_config = config.plugin(entry.name());
        let grants = grants_text(&plugin_config.grants);
        let source = plugin_config.source.clone().unwrap_or_default();
        // Offered when the build served before this one is kept.
        let rollback = match lifecycle.previous_build(entry.name()) {
            Some(build) if admin => format!(
                "<form method=\"post\" action=\"/console/plugins/{n}/rollback\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <button type=\"submit\" data-action=\"rollback\" title=\"{digest}\">\
                 roll back to {version}</button></form>",
                n = esc(entry.name()),
                csrf = esc(&login.csrf),
                digest = esc(&build.digest),
                version = esc(&build.version),
            ),
            _ => String::new(),
        };
        let _ = write!(
            rows,
            "<tr data-plugin=\"{name}\"><td><b>{name}</b></td><td>{version}</td><td>{contract}</td>\
             <td class=\"mono\" title=\"{digest}\">{short}</td><td class=\"mono\" title=\"{source}\">{file}</td>\
             <td class=\"state-serving\">serving</td><td class=\"code\">{code}</td><td class=\"num\">{tools}</td><td>{needs}</td><td>{grants}</td>\
             <td class=\"error\">{error}</td><td>{action}</td></tr>",
            name = esc(entry.name()),
            version = esc(&manifest.version),
            contract = esc(&entry.plugin.contract_version().to_string()),
            code = entry.plugin.compiler().as_str(),
            digest = esc(entry.plugin.digest()),
            short = esc(&entry.plugin.digest().chars().take(19).collect::<String>()),
            file = esc(&file_name(&entry.path)),
            needs = esc(&needs),
            grants = esc(&grants),
            source = esc(&source),
            error = esc(&error),
            action = button(entry.name(), "reload") + &rollback + &button(entry.name(), "disable"),
        );
    }
    let mut rest: Vec<_> = notes
        .into_iter()
        .filter(|(path, _)| path.exists())
        .collect();
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, note) in rest {
        let (name, version, state, error, action) = match note {
            FileNote::Disabled { plugin, version } => {
                let action = button(&plugin, "enable");
                (plugin, version, "disabled", String::new(), action)
            }
            FileNote::Refused { error, .. } => (
                String::new(),
                String::new(),
                "refused",
                error,
                String::new(),
            ),
        };
        let _ = write!(
            rows,
            "<tr data-plugin=\"{name}\"><td><b>{name}</b></td><td>{version}</td><td></td><td></td>\
             <td class=\"mono\">{file}</td><td class=\"state-{state}\">{state}</td><td></td><td></td><td></td><td></td>\
             <td class=\"error\">{error}</td><td>{action}</td></tr>",
            name = esc(&name),
            version = esc(&version),
            file = esc(&file_name(&path)),
            error = esc(&error),
        );
    }
    format!(
        "<h2>Plugins</h2><table><thead><tr><th>plugin</th><th>version</th><th>contract</th>\
         <th>digest</th><th>file</th><th>state</th><th title=\"the compiler of the code it runs: winch until Cranelift's optimised code is in\">code</th><th>tools</th><th>needs</th><th>grants</th><th>last error</th>\
         <th></th></tr></thead><tbody>{rows}</tbody></table>"
    )
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn needs_text(needs: &berth_model::policy::Needs) -> String {
    let mut parts: Vec<String> = needs
        .folders
        .iter()
        .map(|f| format!("{} ({})", f.path, if f.write { "rw" } else { "ro" }))
        .collect();
    parts.extend(needs.env.iter().map(|e| format!("env {e}")));
    parts.extend(needs.network.iter().cloned());
    if needs.keyvalue {
        parts.push("state".into());
    }
    parts.join(", ")
}

/// What the operator granted, by name only: environment variable values (which may be
/// secrets) never reach a page.
fn grants_text(grants: &berth_core::config::GrantsConfig) -> String {
    let mut parts: Vec<String> = grants
        .folders
        .iter()
        .map(|f| {
            let mode = if f.write { "rw" } else { "ro" };
            format!("{} → {} ({mode})", f.host.display(), f.guest)
        })
        .collect();
    let names = grants.env.iter().chain(grants.env_values.keys());
    parts.extend(names.map(|name| format!("env {name}")));
    parts.extend(grants.network.iter().cloned());
    if let Some(keyvalue) = &grants.keyvalue {
        parts.push(format!("state {}", keyvalue.buckets.join(" ")));
    }
    parts.join(", ")
}

/// The tools table with rates, errors, percentiles and a chart of calls per bucket.
fn tools_table() -> String {
    let figures = window::figures();
    let window = window::BUCKET.as_secs() * window::BUCKETS as u64;
    let mut rows = String::new();
    for tool in &figures {
        let rate = tool.calls as f64 / window as f64;
        let error_rate = 100.0 * tool.errors as f64 / tool.calls as f64;
        let _ = write!(
            rows,
            "<tr data-tool=\"{plugin}/{name}\"><td>{plugin}/{name}</td><td class=\"num\">{calls}</td>\
             <td class=\"num\">{rate:.2}/s</td><td class=\"num\">{error_rate:.1} %</td>\
             <td class=\"num\">{p50}</td><td class=\"num\">{p99}</td><td>{chart}</td></tr>",
            plugin = esc(&tool.plugin),
            name = esc(&tool.tool),
            calls = tool.calls,
            p50 = duration_text(tool.p50),
            p99 = duration_text(tool.p99),
            chart = sparkline(&tool.calls_per_bucket, &tool.errors_per_bucket),
        );
    }
    if figures.is_empty() {
        rows.push_str(
            "<tr><td colspan=\"7\" class=\"muted\">no calls in the last minutes</td></tr>",
        );
    }
    format!(
        "<h2>Tools, last {} minutes</h2><table><thead><tr><th>tool</th><th>calls</th><th>rate</th>\
         <th>errors</th><th>p50</th><th>p99</th><th>calls / 10 s</th></tr></thead><tbody>{rows}</tbody></table>",
        window / 60
    )
}

fn duration_text(d: Duration) -> String {
    match d.as_micros() {
        us if us < 1000 => format!("{us} µs"),
        us if us < 1_000_000 => format!("{:.1} ms", us as f64 / 1000.0),
        us => format!("{:.2} s", us as f64 / 1e6),
    }
}

/// An inline SVG chart of calls (and errors) per bucket.
fn sparkline(calls: &[u64], errors: &[u64]) -> String {
    let max = calls.iter().copied().max().unwrap_or(0).max(1) as f64;
    let points = |values: &[u64]| -> String {
        let step = 120.0 / (values.len().max(2) - 1) as f64;
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                format!(
                    "{:.1},{:.1}",
                    i as f64 * step,
                    22.0 - 20.0 * *v as f64 / max
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "<svg class=\"spark\" viewBox=\"0 0 120 24\" role=\"img\" aria-label=\"calls per 10 s\">\
         <polyline points=\"{}\"/><polyline class=\"errors\" points=\"{}\"/></svg>",
        points(calls),
        points(errors)
    )
}

fn sessions_table(console: &Console) -> String {
    let sessions = console.0.gate.sessions();
    let holders = sessions.holders();
    let mut groups: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for (holder, protocol) in &holders {
        let holder = holder
            .clone()
            .unwrap_or_else(|| "(no authentication)".into());
        let protocol = protocol.clone().unwrap_or_else(|| "(not said yet)".into());
        *groups.entry((holder, protocol)).or_default() += 1;
    }
    let mut rows = String::new();
    for ((holder, protocol), count) in &groups {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td class=\"mono\">{}</td><td class=\"num\">{count}</td></tr>",
            esc(holder),
            esc(protocol)
        );
    }
    format!(
        "<h2>Sessions: <span id=\"session-count\">{}</span> of {}</h2><table><thead><tr>\
         <th>identity</th><th>protocol</th><th>sessions</th></tr></thead><tbody>{rows}</tbody></table>",
        holders.len(),
        sessions.max()
    )
}

/// One feed entry, as the page's script receives it.
fn feed_entry(event: &Event) -> Option<serde_json::Value> {
    let (kind, text) = match event {
        Event::PluginLoaded {
            plugin, version, ..
        } => ("plugin_loaded", format!("{plugin} {version} loaded")),
        Event::PluginReloaded {
            plugin, from, to, ..
        } => (
            "plugin_reloaded",
            format!("{plugin} reloaded: {from} → {to}"),
        ),
        Event::PluginUnloaded { plugin, .. } => {
            ("plugin_unloaded", format!("{plugin} is no longer served"))
        }
        Event::PluginLoadFailed { path, error } => (
            "plugin_refused",
            format!("{} refused: {error}", file_name(path)),
        ),
        Event::ConfigApplied => ("config_applied", "configuration applied".to_string()),
        Event::ConfigRejected { error } => {
            ("config_rejected", format!("configuration refused: {error}"))
        }
        Event::AccessDenied {
            subject,
            kind,
            plugin,
            name,
        } => (
            "access_denied",
            format!("{subject} was refused {kind} {plugin}/{name}"),
        ),
        Event::RateLimited { subject } => (
            "rate_limited",
            format!("{subject} was refused by its rate limit (429)"),
        ),
        _ => return None,
    };
    let at = now_ms();
    Some(serde_json::json!({ "kind": kind, "text": text, "at": at }))
}

/// The feed entry for events a subscriber fell too far behind to see.
fn lagged(missed: u64) -> serde_json::Value {
    serde_json::json!({
        "kind": "feed_lagged",
        "text": format!("{missed} events were missed"),
        "at": now_ms(),
    })
}

/// Now, in milliseconds since the Unix epoch: what the page's script gives `Date`.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

async fn events(State(console): State<Console>, headers: HeaderMap) -> Response {
    if console.login(&headers).is_none() {
        return plain(StatusCode::UNAUTHORIZED, "sign in to the console first");
    }
    let (backlog, live) = {
        let recent = console.0.recent.lock().unwrap_or_else(|p| p.into_inner());
        (
            recent.iter().cloned().collect::<Vec<_>>(),
            console.0.feed.subscribe(),
        )
    };
    let backlog = futures::stream::iter(backlog.into_iter().map(|entry| sse(&entry)));
    let live = futures::stream::unfold(live, |mut live| async move {
        match live.recv().await {
            Ok(entry) => Some((sse(&entry), live)),
            Err(RecvError::Lagged(missed)) => Some((sse(&lagged(missed).to_string()), live)),
            Err(RecvError::Closed) => None,
        }
    });
    let stop = console.0.stop.clone().cancelled_owned();
    Sse::new(futures::StreamExt::take_until(
        futures::StreamExt::chain(backlog, live),
        stop,
    ))
    .keep_alive(KeepAlive::default())
    .into_response()
}

/// One feed entry (JSON text) as an event of the stream.
fn sse(entry: &str) -> Result<SseEvent, Infallible> {
    Ok(SseEvent::default().event("berth").data(entry))
}

async fn act(
    State(console): State<Console>,
    Path((name, action)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let (_, login) = match checked(&console, &headers, &form.csrf) {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !["enable", "disable", "reload", "rollback"].contains(&action.as_str()) {
        return plain(
            StatusCode::NOT_FOUND,
            "no such action: use enable, disable, reload or rollback",
        );
    }
    let audited = format!("plugin.{action}");
    if login.access != ConsoleAccess::Admin {
        audit(
            &login.who,
            &audited,
            &name,
            "refused: read-only console role",
        );
        return plain(StatusCode::FORBIDDEN, "this console role is read-only");
    }
    let lifecycle = &console.0.lifecycle;
    let unknown = |message: String| {
        audit(&login.who, &audited, &name, "refused: not served");
        (StatusCode::NOT_FOUND, message).into_response()
    };
    let done = match action.as_str() {
        "reload" => match lifecycle.reload_plugin(&name).await {
            Ok(None) => return unknown(format!("no plugin named {name} is served")),
            Ok(Some(_)) => Ok(()),
            Err(error) => Err(error),
        },
        "rollback" => match lifecycle.roll_back(&name).await {
            Ok(build) => {
                let outcome = format!("ok: back to {} ({})", build.version, build.digest);
                audit(&login.who, &audited, &name, &outcome);
                return Redirect::to("/console").into_response();
            }
            Err(error) => {
                audit(&login.who, &audited, &name, &format!("refused: {error}"));
                return (StatusCode::CONFLICT, error.to_string()).into_response();
            }
        },
        action => match lifecycle.set_enabled(&name, action == "enable").await {
            Ok(None) => {
                return unknown(format!("no plugin named {name} is served or disabled"));
            }
            Ok(Some(_)) => Ok(()),
            Err(error) => Err(error),
        },
    };
    match done {
        Ok(()) => {
            audit(&login.who, &audited, &name, "ok");
            Redirect::to("/console").into_response()
        }
        Err(error) => {
            let outcome = format!("failed: {error}");
            audit(&login.who, &audited, &name, &outcome);
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{action} {name} failed: {error}"),
            )
                .into_response()
        }
    }
}
