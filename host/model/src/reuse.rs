//! Who a warm plugin instance may serve again: the reuse scope a call carries in its
//! [`CallContext`](crate::manifest::CallContext).
//!
//! A plugin instance that served a call keeps whatever the guest left in its memory and
//! globals. Handing it to a different client would leak that between clients, so an
//! instance kept between calls is tied to the scope of the call that made it: one MCP
//! session (a stdio process, or an HTTP `mcp-session-id`), or, for stateless HTTP
//! requests, one authenticated identity. The runtime's pool only hands an instance to a
//! later call whose scope has the same [`ScopeKey`].
//!
//! A session scope *ends* when the session's last handle on it is dropped (the session
//! closed or expired, and its last call finished); whoever keeps instances for it asked
//! to hear that ([`ReuseScope::when_ended`]) and drops them at once rather than waiting
//! for them to expire. An identity scope never ends: its instances go when idle.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// What two calls must share for one to reuse the other's instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ScopeKey {
    /// One MCP session, by a number no other session of this process gets.
    Session(u64),
    /// One authenticated caller without a session (`method:subject`), for stateless
    /// HTTP requests.
    Identity(Arc<str>),
}

/// Told when a session scope ends, so it can drop what it kept for it.
pub trait ScopeListener: Send + Sync {
    /// The scope `key` ended: nothing will ever carry it again.
    fn scope_ended(&self, key: &ScopeKey);
}

/// The reuse scope of a call; cheap to clone. See the module documentation.
#[derive(Clone)]
pub struct ReuseScope {
    key: ScopeKey,
    /// For a session scope: what runs the listeners when the last clone goes.
    life: Option<Arc<Life>>,
}

impl std::fmt::Debug for ReuseScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ReuseScope").field(&self.key).finish()
    }
}

/// Equal when the keys are: what decides whether an instance may be handed on.
impl PartialEq for ReuseScope {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for ReuseScope {}

impl ReuseScope {
    /// A new session's scope, with a key no other scope of this process has; it ends
    /// when this and every clone of it are dropped.
    pub fn session() -> ReuseScope {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        ReuseScope {
            key: ScopeKey::Session(id),
            life: Some(Arc::new(Life {
                id,
                listeners: Mutex::new(Vec::new()),
            })),
        }
    }

    /// The scope of stateless requests by one authenticated caller: `method` (how it
    /// authenticated) and `subject` together, so a token and a JWT that happen to share a
    /// name are different callers. It never ends.
    pub fn identity(method: &str, subject: &str) -> ReuseScope {
        ReuseScope {
            key: ScopeKey::Identity(Arc::from(format!("{method}:{subject}"))),
            life: None,
        }
    }

    /// What an instance kept for this scope is filed under.
    pub fn key(&self) -> &ScopeKey {
        &self.key
    }

    /// Asks for `listener` to be told when this scope ends (never, for an identity
    /// scope). Asking again with the same listener is a no-op, and listeners that have
    /// gone are forgotten, so calling this on every call keeps the list as short as the
    /// set of live listeners.
    pub fn when_ended(&self, listener: Weak<dyn ScopeListener>) {
        let Some(life) = &self.life else {
            return;
        };
        let mut listeners = life
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if listeners.iter().any(|known| known.ptr_eq(&listener)) {
            return;
        }
        listeners.retain(|known| known.strong_count() > 0);
        listeners.push(listener);
    }
}

/// The part of a session scope shared by its clones.
struct Life {
    id: u64,
    listeners: Mutex<Vec<Weak<dyn ScopeListener>>>,
}

impl Drop for Life {
    fn drop(&mut self) {
        let listeners = std::mem::take(
            self.listeners
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let key = ScopeKey::Session(self.id);
        for listener in listeners.iter().filter_map(Weak::upgrade) {
            listener.scope_ended(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Heard(Mutex<Vec<ScopeKey>>);

    impl ScopeListener for Heard {
        fn scope_ended(&self, key: &ScopeKey) {
            self.0.lock().unwrap().push(key.clone());
        }
    }

    #[test]
    fn sessions_are_distinct_and_end_with_their_last_clone_once() {
        let (a, b) = (ReuseScope::session(), ReuseScope::session());
        assert_ne!(a, b);
        assert_eq!(a, a.clone());
        let heard = Arc::new(Heard::default());
        let listener: Arc<dyn ScopeListener> = heard.clone();
        a.when_ended(Arc::downgrade(&listener));
        a.when_ended(Arc::downgrade(&listener));
        let key = a.key().clone();
        let call = a.clone();
        drop(a);
        assert!(heard.0.lock().unwrap().is_empty(), "a call still holds it");
        drop(call);
        assert_eq!(*heard.0.lock().unwrap(), vec![key], "told once");
        drop(b);
        assert_eq!(heard.0.lock().unwrap().len(), 1, "b never asked");
    }

    #[test]
    fn identities_compare_by_method_and_subject_and_never_end() {
        let alice = ReuseScope::identity("token", "alice");
        assert_eq!(alice, ReuseScope::identity("token", "alice"));
        assert_ne!(alice, ReuseScope::identity("jwt", "alice"));
        assert_ne!(alice, ReuseScope::session());
        let heard = Arc::new(Heard::default());
        let listener: Arc<dyn ScopeListener> = heard.clone();
        alice.when_ended(Arc::downgrade(&listener));
        drop(alice);
        assert!(heard.0.lock().unwrap().is_empty());
    }

    #[test]
    fn a_gone_listener_is_skipped_and_forgotten() {
        let scope = ReuseScope::session();
        let gone: Arc<dyn ScopeListener> = Arc::new(Heard::default());
        scope.when_ended(Arc::downgrade(&gone));
        drop(gone);
        let kept = Arc::new(Heard::default());
        let listener: Arc<dyn ScopeListener> = kept.clone();
        scope.when_ended(Arc::downgrade(&listener));
        let life = scope.life.as_ref().unwrap();
        assert_eq!(life.listeners.lock().unwrap().len(), 1);
        drop(scope);
        assert_eq!(kept.0.lock().unwrap().len(), 1);
    }
}
