//! Native tests: every tool, resource, prompt and completion, driven through
//! `berth_plugin()` as the host would, with the client's answers stubbed.

use super::*;
use berth_plugin_sdk::client::{ElicitAction, SamplingResponse};
use berth_plugin_sdk::completions::Target;
use berth_plugin_sdk::progress;
use berth_plugin_sdk::wit::chat::Role;
use berth_plugin_sdk::wit::prompts::PromptError;
use berth_plugin_sdk::wit::{ContentBlock, Media, ResourceBody, ResourceContents};

fn media(data: &[u8], mime_type: &str) -> Media {
    Media {
        data: data.to_vec(),
        mime_type: mime_type.into(),
    }
}

fn text_resource(uri: &str, mime_type: &str, text: &str) -> ContentBlock {
    ContentBlock::Resource(ResourceContents {
        uri: uri.into(),
        mime_type: Some(mime_type.into()),
        body: ResourceBody::Text(text.into()),
    })
}

#[test]
fn the_media_are_what_they_claim() {
    // PNG signature, then an IHDR of 1×1, 8-bit RGB; the IDAT holds one red pixel.
    assert_eq!(RED_PIXEL_PNG[..8], *b"\x89PNG\r\n\x1a\n");
    assert_eq!(RED_PIXEL_PNG[12..16], *b"IHDR");
    assert_eq!(RED_PIXEL_PNG[16..26], [0, 0, 0, 1, 0, 0, 0, 1, 8, 2]);
    assert_eq!(RED_PIXEL_PNG[RED_PIXEL_PNG.len() - 8..][..4], *b"IEND");
    // RIFF/WAVE with a 16-byte PCM fmt chunk and a data chunk of the remaining bytes.
    assert_eq!(TINY_WAV[..4], *b"RIFF");
    let riff_len = u32::from_le_bytes(TINY_WAV[4..8].try_into().unwrap()) as usize;
    assert_eq!(riff_len, TINY_WAV.len() - 8);
    assert_eq!(TINY_WAV[8..16], *b"WAVEfmt ");
    assert_eq!(TINY_WAV[20..22], [1, 0]);
    assert_eq!(TINY_WAV[36..40], *b"data");
    let data_len = u32::from_le_bytes(TINY_WAV[40..44].try_into().unwrap()) as usize;
    assert_eq!(data_len, TINY_WAV.len() - 44);
}

#[test]
fn manifest_lists_the_scenarios_names() {
    berth_plugin().validate().unwrap();
    let manifest = berth_plugin().manifest();
    assert_eq!(manifest.name, "conformance");
    let names: Vec<&str> = manifest.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "test_simple_text",
            "test_image_content",
            "test_audio_content",
            "test_embedded_resource",
            "test_multiple_content_types",
            "test_error_handling",
            "test_tool_with_logging",
            "json_schema_2020_12_tool",
            "test_tool_with_progress",
            "test_sampling",
            "test_elicitation",
            "test_elicitation_sep1034_defaults",
            "test_elicitation_sep1330_enums",
            "test_notify_resource_changed",
            "test_cancellable",
            "test_reconnection",
        ]
    );
    let uris: Vec<&str> = manifest.resources.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(uris, ["test://static-text", "test://static-binary"]);
    assert_eq!(
        manifest.resources[1].mime_type.as_deref(),
        Some("image/png")
    );
    let template = &manifest.resource_templates[0];
    assert_eq!(template.uri_template, "test://template/{id}/data");
    assert_eq!(template.mime_type.as_deref(), Some("application/json"));
}

