//! Berth's plugins, compiled to `wasm32-wasip2` components, for the host's tests and benches.
//!
//! The build script compiles every plugin crate under `plugins/` (examples) and
//! `plugins/testing/` (test plugins, each embodying one misbehaviour) in one nested release
//! build, into `target/wasm-plugins`. This crate only says where the results are; it does not
//! load or run them. Use it as a dev-dependency:
//!
//! ```no_run
//! let component = berth_test_artifacts::wasm("berth-test-describe-trap");
//! let plugins_dir = berth_test_artifacts::examples_dir(); // for `berth serve --plugins`
//! let scratch = berth_test_artifacts::fresh_dir_with(&["berth-plugin-json"]); // to mutate
//! # let _ = (component, plugins_dir, scratch);
//! ```
//!
//! Every test plugin needs a test: a suite makes that a compile error with
//! [`foreach_test_plugin!`], naming one test function per plugin directory:
//!
//! ```ignore
//! macro_rules! has_test {
//!     ($plugin:ident, $package:literal) => {
//!         #[allow(unused_imports)]
//!         use self::$plugin as _;
//!     };
//! }
//! berth_test_artifacts::foreach_test_plugin!(has_test);
//!
//! #[tokio::test]
//! async fn describe_trap() { /* load berth_test_artifacts::wasm("berth-test-describe-trap") */ }
//! ```
//!
//! Note: the components are rebuilt when `plugins/`, `plugin-sdk/`, `wit/` or the root
//! `Cargo.toml`/`Cargo.lock` change. If `target/wasm-plugins` is deleted by hand, cargo does not
//! notice; [`wasm`] then panics and says how to rebuild.

use std::fs;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/plugins.rs"));
include!("outer_env.rs");

pub mod languages;

/// The example plugins that load with no grants: every example but `files`, which needs a
/// folder. What benches serve when they want "the examples".
pub const EXAMPLES_WITHOUT_GRANTS: [&str; 5] = [
    "berth-plugin-text",
    "berth-plugin-json",
    "berth-plugin-time",
    "berth-plugin-docs",
    "berth-plugin-http",
];

/// The absolute path of `package`'s component; panics if `package` is not a plugin crate or its
/// component is missing.
pub fn wasm(package: &str) -> PathBuf {
    let Some((_, path)) = PLUGINS.iter().find(|(name, _)| *name == package) else {
        let known: Vec<&str> = PLUGINS.iter().map(|(name, _)| *name).collect();
        panic!(
            "no plugin package named `{package}`; the known packages are: {}",
            known.join(", ")
        );
    };
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "the component of `{package}` is missing at {}: it was deleted after the build; rebuild \
         with `touch tests/artifacts/build.rs && cargo build -p berth-test-artifacts`",
        path.display()
    );
    path
}

/// The directory that holds exactly the example plugins' components, named `<package>.wasm`.
///
/// It is shared by every test: point a host at it, but copy it (see [`fresh_dir_with`]) to add,
/// change or remove plugins.
pub fn examples_dir() -> PathBuf {
    PathBuf::from(EXAMPLES_DIR)
}

/// A new temporary directory holding a copy of each of `packages`' components as
/// `<package>.wasm`, for tests that change a plugin directory (hot reload, load failures).
///
/// Panics, naming the package, if a component cannot be copied.
pub fn fresh_dir_with(packages: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("berth-plugins-")
        .tempdir()
        .expect("creating a temporary plugin directory");
    for package in packages {
        copy_component(package, dir.path());
    }
    dir
}

