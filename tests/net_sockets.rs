//! Socket behaviour beyond the happy path: peer resets, half-close,
//! `try_clone` with a reader and a writer at once, sockets that move
//! between workers and to plain OS threads, UDP, Unix-domain sockets, name
//! lookup from a green thread, and killing a green thread parked in I/O.

mod net_util;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::thread::ThreadId;
use std::time::Duration;

use grove::net::{
    lookup_host, TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream,
};
use grove::sync::Queue;
use net_util::{
    is_reset_like, join_soon, one_worker, pattern, tcp_pair, two_workers, wait_parked, DropCounter,
    TempSocketPath, PATIENCE,
};

/// Spawns a green thread that reads once from `s` and returns the result.
fn spawn_reader(s: TcpStream) -> grove::JoinHandle<io::Result<usize>> {
    grove::spawn(move || {
        let mut buf = [0u8; 64];
        (&s).read(&mut buf)
    })
}

// ---------------------------------------------------------------- resets

#[test]
fn peer_closing_with_unread_data_resets_a_parked_reader() {
    let rt = one_worker();
    rt.block_on(|| {
        let (c, s) = tcp_pair();
        // A safety net: a hang would show up as WouldBlock, not as a reset.
        c.set_read_timeout(Some(PATIENCE)).unwrap();
        (&c).write_all(b"never read").unwrap();
        // Make sure the bytes sit in the peer's receive buffer.
        assert!(s.peek(&mut [0u8; 1]).unwrap() > 0);

        let reader = spawn_reader(c.try_clone().unwrap());
        wait_parked(reader.id(), "io");
        // Closing with unread data makes Linux send RST instead of FIN.
        drop(s);
        let e = join_soon(reader)
            .unwrap()
            .expect_err("a read on a reset connection");
        assert!(is_reset_like(&e), "read: {e} ({:?})", e.kind());

        // Writing on it fails too (EPIPE once the reset has been reported),
        // and never raises SIGPIPE.
        let e = (&c).write_all(b"more").unwrap_err();
        assert!(is_reset_like(&e), "write: {e} ({:?})", e.kind());
    });
}

#[test]
fn linger_zero_close_resets_the_peer() {
    let rt = one_worker();
    rt.block_on(|| {
        let (c, s) = tcp_pair();
        c.set_read_timeout(Some(PATIENCE)).unwrap();
        let reader = spawn_reader(c.try_clone().unwrap());
        wait_parked(reader.id(), "io");
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(s);
        let e = join_soon(reader)
            .unwrap()
            .expect_err("a read on a reset connection");
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}");
    });
}

#[test]
fn writer_parked_on_a_full_buffer_sees_the_reset() {
    let rt = one_worker();
    rt.block_on(|| {
        let (c, s) = tcp_pair();
        c.set_write_timeout(Some(PATIENCE)).unwrap();
        // Writes until the buffers are full and it parks; the peer then
        // closes with all that unread data.
        let writer = grove::spawn(move || {
            let chunk = vec![1u8; 64 * 1024];
            loop {
                if let Err(e) = (&c).write(&chunk) {
                    return e;
                }
            }
        });
        wait_parked(writer.id(), "io");
        drop(s);
        let e = join_soon(writer).unwrap();
        assert!(is_reset_like(&e), "write: {e} ({:?})", e.kind());
    });
}

// ------------------------------------------------------------ half-close

