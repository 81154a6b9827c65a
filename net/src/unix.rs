//! [`UnixListener`], [`UnixStream`] and [`UnixDatagram`]: std's
//! `std::os::unix::net` API, cooperative underneath.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::socket::{finish_connect, Socket};

/// A Unix-domain socket server: `std::os::unix::net::UnixListener` whose
/// `accept` suspends the calling green thread.
///
/// ```
/// use std::io::{Read, Write};
/// use grove_net::{UnixListener, UnixStream};
/// let dir = std::env::temp_dir().join(format!("grove-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("l.sock");
/// # let _ = std::fs::remove_file(&path);
/// let l = UnixListener::bind(&path)?;
/// let h = grove_runtime::spawn(move || { let (mut s, _) = l.accept().unwrap(); s.write_all(b"ok").unwrap(); });
/// let mut c = UnixStream::connect(&path)?;
/// let mut got = String::new();
/// c.read_to_string(&mut got)?;
/// assert_eq!(got, "ok");
/// h.join().unwrap();
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixListener {
    inner: Arc<Socket<mio::net::UnixListener>>,
}

impl UnixListener {
    /// Binds to the socket file at `path`.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-doc-bind-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = grove_net::UnixListener::bind(&path)?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        Ok(UnixListener {
            inner: Arc::new(Socket::new(mio::net::UnixListener::bind(path)?)?),
        })
    }

    /// Makes a grove listener of a std one (switched to non-blocking mode).
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-doc-fstd-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = grove_net::UnixListener::from_std(std::os::unix::net::UnixListener::bind(&path)?)?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(l: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        l.set_nonblocking(true)?;
        Ok(UnixListener {
            inner: Arc::new(Socket::new(mio::net::UnixListener::from_std(l))?),
        })
    }

    /// Accepts a connection, waiting for one.
    ///
    /// ```no_run
    /// # let l = grove_net::UnixListener::bind("/tmp/x.sock")?;
    /// let (stream, addr) = l.accept()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (s, addr) = self.inner.read_op(|l| l.accept())?;
        Ok((UnixStream::from_mio(s)?, addr))
    }

    /// An iterator over incoming connections; it never returns `None`.
    ///
    /// ```no_run
    /// # let l = grove_net::UnixListener::bind("/tmp/x.sock")?;
    /// for s in l.incoming() {
    ///     let s = s?;
    ///     grove_runtime::spawn(move || drop(s));
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn incoming(&self) -> UnixIncoming<'_> {
        UnixIncoming { listener: self }
    }

    /// The local address.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-doc-la-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = grove_net::UnixListener::bind(&path)?;
    /// assert_eq!(l.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().local_addr()
    }

    /// Another handle to the same listener.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-doc-tc-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = grove_net::UnixListener::bind(&path)?;
    /// let l2 = l.try_clone()?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_clone(&self) -> io::Result<UnixListener> {
        Ok(UnixListener {
            inner: self.inner.clone(),
        })
    }

    /// Takes the pending socket error, if any.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-doc-te-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = grove_net::UnixListener::bind(&path)?;
    /// assert!(l.take_error()?.is_none());
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get().take_error()
    }

    /// In non-blocking mode `accept` fails with `WouldBlock` instead of
    /// waiting.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-doc-nb-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = grove_net::UnixListener::bind(&path)?;
    /// l.set_nonblocking(true)?;
    /// assert_eq!(l.accept().unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking);
        Ok(())
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.get().as_raw_fd()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.get().as_fd()
    }
}

/// The iterator of [`UnixListener::incoming`].
#[derive(Debug)]
pub struct UnixIncoming<'a> {
    listener: &'a UnixListener,
}

impl Iterator for UnixIncoming<'_> {
    type Item = io::Result<UnixStream>;
    fn next(&mut self) -> Option<io::Result<UnixStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

/// A Unix-domain stream: `std::os::unix::net::UnixStream` whose reads and
/// writes suspend the calling green thread. `Read`/`Write` for `T` and `&T`.
///
/// ```
/// use std::io::{Read, Write};
/// let (mut a, mut b) = grove_net::UnixStream::pair()?;
/// a.write_all(b"ping")?;
/// let mut buf = [0u8; 4];
/// b.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"ping");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixStream {
    inner: Arc<Socket<mio::net::UnixStream>>,
}

