//! Progress of the running call (the contract's `progress` import): a long tool call says
//! how far it got, and the client shows it.
//!
//! ```
//! use berth_plugin_sdk::prelude::*;
//!
//! /// Counts to three, slowly.
//! #[tool]
//! fn count(ctx: &Context) -> &'static str {
//!     for step in 1..=3 {
//!         ctx.report_progress(step as f64, Some(3.0), Some("counting"));
//!     }
//!     "done"
//! }
//! # berth_plugin_sdk::export!(tools: [count]);
//! # fn main() {
//! # berth_plugin_sdk::progress::take_for_test();
//! berth_plugin().call("count", serde_json::json!({})).unwrap();
//! // Natively, reports are recorded for the test instead of sent.
//! let reports = berth_plugin_sdk::progress::take_for_test();
//! assert_eq!(reports.len(), 3);
//! assert_eq!(reports[2].progress, 3.0);
//! # }
//! ```
//!
//! The host forwards a report only when the client asked for progress of this call and
//! only when `progress` grew since the previous report (MCP requires progress to
//! increase); otherwise it drops it. Reporting never blocks and never fails. On other
//! targets than `wasm32` (native `cargo test`) there is no host: reports are recorded in a
//! thread-local list that [`take_for_test`] returns.

/// Reports that the running call has done `progress` out of `total` (if known), with an
/// optional human-readable `message`. Same as [`Context::report_progress`](crate::Context::report_progress).
pub fn report(progress: f64, total: Option<f64>, message: Option<&str>) {
    imp::report(progress, total, message);
}

/// One progress report, as recorded natively for tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// How much is done.
    pub progress: f64,
    /// Out of how much, if known.
    pub total: Option<f64>,
    /// What the call is doing.
    pub message: Option<String>,
}

/// Returns and forgets the reports made on the current thread so far (native only).
#[cfg(not(target_arch = "wasm32"))]
pub fn take_for_test() -> Vec<Report> {
    imp::REPORTS.with(|reports| std::mem::take(&mut *reports.borrow_mut()))
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use crate::__private::bindings::berth::plugin::progress;

    pub(super) fn report(value: f64, total: Option<f64>, message: Option<&str>) {
        progress::report(value, total, message);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::cell::RefCell;

    use super::Report;

    thread_local! {
        // Thread-local because `cargo test` runs tests on parallel threads.
        pub(super) static REPORTS: RefCell<Vec<Report>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn report(progress: f64, total: Option<f64>, message: Option<&str>) {
        REPORTS.with(|reports| {
            reports.borrow_mut().push(Report {
                progress,
                total,
                message: message.map(str::to_string),
            })
        });
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::Context;

    #[test]
    fn native_reports_are_recorded_per_thread() {
        take_for_test();
        report(0.0, Some(10.0), None);
        Context::default().report_progress(5.0, Some(10.0), Some("half"));
        std::thread::spawn(|| assert!(take_for_test().is_empty()))
            .join()
            .unwrap();
        let reports = take_for_test();
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[1].message.as_deref(), Some("half"));
        assert!(take_for_test().is_empty());
    }
}
