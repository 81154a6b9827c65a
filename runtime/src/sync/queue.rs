//! [`Queue`]: the multi-producer, multi-consumer FIFO channel (gevent's
//! `Queue`), and its error types, shaped like `std::sync::mpsc`'s.
//!
//! # State
//!
//! One lock guards the items (a `VecDeque`, so a message costs no
//! allocation once the ring has grown), two wait lists (`getters` blocked
//! on an empty queue, `putters` blocked on a full one) and the `closed`
//! flag. It is a spin lock (`crate::spin`): nothing under it switches or
//! runs user code, so one atomic per lock instead of a mutex's two. The uncontended path of `put` and `get` is one lock, one push or
//! pop, and a check that the opposite wait list is empty: nobody is woken
//! unless somebody waits.
//!
//! # Wake-one, with hand-on
//!
//! ```text
//!   put:  push item ─► wake ONE getter (if any) ─► unlock
//!   get:  pop item  ─► wake ONE putter (bounded, if any) ─► unlock
//!   close: wake ALL getters and putters ─► unlock
//! ```
//!
//! The wakes happen under the lock: that is what lets a wait list borrow
//! its waiters instead of counting references (`waiters`, module docs).
//!
//! # Hand-off to a waiting getter
//!
//! A getter that waits on an empty queue lists a [`Handoff`] slot on its
//! own stack with its entry. A putter that finds the queue empty and such
//! a getter first in line writes the item into that slot instead of the
//! ring (Go's channels do the same), so the woken getter returns without
//! taking the lock again: one lock and no ring traffic less per hand-off.
//! Under the lock, the putter writes the item, takes the entry off and
//! wakes it, and only then publishes the slot (`filled`, release); the
//! getter reads the item only after it saw `filled` (acquire) or under the
//! lock. So a getter that runs early (woken by a kill) cannot leave while
//! the putter still touches its task or its slot. A getter that unwinds
//! with an item in its slot puts it back at the front of the ring and
//! hands its notification on; no second item is handed over while one is
//! on its way (`handoff_pending`), so that item is neither lost nor
//! overtaken by a later one.
//!
//! A waiter whose entry is gone was notified. After a park it re-checks
//! under the lock: an item (or space) is there → it takes it; otherwise
//! (another context got there first) it registers again. A notified waiter
//! that leaves without taking (kill, `grove::timeout`, or its own deadline
//! while it still held the notification) hands the notification to the next
//! waiter if there is still an item (space) for it, so no item sits in the
//! queue while a getter sleeps.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::spin::SpinLock;

use super::waiters::{deadline_in, expired, park_or, Slot, WaitList, WaiterId};
use crate::park::{lend_stack, StackLoan, WaitKind};

/// A FIFO queue for many producers and many consumers, green threads and
/// OS threads alike (gevent's `gevent.queue.Queue`).
///
/// Cloning gives another handle to the same queue (an `Arc` inside). Order
/// is FIFO overall, hence also per producer. There is no sender/receiver
/// split: the queue lives while any handle does, and it is ended by an
/// explicit [`close`](Queue::close), after which consumers drain what is
/// left and then get [`RecvError`].
///
/// ```
/// use grove_runtime::sync::Queue;
///
/// let q = Queue::bounded(2);
/// let producer = grove_runtime::spawn({
///     let q = q.clone();
///     move || {
///         for i in 0..5 {
///             q.put(i).unwrap(); // suspends while the queue is full
///         }
///         q.close();
///     }
/// });
/// let got: Vec<i32> = q.iter().collect(); // gets until closed and drained
/// assert_eq!(got, [0, 1, 2, 3, 4]);
/// producer.join().unwrap();
/// ```
pub struct Queue<T> {
    /// The shared queue.
    inner: Arc<Inner<T>>,
}

/// What every handle of one queue shares.
struct Inner<T> {
    /// Maximum number of items (`usize::MAX` when unbounded).
    cap: usize,
    /// Whether it was made with `bounded`.
    bounded: bool,
    /// Items, waiters and the closed flag.
    state: SpinLock<State<T>>,
    /// An item was handed to a getter that has not taken it yet (set by
    /// the putter under the lock, cleared by the getter when it takes the
    /// item or puts it back). No second hand-off while it is set, so an
    /// item handed to a getter that then unwinds goes back ahead of every
    /// later one.
    handoff_pending: AtomicBool,
}

