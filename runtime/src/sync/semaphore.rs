//! [`Semaphore`]: counted permits with FIFO hand-over (gevent's
//! `Semaphore`).
//!
//! State, behind one lock: the free permit count and the wait list.
//!
//! Invariant: **if anyone waits, no permit is free.** A release with
//! waiters does not add to the count; it pops the oldest waiter and hands
//! the permit to it directly (its entry being gone *is* the permit). So a
//! newcomer never barges past a waiter, and `try_acquire` fails while
//! anyone waits.
//!
//! A waiter that leaves after it was handed a permit (kill, `grove::timeout`)
//! releases that permit, which hands it on to the next waiter. A `_timeout`
//! waiter that is handed a permit at its deadline keeps it.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::waiters::{deadline_in, expired, park_or, WaitList, WaiterId};
use crate::park::WaitKind;

/// A counting semaphore whose waiters are served first come, first served
/// (gevent's `gevent.lock.Semaphore`).
///
/// A permit is a guard: dropping it releases the permit. To share a
/// semaphore, put it in an `Arc` (or a `static`); [`acquire_owned`]
/// gives a permit that holds the `Arc` and can move into a green thread.
///
/// [`acquire_owned`]: Semaphore::acquire_owned
///
/// ```
/// use std::sync::Arc;
/// use grove_runtime::sync::Semaphore;
///
/// let sem = Arc::new(Semaphore::new(2)); // at most two at a time
/// let hs: Vec<_> = (0..6)
///     .map(|i| grove_runtime::spawn({
///         let sem = sem.clone();
///         move || {
///             let _permit = sem.acquire();
///             i * 10
///         }
///     }))
///     .collect();
/// let sum: i32 = hs.into_iter().map(|h| h.join().unwrap()).sum();
/// assert_eq!(sum, 150);
/// assert_eq!(sem.available(), 2);
/// ```
pub struct Semaphore {
    /// Free permits and waiters.
    state: Mutex<State>,
}

/// The locked part of a semaphore.
struct State {
    /// Free permits; zero while anyone waits.
    permits: usize,
    /// Contexts blocked in `acquire`, oldest first.
    waiters: WaitList,
}

