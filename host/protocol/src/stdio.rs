//! MCP over stdin/stdout: newline-delimited JSON-RPC, one client per process.
//!
//! Written here rather than taken from rmcp's stdio transport, for two reasons. rmcp drops
//! lines that are not JSON (rust-sdk#938); JSON-RPC 2.0 asks for a `-32700 Parse error`
//! reply with a null id instead, and a client that sent a broken line deserves to hear why
//! nothing happened. And every message should cost one parse and one write: this module
//! hands rmcp a stream of messages parsed straight from each line and a sink that writes
//! each answer as one line, with no pipe or task in between (an earlier version screened
//! lines in a task of its own and re-fed them to rmcp through a pipe, parsing each twice).
//! Two writers share stdout, rmcp's answers and this module's replies to broken lines, so
//! each writes whole lines under one lock and a reply never lands inside another message.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::{Sink, Stream};
use rmcp::ServiceExt;
use rmcp::service::{RoleServer, RxJsonRpcMessage, TxJsonRpcMessage};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::Mutex;

use crate::BerthServer;
use berth_core::shutdown::Shutdown;

/// Incoming lines longer than this are refused, bounding memory per message.
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// A message from the client, as rmcp's server side takes it.
type Incoming = RxJsonRpcMessage<RoleServer>;
/// A message to the client, as rmcp's server side gives it.
type Outgoing = TxJsonRpcMessage<RoleServer>;

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
/// is ended by `shutdown` ([`Shutdown::end_sessions`]); answers already being written
/// are written before it returns.
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
    let output = Arc::new(Mutex::new(output));
    let input_ended = Arc::new(AtomicBool::new(false));
    let transport = (
        Box::pin(outgoing(Arc::clone(&output))),
        Box::pin(incoming(
            input,
            Arc::clone(&output),
            Arc::clone(&input_ended),
        )),
    );
    let session = server
        .for_session()
        .serve_with_ct(transport, shutdown.session_token())
        .await;
    match session {
        Ok(running) => {
            let reason = running.waiting().await;
            tracing::info!(?reason, "stdio session ended");
        }
        // The client left (or shutdown came) before initializing: not a server failure.
        Err(error) if shutdown.is_triggered() || input_ended.load(Ordering::Acquire) => {
            tracing::info!(%error, "stdio session ended before initialization");
        }
        Err(error) => return Err(SessionError(error.to_string())),
    }
    // rmcp waits for the answers it is writing before `waiting` returns; this makes sure
    // a buffering writer has passed them on too.
    let _ = output.lock().await.flush().await;
    Ok(())
}

/// The client's messages, read from `input` one line at a time; a line that is not a
/// message is answered on `output` and skipped. Ends at the end of `input` (setting
/// `ended`) or when reading it fails.
fn incoming<I, O>(
    input: I,
    output: Arc<Mutex<O>>,
    ended: Arc<AtomicBool>,
) -> impl Stream<Item = Incoming> + Send
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let reader = LineReader {
        input: BufReader::new(input),
        line: Vec::new(),
        output,
        ended,
    };
    // `unfold` keeps a read in progress inside the stream, so rmcp dropping a `next()`
    // future (it polls this inside a `select!`) loses no bytes.
    futures::stream::unfold(reader, |mut reader| async move {
        let message = reader.next_message().await?;
        Some((message, reader))
    })
}

/// The reading side of a session: stdin, the line being read, and where refusals go.
struct LineReader<I, O> {
    input: BufReader<I>,
    line: Vec<u8>,
    output: Arc<Mutex<O>>,
    ended: Arc<AtomicBool>,
}

