//! Host events a plugin can observe: mark a function `#[on_event(kinds…)]` and list it in
//! `export!(events: [..])`.
//!
//! ```
//! use berth_plugin_sdk::prelude::*;
//! use berth_plugin_sdk::events::{CallOutcome, Event};
//!
//! /// Logs every failed tool call, of any plugin.
//! #[on_event(tool_called)]
//! fn watch_calls(event: &Event) {
//!     if let Event::ToolCalled { plugin, tool, outcome, .. } = event {
//!         if *outcome != CallOutcome::Success {
//!             log::log(log::Level::Warn, "a call failed", &[
//!                 ("plugin", plugin.as_str()),
//!                 ("tool", tool.as_str()),
//!                 ("outcome", outcome.as_str()),
//!             ]);
//!         }
//!     }
//! }
//!
//! berth_plugin_sdk::export!(name: "watcher", events: [watch_calls]);
//!
//! # fn main() {
//! use berth_plugin_sdk::events::EventKind;
//! assert_eq!(berth_plugin().interests(), [EventKind::ToolCalled]);
//! // Tests deliver events natively, as the host would.
//! berth_plugin().on_event(&Event::ToolCalled {
//!     plugin: "text".into(),
//!     tool: "diff".into(),
//!     duration: std::time::Duration::from_millis(3),
//!     outcome: CallOutcome::TimedOut,
//! });
//! # }
//! ```
//!
//! How the host delivers them: some time after the fact, one at a time and in order per
//! plugin, each in a fresh instance with the same time limit and memory cap as a tool
//! call, so a hook keeps no state between events; it can log or compute. Delivery is
//! best effort: a plugin whose hooks fall far behind loses events rather than slow the
//! host down. A plugin that lists no hooks is never called. Events carry no call
//! arguments or results and no host paths (a file is named by its file name only), and
//! a plugin is not told about its own load, reload or unload.

use std::time::Duration;

use crate::__private::bindings::exports::berth::plugin::events as wit;

/// The kinds of event, as named in `#[on_event(…)]` (in snake case there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EventKind {
    /// [`Event::PluginLoaded`]; `plugin_loaded` in `#[on_event]`.
    PluginLoaded,
    /// [`Event::PluginReloaded`]; `plugin_reloaded`.
    PluginReloaded,
    /// [`Event::PluginUnloaded`]; `plugin_unloaded`.
    PluginUnloaded,
    /// [`Event::PluginLoadFailed`]; `plugin_load_failed`.
    PluginLoadFailed,
    /// [`Event::ConfigApplied`]; `config_applied`.
    ConfigApplied,
    /// [`Event::ConfigRejected`]; `config_rejected`.
    ConfigRejected,
    /// [`Event::ToolCalled`]; `tool_called`.
    ToolCalled,
}

impl EventKind {
    /// The snake-case name used in `#[on_event(…)]`, e.g. `tool_called`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::PluginLoaded => "plugin_loaded",
            EventKind::PluginReloaded => "plugin_reloaded",
            EventKind::PluginUnloaded => "plugin_unloaded",
            EventKind::PluginLoadFailed => "plugin_load_failed",
            EventKind::ConfigApplied => "config_applied",
            EventKind::ConfigRejected => "config_rejected",
            EventKind::ToolCalled => "tool_called",
        }
    }
}

/// How a tool call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallOutcome {
    /// The tool answered normally.
    Success,
    /// The tool answered with an error result or its own error.
    ToolError,
    /// The arguments did not match the tool's input schema; the tool never ran.
    InvalidArguments,
    /// The plugin crashed (trapped) or could not start.
    Crashed,
    /// The call ran past the host's time limit and was stopped.
    TimedOut,
    /// The client cancelled the call.
    Cancelled,
}

impl CallOutcome {
    /// A stable snake-case label, e.g. `timed_out`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Success => "success",
            CallOutcome::ToolError => "tool_error",
            CallOutcome::InvalidArguments => "invalid_arguments",
            CallOutcome::Crashed => "crashed",
            CallOutcome::TimedOut => "timed_out",
            CallOutcome::Cancelled => "cancelled",
        }
    }
}

/// Something that happened in the host.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A plugin file was loaded and is now served.
    PluginLoaded {
        /// Plugin name.
        plugin: String,
        /// Its version.
        version: String,
    },
    /// A served plugin was replaced by a new build of its file.
    PluginReloaded {
        /// Plugin name.
        plugin: String,
        /// The version replaced.
        from: String,
        /// The version now served.
        to: String,
    },
    /// A plugin stopped being served (its file went away, or the operator disabled it).
    PluginUnloaded {
        /// Plugin name.
        plugin: String,
    },
    /// A plugin file could not be loaded; whatever was served before stays served.
    PluginLoadFailed {
        /// The file's name, without its folder (e.g. `text.wasm`).
        file: String,
        /// Why, with host paths reduced to their last component.
        error: String,
    },
    /// A new host configuration was put in force.
    ConfigApplied,
    /// A changed host configuration was refused; the previous one stays in force.
    ConfigRejected {
        /// Why, with host paths reduced to their last component.
        error: String,
    },
    /// A tool call (of any plugin) finished.
    ToolCalled {
        /// The plugin that served it.
        plugin: String,
        /// The tool's name inside that plugin (without the plugin prefix).
        tool: String,
        /// Wall time of the plugin's call (microsecond precision); zero when the tool
        /// never ran.
        duration: Duration,
        /// How it ended.
        outcome: CallOutcome,
    },
}

