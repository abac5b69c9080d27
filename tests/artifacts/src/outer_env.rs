// Included by both `build.rs` and `src/lib.rs` (a build script cannot depend on its own crate),
// so it holds one item and no `use`s.

/// Whether the environment variable `key` belongs to an outer cargo build and must not reach a
/// nested `cargo build` for the wasm target started from it (a build script or a bench).
pub fn is_outer_build_env(key: &str) -> bool {
    const EXACT: &[&str] = &[
        // Flags for the outer build's target (`-C target-cpu=native`, coverage instrumentation,
        // sanitizers): wrong or fatal for wasm32. Cargo hands `CARGO_ENCODED_RUSTFLAGS` to build
        // scripts, and a nested cargo would take it as its own.
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "RUSTDOCFLAGS",
        // The nested build picks its own target and directories. Its command-line flags win
        // anyway; removing these keeps that true if the flags ever change.
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_BUILD_BUILD_DIR",
        // `cargo clippy` lints through clippy-driver set as the workspace wrapper, `cargo fix`
        // fixes through cargo itself as one, and coverage tools and miri wrap rustc. Linting,
        // fixing or instrumenting the wasm build of the plugins is not asked for (the outer run
        // already lints them natively), and a wrapper in the fingerprint would make every
        // `cargo clippy` rebuild the plugins from scratch.
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_RUSTC_WRAPPER",
        "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
        "CLIPPY_ARGS",
        "CLIPPY_CONF_DIR",
        // Flags of a `make` that ran the outer cargo: its jobserver may not be open in this
        // process, and cargo's own jobserver comes through `CARGO_MAKEFLAGS` instead.
        "MAKEFLAGS",
        "MFLAGS",
        // Inputs cargo gives this build script. The nested cargo sets its own for the scripts it
        // runs, but only those that apply to them, so leftovers would describe the wrong crate.
        "OUT_DIR",
        "TARGET",
        "HOST",
        "NUM_JOBS",
        "OPT_LEVEL",
        "DEBUG",
        "PROFILE",
        "RUSTDOC",
        "RUSTC_LINKER",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_CRATE_NAME",
        "CARGO_TARGET_TMPDIR",
    ];
    const PREFIXES: &[&str] = &[
        // Build-script inputs by family. A leftover `CARGO_CFG_UNIX` from the host target, say,
        // would tell the wasm build's scripts that they target Unix.
        "CARGO_CFG_",
        "CARGO_FEATURE_",
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "DEP_",
        // Cargo's internal channels, e.g. `__CARGO_FIX_PLZ` from `cargo fix`.
        "__CARGO_",
    ];
    EXACT.contains(&key) || PREFIXES.iter().any(|prefix| key.starts_with(prefix))
}