impl<I: AsyncRead + Unpin, O: AsyncWrite + Unpin> LineReader<I, O> {
    /// The next message, answering and skipping every line that is not one; `None` at
    /// the end of the input.
    async fn next_message(&mut self) -> Option<Incoming> {
        loop {
            self.line.clear();
            match (&mut self.input)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut self.line)
                .await
            {
                Ok(0) => return self.end(None),
                Ok(_) => {}
                Err(error) => return self.end(Some(error)),
            }
            if self.line.len() > MAX_LINE_BYTES && !self.line.ends_with(b"\n") {
                // Skip the rest of the oversized line, then answer it as invalid.
                if let Err(error) = self.skip_line().await {
                    return self.end(Some(error));
                }
                let reason = format!("Invalid Request: message exceeds {MAX_LINE_BYTES} bytes");
                self.refuse(-32600, Value::Null, &reason).await;
                continue;
            }
            let text = trim_line(&self.line);
            if text.is_empty() {
                continue;
            }
            match parse(text) {
                Ok(Some(message)) => return Some(message),
                Ok(None) => continue,
                Err((code, id, reason)) => self.refuse(code, id, &reason).await,
            }
        }
    }

    /// Ends the session: the input is over, or reading it failed with `error`.
    fn end(&self, error: Option<io::Error>) -> Option<Incoming> {
        if let Some(error) = error {
            tracing::error!(%error, "reading stdin failed; ending the session");
        }
        self.ended.store(true, Ordering::Release);
        None
    }

    /// Reads past the next newline, keeping none of it: the rest of a line too long to
    /// hold costs no memory.
    async fn skip_line(&mut self) -> io::Result<()> {
        loop {
            let buffered = self.input.fill_buf().await?;
            if buffered.is_empty() {
                return Ok(());
            }
            match buffered.iter().position(|&b| b == b'\n') {
                Some(newline) => {
                    self.input.consume(newline + 1);
                    return Ok(());
                }
                None => {
                    let all = buffered.len();
                    self.input.consume(all);
                }
            }
        }
    }

    /// Answers a line that is not a message with a JSON-RPC error.
    async fn refuse(&mut self, code: i64, id: Value, reason: &str) {
        tracing::debug!(code, %reason, "refused a line from the client");
        let line = error_line(code, id, reason);
        if let Err(error) = write_line(&self.output, &line).await {
            tracing::debug!(%error, "stdout closed; the refusal was not written");
        }
    }
}

/// The sink rmcp writes its messages to: each is serialized and written as one line.
fn outgoing<O>(output: Arc<Mutex<O>>) -> impl Sink<Outgoing, Error = io::Error> + Send
where
    O: AsyncWrite + Unpin + Send + 'static,
{
    futures::sink::unfold(output, |output, message: Outgoing| async move {
        let mut line = serde_json::to_vec(&message).map_err(io::Error::other)?;
        line.push(b'\n');
        write_line(&output, &line).await?;
        Ok(output)
    })
}

/// Writes `line` (newline included) and flushes it, holding the lock throughout so no
/// other line can land inside it.
async fn write_line<O: AsyncWrite + Unpin>(output: &Mutex<O>, line: &[u8]) -> io::Result<()> {
    let mut output = output.lock().await;
    output.write_all(line).await?;
    output.flush().await
}

/// A reader of the process's stdin, boxed because which one depends on what stdin is.
pub type StdinReader = Box<dyn AsyncRead + Unpin + Send>;
/// A writer of the process's stdout, boxed because which one depends on what stdout is.
pub type StdoutWriter = Box<dyn AsyncWrite + Unpin + Send>;

/// The process's stdin and stdout, for [`serve`].
///
/// Why not simply tokio's `stdin()`/`stdout()`: those hand every read and every write to
/// a thread of tokio's blocking pool, and profiles of a stdio session showed the thread
/// hand-offs (about ten context switches per call) as the largest cost of a small call
/// after the plugin itself (BENCHMARKS.md). A pipe or a socket, which is how MCP clients
/// launch a server, can instead be switched to non-blocking mode and driven by tokio's
/// reactor, so a request is read and its answer written by the task that handles them.
/// Anything else (a terminal, a file) keeps tokio's blocking-pool stdio: a terminal's
/// mode is shared with the shell that owns it and must not change under it. So does
/// stdout when stderr is the same pipe (`2>&1`): the log, written with blocking writes,
/// would then see a non-blocking pipe.
pub fn process_stdio() -> (StdinReader, StdoutWriter) {
    #[cfg(unix)]
    {
        let input = reactor::stdin().unwrap_or_else(|error| {
            tracing::debug!(%error, "stdin stays on tokio's blocking pool");
            Box::new(tokio::io::stdin())
        });
        let output = reactor::stdout().unwrap_or_else(|error| {
            tracing::debug!(%error, "stdout stays on tokio's blocking pool");
            Box::new(tokio::io::stdout())
        });
        (input, output)
    }
    #[cfg(not(unix))]
    {
        (Box::new(tokio::io::stdin()), Box::new(tokio::io::stdout()))
    }
}

/// Stdin and stdout on tokio's reactor, when they are pipes or sockets.
#[cfg(unix)]
mod reactor {
    use std::fs::File;
    use std::io;
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    use tokio::net::UnixStream;
    use tokio::net::unix::pipe;

