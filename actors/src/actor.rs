//! Starting actors: [`spawn`], [`Builder`], the [`Actor`] trait with
//! [`start`], and [`ActorHandle`].
//!
//! An actor is a green thread running the actor's function with a
//! [`Ctx`]. Its root, in order:
//!
//! ```text
//!   record the green thread's unparker in the mailbox (before any receive)
//!   catch_unwind(f(ctx))            → the value, or an unwind
//!   reason: Normal | Panic(msg) | the kill's pending reason | Ctx::exit's
//!   drop the Ctx (its stashed messages; replies inside answer Dead)
//!   exit steps (cell.rs): mailbox closed, names released, links, monitors
//!   return Ok(value) / Err(reason)  → what ActorHandle::wait returns
//! ```
//!
//! The exit steps run from a guard that the green thread's closure owns,
//! so they also run if the closure is dropped without running (killed
//! before it started, or its runtime shut down): nobody is left linked to,
//! monitoring, or calling an actor that will never answer.

use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;

use grove_runtime::JoinHandle;

use crate::addr::Addr;
use crate::cell::{self, Cell, Proc};
use crate::ctx::Ctx;
use crate::exit::{ActorId, ExitReason};

/// Spawns an actor running `f` (pyact's `spawn(fn)`), on the runtime of
/// the calling green thread (or grove's default runtime), with an
/// unbounded mailbox.
///
/// # Panics
///
/// If its green thread cannot be made (the process is out of stack
/// mappings; see `grove::Builder::spawn`). [`Builder::spawn`] returns that
/// as an error instead.
///
/// ```
/// use grove_actors::{self as actors, Addr, Ctx};
///
/// fn forward(ctx: &mut Ctx<String>, next: Addr<String>) { let m = ctx.receive(); next.send(m); }
///
/// let me = actors::spawn(|ctx: &mut Ctx<String>| {
///     let first = actors::spawn({ let me = ctx.addr(); move |c: &mut Ctx<String>| forward(c, me) });
///     let mut next = first.addr();
///     for _ in 1..100 {
///         let n = next.clone();
///         next = actors::spawn(move |c: &mut Ctx<String>| forward(c, n)).addr();
///     }
///     next.send("hello around the ring".to_string());
///     ctx.receive()
/// });
/// assert_eq!(me.wait().unwrap(), "hello around the ring");
/// ```
pub fn spawn<M, R, F>(f: F) -> ActorHandle<M, R>
where
    F: FnOnce(&mut Ctx<M>) -> R + Send + 'static,
    M: Send + 'static,
    R: Send + 'static,
{
    Builder::new().spawn(f).unwrap_or_else(|e| panic!("{e}"))
}

/// Spawns an actor linked to the actor at `to` from before it runs
/// (Erlang's `spawn_link`, with the other end named): if either ends
/// abnormally, the other is taken down (or, trapping exits, told). Inside
/// an actor, [`Ctx::spawn_link`] links to the caller.
///
/// ```
/// use grove_actors::{self as actors, Ctx, ExitReason};
/// let parent = actors::spawn(|ctx: &mut Ctx<()>| ctx.receive());
/// let child = actors::spawn_link(&parent.addr(), |_: &mut Ctx<()>| -> () { panic!("child") });
/// assert!(child.wait().is_err());
/// assert_eq!(parent.wait().unwrap_err(), ExitReason::Panic("child".into()));
/// ```
pub fn spawn_link<M, R, F, P>(to: &Addr<P>, f: F) -> ActorHandle<M, R>
where
    F: FnOnce(&mut Ctx<M>) -> R + Send + 'static,
    M: Send + 'static,
    R: Send + 'static,
    P: Send + 'static,
{
    Builder::new()
        .spawn_linked(&to.proc(), f)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// An object-style actor (pyact's `Actor` subclass, Erlang's
/// `gen_server`): state in `self`, one message at a time in
/// [`handle`](Actor::handle). Started with [`start`].
///
/// ```
/// use grove_actors::{self as actors, Actor, Ctx, ExitReason};
///
/// #[derive(Default)]
/// struct Counter { n: u64 }
/// enum Msg { Add(u64), Stop }
///
/// impl Actor for Counter {
///     type Msg = Msg;
///     fn handle(&mut self, msg: Msg, ctx: &mut Ctx<Msg>) {
///         match msg {
///             Msg::Add(k) => self.n += k,
///             Msg::Stop => ctx.stop(),
///         }
///     }
/// }
///
/// let h = actors::start(Counter::default());
/// h.addr().send(Msg::Add(2));
/// h.addr().send(Msg::Add(3));
/// h.addr().send(Msg::Stop);
/// assert_eq!(h.wait().unwrap().n, 5); // `wait` returns the final state
/// ```
pub trait Actor: Send + Sized + 'static {
    /// The message type of its mailbox.
    type Msg: Send + 'static;

    /// Runs once, before the first message.
    fn started(&mut self, ctx: &mut Ctx<Self::Msg>) {
        let _ = ctx;
    }

    /// Handles one message.
    fn handle(&mut self, msg: Self::Msg, ctx: &mut Ctx<Self::Msg>);

    /// Runs once, when the actor ends for any reason (a normal stop, a
    /// panic in `handle`, a kill, a link), before
    /// [`ActorHandle::wait`] returns and before linked and monitoring
    /// actors hear of the end. After a kill it runs too, but it cannot
    /// wait for anything: the kill ends the green thread at its next
    /// switch point.
    fn stopped(&mut self, ctx: &mut Ctx<Self::Msg>, reason: &ExitReason) {
        let _ = (ctx, reason);
    }
}

