//! A worker: one OS thread that runs green threads, owns their stacks, its
//! timers and a mio `Poll` that is also where it sleeps.
//!
//! # Queues
//!
//! ```text
//!                 spawn from this worker          spawn from elsewhere
//!                          │                              │
//!                          ▼                              ▼
//!   ┌─────────────── new: deque::Worker ◄─ steal ─ shared Injector
//!   │  (not-yet-started tasks; other workers may steal them)
//!   │
//!   │  ready: Ring     (started tasks, pinned here)  ◄── remote: Mutex<Vec>
//!   │           ▲                                         ▲
//!   │           │ wake from this thread                   │ wake from any other
//!   ▼           │                                         │ thread (+ mio Waker
//!  run ─────────┴─────────────────────────────────────────┘  if it sleeps)
//! ```
//!
//! # Who owns a task in a queue
//!
//! A not-yet-started task in `new`, the injector or a sibling's deque is
//! owned by that queue (a `TaskRef`). A started one is owned by its
//! worker's live table from its first resume until it finishes, so `ready`
//! and `remote` hold plain pointers ([`TaskPtr`]) and a wake costs no
//! reference-count traffic: a task in either is `SCHEDULED`, and only its
//! own run (on this worker) can take it out of the live table.
//!
//! A started green thread never changes worker (see `DESIGN.md`): its stack
//! may hold thread-bound data. Only not-yet-started ones (a `Send` closure)
//! are stolen, which balances load where it is cheap to, at spawn.
//!
//! Its stacks are the worker's `Slots` (`slice`): pooled, and shared by
//! many green threads once the worker holds enough of them. `run_task`
//! restores a green thread whose stack bytes were copied out before it
//! resumes it, and `last_suspended` names the one a starting green thread
//! may take the stack of.
//!
//! # Sleeping without losing wakes
//!
//! A worker with nothing to run sets `sleeping`, re-checks its remote queue
//! and the shared queues, and only then blocks in `Poll::poll` until the next
//! timer. A remote waker pushes first and then reads `sleeping`; both sides
//! use `SeqCst`, so at least one of them sees the other (the Dekker pattern):
//! either the worker finds the task, or the waker writes to the mio `Waker`.
//! `wake_pending` keeps many wakers of one sleep down to one write; it is
//! cleared at the start of each sleep (see `Worker::sleep` for why not at
//! the end).
//!
//! # Each turn of the loop
//!
//! 1. take tasks woken from other threads (if any were pushed);
//! 2. every 61 turns, fire due timers, poll I/O without blocking and look
//!    at the global queue first, so none of them starves behind a busy run
//!    queue (a due timer waits at most 61 task runs);
//! 3. run one task, in the order the tasks became runnable here: a woken
//!    (or yielding) task waits for the new ones queued before it, and a
//!    new one for the tasks woken before it was spawned — one FIFO, as
//!    gevent's loop runs spawns and wakes from one callback queue, so
//!    neither kind starves the other, and a `yield_now` lets everything
//!    runnable at that moment run first (gevent's `sleep(0)`); then
//!    stolen ones;
//! 4. with nothing to run: sleep in `poll` until the next timer, then
//!    fire the due ones.

use std::cell::{Cell, RefCell, UnsafeCell};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use corosensei::{Coroutine, CoroutineResult};
use crossbeam_deque::{Steal, Worker as Deque};
use parking_lot::Mutex;
use slab::Slab;

use crate::park::{self, clone_task_ref};
use crate::pending::NewRef;
use crate::reactor::ScheduledIo;
use crate::recycle::Recycler;
use crate::ring::Ring;
use crate::runtime::Shared;
use crate::slice::Slots;
use crate::task::{Suspend, Task, TaskRef, DONE, NO_KEY, PARKED, RUNNING, SCHEDULED};

/// How long an idle worker of a multi-worker runtime spins for work from
/// other threads before it sleeps (see `Worker::spin_for_work`).
const SPIN: Duration = Duration::from_micros(20);
/// Checks for work between two non-blocking I/O polls while spinning.
const SPIN_CHECKS: u32 = 256;

/// The mio token of the worker's waker.
pub(crate) const WAKE_TOKEN: mio::Token = mio::Token(usize::MAX);

/// A started task in a run queue; the live table owns it (see the module
/// docs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TaskPtr(NonNull<Task>);

// SAFETY: a TaskPtr only travels to the task's owning worker (through
// `remote`), which is the one thread that dereferences it; the task itself
// is Send + Sync, and is kept alive by the owner's live table.
unsafe impl Send for TaskPtr {}

impl TaskPtr {
    #[inline]
    fn of(task: &Task) -> TaskPtr {
        TaskPtr(NonNull::from(task))
    }

