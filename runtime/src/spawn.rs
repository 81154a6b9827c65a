//! Starting green threads: the free functions, [`Builder`], and the identity
//! of the running one ([`current`]).

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::join::JoinHandle;
use crate::pending::Pending;
use crate::runtime::{with_current_shared, Shared};
use crate::stack::{normalize_size, StackBudget};
use crate::task::{next_id, TaskRef};

/// Spawns a green thread running `f` and returns a handle to join or kill it
/// (gevent's `spawn`).
///
/// Inside a green thread it uses that green thread's runtime; elsewhere the
/// default runtime, started on first use.
///
/// # Panics
///
/// If no stack can be made because the process reached the kernel's limit
/// on memory mappings (`vm.max_map_count`); the message says how to raise
/// it. [`Builder::spawn`] returns that as an error instead.
///
/// ```
/// use std::time::Duration;
/// let h = grove_runtime::spawn(|| { grove_runtime::sleep(Duration::from_millis(10)); 42 });
/// assert_eq!(h.join().unwrap(), 42);
/// ```
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    with_current_shared(|shared| spawn_in(shared, None, None, f, false))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Spawns a green thread for a closure that is not `Send`; it runs on the
/// calling worker, where it stays.
///
/// # Panics
///
/// When called outside a green thread (there is no worker to pin it to).
///
/// ```
/// use std::rc::Rc;
/// let n = grove_runtime::spawn(|| {
///     let shared = Rc::new(5);
///     let h = grove_runtime::spawn_local({ let s = shared.clone(); move || *s * 2 });
///     h.join().unwrap()
/// }).join().unwrap();
/// assert_eq!(n, 10);
/// ```
pub fn spawn_local<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    let w = crate::worker::current()
        .filter(|_| crate::park::in_green_thread())
        .expect("grove::spawn_local must be called from inside a green thread");
    let stack = w.shared.config.stack_size;
    let reservation = StackBudget::get()
        .reserve_start()
        .unwrap_or_else(|e| panic!("{e}"));
    let pending = Pending::new(next_id(), f, None, stack, reservation);
    let handle = JoinHandle::new(pending.clone());
    // SAFETY: this is `w`'s thread (a green thread running on it), which
    // spawned the pending and makes its task once, now.
    if let Some(task) = unsafe { pending.materialize(w, w.index as u32) } {
        w.schedule_local(task);
    }
    handle
}

/// Spawns on a given runtime (the engine behind every spawn function).
pub(crate) fn spawn_in<F, T>(
    shared: &Arc<Shared>,
    name: Option<Box<str>>,
    stack_size: Option<usize>,
    f: F,
    parks: bool,
) -> std::io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if shared.shutdown.load(std::sync::atomic::Ordering::Acquire) {
        return Err(std::io::Error::other("grove: the runtime is shut down"));
    }
    let stack = stack_size.unwrap_or(shared.config.stack_size);
    let reservation = StackBudget::get().reserve_start()?;
    let pending = Pending::new(next_id(), f, name, stack, reservation);
    let handle = JoinHandle::new(pending.clone());
    if parks {
        if let Some(w) = crate::worker::current_of(shared) {
            // SAFETY: this is `w`'s thread, and the pending is not queued.
            unsafe { pending.premake(w) };
        }
    }
    crate::worker::schedule_new(shared, pending);
    if shared.shutdown.load(std::sync::atomic::Ordering::SeqCst) {
        // Shut down while we queued it: the workers may have drained the
        // global queue already, so make sure nothing waits on it forever.
        crate::worker::drain_injector(shared);
    }
    Ok(handle)
}

/// Configures a green thread before spawning it, as `std::thread::Builder`.
///
/// ```
/// let h = grove_runtime::Builder::new()
///     .name("worker-1")
///     .stack_size(64 * 1024)
///     .spawn(|| grove_runtime::current().name().map(str::to_owned))
///     .unwrap();
/// assert_eq!(h.join().unwrap().as_deref(), Some("worker-1"));
/// ```
#[derive(Debug, Default)]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
}

impl Builder {
    /// A builder with no name and the runtime's default stack size.
    ///
    /// ```
    /// let h = grove_runtime::Builder::new().spawn(|| 1).unwrap();
    /// assert_eq!(h.join().unwrap(), 1);
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the green thread (shown by [`current`], `dump()`, the watchdog
    /// and the stack-overflow report).
    ///
    /// ```
    /// let h = grove_runtime::Builder::new().name("db").spawn(|| ()).unwrap();
    /// # h.join().unwrap();
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Its stack size in bytes, rounded up to whole pages (at least 16 KiB);
    /// a guard page is added below it, and up to 2 KiB at the top are left
    /// unused (see [`RuntimeBuilder::stack_size`](crate::RuntimeBuilder::stack_size)).
    ///
    /// ```
    /// let h = grove_runtime::Builder::new().stack_size(1 << 20).spawn(|| ()).unwrap();
    /// # h.join().unwrap();
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(normalize_size(bytes));
        self
    }

