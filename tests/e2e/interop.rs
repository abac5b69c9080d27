//! Interoperability with the official Python MCP SDK: its stdio client lists and calls
//! tools and lists and reads resources against the real binary. The virtualenv is made
//! once under `target/` (`python3 -m venv` + `pip install mcp`) and reused.

use std::path::{Path, PathBuf};
use std::process::Command;

const MCP_VERSION_SPEC: &str = "mcp==2.3.0";

fn venv_python() -> PathBuf {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-python");
    let python = target.join("bin/python");
    let marker = target.join(".installed");
    if !marker.is_file() {
        let status = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&target)
            .status()
            .expect("python3 runs");
        assert!(status.success(), "python3 -m venv failed");
        let status = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                MCP_VERSION_SPEC,
            ])
            .status()
            .expect("pip runs");
        assert!(status.success(), "pip install {MCP_VERSION_SPEC} failed");
        std::fs::write(&marker, MCP_VERSION_SPEC).unwrap();
    }
    python
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
