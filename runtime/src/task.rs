//! The green thread itself: its shared header, its state machine and the
//! parts only its worker touches.
//!
//! A [`Task`] is reference counted (`TaskRef = Arc<Task>`): the worker that
//! runs it, every waker that may wake it, its [`JoinHandle`](crate::JoinHandle)
//! and the worker's live-task table all hold one.
//!
//! # Made at the start, from a pending one
//!
//! ```text
//!   Arc ─► ┌ counts ┬ header (id, state, owner, ...) ┬ body: Spawned   ┐
//!          │        │ the same for every green thread │ Arc<Pending> ───┼─► closure, result slot
//!          └────────┴─────────────────────────────────┴─────────────────┘   (JoinHandle's)
//! ```
//!
//! A spawn makes only a `pending::Pending` (the closure and the result
//! slot the [`JoinHandle`](crate::JoinHandle) holds); the worker that
//! first dequeues it makes the task, behind the [`Body`] trait object at
//! the end of the header (`Task<dyn Body>`, an unsized struct), in the
//! memory of a task that ended there (`recycle`); an actor's task is made
//! at spawn instead (`Pending::premake`). Every body is one pointer, so
//! every task has the same size. A finished task's memory is
//! freed on its worker when it ends rather than when it is joined.
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
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use std::time::Instant;

use corosensei::{Coroutine, Yielder};

use crate::park::WaitKind;
use crate::runtime::Shared;
use crate::slice::{SliceState, SlotStack};
use crate::stack::StartReservation;

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
pub(crate) type GreenCoroutine = Coroutine<(), Suspend, (), SlotStack>;

pub(crate) const SCHEDULED: u8 = 0;
pub(crate) const RUNNING: u8 = 1;
pub(crate) const NOTIFIED: u8 = 2; // a flag on RUNNING
pub(crate) const PARKED: u8 = 4;
pub(crate) const DONE: u8 = 8;

/// The worker index of a task no worker has started yet.
pub(crate) const NO_OWNER: u32 = u32::MAX;

/// The typed part of a green thread: its closure, until it runs, and the
/// slot its outcome goes into.
///
/// All three methods consume the closure; the owning worker calls exactly
/// one of them, once.
pub(crate) trait Body {
    /// Runs the closure (on the green thread's own stack) and stores its
    /// outcome.
    ///
    /// # Safety
    ///
    /// Called by the task's owning worker thread, at most once per task,
    /// and never together with another method of this trait.
    unsafe fn run(&self);

    /// Drops the closure unrun; the joiner sees `error` (a spawn failure),
    /// or "killed" when `None`.
    ///
    /// # Safety
    ///
    /// As for [`run`](Body::run).
    unsafe fn discard(&self, error: Option<std::io::Error>);
}

/// One green thread: a header the scheduler uses, then its typed body.
///
/// `repr(C)` keeps the fields every switch touches — the state, the owner,
/// the runtime, the coroutine, the yielder, the timeout frames — in the
/// first two cache lines of the allocation (after the `Arc`'s counts), so
/// a wake and a resume of a cold task miss on two lines, not four.
#[repr(C)]
pub(crate) struct Task<B: ?Sized = dyn Body> {
    /// The state machine of the module docs.
    pub(crate) state: AtomicU8,
    /// Set by `kill`; checked at every switch point, and never cleared.
    pub(crate) killed: AtomicBool,
    /// What it waits on while parked, for `dump()`.
    pub(crate) wait_kind: AtomicU8,
    /// The worker that runs it, fixed at the first resume (or at spawn for
    /// `spawn_local`); [`NO_OWNER`] before.
    pub(crate) owner: AtomicU32,
    /// Requested stack size in bytes (`u32::MAX` for any size too large
    /// to make, over `stack::MAX_STACK_SIZE`).
    pub(crate) stack_size: u32,
    /// The runtime it belongs to.
    pub(crate) shared: Arc<Shared>,
    /// Roughly where its stack pointer was when it last parked: a local
    /// wake prefetches the stack lines around it (`prefetch_resume`).
    pub(crate) parked_sp: AtomicUsize,
    /// Worker-only parts.
    local: UnsafeCell<TaskLocal>,
    /// Counts parks, so that a timer armed for an earlier park is ignored.
    pub(crate) park_gen: AtomicU64,
    /// Process-unique id, never reused.
    pub(crate) id: u64,
    /// The name given with `Builder::name` (boxed twice: a thin pointer,
    /// as most green threads have none).
    pub(crate) name: Option<Box<Box<str>>>,
    /// The low end of its stack's guard page (one page), set before the
    /// first resume; read by the stack-overflow handler.
    pub(crate) guard_lo: AtomicUsize,
    /// The closure and a reference to its result slot (see [`Body`]).
    body: B,
}

