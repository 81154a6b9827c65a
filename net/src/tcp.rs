//! [`TcpListener`] and [`TcpStream`]: std's API, cooperative underneath.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::addr::{each_addr, ToSocketAddrs};
use crate::socket::{finish_connect, Socket};

/// A TCP socket server, listening for connections: `std::net::TcpListener`
/// whose `accept` suspends the calling green thread instead of blocking
/// the worker.
///
/// ```
/// use std::io::{Read, Write};
/// use grove_net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let server = grove_runtime::spawn(move || {
///     let (mut s, _peer) = listener.accept().unwrap();
///     s.write_all(b"hi").unwrap();
/// });
/// let mut c = TcpStream::connect(addr)?;
/// let mut buf = String::new();
/// c.read_to_string(&mut buf)?;
/// assert_eq!(buf, "hi");
/// server.join().unwrap();
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    inner: Arc<Socket<mio::net::TcpListener>>,
}

impl TcpListener {
    /// Binds to `addr` (each address it resolves to is tried in turn), with
    /// `SO_REUSEADDR` as std sets it and a backlog of 1024.
    ///
    /// ```
    /// let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// assert_ne!(l.local_addr()?.port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(&addr, |a| {
            let l = mio::net::TcpListener::bind(a)?;
            Ok(TcpListener {
                inner: Arc::new(Socket::new(l)?),
            })
        })
    }

    /// Makes a grove listener of a std one (switched to non-blocking mode).
    ///
    /// ```
    /// let std_l = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let l = grove_net::TcpListener::from_std(std_l)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            inner: Arc::new(Socket::new(mio::net::TcpListener::from_std(listener))?),
        })
    }

    /// Accepts a connection, suspending the calling green thread until one
    /// arrives (parking the thread on a plain OS thread). The new stream is
    /// registered with the worker that runs the caller.
    ///
    /// ```no_run
    /// let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let (stream, peer) = l.accept()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, peer) = self.inner.read_op(|l| l.accept())?;
        Ok((TcpStream::from_mio(s)?, peer))
    }

    /// An iterator over incoming connections (`accept` in a loop); it
    /// never returns `None`.
    ///
    /// ```no_run
    /// let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// for stream in l.incoming() {
    ///     let stream = stream?;
    ///     grove_runtime::spawn(move || drop(stream));
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The local address.
    ///
    /// ```
    /// let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// assert!(l.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().local_addr()
    }

    /// Another handle to the same listener.
    ///
    /// ```
    /// let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let l2 = l.try_clone()?;
    /// assert_eq!(l.local_addr()?, l2.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        Ok(TcpListener {
            inner: self.inner.clone(),
        })
    }

    /// Sets `IP_TTL`.
    ///
    /// ```
    /// let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// l.set_ttl(64)?;
    /// assert_eq!(l.ttl()?, 64);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get().set_ttl(ttl)
    }

    /// `IP_TTL`.
    ///
    /// ```
    /// let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// assert!(l.ttl()? > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get().ttl()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// ```
    /// let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// assert!(l.take_error()?.is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get().take_error()
    }

    /// In non-blocking mode `accept` fails with `WouldBlock` instead of
    /// waiting.
    ///
    /// ```
    /// let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// l.set_nonblocking(true)?;
    /// assert_eq!(l.accept().unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking);
        Ok(())
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.get().as_raw_fd()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.get().as_fd()
    }
}

impl TryFrom<std::net::TcpListener> for TcpListener {
    type Error = io::Error;
    fn try_from(l: std::net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::from_std(l)
    }
}

/// The iterator of [`TcpListener::incoming`].
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;
    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

