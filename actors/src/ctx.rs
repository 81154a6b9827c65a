//! [`Ctx`]: what an actor's function gets. It is the receiving half of the
//! mailbox and the actor's handle on itself (links, monitors, exit).
//!
//! # Receiving
//!
//! The context keeps a private *stash*: messages taken from the mailbox
//! (all of them at once, in one lock) and not received yet. A plain
//! `receive` pops the stash, and refills it from the mailbox when it is
//! empty.
//!
//! A selective receive scans from the oldest message to the newest. Each
//! message that does not match moves, in order, to `skipped`; the first
//! that matches is taken. With the stash scanned and nothing matching, it
//! refills the stash from the mailbox (only new messages, so nothing is
//! scanned twice by one call) and parks when there is nothing new. At the
//! end — match, timeout, or an unwind through it — the skipped messages go
//! back in front of the stash in their original order:
//!
//! ```text
//!   before:  stash [a b c d]          receive_match(is c)
//!   scan:    skipped [a b]  take c  stash [d]
//!   after:   stash [a b d]            (a and b keep their place)
//! ```

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::addr::Addr;
use crate::cell::{self, Cell};
use crate::exit::{ActorId, Down, Exit, ExitPayload, ExitReason, MonitorRef};
use crate::ActorHandle;

/// An actor's context: its mailbox's receiving end and its handle on
/// itself. The actor's function gets `&mut Ctx<M>`.
///
/// ```
/// use grove_actors::{self as actors, Ctx};
///
/// let h = actors::spawn(|ctx: &mut Ctx<i32>| {
///     let me = ctx.addr();
///     me.send(1);
///     me.send(2);
///     ctx.receive() * 10 + ctx.receive()
/// });
/// assert_eq!(h.wait().unwrap(), 12);
/// ```
///
/// The fields `receive` reads come first, so resuming a parked actor
/// touches the first line or two of it (it sits on the actor's stack, cold
/// after the rest of a 10,000-actor ring ran). It is not aligned to a
/// cache line: the padding that took made every parked actor's stack
/// ~220 bytes longer (more lines to fetch on a resume, more bytes to copy
/// out of a shared stack) and measured worse (cachegrind, 10,000-actor
/// ring, 4 MiB last level: 11.5 → 10.5 L1 and 6.5 → 5.5 last-level data
/// misses a hop without it).
#[repr(C)]
pub struct Ctx<M> {
    /// The actor's own cell.
    pub(crate) cell: Arc<Cell<M>>,
    /// Taken from the mailbox, not received yet; oldest first.
    stash: VecDeque<M>,
    /// Whether the mailbox is bounded (received messages must be reported).
    bounded: bool,
    /// Set by `stop`: a trait actor ends after the current message.
    pub(crate) stopping: bool,
    /// A selective receive's scratch: messages it skipped, in order.
    skipped: VecDeque<M>,
}

/// Puts skipped messages back in front of the stash when a selective
/// receive ends, also by unwinding (a kill, a `grove::timeout` around it).
struct Restore<'a, M> {
    ctx: &'a mut Ctx<M>,
}

impl<M> Drop for Restore<'_, M> {
    fn drop(&mut self) {
        let ctx = &mut *self.ctx;
        if ctx.skipped.is_empty() {
            return;
        }
        if ctx.stash.is_empty() {
            std::mem::swap(&mut ctx.stash, &mut ctx.skipped);
        } else {
            while let Some(m) = ctx.skipped.pop_back() {
                ctx.stash.push_front(m);
            }
        }
    }
}

/// The deadline `dur` from now (`None`: too far to represent, so never).
fn deadline_in(dur: Duration) -> Option<Instant> {
    Instant::now().checked_add(dur)
}

/// Parks until woken or `deadline`.
fn park_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => grove_runtime::park_deadline(d),
        None => grove_runtime::park(),
    }
}

