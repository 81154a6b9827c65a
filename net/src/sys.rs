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
//! functions make the same system calls through `syscall(2)`, which is not
//! a cancellation point; elsewhere they call libc's `recv` and `send`.
//!
//! Both take the socket's descriptor and behave as std's `read` and
//! `write` on a socket: `send` passes `MSG_NOSIGNAL`, as std does, so a
//! write to a closed connection fails with `BrokenPipe` instead of raising
//! `SIGPIPE`. A descriptor that is not a socket fails with `ENOTSOCK`.

use std::io;
use std::os::fd::RawFd;

/// `recv(fd, buf, 0)`: what std's `Read::read` on a socket does.
#[inline]
pub(crate) fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole
    // call, and recvfrom(2) writes at most that many.
    let n = unsafe { transfer(libc::SYS_recvfrom, fd, buf.as_mut_ptr(), buf.len(), 0) };
    #[cfg(not(target_os = "linux"))]
    // SAFETY: as above: `buf` is valid for writes of `buf.len()` bytes.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
    result(n as isize)
}

/// `send(fd, buf, MSG_NOSIGNAL)`: what std's `Write::write` on a socket
/// does.
#[inline]
pub(crate) fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes for the whole
    // call, and sendto(2) only reads them (the pointer is mutable only in
    // `transfer`'s signature).
    let n = unsafe {
        transfer(
            libc::SYS_sendto,
            fd,
            buf.as_ptr().cast_mut(),
            buf.len(),
            libc::MSG_NOSIGNAL,
        )
    };
    #[cfg(not(target_os = "linux"))]
    // SAFETY: as above: `buf` is valid for reads of `buf.len()` bytes.
    let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), NOSIGNAL) };
    result(n as isize)
}

/// `recvfrom` or `sendto` (`nr`) on a connected socket: the peer's
/// address and its length, the last two arguments, are null and 0. Every
/// argument goes as a full register (`syscall(2)` reads each as a `long`).
///
/// # Safety
///
/// `buf` must be valid for `len` bytes of what the call does with them:
/// writes for `recvfrom`, reads for `sendto`.
#[cfg(target_os = "linux")]
#[inline]
unsafe fn transfer(
    nr: libc::c_long,
    fd: RawFd,
    buf: *mut u8,
    len: usize,
    flags: libc::c_int,
) -> libc::c_long {
    // SAFETY: the caller's contract covers `buf`; the other arguments are
    // plain values, and a null address with length 0 is what recv(2) and
    // send(2) themselves pass.
    unsafe {
        libc::syscall(
            nr,
            libc::c_long::from(fd),
            buf,
            len,
            libc::c_long::from(flags),
            0 as libc::c_long,
            0 as libc::c_long,
        )
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
    use std::os::fd::AsRawFd;

    #[test]
    fn recv_and_send_move_bytes_and_report_errors_as_std_does() {
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(super::send(a.as_raw_fd(), b"ping").unwrap(), 4);
        let mut buf = [0u8; 8];
        assert_eq!(b.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"ping");

        b.write_all(b"pong").unwrap();
        assert_eq!(super::recv(a.as_raw_fd(), &mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"pong");

        // Nothing queued on a non-blocking socket: WouldBlock, as std's.
        a.set_nonblocking(true).unwrap();
        let e = super::recv(a.as_raw_fd(), &mut buf).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);

        // The peer gone: end of stream, then EPIPE without a SIGPIPE.
        drop(b);
        assert_eq!(super::recv(a.as_raw_fd(), &mut buf).unwrap(), 0);
        let e = super::send(a.as_raw_fd(), b"x").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);

        // Not a socket: ENOTSOCK, not a panic.
        let f = std::fs::File::open("/dev/null").unwrap();
        assert!(super::recv(f.as_raw_fd(), &mut buf).is_err());
    }
}