#[test]
fn the_2020_12_tool_lists_the_scenarios_schema() {
    let manifest = berth_plugin().manifest();
    let tool = manifest
        .tools
        .iter()
        .find(|t| t.name == "json_schema_2020_12_tool")
        .unwrap();
    assert_eq!(tool.description, "Tool with JSON Schema 2020-12 features");
    let schema: Value = berth_plugin_sdk::serde_json::from_str(&tool.input_schema).unwrap();
    assert_eq!(
        schema,
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {
                "address": {
                    "type": "object",
                    "properties": {
                        "street": {"type": "string"},
                        "city": {"type": "string"}
                    }
                }
            },
            "properties": {
                "name": {"type": "string"},
                "address": {"$ref": "#/$defs/address"}
            },
            "additionalProperties": false
        })
    );
    assert!(tool.output_schema.is_none());
}

#[test]
fn the_2020_12_tool_takes_its_arguments() {
    let plugin = berth_plugin();
    let call = |args| {
        plugin
            .call("json_schema_2020_12_tool", args)
            .unwrap()
            .text()
    };
    assert_eq!(call(json!({})), "Hello, nobody.");
    assert_eq!(
        call(json!({"name": "Ada", "address": {"street": "1 Main St", "city": "Paris"}})),
        "Hello, Ada from Paris."
    );
    assert!(
        plugin
            .call("json_schema_2020_12_tool", json!({"nickname": "x"}))
            .is_err()
    );
}

#[test]
fn tools_answer_as_the_scenarios_expect() {
    let plugin = berth_plugin();
    let call = |name| plugin.call(name, json!({})).unwrap();

    let simple = call("test_simple_text");
    assert!(!simple.is_error);
    assert_eq!(
        simple.content,
        [ContentBlock::Text(
            "This is a simple text response for testing.".into()
        )]
    );

    let image = call("test_image_content");
    assert_eq!(
        image.content,
        [ContentBlock::Image(media(&RED_PIXEL_PNG, "image/png"))]
    );

    let audio = call("test_audio_content");
    assert_eq!(
        audio.content,
        [ContentBlock::Audio(media(&TINY_WAV, "audio/wav"))]
    );

    let embedded = call("test_embedded_resource");
    assert_eq!(
        embedded.content,
        [text_resource(
            "test://embedded-resource",
            "text/plain",
            "This is an embedded resource content."
        )]
    );

    let mixed = call("test_multiple_content_types");
    assert_eq!(
        mixed.content,
        [
            ContentBlock::Text("Multiple content types test:".into()),
            ContentBlock::Image(media(&RED_PIXEL_PNG, "image/png")),
            text_resource(
                "test://mixed-content-resource",
                "application/json",
                r#"{"test":"data","value":123}"#
            ),
        ]
    );

    let error = call("test_error_handling");
    assert!(error.is_error);
    assert_eq!(
        error.content,
        [ContentBlock::Text(
            "This tool intentionally returns an error for testing".into()
        )]
    );

    for result in [simple, image, audio, embedded, mixed, error] {
        assert_eq!(result.structured, None);
    }
}

