//! Cooperative I/O on any mio source: the building block of `grove::net`.
//!
//! [`Cooperative<T>`] registers a non-blocking [`mio::event::Source`] with
//! the reactor and turns its `WouldBlock` into a wait that suspends the
//! calling green thread (or parks the calling OS thread) until the source is
//! ready — gevent's `wait_read`/`wait_write` around a non-blocking call.
//! grove's sockets are thin wrappers over it; use it directly to make
//! another mio source (a pipe, a tty, an inotify descriptor) cooperative.

use std::fmt;
use std::io;
use std::os::fd::AsRawFd;
use std::time::Instant;

use crate::reactor::{Direction, Registration};

/// A mio source registered with grove's reactor.
///
/// Operations are tried at once; only a `WouldBlock` makes the caller wait
/// for readiness, so a ready source costs one system call per operation.
/// The source may be used from several green threads at once (one reading
/// while another writes, as with `TcpStream::try_clone`), on any worker or
/// OS thread. It even outlives its runtime: once that has shut down, waits
/// fall back to `poll(2)` on the descriptor.
///
/// ```
/// use std::io::{Read, Write};
/// use grove_runtime::io::Cooperative;
///
/// let (a, b) = mio::net::UnixStream::pair().unwrap();
/// let a = Cooperative::new(a).unwrap();
/// let b = Cooperative::new(b).unwrap();
/// let reader = grove_runtime::spawn(move || {
///     let mut buf = [0u8; 5];
///     // Suspends this green thread until the bytes arrive.
///     let n = b.read_with(None, |s| (&*s).read(&mut buf)).unwrap();
///     buf[..n].to_vec()
/// });
/// a.write_with(None, |s| (&*s).write(b"hello")).unwrap();
/// assert_eq!(reader.join().unwrap(), b"hello");
/// ```
pub struct Cooperative<T: mio::event::Source + AsRawFd> {
    /// The source; `None` only inside `into_inner` and `drop`.
    source: Option<T>,
    /// Its registration; `None` only inside `into_inner` and `drop`.
    registration: Option<Registration>,
}

impl<T: mio::event::Source + AsRawFd> Cooperative<T> {
    /// Registers `source`, which must be in non-blocking mode (mio's types
    /// always are), with a worker of the calling context's runtime.
    ///
    /// # Errors
    ///
    /// What registration with the event loop returns (for example `EPERM`
    /// for a regular file, which epoll cannot watch).
    ///
    /// ```
    /// let (a, _b) = mio::net::UnixStream::pair().unwrap();
    /// let a = grove_runtime::io::Cooperative::new(a).unwrap();
    /// # drop(a);
    /// ```
    pub fn new(mut source: T) -> io::Result<Cooperative<T>> {
        let registration = Registration::new(&mut source)?;
        Ok(Cooperative {
            source: Some(source),
            registration: Some(registration),
        })
    }

    /// The source.
    ///
    /// ```
    /// let (a, _b) = mio::net::UnixStream::pair().unwrap();
    /// let a = grove_runtime::io::Cooperative::new(a).unwrap();
    /// assert!(a.get_ref().peer_addr().is_ok());
    /// ```
    #[inline]
    pub fn get_ref(&self) -> &T {
        self.source.as_ref().expect("source present until drop")
    }

    #[inline]
    fn registration(&self) -> &Registration {
        self.registration
            .as_ref()
            .expect("registration present until drop")
    }

    /// Runs a read-side operation (read, recv, accept), waiting for
    /// readability whenever it fails with `WouldBlock`, until `deadline`
    /// (then `ErrorKind::TimedOut`). `Interrupted` is retried. A switch
    /// point when it waits: kill and `grove::timeout` unwind here.
    ///
    /// ```
    /// use std::io::Read;
    /// let (a, b) = mio::net::UnixStream::pair().unwrap();
    /// let b = grove_runtime::io::Cooperative::new(b).unwrap();
    /// let soon = std::time::Instant::now() + std::time::Duration::from_millis(10);
    /// let err = b.read_with(Some(soon), |s| (&*s).read(&mut [0u8; 8])).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// # drop(a);
    /// ```
    pub fn read_with<R>(
        &self,
        deadline: Option<Instant>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.io_with(Direction::Read, deadline, op)
    }

