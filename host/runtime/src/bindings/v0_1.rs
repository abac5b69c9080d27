//! Bindings for contract `berth:plugin@0.1.x`, generated from the frozen WIT in
//! `wit/berth-plugin/v0.1`, plus the conversions between its types and Berth's own
//! [`berth_model::manifest`] types, and the [`CallablePlugin`] impl for this version.
//!
//! Nothing outside `runtime/` sees these generated types: callers get
//! [`berth_model::manifest`] values. Host imports (`log`, `config`) are implemented in
//! `runtime/capabilities/`, not here.

use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, InstancePre, Linker};

use super::{CallFuture, CallablePlugin, Failure};
use crate::store::StoreState;
use berth_model::manifest;

pub(crate) use crate::wit::v0_1::*;

use self::berth::plugin::types as wit;

/// The range of contract versions these bindings can call. wasmtime resolves the
/// component's `berth:plugin/guest@0.1.N` export against our `@0.1.0` names by semver
/// compatibility, so any 0.1.x plugin links.
pub(crate) const VERSION_REQ: &str = ">=0.1.0, <0.2.0";

/// How this contract range is shown to people.
pub(crate) const DISPLAY: &str = "berth:plugin@0.1.x";

/// The `types` interface has no functions; the world imports it only because `log`
/// `use`s its `level` enum, and the linker must still define the (empty) instance.
impl wit::Host for StoreState {}

/// Adds this contract's own imports (besides the capabilities) to the shared linker.
pub(crate) fn add_to_linker(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<StoreState, HasSelf<StoreState>>(linker, |state| state)
}

/// Pre-instantiates `component` against `linker`, type-checking every import now so a
/// missing one fails the load instead of the first call.
pub(crate) fn prepare(
    linker: &Linker<StoreState>,
    component: &Component,
) -> wasmtime::Result<Arc<dyn CallablePlugin>> {
    let pre = linker.instantiate_pre(component)?;
    let indices = PluginIndices::new(&pre)?;
    Ok(Arc::new(V0_1 { pre, indices }))
}

/// A plugin of contract 0.1: its pre-instantiated component and where its exports are.
struct V0_1 {
    pre: InstancePre<StoreState>,
    indices: PluginIndices,
}

impl V0_1 {
    /// The exports of the store's instance (see [`super::exports`]).
    async fn instantiate(&self, store: &mut Store<StoreState>) -> Result<Arc<Plugin>, Failure> {
        // The world's generated struct is not `Clone`; a warm store keeps it shared.
        super::exports(&self.pre, store, |store, instance| {
            self.indices.load(store, instance).map(Arc::new)
        })
        .await
    }
}

impl CallablePlugin for V0_1 {
    fn describe<'a>(
        &'a self,
        store: &'a mut Store<StoreState>,
    ) -> CallFuture<'a, manifest::Manifest> {
        Box::pin(async move {
            let plugin = self.instantiate(store).await?;
            let described = plugin
                .berth_plugin_guest()
                .call_describe(&mut *store)
                .await
                .map_err(Failure::Trap)?;
            Ok(described.into())
        })
    }

    fn call_tool<'a>(
        &'a self,
        store: &'a mut Store<StoreState>,
        tool: &'a str,
        arguments_json: &'a str,
        ctx: &'a manifest::CallContext,
    ) -> CallFuture<'a, Result<manifest::ToolOutput, manifest::GuestError>> {
        Box::pin(async move {
            let plugin = self.instantiate(store).await?;
            let context = wit::CallContext::from(ctx);
            let result = plugin
                .berth_plugin_guest()
                .call_call_tool(&mut *store, tool, arguments_json, &context)
                .await
                .map_err(Failure::Trap)?;
            Ok(result.map(Into::into).map_err(Into::into))
        })
    }

    fn read_resource<'a>(
        &'a self,
        store: &'a mut Store<StoreState>,
        uri: &'a str,
        ctx: &'a manifest::CallContext,
    ) -> CallFuture<'a, Result<Vec<manifest::ResourceContents>, manifest::GuestError>> {
        Box::pin(async move {
            let plugin = self.instantiate(store).await?;
            let context = wit::CallContext::from(ctx);
            let result = plugin
                .berth_plugin_guest()
                .call_read_resource(&mut *store, uri, &context)
                .await
                .map_err(Failure::Trap)?;
            Ok(result
                .map(|contents| contents.into_iter().map(Into::into).collect())
                .map_err(Into::into))
        })
    }
}

// Conversions from the generated types into Berth's. They are plain field moves: the
// manifest rules are checked by `Manifest::validate`, not here.

impl From<wit::Manifest> for manifest::Manifest {
    fn from(m: wit::Manifest) -> Self {
        Self {
            name: m.name,
            version: m.version,
            description: m.description,
            tools: m.tools.into_iter().map(Into::into).collect(),
            resources: m.resources.into_iter().map(Into::into).collect(),
            resource_templates: m.resource_templates.into_iter().map(Into::into).collect(),
            prompts: Vec::new(),
            icons: Vec::new(),
        }
    }
}

impl From<wit::Tool> for manifest::ToolSpec {
    fn from(t: wit::Tool) -> Self {
        Self {
            name: t.name,
            title: t.title,
            description: t.description,
            input_schema: t.input_schema,
            output_schema: t.output_schema,
            annotations: t.annotations.into(),
        }
    }
}

