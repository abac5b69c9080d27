//! `prompts/list`, `prompts/get` and `completion/complete`: prompts come from the
//! plugins' `prompts` exports (named with the plugin's prefix, like tools), and
//! suggestions from their `completion` exports, for the prompt or resource template the
//! client points at.
//!
//! Argument checks happen here, before a plugin runs: every value a string, every
//! required argument present, no undeclared one. Which roles may see a prompt is the
//! same [`Kind::Prompt`] check as for tools.

use rmcp::model::{
    CompleteRequestParams, CompleteResult, CompletionInfo, GetPromptRequestParams, GetPromptResult,
    ListPromptsResult, PaginatedRequestParams, Reference,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};

use super::{BerthServer, caller, convert, notices};
use berth_core::access::Kind;
use berth_model::manifest::{CompletionRequest, CompletionTarget, PromptSpec};

impl BerthServer {
    /// One page of the prompts the caller may see.
    pub(super) fn prompt_page(
        &self,
        request: &Option<PaginatedRequestParams>,
        context: &RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let registry = self.served.registry();
        let (prompts, next) = self.visible_page(
            registry.prompts(),
            request,
            &caller(&context.extensions),
            Kind::Prompt,
            |p| (p.plugin.name(), &p.spec.name),
            convert::prompt,
        )?;
        let mut result = ListPromptsResult::with_all_items(prompts);
        result.next_cursor = next;
        Ok(result)
    }

