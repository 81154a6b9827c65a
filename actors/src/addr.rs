//! [`Addr`]: the address of an actor, the only way to reach it.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::BitOr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::call::{CallError, Reply};
use crate::cell::{Cell, Proc};
use crate::exit::{ActorId, ExitReason};
use crate::mailbox::Refused;

/// The address of an actor with mailbox type `M`: cheap to clone, `Send`,
/// and the only way to send it messages.
///
/// Sending never fails in the sender's face: a message for an actor that
/// has ended is dropped (use [`try_send`](Addr::try_send) to learn of it).
/// A bounded mailbox makes [`send`](Addr::send) wait for room
/// (backpressure). `addr | msg` sends too, as in pyact.
///
/// ```
/// use grove_actors::{self as actors, Ctx};
///
/// let echo = actors::spawn(|ctx: &mut Ctx<String>| ctx.receive());
/// let addr = echo.addr();
/// addr | "hello".to_string();
/// assert_eq!(echo.wait().unwrap(), "hello");
/// ```
pub struct Addr<M> {
    /// The actor's cell (mailbox and control block).
    pub(crate) cell: Arc<Cell<M>>,
}

impl<M: Send + 'static> Addr<M> {
    pub(crate) fn from_cell(cell: Arc<Cell<M>>) -> Addr<M> {
        Addr { cell }
    }

    /// The type-erased actor.
    pub(crate) fn proc(&self) -> Arc<dyn Proc> {
        self.cell.proc()
    }

    /// Sends `msg`. On a bounded mailbox that is full, waits for room (a
    /// switch point). A message for an actor that has ended is dropped.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<u32>| ctx.receive() + ctx.receive());
    /// h.addr().send(1);
    /// h.addr().send(2);
    /// assert_eq!(h.wait().unwrap(), 3);
    /// ```
    pub fn send(&self, msg: M) {
        let _ = self.cell.mailbox.send(msg, None);
    }

    /// Sends `msg` if the mailbox has room now, else hands it back: in
    /// [`TrySendError::Full`] for a full bounded mailbox, in
    /// [`TrySendError::Dead`] for an actor that has ended.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx, TrySendError};
    /// let h = actors::spawn(|_: &mut Ctx<u8>| ());
    /// let a = h.addr();
    /// h.wait().unwrap();
    /// assert!(matches!(a.try_send(1), Err(TrySendError::Dead(1))));
    /// ```
    pub fn try_send(&self, msg: M) -> Result<(), TrySendError<M>> {
        self.cell.mailbox.try_send(msg).map_err(|r| match r {
            Refused::Full(m) => TrySendError::Full(m),
            Refused::Closed(m) => TrySendError::Dead(m),
        })
    }

    /// Like [`send`](Addr::send), but waits at most `timeout` for room in
    /// a bounded mailbox.
    ///
    /// ```
    /// use std::time::Duration;
    /// use grove_actors::{self as actors, Ctx, TrySendError};
    /// let h = actors::Builder::new().bounded(1).spawn(|ctx: &mut Ctx<u8>| {
    ///     grove_runtime::sleep(Duration::from_millis(50));
    ///     ctx.receive()
    /// }).unwrap();
    /// h.addr().send(1);
    /// let e = h.addr().send_timeout(2, Duration::from_millis(1)).unwrap_err();
    /// assert!(matches!(e, TrySendError::Full(2)));
    /// assert_eq!(h.wait().unwrap(), 1);
    /// ```
    pub fn send_timeout(&self, msg: M, timeout: Duration) -> Result<(), TrySendError<M>> {
        let deadline = Instant::now().checked_add(timeout);
        self.cell.mailbox.send(msg, deadline).map_err(|r| match r {
            Refused::Full(m) => TrySendError::Full(m),
            Refused::Closed(m) => TrySendError::Dead(m),
        })
    }

    /// Request/reply: sends the message `make` builds around a fresh
    /// [`Reply`], and waits at most `timeout` for the answer the actor
    /// gives with [`Reply::send`].
    ///
    /// Fails with [`CallError::Dead`] as soon as the actor ends or drops
    /// the reply without answering (never a hang), and with
    /// [`CallError::Timeout`] after `timeout`. A late answer goes nowhere:
    /// replies never pass through the caller's mailbox.
    ///
    /// ```
    /// use std::time::Duration;
    /// use grove_actors::{self as actors, Ctx, Reply};
    ///
    /// enum Msg { Add(u64), Get(Reply<u64>) }
    ///
    /// let counter = actors::spawn(|ctx: &mut Ctx<Msg>| {
    ///     let mut total = 0;
    ///     loop {
    ///         match ctx.receive() {
    ///             Msg::Add(n) => total += n,
    ///             Msg::Get(reply) => reply.send(total),
    ///         }
    ///     }
    /// });
    /// let c = counter.addr();
    /// c.send(Msg::Add(2));
    /// c.send(Msg::Add(3));
    /// assert_eq!(c.call(Msg::Get, Duration::from_secs(1)), Ok(5));
    /// ```
    pub fn call<T, F>(&self, make: F, timeout: Duration) -> Result<T, CallError>
    where
        F: FnOnce(Reply<T>) -> M,
    {
        let deadline = Instant::now().checked_add(timeout);
        let (reply, answer) = crate::call::pair();
        match self.cell.mailbox.send(make(reply), deadline) {
            Ok(()) => {}
            // The message (and the reply in it) is dropped: Dead below.
            Err(Refused::Closed(m)) => drop(m),
            Err(Refused::Full(m)) => {
                drop(m);
                return Err(CallError::Timeout);
            }
        }
        answer.wait(deadline)
    }

    /// The actor's id.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<()>| ctx.id());
    /// assert_eq!(h.addr().id(), h.wait().unwrap());
    /// ```
    pub fn id(&self) -> ActorId {
        self.cell.id
    }

    /// Whether the actor is still running (a snapshot: it may end right
    /// after).
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|_: &mut Ctx<()>| ());
    /// let a = h.addr();
    /// h.wait().unwrap();
    /// assert!(!a.is_alive());
    /// ```
    pub fn is_alive(&self) -> bool {
        !self.cell.mailbox.is_closed()
    }

    /// How the actor ended, once it has.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx, ExitReason};
    /// let h = actors::spawn(|_: &mut Ctx<()>| ());
    /// let a = h.addr();
    /// h.wait().unwrap();
    /// assert_eq!(a.exit_reason(), Some(ExitReason::Normal));
    /// ```
    pub fn exit_reason(&self) -> Option<ExitReason> {
        self.cell.exit_reason()
    }

    /// Kills the actor: it unwinds at its current switch point with
    /// [`ExitReason::Killed`] (linked actors then get that reason).
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx, ExitReason};
    /// let h = actors::spawn(|ctx: &mut Ctx<()>| ctx.receive());
    /// h.addr().kill();
    /// assert_eq!(h.wait().unwrap_err(), ExitReason::Killed);
    /// ```
    pub fn kill(&self) {
        crate::cell::kill(&*self.cell, ExitReason::Killed);
    }

    /// Sends the actor an exit signal, as Erlang's `exit(Pid, Reason)`
    /// from an actor with id `from`: an actor that traps exits receives it
    /// as an [`Exit`](crate::Exit) message; otherwise a normal reason is
    /// ignored and any other ends the actor with that reason.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx, ExitReason};
    /// let h = actors::spawn(|ctx: &mut Ctx<()>| ctx.receive());
    /// h.addr().exit(h.id(), ExitReason::Shutdown);
    /// assert_eq!(h.wait().unwrap_err(), ExitReason::Shutdown);
    /// ```
    pub fn exit(&self, from: ActorId, reason: ExitReason) {
        self.cell.signal(from, &reason, false);
    }

    /// The bound of its mailbox, if it has one.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::Builder::new().bounded(8).spawn(|_: &mut Ctx<()>| ()).unwrap();
    /// assert_eq!(h.addr().capacity(), Some(8));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.cell.mailbox.capacity()
    }
}

