//! The part every grove socket shares: a registered mio socket plus std's
//! per-socket settings (read/write timeouts, non-blocking mode).
//!
//! A socket type (`TcpStream`, `UdpSocket`, ...) is an `Arc<Socket<mio
//! type>>`: `try_clone` shares it, exactly as std's clones share one open
//! socket (timeouts, non-blocking mode and `shutdown` are per socket in std
//! too). The file descriptor closes when the last clone is dropped.
//!
//! Timeouts follow std on Unix: a read or write that waits past its
//! timeout fails with `ErrorKind::WouldBlock`; a zero timeout is rejected
//! with `InvalidInput`.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use grove_runtime::io::{Cooperative, Deadline};

/// "No timeout" in a [`Timeout`].
const NONE: u64 = u64::MAX;

/// An optional timeout, settable through `&self`.
#[derive(Debug)]
pub(crate) struct Timeout(AtomicU64);

impl Timeout {
    pub(crate) const fn new() -> Timeout {
        Timeout(AtomicU64::new(NONE))
    }

    /// std's `set_read_timeout` rules: `Some(0)` is an error.
    pub(crate) fn set(&self, t: Option<Duration>) -> io::Result<()> {
        let nanos = match t {
            Some(d) if d.is_zero() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "cannot set a 0 duration timeout",
                ))
            }
            Some(d) => u64::try_from(d.as_nanos())
                .unwrap_or(NONE - 1)
                .min(NONE - 1),
            None => NONE,
        };
        self.0.store(nanos, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn get(&self) -> Option<Duration> {
        match self.0.load(Ordering::Relaxed) {
            NONE => None,
            n => Some(Duration::from_nanos(n)),
        }
    }

    /// The deadline of an operation: the timeout, counted from when the
    /// operation first has to wait (so one that need not reads no clock).
    #[inline]
    pub(crate) fn deadline(&self) -> Deadline {
        match self.0.load(Ordering::Relaxed) {
            NONE => Deadline::Never,
            n => Deadline::After(Duration::from_nanos(n)),
        }
    }
}

/// A registered socket with std's per-socket settings.
#[derive(Debug)]
pub(crate) struct Socket<T: mio::event::Source + AsRawFd> {
    pub(crate) io: Cooperative<T>,
    pub(crate) read_timeout: Timeout,
    pub(crate) write_timeout: Timeout,
    nonblocking: AtomicBool,
}

impl<T: mio::event::Source + AsRawFd> Socket<T> {
    pub(crate) fn new(source: T) -> io::Result<Socket<T>> {
        Ok(Socket {
            io: Cooperative::new(source)?,
            read_timeout: Timeout::new(),
            write_timeout: Timeout::new(),
            nonblocking: AtomicBool::new(false),
        })
    }

    #[inline]
    pub(crate) fn get(&self) -> &T {
        self.io.get_ref()
    }

    /// A read-side operation with std's semantics: waits cooperatively
    /// (unless non-blocking), up to the read timeout.
    #[inline]
    pub(crate) fn read_op<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        if self.nonblocking.load(Ordering::Relaxed) {
            return op(self.get());
        }
        self.io
            .read_with(self.read_timeout.deadline(), op)
            .map_err(timeout_is_would_block)
    }

    /// A stream read of up to `len` bytes with std's semantics; a short
    /// read marks the socket drained (`Cooperative::read_stream_with`).
    #[inline]
    pub(crate) fn read_stream_op(
        &self,
        len: usize,
        mut op: impl FnMut(&T) -> io::Result<usize>,
    ) -> io::Result<usize> {
        if self.nonblocking.load(Ordering::Relaxed) {
            return op(self.get());
        }
        self.io
            .read_stream_with(self.read_timeout.deadline(), len, op)
            .map_err(timeout_is_would_block)
    }

    /// Waits until a read may find bytes: at once if the reactor's
    /// readiness says readable (closed, in error), else for the next
    /// readiness event, up to the read timeout (`WouldBlock` on expiry, as
    /// std's reads). A socket in non-blocking mode does not wait.
    pub(crate) fn wait_readable(&self) -> io::Result<()> {
        if self.nonblocking.load(Ordering::Relaxed) {
            return Ok(());
        }
        self.io
            .readable(self.read_timeout.deadline())
            .map_err(timeout_is_would_block)
    }

    /// A write-side operation with std's semantics.
    #[inline]
    pub(crate) fn write_op<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        if self.nonblocking.load(Ordering::Relaxed) {
            return op(self.get());
        }
        self.io
            .write_with(self.write_timeout.deadline(), op)
            .map_err(timeout_is_would_block)
    }

    pub(crate) fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
    }
}

/// Maps the reactor's own deadline error to std's read/write timeout error
/// (`WouldBlock` on Unix). An OS `ETIMEDOUT` (keep-alive failure) keeps its
/// kind: only the reactor's error has no OS code.
pub(crate) fn timeout_is_would_block(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::TimedOut && e.raw_os_error().is_none() {
        io::Error::new(
            io::ErrorKind::WouldBlock,
            "grove: the socket's read or write timeout expired",
        )
    } else {
        e
    }
}

/// Completes a non-blocking connect: waits for writability until
/// `deadline`, then reports the connect's outcome.
pub(crate) fn finish_connect<T, F>(
    io: &Cooperative<T>,
    deadline: Option<Instant>,
    check: F,
) -> io::Result<()>
where
    T: mio::event::Source + AsRawFd,
    F: Fn(&T) -> io::Result<()>,
{
    io.write_with(deadline, |s| check(s)).map_err(|e| {
        if e.kind() == io::ErrorKind::TimedOut && e.raw_os_error().is_none() {
            io::Error::new(io::ErrorKind::TimedOut, "grove: connection timed out")
        } else {
            e
        }
    })
}
