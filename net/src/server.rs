//! [`StreamServer`]: gevent's `StreamServer` — a green thread per
//! connection, a cap on live connections, and a graceful stop.
//!
//! The accept loop runs in its own green thread. Connections are members of
//! a [`Pool`](grove_runtime::sync::Pool) sized by `max_connections`, so at
//! the cap the loop waits in `Pool::spawn` for a connection to end: new
//! clients queue in the kernel's backlog, nothing is dropped and nothing
//! spins. When `accept` fails because the process or the system is out of
//! descriptors (`EMFILE`, `ENFILE`) or memory, the loop logs through
//! `tracing` and backs off (5 ms, doubling up to 1 s) instead of spinning
//! or dying.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use grove_runtime::sync::Pool;
use grove_runtime::JoinHandle;

use crate::{TcpListener, TcpStream, ToSocketAddrs};

/// The default cap on live connections: effectively none (the stack limit
/// of the process comes first; see `grove::Builder::spawn`).
const UNLIMITED: usize = 1 << 30;
/// First and longest pause after an `accept` that failed for lack of
/// resources.
const BACKOFF_MIN: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// A TCP server that runs `handler(stream, peer)` in a green thread of its
/// own for every connection (gevent's `StreamServer`).
///
/// Each handler runs on its own stack. With thousands of connections a
/// round trip costs by the pages it touches, so keep large buffers on the
/// heap (a `Vec` made once per connection), or at most ~2 KiB of them on
/// the stack: a 4 KiB array between the top of the stack and the frames
/// that park below it makes every round trip touch two stack pages, ~3 %
/// of an echo server's throughput at 1,000 connections
/// (`docs/benchmarks.md`, "What a page costs at C=1,000").
///
/// ```
/// use std::io::{Read, Write};
/// use std::time::Duration;
/// use grove_net::{StreamServer, TcpStream};
///
/// let server = StreamServer::bind("127.0.0.1:0", |mut stream: TcpStream, _peer| {
///     let mut r = stream.try_clone().unwrap();
///     let _ = std::io::copy(&mut r, &mut stream);
/// })?
/// .max_connections(10_000);
/// let addr = server.local_addr()?;
/// let running = server.start();
///
/// let mut c = TcpStream::connect(addr)?;
/// c.write_all(b"echo")?;
/// let mut buf = [0u8; 4];
/// c.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"echo");
/// drop(c);
/// running.stop(Duration::from_secs(1));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct StreamServer<H> {
    listener: TcpListener,
    handler: Arc<H>,
    max_connections: usize,
}

impl<H> StreamServer<H>
where
    H: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
{
    /// Binds a listener to `addr` for `handler`.
    ///
    /// ```
    /// let s = grove_net::StreamServer::bind("127.0.0.1:0", |_s, _peer| {})?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A, handler: H) -> io::Result<StreamServer<H>> {
        Ok(StreamServer::from_listener(
            TcpListener::bind(addr)?,
            handler,
        ))
    }

    /// Serves connections from an existing listener.
    ///
    /// ```
    /// let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = grove_net::StreamServer::from_listener(l, |_s, _peer| {});
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_listener(listener: TcpListener, handler: H) -> StreamServer<H> {
        StreamServer {
            listener,
            handler: Arc::new(handler),
            max_connections: UNLIMITED,
        }
    }

    /// Caps the connections handled at once: at the cap, accepting pauses
    /// until one ends (clients wait in the kernel backlog).
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    ///
    /// ```
    /// let s = grove_net::StreamServer::bind("127.0.0.1:0", |_s, _p| {})?.max_connections(100);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_connections(mut self, n: usize) -> StreamServer<H> {
        assert!(n > 0, "grove: max_connections must be at least 1");
        self.max_connections = n;
        self
    }

    /// The address it listens on.
    ///
    /// ```
    /// let s = grove_net::StreamServer::bind("127.0.0.1:0", |_s, _p| {})?;
    /// assert_ne!(s.local_addr()?.port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Starts serving in the background (an accept-loop green thread) and
    /// returns the handle that stops it.
    ///
    /// ```
    /// use std::time::Duration;
    /// let running = grove_net::StreamServer::bind("127.0.0.1:0", |_s, _p| {})?.start();
    /// running.stop(Duration::from_millis(100));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start(self) -> RunningServer {
        let addr = self.listener.local_addr().ok();
        let connections = Pool::new(self.max_connections);
        let pool = connections.clone();
        let acceptor =
            grove_runtime::spawn(move || accept_loop(&self.listener, &self.handler, &pool));
        RunningServer {
            addr,
            acceptor,
            connections,
        }
    }

    /// Serves in the calling green thread (or OS thread) until it is
    /// killed or the listener fails for good.
    ///
    /// ```no_run
    /// grove_net::StreamServer::bind("127.0.0.1:7000", |_s, _p| {})?.serve_forever();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn serve_forever(self) {
        let pool = Pool::new(self.max_connections);
        accept_loop(&self.listener, &self.handler, &pool);
    }
}