    /// The task.
    ///
    /// # Safety
    ///
    /// The task must still be in its worker's live table (true for any
    /// pointer taken from `ready` or `remote`, until the task finishes).
    #[inline]
    unsafe fn get<'a>(self) -> &'a Task {
        // SAFETY: the caller's obligation: the live table's TaskRef keeps
        // the task allocated.
        unsafe { self.0.as_ref() }
    }
}

/// The next task to run.
enum Next {
    /// A started (or pinned) task, owned by the live table.
    Started(TaskPtr),
    /// A task that has not started: the worker adopts it first.
    New(NewRef),
}

/// What other threads share with one worker.
#[derive(Debug)]
pub(crate) struct WorkerShared {
    /// Started tasks woken from other threads, waiting to be moved to `ready`.
    remote: Mutex<Vec<TaskPtr>>,
    /// Whether `remote` may be non-empty (saves the lock when it is not).
    remote_pending: AtomicBool,
    /// Set while the worker sleeps (or is about to) in `poll`.
    sleeping: AtomicBool,
    /// Set when someone has already written to `waker` for this sleep.
    wake_pending: AtomicBool,
    /// Interrupts the worker's `poll`.
    waker: mio::Waker,
    /// Registers I/O sources with the worker's `poll`, from any thread.
    pub(crate) registry: mio::Registry,
    /// Deregistered sources whose last reactor reference the worker drops
    /// after its current `poll` batch (see `reactor`).
    released: Mutex<Vec<Arc<ScheduledIo>>>,
    /// Whether `released` may be non-empty.
    released_pending: AtomicBool,
    /// Started, unfinished tasks of this worker, for `dump()`.
    pub(crate) live: Mutex<Slab<TaskRef>>,
    /// Id of the task running now (0: none), for the watchdog.
    pub(crate) running_id: AtomicU64,
    /// When it was resumed, in ns since the runtime started (watchdog only).
    pub(crate) running_since: AtomicU64,
}

impl WorkerShared {
    pub(crate) fn new(poll: &mio::Poll) -> std::io::Result<WorkerShared> {
        Ok(WorkerShared {
            remote: Mutex::new(Vec::new()),
            remote_pending: AtomicBool::new(false),
            sleeping: AtomicBool::new(false),
            wake_pending: AtomicBool::new(false),
            waker: mio::Waker::new(poll.registry(), WAKE_TOKEN)?,
            registry: poll.registry().try_clone()?,
            released: Mutex::new(Vec::new()),
            released_pending: AtomicBool::new(false),
            live: Mutex::new(Slab::new()),
            running_id: AtomicU64::new(0),
            running_since: AtomicU64::new(0),
        })
    }

    /// Queues a started task woken from another thread.
    fn push_remote(&self, task: TaskPtr) {
        self.remote.lock().push(task);
        self.remote_pending.store(true, Ordering::SeqCst);
        self.unpark();
    }

    /// Hands over the reactor's reference to a deregistered source; the
    /// worker drops it once no `poll` batch can still name it.
    pub(crate) fn release_io(&self, io: Arc<ScheduledIo>) {
        self.released.lock().push(io);
        self.released_pending.store(true, Ordering::Release);
    }

    /// Whether the worker sleeps (or is about to) in `poll`.
    pub(crate) fn is_sleeping(&self) -> bool {
        self.sleeping.load(Ordering::SeqCst)
    }

    /// Wakes the worker if it sleeps.
    pub(crate) fn unpark(&self) {
        if self.sleeping.load(Ordering::SeqCst) && !self.wake_pending.swap(true, Ordering::SeqCst) {
            if let Err(e) = self.waker.wake() {
                tracing::error!("grove: cannot wake a worker: {e}");
            }
        }
    }
}

/// The state a worker thread owns.
pub(crate) struct Worker {
    /// Its index in `Shared::workers`.
    pub(crate) index: usize,
    /// The runtime.
    pub(crate) shared: Arc<Shared>,
    /// `&shared.workers[index]`, which the worker reads every turn.
    me: NonNull<WorkerShared>,
    /// Started tasks ready to run (pinned here; owned by `live`), each
    /// with its place among the new ones.
    ready: UnsafeCell<Ring<Ready>>,
    /// Not-yet-started tasks (stealable).
    new: Deque<NewRef>,
    /// Timers of the tasks it runs.
    timers: UnsafeCell<crate::timer::TimerHeap>,
    /// Its stacks: pooled, in use, shared (`slice`).
    slots: UnsafeCell<Slots>,
    /// The task that suspended last, while it has not finished: the one a
    /// starting task may share a stack with.
    last_suspended: Cell<Option<NonNull<Task>>>,
    /// Whether it shared stacks when it last started a task.
    sharing: Cell<bool>,
    /// The event loop.
    poll: RefCell<mio::Poll>,
    /// Turn counter.
    tick: Cell<u32>,
    /// How many tasks have entered `new` here (spawned here, or moved in
    /// by a steal), wrapping: a ready task's place in the FIFO (`Ready`).
    new_in: Cell<u32>,
    /// How many tasks this worker has taken out of `new` to start,
    /// wrapping; a sibling's steals are not counted (`Ready`).
    new_out: Cell<u32>,
    /// Tasks that ended here, for their memory (`recycle`).
    recycler: Recycler,
    /// The oldest not-yet-started task, taken out of `new` one turn early
    /// while at least [`LOOKAHEAD_DEPTH`] more wait behind it, so that its
    /// cache lines are fetched while the task before it runs (`pop_new`).
    lookahead: UnsafeCell<Option<NewRef>>,
}

