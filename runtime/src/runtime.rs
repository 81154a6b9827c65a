//! The runtime: its workers, the queues they share, its configuration, and
//! the default runtime that starts on first use.
//!
//! # Which runtime a call uses
//!
//! Inside a green thread, every free function (`grove::spawn`, ...) uses the
//! runtime that runs that green thread. On a `spawn_blocking` thread it uses
//! the runtime that owns the pool. Anywhere else it uses the default runtime,
//! started lazily with one worker per core (`GROVE_WORKERS` overrides).
//!
//! # Shutdown order
//!
//! Dropping a [`Runtime`] (never the default one, which lives as long as
//! the process) sets `shutdown` and wakes every worker. Each worker then
//! drops the bodies of its unstarted green threads (their joiners see
//! "killed"), kills its started ones and runs them until they have unwound
//! or the grace period passes, and exits; `drop` joins the worker threads.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_deque::{Injector, Stealer, Worker as Deque};

use crate::blocking::BlockingPool;
use crate::pending::NewRef;
use crate::spawn::spawn_in;
use crate::worker::{Worker, WorkerShared};

/// Default green-thread stack size: 256 KiB of address space, of which only
/// the pages a green thread touches cost memory.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// What a runtime was built with.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Number of worker threads.
    pub(crate) workers: usize,
    /// Default green-thread stack size.
    pub(crate) stack_size: usize,
    /// Watchdog threshold.
    pub(crate) max_blocking_time: Option<Duration>,
    /// How long shutdown waits for killed green threads to unwind.
    pub(crate) shutdown_grace: Duration,
    /// Cap on `spawn_blocking` threads.
    pub(crate) max_blocking_threads: usize,
    /// Prefix of worker thread names.
    pub(crate) thread_name: String,
    /// Stacks a worker holds before green threads share them (`slice`).
    pub(crate) share_stacks_after: crate::slice::ShareAfter,
}

/// What one worker is made of before it runs: its event loop and its
/// deque of new green threads.
pub(crate) type WorkerParts = (mio::Poll, Deque<NewRef>);

impl Config {
    /// The shared part of a runtime with `workers` workers, and each
    /// worker's event loop and deque of new green threads.
    pub(crate) fn make_shared(self) -> std::io::Result<(Arc<Shared>, Vec<WorkerParts>)> {
        crate::sys::overflow::install();
        let n = self.workers;
        let mut parts = Vec::with_capacity(n);
        let mut shareds = Vec::with_capacity(n);
        let mut stealers = Vec::with_capacity(n);
        for _ in 0..n {
            let poll = mio::Poll::new()?;
            shareds.push(WorkerShared::new(&poll)?);
            let d = Deque::new_fifo();
            stealers.push(d.stealer());
            parts.push((poll, d));
        }
        let shared = Arc::new(Shared {
            workers: shareds.into_boxed_slice(),
            injector: Injector::new(),
            stealers: stealers.into_boxed_slice(),
            idle: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            blocking: BlockingPool::new(self.max_blocking_threads),
            started: Instant::now(),
            next_io: AtomicUsize::new(0),
            config: self,
        });
        Ok((shared, parts))
    }
}

/// Everything the workers of one runtime share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Per-worker shared parts, by worker index.
    pub(crate) workers: Box<[WorkerShared]>,
    /// New green threads spawned from outside the workers.
    pub(crate) injector: Injector<NewRef>,
    /// Thieves for each worker's deque of new green threads.
    pub(crate) stealers: Box<[Stealer<NewRef>]>,
    /// Workers sleeping in `poll`.
    pub(crate) idle: AtomicUsize,
    /// Set once, to stop the workers.
    pub(crate) shutdown: AtomicBool,
    /// The configuration.
    pub(crate) config: Config,
    /// The `spawn_blocking` pool.
    pub(crate) blocking: BlockingPool,
    /// When the runtime started (watchdog clock).
    pub(crate) started: Instant,
    /// Round-robin cursor for I/O sources registered from outside a worker.
    pub(crate) next_io: AtomicUsize,
}