/// The parts of a [`Task`] only its worker touches.
///
/// Kept small: with the header, a task is a 192-byte malloc chunk
/// (`pending`'s test holds it there), and what a green thread touches
/// when it starts or resumes cold is what it costs.
pub(crate) struct TaskLocal {
    /// The coroutine, from the first resume until it returns.
    pub(crate) coroutine: Option<GreenCoroutine>,
    /// The coroutine's yielder (it lives at the base of the coroutine stack).
    pub(crate) yielder: *const Yielder<(), Suspend>,
    /// Active `timeout` scopes, innermost last.
    pub(crate) timeouts: Timeouts,
    /// When its current timer (the heap entry of its park generation)
    /// fires, while one is armed and has not fired, as a
    /// [`Shared::stamp`]; 0 when none is. A later park with a deadline no
    /// earlier reuses it (see `park`).
    pub(crate) timer_at: u64,
    /// Its share of its stack (`slice`).
    pub(crate) slice: SliceState,
    /// Slot in the owner's live-task table, for `dump()`; [`NO_KEY`]
    /// when it is in none.
    pub(crate) live_key: u32,
    /// Whether the body was run or discarded (so it is never touched again).
    pub(crate) entered: bool,
    /// Its claim on a stack, until it starts.
    pub(crate) reservation: Option<StartReservation>,
}

/// The [`TaskLocal::live_key`] of a task in no live table.
pub(crate) const NO_KEY: u32 = u32::MAX;

/// A green thread's active `timeout` scopes, innermost last: boxed, since
/// most green threads never enter one.
#[derive(Default)]
// The box is the point: one word in every task instead of a `Vec`'s three.
#[allow(clippy::box_collection)]
pub(crate) struct Timeouts(Option<Box<Vec<TimeoutFrame>>>);

impl Timeouts {
    /// The scopes.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[TimeoutFrame] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }

    /// Whether there are none (the common case, one load).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|v| v.is_empty())
    }

    /// The scopes, to push or pop one.
    pub(crate) fn vec_mut(&mut self) -> &mut Vec<TimeoutFrame> {
        self.0.get_or_insert_with(Default::default)
    }
}

/// One active `grove::timeout` scope.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeoutFrame {
    /// Identifies the scope, so only it catches its own expiry.
    pub(crate) id: u64,
    /// When it expires.
    pub(crate) deadline: Instant,
}

// SAFETY: every header field but `local` is immutable after construction or
// atomic. `local` and the body's closure are only accessed by the task's
// owning worker thread (see the module docs), which the scheduler guarantees
// by construction: the task is in at most one run queue, runs only on its
// owner, and the owner consumes the closure and drops the coroutine before
// it releases a finished task. The body's packet is a lock-protected slot,
// safe to share; its `T` is only handed to the `JoinHandle`, which is `Send`
// only when `T` is.
unsafe impl<B: ?Sized> Sync for Task<B> {}
// SAFETY: as above; the `!Send` contents (a `spawn_local` closure, the
// coroutine) never leave the owning worker thread.
unsafe impl<B: ?Sized> Send for Task<B> {}

/// How far below the parked stack pointer the switch frame reaches, and
/// how far above it the frames a resume returns into (the primitive's
/// wait loop, the caller's loop) typically sit.
/// (`prefetch_resume` fetches the five lines from `sp - PREFETCH_BELOW`,
/// rounded down to a line, which reach `PREFETCH_ABOVE` above `sp`.)
const PREFETCH_BELOW: usize = 128;
const PREFETCH_ABOVE: usize = 192;
const _: () = assert!(PREFETCH_BELOW + PREFETCH_ABOVE <= 5 * 64);

/// A hint to bring the line at `p` into the cache; never faults.
#[inline(always)]
pub(crate) fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint, not an access: it never faults, whatever
    // `p` points at, and has no effect the program can observe (SSE, which
    // provides it, is part of the x86_64 baseline).
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// [`prefetch`] for the `lines` cache lines from `first` on (the loop
/// unrolls where `lines` is a constant).
#[inline(always)]
pub(crate) fn prefetch_lines(first: usize, lines: usize) {
    for i in 0..lines {
        // A prefetch never faults, so wrapping arithmetic is fine even in
        // theory.
        prefetch(first.wrapping_add(i * 64) as *const u8);
    }
}