/// Starts an object-style [`Actor`]. Its handle's
/// [`wait`](ActorHandle::wait) returns the actor's final state.
///
/// ```
/// use grove_actors::{self as actors, Actor, Ctx};
/// struct Echo;
/// impl Actor for Echo {
///     type Msg = (String, grove_actors::Reply<String>);
///     fn handle(&mut self, (s, r): Self::Msg, _: &mut Ctx<Self::Msg>) { r.send(s) }
/// }
/// let h = actors::start(Echo);
/// let got = h.addr().call(|r| ("hi".to_string(), r), std::time::Duration::from_secs(1));
/// assert_eq!(got.unwrap(), "hi");
/// ```
pub fn start<A: Actor>(actor: A) -> ActorHandle<A::Msg, A> {
    Builder::new()
        .start(actor)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The body of a trait-style actor.
fn run_trait_actor<A: Actor>(mut actor: A, ctx: &mut Ctx<A::Msg>) -> A {
    let r = catch_unwind(AssertUnwindSafe(|| {
        actor.started(ctx);
        while !ctx.stopping {
            let m = ctx.receive();
            actor.handle(m, ctx);
        }
    }));
    match r {
        Ok(()) => {
            actor.stopped(ctx, &ExitReason::Normal);
            actor
        }
        Err(payload) => {
            let reason = reason_for(&ctx.cell, ExitReason::from_payload(payload));
            actor.stopped(ctx, &reason);
            // On to the root, which ends the actor with this reason.
            resume_unwind(Box::new(crate::exit::ExitPayload(reason)))
        }
    }
}

/// A killed actor ends with the reason its kill carried.
fn reason_for<M: Send + 'static>(cell: &Cell<M>, r: ExitReason) -> ExitReason {
    if r == ExitReason::Killed {
        cell.kill_reason()
    } else {
        r
    }
}

/// Runs the exit steps, with the reason a kill carried, when dropped
/// without [`ExitGuard::exit`]: when the actor's closure is dropped without
/// having run, or the root is unwound past. One pointer, so the root's
/// frame (on every parked actor's stack) holds no more than that.
struct ExitGuard<M: Send + 'static> {
    /// The actor; taken by [`ExitGuard::exit`].
    cell: Option<Arc<Cell<M>>>,
}

impl<M: Send + 'static> ExitGuard<M> {
    fn new(cell: Arc<Cell<M>>) -> ExitGuard<M> {
        ExitGuard { cell: Some(cell) }
    }

    /// The actor's cell.
    fn cell(&self) -> &Arc<Cell<M>> {
        self.cell
            .as_ref()
            .expect("an exit guard holds its cell until it exits")
    }

    /// Runs the exit steps with `reason`, instead of the kill's.
    fn exit(mut self, reason: &ExitReason) {
        if let Some(cell) = self.cell.take() {
            cell.exit(reason);
        }
    }
}

impl<M: Send + 'static> Drop for ExitGuard<M> {
    fn drop(&mut self) {
        if let Some(cell) = self.cell.take() {
            cell.exit(&cell.kill_reason());
        }
    }
}

/// The root of every actor's green thread.
///
/// Its frame stays on the stack under every receive, and with stacks
/// shared (`grove-runtime`'s `slice`) every parked actor's live bytes are
/// copied out and back: so it holds only the guard, the context and the
/// outcome. What happens after the actor's function returns is out of
/// line, and takes the context by reference: passed by value, its copy
/// would be part of this frame too.
fn run_actor<M, R, F>(guard: ExitGuard<M>, f: F) -> Result<R, ExitReason>
where
    F: FnOnce(&mut Ctx<M>) -> R,
    M: Send + 'static,
{
    let mut ctx = begin_actor(guard.cell());
    let r = catch_unwind(AssertUnwindSafe(|| f(&mut ctx)));
    end_actor(guard, &mut ctx, r)
}

