// The tool of plugin `flip`, shared by the builds `flip-one` (1.0.0) and `flip-two`
// (2.0.0), which differ only in their package version.

use berth_plugin_sdk::prelude::*;

/// Answers with three text blocks and a structured value that each carry this build's
/// version and the caller's `n`, so a client can tell that an answer came wholly from
/// one build.
#[tool(read_only)]
pub fn version(n: u64) -> ToolOutput {
    let stamp = format!("{}:{n}", env!("CARGO_PKG_VERSION"));
    ToolOutput::new()
        .text(stamp.clone())
        .text(stamp.clone())
        .text(stamp.clone())
        .structured(berth_plugin_sdk::serde_json::json!({ "stamp": stamp }))
}

berth_plugin_sdk::export!(name: "flip", tools: [version]);
