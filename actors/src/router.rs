//! Routers: one address-like front for a set of actors.
//!
//! * [`RoundRobin`] — each message to the next routee in turn;
//! * [`Random`] — each message to a routee picked at random;
//! * [`Broadcast`] — every message to every routee (`M: Clone`);
//! * [`ConsistentHash`] — messages with the same key to the same routee,
//!   and few keys move when the set of routees changes (a hash ring with
//!   virtual nodes);
//! * [`Pool`] — `n` identical workers under a one-for-one
//!   [`Supervisor`], round-robin over
//!   whichever instances are alive: a crashed worker is restarted and
//!   its new address used from then on.
//!
//! A router over no routees drops what it is given, as a send to a dead
//! actor does.
//!
//! ```
//! use grove_actors::{self as actors, Ctx};
//! use grove_actors::router::RoundRobin;
//!
//! let workers: Vec<_> = (0..3).map(|_| actors::spawn(|ctx: &mut Ctx<u32>| ctx.receive())).collect();
//! let rr = RoundRobin::new(workers.iter().map(|w| w.addr()).collect());
//! for n in [10, 20, 30] { rr.send(n) }
//! let got: Vec<u32> = workers.into_iter().map(|w| w.wait().unwrap()).collect();
//! assert_eq!(got, [10, 20, 30]);
//! ```

use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use crate::addr::Addr;
use crate::call::{CallError, Reply};
use crate::ctx::Ctx;
use crate::exit::ExitReason;
use crate::supervisor::{ChildSpec, Strategy, Supervisor, SupervisorHandle};

/// Sends each message to the next routee in turn.
///
/// ```
/// use grove_actors::{self as actors, Ctx};
/// use grove_actors::router::RoundRobin;
/// let a = actors::spawn(|ctx: &mut Ctx<u8>| ctx.receive());
/// let rr = RoundRobin::new(vec![a.addr()]);
/// rr.send(1);
/// assert_eq!(a.wait().unwrap(), 1);
/// ```
pub struct RoundRobin<M> {
    /// The routees.
    addrs: Vec<Addr<M>>,
    /// The next one's index (modulo the length).
    next: AtomicUsize,
}

impl<M: Send + 'static> RoundRobin<M> {
    /// A router over `addrs`.
    pub fn new(addrs: Vec<Addr<M>>) -> RoundRobin<M> {
        RoundRobin {
            addrs,
            next: AtomicUsize::new(0),
        }
    }

    /// The routee the next message goes to, and advances.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// use grove_actors::router::RoundRobin;
    /// let a = actors::spawn(|ctx: &mut Ctx<u8>| ctx.receive());
    /// let rr = RoundRobin::new(vec![a.addr()]);
    /// assert_eq!(rr.pick().unwrap(), &a.addr());
    /// a.kill();
    /// ```
    pub fn pick(&self) -> Option<&Addr<M>> {
        if self.addrs.is_empty() {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.addrs.len();
        self.addrs.get(i)
    }

    /// Sends `msg` to the next routee.
    pub fn send(&self, msg: M) {
        if let Some(a) = self.pick() {
            a.send(msg);
        }
    }

    /// Calls the next routee (see [`Addr::call`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use grove_actors::{self as actors, Ctx, Reply};
    /// use grove_actors::router::RoundRobin;
    /// let a = actors::spawn(|ctx: &mut Ctx<Reply<u8>>| ctx.receive().send(9));
    /// let rr = RoundRobin::new(vec![a.addr()]);
    /// assert_eq!(rr.call(|r| r, Duration::from_secs(1)), Ok(9));
    /// ```
    pub fn call<T, F>(&self, make: F, timeout: Duration) -> Result<T, CallError>
    where
        F: FnOnce(Reply<T>) -> M,
    {
        match self.pick() {
            Some(a) => a.call(make, timeout),
            None => Err(CallError::Dead),
        }
    }

    /// The routees.
    pub fn routees(&self) -> &[Addr<M>] {
        &self.addrs
    }
}

/// Sends each message to a routee picked at random (uniformly).
///
/// ```
/// use grove_actors::{self as actors, Ctx};
/// use grove_actors::router::Random;
/// let a = actors::spawn(|ctx: &mut Ctx<u8>| ctx.receive());
/// Random::new(vec![a.addr()]).send(4);
/// assert_eq!(a.wait().unwrap(), 4);
/// ```
pub struct Random<M> {
    /// The routees.
    addrs: Vec<Addr<M>>,
    /// The generator's state (splitmix64).
    state: AtomicU64,
}

