//! The host's shape, checked: what each layer crate may depend on, and that no crate
//! has a cycle of modules spanning more than one folder.
//!
//! The compiler already refuses a dependency cycle between crates; these checks keep
//! the rest of the layering from eroding one convenient import at a time: wasmtime only
//! in the runtime, rmcp nowhere below the protocol layer, axum only in the HTTP layer,
//! and inside a crate, folders whose modules can be read (and moved) one at a time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each layer crate's folder under `host/`, and the direct dependencies it must not have.
const LAYERS: [(&str, &[&str]); 8] = [
    (
        "model",
        &["wasmtime", "rmcp", "axum", "berth-runtime", "berth-core"],
    ),
    ("runtime", &["rmcp", "axum", "berth-core", "berth-protocol"]),
    (
        "core",
        &["wasmtime", "rmcp", "axum", "berth-protocol", "berth-http"],
    ),
    ("protocol", &["wasmtime", "axum", "berth-http"]),
    ("http", &["wasmtime", "wasmtime-wasi", "berth-runtime"]),
    // Fetching knows sources, digests and files, not plugins or protocols.
    (
        "distribution",
        &[
            "wasmtime",
            "rmcp",
            "axum",
            "berth-model",
            "berth-runtime",
            "berth-core",
        ],
    ),
    // Keeping state knows buckets, bytes and quotas, not plugins' code or protocols.
    (
        "state",
        &["wasmtime", "rmcp", "axum", "berth-runtime", "berth-core"],
    ),
    (".", &["wasmtime", "wasmtime-wasi", "wasmtime-wasi-http"]),
];

fn host_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn each_layer_depends_only_on_what_it_may() {
    for (layer, forbidden) in LAYERS {
        let manifest = host_dir().join(layer).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        let table: toml::Table = text.parse().unwrap();
        let deps = table.get("dependencies").and_then(|d| d.as_table());
        for name in deps.into_iter().flat_map(|d| d.keys()) {
            assert!(
                !forbidden.contains(&name.as_str()),
                "{} depends on `{name}`, which its layer may not use (see README, Layout)",
                manifest.display()
            );
        }
    }
}

#[test]
fn no_crate_has_a_module_cycle_across_folders() {
    let mut problems = Vec::new();
    for (layer, _) in LAYERS {
        let src = host_dir().join(layer).join("src");
        let modules = modules(&src);
        let edges = edges(&modules);
        for cycle in cycles(&edges) {
            let folders: BTreeSet<&Path> = cycle.iter().map(|m| folder(&modules[m])).collect();
            if folders.len() > 1 {
                let names: Vec<String> = cycle.iter().map(show).collect();
                problems.push(format!("{}: {}", src.display(), names.join(" ⇄ ")));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "module cycles that cross folders (break each by moving what both sides share into \
         one place):\n{}",
        problems.join("\n")
    );
}

/// A module's path inside its crate (`["runtime", "cpu"]`); the crate root is empty.
type Module = Vec<String>;

fn show(module: &Module) -> String {
    match module.is_empty() {
        true => "crate".to_string(),
        false => module.join("::"),
    }
}

fn folder(file: &Path) -> &Path {
    file.parent().unwrap_or(file)
}

/// Every module file under `src`, by module path. A binary's `main.rs` is a crate of
/// its own and left out.
fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut found = BTreeMap::new();
    let mut folders = vec![src.to_path_buf()];
    while let Some(dir) = folders.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path == src.join("main.rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: Module = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(module.last().map(String::as_str), Some("lib" | "mod")) {
                module.pop();
            }
            found.insert(module, path);
        }
    }
    found
}