impl<H> fmt::Debug for StreamServer<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamServer")
            .field("listener", &self.listener)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

/// Whether an `accept` error means "out of resources, try again later".
fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    ) || e.kind() == io::ErrorKind::OutOfMemory
}

fn accept_loop<H>(listener: &TcpListener, handler: &Arc<H>, pool: &Pool)
where
    H: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
{
    let mut backoff = BACKOFF_MIN;
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                backoff = BACKOFF_MIN;
                let h = handler.clone();
                // Waits while the pool is full: accepting pauses at the cap.
                let spawned = catch_unwind(AssertUnwindSafe(|| {
                    drop(pool.spawn(move || h(stream, peer)));
                }));
                if let Err(payload) = spawned {
                    if !is_plain_panic(&*payload) {
                        // A kill or timeout of the accept loop: let it unwind.
                        std::panic::resume_unwind(payload);
                    }
                    tracing::warn!(
                        "grove: StreamServer could not start a connection green thread: {}; \
                         backing off {backoff:?}",
                        panic_text(&*payload)
                    );
                    grove_runtime::sleep(backoff);
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
            Err(e) if is_resource_exhaustion(&e) => {
                tracing::warn!("grove: StreamServer accept failed: {e}; backing off {backoff:?}");
                grove_runtime::sleep(backoff);
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                tracing::error!("grove: StreamServer accept failed: {e}; backing off {backoff:?}");
                grove_runtime::sleep(backoff);
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// Whether a panic payload is an ordinary panic message (not grove's kill
/// or timeout unwinding, which carry private payload types).
fn is_plain_panic(payload: &(dyn std::any::Any + Send)) -> bool {
    payload.is::<&'static str>() || payload.is::<String>()
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic)")
}

/// A server started with [`StreamServer::start`].
pub struct RunningServer {
    addr: Option<SocketAddr>,
    acceptor: JoinHandle<()>,
    connections: Pool,
}

impl RunningServer {
    /// The address it listens on.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let running = grove_net::StreamServer::bind("127.0.0.1:0", |_s, _p| {})?.start();
    /// assert!(running.local_addr().is_some());
    /// # running.stop(Duration::ZERO);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// Connections being handled now.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let running = grove_net::StreamServer::bind("127.0.0.1:0", |_s, _p| {})?.start();
    /// assert_eq!(running.connections(), 0);
    /// # running.stop(Duration::ZERO);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connections(&self) -> usize {
        self.connections.len()
    }

    /// Blocks until the server ends: its accept loop only ends when it is
    /// killed (for example by the runtime shutting down), so this is how a
    /// program serves "forever" after `start`.
    ///
    /// ```no_run
    /// let running = grove_net::StreamServer::bind("127.0.0.1:7000", |_s, _p| {})?.start();
    /// running.wait();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait(self) {
        let _ = self.acceptor.join();
        self.connections.join();
    }

    /// Stops accepting at once (the listener closes), waits up to `grace`
    /// for the connections in progress to finish, then kills the rest and
    /// waits for them to unwind.
    ///
    /// ```
    /// use std::time::Duration;
    /// let running = grove_net::StreamServer::bind("127.0.0.1:0", |_s, _p| {})?.start();
    /// running.stop(Duration::from_secs(1));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stop(self, grace: Duration) {
        self.acceptor.kill();
        let _ = self.acceptor.join();
        if !self.connections.join_timeout(grace) {
            self.connections.kill();
            self.connections.join();
        }
    }
}

impl fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .field("connections", &self.connections.len())
            .finish()
    }
}