impl<M: Send + 'static> Random<M> {
    /// A router over `addrs`.
    pub fn new(addrs: Vec<Addr<M>>) -> Random<M> {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9, |d| d.as_nanos() as u64);
        Random::with_seed(addrs, seed)
    }

    /// A router whose choices follow from `seed` (for reproducible tests).
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// use grove_actors::router::Random;
    /// let hs: Vec<_> = (0..4).map(|_| actors::spawn(|c: &mut Ctx<u8>| c.receive())).collect();
    /// let addrs: Vec<_> = hs.iter().map(|h| h.addr()).collect();
    /// let a = Random::with_seed(addrs.clone(), 7);
    /// let b = Random::with_seed(addrs, 7);
    /// assert_eq!(a.pick(), b.pick());
    /// for h in hs { h.kill() }
    /// ```
    pub fn with_seed(addrs: Vec<Addr<M>>, seed: u64) -> Random<M> {
        Random {
            addrs,
            state: AtomicU64::new(seed),
        }
    }

    /// The routee the next message goes to.
    pub fn pick(&self) -> Option<&Addr<M>> {
        if self.addrs.is_empty() {
            return None;
        }
        // splitmix64 over an atomic counter: lock-free, good enough spread.
        let mut z = self
            .state
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        self.addrs.get((z % self.addrs.len() as u64) as usize)
    }

    /// Sends `msg` to a random routee.
    pub fn send(&self, msg: M) {
        if let Some(a) = self.pick() {
            a.send(msg);
        }
    }

    /// The routees.
    pub fn routees(&self) -> &[Addr<M>] {
        &self.addrs
    }
}

/// Sends every message to every routee.
///
/// ```
/// use grove_actors::{self as actors, Ctx};
/// use grove_actors::router::Broadcast;
/// let hs: Vec<_> = (0..3).map(|_| actors::spawn(|c: &mut Ctx<&'static str>| c.receive())).collect();
/// Broadcast::new(hs.iter().map(|h| h.addr()).collect()).send("all");
/// assert!(hs.into_iter().all(|h| h.wait().unwrap() == "all"));
/// ```
pub struct Broadcast<M> {
    /// The routees.
    addrs: Vec<Addr<M>>,
}

impl<M: Clone + Send + 'static> Broadcast<M> {
    /// A router over `addrs`.
    pub fn new(addrs: Vec<Addr<M>>) -> Broadcast<M> {
        Broadcast { addrs }
    }

    /// Sends a copy of `msg` to every routee (the last one gets `msg`).
    pub fn send(&self, msg: M) {
        if let Some((last, rest)) = self.addrs.split_last() {
            for a in rest {
                a.send(msg.clone());
            }
            last.send(msg);
        }
    }

    /// The routees.
    pub fn routees(&self) -> &[Addr<M>] {
        &self.addrs
    }
}

/// Sends messages with equal keys to the same routee; when routees are
/// added or removed, only about 1/n of the keys move.
///
/// ```
/// use grove_actors::{self as actors, Ctx};
/// use grove_actors::router::ConsistentHash;
/// let hs: Vec<_> = (0..4).map(|_| actors::spawn(|c: &mut Ctx<u8>| c.receive())).collect();
/// let ch = ConsistentHash::new(hs.iter().map(|h| h.addr()).collect());
/// assert_eq!(ch.pick(&"user-42"), ch.pick(&"user-42"));
/// for h in hs { h.kill() }
/// ```
pub struct ConsistentHash<M> {
    /// The routees.
    addrs: Vec<Addr<M>>,
    /// The ring: (point, routee index), sorted by point.
    ring: Vec<(u64, usize)>,
}

/// Points each routee gets on the ring.
const VIRTUAL_NODES: usize = 64;

fn hash_of<T: Hash + ?Sized>(v: &T) -> u64 {
    // DefaultHasher::new() has fixed keys: the same value hashes the same
    // way in every process, so routes are stable.
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

impl<M: Send + 'static> ConsistentHash<M> {
    /// A router over `addrs`. A routee's points on the ring follow from
    /// its actor id.
    pub fn new(addrs: Vec<Addr<M>>) -> ConsistentHash<M> {
        let mut ring = Vec::with_capacity(addrs.len() * VIRTUAL_NODES);
        for (i, a) in addrs.iter().enumerate() {
            for v in 0..VIRTUAL_NODES {
                ring.push((hash_of(&(a.id().as_u64(), v)), i));
            }
        }
        ring.sort_unstable();
        ConsistentHash { addrs, ring }
    }

    /// The routee for `key`.
    pub fn pick<K: Hash + ?Sized>(&self, key: &K) -> Option<&Addr<M>> {
        if self.ring.is_empty() {
            return None;
        }
        let h = hash_of(key);
        let i = match self.ring.binary_search_by(|(p, _)| p.cmp(&h)) {
            Ok(i) => i,
            Err(i) if i == self.ring.len() => 0,
            Err(i) => i,
        };
        self.addrs.get(self.ring[i].1)
    }

    /// Sends `msg` to the routee for `key`.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// use grove_actors::router::ConsistentHash;
    /// let h = actors::spawn(|c: &mut Ctx<u8>| c.receive());
    /// ConsistentHash::new(vec![h.addr()]).send(&"k", 3);
    /// assert_eq!(h.wait().unwrap(), 3);
    /// ```
    pub fn send<K: Hash + ?Sized>(&self, key: &K, msg: M) {
        if let Some(a) = self.pick(key) {
            a.send(msg);
        }
    }

    /// The routees.
    pub fn routees(&self) -> &[Addr<M>] {
        &self.addrs
    }
}

