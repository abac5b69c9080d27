//! A Berth test plugin whose manifest name is an attack on the people reading about it:
//! a newline followed by a whole host log line, an ANSI "clear screen" escape, a NUL and
//! a right-to-left override. The name breaks the naming rule, so the host refuses the
//! plugin, and the refusal quotes the name: in the log, in `berth plugins list`, on the
//! operator's terminal. It exists so tests can check every one of them shows the name
//! escaped. It uses `wit-bindgen` directly: the SDK would never emit such a name.

wit_bindgen::generate!({
    path: "../../../wit/berth-plugin/v0.1",
    world: "plugin",
});

include!("../../manifest_guest.rs");

use berth::plugin::types::Manifest;

/// The manifest: nothing but the name matters.
fn manifest() -> Manifest {
    Manifest {
        name:
            "x\n2020-01-01T00:00:00.000000Z  INFO berth: plugin loaded FORGED\u{1b}[2J\u{0}\u{202e}"
                .to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        description: None,
        tools: Vec::new(),
        resources: Vec::new(),
        resource_templates: Vec::new(),
    }
}

manifest_guest!(ForgedName, describe: manifest);

export!(ForgedName);
