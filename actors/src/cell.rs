//! The actor cell: what an [`Addr`](crate::Addr) points at. It owns the
//! [`Mailbox`], and the control block through which links, monitors, the
//! registry and supervisors reach the actor without knowing its message
//! type (the [`Proc`] trait object).
//!
//! # How exits travel
//!
//! ```text
//!   actor A ends with reason R (returned, panicked, killed, exited)
//!     1. lock A.ctl: exited = R; take links, watchers, watching, names
//!     2. close A's mailbox; drop what was queued (replies inside → Dead)
//!     3. release A's registered names
//!     4. every linked B: B.linked_exit(A, R)
//!          B traps exits  → Exit { from: A, reason: R } into B's mailbox
//!          R is Normal    → nothing
//!          otherwise      → B is killed with reason R (and so on along
//!                           B's own links, when B's exit runs)
//!     5. every monitor on A: its Down { monitor, actor: A, reason: R }
//!     6. every monitor A holds: removed from its target
//! ```
//!
//! A kill carries its reason in `pending` (set under the lock before the
//! green thread is killed); the actor's root reads it when the kill's
//! unwind reaches it. An actor killed before it started never runs: the
//! guard in its closure runs the same exit steps when the closure is
//! dropped. Every step takes at most one lock at a time, except `link`,
//! which takes the two control blocks in id order.

use std::sync::Arc;

use grove_runtime::KillHandle;
use parking_lot::Mutex;

use crate::exit::{ActorId, Down, Exit, ExitReason, MonitorRef};
use crate::mailbox::Mailbox;

/// How a trapped exit signal becomes a message (`M::from`).
pub(crate) type TrapFn<M> = fn(Exit) -> M;

/// What fires a monitor: sends the `Down` to the watcher's mailbox.
pub(crate) type Notify = Box<dyn FnOnce(Down) + Send>;

/// The type-erased face of an actor, for links, monitors, the registry
/// and supervisors.
pub(crate) trait Proc: Send + Sync + 'static {
    /// Its id.
    fn id(&self) -> ActorId;
    /// Its control block.
    fn ctl(&self) -> &Mutex<Control>;
    /// An exit signal with `reason` from `from`: delivered as an [`Exit`]
    /// message if the actor traps exits, ignored if `reason` is normal,
    /// else it kills the actor with that reason. With `unlink`, `from` is
    /// a linked actor that ended, and the link goes.
    fn signal(&self, from: ActorId, reason: &ExitReason, unlink: bool);
}

/// The control block of an actor.
#[derive(Default)]
pub(crate) struct Control {
    /// How it ended, once it has.
    pub(crate) exited: Option<ExitReason>,
    /// The reason a kill in flight carries (first one wins).
    pub(crate) pending: Option<ExitReason>,
    /// Kills its green thread; set right after the spawn.
    pub(crate) killer: Option<KillHandle>,
    /// Actors linked with it (each also lists it).
    pub(crate) links: Vec<Arc<dyn Proc>>,
    /// Monitors others hold on it.
    pub(crate) watchers: Vec<(MonitorRef, Notify)>,
    /// Monitors it holds on others.
    pub(crate) watching: Vec<(MonitorRef, Arc<dyn Proc>)>,
    /// Names it is registered under.
    pub(crate) names: Vec<String>,
}

/// One actor's shared state: `Addr<M>` is an `Arc<Cell<M>>`.
///
/// The mailbox comes first, right after the `Arc`'s counts, so a send to a
/// cold actor touches the first lines of the allocation, not the control
/// block. (Aligning the cell to a cache line kept the mailbox on one line,
/// but glibc's aligned allocation made spawning an actor ~200 ns dearer
/// for no measurable gain per message.)
#[repr(C)]
pub(crate) struct Cell<M> {
    /// Its mailbox.
    pub(crate) mailbox: Mailbox<M>,
    /// Its id.
    pub(crate) id: ActorId,
    /// Links, monitors, exit state.
    pub(crate) ctl: Mutex<Control>,
    /// While it traps exits: how an [`Exit`] becomes a message.
    pub(crate) trap: Mutex<Option<TrapFn<M>>>,
}

impl<M: Send + 'static> Cell<M> {
    /// A new cell for an actor about to be spawned.
    pub(crate) fn new(capacity: Option<usize>) -> Arc<Cell<M>> {
        Arc::new(Cell {
            id: ActorId::next(),
            mailbox: Mailbox::new(capacity),
            ctl: Mutex::new(Control::default()),
            trap: Mutex::new(None),
        })
    }

    /// The type-erased face.
    pub(crate) fn proc(self: &Arc<Self>) -> Arc<dyn Proc> {
        self.clone()
    }

    /// Records the killer; kills at once if a kill came first.
    pub(crate) fn set_killer(&self, k: KillHandle) {
        let mut c = self.ctl.lock();
        if c.pending.is_some() && c.exited.is_none() {
            drop(c);
            k.kill();
        } else {
            c.killer = Some(k);
        }
    }

    /// The reason to end with after a kill unwound the actor.
    pub(crate) fn kill_reason(&self) -> ExitReason {
        self.ctl
            .lock()
            .pending
            .clone()
            .unwrap_or(ExitReason::Killed)
    }

    /// How it ended, if it has.
    pub(crate) fn exit_reason(&self) -> Option<ExitReason> {
        self.ctl.lock().exited.clone()
    }

    /// Runs the exit steps of the module docs. Idempotent: a second call
    /// finds everything already taken.
    pub(crate) fn exit(self: &Arc<Self>, reason: &ExitReason) {
        let (links, watchers, watching, names) = {
            let mut c = self.ctl.lock();
            if c.exited.is_none() {
                c.exited = Some(reason.clone());
            }
            c.killer = None;
            (
                std::mem::take(&mut c.links),
                std::mem::take(&mut c.watchers),
                std::mem::take(&mut c.watching),
                std::mem::take(&mut c.names),
            )
        };
        let reason = self.exit_reason().unwrap_or_else(|| reason.clone());
        *self.trap.lock() = None;
        drop(self.mailbox.close());
        crate::registry::release(&names, self.id);
        for l in links {
            l.signal(self.id, &reason, true);
        }
        for (monitor, notify) in watchers {
            notify(Down {
                monitor,
                actor: self.id,
                reason: reason.clone(),
            });
        }
        for (r, target) in watching {
            target.ctl().lock().watchers.retain(|(m, _)| *m != r);
        }
    }
}