/// `n` identical workers under a one-for-one supervisor, with messages
/// dealt round-robin to the live instances.
///
/// ```
/// use std::time::Duration;
/// use grove_actors::{Ctx, Reply};
/// use grove_actors::router::Pool;
///
/// let pool = Pool::new(4, |ctx: &mut Ctx<(u64, Reply<u64>)>| loop {
///     let (n, reply) = ctx.receive();
///     reply.send(n * n);
/// }).unwrap();
/// let squares: Vec<u64> = (1..=8)
///     .map(|n| pool.call(|r| (n, r), Duration::from_secs(1)).unwrap())
///     .collect();
/// assert_eq!(squares, [1, 4, 9, 16, 25, 36, 49, 64]);
/// pool.stop().unwrap();
/// ```
pub struct Pool<M> {
    /// The supervisor of the workers.
    sup: SupervisorHandle,
    /// The workers' names in the supervisor.
    names: Vec<String>,
    /// The next worker's index.
    next: AtomicUsize,
    _msg: std::marker::PhantomData<fn(M)>,
}

impl<M: Send + 'static> Pool<M> {
    /// Starts `n` workers (at least 1) running `f`, restarted when they
    /// crash (up to 3 restarts within 5 s per pool, like
    /// [`Supervisor::new`]).
    pub fn new<R, F>(n: usize, f: F) -> std::io::Result<Pool<M>>
    where
        F: Fn(&mut Ctx<M>) -> R + Send + Sync + Clone + 'static,
        R: Send + 'static,
    {
        Pool::with_supervisor(Supervisor::new(Strategy::OneForOne), n, f)
    }

    /// Like [`new`](Pool::new), with the supervisor's settings (its
    /// intensity) taken from `sup`; `sup`'s own children come first.
    ///
    /// ```
    /// use std::time::Duration;
    /// use grove_actors::Ctx;
    /// use grove_actors::router::Pool;
    /// use grove_actors::supervisor::{Strategy, Supervisor};
    /// let sup = Supervisor::new(Strategy::OneForOne).intensity(100, Duration::from_secs(1));
    /// let pool = Pool::with_supervisor(sup, 2, |c: &mut Ctx<()>| c.receive()).unwrap();
    /// assert_eq!(pool.len(), 2);
    /// pool.stop().unwrap();
    /// ```
    pub fn with_supervisor<R, F>(sup: Supervisor, n: usize, f: F) -> std::io::Result<Pool<M>>
    where
        F: Fn(&mut Ctx<M>) -> R + Send + Sync + Clone + 'static,
        R: Send + 'static,
    {
        let n = n.max(1);
        let names: Vec<String> = (0..n).map(|i| format!("worker-{i}")).collect();
        let mut sup = sup;
        for name in &names {
            sup = sup.child(ChildSpec::new(name.clone(), f.clone()));
        }
        Ok(Pool {
            sup: sup.start()?,
            names,
            next: AtomicUsize::new(0),
            _msg: std::marker::PhantomData,
        })
    }

    /// The number of workers.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Always false: a pool has at least one worker.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The next live worker, round-robin (None only while every worker is
    /// being restarted).
    pub fn pick(&self) -> Option<Addr<M>> {
        for _ in 0..self.names.len() {
            let i = self.next.fetch_add(1, Ordering::Relaxed) % self.names.len();
            if let Some(a) = self.sup.child::<M>(&self.names[i]) {
                return Some(a);
            }
        }
        None
    }

    /// Sends `msg` to the next live worker.
    pub fn send(&self, msg: M) {
        if let Some(a) = self.pick() {
            a.send(msg);
        }
    }

    /// Calls the next live worker (see [`Addr::call`]).
    pub fn call<T, F>(&self, make: F, timeout: Duration) -> Result<T, CallError>
    where
        F: FnOnce(Reply<T>) -> M,
    {
        match self.pick() {
            Some(a) => a.call(make, timeout),
            None => Err(CallError::Dead),
        }
    }

    /// The addresses of the live workers.
    pub fn workers(&self) -> Vec<Addr<M>> {
        self.names
            .iter()
            .filter_map(|n| self.sup.child::<M>(n))
            .collect()
    }

    /// Restarts made so far.
    pub fn restarts(&self) -> usize {
        self.sup.restarts()
    }

    /// Stops every worker, then the supervisor.
    pub fn stop(self) -> Result<(), ExitReason> {
        self.sup.stop()
    }
}

macro_rules! debug_routees {
    ($($t:ident),*) => {$(
        impl<M> fmt::Debug for $t<M> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t)).field("routees", &self.addrs).finish()
            }
        }
    )*};
}
debug_routees!(RoundRobin, Random, Broadcast, ConsistentHash);

impl<M> fmt::Debug for Pool<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("supervisor", &self.sup)
            .finish()
    }
}
