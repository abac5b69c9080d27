//! Sharing the cores between plugins: a host-wide cap on guests that run past their
//! first epoch tick, handed out fairly between plugins, so a plugin spinning in many
//! calls cannot slow another plugin's calls or the protocol.
//!
//! Guests run on tokio's worker threads, one per core. Without this, 64 spinning calls
//! each took a 10 ms slice in turn on every worker, and a well-behaved call waited behind
//! all of them (the outside review: `text_count` went from 1–2 ms to 100–230 ms p50).
//! Now a guest that reaches an epoch tick (it has run for a tick: nearly every call ends
//! before one) must hold one of [`Cores::slots`] turns to go on, at most one core fewer
//! than the machine has, so one worker is always left for the protocol and for short
//! calls, which never meet the scheduler at all. At every tick a guest holding a turn
//! passes it on if anyone waits, and waits again itself.
//!
//! Who gets a free turn: first, guests asking for their first one (a call that has only
//! just turned out to be long), then guests that passed theirs on; within each, plugins
//! take turns round-robin, and a plugin's own guests in arrival order. So a plugin with 60
//! spinning calls gets one turn in two when one other plugin wants them, not 60 in 61.
//! Waiting for a turn is ordinary async waiting: it counts against the call's deadline and
//! ends with its cancellation, like any other part of the call.
//!
//! Note: a guest holding a turn while it waits in a host call (an HTTP request, a question
//! to the client, a sleep) runs no code and reaches no tick, so it cannot pass its turn
//! on. Turn holders therefore count their ticks together, and a waiter that sees none for
//! [`Cores::stall`] (a few ticks: every holder is blocked) takes a turn beyond the cap.
//! The cap is exceeded only while holders are idle, and the first holder to run again and
//! find someone waiting passes its turn on as usual.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;

/// The host-wide turns; one per runtime.
#[derive(Debug)]
pub(crate) struct Cores {
    state: Mutex<CoresState>,
    /// Ticks reached by guests holding a turn, ever: unchanged for a while means every
    /// holder is blocked outside guest code.
    holder_ticks: AtomicU64,
    /// How long a waiter watches for holder ticks before taking a turn beyond the cap.
    stall: Duration,
}

#[derive(Debug)]
struct CoresState {
    /// Turns in all.
    slots: usize,
    /// Turns held.
    held: usize,
    /// Waiters for a first turn, then waiters that passed theirs on.
    levels: [Level; 2],
    next_ticket: u64,
}

/// Waiters of one priority, by plugin; the front plugin is served next.
#[derive(Debug, Default)]
struct Level {
    plugins: VecDeque<(Arc<str>, VecDeque<Waiter>)>,
}

#[derive(Debug)]
struct Waiter {
    ticket: u64,
    wake: oneshot::Sender<()>,
}

impl Level {
    fn push(&mut self, plugin: &Arc<str>, waiter: Waiter) {
        match self.plugins.iter_mut().find(|(name, _)| name == plugin) {
            Some((_, queue)) => queue.push_back(waiter),
            None => self
                .plugins
                .push_back((Arc::clone(plugin), VecDeque::from([waiter]))),
        }
    }

    /// The next waiter: the front plugin's oldest, after which that plugin goes to the
    /// back (round-robin).
    fn pop(&mut self) -> Option<Waiter> {
        let (plugin, mut queue) = self.plugins.pop_front()?;
        let waiter = queue.pop_front();
        if !queue.is_empty() {
            self.plugins.push_back((plugin, queue));
        }
        waiter
    }

    /// Removes the waiter with `ticket`; false when it is not here (it was handed a turn).
    fn remove(&mut self, ticket: u64) -> bool {
        for at in 0..self.plugins.len() {
            let queue = &mut self.plugins[at].1;
            if let Some(position) = queue.iter().position(|w| w.ticket == ticket) {
                queue.remove(position);
                if queue.is_empty() {
                    self.plugins.remove(at);
                }
                return true;
            }
        }
        false
    }

    fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }
}

impl CoresState {
    /// Hands free turns to waiters, first level first. A turn counts as held the moment
    /// it is handed over (under the lock), so a waiter that goes away before it notices
    /// gives it back (see [`Wait`]'s `Drop`).
    fn hand_out(&mut self) {
        while self.held < self.slots {
            let next = match self.levels[0].pop() {
                Some(waiter) => waiter,
                None => match self.levels[1].pop() {
                    Some(waiter) => waiter,
                    None => break,
                },
            };
            if next.wake.send(()).is_ok() {
                self.held += 1;
            }
        }
    }

