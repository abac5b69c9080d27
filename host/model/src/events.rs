//! What happened, as data: the facts the bus carries ([`Event`]), how a tool call ended
//! ([`CallOutcome`]), and what plugins are shown of them ([`PluginEvent`], filtered by
//! [`EventKind`], with host paths kept out by [`PathRedactor`]). Publishing and delivery
//! belong to the host's core (`bus`, `hooks`); this module owns only the vocabulary.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A plugin file was loaded and is now served.
    PluginLoaded {
        /// Plugin name.
        plugin: String,
        /// Its version.
        version: String,
        /// The file.
        path: PathBuf,
    },
    /// A served plugin was replaced by a new build of its file.
    PluginReloaded {
        /// Plugin name.
        plugin: String,
        /// The version replaced.
        from: String,
        /// The version now served.
        to: String,
        /// The file.
        path: PathBuf,
    },
    /// A plugin stopped being served because its file went away.
    PluginUnloaded {
        /// Plugin name.
        plugin: String,
        /// The file.
        path: PathBuf,
    },
    /// A file could not be loaded; whatever was served before stays served.
    PluginLoadFailed {
        /// The file.
        path: PathBuf,
        /// Why.
        error: String,
    },
    /// A new configuration was put in force.
    ConfigApplied,
    /// A changed config file was refused; the previous configuration stays in force.
    ConfigRejected {
        /// Why, with the line and key.
        error: String,
    },
    /// A tool call finished (in whatever way).
    ToolCalled {
        /// The plugin that served it.
        plugin: String,
        /// The tool's name inside the plugin.
        tool: String,
        /// Wall time from the start of the guest call to its end (zero when the
        /// arguments were refused before any guest ran).
        duration: Duration,
        /// How it ended.
        outcome: CallOutcome,
    },
    /// An authenticated caller asked for something its roles do not grant.
    AccessDenied {
        /// Who asked (the token's name or the JWT's subject).
        subject: String,
        /// What kind of thing: `tool`, `resource` or `prompt`.
        kind: &'static str,
        /// The plugin offering it.
        plugin: String,
        /// The tool's name, or the resource's URI.
        name: String,
    },
    /// An HTTP caller was refused with 429 by its rate limit (announced at most once a
    /// second per caller, however many requests are refused).
    RateLimited {
        /// Who: the token's name, the JWT's subject, or `ip:ADDRESS` for an
        /// unauthenticated caller.
        subject: String,
    },
    /// A new registry snapshot was published.
    RegistryChanged {
        /// Its generation.
        generation: u64,
        /// Clients would now see a different tool list.
        tools_changed: bool,
        /// Clients would now see a different resource or template list.
        resources_changed: bool,
        /// Clients would now see a different prompt list.
        prompts_changed: bool,
    },
    /// A plugin said the contents of a resource it serves changed (contract 0.3's
    /// `resources.changed`); not checked yet: sessions check that it serves `uri`.
    ResourceChanged {
        /// The plugin that said so.
        plugin: String,
        /// The resource's URI.
        uri: String,
    },
}

/// How a tool call ended, coarse enough to count and alert on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallOutcome {
    /// The tool answered normally.
    Success,
    /// The tool answered with an error result (its own verdict, `isError`).
    ToolError,
    /// The arguments did not match the tool's input schema; no guest ran.
    InvalidArguments,
    /// The guest trapped or could not be instantiated.
    Crashed,
    /// The guest ran past the call timeout and was stopped.
    TimedOut,
    /// The client cancelled the call.
    Cancelled,
}

impl CallOutcome {
    /// Every outcome, in declaration order (so `outcome as usize` indexes it).
    pub const ALL: [CallOutcome; 6] = [
        CallOutcome::Success,
        CallOutcome::ToolError,
        CallOutcome::InvalidArguments,
        CallOutcome::Crashed,
        CallOutcome::TimedOut,
        CallOutcome::Cancelled,
    ];

    /// A stable lower-case label for logs and metrics.
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

/// The kinds of event a plugin can ask for (WIT `events.event-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// [`PluginEvent::PluginLoaded`].
    PluginLoaded,
    /// [`PluginEvent::PluginReloaded`].
    PluginReloaded,
    /// [`PluginEvent::PluginUnloaded`].
    PluginUnloaded,
    /// [`PluginEvent::PluginLoadFailed`].
    PluginLoadFailed,
    /// [`PluginEvent::ConfigApplied`].
    ConfigApplied,
    /// [`PluginEvent::ConfigRejected`].
    ConfigRejected,
    /// [`PluginEvent::ToolCalled`].
    ToolCalled,
}