#[test]
fn resources_read() {
    let plugin = berth_plugin();
    let text = plugin.read("test://static-text").unwrap();
    assert_eq!(text.len(), 1);
    assert_eq!(text[0].uri, "test://static-text");
    assert_eq!(text[0].mime_type.as_deref(), Some("text/plain"));
    assert_eq!(
        text[0].as_text(),
        Some("This is the content of the static text resource.")
    );

    let binary = plugin.read("test://static-binary").unwrap();
    assert_eq!(binary[0].mime_type.as_deref(), Some("image/png"));
    assert_eq!(binary[0].as_blob(), Some(&RED_PIXEL_PNG[..]));

    let data = plugin.read("test://template/123/data").unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0].uri, "test://template/123/data");
    assert_eq!(data[0].mime_type.as_deref(), Some("application/json"));
    assert_eq!(
        data[0].as_text(),
        Some(r#"{"id":"123","templateTest":true,"data":"Data for ID: 123"}"#)
    );
    // Any id, escaped as JSON.
    assert_eq!(
        template_data(r#"a"b"#.into()).unwrap(),
        r#"{"id":"a\"b","templateTest":true,"data":"Data for ID: a\"b"}"#
    );
    assert!(plugin.read("test://nope").is_err());
}

#[test]
fn progress_goes_0_50_100_of_100() {
    progress::take_for_test();
    let result = berth_plugin()
        .call("test_tool_with_progress", json!({}))
        .unwrap();
    assert_eq!(result.text(), "Tool with progress executed successfully");
    let reports = progress::take_for_test();
    let values: Vec<(f64, Option<f64>)> = reports.iter().map(|r| (r.progress, r.total)).collect();
    assert_eq!(
        values,
        [
            (0.0, Some(100.0)),
            (50.0, Some(100.0)),
            (100.0, Some(100.0))
        ]
    );
    assert!(reports.iter().all(|r| r.message.is_some()));
}

#[test]
fn sampling_sends_the_prompt_and_returns_the_answer() {
    let plugin = berth_plugin();
    client::set_sample_for_test(|request| {
        assert_eq!(request.max_tokens, 100);
        assert_eq!(request.messages.len(), 1);
        assert_eq!(request.messages[0].content.as_text(), Some("Test prompt"));
        Ok(SamplingResponse::new(
            "This is a test response from the client",
            "test-model",
        ))
    });
    let result = plugin
        .call("test_sampling", json!({"prompt": "Test prompt"}))
        .unwrap();
    assert!(!result.is_error);
    assert_eq!(
        result.text(),
        "LLM response: This is a test response from the client"
    );
    client::clear_for_test();
    // Natively there is no client: an error result that says so.
    let failed = plugin
        .call("test_sampling", json!({"prompt": "x"}))
        .unwrap();
    assert!(failed.is_error);
    assert!(
        failed
            .text()
            .starts_with("Sampling failed: the client cannot take this request")
    );
}

#[test]
fn elicitation_asks_for_username_and_email() {
    let plugin = berth_plugin();
    client::set_elicit_for_test(|message, schema| {
        assert_eq!(message, "Please provide your information");
        assert_eq!(schema["required"], json!(["username", "email"]));
        assert_eq!(
            schema["properties"]["username"]["description"],
            "User's response"
        );
        assert_eq!(schema["properties"]["email"]["format"], "email");
        Ok(Elicitation::accept(
            json!({"username": "testuser", "email": "test@example.com"}),
        ))
    });
    let result = plugin
        .call(
            "test_elicitation",
            json!({"message": "Please provide your information"}),
        )
        .unwrap();
    assert_eq!(
        result.text(),
        r#"User response: action=accept, content={"email":"test@example.com","username":"testuser"}"#
    );
    client::set_elicit_for_test(|_, _| Ok(Elicitation::without_content(ElicitAction::Decline)));
    let declined = plugin
        .call("test_elicitation", json!({"message": "m"}))
        .unwrap();
    assert_eq!(
        declined.text(),
        "User response: action=decline, content=null"
    );
    client::clear_for_test();
    assert!(
        plugin
            .call("test_elicitation", json!({"message": "m"}))
            .unwrap()
            .is_error
    );
}

#[test]
fn sep1034_schema_has_a_default_of_each_type() {
    let schema = sep1034_schema();
    let properties = &schema["properties"];
    let defaults: Vec<(&str, &Value)> = ["name", "age", "score", "status", "verified"]
        .iter()
        .map(|name| {
            (
                properties[name]["type"].as_str().unwrap(),
                &properties[name]["default"],
            )
        })
        .collect();
    assert_eq!(
        defaults,
        [
            ("string", &json!("John Doe")),
            ("integer", &json!(30)),
            ("number", &json!(95.5)),
            ("string", &json!("active")),
            ("boolean", &json!(true)),
        ]
    );
    assert_eq!(
        properties["status"]["enum"],
        json!(["active", "inactive", "pending"])
    );
    client::set_elicit_for_test(|_, schema| {
        assert_eq!(*schema, sep1034_schema());
        Ok(Elicitation::accept(
            json!({"name": "Jane Smith", "age": 25}),
        ))
    });
    let result = berth_plugin()
        .call("test_elicitation_sep1034_defaults", json!({}))
        .unwrap();
    assert_eq!(
        result.text(),
        r#"Elicitation completed: action=accept, content={"age":25,"name":"Jane Smith"}"#
    );
    client::clear_for_test();
}

#[test]
fn sep1330_schema_has_the_five_enum_forms() {
    let schema = sep1330_schema();
    let p = &schema["properties"];
    assert_eq!(p["untitledSingle"]["type"], "string");
    assert!(p["untitledSingle"]["enum"].is_array());
    assert!(p["untitledSingle"].get("oneOf").is_none());
    assert_eq!(p["titledSingle"]["type"], "string");
    assert!(p["titledSingle"].get("enum").is_none());
    for option in p["titledSingle"]["oneOf"].as_array().unwrap() {
        assert!(option["const"].is_string() && option["title"].is_string());
    }
    assert_eq!(
        p["legacyEnum"]["enum"].as_array().unwrap().len(),
        p["legacyEnum"]["enumNames"].as_array().unwrap().len()
    );
    assert_eq!(p["untitledMulti"]["type"], "array");
    assert_eq!(p["untitledMulti"]["items"]["type"], "string");
    assert!(p["untitledMulti"]["items"]["enum"].is_array());
    assert_eq!(p["titledMulti"]["type"], "array");
    assert!(p["titledMulti"]["items"].get("enum").is_none());
    for option in p["titledMulti"]["items"]["anyOf"].as_array().unwrap() {
        assert!(option["const"].is_string() && option["title"].is_string());
    }
    client::set_elicit_for_test(|_, _| Ok(Elicitation::without_content(ElicitAction::Cancel)));
    let result = berth_plugin()
        .call("test_elicitation_sep1330_enums", json!({}))
        .unwrap();
    assert_eq!(
        result.text(),
        "Elicitation completed: action=cancel, content=null"
    );
    client::clear_for_test();
}

#[test]
fn prompts_are_listed_with_descriptions_and_arguments() {
    let prompts = berth_plugin().prompts();
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "test_simple_prompt",
            "test_prompt_with_arguments",
            "test_prompt_with_embedded_resource",
            "test_prompt_with_image",
        ]
    );
    assert!(prompts.iter().all(|p| p.description.is_some()));
    let arguments: Vec<(&str, Option<&str>, bool)> = prompts[1]
        .arguments
        .iter()
        .map(|a| (a.name.as_str(), a.description.as_deref(), a.required))
        .collect();
    assert_eq!(
        arguments,
        [
            ("arg1", Some("First test argument."), true),
            ("arg2", Some("Second test argument."), true),
        ]
    );
    let embedded = &prompts[2].arguments;
    assert_eq!(embedded.len(), 1);
    assert_eq!(embedded[0].name, "resourceUri");
    assert_eq!(
        embedded[0].description.as_deref(),
        Some("URI of the resource to embed.")
    );
    assert!(embedded[0].required);
    assert!(prompts[0].arguments.is_empty() && prompts[3].arguments.is_empty());
}

