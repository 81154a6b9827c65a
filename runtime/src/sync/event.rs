//! [`Event`]: a flag that green threads and OS threads can wait for
//! (gevent's `Event`).
//!
//! State: the flag (an atomic, so `is_set` and the fast path of `wait` take
//! no lock), and behind a lock a *generation* counter bumped by every `set`
//! that turns the flag on, plus the wait list. `set` wakes every waiter.
//!
//! A waiter returns once the flag is set **or** the generation moved past
//! the one it saw when it started waiting: so `set(); clear();` in quick
//! succession still releases everyone who was waiting at the `set`, as
//! Python's `threading.Event` does. Wake-all needs no hand-over on kill: a
//! waiter that unwinds only forgets its own entry.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::waiters::{deadline_in, expired, park_or, WaitList, WaiterId};
use crate::park::WaitKind;

/// A flag to wait for, shared by cloning (gevent's `gevent.event.Event`).
///
/// Cloning an `Event` gives another handle to the same flag (it is an `Arc`
/// inside), so a clone can be moved into each green thread.
///
/// ```
/// use grove_runtime::sync::Event;
///
/// let ready = Event::new();
/// let h = grove_runtime::spawn({
///     let ready = ready.clone();
///     move || { ready.wait(); "go" }
/// });
/// ready.set();
/// assert_eq!(h.join().unwrap(), "go");
/// ```
#[derive(Clone)]
pub struct Event {
    /// The shared state.
    inner: Arc<Inner>,
}

/// What every handle of one event shares.
struct Inner {
    /// The flag; written only under `state`'s lock.
    flag: AtomicBool,
    /// Generation and waiters.
    state: Mutex<State>,
}

/// The locked part of an event.
struct State {
    /// Bumped by every `set` that turns the flag on.
    generation: u64,
    /// Contexts blocked in `wait`.
    waiters: WaitList,
}

impl Event {
    /// A new event, not set.
    ///
    /// ```
    /// let e = grove_runtime::sync::Event::new();
    /// assert!(!e.is_set());
    /// ```
    pub fn new() -> Event {
        Event {
            inner: Arc::new(Inner {
                flag: AtomicBool::new(false),
                state: Mutex::new(State {
                    generation: 0,
                    waiters: WaitList::new(),
                }),
            }),
        }
    }

    /// Sets the flag and wakes every waiter. Does nothing if already set.
    ///
    /// ```
    /// let e = grove_runtime::sync::Event::new();
    /// e.set();
    /// assert!(e.is_set());
    /// e.wait(); // returns at once
    /// ```
    pub fn set(&self) {
        if self.inner.flag.load(Ordering::Acquire) {
            return;
        }
        let mut st = self.inner.state.lock();
        if self.inner.flag.load(Ordering::Relaxed) {
            return;
        }
        self.inner.flag.store(true, Ordering::Release);
        st.generation = st.generation.wrapping_add(1);
        st.waiters.wake_all();
    }

    /// Clears the flag: later calls to `wait` block until the next `set`.
    /// Waiters already released by an earlier `set` are not affected.
    ///
    /// ```
    /// let e = grove_runtime::sync::Event::new();
    /// e.set();
    /// e.clear();
    /// assert!(!e.is_set());
    /// ```
    pub fn clear(&self) {
        let _st = self.inner.state.lock();
        self.inner.flag.store(false, Ordering::Release);
    }

    /// Whether the flag is set.
    ///
    /// ```
    /// let e = grove_runtime::sync::Event::new();
    /// assert!(!e.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.inner.flag.load(Ordering::Acquire)
    }

    /// Blocks until the flag is set: suspends a green thread, parks a plain
    /// OS thread. Returns at once if it is set already.
    ///
    /// A switch point: a kill or an expired `grove::timeout` unwinds here.
    ///
    /// ```
    /// use grove_runtime::sync::Event;
    /// let e = Event::new();
    /// let setter = grove_runtime::spawn({ let e = e.clone(); move || e.set() });
    /// e.wait();
    /// setter.join().unwrap();
    /// ```
    pub fn wait(&self) {
        self.wait_deadline(None);
    }

    /// Like [`wait`](Event::wait), but gives up after `timeout`; returns
    /// whether the flag was set.
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = grove_runtime::sync::Event::new();
    /// assert!(!e.wait_timeout(Duration::from_millis(5)));
    /// e.set();
    /// assert!(e.wait_timeout(Duration::from_millis(5)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_deadline(deadline_in(timeout))
    }

    /// The engine of `wait` and `wait_timeout`.
    fn wait_deadline(&self, deadline: Option<Instant>) -> bool {
        if self.inner.flag.load(Ordering::Acquire) {
            return true;
        }
        let mut st = self.inner.state.lock();
        let seen = st.generation;
        let mut id: Option<WaiterId> = None;
        loop {
            if self.inner.flag.load(Ordering::Acquire) || st.generation != seen {
                if let Some(id) = id {
                    st.waiters.remove(id);
                }
                return true;
            }
            if expired(deadline) {
                if let Some(id) = id {
                    st.waiters.remove(id);
                }
                return false;
            }
            let me = match id {
                Some(i) if st.waiters.contains(i) => i,
                _ => st.waiters.push_current(),
            };
            id = Some(me);
            drop(st);
            park_or(WaitKind::Event, deadline, || {
                self.inner.state.lock().waiters.remove(me);
            });
            st = self.inner.state.lock();
        }
    }
}

impl Default for Event {
    fn default() -> Event {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .field("waiters", &self.inner.state.lock().waiters.len())
            .finish()
    }
}
