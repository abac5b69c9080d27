//! Compiles every plugin crate under `plugins/` to a `wasm32-wasip2` component and generates
//! `$OUT_DIR/plugins.rs`, which `src/lib.rs` includes.
//!
//! All plugins build in one nested `cargo build --release --target wasm32-wasip2` run from the
//! workspace root, into a target directory of their own (`target/wasm-plugins`): the outer cargo
//! holds the lock on its build directory for as long as this script runs, so a nested build
//! sharing that directory would wait for it forever. A plugin is any directory with a
//! `Cargo.toml` directly under `plugins/` (an example) or `plugins/testing/` (a test plugin); the
//! nested cargo's JSON messages, not naming rules, say which `.wasm` file each one produced.

use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

/// The target every plugin is built for.
const WASM_TARGET: &str = "wasm32-wasip2";

/// The subdirectory of `plugins/` that holds test-only plugins.
const TESTING_DIR: &str = "testing";

/// Profile settings for the plugins, given on the nested command line so that the workspace's
/// release profile (thin LTO, for the host) stays as it is. Plugins are optimised for speed: the
/// example plugins are what `scripts/serve` runs and what the benchmarks measure, and a tool call's
/// guest work at `opt-level = "s"` cost a quarter to three quarters more (BENCHMARKS.md, issue 7)
/// for components only a fifth smaller and a build under a minute shorter. Cross-crate LTO is skipped
/// (build time for nothing here), and only debug info is stripped, keeping the name section so
/// that traps in tests show function names.
const PROFILE_OVERRIDES: &[&str] = &[
    "profile.release.opt-level=3",
    "profile.release.lto=false",
    "profile.release.strip=\"debuginfo\"",
];

