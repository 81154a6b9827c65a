//! [`Group`] and [`Pool`]: sets of green threads to join or kill together
//! (gevent's `gevent.pool.Group` and `Pool`).
//!
//! # State
//!
//! Behind one lock: a slab of *members* (one per green thread spawned
//! through the group and not yet ended), the contexts waiting in `join`,
//! and (for a pool) the contexts waiting in `spawn` for a free slot.
//!
//! ```text
//!   spawn ── (pool: wait while members == limit) ── insert member ──► crate::spawn(wrapper)
//!   wrapper starts ── lock: record its TaskRef in the member; kill requested? ► unwind as killed
//!   wrapper ends (return, panic, kill, or never started and dropped)
//!           └─ MemberExit drops ── lock: remove member; pool: pop ONE slot waiter;
//!                                  group empty: take ALL joiners ── unlock ── wake
//!   kill ── lock: mark every member, collect the started ones' TaskRefs ── unlock ── kill them
//! ```
//!
//! The member's exit guard is made at `spawn` and moved into the green
//! thread's closure, so it drops however the closure ends — even when it is
//! dropped without running (killed before it started, runtime shut down).
//! A member is counted from `spawn` until its closure has returned or
//! unwound, so a pool never has more than `limit` members alive.
//!
//! The group holds no `JoinHandle`: the caller gets it. To kill, the group
//! keeps the member's task reference, recorded by the member itself when it
//! starts; a member killed before it starts finds its mark and unwinds at
//! once. A slot waiter that leaves after it was notified (kill, `timeout`)
//! hands the notification on while a slot is free.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use slab::Slab;

use super::waiters::{deadline_in, expired, park_or, WaitList, WaiterId};
use crate::join::JoinHandle;
use crate::park::WaitKind;
use crate::task::TaskRef;

/// A set of green threads to wait for or kill together (gevent's
/// `gevent.pool.Group`).
///
/// Cloning gives another handle to the same group (an `Arc` inside), so a
/// member can spawn into its own group.
///
/// ```
/// use grove_runtime::sync::{Group, Queue};
///
/// let group = Group::new();
/// let results = Queue::unbounded();
/// for i in 0..5 {
///     let results = results.clone();
///     group.spawn(move || results.put(i * i).unwrap());
/// }
/// group.join(); // waits until every member has ended
/// assert!(group.is_empty());
/// assert_eq!(results.len(), 5);
/// ```
#[derive(Clone)]
pub struct Group {
    /// The shared state.
    core: Arc<Core>,
}

/// A [`Group`] with a limit: [`spawn`](Pool::spawn) waits while `n`
/// members are running (gevent's `gevent.pool.Pool`).
///
/// Cloning gives another handle to the same pool.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use grove_runtime::sync::Pool;
///
/// let pool = Pool::new(2);
/// let running = Arc::new(AtomicUsize::new(0));
/// for _ in 0..6 {
///     let running = running.clone();
///     pool.spawn(move || {
///         assert!(running.fetch_add(1, Ordering::SeqCst) < 2);
///         grove_runtime::sleep(Duration::from_millis(1));
///         running.fetch_sub(1, Ordering::SeqCst);
///     });
/// }
/// pool.join();
/// assert_eq!(pool.free_count(), 2);
/// ```
#[derive(Clone)]
pub struct Pool {
    /// The shared state.
    core: Arc<Core>,
}

/// What every handle of one group or pool shares.
struct Core {
    /// Maximum number of members (`usize::MAX` for a group).
    limit: usize,
    /// Members and waiters.
    state: Mutex<State>,
}

/// The locked part.
struct State {
    /// Green threads spawned through the group that have not ended.
    members: Slab<Member>,
    /// Contexts blocked in `join`.
    joiners: WaitList,
    /// Contexts blocked in `Pool::spawn` for a free slot.
    slot_waiters: WaitList,
}

/// One member.
struct Member {
    /// Its green thread, once it has started.
    task: Option<TaskRef>,
    /// Set by `kill`: a member that starts after it unwinds at once.
    kill_requested: bool,
}

/// Removes its member when dropped: when the member's closure returns or
/// unwinds, or is dropped without having run.
struct MemberExit {
    /// The group.
    core: Arc<Core>,
    /// The member's slab key.
    key: usize,
}

impl MemberExit {
    /// Called first thing in the member's green thread: record the task so
    /// `kill` can reach it, and unwind at once if a kill came first.
    fn started(&self) {
        let task = crate::worker::current_task_ref();
        let kill_requested = {
            let mut st = self.core.state.lock();
            match st.members.get_mut(self.key) {
                Some(m) => {
                    m.task = task.clone();
                    m.kill_requested
                }
                None => false,
            }
        };
        if kill_requested {
            if let Some(t) = task {
                t.killed.store(true, Ordering::Release);
                // The switch-point check unwinds a killed green thread.
                crate::park::check_interrupts();
            }
        }
    }
}