#[test]
fn half_close_lets_the_peer_reply() {
    let rt = one_worker();
    rt.block_on(|| {
        let (mut c, s) = tcp_pair();
        let server = grove::spawn(move || {
            let mut s = s;
            let mut request = Vec::new();
            // Returns at the client's FIN, with everything it sent.
            s.read_to_end(&mut request).unwrap();
            // The other direction is still open.
            s.write_all(b"reply to: ").unwrap();
            s.write_all(&request).unwrap();
            request.len()
        });
        let request = pattern(7, 10_000);
        c.write_all(&request).unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        // Writing after our own shutdown fails.
        let e = c.write(b"x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe, "{e}");

        let mut reply = Vec::new();
        c.read_to_end(&mut reply).unwrap();
        assert_eq!(join_soon(server).unwrap(), request.len());
        assert_eq!(&reply[..10], b"reply to: ");
        assert!(reply[10..] == request[..]);
    });
}

#[test]
fn shutdown_read_wakes_a_parked_reader_with_eof() {
    let rt = one_worker();
    rt.block_on(|| {
        let (c, _s) = tcp_pair();
        let reader = spawn_reader(c.try_clone().unwrap());
        wait_parked(reader.id(), "io");
        c.shutdown(Shutdown::Read).unwrap();
        assert_eq!(join_soon(reader).unwrap().unwrap(), 0);
    });
}

// ------------------------------------------------------------- try_clone

/// Full duplex through one socket: one green thread streams 4 MiB to an
/// echo server while another reads the echo. Neither alone could finish
/// (the buffers fill both ways), so each must wait while the other runs.
#[test]
fn try_clone_reader_and_writer_run_at_once() {
    const LEN: usize = 4 << 20;
    let rt = two_workers();
    rt.block_on(|| {
        let (c, s) = tcp_pair();
        let echo = grove::spawn(move || {
            let mut r = s.try_clone().unwrap();
            let mut w = s;
            std::io::copy(&mut r, &mut w).unwrap()
        });
        let data = std::sync::Arc::new(pattern(42, LEN));
        let writer = grove::spawn({
            let c = c.try_clone().unwrap();
            let data = data.clone();
            move || {
                for chunk in data.chunks(100_000) {
                    (&c).write_all(chunk).unwrap();
                }
                c.shutdown(Shutdown::Write).unwrap();
            }
        });
        let reader = grove::spawn({
            let mut c = c.try_clone().unwrap();
            move || {
                let mut back = Vec::with_capacity(LEN);
                c.read_to_end(&mut back).unwrap();
                back
            }
        });
        drop(c);
        join_soon(writer).unwrap();
        let back = join_soon(reader).unwrap();
        assert_eq!(join_soon(echo).unwrap(), LEN as u64);
        assert_eq!(back.len(), LEN);
        assert!(back == *data, "the echo differs");
    });
}

#[test]
fn clones_share_settings_and_the_socket_closes_with_the_last() {
    let rt = one_worker();
    rt.block_on(|| {
        let (c, mut s) = tcp_pair();
        let c2 = c.try_clone().unwrap();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        assert_eq!(c2.read_timeout().unwrap(), Some(Duration::from_secs(3)));
        assert_eq!(c.local_addr().unwrap(), c2.local_addr().unwrap());
        drop(c);
        // Still open through the clone.
        (&c2).write_all(b"x").unwrap();
        let mut buf = [0u8; 1];
        s.read_exact(&mut buf).unwrap();
        drop(c2);
        assert_eq!(s.read(&mut buf).unwrap(), 0, "no EOF after the last clone");
    });
}

// ---------------------------------------------------- moving across threads

/// The OS thread running the caller (for a green thread: its worker).
fn current_tid() -> ThreadId {
    std::thread::current().id()
}

/// A socket registered by a green thread on worker A and handed through a
/// `Queue` to a green thread on worker B keeps working there: B waits on
/// readiness that worker A's poll delivers, in both directions.
#[test]
fn a_socket_handed_to_another_worker_keeps_working() {
    let rt = two_workers();
    let (tid_tx, tid_rx) = mpsc::channel::<ThreadId>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let handoff: Queue<TcpStream> = Queue::unbounded();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();

    // A: connects (registering the socket with its own worker), hands the
    // socket over, then holds its worker without a switch point until B has
    // started, so B can only run on the other worker.
    let a = rt.spawn({
        let handoff = handoff.clone();
        move || {
            let c = TcpStream::connect(addr).unwrap();
            handoff.put(c).unwrap();
            tid_tx.send(current_tid()).unwrap();
            go_rx.recv_timeout(PATIENCE).expect("B never started");
            current_tid()
        }
    });
    let tid_a = tid_rx.recv_timeout(PATIENCE).unwrap();
    let (b_tx, b_rx) = mpsc::channel::<ThreadId>();
    let b = rt.spawn({
        let handoff = handoff.clone();
        move || {
            let tid = current_tid();
            b_tx.send(tid).unwrap();
            go_tx.send(()).unwrap();
            let c = handoff.get().unwrap();
            // Read first: parks on readiness from A's worker.
            let mut buf = [0u8; 5];
            (&c).read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"hello");
            (&c).write_all(b"world").unwrap();
            // Then a full duplex run, to also wait for writability.
            let data = pattern(9, 1 << 20);
            (&c).write_all(&data).unwrap();
            c.shutdown(Shutdown::Write).unwrap();
            let mut rest = Vec::new();
            (&c).read_to_end(&mut rest).unwrap();
            (tid, rest == b"bye")
        }
    });
    let tid_b = b_rx.recv_timeout(PATIENCE).unwrap();
    assert_eq!(join_soon_os(a), tid_a);
    assert_ne!(tid_a, tid_b, "B ran on A's worker, which A was holding");

    // The server side, driven from this plain OS thread.
    let (mut s, _) = l.accept().unwrap();
    s.write_all(b"hello").unwrap();
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"world");
    let mut data = Vec::new();
    s.read_to_end(&mut data).unwrap();
    assert!(data == pattern(9, 1 << 20));
    s.write_all(b"bye").unwrap();
    drop(s);
    let (tid, ok) = join_soon_os(b);
    assert_eq!(tid, tid_b);
    assert!(ok, "B did not get the last bytes");
}