/// For each module, the other modules its non-test code names through `crate::` or
/// `super::` paths.
fn edges(modules: &BTreeMap<Module, PathBuf>) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut edges = BTreeMap::new();
    for (module, file) in modules {
        let text = std::fs::read_to_string(file).unwrap();
        // Tests may reach anywhere; the shape is about the code they test.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut named = BTreeSet::new();
        for line in code.lines() {
            let line = line.split("//").next().unwrap_or_default();
            for (root, path) in paths(line) {
                let base: Module = match root {
                    Root::Crate => Vec::new(),
                    Root::Super => module[..module.len().saturating_sub(1)].to_vec(),
                };
                let full: Module = base.into_iter().chain(path).collect();
                // The longest prefix that is a module is the module named.
                let target = (0..=full.len())
                    .rev()
                    .map(|n| full[..n].to_vec())
                    .find(|candidate| modules.contains_key(candidate));
                if let Some(target) = target.filter(|t| t != module) {
                    named.insert(target);
                }
            }
        }
        edges.insert(module.clone(), named);
    }
    edges
}

#[derive(Clone, Copy)]
enum Root {
    Crate,
    Super,
}

/// The `crate::a::b` and `super::a` paths in `line`; `crate::{a, b::c}` gives one path
/// per item.
fn paths(line: &str) -> Vec<(Root, Vec<String>)> {
    let mut found = Vec::new();
    for (keyword, root) in [("crate::", Root::Crate), ("super::", Root::Super)] {
        let mut rest = line;
        while let Some(at) = rest.find(keyword) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + keyword.len()..];
            // `$crate::`, `foo_crate::` or `super::super::` are not paths this check follows.
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':' || c == '$') {
                continue;
            }
            match rest.strip_prefix('{') {
                Some(group) => {
                    let inner = group.split('}').next().unwrap_or_default();
                    found.extend(inner.split(',').map(|item| (root, segments(item.trim()))));
                }
                None => found.push((root, segments(rest))),
            }
        }
    }
    found.retain(|(_, path)| !path.is_empty());
    found
}

/// The module-like (lower-case) segments at the start of `text`: `a::b::Type::new()`
/// gives `a`, `b`.
fn segments(text: &str) -> Vec<String> {
    let mut segments = Vec::new();
    for segment in text.split("::") {
        let ident: String = segment
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !ident.starts_with(|c: char| c.is_ascii_lowercase()) {
            break;
        }
        let whole = ident.len() == segment.len();
        segments.push(ident);
        if !whole {
            break;
        }
    }
    segments
}

/// The strongly connected groups of more than one module (Tarjan's algorithm).
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        groups: Vec<Vec<Module>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, module: &'a Module) {
            let n = self.index.len();
            self.index.insert(module, n);
            self.low.insert(module, n);
            self.stack.push(module);
            self.on_stack.insert(module);
            for next in &self.edges[module] {
                let Some((next, _)) = self.edges.get_key_value(next) else {
                    continue;
                };
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[module].min(self.low[next]);
                    self.low.insert(module, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[module].min(self.index[next]);
                    self.low.insert(module, low);
                }
            }
            if self.low[module] == self.index[module] {
                let mut group = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    group.push(member.clone());
                    if member == module {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.groups.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for module in edges.keys() {
        if !walk.index.contains_key(module) {
            walk.visit(module);
        }
    }
    walk.groups
}

#[test]
fn a_cycle_across_folders_is_found() {
    let edges: BTreeMap<Module, BTreeSet<Module>> = [
        (vec![], vec![vec!["a".to_string()]]),
        (
            vec!["a".to_string()],
            vec![vec!["a".to_string(), "b".to_string()]],
        ),
        (
            vec!["a".to_string(), "b".to_string()],
            vec![vec!["a".to_string()]],
        ),
    ]
    .into_iter()
    .map(|(m, to)| (m, to.into_iter().collect()))
    .collect();
    assert_eq!(
        cycles(&edges),
        vec![vec![
            vec!["a".to_string()],
            vec!["a".to_string(), "b".to_string()]
        ]]
    );
    let found = paths("use crate::{bus::Event, registry}; let x = super::limits::Cap::new();");
    let shown: Vec<Vec<String>> = found.into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        shown,
        vec![
            vec!["bus".to_string()],
            vec!["registry".to_string()],
            vec!["limits".to_string()]
        ]
    );
}
