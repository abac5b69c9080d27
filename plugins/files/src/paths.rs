//! The path rules: which paths a call may name, and how they map into the granted folder.
//!
//! A path is accepted relative to the root, or absolute when it lies inside the root (under
//! the configured root, or under `/workspace`, the name clients see in resource URIs). It is
//! normalised lexically — `.` dropped, `a/../b` folded to `b` — before anything touches the
//! disk, so the path handed to the OS never contains `..` and can leave the root only through
//! a symbolic link. Empty paths, NUL bytes, absolute paths elsewhere and `..` that climbs
//! above the root are refused with `invalid-arguments` naming the path and the root.
//!
//! Symbolic links are checked by [`Root::check_links`], which follows them the way the OS
//! would and refuses one whose target leads out of the root. That check is a courtesy that
//! gives a clear error: the real boundary is WASI. The host preopens only the granted folder,
//! and wasmtime resolves every path (links included) inside that preopen, refusing anything
//! that escapes; a link swapped between the check and the open is caught there too.

use std::collections::VecDeque;
use std::fs;
use std::path::{Component, Path, PathBuf};

use berth_plugin_sdk::{ToolError, config};

/// Where the host preopens the granted folder in the guest; also the folder's name in URIs.
pub const WORKSPACE: &str = "/workspace";

/// How many symbolic links one path may go through before it counts as a loop (Linux's
/// limit, so a path the OS resolves is never refused here for length alone).
const MAX_LINK_HOPS: usize = 40;

/// The folder every path is confined to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    path: PathBuf,
    /// The normal components of `path`, to recognise absolute paths inside it.
    components: Vec<String>,
}

/// A path inside the root, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The components below the root; empty for the root itself.
    rel: Vec<String>,
    /// The root joined with `rel`: what the OS is handed.
    full: PathBuf,
}

impl Root {
    /// The root from the plugin's config value `root`, or `/workspace`; fails, saying
    /// why, if that folder is not there (the operator has not granted it).
    pub fn granted() -> Result<Root, ToolError> {
        let root = Root::new(&config::get("root").unwrap_or_else(|| WORKSPACE.to_string()))?;
        // Without this check every call would report its own path as missing, which sends
        // the model looking for the wrong file instead of telling the user what to grant.
        match fs::metadata(&root.path) {
            Ok(metadata) if metadata.is_dir() => Ok(root),
            Ok(_) => Err(ToolError::result(format!(
                "the granted folder `{}` is not a folder",
                root.display()
            ))),
            Err(error) => Err(ToolError::result(format!(
                "no folder is available at `{}` ({error}): the operator has not granted this plugin a folder there (`[plugins.files.grants] folders` in Berth's config)",
                root.display()
            ))),
        }
    }

    /// A root at `path`, which must be absolute (a relative root would depend on the
    /// guest's working directory, which WASI leaves undefined).
    pub fn new(path: &str) -> Result<Root, ToolError> {
        let as_path = Path::new(path);
        if !as_path.is_absolute() || path.contains('\0') {
            return Err(ToolError::failed(format!(
                "the plugin's config value `root` must be an absolute path, not {path:?}"
            )));
        }
        // Lexical, like everything here: the root is the operator's choice and is trusted.
        let mut components = Vec::new();
        for component in as_path.components() {
            match component {
                Component::Normal(name) => components.push(name.to_string_lossy().into_owned()),
                Component::ParentDir => {
                    components.pop();
                }
                Component::RootDir | Component::Prefix(_) | Component::CurDir => {}
            }
        }
        Ok(Root {
            path: as_path.to_path_buf(),
            components,
        })
    }

    /// The root as shown in messages.
    pub fn display(&self) -> String {
        self.path.display().to_string()
    }

