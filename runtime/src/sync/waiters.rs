//! The wait list every primitive keeps, and the two helpers of the wait
//! protocol: [`park_or`] (park, undoing the registration if the park
//! unwinds) and [`expired`].
//!
//! A [`WaitList`] lives inside the primitive's state, behind that state's
//! lock, so it is on the heap and never on a waiting stack. An entry is the
//! [`Waiter`] of the context that waits (whose identity is the entry's
//! [`WaiterId`]) and, for a `Queue`'s getters, a slot.
//!
//! The meaning of "my entry is gone" is what makes the protocol work: only a
//! notifier removes someone else's entry, so a waiter that finds its entry
//! missing after a park knows it was *notified* (handed an item, a permit,
//! the lock, or told to look again). A waiter that was notified and leaves
//! without using the notification (it was killed, its `timeout` expired, its
//! own deadline passed) must pass the notification on to the next waiter,
//! or that waiter would sleep through a wake meant for the queue as a whole.
//!
//! # Why a listed green thread is alive
//!
//! An entry names its green thread by a borrowed pointer: registering and
//! waking cost no reference count. That is sound because of three rules:
//!
//! 1. A context lists only itself ([`push_current`](WaitList::push_current)),
//!    from inside the primitive's wait loop.
//! 2. Every way out of that loop (success, error, deadline, and unwinding
//!    through [`park_or`]'s guard) takes the entry off, under the lock
//!    that guards the list, unless a notifier already did. A green thread
//!    cannot finish, so its worker cannot free it, while it is listed. The
//!    one task a worker drops without running it to the end, at shutdown,
//!    is leaked, not freed (`Worker::shut_down`).
//! 3. A notifier wakes the entries it takes **before it releases that
//!    lock** ([`wake_one`](WaitList::wake_one), [`wake_all`](WaitList::wake_all)):
//!    the woken task cannot get past the lock to leave (rule 2) until the
//!    wake is done, and once it is scheduled its worker's live table holds
//!    it. Entries are never handed out of the list, so nobody can wake one
//!    after the lock is gone.
//!
//! Waking under the lock costs the lock's holder the wake itself: a task
//! state change and a push onto a run queue (for another worker, its remote
//! queue and, if it sleeps, one `eventfd` write).

use std::collections::VecDeque;
use std::ptr::NonNull;
use std::time::Instant;

use crate::park::{park, WaitKind, Waiter};

/// Names an entry of a [`WaitList`]: the identity of the context that
/// listed itself ([`Waiter::id`]).
///
/// A context is listed at most once per list (it lists only itself, from
/// inside the one wait loop it is in, and takes the entry off before it
/// leaves; module docs), and while it is listed its task or parker cannot
/// be freed, so no other context can have the same identity then: the
/// identity is as good an id as a counter, and costs no field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WaiterId(usize);

/// One registered waiter, and what it gave a notifier to hand it things
/// through (`S`: `()` for every list but a `Queue`'s getters).
#[derive(Debug)]
struct Entry<S> {
    /// Wakes the waiting context; its task is alive while listed (module
    /// docs). Its identity is the entry's id.
    waiter: Waiter,
    /// Where a notifier may hand the waiter what it waits for (a `Queue`
    /// getter's slot on its own stack), if it gave one.
    slot: S,
}

// SAFETY: `waiter` is Send (park.rs), and so is `()`. (Spelled out for
// the two slot types grove uses, not for every `S`: an impl for one
// instantiation turns the automatic one off for all.)
unsafe impl Send for Entry<()> {}
// SAFETY: `waiter` is Send (park.rs). The slot is only an address: the
// list never dereferences it, and the primitive that registered it writes
// through it only under the list's lock while the entry is listed, when
// the waiter's frame is alive (rule 2 of the module docs).
unsafe impl Send for Entry<Slot> {}

impl<S> Entry<S> {
    /// The entry's id: its waiter's identity.
    #[inline(always)]
    fn id(&self) -> WaiterId {
        WaiterId(self.waiter.id())
    }
}

/// The slot of a `Queue` getter's entry ([`WaitList::head_slot`]).
pub(crate) type Slot = Option<NonNull<()>>;

/// A FIFO of waiting contexts; `S` is what an entry carries besides its
/// waiter (`()`, or a [`Slot`] for a `Queue`'s getters).
///
/// The oldest entry sits inline in the list, the rest in a boxed
/// `VecDeque`: most lists hold at most one waiter (one getter of a queue,
/// one reader of a socket), and that one is written straight into its
/// field, without the deque's growth check and the call behind it.
/// (Through the deque, the compiler built the entry on the stack around
/// that call and read it back as one wide load after two narrow stores, a
/// store-forwarding stall that `perf` showed as the hottest instruction of
/// `Queue::get`.) Boxed, the deque costs the list one word until a crowd
/// first gathers: a list with no slot is 32 bytes, so a socket's readiness
/// word, its lock and the heads of both its lists share one cache line
/// (`reactor::ScheduledIo`).
///
/// `repr(C)`: the head first, then the deque's pointer, so a container can
/// keep what one wait touches together.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct WaitList<S = ()> {
    /// The oldest waiter; `None` only if `rest` is empty (or absent) too.
    head: Option<Entry<S>>,
    /// The other waiters, oldest first: made when the first crowd gathers,
    /// then kept (empty) for the next one.
    // The box is the point: one word in every list instead of a deque's four.
    #[allow(clippy::box_collection)]
    rest: Option<Box<VecDeque<Entry<S>>>>,
}

impl<S> Default for WaitList<S> {
    fn default() -> Self {
        WaitList::new()
    }
}

