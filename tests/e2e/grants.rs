//! Grants: a plugin reaches folders, environment variables and network destinations only
//! when the operator grants them, and a plugin whose declared needs are not granted is
//! not loaded.

use std::net::TcpListener;

use serde_json::json;

use crate::support::{Server, component, config_file, inspect_json, install, save_config, text};

fn probe(server: &mut Server, tool: &str, arguments: serde_json::Value) -> String {
    let result = server.call(tool, arguments);
    assert_ne!(result["isError"], true, "{result}");
    text(&result).to_string()
}

/// The prober declares nothing: without grants it gets nothing; with them, exactly
/// what was granted and no more (read-only stays read-only, `..` and symlinks do not
/// leave the folder, other destinations stay closed).
#[test]
pub fn prober() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    install(&plugins, "prober.wasm", &component("berth-test-prober"));
    std::fs::write(data.join("hello.txt"), "hello from the host").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "outside the grant").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), data.join("escape")).unwrap();
    let allowed = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let allowed_addr = allowed.local_addr().unwrap().to_string();
    let other_addr = other.local_addr().unwrap().to_string();

    // Nothing granted.
    let config = config_file(dir.path(), "");
    let mut server = Server::start_with_env(&plugins, Some(&config), &[("PROBE_PASS", "x")]);
    server.initialize("2025-11-25");
    for path in ["/data/hello.txt", "/etc/passwd", "hello.txt"] {
        let got = probe(&mut server, "prober_read_file", json!({ "path": path }));
        assert!(got.starts_with("error:"), "{path}: {got}");
    }
    assert_eq!(
        probe(&mut server, "prober_env", json!({ "name": "PROBE_PASS" })),
        "<unset>"
    );
    assert_eq!(probe(&mut server, "prober_env_all", json!({})), "");
    let got = probe(
        &mut server,
        "prober_connect",
        json!({ "address": allowed_addr }),
    );
    // With no network grant at all the socket API is switched off, so there is no
    // address to check (and log) yet.
    assert!(got.starts_with("error:"), "{got}");

    // Grants, applied live.
    save_config(
        &config,
        &format!(
            "[plugins.prober.grants]\n\
             folders = [{{ host = {:?}, guest = \"/data\" }}]\n\
             env = [\"PROBE_PASS\", \"PROBE_MISSING\"]\n\
             env_values = {{ GREETING = \"hi\" }}\n\
             network = [\"{allowed_addr}\"]\n",
            data.display().to_string()
        ),
    );
    server.wait_for_log("config applied");
    assert_eq!(
        probe(
            &mut server,
            "prober_read_file",
            json!({ "path": "/data/hello.txt" })
        ),
        "hello from the host"
    );
    for path in [
        "/data/../secret.txt",
        "/data/escape",
        "/etc/passwd",
        "/data/../../etc/passwd",
    ] {
        let got = probe(&mut server, "prober_read_file", json!({ "path": path }));
        assert!(
            got.starts_with("error:"),
            "{path} must stay out of reach: {got}"
        );
    }
    let got = probe(
        &mut server,
        "prober_write_file",
        json!({ "path": "/data/new.txt", "text": "x" }),
    );
    assert!(got.starts_with("error:"), "read-only grant: {got}");
    assert!(!data.join("new.txt").exists());
    assert_eq!(
        probe(&mut server, "prober_env", json!({ "name": "PROBE_PASS" })),
        "x"
    );
    assert_eq!(
        probe(&mut server, "prober_env", json!({ "name": "GREETING" })),
        "hi"
    );
    assert_eq!(
        probe(&mut server, "prober_env_all", json!({})),
        "GREETING=hi\nPROBE_PASS=x"
    );
    assert_eq!(
        probe(
            &mut server,
            "prober_connect",
            json!({ "address": allowed_addr })
        ),
        "connected"
    );
    let got = probe(
        &mut server,
        "prober_connect",
        json!({ "address": other_addr }),
    );
    assert!(got.starts_with("error:"), "{got}");
    // A network grant is not a licence to ask the resolver about any name, which would
    // carry data out in the names asked (issue 18): lookups stay off.
    let got = probe(
        &mut server,
        "prober_resolve",
        json!({ "host": "localhost" }),
    );
    assert!(got.starts_with("error:"), "{got}");
    let line = server.wait_for_log_line("network access denied", 1);
    assert!(
        line.contains("plugin=prober") && line.contains(&other_addr),
        "{line}"
    );

    // Write access when granted.
    save_config(
        &config,
        &format!(
            "[plugins.prober.grants]\nfolders = [{{ host = {:?}, guest = \"/data\", write = true }}]\n",
            data.display().to_string()
        ),
    );
    server.wait_for_log_count("config applied", 2);
    assert_eq!(
        probe(
            &mut server,
            "prober_write_file",
            json!({ "path": "/data/new.txt", "text": "made" })
        ),
        "written"
    );
    assert_eq!(
        std::fs::read_to_string(data.join("new.txt")).unwrap(),
        "made"
    );
}

/// The needy plugin declares a writable folder, a variable and a destination: refused,
/// with the key to add, until all three are granted.
#[test]
pub fn needy() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("note.txt"), "n").unwrap();
    install(&plugins, "needy.wasm", &component("berth-test-needy"));
    // `berth inspect` shows the needs, whatever is granted.
    let manifest = inspect_json(&plugins.join("needy.wasm"));
    assert_eq!(
        manifest["needs"]["folders"][0]["path"], "/data",
        "{manifest}"
    );
    assert_eq!(manifest["needs"]["env"][0], "NEEDY_TOKEN", "{manifest}");

    let config = config_file(dir.path(), "");
    let mut server = Server::initialized(&plugins, Some(&config));
    let line = server.wait_for_log_line("plugin refused", 1);
    assert!(
        line.contains("needs read-write access to the folder `/data` (keeps its notes there)")
            && line.contains("plugins.needy.grants.folders"),
        "{line}"
    );
    assert!(server.tool_names().is_empty());

    // Half the needs granted: still refused, now for the next missing one.
    let folder = format!(
        "[plugins.needy.grants]\nfolders = [{{ host = {:?}, guest = \"/data\", write = true }}]\n",
        data.display().to_string()
    );
    save_config(&config, &folder);
    let line = server.wait_for_log_line("plugin refused", 2);
    assert!(
        line.contains("plugins.needy.grants.env") && line.contains("NEEDY_TOKEN"),
        "{line}"
    );

    // A granted folder that does not exist is named as such.
    save_config(
        &config,
        "[plugins.needy.grants]\nfolders = [{ host = \"/no/such/folder\", guest = \"/data\", write = true }]\nenv_values = { NEEDY_TOKEN = \"t\" }\nnetwork = [\"https://api.example.com\"]\n",
    );
    let line = server.wait_for_log_line("plugin refused", 3);
    assert!(
        line.contains("/no/such/folder") && line.contains("plugins.needy.grants.folders[0].host"),
        "{line}"
    );

    // Everything granted: served.
    save_config(
        &config,
        &format!(
            "{folder}env_values = {{ NEEDY_TOKEN = \"t\" }}\nnetwork = [\"https://api.example.com\"]\n"
        ),
    );
    server.wait_for_notification("notifications/tools/list_changed");
    assert_eq!(text(&server.call("needy_list", json!({}))), "note.txt");

    // Taking a grant away unloads it.
    save_config(&config, &folder);
    server.wait_for_notification("notifications/tools/list_changed");
    server.wait_for_log("its grants no longer fit its needs");
    assert!(server.tool_names().is_empty());
}