impl Shared {
    /// Wakes one sleeping worker, if any, so it can steal new work.
    pub(crate) fn notify_idle_worker(&self) {
        if self.idle.load(Ordering::SeqCst) == 0 {
            return;
        }
        if let Some(ws) = self.workers.iter().find(|w| w.is_sleeping()) {
            ws.unpark();
        }
    }

    /// The worker that gets the next I/O source registered from outside
    /// the runtime's workers.
    pub(crate) fn next_io_worker(&self) -> usize {
        self.next_io.fetch_add(1, Ordering::Relaxed) % self.workers.len()
    }

    /// Nanoseconds since the runtime started.
    pub(crate) fn nanos_since_start(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    /// `at` as a nonzero `u64` that orders as instants do: 1 + nanoseconds
    /// since the runtime started (1 for any earlier instant).
    pub(crate) fn stamp(&self, at: Instant) -> u64 {
        (at.saturating_duration_since(self.started).as_nanos() as u64).saturating_add(1)
    }
}

/// A grove runtime: a set of worker threads that run green threads.
///
/// Most programs never build one: the free functions use a default runtime
/// that starts on first use. Build one to choose the number of workers, the
/// stack size or the watchdog, or to have a runtime you can shut down.
///
/// ```
/// let rt = grove_runtime::Runtime::builder().workers(1).build().unwrap();
/// let v = rt.block_on(|| grove_runtime::spawn(|| 7).join().unwrap());
/// assert_eq!(v, 7);
/// ```
///
/// Dropping a runtime kills its green threads (they unwind at their next
/// switch point, running destructors) and joins its workers. A green thread
/// that never reaches a switch point again delays that by the shutdown
/// grace period (1 s), after which it is abandoned.
#[derive(Debug)]
pub struct Runtime {
    /// What the workers share.
    pub(crate) shared: Arc<Shared>,
    /// The worker threads, joined on drop.
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// Configures and builds a [`Runtime`].
///
/// ```
/// use std::time::Duration;
/// let rt = grove_runtime::Runtime::builder()
///     .workers(2)
///     .stack_size(128 * 1024)
///     .max_blocking_time(Duration::from_millis(100))
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(|| 1 + 1), 2);
/// ```
#[derive(Debug, Clone)]
pub struct RuntimeBuilder {
    config: Config,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl RuntimeBuilder {
    /// A builder with the defaults: one worker per core, 256 KiB stacks, no
    /// watchdog.
    ///
    /// ```
    /// let rt = grove_runtime::RuntimeBuilder::new().build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn new() -> RuntimeBuilder {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        RuntimeBuilder {
            config: Config {
                workers,
                stack_size: DEFAULT_STACK_SIZE,
                max_blocking_time: None,
                shutdown_grace: Duration::from_secs(1),
                max_blocking_threads: 512,
                thread_name: "grove-worker".to_owned(),
                share_stacks_after: crate::slice::share_after_from_env(),
            },
        }
    }

