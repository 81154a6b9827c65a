//! # grove
//!
//! gevent's programming model for Rust: plain blocking-style code on cheap
//! green threads (stackful coroutines) that switch only at explicit points,
//! over a mio event loop per worker; cooperative sockets with std's API; and
//! an actor layer in the spirit of Erlang and python-actors.
//!
//! This crate is the front door: it re-exports the member crates, so a
//! program depends on `grove` alone.
//!
//! * [`grove-runtime`](grove_runtime), at `grove::` — green threads,
//!   [`spawn`], [`sleep`], [`timeout`], [`Runtime`], the gevent primitives
//!   in [`sync`], hand-switched [`greenlet`]s, [`dump`].
//! * [`grove-net`](grove_net), at `grove::net` — cooperative sockets with
//!   std's API, DNS off the worker, `StreamServer`, the HTTP/1.1 server and
//!   (feature `tls`) TLS.
//! * [`grove-actors`](grove_actors), at `grove::actors` — actors with typed
//!   and JSON mailboxes, selective receive (`receive!`, shapes), links,
//!   monitors, request/reply, a registry, supervisors and routers.
//!
//! ```
//! use std::time::Duration;
//!
//! let h = grove::spawn(|| { grove::sleep(Duration::from_millis(10)); 42 });
//! assert_eq!(h.join().unwrap(), 42);
//!
//! let r = grove::timeout(Duration::from_millis(20), || grove::sleep(Duration::from_secs(5)));
//! assert!(r.is_err());
//! ```

pub use grove_runtime::*;

/// Cooperative networking (grove-net).
pub use grove_net as net;

/// Actors (grove-actors).
pub use grove_actors as actors;

/// The README's examples, compiled and run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme_examples {}