/// A task in a worker's `ready` queue, and how many tasks had entered
/// the worker's `new` queue when it was queued (`Worker::new_in`).
///
/// The two queues make one FIFO: the ready task runs once the worker has
/// taken that many out of `new` (`Worker::new_out`), or when `new` is
/// empty. Tasks a sibling stole from `new` are not counted out, so a
/// ready task may wait for as many more new ones as were stolen from
/// ahead of it: a bounded delay, never starvation, as the count goes up
/// with every new task the worker starts.
#[derive(Clone, Copy)]
struct Ready {
    task: TaskPtr,
    after: u32,
}

impl Ready {
    /// Whether new tasks queued before this one are still to start, of
    /// `out` taken out so far (wrapping: the two counts are never 2^31
    /// apart, as no queue holds that many tasks).
    #[inline(always)]
    fn waits_for_new(self, out: u32) -> bool {
        (self.after.wrapping_sub(out) as i32) > 0
    }
}

/// How many not-yet-started tasks must wait in a worker's `new` for it to
/// take the oldest one a turn early ([`Worker::pop_new`]). A burst of
/// spawns starts each task long after it was written, its header and
/// closure out of the cache; fetching them one task ahead hides two or
/// three misses a start. A task held this way cannot be stolen, so a
/// short queue, whose tasks an idle sibling should take at once, holds
/// none.
const LOOKAHEAD_DEPTH: usize = 16;

/// Stack lines [`Worker::pop_ready`] asks the cache for, from 64 bytes
/// below the next ready task's parked stack pointer up.
const RESUME_LINES: usize = 10;

thread_local! {
    /// The worker running on this OS thread, or null.
    static WORKER: Cell<*const Worker> = const { Cell::new(std::ptr::null()) };
}

/// Restores the thread's previous worker (none, outside a nested use)
/// when a [`Worker::enter`] ends.
struct Entered {
    prev: *const Worker,
}

impl Drop for Entered {
    fn drop(&mut self) {
        WORKER.with(|w| w.set(self.prev));
    }
}

/// The worker of this thread, if this is a worker thread.
#[inline]
pub(crate) fn current() -> Option<&'static Worker> {
    let p = WORKER.with(|w| w.get());
    if p.is_null() {
        None
    } else {
        // SAFETY: WORKER is set only by `Worker::enter`, to a worker the
        // caller keeps borrowed, in place, for as long as the guard lives,
        // and reset when the guard drops; only code called from that frame
        // on this thread sees it.
        Some(unsafe { &*p })
    }
}

/// The worker of this thread if it belongs to `shared`'s runtime.
#[inline]
pub(crate) fn current_of(shared: &Arc<Shared>) -> Option<&'static Worker> {
    current().filter(|w| Arc::ptr_eq(&w.shared, shared))
}

/// Schedules a started task that was just moved `PARKED → SCHEDULED`.
#[inline(always)]
pub(crate) fn schedule_started(task: &Task, owner: usize) {
    match current_of(&task.shared) {
        Some(w) if w.index == owner => {
            task.prefetch_resume();
            w.push_ready(TaskPtr::of(task))
        }
        _ => task.shared.workers[owner].push_remote(TaskPtr::of(task)),
    }
}

/// Queues a new green thread of `shared`'s runtime: on this worker if
/// called from one of its workers, else on the global injector.
pub(crate) fn schedule_new(shared: &Arc<Shared>, new: NewRef) {
    match current_of(shared) {
        Some(w) => {
            w.new.push(new);
            w.new_in.set(w.new_in.get().wrapping_add(1));
            w.shared.notify_idle_worker();
        }
        None => {
            shared.injector.push(new);
            shared.notify_idle_worker();
        }
    }
}

/// Whether the current worker (if this is one) was sharing stacks when it
/// last started a task: a task that waits then had better not pin its
/// stack (`park::lend_stack`). A hint: a stale answer only decides whether
/// a `Queue` getter takes the hand-off.
#[inline]
pub(crate) fn sharing_stacks() -> bool {
    current().is_some_and(|w| w.sharing.get())
}