    fn anyone_waiting(&self) -> bool {
        !self.levels[0].is_empty() || !self.levels[1].is_empty()
    }
}

impl Cores {
    /// `slots` turns (at least one); `epoch_tick` is how often a running guest ticks.
    pub(crate) fn new(slots: usize, epoch_tick: Duration) -> Arc<Cores> {
        Arc::new(Cores {
            state: Mutex::new(CoresState {
                slots: slots.max(1),
                held: 0,
                levels: Default::default(),
                next_ticket: 0,
            }),
            holder_ticks: AtomicU64::new(0),
            // Three ticks: a holder that runs guest code ticks at least once in that time
            // even when the ticker thread is a little late.
            stall: epoch_tick.saturating_mul(3),
        })
    }

    /// One core fewer than the machine has, at least one: what guests past their first
    /// tick may use at once.
    pub(crate) fn for_this_machine(epoch_tick: Duration) -> Arc<Cores> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Cores::new(cores.saturating_sub(1), epoch_tick)
    }

    /// How long a waiter waits without any holder ticking before it takes a turn beyond
    /// the cap.
    pub(crate) fn stall(&self) -> Duration {
        self.stall
    }

    /// Takes a turn beyond the cap for the waiter `ticket` at `level`, if it still waits
    /// (it may have been handed a turn meanwhile, which its channel then holds).
    fn overflow(&self, ticket: u64, level: usize) -> bool {
        let mut state = self.lock();
        if state.levels[level].remove(ticket) {
            state.held += 1;
            return true;
        }
        false
    }

    fn lock(&self) -> MutexGuard<'_, CoresState> {
        // Every critical section leaves the counts consistent before anything can panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many turns there are.
    pub(crate) fn slots(&self) -> usize {
        self.lock().slots
    }

    /// Turns held and guests waiting, for tests.
    #[cfg(test)]
    fn load(&self) -> (usize, usize) {
        let state = self.lock();
        let waiting = state
            .levels
            .iter()
            .flat_map(|level| &level.plugins)
            .map(|(_, queue)| queue.len())
            .sum();
        (state.held, waiting)
    }

    /// A turn now if one is free and nobody waits; otherwise a place at `level` behind
    /// plugin `plugin`'s earlier waiters.
    fn ask(self: &Arc<Self>, plugin: &Arc<str>, level: usize) -> Option<Wait> {
        let mut state = self.lock();
        if state.held < state.slots && !state.anyone_waiting() {
            state.held += 1;
            return None;
        }
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        let (wake, granted) = oneshot::channel();
        state.levels[level].push(plugin, Waiter { ticket, wake });
        Some(Wait {
            cores: Arc::clone(self),
            ticket,
            level,
            granted,
            done: false,
        })
    }

    fn give_back(&self) {
        let mut state = self.lock();
        state.held -= 1;
        state.hand_out();
    }
}

/// A place in the queue for a turn. Dropping it (the call timed out or was cancelled
/// while waiting) leaves the queue, or gives back the turn if one was handed over.
struct Wait {
    cores: Arc<Cores>,
    ticket: u64,
    level: usize,
    granted: oneshot::Receiver<()>,
    done: bool,
}

impl Wait {
    /// Waits for a turn: handed over, or taken beyond the cap when no holder has ticked
    /// for [`Cores::stall`] (every holder is blocked outside guest code).
    async fn granted(mut self) {
        loop {
            let seen = self.cores.holder_ticks.load(Ordering::Relaxed);
            tokio::select! {
                // The sender lives in the queue until it sends, and the cores outlive
                // this wait.
                _ = &mut self.granted => break,
                () = tokio::time::sleep(self.cores.stall()) => {
                    let stalled = self.cores.holder_ticks.load(Ordering::Relaxed) == seen;
                    if stalled && self.cores.overflow(self.ticket, self.level) {
                        break;
                    }
                }
            }
        }
        self.done = true;
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut state = self.cores.lock();
        if !state.levels[self.level].remove(self.ticket) {
            // Handed a turn it will never use: pass it on.
            state.held -= 1;
            state.hand_out();
        }
    }
}