    /// Checks `input` against the path rules and maps it into the root.
    pub fn resolve(&self, input: &str) -> Result<Resolved, ToolError> {
        let root = self.display();
        if input.is_empty() {
            return Err(ToolError::invalid_arguments(format!(
                "the path is empty; use `.` for the granted folder `{root}` itself"
            )));
        }
        if input.contains('\0') {
            return Err(ToolError::invalid_arguments(format!(
                "the path {input:?} contains a NUL byte, which no file name can hold"
            )));
        }
        let outside = |why: &str| {
            ToolError::invalid_arguments(format!(
                "the path `{input}` is outside the granted folder `{root}`: {why}"
            ))
        };
        let rel = if input.starts_with('/') {
            let absolute = normalise(input).ok_or_else(|| outside("`..` climbs above `/`"))?;
            let workspace = [WORKSPACE.trim_start_matches('/').to_string()];
            if let Some(rest) = absolute.strip_prefix(self.components.as_slice()) {
                rest.to_vec()
            } else if let Some(rest) = absolute.strip_prefix(workspace.as_slice()) {
                // Clients see the folder as /workspace (resource URIs, descriptions) even when
                // the operator configured another root, so that name always means the root.
                rest.to_vec()
            } else {
                return Err(outside(&format!(
                    "an absolute path must start with `{root}` (or use a path relative to it)"
                )));
            }
        } else {
            normalise(input).ok_or_else(|| outside("`..` climbs above it"))?
        };
        let full = if rel.is_empty() {
            self.path.clone()
        } else {
            self.path.join(rel.join("/"))
        };
        Ok(Resolved { rel, full })
    }

    /// Refuses `path` if a symbolic link along it leads out of the root, following links
    /// the way the OS would: every component but the last always, the last only when
    /// `follow_last` (reading or writing through a link follows it; deleting, moving or
    /// inspecting one acts on the link itself). Components that do not exist yet end the
    /// check: nothing below them can be a link.
    pub fn check_links(&self, path: &Resolved, follow_last: bool) -> Result<(), ToolError> {
        let refuse = |link: &[String], why: &str| {
            ToolError::invalid_arguments(format!(
                "the path `{}` goes through the symbolic link `{}`, {why}; the granted folder is `{}`",
                path.display(),
                link.join("/"),
                self.display()
            ))
        };
        // `done` holds components already known to be real folders (no links), so `..` may
        // pop it lexically; `todo` holds what is left, and grows when a link is expanded.
        let mut done: Vec<String> = Vec::new();
        let mut todo: VecDeque<String> = path.rel.iter().cloned().collect();
        let mut hops = 0;
        while let Some(component) = todo.pop_front() {
            match component.as_str() {
                "" | "." => continue,
                ".." => {
                    if done.pop().is_none() {
                        // Only link targets bring `..` in: `resolve` removed the input's own.
                        return Err(refuse(&path.rel, "whose target climbs above the root"));
                    }
                    continue;
                }
                _ => done.push(component),
            }
            if todo.is_empty() && !follow_last {
                break;
            }
            let here = self.path.join(done.join("/"));
            let Ok(metadata) = fs::symlink_metadata(&here) else {
                break;
            };
            if !metadata.file_type().is_symlink() {
                continue;
            }
            hops += 1;
            if hops > MAX_LINK_HOPS {
                return Err(refuse(&done, "which is part of a loop of links"));
            }
            // Under WASI, reading a link whose target is absolute or leaves the preopen is
            // itself refused; either way the link cannot be followed from here.
            let target = fs::read_link(&here).map_err(|error| {
                refuse(
                    &done,
                    &format!("whose target cannot be followed from here ({error})"),
                )
            })?;
            let Some(target) = target.to_str() else {
                return Err(refuse(&done, "whose target is not valid UTF-8"));
            };
            let link = done.clone();
            done.pop();
            let expanded: Vec<String> =
                if target.starts_with('/') || Path::new(target).is_absolute() {
                    // An absolute target counts only if it lies inside the root's host path (WASI
                    // refuses absolute link targets altogether; natively they may stay inside).
                    let absolute = Root::new(target)
                        .map_err(|_| refuse(&link, "whose target is not a usable path"))?;
                    match absolute.components.strip_prefix(self.components.as_slice()) {
                        Some(rest) => {
                            done.clear();
                            rest.to_vec()
                        }
                        None => return Err(refuse(&link, &format!("which points to `{target}`"))),
                    }
                } else {
                    target.split('/').map(str::to_string).collect()
                };
            for component in expanded.into_iter().rev() {
                todo.push_front(component);
            }
        }
        Ok(())
    }
}