/// [`prefetch_lines`] for the first `lines` lines of the allocation of
/// the `Arc` whose value `value` points at, from its counts on.
#[inline(always)]
pub(crate) fn prefetch_arc<V: ?Sized>(value: *const V, lines: usize) {
    let counts = (value as *const u8 as usize).wrapping_sub(2 * std::mem::size_of::<usize>());
    prefetch_lines(counts & !63, lines);
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh process-unique id for a green thread.
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

impl<B: Body> Task<B> {
    /// A new task in the `SCHEDULED` state, not yet queued.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        shared: Arc<Shared>,
        id: u64,
        name: Option<Box<Box<str>>>,
        stack_size: usize,
        body: B,
        owner: u32,
        recycled: Option<TaskRef>,
        reservation: StartReservation,
    ) -> Arc<Task<B>> {
        // Written straight into the allocation (`Arc::new` built the
        // value on the stack and then called `memcpy` for it: 64
        // instructions of every spawn, callgrind), which is a dead task's
        // when one fits (`recycle`).
        let slot: *mut Task<B> = match recycled.and_then(reclaim::<B>) {
            Some(p) => p,
            None => Arc::into_raw(Arc::<Task<B>>::new_uninit()) as *mut Task<B>,
        };
        let task = Task {
            id,
            name,
            // Anything larger fails the start (`Slots::take`); saturated,
            // it still does.
            stack_size: u32::try_from(stack_size).unwrap_or(u32::MAX),
            state: AtomicU8::new(SCHEDULED),
            owner: AtomicU32::new(owner),
            parked_sp: AtomicUsize::new(0),
            killed: AtomicBool::new(false),
            wait_kind: AtomicU8::new(WaitKind::Running as u8),
            park_gen: AtomicU64::new(0),
            guard_lo: AtomicUsize::new(0),
            shared,
            local: UnsafeCell::new(TaskLocal {
                entered: false,
                coroutine: None,
                yielder: std::ptr::null(),
                timeouts: Timeouts::default(),
                timer_at: 0,
                live_key: NO_KEY,
                reservation: Some(reservation),
                slice: SliceState::default(),
            }),
            body,
        };
        // SAFETY: `slot` is the value pointer of an `Arc` allocation whose
        // value has the size and alignment of a `Task<B>` and whose only
        // reference is the one `into_raw` gave up (a fresh `Arc`, or one
        // `reclaim` made unique and emptied), so writing it is unobserved;
        // `from_raw` then takes back that reference: its contract holds,
        // since the pointer came from `Arc::into_raw` of a value (a
        // `MaybeUninit<Task<B>>`, or a `Task<dyn Body>` made from a sized
        // task) of the same size and alignment as `Task<B>`.
        unsafe {
            slot.write(task);
            Arc::from_raw(slot)
        }
    }
}

impl<B> Task<B> {
    /// Its typed body.
    pub(crate) fn body(&self) -> &B {
        &self.body
    }
}

/// Empties a dead task (drops its contents) whose memory fits a
/// `Task<B>`, and returns its value pointer with its one reference given
/// up; `None` (and the task is dropped) if it does not fit or is not
/// unique.
fn reclaim<B>(mut old: TaskRef) -> Option<*mut Task<B>> {
    if !old.fits::<B>() {
        return None;
    }
    Arc::get_mut(&mut old)?;
    let raw = Arc::into_raw(old) as *mut Task;
    // SAFETY: `get_mut` proved this the only reference (no other `Arc`,
    // no `Weak`), and `into_raw` gave it up without dropping, so nothing
    // else reaches the value: it is dropped here once, through the
    // pointer of the allocation (as `Arc::get_mut_unchecked` writes), and
    // the memory is only written again (by `Task::new`) before anything
    // reads it. A panic in a destructor here leaks the allocation rather
    // than double-dropping.
    unsafe { std::ptr::drop_in_place(raw) };
    Some(raw as *mut Task<B>)
}

impl Task {
    /// Whether its stack bytes are copied out to its save area (`slice`):
    /// bit 0 of `parked_sp`, set and cleared by its worker.
    #[inline]
    pub(crate) fn is_evicted(&self) -> bool {
        self.parked_sp.load(Ordering::Relaxed) & crate::slice::EVICTED_BIT != 0
    }

