//! Configuration sources over a real server: environment overrides layered over the
//! file, per-plugin version requirements, and settings that apply live.

use serde_json::json;

use crate::support::{Server, berth, component, config_file, install, save_config, text};

fn greeting(server: &mut Server, key: &str) -> String {
    text(&server.call("echo_config_get", json!({ "key": key }))).to_string()
}

#[test]
fn environment_overrides_win_over_the_file_and_outlive_its_edits() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    install(&plugins, "echo.wasm", &component("berth-plugin-echo"));
    let config = config_file(
        dir.path(),
        "[plugins.echo]\nconfig = { greeting = \"from file\" }\n",
    );
    let mut server = Server::start_with_env(
        &plugins,
        Some(&config),
        &[("BERTH_PLUGINS__ECHO__CONFIG__GREETING", "from env")],
    );
    server.initialize("2025-11-25");
    assert_eq!(greeting(&mut server, "greeting"), "from env");
    let all = server.ok("tools/list", json!({}));
    assert!(all["nextCursor"].is_null(), "{all}");

    // An edit applies (a new value, a new page size), and the override still wins.
    save_config(
        &config,
        "[protocol]\npage_size = 2\n[plugins.echo]\nconfig = { greeting = \"edited\", other = \"x\" }\n",
    );
    server.wait_for_log("config applied");
    assert_eq!(greeting(&mut server, "greeting"), "from env");
    assert_eq!(greeting(&mut server, "other"), "x");
    let page = server.ok("tools/list", json!({}));
    assert_eq!(page["tools"].as_array().unwrap().len(), 2, "{page}");
    assert!(page["nextCursor"].is_string(), "{page}");
}

#[test]
fn a_bad_environment_override_stops_start_up_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let output = berth()
        .args(["serve", "--plugins"])
        .arg(dir.path())
        .env("BERTH_RUNTIME__CALL_TIMOUT_MS", "5")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "stdout is for protocol only");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("environment variable BERTH_RUNTIME__CALL_TIMOUT_MS")
            && stderr.contains("call_timout_ms"),
        "{stderr}"
    );
}

#[test]
fn a_version_requirement_refuses_files_and_unloads_what_no_longer_matches() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    install(&plugins, "flip.wasm", &component("berth-test-flip-one"));
    let config = config_file(dir.path(), "[plugins.flip]\nversion = \"^1\"\n");
    let mut server = Server::initialized(&plugins, Some(&config));
    assert_eq!(server.tool_names(), ["flip_version"]);

    // A 2.0.0 build over the file is refused; 1.0.0 keeps serving.
    install(&plugins, "flip.wasm", &component("berth-test-flip-two"));
    let line = server.wait_for_log_line("plugin refused", 1);
    assert!(
        line.contains("2.0.0") && line.contains("`^1`") && line.contains("plugins.flip.version"),
        "{line}"
    );
    let answer = server.call("flip_version", json!({ "n": 7 }));
    assert_eq!(answer["structuredContent"]["stamp"], "1.0.0:7", "{answer}");

    // Requiring ^2 unloads 1.0.0 and serves the 2.0.0 file already in the folder.
    save_config(&config, "[plugins.flip]\nversion = \"^2\"\n");
    server.wait_for_log("no longer satisfies the config");
    server.wait_for_log_count("plugin loaded", 2);
    let answer = server.call("flip_version", json!({ "n": 8 }));
    assert_eq!(answer["structuredContent"]["stamp"], "2.0.0:8", "{answer}");

    // A requirement nothing satisfies leaves the plugin out.
    save_config(&config, "[plugins.flip]\nversion = \">=3\"\n");
    server.wait_for_log_count("config applied", 2);
    assert!(server.tool_names().is_empty());

    // A malformed requirement is refused with its line; the last good config stays.
    save_config(&config, "[plugins.flip]\nversion = \"two\"\n");
    let line = server.wait_for_log_line("config rejected", 1);
    assert!(line.contains("line 2"), "{line}");
}

#[test]
fn a_tool_prefix_renames_a_plugins_tools_live_and_a_bad_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "echo.wasm", &component("berth-plugin-echo"));
    let config = config_file(dir.path(), "");
    let mut server = Server::initialized(dir.path(), Some(&config));
    assert!(server.tool_names().contains(&"echo_echo".to_string()));

    save_config(&config, "[plugins.echo]\ntool_prefix = \"\"\n");
    server.wait_for_notification("notifications/tools/list_changed");
    let names = server.tool_names();
    assert!(names.contains(&"echo".to_string()), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("echo_")), "{names:?}");
    assert_eq!(
        text(&server.call("echo", json!({ "text": "bare" }))),
        "bare"
    );

    save_config(&config, "[plugins.echo]\ntool_prefix = \"e-\"\n");
    server.wait_for_notification("notifications/tools/list_changed");
    assert_eq!(
        text(&server.call("e-echo", json!({ "text": "dashed" }))),
        "dashed"
    );

    save_config(&config, "[plugins.echo]\ntool_prefix = \"not ok\"\n");
    server.wait_for_log("plugins.echo.tool_prefix");
    assert_eq!(
        text(&server.call("e-echo", json!({ "text": "kept" }))),
        "kept"
    );
}

/// A config mounted as Kubernetes mounts a ConfigMap: `berth.toml` links to
/// `..data/berth.toml`, and an update swaps the `..data` link to a new folder with one
/// rename. Berth applies the new file.
#[test]
fn a_configmap_update_by_symlink_swap_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    install(&plugins, "echo.wasm", &component("berth-plugin-echo"));
    let mount = dir.path().join("config");
    let write_version = |name: &str, greeting: &str| {
        std::fs::create_dir_all(mount.join(name)).unwrap();
        std::fs::write(
            mount.join(name).join("berth.toml"),
            format!("[plugins.echo]\nconfig = {{ greeting = \"{greeting}\" }}\n"),
        )
        .unwrap();
    };
    write_version("..2026_12_06_first", "first");
    std::os::unix::fs::symlink("..2026_12_06_first", mount.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/berth.toml", mount.join("berth.toml")).unwrap();
    let mut server = Server::initialized(&plugins, Some(&mount.join("berth.toml")));
    assert_eq!(greeting(&mut server, "greeting"), "first");

    // What the kubelet does: a new folder, a new link beside the old, one rename over it,
    // then the old folder goes.
    write_version("..2026_12_06_second", "second");
    std::os::unix::fs::symlink("..2026_12_06_second", mount.join("..data_tmp")).unwrap();
    std::fs::rename(mount.join("..data_tmp"), mount.join("..data")).unwrap();
    std::fs::remove_dir_all(mount.join("..2026_12_06_first")).unwrap();
    server.wait_for_log("config applied");
    assert_eq!(greeting(&mut server, "greeting"), "second");
}
