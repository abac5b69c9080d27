//! Interoperability with the official Python MCP SDK: its stdio client and its
//! Streamable HTTP client list and call tools and list and read resources against the
//! real binary, and drive every capability plugins can offer (prompts, completion,
//! logging, progress, sampling, elicitation, resource change notices) over both. The virtualenv is made once under `target/` (`python3 -m venv` +
//! `pip install mcp`) and reused.

use std::path::{Path, PathBuf};
use std::process::Command;

const MCP_VERSION_SPEC: &str = "mcp==2.3.0";

/// The e2e virtualenv's python with the official MCP SDK, made on first use.
pub(crate) fn venv_python() -> PathBuf {
    venv_python_with(MCP_VERSION_SPEC)
}

/// The e2e virtualenv's python with the MCP SDK and `spec` (a pip requirement) installed,
/// once: the virtualenv is made on first use and shared by every test that needs Python
/// packages. The SDK always goes in first, so which test happens to run first on a clean
/// clone cannot leave a script without the client it imports.
pub(crate) fn venv_python_with(spec: &str) -> PathBuf {
    // Tests run in parallel; only one may create the virtualenv or install into it.
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|p| p.into_inner());
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-python");
    let python = target.join("bin/python");
    if !python.is_file() {
        let status = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&target)
            .status()
            .expect("python3 runs");
        assert!(status.success(), "python3 -m venv failed");
    }
    install_once(&target, &python, MCP_VERSION_SPEC);
    install_once(&target, &python, spec);
    python
}

/// Installs `spec` into the virtualenv unless its marker says an earlier run did.
fn install_once(target: &Path, python: &Path, spec: &str) {
    let name: String = spec
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let marker = target.join(format!(".installed-{name}"));
    if marker.is_file() {
        return;
    }
    let status = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            spec,
        ])
        .status()
        .expect("pip runs");
    assert!(status.success(), "pip install {spec} failed");
    std::fs::write(&marker, spec).unwrap();
}

#[test]
fn python_sdk_client_lists_calls_and_reads() {
    let python = venv_python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/interop.py");
    let plugins = crate::support::plugins_dir(&["berth-plugin-echo"]);
    let out = Command::new(python)
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_berth"))
        .arg(plugins.path())
        .output()
        .expect("the interop script runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "interop failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("interop ok"), "{stdout}");
}

#[test]
fn python_sdk_http_client_with_a_token_sees_what_its_role_grants_and_hears_changes() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let python = venv_python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/interop_http.py");
    let plugins = crate::support::plugins_dir(&["berth-plugin-echo"]);
    let token = "berth_python_interop_token";
    let config = crate::support::config_file(
        plugins.path(),
        &format!(
            "[[http.auth.tokens]]\nname = \"python\"\nsha256 = \"{}\"\nroles = [\"reader\"]\n\n\
             [roles.reader]\ntools = [\"echo/echo\"]\nresources = [\"echo/*\"]\n",
            berth::auth::token_digest(token)
        ),
    );
    let server = crate::http_client::HttpServer::start(plugins.path(), Some(&config), &[]);
    let mut child = Command::new(python)
        .arg(script)
        .arg(server.mcp_url())
        .arg(token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the interop script runs");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        if line == "waiting for change" {
            crate::support::install(
                plugins.path(),
                "time.wasm",
                &crate::support::component("berth-plugin-time"),
            );
        }
        seen.push(line);
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "interop over HTTP failed\nstdout:\n{}\nstderr:\n{stderr}\nserver log:\n{}",
        seen.join("\n"),
        server.process.stderr()
    );
    assert_eq!(
        seen.last().map(String::as_str),
        Some("interop ok"),
        "{seen:?}"
    );
}

/// Runs `tests/python/capabilities.py` with `args` and fails with its output unless it
/// finished every check.
fn run_capabilities(args: &[&std::ffi::OsStr], server_log: impl Fn() -> String) {
    let python = venv_python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/capabilities.py");
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .expect("the capabilities script runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("capabilities ok"),
        "capabilities failed\nstdout:\n{stdout}\nstderr:\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server_log()
    );
}

/// The conformance plugin with its own tool names, as the capability checks call them.
const CONFORMANCE_CONFIG: &str = "[plugins.conformance]\ntool_prefix = \"\"\n";

#[test]
fn python_sdk_drives_every_capability_over_stdio() {
    let plugins = crate::support::plugins_dir(&["berth-test-conformance"]);
    let config = crate::support::config_file(plugins.path(), CONFORMANCE_CONFIG);
    let binary = std::ffi::OsStr::new(env!("CARGO_BIN_EXE_berth"));
    run_capabilities(
        &[
            "stdio".as_ref(),
            binary,
            plugins.path().as_os_str(),
            config.as_os_str(),
        ],
        String::new,
    );
}

#[test]
fn python_sdk_drives_every_capability_over_http() {
    let plugins = crate::support::plugins_dir(&["berth-test-conformance"]);
    let config = crate::support::config_file(
        plugins.path(),
        &format!("[http.auth]\nenabled = false\n\n{CONFORMANCE_CONFIG}"),
    );
    let server = crate::http_client::HttpServer::start(plugins.path(), Some(&config), &[]);
    let url = server.mcp_url();
    run_capabilities(&["http".as_ref(), url.as_ref()], || server.process.stderr());
}