impl<M: Send + 'static> Ctx<M> {
    pub(crate) fn new(cell: Arc<Cell<M>>) -> Ctx<M> {
        Ctx {
            bounded: cell.mailbox.is_bounded(),
            cell,
            stash: VecDeque::new(),
            skipped: VecDeque::new(),
            stopping: false,
        }
    }

    /// Drops the messages taken from the mailbox and not received (the
    /// root does this when the actor's function is done, before the exit
    /// steps).
    pub(crate) fn discard_unreceived(&mut self) {
        drop(std::mem::take(&mut self.stash));
        drop(std::mem::take(&mut self.skipped));
    }

    /// This actor's address.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<u8>| { ctx.addr().send(7); ctx.receive() });
    /// assert_eq!(h.wait().unwrap(), 7);
    /// ```
    pub fn addr(&self) -> Addr<M> {
        Addr::from_cell(self.cell.clone())
    }

    /// This actor's id.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<()>| ctx.id());
    /// assert_eq!(h.id(), h.wait().unwrap());
    /// ```
    pub fn id(&self) -> ActorId {
        self.cell.id
    }

    /// A received message leaves the mailbox's count (bounded only).
    #[inline]
    fn took_one(&self) {
        if self.bounded {
            self.cell.mailbox.consumed(1);
        }
    }

    /// Receives the oldest message, waiting for one (a switch point).
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<&'static str>| ctx.receive());
    /// h.addr().send("hi");
    /// assert_eq!(h.wait().unwrap(), "hi");
    /// ```
    #[inline]
    pub fn receive(&mut self) -> M {
        // The hot path of every actor: kept apart from `receive_until`,
        // whose deadline handling made pingpong ~30 % slower when this was
        // written as `receive_until(None)`.
        loop {
            if let Some(m) = self.stash.pop_front() {
                self.took_one();
                return m;
            }
            // Woken with a message handed over: no lock (mailbox docs).
            if let Some(m) = self.cell.mailbox.take_handed() {
                self.took_one();
                return m;
            }
            if self.cell.mailbox.fetch(&mut self.stash, true) == 0 {
                grove_runtime::park();
            }
        }
    }

    /// Receives the oldest message, waiting at most `timeout` for one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<u8>| ctx.receive_timeout(Duration::from_millis(5)));
    /// assert_eq!(h.wait().unwrap(), None);
    /// ```
    pub fn receive_timeout(&mut self, timeout: Duration) -> Option<M> {
        self.receive_until(deadline_in(timeout))
    }

    /// Receives the oldest message if there is one now, without waiting.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<u8>| {
    ///     assert_eq!(ctx.try_receive(), None);
    ///     ctx.addr().send(1);
    ///     ctx.try_receive()
    /// });
    /// assert_eq!(h.wait().unwrap(), Some(1));
    /// ```
    pub fn try_receive(&mut self) -> Option<M> {
        if self.stash.is_empty() {
            self.cell.mailbox.fetch(&mut self.stash, false);
        }
        let m = self.stash.pop_front()?;
        self.took_one();
        Some(m)
    }

    fn receive_until(&mut self, deadline: Option<Instant>) -> Option<M> {
        loop {
            if let Some(m) = self.stash.pop_front() {
                self.took_one();
                return Some(m);
            }
            if self.cell.mailbox.fetch(&mut self.stash, true) > 0 {
                continue;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                self.cell.mailbox.disarm();
                return None;
            }
            park_until(deadline);
        }
    }

    /// Selective receive: takes the oldest message for which `pred` is
    /// true, waiting for one; messages that do not match stay in the
    /// mailbox in their order.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<i32>| {
    ///     let me = ctx.addr();
    ///     for i in [1, 2, 3, 4] { me.send(i); }
    ///     let even = ctx.receive_match(|m| m % 2 == 0);
    ///     (even, ctx.receive(), ctx.receive(), ctx.receive())
    /// });
    /// assert_eq!(h.wait().unwrap(), (2, 1, 3, 4));
    /// ```
    pub fn receive_match(&mut self, mut pred: impl FnMut(&M) -> bool) -> M {
        self.select_until(None, |m| if pred(&m) { Ok(m) } else { Err(m) })
            .expect("a receive without deadline returns a message")
    }

    /// Like [`receive_match`](Ctx::receive_match), but waits at most
    /// `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<i32>| {
    ///     ctx.addr().send(1);
    ///     let none = ctx.receive_match_timeout(Duration::from_millis(5), |m| *m > 1);
    ///     (none, ctx.receive())
    /// });
    /// assert_eq!(h.wait().unwrap(), (None, 1));
    /// ```
    pub fn receive_match_timeout(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&M) -> bool,
    ) -> Option<M> {
        self.select_until(
            deadline_in(timeout),
            |m| if pred(&m) { Ok(m) } else { Err(m) },
        )
    }

    /// The most general receive: offers each message, oldest first, to
    /// `f`, which either takes it (`Ok`) or gives it back (`Err`); the
    /// first one taken is the result, the others keep their place. Waits
    /// for new messages while none is taken. [`receive!`](crate::receive!)
    /// is built on it.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<Result<u8, String>>| {
    ///     ctx.addr().send(Err("no".into()));
    ///     ctx.addr().send(Ok(5));
    ///     let n = ctx.receive_with(|m| match m { Ok(n) => Ok(n), other => Err(other) });
    ///     (n, ctx.receive())
    /// });
    /// assert_eq!(h.wait().unwrap(), (5, Err("no".into())));
    /// ```
    pub fn receive_with<T>(&mut self, f: impl FnMut(M) -> Result<T, M>) -> T {
        self.select_until(None, f)
            .expect("a receive without deadline returns a message")
    }

    /// Like [`receive_with`](Ctx::receive_with), but waits at most
    /// `timeout` (`None` when nothing was taken by then).
    ///
    /// ```
    /// use std::time::Duration;
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<u8>| {
    ///     ctx.receive_with_timeout(Duration::from_millis(2), |m| Ok::<u8, u8>(m))
    /// });
    /// assert_eq!(h.wait().unwrap(), None);
    /// ```
    pub fn receive_with_timeout<T>(
        &mut self,
        timeout: Duration,
        f: impl FnMut(M) -> Result<T, M>,
    ) -> Option<T> {
        self.select_until(deadline_in(timeout), f)
    }

    /// The selective receive engine (see the module docs).
    fn select_until<T>(
        &mut self,
        deadline: Option<Instant>,
        mut f: impl FnMut(M) -> Result<T, M>,
    ) -> Option<T> {
        let guard = Restore { ctx: self };
        let ctx = &mut *guard.ctx;
        let found = 'scan: loop {
            while let Some(m) = ctx.stash.pop_front() {
                match f(m) {
                    Ok(t) => break 'scan Some(t),
                    Err(m) => ctx.skipped.push_back(m),
                }
            }
            if ctx.cell.mailbox.fetch(&mut ctx.stash, true) > 0 {
                continue;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                ctx.cell.mailbox.disarm();
                break None;
            }
            park_until(deadline);
        };
        if found.is_some() {
            ctx.took_one();
        }
        drop(guard);
        found
    }

    /// How many messages wait to be received (in the mailbox and taken
    /// from it), a snapshot.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<u8>| { ctx.addr().send(1); ctx.pending() });
    /// assert_eq!(h.wait().unwrap(), 1);
    /// ```
    pub fn pending(&self) -> usize {
        self.stash.len() + self.cell.mailbox.queued()
    }

    /// Spawns an actor on this actor's runtime (as
    /// [`actors::spawn`](crate::spawn)).
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<()>| {
    ///     ctx.spawn(|_: &mut Ctx<()>| 21).wait().unwrap() * 2
    /// });
    /// assert_eq!(h.wait().unwrap(), 42);
    /// ```
    pub fn spawn<N, R, F>(&self, f: F) -> ActorHandle<N, R>
    where
        F: FnOnce(&mut Ctx<N>) -> R + Send + 'static,
        N: Send + 'static,
        R: Send + 'static,
    {
        crate::spawn(f)
    }

    /// Spawns an actor linked to this one from before it runs (Erlang's
    /// `spawn_link`): if either ends abnormally, the other is taken down
    /// (or, trapping exits, told).
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx, ExitReason};
    /// let h = actors::spawn(|ctx: &mut Ctx<()>| {
    ///     ctx.spawn_link(|_: &mut Ctx<()>| -> () { panic!("child") });
    ///     ctx.receive() // killed by the link before any message comes
    /// });
    /// assert_eq!(h.wait().unwrap_err(), ExitReason::Panic("child".into()));
    /// ```
    pub fn spawn_link<N, R, F>(&mut self, f: F) -> ActorHandle<N, R>
    where
        F: FnOnce(&mut Ctx<N>) -> R + Send + 'static,
        N: Send + 'static,
        R: Send + 'static,
    {
        crate::Builder::new()
            .spawn_linked(&self.cell.proc(), f)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Links this actor with `other` (both ways): when either ends
    /// abnormally the other is taken down with the same reason, unless it
    /// traps exits. Linking to an actor that has already ended delivers
    /// its exit at once.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx, ExitReason};
    /// let victim = actors::spawn(|ctx: &mut Ctx<()>| ctx.receive());
    /// let v = victim.addr();
    /// let h = actors::spawn(move |ctx: &mut Ctx<()>| -> () {
    ///     ctx.link(&v);
    ///     panic!("takes the victim along");
    /// });
    /// assert!(h.wait().is_err());
    /// assert_eq!(victim.wait().unwrap_err(), ExitReason::Panic("takes the victim along".into()));
    /// ```
    pub fn link<N: Send + 'static>(&mut self, other: &Addr<N>) {
        cell::link(&self.cell.proc(), &other.proc());
    }

    /// Removes the link with `other`, if any.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<()>| {
    ///     let child = ctx.spawn_link(|c: &mut Ctx<()>| -> () { c.receive(); panic!("late") });
    ///     ctx.unlink(&child.addr());
    ///     child.addr().send(());
    ///     child.wait().is_err()
    /// });
    /// assert!(h.wait().unwrap()); // the child's panic did not reach us
    /// ```
    pub fn unlink<N: Send + 'static>(&mut self, other: &Addr<N>) {
        cell::unlink(&self.cell.proc(), &other.proc());
    }

    /// Turns exit signals from linked actors into [`Exit`] messages (true)
    /// or back into ending this actor (false), as Erlang's
    /// `process_flag(trap_exit, ..)`. Needs `M: From<Exit>`.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx, Exit};
    /// let h = actors::spawn(|ctx: &mut Ctx<serde_json::Value>| {
    ///     ctx.trap_exit(true);
    ///     ctx.spawn_link(|_: &mut Ctx<()>| -> () { panic!("x") });
    ///     ctx.receive()["reason"]["panic"].clone()
    /// });
    /// assert_eq!(h.wait().unwrap(), "x");
    /// ```
    pub fn trap_exit(&mut self, on: bool)
    where
        M: From<Exit>,
    {
        *self.cell.trap.lock() = if on {
            Some(<M as From<Exit>>::from)
        } else {
            None
        };
    }

    /// Whether this actor traps exits.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<serde_json::Value>| { ctx.trap_exit(true); ctx.traps_exits() });
    /// assert!(h.wait().unwrap());
    /// ```
    pub fn traps_exits(&self) -> bool {
        self.cell.trap.lock().is_some()
    }

    /// Monitors `target`: when it ends, this actor receives one [`Down`]
    /// message (converted with `M: From<Down>`), also if it had already
    /// ended. A monitor, unlike a link, never takes this actor down.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let dead = actors::spawn(|_: &mut Ctx<()>| ());
    /// let d = dead.addr();
    /// dead.wait().unwrap();
    /// let h = actors::spawn(move |ctx: &mut Ctx<serde_json::Value>| {
    ///     ctx.monitor(&d);
    ///     ctx.receive()["reason"].clone()
    /// });
    /// assert_eq!(h.wait().unwrap(), "normal");
    /// ```
    pub fn monitor<N: Send + 'static>(&mut self, target: &Addr<N>) -> MonitorRef
    where
        M: From<Down>,
    {
        let me = self.addr();
        cell::monitor(
            &self.cell.proc(),
            &target.proc(),
            Box::new(move |down: Down| {
                // The monitor is spent: let go of the target.
                me.cell
                    .ctl
                    .lock()
                    .watching
                    .retain(|(m, _)| *m != down.monitor);
                let _ = me.cell.mailbox.push_system(M::from(down));
            }),
        )
    }

    /// Removes a monitor. Returns whether it was still active; a `Down`
    /// already delivered stays in the mailbox.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<serde_json::Value>| {
    ///     let other = ctx.spawn(|c: &mut Ctx<()>| c.receive());
    ///     let r = ctx.monitor(&other.addr());
    ///     let was = ctx.demonitor(r);
    ///     other.kill();
    ///     was
    /// });
    /// assert!(h.wait().unwrap());
    /// ```
    pub fn demonitor(&mut self, monitor: MonitorRef) -> bool {
        cell::demonitor(&self.cell.proc(), monitor)
    }

    /// Ends this actor now with `reason`, unwinding its stack (destructors
    /// run), as Erlang's `exit(Reason)`. Linked actors see `reason`.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx, ExitReason};
    /// let h = actors::spawn(|ctx: &mut Ctx<()>| -> () { ctx.exit(ExitReason::Custom("done early".into())) });
    /// assert_eq!(h.wait().unwrap_err(), ExitReason::Custom("done early".into()));
    /// ```
    pub fn exit(&mut self, reason: ExitReason) -> ! {
        std::panic::resume_unwind(Box::new(ExitPayload(reason)))
    }

    /// For a trait-style actor ([`Actor`](crate::Actor)): ends it
    /// normally after the message being handled. Function-style actors
    /// just return.
    ///
    /// ```
    /// use grove_actors::{self as actors, Actor, Ctx};
    /// struct Once;
    /// impl Actor for Once {
    ///     type Msg = ();
    ///     fn handle(&mut self, _: (), ctx: &mut Ctx<()>) { ctx.stop() }
    /// }
    /// let h = actors::start(Once);
    /// h.addr().send(());
    /// assert!(h.wait().is_ok());
    /// ```
    pub fn stop(&mut self) {
        self.stopping = true;
    }

    /// Registers this actor under `name` (see [`register`](crate::register)).
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<u8>| { ctx.register("ctx-register-doc").unwrap(); ctx.receive() });
    /// while actors::whereis::<u8>("ctx-register-doc").is_none() { grove_runtime::yield_now() }
    /// actors::whereis::<u8>("ctx-register-doc").unwrap().send(3);
    /// assert_eq!(h.wait().unwrap(), 3);
    /// ```
    pub fn register(&self, name: impl Into<String>) -> Result<(), crate::RegisterError> {
        crate::register(name, &self.addr())
    }
}

impl<M> std::fmt::Debug for Ctx<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("id", &self.cell.id)
            .field("stashed", &self.stash.len())
            .finish()
    }
}
