//! Explicit shutdown in two steps. Triggering it (a signal, or the stdio client
//! leaving) stops intake: listeners close, watchers stop, new requests are refused.
//! Calls already running may then finish within a grace period; ending the sessions
//! (a second token, which every MCP session and its calls run under) is the hard stop.
//! A tracker lets `run` wait until every tracked task has actually finished.

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The shutdown signal and the set of tasks that must finish before exit.
#[derive(Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    sessions: CancellationToken,
    tracker: TaskTracker,
}

impl Shutdown {
    /// A fresh, untriggered shutdown.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks everything to stop.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// True once shutdown was asked for.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes when shutdown is asked for.
    pub async fn triggered(&self) {
        self.token.cancelled().await
    }

    /// A token cancelled by shutdown, for one task or request.
    pub fn child_token(&self) -> CancellationToken {
        self.token.child_token()
    }

    /// A token that ends MCP sessions (and the calls they run) when [`Self::end_sessions`]
    /// or [`Self::complete`] is called; triggering alone leaves them running.
    pub fn session_token(&self) -> CancellationToken {
        self.sessions.child_token()
    }

    /// Ends every MCP session and cancels the calls still running in them.
    pub fn end_sessions(&self) {
        self.sessions.cancel();
    }

    /// Runs `task` as tracked work that shutdown waits for.
    pub fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(task)
    }

    /// Triggers shutdown, ends sessions and waits for every tracked task to finish.
    pub async fn complete(&self) {
        self.trigger();
        self.end_sessions();
        self.tracker.close();
        self.tracker.wait().await;
    }

    /// Triggers shutdown on Ctrl-C or SIGTERM.
    pub fn on_signals(&self) {
        let token = self.token.clone();
        tokio::spawn(async move {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                use tokio::signal::unix::{SignalKind, signal};
                match signal(SignalKind::terminate()) {
                    Ok(mut term) => {
                        tokio::select! {
                            _ = ctrl_c => {}
                            _ = term.recv() => {}
                        }
                    }
                    Err(_) => {
                        let _ = ctrl_c.await;
                    }
                }
            }
            #[cfg(not(unix))]
            let _ = ctrl_c.await;
            tracing::info!("shutdown signal received");
            token.cancel();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn complete_waits_for_tracked_tasks() {
        let shutdown = Shutdown::new();
        let token = shutdown.child_token();
        let (tx, rx) = tokio::sync::oneshot::channel();
        shutdown.spawn(async move {
            token.cancelled().await;
            tx.send(()).unwrap();
        });
        shutdown.complete().await;
        assert!(shutdown.is_triggered());
        rx.await.unwrap();
    }

    #[test]
    fn triggering_leaves_sessions_running_until_they_are_ended() {
        let shutdown = Shutdown::new();
        let session = shutdown.session_token();
        shutdown.trigger();
        assert!(!session.is_cancelled());
        shutdown.end_sessions();
        assert!(session.is_cancelled());
    }
}