impl<S: Copy + Default> WaitList<S> {
    /// Lists the calling context and returns its entry's id. The caller
    /// must take the entry off again before it leaves its wait loop (module
    /// docs, rule 2).
    #[inline]
    pub(crate) fn push_current(&mut self) -> WaiterId {
        self.push_current_with(S::default())
    }

    /// [`push_current`](WaitList::push_current), giving a slot a notifier
    /// can hand the waiter something through ([`head_slot`](WaitList::head_slot)).
    /// The slot must stay valid and in place for as long as the entry is
    /// listed.
    #[inline]
    pub(crate) fn push_current_with(&mut self, slot: S) -> WaiterId {
        let entry = Entry {
            waiter: Waiter::current(),
            slot,
        };
        let id = entry.id();
        debug_assert!(!self.contains(id), "a context listed twice on one list");
        if self.head.is_none() {
            self.head = Some(entry);
        } else {
            self.rest
                .get_or_insert_with(Default::default)
                .push_back(entry);
        }
        id
    }

    /// The slot the oldest waiter gave (`S::default()` if nobody waits):
    /// the one [`wake_one`](WaitList::wake_one) would wake.
    #[inline(always)]
    pub(crate) fn head_slot(&self) -> S {
        self.head.as_ref().map_or_else(S::default, |e| e.slot)
    }
}

impl<S> WaitList<S> {
    /// An empty list (no allocation until a second waiter comes).
    pub(crate) const fn new() -> WaitList<S> {
        WaitList {
            head: None,
            rest: None,
        }
    }

    /// Whether the entry `id` is still listed (not yet notified).
    #[inline]
    pub(crate) fn contains(&self, id: WaiterId) -> bool {
        self.head.as_ref().is_some_and(|e| e.id() == id)
            || self
                .rest
                .as_ref()
                .is_some_and(|r| r.iter().any(|e| e.id() == id))
    }

    /// Removes the entry `id`; false if it was no longer listed (it was
    /// notified). Inlined: a woken getter or putter calls it on every
    /// wake, and usually finds the list empty or itself at its head.
    #[inline(always)]
    pub(crate) fn remove(&mut self, id: WaiterId) -> bool {
        match &self.head {
            None => false,
            Some(e) if e.id() == id => {
                self.head = self.pop_rest();
                true
            }
            Some(_) => self.remove_behind_head(id),
        }
    }

    /// The oldest entry behind the head, taken off (to become the head).
    #[inline(always)]
    fn pop_rest(&mut self) -> Option<Entry<S>> {
        self.rest.as_mut().and_then(|r| r.pop_front())
    }

    /// `remove` for an entry behind the head (a crowd of waiters).
    #[inline(never)]
    fn remove_behind_head(&mut self, id: WaiterId) -> bool {
        let Some(rest) = self.rest.as_mut() else {
            return false;
        };
        match rest.iter().position(|e| e.id() == id) {
            Some(i) => {
                rest.remove(i);
                true
            }
            None => false,
        }
    }

    /// Takes the oldest waiter off and wakes it (notifies it), now, under
    /// the caller's lock; false if nobody waited. Inlined: it is half of
    /// every hand-off through a queue.
    #[inline(always)]
    pub(crate) fn wake_one(&mut self) -> bool {
        match self.head.take() {
            Some(e) => {
                self.head = self.pop_rest();
                // SAFETY: the entry was listed a moment ago and the caller
                // still holds the list's lock, so its task is alive (module
                // docs, rules 2 and 3).
                unsafe { e.waiter.wake() };
                true
            }
            None => false,
        }
    }

    /// Takes every waiter off and wakes them, under the caller's lock. The
    /// deque keeps its buffer, so the next crowd allocates nothing.
    /// Inlined: a socket event calls it for both directions, and with no
    /// head (nobody waits, so nobody waits behind) it looks at nothing
    /// else.
    #[inline(always)]
    pub(crate) fn wake_all(&mut self) {
        let Some(e) = self.head.take() else {
            return;
        };
        // SAFETY: as in `wake_one`.
        unsafe { e.waiter.wake() };
        if let Some(rest) = self.rest.as_mut().filter(|r| !r.is_empty()) {
            Self::wake_crowd(rest);
        }
    }

    /// The part of `wake_all` behind the head.
    #[inline(never)]
    fn wake_crowd(rest: &mut VecDeque<Entry<S>>) {
        for e in rest.drain(..) {
            // SAFETY: as in `wake_one`.
            unsafe { e.waiter.wake() };
        }
    }

    /// How many wait.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        usize::from(self.head.is_some()) + self.rest.as_ref().map_or(0, |r| r.len())
    }
}

/// Parks the calling context (see [`park`]); if the park unwinds (kill, an
/// expired `timeout`), runs `on_unwind` first, which must forget the
/// caller's wait-list entry and pass on a notification it received.
/// Always inlined (see `park::park`).
#[inline(always)]
pub(crate) fn park_or<F: FnOnce()>(kind: WaitKind, deadline: Option<Instant>, on_unwind: F) {
    /// Runs the closure it still holds when dropped.
    struct OnUnwind<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for OnUnwind<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    let mut guard = OnUnwind(Some(on_unwind));
    park(kind, deadline);
    // Returned normally: drop the closure unrun, and skip the guard's
    // drop (an out-of-line call on every wake otherwise).
    let on_unwind = guard.0.take();
    std::mem::forget(guard);
    drop(on_unwind);
}

/// Whether `deadline` has passed (never, for `None`).
#[inline]
pub(crate) fn expired(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// The deadline `dur` from now; `None` (wait forever) if it overflows.
#[inline]
pub(crate) fn deadline_in(dur: std::time::Duration) -> Option<Instant> {
    Instant::now().checked_add(dur)
}
