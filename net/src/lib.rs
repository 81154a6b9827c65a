//! # grove-net
//!
//! Cooperative networking for grove's green threads: sockets with std's
//! API whose blocking calls suspend the calling green thread instead of the
//! worker (Rust's answer to `gevent.monkey`), name resolution off the
//! worker, gevent's [`StreamServer`], an HTTP/1.1 server ([`http`]) and,
//! with the `tls` feature, TLS over any grove stream.
//!
//! Users reach it as `grove::net`.
//!
//! ```
//! use std::io::{Read, Write};
//! use grove_net::{TcpListener, TcpStream};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! grove_runtime::spawn(move || for stream in listener.incoming() {
//!     let mut s = stream.unwrap();
//!     grove_runtime::spawn(move || {
//!         let mut buf = [0; 1024];
//!         while let Ok(n) = s.read(&mut buf) {
//!             if n == 0 { break }
//!             s.write_all(&buf[..n]).unwrap();
//!         }
//!     });
//! });
//! let mut c = TcpStream::connect(addr)?;
//! c.write_all(b"hello")?;
//! let mut buf = [0u8; 5];
//! c.read_exact(&mut buf)?;
//! assert_eq!(&buf, b"hello");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Layout
//!
//! * `socket` — what every socket type shares: a
//!   [`Cooperative`](grove_runtime::io::Cooperative) mio socket plus std's
//!   timeouts and non-blocking flag;
//! * `sys` — stream reads and writes as bare system calls (no libc
//!   cancellation point);
//! * `tcp`, `udp`, `unix` — the socket types;
//! * `addr` — [`ToSocketAddrs`] and [`lookup_host`], resolving host names
//!   on the `spawn_blocking` pool;
//! * `server` — [`StreamServer`];
//! * [`http`] — the HTTP/1.1 server;
//! * `tls` — TLS streams (feature `tls`).

mod addr;
pub mod http;
mod server;
mod socket;
mod sys;
mod tcp;
#[cfg(feature = "tls")]
pub mod tls;
mod udp;
mod unix;

pub use addr::{lookup_host, ToSocketAddrs};
pub use server::{RunningServer, StreamServer};
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixIncoming, UnixListener, UnixStream};
