//! Plugins from an OCI registry, end to end: a real registry (Debian's `docker-registry`,
//! the CNCF distribution server) on loopback, `berth plugins push` to publish, a config
//! `source` to serve, `berth.lock` to pin, and the local store to keep serving when the
//! registry is gone.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Server, berth, component, config_file, stdout_of, text};

/// A registry on a free loopback port, storing into its own temporary folder; stopped
/// when dropped.
struct Registry {
    child: Child,
    port: u16,
    storage: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        Registry::start_with(None)
    }

    /// A registry that answers only to `user` with `password` (HTTP basic, checked
    /// against an htpasswd file as operators configure it).
    fn start_with(password: Option<(&str, &str)>) -> Registry {
        let binary = Path::new("/usr/bin/docker-registry");
        assert!(
            binary.exists(),
            "the distribution tests need Debian's docker-registry package; `./scripts/test` \
             installs it when run as root (or: sudo apt-get install docker-registry)"
        );
        let storage = tempfile::tempdir().unwrap();
        // The registry cannot report a port it chose, so one is picked here; another
        // process taking it in between is unlikely on loopback and fails loudly.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = storage.path().join("config.yml");
        let mut yaml = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    \
             rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: berth-tests\n",
            storage.path().join("data").display()
        );
        if let Some((user, password)) = password {
            let htpasswd = storage.path().join("htpasswd");
            let hash = bcrypt::hash(password, 4).unwrap();
            std::fs::write(&htpasswd, format!("{user}:{hash}\n")).unwrap();
            yaml.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: berth\n    path: {}\n",
                htpasswd.display()
            ));
        }
        std::fs::write(&config, yaml).unwrap();
        let child = Command::new(binary)
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let registry = Registry {
            child,
            port,
            storage,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the registry never listened on {port}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        registry
    }

    fn reference(&self, repository: &str) -> String {
        format!("oci://127.0.0.1:{}/{repository}", self.port)
    }

    /// The registry's own copy of the blob with `digest` (`sha256:…`).
    fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.storage
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `berth plugins push PACKAGE'S COMPONENT REFERENCE`; returns what it printed.
fn push(package: &str, reference: &str) -> String {
    String::from_utf8(stdout_of(&mut push_command(package, reference))).unwrap()
}

/// The `berth plugins push` command line for `package`'s component (its file is left in
/// the temporary folder, which the OS cleans).
fn push_command(package: &str, reference: &str) -> Command {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), component(package)).unwrap();
    let (_, path) = file.keep().unwrap();
    let mut command = berth();
    command.args(["plugins", "push"]).arg(path).arg(reference);
    command
}