/// Called after spawning a green thread that will park (an actor): on a
/// worker that shares stacks, faults in save areas for the green threads
/// queued to start on it (`Slots::prefault_for`). A no-op elsewhere.
pub fn prefault_parking() {
    if let Some(w) = current() {
        let queued = w.new_len();
        // SAFETY: only this worker's thread touches its slots, and no
        // borrow of them is live while a task runs (the caller is one).
        unsafe { (*w.slots.get()).prefault_for(queued) };
    }
}

/// Arms a timer on the current worker (the caller is a green thread on
/// it); `replaces` says that it makes an earlier entry of the same task
/// stale.
pub(crate) fn arm_timer(deadline: Instant, task: TaskRef, gen: u64, replaces: bool) {
    if let Some(w) = current() {
        // SAFETY: only this worker's thread touches its timers, and no other
        // reference to them is live (timer code never calls back into here).
        unsafe { (*w.timers.get()).arm(deadline, task, gen, replaces) };
    }
}

impl Worker {
    pub(crate) fn new(
        index: usize,
        shared: Arc<Shared>,
        poll: mio::Poll,
        new: Deque<NewRef>,
    ) -> Worker {
        let stack_size = shared.config.stack_size;
        let share_after = shared.config.share_stacks_after;
        let me = NonNull::from(&shared.workers[index]);
        Worker {
            index,
            me,
            shared,
            ready: UnsafeCell::new(Ring::new()),
            new,
            timers: UnsafeCell::new(Default::default()),
            slots: UnsafeCell::new(Slots::new(stack_size, share_after)),
            last_suspended: Cell::new(None),
            sharing: Cell::new(false),
            poll: RefCell::new(poll),
            tick: Cell::new(0),
            new_in: Cell::new(0),
            new_out: Cell::new(0),
            recycler: Recycler::default(),
            lookahead: UnsafeCell::new(None),
        }
    }

    #[inline]
    fn my_shared(&self) -> &WorkerShared {
        // SAFETY: `me` points into `shared.workers`, a boxed slice that is
        // never resized or moved, and `self.shared` keeps it alive for as
        // long as `self` lives.
        unsafe { self.me.as_ref() }
    }

    #[inline]
    fn push_ready(&self, task: TaskPtr) {
        let after = self.new_in.get();
        // SAFETY: `ready` is only touched on this worker's thread, and never
        // while another borrow of it is live (pushes and pops are leaf calls).
        unsafe { (*self.ready.get()).push_back(Ready { task, after }) };
    }

    /// The oldest ready task. The two behind it are asked of the cache, so
    /// that their lines arrive while this one runs: the next one's stack
    /// frames ([`RESUME_LINES`]) and the header of the one after, whose
    /// stack pointer the next pop reads for its own prefetch. Their wakes
    /// fetched the same lines, but a poll that wakes a thousand
    /// connections runs the last one long after its wake, the lines since
    /// pushed out by the others' system calls: with 1,000 echo connections
    /// the resume's first instruction took ~4 % of the server's time, and
    /// reading the stack pointer from a cold header one task ahead ~3 %.
    #[inline]
    fn pop_ready(&self) -> Option<TaskPtr> {
        // SAFETY: as in `push_ready`.
        let ready = unsafe { &mut *self.ready.get() };
        let p = ready.pop_front()?.task;
        if let Some(Ready { task: next, .. }) = ready.get(0) {
            // The switch frame and the frames a resume returns through:
            // a parked echo connection's run from 64 bytes below its stack
            // pointer to the first line of its buffer is ~570 bytes, ten
            // lines. Three (the switch frame only) left the returns to
            // miss; ten measured ~3 % more round trips at 1,000
            // connections (16 rotated pairs, 11 won) and left the queue
            // and ring benchmarks level.
            // SAFETY: a task in `ready` is owned by the live table until it
            // runs here, so the pointer is valid; this worker owns it.
            unsafe { next.get() }.prefetch_resume_lines(64, RESUME_LINES);
            if let Some(Ready { task: after, .. }) = ready.get(1) {
                // SAFETY: as above.
                let sp = unsafe { after.get() }.parked_sp.as_ptr();
                crate::task::prefetch(sp as *const u8);
            }
        }
        Some(p)
    }

    /// The oldest not-yet-started task, if any; while many more wait, the
    /// one after it is taken too and its lines fetched (`lookahead`).
    #[inline]
    fn pop_new(&self) -> Option<NewRef> {
        // SAFETY: `lookahead` is only touched on this worker's thread, and
        // never while another borrow of it is live (leaf accesses).
        let lookahead = unsafe { &mut *self.lookahead.get() };
        let t = match lookahead.take() {
            Some(t) => t,
            None => self.new.pop()?,
        };
        self.new_out.set(self.new_out.get().wrapping_add(1));
        if self.new.len() >= LOOKAHEAD_DEPTH {
            if let Some(next) = self.new.pop() {
                crate::pending::prefetch(&next);
                *lookahead = Some(next);
            }
        }
        Some(t)
    }