impl<M: Send + 'static> Proc for Cell<M> {
    fn id(&self) -> ActorId {
        self.id
    }

    fn ctl(&self) -> &Mutex<Control> {
        &self.ctl
    }

    fn signal(&self, from: ActorId, reason: &ExitReason, unlink: bool) {
        {
            let mut c = self.ctl.lock();
            if c.exited.is_some() {
                return;
            }
            if unlink {
                c.links.retain(|l| l.id() != from);
            }
        }
        let trap = *self.trap.lock();
        match trap {
            Some(to_msg) => {
                let _ = self.mailbox.push_system(to_msg(Exit {
                    from,
                    reason: reason.clone(),
                }));
            }
            None if *reason == ExitReason::Normal => {}
            None => kill(self, reason.clone()),
        }
    }
}

/// Kills the actor behind `p` with `reason`, unless it has ended; the
/// first reason given wins.
pub(crate) fn kill(p: &dyn Proc, reason: ExitReason) {
    let killer = {
        let mut c = p.ctl().lock();
        if c.exited.is_some() {
            return;
        }
        if c.pending.is_none() {
            c.pending = Some(reason);
        }
        c.killer.clone()
    };
    if let Some(k) = killer {
        k.kill();
    }
}

/// Links `a` and `b` (both ways). If `b` has already ended, `a` gets its
/// exit signal at once instead (Erlang's `noproc`, with `b`'s reason).
pub(crate) fn link(a: &Arc<dyn Proc>, b: &Arc<dyn Proc>) {
    if a.id() == b.id() {
        return;
    }
    let (first, second) = if a.id() < b.id() { (a, b) } else { (b, a) };
    let mut c1 = first.ctl().lock();
    let mut c2 = second.ctl().lock();
    let (ca, cb) = if a.id() < b.id() {
        (&mut c1, &mut c2)
    } else {
        (&mut c2, &mut c1)
    };
    if ca.exited.is_some() {
        return;
    }
    if let Some(reason) = cb.exited.clone() {
        drop(c1);
        drop(c2);
        a.signal(b.id(), &reason, true);
        return;
    }
    if !ca.links.iter().any(|l| l.id() == b.id()) {
        ca.links.push(b.clone());
        cb.links.push(a.clone());
    }
}

/// Removes the link between `a` and `b`, if any.
pub(crate) fn unlink(a: &Arc<dyn Proc>, b: &Arc<dyn Proc>) {
    a.ctl().lock().links.retain(|l| l.id() != b.id());
    b.ctl().lock().links.retain(|l| l.id() != a.id());
}

/// `watcher` monitors `target`: `notify` runs once when `target` ends, or
/// at once if it has already. `notify` must remove the entry this puts in
/// the watcher's `watching` list (the monitor is spent), or the watcher
/// keeps the dead target's cell alive.
pub(crate) fn monitor(
    watcher: &Arc<dyn Proc>,
    target: &Arc<dyn Proc>,
    notify: Notify,
) -> MonitorRef {
    let r = MonitorRef::next();
    // Listed on the watcher first, so that a `notify` that fires as soon
    // as the target's lock is released finds the entry to remove.
    watcher.ctl().lock().watching.push((r, target.clone()));
    let dead = {
        let mut c = target.ctl().lock();
        match c.exited.clone() {
            Some(reason) => Some((reason, notify)),
            None => {
                c.watchers.push((r, notify));
                None
            }
        }
    };
    if let Some((reason, notify)) = dead {
        notify(Down {
            monitor: r,
            actor: target.id(),
            reason,
        });
    }
    r
}

/// Removes monitor `r` held by `watcher`. Returns whether it was still
/// active (its `Down` not yet sent).
pub(crate) fn demonitor(watcher: &Arc<dyn Proc>, r: MonitorRef) -> bool {
    let target = {
        let mut c = watcher.ctl().lock();
        let pos = c.watching.iter().position(|(m, _)| *m == r);
        pos.map(|i| c.watching.swap_remove(i).1)
    };
    match target {
        Some(t) => {
            let mut c = t.ctl().lock();
            let before = c.watchers.len();
            c.watchers.retain(|(m, _)| *m != r);
            c.watchers.len() != before
        }
        None => false,
    }
}