    use super::{StdinReader, StdoutWriter};

    /// Stdin as a reactor-driven reader, or why it cannot be one.
    pub(super) fn stdin() -> io::Result<StdinReader> {
        let file = duplicate(io::stdin().as_fd())?;
        match kind(&file)? {
            Kind::Pipe => Ok(Box::new(pipe::Receiver::from_file(file)?)),
            Kind::Socket => Ok(Box::new(socket(file)?)),
        }
    }

    /// Stdout as a reactor-driven writer, or why it cannot be one.
    pub(super) fn stdout() -> io::Result<StdoutWriter> {
        let file = duplicate(io::stdout().as_fd())?;
        let stderr = duplicate(io::stderr().as_fd())?;
        let (out, err) = (file.metadata()?, stderr.metadata()?);
        if (out.dev(), out.ino()) == (err.dev(), err.ino()) {
            return Err(io::Error::other("stderr is the same file as stdout"));
        }
        match kind(&file)? {
            Kind::Pipe => Ok(Box::new(pipe::Sender::from_file(file)?)),
            Kind::Socket => Ok(Box::new(socket(file)?)),
        }
    }

    enum Kind {
        Pipe,
        Socket,
    }

    /// What `file` is, if it is something the reactor can drive.
    fn kind(file: &File) -> io::Result<Kind> {
        let kind = file.metadata()?.file_type();
        if kind.is_fifo() {
            Ok(Kind::Pipe)
        } else if kind.is_socket() {
            Ok(Kind::Socket)
        } else {
            Err(io::Error::other("neither a pipe nor a socket"))
        }
    }

    /// A descriptor of our own for `fd`, so the reader or writer can close it when it is
    /// dropped without closing the process's standard stream. It shares the open file
    /// (and its non-blocking flag) with the original, which nothing else here reads or
    /// writes.
    fn duplicate(fd: BorrowedFd<'_>) -> io::Result<File> {
        Ok(File::from(fd.try_clone_to_owned()?))
    }

    /// A socket (some clients launch servers over a socket pair) in non-blocking mode.
    fn socket(file: File) -> io::Result<UnixStream> {
        let socket = std::os::unix::net::UnixStream::from(OwnedFd::from(file));
        socket.set_nonblocking(true)?;
        UnixStream::from_std(socket)
    }
}

fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line)
}

/// Parses one line into a message. `Ok(None)` is a notification rmcp's types cannot
/// take, which is dropped because JSON-RPC never answers a notification (rmcp itself
/// takes any method, unknown ones as custom messages); `Err` carries the error code, the
/// id to answer and the reason for a line to refuse.
fn parse(text: &[u8]) -> Result<Option<Incoming>, (i64, Value, String)> {
    // The common case costs one parse; only a line that fails it is looked at again, to
    // say precisely what is wrong with it.
    let typed = match serde_json::from_slice::<Incoming>(text) {
        Ok(message) => return Ok(Some(message)),
        Err(error) => error,
    };
    let envelope = screen(text)?;
    match envelope {
        Envelope::Notification => Ok(None),
        // The envelope is sound, so what rmcp's types refused is the params.
        Envelope::Request { id, method } => Err((
            -32602,
            id,
            format!("Invalid params for `{method}`: {typed}"),
        )),
        Envelope::Response { id } => Err((
            -32600,
            id,
            format!("Invalid Request: not a response MCP defines: {typed}"),
        )),
    }
}

/// What a well-formed JSON-RPC 2.0 message is.
#[derive(Debug, PartialEq)]
enum Envelope {
    /// A request, with its id and method.
    Request { id: Value, method: String },
    /// A notification (a method without an id).
    Notification,
    /// A response to a request the server sent.
    Response { id: Value },
}

/// Checks that `text` is one well-formed JSON-RPC 2.0 message and says which kind;
/// otherwise returns the error code, the id to answer (null when it cannot be known) and
/// the reason.
fn screen(text: &[u8]) -> Result<Envelope, (i64, Value, String)> {
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
        Some(Value::String(_)) if id.is_null() => Ok(Envelope::Notification),
        Some(Value::String(method)) => Ok(Envelope::Request {
            id,
            method: method.clone(),
        }),
        Some(_) => invalid(id, "`method` must be a string"),
        None if !id.is_null()
            && (fields.contains_key("result") || fields.contains_key("error")) =>
        {
            Ok(Envelope::Response { id })
        }
        None => invalid(
            id,
            "a request needs a `method`; a response needs an `id` and a `result` or `error`",
        ),
    }
}