    /// Whether this task's memory has the size and alignment of a
    /// `Task<B>` (what reusing it for one takes, `recycle`).
    #[inline]
    pub(crate) fn fits<B>(&self) -> bool {
        std::mem::size_of_val(self) == std::mem::size_of::<Task<B>>()
            && std::mem::align_of_val(self) == std::mem::align_of::<Task<B>>()
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

    /// Runs the body (see [`Body::run`]), once.
    ///
    /// # Safety
    ///
    /// As for [`Body::run`]; the caller runs on the task's coroutine.
    pub(crate) unsafe fn run_body(&self) {
        // SAFETY: forwarded obligation.
        unsafe { self.body.run() }
    }

    /// Discards the unrun body (see [`Body::discard`]).
    ///
    /// Also used for a started task abandoned at shutdown: its closure is
    /// gone by then, so this only tells its joiner that it was killed.
    ///
    /// # Safety
    ///
    /// The caller is the task's owning worker (or the one that dequeued
    /// it), and the body is not running.
    pub(crate) unsafe fn discard_body(&self, error: Option<std::io::Error>) {
        // SAFETY: forwarded obligation.
        unsafe { self.body.discard(error) }
    }

    /// Moves the task towards running: `PARKED → SCHEDULED` (true: the
    /// caller must queue it), or `RUNNING → RUNNING|NOTIFIED` (false). Any
    /// other state: false.
    #[inline]
    fn mark_woken(&self) -> bool {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            let next = match s {
                PARKED => SCHEDULED,
                RUNNING => RUNNING | NOTIFIED,
                _ => return false,
            };
            match self
                .state
                .compare_exchange_weak(s, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return s == PARKED,
                Err(actual) => s = actual,
            }
        }
    }

    /// Wakes the task: schedules it if it is parked, or marks it notified if
    /// it is running. Callable from any thread; costs no reference count
    /// (the owner's live table keeps a scheduled task alive).
    #[inline]
    pub(crate) fn wake(&self) {
        if self.mark_woken() {
            let owner = self.owner.load(Ordering::Relaxed) as usize;
            crate::worker::schedule_started(self, owner);
        }
    }

    /// Asks the cache for what resuming this parked task will touch first:
    /// its worker-only part (the coroutine and its yielder) and the stack
    /// lines around where it parked. Called by a wake on the task's own
    /// worker, so the misses overlap with the rest of the waker's turn
    /// instead of stalling the resume (in a 10,000-actor ring the first
    /// instruction after the switch took ~45 % of the time).
    ///
    /// Always inlined, with `worker::schedule_started`: as a call, or
    /// with the save-area branch keeping it from inlining, a `Queue` hop
    /// took ten instructions more (callgrind).
    #[inline(always)]
    pub(crate) fn prefetch_resume(&self) {
        self.prefetch_resume_lines(PREFETCH_BELOW, 5);
    }

    /// [`prefetch_resume`](Task::prefetch_resume) with `lines` stack lines
    /// from `below` under the parked stack pointer.
    #[inline(always)]
    pub(crate) fn prefetch_resume_lines(&self, below: usize, lines: usize) {
        prefetch(self.local.get() as *const u8);
        let sp = self.parked_sp.load(Ordering::Relaxed);
        if sp != 0 {
            // Unrolled: this runs on every local wake.
            prefetch_lines(sp.wrapping_sub(below) & !63, lines);
            if sp & crate::slice::EVICTED_BIT != 0 {
                // Its bytes are copied out (`slice`): the save area too,
                // which its restore reads (the stack lines above are where
                // the restore writes).
                // SAFETY: a read of a plain field of the worker-only part,
                // on its worker (the caller's contract), while the task is
                // suspended: only this thread writes it, and not now (no
                // borrow of a suspended task's part is live while another
                // task runs or the worker wakes one).
                unsafe { (*self.local.get()).slice.prefetch_saved() };
            }
        }
    }

    /// Kills the task: sets the flag every switch point checks (never
    /// cleared) and wakes it so it gets to one. Any thread.
    pub(crate) fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.wake();
    }

    /// The name given with `Builder::name`.
    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref().map(|n| &**n)
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
            .field("name", &self.name())
            .field("state", &self.state_name())
            .finish()
    }
}
