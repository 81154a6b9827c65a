//! Blocking, for both kinds of caller: the one switch point every grove
//! primitive goes through.
//!
//! Every primitive that waits (join, sleep, queue get, lock, receive, socket
//! I/O) is written once, as a loop around [`park`]:
//!
//! ```text
//!   lock state ─► condition holds? ─yes─► take it, return
//!        │ no
//!        ▼
//!   push current_waker() onto the wait list, unlock
//!        │
//!   park(kind, deadline)      ◄── may unwind: kill, or an expired timeout
//!        │
//!   lock state, forget our waker if still listed, loop
//! ```
//!
//! * Inside a green thread, `park` suspends it; its [`Waker`] schedules it
//!   again on its own worker (a plain push from that worker, a remote push
//!   plus a mio wake from anywhere else).
//! * On a plain OS thread (main, a test, a `spawn_blocking` thread, code
//!   running inside a [`greenlet`](crate::greenlet)), `park` blocks the OS
//!   thread on a parking_lot condition variable; its `Waker` signals that.
//!
//! `park` may return spuriously; callers re-check their condition. It never
//! loses a wake: a wake that arrives before the park makes the park return
//! at once (a token, as `std::thread::park` has).
//!
//! Every return from `park` (and from `yield_now`) is a *switch point*: it
//! checks whether the green thread was killed or whether one of its
//! `timeout` scopes has expired, and if so unwinds with a private payload
//! that `JoinHandle::join` or `timeout` recognise. Wait-list entries live in
//! the primitive (on the heap), never on the waiting stack.

use std::cell::{Cell, RefCell};
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use crate::task::{Suspend, Task, TaskRef, TimeoutFrame};

/// What a parked green thread waits on, as `dump()` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum WaitKind {
    /// Not waiting.
    Running = 0,
    /// `sleep`.
    Sleep,
    /// `JoinHandle::join`.
    Join,
    /// `Event::wait`.
    Event,
    /// `AsyncResult::get`.
    AsyncResult,
    /// `Queue::get` / `Queue::put`.
    Queue,
    /// `Mutex::lock`.
    Lock,
    /// `Semaphore::acquire`.
    Semaphore,
    /// `Group::join` / `Pool::spawn`.
    Group,
    /// Socket readiness.
    Io,
    /// An actor's receive.
    Receive,
    /// A `spawn_blocking` job.
    Blocking,
    /// Anything else.
    Other,
}

impl WaitKind {
    /// The name `dump()` prints.
    pub(crate) fn name(self) -> &'static str {
        match self {
            WaitKind::Running => "-",
            WaitKind::Sleep => "sleep",
            WaitKind::Join => "join",
            WaitKind::Event => "event",
            WaitKind::AsyncResult => "async-result",
            WaitKind::Queue => "queue",
            WaitKind::Lock => "lock",
            WaitKind::Semaphore => "semaphore",
            WaitKind::Group => "group",
            WaitKind::Io => "io",
            WaitKind::Receive => "receive",
            WaitKind::Blocking => "blocking",
            WaitKind::Other => "park",
        }
    }

    /// The inverse of `as u8`.
    pub(crate) fn from_u8(v: u8) -> WaitKind {
        const ALL: [WaitKind; 13] = [
            WaitKind::Running,
            WaitKind::Sleep,
            WaitKind::Join,
            WaitKind::Event,
            WaitKind::AsyncResult,
            WaitKind::Queue,
            WaitKind::Lock,
            WaitKind::Semaphore,
            WaitKind::Group,
            WaitKind::Io,
            WaitKind::Receive,
            WaitKind::Blocking,
            WaitKind::Other,
        ];
        ALL.get(v as usize).copied().unwrap_or(WaitKind::Other)
    }
}

/// Wakes one blocked context: a green thread or an OS thread.
#[derive(Clone, Debug)]
pub(crate) enum Waker {
    /// A green thread.
    Green(OwnedTask),
    /// A plain OS thread.
    Os(Arc<OsParker>),
}

/// A counted reference to a task, like [`TaskRef`], kept as the pointer
/// `Arc::into_raw` gives.
///
/// Reaching the task through an `Arc<Task>` (an unsized `Task<dyn Body>`)
/// first reads the body's alignment from its vtable to find where the
/// task starts; perf showed that dependent load as the hottest instruction
/// of a mailbox wake. This pointer already points at the task, so a wake
/// reads the task's state directly; only a clone or a drop goes through
/// the `Arc`.
pub(crate) struct OwnedTask(NonNull<Task>);