fn main() {
    if let Err(error) = run() {
        // `cargo::error` puts the summary at the top of cargo's report. Exiting non-zero, rather
        // than only logging the error, makes cargo also print this script's stderr, which holds
        // the nested build's compiler output.
        for line in format!("{error:#}").lines() {
            println!("cargo::error={line}");
        }
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env_var("OUT_DIR")?);
    // This crate lives at `tests/artifacts`, two levels below the workspace root.
    let root = manifest_dir
        .join("../..")
        .canonicalize()
        .context("finding the workspace root")?;

    let mut plugins = discover(&root.join("plugins"))?;
    // `scripts/serve` needs only the examples; the test plugins are built by the first
    // test run (into the same folder, so the examples are not built twice).
    if env::var_os("CARGO_FEATURE_EXAMPLES_ONLY").is_some() {
        plugins.retain(|plugin| plugin.kind == Kind::Example);
    }
    watch_sources(&root, &plugins)?;
    let target_dir = root.join("target").join("wasm-plugins");
    let components = if plugins.is_empty() {
        BTreeMap::new()
    } else {
        ensure_wasm_target()?;
        build(&root, &target_dir, &plugins)?
    };

    let examples_dir = target_dir.join("examples");
    let examples = plugins
        .iter()
        .filter(|plugin| plugin.kind == Kind::Example)
        .map(|plugin| {
            (
                plugin.package.as_str(),
                components[&plugin.package].as_path(),
            )
        });
    // Two outer builds (say `cargo test` and rust-analyzer's check) can run this script at once.
    // The nested cargo serialises their builds but not what follows, so copying takes a lock.
    fs::create_dir_all(&target_dir)
        .with_context(|| format!("creating {}", target_dir.display()))?;
    let lock_path = target_dir.join("examples.lock");
    let lock = fs::File::create(&lock_path)
        .with_context(|| format!("creating {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("locking {}", lock_path.display()))?;
    sync_examples(&examples_dir, examples)?;
    drop(lock);

    let code = generate(&root, &plugins, &components, &examples_dir)?;
    let generated = out_dir.join("plugins.rs");
    fs::write(&generated, code).with_context(|| format!("writing {}", generated.display()))?;
    Ok(())
}

/// Tells cargo which sources this script's output depends on.
///
/// Directories are scanned recursively by cargo, so only the Rust sources of the crates
/// built here are listed, never `plugins/` or `plugin-sdk/` as a whole: the Python and
/// JavaScript plugins and SDKs beside them get virtualenvs, `node_modules` and built
/// components written into their folders, and each such write would otherwise rerun this
/// script and relink every test. A new plugin crate changes `Cargo.lock`, which is listed.
fn watch_sources(root: &Path, plugins: &[Plugin]) -> Result<()> {
    let mut inputs: Vec<PathBuf> = ["wit", "Cargo.toml", "Cargo.lock", "plugins/.cargo"]
        .iter()
        .chain(&[
            "plugin-sdk/Cargo.toml",
            "plugin-sdk/src",
            "plugin-sdk/macros",
        ])
        .chain(&["plugin-sdk/uri-template"])
        .map(|input| root.join(input))
        .collect();
    for plugin in plugins {
        inputs.extend(plugin.manifest.parent().map(Path::to_path_buf));
    }
    // Guest sources shared by several test plugins (`#[path]` modules).
    for entry in fs::read_dir(root.join("plugins").join(TESTING_DIR))? {
        let path = entry?.path();
        if path.extension() == Some(OsStr::new("rs")) {
            inputs.push(path);
        }
    }
    for input in inputs {
        println!("cargo::rerun-if-changed={}", input.display());
    }
    Ok(())
}

/// Whether a plugin is an example (`plugins/*`) or a test plugin (`plugins/testing/*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Example,
    Test,
}

/// One plugin crate found on disk.
#[derive(Debug)]
struct Plugin {
    /// `[package] name` from its `Cargo.toml`.
    package: String,
    /// Its directory's name, which becomes its identifier in `foreach_test_plugin!`.
    dir_name: String,
    /// Canonical path of its `Cargo.toml`, to match cargo's messages to it.
    manifest: PathBuf,
    kind: Kind,
}

/// Finds the plugin crates under `plugins_dir`, sorted by package name.
fn discover(plugins_dir: &Path) -> Result<Vec<Plugin>> {
    let mut plugins = Vec::new();
    for (dir, kind) in [
        (plugins_dir.to_path_buf(), Kind::Example),
        (plugins_dir.join(TESTING_DIR), Kind::Test),
    ] {
        for sub in subdirectories(&dir)? {
            let dir_name = sub
                .file_name()
                .and_then(OsStr::to_str)
                .with_context(|| format!("{} has a name that is not UTF-8", sub.display()))?
                .to_owned();
            if kind == Kind::Example && dir_name == TESTING_DIR {
                continue;
            }
            let manifest = sub.join("Cargo.toml");
            // A directory without a manifest is not a crate (yet): someone may be creating it.
            if !manifest.is_file() {
                continue;
            }
            let package = package_name(&manifest)?;
            let manifest = manifest
                .canonicalize()
                .with_context(|| format!("resolving {}", manifest.display()))?;
            plugins.push(Plugin {
                package,
                dir_name,
                manifest,
                kind,
            });
        }
    }
    plugins.sort_by(|a, b| a.package.cmp(&b.package));
    if let Some(pair) = plugins
        .windows(2)
        .find(|pair| pair[0].package == pair[1].package)
    {
        bail!(
            "two plugin crates are named `{}`: {} and {}",
            pair[0].package,
            pair[0].manifest.display(),
            pair[1].manifest.display()
        );
    }
    Ok(plugins)
}

/// The subdirectories of `dir`, sorted; none if `dir` does not exist. Hidden ones (such as a
/// `.cargo` configuration directory) are skipped.
fn subdirectories(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error).with_context(|| format!("listing {}", dir.display())),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && entry.file_type()?.is_dir() {
            dirs.push(entry.path());
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Reads `[package] name` from a `Cargo.toml`.
fn package_name(manifest: &Path) -> Result<String> {
    let text =
        fs::read_to_string(manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("parsing {}", manifest.display()))?;
    table
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(toml::Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("{} has no `[package] name`", manifest.display()))
}

/// Installs the wasm target's standard library with rustup if the compiler lacks it.
fn ensure_wasm_target() -> Result<()> {
    // The compiler cargo resolved for the outer build; the nested build uses the same one.
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
    if wasm_std_installed(&rustc)? {
        return Ok(());
    }
    // Note: rustup's automatic installation may be off, so the target is added explicitly. Name
    // the toolchain that owns this rustc, or rustup would pick its default one.
    let mut command = Command::new("rustup");
    command.args(["target", "add", WASM_TARGET]);
    if let Some(toolchain) = rustup_toolchain(&rustc) {
        command.arg("--toolchain").arg(toolchain);
    }
    eprintln!("berth-test-artifacts: running {}", display(&command));
    let status = command
        .status()
        .with_context(|| format!("running {} (is rustup installed?)", display(&command)))?;
    ensure!(
        status.success(),
        "{} failed ({status}); install the {WASM_TARGET} target by hand",
        display(&command)
    );
    ensure!(
        wasm_std_installed(&rustc)?,
        "{} succeeded, but {} still has no {WASM_TARGET} standard library: is that compiler \
         managed by rustup?",
        display(&command),
        rustc.to_string_lossy()
    );
    Ok(())
}

/// Whether `rustc` has a standard library for the wasm target.
fn wasm_std_installed(rustc: &OsStr) -> Result<bool> {
    let libdir = rustc_print(
        rustc,
        &["--print", "target-libdir", "--target", WASM_TARGET],
    )?;
    // The directory can outlive a removed target; the library itself is what matters.
    let has_std = fs::read_dir(libdir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.file_name().to_string_lossy().starts_with("libstd-"))
    });
    Ok(has_std)
}