/// `join` with a limit, from a plain OS thread.
fn join_soon_os<T>(h: grove::JoinHandle<T>) -> T {
    grove::timeout(PATIENCE, move || h.join())
        .expect("a green thread never finished")
        .unwrap()
}

/// A green-thread server and a client on a plain OS thread; then the
/// accepted socket (registered with the runtime's worker) moves to another
/// OS thread, which parks in `read` until a green thread writes.
#[test]
fn sockets_work_between_green_threads_and_os_threads() {
    let rt = one_worker();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let accepted: Queue<TcpStream> = Queue::bounded(1);
    let server = rt.spawn({
        let accepted = accepted.clone();
        move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).unwrap();
            s.write_all(&buf).unwrap();
            let (s2, _) = l.accept().unwrap();
            accepted.put(s2).unwrap();
        }
    });

    // Client on a plain OS thread (its socket is registered round-robin
    // with a worker of the default runtime).
    let client = std::thread::spawn(move || {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).unwrap();
        buf
    });
    assert_eq!(&client.join().unwrap(), b"ping");

    // Second connection: this OS thread is the client; the server side
    // goes to another OS thread.
    let c2 = TcpStream::connect(addr).unwrap();
    let s2 = accepted.get_timeout(PATIENCE).unwrap();
    join_soon_os(server);
    let (ready_tx, ready_rx) = mpsc::channel();
    let os_reader = std::thread::spawn(move || {
        ready_tx.send(()).unwrap();
        let mut got = Vec::new();
        (&s2).read_to_end(&mut got).unwrap();
        got
    });
    ready_rx.recv().unwrap();
    let writer = rt.spawn(move || {
        (&c2).write_all(b"from a green thread").unwrap();
    });
    join_soon_os(writer);
    assert_eq!(os_reader.join().unwrap(), b"from a green thread");
}

/// A socket registered with a runtime that has since been dropped: no
/// worker polls for it any more, so its waits fall back to `poll(2)` on the
/// descriptor, and a read that has to wait still gets its data.
#[test]
fn a_socket_outliving_its_runtime_can_still_wait() {
    let rt = one_worker();
    let (c, s) = rt.block_on(tcp_pair);
    drop(rt);
    let (ready_tx, ready_rx) = mpsc::channel();
    let writer = std::thread::spawn(move || {
        let mut s = s;
        ready_rx.recv().unwrap();
        // Give the reader time to start waiting.
        std::thread::sleep(Duration::from_millis(100));
        s.write_all(b"x").unwrap();
        s
    });
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    ready_tx.send(()).unwrap();
    let r = (&c).read(&mut [0u8; 1]);
    let _s = writer.join().unwrap();
    assert_eq!(r.unwrap(), 1);
}

