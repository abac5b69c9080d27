//! Per-plugin limits and the pieces that enforce them: [`PluginLimits`] (the values in
//! force for one plugin), the memory limiter of a call's store, the concurrency [`Gate`]
//! with its bounded queue, and the size of a result as the result cap counts it.
//!
//! Limits travel with a plugin's settings, so a config edit applies to calls that start
//! after it. The CPU deadline itself is enforced by `instance::race` (epoch yields plus a
//! tokio deadline); this module does not run guests or build errors for clients.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

use berth_model::manifest::{
    ContentBlock, PromptOutput, ResourceBody, ResourceContents, ToolOutput,
};

/// The limits one plugin's calls run under; every field has a documented default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginLimits {
    /// Longest a call may take, from its arrival (time spent queued counts) to its
    /// result. Default 30 s.
    pub call_timeout: Duration,
    /// Cap on each linear memory of an instance, in bytes. Default 256 MiB.
    pub max_memory_bytes: usize,
    /// Calls of this plugin that may run at once. Default 8.
    pub max_concurrent_calls: usize,
    /// Calls that may wait for a free slot; past this a call fails at once as busy.
    /// Default 32.
    pub max_queued_calls: usize,
    /// Cap on one call's result (text, blobs, structured content), in bytes. Default 4 MiB.
    pub max_result_bytes: usize,
    /// Cap on captured stdout, and separately stderr, of one call, in bytes; the rest is
    /// dropped (and the drop logged). Default 1 MiB.
    pub max_log_output_bytes: usize,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            call_timeout: Duration::from_secs(30),
            max_memory_bytes: 256 << 20,
            max_concurrent_calls: 8,
            max_queued_calls: 32,
            max_result_bytes: 4 << 20,
            max_log_output_bytes: 1 << 20,
        }
    }
}

/// The store's resource limiter: wasmtime's [`StoreLimits`] plus a record of the first
/// memory growth it refused, so a guest that dies of it (a Rust guest aborts with an
/// `unreachable` trap) is reported as having hit the memory limit rather than as a crash
/// of unknown cause.
pub(crate) struct MemoryCap {
    limits: StoreLimits,
    max_bytes: usize,
    refused: Option<usize>,
    /// The largest size a linear memory of the store was allowed to grow to.
    largest: usize,
}

impl MemoryCap {
    /// A limiter capping each linear memory at `max_bytes`.
    pub(crate) fn new(max_bytes: usize) -> Self {
        Self {
            limits: StoreLimitsBuilder::new().memory_size(max_bytes).build(),
            max_bytes,
            refused: None,
            largest: 0,
        }
    }

    /// The size (in bytes) of the first memory growth refused because of the cap.
    pub(crate) fn refused(&self) -> Option<usize> {
        self.refused
    }

    /// The largest size any linear memory of the store has, in bytes (memories never
    /// shrink).
    pub(crate) fn largest(&self) -> usize {
        self.largest
    }

    /// The cap, in bytes.
    pub(crate) fn max_bytes(&self) -> usize {
        self.max_bytes
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            self.largest = self.largest.max(desired);
        } else if desired > self.max_bytes && self.refused.is_none() {
            self.refused = Some(desired);
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }
}

/// Why the gate turned a call away: every slot taken and the queue full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Busy {
    /// Calls running when it was refused.
    pub(crate) running: usize,
    /// Calls waiting when it was refused.
    pub(crate) queued: usize,
}

/// Admission control for one plugin's calls: at most `max_running` run at once, at most
/// `max_queued` wait, first come first served.
///
/// Both numbers are given on every entry (they come from the caller's settings), so a
/// config edit takes effect with the next call; a raised limit lets waiters in at once.
/// The gate is shared by every handle of a plugin name (settings changes and reloads), so
/// the limit counts all of a plugin's calls, not those of one handle.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    state: Mutex<GateState>,
}

#[derive(Debug, Default)]
struct GateState {
    running: usize,
    max_running: usize,
    queue: VecDeque<Waiter>,
    next_ticket: u64,
}

#[derive(Debug)]
struct Waiter {
    ticket: u64,
    wake: oneshot::Sender<()>,
}

