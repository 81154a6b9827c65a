//! [`SpinLock`]: the lock of grove's hottest wait lists — a socket's
//! readiness waiters, a `Queue`, an actor's mailbox.
//!
//! Every critical section under it is a handful of instructions that never
//! switch green threads and never run user code (push a message, swap two
//! buffers, flip a flag, take a waiter), so a spin lock beats a parking
//! mutex there: acquiring is one atomic compare-exchange, releasing a plain
//! store — one atomic read-modify-write per lock instead of parking_lot's
//! two, on the path of every message and every socket wait.
//!
//! It is exported (hidden) for grove's own crates only: holding it across
//! a switch point would deadlock a worker, so it is not a user API.
//!
//! A green thread cannot be suspended while it holds the lock (nothing
//! under it is a switch point), so a spinner never waits for a green
//! thread of its own worker. It may wait for another OS thread that the
//! kernel preempted inside the section: after a short spin it yields the
//! OS thread, so that holder gets to run.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

/// A test-and-test-and-set spin lock for very short critical sections.
///
/// `repr(C)`, the lock byte first: a container can then place it next to
/// the fields it keeps hot outside the lock (grove-actors' mailbox does).
#[repr(C)]
pub struct SpinLock<T> {
    /// Whether someone holds it.
    locked: AtomicBool,
    /// The protected value.
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out `&mut T` to one holder at a time (the swap in
// `lock` is the mutual exclusion), so sharing the lock across threads is
// sharing a `T` behind a mutex: sound when `T: Send`.
unsafe impl<T: Send> Sync for SpinLock<T> {}
// SAFETY: as above; the lock owns its `T`.
unsafe impl<T: Send> Send for SpinLock<T> {}

/// Holds a [`SpinLock`]; releases it when dropped.
pub struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> SpinLock<T> {
    /// An unlocked lock around `value`.
    pub const fn new(value: T) -> SpinLock<T> {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Acquires the lock, spinning (then yielding) while it is held.
    #[inline]
    pub fn lock(&self) -> SpinGuard<'_, T> {
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        SpinGuard { lock: self }
    }

    #[cold]
    fn lock_contended(&self) {
        let mut spins = 0u32;
        loop {
            // Wait until it looks free before trying again (no cache-line
            // ping-pong while someone holds it).
            while self.locked.load(Ordering::Relaxed) {
                if spins < 64 {
                    std::hint::spin_loop();
                    spins += 1;
                } else {
                    std::thread::yield_now();
                }
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard's existence means this thread holds the lock,
        // so no other reference to the value exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only borrow.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

impl<T> std::fmt::Debug for SpinLock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpinLock")
            .field("locked", &self.locked.load(Ordering::Relaxed))
            .finish()
    }
}

impl<T> std::fmt::Debug for SpinGuard<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpinGuard")
    }
}

impl<T: Default> Default for SpinLock<T> {
    fn default() -> SpinLock<T> {
        SpinLock::new(T::default())
    }
}