/// Copies `package`'s component into `dir` as `<package>.wasm` and returns the copy's path.
///
/// Panics, naming the package, if the component cannot be copied.
pub fn copy_component(package: &str, dir: &Path) -> PathBuf {
    let destination = dir.join(format!("{package}.wasm"));
    fs::copy(wasm(package), &destination).unwrap_or_else(|error| {
        panic!(
            "copying the component of `{package}` to {}: {error}",
            destination.display()
        )
    });
    destination
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The first eight bytes of a component (a core module has version 1, layer 0 instead).
    const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

    /// The names of the directories under `dir` that hold a `Cargo.toml`.
    fn crate_dirs(dir: &Path) -> BTreeSet<String> {
        let Ok(entries) = fs::read_dir(dir) else {
            return BTreeSet::new();
        };
        entries
            .flatten()
            .filter(|entry| entry.path().join("Cargo.toml").is_file())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn every_component_exists_and_is_a_component() {
        for (package, path) in PLUGINS {
            let bytes = fs::read(path).unwrap_or_else(|e| panic!("{package}: {path}: {e}"));
            assert!(
                bytes.starts_with(&COMPONENT_HEADER),
                "{package}: {path} is not a component"
            );
        }
    }

    #[test]
    fn examples_and_test_plugins_partition_the_plugins() {
        let all: BTreeSet<&str> = PLUGINS.iter().map(|(name, _)| *name).collect();
        let examples: BTreeSet<&str> = EXAMPLES.iter().copied().collect();
        let tests: BTreeSet<&str> = TEST_PLUGINS.iter().copied().collect();
        assert!(examples.is_disjoint(&tests));
        assert_eq!(all, &examples | &tests);
    }

    /// Guards the build script's discovery: every crate on disk was built.
    #[test]
    fn every_plugin_crate_on_disk_was_built() {
        let source = Path::new(PLUGINS_SOURCE_DIR);
        let examples = crate_dirs(source);
        let tests = crate_dirs(&source.join("testing"));
        assert_eq!(
            examples.len(),
            EXAMPLES.len(),
            "examples on disk: {examples:?}"
        );
        assert_eq!(
            tests.len(),
            TEST_PLUGINS.len(),
            "test plugins on disk: {tests:?}"
        );
    }

    #[test]
    fn the_examples_dir_holds_exactly_the_examples() {
        let on_disk: BTreeSet<String> = fs::read_dir(examples_dir())
            .expect("the examples directory exists")
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let expected: BTreeSet<String> = EXAMPLES.iter().map(|p| format!("{p}.wasm")).collect();
        assert_eq!(on_disk, expected);
        for package in EXAMPLES {
            let copy = fs::read(examples_dir().join(format!("{package}.wasm"))).unwrap();
            assert_eq!(copy, fs::read(wasm(package)).unwrap(), "{package}");
        }
    }

    #[test]
    fn foreach_test_plugin_names_every_test_plugin() {
        let mut named = Vec::new();
        macro_rules! collect {
            ($plugin:ident, $package:literal) => {
                named.push((stringify!($plugin), $package));
            };
        }
        foreach_test_plugin!(collect);
        let packages: Vec<&str> = named.iter().map(|(_, package)| *package).collect();
        assert_eq!(packages, TEST_PLUGINS);
        let testing = Path::new(PLUGINS_SOURCE_DIR).join("testing");
        for (ident, _) in named {
            // The identifier is the directory name with dashes turned into underscores.
            let exists = [ident.to_owned(), ident.replace('_', "-")]
                .iter()
                .any(|dir| testing.join(dir).is_dir());
            assert!(
                exists,
                "{ident}: no such directory in {}",
                testing.display()
            );
        }
    }

    #[test]
    fn fresh_dir_with_copies_the_named_components() {
        let Some(package) = PLUGINS.first().map(|(name, _)| *name) else {
            return;
        };
        let dir = fresh_dir_with(&[package]);
        let copy = dir.path().join(format!("{package}.wasm"));
        assert_eq!(fs::read(copy).unwrap(), fs::read(wasm(package)).unwrap());
    }

    #[test]
    #[should_panic(expected = "no plugin package named `no-such-plugin`")]
    fn wasm_names_the_known_packages_for_an_unknown_one() {
        wasm("no-such-plugin");
    }
}