    /// Whether a task is held in `lookahead`.
    #[inline(always)]
    fn holds_lookahead(&self) -> bool {
        // SAFETY: as in `pop_new`.
        unsafe { (*self.lookahead.get()).is_some() }
    }

    /// How many tasks wait to start here (`new` and `lookahead`).
    #[inline]
    fn new_len(&self) -> usize {
        self.new.len() + usize::from(self.holds_lookahead())
    }

    /// A task that ended here whose memory a `Task<B>` made now can
    /// reuse (`recycle`), if one is at hand.
    #[inline]
    pub(crate) fn reusable<B>(&self) -> Option<TaskRef> {
        self.recycler.reuse::<B>()
    }

    /// Queues a `spawn_local` task, just made here and pinned here: the
    /// live table takes it now.
    pub(crate) fn schedule_local(&self, task: TaskRef) {
        let p = self.adopt(task);
        self.push_ready(p);
    }

    /// Moves a task into this worker's live table (it is about to start
    /// here, or is pinned here by `spawn_local`) and returns its pointer.
    fn adopt(&self, task: TaskRef) -> TaskPtr {
        let p = TaskPtr::of(&task);
        // SAFETY: the task was dequeued (or spawned) by this worker, which
        // now owns its local part; each borrow ends at once.
        if unsafe { task.local() }.live_key == NO_KEY {
            let key = self.my_shared().live.lock().insert(task);
            // Four billion live tasks would take over 700 GiB.
            let key = u32::try_from(key).expect("fewer than 2^32 live green threads");
            // SAFETY: as above; the live table keeps the task alive.
            unsafe { p.get().local() }.live_key = key;
        }
        p
    }

    /// The worker loop; returns at shutdown.
    pub(crate) fn run(self) {
        crate::sys::heap::pregrow_arena();
        self.run_until(|| false);
        self.shut_down_here();
    }

    /// Runs turns on the calling thread until `done()` or shutdown: a
    /// [`LocalRuntime`](crate::LocalRuntime)'s `block_on`, whose worker is
    /// the thread that owns it.
    pub(crate) fn run_until(&self, done: impl Fn() -> bool) {
        let _on = self.enter();
        let mut events = mio::Events::with_capacity(1024);
        while !done() && !self.shared.shutdown.load(Ordering::Acquire) {
            self.turn(&mut events);
        }
    }

    /// [`shut_down`](Worker::shut_down) on the calling thread: a
    /// `LocalRuntime`'s drop, on the thread that owns it.
    pub(crate) fn shut_down_here(&self) {
        let _on = self.enter();
        self.shut_down();
    }

    /// Makes this the calling thread's worker until the guard drops. The
    /// caller keeps `self` borrowed, and in place, for as long.
    fn enter(&self) -> Entered {
        crate::sys::overflow::install_on_thread();
        let prev = WORKER.with(|w| w.replace(self as *const Worker));
        Entered { prev }
    }

    fn turn(&self, events: &mut mio::Events) {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        let ws = self.my_shared();
        if ws.remote_pending.load(Ordering::Acquire) {
            self.drain_remote();
        }
        let task = if tick % 61 == 0 {
            self.fire_timers();
            self.poll_io(events, Some(Duration::ZERO));
            self.steal_global()
                .map(Next::New)
                .or_else(|| self.next_task())
        } else {
            self.next_task()
        };
        match task {
            Some(Next::Started(p)) => self.run_task(p),
            Some(Next::New(t)) => {
                // SAFETY: this worker dequeued it, on its own thread.
                if let Some(task) = unsafe { t.materialize_on(self) } {
                    let p = self.adopt(task);
                    self.run_task(p);
                }
                // The next one's pending lines were asked for when it was
                // taken (`pop_new`) and have arrived by now: its task, if
                // made at spawn, can be asked for without a stall.
                // SAFETY: as in `pop_new`; the borrow ends at once.
                if let Some(next) = unsafe { &*self.lookahead.get() } {
                    // SAFETY: this worker dequeued it; not materialized.
                    unsafe { next.prefetch_made() };
                }
            }
            None => self.sleep(events),
        }
    }

    /// Wakes the green threads whose timers are due. Called every 61
    /// turns and after every sleep, not every turn: a clock read (~50 ns on
    /// a virtual machine) per turn was ~1 % of a hello-world HTTP
    /// request's cost, and a due timer waits at most 61 task runs, as
    /// tokio's timer driver (polled with its I/O driver) does.
    fn fire_timers(&self) {
        // SAFETY: as in `arm_timer`.
        let timers = unsafe { &mut *self.timers.get() };
        if !timers.is_empty() {
            timers.fire(Instant::now());
        }
    }

    fn drain_remote(&self) {
        let ws = self.my_shared();
        ws.remote_pending.store(false, Ordering::SeqCst);
        let batch = std::mem::take(&mut *ws.remote.lock());
        for t in batch {
            self.push_ready(t);
        }
    }

