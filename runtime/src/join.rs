//! Joining: the result slot a green thread fills, the handle that waits for
//! it, and the error that says how a green thread ended if not by returning.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::park::{current_waker, park, KillPayload, WaitKind, Waker};
use crate::task::Task;

/// How a green thread ended, when it did not return a value.
///
/// ```
/// let err = grove_runtime::spawn(|| panic!("boom")).join().unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(err.panic_message(), Some("boom"));
/// ```
pub struct JoinError {
    /// Boxed: an error is rare, and a thin pointer keeps every result slot
    /// (`Result<T, JoinError>`) small.
    repr: Box<Repr>,
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
                repr: Box::new(Repr::Panic(payload)),
            }
        }
    }

    pub(crate) fn killed() -> JoinError {
        JoinError {
            repr: Box::new(Repr::Killed),
        }
    }

    pub(crate) fn spawn_failed(e: std::io::Error) -> JoinError {
        JoinError {
            repr: Box::new(Repr::Spawn(e)),
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
        matches!(*self.repr, Repr::Panic(_))
    }

    /// Whether the green thread was killed before it finished.
    ///
    /// ```
    /// let h = grove_runtime::spawn(|| grove_runtime::sleep(std::time::Duration::from_secs(60)));
    /// h.kill();
    /// assert!(h.join().unwrap_err().is_killed());
    /// ```
    pub fn is_killed(&self) -> bool {
        matches!(*self.repr, Repr::Killed)
    }

    /// The panic message, if it panicked with a string (as `panic!` does).
    ///
    /// ```
    /// let e = grove_runtime::spawn(|| panic!("disk {} full", 3)).join().unwrap_err();
    /// assert_eq!(e.panic_message(), Some("disk 3 full"));
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match &*self.repr {
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
        match *self.repr {
            Repr::Panic(p) => Ok(p),
            repr => Err(JoinError {
                repr: Box::new(repr),
            }),
        }
    }

    /// The error that kept the green thread from starting, if that is how it
    /// ended (see [`Builder::spawn`](crate::Builder::spawn)).
    pub fn spawn_error(&self) -> Option<&std::io::Error> {
        match &*self.repr {
            Repr::Spawn(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.repr {
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
        match &*self.repr {
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

/// The slot a green thread (or blocking job) puts its outcome into,
/// shared by the [`JoinHandle`] and the task's body: inside the green
/// thread's pending part (`pending::Pending`), or an allocation of its own
/// for a blocking job.
///
/// # Why apart from the task
///
/// A finished green thread's task (its header and worker-local state, a
/// 192-byte chunk) is free the moment it ends, and the next task its
/// worker makes reuses it (`recycle`); only the pending part (120 bytes
/// with the `Arc`'s counts, for a closure that captures nothing and a
/// `usize`) waits for the join. The packet reaches the task through a
/// [`Weak`] (for [`JoinHandle::kill`]), set when the task is made and
/// dropped when the outcome is stored, so it never keeps the task's
/// allocation either.
pub(crate) struct Packet<T> {
    inner: Mutex<PacketState<T>>,
    /// The green thread's id; 0 (never an id) for a blocking job.
    id: u64,
}

struct PacketState<T> {
    outcome: Outcome<T>,
    /// The joiner waiting for it.
    waiter: Option<Waker>,
    /// The green thread, from when a worker makes it (`pending`) until
    /// its outcome is stored (for `kill`).
    task: Option<Weak<Task>>,
}

/// Where a packet's outcome is. One enum, not an `Option` and two flags,
/// so that it fits the niche of `Result<T, JoinError>` (a packet of a
/// `usize` is 72 bytes).
enum Outcome<T> {
    /// Not finished; the handle is held.
    Pending,
    /// Finished; `join` has not taken it yet.
    Ready(Result<T, JoinError>),
    /// Finished and taken (or dropped: the handle is gone).
    Taken,
    /// Not finished, but the handle is gone: the outcome will be dropped.
    Detached,
}

impl<T> Packet<T> {
    /// A blocking job's packet.
    pub(crate) fn new() -> Packet<T> {
        Packet::with_id(0)
    }

    /// A green thread's packet; [`set_task`](Packet::set_task) links it
    /// to the task once that exists.
    pub(crate) fn green(id: u64) -> Packet<T> {
        Packet::with_id(id)
    }

    fn with_id(id: u64) -> Packet<T> {
        Packet {
            inner: Mutex::new(PacketState {
                outcome: Outcome::Pending,
                waiter: None,
                task: None,
            }),
            id,
        }
    }

    /// Links the packet to the task just made for it, unless `killed`
    /// (asked under the packet's lock, the one [`kill`](Packet::kill)
    /// marks an unmade task under) says the green thread was killed
    /// before: then false, and it must not run.
    pub(crate) fn attach_unless(&self, task: Weak<Task>, killed: impl FnOnce() -> bool) -> bool {
        let mut st = self.inner.lock();
        if killed() {
            return false;
        }
        st.task = Some(task);
        true
    }

    /// The green thread's id, 0 for a blocking job.
    pub(crate) fn id_raw(&self) -> u64 {
        self.id
    }

    /// The green thread's id, `None` for a blocking job.
    fn id(&self) -> Option<u64> {
        (self.id != 0).then_some(self.id)
    }

    /// Kills the green thread: wakes it to unwind if it has a task, or
    /// calls `mark` under the packet's lock to record the kill for the
    /// worker that will make one (`attach_unless`; it then never runs).
    pub(crate) fn kill(&self, mark: impl FnOnce()) {
        let task = {
            let st = self.inner.lock();
            match &st.task {
                Some(t) => t.upgrade(),
                None => {
                    mark();
                    None
                }
            }
        };
        if let Some(t) = task {
            t.kill();
        }
    }

    /// Stores the outcome (the first one wins) and wakes the joiner. A
    /// detached packet drops it at once: nobody can take it.
    pub(crate) fn complete(&self, result: Result<T, JoinError>) {
        let (waiter, task, dropped) = {
            let mut st = self.inner.lock();
            let dropped = match st.outcome {
                Outcome::Pending => {
                    st.outcome = Outcome::Ready(result);
                    None
                }
                Outcome::Detached => {
                    st.outcome = Outcome::Taken;
                    Some(result)
                }
                Outcome::Ready(_) | Outcome::Taken => return,
            };
            (st.waiter.take(), st.task.take(), dropped)
        };
        drop(dropped);
        drop(task);
        if let Some(w) = waiter {
            w.wake();
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        matches!(
            self.inner.lock().outcome,
            Outcome::Ready(_) | Outcome::Taken
        )
    }

    /// The handle is dropped: drop an outcome already there, and any
    /// that comes later, instead of keeping it for a join that cannot
    /// happen (the task may outlive its handle for a long time, held by
    /// a waker or an actor's address).
    fn detach(&self) {
        let left = {
            let mut st = self.inner.lock();
            let next = match st.outcome {
                Outcome::Pending => Outcome::Detached,
                _ => Outcome::Taken,
            };
            std::mem::replace(&mut st.outcome, next)
        };
        drop(left);
    }

    /// Waits for the outcome and takes it; the packet is then detached
    /// (no handle is left to take another).
    pub(crate) fn wait(&self) -> Result<T, JoinError> {
        loop {
            {
                let mut st = self.inner.lock();
                if let Outcome::Ready(_) = st.outcome {
                    let Outcome::Ready(r) = std::mem::replace(&mut st.outcome, Outcome::Taken)
                    else {
                        unreachable!("matched just above")
                    };
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

/// Detaches a packet whose joiner unwinds (is killed) while it waits.
struct DetachOnUnwind<'a, T>(&'a Packet<T>);

impl<T> Drop for DetachOnUnwind<'_, T> {
    fn drop(&mut self) {
        self.0.detach();
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
    /// The packet, inside the pending green thread (`pending`) or on its
    /// own (a blocking job).
    slot: Arc<dyn ResultSlot<T>>,
}

// SAFETY: a handle reads and takes the outcome `T` (so it is `Send` and
// `Sync` exactly when `T` is `Send`, as with `Arc<Packet<T>>`); the rest of
// what the slot holds is `Send` and `Sync` (`Pending`'s impls).
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

/// What holds a green thread's (or blocking job's) result slot.
pub(crate) trait ResultSlot<T> {
    /// The slot.
    fn packet(&self) -> &Packet<T>;
    /// What kills its green thread, `None` for a blocking job.
    fn killer(self: Arc<Self>) -> Option<Arc<dyn Kill>>;
}

/// Kills one green thread ([`Packet::kill`]), whatever its result type.
pub(crate) trait Kill: Send + Sync {
    fn kill(&self);
}

impl<T: 'static> ResultSlot<T> for Packet<T> {
    fn packet(&self) -> &Packet<T> {
        self
    }

    fn killer(self: Arc<Self>) -> Option<Arc<dyn Kill>> {
        None
    }
}

impl<T> JoinHandle<T> {
    /// The handle of a green thread or blocking job that fills `slot`.
    pub(crate) fn new(slot: Arc<dyn ResultSlot<T>>) -> JoinHandle<T> {
        JoinHandle { slot }
    }

    #[inline]
    fn packet(&self) -> &Packet<T> {
        self.slot.packet()
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
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the packet
        // reference is moved out exactly once.
        let slot = unsafe { std::ptr::read(&this.slot) };
        // A kill of the waiting joiner unwinds out of `wait`: `slot` is
        // dropped then, and the outcome with it when the task stores it
        // (nobody else can take it), as `detach` would have arranged.
        let packet = slot.packet();
        let guard = DetachOnUnwind(packet);
        let r = packet.wait();
        std::mem::forget(guard);
        r
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
        if let Some(k) = self.slot.clone().killer() {
            k.kill();
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
            target: self.slot.clone().killer(),
            id: self.packet().id(),
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
        self.packet().id()
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
    /// What kills the green thread (its pending part, `pending`, which
    /// outlives its task); `None` for a blocking job, which cannot be
    /// killed.
    target: Option<Arc<dyn Kill>>,
    /// Its id (None for a blocking job).
    id: Option<u64>,
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
        if let Some(t) = &self.target {
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
        self.id
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