    /// Number of worker threads (at least 1).
    ///
    /// ```
    /// let rt = grove_runtime::Runtime::builder().workers(1).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn workers(mut self, n: usize) -> Self {
        self.config.workers = n.max(1);
        self
    }

    /// Default stack size of its green threads, rounded up to whole pages
    /// (at least 16 KiB). Each stack also gets a guard page. Up to 2 KiB at
    /// the top of each stack are left unused, a different amount for each
    /// stack, so that parked green threads' frames fall on different
    /// cache sets (as glibc colours thread stacks). A green thread
    /// whose stack cannot be made (larger than 4 GiB, or more than the
    /// system will map) fails to start: its `join` reports the error.
    ///
    /// ```
    /// let rt = grove_runtime::Runtime::builder().stack_size(64 * 1024).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.config.stack_size = crate::stack::normalize_size(bytes);
        self
    }

    /// Starts a watchdog that reports, through `tracing` (at `WARN`), any
    /// green thread that keeps a worker longer than `limit` without reaching
    /// a switch point — the code that would make every other green thread on
    /// that worker wait, and that `timeout` and `kill` cannot interrupt.
    ///
    /// ```
    /// let rt = grove_runtime::Runtime::builder()
    ///     .max_blocking_time(std::time::Duration::from_millis(50))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn max_blocking_time(mut self, limit: Duration) -> Self {
        self.config.max_blocking_time = Some(limit);
        self
    }

    /// How many green threads a worker holds (started ones, and those
    /// queued to start on it) before the ones it starts share stacks with
    /// parked ones (default 16,384, or the `GROVE_STACK_SHARE_AFTER`
    /// environment variable; `usize::MAX`, or `off` in the variable, never
    /// shares).
    ///
    /// A green thread needs its own stack only while it runs. Past this
    /// many on a worker, a starting green thread that finds no free stack
    /// takes the stack of the one that parked last, whose live bytes
    /// (about 0.5 KiB for a parked actor) are copied to the heap and back
    /// to the same addresses before it runs again (greenlet's stack
    /// slicing). That holds a parked green thread in about 1.1–1.7 KiB
    /// instead of a 4 KiB stack page, and starts one without a fresh
    /// stack, at the price of two copies each time a green thread on a
    /// shared stack resumes. Guard pages stay as they are.
    ///
    /// The default (`GROVE_STACK_SHARE_AFTER` unset) has two thresholds:
    /// past 2,048 green threads on a worker, only the stack of one parked
    /// with at most 1 KiB live is taken (an actor in `receive`, a green
    /// thread on a `Queue`), because thousands of dedicated stacks outgrow
    /// what the CPU's TLB maps and each resume then walks the page tables;
    /// past 16,384, anyone's. A green thread parked with a big buffer on its
    /// stack (a connection reading into a 4 KiB array) keeps its own stack
    /// below that. Setting a number here (or in `GROVE_STACK_SHARE_AFTER`;
    /// `off` is `usize::MAX`) makes it the one threshold for all.
    ///
    /// Do not keep a pointer into a green thread's stack in a thread-local
    /// across a switch point (scoped-tls' `set` around a blocking call):
    /// on a shared stack it would point into another green thread's bytes.
    ///
    /// ```
    /// let rt = grove_runtime::Runtime::builder().share_stacks_after(1_000).build().unwrap();
    /// let v = rt.block_on(|| grove_runtime::spawn(|| 7).join().unwrap());
    /// assert_eq!(v, 7);
    /// ```
    pub fn share_stacks_after(mut self, stacks: usize) -> Self {
        self.config.share_stacks_after = crate::slice::ShareAfter::uniform(stacks);
        self
    }

    /// The most threads `spawn_blocking` may run at once (default 512).
    ///
    /// ```
    /// let rt = grove_runtime::Runtime::builder().max_blocking_threads(4).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn max_blocking_threads(mut self, n: usize) -> Self {
        self.config.max_blocking_threads = n.max(1);
        self
    }

    /// Prefix of the worker threads' names (default `grove-worker`).
    ///
    /// ```
    /// let rt = grove_runtime::Runtime::builder().thread_name("io").build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.config.thread_name = prefix.into();
        self
    }

    /// Builds a [`LocalRuntime`](crate::LocalRuntime): one worker, which is
    /// the thread that owns it, running green threads only inside its
    /// `block_on` (tokio's current-thread runtime). `workers` and
    /// `thread_name` do not apply; the other settings do.
    ///
    /// Fails if the OS refuses an event loop.
    ///
    /// ```
    /// let rt = grove_runtime::Runtime::builder().build_local()?;
    /// assert_eq!(rt.block_on(|| grove_runtime::spawn(|| 6 * 7).join().unwrap()), 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build_local(mut self) -> std::io::Result<crate::LocalRuntime> {
        self.config.workers = 1;
        crate::local::LocalRuntime::new(self.config)
    }

    /// Starts the worker threads.
    ///
    /// Fails if the OS refuses a thread or an event loop.
    ///
    /// ```
    /// let rt = grove_runtime::Runtime::builder().workers(2).build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(self) -> std::io::Result<Runtime> {
        let (shared, parts) = self.config.make_shared()?;
        let n = parts.len();
        let mut threads = Vec::with_capacity(n);
        for (i, (poll, deque)) in parts.into_iter().enumerate() {
            let s = shared.clone();
            let name = format!("{}-{i}", shared.config.thread_name);
            let t = std::thread::Builder::new()
                .name(name)
                .spawn(move || Worker::new(i, s, poll, deque).run());
            match t {
                Ok(t) => threads.push(t),
                Err(e) => {
                    let rt = Runtime { shared, threads };
                    drop(rt);
                    return Err(e);
                }
            }
        }
        if let Some(limit) = shared.config.max_blocking_time {
            crate::dump::start_watchdog(Arc::downgrade(&shared), limit)?;
        }
        Ok(Runtime { shared, threads })
    }
}

