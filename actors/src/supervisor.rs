//! Supervisors (Erlang/OTP's `supervisor`): an actor that starts children
//! linked to it, traps their exits, and restarts them by a strategy.
//!
//! ```text
//!   start: children in order, each linked to the supervisor before it runs
//!
//!   Exit { from: child k, reason } arrives
//!     restart type says no (temporary; transient + normal end) → forget k
//!     else count a restart; more than `max` within `within`
//!         → stop every child (reverse order), end with
//!           ExitReason::Custom("restart intensity exceeded ...")
//!     one-for-one:  start k again
//!     one-for-all:  stop the others (reverse order), start all (in order)
//!     rest-for-one: stop those after k (reverse order), start k.. (in order)
//!
//!   stop (SupervisorHandle::stop, or an exit signal from a non-child):
//!     stop every child in reverse start order, then end
//!
//!   stopping one child: an exit signal with ExitReason::Shutdown (a child
//!   that traps exits receives it as a message and may clean up; one that
//!   does not unwinds, running destructors and `stopped`), then up to its
//!   `shutdown` grace for its exit, then a kill.
//! ```
//!
//! The current address of every child is kept in a table the handle
//! reads: [`SupervisorHandle::child`] always gives the live instance,
//! whichever restart it is.
//!
//! [`Supervisor::start`] returns once the children are spawned and in that
//! table, not once they have run (there is no `init` to wait for, as
//! Erlang's `start_link` has): a child stopped before it first runs never
//! runs, so it neither traps the shutdown nor runs an `Actor::stopped`
//! hook. Make one `call` to a child first if it must be running.
//!
//! ```
//! use std::time::Duration;
//! use grove_actors::{Ctx, Reply};
//! use grove_actors::supervisor::{ChildSpec, Strategy, Supervisor};
//!
//! let sup = Supervisor::new(Strategy::OneForOne)
//!     .intensity(5, Duration::from_secs(1))
//!     .child(ChildSpec::new("doubler", |ctx: &mut Ctx<(i32, Reply<i32>)>| loop {
//!         let (n, reply) = ctx.receive();
//!         if n < 0 { panic!("negative") }   // crash: the supervisor restarts us
//!         reply.send(n * 2);
//!     }))
//!     .start()
//!     .unwrap();
//!
//! let call = |n| sup.child::<(i32, Reply<i32>)>("doubler").unwrap()
//!     .call(|r| (n, r), Duration::from_secs(1));
//! assert_eq!(call(21), Ok(42));
//! assert!(call(-1).is_err());           // the child panicked mid-call
//! while sup.restarts() == 0 { grove_runtime::yield_now() }
//! assert_eq!(call(4), Ok(8));           // its restarted instance answers
//! sup.stop().unwrap();
//! ```

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::actor::{Actor, ActorHandle, Builder};
use crate::addr::Addr;
use crate::cell::{self, Proc};
use crate::ctx::Ctx;
use crate::exit::{ActorId, Exit, ExitReason};

/// Which children a supervisor restarts when one ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Only the child that ended.
    OneForOne,
    /// Every child: the others are stopped first.
    OneForAll,
    /// The child that ended and every child started after it.
    RestForOne,
}

/// When a child is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Restart {
    /// Always (the default).
    #[default]
    Permanent,
    /// Only if it ended abnormally (not `Normal` or `Shutdown`).
    Transient,
    /// Never.
    Temporary,
}

/// A child that was started: its actor and its address.
struct Started {
    /// The child, type-erased.
    proc: Arc<dyn Proc>,
    /// Its `Addr<M>`, boxed.
    addr: Box<dyn Any + Send + Sync>,
}

/// Starts one instance of a child, linked to the given supervisor.
type StartFn = dyn Fn(&Arc<dyn Proc>) -> std::io::Result<Started> + Send + Sync;

/// How to start (and restart) one child.
#[derive(Clone)]
pub struct ChildSpec {
    /// Its name, unique within its supervisor.
    name: String,
    /// When it is restarted.
    restart: Restart,
    /// How long a stop waits for it before killing it.
    shutdown: Duration,
    /// Starts an instance.
    start: Arc<StartFn>,
}