// ----------------------------------------------------------- short reads

/// A TCP read that gets fewer bytes than it asked for marks the socket
/// drained, so the next read waits for readiness instead of failing with
/// `WouldBlock` first. What it must still do: time out when nothing comes,
/// get data that comes later, and see the end of the stream at once.
#[test]
fn a_drained_socket_still_times_out_gets_later_data_and_sees_eof() {
    let rt = one_worker();
    rt.block_on(|| {
        let (mut c, s) = tcp_pair();
        let mut buf = [0u8; 64];
        c.write_all(b"ab").unwrap();
        assert_eq!((&s).read(&mut buf).unwrap(), 2, "a short read");
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let e = (&s).read(&mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock, "nothing came: {e}");
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        let writer = grove::spawn(move || {
            grove::sleep(Duration::from_millis(5));
            c.write_all(b"cd").unwrap();
            c.shutdown(Shutdown::Write).unwrap();
            c
        });
        assert_eq!((&s).read(&mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"cd");
        assert_eq!((&s).read(&mut buf).unwrap(), 0, "end of stream");
        assert_eq!((&s).read(&mut buf).unwrap(), 0, "still the end");
        drop(writer.join().unwrap());
    });
}

/// Request-response traffic is where a short read is followed by a wait:
/// 5,000 round trips of 1–64 bytes between an echo green thread on a
/// 2-worker runtime and a client on a plain OS thread, every reply checked.
#[test]
fn many_short_round_trips_lose_no_wake() {
    let rt = two_workers();
    let (c, s) = rt.block_on(tcp_pair);
    let echo = rt.spawn(move || {
        let mut s = s;
        let mut buf = [0u8; 256];
        loop {
            match s.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => s.write_all(&buf[..n]).unwrap(),
                Err(e) => panic!("echo read: {e}"),
            }
        }
    });
    let mut c = c;
    c.set_read_timeout(Some(PATIENCE)).unwrap();
    c.set_nodelay(true).unwrap();
    let mut got = [0u8; 64];
    for i in 0..5_000usize {
        let len = 1 + i % 64;
        let msg: Vec<u8> = (0..len).map(|k| (i + k) as u8).collect();
        c.write_all(&msg).unwrap();
        c.read_exact(&mut got[..len]).unwrap();
        assert_eq!(&got[..len], &msg[..], "round trip {i}");
    }
    drop(c);
    join_soon(echo).unwrap();
    drop(rt);
}

// ------------------------------------------------------------------- UDP

#[test]
fn udp_send_to_recv_from_between_green_threads() {
    let rt = one_worker();
    rt.block_on(|| {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        // B answers each datagram to its sender, upper-cased.
        let server = grove::spawn(move || {
            let mut buf = [0u8; 1500];
            for _ in 0..3 {
                let (n, from) = b.recv_from(&mut buf).unwrap();
                b.send_to(&buf[..n].to_ascii_uppercase(), from).unwrap();
            }
        });
        wait_parked(server.id(), "io");
        let mut buf = [0u8; 1500];
        for word in ["one", "two", "three"] {
            assert_eq!(a.send_to(word.as_bytes(), b_addr).unwrap(), word.len());
            let (n, from) = a.recv_from(&mut buf).unwrap();
            assert_eq!(from, b_addr);
            assert_eq!(&buf[..n], word.to_uppercase().as_bytes());
        }
        join_soon(server).unwrap();
        assert_ne!(a_addr, b_addr);
    });
}

