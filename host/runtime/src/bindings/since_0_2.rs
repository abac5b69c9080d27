//! What the bindings of contract 0.2 and every later version share, as macros: a
//! version's generated export modules are distinct Rust types (their instance names carry
//! the version), so the code that calls `guest`, `events` and `needs` and converts their
//! types is the same text over different types. Each version module expands these
//! macros with its own `guest`, `wit_events`, `wit_needs` and `wit` aliases in scope; a
//! version that changes one of these interfaces writes that part by hand instead.

/// The `exported`, `guest` and `events` helpers of a version struct with fields `pre`,
/// `guest` and `events`.
macro_rules! instance_helpers {
    ($name:ident) => {
        impl $name {
            /// The exports `load` finds in the store's instance (see
            /// [`super::exports`]).
            async fn exported<E: Clone + Send + 'static>(
                &self,
                store: &mut Store<StoreState>,
                load: impl FnOnce(
                    &mut Store<StoreState>,
                    &wasmtime::component::Instance,
                ) -> wasmtime::Result<E>,
            ) -> Result<E, Failure> {
                super::exports(&self.pre, store, load).await
            }

            /// The `guest` export of the store's instance.
            async fn guest(&self, store: &mut Store<StoreState>) -> Result<guest::Guest, Failure> {
                self.exported(store, |store, instance| self.guest.load(store, instance))
                    .await
            }

            /// The `events` export of the store's instance, if the plugin has one.
            async fn events(
                &self,
                store: &mut Store<StoreState>,
            ) -> Result<Option<wit_events::Guest>, Failure> {
                let Some(indices) = &self.events else {
                    return Ok(None);
                };
                self.exported(store, |store, instance| indices.load(store, instance))
                    .await
                    .map(Some)
            }
        }
    };
}

/// The [`CallablePlugin`](super::CallablePlugin) methods for `guest`, `events` and
/// `needs`, for use inside the version's `impl CallablePlugin` block.
macro_rules! guest_events_needs_methods {
    () => {
        fn describe<'a>(
            &'a self,
            store: &'a mut Store<StoreState>,
        ) -> CallFuture<'a, manifest::Manifest> {
            Box::pin(async move {
                let guest = self.guest(store).await?;
                let described = guest
                    .call_describe(&mut *store)
                    .await
                    .map_err(Failure::Trap)?;
                Ok(described.into())
            })
        }

        fn call_tool<'a>(
            &'a self,
            store: &'a mut Store<StoreState>,
            tool: &'a str,
            arguments_json: &'a str,
            ctx: &'a manifest::CallContext,
        ) -> CallFuture<'a, Result<manifest::ToolOutput, manifest::GuestError>> {
            Box::pin(async move {
                let guest = self.guest(store).await?;
                let context = wit::CallContext::from(ctx);
                let result = guest
                    .call_call_tool(&mut *store, tool, arguments_json, &context)
                    .await
                    .map_err(Failure::Trap)?;
                Ok(result.map(Into::into).map_err(Into::into))
            })
        }

        fn read_resource<'a>(
            &'a self,
            store: &'a mut Store<StoreState>,
            uri: &'a str,
            ctx: &'a manifest::CallContext,
        ) -> CallFuture<'a, Result<Vec<manifest::ResourceContents>, manifest::GuestError>> {
            Box::pin(async move {
                let guest = self.guest(store).await?;
                let context = wit::CallContext::from(ctx);
                let result = guest
                    .call_read_resource(&mut *store, uri, &context)
                    .await
                    .map_err(Failure::Trap)?;
                Ok(result
                    .map(|contents| contents.into_iter().map(Into::into).collect())
                    .map_err(Into::into))
            })
        }

        fn has_event_hook(&self) -> bool {
            self.events.is_some()
        }

        fn declares_needs(&self) -> bool {
            self.needs.is_some()
        }

        fn needs<'a>(&'a self, store: &'a mut Store<StoreState>) -> CallFuture<'a, Needs> {
            Box::pin(async move {
                let Some(indices) = &self.needs else {
                    return Ok(Needs::default());
                };
                let exported = self
                    .exported(store, |store, instance| indices.load(store, instance))
                    .await?;
                let declared = exported
                    .call_needs(&mut *store)
                    .await
                    .map_err(Failure::Trap)?;
                Ok(declared.into())
            })
        }

        fn interests<'a>(
            &'a self,
            store: &'a mut Store<StoreState>,
        ) -> CallFuture<'a, Vec<EventKind>> {
            Box::pin(async move {
                let Some(events) = self.events(store).await? else {
                    return Ok(Vec::new());
                };
                let kinds = events
                    .call_interests(&mut *store)
                    .await
                    .map_err(Failure::Trap)?;
                Ok(kinds.into_iter().map(Into::into).collect())
            })
        }

        fn on_event<'a>(
            &'a self,
            store: &'a mut Store<StoreState>,
            event: &'a PluginEvent,
        ) -> CallFuture<'a, ()> {
            Box::pin(async move {
                let Some(events) = self.events(store).await? else {
                    return Ok(());
                };
                events
                    .call_on_event(&mut *store, &event.into())
                    .await
                    .map_err(Failure::Trap)
            })
        }
    };
}