    /// Runs a stream read of up to `len` bytes (`read`, `read_vectored` on
    /// a TCP or Unix stream) as [`read_with`](Cooperative::read_with) does,
    /// and saves the failing read that usually follows a short one.
    ///
    /// A stream read that returns fewer bytes than `len` (but some) has
    /// emptied the socket's receive queue, so the source is marked drained
    /// (tokio's rule); the next call then waits for readiness before it
    /// reads, instead of making a system call that fails with
    /// `WouldBlock`. An echo or request–response loop makes one `recv` per
    /// message instead of two. Not for datagram sockets, where a short
    /// read says nothing about what is queued.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// let (a, b) = mio::net::UnixStream::pair().unwrap();
    /// let b = grove_runtime::io::Cooperative::new(b).unwrap();
    /// (&a).write_all(b"hi").unwrap();
    /// let mut buf = [0u8; 8];
    /// let n = b.read_stream_with(None, buf.len(), |s| (&*s).read(&mut buf)).unwrap();
    /// assert_eq!(&buf[..n], b"hi");
    /// ```
    pub fn read_stream_with(
        &self,
        deadline: Option<Instant>,
        len: usize,
        op: impl FnMut(&T) -> io::Result<usize>,
    ) -> io::Result<usize> {
        if self.registration().io().is_drained() {
            self.wait(Direction::Read, deadline)?;
        }
        self.io_loop(Direction::Read, deadline, op, |&n| n > 0 && n < len)
    }

    /// Runs a write-side operation (write, send, finishing a connect),
    /// waiting for writability whenever it fails with `WouldBlock`; as
    /// [`read_with`](Cooperative::read_with) otherwise.
    ///
    /// ```
    /// use std::io::Write;
    /// let (a, _b) = mio::net::UnixStream::pair().unwrap();
    /// let a = grove_runtime::io::Cooperative::new(a).unwrap();
    /// assert_eq!(a.write_with(None, |s| (&*s).write(b"hi")).unwrap(), 2);
    /// ```
    pub fn write_with<R>(
        &self,
        deadline: Option<Instant>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.io_with(Direction::Write, deadline, op)
    }

    fn io_with<R>(
        &self,
        dir: Direction,
        deadline: Option<Instant>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.io_loop(dir, deadline, op, |_| false)
    }

    /// The loop of every operation: try, and on `WouldBlock` clear the
    /// readiness bits (the tick rule) and wait. A result for which
    /// `drained` holds (a short stream read) marks the source drained.
    fn io_loop<R>(
        &self,
        dir: Direction,
        deadline: Option<Instant>,
        mut op: impl FnMut(&T) -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> io::Result<R> {
        let io = self.registration().io();
        let source = self.get_ref();
        loop {
            let snapshot = io.snapshot();
            match op(source) {
                Ok(r) if drained(&r) => {
                    io.drained(snapshot);
                    return Ok(r);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    io.clear(snapshot, dir);
                    self.wait(dir, deadline)?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }

    /// Waits until the source is readable (or closed, or in error), or
    /// until `deadline` (`ErrorKind::TimedOut`). May return although a read
    /// would still block (readiness is a hint); retry with `read_with`.
    ///
    /// ```
    /// use std::io::Write;
    /// let (a, b) = mio::net::UnixStream::pair().unwrap();
    /// let b = grove_runtime::io::Cooperative::new(b).unwrap();
    /// (&a).write_all(b"x").unwrap();
    /// b.readable(None).unwrap();
    /// ```
    pub fn readable(&self, deadline: Option<Instant>) -> io::Result<()> {
        self.wait(Direction::Read, deadline)
    }

    fn wait(&self, dir: Direction, deadline: Option<Instant>) -> io::Result<()> {
        let r = self.registration();
        if r.is_orphaned() {
            crate::reactor::wait_fd(self.get_ref().as_raw_fd(), dir, deadline)
        } else {
            r.io().wait(dir, deadline)
        }
    }

    /// Waits until the source is writable (or closed, or in error), or
    /// until `deadline` (`ErrorKind::TimedOut`).
    ///
    /// ```
    /// let (a, _b) = mio::net::UnixStream::pair().unwrap();
    /// let a = grove_runtime::io::Cooperative::new(a).unwrap();
    /// a.writable(None).unwrap();
    /// ```
    pub fn writable(&self, deadline: Option<Instant>) -> io::Result<()> {
        self.wait(Direction::Write, deadline)
    }

    /// Deregisters the source and gives it back.
    ///
    /// ```
    /// let (a, _b) = mio::net::UnixStream::pair().unwrap();
    /// let a = grove_runtime::io::Cooperative::new(a).unwrap();
    /// let a: mio::net::UnixStream = a.into_inner();
    /// # drop(a);
    /// ```
    pub fn into_inner(mut self) -> T {
        let mut source = self.source.take().expect("source present until drop");
        if let Some(r) = self.registration.take() {
            r.deregister(&mut source);
        }
        source
    }
}

impl<T: mio::event::Source + AsRawFd> Drop for Cooperative<T> {
    fn drop(&mut self) {
        if let (Some(source), Some(r)) = (self.source.as_mut(), self.registration.take()) {
            r.deregister(source);
        }
    }
}

impl<T: mio::event::Source + AsRawFd + fmt::Debug> fmt::Debug for Cooperative<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cooperative")
            .field("source", &self.source)
            .finish()
    }
}