#[test]
fn udp_connect_send_recv_peek_and_recv_timeout() {
    let rt = one_worker();
    rt.block_on(|| {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.connect(b.local_addr().unwrap()).unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());

        let receiver = grove::spawn({
            let b = b.try_clone().unwrap();
            move || {
                let mut buf = [0u8; 64];
                let n = b.peek(&mut buf).unwrap();
                assert_eq!(&buf[..n], b"datagram");
                let n = b.recv(&mut buf).unwrap();
                buf[..n].to_vec()
            }
        });
        wait_parked(receiver.id(), "io");
        a.send(b"datagram").unwrap();
        assert_eq!(join_soon(receiver).unwrap(), b"datagram");

        // Datagram boundaries are kept.
        a.send(b"ab").unwrap();
        a.send(b"cde").unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(b.recv(&mut buf).unwrap(), 2);
        assert_eq!(b.recv(&mut buf).unwrap(), 3);

        b.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let t = std::time::Instant::now();
        let e = b.recv(&mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock, "{e}");
        assert!(t.elapsed() >= Duration::from_millis(100));
        let e = b.recv_from(&mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock, "{e}");
    });
}

#[test]
fn udp_over_ipv6_loopback() {
    let rt = one_worker();
    rt.block_on(|| {
        let Ok(a) = UdpSocket::bind("[::1]:0") else {
            eprintln!("no IPv6 loopback here; skipped");
            return;
        };
        let b = UdpSocket::bind(("::1", 0)).unwrap();
        let b_addr = b.local_addr().unwrap();
        assert!(b_addr.is_ipv6());
        let receiver = grove::spawn(move || {
            let mut buf = [0u8; 16];
            let (n, from) = b.recv_from(&mut buf).unwrap();
            (buf[..n].to_vec(), from)
        });
        wait_parked(receiver.id(), "io");
        a.send_to(b"v6", b_addr).unwrap();
        let (got, from) = join_soon(receiver).unwrap();
        assert_eq!(got, b"v6");
        assert_eq!(from, a.local_addr().unwrap());
    });
}

/// A connected UDP socket whose peer port is closed gets an ICMP "port
/// unreachable": epoll reports `EPOLLERR` and one `recv` returns
/// `ConnectionRefused`. After that, a `recv` with nothing to receive must
/// wait (here: until its read timeout), not spin.
///
/// Runs on a plain OS thread with a bound on the wait, because the failure
/// mode is a busy loop without a switch point (in a green thread it would
/// hold its worker, and neither kill nor `grove::timeout` could stop it).
#[test]
fn connected_udp_recv_after_an_icmp_error_waits_instead_of_spinning() {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dst = closed.local_addr().unwrap();
    drop(closed);
    a.connect(dst).unwrap();
    a.send(b"anyone?").unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 16];
        let first = a.recv(&mut buf).map_err(|e| e.kind());
        a.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let t = std::time::Instant::now();
        let second = a.recv(&mut buf).map_err(|e| e.kind());
        let _ = tx.send((first, second, t.elapsed()));
    });
    let (first, second, took) = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("recv after an ICMP error never returned (it spins on the sticky ERROR bit)");
    assert_eq!(first, Err(io::ErrorKind::ConnectionRefused));
    assert_eq!(second, Err(io::ErrorKind::WouldBlock));
    assert!(took >= Duration::from_millis(200), "{took:?}");
}

/// A Unix datagram sender whose peer's queue is full parks, and is woken
/// when the receiver makes room (Linux signals the sender through the
/// peer's wait queue: an edge grove must not miss).
#[test]
fn unix_datagram_sender_waits_for_room() {
    let rt = one_worker();
    rt.block_on(|| {
        let (a, b) = UnixDatagram::pair().unwrap();
        let sender = grove::spawn(move || {
            let mut sent = 0usize;
            // Far more than the peer's queue holds (max_dgram_qlen, 512 by
            // default, and the socket buffers).
            for i in 0..20_000u32 {
                a.send(&i.to_le_bytes()).unwrap();
                sent += 1;
            }
            sent
        });
        wait_parked(sender.id(), "io");
        let mut buf = [0u8; 8];
        for i in 0..20_000u32 {
            let n = b.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], &i.to_le_bytes(), "datagram {i}");
        }
        assert_eq!(join_soon(sender).unwrap(), 20_000);
    });
}