/// Runs `command`, which must fail; returns its stderr.
fn failure_of(command: &mut Command) -> String {
    let out = command.output().unwrap();
    assert!(!out.status.success(), "{command:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `berth plugins keygen` in a new folder, with `password`; returns the folder.
fn keygen(password: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    stdout_of(
        berth()
            .env("COSIGN_PASSWORD", password)
            .args(["plugins", "keygen"])
            .arg(dir.path()),
    );
    dir
}

/// The manifest digest `berth plugins push` printed.
fn manifest_of(pushed: &str) -> String {
    pushed
        .lines()
        .find_map(|l| l.trim().strip_prefix("manifest "))
        .unwrap_or_else(|| panic!("no manifest digest in:\n{pushed}"))
        .to_string()
}

/// The `key = "…"` value of the first line of `text` that starts with `key`.
fn value_of(text: &str, key: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(key))
        .unwrap_or_else(|| panic!("no `{key}` in:\n{text}"));
    line.split('"').nth(1).unwrap_or_default().to_string()
}

#[test]
fn a_published_plugin_is_pinned_served_and_kept_when_the_registry_is_gone() {
    let registry = Registry::start();
    let echo_ref = format!("{}:1", registry.reference("berth/echo"));
    let pushed = push("berth-plugin-echo", &echo_ref);
    // `berth inspect` looks at a published plugin before it is deployed.
    let cache = tempfile::tempdir().unwrap();
    let inspected = stdout_of(
        berth()
            .env("XDG_CACHE_HOME", cache.path())
            .args(["inspect", "--json", &echo_ref]),
    );
    let manifest: serde_json::Value = serde_json::from_slice(&inspected).unwrap();
    assert_eq!(manifest["name"], "echo", "{manifest}");

    let plugins = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let config = config_file(
        home.path(),
        &format!(
            "[distribution]\nstore = {:?}\n\n[plugins.echo]\nsource = {echo_ref:?}\n",
            store.display()
        ),
    );
    let mut server = Server::initialized(plugins.path(), Some(&config));
    let answer = server.call("echo_echo", json!({ "text": "from the registry" }));
    assert_eq!(text(&answer), "from the registry");
    let log = server.wait_for_log("plugin source fetched");
    assert!(log.contains("pinned_now=true"), "{log}");
    assert!(server.close().success());
    let lock = std::fs::read_to_string(home.path().join("berth.lock")).unwrap();
    assert_eq!(value_of(&lock, "digest"), manifest_of(&pushed), "{lock}");

    // The tag moves to another plugin; the lock keeps serving what was pinned.
    push("berth-test-legacy", &echo_ref);
    let mut server = Server::initialized(plugins.path(), Some(&config));
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "pinned" }))),
        "pinned"
    );
    assert!(server.close().success());
    assert_eq!(
        std::fs::read_to_string(home.path().join("berth.lock")).unwrap(),
        lock
    );

    // Without the registry, the store serves the pinned build; a config edit naming a
    // source that cannot be fetched now does not take it away.
    drop(registry);
    let mut server = Server::initialized(plugins.path(), Some(&config));
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "offline" }))),
        "offline"
    );
    let unreachable = format!("{}:2", echo_ref.trim_end_matches(":1"));
    save(
        &config,
        &store,
        &format!("[plugins.echo]\nsource = {unreachable:?}\n"),
    );
    server.wait_for_log("the build served so far keeps serving");
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "kept" }))),
        "kept"
    );
    assert!(server.close().success());
    save(
        &config,
        &store,
        &format!("[plugins.echo]\nsource = {echo_ref:?}\n"),
    );

    // A new source is pinned afresh; what its tag holds is not `echo`, so it is refused.
    let registry = Registry::start();
    let moved = format!("{}:1", registry.reference("berth/echo"));
    let legacy = push("berth-test-legacy", &moved);
    save(
        &config,
        &store,
        &format!("[plugins.echo]\nsource = {moved:?}\n"),
    );
    let server = Server::initialized(plugins.path(), Some(&config));
    let line = server.wait_for_log_line("plugin refused", 1);
    assert!(
        line.contains("fetched for `plugins.echo.source`, is plugin `legacy`"),
        "{line}"
    );
    assert!(server.close().success());

    // `berth plugins update` moves the pin to what the tag holds now, and says so.
    let echo_again = push("berth-plugin-echo", &moved);
    let out = stdout_of(
        berth()
            .args(["plugins", "update", "echo", "--config"])
            .arg(&config),
    );
    let out = String::from_utf8(out).unwrap();
    assert_eq!(
        out.trim(),
        format!(
            "echo: {} → {}",
            manifest_of(&legacy),
            manifest_of(&echo_again)
        )
    );
    let mut server = Server::initialized(plugins.path(), Some(&config));
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "updated" }))),
        "updated"
    );
    assert!(server.close().success());
}

/// Writes `plugins` under a `[distribution]` that keeps the store in `store`.
fn save(config: &Path, store: &Path, plugins: &str) {
    std::fs::write(
        config,
        format!("[distribution]\nstore = {:?}\n\n{plugins}", store.display()),
    )
    .unwrap();
}