impl Drop for MemberExit {
    fn drop(&mut self) {
        let mut st = self.core.state.lock();
        st.members.try_remove(self.key);
        st.slot_waiters.wake_one();
        if st.members.is_empty() {
            st.joiners.wake_all();
        }
    }
}

impl Core {
    fn new(limit: usize) -> Arc<Core> {
        Arc::new(Core {
            limit,
            state: Mutex::new(State {
                members: Slab::new(),
                joiners: WaitList::new(),
                slot_waiters: WaitList::new(),
            }),
        })
    }

    /// Adds a member (waiting for a free slot while the pool is full) and
    /// spawns `f` as it.
    fn spawn<F, T>(self: &Arc<Core>, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let key = self.enter();
        let exit = MemberExit {
            core: self.clone(),
            key,
        };
        // Outside the lock: if spawning fails, the closure and with it
        // `exit` are dropped, which takes the lock.
        crate::spawn(move || {
            let exit = exit;
            exit.started();
            f()
        })
    }

    /// Inserts a member, first waiting while `limit` members are alive.
    fn enter(&self) -> usize {
        let mut st = self.state.lock();
        let mut id: Option<WaiterId> = None;
        loop {
            if st.members.len() < self.limit {
                if let Some(id) = id {
                    st.slot_waiters.remove(id);
                }
                return st.members.insert(Member {
                    task: None,
                    kill_requested: false,
                });
            }
            let me = match id {
                Some(i) if st.slot_waiters.contains(i) => i,
                _ => st.slot_waiters.push_current(),
            };
            id = Some(me);
            drop(st);
            park_or(WaitKind::Group, None, || self.abandon_slot(me));
            st = self.state.lock();
        }
    }

    /// A slot waiter unwinds: forget its entry, and if it had been
    /// notified, hand the notification on while a slot is free.
    fn abandon_slot(&self, id: WaiterId) {
        let mut st = self.state.lock();
        if !st.slot_waiters.remove(id) && st.members.len() < self.limit {
            st.slot_waiters.wake_one();
        }
    }

    /// Waits until there are no members, or `deadline`; true if empty.
    fn join(&self, deadline: Option<Instant>) -> bool {
        let mut st = self.state.lock();
        let mut id: Option<WaiterId> = None;
        loop {
            if st.members.is_empty() {
                if let Some(id) = id {
                    st.joiners.remove(id);
                }
                return true;
            }
            if expired(deadline) {
                if let Some(id) = id {
                    st.joiners.remove(id);
                }
                return false;
            }
            let me = match id {
                Some(i) if st.joiners.contains(i) => i,
                _ => st.joiners.push_current(),
            };
            id = Some(me);
            drop(st);
            park_or(WaitKind::Group, deadline, || {
                self.state.lock().joiners.remove(me);
            });
            st = self.state.lock();
        }
    }

    /// Kills every member (those not yet started never run).
    fn kill(&self) {
        let tasks: Vec<TaskRef> = {
            let mut st = self.state.lock();
            st.members
                .iter_mut()
                .filter_map(|(_, m)| {
                    m.kill_requested = true;
                    m.task.clone()
                })
                .collect()
        };
        for t in tasks {
            t.kill();
        }
    }

    fn len(&self) -> usize {
        self.state.lock().members.len()
    }
}

impl Group {
    /// An empty group.
    ///
    /// ```
    /// let g = grove_runtime::sync::Group::new();
    /// assert!(g.is_empty());
    /// ```
    pub fn new() -> Group {
        Group {
            core: Core::new(usize::MAX),
        }
    }