impl ChildSpec {
    /// A function-style child: each (re)start spawns an actor running `f`.
    ///
    /// ```
    /// use grove_actors::Ctx;
    /// use grove_actors::supervisor::ChildSpec;
    /// let spec = ChildSpec::new("echo", |ctx: &mut Ctx<String>| loop { let _ = ctx.receive(); });
    /// # drop(spec);
    /// ```
    pub fn new<M, R, F>(name: impl Into<String>, f: F) -> ChildSpec
    where
        F: Fn(&mut Ctx<M>) -> R + Send + Sync + 'static,
        M: Send + 'static,
        R: Send + 'static,
    {
        ChildSpec::with_builder(name, Builder::new(), f)
    }

    /// Like [`new`](ChildSpec::new), with a [`Builder`] for the actor
    /// (bounded mailbox, name, stack size).
    ///
    /// ```
    /// use grove_actors::{Builder, Ctx};
    /// use grove_actors::supervisor::ChildSpec;
    /// let spec = ChildSpec::with_builder("sink", Builder::new().bounded(64), |ctx: &mut Ctx<u8>| loop { ctx.receive(); });
    /// # drop(spec);
    /// ```
    pub fn with_builder<M, R, F>(name: impl Into<String>, builder: Builder, f: F) -> ChildSpec
    where
        F: Fn(&mut Ctx<M>) -> R + Send + Sync + 'static,
        M: Send + 'static,
        R: Send + 'static,
    {
        let f = Arc::new(f);
        ChildSpec {
            name: name.into(),
            restart: Restart::Permanent,
            shutdown: Duration::from_secs(5),
            start: Arc::new(move |parent: &Arc<dyn Proc>| {
                let f = f.clone();
                let h = builder
                    .clone()
                    .spawn_linked(parent, move |ctx: &mut Ctx<M>| f(ctx))?;
                Ok(started(&h))
            }),
        }
    }

    /// An object-style child: each (re)start runs a fresh `make()`.
    ///
    /// ```
    /// use grove_actors::{Actor, Ctx};
    /// use grove_actors::supervisor::ChildSpec;
    /// #[derive(Default)]
    /// struct Cache;
    /// impl Actor for Cache { type Msg = (); fn handle(&mut self, _: (), _: &mut Ctx<()>) {} }
    /// let spec = ChildSpec::actor("cache", Cache::default);
    /// # drop(spec);
    /// ```
    pub fn actor<A, F>(name: impl Into<String>, make: F) -> ChildSpec
    where
        A: Actor,
        F: Fn() -> A + Send + Sync + 'static,
    {
        ChildSpec {
            name: name.into(),
            restart: Restart::Permanent,
            shutdown: Duration::from_secs(5),
            start: Arc::new(move |parent: &Arc<dyn Proc>| {
                let h = Builder::new().start_linked(parent, make())?;
                Ok(started(&h))
            }),
        }
    }

    /// When it is restarted (default: [`Restart::Permanent`]).
    ///
    /// ```
    /// use grove_actors::Ctx;
    /// use grove_actors::supervisor::{ChildSpec, Restart};
    /// let spec = ChildSpec::new("job", |_: &mut Ctx<()>| ()).restart(Restart::Transient);
    /// # drop(spec);
    /// ```
    pub fn restart(mut self, restart: Restart) -> ChildSpec {
        self.restart = restart;
        self
    }

    /// How long stopping it waits for it to end before killing it
    /// (default: 5 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// use grove_actors::Ctx;
    /// use grove_actors::supervisor::ChildSpec;
    /// let spec = ChildSpec::new("db", |_: &mut Ctx<()>| ()).shutdown(Duration::from_millis(100));
    /// # drop(spec);
    /// ```
    pub fn shutdown(mut self, grace: Duration) -> ChildSpec {
        self.shutdown = grace;
        self
    }

    /// Its name.
    ///
    /// ```
    /// use grove_actors::Ctx;
    /// use grove_actors::supervisor::ChildSpec;
    /// assert_eq!(ChildSpec::new("a", |_: &mut Ctx<()>| ()).name(), "a");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("name", &self.name)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .finish()
    }
}