/// The actor's context, its mailbox told whom to wake: out of line, so
/// that its temporaries are not part of the root's frame.
#[inline(never)]
fn begin_actor<M: Send + 'static>(cell: &Arc<Cell<M>>) -> Ctx<M> {
    // SAFETY: the actor's own green thread, once, before any receive.
    unsafe {
        cell.mailbox
            .set_receiver(grove_runtime::__private::current_unparker())
    };
    Ctx::new(cell.clone())
}

/// What the root does once the actor's function has returned or unwound:
/// drop what it had not received, then run the exit steps with the reason.
#[inline(never)]
fn end_actor<M: Send + 'static, R>(
    guard: ExitGuard<M>,
    ctx: &mut Ctx<M>,
    r: std::thread::Result<R>,
) -> Result<R, ExitReason> {
    let result = match r {
        Ok(v) => Ok(v),
        Err(payload) => Err(reason_for(guard.cell(), ExitReason::from_payload(payload))),
    };
    ctx.discard_unreceived();
    match &result {
        Ok(_) => guard.exit(&ExitReason::Normal),
        Err(reason) => guard.exit(reason),
    }
    result
}

/// Configures an actor before spawning it: its mailbox bound, and its
/// green thread's name and stack size.
///
/// ```
/// use grove_actors::{self as actors, Ctx};
/// let h = actors::Builder::new()
///     .name("logger")
///     .bounded(100)
///     .stack_size(64 * 1024)
///     .spawn(|ctx: &mut Ctx<String>| grove_runtime::current().name().map(str::to_owned))
///     .unwrap();
/// assert_eq!(h.wait().unwrap().as_deref(), Some("logger"));
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    /// Mailbox bound (None: unbounded).
    capacity: Option<usize>,
    /// Green-thread name.
    name: Option<String>,
    /// Green-thread stack size.
    stack_size: Option<usize>,
}

impl Builder {
    /// An unbounded, unnamed actor with the runtime's stack size.
    ///
    /// ```
    /// let b = grove_actors::Builder::new();
    /// # drop(b);
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Gives the actor a bounded mailbox of `capacity` messages (at least
    /// 1): [`Addr::send`] then waits while it is full (backpressure).
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::Builder::new().bounded(2).spawn(|_: &mut Ctx<()>| ()).unwrap();
    /// assert_eq!(h.addr().capacity(), Some(2));
    /// ```
    pub fn bounded(mut self, capacity: usize) -> Builder {
        self.capacity = Some(capacity);
        self
    }

    /// Names the actor's green thread (shown by `grove::dump()` and the
    /// watchdog).
    ///
    /// ```
    /// let b = grove_actors::Builder::new().name("cache");
    /// # drop(b);
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// The actor's stack size in bytes (see `grove::Builder::stack_size`).
    ///
    /// ```
    /// let b = grove_actors::Builder::new().stack_size(1 << 20);
    /// # drop(b);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Spawns the actor; fails if its green thread cannot be made.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::Builder::new().spawn(|_: &mut Ctx<()>| 5)?;
    /// assert_eq!(h.wait().unwrap(), 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn<M, R, F>(self, f: F) -> std::io::Result<ActorHandle<M, R>>
    where
        F: FnOnce(&mut Ctx<M>) -> R + Send + 'static,
        M: Send + 'static,
        R: Send + 'static,
    {
        let cell = Cell::new(self.capacity);
        self.spawn_cell(cell, f)
    }

    /// Spawns the actor linked to `parent` from before it runs.
    pub(crate) fn spawn_linked<M, R, F>(
        self,
        parent: &Arc<dyn Proc>,
        f: F,
    ) -> std::io::Result<ActorHandle<M, R>>
    where
        F: FnOnce(&mut Ctx<M>) -> R + Send + 'static,
        M: Send + 'static,
        R: Send + 'static,
    {
        let cell = Cell::new(self.capacity);
        cell::link(parent, &cell.proc());
        self.spawn_cell(cell, f)
    }

    /// Starts an object-style [`Actor`] with this configuration.
    ///
    /// ```
    /// use grove_actors::{self as actors, Actor, Ctx};
    /// struct Nop;
    /// impl Actor for Nop { type Msg = (); fn handle(&mut self, _: (), c: &mut Ctx<()>) { c.stop() } }
    /// let h = actors::Builder::new().bounded(1).start(Nop)?;
    /// h.addr().send(());
    /// h.wait().unwrap();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start<A: Actor>(self, actor: A) -> std::io::Result<ActorHandle<A::Msg, A>> {
        self.spawn(move |ctx: &mut Ctx<A::Msg>| run_trait_actor(actor, ctx))
    }

