//! Socket timeouts with std's semantics: a read or write that waits past
//! its timeout fails with `WouldBlock` (having waited at least that long,
//! without holding the worker); a zero timeout is `InvalidInput`;
//! `connect_timeout` reports refusal at once and times out on a peer that
//! never answers; `grove::timeout` interrupts a socket wait and leaves the
//! socket usable.

mod net_util;

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grove::net::{TcpStream, UdpSocket, UnixDatagram, UnixStream};
use net_util::{join_soon, one_worker, refused_addr, tcp_pair, DropCounter, QUICK};

const T: Duration = Duration::from_millis(150);

/// Runs `f` (a blocking call expected to fail after about `T`) and checks
/// the failure and the time it took.
fn expect_would_block_after<R: std::fmt::Debug>(
    what: &str,
    timeout: Duration,
    f: impl FnOnce() -> io::Result<R>,
) {
    let start = Instant::now();
    let r = f();
    let took = start.elapsed();
    let e = r.expect_err(what);
    assert_eq!(e.kind(), io::ErrorKind::WouldBlock, "{what}: {e}");
    assert!(
        took >= timeout,
        "{what}: gave up after {took:?} < {timeout:?}"
    );
    assert!(took < QUICK, "{what}: took {took:?}");
}

#[test]
fn read_timeout_in_a_green_thread_does_not_hold_the_worker() {
    let rt = one_worker();
    rt.block_on(|| {
        let (c, mut s) = tcp_pair();
        assert_eq!(c.read_timeout().unwrap(), None);
        c.set_read_timeout(Some(T)).unwrap();
        assert_eq!(c.read_timeout().unwrap(), Some(T));
        // On one worker, this green thread only runs while the read waits.
        let ticks = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let ticker = grove::spawn({
            let (ticks, done) = (ticks.clone(), done.clone());
            move || {
                while !done.load(Ordering::SeqCst) {
                    ticks.fetch_add(1, Ordering::SeqCst);
                    grove::sleep(Duration::from_millis(1));
                }
            }
        });
        expect_would_block_after("read", T, || (&c).read(&mut [0u8; 16]));
        assert!(
            ticks.load(Ordering::SeqCst) > 0,
            "the read held the only worker"
        );
        done.store(true, Ordering::SeqCst);
        join_soon(ticker).unwrap();

        // The timeout is per operation, and the socket still works.
        s.write_all(b"late").unwrap();
        let mut buf = [0u8; 4];
        (&c).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"late");
        // `peek` honours it too.
        expect_would_block_after("peek", T, || c.peek(&mut [0u8; 4]));
        // Clearing it makes reads wait for data again.
        c.set_read_timeout(None).unwrap();
        assert_eq!(c.read_timeout().unwrap(), None);
    });
}

#[test]
fn read_timeout_on_a_plain_os_thread() {
    let (mut c, _s) = tcp_pair();
    c.set_read_timeout(Some(T)).unwrap();
    expect_would_block_after("read", T, || c.read(&mut [0u8; 16]));
}

#[test]
fn unix_stream_and_datagram_read_timeouts() {
    let rt = one_worker();
    rt.block_on(|| {
        let (mut a, _b) = UnixStream::pair().unwrap();
        a.set_read_timeout(Some(T)).unwrap();
        assert_eq!(a.read_timeout().unwrap(), Some(T));
        expect_would_block_after("unix read", T, || a.read(&mut [0u8; 8]));

        let (d, _e) = UnixDatagram::pair().unwrap();
        d.set_read_timeout(Some(T)).unwrap();
        expect_would_block_after("unix recv", T, || d.recv(&mut [0u8; 8]));
    });
}

#[test]
fn write_timeout_on_a_full_buffer_then_the_socket_recovers() {
    let rt = one_worker();
    rt.block_on(|| {
        let (mut c, s) = tcp_pair();
        c.set_write_timeout(Some(T)).unwrap();
        assert_eq!(c.write_timeout().unwrap(), Some(T));
        // The peer never reads: writes fill both socket buffers, then one
        // waits for room until its timeout.
        let chunk = vec![0x5a_u8; 64 * 1024];
        let mut written = 0usize;
        let mut failed = None;
        for _ in 0..4096 {
            let start = Instant::now();
            match c.write(&chunk) {
                Ok(n) => written += n,
                Err(e) => {
                    failed = Some((e, start.elapsed()));
                    break;
                }
            }
        }
        let (e, took) = failed.expect("256 MiB went into a socket nobody reads");
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock, "{e}");
        assert!(took >= T, "gave up after {took:?}");
        assert!(took < QUICK, "took {took:?}");
        assert!(written > 0);

        // The reader catches up; the writer's next write goes through.
        let reader = grove::spawn(move || {
            let mut s = s;
            let mut all = Vec::new();
            s.read_to_end(&mut all).unwrap();
            all
        });
        c.set_write_timeout(None).unwrap();
        c.write_all(b"the end").unwrap();
        drop(c);
        let all = join_soon(reader).unwrap();
        assert_eq!(all.len(), written + 7);
        assert!(all[..written].iter().all(|&b| b == 0x5a));
        assert_eq!(&all[written..], b"the end");
    });
}

