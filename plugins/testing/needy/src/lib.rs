//! A Berth test plugin that declares needs (a writable folder, an environment variable
//! and a destination), so tests can check that the host refuses it until the operator
//! grants them all, and serves it once they are.

use berth_plugin_sdk::needs::{Access, Needs};
use berth_plugin_sdk::prelude::*;

/// Lists the names in the granted `/data` folder, one per line.
#[tool(read_only)]
pub fn list() -> String {
    match std::fs::read_dir("/data") {
        Ok(entries) => {
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect();
            names.sort();
            names.join("\n")
        }
        Err(e) => format!("error: {e}"),
    }
}

berth_plugin_sdk::export!(
    name: "needy",
    tools: [list],
    needs: Needs::new()
        .folder("/data", Access::ReadWrite, "keeps its notes there")
        .env("NEEDY_TOKEN")
        .network("https://api.example.com"),
);
