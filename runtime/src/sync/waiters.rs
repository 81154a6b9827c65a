//! The wait list every primitive keeps, and the two helpers of the wait
//! protocol: [`park_or`] (park, undoing the registration if the park
//! unwinds) and [`expired`].
//!
//! A [`WaitList`] lives inside the primitive's state, behind that state's
//! lock, so it is on the heap and never on a waiting stack. An entry is an
//! id (unique within the list) and the [`Waiter`] of the context that
//! waits.
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

/// One registered waiter.
#[derive(Debug)]
struct Entry {
    /// Identifies the entry within its list.
    id: u64,
    /// Wakes the waiting context; its task is alive while listed (module
    /// docs).
    waiter: Waiter,
    /// Where a notifier may hand the waiter what it waits for (a `Queue`
    /// getter's slot on its own stack), if it gave one.
    slot: Option<NonNull<()>>,
}

// SAFETY: `waiter` is Send (park.rs). `slot` is only an address: the list
// never dereferences it, and the primitive that registered it writes
// through it only under the list's lock while the entry is listed, when
// the waiter's frame is alive (rule 2 of the module docs).
unsafe impl Send for Entry {}

/// A FIFO of waiting contexts.
///
/// The oldest entry sits inline in the list, the rest in a `VecDeque`:
/// most lists hold at most one waiter (one getter of a queue, one reader
/// of a socket), and that one is written straight into its field, without
/// the deque's growth check and the call behind it. (Through the deque,
/// the compiler built the entry on the stack around that call and read it
/// back as one wide load after two narrow stores, a store-forwarding stall
/// that `perf` showed as the hottest instruction of `Queue::get`.)
#[derive(Debug, Default)]
pub(crate) struct WaitList {
    /// The oldest waiter; `None` only if `rest` is empty too.
    head: Option<Entry>,
    /// The other waiters, oldest first.
    rest: VecDeque<Entry>,
    /// The id the next `push_current` hands out.
    next_id: u64,
}

impl WaitList {
    /// An empty list (no allocation until a second waiter comes).
    pub(crate) const fn new() -> WaitList {
        WaitList {
            head: None,
            rest: VecDeque::new(),
            next_id: 0,
        }
    }

    /// Lists the calling context and returns its entry's id. The caller
    /// must take the entry off again before it leaves its wait loop (module
    /// docs, rule 2).
    #[inline]
    pub(crate) fn push_current(&mut self) -> u64 {
        self.push_current_with(None)
    }

    /// [`push_current`](WaitList::push_current), giving a slot a notifier
    /// can hand the waiter something through ([`head_slot`](WaitList::head_slot)).
    /// The slot must stay valid and in place for as long as the entry is
    /// listed.
    #[inline]
    pub(crate) fn push_current_with(&mut self, slot: Option<NonNull<()>>) -> u64 {
        let id = self.next_id;
        self.next_id = id.wrapping_add(1);
        let entry = Entry {
            id,
            waiter: Waiter::current(),
            slot,
        };
        if self.head.is_none() {
            self.head = Some(entry);
        } else {
            self.rest.push_back(entry);
        }
        id
    }

    /// The slot the oldest waiter gave, if it gave one: the one
    /// [`wake_one`](WaitList::wake_one) would wake.
    #[inline(always)]
    pub(crate) fn head_slot(&self) -> Option<NonNull<()>> {
        self.head.as_ref().and_then(|e| e.slot)
    }

    /// Whether the entry `id` is still listed (not yet notified).
    #[inline]
    pub(crate) fn contains(&self, id: u64) -> bool {
        self.head.as_ref().is_some_and(|e| e.id == id) || self.rest.iter().any(|e| e.id == id)
    }

    /// Removes the entry `id`; false if it was no longer listed (it was
    /// notified). Inlined: a woken getter or putter calls it on every
    /// wake, and usually finds the list empty or itself at its head.
    #[inline(always)]
    pub(crate) fn remove(&mut self, id: u64) -> bool {
        match &self.head {
            None => false,
            Some(e) if e.id == id => {
                self.head = self.rest.pop_front();
                true
            }
            Some(_) => self.remove_behind_head(id),
        }
    }

    /// `remove` for an entry behind the head (a crowd of waiters).
    #[inline(never)]
    fn remove_behind_head(&mut self, id: u64) -> bool {
        match self.rest.iter().position(|e| e.id == id) {
            Some(i) => {
                self.rest.remove(i);
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
                self.head = self.rest.pop_front();
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
    pub(crate) fn wake_all(&mut self) {
        if let Some(e) = self.head.take() {
            // SAFETY: as in `wake_one`.
            unsafe { e.waiter.wake() };
        }
        // Usually empty (one reader per socket): skip the drain's set-up.
        if self.rest.is_empty() {
            return;
        }
        for e in self.rest.drain(..) {
            // SAFETY: as in `wake_one`.
            unsafe { e.waiter.wake() };
        }
    }

    /// How many wait.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        usize::from(self.head.is_some()) + self.rest.len()
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