fn started<M: Send + 'static, R>(h: &ActorHandle<M, R>) -> Started {
    let addr = h.addr();
    Started {
        proc: addr.proc(),
        addr: Box::new(addr),
    }
}

/// A supervisor's configuration: strategy, restart intensity, children.
/// [`start`](Supervisor::start) runs it.
#[derive(Debug, Clone)]
pub struct Supervisor {
    /// Which children restart together.
    strategy: Strategy,
    /// At most this many restarts...
    max_restarts: usize,
    /// ...within this long.
    within: Duration,
    /// The children, in start order.
    children: Vec<ChildSpec>,
}

/// A supervisor's mailbox type: exits of its children, and requests from
/// its handle.
pub struct SupervisorMsg(Request);

enum Request {
    /// A linked actor ended (a child, or whoever else is linked).
    Exit(Exit),
    /// Stop every child in order, then end.
    Stop,
}

impl From<Exit> for SupervisorMsg {
    fn from(e: Exit) -> SupervisorMsg {
        SupervisorMsg(Request::Exit(e))
    }
}

impl fmt::Debug for SupervisorMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Request::Exit(e) => f.debug_tuple("Exit").field(e).finish(),
            Request::Stop => f.write_str("Stop"),
        }
    }
}

/// The current instance of every child, shared with the handle.
#[derive(Default)]
struct Table {
    /// Name → (id, boxed `Addr<M>`) of the live instance.
    live: HashMap<String, (ActorId, Box<dyn Any + Send + Sync>)>,
}

impl Supervisor {
    /// A supervisor with no children yet, allowing 3 restarts within 5 s.
    ///
    /// ```
    /// use grove_actors::supervisor::{Strategy, Supervisor};
    /// let s = Supervisor::new(Strategy::OneForAll);
    /// # drop(s);
    /// ```
    pub fn new(strategy: Strategy) -> Supervisor {
        Supervisor {
            strategy,
            max_restarts: 3,
            within: Duration::from_secs(5),
            children: Vec::new(),
        }
    }

    /// Restart intensity: more than `max_restarts` restarts within
    /// `within` and the supervisor gives up — it stops every child and
    /// ends with an exit reason of its own.
    ///
    /// ```
    /// use std::time::Duration;
    /// use grove_actors::supervisor::{Strategy, Supervisor};
    /// let s = Supervisor::new(Strategy::OneForOne).intensity(10, Duration::from_secs(60));
    /// # drop(s);
    /// ```
    pub fn intensity(mut self, max_restarts: usize, within: Duration) -> Supervisor {
        self.max_restarts = max_restarts;
        self.within = within;
        self
    }

    /// Adds a child; children start in the order they are added and stop
    /// in the reverse order.
    ///
    /// ```
    /// use grove_actors::Ctx;
    /// use grove_actors::supervisor::{ChildSpec, Strategy, Supervisor};
    /// let s = Supervisor::new(Strategy::OneForOne)
    ///     .child(ChildSpec::new("a", |c: &mut Ctx<()>| c.receive()))
    ///     .child(ChildSpec::new("b", |c: &mut Ctx<()>| c.receive()));
    /// # drop(s);
    /// ```
    pub fn child(mut self, spec: ChildSpec) -> Supervisor {
        self.children.push(spec);
        self
    }

