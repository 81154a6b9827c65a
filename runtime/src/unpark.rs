//! `park` and [`Unparker`]: `std::thread::park`'s token protocol, for
//! green threads and plain OS threads alike.
//!
//! This is the low-level wait every grove primitive is built from, made
//! public so that other crates (grove-actors' mailboxes, user-written
//! channels) can build their own:
//!
//! ```text
//!   waiter                                   waker (any thread)
//!   ──────                                   ──────────────────
//!   lock; condition holds? ─yes─► return     lock; make condition true
//!   store current().unparker() (once)        take the waiter's Unparker
//!   unlock                                   unlock
//!   park()  ◄─────────────────────────────── unparker.unpark()
//!   loop (re-check the condition)
//! ```
//!
//! Each context has one wake token. `unpark` sets it (and wakes the
//! context if it is parked); `park` consumes it, returning at once if it
//! was already set. So an `unpark` that races ahead of the `park` is never
//! lost. `park` may also return spuriously (a token left by an earlier
//! wait, a kill, a timeout): callers always re-check their condition in a
//! loop, as with `std::thread::park`.

use std::fmt;
use std::time::{Duration, Instant};

use crate::park::{self as parking, current_waker, WaitKind, Waker};

/// Blocks the calling green thread (or OS thread) until its
/// [`Unparker`] is used, or returns at once if it was used since the last
/// `park` (`std::thread::park` for green threads).
///
/// May return spuriously: re-check the condition you wait for. A switch
/// point: a kill or an expired `grove::timeout` unwinds here.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
///
/// let flag = Arc::new(AtomicBool::new(false));
/// let (tx, rx) = std::sync::mpsc::channel();
/// let h = grove_runtime::spawn({
///     let flag = flag.clone();
///     move || {
///         tx.send(grove_runtime::current().unparker()).unwrap();
///         while !flag.load(Ordering::Acquire) {
///             grove_runtime::park();
///         }
///     }
/// });
/// let unparker = rx.recv().unwrap();
/// flag.store(true, Ordering::Release);
/// unparker.unpark();
/// h.join().unwrap();
/// ```
#[inline]
pub fn park() {
    parking::park(WaitKind::Other, None);
}

/// Like [`park`], but returns after `dur` at the latest.
///
/// ```
/// use std::time::Duration;
/// // Nobody unparks it: it returns after 5 ms (or earlier, spuriously).
/// grove_runtime::spawn(|| grove_runtime::park_timeout(Duration::from_millis(5))).join().unwrap();
/// ```
pub fn park_timeout(dur: Duration) {
    parking::park(WaitKind::Other, Instant::now().checked_add(dur));
}

/// Like [`park`], but returns at `deadline` at the latest.
///
/// ```
/// use std::time::{Duration, Instant};
/// grove_runtime::park_deadline(Instant::now() + Duration::from_millis(1));
/// ```
pub fn park_deadline(deadline: Instant) {
    parking::park(WaitKind::Other, Some(deadline));
}

/// Wakes one green thread (or OS thread) from [`park`]: `std::thread::Thread::unpark`.
///
/// Made by [`GreenThread::unparker`](crate::GreenThread::unparker); cheap to
/// clone, `Send` and `Sync`.
///
/// ```
/// let u = grove_runtime::current().unparker();
/// u.unpark();            // sets the token...
/// grove_runtime::park(); // ...so this returns at once
/// ```
#[derive(Clone)]
pub struct Unparker {
    /// The context it wakes.
    waker: Waker,
}

impl Unparker {
    /// The unparker of the calling context.
    pub(crate) fn current() -> Unparker {
        Unparker {
            waker: current_waker(),
        }
    }

    /// Sets the context's wake token and wakes it if it is parked. Any
    /// thread; a no-op once the green thread has ended.
    ///
    /// ```
    /// let u = grove_runtime::current().unparker();
    /// std::thread::spawn(move || u.unpark()).join().unwrap();
    /// grove_runtime::park();
    /// ```
    #[inline]
    pub fn unpark(&self) {
        self.waker.wake_by_ref();
    }

    /// Whether both wake the same context.
    ///
    /// ```
    /// let a = grove_runtime::current().unparker();
    /// let b = grove_runtime::current().unparker();
    /// assert!(a.same(&b));
    /// ```
    pub fn same(&self, other: &Unparker) -> bool {
        self.waker.same(&other.waker)
    }
}

impl fmt::Debug for Unparker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.waker {
            Waker::Green(t) => format!("green thread {}", t.get().id),
            Waker::Os(_) => "OS thread".to_string(),
        };
        f.debug_tuple("Unparker").field(&kind).finish()
    }
}
