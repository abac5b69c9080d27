//! `berth new NAME --lang rust|python|js`: writes a plugin project that builds and runs as
//! it is: a manifest, one tool with a test, and a README with the build and try-it
//! commands.
//!
//! The SDKs are not published to crates.io, PyPI or npm yet, so a project depends on the
//! SDK of the Berth checkout this binary was built from (or `--sdk PATH`) by path. The
//! Python and JavaScript projects are the templates under `plugin-sdk/python/template`
//! and `plugin-sdk/js/template`, compiled into the binary, with `__NAME__` and `__SDK__`
//! filled in; the Rust one is written below.

use std::path::{Path, PathBuf};

use super::CommandError;
use crate::cli::Lang;

/// Where this binary's checkout keeps the SDKs.
const BUILT_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugin-sdk");

/// The Python project: (path in the project, template text).
const PYTHON: &[(&str, &str)] = &[
    (
        "pyproject.toml",
        include_str!("../../../plugin-sdk/python/template/pyproject.toml"),
    ),
    (
        "app.py",
        include_str!("../../../plugin-sdk/python/template/app.py"),
    ),
    (
        "tests/test_app.py",
        include_str!("../../../plugin-sdk/python/template/tests/test_app.py"),
    ),
    (
        "README.md",
        include_str!("../../../plugin-sdk/python/template/README.md"),
    ),
    // Stored without its dot so that it does not apply to the template folder itself.
    (
        ".gitignore",
        include_str!("../../../plugin-sdk/python/template/gitignore"),
    ),
];

/// The TypeScript project: (path in the project, template text).
const JS: &[(&str, &str)] = &[
    (
        "package.json",
        include_str!("../../../plugin-sdk/js/template/package.json"),
    ),
    (
        "tsconfig.json",
        include_str!("../../../plugin-sdk/js/template/tsconfig.json"),
    ),
    (
        "src/index.ts",
        include_str!("../../../plugin-sdk/js/template/src/index.ts"),
    ),
    (
        "test/plugin.test.js",
        include_str!("../../../plugin-sdk/js/template/test/plugin.test.js"),
    ),
    (
        "README.md",
        include_str!("../../../plugin-sdk/js/template/README.md"),
    ),
    (
        ".gitignore",
        include_str!("../../../plugin-sdk/js/template/.gitignore"),
    ),
];

/// Writes the `lang` project for plugin `name` into `parent/name`; returns its folder.
/// `sdk` is the `plugin-sdk` folder of a Berth checkout (default: this binary's).
pub fn new_plugin(
    name: &str,
    lang: Lang,
    parent: &Path,
    sdk: Option<&Path>,
) -> Result<PathBuf, CommandError> {
    if !crate::manifest::is_valid_name(name, crate::manifest::MAX_PLUGIN_NAME_LEN) {
        return Err(CommandError::NewProject(format!(
            "`{name}` is not a plugin name: use 1 to 32 characters from [a-zA-Z0-9_-]"
        )));
    }
    // The JS plugin's name is its npm package name, which npm wants lowercase and not
    // starting with `_` or `-`.
    if lang == Lang::Js
        && (name.chars().any(|c| c.is_ascii_uppercase()) || name.starts_with(['_', '-']))
    {
        return Err(CommandError::NewProject(format!(
            "`{name}` cannot name a JavaScript plugin: its npm package name must be lowercase \
             and start with a letter or digit (try `{}`)",
            name.to_ascii_lowercase().trim_start_matches(['_', '-'])
        )));
    }
    let root = match sdk {
        Some(sdk) => sdk.to_path_buf(),
        None => PathBuf::from(BUILT_SDK),
    };
    let (subfolder, marker) = match lang {
        Lang::Rust => ("", "Cargo.toml"),
        Lang::Python => ("python", "pyproject.toml"),
        Lang::Js => ("js", "package.json"),
    };
    let sdk = root.join(subfolder).canonicalize().map_err(|_| {
        CommandError::NewProject(format!(
            "the plugin SDK is not at {}; pass --sdk with the `plugin-sdk` folder of a Berth \
             checkout",
            root.join(subfolder).display()
        ))
    })?;
    if !sdk.join(marker).is_file() {
        return Err(CommandError::NewProject(format!(
            "{} is not the plugin SDK (no {marker}); pass --sdk with the `plugin-sdk` folder \
             of a Berth checkout",
            sdk.display()
        )));
    }
    let dir = parent.join(name);
    if dir.exists() {
        return Err(CommandError::ProjectExists { path: dir });
    }
    let files: Vec<(&str, String)> = match lang {
        Lang::Rust => {
            let wasm = name.replace('-', "_");
            vec![
                ("Cargo.toml", cargo_toml(name, &sdk)),
                ("src/lib.rs", lib_rs(name)),
                ("README.md", readme(name, &wasm)),
                (".gitignore", "/target\n".to_string()),
            ]
        }
        Lang::Python => fill(PYTHON, name, &sdk),
        Lang::Js => fill(JS, name, &sdk),
    };
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

/// The template's files with the plugin's name and the SDK's absolute path filled in.
fn fill(template: &[(&'static str, &str)], name: &str, sdk: &Path) -> Vec<(&'static str, String)> {
    let sdk = sdk.display().to_string();
    template
        .iter()
        .map(|(file, text)| {
            (
                *file,
                text.replace("__NAME__", name).replace("__SDK__", &sdk),
            )
        })
        .collect()
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
        let dir = new_plugin("hello-world", Lang::Rust, parent.path(), None).unwrap();
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("name = \"hello-world\""), "{manifest}");
        assert!(manifest.contains("plugin-sdk"), "{manifest}");
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        assert!(
            readme.contains("release/hello_world.wasm hello-world_greet"),
            "{readme}"
        );
        assert!(matches!(
            new_plugin("hello-world", Lang::Rust, parent.path(), None),
            Err(CommandError::ProjectExists { .. })
        ));
        assert!(matches!(
            new_plugin("no spaces", Lang::Rust, parent.path(), None),
            Err(CommandError::NewProject(_))
        ));
        assert!(matches!(
            new_plugin("x", Lang::Rust, parent.path(), Some(parent.path())),
            Err(CommandError::NewProject(_))
        ));
    }

    #[test]
    fn python_and_js_projects_are_the_templates_filled_in() {
        let parent = tempfile::tempdir().unwrap();
        let sdk = Path::new(BUILT_SDK).canonicalize().unwrap();
        for (lang, manifest, sdk_line) in [
            (
                Lang::Python,
                "pyproject.toml",
                format!("berth-plugin-sdk @ file://{}", sdk.join("python").display()),
            ),
            (
                Lang::Js,
                "package.json",
                format!("\"file:{}\"", sdk.join("js").display()),
            ),
        ] {
            let folder = parent.path().join(format!("{lang:?}"));
            let dir = new_plugin("hello", lang, &folder, None).unwrap();
            let text = std::fs::read_to_string(dir.join(manifest)).unwrap();
            assert!(text.contains(&sdk_line), "{lang:?}: {text}");
            assert!(
                !text.contains("__"),
                "{lang:?}: a placeholder is left: {text}"
            );
            let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
            assert!(
                readme.contains("berth call hello.wasm hello_greet"),
                "{readme}"
            );
            assert!(dir.join(".gitignore").is_file(), "{lang:?}");
        }
        // npm refuses upper-case package names, so the JS project does too, and says
        // what would work.
        let Err(CommandError::NewProject(message)) =
            new_plugin("Hello", Lang::Js, parent.path(), None)
        else {
            panic!("an upper-case JS name was accepted");
        };
        assert!(message.contains("try `hello`"), "{message}");
    }
}