#[test]
fn prompts_fill_in_as_the_scenarios_expect() {
    let plugin = berth_plugin();
    let simple = plugin.get_prompt("test_simple_prompt", &[]).unwrap();
    assert_eq!(simple.messages.len(), 1);
    assert_eq!(simple.messages[0].role, Role::User);
    assert_eq!(simple.text(), "This is a simple prompt for testing.");

    let with_args = plugin
        .get_prompt(
            "test_prompt_with_arguments",
            &[("arg1", "hello"), ("arg2", "world")],
        )
        .unwrap();
    assert_eq!(
        with_args.text(),
        "Prompt with arguments: arg1='hello', arg2='world'"
    );
    assert!(matches!(
        plugin.get_prompt("test_prompt_with_arguments", &[("arg1", "x")]),
        Err(PromptError::InvalidArguments(m)) if m.contains("arg2")
    ));

    let embedded = plugin
        .get_prompt(
            "test_prompt_with_embedded_resource",
            &[("resourceUri", "test://example-resource")],
        )
        .unwrap();
    assert_eq!(embedded.messages.len(), 2);
    assert!(embedded.messages.iter().all(|m| m.role == Role::User));
    assert_eq!(
        embedded.messages[0].content,
        text_resource(
            "test://example-resource",
            "text/plain",
            "Embedded resource content for testing."
        )
    );
    assert_eq!(
        embedded.messages[1].content,
        ContentBlock::Text("Please process the embedded resource above.".into())
    );

    let image = plugin.get_prompt("test_prompt_with_image", &[]).unwrap();
    assert_eq!(
        image.messages[0].content,
        ContentBlock::Image(media(&RED_PIXEL_PNG, "image/png"))
    );
    assert_eq!(image.text(), "Please analyze the image above.");
}