impl From<wit::ToolAnnotations> for manifest::ToolAnnotations {
    fn from(a: wit::ToolAnnotations) -> Self {
        Self {
            read_only: a.read_only,
            destructive: a.destructive,
            idempotent: a.idempotent,
            open_world: a.open_world,
        }
    }
}

impl From<wit::Resource> for manifest::ResourceSpec {
    fn from(r: wit::Resource) -> Self {
        Self {
            uri: r.uri,
            name: r.name,
            title: r.title,
            description: r.description,
            mime_type: r.mime_type,
            size: r.size,
        }
    }
}

impl From<wit::ResourceTemplate> for manifest::ResourceTemplateSpec {
    fn from(t: wit::ResourceTemplate) -> Self {
        Self {
            uri_template: t.uri_template,
            name: t.name,
            title: t.title,
            description: t.description,
            mime_type: t.mime_type,
        }
    }
}

impl From<&manifest::CallContext> for wit::CallContext {
    fn from(c: &manifest::CallContext) -> Self {
        Self {
            request_id: c.request_id.clone(),
            client_name: c.client_name.clone(),
            client_version: c.client_version.clone(),
        }
    }
}

impl From<wit::Media> for manifest::Media {
    fn from(m: wit::Media) -> Self {
        Self {
            data: m.data,
            mime_type: m.mime_type,
        }
    }
}

impl From<wit::ResourceBody> for manifest::ResourceBody {
    fn from(b: wit::ResourceBody) -> Self {
        match b {
            wit::ResourceBody::Text(text) => Self::Text(text),
            wit::ResourceBody::Blob(bytes) => Self::Blob(bytes),
        }
    }
}

impl From<wit::ResourceContents> for manifest::ResourceContents {
    fn from(c: wit::ResourceContents) -> Self {
        Self {
            uri: c.uri,
            mime_type: c.mime_type,
            body: c.body.into(),
        }
    }
}

impl From<wit::ResourceLink> for manifest::ResourceLink {
    fn from(l: wit::ResourceLink) -> Self {
        Self {
            uri: l.uri,
            name: l.name,
            title: l.title,
            description: l.description,
            mime_type: l.mime_type,
        }
    }
}

impl From<wit::ContentBlock> for manifest::ContentBlock {
    fn from(b: wit::ContentBlock) -> Self {
        match b {
            wit::ContentBlock::Text(text) => Self::Text(text),
            wit::ContentBlock::Image(media) => Self::Image(media.into()),
            wit::ContentBlock::Audio(media) => Self::Audio(media.into()),
            wit::ContentBlock::ResourceLink(link) => Self::ResourceLink(link.into()),
            wit::ContentBlock::Resource(contents) => Self::Resource(contents.into()),
        }
    }
}

impl From<wit::ToolResult> for manifest::ToolOutput {
    fn from(r: wit::ToolResult) -> Self {
        Self {
            content: r.content.into_iter().map(Into::into).collect(),
            structured: r.structured,
            is_error: r.is_error,
        }
    }
}

impl From<wit::CallError> for manifest::GuestError {
    fn from(e: wit::CallError) -> Self {
        match e {
            wit::CallError::UnknownTool(name) => Self::UnknownTool(name),
            wit::CallError::InvalidArguments(why) => Self::InvalidArguments(why),
            wit::CallError::Failed(why) => Self::Failed(why),
        }
    }
}

impl From<wit::ReadError> for manifest::GuestError {
    fn from(e: wit::ReadError) -> Self {
        match e {
            wit::ReadError::NotFound(uri) => Self::ResourceNotFound(uri),
            wit::ReadError::Failed(why) => Self::Failed(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_req_parses_and_matches_patch_releases_only() {
        let req = semver::VersionReq::parse(VERSION_REQ).expect("constant is valid");
        assert!(req.matches(&semver::Version::new(0, 1, 0)));
        assert!(req.matches(&semver::Version::new(0, 1, 9)));
        assert!(!req.matches(&semver::Version::new(0, 2, 0)));
        assert!(!req.matches(&semver::Version::new(1, 0, 0)));
    }

    #[test]
    fn converts_results_and_errors() {
        let result = wit::ToolResult {
            content: vec![
                wit::ContentBlock::Text("hi".into()),
                wit::ContentBlock::Resource(wit::ResourceContents {
                    uri: "notes://a".into(),
                    mime_type: None,
                    body: wit::ResourceBody::Blob(vec![1, 2]),
                }),
            ],
            structured: Some("{}".into()),
            is_error: false,
        };
        let output = manifest::ToolOutput::from(result);
        assert_eq!(output.content[0], manifest::ContentBlock::Text("hi".into()));
        assert!(matches!(
            &output.content[1],
            manifest::ContentBlock::Resource(c) if c.body == manifest::ResourceBody::Blob(vec![1, 2])
        ));
        assert_eq!(
            manifest::GuestError::from(wit::ReadError::NotFound("x://y".into())),
            manifest::GuestError::ResourceNotFound("x://y".into())
        );
        assert_eq!(
            manifest::GuestError::from(wit::CallError::UnknownTool("t".into())),
            manifest::GuestError::UnknownTool("t".into())
        );
    }
}