impl Event {
    /// Its kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::PluginLoaded { .. } => EventKind::PluginLoaded,
            Event::PluginReloaded { .. } => EventKind::PluginReloaded,
            Event::PluginUnloaded { .. } => EventKind::PluginUnloaded,
            Event::PluginLoadFailed { .. } => EventKind::PluginLoadFailed,
            Event::ConfigApplied => EventKind::ConfigApplied,
            Event::ConfigRejected { .. } => EventKind::ConfigRejected,
            Event::ToolCalled { .. } => EventKind::ToolCalled,
        }
    }
}

/// What `#[on_event]` generates for one function.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct EventHookDef {
    /// The kinds it handles.
    pub kinds: &'static [EventKind],
    /// The function.
    pub handle: fn(&Event),
}

// Conversions to and from the contract's types; they stay private so the public API
// never shows a generated type.

impl From<EventKind> for wit::EventKind {
    fn from(kind: EventKind) -> Self {
        match kind {
            EventKind::PluginLoaded => wit::EventKind::PluginLoaded,
            EventKind::PluginReloaded => wit::EventKind::PluginReloaded,
            EventKind::PluginUnloaded => wit::EventKind::PluginUnloaded,
            EventKind::PluginLoadFailed => wit::EventKind::PluginLoadFailed,
            EventKind::ConfigApplied => wit::EventKind::ConfigApplied,
            EventKind::ConfigRejected => wit::EventKind::ConfigRejected,
            EventKind::ToolCalled => wit::EventKind::ToolCalled,
        }
    }
}

impl From<wit::CallOutcome> for CallOutcome {
    fn from(outcome: wit::CallOutcome) -> Self {
        match outcome {
            wit::CallOutcome::Success => CallOutcome::Success,
            wit::CallOutcome::ToolError => CallOutcome::ToolError,
            wit::CallOutcome::InvalidArguments => CallOutcome::InvalidArguments,
            wit::CallOutcome::Crashed => CallOutcome::Crashed,
            wit::CallOutcome::TimedOut => CallOutcome::TimedOut,
            wit::CallOutcome::Cancelled => CallOutcome::Cancelled,
        }
    }
}

impl From<wit::Event> for Event {
    fn from(event: wit::Event) -> Self {
        match event {
            wit::Event::PluginLoaded(e) => Event::PluginLoaded {
                plugin: e.plugin,
                version: e.version,
            },
            wit::Event::PluginReloaded(e) => Event::PluginReloaded {
                plugin: e.plugin,
                from: e.from,
                to: e.to,
            },
            wit::Event::PluginUnloaded(plugin) => Event::PluginUnloaded { plugin },
            wit::Event::PluginLoadFailed(e) => Event::PluginLoadFailed {
                file: e.file,
                error: e.error,
            },
            wit::Event::ConfigApplied => Event::ConfigApplied,
            wit::Event::ConfigRejected(error) => Event::ConfigRejected { error },
            wit::Event::ToolCalled(e) => Event::ToolCalled {
                plugin: e.plugin,
                tool: e.tool,
                duration: Duration::from_micros(e.duration_us),
                outcome: e.outcome.into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_contract_events() {
        let event = Event::from(wit::Event::ToolCalled(wit::ToolCalled {
            plugin: "echo".into(),
            tool: "add".into(),
            duration_us: 1_500,
            outcome: wit::CallOutcome::ToolError,
        }));
        assert_eq!(
            event,
            Event::ToolCalled {
                plugin: "echo".into(),
                tool: "add".into(),
                duration: Duration::from_micros(1_500),
                outcome: CallOutcome::ToolError,
            }
        );
        assert_eq!(event.kind(), EventKind::ToolCalled);
        assert_eq!(
            Event::from(wit::Event::PluginUnloaded("text".into())),
            Event::PluginUnloaded {
                plugin: "text".into()
            }
        );
        assert!(matches!(
            wit::EventKind::from(EventKind::ConfigRejected),
            wit::EventKind::ConfigRejected
        ));
        assert_eq!(EventKind::PluginLoadFailed.as_str(), "plugin_load_failed");
        assert_eq!(CallOutcome::TimedOut.as_str(), "timed_out");
    }
}