impl Addr<Value> {
    /// Sends any `Serialize` value to a JSON mailbox, as a copy
    /// (python-actors' model: JSON messages are network-safe copies).
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use grove_actors::{self as actors, Ctx};
    /// use serde_json::{json, Value};
    ///
    /// let h = actors::spawn(|ctx: &mut Ctx<Value>| (ctx.receive(), ctx.receive()));
    /// h.addr().send_json(&("credit", 9.5)).unwrap();
    /// h.addr().send_json(&BTreeMap::from([("x", 1), ("y", 2)])).unwrap();
    /// let (a, b) = h.wait().unwrap();
    /// assert_eq!(a, json!(["credit", 9.5]));
    /// assert_eq!(b, json!({"x": 1, "y": 2}));
    /// ```
    pub fn send_json<T: serde::Serialize + ?Sized>(&self, value: &T) -> serde_json::Result<()> {
        self.send(serde_json::to_value(value)?);
        Ok(())
    }
}

impl<M> Clone for Addr<M> {
    fn clone(&self) -> Addr<M> {
        Addr {
            cell: self.cell.clone(),
        }
    }
}

impl<M> PartialEq for Addr<M> {
    fn eq(&self, other: &Addr<M>) -> bool {
        self.cell.id == other.cell.id
    }
}

impl<M> Eq for Addr<M> {}

impl<M> Hash for Addr<M> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.cell.id.hash(state);
    }
}

impl<M> fmt::Debug for Addr<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Addr").field(&self.cell.id).finish()
    }
}

/// `addr | msg` sends `msg` (pyact's operator).
impl<M: Send + 'static> BitOr<M> for Addr<M> {
    type Output = ();
    fn bitor(self, msg: M) {
        self.send(msg);
    }
}

/// `&addr | msg` sends `msg` without giving up the address.
impl<M: Send + 'static> BitOr<M> for &Addr<M> {
    type Output = ();
    fn bitor(self, msg: M) {
        self.send(msg);
    }
}

/// A message [`Addr::try_send`] could not deliver, handed back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<M> {
    /// The bounded mailbox is full.
    Full(M),
    /// The actor has ended.
    Dead(M),
}

impl<M> TrySendError<M> {
    /// The message.
    ///
    /// ```
    /// use grove_actors::TrySendError;
    /// assert_eq!(TrySendError::Full(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> M {
        match self {
            TrySendError::Full(m) | TrySendError::Dead(m) => m,
        }
    }

    /// Whether the mailbox was full.
    ///
    /// ```
    /// use grove_actors::TrySendError;
    /// assert!(TrySendError::Full(()).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// Whether the actor has ended.
    ///
    /// ```
    /// use grove_actors::TrySendError;
    /// assert!(TrySendError::Dead(()).is_dead());
    /// ```
    pub fn is_dead(&self) -> bool {
        matches!(self, TrySendError::Dead(_))
    }
}

impl<M> fmt::Debug for TrySendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Dead(_) => f.write_str("Dead(..)"),
        }
    }
}

impl<M> fmt::Display for TrySendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("the actor's mailbox is full"),
            TrySendError::Dead(_) => f.write_str("the actor has ended"),
        }
    }
}

impl<M> std::error::Error for TrySendError<M> {}