/// The locked part of a queue.
struct State<T> {
    /// The items, oldest first.
    items: VecDeque<T>,
    /// Contexts blocked in `get` on an empty queue.
    getters: WaitList<Slot>,
    /// Contexts blocked in `put` on a full queue.
    putters: WaitList,
    /// Set by `close`; never cleared.
    closed: bool,
}

impl<T> State<T> {
    /// Adds an item (the caller checked there is room): straight into the
    /// slot of the first getter if the queue is empty and it gave one,
    /// else at the back of the ring, waking the first getter.
    #[inline(always)]
    fn push_item(&mut self, value: T, handoff_pending: &AtomicBool) {
        if self.items.is_empty() && !handoff_pending.load(Ordering::Relaxed) {
            if let Some(slot) = self.getters.head_slot() {
                handoff_pending.store(true, Ordering::Relaxed);
                // SAFETY: the slot belongs to the listed head entry of
                // `getters`, whose getter registered it as a `Handoff<T>`
                // of this queue and cannot leave while listed (we hold the
                // lock); `publish` follows the wake, under the same lock.
                unsafe {
                    Handoff::<T>::write(slot, value);
                    self.getters.wake_one();
                    Handoff::<T>::publish(slot);
                }
                return;
            }
        }
        self.items.push_back(value);
        self.getters.wake_one();
    }

    /// Wakes the next getter, if an item is there for it.
    fn wake_getter_if_item(&mut self) {
        if !self.items.is_empty() {
            self.getters.wake_one();
        }
    }

    /// Wakes the next putter of a bounded queue (one that may be full).
    fn wake_putter_if_bounded(&mut self, bounded: bool) {
        if bounded {
            self.putters.wake_one();
        }
    }
}

/// A waiting getter's slot for an item handed to it directly (module
/// docs, "Hand-off"). It lives on the getter's stack, in `get_deadline`,
/// for as long as the getter may be listed.
struct Handoff<T> {
    /// The item, once written.
    value: UnsafeCell<MaybeUninit<T>>,
    /// Set (release) once `value` holds an item that nobody else will
    /// touch again; cleared by the getter when it takes it.
    filled: AtomicBool,
}

impl<T> Handoff<T> {
    fn new() -> Handoff<T> {
        Handoff {
            value: UnsafeCell::new(MaybeUninit::uninit()),
            filled: AtomicBool::new(false),
        }
    }

    /// The address a wait-list entry carries.
    fn as_slot(&self) -> NonNull<()> {
        NonNull::from(self).cast()
    }

    /// Writes the item, not yet visible to the getter.
    ///
    /// # Safety
    ///
    /// `slot` is the `as_slot` of a live, empty `Handoff<T>` whose entry
    /// is listed on a wait list whose lock the caller holds.
    #[inline(always)]
    unsafe fn write(slot: NonNull<()>, value: T) {
        // SAFETY: the caller's obligation; the getter reads `value` only
        // after `filled`, which is still false, or under the lock we hold.
        unsafe { (*slot.cast::<Handoff<T>>().as_ref().value.get()).write(value) };
    }

    /// Makes the written item the getter's. The last touch of the slot by
    /// the putter.
    ///
    /// # Safety
    ///
    /// As for `write`, which came first, except that the entry is off the
    /// list now: the getter cannot leave before it sees `filled` or gets
    /// the lock, both of which come after this store.
    #[inline(always)]
    unsafe fn publish(slot: NonNull<()>) {
        // SAFETY: the caller's obligation.
        unsafe { slot.cast::<Handoff<T>>().as_ref() }
            .filled
            .store(true, Ordering::Release);
    }

    /// Takes a handed item, if there is one. Only the owning getter calls
    /// this; once `filled` is seen, no putter touches the slot again.
    #[inline(always)]
    fn take(&self) -> Option<T> {
        if self.filled.load(Ordering::Acquire) {
            self.filled.store(false, Ordering::Relaxed);
            // SAFETY: `filled` (acquire) says a putter wrote `value` and
            // is done with the slot; clearing it first means it is read
            // once.
            Some(unsafe { (*self.value.get()).assume_init_read() })
        } else {
            None
        }
    }
}

impl<T> Drop for Handoff<T> {
    fn drop(&mut self) {
        // Every way out of `get_deadline` takes a handed item, so this
        // only guards against a path that forgot one.
        drop(self.take());
    }
}

