//! [`AsyncResult`]: a value set once that any number of contexts wait for
//! (gevent's `AsyncResult`).
//!
//! State: behind one lock, the value (`None` until set) and the wait list;
//! an atomic `ready` flag mirrors "the value is there" so `is_ready` and the
//! fast path of `get` skip the wait list. `set` stores the value and wakes
//! every waiter; each waiter then clones the value under the lock. The value
//! never changes once set, so a waiter that unwinds only forgets its own
//! entry: there is nothing to hand on.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::waiters::{deadline_in, expired, park_or, WaitList, WaiterId};
use crate::park::WaitKind;

/// A value that is set once and read by any number of waiters (gevent's
/// `gevent.event.AsyncResult`); a one-shot broadcast.
///
/// Cloning gives another handle to the same slot (an `Arc` inside). To
/// carry a failure, as gevent's `set_exception` does, use
/// `AsyncResult<Result<T, E>>`.
///
/// ```
/// use grove_runtime::sync::AsyncResult;
///
/// let r = AsyncResult::new();
/// let readers: Vec<_> = (0..3)
///     .map(|_| grove_runtime::spawn({ let r = r.clone(); move || r.get() }))
///     .collect();
/// r.set(String::from("answer")).unwrap();
/// for h in readers {
///     assert_eq!(h.join().unwrap(), "answer");
/// }
/// ```
pub struct AsyncResult<T> {
    /// The shared slot.
    inner: Arc<Inner<T>>,
}

/// What every handle of one result shares.
struct Inner<T> {
    /// Whether the value is set; written only under `state`'s lock.
    ready: AtomicBool,
    /// The value and the waiters.
    state: Mutex<State<T>>,
}

/// The locked part.
struct State<T> {
    /// The value, once set.
    value: Option<T>,
    /// Contexts blocked waiting for it.
    waiters: WaitList,
}

impl<T> AsyncResult<T> {
    /// A new, empty result.
    ///
    /// ```
    /// let r = grove_runtime::sync::AsyncResult::<u8>::new();
    /// assert!(!r.is_ready());
    /// ```
    pub fn new() -> AsyncResult<T> {
        AsyncResult {
            inner: Arc::new(Inner {
                ready: AtomicBool::new(false),
                state: Mutex::new(State {
                    value: None,
                    waiters: WaitList::new(),
                }),
            }),
        }
    }

    /// Sets the value and wakes every waiter.
    ///
    /// The value is set once: a second `set` changes nothing and returns
    /// its argument as `Err`.
    ///
    /// ```
    /// let r = grove_runtime::sync::AsyncResult::new();
    /// assert_eq!(r.set(1), Ok(()));
    /// assert_eq!(r.set(2), Err(2));
    /// assert_eq!(r.get(), 1);
    /// ```
    pub fn set(&self, value: T) -> Result<(), T> {
        let mut st = self.inner.state.lock();
        if st.value.is_some() {
            return Err(value);
        }
        st.value = Some(value);
        self.inner.ready.store(true, Ordering::Release);
        st.waiters.wake_all();
        Ok(())
    }

    /// Whether the value is set.
    ///
    /// ```
    /// let r = grove_runtime::sync::AsyncResult::new();
    /// r.set(()).unwrap();
    /// assert!(r.is_ready());
    /// ```
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Acquire)
    }

    /// Blocks until the value is set, without reading it (for a `T` that
    /// is not `Clone`). Suspends a green thread, parks a plain OS thread.
    ///
    /// ```
    /// use grove_runtime::sync::AsyncResult;
    /// let r = AsyncResult::new();
    /// grove_runtime::spawn({ let r = r.clone(); move || r.set(vec![1]).unwrap() });
    /// r.wait();
    /// assert!(r.is_ready());
    /// ```
    pub fn wait(&self) {
        self.wait_deadline(None);
    }

    /// Like [`wait`](AsyncResult::wait), but gives up after `timeout`;
    /// returns whether the value is set.
    ///
    /// ```
    /// use std::time::Duration;
    /// let r = grove_runtime::sync::AsyncResult::<()>::new();
    /// assert!(!r.wait_timeout(Duration::from_millis(5)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_deadline(deadline_in(timeout)).is_some()
    }

    /// Waits until the value is set or `deadline` passes; returns the
    /// locked state when it is set.
    fn wait_deadline(
        &self,
        deadline: Option<Instant>,
    ) -> Option<parking_lot::MutexGuard<'_, State<T>>> {
        let mut st = self.inner.state.lock();
        let mut id: Option<WaiterId> = None;
        loop {
            if st.value.is_some() {
                if let Some(id) = id {
                    st.waiters.remove(id);
                }
                return Some(st);
            }
            if expired(deadline) {
                if let Some(id) = id {
                    st.waiters.remove(id);
                }
                return None;
            }
            let me = match id {
                Some(i) if st.waiters.contains(i) => i,
                _ => st.waiters.push_current(),
            };
            id = Some(me);
            drop(st);
            park_or(WaitKind::AsyncResult, deadline, || {
                self.inner.state.lock().waiters.remove(me);
            });
            st = self.inner.state.lock();
        }
    }
}

impl<T: Clone> AsyncResult<T> {
    /// Blocks until the value is set, then returns a clone of it (every
    /// waiter gets its own). Suspends a green thread, parks a plain OS
    /// thread; a switch point (kill and `grove::timeout` unwind here).
    ///
    /// ```
    /// use grove_runtime::sync::AsyncResult;
    /// let r = AsyncResult::new();
    /// grove_runtime::spawn({ let r = r.clone(); move || r.set(42).unwrap() });
    /// assert_eq!(r.get(), 42);
    /// ```
    pub fn get(&self) -> T {
        match self.try_get() {
            Some(v) => v,
            None => self
                .wait_deadline(None)
                .and_then(|st| st.value.clone())
                .expect("set"),
        }
    }

    /// Like [`get`](AsyncResult::get), but gives up after `timeout`
    /// (`None`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let r = grove_runtime::sync::AsyncResult::new();
    /// assert_eq!(r.get_timeout(Duration::from_millis(5)), None);
    /// r.set('x').unwrap();
    /// assert_eq!(r.get_timeout(Duration::from_millis(5)), Some('x'));
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Option<T> {
        self.try_get().or_else(|| {
            self.wait_deadline(deadline_in(timeout))
                .and_then(|st| st.value.clone())
        })
    }

    /// The value if it is set, without waiting.
    ///
    /// ```
    /// let r = grove_runtime::sync::AsyncResult::new();
    /// assert_eq!(r.try_get(), None);
    /// r.set(3).unwrap();
    /// assert_eq!(r.try_get(), Some(3));
    /// ```
    pub fn try_get(&self) -> Option<T> {
        if !self.is_ready() {
            return None;
        }
        self.inner.state.lock().value.clone()
    }
}

impl<T> Clone for AsyncResult<T> {
    fn clone(&self) -> AsyncResult<T> {
        AsyncResult {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Default for AsyncResult<T> {
    fn default() -> AsyncResult<T> {
        AsyncResult::new()
    }
}

impl<T> fmt::Debug for AsyncResult<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncResult")
            .field("ready", &self.is_ready())
            .field("waiters", &self.inner.state.lock().waiters.len())
            .finish_non_exhaustive()
    }
}
