//! Stream reads and writes as bare system calls.
//!
//! std's `read` and `write` on a socket go through libc's `recv` and
//! `send`, which are POSIX cancellation points: in a process with more than
//! one thread, glibc brackets each call with two atomic updates of the
//! calling thread's cancellation state (`__pthread_enable_asynccancel` and
//! `__pthread_disable_asynccancel`). A grove process always has more than
//! one thread (the caller of `block_on` waits while a worker runs), and an
//! echo server at 1,000 connections spent 1.7 % of its time there, about
//! 75 ns a round trip, which a one-threaded tokio server does not pay.
//! grove never cancels a worker with `pthread_cancel`, so on Linux these
//! functions make the same system calls (`recvfrom`, `sendto`) through
//! rustix, whose Linux backend issues the `syscall` instruction inline:
//! no cancellation bracket, no call into libc and no `errno` round trip
//! (0.6–0.8 % more echo round trips than going through `syscall(2)`, in
//! paired runs at 100 and 1,000 connections). Elsewhere they call libc's
//! `recv` and `send`.
//!
//! Both take the socket's descriptor and behave as std's `read` and
//! `write` on a socket: `send` passes `MSG_NOSIGNAL`, as std does, so a
//! write to a closed connection fails with `BrokenPipe` instead of raising
//! `SIGPIPE`. A descriptor that is not a socket fails with `ENOTSOCK`.

use std::io;
#[cfg(not(target_os = "linux"))]
use std::os::fd::AsRawFd;
use std::os::fd::BorrowedFd;

/// `recv(fd, buf, 0)`: what std's `Read::read` on a socket does.
#[inline]
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        let (n, _) = rustix::net::recv(fd, buf, rustix::net::RecvFlags::empty())?;
        Ok(n)
    }
    #[cfg(not(target_os = "linux"))]
    {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        result(n as isize)
    }
}

/// `send(fd, buf, MSG_NOSIGNAL)`: what std's `Write::write` on a socket
/// does.
#[inline]
pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        Ok(rustix::net::send(
            fd,
            buf,
            rustix::net::SendFlags::NOSIGNAL,
        )?)
    }
    #[cfg(not(target_os = "linux"))]
    {
        // SAFETY: as above: `buf` is valid for reads of `buf.len()` bytes.
        let n = unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), NOSIGNAL) };
        result(n as isize)
    }
}

/// The flag std's `write` on a socket passes (off Linux): `MSG_NOSIGNAL`
/// where it exists; Apple's systems have none, and mio makes their sockets
/// with `SO_NOSIGPIPE` instead.
#[cfg(all(not(target_os = "linux"), not(target_vendor = "apple")))]
const NOSIGNAL: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(target_vendor = "apple")]
const NOSIGNAL: libc::c_int = 0;

/// A system call's return value as std reports it: the count, or the
/// error in `errno`.
#[cfg(not(target_os = "linux"))]
#[inline]
fn result(n: isize) -> io::Result<usize> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::fd::AsFd;

    #[test]
    fn recv_and_send_move_bytes_and_report_errors_as_std_does() {
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(super::send(a.as_fd(), b"ping").unwrap(), 4);
        let mut buf = [0u8; 8];
        assert_eq!(b.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"ping");

        b.write_all(b"pong").unwrap();
        assert_eq!(super::recv(a.as_fd(), &mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"pong");

        // Nothing queued on a non-blocking socket: WouldBlock, as std's.
        a.set_nonblocking(true).unwrap();
        let e = super::recv(a.as_fd(), &mut buf).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);

        // The peer gone: end of stream, then EPIPE without a SIGPIPE.
        drop(b);
        assert_eq!(super::recv(a.as_fd(), &mut buf).unwrap(), 0);
        let e = super::send(a.as_fd(), b"x").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);

        // Not a socket: ENOTSOCK, not a panic.
        let f = std::fs::File::open("/dev/null").unwrap();
        assert!(super::recv(f.as_fd(), &mut buf).is_err());
    }
}
