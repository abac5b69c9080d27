//! The `progress` capability: a running call reports how far it got, and the host sends
//! it to the calling client as `notifications/progress` when the client asked for
//! progress of this call.
//!
//! Grant needed: none. This module enforces what MCP requires of progress (each report
//! greater than the last) by dropping the reports that break it, so a careless plugin
//! cannot make the host send an invalid notification; delivery itself is the protocol
//! layer's.

use crate::wit::v0_3::berth::plugin::progress as progress_v0_3;
use berth_model::client::{Notice, NoticeSink, Progress};

/// Longest progress message sent; a longer one is cut at a character boundary.
const MAX_MESSAGE_BYTES: usize = 1024;

/// Per-store state of the `progress` capability.
#[derive(Debug, Default)]
pub(crate) struct ProgressState {
    /// Where reports go, when the client asked for progress of this call.
    sink: Option<NoticeSink>,
    /// The last progress value sent.
    last: Option<f64>,
}

impl ProgressState {
    /// Sends this call's reports to `sink` when `wanted` (the client gave a progress
    /// token); otherwise reports are dropped.
    pub(crate) fn forward_to(&mut self, sink: Option<NoticeSink>, wanted: bool) {
        self.sink = sink.filter(|_| wanted);
        self.last = None;
    }
}

impl progress_v0_3::Host for ProgressState {
    fn report(&mut self, progress: f64, total: Option<f64>, message: Option<String>) {
        let Some(NoticeSink(sink)) = &self.sink else {
            return;
        };
        if !progress.is_finite() || self.last.is_some_and(|last| progress <= last) {
            return;
        }
        self.last = Some(progress);
        let message = message.map(|mut m| {
            if m.len() > MAX_MESSAGE_BYTES {
                let mut end = MAX_MESSAGE_BYTES;
                while !m.is_char_boundary(end) {
                    end -= 1;
                }
                m.truncate(end);
            }
            m
        });
        let _ = sink.try_send(Notice::Progress(Progress {
            progress,
            total: total.filter(|t| t.is_finite()),
            message,
        }));
    }
}

/// Adds the `progress` import to `linker`; `get` finds the state in the store's data.
pub(crate) fn add_to_linker<T: 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> &mut ProgressState,
) -> wasmtime::Result<()> {
    progress_v0_3::add_to_linker::<T, wasmtime::component::HasSelf<ProgressState>>(linker, get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use progress_v0_3::Host as _;

    fn received(rx: &mut tokio::sync::mpsc::Receiver<Notice>) -> Vec<f64> {
        let mut seen = Vec::new();
        while let Ok(Notice::Progress(p)) = rx.try_recv() {
            seen.push(p.progress);
        }
        seen
    }

    #[test]
    fn sends_only_increasing_finite_progress_when_wanted() {
        let (sink, mut rx) = tokio::sync::mpsc::channel(16);
        let mut state = ProgressState::default();
        state.forward_to(Some(NoticeSink(sink.clone())), true);
        for p in [0.0, 50.0, 50.0, 10.0, f64::NAN, 100.0] {
            state.report(p, Some(100.0), None);
        }
        assert_eq!(received(&mut rx), vec![0.0, 50.0, 100.0]);

        state.forward_to(Some(NoticeSink(sink)), false);
        state.report(1.0, None, None);
        assert!(received(&mut rx).is_empty(), "no token, no progress");
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let (sink, mut rx) = tokio::sync::mpsc::channel(1);
        let mut state = ProgressState::default();
        state.forward_to(Some(NoticeSink(sink)), true);
        state.report(1.0, None, Some("é".repeat(MAX_MESSAGE_BYTES)));
        let Ok(Notice::Progress(p)) = rx.try_recv() else {
            panic!("expected a progress notice");
        };
        let message = p.message.unwrap();
        assert!(message.len() <= MAX_MESSAGE_BYTES && message.chars().all(|c| c == 'é'));
    }
}