impl<T> Queue<T> {
    /// A queue that holds at most `capacity` items: `put` blocks while it
    /// is full.
    ///
    /// `bounded(0)` is `bounded(1)`: grove has no rendezvous channel, and a
    /// queue that can never hold an item would make every `put` block
    /// forever.
    ///
    /// ```
    /// let q = grove_runtime::sync::Queue::bounded(1);
    /// q.put(1).unwrap();
    /// assert!(q.try_put(2).unwrap_err().is_full());
    /// assert_eq!(q.capacity(), Some(1));
    /// ```
    pub fn bounded(capacity: usize) -> Queue<T> {
        Queue::with(capacity.max(1), true)
    }

    /// A queue without a size limit: `put` never blocks.
    ///
    /// ```
    /// let q = grove_runtime::sync::Queue::unbounded();
    /// for i in 0..1000 { q.put(i).unwrap(); }
    /// assert_eq!(q.len(), 1000);
    /// assert_eq!(q.capacity(), None);
    /// ```
    pub fn unbounded() -> Queue<T> {
        Queue::with(usize::MAX, false)
    }

    fn with(cap: usize, bounded: bool) -> Queue<T> {
        Queue {
            inner: Arc::new(Inner {
                cap,
                bounded,
                state: SpinLock::new(State {
                    items: VecDeque::new(),
                    getters: WaitList::new(),
                    putters: WaitList::new(),
                    closed: false,
                }),
                handoff_pending: AtomicBool::new(false),
            }),
        }
    }

    /// Appends `value`, blocking while the queue is full (suspends a green
    /// thread, parks an OS thread).
    ///
    /// Fails only once the queue is closed (also if it gets closed while
    /// this call waits), handing `value` back. A switch point when it
    /// waits: a kill or an expired `grove::timeout` unwinds here (and
    /// `value` is dropped).
    ///
    /// ```
    /// let q = grove_runtime::sync::Queue::unbounded();
    /// q.put("a").unwrap();
    /// q.close();
    /// assert_eq!(q.put("b").unwrap_err().0, "b");
    /// ```
    pub fn put(&self, value: T) -> Result<(), SendError<T>> {
        self.put_deadline(value, None)
            .map_err(|e| SendError(e.into_inner()))
    }

    /// Appends `value` if there is room now, without waiting.
    ///
    /// ```
    /// use grove_runtime::sync::{Queue, TrySendError};
    /// let q = Queue::bounded(1);
    /// assert!(q.try_put(1).is_ok());
    /// assert_eq!(q.try_put(2), Err(TrySendError::Full(2)));
    /// q.close();
    /// assert_eq!(q.try_put(3), Err(TrySendError::Closed(3)));
    /// ```
    pub fn try_put(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut st = self.inner.state.lock();
        if st.closed {
            return Err(TrySendError::Closed(value));
        }
        if st.items.len() >= self.inner.cap {
            return Err(TrySendError::Full(value));
        }
        st.push_item(value, &self.inner.handoff_pending);
        Ok(())
    }

