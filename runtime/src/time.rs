//! Time: `sleep`, `yield_now` and `timeout`.
//!
//! `timeout` pushes a frame (an id and a deadline) onto the calling
//! context's timeout stack. Every park of that context then wakes no later
//! than the earliest frame's deadline, and every switch point unwinds with
//! the id of the outermost expired frame; the `timeout` call that owns that
//! id catches the unwind and returns [`Elapsed`]. Frames are popped on the
//! way out, whether by return or unwind, so nested timeouts compose: an
//! inner `timeout` that sees an outer one's unwind passes it on.

use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::park::{self, park, with_timeouts, ElapsedPayload, WaitKind};
use crate::task::TimeoutFrame;

/// Suspends the calling green thread for `dur` (gevent's `sleep`); parks a
/// plain OS thread. A zero duration is [`yield_now`].
///
/// ```
/// use std::time::{Duration, Instant};
/// let t = Instant::now();
/// grove_runtime::spawn(|| grove_runtime::sleep(Duration::from_millis(5))).join().unwrap();
/// assert!(t.elapsed() >= Duration::from_millis(5));
/// ```
pub fn sleep(dur: Duration) {
    if dur.is_zero() {
        return yield_now();
    }
    match Instant::now().checked_add(dur) {
        Some(deadline) => sleep_until(deadline),
        None => loop {
            park(WaitKind::Sleep, None);
        },
    }
}

/// Suspends until `deadline`.
///
/// ```
/// use std::time::{Duration, Instant};
/// let d = Instant::now() + Duration::from_millis(2);
/// grove_runtime::sleep_until(d);
/// assert!(Instant::now() >= d);
/// ```
pub fn sleep_until(deadline: Instant) {
    while Instant::now() < deadline {
        park(WaitKind::Sleep, Some(deadline));
    }
}

/// Lets every other green thread runnable on this worker at this moment
/// run, then continues (gevent's `sleep(0)`): the woken ones and the ones
/// spawned and not yet started, in the order they became runnable. A
/// switch point: a pending kill or expired timeout unwinds here. On a
/// plain OS thread it yields the OS thread.
///
/// ```
/// grove_runtime::yield_now();
/// ```
pub fn yield_now() {
    park::yield_now()
}

/// The error of a [`timeout`] whose time ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, "deadline has elapsed")
    }
}

/// Runs `f`, interrupting it if it is still running after `dur`
/// (gevent's `Timeout`).
///
/// The interruption happens at a switch point: whatever blocking grove call
/// `f` is in (sleep, join, queue, lock, socket I/O...) unwinds, running the
/// destructors on the way, and `timeout` returns `Err(Elapsed)`. Works in a
/// green thread and on a plain OS thread.
///
/// `timeout` cannot interrupt code that never reaches a switch point (a
/// busy loop, a blocking system call made outside grove); such code holds
/// its worker, and the runtime's `max_blocking_time` watchdog is how to
/// find it. Do not catch all panics inside `f` with `catch_unwind` without
/// re-raising what you did not expect: that would swallow the interruption
/// (it is raised again at the next switch point).
///
/// ```
/// use std::time::Duration;
/// let r = grove_runtime::timeout(Duration::from_millis(20), || grove_runtime::sleep(Duration::from_secs(5)));
/// assert!(r.is_err());
/// assert_eq!(grove_runtime::timeout(Duration::from_secs(5), || 1).unwrap(), 1);
/// ```
pub fn timeout<F, T>(dur: Duration, f: F) -> Result<T, Elapsed>
where
    F: FnOnce() -> T,
{
    let Some(deadline) = Instant::now().checked_add(dur) else {
        return Ok(f());
    };
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    with_timeouts(|frames| frames.push(TimeoutFrame { id, deadline }));
    let result = catch_unwind(AssertUnwindSafe(f));
    with_timeouts(|frames| {
        if let Some(pos) = frames.iter().rposition(|fr| fr.id == id) {
            frames.remove(pos);
        }
    });
    match result {
        Ok(v) => Ok(v),
        Err(payload) => match payload.downcast_ref::<ElapsedPayload>() {
            Some(ElapsedPayload(pid)) if *pid == id => Err(Elapsed(())),
            _ => resume_unwind(payload),
        },
    }
}
