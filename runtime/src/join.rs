//! Joining: the result slot a green thread fills, the handle that waits for
//! it, and the error that says how a green thread ended if not by returning.

use std::any::Any;
use std::fmt;
use std::ptr::NonNull;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::park::{current_waker, park, KillPayload, WaitKind, Waker};
use crate::task::TaskRef;

/// How a green thread ended, when it did not return a value.
///
/// ```
/// let err = grove_runtime::spawn(|| panic!("boom")).join().unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(err.panic_message(), Some("boom"));
/// ```
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    /// It panicked; the payload as `panic!` made it.
    Panic(Box<dyn Any + Send>),
    /// It was killed (or its runtime shut down) before it finished.
    Killed,
    /// It could not start (no stack could be made for it).
    Spawn(std::io::Error),
}

impl JoinError {
    pub(crate) fn from_payload(payload: Box<dyn Any + Send>) -> JoinError {
        if payload.is::<KillPayload>() {
            JoinError::killed()
        } else {
            JoinError {
                repr: Repr::Panic(payload),
            }
        }
    }

    pub(crate) fn killed() -> JoinError {
        JoinError { repr: Repr::Killed }
    }

    pub(crate) fn spawn_failed(e: std::io::Error) -> JoinError {
        JoinError {
            repr: Repr::Spawn(e),
        }
    }

    /// How a green thread's join would report an unwind that ended it,
    /// for code that catches unwinds inside a green thread itself (with
    /// `std::panic::catch_unwind`, as an actor or supervisor does at its
    /// root): [`is_killed`](JoinError::is_killed) if `payload` is a kill
    /// unwinding the green thread, a panic otherwise.
    ///
    /// A green thread that catches its kill this way still ends: the kill
    /// strikes again at its next switch point.
    ///
    /// ```
    /// let caught = std::panic::catch_unwind(|| panic!("oops")).unwrap_err();
    /// let e = grove_runtime::JoinError::from_panic(caught);
    /// assert!(e.is_panic());
    /// assert_eq!(e.panic_message(), Some("oops"));
    /// ```
    pub fn from_panic(payload: Box<dyn Any + Send>) -> JoinError {
        JoinError::from_payload(payload)
    }

    /// Whether the green thread panicked.
    ///
    /// ```
    /// assert!(grove_runtime::spawn(|| panic!("x")).join().unwrap_err().is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// Whether the green thread was killed before it finished.
    ///
    /// ```
    /// let h = grove_runtime::spawn(|| grove_runtime::sleep(std::time::Duration::from_secs(60)));
    /// h.kill();
    /// assert!(h.join().unwrap_err().is_killed());
    /// ```
    pub fn is_killed(&self) -> bool {
        matches!(self.repr, Repr::Killed)
    }

    /// The panic message, if it panicked with a string (as `panic!` does).
    ///
    /// ```
    /// let e = grove_runtime::spawn(|| panic!("disk {} full", 3)).join().unwrap_err();
    /// assert_eq!(e.panic_message(), Some("disk 3 full"));
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Panic(p) => p
                .downcast_ref::<&'static str>()
                .copied()
                .or_else(|| p.downcast_ref::<String>().map(String::as_str)),
            _ => None,
        }
    }

    /// The panic payload, to re-raise it with `std::panic::resume_unwind`.
    ///
    /// Returns `Err(self)` if the green thread did not panic.
    ///
    /// ```
    /// let e = grove_runtime::spawn(|| panic!("again")).join().unwrap_err();
    /// let payload = e.into_panic().ok().unwrap();
    /// assert_eq!(payload.downcast_ref::<&str>(), Some(&"again"));
    /// ```
    pub fn into_panic(self) -> Result<Box<dyn Any + Send>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p),
            repr => Err(JoinError { repr }),
        }
    }

    /// The error that kept the green thread from starting, if that is how it
    /// ended (see [`Builder::spawn`](crate::Builder::spawn)).
    pub fn spawn_error(&self) -> Option<&std::io::Error> {
        match &self.repr {
            Repr::Spawn(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Panic(_) => f
                .debug_tuple("Panic")
                .field(&self.panic_message().unwrap_or("<non-string payload>"))
                .finish(),
            Repr::Killed => f.write_str("Killed"),
            Repr::Spawn(e) => f.debug_tuple("Spawn").field(e).finish(),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Panic(_) => match self.panic_message() {
                Some(m) => write!(f, "green thread panicked: {m}"),
                None => f.write_str("green thread panicked"),
            },
            Repr::Killed => f.write_str("green thread was killed"),
            Repr::Spawn(e) => write!(f, "green thread could not start: {e}"),
        }
    }
}

impl std::error::Error for JoinError {}

