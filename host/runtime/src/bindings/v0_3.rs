//! Bindings for contract `berth:plugin@0.3.x`, generated from the frozen WIT in
//! `wit/berth-plugin/v0.3`, the conversions of its new types (`chat`, `prompts`,
//! `completion`, `client`) from and to Berth's own, and the [`CallablePlugin`] impl for
//! this version.
//!
//! 0.3 is 0.2 plus the optional `prompts` and `completion` exports and the `progress`,
//! `resources` and `client` imports. `types` is still 0.1's (bindgen `with`), and the
//! `guest`, `events` and `needs` code is 0.2's, expanded from `since_0_2.rs`. The new
//! imports are implemented in `runtime/capabilities/`; `client`'s functions are async
//! because they wait for the client's answer.

use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::{Component, InstancePre, Linker};

use super::{CallFuture, CallablePlugin, Failure};
use crate::store::StoreState;
use berth_model::client;
use berth_model::events::CallOutcome;
use berth_model::events::{EventKind, PluginEvent};
use berth_model::manifest;
use berth_model::policy::{FolderNeed, Needs};

pub(crate) use crate::wit::v0_3::*;

use self::berth::plugin::chat as wit_chat;
pub(crate) use self::berth::plugin::client as wit_client;
use self::exports::berth::plugin::completion as wit_completion;
use self::exports::berth::plugin::events as wit_events;
use self::exports::berth::plugin::guest;
use self::exports::berth::plugin::icons as wit_icons;
use self::exports::berth::plugin::needs as wit_needs;
use self::exports::berth::plugin::prompts as wit_prompts;
use crate::wit::v0_1::berth::plugin::types as wit;

/// The range of contract versions these bindings can call.
pub(crate) const VERSION_REQ: &str = ">=0.3.0, <0.4.0";

/// How this contract range is shown to people.
pub(crate) const DISPLAY: &str = "berth:plugin@0.3.x";

/// Instance names of the types-only interfaces a component imports because others `use`
/// them; their Rust types come from elsewhere or have no functions, so they are defined
/// empty.
const TYPE_INSTANCES: [&str; 2] = ["berth:plugin/types@0.3.0", "berth:plugin/chat@0.3.0"];

/// The optional exports' names; a component's `@0.3.N` export matches them.
const EVENTS_INTERFACE: &str = "berth:plugin/events@0.3.0";
const NEEDS_INTERFACE: &str = "berth:plugin/needs@0.3.0";
const PROMPTS_INTERFACE: &str = "berth:plugin/prompts@0.3.0";
const COMPLETION_INTERFACE: &str = "berth:plugin/completion@0.3.0";
const ICONS_INTERFACE: &str = "berth:plugin/icons@0.3.0";

/// Adds this contract's own imports (besides the capabilities) to the shared linker.
pub(crate) fn add_to_linker(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    for name in TYPE_INSTANCES {
        linker.instance(name)?;
    }
    Ok(())
}

/// Pre-instantiates `component` against `linker` and finds its exports: `guest` is
/// required, the rest optional; an optional export that is present but malformed fails
/// the load.
pub(crate) fn prepare(
    linker: &Linker<StoreState>,
    component: &Component,
) -> wasmtime::Result<Arc<dyn CallablePlugin>> {
    let pre = linker.instantiate_pre(component)?;
    let has = |name: &str| component.get_export_index(None, name).is_some();
    let guest = guest::GuestIndices::new(&pre)?;
    let events = match has(EVENTS_INTERFACE) {
        true => Some(wit_events::GuestIndices::new(&pre)?),
        false => None,
    };
    let needs = match has(NEEDS_INTERFACE) {
        true => Some(wit_needs::GuestIndices::new(&pre)?),
        false => None,
    };
    let prompts = match has(PROMPTS_INTERFACE) {
        true => Some(wit_prompts::GuestIndices::new(&pre)?),
        false => None,
    };
    let completion = match has(COMPLETION_INTERFACE) {
        true => Some(wit_completion::GuestIndices::new(&pre)?),
        false => None,
    };
    let icons = match has(ICONS_INTERFACE) {
        true => Some(wit_icons::GuestIndices::new(&pre)?),
        false => None,
    };
    Ok(Arc::new(V0_3 {
        pre,
        guest,
        events,
        needs,
        prompts,
        completion,
        icons,
    }))
}

