//! [`Mutex`]: mutual exclusion whose waiters suspend (gevent's `RLock`,
//! without re-entrance).
//!
//! # State
//!
//! ```text
//!   state (atomic)          waiters (parking_lot lock)
//!   UNLOCKED  ──lock (CAS, fast path, no list lock)──► LOCKED
//!   LOCKED    ──unlock (CAS, fast path)──────────────► UNLOCKED
//!   LOCKED    ──a contender, under the list lock─────► CONTENDED, then it
//!                                                      lists itself and parks
//!   CONTENDED ──unlock, under the list lock: pop the oldest waiter and hand
//!               it the lock (state stays locked: CONTENDED, or LOCKED if
//!               the list is now empty); with nobody listed ► UNLOCKED
//! ```
//!
//! Invariants: the state changes away from a locked value only by its
//! holder's unlock; contenders change it (LOCKED → CONTENDED) only under
//! the list lock; so **a non-empty list means CONTENDED**, the fast path
//! (which needs UNLOCKED) can never barge past a waiter, and waiters get the
//! lock in arrival order. A waiter's entry being gone *is* the lock: the
//! hand-over happens under the list lock, which the new holder takes (and
//! so synchronises with the old holder) before it touches the data.
//!
//! A waiter that unwinds (kill, `grove::timeout`) after it was handed the
//! lock unlocks it, which hands it on. The holder's unwind drops its guard,
//! which unlocks: there is no poisoning.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use super::waiters::{deadline_in, expired, park_or, WaitList, WaiterId};
use crate::park::WaitKind;

/// Nobody holds the lock.
const UNLOCKED: u8 = 0;
/// Held; nobody is listed.
const LOCKED: u8 = 1;
/// Held; someone may be listed (unlock must look).
const CONTENDED: u8 = 2;

