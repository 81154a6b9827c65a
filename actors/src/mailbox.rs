//! The mailbox: the shared half of an actor's message queue.
//!
//! ```text
//!   senders (any thread)            the actor (one green thread)
//!   ────────────────────            ────────────────────────────
//!   lock ─ push ─ waiting? ─ unlock     Ctx.stash: taken, not yet received
//!                  └─ yes: unpark ────►     ▲
//!                                           │ fetch: swap the whole queue
//!   Mailbox.queue ──────────────────────────┘   into the stash, one lock
//! ```
//!
//! Many senders, one receiver. Senders append under one lock, so the
//! arrival order is one total order, and per-sender FIFO holds whichever
//! workers the senders run on. The actor takes *everything* queued in one
//! lock (`fetch` swaps the queue's buffer with its empty stash) and then
//! receives, or scans for a selective receive, without any lock: a
//! predicate, a guard or a pattern never runs under the mailbox lock.
//!
//! The lock is grove-runtime's spin lock: nothing under it
//! switches or runs user code.
//!
//! # Waiting
//!
//! `fetch` on an empty queue sets `waiting` before it unlocks; the actor
//! then parks. A sender that finds `waiting` set clears it and unparks the
//! actor after unlocking. The unpark token covers the race where the
//! sender comes between the unlock and the park.
//!
//! # Hand-off
//!
//! That sender does not queue its message: it writes it into the
//! mailbox's one-message slot `handed` and publishes it (`filled`,
//! release) under the lock, so the woken actor takes it without locking
//! again (`take_handed`, acquire). A message sent while the actor is not
//! waiting goes there too when nothing is queued and the slot is empty
//! (so an actor's first message allocates no queue buffer). The slot
//! holds at most one message, always older than everything queued:
//!
//! * `waiting` implies an empty queue and an empty slot: `fetch` takes a
//!   handed message (under the lock, ahead of the queue, which only holds
//!   later ones) before it arms `waiting`, and a sender clears `waiting`
//!   when it hands over.
//! * A sender writes the slot only under the lock, and only when it is
//!   empty: `waiting` is set, or it read `filled` false with acquire,
//!   which the actor stores (release) only after it has read the message
//!   out. The actor reads the slot only after seeing `filled` (acquire).
//! * It fills the slot only when the queue is empty, so the slot's
//!   message is older than any queued one.
//!
//! A receive that times out or unwinds leaves a handed message in the slot
//! for the next receive; `close` takes it with the queue, and dropping the
//! mailbox drops it. In a bounded mailbox it counts as `held` from the
//! hand-off on.
//!
//! # Bounds
//!
//! A bounded mailbox counts every message that was sent and not yet
//! received: those queued here and those `held` in the actor's stash
//! (received ones are reported with `consumed`). A sender that finds it
//! full waits in `senders`; `consumed` wakes the oldest one. Exit and Down
//! notifications (`push_system`) never wait and ignore the bound, as
//! Erlang's signals do: a dying actor must never block on a full mailbox.
//!
//! # Closing
//!
//! When the actor ends, `close` marks the mailbox closed, takes what is
//! queued (the caller drops it outside the lock, so a `Reply` inside tells
//! its caller at once) and wakes blocked senders. A send to a closed
//! mailbox hands the message back, and the sender drops it.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use grove_runtime::Unparker;

use grove_runtime::__private::{SpinGuard, SpinLock};

