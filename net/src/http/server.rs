//! [`Server`]: the HTTP/1.1 server (gevent.pywsgi's role) — a
//! [`StreamServer`](crate::StreamServer) whose connections run the protocol
//! loop of `conn` with the user's handler.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::conn::{serve_connection, Transport};
use super::limits::Limits;
use crate::{RunningServer, StreamServer, TcpListener, TcpStream, ToSocketAddrs};

/// An HTTP/1.1 server: a green thread per connection running `handler`,
/// a plain function from `http::Request<Vec<u8>>` to
/// `http::Response<Vec<u8>>`.
///
/// It speaks keep-alive and pipelining, `Content-Length` and chunked
/// request bodies, `HEAD`, `Expect: 100-continue` and `Connection: close`,
/// and adds `Date` and `Content-Length` to responses. Over the [`Limits`]:
/// a request head that is too large gets 431, a body that is too large
/// 413, a malformed request 400 (each then closes the connection), and a
/// client that is too slow to send its request head is disconnected. A
/// handler that panics produces a 500; the connection and the server go
/// on.
///
/// ```
/// use std::io::{Read, Write};
/// use grove_net::http::Server;
///
/// let server = Server::bind("127.0.0.1:0")?
///     .serve(|_req: http::Request<Vec<u8>>| http::Response::new(b"Hello, World!".to_vec()))?;
/// let addr = server.local_addr().unwrap();
///
/// let mut c = grove_net::TcpStream::connect(addr)?;
/// c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
/// let mut resp = String::new();
/// c.read_to_string(&mut resp)?;
/// assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(resp.ends_with("\r\n\r\nHello, World!"));
/// server.stop(std::time::Duration::from_secs(1));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Server {
    listener: TcpListener,
    limits: Limits,
    max_connections: Option<usize>,
}

impl Server {
    /// Binds a listener to `addr`.
    ///
    /// ```
    /// let s = grove_net::http::Server::bind("127.0.0.1:0")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<Server> {
        Ok(Server::from_listener(TcpListener::bind(addr)?))
    }

    /// Serves on an existing listener.
    ///
    /// ```
    /// let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = grove_net::http::Server::from_listener(l);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_listener(listener: TcpListener) -> Server {
        Server {
            listener,
            limits: Limits::default(),
            max_connections: None,
        }
    }

    /// Sets the limits on request size and client slowness.
    ///
    /// ```
    /// use grove_net::http::{Limits, Server};
    /// let limits = Limits { max_body_bytes: 1 << 20, ..Limits::default() };
    /// let s = Server::bind("127.0.0.1:0")?.limits(limits);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn limits(mut self, limits: Limits) -> Server {
        self.limits = limits;
        self
    }

    /// Caps the connections served at once (see
    /// [`StreamServer::max_connections`](crate::StreamServer::max_connections)).
    ///
    /// ```
    /// let s = grove_net::http::Server::bind("127.0.0.1:0")?.max_connections(10_000);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_connections(mut self, n: usize) -> Server {
        self.max_connections = Some(n);
        self
    }

    /// The address it listens on.
    ///
    /// ```
    /// let s = grove_net::http::Server::bind("127.0.0.1:0")?;
    /// assert_ne!(s.local_addr()?.port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Starts serving in the background with `handler`; the returned
    /// handle stops the server ([`RunningServer::stop`]) or waits on it
    /// ([`RunningServer::wait`]).
    ///
    /// ```
    /// let running = grove_net::http::Server::bind("127.0.0.1:0")?
    ///     .serve(|req: http::Request<Vec<u8>>| http::Response::new(req.into_body()))?;
    /// running.stop(std::time::Duration::from_millis(100));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn serve<H>(self, handler: H) -> io::Result<RunningServer>
    where
        H: Fn(http::Request<Vec<u8>>) -> http::Response<Vec<u8>> + Send + Sync + 'static,
    {
        let handler = Arc::new(handler);
        let limits = Arc::new(self.limits);
        let server = StreamServer::from_listener(self.listener, move |stream: TcpStream, _peer| {
            // Small responses go out at once rather than after Nagle's delay.
            let _ = stream.set_nodelay(true);
            if let Err(e) = serve_connection(Conn(stream), &*handler, &limits) {
                tracing::debug!("grove http: connection ended with an error: {e}");
            }
        });
        let server = match self.max_connections {
            Some(n) => server.max_connections(n),
            None => server,
        };
        Ok(server.start())
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("listener", &self.listener)
            .field("limits", &self.limits)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// A connection's stream as the protocol loop sees it.
struct Conn(TcpStream);

impl io::Read for Conn {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl io::Write for Conn {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    #[inline]
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.0.write_vectored(bufs)
    }

    #[inline]
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Conn {
    fn set_read_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        self.0.set_read_timeout(t)
    }

    fn wait_readable(&mut self) -> io::Result<()> {
        self.0.wait_readable()
    }
}