    /// Starts the supervisor (an actor) and, from it, its children.
    /// Fails if the supervisor's own green thread cannot be made; a child
    /// that cannot start counts as a crash.
    ///
    /// ```
    /// use grove_actors::Ctx;
    /// use grove_actors::supervisor::{ChildSpec, Strategy, Supervisor};
    /// let sup = Supervisor::new(Strategy::OneForOne)
    ///     .child(ChildSpec::new("idle", |c: &mut Ctx<()>| c.receive()))
    ///     .start()?;
    /// assert!(sup.child::<()>("idle").is_some());
    /// sup.stop().unwrap();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start(self) -> std::io::Result<SupervisorHandle> {
        let names = self
            .children
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>();
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("supervisor: two children are named {n:?}"),
                ));
            }
        }
        let table = Arc::new(Mutex::new(Table::default()));
        let restarts = Arc::new(AtomicUsize::new(0));
        // The children's table is filled before `start` returns, so that
        // `child()` works at once.
        let (ready_tx, ready) = crate::call::pair::<()>();
        let handle = Builder::new().name("supervisor").spawn({
            let table = table.clone();
            let restarts = restarts.clone();
            move |ctx: &mut Ctx<SupervisorMsg>| {
                Running::new(self, ctx, table, restarts).run(ready_tx)
            }
        })?;
        let _ = ready.wait(None);
        Ok(SupervisorHandle {
            handle,
            table,
            restarts,
        })
    }
}

/// One child slot of a running supervisor.
struct Kid {
    /// How to start it.
    spec: ChildSpec,
    /// Its live instance, if any.
    proc: Option<Arc<dyn Proc>>,
}

/// The state of a running supervisor.
struct Running<'a> {
    /// The supervisor's context.
    ctx: &'a mut Ctx<SupervisorMsg>,
    /// Itself, type-erased (the parent of every child).
    me: Arc<dyn Proc>,
    /// Strategy and intensity.
    strategy: Strategy,
    max_restarts: usize,
    within: Duration,
    /// The children, in start order.
    kids: Vec<Kid>,
    /// When the recent restarts happened.
    history: VecDeque<Instant>,
    /// Shared with the handle.
    table: Arc<Mutex<Table>>,
    /// Total restarts, shared with the handle.
    restarts: Arc<AtomicUsize>,
}