    /// Like [`put`](Queue::put), but gives up after `timeout`, handing the
    /// value back in [`SendTimeoutError::Timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let q = grove_runtime::sync::Queue::bounded(1);
    /// q.put(1).unwrap();
    /// let e = q.put_timeout(2, Duration::from_millis(5)).unwrap_err();
    /// assert!(e.is_timeout());
    /// assert_eq!(e.into_inner(), 2);
    /// ```
    pub fn put_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.put_deadline(value, deadline_in(timeout))
    }

    /// The engine of `put` and `put_timeout`. Inlined into each, so that
    /// `put`'s `None` folds the deadline checks away.
    #[inline(always)]
    fn put_deadline(&self, value: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let mut st = self.inner.state.lock();
        let mut id: Option<WaiterId> = None;
        loop {
            if st.closed {
                if let Some(id) = id {
                    st.putters.remove(id);
                }
                return Err(SendTimeoutError::Closed(value));
            }
            if st.items.len() < self.inner.cap {
                if let Some(id) = id {
                    st.putters.remove(id);
                }
                st.push_item(value, &self.inner.handoff_pending);
                return Ok(());
            }
            if expired(deadline) {
                // Full, so a notification we may hold has nothing to hand on.
                if let Some(id) = id {
                    st.putters.remove(id);
                }
                return Err(SendTimeoutError::Timeout(value));
            }
            let me = match id {
                Some(i) if st.putters.contains(i) => i,
                _ => st.putters.push_current(),
            };
            id = Some(me);
            drop(st);
            park_or(WaitKind::Queue, deadline, || self.abandon_put(me));
            st = self.inner.state.lock();
        }
    }

    /// A putter leaves without putting: forget its entry, and if it had
    /// been notified, hand the notification on while there is room.
    fn abandon_put(&self, id: WaiterId) {
        let mut st = self.inner.state.lock();
        if !st.putters.remove(id) && !st.closed && st.items.len() < self.inner.cap {
            st.putters.wake_one();
        }
    }

    /// Takes the oldest item, blocking while the queue is empty (suspends a
    /// green thread, parks an OS thread).
    ///
    /// Fails only once the queue is closed **and** drained. A switch point
    /// when it waits: a kill or an expired `grove::timeout` unwinds here.
    ///
    /// ```
    /// use grove_runtime::sync::Queue;
    /// let q = Queue::unbounded();
    /// let h = grove_runtime::spawn({ let q = q.clone(); move || q.get().unwrap() * 2 });
    /// q.put(21).unwrap();
    /// assert_eq!(h.join().unwrap(), 42);
    /// q.close();
    /// assert!(q.get().is_err());
    /// ```
    pub fn get(&self) -> Result<T, RecvError> {
        self.get_deadline(None).map_err(|_| RecvError)
    }

    /// Takes the oldest item if there is one, without waiting.
    ///
    /// ```
    /// use grove_runtime::sync::{Queue, TryRecvError};
    /// let q = Queue::unbounded();
    /// assert_eq!(q.try_get(), Err(TryRecvError::Empty));
    /// q.put(1).unwrap();
    /// q.close();
    /// assert_eq!(q.try_get(), Ok(1));
    /// assert_eq!(q.try_get(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_get(&self) -> Result<T, TryRecvError> {
        let mut st = self.inner.state.lock();
        match st.items.pop_front() {
            Some(v) => {
                st.wake_putter_if_bounded(self.inner.bounded);
                Ok(v)
            }
            None if st.closed => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Like [`get`](Queue::get), but gives up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use grove_runtime::sync::{Queue, RecvTimeoutError};
    /// let q = Queue::<u8>::unbounded();
    /// assert_eq!(q.get_timeout(Duration::from_millis(5)), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.get_deadline(deadline_in(timeout))
    }

    /// The engine of `get` and `get_timeout`. Inlined into each, so that
    /// `get`'s `None` folds the deadline checks away.
    #[inline(always)]
    fn get_deadline(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let slot = Handoff::<T>::new();
        // Lent while an entry may carry `slot`: held until we return, after
        // the entry is gone (dropped before `slot`).
        let mut loan: Option<Option<StackLoan>> = None;
        let mut st = self.inner.state.lock();
        let mut id: Option<WaiterId> = None;
        loop {
            if let Some(v) = st.items.pop_front() {
                if let Some(id) = id {
                    st.getters.remove(id);
                }
                st.wake_putter_if_bounded(self.inner.bounded);
                return Ok(v);
            }
            if st.closed {
                if let Some(id) = id {
                    st.getters.remove(id);
                }
                return Err(RecvTimeoutError::Closed);
            }
            if expired(deadline) {
                // Empty, so a notification we may hold has nothing to hand on.
                if let Some(id) = id {
                    st.getters.remove(id);
                }
                return Err(RecvTimeoutError::Timeout);
            }
            let me = match id {
                Some(i) if st.getters.contains(i) => i,
                _ => {
                    // A getter on a shared stack waits without the slot.
                    let lent = loan.get_or_insert_with(lend_stack).is_some();
                    st.getters.push_current_with(lent.then(|| slot.as_slot()))
                }
            };
            id = Some(me);
            drop(st);
            park_or(WaitKind::Queue, deadline, || self.abandon_get(me, &slot));
            // Handed an item: the putter took our entry off and is done.
            if let Some(v) = self.take_handed(&slot) {
                return Ok(v);
            }
            st = self.inner.state.lock();
            // Handed one after the check above (we were woken early).
            if let Some(v) = self.take_handed(&slot) {
                return Ok(v);
            }
        }
    }

    /// Takes the item handed to this getter's `slot`, if there is one, and
    /// ends the hand-off, so the next one may begin.
    #[inline(always)]
    fn take_handed(&self, slot: &Handoff<T>) -> Option<T> {
        let v = slot.take()?;
        self.inner.handoff_pending.store(false, Ordering::Release);
        Some(v)
    }

    /// A getter leaves without getting: forget its entry, and if it had
    /// been notified, put back an item it was handed and hand the
    /// notification on while an item is there.
    fn abandon_get(&self, id: WaiterId, slot: &Handoff<T>) {
        let mut st = self.inner.state.lock();
        if !st.getters.remove(id) {
            if let Some(v) = self.take_handed(slot) {
                // The oldest item: it was handed over on an empty queue,
                // and nothing was handed over since.
                st.items.push_front(v);
            }
            st.wake_getter_if_item();
        }
    }

    /// Closes the queue: every later `put` fails, `get` drains the items
    /// left and then fails. Wakes everyone blocked: blocked putters get
    /// their value back in [`SendError`], blocked getters take what is left
    /// or get [`RecvError`]. Closing twice does nothing more.
    ///
    /// ```
    /// let q = grove_runtime::sync::Queue::unbounded();
    /// q.put(1).unwrap();
    /// q.close();
    /// assert!(q.is_closed());
    /// assert_eq!(q.get(), Ok(1));
    /// assert!(q.get().is_err());
    /// ```
    pub fn close(&self) {
        let mut st = self.inner.state.lock();
        st.closed = true;
        st.getters.wake_all();
        st.putters.wake_all();
    }

    /// Whether [`close`](Queue::close) was called.
    ///
    /// ```
    /// let q = grove_runtime::sync::Queue::<()>::unbounded();
    /// assert!(!q.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.state.lock().closed
    }

    /// The number of items in the queue now.
    ///
    /// ```
    /// let q = grove_runtime::sync::Queue::unbounded();
    /// q.put(()).unwrap();
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.state.lock().items.len()
    }

    /// Whether the queue holds no item now.
    ///
    /// ```
    /// let q = grove_runtime::sync::Queue::<i32>::unbounded();
    /// assert!(q.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.state.lock().items.is_empty()
    }

    /// The capacity given to [`bounded`](Queue::bounded), or `None` if it
    /// is unbounded.
    ///
    /// ```
    /// assert_eq!(grove_runtime::sync::Queue::<u8>::bounded(8).capacity(), Some(8));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.inner.bounded.then_some(self.inner.cap)
    }

    /// An iterator that [`get`](Queue::get)s until the queue is closed and
    /// drained (`for v in &q` does the same).
    ///
    /// ```
    /// let q = grove_runtime::sync::Queue::unbounded();
    /// q.put(1).unwrap();
    /// q.put(2).unwrap();
    /// q.close();
    /// assert_eq!(q.iter().sum::<i32>(), 3);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { queue: self }
    }
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Queue<T> {
        Queue {
            inner: self.inner.clone(),
        }
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Copied out first: the formatter may write to a socket (a switch
        // point), which must never happen under the spin lock.
        let (len, closed, getters, putters) = {
            let st = self.inner.state.lock();
            (
                st.items.len(),
                st.closed,
                st.getters.len(),
                st.putters.len(),
            )
        };
        f.debug_struct("Queue")
            .field("len", &len)
            .field("capacity", &self.capacity())
            .field("closed", &closed)
            .field("getters", &getters)
            .field("putters", &putters)
            .finish()
    }
}

