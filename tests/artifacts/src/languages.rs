//! Plugins written in Python and JavaScript/TypeScript, built with Berth's SDKs for them
//! (`plugin-sdk/python` on componentize-py, `plugin-sdk/js` on componentize-js), for the
//! host's tests and benches.
//!
//! Unlike the Rust plugins these are not built by the build script: their toolchains come
//! from PyPI and npm, take seconds per component, and write virtualenvs and `node_modules`,
//! so they are built on first use into `target/lang-plugins`, and rebuilt only when a
//! source of the project, of its SDK or of the WIT changed (a stamp file holds a hash of
//! them). Builds of one component are serialised across threads and processes by a file
//! lock.
//!
//! Tools are installed under `target/lang-sdk`: a virtualenv with componentize-py for
//! Python (the SDK itself is found through `PYTHONPATH`, so it is always the checkout's
//! current one), and for JavaScript each project's copy gets its own `npm install` (see
//! [`js_workdir`]).

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The componentize-py release the Python SDK is built and tested with.
pub const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

/// The workspace root (this crate is at `tests/artifacts`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// The checkout's Python SDK (`plugin-sdk/python`).
pub fn python_sdk() -> PathBuf {
    workspace_root().join("plugin-sdk/python")
}

/// The checkout's JavaScript SDK (`plugin-sdk/js`).
pub fn js_sdk() -> PathBuf {
    workspace_root().join("plugin-sdk/js")
}

/// The interpreter of the virtualenv that builds Python plugins (componentize-py
/// installed), made on first use under `target/lang-sdk/python`.
pub fn python() -> PathBuf {
    let venv = workspace_root().join("target/lang-sdk/python");
    let python = venv.join("bin/python");
    let _lock = FileLock::take(&venv.with_extension("lock"));
    let marker = venv.join(".installed");
    if fs::read_to_string(&marker).ok().as_deref() != Some(COMPONENTIZE_PY) {
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv));
        run(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            COMPONENTIZE_PY,
        ]));
        fs::write(&marker, COMPONENTIZE_PY).expect("writing the virtualenv's marker");
    }
    python
}

/// Builds the Python plugin project at `project` (a folder with a `pyproject.toml`) and
/// returns its component, `target/lang-plugins/python/<folder name>.wasm`.
///
/// Panics with the build's output if it fails.
pub fn python_plugin(project: &Path) -> PathBuf {
    built(project, "python", &[&python_sdk()], |out| {
        python_build_command(project, out)
    })
}

/// Runs the SDK's build of `project` into `out` and returns its output, whatever its
/// status (for builds that must fail).
pub fn python_build(project: &Path, out: &Path) -> Output {
    output_of(&mut python_build_command(project, out))
}

fn python_build_command(project: &Path, out: &Path) -> Command {
    let mut command = Command::new(python());
    command
        .args(["-m", "berth_sdk", "build"])
        .arg(project)
        .arg("-o")
        .arg(out)
        .env("PYTHONPATH", python_sdk())
        .env("PYTHONDONTWRITEBYTECODE", "1");
    command
}

/// Runs `command` and returns its output, whatever its status.
pub fn output_of(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("running {command:?}: {e}"))
}

/// Builds the JavaScript/TypeScript plugin project at `project` (a folder with a
/// `package.json` whose `build` script runs `berth-js build`) and returns its component,
/// `target/lang-plugins/js/<folder name>.wasm`.
///
/// Panics with the build's output if it fails.
pub fn js_plugin(project: &Path) -> PathBuf {
    // berth-js reads the WIT from the repository's `wit/` as it builds.
    let wit = workspace_root().join("wit");
    built(project, "js", &[&js_sdk(), &wit], |out| {
        let mut command = npm(&js_workdir(project), "build");
        command.arg("--").arg("--out").arg(out);
        command
    })
}

/// A copy of the JavaScript project at `project` with its
/// packages installed, so that `npm install` never writes into the checkout. The copy
/// sits at the same relative path under `target/lang-plugins/js/tree`, beside a link to
/// the checkout's `plugin-sdk`, so the project's relative `file:` dependency on the SDK
/// and its `package-lock.json` stay valid as they are. Kept between runs, so
/// `node_modules` stays installed.
pub fn js_workdir(project: &Path) -> PathBuf {
    let root = workspace_root();
    // A project elsewhere (`berth new` writes an absolute SDK path) goes under `outside`.
    let relative = project
        .canonicalize()
        .ok()
        .and_then(|p| p.strip_prefix(&root).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| Path::new("outside").join(folder_name(project)));
    let tree = root.join("target/lang-plugins/js/tree");
    let copy = tree.join(&relative);
    let _lock = FileLock::take(&copy.with_extension("lock"));
    let sdk_link = tree.join("plugin-sdk");
    if !sdk_link.exists() {
        let _ = fs::remove_file(&sdk_link);
        std::os::unix::fs::symlink(root.join("plugin-sdk"), &sdk_link)
            .unwrap_or_else(|e| panic!("linking {}: {e}", sdk_link.display()));
    }
    copy_sources(project, &copy);
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&copy));
    copy
}