impl<'a> Running<'a> {
    fn new(
        sup: Supervisor,
        ctx: &'a mut Ctx<SupervisorMsg>,
        table: Arc<Mutex<Table>>,
        restarts: Arc<AtomicUsize>,
    ) -> Running<'a> {
        ctx.trap_exit(true);
        let me = ctx.cell.proc();
        Running {
            ctx,
            me,
            strategy: sup.strategy,
            max_restarts: sup.max_restarts,
            within: sup.within,
            kids: sup
                .children
                .into_iter()
                .map(|spec| Kid { spec, proc: None })
                .collect(),
            history: VecDeque::new(),
            table,
            restarts,
        }
    }

    fn run(mut self, ready: crate::call::Reply<()>) {
        let all = 0..self.kids.len();
        let started = self.start_range(all, false);
        ready.send(());
        if let Err(reason) = started {
            self.stop_range(0..self.kids.len());
            self.ctx.exit(reason);
        }
        loop {
            let SupervisorMsg(req) = self.ctx.receive();
            match req {
                Request::Stop => {
                    self.stop_range(0..self.kids.len());
                    return;
                }
                Request::Exit(e) => {
                    if let Err(reason) = self.on_exit(e) {
                        self.stop_range(0..self.kids.len());
                        self.ctx.exit(reason);
                    }
                }
            }
        }
    }

    /// Handles one exit; `Err` ends the supervisor with that reason.
    fn on_exit(&mut self, e: Exit) -> Result<(), ExitReason> {
        let Some(k) = self
            .kids
            .iter()
            .position(|kid| kid.proc.as_ref().is_some_and(|p| p.id() == e.from))
        else {
            // Not a live child: its parent, or someone else linked to us.
            return match e.reason {
                ExitReason::Normal => Ok(()),
                other => Err(other),
            };
        };
        self.kids[k].proc = None;
        self.table.lock().live.remove(&self.kids[k].spec.name);
        let restart = match self.kids[k].spec.restart {
            Restart::Permanent => true,
            Restart::Transient => !e.reason.is_normal(),
            Restart::Temporary => false,
        };
        if !restart {
            return Ok(());
        }
        tracing::debug!(
            "supervisor {}: child {:?} ended ({}), restarting",
            self.me.id(),
            self.kids[k].spec.name,
            e.reason
        );
        self.count_restart()?;
        let range = match self.strategy {
            Strategy::OneForOne => k..k + 1,
            Strategy::OneForAll => 0..self.kids.len(),
            Strategy::RestForOne => k..self.kids.len(),
        };
        self.stop_range(range.clone());
        self.start_range(range, true)?;
        // Counted once the new instances are in the table, so that a
        // caller who sees the count also sees them.
        self.restarts.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Counts a restart against the intensity.
    fn count_restart(&mut self) -> Result<(), ExitReason> {
        let now = Instant::now();
        self.history.push_back(now);
        while self
            .history
            .front()
            .is_some_and(|t| now.duration_since(*t) > self.within)
        {
            self.history.pop_front();
        }
        if self.history.len() > self.max_restarts {
            tracing::warn!(
                "supervisor {}: more than {} restarts within {:?}, giving up",
                self.me.id(),
                self.max_restarts,
                self.within
            );
            return Err(ExitReason::Custom(format!(
                "restart intensity exceeded: more than {} restarts within {:?}",
                self.max_restarts, self.within
            )));
        }
        Ok(())
    }

    /// Starts the children in `range` that are not running, in order.
    /// With `restarting`, temporary children that are not running stay
    /// down. A child that fails to start counts as a restart.
    fn start_range(
        &mut self,
        range: std::ops::Range<usize>,
        restarting: bool,
    ) -> Result<(), ExitReason> {
        for k in range {
            if self.kids[k].proc.is_some()
                || (restarting && self.kids[k].spec.restart == Restart::Temporary)
            {
                continue;
            }
            loop {
                match (self.kids[k].spec.start)(&self.me) {
                    Ok(s) => {
                        let name = self.kids[k].spec.name.clone();
                        self.table.lock().live.insert(name, (s.proc.id(), s.addr));
                        self.kids[k].proc = Some(s.proc);
                        break;
                    }
                    Err(err) => {
                        tracing::error!(
                            "supervisor {}: child {:?} could not start: {err}",
                            self.me.id(),
                            self.kids[k].spec.name
                        );
                        self.count_restart()?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Stops the running children in `range`, last first.
    fn stop_range(&mut self, range: std::ops::Range<usize>) {
        for k in range.rev() {
            if let Some(p) = self.kids[k].proc.take() {
                self.table.lock().live.remove(&self.kids[k].spec.name);
                self.stop_child(&p, self.kids[k].spec.shutdown);
            }
        }
    }

    /// Stops one child: a shutdown signal, its grace, then a kill.
    fn stop_child(&mut self, p: &Arc<dyn Proc>, grace: Duration) {
        let id = p.id();
        let is_its_exit = |m: &SupervisorMsg| matches!(&m.0, Request::Exit(e) if e.from == id);
        p.signal(self.me.id(), &ExitReason::Shutdown, false);
        if self.ctx.receive_match_timeout(grace, is_its_exit).is_some() {
            return;
        }
        cell::kill(&**p, ExitReason::Killed);
        if self.ctx.receive_match_timeout(grace, is_its_exit).is_none() {
            tracing::error!(
                "supervisor {}: child {} did not end after a kill (it never reaches a switch point)",
                self.me.id(),
                id
            );
            cell::unlink(&self.me, p);
        }
    }
}

/// A running supervisor: reach its children, stop it, or wait for it.
pub struct SupervisorHandle {
    /// The supervisor actor.
    handle: ActorHandle<SupervisorMsg, ()>,
    /// The live instance of each child.
    table: Arc<Mutex<Table>>,
    /// Restarts so far.
    restarts: Arc<AtomicUsize>,
}

impl SupervisorHandle {
    /// The address of the live instance of child `name`, if it runs now
    /// and its mailbox type is `M`. After a restart this is the new
    /// instance's address; between a crash and the restart it is `None`.
    ///
    /// ```
    /// use grove_actors::Ctx;
    /// use grove_actors::supervisor::{ChildSpec, Strategy, Supervisor};
    /// let sup = Supervisor::new(Strategy::OneForOne)
    ///     .child(ChildSpec::new("w", |c: &mut Ctx<u8>| c.receive()))
    ///     .start().unwrap();
    /// assert!(sup.child::<u8>("w").is_some());
    /// assert!(sup.child::<String>("w").is_none()); // another mailbox type
    /// sup.stop().unwrap();
    /// ```
    pub fn child<M: Send + 'static>(&self, name: &str) -> Option<Addr<M>> {
        let t = self.table.lock();
        let addr = t.live.get(name)?.1.downcast_ref::<Addr<M>>()?;
        // An instance that has ended but whose exit the supervisor has
        // not handled yet is not "current": None until its restart.
        addr.is_alive().then(|| addr.clone())
    }

    /// The names and ids of the children running now.
    ///
    /// ```
    /// use grove_actors::Ctx;
    /// use grove_actors::supervisor::{ChildSpec, Strategy, Supervisor};
    /// let sup = Supervisor::new(Strategy::OneForOne)
    ///     .child(ChildSpec::new("w", |c: &mut Ctx<u8>| c.receive()))
    ///     .start().unwrap();
    /// assert_eq!(sup.children().len(), 1);
    /// sup.stop().unwrap();
    /// ```
    pub fn children(&self) -> Vec<(String, ActorId)> {
        let t = self.table.lock();
        let mut v: Vec<_> = t.live.iter().map(|(n, (id, _))| (n.clone(), *id)).collect();
        v.sort();
        v
    }

    /// How many restarts the supervisor has made so far. Once it reads
    /// `k`, the `k`-th restart is complete: [`child`](Self::child) gives
    /// the new instances.
    ///
    /// ```
    /// use grove_actors::Ctx;
    /// use grove_actors::supervisor::{ChildSpec, Strategy, Supervisor};
    /// let sup = Supervisor::new(Strategy::OneForOne).start().unwrap();
    /// assert_eq!(sup.restarts(), 0);
    /// sup.stop().unwrap();
    /// ```
    pub fn restarts(&self) -> usize {
        self.restarts.load(Ordering::Acquire)
    }

    /// The supervisor's own address (to link or monitor it).
    ///
    /// ```
    /// use grove_actors::supervisor::{Strategy, Supervisor};
    /// let sup = Supervisor::new(Strategy::OneForOne).start().unwrap();
    /// assert!(sup.addr().is_alive());
    /// sup.stop().unwrap();
    /// ```
    pub fn addr(&self) -> Addr<SupervisorMsg> {
        self.handle.addr()
    }

    /// Stops the children in reverse start order (each with its shutdown
    /// grace), then the supervisor, and waits for that.
    ///
    /// ```
    /// use grove_actors::Ctx;
    /// use grove_actors::supervisor::{ChildSpec, Strategy, Supervisor};
    /// let sup = Supervisor::new(Strategy::OneForOne)
    ///     .child(ChildSpec::new("w", |c: &mut Ctx<u8>| c.receive()))
    ///     .start().unwrap();
    /// let w = sup.child::<u8>("w").unwrap();
    /// sup.stop().unwrap();
    /// assert!(!w.is_alive());
    /// ```
    pub fn stop(self) -> Result<(), ExitReason> {
        let _ = self
            .handle
            .addr()
            .cell
            .mailbox
            .push_system(SupervisorMsg(Request::Stop));
        self.handle.wait()
    }

    /// Waits for the supervisor to end: `Ok` after a [`stop`](Self::stop),
    /// or the reason it gave up (restart intensity exceeded) or was taken
    /// down.
    ///
    /// ```
    /// use std::time::Duration;
    /// use grove_actors::{Ctx, ExitReason};
    /// use grove_actors::supervisor::{ChildSpec, Strategy, Supervisor};
    /// let sup = Supervisor::new(Strategy::OneForOne)
    ///     .intensity(2, Duration::from_secs(60))
    ///     .child(ChildSpec::new("crasher", |_: &mut Ctx<()>| -> () { panic!("always") }))
    ///     .start().unwrap();
    /// assert!(matches!(sup.wait(), Err(ExitReason::Custom(_))));
    /// ```
    pub fn wait(self) -> Result<(), ExitReason> {
        self.handle.wait()
    }
}

impl fmt::Debug for SupervisorHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorHandle")
            .field("id", &self.handle.id())
            .field("children", &self.children())
            .finish()
    }
}