#[test]
fn zero_timeouts_are_invalid_input() {
    let rt = one_worker();
    rt.block_on(|| {
        let invalid = |r: io::Result<()>| {
            assert_eq!(r.unwrap_err().kind(), io::ErrorKind::InvalidInput);
        };
        let (c, _s) = tcp_pair();
        c.set_read_timeout(Some(T)).unwrap();
        invalid(c.set_read_timeout(Some(Duration::ZERO)));
        invalid(c.set_write_timeout(Some(Duration::ZERO)));
        // A rejected setting leaves the previous one.
        assert_eq!(c.read_timeout().unwrap(), Some(T));
        assert_eq!(c.write_timeout().unwrap(), None);

        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        invalid(u.set_read_timeout(Some(Duration::ZERO)));
        invalid(u.set_write_timeout(Some(Duration::ZERO)));
        let (a, _b) = UnixStream::pair().unwrap();
        invalid(a.set_read_timeout(Some(Duration::ZERO)));
        invalid(a.set_write_timeout(Some(Duration::ZERO)));
        let (d, _e) = UnixDatagram::pair().unwrap();
        invalid(d.set_read_timeout(Some(Duration::ZERO)));
        invalid(d.set_write_timeout(Some(Duration::ZERO)));

        let l = grove::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let e = TcpStream::connect_timeout(&l.local_addr().unwrap(), Duration::ZERO).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    });
}

#[test]
fn connect_to_a_closed_port_is_refused_at_once() {
    let check = |addr: SocketAddr| {
        let start = Instant::now();
        let e = TcpStream::connect_timeout(&addr, Duration::from_secs(30)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
        let e = TcpStream::connect(addr).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
        assert!(start.elapsed() < QUICK, "took {:?}", start.elapsed());
    };
    // From a green thread and from a plain OS thread.
    let rt = one_worker();
    rt.block_on(move || check(refused_addr()));
    check(refused_addr());
}

#[test]
fn connect_timeout_succeeds_against_a_listener() {
    let rt = one_worker();
    rt.block_on(|| {
        let l = grove::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let mut c = TcpStream::connect_timeout(&addr, QUICK).unwrap();
        assert_eq!(c.peer_addr().unwrap(), addr);
        let (mut s, _) = l.accept().unwrap();
        c.write_all(b"ok").unwrap();
        let mut buf = [0u8; 2];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ok");
    });
}

/// A listener whose accept queue is full makes Linux drop new SYNs, so a
/// connect to it gets no answer (the client would retry after a second):
/// `connect_timeout` must give up at its deadline with `TimedOut`.
#[test]
fn connect_timeout_times_out_when_nobody_answers() {
    let rt = one_worker();
    rt.block_on(|| {
        let l = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        l.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        // A backlog of 0 still lets one connection complete; the queue is
        // then full and never drained (nothing accepts).
        l.listen(0).unwrap();
        let addr = l.local_addr().unwrap().as_socket().unwrap();
        let mut kept = Vec::new();
        let mut timed_out = None;
        for _ in 0..16 {
            let start = Instant::now();
            match TcpStream::connect_timeout(&addr, T) {
                Ok(s) => kept.push(s),
                Err(e) => {
                    timed_out = Some((e, start.elapsed()));
                    break;
                }
            }
        }
        let (e, took) = timed_out.expect("16 connects to a full backlog all completed");
        assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
        assert!(took >= T, "gave up after {took:?}");
        assert!(took < QUICK, "took {took:?}");
        assert!(!kept.is_empty(), "the first connect should have completed");
    });
}

#[test]
fn grove_timeout_interrupts_a_read_and_the_socket_stays_usable() {
    let rt = one_worker();
    rt.block_on(|| {
        let (mut c, mut s) = tcp_pair();
        let (drops, guard) = DropCounter::new();
        let start = Instant::now();
        let r = grove::timeout(T, || {
            let _guard = guard;
            (&c).read(&mut [0u8; 8])
        });
        assert!(r.is_err(), "the read returned {r:?}");
        assert!(start.elapsed() >= T);
        assert!(start.elapsed() < QUICK);
        assert_eq!(drops.load(Ordering::SeqCst), 1, "the guard was not dropped");

        // Nothing was consumed or broken by the interruption.
        s.write_all(b"after").unwrap();
        let mut buf = [0u8; 5];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"after");

        // A timeout longer than the wait does not fire.
        let writer = grove::spawn(move || {
            grove::sleep(Duration::from_millis(20));
            s.write_all(b"x").unwrap();
            s
        });
        let n = grove::timeout(QUICK, || c.read(&mut buf)).unwrap().unwrap();
        assert_eq!(n, 1);
        join_soon(writer).unwrap();
    });
}

#[test]
fn grove_timeout_interrupts_a_read_on_a_plain_os_thread() {
    let (mut c, mut s) = tcp_pair();
    let start = Instant::now();
    let r = grove::timeout(T, || c.read(&mut [0u8; 8]));
    assert!(r.is_err(), "the read returned {r:?}");
    assert!(start.elapsed() >= T);
    assert!(start.elapsed() < QUICK);
    s.write_all(b"z").unwrap();
    let mut buf = [0u8; 1];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"z");
}