impl Semaphore {
    /// A semaphore with `permits` free permits.
    ///
    /// ```
    /// let s = grove_runtime::sync::Semaphore::new(3);
    /// assert_eq!(s.available(), 3);
    /// ```
    pub const fn new(permits: usize) -> Semaphore {
        Semaphore {
            state: Mutex::new(State {
                permits,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Takes a permit, blocking until one is free (suspends a green
    /// thread, parks an OS thread). Waiters are served in arrival order.
    /// A switch point when it waits: kill and `grove::timeout` unwind here.
    ///
    /// ```
    /// let s = grove_runtime::sync::Semaphore::new(1);
    /// let p = s.acquire();
    /// assert_eq!(s.available(), 0);
    /// drop(p);
    /// assert_eq!(s.available(), 1);
    /// ```
    pub fn acquire(&self) -> SemaphorePermit<'_> {
        self.acquire_deadline(None);
        SemaphorePermit { sem: self }
    }

    /// Takes a permit if one is free now (and nobody waits for one).
    ///
    /// ```
    /// let s = grove_runtime::sync::Semaphore::new(1);
    /// let p = s.try_acquire().unwrap();
    /// assert!(s.try_acquire().is_none());
    /// # drop(p);
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        // Not `then_some`: a permit made eagerly would release on drop.
        if self.try_take() {
            Some(SemaphorePermit { sem: self })
        } else {
            None
        }
    }

    /// Like [`acquire`](Semaphore::acquire), but gives up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = grove_runtime::sync::Semaphore::new(1);
    /// let _p = s.acquire();
    /// assert!(s.acquire_timeout(Duration::from_millis(5)).is_none());
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<SemaphorePermit<'_>> {
        if self.acquire_deadline(deadline_in(timeout)) {
            Some(SemaphorePermit { sem: self })
        } else {
            None
        }
    }

    /// Like [`acquire`](Semaphore::acquire), for a semaphore in an `Arc`:
    /// the permit holds a clone of the `Arc`, so it can outlive the borrow
    /// and move into a green thread.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let s = Arc::new(grove_runtime::sync::Semaphore::new(1));
    /// let permit = s.acquire_owned();
    /// let h = grove_runtime::spawn(move || drop(permit));
    /// h.join().unwrap();
    /// assert_eq!(s.available(), 1);
    /// ```
    pub fn acquire_owned(self: &Arc<Self>) -> OwnedSemaphorePermit {
        self.acquire_deadline(None);
        OwnedSemaphorePermit {
            sem: Some(self.clone()),
        }
    }

    /// Like [`try_acquire`](Semaphore::try_acquire), giving an owned permit.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let s = Arc::new(grove_runtime::sync::Semaphore::new(1));
    /// let p = s.try_acquire_owned().unwrap();
    /// assert!(s.try_acquire_owned().is_none());
    /// # drop(p);
    /// ```
    pub fn try_acquire_owned(self: &Arc<Self>) -> Option<OwnedSemaphorePermit> {
        self.try_take().then(|| OwnedSemaphorePermit {
            sem: Some(self.clone()),
        })
    }

    /// The number of free permits now.
    ///
    /// ```
    /// let s = grove_runtime::sync::Semaphore::new(2);
    /// let _p = s.acquire();
    /// assert_eq!(s.available(), 1);
    /// ```
    pub fn available(&self) -> usize {
        self.state.lock().permits
    }

    /// Adds `n` permits (gevent's `release()` without a prior `acquire`),
    /// handing them to waiters first.
    ///
    /// # Panics
    ///
    /// If the count of free permits would overflow `usize`.
    ///
    /// ```
    /// let s = grove_runtime::sync::Semaphore::new(0);
    /// s.add_permits(2);
    /// assert_eq!(s.available(), 2);
    /// ```
    pub fn add_permits(&self, n: usize) {
        for _ in 0..n {
            self.release();
        }
    }

    /// Takes a free permit without waiting; true if it did.
    fn try_take(&self) -> bool {
        let mut st = self.state.lock();
        if st.permits > 0 {
            st.permits -= 1;
            true
        } else {
            false
        }
    }

    /// Takes a permit, waiting until `deadline`; true if it did.
    fn acquire_deadline(&self, deadline: Option<Instant>) -> bool {
        let mut st = self.state.lock();
        if st.permits > 0 {
            // The invariant: a free permit means nobody waits.
            st.permits -= 1;
            return true;
        }
        if expired(deadline) {
            return false;
        }
        let id = st.waiters.push_current();
        drop(st);
        loop {
            park_or(WaitKind::Semaphore, deadline, || self.abandon(id));
            let mut st = self.state.lock();
            if !st.waiters.contains(id) {
                // Popped by a release: the permit was handed to us.
                return true;
            }
            if expired(deadline) {
                st.waiters.remove(id);
                return false;
            }
        }
    }

    /// A waiter unwinds: forget its entry, or give back the permit it was
    /// handed.
    fn abandon(&self, id: WaiterId) {
        let listed = self.state.lock().waiters.remove(id);
        if !listed {
            self.release();
        }
    }

    /// Returns one permit: to the oldest waiter if any, else to the count.
    fn release(&self) {
        let mut st = self.state.lock();
        if !st.waiters.wake_one() {
            st.permits = st
                .permits
                .checked_add(1)
                .expect("grove: semaphore permit count overflow");
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.lock();
        f.debug_struct("Semaphore")
            .field("available", &st.permits)
            .field("waiters", &st.waiters.len())
            .finish()
    }
}

/// A permit of a [`Semaphore`]; dropping it releases the permit.
///
/// ```
/// let s = grove_runtime::sync::Semaphore::new(1);
/// {
///     let _permit = s.acquire();
///     assert_eq!(s.available(), 0);
/// }
/// assert_eq!(s.available(), 1);
/// ```
#[must_use = "the permit is released as soon as it is dropped"]
pub struct SemaphorePermit<'a> {
    /// The semaphore it came from.
    sem: &'a Semaphore,
}

impl SemaphorePermit<'_> {
    /// Keeps the permit taken for good: the semaphore has one permit less.
    ///
    /// ```
    /// let s = grove_runtime::sync::Semaphore::new(1);
    /// s.acquire().forget();
    /// assert_eq!(s.available(), 0);
    /// ```
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.release();
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit").finish_non_exhaustive()
    }
}

/// A permit of a [`Semaphore`] in an `Arc`, from
/// [`acquire_owned`](Semaphore::acquire_owned); dropping it releases the
/// permit.
///
/// ```
/// use std::sync::Arc;
/// let s = Arc::new(grove_runtime::sync::Semaphore::new(1));
/// let p = s.acquire_owned();
/// drop(p);
/// assert_eq!(s.available(), 1);
/// ```
#[must_use = "the permit is released as soon as it is dropped"]
pub struct OwnedSemaphorePermit {
    /// The semaphore it came from (`None` once forgotten).
    sem: Option<Arc<Semaphore>>,
}

impl OwnedSemaphorePermit {
    /// Keeps the permit taken for good: the semaphore has one permit less.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let s = Arc::new(grove_runtime::sync::Semaphore::new(1));
    /// s.acquire_owned().forget();
    /// assert_eq!(s.available(), 0);
    /// ```
    pub fn forget(mut self) {
        self.sem = None;
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        if let Some(sem) = self.sem.take() {
            sem.release();
        }
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .finish_non_exhaustive()
    }
}