/// The shared half of one actor's mailbox.
///
/// `repr(C)`, in this order so that a send to a waiting actor touches one
/// cache line of the cell: the receiver's unparker, the bound, the flags,
/// the hand-off slot (for messages up to a word) and the lock byte come
/// first, right after the `Arc`'s counts; the queue, which that send does
/// not touch, after them. (In a 10,000-actor ring the first touch of the
/// next actor's mailbox is a cache miss per line.)
#[repr(C)]
pub(crate) struct Mailbox<M> {
    /// Wakes the actor; written once, by the actor when its green thread
    /// starts, before its first receive (so before `waiting` can ever be
    /// set); read only by a sender that saw `waiting` under the lock.
    receiver: UnsafeCell<Option<Unparker>>,
    /// The most messages it holds at once (`u32::MAX`: unbounded).
    cap: u32,
    /// Set (release, under the lock) when `handed` holds a message for the
    /// actor; cleared by the actor when it takes it (module docs,
    /// "Hand-off").
    filled: AtomicBool,
    /// The actor is parked (or about to park) waiting for a message.
    /// Changed only under the lock (so `Relaxed` suffices).
    waiting: AtomicBool,
    /// The actor has ended. Changed only under the lock.
    closed: AtomicBool,
    /// A message handed straight to the waiting actor.
    handed: UnsafeCell<MaybeUninit<M>>,
    /// Messages, blocked senders, counts.
    state: SpinLock<State<M>>,
}

// SAFETY: `handed` is written by one sender at a time, under the lock,
// only while the slot is empty (`waiting` set, or `filled` read false with
// acquire after the actor's release); it is read (moved out) only by the
// actor after it saw `filled` with acquire, or under the lock, or by
// `Drop` with `&mut self` (module docs, "Hand-off"). `receiver` is written
// once by the actor before any sender may read it (`set_receiver`).
// Everything else is behind the lock or atomic. So sharing a mailbox moves
// `M`s (and the `Unparker`) between threads, which `M: Send` allows.
unsafe impl<M: Send> Sync for Mailbox<M> {}
// SAFETY: as above.
unsafe impl<M: Send> Send for Mailbox<M> {}

impl<M> Drop for Mailbox<M> {
    fn drop(&mut self) {
        drop(self.take_handed());
    }
}

/// The locked part of a mailbox.
struct State<M> {
    /// Sent, not yet fetched by the actor; oldest first.
    queue: VecDeque<M>,
    /// Senders blocked on a full mailbox (made on first need).
    blocked: Option<Box<Blocked>>,
    /// Fetched into the actor's stash, not yet received (bounded only).
    held: u32,
}

/// Senders blocked on a full mailbox.
#[derive(Default)]
struct Blocked {
    /// Oldest first.
    list: VecDeque<(u64, Unparker)>,
    /// Id for the next one.
    next: u64,
}

impl<M> State<M> {
    /// The blocked senders, made on first use.
    fn blocked(&mut self) -> &mut Blocked {
        self.blocked.get_or_insert_with(Box::default)
    }

    /// Forgets blocked sender `id`; whether it was listed.
    fn unlist(&mut self, id: u64) -> bool {
        match &mut self.blocked {
            Some(b) => {
                let before = b.list.len();
                b.list.retain(|(i, _)| *i != id);
                b.list.len() != before
            }
            None => false,
        }
    }
}

/// Why a send did not deliver; the message comes back.
pub(crate) enum Refused<M> {
    /// The mailbox is full (try_send, or the deadline passed).
    Full(M),
    /// The actor has ended.
    Closed(M),
}