/// A plugin of contract 0.3: its pre-instantiated component and where its exports are.
struct V0_3 {
    pre: InstancePre<StoreState>,
    guest: guest::GuestIndices,
    events: Option<wit_events::GuestIndices>,
    needs: Option<wit_needs::GuestIndices>,
    prompts: Option<wit_prompts::GuestIndices>,
    completion: Option<wit_completion::GuestIndices>,
    icons: Option<wit_icons::GuestIndices>,
}

super::since_0_2::instance_helpers!(V0_3);

impl V0_3 {
    /// The `prompts` export of the store's instance, if the plugin has one.
    async fn prompts(
        &self,
        store: &mut Store<StoreState>,
    ) -> Result<Option<wit_prompts::Guest>, Failure> {
        let Some(indices) = &self.prompts else {
            return Ok(None);
        };
        self.exported(store, |store, instance| indices.load(store, instance))
            .await
            .map(Some)
    }
}

impl CallablePlugin for V0_3 {
    super::since_0_2::guest_events_needs_methods!();

    fn list_prompts<'a>(
        &'a self,
        store: &'a mut Store<StoreState>,
    ) -> CallFuture<'a, Vec<manifest::PromptSpec>> {
        Box::pin(async move {
            let Some(prompts) = self.prompts(store).await? else {
                return Ok(Vec::new());
            };
            let listed = prompts
                .call_list_prompts(&mut *store)
                .await
                .map_err(Failure::Trap)?;
            Ok(listed.into_iter().map(Into::into).collect())
        })
    }

    fn get_prompt<'a>(
        &'a self,
        store: &'a mut Store<StoreState>,
        name: &'a str,
        arguments: &'a [(String, String)],
        ctx: &'a manifest::CallContext,
    ) -> CallFuture<'a, Result<manifest::PromptOutput, manifest::GuestError>> {
        Box::pin(async move {
            let Some(prompts) = self.prompts(store).await? else {
                return Ok(Err(manifest::GuestError::UnknownPrompt(name.to_string())));
            };
            let context = wit::CallContext::from(ctx);
            let result = prompts
                .call_get_prompt(&mut *store, name, arguments, &context)
                .await
                .map_err(Failure::Trap)?;
            Ok(result.map(Into::into).map_err(Into::into))
        })
    }

    fn icons<'a>(
        &'a self,
        store: &'a mut Store<StoreState>,
    ) -> CallFuture<'a, Vec<(manifest::IconItem, Vec<manifest::Icon>)>> {
        Box::pin(async move {
            let Some(indices) = &self.icons else {
                return Ok(Vec::new());
            };
            let exported = self
                .exported(store, |store, instance| indices.load(store, instance))
                .await?;
            let declared = exported
                .call_icons(&mut *store)
                .await
                .map_err(Failure::Trap)?;
            Ok(declared
                .into_iter()
                .map(|(item, icons)| (item.into(), icons.into_iter().map(Into::into).collect()))
                .collect())
        })
    }

    fn offers_prompts(&self) -> bool {
        self.prompts.is_some()
    }

    fn has_icons(&self) -> bool {
        self.icons.is_some()
    }

    fn completes(&self) -> bool {
        self.completion.is_some()
    }

    fn complete<'a>(
        &'a self,
        store: &'a mut Store<StoreState>,
        request: &'a manifest::CompletionRequest,
    ) -> CallFuture<'a, Result<manifest::Completions, manifest::GuestError>> {
        Box::pin(async move {
            let Some(indices) = &self.completion else {
                return Ok(Ok(manifest::Completions::default()));
            };
            let exported = self
                .exported(store, |store, instance| indices.load(store, instance))
                .await?;
            let target = match &request.target {
                manifest::CompletionTarget::Prompt(name) => {
                    wit_completion::Target::Prompt(name.clone())
                }
                manifest::CompletionTarget::ResourceTemplate(template) => {
                    wit_completion::Target::ResourceTemplate(template.clone())
                }
            };
            let result = exported
                .call_complete(
                    &mut *store,
                    &target,
                    &request.argument,
                    &request.value,
                    &request.chosen,
                )
                .await
                .map_err(Failure::Trap)?;
            Ok(result
                .map(|c| manifest::Completions {
                    values: c.values,
                    total: c.total,
                    has_more: c.has_more,
                })
                .map_err(manifest::GuestError::Failed))
        })
    }
}

