//! Warm instances: instances kept after a call to serve later calls of the same plugin
//! handle, skipping instantiation and tear-down, which are most of what a small call
//! costs (BENCHMARKS.md). What a kept instance carries over is whatever the guest left
//! in its memory and globals, so who may be handed one is the whole question, and the
//! plugin's [`InstanceReuse`] answers it:
//!
//! - `Call`: nobody; every call gets a fresh instance.
//! - `Session`: only a later call of the same reuse scope (one MCP session, or one
//!   authenticated identity for stateless HTTP requests; see `berth_model::reuse`). Each
//!   scope has at most one idle instance per plugin handle; the handle keeps at most
//!   `warm_instances` of them (the config's default is 32), dropping the least recently
//!   used past that, those idle longer than the runtime's `instance_idle` ([`IDLE_EXPIRY`]
//!   by default), and a session's own when it ends. Nothing crosses from one client to
//!   another, which is the isolation a fresh instance per call gave
//!   between clients; within a session, a plugin sees its own earlier calls' leftovers,
//!   as any process-per-client MCP server does.
//! - `Shared`: any later call, whichever client makes it; the operator's opt-in for
//!   plugins that keep no state between calls, with `warm_instances` idle at most.
//!
//! Only a call that returned (with a result or the plugin's own error) hands its
//! instance on; a trap, timeout, cancellation, refused memory growth, output flood or a
//! memory grown past half the cap drops it (`PerCall::reusable`), so a call that went
//! wrong never leaves a half-run instance for the next and a slowly leaking guest starts
//! afresh before its leak costs a call. A settings change or reload makes a new plugin
//! handle with an empty pool, so new config values and grants never meet an instance
//! that started under the old ones.
//!
//! Idle instances hold pool slots: when the instance pool is full, instantiation drops
//! every pool's idle instances before giving up (`Teardown::reclaim`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::time::Instant;

use berth_model::manifest::CallContext;
use berth_model::reuse::{ScopeKey, ScopeListener};

use super::RuntimeInner;
use super::instance::{CallTarget, Machine, PerCall};
use super::teardown::Teardown;

/// The largest `warm_instances` the config accepts: more idle instances than a plugin
/// can have calls running at once would only hold memory.
pub const MAX_WARM_INSTANCES: usize = 1024;

/// How long a session's idle instance waits for its next call before it is dropped, unless
/// the operator says otherwise (`[runtime] instance_idle_secs`): a client that pauses
/// longer pays one instantiation (tens of µs) to get it back, and an idle server returns
/// to holding no instances.
pub const IDLE_EXPIRY: Duration = Duration::from_secs(30);

/// Who may be handed a plugin instance that served an earlier call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InstanceReuse {
    /// Nobody: a fresh instance for every call.
    #[default]
    Call,
    /// Later calls of the same session (or, for stateless HTTP requests, of the same
    /// authenticated identity), never another's.
    Session,
    /// Any later call, whichever client makes it.
    Shared,
}

/// One plugin handle's idle warm stores.
pub(crate) struct WarmPool {
    reuse: InstanceReuse,
    /// How many idle stores are kept; 0 turns reuse off.
    keep: usize,
    /// Idle stores, least recently used first. Locked only to push, pick or take, never
    /// across a call or while dropping a store.
    idle: Mutex<Vec<Idle>>,
    /// How long an idle store is kept (`RuntimeOptions::instance_idle`).
    expiry: Duration,
    /// Where stores this pool lets go are dropped.
    teardown: Arc<Teardown>,
    /// Whether a task is dropping this pool's expired session instances.
    sweeping: AtomicBool,
    /// This pool, for the sessions it keeps instances for and its sweeper, which must
    /// not keep it alive.
    me: Weak<WarmPool>,
}

/// An idle store and whom it may serve.
struct Idle {
    /// The scope it serves; `None` in a shared pool.
    owner: Option<ScopeKey>,
    call: PerCall,
    /// When it went idle (tokio's clock, which the sweeper sleeps on).
    since: Instant,
}

impl WarmPool {
    /// A pool reusing instances as `reuse` says, keeping up to `keep` idle (no reuse
    /// for 0); stores it lets go are dropped by `runtime`'s teardown.
    pub(crate) fn new(runtime: &RuntimeInner, reuse: InstanceReuse, keep: usize) -> Arc<Self> {
        let keep = match reuse {
            InstanceReuse::Call => 0,
            _ => keep.min(MAX_WARM_INSTANCES),
        };
        let pool = Arc::new_cyclic(|me| Self {
            reuse,
            keep,
            idle: Mutex::new(Vec::new()),
            expiry: runtime.options.instance_idle,
            teardown: Arc::clone(&runtime.teardown),
            sweeping: AtomicBool::new(false),
            me: me.clone(),
        });
        if keep > 0 {
            let holder: Weak<dyn IdleHolder> = pool.me.clone();
            runtime.teardown.hold_idle(holder);
        }
        pool
    }

    /// The store for a call: an idle one this call may be handed (the most recently
    /// used, still warm in the CPU's caches), readied for the call; else a new one that
    /// keeps its instance when the call may hand it on, and a fresh one otherwise.
    pub(crate) fn checkout(
        &self,
        runtime: &RuntimeInner,
        code: &Machine,
        target: &CallTarget<'_>,
        ctx: &CallContext,
    ) -> PerCall {
        let owner = match self.owner_for(ctx) {
            Some(owner) if self.keep > 0 => owner,
            _ => return PerCall::new(runtime, code, target),
        };
        let idle = {
            let mut idle = self.lock();
            let found = idle.iter().rposition(|kept| kept.owner == owner);
            found.map(|at| idle.remove(at).call)
        };
        match idle {
            // Kept from before the plugin's optimised code was swapped in (`tier.rs`):
            // the session moves to the new code at the price of one instantiation.
            Some(stale) if !stale.runs(code) => {
                self.teardown.defer(stale);
                PerCall::warm(runtime, code, target)
            }
            Some(mut call) => {
                call.rearm(runtime);
                // For the call's trace span (if one is recorded): no instantiation.
                tracing::Span::current().record("berth.instance", "warm");
                call
            }
            None => PerCall::warm(runtime, code, target),
        }
    }