#[test]
fn sources_that_cannot_be_served_are_refused_one_by_one() {
    let registry = Registry::start();
    let echo_ref = format!("{}:1", registry.reference("berth/echo"));
    push("berth-plugin-echo", &echo_ref);
    // A blob the registry serves with other bytes than its digest says (tampered with
    // at rest) is refused by the store, whatever the registry claims.
    let json_ref = format!("{}:1", registry.reference("berth/json"));
    let pushed = push("berth-plugin-json", &json_ref);
    let manifest_file = registry.blob_file(&manifest_of(&pushed));
    let manifest_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(manifest_file).unwrap()).unwrap();
    let layer = manifest_json["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let blob = registry.blob_file(&layer);
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();

    let plugins = crate::support::plugins_dir(&["berth-plugin-time"]);
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let missing_digest = format!("sha256:{}", "0".repeat(64));
    let config = config_file(home.path(), "");
    save(
        &config,
        &store,
        &format!(
            "[plugins.echo]\nsource = {echo_ref:?}\n\n\
             [plugins.json]\nsource = {json_ref:?}\n\n\
             [plugins.nowhere]\nsource = \"oci://127.0.0.1:9/berth/nowhere:1\"\n\n\
             [plugins.untagged]\nsource = \"oci://127.0.0.1:{port}/berth/echo\"\n\n\
             [plugins.absent]\nsource = \"oci://127.0.0.1:{port}/berth/absent:1\"\n\n\
             [plugins.forged]\nsource = \"oci://127.0.0.1:{port}/berth/echo@{missing_digest}\"\n",
            port = registry.port
        ),
    );
    let mut server = Server::initialized(plugins.path(), Some(&config));
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "alive" }))),
        "alive"
    );
    // The folder's plugins serve beside the fetched ones.
    assert!(server.tool_names().iter().any(|t| t.starts_with("time_")));
    let log = server.wait_for_log_count("plugin refused", 5);
    let refused = |plugin: &str| {
        log.lines()
            .find(|l| l.contains("plugin refused") && l.contains(&format!("plugin={plugin} ")))
            .unwrap_or_else(|| panic!("{plugin} not refused:\n{log}"))
            .to_string()
    };
    // oci-client checks the stream as it arrives and the store checks it again; either
    // way the refusal names the digest the bytes failed.
    assert!(refused("json").contains(&layer), "{log}");
    assert!(refused("nowhere").contains("the registry failed"), "{log}");
    assert!(
        refused("untagged").contains("names neither a tag nor a digest"),
        "{log}"
    );
    assert!(refused("absent").contains("the registry failed"), "{log}");
    assert!(refused("forged").contains("the registry failed"), "{log}");
    assert!(server.close().success());
    // Nothing half-written reached the store: only echo's component is there.
    let stored: Vec<_> = std::fs::read_dir(store.join("sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
}

/// `update = "poll"`: a tag moved to a new build is pulled, verified, pinned and swapped
/// in while calls keep coming, and none of them fails.
#[test]
fn a_polled_tag_that_moves_is_swapped_in_live() {
    let registry = Registry::start();
    let flip = format!("{}:stable", registry.reference("berth/flip"));
    let first = push("berth-test-flip-one", &flip);
    let plugins = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let config = config_file(home.path(), "");
    save(
        &config,
        &store,
        &format!("[plugins.flip]\nsource = {flip:?}\nupdate = \"poll\"\npoll_interval_secs = 1\n"),
    );
    let mut server = Server::initialized(plugins.path(), Some(&config));
    let version = |server: &mut Server, n: u64| {
        let reply = server.call("flip_version", json!({ "n": n }));
        let stamp = reply["structuredContent"]["stamp"]
            .as_str()
            .unwrap_or_else(|| {
                panic!("call {n} failed: {reply}");
            });
        stamp.split_once(':').unwrap().0.to_string()
    };
    assert_eq!(version(&mut server, 0), "1.0.0");
    let first_lock = std::fs::read_to_string(home.path().join("berth.lock")).unwrap();
    let second = push("berth-test-flip-two", &flip);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut n = 1;
    while version(&mut server, n) != "2.0.0" {
        assert!(Instant::now() < deadline, "the moved tag was never served");
        n += 1;
    }
    let log = server.wait_for_log("plugin reloaded");
    let moved = log
        .lines()
        .find(|l| l.contains("plugin source moved"))
        .unwrap();
    assert!(
        moved.contains(&manifest_of(&first)) && moved.contains(&manifest_of(&second)),
        "{moved}"
    );
    assert!(log.contains("from=1.0.0 to=2.0.0"), "{log}");
    let lock = std::fs::read_to_string(home.path().join("berth.lock")).unwrap();
    assert_eq!(value_of(&lock, "digest"), manifest_of(&second), "{lock}");

    // Rolling back is putting the old lock back: with the registry gone, the running
    // server serves the first build again from its store.
    drop(registry);
    std::fs::write(home.path().join("berth.lock"), first_lock).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while version(&mut server, n) != "1.0.0" {
        assert!(Instant::now() < deadline, "the rollback was never served");
        n += 1;
    }
    assert!(server.close().success());
}

/// Signatures: with `require_signature`, a plugin serves only when its manifest carries
/// a cosign signature by the configured key; unsigned, wrongly signed and moved-to-
/// unsigned tags are refused with the reference, the digest and the reason, and what
/// was serving keeps serving.
#[test]
fn only_plugins_signed_by_the_configured_key_are_served() {
    let registry = Registry::start();
    let keys = keygen("s3cret");
    let other_keys = keygen("other");
    let signed = |package: &str, reference: &str, keys: &Path, password: &str| {
        let mut command = push_command(package, reference);
        command
            .env("COSIGN_PASSWORD", password)
            .arg("--sign")
            .arg(keys.join("cosign.key"));
        String::from_utf8(stdout_of(&mut command)).unwrap()
    };
    let echo_ref = format!("{}:1", registry.reference("berth/echo"));
    let echo = signed("berth-plugin-echo", &echo_ref, keys.path(), "s3cret");
    assert!(echo.contains("signed   sha256-"), "{echo}");
    let json_ref = format!("{}:1", registry.reference("berth/json"));
    let json = push("berth-plugin-json", &json_ref);
    let time_ref = format!("{}:1", registry.reference("berth/time"));
    let time = signed("berth-plugin-time", &time_ref, other_keys.path(), "other");
    // A wrong password publishes nothing.
    let error = failure_of(
        push_command(
            "berth-plugin-json",
            &format!("{}:2", registry.reference("berth/json")),
        )
        .env("COSIGN_PASSWORD", "wrong")
        .arg("--sign")
        .arg(keys.path().join("cosign.key")),
    );
    assert!(error.contains("COSIGN_PASSWORD"), "{error}");

    // The CLI checks a signature too.
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let public = keys.path().join("cosign.pub");
    let error = failure_of(
        berth()
            .env("XDG_CACHE_HOME", home.path())
            .args(["plugins", "pull", &json_ref, "--key"])
            .arg(&public),
    );
    assert!(
        error.contains(&json_ref) && error.contains("it is not signed"),
        "{error}"
    );

    std::fs::copy(&public, home.path().join("cosign.pub")).unwrap();
    let plugins = tempfile::tempdir().unwrap();
    let config = config_file(
        home.path(),
        &format!(
            "[distribution]\nstore = {:?}\nrequire_signature = true\n\n\
             [plugins.echo]\nsource = {echo_ref:?}\nverify = {{ cosign_key = \"cosign.pub\" }}\n\
             update = \"poll\"\npoll_interval_secs = 1\n\n\
             [plugins.json]\nsource = {json_ref:?}\nverify = {{ cosign_key = \"cosign.pub\" }}\n\n\
             [plugins.time]\nsource = {time_ref:?}\nverify = {{ cosign_key = \"cosign.pub\" }}\n",
            store.display()
        ),
    );
    let mut server = Server::initialized(plugins.path(), Some(&config));
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "signed" }))),
        "signed"
    );
    let log = server.wait_for_log_count("plugin refused", 2);
    let refused = |plugin: &str| {
        log.lines()
            .find(|l| l.contains("plugin refused") && l.contains(&format!("plugin={plugin} ")))
            .unwrap_or_else(|| panic!("{plugin} not refused:\n{log}"))
            .to_string()
    };
    let line = refused("json");
    assert!(
        line.contains(&manifest_of(&json)) && line.contains("it is not signed"),
        "{line}"
    );
    let line = refused("time");
    assert!(
        line.contains(&manifest_of(&time)) && line.contains("does not verify with the key"),
        "{line}"
    );
    assert!(!server.tool_names().iter().any(|t| t.starts_with("json_")));

    // The tag moves to an unsigned build: polling refuses it and echo keeps serving.
    push("berth-test-legacy", &echo_ref);
    let line = server.wait_for_log_line("checking the plugin source failed", 1);
    assert!(line.contains("it is not signed"), "{line}");
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "still" }))),
        "still"
    );
    assert!(server.close().success());
    let lock = std::fs::read_to_string(home.path().join("berth.lock")).unwrap();
    assert_eq!(value_of(&lock, "digest"), manifest_of(&echo), "{lock}");
    assert!(lock.contains("verified_with = \"sha256:"), "{lock}");
}