impl OwnedTask {
    /// Takes over `t`'s count.
    pub(crate) fn new(t: TaskRef) -> OwnedTask {
        // SAFETY: `Arc::into_raw` never returns null.
        OwnedTask(unsafe { NonNull::new_unchecked(Arc::into_raw(t) as *mut Task) })
    }

    /// The task.
    #[inline(always)]
    pub(crate) fn get(&self) -> &Task {
        // SAFETY: the pointer came from `Arc::into_raw` and this value owns
        // one strong count (released in `drop`), so the task is alive.
        unsafe { self.0.as_ref() }
    }
}

impl Clone for OwnedTask {
    fn clone(&self) -> OwnedTask {
        // SAFETY: the pointer came from `Arc::into_raw` and is alive (see
        // `get`); one more count for the clone, released by its `drop`.
        unsafe { Arc::increment_strong_count(self.0.as_ptr() as *const Task) };
        OwnedTask(self.0)
    }
}

impl Drop for OwnedTask {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Arc::into_raw`, and this value owns
        // the count it gives back.
        drop(unsafe { Arc::from_raw(self.0.as_ptr() as *const Task) });
    }
}

impl std::fmt::Debug for OwnedTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

// SAFETY: an `OwnedTask` is an `Arc<Task>` in another form, and `Task` is
// `Send + Sync`.
unsafe impl Send for OwnedTask {}
// SAFETY: as above.
unsafe impl Sync for OwnedTask {}

impl Waker {
    /// Makes the context's current or next `park` return. Any thread.
    pub(crate) fn wake(self) {
        self.wake_by_ref();
    }

    /// [`wake`](Waker::wake) without giving the waker up: no reference
    /// count traffic either way (a scheduled task is kept alive by its
    /// worker's live table).
    #[inline]
    pub(crate) fn wake_by_ref(&self) {
        match self {
            Waker::Green(t) => t.get().wake(),
            Waker::Os(p) => p.unpark(),
        }
    }

    /// Whether both wake the same context.
    pub(crate) fn same(&self, other: &Waker) -> bool {
        match (self, other) {
            (Waker::Green(a), Waker::Green(b)) => std::ptr::addr_eq(a.0.as_ptr(), b.0.as_ptr()),
            (Waker::Os(a), Waker::Os(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// How a wait list names a waiting context: a green thread by a borrowed
/// pointer (so registering and waking touch no reference count), a plain
/// OS thread by its parker.
///
/// The pointer carries no ownership: the wait-list protocol
/// (`sync::waiters`) is what keeps the task alive while it is listed.
#[derive(Debug)]
pub(crate) enum Waiter {
    /// A green thread, borrowed.
    Green(NonNull<Task>),
    /// A plain OS thread.
    Os(Arc<OsParker>),
}

// SAFETY: the only use of the pointer is `Task::wake`, which any thread may
// call (`Task` is `Send + Sync`); `Waiter` adds no thread-bound state.
unsafe impl Send for Waiter {}
// SAFETY: as above; `wake` takes `&self`.
unsafe impl Sync for Waiter {}

impl Waiter {
    /// The waiter for the calling context.
    #[inline]
    pub(crate) fn current() -> Waiter {
        match current_task() {
            Some(t) => Waiter::Green(NonNull::from(t)),
            None => Waiter::Os(OS_PARKER.with(Arc::clone)),
        }
    }

    /// The identity of the context: its task's or its parker's address.
    /// Unique among live contexts (both are heap allocations the waiter
    /// keeps alive or that outlive its listing), which is what lets a
    /// wait list use it as the entry's id.
    #[inline(always)]
    pub(crate) fn id(&self) -> usize {
        match self {
            Waiter::Green(t) => t.as_ptr().cast::<u8>() as usize,
            Waiter::Os(p) => Arc::as_ptr(p) as usize,
        }
    }

    /// Makes the context's current or next `park` return.
    ///
    /// # Safety
    ///
    /// A `Green` waiter's task must not have been freed: the caller holds
    /// the lock of the wait list the waiter is (or was, a moment ago, under
    /// the same lock hold) listed on. Inlined into every notifier: the
    /// green arm is a state change and a queue push.
    #[inline(always)]
    pub(crate) unsafe fn wake(&self) {
        match self {
            // SAFETY: the caller's obligation.
            Waiter::Green(t) => unsafe { t.as_ref() }.wake(),
            Waiter::Os(p) => p.unpark(),
        }
    }
}

/// The parker of a plain OS thread: a token, a lock and a condition variable.
#[derive(Debug, Default)]
pub(crate) struct OsParker {
    /// The wake token.
    notified: Mutex<bool>,
    /// Signalled by `unpark`.
    cv: Condvar,
}

impl OsParker {
    fn park(&self, deadline: Option<Instant>) {
        let mut notified = self.notified.lock();
        if !*notified {
            match deadline {
                Some(d) => {
                    self.cv.wait_until(&mut notified, d);
                }
                None => self.cv.wait(&mut notified),
            }
        }
        *notified = false;
    }

    fn unpark(&self) {
        *self.notified.lock() = true;
        self.cv.notify_one();
    }
}

thread_local! {
    /// The green thread running on this OS thread, or null.
    static CURRENT: Cell<Option<NonNull<Task>>> = const { Cell::new(None) };
    /// This OS thread's parker, made on first use.
    static OS_PARKER: Arc<OsParker> = Arc::new(OsParker::default());
    /// Active `timeout` scopes of this OS thread (outside green threads).
    static OS_TIMEOUTS: RefCell<Vec<TimeoutFrame>> = const { RefCell::new(Vec::new()) };
}

/// Sets the green thread running on this OS thread (the worker does this
/// around each resume).
#[inline]
pub(crate) fn set_current(task: Option<NonNull<Task>>) {
    CURRENT.with(|c| c.set(task));
}

/// The green thread running on this OS thread, as a raw pointer (None if
/// none). Valid while the task runs: its worker holds a reference.
#[inline]
pub(crate) fn current_ptr() -> Option<NonNull<Task>> {
    CURRENT.with(|c| c.get())
}

/// The green thread whose stack this code runs on, if any.
///
/// Code running inside a hand-switched [`greenlet`](crate::greenlet) is on
/// another stack than its green thread's, so it counts as a plain thread.
#[inline]
pub(crate) fn current_task() -> Option<&'static Task> {
    let p = current_ptr()?;
    if crate::greenlet::in_greenlet() {
        None
    } else {
        // SAFETY: a set CURRENT is the task the worker is running right
        // now on this thread; the worker's live table holds a `TaskRef` to
        // it until after the resume returns, which is after any code of the task has finished
        // using this reference (the reference never escapes a switch point:
        // callers use it only between two suspensions). The 'static lifetime
        // is a private convenience, never handed to users.
        Some(unsafe { p.as_ref() })
    }
}

/// Whether the caller runs inside a green thread.
#[inline]
pub(crate) fn in_green_thread() -> bool {
    current_task().is_some()
}

/// A waker for the calling context.
pub(crate) fn current_waker() -> Waker {
    match current_task() {
        // SAFETY: `current_task` points at a live task held by an Arc (the
        // worker's `TaskRef`); incrementing its strong count is sound.
        Some(t) => Waker::Green(OwnedTask::new(unsafe { clone_task_ref(t) })),
        None => Waker::Os(OS_PARKER.with(Arc::clone)),
    }
}

/// Makes a new `TaskRef` from a reference to a task known to live in an Arc.
///
/// # Safety
///
/// `t` must point into a live `Arc<Task>`.
pub(crate) unsafe fn clone_task_ref(t: &Task) -> TaskRef {
    let p = t as *const Task;
    // SAFETY: `p` came from `Arc::as_ptr` of a live Arc (the caller's
    // obligation), so bumping the count and rebuilding an Arc is sound.
    unsafe {
        Arc::increment_strong_count(p);
        Arc::from_raw(p)
    }
}

/// Suspends the calling green thread (or parks the calling OS thread) until
/// woken or until `deadline`, then checks for kill and expired timeouts.
///
/// May return spuriously. May unwind (kill, timeout).
///
/// Always inlined, with `park_green` below it and the waits above it that
/// a socket read goes through (`park_or`, `ScheduledIo::wait`,
/// `Cooperative::wait`): a parked green thread's frames between its wait
/// and the switch are what its next resume reads back cold (each frame's
/// return address and saved registers), so every frame less is a cheaper
/// resume. Collapsed into its caller (`Cooperative::read_stream_with` for
/// a socket read), that chain took a 1,000-connection echo server from
/// ~9 cold stack lines a resume to ~2 (cache simulation) and 3.6–4 % more
/// round trips per CPU-second (docs/benchmarks.md). The OS-thread path
/// stays out of line.
#[inline(always)]
pub(crate) fn park(kind: WaitKind, deadline: Option<Instant>) {
    // A kill or timeout that was caught and ignored strikes again on entry,
    // before the context goes to sleep with nobody left to wake it.
    match current_task() {
        Some(task) => {
            check_task(task);
            park_green(task, kind, deadline);
            check_task(task);
        }
        None => park_os(deadline),
    }
}

/// [`park`] for a plain OS thread (or a greenlet): out of line, so that
/// its thread-local lookups stay out of every green thread's wait.
#[inline(never)]
fn park_os(deadline: Option<Instant>) {
    check_os();
    let d = OS_TIMEOUTS.with(|t| earliest(deadline, &t.borrow()));
    OS_PARKER.with(|p| p.park(d));
    check_os();
}

fn earliest(deadline: Option<Instant>, frames: &[TimeoutFrame]) -> Option<Instant> {
    frames.iter().map(|f| f.deadline).chain(deadline).min()
}

#[inline(always)]
fn park_green(task: &Task, kind: WaitKind, deadline: Option<Instant>) {
    // SAFETY: we are the task, on its owning worker, between switch points;
    // the reference is dropped before the suspension.
    let (yielder, effective) = unsafe {
        let local = task.local();
        let effective = if local.timeouts.is_empty() {
            deadline
        } else {
            earliest(deadline, local.timeouts.as_slice())
        };
        (local.yielder, effective)
    };
    task.wait_kind.store(kind as u8, Ordering::Relaxed);
    if let Some(d) = effective {
        // A timer of an earlier park that has not fired yet and fires no
        // later than `d` serves this park too: a socket read with a 30 s
        // timeout, done a thousand times a second, arms one timer every
        // 30 s instead of one per read. Firing early is a spurious wake,
        // which every caller of `park` re-checks (and parks again, with a
        // timer of its own, since the old one has then fired).
        // SAFETY: as above.
        let timer_at = unsafe { task.local().timer_at };
        let stamp = task.shared.stamp(d);
        if timer_at == 0 || timer_at > stamp {
            let gen = task.park_gen.load(Ordering::Relaxed) + 1;
            task.park_gen.store(gen, Ordering::Relaxed);
            // SAFETY: as above.
            unsafe { task.local().timer_at = stamp };
            // SAFETY: as in `current_waker`.
            crate::worker::arm_timer(d, unsafe { clone_task_ref(task) }, gen, timer_at != 0);
        }
    }
    // Where the stack is now: for the wake to prefetch
    // (`Task::prefetch_resume`), and the low end of what an eviction
    // copies (`slice`).
    task.parked_sp.store(stack_pointer(), Ordering::Relaxed);
    // SAFETY: `yielder` was set by the coroutine's root for this task and
    // lives at the base of its stack for as long as the coroutine exists; we
    // are running on that coroutine (current_task excludes greenlet stacks).
    unsafe { (*yielder).suspend(Suspend::Park) };
    task.wait_kind
        .store(WaitKind::Running as u8, Ordering::Relaxed);
}

/// The stack pointer of the caller's frame (inlined into it). What a
/// switch from there pushes lies at most `slice::SWITCH_MARGIN` below.
#[inline(always)]
fn stack_pointer() -> usize {
    let sp: usize;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: reads a register into a fresh output; touches no memory.
    unsafe {
        std::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above.
    unsafe {
        std::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        // A local of this (inlined) frame: at or above the stack pointer.
        let here = 0u8;
        sp = std::ptr::addr_of!(here) as usize;
    }
    sp
}

/// Lends the calling green thread's stack to others until the returned
/// guard drops: something outside it will point into its stack while it
/// waits (`Queue`'s hand-off slot), so it must not be evicted meanwhile
/// (`slice`, invariant 3). `None` on a stack that is shared, or on a
/// worker that shares stacks (the caller then waits without pointing into
/// its stack, and may be evicted); on a plain OS thread, whose stack never
/// moves, a guard that does nothing.
#[inline]
pub(crate) fn lend_stack() -> Option<StackLoan> {
    match current_task() {
        Some(task) => {
            // SAFETY: as in `park_green`; the borrow ends at once.
            let st = unsafe { &mut task.local().slice };
            if st.shared || crate::worker::sharing_stacks() {
                return None;
            }
            st.pins += 1;
            Some(StackLoan(Some(NonNull::from(task))))
        }
        None => Some(StackLoan(None)),
    }
}

/// A pin from [`lend_stack`], released when dropped (also by an unwind).
pub(crate) struct StackLoan(Option<NonNull<Task>>);

impl Drop for StackLoan {
    #[inline]
    fn drop(&mut self) {
        if let Some(t) = self.0 {
            // SAFETY: made by `lend_stack` in this green thread, which is
            // running (it drops its own guard), so it is live and ours.
            unsafe { t.as_ref().local().slice.pins -= 1 };
        }
    }
}

/// `gevent.sleep(0)`: lets every other ready green thread run once, then
/// continues. On a plain OS thread it is `std::thread::yield_now`.
pub(crate) fn yield_now() {
    match current_task() {
        Some(task) => {
            check_task(task);
            // SAFETY: as in `park_green`.
            let yielder = unsafe { task.local().yielder };
            // As in `park_green`: every suspension says where it is.
            task.parked_sp.store(stack_pointer(), Ordering::Relaxed);
            // SAFETY: as in `park_green`.
            unsafe { (*yielder).suspend(Suspend::Yield) };
            check_task(task);
        }
        None => {
            check_os();
            std::thread::yield_now();
            check_os();
        }
    }
}

/// The payload that unwinds a killed green thread.
#[derive(Debug)]
pub(crate) struct KillPayload;

/// The payload that unwinds a green thread out of an expired `timeout`.
#[derive(Debug)]
pub(crate) struct ElapsedPayload(pub(crate) u64);

/// The switch-point check: unwinds if killed or if a timeout scope expired.
///
/// Does nothing while the thread is already unwinding (a destructor that
/// blocks during an unwind must not start a second one, which would abort).
pub(crate) fn check_interrupts() {
    match current_task() {
        Some(task) => check_task(task),
        None => check_os(),
    }
}

/// The check for a green thread: two loads on the fast path.
#[inline]
fn check_task(task: &Task) {
    // SAFETY: as in `park_green`; the borrow ends at once.
    let timeouts = unsafe { !task.local().timeouts.is_empty() };
    if task.killed.load(Ordering::Relaxed) || timeouts {
        check_task_slow(task);
    }
}

#[cold]
fn check_task_slow(task: &Task) {
    if std::thread::panicking() {
        return;
    }
    if task.killed.load(Ordering::Relaxed) {
        std::panic::resume_unwind(Box::new(KillPayload));
    }
    // SAFETY: as in `park_green`; the borrow ends before unwinding.
    let expired = unsafe { expired_frame(task.local().timeouts.as_slice()) };
    if let Some(id) = expired {
        std::panic::resume_unwind(Box::new(ElapsedPayload(id)));
    }
}

/// The check for a plain OS thread (only timeouts apply).
fn check_os() {
    if std::thread::panicking() {
        return;
    }
    let expired = OS_TIMEOUTS.with(|t| expired_frame(&t.borrow()));
    if let Some(id) = expired {
        std::panic::resume_unwind(Box::new(ElapsedPayload(id)));
    }
}

/// The outermost expired scope, if any.
fn expired_frame(frames: &[TimeoutFrame]) -> Option<u64> {
    if frames.is_empty() {
        return None;
    }
    let now = Instant::now();
    frames.iter().find(|f| f.deadline <= now).map(|f| f.id)
}

/// Runs `f` with the calling context's timeout frames.
pub(crate) fn with_timeouts<R>(f: impl FnOnce(&mut Vec<TimeoutFrame>) -> R) -> R {
    match current_task() {
        // SAFETY: as in `park_green`; `f` does not switch.
        Some(task) => f(unsafe { task.local().timeouts.vec_mut() }),
        None => OS_TIMEOUTS.with(|t| f(&mut t.borrow_mut())),
    }
}
