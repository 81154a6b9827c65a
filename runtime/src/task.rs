//! The green thread itself: its shared header, its state machine and the
//! parts only its worker touches.
//!
//! A [`Task`] is reference counted (`TaskRef = Arc<Task>`): the worker that
//! runs it, every waker that may wake it, its [`JoinHandle`](crate::JoinHandle)
//! and the worker's live-task table all hold one.
//!
//! # States
//!
//! ```text
//!             spawn                 first resume (owner fixed for life)
//!   (new) ──────────► SCHEDULED ────────────────────────► RUNNING
//!                        ▲  ▲                              │  │  │
//!                        │  │ wake (any thread)            │  │  └─ returns ──► DONE
//!                        │  └──────────── PARKED ◄─────────┘  │
//!                        │               (suspended,  park    │
//!                        │                no queue)           │ wake while running
//!                        │                                    ▼
//!                        └──────────── (suspends) ──── RUNNING|NOTIFIED
//! ```
//!
//! * Only the owning worker moves a task out of `SCHEDULED` or `RUNNING`.
//! * Any thread may wake: `PARKED → SCHEDULED` (and then it pushes the task
//!   onto its owner's run queue), or `RUNNING → RUNNING|NOTIFIED` (the worker
//!   requeues it when it suspends, so a wake that races with the suspension
//!   is never lost). A wake in any other state is a no-op.
//! * A task in `SCHEDULED` sits in exactly one run queue, so it is never run
//!   twice at once.
//!
//! # Invariants of [`TaskLocal`]
//!
//! The coroutine, the not-yet-run entry closure and the timeout frames are
//! touched only by the worker thread that owns the task (before the first
//! resume: by whichever worker dequeued it). The worker always takes the
//! coroutine and the entry out before it lets go of a finished task, so a
//! `!Send` closure from `spawn_local` or a `!Send` coroutine is never dropped
//! on another thread.

use std::cell::UnsafeCell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use corosensei::{Coroutine, Yielder};

use crate::park::WaitKind;
use crate::runtime::Shared;
use crate::stack::{PooledStack, StartReservation};

/// A shared reference to a green thread.
pub(crate) type TaskRef = Arc<Task>;

/// Why a green thread gave control back to its worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Suspend {
    /// It waits for a wake (or a timer it registered).
    Park,
    /// It wants to run again after the others that are ready (`yield_now`).
    Yield,
}

/// The coroutine type every green thread runs in.
pub(crate) type GreenCoroutine = Coroutine<(), Suspend, (), PooledStack>;

/// The type-erased body of a green thread, called once: with `None` to run
/// it (on its first resume), or with the error that kept it from starting.
pub(crate) type Entry = Box<dyn FnOnce(Option<std::io::Error>) + 'static>;

pub(crate) const SCHEDULED: u8 = 0;
pub(crate) const RUNNING: u8 = 1;
pub(crate) const NOTIFIED: u8 = 2; // a flag on RUNNING
pub(crate) const PARKED: u8 = 4;
pub(crate) const DONE: u8 = 8;

/// The worker index of a task no worker has started yet.
pub(crate) const NO_OWNER: usize = usize::MAX;

/// One green thread.
pub(crate) struct Task {
    /// Process-unique id, never reused.
    pub(crate) id: u64,
    /// The name given with `Builder::name`.
    pub(crate) name: Option<Box<str>>,
    /// Requested stack size in bytes.
    pub(crate) stack_size: usize,
    /// The state machine of the module docs.
    pub(crate) state: AtomicU8,
    /// The worker that runs it, fixed at the first resume (or at spawn for
    /// `spawn_local`).
    pub(crate) owner: AtomicUsize,
    /// Set by `kill`; checked at every switch point, and never cleared.
    pub(crate) killed: AtomicBool,
    /// What it waits on while parked, for `dump()`.
    pub(crate) wait_kind: AtomicU8,
    /// Counts parks, so that a timer armed for an earlier park is ignored.
    pub(crate) park_gen: AtomicU64,
    /// Guard-page range `[lo, hi)` of its stack, set before the first resume;
    /// read by the stack-overflow handler.
    pub(crate) guard: [AtomicUsize; 2],
    /// The runtime it belongs to.
    pub(crate) shared: Arc<Shared>,
    /// Worker-only parts.
    local: UnsafeCell<TaskLocal>,
}