impl EventKind {
    /// The WIT name, e.g. `tool-called`, for logs and `berth inspect`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::PluginLoaded => "plugin-loaded",
            EventKind::PluginReloaded => "plugin-reloaded",
            EventKind::PluginUnloaded => "plugin-unloaded",
            EventKind::PluginLoadFailed => "plugin-load-failed",
            EventKind::ConfigApplied => "config-applied",
            EventKind::ConfigRejected => "config-rejected",
            EventKind::ToolCalled => "tool-called",
        }
    }
}

/// An event as a plugin sees it (WIT `events.event`): the bus event without host paths,
/// with durations in microseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginEvent {
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
    /// A plugin stopped being served.
    PluginUnloaded {
        /// Plugin name.
        plugin: String,
    },
    /// A plugin file could not be loaded.
    PluginLoadFailed {
        /// The file's name, without its folder.
        file: String,
        /// Why, with host paths reduced to their last component.
        error: String,
    },
    /// A new configuration was put in force.
    ConfigApplied,
    /// A changed config file was refused.
    ConfigRejected {
        /// Why, with host paths reduced to their last component.
        error: String,
    },
    /// A tool call finished.
    ToolCalled {
        /// The plugin that served it.
        plugin: String,
        /// The tool's name inside the plugin.
        tool: String,
        /// Wall time of the guest call in microseconds (saturating).
        duration_us: u64,
        /// How it ended.
        outcome: CallOutcome,
    },
}

impl PluginEvent {
    /// Its kind, which plugins filter on.
    pub fn kind(&self) -> EventKind {
        match self {
            PluginEvent::PluginLoaded { .. } => EventKind::PluginLoaded,
            PluginEvent::PluginReloaded { .. } => EventKind::PluginReloaded,
            PluginEvent::PluginUnloaded { .. } => EventKind::PluginUnloaded,
            PluginEvent::PluginLoadFailed { .. } => EventKind::PluginLoadFailed,
            PluginEvent::ConfigApplied => EventKind::ConfigApplied,
            PluginEvent::ConfigRejected { .. } => EventKind::ConfigRejected,
            PluginEvent::ToolCalled { .. } => EventKind::ToolCalled,
        }
    }

    /// What plugins are shown of `event`, or `None` for events they never see.
    pub fn from_bus(event: &Event, redactor: &PathRedactor) -> Option<PluginEvent> {
        Some(match event {
            Event::PluginLoaded {
                plugin, version, ..
            } => PluginEvent::PluginLoaded {
                plugin: plugin.clone(),
                version: version.clone(),
            },
            Event::PluginReloaded {
                plugin, from, to, ..
            } => PluginEvent::PluginReloaded {
                plugin: plugin.clone(),
                from: from.clone(),
                to: to.clone(),
            },
            Event::PluginUnloaded { plugin, .. } => PluginEvent::PluginUnloaded {
                plugin: plugin.clone(),
            },
            Event::PluginLoadFailed { path, error } => PluginEvent::PluginLoadFailed {
                file: last_component(path),
                error: redactor.redact(error, Some(path)),
            },
            Event::ConfigApplied => PluginEvent::ConfigApplied,
            Event::ConfigRejected { error } => PluginEvent::ConfigRejected {
                error: redactor.redact(error, None),
            },
            Event::ToolCalled {
                plugin,
                tool,
                duration,
                outcome,
            } => PluginEvent::ToolCalled {
                plugin: plugin.clone(),
                tool: tool.clone(),
                duration_us: u64::try_from(duration.as_micros()).unwrap_or(u64::MAX),
                outcome: *outcome,
            },
            // Bookkeeping for sessions, and facts about callers plugins have no business
            // knowing.
            Event::RegistryChanged { .. }
            | Event::AccessDenied { .. }
            | Event::RateLimited { .. }
            | Event::ResourceChanged { .. } => return None,
        })
    }

    /// The plugin whose own lifecycle this event reports, if any.
    pub fn about_plugin(&self) -> Option<&str> {
        match self {
            PluginEvent::PluginLoaded { plugin, .. }
            | PluginEvent::PluginReloaded { plugin, .. }
            | PluginEvent::PluginUnloaded { plugin } => Some(plugin),
            _ => None,
        }
    }
}

/// The last component of `path` (its file name), or the whole path if it has none.
fn last_component(path: &Path) -> String {
    path.file_name()
        .unwrap_or(path.as_os_str())
        .to_string_lossy()
        .into_owned()
}

/// Keeps host paths out of the text plugins are shown: a plugin learns nothing about the
/// host's file system that it was not granted, and it was granted nothing.
///
/// Error messages are written for the operator and name files by full path. Every path
/// the redactor knows (the plugins folder, the config file) and the path an event is
/// about are replaced by their last component; a file inside a known folder becomes its
/// bare file name.
#[derive(Debug, Clone, Default)]
pub struct PathRedactor {
    /// Known paths as they are displayed in messages, longest first so a path is
    /// replaced before any prefix of it.
    known: Vec<String>,
}