    /// Spawns the green thread.
    ///
    /// Fails with [`ErrorKind::OutOfMemory`](std::io::ErrorKind::OutOfMemory)
    /// when the process has as many green-thread stacks as the kernel's
    /// `vm.max_map_count` allows: where guard pages are made with `mprotect`
    /// (kernels before 6.13, or `GROVE_STACK_GUARD=mprotect`) each stack
    /// takes two mappings (with guard markers stacks share mappings, and
    /// only memory limits them). The message names the limit and how to
    /// raise it. Green threads spawned but not yet started count, as they will each need a stack;
    /// at the limit, spawn first lets them start (a switch point), and
    /// fails only if none of them finishes to free its stack.
    ///
    /// ```
    /// let h = grove_runtime::Builder::new().spawn(|| 3)?;
    /// assert_eq!(h.join().unwrap(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn<F, T>(self, f: F) -> std::io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_with(f, false)
    }

    /// [`spawn`](Builder::spawn), for a green thread that will park soon
    /// after it starts and stay alive (`parks`: an actor), whose task is
    /// then made at once (`pending::Pending::premake`).
    pub(crate) fn spawn_with<F, T>(self, f: F, parks: bool) -> std::io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let name = self.name.map(String::into_boxed_str);
        with_current_shared(|shared| spawn_in(shared, name, self.stack_size, f, parks))
    }
}

/// The identity of the running green thread (or plain OS thread), as
/// returned by [`current`].
pub struct GreenThread {
    id: u64,
    task: Option<TaskRef>,
    os_name: Option<String>,
    _not_send: PhantomData<*const ()>,
}

impl GreenThread {
    /// A process-unique id. Green threads and plain threads share one
    /// numbering, so ids never collide.
    ///
    /// ```
    /// let a = grove_runtime::spawn(|| grove_runtime::current().id()).join().unwrap();
    /// let b = grove_runtime::spawn(|| grove_runtime::current().id()).join().unwrap();
    /// assert_ne!(a, b);
    /// ```
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The name given with [`Builder::name`] (for a plain OS thread: its
    /// std thread name).
    ///
    /// ```
    /// let n = grove_runtime::Builder::new().name("w").spawn(|| grove_runtime::current().name().map(str::to_owned));
    /// assert_eq!(n.unwrap().join().unwrap().as_deref(), Some("w"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        match &self.task {
            Some(t) => t.name(),
            None => self.os_name.as_deref(),
        }
    }

    /// A handle that wakes this green thread (or OS thread) from
    /// [`park`](crate::park), from any thread.
    ///
    /// ```
    /// let u = grove_runtime::current().unparker();
    /// u.unpark();
    /// grove_runtime::park(); // the token was set: returns at once
    /// ```
    pub fn unparker(&self) -> crate::Unparker {
        crate::Unparker::current()
    }

    /// Whether this is a green thread (rather than a plain OS thread).
    ///
    /// ```
    /// assert!(!grove_runtime::current().is_green());
    /// assert!(grove_runtime::spawn(|| grove_runtime::current().is_green()).join().unwrap());
    /// ```
    pub fn is_green(&self) -> bool {
        self.task.is_some()
    }
}

impl fmt::Debug for GreenThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GreenThread")
            .field("id", &self.id)
            .field("name", &self.name())
            .field("green", &self.is_green())
            .finish()
    }
}

/// The running green thread's identity (gevent's `getcurrent`); on a plain
/// OS thread, that thread's.
///
/// ```
/// let h = grove_runtime::Builder::new().name("me").spawn(|| {
///     let me = grove_runtime::current();
///     (me.id(), me.name().map(str::to_owned))
/// }).unwrap();
/// let (id, name) = h.join().unwrap();
/// assert!(id > 0);
/// assert_eq!(name.as_deref(), Some("me"));
/// ```
pub fn current() -> GreenThread {
    match crate::park::current_task() {
        Some(t) => GreenThread {
            id: t.id,
            // SAFETY: `current_task` returns a task held by an Arc.
            task: Some(unsafe { crate::park::clone_task_ref(t) }),
            os_name: None,
            _not_send: PhantomData,
        },
        None => {
            thread_local! {
                static OS_ID: u64 = crate::task::next_id();
            }
            GreenThread {
                id: OS_ID.with(|id| *id),
                task: None,
                os_name: std::thread::current().name().map(str::to_owned),
                _not_send: PhantomData,
            }
        }
    }
}