/// A registry that wants a password: refused without one (with what to do), served
/// with one named in the config (by environment variable) or left by `docker login`.
#[test]
fn a_registry_password_comes_from_the_environment_or_the_docker_config() {
    let registry = Registry::start_with(Some(("berth", "pa55word")));
    let echo_ref = format!("{}:1", registry.reference("berth/echo"));
    let empty_docker = tempfile::tempdir().unwrap();
    let error = failure_of(
        push_command("berth-plugin-echo", &echo_ref).env("DOCKER_CONFIG", empty_docker.path()),
    );
    assert!(
        error.contains(&format!(
            "[distribution.credentials.\"127.0.0.1:{}\"]",
            registry.port
        )),
        "{error}"
    );
    // `docker login` leaves base64 `user:password` in config.json.
    let docker = tempfile::tempdir().unwrap();
    std::fs::write(
        docker.path().join("config.json"),
        json!({ "auths": { format!("127.0.0.1:{}", registry.port): {
            "auth": "YmVydGg6cGE1NXdvcmQ=" } } })
        .to_string(),
    )
    .unwrap();
    stdout_of(push_command("berth-plugin-echo", &echo_ref).env("DOCKER_CONFIG", docker.path()));

    let home = tempfile::tempdir().unwrap();
    let plugins = tempfile::tempdir().unwrap();
    let config = config_file(
        home.path(),
        &format!(
            "[distribution]\nstore = {:?}\n\
             [distribution.credentials.\"127.0.0.1:{}\"]\n\
             username_env = \"REGISTRY_USER\"\npassword_env = \"REGISTRY_PASSWORD\"\n\n\
             [plugins.echo]\nsource = {echo_ref:?}\n",
            home.path().join("store").display(),
            registry.port
        ),
    );
    let docker_dir = empty_docker.path().to_str().unwrap();
    let mut server = Server::start_with_env(
        plugins.path(),
        Some(&config),
        &[
            ("DOCKER_CONFIG", docker_dir),
            ("REGISTRY_USER", "berth"),
            ("REGISTRY_PASSWORD", "pa55word"),
        ],
    );
    server.initialize("2025-11-25");
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "signed in" }))),
        "signed in"
    );
    assert!(server.close().success());
    // Without the variables, the refusal names the one to set.
    std::fs::remove_file(home.path().join("berth.lock")).unwrap();
    let server = Server::start_with_env(
        plugins.path(),
        Some(&config),
        &[("DOCKER_CONFIG", docker_dir)],
    );
    let line = server.wait_for_log_line("plugin refused", 1);
    assert!(line.contains("`REGISTRY_USER`"), "{line}");
    assert!(server.close().success());
}

