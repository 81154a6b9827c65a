//! # grove-actors
//!
//! Actors in the spirit of Erlang and python-actors (pyact), on grove's
//! green threads. An actor is a green thread with a mailbox: it owns its
//! state, handles one message at a time, can only send to addresses it has
//! (or looks up by name), and `receive` suspends it until a *matching*
//! message arrives (selective receive). Users reach this crate as
//! `grove::actors`.
//!
//! ```
//! use grove_actors::{self as actors, Addr, Ctx};
//!
//! // Function style (pyact's `spawn(fn)`): the function gets the actor's context.
//! fn forward(ctx: &mut Ctx<String>, next: Addr<String>) { let m = ctx.receive(); next.send(m); }
//!
//! let me = actors::spawn(|ctx: &mut Ctx<String>| {
//!     let first = actors::spawn({ let me = ctx.addr(); move |c: &mut Ctx<String>| forward(c, me) });
//!     let mut next = first.addr();
//!     for _ in 1..1_000 { let n = next.clone(); next = actors::spawn(move |c: &mut Ctx<String>| forward(c, n)).addr(); }
//!     next.send("hello around the ring".to_string());
//!     ctx.receive()                      // the actor's return value
//! });
//! assert_eq!(me.wait().unwrap(), "hello around the ring");   // pyact's addr.wait()
//! ```
//!
//! ## What is here
//!
//! * [`spawn`] / [`Builder`] / [`ActorHandle`] — function-style actors;
//!   [`Actor`] + [`start`] — object-style ones. Mailboxes are unbounded
//!   unless [`Builder::bounded`] gives them a bound, which makes
//!   [`Addr::send`] wait (backpressure).
//! * [`Ctx`] — `receive`, `receive_timeout`, `receive_match`,
//!   `receive_with`, the [`receive!`] macro (patterns, guards, `after`),
//!   links (`link`, `spawn_link`, `trap_exit`), monitors (`monitor`),
//!   `exit`.
//! * [`Addr`] — `send`, `try_send`, `addr | msg`, [`call`](Addr::call)
//!   with a [`Reply`].
//! * JSON mailboxes — `Addr<serde_json::Value>`, [`Shape`] and
//!   [`shape!`] with pyact's matching rules, [`Ctx::receive_shapes`],
//!   [`Addr::send_json`].
//! * [`register`] / [`whereis`] — names.
//! * [`supervisor`] — one-for-one, one-for-all and rest-for-one
//!   supervisors; [`router`] — round-robin, random, broadcast and
//!   consistent-hash routers, and supervised worker pools.
//!
//! ## Layout
//!
//! * `mailbox` — the shared half of a mailbox (senders' side, one spin
//!   lock);
//! * `ctx` — the receiving half: the stash, selective receive;
//! * `receive` — the `receive!` macro; `shape` — JSON shapes;
//! * `cell` — the control block: links, monitors, how exits travel;
//! * `actor` — spawning, the actor's root, the `Actor` trait;
//! * `addr`, `call`, `exit`, `registry`, `supervisor`, `router`.
//!
//! ## Testing actors deterministically
//!
//! On a one-worker runtime (`grove::Runtime::builder().workers(1)`)
//! green threads run one at a time in FIFO order and switch only where
//! they block, so a test that drives actors from inside
//! `Runtime::block_on` sees the same interleaving on every run. Object
//! actors can also be tested as plain values: [`ActorHandle::wait`] on a
//! [`start`]ed actor returns its final state to assert on.

mod actor;
mod addr;
mod call;
mod cell;
mod ctx;
mod exit;
mod mailbox;
mod receive;
mod registry;
pub mod router;
mod shape;
pub mod supervisor;

pub use actor::{spawn, spawn_link, start, Actor, ActorHandle, Builder};
pub use addr::{Addr, TrySendError};
pub use call::{CallError, Reply};
pub use ctx::Ctx;
pub use exit::{ActorId, Down, Exit, ExitReason, MonitorRef};
pub use registry::{register, registered, unregister, whereis, RegisterError};
pub use shape::Shape;

/// Compile-time checks: addresses and handles cross threads; a context
/// does not need to (it is the actor's own).
#[allow(dead_code)]
fn _assert_send_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Addr<String>>();
    send_sync::<ActorHandle<String, u8>>();
    send_sync::<Reply<u8>>();
    send_sync::<Shape>();
    send_sync::<ExitReason>();
}