impl Runtime {
    /// A builder for a runtime.
    ///
    /// ```
    /// let rt = grove_runtime::Runtime::builder().workers(1).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::new()
    }

    /// Runs `f` as a green thread of this runtime and waits for it,
    /// returning its value. A panic in `f` resumes on the caller.
    ///
    /// Inside `f`, `grove::spawn` and the other free functions use this
    /// runtime.
    ///
    /// ```
    /// let rt = grove_runtime::Runtime::builder().workers(1).build().unwrap();
    /// assert_eq!(rt.block_on(|| grove_runtime::spawn(|| 7).join().unwrap()), 7);
    /// ```
    pub fn block_on<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let h = spawn_in(&self.shared, None, None, f, false)
            .unwrap_or_else(|e| panic!("grove: block_on could not spawn: {e}"));
        block_on_result(h)
    }

    /// Spawns a green thread on this runtime, from anywhere.
    ///
    /// ```
    /// let rt = grove_runtime::Runtime::builder().workers(1).build().unwrap();
    /// assert_eq!(rt.spawn(|| 5).join().unwrap(), 5);
    /// ```
    pub fn spawn<F, T>(&self, f: F) -> crate::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        spawn_in(&self.shared, None, None, f, false).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The number of worker threads.
    ///
    /// ```
    /// let rt = grove_runtime::Runtime::builder().workers(3).build().unwrap();
    /// assert_eq!(rt.workers(), 3);
    /// ```
    pub fn workers(&self) -> usize {
        self.shared.workers.len()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        for w in self.shared.workers.iter() {
            w.unpark();
        }
        let on_own_worker = crate::worker::current()
            .map(|w| Arc::ptr_eq(&w.shared, &self.shared))
            .unwrap_or(false);
        if on_own_worker {
            // Dropped from one of its own green threads: the workers stop on
            // their own; joining here would wait for ourselves.
            return;
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        self.shared.blocking.shutdown();
    }
}

/// What `block_on` returns once its green thread has ended (joined here):
/// its value, or its panic resumed on the caller.
pub(crate) fn block_on_result<T>(h: crate::JoinHandle<T>) -> T {
    match h.join() {
        Ok(v) => v,
        Err(e) => match e.into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(e) => panic!("grove: block_on's green thread ended: {e}"),
        },
    }
}

/// Calls `f` with the runtime the free functions use from the calling
/// context, borrowed from the running green thread when there is one (no
/// reference count: two atomic operations less on a spawn).
#[inline]
pub(crate) fn with_current_shared<R>(f: impl FnOnce(&Arc<Shared>) -> R) -> R {
    match crate::park::current_task() {
        Some(t) => f(&t.shared),
        None => f(&current_shared()),
    }
}

/// The runtime the free functions use from the calling context.
pub(crate) fn current_shared() -> Arc<Shared> {
    if let Some(t) = crate::park::current_task() {
        return t.shared.clone();
    }
    if let Some(w) = crate::worker::current() {
        return w.shared.clone();
    }
    if let Some(s) = crate::blocking::current_pool_owner() {
        return s;
    }
    default_runtime().shared.clone()
}

/// The default runtime, started on first use.
pub(crate) fn default_runtime() -> &'static Runtime {
    static DEFAULT: OnceLock<Runtime> = OnceLock::new();
    DEFAULT.get_or_init(|| {
        let mut b = RuntimeBuilder::new().thread_name("grove-default");
        if let Some(n) = std::env::var("GROVE_WORKERS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
        {
            b = b.workers(n);
        }
        b.build()
            .unwrap_or_else(|e| panic!("grove: cannot start the default runtime: {e}"))
    })
}