/// The rustup toolchain that `rustc` belongs to, if it lives in a rustup toolchain directory.
fn rustup_toolchain(rustc: &OsStr) -> Option<String> {
    let sysroot = PathBuf::from(rustc_print(rustc, &["--print", "sysroot"]).ok()?);
    let in_rustup = sysroot.parent()?.file_name()? == "toolchains";
    in_rustup.then(|| sysroot.file_name()?.to_str().map(str::to_owned))?
}

/// Runs `rustc` with `args` and returns its trimmed stdout.
fn rustc_print(rustc: &OsStr, args: &[&str]) -> Result<String> {
    let output = Command::new(rustc)
        .args(args)
        .output()
        .with_context(|| format!("running {} {}", rustc.to_string_lossy(), args.join(" ")))?;
    ensure!(
        output.status.success(),
        "{} {} failed: {}",
        rustc.to_string_lossy(),
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// Builds all `plugins` in one nested cargo run; returns each package's component.
fn build(root: &Path, target_dir: &Path, plugins: &[Plugin]) -> Result<BTreeMap<String, PathBuf>> {
    let mut command = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .current_dir(root)
        // `--keep-going` builds every plugin it can, so a failure report lists them all.
        .args([
            "build",
            "--release",
            "--keep-going",
            "--target",
            WASM_TARGET,
        ])
        .arg("--target-dir")
        .arg(target_dir)
        // Diagnostics come back inside the JSON messages, so each one can be tied to the plugin
        // it belongs to; they are printed to the build log below as they arrive.
        .args(["--message-format", "json"]);
    for setting in PROFILE_OVERRIDES {
        command.args(["--config", setting]);
    }
    for plugin in plugins {
        command.args(["-p", &plugin.package]);
    }
    scrub_outer_build_env(&mut command);
    // A `build.build-dir` in a cargo config would otherwise put the nested build's intermediate
    // files, and its lock, back in a directory the outer build may be holding.
    command.env("CARGO_BUILD_BUILD_DIR", target_dir);
    command.stdout(Stdio::piped()).stderr(Stdio::inherit());

    let shown = display(&command);
    eprintln!("berth-test-artifacts: running {shown}");
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {shown}"))?;
    let stdout = child
        .stdout
        .take()
        .context("the nested cargo has no stdout")?;

    let mut components: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut with_errors = BTreeSet::new();
    let mut problems = Vec::new();
    let mut log = std::io::stderr().lock();
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading the nested cargo's output")?;
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            // Not a cargo message (nothing else should write there): keep it visible.
            writeln!(log, "{line}")?;
            continue;
        };
        let plugin = message["manifest_path"]
            .as_str()
            .and_then(|path| Path::new(path).canonicalize().ok())
            .and_then(|path| plugins.iter().find(|plugin| plugin.manifest == path));
        match message["reason"].as_str() {
            Some("compiler-message") => {
                if let Some(rendered) = message["message"]["rendered"].as_str() {
                    write!(log, "{rendered}")?;
                }
                if message["message"]["level"] == "error"
                    && let Some(plugin) = plugin
                {
                    with_errors.insert(plugin.package.clone());
                }
            }
            Some("compiler-artifact") => {
                let Some(plugin) = plugin else { continue };
                let files = message["filenames"].as_array().into_iter().flatten();
                for file in files
                    .filter_map(Value::as_str)
                    .filter(|f| f.ends_with(".wasm"))
                {
                    let file = PathBuf::from(file);
                    if let Some(other) = components.insert(plugin.package.clone(), file.clone())
                        && other != file
                    {
                        problems.push(format!(
                            "{} produced two components, {} and {}: a plugin crate must have \
                             exactly one cdylib or bin target",
                            plugin.package,
                            other.display(),
                            file.display()
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    drop(log);
    let status = child
        .wait()
        .with_context(|| format!("waiting for {shown}"))?;
    eprintln!(
        "berth-test-artifacts: the nested wasm build of {} plugins took {:.1} s",
        plugins.len(),
        started.elapsed().as_secs_f64()
    );

    let missing: Vec<&str> = plugins
        .iter()
        .map(|plugin| plugin.package.as_str())
        .filter(|package| !components.contains_key(*package) && !with_errors.contains(*package))
        .collect();
    if status.success() && missing.is_empty() && problems.is_empty() {
        return Ok(components);
    }

    let mut report = String::from("building the wasm plugins failed");
    if !status.success() {
        write!(report, " (the nested cargo exited with {status})")?;
    }
    if !with_errors.is_empty() {
        let list: Vec<&str> = with_errors.iter().map(String::as_str).collect();
        write!(
            report,
            "\nplugins that failed to compile: {}",
            list.join(", ")
        )?;
    }
    if !missing.is_empty() && !status.success() {
        write!(
            report,
            "\nplugins not built (a dependency failed, or cargo stopped before building): {}",
            missing.join(", ")
        )?;
    } else if !missing.is_empty() {
        write!(
            report,
            "\nplugins that produced no .wasm: {} (a plugin crate needs crate-type = \
             [\"cdylib\"] or a bin target)",
            missing.join(", ")
        )?;
    }
    for problem in problems {
        write!(report, "\n{problem}")?;
    }
    write!(
        report,
        "\ncommand: {shown}\nthe nested cargo's output is in this build script's stderr, below\n\
         Note: a new plugin directory must also be a workspace member (the root Cargo.toml lists \
         plugins/testing/* one by one)"
    )?;
    bail!(report)
}

/// Removes from `command` the environment the outer build set, or that a user set for the outer
/// build, which must not reach the nested one.
///
/// Kept on purpose: `CARGO_MAKEFLAGS`, so the nested cargo joins the outer cargo's jobserver and
/// both together stay within the `-j` the user asked for (the nested cargo always has its own
/// implicit token, so this cannot deadlock); `RUSTC` and `RUSTUP_TOOLCHAIN`, so the plugins are
/// built by the same compiler as everything else; and user settings that name the wasm target or
/// the release profile (`CARGO_TARGET_WASM32_WASIP2_*`, `CARGO_PROFILE_RELEASE_*`).
fn scrub_outer_build_env(command: &mut Command) {
    for (key, _) in env::vars_os() {
        if let Some(key) = key.to_str()
            && is_outer_build_env(key)
        {
            command.env_remove(key);
        }
    }
}

// `is_outer_build_env`: shared with the crate itself, which exports it for benches that start
// nested builds of their own.
include!("src/outer_env.rs");

/// Makes `dir` hold exactly the example components, as `<package>.wasm`.
fn sync_examples<'a>(
    dir: &Path,
    examples: impl Iterator<Item = (&'a str, &'a Path)>,
) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let wanted: BTreeMap<String, &Path> = examples
        .map(|(package, component)| (format!("{package}.wasm"), component))
        .collect();

    // Anything else goes: a removed or renamed plugin, a temporary file from an interrupted run.
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let keep = entry
            .file_name()
            .to_str()
            .is_some_and(|name| wanted.contains_key(name));
        if !keep {
            let path = entry.path();
            let removed = if entry.file_type()?.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            removed.with_context(|| format!("removing {}", path.display()))?;
        }
    }

    for (name, component) in wanted {
        let bytes =
            fs::read(component).with_context(|| format!("reading {}", component.display()))?;
        let destination = dir.join(&name);
        // Rewrite only on change: a test may watch this directory, and a rewrite is an event.
        if fs::read(&destination).is_ok_and(|current| current == bytes) {
            continue;
        }
        // Write beside it, then rename, so that a reader never sees half a component. The
        // temporary name is hidden, as plugin-directory watchers ignore such files.
        let temporary = dir.join(format!(".{name}.tmp"));
        fs::write(&temporary, &bytes)
            .with_context(|| format!("writing {}", temporary.display()))?;
        fs::rename(&temporary, &destination)
            .with_context(|| format!("renaming {}", temporary.display()))?;
    }
    Ok(())
}

/// The Rust source of `$OUT_DIR/plugins.rs`.
fn generate(
    root: &Path,
    plugins: &[Plugin],
    components: &BTreeMap<String, PathBuf>,
    examples_dir: &Path,
) -> Result<String> {
    let mut code = String::from("// Generated by tests/artifacts/build.rs; do not edit.\n\n");

    code += "/// Every plugin package under `plugins/` and the absolute path of its component, \
             sorted by package.\n";
    code += "pub const PLUGINS: &[(&str, &str)] = &[\n";
    for plugin in plugins {
        let component = utf8(&components[&plugin.package])?;
        writeln!(code, "    ({:?}, {component:?}),", plugin.package)?;
    }
    code += "];\n\n";

    for (kind, name, doc) in [
        (
            Kind::Example,
            "EXAMPLES",
            "Example plugin packages: those directly under `plugins/`, sorted.",
        ),
        (
            Kind::Test,
            "TEST_PLUGINS",
            "Test plugin packages: those under `plugins/testing/`, sorted.",
        ),
    ] {
        writeln!(code, "/// {doc}\npub const {name}: &[&str] = &[")?;
        for plugin in plugins.iter().filter(|plugin| plugin.kind == kind) {
            writeln!(code, "    {:?},", plugin.package)?;
        }
        code += "];\n\n";
    }

    writeln!(
        code,
        "/// The directory that holds a copy of each example's component.\n\
         const EXAMPLES_DIR: &str = {:?};\n",
        utf8(examples_dir)?
    )?;
    writeln!(
        code,
        "/// The workspace's `plugins/` directory, where the plugins' sources are.\n\
         #[cfg(test)]\n\
         const PLUGINS_SOURCE_DIR: &str = {:?};\n",
        utf8(&root.join("plugins"))?
    )?;

    code += "/// Invokes `$mac!(ident, \"package\")` once for each test plugin, where `ident` is the \
             name of the\n\
             /// plugin's directory under `plugins/testing/` in snake case.\n\
             ///\n\
             /// A test suite invokes it with a macro that refers to one test per plugin (for \
             example\n\
             /// `use self::$ident as _;`), so that adding a test plugin without a test is a \
             compile error.\n\
             #[macro_export]\n\
             macro_rules! foreach_test_plugin {\n    ($mac:ident) => {\n";
    for plugin in plugins.iter().filter(|plugin| plugin.kind == Kind::Test) {
        let ident = plugin.dir_name.replace('-', "_");
        let valid = ident.starts_with(|c: char| c.is_ascii_alphabetic())
            && ident.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        ensure!(
            valid,
            "the test plugin directory plugins/testing/{} cannot name a Rust identifier; rename it",
            plugin.dir_name
        );
        writeln!(code, "        $mac!({ident}, {:?});", plugin.package)?;
    }
    code += "    };\n}\n";
    Ok(code)
}

/// `path` as UTF-8, which the generated string constants need.
fn utf8(path: &Path) -> Result<&str> {
    path.to_str()
        .with_context(|| format!("{} is not valid UTF-8", path.display()))
}

/// The value of the environment variable `key`, which cargo always sets for build scripts.
fn env_var(key: &str) -> Result<OsString> {
    env::var_os(key).with_context(|| format!("{key} is not set; is cargo running this script?"))
}

/// `command` as a shell-like line for messages: directory, program and arguments.
fn display(command: &Command) -> String {
    let mut shown = String::new();
    if let Some(dir) = command.get_current_dir() {
        shown = format!("cd {} && ", dir.display());
    }
    shown += &command.get_program().to_string_lossy();
    for arg in command.get_args() {
        shown.push(' ');
        shown += &arg.to_string_lossy();
    }
    format!("`{shown}`")
}