/// A TCP connection: `std::net::TcpStream` whose reads, writes and connect
/// suspend the calling green thread instead of blocking the worker.
///
/// `Read` and `Write` are implemented for `TcpStream` and `&TcpStream`, so
/// one green thread can read while another writes. The stream may move to
/// a green thread on another worker, or to a plain OS thread.
///
/// ```
/// use std::io::{Read, Write};
/// use grove_net::{TcpListener, TcpStream};
///
/// let l = TcpListener::bind("127.0.0.1:0")?;
/// let addr = l.local_addr()?;
/// let echo = grove_runtime::spawn(move || {
///     let (mut s, _) = l.accept().unwrap();
///     let mut buf = [0u8; 5];
///     s.read_exact(&mut buf).unwrap();
///     s.write_all(&buf).unwrap();
/// });
/// let mut c = TcpStream::connect(addr)?;
/// c.write_all(b"hello")?;
/// let mut back = [0u8; 5];
/// c.read_exact(&mut back)?;
/// assert_eq!(&back, b"hello");
/// echo.join().unwrap();
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpStream {
    inner: Arc<Socket<mio::net::TcpStream>>,
}

impl TcpStream {
    pub(crate) fn from_mio(s: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            inner: Arc::new(Socket::new(s)?),
        })
    }

    /// Connects to `addr`, trying each address it resolves to in turn.
    /// Host names resolve without blocking the worker.
    ///
    /// ```no_run
    /// let s = grove_net::TcpStream::connect("example.com:80")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(&addr, |a| TcpStream::connect_until(a, None))
    }

    /// Connects to one address, failing with `ErrorKind::TimedOut` if the
    /// connection is not made within `timeout` (a zero timeout is
    /// `InvalidInput`, as in std).
    ///
    /// ```
    /// use std::time::Duration;
    /// let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = grove_net::TcpStream::connect_timeout(&l.local_addr()?, Duration::from_secs(1))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        TcpStream::connect_until(*addr, Instant::now().checked_add(timeout))
    }

    fn connect_until(addr: SocketAddr, deadline: Option<Instant>) -> io::Result<TcpStream> {
        let s = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?)?;
        finish_connect(&s.inner.io, deadline, |s| {
            if let Some(e) = s.take_error()? {
                return Err(e);
            }
            match s.peer_addr() {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Err(e) => Err(e),
            }
        })?;
        Ok(s)
    }

    /// Makes a grove stream of a connected std one (switched to
    /// non-blocking mode).
    ///
    /// ```
    /// let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = std::net::TcpStream::connect(l.local_addr()?)?;
    /// let s = grove_net::TcpStream::from_std(s)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_mio(mio::net::TcpStream::from_std(stream))
    }

    /// The remote address.
    ///
    /// ```
    /// # let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = grove_net::TcpStream::connect(l.local_addr()?)?;
    /// assert_eq!(s.peer_addr()?, l.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().peer_addr()
    }

    /// The local address.
    ///
    /// ```
    /// # let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = grove_net::TcpStream::connect(l.local_addr()?)?;
    /// assert!(s.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().local_addr()
    }

    /// Shuts down the read half, the write half, or both (for every clone).
    ///
    /// ```
    /// use std::io::Read;
    /// # let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut s = grove_net::TcpStream::connect(l.local_addr()?)?;
    /// s.shutdown(std::net::Shutdown::Read)?;
    /// assert_eq!(s.read(&mut [0u8; 4])?, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get().shutdown(how)
    }

    /// Another handle to the same socket, as std's `try_clone`: timeouts,
    /// non-blocking mode and `shutdown` are shared; the socket closes when
    /// the last handle is dropped.
    ///
    /// ```
    /// # let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = grove_net::TcpStream::connect(l.local_addr()?)?;
    /// let s2 = s.try_clone()?;
    /// assert_eq!(s.local_addr()?, s2.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream {
            inner: self.inner.clone(),
        })
    }

    /// Sets the read timeout: a read that waits longer fails with
    /// `ErrorKind::WouldBlock` (std on Unix). `Some(Duration::ZERO)` is
    /// `InvalidInput`.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::time::Duration;
    /// # let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut s = grove_net::TcpStream::connect(l.local_addr()?)?;
    /// s.set_read_timeout(Some(Duration::from_millis(10)))?;
    /// let e = s.read(&mut [0u8; 4]).unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.read_timeout.set(timeout)
    }

    /// Sets the write timeout (as [`set_read_timeout`](Self::set_read_timeout)).
    ///
    /// ```
    /// use std::time::Duration;
    /// # let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = grove_net::TcpStream::connect(l.local_addr()?)?;
    /// s.set_write_timeout(Some(Duration::from_secs(1)))?;
    /// assert_eq!(s.write_timeout()?, Some(Duration::from_secs(1)));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.write_timeout.set(timeout)
    }

    /// The read timeout.
    ///
    /// ```
    /// # let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = grove_net::TcpStream::connect(l.local_addr()?)?;
    /// assert_eq!(s.read_timeout()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.read_timeout.get())
    }

    /// The write timeout.
    ///
    /// ```
    /// # let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = grove_net::TcpStream::connect(l.local_addr()?)?;
    /// assert_eq!(s.write_timeout()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.write_timeout.get())
    }

    /// Reads without consuming (`MSG_PEEK`), waiting for data like `read`.
    ///
    /// ```
    /// use std::io::Write;
    /// # let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut c = grove_net::TcpStream::connect(l.local_addr()?)?;
    /// let (s, _) = l.accept()?;
    /// c.write_all(b"abc")?;
    /// let mut buf = [0u8; 3];
    /// assert_eq!(s.peek(&mut buf)?, 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_op(|s| s.peek(buf))
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm).
    ///
    /// ```
    /// # let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = grove_net::TcpStream::connect(l.local_addr()?)?;
    /// s.set_nodelay(true)?;
    /// assert!(s.nodelay()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.get().set_nodelay(nodelay)
    }

    /// `TCP_NODELAY`.
    ///
    /// ```
    /// # let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = grove_net::TcpStream::connect(l.local_addr()?)?;
    /// assert!(!s.nodelay()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.get().nodelay()
    }

    /// Sets `IP_TTL`.
    ///
    /// ```
    /// # let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = grove_net::TcpStream::connect(l.local_addr()?)?;
    /// s.set_ttl(32)?;
    /// assert_eq!(s.ttl()?, 32);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get().set_ttl(ttl)
    }

    /// `IP_TTL`.
    ///
    /// ```
    /// # let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = grove_net::TcpStream::connect(l.local_addr()?)?;
    /// assert!(s.ttl()? > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get().ttl()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// ```
    /// # let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = grove_net::TcpStream::connect(l.local_addr()?)?;
    /// assert!(s.take_error()?.is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get().take_error()
    }

    /// In non-blocking mode reads and writes fail with `WouldBlock` instead
    /// of waiting.
    ///
    /// ```
    /// use std::io::Read;
    /// # let l = grove_net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut s = grove_net::TcpStream::connect(l.local_addr()?)?;
    /// s.set_nonblocking(true)?;
    /// assert_eq!(s.read(&mut [0u8; 1]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking);
        Ok(())
    }

    /// Waits until a read may find bytes, as a read would wait (see
    /// `Socket::wait_readable`); for the HTTP server, which holds no read
    /// buffer while a connection is idle.
    pub(crate) fn wait_readable(&self) -> io::Result<()> {
        self.inner.wait_readable()
    }
}

impl Read for TcpStream {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    #[inline]
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Read for &TcpStream {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .read_stream_op(buf.len(), |s| crate::sys::recv(s.as_fd(), buf))
    }

    #[inline]
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.inner
            .read_stream_op(len, |mut s| s.read_vectored(bufs))
    }
}

impl Write for TcpStream {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    #[inline]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    #[inline]
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &TcpStream {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_op(|s| crate::sys::send(s.as_fd(), buf))
    }

    #[inline]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_op(|mut s| s.write_vectored(bufs))
    }

    #[inline]
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("addr", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.get().as_raw_fd()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.get().as_fd()
    }
}

impl TryFrom<std::net::TcpStream> for TcpStream {
    type Error = io::Error;
    fn try_from(s: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::from_std(s)
    }
}