super::since_0_2::needs_and_events_conversions!();

// Conversions of the new types. Plain moves: prompt rules are checked by
// `Manifest::validate`, and what may be sent to a client by the `client` capability.

impl From<wit_prompts::Prompt> for manifest::PromptSpec {
    fn from(p: wit_prompts::Prompt) -> Self {
        Self {
            name: p.name,
            title: p.title,
            description: p.description,
            arguments: p
                .arguments
                .into_iter()
                .map(|a| manifest::PromptArgument {
                    name: a.name,
                    title: a.title,
                    description: a.description,
                    required: a.required,
                })
                .collect(),
        }
    }
}

impl From<wit_icons::Item> for manifest::IconItem {
    fn from(item: wit_icons::Item) -> Self {
        match item {
            wit_icons::Item::Tool(name) => Self::Tool(name),
            wit_icons::Item::Prompt(name) => Self::Prompt(name),
            wit_icons::Item::Resource(uri) => Self::Resource(uri),
            wit_icons::Item::ResourceTemplate(template) => Self::ResourceTemplate(template),
        }
    }
}

impl From<wit_icons::Icon> for manifest::Icon {
    fn from(icon: wit_icons::Icon) -> Self {
        Self {
            src: icon.src,
            mime_type: icon.mime_type,
            sizes: icon.sizes,
            theme: icon.theme.map(|theme| match theme {
                wit_icons::Theme::Light => manifest::IconTheme::Light,
                wit_icons::Theme::Dark => manifest::IconTheme::Dark,
            }),
        }
    }
}

impl From<wit_chat::Role> for manifest::Role {
    fn from(role: wit_chat::Role) -> Self {
        match role {
            wit_chat::Role::User => Self::User,
            wit_chat::Role::Assistant => Self::Assistant,
        }
    }
}

impl From<manifest::Role> for wit_chat::Role {
    fn from(role: manifest::Role) -> Self {
        match role {
            manifest::Role::User => Self::User,
            manifest::Role::Assistant => Self::Assistant,
        }
    }
}

impl From<wit_chat::Message> for manifest::Message {
    fn from(m: wit_chat::Message) -> Self {
        Self {
            role: m.role.into(),
            content: m.content.into(),
        }
    }
}

