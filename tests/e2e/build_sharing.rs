//! The test run reuses what `scripts/serve` compiled (issue 26): both build the release
//! profile, and cargo reuses a compiled crate only when it is built with the same features.
//! `cargo test --workspace` also turns on the features the dev-dependencies ask for (tokio's
//! `test-util`, what criterion's dependencies need, the SDK's proc-macros), so a new
//! dev-dependency can quietly make the first test run compile wasmtime and most of the tree a
//! second time. This checks, with `cargo tree`, that every crate serve builds is built with the
//! same features in the test run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (this test lives in `host/`'s e2e suite).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("workspace root")
}

/// The package and feature arguments of the `cargo build` in `scripts/serve`.
fn serve_selection(root: &Path) -> Vec<String> {
    let script = std::fs::read_to_string(root.join("scripts/serve")).expect("scripts/serve");
    // The command may continue over lines ending in a backslash.
    let joined = script.replace("\\\n", " ");
    let line = joined
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("cargo build --release"))
        .expect("scripts/serve runs `cargo build --release ...`");
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut selection = Vec::new();
    let mut at = 0;
    while at < words.len() {
        if matches!(words[at], "-p" | "--package" | "--features") {
            selection.push(words[at].to_string());
            selection.push(words[at + 1].to_string());
            at += 2;
        } else {
            at += 1;
        }
    }
    assert!(
        selection.iter().any(|word| word == "berth-host"),
        "scripts/serve builds berth-host: {line}"
    );
    selection
}

/// Every `package version [features]` line `cargo tree` prints for `args` (on this
/// machine's target, as the builds are).
fn crates_with_features(root: &Path, args: &[String], edges: &str) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO"))
        .current_dir(root)
        .args(["tree", "--locked", "--offline", "--prefix", "none"])
        .args(["-e", edges, "-f", "{p} [{f}]"])
        .args(args)
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|line| line.trim_end_matches("(*)").trim_end().to_string())
        .filter(|line| !line.is_empty())
        .collect()
}

#[test]
fn the_test_run_compiles_what_serve_built_with_the_same_features() {
    let root = root();
    let serve = crates_with_features(&root, &serve_selection(&root), "normal,build");
    let test = crates_with_features(&root, &["--workspace".to_string()], "normal,build,dev");
    let rebuilt: Vec<&String> = serve
        .iter()
        // The artifacts crate is told to build only the examples for serve; the test run
        // builds the rest of the plugins, which is cheap to rerun (its build script).
        .filter(|line| !line.starts_with("berth-test-artifacts "))
        .filter(|line| !test.contains(*line))
        .collect();
    assert!(
        rebuilt.is_empty(),
        "the test run would compile these crates again, with other features than \
         scripts/serve (align the features, e.g. in [workspace.dependencies], or add the \
         package to serve's build):\n{}",
        rebuilt
            .iter()
            .map(|line| format!("  {line}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