fn error_line(code: i64, id: Value, message: &str) -> Vec<u8> {
    let mut line = serde_json::to_vec(&serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message }
    }))
    .unwrap_or_default();
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::{SinkExt, StreamExt};
    use serde_json::json;

    #[tokio::test]
    async fn bad_lines_are_answered_and_good_lines_become_messages() {
        let (mut client_in, server_in) = tokio::io::duplex(4096);
        let (server_out, mut client_out) = tokio::io::duplex(4096);
        let output = Arc::new(Mutex::new(server_out));
        let ended = Arc::new(AtomicBool::new(false));
        let messages = incoming(server_in, Arc::clone(&output), Arc::clone(&ended));
        client_in
            .write_all(b"not json\n\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\n")
            .await
            .unwrap();
        drop(client_in);
        let received: Vec<Incoming> = messages.collect().await;
        assert!(ended.load(Ordering::Acquire));
        assert_eq!(received.len(), 1, "only the ping is a message");
        let ping = serde_json::to_value(&received[0]).unwrap();
        assert_eq!(ping["method"], "ping");
        assert_eq!(ping["id"], 1);

        let mut sink = Box::pin(outgoing(Arc::clone(&output)));
        let pong: Outgoing = serde_json::from_value(json!({"jsonrpc":"2.0","id":1,"result":{}}))
            .expect("an empty result is a server message");
        sink.send(pong).await.unwrap();
        drop(sink);
        drop(output);
        let mut out = String::new();
        client_out.read_to_string(&mut out).await.unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        let error: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(error["error"]["code"], -32700);
        assert!(error["id"].is_null());
        let answer: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(answer, json!({"jsonrpc":"2.0","id":1,"result":{}}));
    }

    #[tokio::test]
    async fn an_oversized_line_is_refused_and_the_next_one_served() {
        let (mut client_in, server_in) = tokio::io::duplex(64 * 1024);
        let (server_out, mut client_out) = tokio::io::duplex(4096);
        let output = Arc::new(Mutex::new(server_out));
        let ended = Arc::new(AtomicBool::new(false));
        let messages = incoming(server_in, Arc::clone(&output), ended);
        let writer = tokio::spawn(async move {
            let mut huge = vec![b'x'; MAX_LINE_BYTES + 1024];
            huge.push(b'\n');
            client_in.write_all(&huge).await.unwrap();
            client_in
                .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}\n")
                .await
                .unwrap();
        });
        let received: Vec<Incoming> = messages.collect().await;
        writer.await.unwrap();
        assert_eq!(received.len(), 1);
        assert_eq!(serde_json::to_value(&received[0]).unwrap()["id"], 3);
        drop(output);
        let mut out = String::new();
        client_out.read_to_string(&mut out).await.unwrap();
        let refusal: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(refusal["error"]["code"], -32600, "{out}");
        assert!(
            refusal["error"]["message"]
                .as_str()
                .unwrap()
                .contains("exceeds"),
            "{out}"
        );
    }

    #[test]
    fn envelopes_are_screened() {
        let ok = |t: &[u8]| screen(t).unwrap();
        assert_eq!(
            ok(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            Envelope::Request {
                id: json!(1),
                method: "ping".into()
            }
        );
        assert_eq!(
            ok(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Envelope::Notification
        );
        assert_eq!(
            ok(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
            Envelope::Response { id: json!(1) }
        );
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

    #[test]
    fn a_sound_envelope_that_is_no_mcp_message_is_refused_with_its_id() {
        // rmcp takes any method (unknown ones become custom requests it answers itself),
        // but not params that are not an object, nor an error without a numeric code.
        let (code, id, reason) =
            parse(br#"{"jsonrpc":"2.0","id":7,"method":"ping","params":5}"#).unwrap_err();
        assert_eq!((code, id), (-32602, json!(7)));
        assert!(reason.contains("`ping`"), "{reason}");
        let (code, id, _) =
            parse(br#"{"jsonrpc":"2.0","id":8,"error":{"code":"x","message":"m"}}"#).unwrap_err();
        assert_eq!((code, id), (-32600, json!(8)));
        assert!(
            parse(br#"{"jsonrpc":"2.0","id":9,"method":"no/such/method"}"#)
                .unwrap()
                .is_some()
        );
    }
}