impl Resolved {
    /// The host path to hand the OS.
    pub fn full(&self) -> &Path {
        &self.full
    }

    /// Whether this is the root itself.
    pub fn is_root(&self) -> bool {
        self.rel.is_empty()
    }

    /// The path relative to the root, `/`-separated; `.` for the root. This is what
    /// results show, so a client can pass it straight back.
    pub fn display(&self) -> String {
        if self.rel.is_empty() {
            ".".to_string()
        } else {
            self.rel.join("/")
        }
    }

    /// The last component (the root's is `.`).
    pub fn name(&self) -> &str {
        self.rel.last().map_or(".", String::as_str)
    }

    /// The folder holding this path (the root's parent is the root).
    pub fn parent(&self, root: &Root) -> Resolved {
        let rel = self.rel[..self.rel.len().saturating_sub(1)].to_vec();
        let full = if rel.is_empty() {
            root.path.clone()
        } else {
            root.path.join(rel.join("/"))
        };
        Resolved { rel, full }
    }

    /// A child of this folder named `name` (one component, from a directory listing).
    pub fn child(&self, name: &str) -> Resolved {
        let mut rel = self.rel.clone();
        rel.push(name.to_string());
        Resolved {
            full: self.full.join(name),
            rel,
        }
    }

    /// Whether `other` is this path or lies below it.
    pub fn contains(&self, other: &Resolved) -> bool {
        other.rel.starts_with(&self.rel)
    }
}

