//! # grove-runtime
//!
//! Green threads for Rust in gevent's model: plain blocking-style code runs
//! on cheap stackful coroutines that switch only at explicit points (I/O,
//! sleep, waiting on a queue or lock, receiving a message), on a few worker
//! threads that each own a mio event loop.
//!
//! Users depend on the `grove` facade crate, which re-exports this one at
//! `grove::`.
//!
//! ```
//! use std::time::Duration;
//!
//! let h = grove_runtime::spawn(|| { grove_runtime::sleep(Duration::from_millis(10)); 42 });
//! assert_eq!(h.join().unwrap(), 42);
//!
//! let q = grove_runtime::sync::Queue::unbounded();
//! let producer = grove_runtime::spawn({ let q = q.clone(); move || for i in 0..3 { q.put(i).unwrap() } });
//! producer.join().unwrap();
//! assert_eq!((q.get().unwrap(), q.get().unwrap(), q.get().unwrap()), (0, 1, 2));
//! ```
//!
//! ## Architecture
//!
//! * [`task`](crate) — a green thread: a corosensei coroutine on a pooled,
//!   guard-paged stack, plus an atomic state machine
//!   (`SCHEDULED → RUNNING → PARKED → ...`) that makes wakes from any thread
//!   race-free.
//! * `worker` — one OS thread per worker. A green thread is pinned to the
//!   worker that first resumes it; only not-yet-started ones are stolen
//!   (crossbeam-deque), because a started stack may hold thread-bound data.
//!   The worker's mio `Poll` is also where it sleeps, so cross-thread wakes,
//!   I/O readiness and timers all arrive through one call.
//! * `park` — the one switch point every blocking primitive goes through.
//!   In a green thread it suspends; on a plain OS thread it parks the
//!   thread. Every return from it checks for kill and expired timeouts,
//!   which unwind the stack so destructors run.
//! * `reactor` — readiness of registered I/O sources, cached per source
//!   with a tick so a ready socket costs one system call; [`io`] is its
//!   public face, [`io::Cooperative`], on which `grove::net` is built.
//! * `timer` — per-worker min-heap of deadlines.
//! * `stack` — guard-paged stacks (guard markers, or `mprotect` and the
//!   `vm.max_map_count` budget) and their pools; `sys` — the
//!   stack-overflow report.
//! * [`sync`] — Event, AsyncResult, Queue, Semaphore, Mutex, Group, Pool.
//! * [`greenlet`] — hand-switched greenlets on one thread.
//! * [`park`] / [`Unparker`] — `std::thread::park`'s token protocol for
//!   green threads, the building block for primitives outside this crate
//!   (grove-actors' mailboxes).
//!
//! See `docs/architecture.md` in the repository for the reasoning.

mod blocking;
mod dump;
mod join;
mod local;
mod park;
mod pending;
mod reactor;
mod recycle;
mod ring;
mod runtime;
mod slice;
mod spawn;
mod spin;
mod stack;
mod sys;
mod task;
mod time;
mod timer;
mod unpark;
mod worker;

pub mod greenlet;
pub mod io;
pub mod sync;

pub use blocking::spawn_blocking;
pub use dump::dump;
pub use join::{join_all, JoinError, JoinHandle, KillHandle};
pub use local::LocalRuntime;
pub use runtime::{Runtime, RuntimeBuilder, DEFAULT_STACK_SIZE};
pub use spawn::{current, spawn, spawn_local, Builder, GreenThread};
pub use time::{sleep, sleep_until, timeout, yield_now, Elapsed};
pub use unpark::{park, park_deadline, park_timeout, Unparker};

/// Not public API: building blocks shared with grove's own crates
/// (grove-actors), with no stability promise.
#[doc(hidden)]
pub mod __private {
    pub use crate::slice::{evicted_bytes as stack_evicted_bytes, evictions as stack_evictions};
    pub use crate::spin::{SpinGuard, SpinLock};
    pub use crate::worker::prefault_parking;

    /// [`Builder::spawn`](crate::Builder::spawn) for a green thread that
    /// parks soon after it starts and stays alive (an actor): its task is
    /// made at spawn, so a burst of them touches its fresh memory while
    /// spawning rather than when each first runs.
    pub fn spawn_parking<F, T>(
        builder: crate::Builder,
        f: F,
    ) -> std::io::Result<crate::JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        builder.spawn_with(f, true)
    }

    /// `current().unparker()` without the identity handle in between
    /// (what an actor's root records for its mailbox).
    #[inline]
    pub fn current_unparker() -> crate::Unparker {
        crate::Unparker::current()
    }
}