    /// The next task to run, in the order the tasks became runnable here
    /// (`Ready`): the oldest ready task unless new ones queued before it
    /// are still to start. The common turns are inlined into the loop; the
    /// rest, which steals or finds nothing, is out of line.
    #[inline(always)]
    fn next_task(&self) -> Option<Next> {
        // SAFETY: as in `push_ready`; the borrow ends at once.
        if let Some(r) = unsafe { (*self.ready.get()).get(0) } {
            if r.waits_for_new(self.new_out.get()) {
                // `None` when `new` is empty: then the ready one runs.
                if let Some(t) = self.pop_new() {
                    return Some(Next::New(t));
                }
            }
            return self.pop_ready().map(Next::Started);
        }
        self.next_task_slow()
    }

    /// `next_task` with nothing ready: new, then the injector, then the
    /// siblings.
    #[inline(never)]
    fn next_task_slow(&self) -> Option<Next> {
        self.pop_new()
            .or_else(|| self.steal_global())
            .or_else(|| self.steal_siblings())
            .map(Next::New)
    }

    /// Counts the tasks a steal moved into `new` (it held `before`) as
    /// entered (`new_in`): a task woken after them waits for them.
    #[inline]
    fn count_in(&self, before: usize) {
        let moved = self.new.len().saturating_sub(before) as u32;
        self.new_in.set(self.new_in.get().wrapping_add(moved));
    }