impl GateState {
    /// Hands free slots to the oldest waiters. A slot is counted as running the moment it
    /// is handed over (under the lock), so a waiter that goes away before it notices gives
    /// it back in its `Drop`.
    fn admit(&mut self) {
        while self.running < self.max_running {
            let Some(waiter) = self.queue.pop_front() else {
                break;
            };
            if waiter.wake.send(()).is_ok() {
                self.running += 1;
            }
        }
    }
}

/// What [`Gate::try_enter`] gave a call.
pub(crate) enum Admission {
    /// A slot, at once.
    Now(Slot),
    /// A place in the queue.
    Queued(Ticket),
}

/// A running call's slot; dropping it frees the slot for the oldest waiter.
#[derive(Debug)]
pub(crate) struct Slot {
    gate: Arc<Gate>,
}

/// A place in a gate's queue. Dropping it (a cancelled or timed-out wait) leaves the
/// queue, or gives back the slot if one was handed over in the meantime.
#[derive(Debug)]
pub(crate) struct Ticket {
    gate: Arc<Gate>,
    ticket: u64,
    admitted: oneshot::Receiver<()>,
    done: bool,
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, GateState> {
        // Every critical section leaves the counts consistent before anything can panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot now, a place in the queue, or [`Busy`] when the queue is full.
    pub(crate) fn try_enter(
        self: &Arc<Self>,
        max_running: usize,
        max_queued: usize,
    ) -> Result<Admission, Busy> {
        let mut state = self.lock();
        state.max_running = max_running;
        state.admit();
        if state.running < max_running && state.queue.is_empty() {
            state.running += 1;
            return Ok(Admission::Now(Slot {
                gate: Arc::clone(self),
            }));
        }
        if state.queue.len() >= max_queued {
            return Err(Busy {
                running: state.running,
                queued: state.queue.len(),
            });
        }
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        let (wake, admitted) = oneshot::channel();
        state.queue.push_back(Waiter { ticket, wake });
        Ok(Admission::Queued(Ticket {
            gate: Arc::clone(self),
            ticket,
            admitted,
            done: false,
        }))
    }

    /// Calls running and calls waiting, for tests and benchmarks.
    pub(crate) fn load(&self) -> (usize, usize) {
        let state = self.lock();
        (state.running, state.queue.len())
    }

    fn release(&self) {
        let mut state = self.lock();
        state.running -= 1;
        state.admit();
    }
}

impl Ticket {
    /// Waits for a slot. Cancel-safe: dropping the future is dropping the ticket.
    pub(crate) async fn wait(mut self) -> Slot {
        // The sender lives in the gate's queue until it sends, and the gate outlives this
        // ticket (it holds an `Arc`), so the only way this resolves is a handed-over slot.
        let _ = (&mut self.admitted).await;
        self.done = true;
        Slot {
            gate: Arc::clone(&self.gate),
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut state = self.gate.lock();
        if let Some(at) = state.queue.iter().position(|w| w.ticket == self.ticket) {
            state.queue.remove(at);
        } else {
            // Popped means a slot was handed over: give it to the next in line.
            state.running -= 1;
            state.admit();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.gate.release();
    }
}

/// Bytes of a tool result as the result cap counts them: what it takes in the JSON the
/// client is sent. Text is counted escaped (a NUL takes six bytes), binary data as base64,
/// and every block its envelope ([`BLOCK_OVERHEAD`]) even when empty, so a million empty
/// blocks cost what they cost to send and the number of blocks is capped with the size.
pub(crate) fn tool_output_size(output: &ToolOutput) -> usize {
    let blocks = output
        .content
        .iter()
        .map(block_size)
        .fold(0, usize::saturating_add);
    // Structured content is JSON text the plugin wrote and the host re-encodes compactly:
    // its own length is a fair measure, and never less than what is sent.
    blocks.saturating_add(output.structured.as_ref().map_or(0, String::len))
}

/// Bytes of a resource read's contents, counted like [`tool_output_size`].
pub(crate) fn contents_size(contents: &[ResourceContents]) -> usize {
    contents
        .iter()
        .map(resource_size)
        .fold(0, usize::saturating_add)
}

/// Bytes of a filled-in prompt, counted like [`tool_output_size`].
pub(crate) fn prompt_output_size(output: &PromptOutput) -> usize {
    let messages = output
        .messages
        .iter()
        .map(|m| block_size(&m.content).saturating_add(BLOCK_OVERHEAD))
        .fold(0, usize::saturating_add);
    messages.saturating_add(output.description.as_deref().map_or(0, json_len))
}

/// What one content block costs in JSON besides its strings: braces, the `type` member,
/// member names, commas. (`{"type":"text","text":""}` is 25 bytes.)
pub(crate) const BLOCK_OVERHEAD: usize = 32;

fn block_size(block: &ContentBlock) -> usize {
    let payload = match block {
        ContentBlock::Text(text) => json_len(text),
        ContentBlock::Image(media) | ContentBlock::Audio(media) => {
            base64_len(media.data.len()).saturating_add(json_len(&media.mime_type))
        }
        ContentBlock::Resource(contents) => resource_size(contents),
        ContentBlock::ResourceLink(link) => {
            let optional = [&link.title, &link.description, &link.mime_type];
            optional
                .iter()
                .map(|s| s.as_deref().map_or(0, json_len))
                .fold(
                    json_len(&link.uri) + json_len(&link.name),
                    usize::saturating_add,
                )
        }
    };
    payload.saturating_add(BLOCK_OVERHEAD)
}

fn resource_size(contents: &ResourceContents) -> usize {
    let body = match &contents.body {
        ResourceBody::Text(text) => json_len(text),
        ResourceBody::Blob(bytes) => base64_len(bytes.len()),
    };
    json_len(&contents.uri)
        .saturating_add(contents.mime_type.as_deref().map_or(0, json_len))
        .saturating_add(body)
        .saturating_add(BLOCK_OVERHEAD)
}

/// Length of `text` as a JSON string: quotes, two bytes per short escape (`\n`, `\"`),
/// six per other control character (`\u0000`).
fn json_len(text: &str) -> usize {
    text.bytes().fold(2, |len, byte| {
        len + match byte {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..0x20 => 6,
            _ => 1,
        }
    })
}

/// Length of `bytes` bytes in padded base64.
fn base64_len(bytes: usize) -> usize {
    bytes.div_ceil(3).saturating_mul(4)
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;
    use berth_model::manifest::Media;

    fn now(gate: &Arc<Gate>, max_running: usize, max_queued: usize) -> Slot {
        match gate.try_enter(max_running, max_queued) {
            Ok(Admission::Now(slot)) => slot,
            _ => panic!("expected a slot at once"),
        }
    }

    fn queued(gate: &Arc<Gate>, max_running: usize, max_queued: usize) -> Ticket {
        match gate.try_enter(max_running, max_queued) {
            Ok(Admission::Queued(ticket)) => ticket,
            _ => panic!("expected a place in the queue"),
        }
    }

    #[test]
    fn admits_up_to_the_limit_then_queues_then_refuses() {
        let gate = Arc::new(Gate::default());
        let a = now(&gate, 2, 1);
        let _b = now(&gate, 2, 1);
        let waiting = queued(&gate, 2, 1);
        let Err(busy) = gate.try_enter(2, 1) else {
            panic!("a full queue must refuse");
        };
        assert_eq!(
            busy,
            Busy {
                running: 2,
                queued: 1
            }
        );
        // Freeing a slot hands it to the waiter, which then holds it.
        let mut wait = Box::pin(waiting.wait());
        assert!(wait.as_mut().now_or_never().is_none());
        drop(a);
        assert_eq!(gate.load(), (2, 0));
        let slot = wait.now_or_never().expect("admitted once a slot is free");
        drop(slot);
        assert_eq!(gate.load(), (1, 0));
    }

    #[test]
    fn waiters_are_served_in_arrival_order() {
        let gate = Arc::new(Gate::default());
        let running = now(&gate, 1, 5);
        let first = queued(&gate, 1, 5);
        let mut second = Box::pin(queued(&gate, 1, 5).wait());
        drop(running);
        assert!(second.as_mut().now_or_never().is_none(), "second must wait");
        let first = first.wait().now_or_never().expect("first goes first");
        drop(first);
        assert!(second.now_or_never().is_some());
        assert_eq!(gate.load(), (0, 0));
    }

    #[test]
    fn a_dropped_ticket_leaves_the_queue_or_returns_its_slot() {
        let gate = Arc::new(Gate::default());
        let running = now(&gate, 1, 2);
        let abandoned = queued(&gate, 1, 2);
        assert_eq!(gate.load(), (1, 1));
        drop(abandoned);
        assert_eq!(gate.load(), (1, 0));
        // Handed a slot but dropped before noticing: the slot goes back.
        let late = queued(&gate, 1, 2);
        drop(running);
        assert_eq!(gate.load(), (1, 0));
        drop(late);
        assert_eq!(gate.load(), (0, 0));
    }

    #[test]
    fn a_raised_limit_admits_waiters_and_a_lowered_one_holds_new_calls() {
        let gate = Arc::new(Gate::default());
        let _one = now(&gate, 1, 4);
        let waiting = queued(&gate, 1, 4);
        // The next entry brings a higher limit: the waiter gets in at once.
        let _two = now(&gate, 3, 4);
        let _admitted = waiting.wait().now_or_never().expect("admitted");
        assert_eq!(gate.load(), (3, 0));
        // Lowered below what runs: running calls finish, new ones wait.
        let _held = queued(&gate, 1, 4);
        assert_eq!(gate.load(), (3, 1));
    }

    #[test]
    fn result_size_counts_payloads() {
        let output = ToolOutput {
            content: vec![
                ContentBlock::Text("abc".into()),
                ContentBlock::Image(Media {
                    data: vec![0; 10],
                    mime_type: "image/png".into(),
                }),
                ContentBlock::Resource(ResourceContents {
                    uri: "x://y".into(),
                    mime_type: None,
                    body: ResourceBody::Blob(vec![1; 7]),
                }),
            ],
            structured: Some("{}".into()),
            is_error: false,
        };
        // Text and its quotes; 10 bytes as base64 and the quoted MIME type; the quoted
        // URI and 7 bytes as base64, in an embedded resource's envelope too; the JSON.
        let resource = 7 + 12 + BLOCK_OVERHEAD;
        let expected =
            (5 + BLOCK_OVERHEAD) + (16 + 11 + BLOCK_OVERHEAD) + (resource + BLOCK_OVERHEAD) + 2;
        assert_eq!(tool_output_size(&output), expected);
        let contents = [ResourceContents {
            uri: "a".into(),
            mime_type: Some("t".into()),
            body: ResourceBody::Text("hello".into()),
        }];
        assert_eq!(contents_size(&contents), 3 + 3 + 7 + BLOCK_OVERHEAD);
    }

    #[test]
    fn result_size_counts_what_is_sent_even_for_empty_blocks_and_escapes() {
        let empty = ToolOutput {
            content: vec![ContentBlock::Text(String::new()); 1000],
            structured: None,
            is_error: false,
        };
        assert_eq!(tool_output_size(&empty), 1000 * (2 + BLOCK_OVERHEAD));
        let nul = ToolOutput {
            content: vec![ContentBlock::Text("\0".repeat(100))],
            structured: None,
            is_error: false,
        };
        assert_eq!(tool_output_size(&nul), 602 + BLOCK_OVERHEAD);
        assert_eq!(json_len("a\"\\\n\u{1}é"), 2 + 1 + 2 + 2 + 2 + 6 + 2);
        assert_eq!(base64_len(0), 0);
        assert_eq!(base64_len(1), 4);
        assert_eq!(base64_len(3), 4);
        assert_eq!(base64_len(4), 8);
    }

    #[test]
    fn the_memory_cap_records_the_first_refused_growth() {
        let mut cap = MemoryCap::new(1 << 20);
        assert!(cap.memory_growing(0, 1 << 20, None).unwrap());
        assert_eq!(cap.refused(), None);
        assert!(!cap.memory_growing(1 << 20, 2 << 20, None).unwrap());
        assert!(!cap.memory_growing(1 << 20, 3 << 20, None).unwrap());
        assert_eq!(cap.refused(), Some(2 << 20));
        assert_eq!(cap.max_bytes(), 1 << 20);
    }
}
