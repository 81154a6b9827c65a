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
use std::time::{Duration, Instant};

use crate::reactor::{Direction, Registration};

/// When a [`Cooperative`] operation stops waiting and fails with
/// `ErrorKind::TimedOut`.
///
/// Every operation takes `impl Into<Deadline>`, so `None` and
/// `Some(instant)` (an `Option<Instant>`) work as they read, and so do an
/// `Instant` and a `Duration`.
///
/// A [`Deadline::After`] is counted from the moment the operation first has
/// to wait, as std's socket timeouts are: an operation that completes at
/// once reads no clock (on a virtual machine a clock read can cost ~50 ns,
/// a noticeable part of a small request's cost).
///
/// ```
/// use std::time::{Duration, Instant};
/// use grove_runtime::io::Deadline;
///
/// assert_eq!(Deadline::from(None::<Instant>), Deadline::Never);
/// let soon = Instant::now() + Duration::from_millis(5);
/// assert_eq!(Deadline::from(Some(soon)), Deadline::At(soon));
/// assert_eq!(Deadline::from(Duration::from_secs(1)), Deadline::After(Duration::from_secs(1)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Deadline {
    /// Wait as long as it takes.
    #[default]
    Never,
    /// Stop waiting at this instant.
    At(Instant),
    /// Stop waiting this long after the operation first has to wait.
    After(Duration),
}

impl Deadline {
    /// Starts a wait: the instant it gives up at, and whether that may
    /// have passed already (so the wait checks before it parks). An
    /// `After` becomes the `At` it falls at, which later waits of the same
    /// operation share; its check is skipped, since a positive duration
    /// from now cannot have passed (one clock read a wait, not two).
    #[inline]
    fn begin_wait(&mut self) -> (Option<Instant>, bool) {
        match *self {
            Deadline::Never => (None, false),
            Deadline::At(at) => (Some(at), true),
            Deadline::After(d) => {
                let at = Instant::now().checked_add(d);
                *self = at.into();
                (at, d.is_zero())
            }
        }
    }
}

impl From<Option<Instant>> for Deadline {
    #[inline]
    fn from(at: Option<Instant>) -> Deadline {
        at.map_or(Deadline::Never, Deadline::At)
    }
}

impl From<Instant> for Deadline {
    #[inline]
    fn from(at: Instant) -> Deadline {
        Deadline::At(at)
    }
}

impl From<Duration> for Deadline {
    #[inline]
    fn from(after: Duration) -> Deadline {
        Deadline::After(after)
    }
}

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
        deadline: impl Into<Deadline>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.io_loop(Direction::Read, deadline.into(), op, |_| false)
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
        deadline: impl Into<Deadline>,
        len: usize,
        op: impl FnMut(&T) -> io::Result<usize>,
    ) -> io::Result<usize> {
        let mut deadline = deadline.into();
        if self.registration().io().is_drained() {
            self.wait(Direction::Read, &mut deadline)?;
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
        deadline: impl Into<Deadline>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.io_loop(Direction::Write, deadline.into(), op, |_| false)
    }

    /// The loop of every operation: try, and on `WouldBlock` clear the
    /// readiness bits (the tick rule) and wait. A result for which
    /// `drained` holds (a short stream read) marks the source drained.
    fn io_loop<R>(
        &self,
        dir: Direction,
        mut deadline: Deadline,
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
                    self.wait(dir, &mut deadline)?;
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
    pub fn readable(&self, deadline: impl Into<Deadline>) -> io::Result<()> {
        self.wait(Direction::Read, &mut deadline.into())
    }

    /// One wait for readiness in `dir`; an `After` deadline starts here
    /// (see [`Deadline::begin_wait`]). Always inlined, as the park below
    /// it is: one frame less for a resume to read back (see `park::park`).
    #[inline(always)]
    fn wait(&self, dir: Direction, deadline: &mut Deadline) -> io::Result<()> {
        let (at, check_first) = deadline.begin_wait();
        let r = self.registration();
        if r.is_orphaned() {
            crate::reactor::wait_fd(self.get_ref().as_raw_fd(), dir, at)
        } else {
            r.io().wait(dir, at, check_first)
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
    pub fn writable(&self, deadline: impl Into<Deadline>) -> io::Result<()> {
        self.wait(Direction::Write, &mut deadline.into())
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

#[cfg(test)]
mod tests {
    use std::io::{ErrorKind, Read, Write};
    use std::time::{Duration, Instant};

    use super::{Cooperative, Deadline};

    type Pair = (mio::net::UnixStream, Cooperative<mio::net::UnixStream>);

    fn pair() -> Pair {
        let (a, b) = mio::net::UnixStream::pair().unwrap();
        (a, Cooperative::new(b).unwrap())
    }

    /// A duration is counted from the first wait: a read that finds bytes
    /// completes, one that must wait fails no sooner than the duration
    /// after the wait began, and every wait of one operation shares it.
    fn duration_deadline_from_the_first_wait((a, b): Pair) {
        (&a).write_all(b"x").unwrap();
        let mut buf = [0u8; 4];
        let after = Duration::from_millis(5);
        let n = b
            .read_stream_with(after, buf.len(), |s| (&*s).read(&mut buf))
            .unwrap();
        assert_eq!(&buf[..n], b"x");
        // The short read marked the source drained: this one waits first.
        let t = Instant::now();
        let e = b
            .read_stream_with(after, buf.len(), |s| (&*s).read(&mut buf))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        assert!(t.elapsed() >= after);
        let t = Instant::now();
        let e = b.readable(after).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        assert!(t.elapsed() >= after);
        drop(a);
    }

    #[test]
    fn a_duration_deadline_is_counted_from_the_first_wait_in_a_green_thread() {
        let p = pair();
        crate::spawn(move || duration_deadline_from_the_first_wait(p))
            .join()
            .unwrap();
    }

    #[test]
    fn a_duration_deadline_is_counted_from_the_first_wait_on_an_os_thread() {
        duration_deadline_from_the_first_wait(pair());
    }

    /// A zero duration and an instant already past time out without waiting
    /// for a timer; a deadline never reached lets the operation finish.
    fn expired_deadlines((a, b): Pair) {
        for d in [
            Deadline::After(Duration::ZERO),
            Deadline::At(Instant::now()),
        ] {
            assert_eq!(b.readable(d).unwrap_err().kind(), ErrorKind::TimedOut);
            let e = b.read_with(d, |s| (&*s).read(&mut [0u8; 4])).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::TimedOut);
        }
        let later = Instant::now() + Duration::from_secs(60);
        (&a).write_all(b"y").unwrap();
        b.readable(later).unwrap();
        b.readable(Deadline::Never).unwrap();
        assert!(b.writable(Duration::from_secs(60)).is_ok());
    }

    #[test]
    fn expired_deadlines_time_out_in_a_green_thread() {
        let p = pair();
        crate::spawn(move || expired_deadlines(p)).join().unwrap();
    }

    #[test]
    fn expired_deadlines_time_out_on_an_os_thread() {
        expired_deadlines(pair());
    }
}