    /// Starts an object-style [`Actor`] linked to `parent`.
    pub(crate) fn start_linked<A: Actor>(
        self,
        parent: &Arc<dyn Proc>,
        actor: A,
    ) -> std::io::Result<ActorHandle<A::Msg, A>> {
        self.spawn_linked(parent, move |ctx: &mut Ctx<A::Msg>| {
            run_trait_actor(actor, ctx)
        })
    }

    fn spawn_cell<M, R, F>(self, cell: Arc<Cell<M>>, f: F) -> std::io::Result<ActorHandle<M, R>>
    where
        F: FnOnce(&mut Ctx<M>) -> R + Send + 'static,
        M: Send + 'static,
        R: Send + 'static,
    {
        let guard = ExitGuard::new(cell.clone());
        let mut b = grove_runtime::Builder::new();
        if let Some(n) = self.name {
            b = b.name(n);
        }
        if let Some(s) = self.stack_size {
            b = b.stack_size(s);
        }
        let join = grove_runtime::__private::spawn_parking(b, move || run_actor(guard, f))?;
        // An actor parks in `receive`: on a worker that shares stacks, its
        // save area is best faulted in now, at spawn.
        grove_runtime::__private::prefault_parking();
        cell.set_killer(join.kill_handle());
        Ok(ActorHandle {
            addr: Addr::from_cell(cell),
            join,
        })
    }
}

/// The handle of a spawned actor: its address, and a way to wait for its
/// end (pyact's `addr.wait()`) or to kill it.
///
/// Dropping the handle leaves the actor running.
///
/// ```
/// use grove_actors::{self as actors, Ctx};
/// let h = actors::spawn(|ctx: &mut Ctx<u8>| ctx.receive() * 2);
/// h.addr().send(21);
/// assert_eq!(h.wait().unwrap(), 42);
/// ```
pub struct ActorHandle<M, R> {
    /// Its address.
    addr: Addr<M>,
    /// Its green thread, which returns the actor's outcome.
    join: JoinHandle<Result<R, ExitReason>>,
}

impl<M: Send + 'static, R> ActorHandle<M, R> {
    /// The actor's address.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<()>| ctx.receive());
    /// h.addr().send(());
    /// h.wait().unwrap();
    /// ```
    pub fn addr(&self) -> Addr<M> {
        self.addr.clone()
    }

    /// The actor's id.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|_: &mut Ctx<()>| ());
    /// assert_eq!(h.id(), h.addr().id());
    /// ```
    pub fn id(&self) -> ActorId {
        self.addr.id()
    }

    /// Waits for the actor to end: its return value, or why it ended
    /// otherwise. For an [`Actor`] started with [`start`], the value is
    /// the actor's final state, and `wait` returns only after its
    /// [`stopped`](Actor::stopped) hook has run.
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx, ExitReason};
    /// let h = actors::spawn(|_: &mut Ctx<()>| -> () { panic!("no") });
    /// assert_eq!(h.wait(), Err(ExitReason::Panic("no".into())));
    /// ```
    pub fn wait(self) -> Result<R, ExitReason> {
        match self.join.join() {
            Ok(outcome) => outcome,
            // It never ran (killed first, or its runtime shut down), or
            // unwound past its root.
            Err(_) => Err(self.addr.exit_reason().unwrap_or(ExitReason::Killed)),
        }
    }

    /// Kills the actor (see [`Addr::kill`]).
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx, ExitReason};
    /// let h = actors::spawn(|ctx: &mut Ctx<()>| ctx.receive());
    /// h.kill();
    /// assert_eq!(h.wait().unwrap_err(), ExitReason::Killed);
    /// ```
    pub fn kill(&self) {
        self.addr.kill();
    }

    /// Whether the actor has ended (so `wait` would not wait).
    ///
    /// ```
    /// use grove_actors::{self as actors, Ctx};
    /// let h = actors::spawn(|_: &mut Ctx<()>| ());
    /// while !h.is_finished() { grove_runtime::yield_now() }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }
}

impl<M, R> fmt::Debug for ActorHandle<M, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorHandle")
            .field("id", &self.addr.cell.id)
            .finish()
    }
}
