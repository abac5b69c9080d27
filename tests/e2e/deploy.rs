//! The Kubernetes deployment in `deploy/`: its manifests pass the Kubernetes API schemas
//! (strictly, offline, with `kubernetes-validate`'s bundled schemas), agree with Berth's
//! settings (probes, grace period, security context), and its `berth.toml` is a config
//! Berth accepts.

use std::path::Path;
use std::process::Command;

/// The Kubernetes version the manifests are checked against.
const KUBERNETES: &str = "1.33.0";
const VALIDATOR: &str = "kubernetes-validate==1.37.0";

fn deploy_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

#[test]
fn the_kubernetes_manifests_are_valid_and_agree_with_berth() {
    let python = crate::interop::venv_python_with(VALIDATOR);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/validate_deploy.py");
    let out = Command::new(&python)
        .arg(script)
        .arg(deploy_dir())
        .arg(KUBERNETES)
        .output()
        .expect("the validation script runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "deploy/kubernetes is not valid:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("8 manifests checked"), "{stdout}");
}

#[test]
fn the_configmaps_berth_toml_is_a_config_berth_accepts() {
    let manifest = std::fs::read_to_string(deploy_dir().join("kubernetes/configmap.yaml")).unwrap();
    let config: String = manifest
        .lines()
        .skip_while(|line| line.trim() != "berth.toml: |")
        .skip(1)
        .take_while(|line| line.is_empty() || line.starts_with("    "))
        .map(|line| format!("{}\n", line.strip_prefix("    ").unwrap_or(line)))
        .collect();
    assert!(config.contains("[cluster]"), "{config}");
    let dir = tempfile::tempdir().unwrap();
    let file = crate::support::config_file(dir.path(), &config);
    let loaded = berth::config::Config::load(Some(&file), &[]);
    assert!(loaded.is_ok(), "{:?}", loaded.err());
    let loaded = loaded.unwrap();
    assert_eq!(
        loaded.cluster.redis_url_env.as_deref(),
        Some("BERTH_REDIS_URL")
    );
}
