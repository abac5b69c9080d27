//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, the newest
//! release that runs on the Node 20 these machines have) against the real binary over
//! Streamable HTTP, serving the `conformance` test plugin, which provides the tools and
//! resources the server scenarios call for. Scenarios Berth cannot pass yet are listed,
//! each with its reason, in `tests/conformance/expected-failures.yml`; the suite fails on
//! any other failure and on any listed scenario that passes (so the list only shrinks).
//! The suite is installed once under `target/` with npm and reused.

use std::path::{Path, PathBuf};
use std::process::Command;

const SUITE: &str = "@modelcontextprotocol/conformance@0.1.13";

fn suite_cli() -> PathBuf {
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|p| p.into_inner());
    let prefix = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-conformance");
    let cli = prefix.join("node_modules/.bin/conformance");
    let marker = prefix.join(".installed");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(SUITE) {
        std::fs::create_dir_all(&prefix).unwrap();
        let status = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(&prefix)
            .arg(SUITE)
            .status()
            .expect("npm runs (Node.js 20 or newer is needed for the conformance suite)");
        assert!(status.success(), "npm install {SUITE} failed");
        std::fs::write(&marker, SUITE).unwrap();
    }
    cli
}

/// Runs every server scenario of the suite (`--suite all`: the pending ones too) against
/// Berth.
#[test]
pub fn conformance() {
    let cli = suite_cli();
    let plugins = crate::support::plugins_dir(&["berth-test-conformance"]);
    // Loopback development settings: the scenarios connect without credentials and
    // call quickly; the plugin's tools keep the names the scenarios ask for.
    let config = crate::support::config_file(
        plugins.path(),
        "[http]\nsse_poll_after_ms = 300\n\n\
         [http.auth]\nenabled = false\n\n[http.rate_limit]\nrequests_per_minute = 0\n\n\
         [plugins.conformance]\ntool_prefix = \"\"\n",
    );
    let server = crate::http_client::HttpServer::start(plugins.path(), Some(&config), &[]);
    let baseline =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/expected-failures.yml");
    let out = Command::new(cli)
        .args(["server", "--suite", "all", "--url"])
        .arg(server.mcp_url())
        .arg("--expected-failures")
        .arg(&baseline)
        .output()
        .expect("the conformance suite runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the conformance suite failed\nstdout:\n{stdout}\nstderr:\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.process.stderr()
    );
    assert!(stdout.contains("Baseline check passed"), "{stdout}");
}