/// The parts of a task only its owning worker touches.
pub(crate) struct TaskLocal {
    /// The body, until the first resume.
    pub(crate) entry: Option<Entry>,
    /// The coroutine, from the first resume until it returns.
    pub(crate) coroutine: Option<GreenCoroutine>,
    /// The coroutine's yielder (it lives at the base of the coroutine stack).
    pub(crate) yielder: *const Yielder<(), Suspend>,
    /// Active `timeout` scopes, innermost last.
    pub(crate) timeouts: Vec<TimeoutFrame>,
    /// Slot in the owner's live-task table, for `dump()`.
    pub(crate) live_key: Option<usize>,
    /// Its claim on a stack, until it starts.
    pub(crate) reservation: Option<StartReservation>,
}

/// One active `grove::timeout` scope.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeoutFrame {
    /// Identifies the scope, so only it catches its own expiry.
    pub(crate) id: u64,
    /// When it expires.
    pub(crate) deadline: Instant,
}

// SAFETY: every field but `local` is immutable after construction or atomic.
// `local` is only accessed by the task's owning worker thread (see the module
// docs), which the scheduler guarantees by construction: the task is in at
// most one run queue, runs only on its owner, and the owner clears `entry` and
// `coroutine` before releasing a finished task.
unsafe impl Sync for Task {}
// SAFETY: as above; the `!Send` contents of `local` (a `spawn_local` entry, the
// coroutine) never leave the owning worker thread.
unsafe impl Send for Task {}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh process-unique id for a green thread.
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

impl Task {
    /// A new task in the `SCHEDULED` state, not yet queued.
    pub(crate) fn new(
        shared: Arc<Shared>,
        name: Option<Box<str>>,
        stack_size: usize,
        entry: Entry,
        owner: usize,
        reservation: StartReservation,
    ) -> TaskRef {
        Arc::new(Task {
            id: next_id(),
            name,
            stack_size,
            state: AtomicU8::new(SCHEDULED),
            owner: AtomicUsize::new(owner),
            killed: AtomicBool::new(false),
            wait_kind: AtomicU8::new(WaitKind::Running as u8),
            park_gen: AtomicU64::new(0),
            guard: [AtomicUsize::new(0), AtomicUsize::new(0)],
            shared,
            local: UnsafeCell::new(TaskLocal {
                entry: Some(entry),
                coroutine: None,
                yielder: std::ptr::null(),
                timeouts: Vec::new(),
                live_key: None,
                reservation: Some(reservation),
            }),
        })
    }

    /// The worker-only part.
    ///
    /// # Safety
    ///
    /// The caller must be the task's owning worker thread (or the worker that
    /// has just dequeued the not-yet-started task), and must not hold another
    /// reference returned by this function across a call that may reach it.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn local(&self) -> &mut TaskLocal {
        // SAFETY: exclusivity is the caller's obligation (see above).
        unsafe { &mut *self.local.get() }
    }

    /// Wakes the task: schedules it if it is parked, or marks it notified if
    /// it is running. Callable from any thread.
    pub(crate) fn wake(self: &TaskRef) {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            let next = match s {
                PARKED => SCHEDULED,
                RUNNING => RUNNING | NOTIFIED,
                _ => return,
            };
            match self
                .state
                .compare_exchange_weak(s, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        if s == PARKED {
            let owner = self.owner.load(Ordering::Relaxed);
            crate::worker::schedule_started(self.clone(), owner);
        }
    }

    /// Its state, for `dump()`.
    pub(crate) fn state_name(&self) -> &'static str {
        let s = self.state.load(Ordering::Relaxed);
        if s & RUNNING != 0 {
            "running"
        } else if s == PARKED {
            "parked"
        } else if s == DONE {
            "done"
        } else {
            "ready"
        }
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("state", &self.state_name())
            .finish()
    }
}
