//! A runtime whose one worker is the thread that owns it: tokio's
//! current-thread runtime, for grove.
//!
//! A [`LocalRuntime`] starts no worker thread. Its worker (the same
//! `Worker` as a [`Runtime`](crate::Runtime)'s, with its run queues, timers
//! and event loop) runs on the calling thread inside
//! [`block_on`](LocalRuntime::block_on), until the green thread that call
//! made has finished, and in `drop`, which kills what is left. Between
//! calls nothing runs: green threads spawned meanwhile, and wakes from
//! other threads, wait for the next `block_on`.
//!
//! # Invariants
//!
//! * The worker only ever runs on the thread that built the runtime: the
//!   type is neither `Send` nor `Sync`. That is what makes it sound: a
//!   green thread's stack may hold `!Send` values (an `Rc` it made), which
//!   must not reach another OS thread, and a green thread never changes
//!   threads, here as on a `Runtime`'s workers.
//! * While it runs, the worker is borrowed in place (`RefCell`), and the
//!   thread-local "current worker" points at it only for that borrow
//!   (`Worker::enter`). `block_on` on a thread that is running a worker
//!   already (from a green thread, of this runtime or another) panics
//!   rather than nest a second worker loop inside a green thread.
//!
//! One thread in all is what this is for: a process whose only thread is
//! the worker spares the kernel the file reference count it takes on
//! every system call of a process that shares its descriptor table (an
//! echo server's `fdget`/`fput`, ~30 ns a round trip at 100 connections,
//! `docs/benchmarks.md`).

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::runtime::{Config, Shared};
use crate::spawn::spawn_in;
use crate::worker::Worker;

/// A grove runtime whose one worker is the thread that owns it: its green
/// threads run only inside [`block_on`](LocalRuntime::block_on) (and in
/// `drop`, which kills them), on this thread. tokio calls this a
/// current-thread runtime.
///
/// Build one with [`RuntimeBuilder::build_local`](crate::RuntimeBuilder::build_local).
/// Inside `block_on`, `grove::spawn`, sockets, timers and the other free
/// functions use it, as they use a [`Runtime`](crate::Runtime) inside its
/// `block_on`. Green threads spawned outside `block_on` (with
/// [`spawn`](LocalRuntime::spawn)), and green threads woken from other OS
/// threads, run at the next `block_on`; so do not wait for one of them on
/// this thread outside `block_on` (its `join` would wait forever).
///
/// It is neither `Send` nor `Sync`: a green thread stays on one OS thread
/// for life, and this runtime's are on the thread that built it.
///
/// ```
/// let rt = grove_runtime::Runtime::builder().build_local()?;
/// let h = rt.spawn(|| "spawned before");
/// let v = rt.block_on(move || {
///     let a = h.join().unwrap();
///     let b = grove_runtime::spawn(|| "inside").join().unwrap();
///     format!("{a}, {b}")
/// });
/// assert_eq!(v, "spawned before, inside");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct LocalRuntime {
    /// What its worker shares with wakers on other threads.
    shared: Arc<Shared>,
    /// The worker, borrowed in place while it runs.
    worker: RefCell<Worker>,
    /// Neither `Send` nor `Sync` (see the module docs).
    _on_this_thread: PhantomData<*const ()>,
}

impl LocalRuntime {
    /// The runtime of `config` (one worker), its worker on this thread.
    pub(crate) fn new(config: Config) -> std::io::Result<LocalRuntime> {
        let (shared, mut parts) = config.make_shared()?;
        let (poll, deque) = parts.pop().expect("a local runtime has one worker");
        let worker = Worker::new(0, shared.clone(), poll, deque);
        if let Some(limit) = shared.config.max_blocking_time {
            crate::dump::start_watchdog(Arc::downgrade(&shared), limit)?;
        }
        // Built on the thread it will run on (it cannot move), so this
        // grows that thread's malloc arena, as a worker thread's start does.
        crate::sys::heap::pregrow_arena();
        Ok(LocalRuntime {
            shared,
            worker: RefCell::new(worker),
            _on_this_thread: PhantomData,
        })
    }

    /// Runs `f` as a green thread of this runtime, running the runtime on
    /// this thread until `f` has returned, and returns its value. A panic
    /// in `f` resumes on the caller. Other green threads run meanwhile;
    /// those still alive when `f` returns wait for the next call.
    ///
    /// # Panics
    ///
    /// If called from a green thread (of any runtime, this one included:
    /// this thread is then some worker's already).
    ///
    /// ```
    /// let rt = grove_runtime::Runtime::builder().build_local()?;
    /// assert_eq!(rt.block_on(|| 1 + 1), 2);
    /// assert_eq!(rt.block_on(|| 2 + 2), 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn block_on<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        assert!(
            crate::worker::current().is_none(),
            "grove: LocalRuntime::block_on called on a worker thread (from a green thread); \
             spawn the work on that runtime instead"
        );
        // Set when `f` has returned or unwound: one load a turn, where the
        // handle's `is_finished` is a call through the packet's vtable.
        let done = Arc::new(AtomicBool::new(false));
        let flag = Done(done.clone());
        let h = spawn_in(
            &self.shared,
            None,
            None,
            move || {
                let _flag = flag;
                f()
            },
            false,
        )
        .unwrap_or_else(|e| panic!("grove: block_on could not spawn: {e}"));
        {
            // Not borrowed already: a `block_on` inside this one would be on
            // a worker thread, which the assertion above refuses.
            let worker = self.worker.borrow_mut();
            worker.run_until(|| done.load(Ordering::Acquire));
        }
        crate::runtime::block_on_result(h)
    }

    /// Spawns a green thread on this runtime; it starts at the next
    /// [`block_on`](LocalRuntime::block_on) (at once, when called from a
    /// green thread inside one).
    ///
    /// ```
    /// let rt = grove_runtime::Runtime::builder().build_local()?;
    /// let h = rt.spawn(|| 5);
    /// assert_eq!(rt.block_on(move || h.join().unwrap()), 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn<F, T>(&self, f: F) -> crate::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        spawn_in(&self.shared, None, None, f, false).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Raises its flag when dropped: when `block_on`'s closure has returned,
/// or unwound, or was dropped unrun.
struct Done(Arc<AtomicBool>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

impl fmt::Debug for LocalRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRuntime").finish_non_exhaustive()
    }
}

/// Kills the green threads that are left and runs them, on this thread,
/// until they have unwound or the shutdown grace period (1 s) has passed,
/// as dropping a [`Runtime`](crate::Runtime) does.
impl Drop for LocalRuntime {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.worker.get_mut().shut_down_here();
        self.shared.blocking.shutdown();
    }
}