    /// Spawns `f` as a green thread (as [`spawn`](crate::spawn)) that
    /// belongs to the group until it ends; returns its handle, to join it
    /// for its value or kill it alone.
    ///
    /// ```
    /// let g = grove_runtime::sync::Group::new();
    /// let h = g.spawn(|| 6 * 7);
    /// assert_eq!(h.join().unwrap(), 42);
    /// ```
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.core.spawn(f)
    }

    /// Blocks until the group is empty: every member, including any
    /// spawned while this waits, has ended (by returning, panicking or
    /// being killed). Suspends a green thread, parks an OS thread.
    ///
    /// Called from a member of the group, it waits for that member too,
    /// hence forever.
    ///
    /// ```
    /// use std::time::Duration;
    /// let g = grove_runtime::sync::Group::new();
    /// g.spawn(|| grove_runtime::sleep(Duration::from_millis(5)));
    /// g.join();
    /// assert_eq!(g.len(), 0);
    /// ```
    pub fn join(&self) {
        self.core.join(None);
    }

    /// Like [`join`](Group::join), but gives up after `timeout`; returns
    /// whether the group is empty.
    ///
    /// ```
    /// use std::time::Duration;
    /// let g = grove_runtime::sync::Group::new();
    /// let h = g.spawn(|| grove_runtime::sleep(Duration::from_secs(60)));
    /// assert!(!g.join_timeout(Duration::from_millis(5)));
    /// g.kill();
    /// assert!(g.join_timeout(Duration::from_secs(5)));
    /// assert!(h.join().unwrap_err().is_killed());
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        self.core.join(deadline_in(timeout))
    }

    /// Kills every member (as [`JoinHandle::kill`]): each unwinds at its
    /// current switch point, or never runs if it has not started. Returns
    /// at once; [`join`](Group::join) waits for them to end.
    ///
    /// ```
    /// use std::time::Duration;
    /// let g = grove_runtime::sync::Group::new();
    /// for _ in 0..3 {
    ///     g.spawn(|| loop { grove_runtime::sleep(Duration::from_secs(1)) });
    /// }
    /// g.kill();
    /// g.join();
    /// ```
    pub fn kill(&self) {
        self.core.kill();
    }

    /// The number of members that have not ended.
    ///
    /// ```
    /// let g = grove_runtime::sync::Group::new();
    /// let stop = grove_runtime::sync::Event::new();
    /// g.spawn({ let stop = stop.clone(); move || stop.wait() });
    /// assert_eq!(g.len(), 1);
    /// stop.set();
    /// g.join();
    /// assert_eq!(g.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.core.len()
    }

    /// Whether every member has ended.
    ///
    /// ```
    /// assert!(grove_runtime::sync::Group::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for Group {
    fn default() -> Group {
        Group::new()
    }
}

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group").field("len", &self.len()).finish()
    }
}

impl Pool {
    /// A pool of at most `size` members running at once.
    ///
    /// # Panics
    ///
    /// If `size` is zero (every `spawn` would wait forever).
    ///
    /// ```
    /// let p = grove_runtime::sync::Pool::new(4);
    /// assert_eq!(p.free_count(), 4);
    /// ```
    pub fn new(size: usize) -> Pool {
        assert!(size > 0, "grove: a Pool needs a size of at least 1");
        Pool {
            core: Core::new(size),
        }
    }

    /// Spawns `f` as a member, first waiting (suspending a green thread,
    /// parking an OS thread) while the pool is full; returns its handle.
    ///
    /// Waiting spawners get free slots in arrival order. Called from a
    /// member of a full pool, it waits for a slot that member itself
    /// holds: keep spawners outside the pool.
    ///
    /// ```
    /// let p = grove_runtime::sync::Pool::new(1);
    /// let a = p.spawn(|| 1);
    /// let b = p.spawn(|| 2); // waits until `a` has ended
    /// assert_eq!(a.join().unwrap() + b.join().unwrap(), 3);
    /// ```
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.core.spawn(f)
    }

    /// Blocks until the pool is empty (see [`Group::join`]).
    ///
    /// ```
    /// let p = grove_runtime::sync::Pool::new(2);
    /// p.spawn(|| ());
    /// p.join();
    /// assert!(p.is_empty());
    /// ```
    pub fn join(&self) {
        self.core.join(None);
    }

    /// Like [`join`](Pool::join), but gives up after `timeout`; returns
    /// whether the pool is empty.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = grove_runtime::sync::Pool::new(2);
    /// assert!(p.join_timeout(Duration::from_millis(5)));
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        self.core.join(deadline_in(timeout))
    }

    /// Kills every member (see [`Group::kill`]). Spawners waiting for a
    /// slot are not affected: they get the slots the killed members free.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = grove_runtime::sync::Pool::new(2);
    /// p.spawn(|| grove_runtime::sleep(Duration::from_secs(60)));
    /// p.kill();
    /// p.join();
    /// ```
    pub fn kill(&self) {
        self.core.kill();
    }

    /// The number of members that have not ended.
    ///
    /// ```
    /// let p = grove_runtime::sync::Pool::new(2);
    /// assert_eq!(p.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.core.len()
    }

    /// Whether every member has ended.
    ///
    /// ```
    /// assert!(grove_runtime::sync::Pool::new(1).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many more members could be spawned now without waiting.
    ///
    /// ```
    /// let p = grove_runtime::sync::Pool::new(3);
    /// let stop = grove_runtime::sync::Event::new();
    /// p.spawn({ let stop = stop.clone(); move || stop.wait() });
    /// assert_eq!(p.free_count(), 2);
    /// stop.set();
    /// p.join();
    /// ```
    pub fn free_count(&self) -> usize {
        self.core.limit.saturating_sub(self.len())
    }

    /// The size given to [`new`](Pool::new).
    ///
    /// ```
    /// assert_eq!(grove_runtime::sync::Pool::new(3).capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.core.limit
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("len", &self.len())
            .field("capacity", &self.core.limit)
            .finish()
    }
}