/// `https://` sources (plain `http://` on loopback) serve only under their `sha256`;
/// a registry that stops answering times out with the source named.
#[test]
fn web_sources_serve_under_their_sha256_and_a_stalled_registry_times_out() {
    let registry = Registry::start();
    let echo_ref = format!("{}:1", registry.reference("berth/echo"));
    let pushed = push("berth-plugin-echo", &echo_ref);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(registry.blob_file(&manifest_of(&pushed))).unwrap())
            .unwrap();
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    // The registry serves the component's bytes at a plain URL too.
    let url = format!(
        "http://127.0.0.1:{}/v2/berth/echo/blobs/{layer}",
        registry.port
    );
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let plugins = tempfile::tempdir().unwrap();
    let wrong = format!("{:064x}", 7);
    let config = config_file(home.path(), "");
    save(
        &config,
        &store,
        &format!(
            "[plugins.echo]\nsource = {url:?}\nsha256 = {:?}\n\n\
             [plugins.other]\nsource = {url:?}\nsha256 = {wrong:?}\n",
            layer.trim_start_matches("sha256:")
        ),
    );
    let mut server = Server::initialized(plugins.path(), Some(&config));
    assert_eq!(
        text(&server.call("echo_echo", json!({ "text": "from the web" }))),
        "from the web"
    );
    let line = server.wait_for_log_line("plugin refused", 1);
    assert!(
        line.contains("plugin=other") && line.contains(&wrong) && line.contains(&url),
        "{line}"
    );
    assert!(server.close().success());

    // A registry that stops answering (SIGSTOP: it holds the connection and says
    // nothing) is given up on after `timeout_secs`, naming the source.
    std::fs::write(
        &config,
        format!(
            "[distribution]\nstore = {:?}\ntimeout_secs = 1\n",
            store.display()
        ),
    )
    .unwrap();
    let stop = |signal: &str| {
        let ok = Command::new("kill")
            .args([signal, &registry.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {signal}");
    };
    stop("-STOP");
    let started = Instant::now();
    let error = failure_of(
        berth()
            .args(["plugins", "pull", &echo_ref, "--config"])
            .arg(&config),
    );
    let waited = started.elapsed();
    stop("-CONT");
    assert!(
        error.contains(&echo_ref) && (error.contains("within 1s") || error.contains("timed out")),
        "{error}"
    );
    assert!(waited < Duration::from_secs(20), "{waited:?}");
}