/// The conversions of the `needs` and `events` types from and to Berth's own.
macro_rules! needs_and_events_conversions {
    () => {
        impl From<wit_needs::Requirements> for Needs {
            fn from(declared: wit_needs::Requirements) -> Self {
                Needs {
                    folders: declared
                        .folders
                        .into_iter()
                        .map(|f| FolderNeed {
                            path: f.path,
                            write: f.write,
                            reason: f.reason,
                        })
                        .collect(),
                    env: declared.env,
                    network: declared.network,
                    // Not declarable in the contract: found in the imports (`loader.rs`).
                    keyvalue: false,
                }
            }
        }

        // Conversions of the `events` types. Plain moves: which events a plugin may see, and
        // what is redacted from them, is decided in the host's `hooks`.

        impl From<wit_events::EventKind> for EventKind {
            fn from(kind: wit_events::EventKind) -> Self {
                use wit_events::EventKind as K;
                match kind {
                    K::PluginLoaded => EventKind::PluginLoaded,
                    K::PluginReloaded => EventKind::PluginReloaded,
                    K::PluginUnloaded => EventKind::PluginUnloaded,
                    K::PluginLoadFailed => EventKind::PluginLoadFailed,
                    K::ConfigApplied => EventKind::ConfigApplied,
                    K::ConfigRejected => EventKind::ConfigRejected,
                    K::ToolCalled => EventKind::ToolCalled,
                }
            }
        }

        impl From<CallOutcome> for wit_events::CallOutcome {
            fn from(outcome: CallOutcome) -> Self {
                match outcome {
                    CallOutcome::Success => Self::Success,
                    CallOutcome::ToolError => Self::ToolError,
                    CallOutcome::InvalidArguments => Self::InvalidArguments,
                    CallOutcome::Crashed => Self::Crashed,
                    CallOutcome::TimedOut => Self::TimedOut,
                    CallOutcome::Cancelled => Self::Cancelled,
                }
            }
        }

        impl From<&PluginEvent> for wit_events::Event {
            fn from(event: &PluginEvent) -> Self {
                match event.clone() {
                    PluginEvent::PluginLoaded { plugin, version } => {
                        Self::PluginLoaded(wit_events::PluginLoaded { plugin, version })
                    }
                    PluginEvent::PluginReloaded { plugin, from, to } => {
                        Self::PluginReloaded(wit_events::PluginReloaded { plugin, from, to })
                    }
                    PluginEvent::PluginUnloaded { plugin } => Self::PluginUnloaded(plugin),
                    PluginEvent::PluginLoadFailed { file, error } => {
                        Self::PluginLoadFailed(wit_events::PluginLoadFailed { file, error })
                    }
                    PluginEvent::ConfigApplied => Self::ConfigApplied,
                    PluginEvent::ConfigRejected { error } => Self::ConfigRejected(error),
                    PluginEvent::ToolCalled {
                        plugin,
                        tool,
                        duration_us,
                        outcome,
                    } => Self::ToolCalled(wit_events::ToolCalled {
                        plugin,
                        tool,
                        duration_us,
                        outcome: outcome.into(),
                    }),
                }
            }
        }
    };
}

pub(crate) use {guest_events_needs_methods, instance_helpers, needs_and_events_conversions};