/// The slot a green thread (or blocking job) puts its outcome into.
///
/// A green thread's packet lives inside its task (see `task`); a blocking
/// job's in an `Arc` of its own.
pub(crate) struct Packet<T> {
    inner: Mutex<PacketState<T>>,
}

struct PacketState<T> {
    /// The outcome, once there is one and until `join` takes it.
    result: Option<Result<T, JoinError>>,
    /// Whether an outcome was ever set.
    finished: bool,
    /// The joiner waiting for it.
    waiter: Option<Waker>,
    /// The handle is gone: nobody will ever take the outcome.
    detached: bool,
}

impl<T> Packet<T> {
    pub(crate) fn new() -> Packet<T> {
        Packet {
            inner: Mutex::new(PacketState {
                result: None,
                finished: false,
                waiter: None,
                detached: false,
            }),
        }
    }

    /// Stores the outcome (the first one wins) and wakes the joiner. A
    /// detached packet drops it at once: nobody can take it.
    pub(crate) fn complete(&self, result: Result<T, JoinError>) {
        let waiter = {
            let mut st = self.inner.lock();
            if st.finished {
                return;
            }
            st.finished = true;
            if st.detached {
                drop(st);
                drop(result);
                return;
            }
            st.result = Some(result);
            st.waiter.take()
        };
        if let Some(w) = waiter {
            w.wake();
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.inner.lock().finished
    }

    /// The handle is dropped: drop an outcome already there, and any
    /// that comes later, instead of keeping it for a join that cannot
    /// happen (the task may outlive its handle for a long time, held by
    /// a waker or an actor's address).
    fn detach(&self) {
        let left = {
            let mut st = self.inner.lock();
            st.detached = true;
            st.result.take()
        };
        drop(left);
    }

    /// Waits for the outcome and takes it.
    pub(crate) fn wait(&self) -> Result<T, JoinError> {
        loop {
            {
                let mut st = self.inner.lock();
                if let Some(r) = st.result.take() {
                    return r;
                }
                if st.waiter.is_none() {
                    st.waiter = Some(current_waker());
                }
            }
            park(WaitKind::Join, None);
        }
    }
}

/// Completes a packet as killed if a blocking job is dropped without
/// having run (its pool shut down first).
pub(crate) struct CompleteOnDrop<T> {
    pub(crate) packet: Arc<Packet<T>>,
}

impl<T> Drop for CompleteOnDrop<T> {
    fn drop(&mut self) {
        self.packet.complete(Err(JoinError::killed()));
    }
}

/// An owned permission to join a green thread (wait for it to end) or to
/// kill it, as `std::thread::JoinHandle` and gevent's `Greenlet`.
///
/// Dropping the handle detaches the green thread: it keeps running.
///
/// ```
/// let h = grove_runtime::spawn(|| 6 * 7);
/// assert_eq!(h.join().unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    inner: Handle<T>,
}

/// What a handle points at.
enum Handle<T> {
    /// A green thread. `packet` points into the body of `task`, which the
    /// handle's reference keeps alive.
    Green {
        task: TaskRef,
        packet: NonNull<Packet<T>>,
    },
    /// A `spawn_blocking` job.
    Blocking(Arc<Packet<T>>),
}

