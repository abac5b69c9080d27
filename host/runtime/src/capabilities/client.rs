//! The `client` capability: a running call asks the client whose request it serves to
//! sample its LLM or to ask its user (MCP `sampling/createMessage`, `elicitation/create`).
//!
//! Grant needed: none beyond the client's own consent: the client decides whether to
//! answer, and the protocol layer refuses when it did not declare the capability. This
//! module checks what Berth can check before anything is sent (the schema is a JSON
//! object, sampling contents are text, image or audio) and converts; the waiting happens
//! under the call's time limit and cancellation, like the guest's own work.

use crate::wit::v0_3::berth::plugin::client as wit_client;
use berth_model::client::{ClientError, ClientLink};
use berth_model::manifest::ContentBlock;

/// Per-store state of the `client` capability: the way to the calling client, if any.
#[derive(Debug, Default)]
pub(crate) struct ClientState {
    link: Option<ClientLink>,
}

impl ClientState {
    /// Requests during this call go to `link`; without one they answer `unavailable`.
    pub(crate) fn connect(&mut self, link: Option<ClientLink>) {
        self.link = link;
    }

    fn link(&self) -> Result<&ClientLink, ClientError> {
        self.link.as_ref().ok_or_else(|| {
            ClientError::Unavailable(
                "no client to ask: this call does not serve a client's request".into(),
            )
        })
    }
}

impl wit_client::Host for ClientState {
    async fn sample(
        &mut self,
        request: wit_client::SamplingRequest,
    ) -> Result<wit_client::SamplingResponse, wit_client::ClientError> {
        let request = berth_model::client::SamplingRequest::from(request);
        for (i, message) in request.messages.iter().enumerate() {
            if !matches!(
                message.content,
                ContentBlock::Text(_) | ContentBlock::Image(_) | ContentBlock::Audio(_)
            ) {
                return Err(ClientError::InvalidRequest(format!(
                    "message {i}: sampling messages hold text, image or audio, not resources"
                ))
                .into());
            }
        }
        if request.messages.is_empty() {
            return Err(ClientError::InvalidRequest("no messages to sample from".into()).into());
        }
        let link = self.link()?.clone();
        Ok(link.0.sample(request).await?.into())
    }

    async fn elicit(
        &mut self,
        message: String,
        requested_schema: String,
    ) -> Result<wit_client::ElicitResponse, wit_client::ClientError> {
        check_requested_schema(&requested_schema)?;
        let link = self.link()?.clone();
        Ok(link.0.elicit(message, requested_schema).await?.into())
    }
}

/// MCP asks for a flat object schema of primitive properties; the client checks the
/// details, Berth checks the shape so a plugin's mistake is named before a person sees
/// a broken form.
fn check_requested_schema(schema: &str) -> Result<(), ClientError> {
    let bad = |why: String| ClientError::InvalidRequest(format!("requested schema: {why}"));
    let value: serde_json::Value =
        serde_json::from_str(schema).map_err(|e| bad(format!("not JSON: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| bad("must be a JSON object".into()))?;
    if object.get("type").and_then(|t| t.as_str()) != Some("object") {
        return Err(bad("its `type` must be \"object\"".into()));
    }
    if let Some(properties) = object.get("properties")
        && !properties.is_object()
    {
        return Err(bad("`properties` must be an object".into()));
    }
    Ok(())
}

/// Adds the `client` import to `linker`; `get` finds the state in the store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> &mut ClientState,
) -> wasmtime::Result<()> {
    wit_client::add_to_linker::<T, wasmtime::component::HasSelf<ClientState>>(linker, get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_schemas_must_be_objects() {
        check_requested_schema(r#"{"type":"object","properties":{"a":{"type":"string"}}}"#)
            .unwrap();
        for bad in [
            "nope",
            "[]",
            r#"{"type":"string"}"#,
            r#"{"type":"object","properties":[]}"#,
        ] {
            assert!(
                matches!(
                    check_requested_schema(bad),
                    Err(ClientError::InvalidRequest(_))
                ),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn without_a_client_requests_are_unavailable() {
        use wit_client::Host as _;
        let mut state = ClientState::default();
        let answer = state
            .elicit("name?".into(), r#"{"type":"object"}"#.into())
            .await;
        assert!(matches!(
            answer,
            Err(wit_client::ClientError::Unavailable(_))
        ));
    }
}