impl<M> Mailbox<M> {
    /// An empty mailbox holding at most `cap` messages (`None`: no limit).
    pub(crate) fn new(cap: Option<usize>) -> Mailbox<M> {
        // Bounds past u32::MAX - 1 are as good as none.
        let bound = cap.map_or(u32::MAX, |c| c.clamp(1, u32::MAX as usize - 1) as u32);
        Mailbox {
            state: SpinLock::new(State {
                queue: VecDeque::new(),
                blocked: None,
                held: 0,
            }),
            filled: AtomicBool::new(false),
            waiting: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            receiver: UnsafeCell::new(None),
            cap: bound,
            handed: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Whether it has a bound.
    #[inline]
    pub(crate) fn is_bounded(&self) -> bool {
        self.cap != u32::MAX
    }

    /// Whether there is room for one more message (under the lock). With
    /// the actor waiting the queue is empty, so an unbounded mailbox need
    /// not look at it: a send to a waiting actor stays on the first line.
    #[inline]
    fn has_room(&self, st: &State<M>) -> bool {
        if self.waiting.load(Ordering::Relaxed) {
            !self.is_bounded() || st.held < self.cap
        } else {
            st.queue.len() + (st.held as usize) < self.cap as usize
        }
    }

    /// The bound, if any.
    pub(crate) fn capacity(&self) -> Option<usize> {
        self.is_bounded().then_some(self.cap as usize)
    }

    /// Records the actor's unparker.
    ///
    /// # Safety
    ///
    /// Called once, by the actor, before its first receive.
    pub(crate) unsafe fn set_receiver(&self, u: Unparker) {
        // SAFETY: no sender reads `receiver` before it sees `waiting` set
        // under the lock, which the actor only does in a receive, after
        // this write (and the lock orders the two); nothing else writes it.
        unsafe { *self.receiver.get() = Some(u) };
    }

    /// Adds `m` under the lock: handed straight to the actor if it waits
    /// (then the caller must wake it, and this returns true), else queued.
    #[inline]
    fn push_locked(&self, st: &mut State<M>, m: M) -> bool {
        if !self.waiting.load(Ordering::Relaxed) {
            if st.queue.is_empty() && !self.filled.load(Ordering::Acquire) {
                // Nothing queued and the slot empty: the message waits in
                // the slot, so an actor's first message needs no queue
                // buffer (module docs, "Hand-off").
                self.hand(st, m);
            } else {
                st.queue.push_back(m);
            }
            return false;
        }
        self.waiting.store(false, Ordering::Relaxed);
        self.hand(st, m);
        true
    }

    /// Puts `m` in the empty hand-off slot (under the lock).
    #[inline]
    fn hand(&self, st: &mut State<M>, m: M) {
        if self.is_bounded() {
            st.held += 1;
        }
        // SAFETY: the slot is empty — `waiting` was set, or `filled` read
        // false (acquire: the actor's read of the last message is done) —
        // and nobody else writes it or reads it until `filled` is
        // published below; we hold the lock (module docs, "Hand-off").
        unsafe { (*self.handed.get()).write(m) };
        self.filled.store(true, Ordering::Release);
    }

    /// The actor takes the message handed to it, if there is one. Only the
    /// actor (or `close`/`Drop`) calls this.
    #[inline]
    pub(crate) fn take_handed(&self) -> Option<M> {
        if !self.filled.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: `filled` (acquire) says a sender wrote the slot and will
        // not touch it again until it reads `filled` false, which the
        // release below publishes only after this read.
        let m = unsafe { (*self.handed.get()).assume_init_read() };
        self.filled.store(false, Ordering::Release);
        Some(m)
    }

    /// Wakes the actor (after the lock is released).
    #[inline]
    fn wake_receiver(&self) {
        // SAFETY: called by a sender that saw `waiting` under the lock, so
        // after `set_receiver`'s one write (see there).
        if let Some(u) = unsafe { &*self.receiver.get() } {
            u.unpark();
        }
    }

    /// Appends `m`, releases the lock, and wakes the actor if it waits.
    #[inline]
    fn deliver(&self, mut st: SpinGuard<'_, State<M>>, m: M) {
        let wake = self.push_locked(&mut st, m);
        drop(st);
        if wake {
            self.wake_receiver();
        }
    }

    /// Sends `m`, waiting while a bounded mailbox is full, until
    /// `deadline` (`None`: for as long as it takes). A switch point while
    /// it waits.
    #[inline]
    pub(crate) fn send(&self, m: M, deadline: Option<Instant>) -> Result<(), Refused<M>> {
        let st = self.state.lock();
        if self.closed.load(Ordering::Relaxed) {
            return Err(Refused::Closed(m));
        }
        if self.has_room(&st) {
            self.deliver(st, m);
            return Ok(());
        }
        self.send_slow(st, m, deadline)
    }

    /// `send` on a full mailbox: wait in `senders` for room.
    #[cold]
    fn send_slow<'a>(
        &'a self,
        mut st: SpinGuard<'a, State<M>>,
        m: M,
        deadline: Option<Instant>,
    ) -> Result<(), Refused<M>> {
        let id = {
            let b = st.blocked();
            b.next += 1;
            b.next
        };
        let mut listed = false;
        loop {
            if self.closed.load(Ordering::Relaxed) {
                st.unlist(id);
                return Err(Refused::Closed(m));
            }
            if self.has_room(&st) {
                st.unlist(id);
                let wake = self.push_locked(&mut st, m);
                // There may be room for the next sender too.
                let next = self.next_sender_if_room(&mut st);
                drop(st);
                if wake {
                    self.wake_receiver();
                }
                if let Some(u) = next {
                    u.unpark();
                }
                return Ok(());
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                st.unlist(id);
                return Err(Refused::Full(m));
            }
            let listed_now = st
                .blocked
                .as_ref()
                .is_some_and(|b| b.list.iter().any(|(i, _)| *i == id));
            if !listed || !listed_now {
                st.blocked()
                    .list
                    .push_back((id, grove_runtime::current().unparker()));
                listed = true;
            }
            drop(st);
            let guard = LeaveOnUnwind { mailbox: self, id };
            match deadline {
                Some(d) => grove_runtime::park_deadline(d),
                None => grove_runtime::park(),
            }
            std::mem::forget(guard);
            st = self.state.lock();
        }
    }

    /// The oldest blocked sender, taken out, if there is room for it.
    fn next_sender_if_room(&self, st: &mut State<M>) -> Option<Unparker> {
        if self.has_room(st) && !self.closed.load(Ordering::Relaxed) {
            st.blocked.as_mut()?.list.pop_front().map(|(_, u)| u)
        } else {
            None
        }
    }

    /// Sends `m` if there is room now.
    pub(crate) fn try_send(&self, m: M) -> Result<(), Refused<M>> {
        let st = self.state.lock();
        if self.closed.load(Ordering::Relaxed) {
            return Err(Refused::Closed(m));
        }
        if !self.has_room(&st) {
            return Err(Refused::Full(m));
        }
        self.deliver(st, m);
        Ok(())
    }

    /// Appends a notification (exit, down): never waits, ignores the bound.
    /// Hands it back if the actor has ended.
    pub(crate) fn push_system(&self, m: M) -> Result<(), M> {
        let st = self.state.lock();
        if self.closed.load(Ordering::Relaxed) {
            return Err(m);
        }
        self.deliver(st, m);
        Ok(())
    }

    /// The actor takes everything queued into `into` (which it has
    /// emptied) and returns how many it took. With none there and `arm`
    /// set, it is marked waiting: the next send unparks it.
    #[inline]
    pub(crate) fn fetch(&self, into: &mut VecDeque<M>, arm: bool) -> usize {
        let mut st = self.state.lock();
        // A handed message first: everything queued came after it.
        let handed = match self.take_handed() {
            Some(m) => {
                into.push_back(m);
                1
            }
            None => 0,
        };
        let n = st.queue.len();
        if n == 0 {
            self.waiting.store(arm && handed == 0, Ordering::Relaxed);
            return handed;
        }
        if into.is_empty() {
            std::mem::swap(into, &mut st.queue);
        } else {
            into.append(&mut st.queue);
        }
        if self.is_bounded() {
            st.held += n as u32;
        }
        self.waiting.store(false, Ordering::Relaxed);
        n + handed
    }

    /// The actor received `n` messages it had fetched (bounded mailboxes
    /// only): frees their room and wakes a blocked sender.
    pub(crate) fn consumed(&self, n: usize) {
        let next = {
            let mut st = self.state.lock();
            st.held = st.held.saturating_sub(n as u32);
            self.next_sender_if_room(&mut st)
        };
        if let Some(u) = next {
            u.unpark();
        }
    }

    /// The actor stopped waiting without a message (its receive timed out
    /// or unwound).
    pub(crate) fn disarm(&self) {
        let _st = self.state.lock();
        self.waiting.store(false, Ordering::Relaxed);
    }

    /// Closes the mailbox (the actor ended): later sends are refused.
    /// Returns what was queued, for the caller to drop outside the lock,
    /// and wakes every blocked sender.
    pub(crate) fn close(&self) -> VecDeque<M> {
        let (queue, senders) = {
            let mut st = self.state.lock();
            self.closed.store(true, Ordering::Relaxed);
            st.held = 0;
            self.waiting.store(false, Ordering::Relaxed);
            let mut queue = std::mem::take(&mut st.queue);
            if let Some(m) = self.take_handed() {
                queue.push_front(m);
            }
            (queue, st.blocked.take())
        };
        for (_, u) in senders.map(|b| b.list).unwrap_or_default() {
            u.unpark();
        }
        queue
    }

    /// Whether the actor has ended.
    pub(crate) fn is_closed(&self) -> bool {
        let _st = self.state.lock();
        self.closed.load(Ordering::Relaxed)
    }

    /// Messages queued here (not counting the actor's stash).
    pub(crate) fn queued(&self) -> usize {
        let st = self.state.lock();
        st.queue.len() + usize::from(self.filled.load(Ordering::Acquire))
    }
}

/// Takes a blocked sender off the list if its wait unwinds (kill,
/// `grove::timeout`), and passes on a wake it may have been given.
struct LeaveOnUnwind<'a, M> {
    /// The mailbox it waits on.
    mailbox: &'a Mailbox<M>,
    /// Its entry in `senders`.
    id: u64,
}