#[test]
fn completions_suggest_matching_values() {
    let plugin = berth_plugin();
    let prompt = Target::prompt("test_prompt_with_arguments");
    let arg1 = plugin.complete(prompt.clone(), "arg1", "par", &[]).unwrap();
    assert_eq!(arg1.values, ["paris", "park", "party"]);
    let arg1 = plugin
        .complete(prompt.clone(), "arg1", "park", &[])
        .unwrap();
    assert_eq!(arg1.values, ["park"]);
    // The suite types a value nothing starts with: still a valid, empty answer.
    let none = plugin
        .complete(prompt.clone(), "arg1", "test", &[])
        .unwrap();
    assert!(none.values.is_empty());
    let arg2 = plugin
        .complete(prompt, "arg2", "hel", &[("arg1", "paris")])
        .unwrap();
    assert_eq!(arg2.values, ["hello", "help"]);

    let template = Target::template("test://template/{id}/data");
    let ids = plugin.complete(template, "id", "1", &[]).unwrap();
    assert_eq!(ids.values, ["1", "123"]);
    let other = plugin
        .complete(Target::prompt("test_simple_prompt"), "x", "", &[])
        .unwrap();
    assert!(other.values.is_empty());
}

#[test]
fn announcing_a_change_names_the_resource() {
    let _ = berth_plugin_sdk::resources::take_changed_for_test();
    let result = berth_plugin()
        .call(
            "test_notify_resource_changed",
            json!({ "uri": "test://static-text" }),
        )
        .unwrap();
    assert!(!result.is_error, "{result:?}");
    assert_eq!(
        berth_plugin_sdk::resources::take_changed_for_test(),
        ["test://static-text"]
    );
}

/// Standard base64 (with padding), to check the icons' `data:` URIs against their images.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn the_simple_tool_and_prompt_have_inline_icons() {
    use berth_plugin_sdk::icons::Item;
    assert_eq!(base64(b"hi!?"), "aGkhPw==");

    let icons = berth_plugin().icons();
    let items: Vec<&Item> = icons.iter().map(|(item, _)| item).collect();
    assert_eq!(
        items,
        [
            &Item::tool("test_simple_text"),
            &Item::prompt("test_simple_prompt")
        ]
    );

    let tool = &icons[0].1;
    assert_eq!(tool.len(), 1);
    assert_eq!(
        tool[0].src,
        format!("data:image/png;base64,{}", base64(&RED_PIXEL_PNG))
    );
    assert_eq!(tool[0].mime_type.as_deref(), Some("image/png"));
    assert!(tool[0].sizes.is_empty());

    let prompt = &icons[1].1;
    assert_eq!(prompt.len(), 1);
    let circle = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#2a7"/></svg>"##;
    assert_eq!(
        prompt[0].src,
        format!("data:image/svg+xml;base64,{}", base64(circle.as_bytes()))
    );
    assert_eq!(prompt[0].mime_type.as_deref(), Some("image/svg+xml"));
    assert_eq!(prompt[0].sizes, ["any"]);
    assert_eq!(prompt[0].theme, None);
}
