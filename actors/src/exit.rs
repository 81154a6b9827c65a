//! How actors end, and the two notifications that say so: [`ExitReason`],
//! [`Exit`] (from a link) and [`Down`] (from a monitor), plus the ids that
//! name actors and monitors.
//!
//! Notifications are ordinary messages: an actor that traps exits, or that
//! monitors another, receives them through the same `receive` calls as
//! everything else, converted into its message type with `From<Exit>` /
//! `From<Down>`, so selective receive works on them. For JSON mailboxes
//! (`serde_json::Value`) the conversions build pyact-style objects:
//!
//! ```text
//!   Exit → {"exit": <actor id>, "reason": <reason>}
//!   Down → {"down": <monitor id>, "actor": <actor id>, "reason": <reason>}
//!   reason: "normal" | "shutdown" | "killed" | {"panic": "<message>"} | {"custom": "<text>"}
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

/// Identifies an actor, unique within the process and never reused.
///
/// ```
/// use grove_actors::{self as actors, Ctx};
/// let h = actors::spawn(|ctx: &mut Ctx<()>| ctx.id());
/// let id = h.id();
/// assert_eq!(h.wait().unwrap(), id);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActorId(pub(crate) u64);

impl ActorId {
    /// A fresh id.
    pub(crate) fn next() -> ActorId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ActorId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The number behind the id.
    ///
    /// ```
    /// # use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|_: &mut Ctx<()>| ());
    /// assert!(h.id().as_u64() > 0);
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "actor#{}", self.0)
    }
}

/// Identifies one monitor, as returned by [`Ctx::monitor`](crate::Ctx::monitor)
/// and carried by its [`Down`] message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MonitorRef(pub(crate) u64);