impl PathRedactor {
    /// A redactor for `paths` (typically the plugins folder and the config file).
    pub fn new(paths: impl IntoIterator<Item = PathBuf>) -> Self {
        let mut known: Vec<String> = paths
            .into_iter()
            .map(|p| p.display().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        known.sort_by_key(|p| std::cmp::Reverse(p.len()));
        known.dedup();
        Self { known }
    }

    /// `text` with `about` (the event's own file) and every known path reduced.
    pub fn redact(&self, text: &str, about: Option<&Path>) -> String {
        let mut text = text.to_string();
        if let Some(path) = about {
            text = text.replace(&path.display().to_string(), &last_component(path));
        }
        for known in &self.known {
            // `<folder>/<file>` becomes `<file>`, then the folder alone its last name.
            let with_separator = format!("{known}{}", std::path::MAIN_SEPARATOR);
            text = text.replace(&with_separator, "");
            text = text.replace(known, &last_component(Path::new(known)));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn called(n: u64) -> PluginEvent {
        PluginEvent::ToolCalled {
            plugin: "echo".into(),
            tool: "echo".into(),
            duration_us: n,
            outcome: CallOutcome::Success,
        }
    }

    #[test]
    fn maps_every_bus_event_and_hides_host_paths() {
        let redactor = PathRedactor::new([
            PathBuf::from("/srv/berth/plugins"),
            PathBuf::from("/etc/berth/berth.toml"),
        ]);
        let map = |event: Event| PluginEvent::from_bus(&event, &redactor);
        assert_eq!(
            map(Event::PluginLoaded {
                plugin: "text".into(),
                version: "1.2.0".into(),
                path: "/srv/berth/plugins/text.wasm".into(),
            }),
            Some(PluginEvent::PluginLoaded {
                plugin: "text".into(),
                version: "1.2.0".into()
            })
        );
        assert_eq!(
            map(Event::PluginReloaded {
                plugin: "text".into(),
                from: "1.0.0".into(),
                to: "1.1.0".into(),
                path: "/srv/berth/plugins/text.wasm".into(),
            }),
            Some(PluginEvent::PluginReloaded {
                plugin: "text".into(),
                from: "1.0.0".into(),
                to: "1.1.0".into()
            })
        );
        assert_eq!(
            map(Event::PluginUnloaded {
                plugin: "text".into(),
                path: "/srv/berth/plugins/text.wasm".into(),
            }),
            Some(PluginEvent::PluginUnloaded {
                plugin: "text".into()
            })
        );
        let failed = map(Event::PluginLoadFailed {
            path: "/srv/berth/plugins/bad.wasm".into(),
            error: "plugin /srv/berth/plugins/bad.wasm has an invalid manifest; \
                    /srv/berth/plugins/echo.wasm keeps the name"
                .into(),
        });
        assert_eq!(
            failed,
            Some(PluginEvent::PluginLoadFailed {
                file: "bad.wasm".into(),
                error: "plugin bad.wasm has an invalid manifest; echo.wasm keeps the name".into(),
            })
        );
        assert_eq!(map(Event::ConfigApplied), Some(PluginEvent::ConfigApplied));
        assert_eq!(
            map(Event::ConfigRejected {
                error: "config file /etc/berth/berth.toml: `x` is unknown".into()
            }),
            Some(PluginEvent::ConfigRejected {
                error: "config file berth.toml: `x` is unknown".into()
            })
        );
        assert_eq!(
            map(Event::ToolCalled {
                plugin: "echo".into(),
                tool: "add".into(),
                duration: Duration::from_nanos(1_234_567),
                outcome: CallOutcome::TimedOut,
            }),
            Some(PluginEvent::ToolCalled {
                plugin: "echo".into(),
                tool: "add".into(),
                duration_us: 1_234,
                outcome: CallOutcome::TimedOut,
            })
        );
        assert_eq!(
            map(Event::RegistryChanged {
                generation: 2,
                tools_changed: true,
                resources_changed: false,
                prompts_changed: false
            }),
            None
        );
        // Without known folders, the event's own file is still reduced to its name.
        let bare = PluginEvent::from_bus(
            &Event::PluginLoadFailed {
                path: "/a/b/c.wasm".into(),
                error: "cannot read /a/b/c.wasm".into(),
            },
            &PathRedactor::default(),
        );
        assert_eq!(
            bare,
            Some(PluginEvent::PluginLoadFailed {
                file: "c.wasm".into(),
                error: "cannot read c.wasm".into()
            })
        );
    }

    #[test]
    fn kinds_match_events() {
        assert_eq!(called(1).kind(), EventKind::ToolCalled);
        assert_eq!(PluginEvent::ConfigApplied.kind().as_str(), "config-applied");
    }
}