/// One store's claim on the cores: whether the call it runs holds a turn. Shared by the
/// store's epoch callback, which asks and passes at each tick, and the call, which gives
/// the turn back when it ends.
#[derive(Debug)]
pub(crate) struct Turn {
    cores: Arc<Cores>,
    plugin: Arc<str>,
    held: Mutex<bool>,
}

impl Turn {
    /// A claim of plugin `plugin`'s store, holding no turn.
    pub(crate) fn new(cores: &Arc<Cores>, plugin: &Arc<str>) -> Arc<Turn> {
        Arc::new(Turn {
            cores: Arc::clone(cores),
            plugin: Arc::clone(plugin),
            held: Mutex::new(false),
        })
    }

    fn held(&self) -> MutexGuard<'_, bool> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What the guest does at an epoch tick: take a first turn (waiting if none is
    /// free), or, holding one, pass it on when someone waits and wait for the next.
    /// Cancel-safe: dropped while waiting, it leaves the queue and holds nothing.
    pub(crate) async fn tick(self: Arc<Self>) {
        let Some(level) = self.level_to_ask() else {
            // Nobody waits: the turn stays; still let other tasks on this worker run.
            tokio::task::yield_now().await;
            return;
        };
        match self.cores.ask(&self.plugin, level) {
            Some(wait) => {
                wait.granted().await;
                // No await between the grant and this, so a drop cannot lose the turn.
                *self.held() = true;
            }
            None => {
                *self.held() = true;
                // A turn at once; still yield so the timeout and cancellation can act.
                tokio::task::yield_now().await;
            }
        }
    }

    /// Which queue to join at a tick: 0 for a first turn; 1 after passing a held turn on
    /// because someone waits; `None` to keep the held turn (nobody waits).
    fn level_to_ask(&self) -> Option<usize> {
        let mut held = self.held();
        if !*held {
            return Some(0);
        }
        self.cores.holder_ticks.fetch_add(1, Ordering::Relaxed);
        if !self.cores.lock().anyone_waiting() {
            return None;
        }
        *held = false;
        self.cores.give_back();
        Some(1)
    }