/// `npm run --silent SCRIPT` in `dir`.
pub fn npm(dir: &Path, script: &str) -> Command {
    let mut command = Command::new("npm");
    command.args(["run", "--silent", script]).current_dir(dir);
    command
}

/// Makes the next [`python_plugin`] or [`js_plugin`] (`language` `"python"` or `"js"`)
/// of `project` rebuild it even if nothing changed, for timing a build.
pub fn forget(project: &Path, language: &str) {
    let stamp = workspace_root()
        .join("target/lang-plugins")
        .join(language)
        .join(format!("{}.stamp", folder_name(project)));
    let _ = fs::remove_file(stamp);
}

/// The component for `project` built by `command(out)`, rebuilt only when the sources
/// of the project or of `sdks` changed since the last build.
fn built(
    project: &Path,
    language: &str,
    sdks: &[&Path],
    command: impl FnOnce(&Path) -> Command,
) -> PathBuf {
    let dir = workspace_root().join("target/lang-plugins").join(language);
    fs::create_dir_all(&dir).expect("creating target/lang-plugins");
    let name = folder_name(project);
    let out = dir.join(format!("{name}.wasm"));
    let stamp = dir.join(format!("{name}.stamp"));
    let _lock = FileLock::take(&dir.join(format!("{name}.lock")));
    let mut hasher = DefaultHasher::new();
    hasher.write(language.as_bytes());
    hash_tree(project, &mut hasher);
    for sdk in sdks {
        hash_tree(sdk, &mut hasher);
    }
    let hash = format!("{:016x}", hasher.finish());
    if out.is_file() && fs::read_to_string(&stamp).ok().as_deref() == Some(hash.as_str()) {
        return out;
    }
    let _ = fs::remove_file(&stamp);
    run(&mut command(&out));
    assert!(
        out.is_file(),
        "building {} reported success but wrote no {}",
        project.display(),
        out.display()
    );
    fs::write(&stamp, hash).expect("writing the build stamp");
    out
}

/// Runs `command`, panicking with its output unless it succeeds.
fn run(command: &mut Command) -> Output {
    let output = output_of(command);
    assert!(
        output.status.success(),
        "{command:?} failed ({})\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn folder_name(project: &Path) -> String {
    project
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| panic!("{} has no folder name", project.display()))
}

/// Whether a directory entry is something a build or an install wrote, not a source.
fn is_generated(name: &str) -> bool {
    matches!(
        name,
        "node_modules" | ".venv" | "__pycache__" | "build" | "dist" | "target"
    ) || name.ends_with(".wasm")
        || name.ends_with(".egg-info")
}

/// Feeds the names and contents of the source files under `dir` into `hasher`, in a
/// stable order.
fn hash_tree(dir: &Path, hasher: &mut DefaultHasher) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_generated(&name) {
            continue;
        }
        let path = entry.path();
        hasher.write(name.as_bytes());
        // Follows symlinks: the Python SDK reaches the WIT through one (`berth_sdk/wit`),
        // and so does `wit/sdk/deps` (the JavaScript SDK's WIT is hashed as a folder of its
        // own, see `js_plugin`).
        if path.is_dir() {
            hash_tree(&path, hasher);
        } else if let Ok(bytes) = fs::read(&path) {
            hasher.write(&bytes);
        }
    }
}

/// Makes `to` a copy of the source files of `from`, keeping what builds and installs wrote
/// there (so `node_modules` stays installed) and removing what `from` no longer has. As in
/// the build script's `sync_examples`, a file is written only when its bytes changed, and
/// through a rename, so that a process reading the copy (a test's `npm test`, a build)
/// never sees a half-written file.
fn copy_sources(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("creating {}: {e}", to.display()));
    for entry in fs::read_dir(to).unwrap_or_else(|e| panic!("listing {}: {e}", to.display())) {
        let entry = entry.expect("a directory entry");
        let (path, source) = (entry.path(), from.join(entry.file_name()));
        let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
        if is_generated(&entry.file_name().to_string_lossy())
            || (source.exists() && source.is_dir() == is_dir)
        {
            continue;
        }
        let removed = if is_dir {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        removed.unwrap_or_else(|e| panic!("removing {}: {e}", path.display()));
    }
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("listing {}: {e}", from.display())) {
        let entry = entry.expect("a directory entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_generated(&name) {
            continue;
        }
        let (path, copy) = (entry.path(), to.join(entry.file_name()));
        if path.is_dir() {
            copy_sources(&path, &copy);
            continue;
        }
        let bytes = fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        if fs::read(&copy).is_ok_and(|current| current == bytes) {
            continue;
        }
        let temporary = to.join(format!(".{name}.tmp"));
        fs::write(&temporary, &bytes)
            .and_then(|()| fs::rename(&temporary, &copy))
            .unwrap_or_else(|e| panic!("writing {}: {e}", copy.display()));
    }
}

/// An exclusive lock on a file, held until dropped (closing the file releases it).
struct FileLock {
    _file: fs::File,
}

impl FileLock {
    fn take(path: &Path) -> Self {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("creating {}: {e}", parent.display()));
        }
        let file =
            fs::File::create(path).unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        file.lock()
            .unwrap_or_else(|e| panic!("locking {}: {e}", path.display()));
        FileLock { _file: file }
    }
}