/// A mutual-exclusion lock for data shared by green threads and OS threads;
/// a green thread that waits for it suspends (gevent's
/// `gevent.lock.RLock`, but not re-entrant).
///
/// * **Not re-entrant:** locking it again from the green thread (or OS
///   thread) that holds it waits forever, like `std::sync::Mutex`.
/// * **No poisoning:** a panic (or a kill, or an expired `grove::timeout`)
///   while holding it unwinds through the guard, which releases the lock;
///   the data is left as the unwinding code left it.
/// * **Fair:** waiters get the lock in arrival order; an uncontended lock
///   or unlock is one atomic compare-and-swap.
///
/// The guard may be held across switch points (sleep, I/O, another lock):
/// the green thread is pinned to its worker, and other green threads that
/// want the lock suspend meanwhile. Share the mutex with an `Arc`.
///
/// ```
/// use std::sync::Arc;
/// use grove_runtime::sync::Mutex;
///
/// let total = Arc::new(Mutex::new(0));
/// let hs: Vec<_> = (0..10)
///     .map(|i| grove_runtime::spawn({
///         let total = total.clone();
///         move || {
///             let mut t = total.lock();
///             grove_runtime::yield_now(); // others that want it suspend
///             *t += i;
///         }
///     }))
///     .collect();
/// for h in hs { h.join().unwrap(); }
/// assert_eq!(*total.lock(), 45);
/// ```
pub struct Mutex<T: ?Sized> {
    /// UNLOCKED, LOCKED or CONTENDED.
    state: AtomicU8,
    /// Contexts blocked in `lock`, oldest first.
    waiters: parking_lot::Mutex<WaitList>,
    /// The protected data.
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to `T` to one context at a time, so it
// may be shared between threads if `T` may be sent between them (as std's).
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: sending the mutex sends the `T` it owns.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new, unlocked mutex holding `value`.
    ///
    /// ```
    /// let m = grove_runtime::sync::Mutex::new(5);
    /// assert_eq!(*m.lock(), 5);
    /// ```
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            state: AtomicU8::new(UNLOCKED),
            waiters: parking_lot::Mutex::new(WaitList::new()),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex and returns the data.
    ///
    /// ```
    /// let m = grove_runtime::sync::Mutex::new(vec![1]);
    /// assert_eq!(m.into_inner(), vec![1]);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, blocking until it is free (suspends a green
    /// thread, parks an OS thread); the guard unlocks it when dropped.
    ///
    /// A switch point when it waits: kill and `grove::timeout` unwind here.
    /// Locking it again while holding it waits forever.
    ///
    /// ```
    /// let m = grove_runtime::sync::Mutex::new(String::new());
    /// m.lock().push_str("hi");
    /// assert_eq!(*m.lock(), "hi");
    /// ```
    pub fn lock(&self) -> MutexGuard<'_, T> {
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_slow(None);
        }
        MutexGuard::new(self)
    }

    /// Locks the mutex if it is free now.
    ///
    /// ```
    /// let m = grove_runtime::sync::Mutex::new(());
    /// let g = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_none());
    /// drop(g);
    /// assert!(m.try_lock().is_some());
    /// ```
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| MutexGuard::new(self))
    }

    /// Like [`lock`](Mutex::lock), but gives up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let m = grove_runtime::sync::Mutex::new(0);
    /// let _g = m.lock();
    /// assert!(m.lock_timeout(Duration::from_millis(5)).is_none());
    /// ```
    pub fn lock_timeout(&self, timeout: Duration) -> Option<MutexGuard<'_, T>> {
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
            || self.lock_slow(deadline_in(timeout))
        {
            Some(MutexGuard::new(self))
        } else {
            None
        }
    }

    /// A mutable reference to the data; no locking needed, since the
    /// borrow proves nobody else can reach it.
    ///
    /// ```
    /// let mut m = grove_runtime::sync::Mutex::new(1);
    /// *m.get_mut() += 1;
    /// assert_eq!(m.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// The slow path of locking: list ourselves and wait for the hand-over,
    /// until `deadline`. True if we hold the lock.
    #[cold]
    fn lock_slow(&self, deadline: Option<Instant>) -> bool {
        let mut list = self.waiters.lock();
        loop {
            match self.state.load(Ordering::Relaxed) {
                UNLOCKED => {
                    if self
                        .state
                        .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok()
                    {
                        return true;
                    }
                }
                LOCKED => {
                    if self
                        .state
                        .compare_exchange(LOCKED, CONTENDED, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                    {
                        break;
                    }
                }
                _ => break,
            }
        }
        if expired(deadline) {
            // CONTENDED with nobody listed is harmless: unlock looks, finds
            // nobody and unlocks.
            return false;
        }
        let id = list.push_current();
        drop(list);
        loop {
            park_or(WaitKind::Lock, deadline, || self.abandon(id));
            let mut list = self.waiters.lock();
            if !list.contains(id) {
                // Handed over by an unlock.
                return true;
            }
            if expired(deadline) {
                list.remove(id);
                return false;
            }
        }
    }

    /// A waiter unwinds: forget its entry, or pass on the lock it was
    /// handed.
    fn abandon(&self, id: WaiterId) {
        let mut list = self.waiters.lock();
        if !list.remove(id) {
            self.hand_over(list);
        }
    }

    /// Unlocks (called by the holder's guard).
    #[inline]
    fn unlock(&self) {
        if self
            .state
            .compare_exchange(LOCKED, UNLOCKED, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.hand_over(self.waiters.lock());
        }
    }

    /// Unlocks a CONTENDED lock: hands it to the oldest waiter, or frees it
    /// if nobody is listed. Called by the holder with the list locked.
    #[cold]
    fn hand_over(&self, mut list: parking_lot::MutexGuard<'_, WaitList>) {
        if list.len() == 1 {
            self.state.store(LOCKED, Ordering::Relaxed);
        }
        if !list.wake_one() {
            self.state.store(UNLOCKED, Ordering::Release);
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.field("waiters", &self.waiters.lock().len()).finish()
    }
}

/// Access to the data of a locked [`Mutex`]; dropping it unlocks.
///
/// # Send
///
/// The guard is deliberately not `Send`, as std's: it belongs to the
/// context that locked. Holding it across a switch point is fine (a green
/// thread never changes OS thread); moving it to another thread is not:
///
/// ```compile_fail
/// static M: grove_runtime::sync::Mutex<i32> = grove_runtime::sync::Mutex::new(0);
/// fn send_it<T: Send + 'static>(_: T) {}
/// send_it(M.lock()); // error: `*const ()` cannot be sent between threads safely
/// ```
///
/// ```
/// let m = grove_runtime::sync::Mutex::new(vec![1, 2]);
/// let mut g = m.lock();
/// g.push(3);
/// assert_eq!(g.len(), 3);
/// ```
#[must_use = "the mutex is unlocked as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    /// The locked mutex.
    lock: &'a Mutex<T>,
    /// Makes the guard `!Send` (and `!Sync`, restored below for `T: Sync`).
    _not_send: PhantomData<*const ()>,
}

// SAFETY: sharing `&MutexGuard` only gives `&T`, which is fine across
// threads when `T: Sync` (as std's guard).
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The guard of a lock the caller now holds.
    fn new(lock: &'a Mutex<T>) -> MutexGuard<'a, T> {
        MutexGuard {
            lock,
            _not_send: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while its context holds the lock, so
        // no other reference to the data is live outside this guard's
        // borrows.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this borrow exclusive.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