    fn steal_global(&self) -> Option<NewRef> {
        loop {
            let before = self.new.len();
            match self.shared.injector.steal_batch_and_pop(&self.new) {
                Steal::Success(t) => {
                    self.count_in(before);
                    return Some(t);
                }
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    fn steal_siblings(&self) -> Option<NewRef> {
        let n = self.shared.stealers.len();
        for k in 1..n {
            let victim = (self.index + k) % n;
            loop {
                let before = self.new.len();
                match self.shared.stealers[victim].steal_batch_and_pop(&self.new) {
                    Steal::Success(t) => {
                        self.count_in(before);
                        return Some(t);
                    }
                    Steal::Empty => break,
                    Steal::Retry => continue,
                }
            }
        }
        None
    }

    /// Whether another thread has handed this worker something to do (or
    /// asked it to shut down); its own flags are loaded with `order`.
    #[inline]
    fn work_visible(&self, order: Ordering) -> bool {
        self.my_shared().remote_pending.load(order)
            || !self.shared.injector.is_empty()
            || self.shared.stealers.iter().any(|s| !s.is_empty())
            || self.shared.shutdown.load(order)
    }

    /// Before sleeping, a worker of a multi-worker runtime looks for work
    /// for up to [`SPIN`]: a green thread woken from another worker then
    /// costs a cache-line transfer instead of an eventfd write and a
    /// futex wake (microseconds). It polls I/O without blocking every few
    /// microseconds meanwhile, so readiness is not delayed by the spin.
    /// Returns whether work turned up.
    fn spin_for_work(&self, events: &mut mio::Events) -> bool {
        if self.shared.workers.len() < 2 {
            return false;
        }
        let mut until = Instant::now() + SPIN;
        // SAFETY: as in `arm_timer`.
        if let Some(d) = unsafe { (*self.timers.get()).next_deadline() } {
            until = until.min(d);
        }
        loop {
            for _ in 0..SPIN_CHECKS {
                if self.work_visible(Ordering::Relaxed) {
                    return true;
                }
                std::hint::spin_loop();
            }
            self.poll_io(events, Some(Duration::ZERO));
            // SAFETY: as in `push_ready`.
            if unsafe { !(*self.ready.get()).is_empty() } {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
        }
    }

    /// Sleeps in `poll` until a wake, I/O or the next timer.
    fn sleep(&self, events: &mut mio::Events) {
        if self.spin_for_work(events) {
            return;
        }
        let ws = self.my_shared();
        // Clear the wake flag *before* announcing the sleep, never after the
        // previous one: a waker that saw the previous sleep may set it late,
        // and its write to the mio waker may then be eaten by a non-blocking
        // poll (the `tick % 61` one) — a flag still set from then would make
        // every waker of this sleep skip its write, and the wake would be
        // lost. Cleared here, a set flag always means a write to the mio
        // waker made after this point, which the `poll` below will see.
        ws.wake_pending.store(false, Ordering::SeqCst);
        ws.sleeping.store(true, Ordering::SeqCst);
        self.shared.idle.fetch_add(1, Ordering::SeqCst);
        if !self.work_visible(Ordering::SeqCst) {
            // SAFETY: as in `arm_timer`.
            let next = unsafe { (*self.timers.get()).next_deadline() };
            let timeout = next.map(|d| d.saturating_duration_since(Instant::now()));
            self.poll_io(events, timeout);
        }
        self.shared.idle.fetch_sub(1, Ordering::SeqCst);
        ws.sleeping.store(false, Ordering::SeqCst);
        self.fire_timers();
    }

    fn poll_io(&self, events: &mut mio::Events, timeout: Option<Duration>) {
        let mut poll = self.poll.borrow_mut();
        match poll.poll(events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return,
            Err(e) => {
                tracing::error!("grove: worker {} poll failed: {e}", self.index);
                return;
            }
        }
        drop(poll);
        for ev in events.iter() {
            if ev.token() != WAKE_TOKEN {
                // SAFETY: every other token of this `Poll` is the address of
                // a registered source's `ScheduledIo`, whose reactor
                // reference is only dropped below, after this batch.
                unsafe { crate::reactor::dispatch(ev) };
            }
        }
        let ws = self.my_shared();
        if ws.released_pending.load(Ordering::Acquire) {
            ws.released_pending.store(false, Ordering::Relaxed);
            let released = std::mem::take(&mut *ws.released.lock());
            drop(released);
        }
    }

    /// Makes the coroutine of a task that has not run yet, on a stack from
    /// the pool; false if it must not run (killed before it started, no
    /// stack, or already finished), in which case it was finished here.
    /// Out of line: it runs once per task, `run_task` on every switch.
    #[inline(never)]
    fn start(&self, p: TaskPtr) -> bool {
        // SAFETY: as in `run_task`.
        let task = unsafe { p.get() };
        // SAFETY: as in `run_task`; the borrow ends before any resume.
        let local = unsafe { task.local() };
        if local.entered {
            return false;
        }
        local.entered = true;
        if task.killed.load(Ordering::Acquire) {
            // Killed before it started: it never runs.
            local.reservation = None;
            // SAFETY: we own the task and its body never ran.
            unsafe { task.discard_body(None) };
            self.finish(task);
            return false;
        }
        // SAFETY: as above.
        let slots = unsafe { &mut *self.slots.get() };
        let queued = self.new_len();
        self.sharing.set(slots.sharing(queued));
        // SAFETY: `task` is ours and starting; `last_suspended` is a task of
        // this worker that suspended and has not finished (`finish` forgets
        // it), and no borrow of either's worker-only part is live.
        let stack = unsafe { slots.take(task, self.last_suspended.get(), queued) };
        // Started (or failed to): no longer pending.
        local.reservation = None;
        let stack = match stack {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("grove: green thread {} could not start: {e}", task.id);
                // SAFETY: as above.
                unsafe { task.discard_body(Some(e)) };
                self.finish(task);
                return false;
            }
        };
        task.guard_lo
            .store(Slots::guard_lo(&stack), Ordering::Relaxed);
        task.owner.store(self.index as u32, Ordering::Release);
        local.coroutine = Some(Coroutine::with_stack(stack, move |y, ()| {
            // SAFETY: `p` is the task being resumed; its worker's live
            // table holds it across every resume, and this runs inside
            // one, on the owning worker, once (the coroutine is made once).
            unsafe {
                let t = p.get();
                t.local().yielder = y as *const _;
                t.run_body();
            }
        }));
        true
    }

    /// Resumes a task once (starting it first if it has not run yet) and
    /// files it according to how it suspended.
    fn run_task(&self, p: TaskPtr) {
        // SAFETY: `p` came from `ready`/`remote` or `adopt`, so the task is
        // in this worker's live table until `finish` below.
        let task = unsafe { p.get() };
        // SAFETY: we dequeued the task, so we are its owner and the only one
        // touching its local part; the borrow ends at once.
        if unsafe { task.local() }.coroutine.is_none() && !self.start(p) {
            return;
        }
        if task.is_evicted() {
            // SAFETY: only this thread touches its slots; `task` is about to
            // run and nothing borrows a task's worker-only part here.
            unsafe { (*self.slots.get()).restore(task) };
        }
        task.state.store(RUNNING, Ordering::Release);
        park::set_current(Some(NonNull::from(task)));
        let ws = self.my_shared();
        let watch = self.shared.config.max_blocking_time.is_some();
        if watch {
            ws.running_since
                .store(self.shared.nanos_since_start(), Ordering::Relaxed);
            ws.running_id.store(task.id, Ordering::Relaxed);
        }
        // SAFETY: as above; nothing else borrows `local` during the resume
        // except the task itself, through `current_task`, on this thread.
        let co = unsafe { task.local().coroutine.as_mut() }.expect("started task has a coroutine");
        let result = co.resume(());
        if watch {
            ws.running_id.store(0, Ordering::Relaxed);
        }
        park::set_current(None);
        if !matches!(result, CoroutineResult::Return(())) {
            self.last_suspended.set(Some(NonNull::from(task)));
        }
        match result {
            CoroutineResult::Yield(Suspend::Park) => {
                if task
                    .state
                    .compare_exchange(RUNNING, PARKED, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
                {
                    // Woken while it was still running: run it again later.
                    task.state.store(SCHEDULED, Ordering::Release);
                    self.push_ready(p);
                }
            }
            CoroutineResult::Yield(Suspend::Yield) => {
                // Behind everything runnable now, new tasks included
                // (`Ready`): gevent's `sleep(0)`.
                task.state.store(SCHEDULED, Ordering::Release);
                self.push_ready(p);
            }
            CoroutineResult::Return(()) => self.finish(task),
        }
    }

    /// Releases a finished (or never started) task's coroutine, stack and
    /// table slot. The slot held the last reference this worker had: the
    /// task must not be touched after this.
    fn finish(&self, task: &Task) {
        task.state.store(DONE, Ordering::Release);
        // SAFETY: as in `run_task`; the borrow ends at once.
        if let Some(co) = unsafe { task.local() }.coroutine.take() {
            // SAFETY: only this thread touches its slots; the task has
            // finished and nothing borrows its worker-only part.
            unsafe { (*self.slots.get()).release(co.into_stack(), task) };
        }
        if self.last_suspended.get() == Some(NonNull::from(task)) {
            self.last_suspended.set(None);
        }
        // SAFETY: as in `run_task`.
        let key = std::mem::replace(&mut unsafe { task.local() }.live_key, NO_KEY);
        if key != NO_KEY {
            let owned = self.my_shared().live.lock().try_remove(key as usize);
            if let Some(t) = owned {
                self.recycler.bury(t);
            }
        }
    }

    /// Shutdown: kill every task this worker owns and run them until they
    /// have unwound; drop what never started.
    fn shut_down(&self) {
        let mut events = mio::Events::with_capacity(64);
        // Unstarted tasks: drop their bodies (their joiners see "killed").
        while let Some(t) = self.pop_new() {
            drop_unstarted(t);
        }
        drain_injector(&self.shared);
        let started: Vec<TaskRef> = self
            .my_shared()
            .live
            .lock()
            .iter()
            .map(|(_, t)| t.clone())
            .collect();
        for t in &started {
            t.kill();
        }
        // Run until every started task has unwound. A task that never reaches
        // a switch point again would keep us here; that is documented on
        // `Runtime` (drop) as the one way to hang a shutdown.
        let deadline = Instant::now() + self.shared.config.shutdown_grace;
        loop {
            self.drain_remote();
            // SAFETY: as in `arm_timer`.
            unsafe { (*self.timers.get()).fire(Instant::now()) };
            if let Some(p) = self.pop_ready() {
                self.run_task(p);
                continue;
            }
            if self.my_shared().live.lock().is_empty() || Instant::now() >= deadline {
                break;
            }
            self.poll_io(&mut events, Some(Duration::from_millis(10)));
        }
        // The run queues' pointers are only valid while the live table
        // holds the tasks: forget them first.
        // SAFETY: as in `push_ready`.
        unsafe { (*self.ready.get()).clear() };
        self.my_shared().remote.lock().clear();
        // Whatever is left is leaked rather than dropped here: dropping a
        // suspended coroutine would force-unwind it with a payload our root
        // catch could swallow. Its memory goes with the process.
        let left: Vec<TaskRef> = self.my_shared().live.lock().drain().collect();
        for t in left {
            // SAFETY: as in `run_task`.
            if let Some(co) = unsafe { t.local() }.coroutine.take() {
                std::mem::forget(co);
            }
            // Its joiner learns that it was killed rather than waiting on.
            // SAFETY: we own the task; its closure is gone (taken when it
            // started), so this only completes the packet.
            unsafe { t.discard_body(None) };
            // Leaked too, never freed: the task is still listed on whatever
            // it waits for, and wait lists borrow their waiters
            // (`sync::waiters`, rule 2). A later notify wakes a done task,
            // which does nothing.
            std::mem::forget(t);
        }
        // SAFETY: as in `arm_timer`.
        unsafe { (*self.timers.get()).clear() };
    }
}

/// Discards a dequeued green thread that never started: its joiner sees
/// "killed". Any thread: a queued one has a `Send` closure.
fn drop_unstarted(t: NewRef) {
    // SAFETY: the caller dequeued it, so nothing else touches it.
    unsafe { t.discard_unstarted() };
}

/// Discards every task left in the global queue of a runtime that is
/// shutting down, so that nobody joins one forever.
pub(crate) fn drain_injector(shared: &Shared) {
    loop {
        match shared.injector.steal() {
            Steal::Success(t) => drop_unstarted(t),
            Steal::Empty => return,
            Steal::Retry => continue,
        }
    }
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("index", &self.index)
            .finish()
    }
}

/// A reference to the green thread running on this thread, if any.
pub(crate) fn current_task_ref() -> Option<TaskRef> {
    // SAFETY: `current_task` returns a task held by an Arc.
    park::current_task().map(|t| unsafe { clone_task_ref(t) })
}
