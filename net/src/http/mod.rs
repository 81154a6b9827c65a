//! The HTTP/1.1 server: gevent.pywsgi's role, on `httparse` and the `http`
//! crate's types.
//!
//! A handler is a plain function from `http::Request<Vec<u8>>` to
//! `http::Response<Vec<u8>>`, run in the connection's green thread, so it
//! may block (query a database, call another service) with grove's
//! cooperative I/O.
//!
//! ```no_run
//! use grove_net::http::Server;
//! let server = Server::bind("127.0.0.1:8080")?
//!     .serve(|_req: http::Request<Vec<u8>>| http::Response::new(b"Hello, World!".to_vec()))?;
//! server.wait();
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! * `server` — [`Server`]: binds, configures and starts;
//! * `conn` — the per-connection protocol loop (keep-alive, pipelining,
//!   timeouts, limits, panics → 500), over any [`Transport`];
//! * `request` / `response` — parsing heads and bodies, writing responses;
//! * `date` — the cached `Date` header; `limits` — [`Limits`].

mod conn;
mod date;
mod limits;
mod request;
mod response;
mod server;

#[doc(hidden)]
pub use conn::{serve_connection, Transport};
pub use limits::Limits;
pub use server::Server;