impl UnixStream {
    fn from_mio(s: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            inner: Arc::new(Socket::new(s)?),
        })
    }

    /// Connects to the socket at `path`.
    ///
    /// ```no_run
    /// let s = grove_net::UnixStream::connect("/run/app.sock")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let s = UnixStream::from_mio(mio::net::UnixStream::connect(path)?)?;
        finish_connect(&s.inner.io, None, |s| {
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

    /// A connected pair of streams.
    ///
    /// ```
    /// let (a, b) = grove_net::UnixStream::pair()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(a)?, UnixStream::from_mio(b)?))
    }

    /// Makes a grove stream of a std one (switched to non-blocking mode).
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let a = grove_net::UnixStream::from_std(a)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(s: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        s.set_nonblocking(true)?;
        UnixStream::from_mio(mio::net::UnixStream::from_std(s))
    }

    /// The local address.
    ///
    /// ```
    /// let (a, _b) = grove_net::UnixStream::pair()?;
    /// assert!(a.local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().local_addr()
    }

    /// The peer's address.
    ///
    /// ```
    /// let (a, _b) = grove_net::UnixStream::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().peer_addr()
    }

    /// Shuts down the read half, the write half, or both.
    ///
    /// ```
    /// use std::io::Read;
    /// let (a, mut b) = grove_net::UnixStream::pair()?;
    /// a.shutdown(std::net::Shutdown::Write)?;
    /// assert_eq!(b.read(&mut [0u8; 4])?, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get().shutdown(how)
    }

    /// Another handle to the same socket (settings shared, as in std).
    ///
    /// ```
    /// let (a, _b) = grove_net::UnixStream::pair()?;
    /// let a2 = a.try_clone()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_clone(&self) -> io::Result<UnixStream> {
        Ok(UnixStream {
            inner: self.inner.clone(),
        })
    }

    /// Sets the read timeout (expiry: `WouldBlock`, as std on Unix).
    ///
    /// ```
    /// use std::io::Read;
    /// use std::time::Duration;
    /// let (mut a, _b) = grove_net::UnixStream::pair()?;
    /// a.set_read_timeout(Some(Duration::from_millis(5)))?;
    /// assert_eq!(a.read(&mut [0u8; 1]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.read_timeout.set(timeout)
    }

    /// Sets the write timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (a, _b) = grove_net::UnixStream::pair()?;
    /// a.set_write_timeout(Some(Duration::from_secs(1)))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.write_timeout.set(timeout)
    }

    /// The read timeout.
    ///
    /// ```
    /// let (a, _b) = grove_net::UnixStream::pair()?;
    /// assert_eq!(a.read_timeout()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.read_timeout.get())
    }

    /// The write timeout.
    ///
    /// ```
    /// let (a, _b) = grove_net::UnixStream::pair()?;
    /// assert_eq!(a.write_timeout()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.write_timeout.get())
    }

    /// Takes the pending socket error, if any.
    ///
    /// ```
    /// let (a, _b) = grove_net::UnixStream::pair()?;
    /// assert!(a.take_error()?.is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get().take_error()
    }

    /// In non-blocking mode reads and writes fail with `WouldBlock`.
    ///
    /// ```
    /// use std::io::Read;
    /// let (mut a, _b) = grove_net::UnixStream::pair()?;
    /// a.set_nonblocking(true)?;
    /// assert_eq!(a.read(&mut [0u8; 1]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking);
        Ok(())
    }
}

impl Read for UnixStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Read for &UnixStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_op(|s| crate::sys::recv(s.as_fd(), buf))
    }
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.inner.read_op(|mut s| s.read_vectored(bufs))
    }
}

impl Write for UnixStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &UnixStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_op(|s| crate::sys::send(s.as_fd(), buf))
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_op(|mut s| s.write_vectored(bufs))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.get().as_raw_fd()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.get().as_fd()
    }
}

/// A Unix-domain datagram socket: `std::os::unix::net::UnixDatagram` whose
/// receives suspend the calling green thread.
///
/// ```
/// let (a, b) = grove_net::UnixDatagram::pair()?;
/// a.send(b"one")?;
/// let mut buf = [0u8; 8];
/// assert_eq!(b.recv(&mut buf)?, 3);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixDatagram {
    inner: Arc<Socket<mio::net::UnixDatagram>>,
}

