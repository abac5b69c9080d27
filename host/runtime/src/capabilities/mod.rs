//! Host capabilities offered to plugins, one module per capability, each with its
//! per-plugin state, its `Host` impl of the WIT interface, one `add_to_linker` entry
//! point and a doc comment naming the grant it needs.
//!
//! WASI itself is linked in full by the runtime but granted nothing (see
//! `instance.rs`); this module holds only what Berth adds on top. Capability checks
//! against the operator's grants happen where the state is built, not in the `Host`
//! impls.

pub(crate) mod client;
pub(crate) mod config;
pub(crate) mod http;
pub(crate) mod keyvalue;
pub(crate) mod log;
pub(crate) mod progress;
pub(crate) mod resources;
pub(crate) mod stdio;
pub(crate) mod wasi;

/// `tracing` target of everything a plugin emits (its `log` records and its captured
/// stdout/stderr), so operators can filter plugin output apart from the host's own.
pub const PLUGIN_TARGET: &str = "berth::plugin";

#[cfg(test)]
pub(crate) mod test_support {
    //! A minimal tracing subscriber that records events, for testing capabilities.

    use std::collections::BTreeMap;
    use std::fmt;
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing_subscriber::layer::{Context, SubscriberExt};
    use tracing_subscriber::{Layer, filter::LevelFilter};

    /// One recorded event.
    #[derive(Debug, Clone)]
    pub(crate) struct Recorded {
        pub(crate) level: tracing::Level,
        pub(crate) target: String,
        /// Field values rendered with `Debug` (which prints `%`-recorded values as
        /// Display); the message is under `message`.
        pub(crate) fields: BTreeMap<String, String>,
    }

    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<Recorded>>>);

    struct FieldVisitor<'a>(&'a mut BTreeMap<String, String>);

    impl Visit for FieldVisitor<'_> {
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.insert(field.name().to_string(), value.to_string());
        }

        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            self.0
                .insert(field.name().to_string(), format!("{value:?}"));
        }
    }

    impl<S: tracing::Subscriber> Layer<S> for Recorder {
        fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
            let mut fields = BTreeMap::new();
            event.record(&mut FieldVisitor(&mut fields));
            let recorded = Recorded {
                level: *event.metadata().level(),
                target: event.metadata().target().to_string(),
                fields,
            };
            self.0.lock().expect("test recorder lock").push(recorded);
        }
    }

    /// Runs `f` with a subscriber that keeps events at DEBUG and above, and returns them.
    pub(crate) fn capture_events(f: impl FnOnce()) -> Vec<Recorded> {
        let recorder = Recorder::default();
        let subscriber =
            tracing_subscriber::registry().with(recorder.clone().with_filter(LevelFilter::DEBUG));
        tracing::subscriber::with_default(subscriber, f);
        recorder.0.lock().expect("test recorder lock").clone()
    }
}