/// The components of `path` with `.` and empty ones dropped and `..` folded; `None` if a
/// `..` has nothing left to climb out of.
fn normalise(path: &str) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            name => out.push(name.to_string()),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_plugin_sdk::ToolErrorKind;

    fn root() -> Root {
        Root::new("/srv/data").unwrap()
    }

    fn rel(input: &str) -> String {
        root().resolve(input).unwrap().display()
    }

    fn refused(input: &str) -> String {
        let error = root().resolve(input).unwrap_err();
        assert_eq!(error.kind(), ToolErrorKind::InvalidArguments, "{input}");
        error.message().to_string()
    }

    #[test]
    fn relative_paths_are_normalised_inside_the_root() {
        assert_eq!(rel("a.txt"), "a.txt");
        assert_eq!(rel("./a//b/./c.txt"), "a/b/c.txt");
        assert_eq!(rel("a/../b"), "b");
        assert_eq!(rel("a/b/../../c"), "c");
        assert_eq!(rel("."), ".");
        assert_eq!(rel("a/.."), ".");
        assert_eq!(rel("dir/"), "dir");
        assert_eq!(
            root().resolve("a/b").unwrap().full(),
            Path::new("/srv/data/a/b")
        );
        assert_eq!(root().resolve(".").unwrap().full(), Path::new("/srv/data"));
    }

    #[test]
    fn absolute_paths_inside_the_root_or_workspace_are_accepted() {
        assert_eq!(rel("/srv/data/a.txt"), "a.txt");
        assert_eq!(rel("/srv/data"), ".");
        assert_eq!(rel("/srv/data/x/../y"), "y");
        assert_eq!(rel("/workspace/notes/a.md"), "notes/a.md");
        assert_eq!(rel("/workspace"), ".");
    }

    #[test]
    fn paths_that_leave_the_root_are_refused() {
        for input in ["..", "../x", "a/../../x", "./../x", "a/b/../../../etc"] {
            let message = refused(input);
            assert!(message.contains(&format!("`{input}`")), "{message}");
            assert!(message.contains("`/srv/data`"), "{message}");
            assert!(message.contains("climbs above"), "{message}");
        }
        for input in [
            "/etc/passwd",
            "/srv/database",
            "/srv",
            "/",
            "/srv/data/../x",
        ] {
            let message = refused(input);
            assert!(message.contains("outside the granted folder"), "{message}");
        }
        assert!(refused("/..").contains("outside"));
        assert!(refused("/workspace/../etc").contains("outside"));
    }

    #[test]
    fn empty_and_nul_paths_are_refused() {
        assert!(refused("").contains("empty"));
        let message = refused("a\0b");
        assert!(message.contains("NUL"), "{message}");
    }

    #[test]
    fn the_root_must_be_absolute() {
        assert!(Root::new("relative/dir").is_err());
        assert!(Root::new("").is_err());
        assert_eq!(Root::new("/a/./b/").unwrap().components, ["a", "b"]);
    }

    #[test]
    fn parents_children_and_containment() {
        let root = root();
        let path = root.resolve("a/b").unwrap();
        assert_eq!(path.name(), "b");
        assert_eq!(path.parent(&root).display(), "a");
        assert_eq!(path.parent(&root).parent(&root).display(), ".");
        assert_eq!(path.child("c").full(), Path::new("/srv/data/a/b/c"));
        assert!(root.resolve("a").unwrap().contains(&path));
        assert!(!root.resolve("ab").unwrap().contains(&path));
        assert!(root.resolve(".").unwrap().is_root());
    }

    #[cfg(unix)]
    #[test]
    fn links_that_leave_the_root_are_refused() {
        use std::os::unix::fs::symlink;

        let outer = tempfile::tempdir().unwrap();
        let root_dir = outer.path().join("root");
        fs::create_dir_all(root_dir.join("sub")).unwrap();
        fs::write(outer.path().join("secret"), "s").unwrap();
        fs::write(root_dir.join("inside.txt"), "i").unwrap();
        symlink("../secret", root_dir.join("up")).unwrap();
        symlink(outer.path().join("secret"), root_dir.join("abs_out")).unwrap();
        symlink(root_dir.join("inside.txt"), root_dir.join("abs_in")).unwrap();
        symlink("../inside.txt", root_dir.join("sub/back")).unwrap();
        symlink("..", root_dir.join("sub/parent")).unwrap();
        symlink("sub/parent/..", root_dir.join("sneaky")).unwrap();
        symlink("loop_b", root_dir.join("loop_a")).unwrap();
        symlink("loop_a", root_dir.join("loop_b")).unwrap();
        let root = Root::new(root_dir.to_str().unwrap()).unwrap();
        let check = |input: &str, follow_last: bool| {
            root.check_links(&root.resolve(input).unwrap(), follow_last)
        };

        assert!(check("inside.txt", true).is_ok());
        assert!(check("sub/back", true).is_ok());
        assert!(check("abs_in", true).is_ok());
        assert!(check("sub/parent/inside.txt", true).is_ok());
        assert!(check("not/there/yet.txt", true).is_ok());
        let message = check("up", true).unwrap_err().message().to_string();
        assert!(message.contains("symbolic link `up`"), "{message}");
        assert!(check("abs_out", true).is_err());
        assert!(check("sneaky/secret", true).is_err());
        assert!(check("sub/parent/sub/parent/up", true).is_err());
        assert!(
            check("loop_a", true)
                .unwrap_err()
                .message()
                .contains("loop")
        );
        // The link itself, not its target, when the last component is not followed…
        assert!(check("up", false).is_ok());
        // …but links earlier in the path are always followed.
        assert!(check("sneaky/x", false).is_err());
    }
}