    /// Gives back the turn, if held: the call ended (or the store waits in a warm pool).
    pub(crate) fn end(&self) {
        let mut held = self.held();
        if *held {
            *held = false;
            self.cores.give_back();
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.end();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::FutureExt;

    use super::*;

    /// The default epoch tick.
    const TICK: Duration = Duration::from_millis(10);

    fn name(plugin: &str) -> Arc<str> {
        Arc::from(plugin)
    }

    #[tokio::test]
    async fn short_of_waiters_a_turn_is_kept_and_given_back_at_the_end() {
        let cores = Cores::new(1, TICK);
        let turn = Turn::new(&cores, &name("a"));
        Arc::clone(&turn).tick().await;
        assert_eq!(cores.load(), (1, 0));
        // Nobody waits: the next tick keeps it.
        Arc::clone(&turn).tick().await;
        assert_eq!(cores.load(), (1, 0));
        turn.end();
        assert_eq!(cores.load(), (0, 0));
    }

    /// Waits for `future` to finish (it was granted a turn), failing after a second.
    async fn granted(future: &mut futures::future::BoxFuture<'_, ()>, who: &str) {
        tokio::time::timeout(Duration::from_secs(1), future)
            .await
            .unwrap_or_else(|_| panic!("{who} never got a turn"));
    }

    #[tokio::test]
    async fn plugins_take_turns_and_first_turns_go_first() {
        let cores = Cores::new(1, TICK);
        let spin: Vec<Arc<Turn>> = (0..4).map(|_| Turn::new(&cores, &name("spin"))).collect();
        Arc::clone(&spin[0]).tick().await;
        // Three more spinners, then another plugin's call, ask for a first turn.
        let mut waits: Vec<_> = spin[1..]
            .iter()
            .map(|t| Arc::clone(t).tick().boxed())
            .collect();
        let other = Turn::new(&cores, &name("other"));
        let mut other_wait = Arc::clone(&other).tick().boxed();
        for wait in waits.iter_mut().chain([&mut other_wait]) {
            assert!(wait.now_or_never_ref().is_none());
        }
        assert_eq!(cores.load(), (1, 4));
        // The holder passes its turn at its next tick and queues behind the first turns.
        let mut passing = Arc::clone(&spin[0]).tick().boxed();
        assert!(passing.now_or_never_ref().is_none());
        granted(&mut waits[0], "spinner 1").await;
        // Plugins take turns: the other plugin goes before the spinners' next two.
        spin[1].end();
        granted(&mut other_wait, "the other plugin").await;
        assert!(waits[1].now_or_never_ref().is_none());
        other.end();
        granted(&mut waits[1], "spinner 2").await;
        spin[2].end();
        granted(&mut waits[2], "spinner 3").await;
        assert!(passing.now_or_never_ref().is_none());
        spin[3].end();
        granted(&mut passing, "the spinner that passed").await;
        spin[0].end();
        assert_eq!(cores.load(), (0, 0));
    }

    #[tokio::test]
    async fn a_dropped_wait_leaves_the_queue_or_passes_its_turn_on() {
        let cores = Cores::new(1, TICK);
        let holder = Turn::new(&cores, &name("a"));
        Arc::clone(&holder).tick().await;
        let waiter = Turn::new(&cores, &name("b"));
        let mut wait = Arc::clone(&waiter).tick().boxed();
        assert!(wait.now_or_never_ref().is_none());
        drop(wait);
        assert_eq!(cores.load(), (1, 0));
        // Handed a turn, then dropped before noticing: the turn goes to the next.
        let late = Turn::new(&cores, &name("c"));
        let mut late_wait = Arc::clone(&late).tick().boxed();
        let next = Turn::new(&cores, &name("d"));
        let mut next_wait = Arc::clone(&next).tick().boxed();
        assert!(late_wait.now_or_never_ref().is_none());
        assert!(next_wait.now_or_never_ref().is_none());
        holder.end();
        drop(late_wait);
        tokio::time::timeout(Duration::from_secs(1), &mut next_wait)
            .await
            .expect("the dropped waiter's turn went on");
        next.end();
        assert_eq!(cores.load(), (0, 0));
    }

    /// Polls a future once without consuming it.
    trait PollOnce {
        fn now_or_never_ref(&mut self) -> Option<()>;
    }

    impl PollOnce for futures::future::BoxFuture<'_, ()> {
        fn now_or_never_ref(&mut self) -> Option<()> {
            self.as_mut().now_or_never()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_takes_a_turn_when_every_holder_is_blocked() {
        let cores = Cores::new(1, TICK);
        // The holder took its turn, then went into a host call: it never ticks again.
        let blocked = Turn::new(&cores, &name("http"));
        Arc::clone(&blocked).tick().await;
        let waiter = Turn::new(&cores, &name("other"));
        let started = tokio::time::Instant::now();
        tokio::time::timeout(Duration::from_secs(1), Arc::clone(&waiter).tick())
            .await
            .expect("a turn beyond the cap");
        let waited = started.elapsed();
        assert!(
            waited >= cores.stall() && waited < cores.stall() * 2,
            "{waited:?}"
        );
        assert_eq!(cores.load(), (2, 0));
        // The blocked holder comes back and finds nobody waiting: both run until they end.
        Arc::clone(&blocked).tick().await;
        blocked.end();
        waiter.end();
        assert_eq!(cores.load(), (0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_does_not_jump_the_cap_while_the_holder_runs() {
        let cores = Cores::new(1, TICK);
        let runner = Turn::new(&cores, &name("spin"));
        Arc::clone(&runner).tick().await;
        let waiter = Turn::new(&cores, &name("other"));
        let mut wait = Arc::clone(&waiter).tick().boxed();
        // Holders keep reaching ticks (counted here directly, standing for guest code
        // that runs): however long that goes on, the waiter takes no turn beyond the cap.
        for _ in 0..5 {
            tokio::time::sleep(TICK).await;
            cores.holder_ticks.fetch_add(1, Ordering::Relaxed);
            assert!(wait.now_or_never_ref().is_none(), "no turn beyond the cap");
        }
        // At its next real tick it passes its turn on.
        let mut passing = Arc::clone(&runner).tick().boxed();
        assert!(passing.now_or_never_ref().is_none());
        granted(&mut wait, "the waiter").await;
        waiter.end();
        granted(&mut passing, "the runner").await;
        runner.end();
        assert_eq!(cores.load(), (0, 0));
    }
}
