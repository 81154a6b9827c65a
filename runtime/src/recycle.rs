//! Where a finished green thread's memory goes: the worker it ran on
//! keeps it, and the next task that worker makes (`pending`) reuses it.
//!
//! ```text
//!   worker A: pending dequeued ──► Task made (Recycler::reuse) ──► runs ──► ends
//!                                         ▲                                 │
//!                                         └──── A's cache ◄── Recycler::bury ┘
//! ```
//!
//! Go keeps dead goroutines on per-P free lists for the same reason. Freed
//! through malloc, a task goes through glibc's bins (a fifth of a spawn's
//! time in an early profile), and the next task touches fresh memory
//! instead of memory just used. A task is made by the worker that starts
//! it, so it ends where its memory came from, and nothing travels between
//! workers here. The one exception is an actor's task, made at spawn
//! (`Pending::premake`) and stolen by another worker before it started:
//! its memory then stays with the worker it ended on, and is freed into
//! the spawner's malloc arena only when that cache lets it go.
//!
//! # Invariants
//!
//! * Only a task whose last reference this is, with no `Weak` left
//!   ([`Arc::get_mut`] succeeds), is kept: nothing can reach it again.
//!   The packet's `Weak` is dropped when the outcome is stored, before
//!   the task finishes.
//! * A kept task's contents are dropped only when its memory is reused
//!   ([`Task::new`](crate::task::Task) does that) or the cache lets it go
//!   (then by `Arc`'s own drop), on its worker's thread, so a `!Send`
//!   body is dropped on its own thread.
//! * No `RefCell` borrow is held while a task is dropped: its contents may
//!   run user code (an outcome left in a detached packet) that spawns.
//! * The cache is bounded ([`CACHE_MAX`] tasks) and dropped with its
//!   worker, so it never keeps the runtime's `Shared` alive after the
//!   worker stops.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;

use crate::task::TaskRef;

/// Dead tasks a worker keeps for reuse, at most (~100 KiB).
const CACHE_MAX: usize = 512;

/// How far from the newest a reuse looks for a task of the right size.
const SEARCH: usize = 4;

/// One worker's cache of dead tasks. Touched only on the worker's thread,
/// never across a resume.
#[derive(Default)]
pub(crate) struct Recycler {
    /// Dead tasks that ran here, newest last.
    cache: RefCell<VecDeque<TaskRef>>,
}

impl Recycler {
    /// Lets go of a task that finished on this worker: kept for reuse if
    /// nothing else holds it, else dropped.
    pub(crate) fn bury(&self, mut t: TaskRef) {
        if Arc::get_mut(&mut t).is_none() {
            return;
        }
        let oldest = {
            let mut cache = self.cache.borrow_mut();
            cache.push_back(t);
            (cache.len() > CACHE_MAX).then(|| cache.pop_front())
        };
        // Dropped outside the borrow: its contents may run user code (the
        // outcome left in a detached packet) that spawns.
        drop(oldest);
    }

    /// A dead task whose memory fits a `Task<B>`, if one is at hand.
    #[inline]
    pub(crate) fn reuse<B>(&self) -> Option<TaskRef> {
        let mut cache = self.cache.borrow_mut();
        let n = cache.len();
        let i = (n.saturating_sub(SEARCH)..n)
            .rev()
            .find(|&i| cache[i].fits::<B>())?;
        cache.swap_remove_back(i)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use crate::Runtime;

    /// Where the running green thread's task lives.
    fn task_addr() -> usize {
        crate::park::current_task().map_or(0, |t| t as *const _ as *const u8 as usize)
    }

    #[test]
    fn a_finished_task_s_memory_serves_the_next_spawn() {
        let rt = Runtime::builder().workers(1).build().unwrap();
        rt.block_on(|| {
            let first = crate::spawn(task_addr).join().unwrap();
            assert_ne!(first, 0);
            let second = crate::spawn(task_addr).join().unwrap();
            assert_eq!(second, first);
            // A bigger closure lives in its pending part (`pending`): its
            // task has the same size and reuses the memory too, and the
            // values it carries arrive intact.
            let big = [7u64; 32];
            let (addr, sum) = crate::spawn(move || (task_addr(), big.iter().sum::<u64>()))
                .join()
                .unwrap();
            assert_eq!(addr, first);
            assert_eq!(sum, 7 * 32);
        });
    }

    #[test]
    fn tasks_of_two_workers_are_freed_with_the_runtime() {
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        struct Counted;
        impl Drop for Counted {
            fn drop(&mut self) {
                DROPS.fetch_add(1, Ordering::Relaxed);
            }
        }
        let rt = Runtime::builder().workers(2).build().unwrap();
        let shared = Arc::downgrade(&rt.shared);
        let n = 2_000;
        let sum: usize = rt.block_on(move || {
            let hs: Vec<_> = (0..n)
                .map(|i| {
                    let c = Counted;
                    crate::spawn(move || {
                        let _c = c;
                        i
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(sum, n * (n - 1) / 2);
        assert_eq!(DROPS.load(Ordering::Relaxed), n);
        drop(rt);
        // Nothing kept in a cache or a grave list holds the runtime.
        assert!(shared.upgrade().is_none());
    }
}