impl<M> Drop for LeaveOnUnwind<'_, M> {
    fn drop(&mut self) {
        let next = {
            let mut st = self.mailbox.state.lock();
            if !st.unlist(self.id) {
                // We were woken for room we will not use: hand it on.
                self.mailbox.next_sender_if_room(&mut st)
            } else {
                None
            }
        };
        if let Some(u) = next {
            u.unpark();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::Mailbox;

    /// The offset of `field` within the allocation of an `Arc` whose
    /// value starts at `value`, past the `Arc`'s two counts.
    fn offset(field: *const u8, value: *const u8) -> usize {
        field as usize - value as usize + 2 * std::mem::size_of::<usize>()
    }

    #[test]
    fn a_message_sent_before_the_actor_waits_is_held_in_the_slot_in_order() {
        use super::Refused;
        use std::collections::VecDeque;
        let mb = Mailbox::<u32>::new(Some(2));
        assert!(mb.send(1, None).is_ok());
        assert_eq!(
            mb.state.lock().queue.capacity(),
            0,
            "the first message allocates no buffer"
        );
        assert!(mb.send(2, None).is_ok());
        // The slot's message counts against the bound.
        assert!(matches!(mb.try_send(3), Err(Refused::Full(3))));
        assert_eq!(mb.queued(), 2);
        let mut stash = VecDeque::new();
        assert_eq!(mb.fetch(&mut stash, true), 2);
        assert_eq!(stash, [1, 2]);
        // Taken out of the slot without the lock, the next one may go there.
        mb.consumed(2);
        assert!(mb.send(4, None).is_ok());
        assert_eq!(mb.take_handed(), Some(4));
        assert_eq!(mb.take_handed(), None);
    }

    #[test]
    fn a_send_to_a_waiting_actor_touches_the_first_cache_line() {
        // What `push_locked`'s hand-off and the wake read and write, for a
        // message of one word: all within the first 64 bytes of the cell's
        // allocation (the mailbox comes first in the cell).
        let mb = Arc::new(Mailbox::<usize>::new(None));
        let value = Arc::as_ptr(&mb) as *const u8;
        fn end<T>(field: &T, value: *const u8) -> usize {
            offset(field as *const T as *const u8, value) + std::mem::size_of_val(field)
        }
        let lock_byte = offset(&mb.state as *const _ as *const u8, value) + 1;
        for (name, last) in [
            ("receiver", end(&mb.receiver, value)),
            ("cap", end(&mb.cap, value)),
            ("filled", end(&mb.filled, value)),
            ("waiting", end(&mb.waiting, value)),
            ("closed", end(&mb.closed, value)),
            ("handed", end(&mb.handed, value)),
            ("lock", lock_byte),
        ] {
            assert!(last <= 64, "{name} ends at byte {last}");
        }
    }
}