    /// Takes back the store of a finished call of `ctx`. It waits for the next call it
    /// may serve when the guest returned and the store is reusable and there is room
    /// (pushing out the least recently used idle one when there is not); otherwise it
    /// goes to the teardown with its instance, which logs its output.
    pub(crate) fn checkin(&self, mut call: PerCall, returned: bool, ctx: &CallContext) {
        let owner = self.owner_for(ctx);
        let Some(owner) = owner.filter(|_| returned && call.reusable()) else {
            self.teardown.defer(call);
            return;
        };
        call.settled();
        let mut idle = self.lock();
        // Two calls of one session ran at once: the session keeps one instance.
        if owner.is_some() && idle.iter().any(|kept| kept.owner == owner) {
            drop(idle);
            self.teardown.defer(call);
            return;
        }
        idle.push(Idle {
            owner,
            call,
            since: Instant::now(),
        });
        let pushed_out = (idle.len() > self.keep).then(|| idle.remove(0).call);
        drop(idle);
        // Outside the lock: freeing an instance is not free.
        if let Some(surplus) = pushed_out {
            self.teardown.defer(surplus);
        }
        if let (InstanceReuse::Session, Some(scope)) = (self.reuse, &ctx.reuse) {
            let listener: Weak<dyn ScopeListener> = self.me.clone();
            scope.when_ended(listener);
            self.sweep_later();
        }
    }

    /// Whom a store that served `ctx` may serve next: `Some(None)` anyone (shared),
    /// `Some(Some(key))` the calls of one scope, `None` nobody.
    fn owner_for(&self, ctx: &CallContext) -> Option<Option<ScopeKey>> {
        match self.reuse {
            InstanceReuse::Call => None,
            InstanceReuse::Shared => Some(None),
            InstanceReuse::Session => ctx.reuse.as_ref().map(|s| Some(s.key().clone())),
        }
    }

    /// How many idle stores wait for a call.
    pub(crate) fn idle(&self) -> usize {
        self.lock().len()
    }

    /// Takes the idle stores `which` picks out of the pool and drops them (outside the
    /// lock: through the teardown, or at once with `now`); says how many there were.
    fn drop_where(&self, which: impl Fn(&Idle) -> bool, now: bool) -> usize {
        let taken: Vec<Idle> = {
            let mut idle = self.lock();
            let (taken, kept) = idle.drain(..).partition(|i| which(i));
            *idle = kept;
            taken
        };
        let count = taken.len();
        for idle in taken {
            match now {
                true => drop(idle),
                false => self.teardown.defer(idle.call),
            }
        }
        count
    }

    /// Starts the task that drops this pool's session instances once idle for
    /// [`IDLE_EXPIRY`], unless it runs already. It ends when the pool has none left
    /// (or is gone), so an idle server runs no sweepers. Outside a tokio runtime (a
    /// one-shot command) there is none: the pool goes with the process.
    fn sweep_later(&self) {
        if self.sweeping.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.sweeping.store(false, Ordering::Release);
            return;
        };
        let me = self.me.clone();
        // From now, not from the task's first poll: what just went idle expires first.
        let expiry = self.expiry;
        let mut wake = Instant::now() + expiry;
        runtime.spawn(async move {
            loop {
                tokio::time::sleep_until(wake).await;
                let Some(pool) = me.upgrade() else { return };
                let now = Instant::now();
                pool.drop_where(|i| now.duration_since(i.since) >= expiry, false);
                let oldest = pool.lock().first().map(|i| i.since);
                match oldest {
                    Some(since) => wake = since + expiry,
                    None => {
                        pool.sweeping.store(false, Ordering::Release);
                        // A check-in between the look and the store found the flag
                        // still set and started no sweeper: this one goes on.
                        if pool.idle() == 0 || pool.sweeping.swap(true, Ordering::AcqRel) {
                            return;
                        }
                        wake = Instant::now() + expiry;
                    }
                }
            }
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        // Only pushes, removals and takes happen under the lock, so a panic elsewhere
        // cannot have left the list inconsistent.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ScopeListener for WarmPool {
    fn scope_ended(&self, key: &ScopeKey) {
        self.drop_where(|i| i.owner.as_ref() == Some(key), false);
    }
}

/// What keeps idle instances that a full instance pool may take back.
pub(crate) trait IdleHolder: Send + Sync {
    /// Lets go of every idle instance at once (dropped before this returns); says how
    /// many there were.
    fn release_idle(&self) -> usize;
}

impl IdleHolder for WarmPool {
    fn release_idle(&self) -> usize {
        // At once: the caller is about to instantiate into the slots this frees.
        self.drop_where(|_| true, true)
    }
}

/// A call context of a new session, for tests of reuse, and the session's scope.
#[cfg(test)]
pub(crate) fn session_context() -> (CallContext, berth_model::reuse::ReuseScope) {
    let scope = berth_model::reuse::ReuseScope::session();
    let ctx = CallContext {
        reuse: Some(scope.clone()),
        ..Default::default()
    };
    (ctx, scope)
}
