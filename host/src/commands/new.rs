//! `berth new NAME`: writes a plugin project that builds and runs as it is: a manifest,
//! one tool with a test, and a README with the build and try-it commands.
//!
//! Only Rust today. The SDK is not on crates.io yet, so the project depends on the SDK of
//! the Berth checkout this binary was built from (or `--sdk PATH`).

use std::path::{Path, PathBuf};

use super::CommandError;

/// Where this binary's checkout keeps the SDK.
const BUILT_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugin-sdk");

/// Writes the project for plugin `name` into `parent/name`; returns its folder.
pub fn new_plugin(name: &str, parent: &Path, sdk: Option<&Path>) -> Result<PathBuf, CommandError> {
    if !crate::manifest::is_valid_name(name, crate::manifest::MAX_PLUGIN_NAME_LEN) {
        return Err(CommandError::Arguments(format!(
            "`{name}` is not a plugin name: use 1 to 32 characters from [a-zA-Z0-9_-]"
        )));
    }
    let sdk = match sdk {
        Some(sdk) => sdk.to_path_buf(),
        None => PathBuf::from(BUILT_SDK),
    };
    let sdk = sdk.canonicalize().map_err(|_| {
        CommandError::Arguments(format!(
            "the plugin SDK is not at {}; pass --sdk with the `plugin-sdk` folder of a Berth \
             checkout",
            sdk.display()
        ))
    })?;
    if !sdk.join("Cargo.toml").is_file() {
        return Err(CommandError::Arguments(format!(
            "{} is not the plugin SDK (no Cargo.toml); pass the `plugin-sdk` folder of a \
             Berth checkout",
            sdk.display()
        )));
    }
    let dir = parent.join(name);
    if dir.exists() {
        return Err(CommandError::ProjectExists { path: dir });
    }
    let wasm = name.replace('-', "_");
    let files = [
        ("Cargo.toml", cargo_toml(name, &sdk)),
        ("src/lib.rs", lib_rs(name)),
        ("README.md", readme(name, &wasm)),
        (".gitignore", "/target\n".to_string()),
    ];
    for (file, text) in files {
        let path = dir.join(file);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        written.map_err(|source| CommandError::Write { path, source })?;
    }
    Ok(dir)
}

fn cargo_toml(name: &str, sdk: &Path) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"

[lib]
# cdylib: the component Berth loads; rlib: lets `cargo test` call the tools natively.
crate-type = ["cdylib", "rlib"]

[dependencies]
berth-plugin-sdk = {{ path = {sdk:?} }}
serde = {{ version = "1", features = ["derive"] }}
schemars = "1.2"

[profile.release]
# Small components load fast.
opt-level = "s"
lto = true
strip = true
"#,
        sdk = sdk.display().to_string()
    )
}

fn lib_rs(name: &str) -> String {
    format!(
        r#"//! `{name}`: a Berth plugin. Each `#[tool]` function is an MCP tool; its doc comment
//! is the description clients show, its parameters are the input schema.

use berth_plugin_sdk::prelude::*;

/// Greets someone by name.
#[tool(read_only, idempotent)]
pub fn greet(
    /// Who to greet.
    name: String,
) -> String {{
    format!("Hello, {{name}}!")
}}

berth_plugin_sdk::export!(
    name: "{name}",
    tools: [greet],
);

#[cfg(test)]
mod tests {{
    use super::*;

    #[test]
    fn greets_by_name() {{
        berth_plugin().validate().unwrap();
        assert_eq!(greet("Ada".into()), "Hello, Ada!");
    }}
}}
"#
    )
}

fn readme(name: &str, wasm: &str) -> String {
    format!(
        r#"# {name}

A Berth plugin. Build it (the first time adds the WebAssembly target):

```sh
rustup target add wasm32-wasip2
cargo build --release --target wasm32-wasip2
```

Try its tool without a client:

```sh
berth call target/wasm32-wasip2/release/{wasm}.wasm {name}_greet --args '{{"name":"Ada"}}'
```

Serve it: copy `target/wasm32-wasip2/release/{wasm}.wasm` into the folder `berth serve
--plugins` watches. Test it natively with `cargo test`.
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_is_written_once_and_names_are_checked() {
        let parent = tempfile::tempdir().unwrap();
        let dir = new_plugin("hello-world", parent.path(), None).unwrap();
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("name = \"hello-world\""), "{manifest}");
        assert!(manifest.contains("plugin-sdk"), "{manifest}");
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        assert!(
            readme.contains("release/hello_world.wasm hello-world_greet"),
            "{readme}"
        );
        assert!(matches!(
            new_plugin("hello-world", parent.path(), None),
            Err(CommandError::ProjectExists { .. })
        ));
        assert!(matches!(
            new_plugin("no spaces", parent.path(), None),
            Err(CommandError::Arguments(_))
        ));
        assert!(matches!(
            new_plugin("x", parent.path(), Some(parent.path())),
            Err(CommandError::Arguments(_))
        ));
    }
}