impl UnixDatagram {
    fn from_mio(s: mio::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            inner: Arc::new(Socket::new(s)?),
        })
    }

    /// Binds to the socket file at `path`.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-doc-dg-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let s = grove_net::UnixDatagram::bind(&path)?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        UnixDatagram::from_mio(mio::net::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no address.
    ///
    /// ```
    /// let s = grove_net::UnixDatagram::unbound()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_mio(mio::net::UnixDatagram::unbound()?)
    }

    /// A connected pair.
    ///
    /// ```
    /// let (a, b) = grove_net::UnixDatagram::pair()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_mio(a)?, UnixDatagram::from_mio(b)?))
    }

    /// Makes a grove socket of a std one (switched to non-blocking mode).
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixDatagram::pair()?;
    /// let a = grove_net::UnixDatagram::from_std(a)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(s: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        s.set_nonblocking(true)?;
        UnixDatagram::from_mio(mio::net::UnixDatagram::from_std(s))
    }

    /// Sets the default peer.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-doc-dgc-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = grove_net::UnixDatagram::bind(&path)?;
    /// let client = grove_net::UnixDatagram::unbound()?;
    /// client.connect(&path)?;
    /// client.send(b"hi")?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.inner.get().connect(path)
    }

    /// Sends to the connected peer.
    ///
    /// ```
    /// let (a, _b) = grove_net::UnixDatagram::pair()?;
    /// assert_eq!(a.send(b"x")?, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_op(|s| s.send(buf))
    }

    /// Sends to the socket at `path`.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-doc-dgs-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = grove_net::UnixDatagram::bind(&path)?;
    /// grove_net::UnixDatagram::unbound()?.send_to(b"x", &path)?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_to<P: AsRef<Path>>(&self, buf: &[u8], path: P) -> io::Result<usize> {
        let path = path.as_ref();
        self.inner.write_op(|s| s.send_to(buf, path))
    }

    /// Receives one datagram from the connected peer, waiting for it.
    ///
    /// ```
    /// let (a, b) = grove_net::UnixDatagram::pair()?;
    /// a.send(b"x")?;
    /// assert_eq!(b.recv(&mut [0u8; 4])?, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_op(|s| s.recv(buf))
    }

    /// Receives one datagram and its sender's address, waiting for it.
    ///
    /// ```
    /// let (a, b) = grove_net::UnixDatagram::pair()?;
    /// a.send(b"x")?;
    /// let (n, _from) = b.recv_from(&mut [0u8; 4])?;
    /// assert_eq!(n, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_op(|s| s.recv_from(buf))
    }

    /// The local address.
    ///
    /// ```
    /// let (a, _b) = grove_net::UnixDatagram::pair()?;
    /// assert!(a.local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().local_addr()
    }

    /// The connected peer's address.
    ///
    /// ```
    /// let (a, _b) = grove_net::UnixDatagram::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().peer_addr()
    }

    /// Shuts down the read half, the write half, or both.
    ///
    /// ```
    /// let (a, _b) = grove_net::UnixDatagram::pair()?;
    /// a.shutdown(std::net::Shutdown::Both)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get().shutdown(how)
    }

    /// Another handle to the same socket.
    ///
    /// ```
    /// let (a, _b) = grove_net::UnixDatagram::pair()?;
    /// let a2 = a.try_clone()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_clone(&self) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            inner: self.inner.clone(),
        })
    }

    /// Sets the read timeout (expiry: `WouldBlock`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let (a, _b) = grove_net::UnixDatagram::pair()?;
    /// a.set_read_timeout(Some(Duration::from_millis(5)))?;
    /// assert_eq!(a.recv(&mut [0u8; 1]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.read_timeout.set(timeout)
    }

    /// Sets the write timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (a, _b) = grove_net::UnixDatagram::pair()?;
    /// a.set_write_timeout(Some(Duration::from_secs(1)))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.write_timeout.set(timeout)
    }

    /// The read timeout.
    ///
    /// ```
    /// let (a, _b) = grove_net::UnixDatagram::pair()?;
    /// assert_eq!(a.read_timeout()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.read_timeout.get())
    }

    /// The write timeout.
    ///
    /// ```
    /// let (a, _b) = grove_net::UnixDatagram::pair()?;
    /// assert_eq!(a.write_timeout()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.write_timeout.get())
    }

    /// Takes the pending socket error, if any.
    ///
    /// ```
    /// let (a, _b) = grove_net::UnixDatagram::pair()?;
    /// assert!(a.take_error()?.is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get().take_error()
    }

    /// In non-blocking mode receives and sends fail with `WouldBlock`.
    ///
    /// ```
    /// let (a, _b) = grove_net::UnixDatagram::pair()?;
    /// a.set_nonblocking(true)?;
    /// assert_eq!(a.recv(&mut [0u8; 1]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking);
        Ok(())
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.get().as_raw_fd()
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.get().as_fd()
    }
}