impl MonitorRef {
    /// A fresh reference.
    pub(crate) fn next() -> MonitorRef {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        MonitorRef(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The number behind the reference.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

/// Why an actor ended (Erlang's exit reason).
///
/// ```
/// use grove_actors::{self as actors, Ctx, ExitReason};
/// let h = actors::spawn(|_: &mut Ctx<()>| -> () { panic!("boom") });
/// assert_eq!(h.wait().unwrap_err(), ExitReason::Panic("boom".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExitReason {
    /// It returned (or a trait actor called [`Ctx::stop`](crate::Ctx::stop)).
    Normal,
    /// It was asked to shut down, by its supervisor or with
    /// [`Ctx::exit`](crate::Ctx::exit)`(ExitReason::Shutdown)`. Like
    /// `Normal`, a transient child ending this way is not restarted.
    Shutdown,
    /// It panicked, with this message.
    Panic(String),
    /// It was killed ([`ActorHandle::kill`](crate::ActorHandle::kill), its
    /// runtime shut down, or it never got to start).
    Killed,
    /// It ended itself with [`Ctx::exit`](crate::Ctx::exit) and a reason of
    /// its own.
    Custom(String),
}

impl ExitReason {
    /// Whether this is a normal end (`Normal` or `Shutdown`): what a
    /// transient child is not restarted for.
    ///
    /// ```
    /// use grove_actors::ExitReason;
    /// assert!(ExitReason::Shutdown.is_normal());
    /// assert!(!ExitReason::Killed.is_normal());
    /// ```
    pub fn is_normal(&self) -> bool {
        matches!(self, ExitReason::Normal | ExitReason::Shutdown)
    }

    /// The reason as JSON, as the JSON forms of [`Exit`] and [`Down`] carry
    /// it.
    ///
    /// ```
    /// use grove_actors::ExitReason;
    /// assert_eq!(ExitReason::Normal.to_json(), serde_json::json!("normal"));
    /// assert_eq!(ExitReason::Panic("x".into()).to_json(), serde_json::json!({"panic": "x"}));
    /// ```
    pub fn to_json(&self) -> Value {
        match self {
            ExitReason::Normal => json!("normal"),
            ExitReason::Shutdown => json!("shutdown"),
            ExitReason::Killed => json!("killed"),
            ExitReason::Panic(m) => json!({ "panic": m }),
            ExitReason::Custom(m) => json!({ "custom": m }),
        }
    }

    /// The reason for a caught unwind payload.
    pub(crate) fn from_payload(payload: Box<dyn std::any::Any + Send>) -> ExitReason {
        let payload = match payload.downcast::<ExitPayload>() {
            Ok(p) => return p.0,
            Err(p) => p,
        };
        let e = grove_runtime::JoinError::from_panic(payload);
        if e.is_killed() {
            ExitReason::Killed
        } else {
            ExitReason::Panic(
                e.panic_message()
                    .unwrap_or("<non-string panic payload>")
                    .to_string(),
            )
        }
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Normal => f.write_str("normal"),
            ExitReason::Shutdown => f.write_str("shutdown"),
            ExitReason::Killed => f.write_str("killed"),
            ExitReason::Panic(m) => write!(f, "panicked: {m}"),
            ExitReason::Custom(m) => write!(f, "exited: {m}"),
        }
    }
}

impl std::error::Error for ExitReason {}

/// The unwind payload of [`Ctx::exit`](crate::Ctx::exit).
#[derive(Debug)]
pub(crate) struct ExitPayload(pub(crate) ExitReason);

/// A linked actor ended: what an actor that traps exits receives
/// (Erlang's `{'EXIT', From, Reason}`).
///
/// ```
/// use grove_actors::{self as actors, Ctx, Exit, ExitReason};
///
/// enum Msg { Exit(Exit) }
/// impl From<Exit> for Msg { fn from(e: Exit) -> Msg { Msg::Exit(e) } }
///
/// let h = actors::spawn(|ctx: &mut Ctx<Msg>| {
///     ctx.trap_exit(true);
///     let child = ctx.spawn_link(|_: &mut Ctx<()>| -> () { panic!("child died") });
///     let Msg::Exit(e) = ctx.receive();
///     assert_eq!(e.from, child.id());
///     e.reason
/// });
/// assert_eq!(h.wait().unwrap(), ExitReason::Panic("child died".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// The actor that ended.
    pub from: ActorId,
    /// How it ended.
    pub reason: ExitReason,
}

/// A monitored actor ended: what [`Ctx::monitor`](crate::Ctx::monitor)
/// delivers, exactly once (Erlang's `{'DOWN', Ref, process, Pid, Reason}`).
///
/// ```
/// use grove_actors::{self as actors, Ctx, Down, ExitReason};
///
/// enum Msg { Down(Down) }
/// impl From<Down> for Msg { fn from(d: Down) -> Msg { Msg::Down(d) } }
///
/// let worker = actors::spawn(|ctx: &mut Ctx<()>| ctx.receive());
/// let watcher = actors::spawn({
///     let w = worker.addr();
///     move |ctx: &mut Ctx<Msg>| {
///         let r = ctx.monitor(&w);
///         w.send(());
///         let Msg::Down(d) = ctx.receive();
///         assert_eq!(d.monitor, r);
///         d.reason
///     }
/// });
/// assert_eq!(watcher.wait().unwrap(), ExitReason::Normal);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Down {
    /// The monitor that fired.
    pub monitor: MonitorRef,
    /// The actor that ended.
    pub actor: ActorId,
    /// How it ended.
    pub reason: ExitReason,
}

impl From<Exit> for Value {
    /// `{"exit": <actor id>, "reason": <reason>}`.
    fn from(e: Exit) -> Value {
        json!({ "exit": e.from.0, "reason": e.reason.to_json() })
    }
}

impl From<Down> for Value {
    /// `{"down": <monitor id>, "actor": <actor id>, "reason": <reason>}`.
    fn from(d: Down) -> Value {
        json!({ "down": d.monitor.0, "actor": d.actor.0, "reason": d.reason.to_json() })
    }
}