impl From<wit_prompts::PromptResult> for manifest::PromptOutput {
    fn from(r: wit_prompts::PromptResult) -> Self {
        Self {
            description: r.description,
            messages: r.messages.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<wit_prompts::PromptError> for manifest::GuestError {
    fn from(e: wit_prompts::PromptError) -> Self {
        match e {
            wit_prompts::PromptError::UnknownPrompt(name) => Self::UnknownPrompt(name),
            wit_prompts::PromptError::InvalidArguments(why) => Self::InvalidArguments(why),
            wit_prompts::PromptError::Failed(why) => Self::Failed(why),
        }
    }
}

impl From<wit_client::SamplingRequest> for client::SamplingRequest {
    fn from(r: wit_client::SamplingRequest) -> Self {
        Self {
            messages: r.messages.into_iter().map(Into::into).collect(),
            system_prompt: r.system_prompt,
            max_tokens: r.max_tokens,
            temperature: r.temperature,
            stop_sequences: r.stop_sequences,
            model_preferences: r.model_preferences.map(|p| client::ModelPreferences {
                hints: p.hints,
                cost_priority: p.cost_priority,
                speed_priority: p.speed_priority,
                intelligence_priority: p.intelligence_priority,
            }),
        }
    }
}

impl From<client::SamplingResponse> for wit_client::SamplingResponse {
    fn from(r: client::SamplingResponse) -> Self {
        Self {
            role: r.role.into(),
            content: content_to_wit(r.content),
            model: r.model,
            stop_reason: r.stop_reason,
        }
    }
}

impl From<client::ElicitResponse> for wit_client::ElicitResponse {
    fn from(r: client::ElicitResponse) -> Self {
        Self {
            action: match r.action {
                client::ElicitAction::Accept => wit_client::ElicitAction::Accept,
                client::ElicitAction::Decline => wit_client::ElicitAction::Decline,
                client::ElicitAction::Cancel => wit_client::ElicitAction::Cancel,
            },
            content: r.content,
        }
    }
}

impl From<client::ClientError> for wit_client::ClientError {
    fn from(e: client::ClientError) -> Self {
        match e {
            client::ClientError::Unavailable(why) => Self::Unavailable(why),
            client::ClientError::InvalidRequest(why) => Self::InvalidRequest(why),
            client::ClientError::Rejected(why) => Self::Rejected(why),
        }
    }
}

/// A content block for the guest. Only sampling answers go this way, so only text,
/// image and audio occur; the other kinds are converted too, for completeness.
fn content_to_wit(content: manifest::ContentBlock) -> wit::ContentBlock {
    let media = |m: manifest::Media| wit::Media {
        data: m.data,
        mime_type: m.mime_type,
    };
    match content {
        manifest::ContentBlock::Text(text) => wit::ContentBlock::Text(text),
        manifest::ContentBlock::Image(m) => wit::ContentBlock::Image(media(m)),
        manifest::ContentBlock::Audio(m) => wit::ContentBlock::Audio(media(m)),
        manifest::ContentBlock::ResourceLink(l) => {
            wit::ContentBlock::ResourceLink(wit::ResourceLink {
                uri: l.uri,
                name: l.name,
                title: l.title,
                description: l.description,
                mime_type: l.mime_type,
            })
        }
        manifest::ContentBlock::Resource(c) => wit::ContentBlock::Resource(wit::ResourceContents {
            uri: c.uri,
            mime_type: c.mime_type,
            body: match c.body {
                manifest::ResourceBody::Text(t) => wit::ResourceBody::Text(t),
                manifest::ResourceBody::Blob(b) => wit::ResourceBody::Blob(b),
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_req_matches_0_3_only() {
        let req = semver::VersionReq::parse(VERSION_REQ).expect("constant is valid");
        assert!(req.matches(&semver::Version::new(0, 3, 0)));
        assert!(req.matches(&semver::Version::new(0, 3, 9)));
        assert!(!req.matches(&semver::Version::new(0, 2, 0)));
        assert!(!req.matches(&semver::Version::new(0, 4, 0)));
    }

    #[test]
    fn converts_prompts_and_client_answers() {
        let prompt = manifest::PromptSpec::from(wit_prompts::Prompt {
            name: "greet".into(),
            title: None,
            description: Some("Greets".into()),
            arguments: vec![wit_prompts::Argument {
                name: "who".into(),
                title: None,
                description: None,
                required: true,
            }],
        });
        assert_eq!(prompt.arguments[0].name, "who");
        assert!(prompt.arguments[0].required);
        let error = manifest::GuestError::from(wit_prompts::PromptError::UnknownPrompt("x".into()));
        assert_eq!(error, manifest::GuestError::UnknownPrompt("x".into()));
        let answer = wit_client::SamplingResponse::from(client::SamplingResponse {
            role: manifest::Role::Assistant,
            content: manifest::ContentBlock::Text("hi".into()),
            model: "m".into(),
            stop_reason: None,
        });
        assert!(matches!(answer.role, wit_chat::Role::Assistant));
        assert!(matches!(answer.content, wit::ContentBlock::Text(ref t) if t == "hi"));
    }
}