/// Gets from a [`Queue`] until it is closed and drained; made by
/// [`Queue::iter`] or `for v in &queue`.
///
/// ```
/// let q = grove_runtime::sync::Queue::unbounded();
/// q.put('a').unwrap();
/// q.close();
/// for c in &q {
///     assert_eq!(c, 'a');
/// }
/// ```
pub struct Iter<'a, T> {
    /// The queue it gets from.
    queue: &'a Queue<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.queue.get().ok()
    }
}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").field("queue", self.queue).finish()
    }
}

impl<'a, T> IntoIterator for &'a Queue<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// The error of [`Queue::put`]: the queue is closed. Holds the value that
/// could not be put.
///
/// ```
/// let q = grove_runtime::sync::Queue::unbounded();
/// q.close();
/// let grove_runtime::sync::SendError(v) = q.put(7).unwrap_err();
/// assert_eq!(v, 7);
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The value that could not be put.
    ///
    /// ```
    /// assert_eq!(grove_runtime::sync::SendError(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError { .. }")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("putting on a closed queue")
    }
}

impl<T> Error for SendError<T> {}

/// The error of [`Queue::try_put`]. Holds the value that could not be put.
///
/// ```
/// use grove_runtime::sync::{Queue, TrySendError};
/// let q = Queue::bounded(1);
/// q.put(0).unwrap();
/// match q.try_put(1) {
///     Err(TrySendError::Full(v)) => assert_eq!(v, 1),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The queue is full.
    Full(T),
    /// The queue is closed.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that could not be put.
    ///
    /// ```
    /// assert_eq!(grove_runtime::sync::TrySendError::Full(1).into_inner(), 1);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }

    /// Whether the queue was full.
    ///
    /// ```
    /// assert!(grove_runtime::sync::TrySendError::Full(()).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// Whether the queue was closed.
    ///
    /// ```
    /// assert!(grove_runtime::sync::TrySendError::Closed(()).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("putting on a full queue"),
            TrySendError::Closed(_) => f.write_str("putting on a closed queue"),
        }
    }
}