// ----------------------------------------------------------- Unix domain

#[test]
fn unix_stream_pair_between_green_threads() {
    let rt = two_workers();
    rt.block_on(|| {
        let (a, b) = UnixStream::pair().unwrap();
        let echo = grove::spawn(move || {
            let mut r = b.try_clone().unwrap();
            let mut w = b;
            std::io::copy(&mut r, &mut w).unwrap()
        });
        let data = pattern(3, 1 << 20);
        let writer = grove::spawn({
            let a = a.try_clone().unwrap();
            let data = data.clone();
            move || {
                (&a).write_all(&data).unwrap();
                a.shutdown(Shutdown::Write).unwrap();
            }
        });
        let mut back = Vec::new();
        (&a).read_to_end(&mut back).unwrap();
        join_soon(writer).unwrap();
        assert_eq!(join_soon(echo).unwrap(), data.len() as u64);
        assert!(back == data);
    });
}

#[test]
fn unix_listener_accepts_green_and_os_thread_clients() {
    let path = TempSocketPath::new("listener");
    let rt = one_worker();
    let l = UnixListener::bind(&path.0).unwrap();
    assert_eq!(
        l.local_addr().unwrap().as_pathname(),
        Some(path.0.as_path())
    );
    let server = rt.spawn(move || {
        let mut served = 0;
        for s in l.incoming().take(2) {
            let mut s = s.unwrap();
            let mut name = String::new();
            s.read_to_string(&mut name).unwrap();
            s.write_all(format!("hello, {name}").as_bytes()).unwrap();
            served += 1;
        }
        served
    });
    let greet = |who: &str| {
        let mut c = UnixStream::connect(&path.0).unwrap();
        c.write_all(who.as_bytes()).unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut reply = String::new();
        c.read_to_string(&mut reply).unwrap();
        reply
    };
    // From a green thread, then from this plain OS thread.
    let p = path.0.clone();
    let green = rt.block_on(move || {
        let mut c = UnixStream::connect(&p).unwrap();
        c.write_all(b"green").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut reply = String::new();
        c.read_to_string(&mut reply).unwrap();
        reply
    });
    assert_eq!(green, "hello, green");
    assert_eq!(greet("os"), "hello, os");
    assert_eq!(join_soon_os(server), 2);
    let e = UnixStream::connect(std::env::temp_dir().join("grove-test-no-such.sock")).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
}

#[test]
fn unix_datagrams_by_path_and_by_pair() {
    let path = TempSocketPath::new("dgram");
    let rt = one_worker();
    rt.block_on(move || {
        let server = UnixDatagram::bind(&path.0).unwrap();
        let receiver = grove::spawn({
            let server = server.try_clone().unwrap();
            move || {
                let mut buf = [0u8; 64];
                let (n, from) = server.recv_from(&mut buf).unwrap();
                (buf[..n].to_vec(), from.is_unnamed())
            }
        });
        wait_parked(receiver.id(), "io");
        let client = UnixDatagram::unbound().unwrap();
        assert_eq!(client.send_to(b"by path", &path.0).unwrap(), 7);
        assert_eq!(join_soon(receiver).unwrap(), (b"by path".to_vec(), true));

        let (a, b) = UnixDatagram::pair().unwrap();
        let receiver = grove::spawn(move || {
            let mut buf = [0u8; 64];
            let n = b.recv(&mut buf).unwrap();
            let m = b.recv(&mut buf[n..]).unwrap();
            (n, m, buf[..n + m].to_vec())
        });
        wait_parked(receiver.id(), "io");
        a.send(b"first").unwrap();
        a.send(b"second").unwrap();
        assert_eq!(
            join_soon(receiver).unwrap(),
            (5, 6, b"firstsecond".to_vec())
        );

        let c = UnixDatagram::unbound().unwrap();
        c.connect(&path.0).unwrap();
        assert_eq!(c.send(b"connected").unwrap(), 9);
        let mut buf = [0u8; 16];
        let (n, from) = server.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"connected");
        assert!(from.is_unnamed());
        drop(path);
    });
}

