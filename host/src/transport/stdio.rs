//! MCP over stdin/stdout: newline-delimited JSON-RPC, one client per process.
//!
//! rmcp's stdio transport deliberately drops lines that are not JSON (rust-sdk#938).
//! JSON-RPC 2.0 asks for a `-32700 Parse error` reply with a null id instead, and a
//! client that sent a broken line deserves to hear why nothing happened. So this module
//! sits between the real stdio and rmcp: it screens each incoming line, answers the
//! unparsable ones itself, and hands the rest to rmcp through an in-process pipe.
//! Because two writers now share stdout, every write goes through one task that writes
//! whole lines only, so a parse-error reply can never land inside another message.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use rmcp::ServiceExt;
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::protocol::BerthServer;
use crate::shutdown::Shutdown;

/// Incoming lines longer than this are refused, bounding memory per message.
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// The rmcp-facing ends of a screened stdio transport plus the tasks that pump it.
pub struct ScreenedStdio {
    /// What rmcp reads: the client's well-formed lines.
    pub reader: DuplexStream,
    /// What rmcp writes: whole lines, forwarded to stdout in order.
    pub writer: LineWriter,
    /// Pumps stdin into `reader`; ends at EOF.
    pub input_task: JoinHandle<()>,
    /// Writes every queued line to stdout; ends when every writer is dropped.
    pub output_task: JoinHandle<()>,
}

/// Wires `input` and `output` (the process's stdin and stdout in production) for rmcp.
pub fn screened<I, O>(input: I, output: O) -> ScreenedStdio
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    // Unbounded is acceptable here: every queued line answers a client request, so the
    // client's own pace bounds the queue.
    let (lines_tx, lines_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let output_task = tokio::spawn(write_lines(output, lines_rx));
    let (rmcp_side, mut our_side) = tokio::io::duplex(64 * 1024);
    let replies = lines_tx.clone();
    let input_task = tokio::spawn(async move {
        let mut input = BufReader::new(input);
        let mut line = Vec::new();
        loop {
            line.clear();
            match (&mut input)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut line)
                .await
            {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) => {
                    tracing::error!(%error, "reading stdin failed; ending the session");
                    break;
                }
            }
            if line.len() > MAX_LINE_BYTES && !line.ends_with(b"\n") {
                // Skip the rest of the oversized line, then answer it as invalid.
                let mut rest = Vec::new();
                let _ = input.read_until(b'\n', &mut rest).await;
                let _ = replies.send(error_line(
                    -32600,
                    serde_json::Value::Null,
                    &format!("Invalid Request: message exceeds {MAX_LINE_BYTES} bytes"),
                ));
                continue;
            }
            let text = trim_line(&line);
            if text.is_empty() {
                continue;
            }
            if let Err((code, id, message)) = screen(text) {
                tracing::debug!(code, %message, "refused a line from the client");
                let _ = replies.send(error_line(code, id, &message));
                continue;
            }
            if our_side.write_all(text).await.is_err() || our_side.write_all(b"\n").await.is_err() {
                break;
            }
        }
        // Dropping our side is rmcp's end-of-input: the session ends when stdin closes.
        let _ = our_side.shutdown().await;
    });
    ScreenedStdio {
        reader: rmcp_side,
        writer: LineWriter {
            pending: Vec::new(),
            lines: lines_tx,
        },
        input_task,
        output_task,
    }
}

/// Why a stdio session failed.
#[derive(Debug, thiserror::Error)]
#[error("MCP session over stdio failed to start: {0}")]
pub struct SessionError(String);

impl From<tokio::task::JoinError> for SessionError {
    fn from(error: tokio::task::JoinError) -> Self {
        Self(format!("the session task failed: {error}"))
    }
}

/// Serves one MCP session over `input`/`output` until the input ends or the session
/// is ended by `shutdown` ([`Shutdown::end_sessions`]); replies already queued are
/// written before it returns.
pub async fn serve<I, O>(
    server: BerthServer,
    input: I,
    output: O,
    shutdown: Shutdown,
) -> Result<(), SessionError>
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let io = screened(input, output);
    let session = server
        .for_session()
        .serve_with_ct((io.reader, io.writer), shutdown.session_token())
        .await;
    match session {
        Ok(running) => {
            let reason = running.waiting().await;
            tracing::info!(?reason, "stdio session ended");
        }
        // The client left (or shutdown came) before initializing: not a server failure.
        Err(error) if shutdown.is_triggered() || io.input_task.is_finished() => {
            tracing::info!(%error, "stdio session ended before initialization");
        }
        Err(error) => return Err(SessionError(error.to_string())),
    }
    // The input task holds a reply sender; stop it so the writer sees its last sender
    // go, then let the writer flush every queued reply before the process exits.
    io.input_task.abort();
    let _ = io.output_task.await;
    Ok(())
}

fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line)
}

/// Checks that `text` is one well-formed JSON-RPC 2.0 message; otherwise returns the error
/// code, the id to answer (null when it cannot be known) and the message.
fn screen(text: &[u8]) -> Result<(), (i64, serde_json::Value, String)> {
    use serde_json::Value;
    let message: Value = serde_json::from_slice(text)
        .map_err(|e| (-32700, Value::Null, format!("Parse error: {e}")))?;
    let invalid = |id: Value, why: &str| Err((-32600, id, format!("Invalid Request: {why}")));
    let Value::Object(fields) = &message else {
        return invalid(
            Value::Null,
            "a message must be a JSON object (batches are not supported)",
        );
    };
    let id = match fields.get("id") {
        Some(id @ (Value::String(_) | Value::Number(_))) => id.clone(),
        Some(Value::Null) | None => Value::Null,
        Some(_) => return invalid(Value::Null, "`id` must be a string or a number"),
    };
    if fields.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid(id, "`jsonrpc` must be \"2.0\"");
    }
    match fields.get("method") {
        Some(Value::String(_)) => Ok(()),
        Some(_) => invalid(id, "`method` must be a string"),
        // A response to a request the server sent.
        None if !id.is_null()
            && (fields.contains_key("result") || fields.contains_key("error")) =>
        {
            Ok(())
        }
        None => invalid(
            id,
            "a request needs a `method`; a response needs an `id` and a `result` or `error`",
        ),
    }
}

fn error_line(code: i64, id: serde_json::Value, message: &str) -> Vec<u8> {
    let mut line = serde_json::to_vec(&serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message }
    }))
    .unwrap_or_default();
    line.push(b'\n');
    line
}

async fn write_lines<O: AsyncWrite + Unpin>(
    mut output: O,
    mut lines: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    while let Some(line) = lines.recv().await {
        if output.write_all(&line).await.is_err() || output.flush().await.is_err() {
            tracing::debug!("stdout closed; dropping further output");
            break;
        }
    }
}

/// An `AsyncWrite` that forwards only complete lines to the stdout writer task.
pub struct LineWriter {
    pending: Vec<u8>,
    lines: mpsc::UnboundedSender<Vec<u8>>,
}

impl AsyncWrite for LineWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.pending.extend_from_slice(buf);
        if let Some(last_newline) = this.pending.iter().rposition(|&b| b == b'\n') {
            let rest = this.pending.split_off(last_newline + 1);
            let complete = std::mem::replace(&mut this.pending, rest);
            if this.lines.send(complete).is_err() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "stdout writer ended",
                )));
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.pending.is_empty() {
            let mut rest = std::mem::take(&mut this.pending);
            rest.push(b'\n');
            let _ = this.lines.send(rest);
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bad_lines_get_parse_errors_and_good_lines_pass_through() {
        let (mut client_in, server_in) = tokio::io::duplex(4096);
        let (server_out, mut client_out) = tokio::io::duplex(4096);
        let mut stdio = screened(server_in, server_out);
        client_in
            .write_all(b"not json\n\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\n")
            .await
            .unwrap();
        drop(client_in);

        let mut passed = String::new();
        stdio.reader.read_to_string(&mut passed).await.unwrap();
        assert_eq!(
            passed,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n"
        );

        stdio.writer.write_all(b"{\"a\":").await.unwrap();
        stdio.writer.write_all(b"1}\n").await.unwrap();
        drop(stdio.writer);
        stdio.input_task.await.unwrap();
        stdio.output_task.await.unwrap();
        let mut out = String::new();
        client_out.read_to_string(&mut out).await.unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        let error: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(error["error"]["code"], -32700);
        assert!(error["id"].is_null());
        assert_eq!(lines[1], "{\"a\":1}");
    }

    #[test]
    fn envelopes_are_screened() {
        use serde_json::json;
        assert!(screen(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).is_ok());
        assert!(screen(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).is_ok());
        assert!(screen(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#).is_ok());
        let code = |t: &[u8]| screen(t).unwrap_err().0;
        assert_eq!(code(b"{"), -32700);
        assert_eq!(code(b"[]"), -32600);
        assert_eq!(code(br#"{"id":1,"method":"ping"}"#), -32600);
        assert_eq!(
            screen(br#"{"jsonrpc":"2.0","id":"x","params":{}}"#)
                .unwrap_err()
                .1,
            json!("x")
        );
        assert_eq!(code(br#"{"jsonrpc":"2.0","id":2,"method":7}"#), -32600);
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#),
            -32600
        );
    }
}
