//! What a plugin needs from the operator: folders, environment variables and network
//! destinations, declared with `export!(…, needs: …)`.
//!
//! ```
//! use berth_plugin_sdk::prelude::*;
//! use berth_plugin_sdk::needs::{Access, Needs};
//!
//! /// Counts the lines of a file in the workspace.
//! #[tool(read_only)]
//! fn lines(path: String) -> Result<String, ToolError> {
//!     let text = std::fs::read_to_string(format!("/workspace/{path}"))
//!         .map_err(|e| ToolError::failed(format!("cannot read {path}: {e}")))?;
//!     Ok(text.lines().count().to_string())
//! }
//!
//! berth_plugin_sdk::export!(
//!     name: "lines",
//!     tools: [lines],
//!     needs: Needs::new().folder("/workspace", Access::Read, "the files it counts"),
//! );
//! # fn main() {}
//! ```
//!
//! Declaring grants nothing. The operator grants in the host's config
//! (`[plugins.NAME.grants]`); the host refuses to load a plugin whose needs are not all
//! granted, naming the missing grant and the config key to add, so a missing grant is
//! one clear message at load time instead of an error inside every call. Whatever is
//! declared, a plugin never gets more than it was granted.

/// How a plugin uses a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// It only reads.
    Read,
    /// It creates, changes or deletes files too.
    ReadWrite,
}

/// A folder the plugin works in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// The absolute path the plugin uses inside its sandbox, e.g. `/workspace`.
    pub path: String,
    /// How it uses it.
    pub access: Access,
    /// Why, shown to the operator when the folder is not granted.
    pub reason: String,
}

/// Everything a plugin needs; build it with the chained methods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Folders.
    pub folders: Vec<Folder>,
    /// Environment variable names.
    pub env: Vec<String>,
    /// Network destinations: `host`, `host:port`, `*.domain`, optionally behind
    /// `http://` or `https://`.
    pub network: Vec<String>,
}

impl Needs {
    /// Needs nothing (the default).
    pub fn new() -> Self {
        Self::default()
    }

    /// Also needs the folder the plugin sees at `path`.
    pub fn folder(
        mut self,
        path: impl Into<String>,
        access: Access,
        reason: impl Into<String>,
    ) -> Self {
        self.folders.push(Folder {
            path: path.into(),
            access,
            reason: reason.into(),
        });
        self
    }

    /// Also needs the environment variable `name`.
    pub fn env(mut self, name: impl Into<String>) -> Self {
        self.env.push(name.into());
        self
    }

    /// Also needs to reach `destination`, e.g. `https://api.example.com`.
    pub fn network(mut self, destination: impl Into<String>) -> Self {
        self.network.push(destination.into());
        self
    }
}

/// The declaration in the contract's terms (for `export!`).
#[doc(hidden)]
pub fn guest_needs(needs: Needs) -> crate::__private::wit_needs::Requirements {
    use crate::__private::wit_needs as wit;
    wit::Requirements {
        folders: needs
            .folders
            .into_iter()
            .map(|f| wit::Folder {
                path: f.path,
                write: f.access == Access::ReadWrite,
                reason: f.reason,
            })
            .collect(),
        env: needs.env,
        network: needs.network,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_collects_and_converts() {
        let needs = Needs::new()
            .folder("/workspace", Access::ReadWrite, "edits files")
            .env("LANG")
            .network("https://api.example.com");
        let wit = guest_needs(needs);
        assert_eq!(wit.folders.len(), 1);
        assert!(wit.folders[0].write);
        assert_eq!(wit.env, ["LANG"]);
        assert_eq!(wit.network, ["https://api.example.com"]);
        assert!(guest_needs(Needs::new()).folders.is_empty());
    }
}