// ---------------------------------------------------------------- lookup

#[test]
fn lookup_host_from_a_green_thread() {
    let rt = one_worker();
    rt.block_on(|| {
        let addrs: Vec<SocketAddr> = lookup_host("localhost:80").unwrap().collect();
        assert!(!addrs.is_empty());
        assert!(
            addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 80),
            "{addrs:?}"
        );
        // Literal addresses need no lookup.
        let lit: Vec<_> = lookup_host("127.0.0.1:9").unwrap().collect();
        assert_eq!(lit, ["127.0.0.1:9".parse::<SocketAddr>().unwrap()]);
        let e = lookup_host("localhost").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);

        // `connect` by name tries each address: the listener is on IPv4
        // only, so an IPv6 `localhost` is refused and IPv4 is used.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let c = TcpStream::connect(("localhost", port)).unwrap();
        assert_eq!(c.peer_addr().unwrap(), l.local_addr().unwrap());
    });
}

// ------------------------------------------------------------------ kill

/// Killing a green thread parked in `read` unwinds it (its destructors
/// run); another handle to the socket keeps working, and once the last
/// one is gone the peer sees EOF.
#[test]
fn killing_a_green_thread_parked_in_read() {
    let rt = one_worker();
    rt.block_on(|| {
        let (c, mut s) = tcp_pair();
        let (drops, guard) = DropCounter::new();
        let reader = grove::spawn({
            let c = c.try_clone().unwrap();
            move || {
                let _guard = guard;
                let mut buf = [0u8; 16];
                (&c).read(&mut buf)
            }
        });
        wait_parked(reader.id(), "io");
        reader.kill();
        assert!(join_soon(reader).unwrap_err().is_killed());
        assert_eq!(drops.load(Ordering::SeqCst), 1);

        // The socket is fine: both directions, through the other handle.
        s.write_all(b"still here").unwrap();
        let mut buf = [0u8; 10];
        (&c).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"still here");
        (&c).write_all(b"yes").unwrap();
        let mut buf = [0u8; 3];
        s.read_exact(&mut buf).unwrap();

        // A killed green thread that held the last handle closes it.
        let (drops, guard) = DropCounter::new();
        let owner = grove::spawn(move || {
            let _guard = guard;
            let mut buf = [0u8; 16];
            (&c).read(&mut buf)
        });
        wait_parked(owner.id(), "io");
        owner.kill();
        assert!(join_soon(owner).unwrap_err().is_killed());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        assert_eq!(s.read(&mut [0u8; 4]).unwrap(), 0, "no EOF after the kill");
    });
}

#[test]
fn killing_green_threads_parked_in_accept_and_write() {
    let rt = one_worker();
    rt.block_on(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let (drops, guard) = DropCounter::new();
        let acceptor = grove::spawn(move || {
            let _guard = guard;
            l.accept().map(|_| ())
        });
        wait_parked(acceptor.id(), "io");
        acceptor.kill();
        assert!(join_soon(acceptor).unwrap_err().is_killed());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        // The listener went with it.
        let e = TcpStream::connect(addr).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");

        let (c, mut s) = tcp_pair();
        let (drops, guard) = DropCounter::new();
        let writer = grove::spawn(move || {
            let _guard = guard;
            let chunk = vec![7u8; 64 * 1024];
            let mut total = 0;
            loop {
                match (&c).write(&chunk) {
                    Ok(n) => total += n,
                    Err(e) => return (total, e),
                }
            }
        });
        wait_parked(writer.id(), "io");
        writer.kill();
        assert!(join_soon(writer).unwrap_err().is_killed());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        // The peer drains what was written, then sees EOF.
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        assert!(!all.is_empty() && all.iter().all(|&b| b == 7));
    });
}