    /// Fills in the prompt the client asked for.
    pub(super) async fn fill_prompt(
        &self,
        request: GetPromptRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<GetPromptResult, ErrorData> {
        let registry = self.served.registry();
        let unknown = || {
            ErrorData::invalid_params(
                format!("Unknown prompt: {}", request.name),
                Some(serde_json::json!({ "prompt": request.name })),
            )
        };
        let Some(prompt) = registry.prompt(&request.name) else {
            return Err(unknown());
        };
        let caller = caller(&context.extensions);
        let plugin = prompt.plugin.name();
        if !self.allows(&caller, Kind::Prompt, plugin, &prompt.spec.name) {
            let name = &prompt.spec.name;
            return Err(self.refuse(&caller, Kind::Prompt, plugin, name, unknown()));
        }
        let arguments = prompt_arguments(&prompt.qualified_name, &prompt.spec, request.arguments)
            .map_err(|problem| {
            ErrorData::invalid_params(
                problem,
                Some(serde_json::json!({ "prompt": prompt.qualified_name })),
            )
        })?;
        let _running = self.served.calls().begin();
        let (ctx, forwarder) = self.call_context(context, plugin);
        let filled = prompt
            .plugin
            .plugin
            .get_prompt(&prompt.spec.name, &arguments, &ctx, &context.ct)
            .await;
        notices::notices_delivered(ctx, forwarder).await;
        match filled {
            Ok(output) => convert::prompt_output(&prompt.qualified_name, output),
            Err(error) => {
                tracing::warn!(prompt = %prompt.qualified_name, %error, "prompt failed");
                Err(convert::prompt_error(&prompt.qualified_name, error))
            }
        }
    }

    /// Asks the plugin serving the referenced prompt or template for suggestions.
    pub(super) async fn suggest(
        &self,
        request: CompleteRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let registry = self.served.registry();
        let (entry, kind, name, target) = match &request.r#ref {
            Reference::Prompt(reference) => {
                let Some(prompt) = registry.prompt(&reference.name) else {
                    return Err(unknown_reference(&request.r#ref));
                };
                // Only declared arguments are completed; anything else has no values.
                if !prompt
                    .spec
                    .arguments
                    .iter()
                    .any(|a| a.name == request.argument.name)
                {
                    return Ok(CompleteResult::default());
                }
                (
                    &prompt.plugin,
                    Kind::Prompt,
                    prompt.spec.name.as_str(),
                    CompletionTarget::Prompt(prompt.spec.name.clone()),
                )
            }
            Reference::Resource(reference) => {
                let Some(template) = registry.template(&reference.uri) else {
                    return Err(unknown_reference(&request.r#ref));
                };
                (
                    &template.plugin,
                    Kind::Resource,
                    template.spec.uri_template.as_str(),
                    CompletionTarget::ResourceTemplate(template.spec.uri_template.clone()),
                )
            }
            other => {
                return Err(ErrorData::invalid_params(
                    format!("Unsupported completion reference: {other:?}"),
                    None,
                ));
            }
        };
        let caller = caller(&context.extensions);
        if !self.allows(&caller, kind, entry.name(), name) {
            let unknown = unknown_reference(&request.r#ref);
            return Err(self.refuse(&caller, kind, entry.name(), name, unknown));
        }
        let mut chosen: Vec<(String, String)> = request
            .context
            .and_then(|c| c.arguments)
            .unwrap_or_default()
            .into_iter()
            .collect();
        chosen.sort();
        let ask = CompletionRequest {
            target,
            argument: request.argument.name,
            value: request.argument.value,
            chosen,
        };
        let _running = self.served.calls().begin();
        let (ctx, forwarder) = self.call_context(context, entry.name());
        let suggested = entry.plugin.complete(&ask, &ctx, &context.ct).await;
        notices::notices_delivered(ctx, forwarder).await;
        let mut completions = suggested.map_err(|error| {
            tracing::warn!(plugin = %entry.name(), %error, "completion failed");
            ErrorData::internal_error(
                format!("completion by plugin `{}` failed: {error}", entry.name()),
                None,
            )
        })?;
        // MCP caps an answer at 100 values; the rest is reported as "more".
        let truncated = completions.values.len() > CompletionInfo::MAX_VALUES;
        completions.values.truncate(CompletionInfo::MAX_VALUES);
        let mut info = CompletionInfo::new(completions.values)
            .map_err(|e| ErrorData::internal_error(e, None))?;
        info.total = completions.total;
        info.has_more = Some(completions.has_more || truncated);
        Ok(CompleteResult::new(info))
    }
}

/// The client's argument values for `spec` as (name, value) pairs, in declaration order,
/// or what is wrong with them.
fn prompt_arguments(
    qualified: &str,
    spec: &PromptSpec,
    given: Option<rmcp::model::JsonObject>,
) -> Result<Vec<(String, String)>, String> {
    let given = given.unwrap_or_default();
    if let Some(unknown) = given
        .keys()
        .find(|k| !spec.arguments.iter().any(|a| &a.name == *k))
    {
        let declared: Vec<&str> = spec.arguments.iter().map(|a| a.name.as_str()).collect();
        return Err(format!(
            "prompt {qualified} has no argument `{unknown}` (its arguments: {})",
            if declared.is_empty() {
                "none".to_string()
            } else {
                declared.join(", ")
            }
        ));
    }
    let mut values = Vec::new();
    for argument in &spec.arguments {
        match given.get(&argument.name) {
            Some(serde_json::Value::String(value)) => {
                values.push((argument.name.clone(), value.clone()))
            }
            Some(other) => {
                return Err(format!(
                    "argument `{}` of prompt {qualified} must be a string, not {other}",
                    argument.name
                ));
            }
            None if argument.required => {
                return Err(format!(
                    "prompt {qualified} needs argument `{}`",
                    argument.name
                ));
            }
            None => {}
        }
    }
    Ok(values)
}

/// The error for a completion reference to a prompt or template nothing serves (or the
/// caller's roles hide).
fn unknown_reference(reference: &Reference) -> ErrorData {
    match reference {
        Reference::Prompt(prompt) => {
            ErrorData::invalid_params(format!("Unknown prompt: {}", prompt.name), None)
        }
        Reference::Resource(template) => {
            ErrorData::invalid_params(format!("Unknown resource template: {}", template.uri), None)
        }
        other => {
            ErrorData::invalid_params(format!("Unsupported completion reference: {other:?}"), None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_model::manifest::PromptArgument;

    fn spec() -> PromptSpec {
        let argument = |name: &str, required| PromptArgument {
            name: name.into(),
            title: None,
            description: None,
            required,
        };
        PromptSpec {
            name: "greet".into(),
            title: None,
            description: None,
            arguments: vec![argument("who", true), argument("tone", false)],
        }
    }

    fn given(value: serde_json::Value) -> Option<rmcp::model::JsonObject> {
        value.as_object().cloned()
    }

    #[test]
    fn arguments_are_checked_before_the_plugin_runs() {
        let ok = prompt_arguments("p", &spec(), given(serde_json::json!({"who": "Ann"})));
        assert_eq!(ok.unwrap(), vec![("who".to_string(), "Ann".to_string())]);
        let missing = prompt_arguments("p", &spec(), None).unwrap_err();
        assert!(missing.contains("needs argument `who`"), "{missing}");
        let unknown = prompt_arguments(
            "p",
            &spec(),
            given(serde_json::json!({"who": "A", "x": "1"})),
        )
        .unwrap_err();
        assert!(
            unknown.contains("no argument `x`") && unknown.contains("who, tone"),
            "{unknown}"
        );
        let typed =
            prompt_arguments("p", &spec(), given(serde_json::json!({"who": 3}))).unwrap_err();
        assert!(typed.contains("must be a string"), "{typed}");
    }
}
