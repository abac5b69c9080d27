//! Guest stdout and stderr: captured in memory per call, then replayed into `tracing`
//! line by line (stdout at info, stderr at warn) with fields `plugin` and `stream`.
//!
//! Grant needed: none, and none possible: a plugin can never reach the process's own
//! stdout, because under the stdio transport that stream *is* the MCP protocol channel.
//! Output beyond the per-call cap is dropped (and the drop is logged) rather than
//! failing the guest's write, so the guest runs on to its answer; the call path then
//! turns the overflow into a limit error (`Limit::LogOutput`), because a plugin that
//! floods its output is misbehaving and the client should hear of it.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use super::PLUGIN_TARGET;

/// The largest write permit handed to the guest at once; any value works because
/// writes never block, this just bounds a single host-side copy.
const WRITE_PERMIT: usize = 64 * 1024;

/// Which guest stream a capture belongs to; decides the stream name and log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// Guest stdout, logged at info.
    Stdout,
    /// Guest stderr, logged at warn.
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

#[derive(Debug, Default)]
struct Buffer {
    bytes: Vec<u8>,
    /// Bytes written after the cap was reached.
    dropped: usize,
}

/// One captured guest stream. Clones share the buffer: one clone goes into the
/// `WasiCtx`, the other stays with the call to read the output afterwards, even if the
/// store was dropped mid-call by a timeout.
#[derive(Debug, Clone)]
pub(crate) struct CapturedOutput {
    buffer: Arc<Mutex<Buffer>>,
    capacity: usize,
}

impl CapturedOutput {
    /// An empty capture that keeps at most `capacity` bytes.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            buffer: Arc::default(),
            capacity,
        }
    }

    /// Appends what fits under the cap and counts the rest as dropped.
    fn append(&self, bytes: &[u8]) {
        // A poisoned lock only means another writer panicked mid-append; the bytes
        // are still a valid prefix, so keep going rather than propagate the panic.
        let mut buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let room = self.capacity.saturating_sub(buffer.bytes.len());
        let kept = bytes.len().min(room);
        buffer.bytes.extend_from_slice(&bytes[..kept]);
        buffer.dropped = buffer.dropped.saturating_add(bytes.len() - kept);
    }

    /// How much the guest wrote in total, when that was more than the cap keeps.
    pub(crate) fn overflow(&self) -> Option<(usize, usize)> {
        let buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        (buffer.dropped > 0).then(|| (buffer.bytes.len() + buffer.dropped, self.capacity))
    }

    /// Takes the captured bytes and the dropped count, leaving the capture empty.
    fn take(&self) -> (Vec<u8>, usize) {
        let mut buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let taken = std::mem::take(&mut *buffer);
        (taken.bytes, taken.dropped)
    }

    /// The end of the capture so far (at most about `max_bytes`, cut at a line start
    /// when possible), trimmed, without emptying it; `None` when nothing was written.
    pub(crate) fn tail(&self, max_bytes: usize) -> Option<String> {
        let buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let bytes = &buffer.bytes;
        let mut start = bytes.len().saturating_sub(max_bytes);
        // Prefer starting at a line boundary inside the window.
        if start > 0
            && let Some(newline) = bytes[start..].iter().position(|&b| b == b'\n')
            && start + newline + 1 < bytes.len()
        {
            start += newline + 1;
        }
        let text = String::from_utf8_lossy(&bytes[start..]);
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_string())
    }

    /// Replays the captured output into `tracing` (one event per non-empty line) and
    /// empties the capture. Called after every call, including trapped and timed-out
    /// ones, because that is when the output is most useful.
    pub(crate) fn emit(&self, plugin: &str, stream: Stream) {
        let (bytes, dropped) = self.take();
        if bytes.is_empty() && dropped == 0 {
            return;
        }
        let text = String::from_utf8_lossy(&bytes);
        let name = stream.name();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match stream {
                Stream::Stdout => {
                    tracing::info!(target: PLUGIN_TARGET, plugin, stream = name, "{line}")
                }
                Stream::Stderr => {
                    tracing::warn!(target: PLUGIN_TARGET, plugin, stream = name, "{line}")
                }
            }
        }
        if dropped > 0 {
            tracing::warn!(
                target: PLUGIN_TARGET,
                plugin,
                stream = name,
                dropped_bytes = dropped,
                limit = "max_log_output_kb",
                value = self.capacity >> 10,
                "plugin output exceeded the per-call cap (limit max_log_output_kb = {}); \
                 the rest was dropped",
                self.capacity >> 10
            );
        }
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    // Overridden so WASI p2 writes land in the buffer directly, instead of going
    // through the default adapter, which spawns a writer task per stream.
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

impl OutputStream for CapturedOutput {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedOutput {
    /// Always ready: writes never wait.
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CapturedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::test_support::capture_events;

    #[test]
    fn replays_lines_at_the_stream_level() {
        let out = CapturedOutput::new(1024);
        let mut writer = out.clone();
        writer
            .write(bytes::Bytes::from_static(b"hello\n\nworld\r\n"))
            .unwrap();
        let err = CapturedOutput::new(1024);
        err.clone()
            .write(bytes::Bytes::from_static(b"oops"))
            .unwrap();
        let events = capture_events(|| {
            out.emit("echo", Stream::Stdout);
            err.emit("echo", Stream::Stderr);
        });
        let lines: Vec<_> = events
            .iter()
            .map(|e| {
                (
                    e.level,
                    e.fields["stream"].as_str(),
                    e.fields["message"].as_str(),
                )
            })
            .collect();
        assert_eq!(
            lines,
            vec![
                (tracing::Level::INFO, "stdout", "hello"),
                (tracing::Level::INFO, "stdout", "world"),
                (tracing::Level::WARN, "stderr", "oops"),
            ]
        );
        assert!(events.iter().all(|e| e.fields["plugin"] == "echo"));
        // Emitting empties the capture.
        assert!(capture_events(|| out.emit("echo", Stream::Stdout)).is_empty());
    }

    #[test]
    fn tail_reads_the_end_without_emptying() {
        let out = CapturedOutput::new(1024);
        assert_eq!(out.tail(16), None);
        out.append(b"first line\nthread panicked: boom\n");
        assert_eq!(
            out.tail(1024).as_deref(),
            Some("first line\nthread panicked: boom")
        );
        // A short window starts at the next line boundary inside it.
        assert_eq!(out.tail(24).as_deref(), Some("thread panicked: boom"));
        assert!(!out.take().0.is_empty());
    }

    #[test]
    fn output_beyond_the_cap_is_dropped_and_reported() {
        let out = CapturedOutput::new(4);
        let mut writer = out.clone();
        writer.write(bytes::Bytes::from_static(b"abcdef")).unwrap();
        writer.write(bytes::Bytes::from_static(b"gh")).unwrap();
        assert_eq!(writer.check_write().unwrap(), WRITE_PERMIT);
        let events = capture_events(|| out.emit("echo", Stream::Stdout));
        assert_eq!(events[0].fields["message"], "abcd");
        assert_eq!(events[1].fields["dropped_bytes"], "4");
        assert_eq!(events[1].level, tracing::Level::WARN);
    }
}