impl<T> Error for TrySendError<T> {}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(e: SendError<T>) -> TrySendError<T> {
        TrySendError::Closed(e.0)
    }
}

/// The error of [`Queue::put_timeout`]. Holds the value that could not be
/// put.
///
/// ```
/// use std::time::Duration;
/// use grove_runtime::sync::{Queue, SendTimeoutError};
/// let q = Queue::bounded(1);
/// q.put(0).unwrap();
/// assert_eq!(q.put_timeout(1, Duration::ZERO), Err(SendTimeoutError::Timeout(1)));
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum SendTimeoutError<T> {
    /// The queue stayed full until the timeout.
    Timeout(T),
    /// The queue is closed.
    Closed(T),
}

impl<T> SendTimeoutError<T> {
    /// The value that could not be put.
    ///
    /// ```
    /// assert_eq!(grove_runtime::sync::SendTimeoutError::Timeout(1).into_inner(), 1);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(v) | SendTimeoutError::Closed(v) => v,
        }
    }

    /// Whether the time ran out.
    ///
    /// ```
    /// assert!(grove_runtime::sync::SendTimeoutError::Timeout(()).is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, SendTimeoutError::Timeout(_))
    }

    /// Whether the queue was closed.
    ///
    /// ```
    /// assert!(grove_runtime::sync::SendTimeoutError::Closed(()).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, SendTimeoutError::Closed(_))
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
            SendTimeoutError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("timed out putting on a full queue"),
            SendTimeoutError::Closed(_) => f.write_str("putting on a closed queue"),
        }
    }
}

impl<T> Error for SendTimeoutError<T> {}

impl<T> From<SendError<T>> for SendTimeoutError<T> {
    fn from(e: SendError<T>) -> SendTimeoutError<T> {
        SendTimeoutError::Closed(e.0)
    }
}

/// The error of [`Queue::get`]: the queue is closed and empty.
///
/// ```
/// let q = grove_runtime::sync::Queue::<()>::unbounded();
/// q.close();
/// assert_eq!(q.get(), Err(grove_runtime::sync::RecvError));
/// ```
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("getting from a closed and empty queue")
    }
}

impl Error for RecvError {}

/// The error of [`Queue::try_get`].
///
/// ```
/// use grove_runtime::sync::{Queue, TryRecvError};
/// let q = Queue::<()>::unbounded();
/// assert_eq!(q.try_get(), Err(TryRecvError::Empty));
/// ```
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum TryRecvError {
    /// The queue is empty now (but not closed).
    Empty,
    /// The queue is closed and empty.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("getting from an empty queue"),
            TryRecvError::Closed => f.write_str("getting from a closed and empty queue"),
        }
    }
}

impl Error for TryRecvError {}

impl From<RecvError> for TryRecvError {
    fn from(_: RecvError) -> TryRecvError {
        TryRecvError::Closed
    }
}

/// The error of [`Queue::get_timeout`].
///
/// ```
/// use std::time::Duration;
/// use grove_runtime::sync::{Queue, RecvTimeoutError};
/// let q = Queue::<()>::unbounded();
/// q.close();
/// assert_eq!(q.get_timeout(Duration::from_secs(1)), Err(RecvTimeoutError::Closed));
/// ```
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum RecvTimeoutError {
    /// The queue stayed empty until the timeout.
    Timeout,
    /// The queue is closed and empty.
    Closed,
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvTimeoutError::Timeout => f.write_str("timed out getting from an empty queue"),
            RecvTimeoutError::Closed => f.write_str("getting from a closed and empty queue"),
        }
    }
}

impl Error for RecvTimeoutError {}

impl From<RecvError> for RecvTimeoutError {
    fn from(_: RecvError) -> RecvTimeoutError {
        RecvTimeoutError::Closed
    }
}
