//! Where a finished green thread's memory goes: back to the worker that
//! spawned it, whose next spawn reuses it.
//!
//! ```text
//!   worker A spawns ──► task runs and ends on B ──► B: Recycler::bury
//!        ▲                                              │ batches of 64
//!        │  A: Recycler::reuse (next spawn)             ▼
//!        └──────────── A's cache ◄── take_back ◄── A's Graves (Mutex<Vec>)
//! ```
//!
//! Go keeps dead goroutines on per-P free lists for the same reason. Freed
//! through malloc on the worker that ran it, a task goes into the
//! spawner's malloc arena under the arena's lock, against the spawner's
//! own mallocs (futex waits in a 2-worker spawn profile), then through
//! glibc's bins (a fifth of the spawner's time); and the next spawn
//! touches fresh memory instead of memory just used.
//!
//! # Invariants
//!
//! * Only a task whose last reference this is, with no `Weak` left
//!   ([`Arc::get_mut`] succeeds), is kept: nothing can reach it again.
//!   The packet's `Weak` is dropped when the outcome is stored, before
//!   the task finishes; a `KillHandle` keeps a task out.
//! * A kept task's contents are dropped only when its memory is reused
//!   ([`Task::new`] does that) or the cache lets it go (then by `Arc`'s
//!   own drop).
//! * A task goes back only to its home worker, the one whose thread
//!   spawned it, and a `spawn_local` task never leaves its worker, so a
//!   `!Send` body is dropped on its own thread.
//! * No `RefCell` borrow is held while a task is dropped: its contents may
//!   run user code (an outcome left in a detached packet) that spawns.
//! * Each cache is bounded ([`CACHE_MAX`] tasks), and a batch is freed
//!   where it is rather than sent to a home that sleeps (which would hold
//!   it until it woke) or has stopped ([`Graves::close`]: a task left in
//!   the graves would keep the runtime alive through its `Arc<Shared>`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::runtime::Shared;
use crate::task::TaskRef;

/// Finished tasks sent back in one go.
const BATCH: usize = 64;

/// Dead tasks a worker keeps for reuse, at most (~100 KiB of small ones).
const CACHE_MAX: usize = 512;

/// How far from the newest a reuse looks for a task of the right size.
const SEARCH: usize = 4;

/// Finished tasks sent back to one worker by the others; part of its
/// `WorkerShared`. On a cache line of its own: the senders write it while
/// the worker reads its other shared fields every turn.
#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct Graves {
    list: Mutex<GraveList>,
    /// Whether `list` may be non-empty.
    pending: AtomicBool,
}

#[derive(Debug, Default)]
struct GraveList {
    dead: Vec<TaskRef>,
    /// The worker has stopped: it takes nothing more. (A task kept here
    /// then would keep the runtime's `Shared`, which holds this list,
    /// alive forever.)
    closed: bool,
}

impl Graves {
    pub(crate) fn new() -> Graves {
        Graves {
            list: Mutex::new(GraveList::default()),
            pending: AtomicBool::new(false),
        }
    }

    /// Hands `batch` over; gives it back if the worker has stopped.
    fn send(&self, batch: Vec<TaskRef>) -> Option<Vec<TaskRef>> {
        {
            let mut list = self.list.lock();
            if list.closed {
                return Some(batch);
            }
            if list.dead.is_empty() {
                list.dead = batch;
            } else {
                list.dead.extend(batch);
            }
        }
        self.pending.store(true, Ordering::Release);
        None
    }

    /// The worker stops: it takes nothing more, and what was sent is
    /// returned for the caller to drop.
    pub(crate) fn close(&self) -> Vec<TaskRef> {
        let mut list = self.list.lock();
        list.closed = true;
        std::mem::take(&mut list.dead)
    }
}

/// One worker's side: its cache of dead tasks and its batches for others.
/// Touched only on the worker's thread, never across a resume.
#[derive(Default)]
pub(crate) struct Recycler {
    /// Dead tasks spawned here, newest last.
    cache: RefCell<VecDeque<TaskRef>>,
    /// Dead tasks of other workers, by home worker, not yet sent.
    outgoing: RefCell<Vec<Vec<TaskRef>>>,
}

impl Recycler {
    /// Lets go of a finished task on worker `me`: kept for reuse, sent
    /// home, or dropped.
    pub(crate) fn bury(&self, me: usize, shared: &Shared, mut t: TaskRef) {
        if Arc::get_mut(&mut t).is_none() {
            return;
        }
        let home = t.home as usize;
        if home == me {
            self.keep(t);
        } else if let Some(ws) = shared.workers.get(home) {
            let mut out = self.outgoing.borrow_mut();
            if out.len() <= home {
                out.resize_with(shared.workers.len(), Vec::new);
            }
            out[home].push(t);
            if out[home].len() >= BATCH {
                let batch = std::mem::take(&mut out[home]);
                drop(out);
                send(ws, batch);
            }
        }
    }

    /// Sends every partial batch home (before the worker sleeps).
    pub(crate) fn flush(&self, shared: &Shared) {
        let batches: Vec<(usize, Vec<TaskRef>)> = {
            let mut out = self.outgoing.borrow_mut();
            out.iter_mut()
                .enumerate()
                .filter(|(_, b)| !b.is_empty())
                .map(|(home, b)| (home, std::mem::take(b)))
                .collect()
        };
        for (home, batch) in batches {
            send(&shared.workers[home], batch);
        }
    }

    /// Moves what other workers sent back into the cache.
    #[inline]
    pub(crate) fn take_back(&self, graves: &Graves) {
        if graves.pending.load(Ordering::Relaxed) {
            graves.pending.store(false, Ordering::Relaxed);
            let dead = std::mem::take(&mut graves.list.lock().dead);
            for t in dead {
                self.keep(t);
            }
        }
    }

    fn keep(&self, t: TaskRef) {
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

/// Sends a batch to its home's graves, or frees it here if the home
/// sleeps or has stopped.
fn send(ws: &crate::worker::WorkerShared, batch: Vec<TaskRef>) {
    if ws.is_sleeping() {
        drop(batch);
    } else {
        drop(ws.graves.send(batch));
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