// SAFETY: a handle is a `TaskRef` (Send + Sync) plus shared access to a
// `Packet<T>`, a lock-protected slot that hands the `T` to whoever joins:
// the same thread-safety as `Arc<Packet<T>>`, which is Send and Sync
// exactly when `T: Send`.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// A handle to a green thread whose body holds `packet`.
    ///
    /// # Safety
    ///
    /// `packet` must point into `task`'s own allocation.
    pub(crate) unsafe fn green(task: TaskRef, packet: NonNull<Packet<T>>) -> JoinHandle<T> {
        JoinHandle {
            inner: Handle::Green { task, packet },
        }
    }

    /// A handle to a blocking job.
    pub(crate) fn blocking(packet: Arc<Packet<T>>) -> JoinHandle<T> {
        JoinHandle {
            inner: Handle::Blocking(packet),
        }
    }

    fn packet(&self) -> &Packet<T> {
        match &self.inner {
            // SAFETY: `packet` points into `task`'s allocation (the
            // constructor's contract), alive while we hold `task`.
            Handle::Green { packet, .. } => unsafe { packet.as_ref() },
            Handle::Blocking(p) => p,
        }
    }

    fn task(&self) -> Option<&TaskRef> {
        match &self.inner {
            Handle::Green { task, .. } => Some(task),
            Handle::Blocking(_) => None,
        }
    }

    /// Waits for the green thread to end and returns its value, or how it
    /// ended otherwise. Suspends the calling green thread, or parks the
    /// calling OS thread.
    ///
    /// ```
    /// let h = grove_runtime::spawn(|| "done");
    /// assert_eq!(h.join().unwrap(), "done");
    /// ```
    pub fn join(self) -> Result<T, JoinError> {
        self.packet().wait()
    }

    /// Kills the green thread: it unwinds at its current switch point (or
    /// never starts, if it has not yet), running its destructors. Returns at
    /// once; `join` waits for the end and reports
    /// [`is_killed`](JoinError::is_killed).
    ///
    /// A green thread that runs without reaching a switch point (a busy loop
    /// that never blocks or yields) is unwound only when it next reaches one.
    /// A `spawn_blocking` job cannot be killed; `kill` does nothing to it.
    ///
    /// ```
    /// use std::time::Duration;
    /// let h = grove_runtime::spawn(|| loop { grove_runtime::sleep(Duration::from_secs(1)) });
    /// h.kill();
    /// assert!(h.join().unwrap_err().is_killed());
    /// ```
    pub fn kill(&self) {
        if let Some(t) = self.task() {
            t.kill();
        }
    }

    /// A cloneable handle that can kill this green thread from anywhere,
    /// without being able to join it (what a link or a supervisor keeps).
    ///
    /// ```
    /// use std::time::Duration;
    /// let h = grove_runtime::spawn(|| grove_runtime::sleep(Duration::from_secs(60)));
    /// let k = h.kill_handle();
    /// std::thread::spawn(move || k.kill()).join().unwrap();
    /// assert!(h.join().unwrap_err().is_killed());
    /// ```
    pub fn kill_handle(&self) -> KillHandle {
        KillHandle {
            task: self.task().cloned(),
        }
    }

    /// Whether the green thread has ended (so `join` would not wait).
    ///
    /// ```
    /// let h = grove_runtime::spawn(|| 1);
    /// while !h.is_finished() { grove_runtime::yield_now(); }
    /// assert_eq!(h.join().unwrap(), 1);
    /// ```
    pub fn is_finished(&self) -> bool {
        self.packet().is_finished()
    }

    /// The green thread's id (as [`current().id()`](crate::current) reports
    /// inside it); `None` for a `spawn_blocking` job.
    ///
    /// ```
    /// let h = grove_runtime::spawn(|| grove_runtime::current().id());
    /// let id = h.id().unwrap();
    /// assert_eq!(h.join().unwrap(), id);
    /// ```
    pub fn id(&self) -> Option<u64> {
        self.task().map(|t| t.id)
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.packet().detach();
    }
}

/// Kills one green thread, from any thread: a cloneable companion of its
/// [`JoinHandle`], made by [`JoinHandle::kill_handle`].
///
/// ```
/// let h = grove_runtime::spawn(|| loop { grove_runtime::sleep(std::time::Duration::from_secs(1)) });
/// let k = h.kill_handle();
/// k.clone().kill();
/// assert!(h.join().unwrap_err().is_killed());
/// ```
#[derive(Clone)]
pub struct KillHandle {
    /// The green thread (None for a blocking job, which cannot be killed).
    task: Option<TaskRef>,
}

impl KillHandle {
    /// Kills the green thread, as [`JoinHandle::kill`] does: it unwinds at
    /// its current switch point, or never starts if it has not yet.
    ///
    /// ```
    /// let h = grove_runtime::spawn(|| grove_runtime::sleep(std::time::Duration::from_secs(60)));
    /// h.kill_handle().kill();
    /// assert!(h.join().unwrap_err().is_killed());
    /// ```
    pub fn kill(&self) {
        if let Some(t) = &self.task {
            t.kill();
        }
    }

    /// The green thread's id; `None` for a `spawn_blocking` job.
    ///
    /// ```
    /// let h = grove_runtime::spawn(|| ());
    /// assert_eq!(h.kill_handle().id(), h.id());
    /// ```
    pub fn id(&self) -> Option<u64> {
        self.task.as_ref().map(|t| t.id)
    }
}

impl fmt::Debug for KillHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KillHandle")
            .field("id", &self.id())
            .finish()
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Joins every handle, in order, and returns their outcomes (gevent's
/// `joinall`).
///
/// ```
/// let hs: Vec<_> = (0..10).map(|i| grove_runtime::spawn(move || i * 2)).collect();
/// let rs: Vec<Result<i32, grove_runtime::JoinError>> = grove_runtime::join_all(hs);
/// assert_eq!(rs.into_iter().map(Result::unwrap).sum::<i32>(), 90);
/// ```
pub fn join_all<T, I>(handles: I) -> Vec<Result<T, JoinError>>
where
    I: IntoIterator<Item = JoinHandle<T>>,
{
    handles.into_iter().map(JoinHandle::join).collect()
}
