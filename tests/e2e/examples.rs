//! The example plugins, served together as the README's first command serves them.

use serde_json::{Value, json};

use crate::support::{Server, text};

#[test]
fn every_example_loads_and_answers() {
    let mut server = Server::initialized(&berth_test_artifacts::examples_dir(), None);
    let log = server.wait_for_log("ready");
    assert!(!log.contains("plugin refused"), "{log}");
    let names = server.tool_names();
    for prefix in ["text_", "json_", "time_", "docs_"] {
        assert!(
            names.iter().any(|n| n.starts_with(prefix)),
            "no {prefix} tools in {names:?}"
        );
    }

    let counted = server.call("text_count", json!({ "text": "two words\nand lines" }));
    assert_ne!(counted["isError"], true, "{counted}");
    assert!(
        text(&counted).contains('4') || counted["structuredContent"]["words"] == 4,
        "{counted}"
    );

    let formatted = server.call(
        "json_format",
        json!({ "document_text": "{ \"b\": 1,\n  \"a\": [1, 2] }", "minify": true }),
    );
    assert_ne!(formatted["isError"], true, "{formatted}");
    assert!(
        text(&formatted).contains(r#"{"b":1,"a":[1,2]}"#),
        "{formatted}"
    );

    let now = server.call("time_now", json!({ "zone": "Asia/Tokyo" }));
    assert_ne!(now["isError"], true, "{now}");
    assert!(text(&now).contains("+09:00"), "{now}");

    let resources = server.ok("resources/list", json!({}));
    let uris: Vec<&str> = resources["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["uri"].as_str())
        .collect();
    assert!(uris.contains(&"berth://docs/contract"), "{resources}");
    let contract: Value = server.ok("resources/read", json!({ "uri": "berth://docs/contract" }));
    assert!(
        contract["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains("package berth:plugin@0.2.0")
    );
}
