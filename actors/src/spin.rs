//! [`SpinLock`]: the mailbox's lock.
//!
//! Every critical section under it is a handful of instructions that never
//! switch green threads and never run user code (push a message, swap two
//! buffers, flip a flag), so a spin lock beats a parking mutex here:
//! acquiring is one atomic swap, releasing a plain store — one atomic
//! read-modify-write per lock instead of parking_lot's two, on the hottest
//! path of every message.
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
pub(crate) struct SpinLock<T> {
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
pub(crate) struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> SpinLock<T> {
    pub(crate) const fn new(value: T) -> SpinLock<T> {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Acquires the lock, spinning (then yielding) while it is held.
    #[inline]
    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
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
