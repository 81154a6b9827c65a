//! The wait list every primitive keeps, and the two helpers of the wait
//! protocol: [`park_or`] (park, undoing the registration if the park
//! unwinds) and [`expired`].
//!
//! A [`WaitList`] lives inside the primitive's state, behind that state's
//! lock, so it is on the heap and never on a waiting stack. An entry is an
//! id (unique within the list) and the [`Waker`] of the context that waits.
//!
//! The meaning of "my entry is gone" is what makes the protocol work: only a
//! notifier removes someone else's entry, so a waiter that finds its entry
//! missing after a park knows it was *notified* (handed an item, a permit,
//! the lock, or told to look again). A waiter that was notified and leaves
//! without using the notification (it was killed, its `timeout` expired, its
//! own deadline passed) must pass the notification on to the next waiter,
//! or that waiter would sleep through a wake meant for the queue as a whole.

use std::collections::VecDeque;
use std::time::Instant;

use crate::park::{park, WaitKind, Waker};

/// One registered waiter.
#[derive(Debug)]
pub(crate) struct Entry {
    /// Identifies the entry within its list.
    id: u64,
    /// Wakes the waiting context.
    waker: Waker,
}

/// A FIFO of waiting contexts.
#[derive(Debug, Default)]
pub(crate) struct WaitList {
    /// Waiters, oldest first.
    entries: VecDeque<Entry>,
    /// The id the next `push` hands out.
    next_id: u64,
}

impl WaitList {
    /// An empty list (no allocation until the first push).
    pub(crate) const fn new() -> WaitList {
        WaitList {
            entries: VecDeque::new(),
            next_id: 0,
        }
    }

    /// Appends a waiter and returns its id.
    #[inline]
    pub(crate) fn push(&mut self, waker: Waker) -> u64 {
        let id = self.next_id;
        self.next_id = id.wrapping_add(1);
        self.entries.push_back(Entry { id, waker });
        id
    }

    /// Whether the entry `id` is still listed (not yet notified).
    #[inline]
    pub(crate) fn contains(&self, id: u64) -> bool {
        self.entries.iter().any(|e| e.id == id)
    }

    /// Removes the entry `id`; false if it was no longer listed (it was
    /// notified).
    #[inline]
    pub(crate) fn remove(&mut self, id: u64) -> bool {
        match self.entries.iter().position(|e| e.id == id) {
            Some(i) => {
                self.entries.remove(i);
                true
            }
            None => false,
        }
    }

    /// Takes the oldest waiter out (notifies it); the caller wakes it after
    /// unlocking.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Waker> {
        self.entries.pop_front().map(|e| e.waker)
    }

    /// Takes every waiter out; the caller wakes them after unlocking with
    /// [`Wakers::wake_all`]. A single waiter (the common case: one green
    /// thread per socket direction) is popped, so the list keeps its
    /// buffer and the next wait allocates nothing.
    pub(crate) fn take_all(&mut self) -> Wakers {
        if self.entries.len() <= 1 {
            Wakers::One(self.entries.pop_front().map(|e| e.waker))
        } else {
            Wakers::Many(std::mem::take(&mut self.entries))
        }
    }

    /// Whether nobody waits.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many wait.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Waiters taken out of a list, to be woken once the lock is released.
#[derive(Debug)]
pub(crate) enum Wakers {
    /// None or one.
    One(Option<Waker>),
    /// Several, with the list's buffer.
    Many(VecDeque<Entry>),
}

impl Wakers {
    /// Wakes them all.
    pub(crate) fn wake_all(self) {
        match self {
            Wakers::One(w) => wake(w),
            Wakers::Many(list) => {
                for e in list {
                    e.waker.wake();
                }
            }
        }
    }
}

/// Wakes `w` if there is one.
#[inline]
pub(crate) fn wake(w: Option<Waker>) {
    if let Some(w) = w {
        w.wake();
    }
}

/// Parks the calling context (see [`park`]); if the park unwinds (kill, an
/// expired `timeout`), runs `on_unwind` first, which must forget the
/// caller's wait-list entry and pass on a notification it received.
#[inline]
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
    guard.0 = None;
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
