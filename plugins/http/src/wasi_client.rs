//! Sends a [`Request`] through `wasi:http/outgoing-handler` and reads the whole response.
//! The host checks the destination against the operator's grants before anything is
//! sent; its verdict arrives here as `HTTP-request-denied`, which is turned into an error
//! that tells the model (and the operator reading along) what to grant.

use berth_plugin_sdk::ToolError;
use wasi::http::outgoing_handler;
use wasi::http::types::{ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, Scheme};
use wasi::io::streams::StreamError;

use crate::{Fetched, MAX_BODY_BYTES, Request, shape};

/// wasi:io output streams take at most this much per blocking write.
const WRITE_CHUNK: usize = 4096;

fn failed(request: &Request, what: impl std::fmt::Display) -> ToolError {
    ToolError::failed(format!("{} {}: {what}", request.method, request.url))
}

fn explain(request: &Request, code: &ErrorCode) -> ToolError {
    match code {
        ErrorCode::HttpRequestDenied => ToolError::failed(format!(
            "{} {}: the host denied the request: `{}` is not in this plugin's network grants \
             (the operator can add it under [plugins.http.grants] network)",
            request.method, request.url, request.url.authority
        )),
        other => failed(request, format!("the request failed: {other:?}")),
    }
}

/// Sends `request` and returns the shaped response.
pub fn send(request: &Request) -> Result<Fetched, ToolError> {
    let entries: Vec<(String, Vec<u8>)> = request
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
        .collect();
    let headers = Fields::from_list(&entries)
        .map_err(|e| failed(request, format!("a header was refused: {e:?}")))?;
    let outgoing = OutgoingRequest::new(headers);
    let method = match request.method.as_str() {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "HEAD" => Method::Head,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_string()),
    };
    let scheme = match request.url.scheme.as_str() {
        "http" => Scheme::Http,
        _ => Scheme::Https,
    };
    let set = [
        outgoing.set_method(&method),
        outgoing.set_scheme(Some(&scheme)),
        outgoing.set_authority(Some(&request.url.authority)),
        outgoing.set_path_with_query(Some(&request.url.path_with_query)),
    ];
    if set.iter().any(Result::is_err) {
        return Err(failed(
            request,
            "the host refused the request's method or URL",
        ));
    }
    let body = outgoing
        .body()
        .map_err(|()| failed(request, "the request body cannot be opened"))?;
    // Hand the request over first, then stream the body: the host reads it as it sends.
    let response = outgoing_handler::handle(outgoing, None).map_err(|e| explain(request, &e))?;
    {
        let stream = body
            .write()
            .map_err(|()| failed(request, "the request body cannot be written"))?;
        for chunk in request.body.chunks(WRITE_CHUNK) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| failed(request, format!("writing the body failed: {e:?}")))?;
        }
    }
    OutgoingBody::finish(body, None).map_err(|e| explain(request, &e))?;

    response.subscribe().block();
    let incoming = match response.get() {
        Some(Ok(Ok(incoming))) => incoming,
        Some(Ok(Err(code))) => return Err(explain(request, &code)),
        Some(Err(())) | None => return Err(failed(request, "no response arrived")),
    };
    let status = incoming.status();
    let headers = incoming.headers().entries();
    let body = incoming
        .consume()
        .map_err(|()| failed(request, "the response body cannot be opened"))?;
    let mut bytes = Vec::new();
    {
        let stream = body
            .stream()
            .map_err(|()| failed(request, "the response body cannot be read"))?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    bytes.extend_from_slice(&chunk);
                    // Read one byte past the cap so `shape` can tell a cut happened.
                    if bytes.len() > MAX_BODY_BYTES {
                        break;
                    }
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(failed(
                        request,
                        format!("reading the response failed: {}", e.to_debug_string()),
                    ));
                }
            }
        }
    }
    Ok(shape(status, headers, bytes))
}
