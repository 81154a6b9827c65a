//! Echo servers under load: 2,000 concurrent clients against one echo
//! server on a one-worker runtime (every byte comes back, in order), the
//! SPEC §2 `listener.incoming()` loop as written there, and `StreamServer`
//! echoing with the SPEC's `try_clone` + `io::copy` handler.

mod net_util;

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grove::net::{StreamServer, TcpListener, TcpStream};
use grove::sync::{Event, Group, Queue};
use net_util::{join_soon, one_worker, pattern, raise_nofile_limit, two_workers, wait_until};

/// Concurrent clients in the big echo test.
const CLIENTS: usize = 2_000;
/// Each client sends `CHUNKS` writes of `CHUNK` bytes.
const CHUNK: usize = 1024;
const CHUNKS: usize = 4;
/// Connections the kernel may have completed that the server has not yet
/// accepted. Kept well under the listen backlog (1024, capped by
/// `net.core.somaxconn`, 4096 by default and 128 on old kernels): past the
/// backlog Linux drops SYNs and the client only retries after a second,
/// which would make the test slow, not wrong.
const ADMIT: usize = 100;

#[test]
fn two_thousand_concurrent_clients_on_one_worker() {
    // 2,000 client sockets + 2,000 server sockets + a few for the runtime.
    let limit = raise_nofile_limit();
    assert!(
        limit >= (2 * CLIENTS + 100) as libc::rlim_t,
        "RLIMIT_NOFILE hard limit {limit} is too low for {CLIENTS} connections"
    );
    let rt = one_worker();
    let start = Instant::now();
    let (echoed, served) = rt.block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // A token per connection the kernel may complete before the server
        // accepts it: a client puts one before connecting, the server takes
        // one per accept.
        let admission = Queue::bounded(ADMIT);
        let served = Arc::new(AtomicUsize::new(0));
        let server = grove::spawn({
            let admission = admission.clone();
            let served = served.clone();
            move || {
                let handlers = Group::new();
                for _ in 0..CLIENTS {
                    let (mut s, _peer) = listener.accept().unwrap();
                    admission.get().unwrap();
                    let served = served.clone();
                    handlers.spawn(move || {
                        let mut buf = [0u8; 1024];
                        loop {
                            let n = s.read(&mut buf).unwrap();
                            if n == 0 {
                                break;
                            }
                            s.write_all(&buf[..n]).unwrap();
                            served.fetch_add(n, Ordering::Relaxed);
                        }
                    });
                }
                handlers.join();
            }
        });

        // Every client connects, then waits until all 2,000 are connected
        // (4,000 sockets open at once) before sending.
        let connected = Arc::new(AtomicUsize::new(0));
        let all_connected = Event::new();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let admission = admission.clone();
                let connected = connected.clone();
                let all_connected = all_connected.clone();
                grove::spawn(move || {
                    admission.put(()).unwrap();
                    let mut c = TcpStream::connect(addr).unwrap();
                    if connected.fetch_add(1, Ordering::SeqCst) + 1 == CLIENTS {
                        all_connected.set();
                    }
                    all_connected.wait();
                    let data = pattern(i as u64, CHUNK * CHUNKS);
                    for chunk in data.chunks(CHUNK) {
                        c.write_all(chunk).unwrap();
                        // Let the other clients and the handlers interleave.
                        grove::yield_now();
                    }
                    c.shutdown(Shutdown::Write).unwrap();
                    let mut back = Vec::with_capacity(data.len());
                    c.read_to_end(&mut back).unwrap();
                    assert_eq!(back.len(), data.len(), "client {i}: length");
                    assert!(back == data, "client {i}: echoed bytes differ");
                    back.len()
                })
            })
            .collect();
        let echoed: usize = clients.into_iter().map(|h| join_soon(h).unwrap()).sum();
        join_soon(server).unwrap();
        (echoed, served.load(Ordering::SeqCst))
    });
    assert_eq!(echoed, CLIENTS * CHUNK * CHUNKS);
    assert_eq!(served, CLIENTS * CHUNK * CHUNKS);
    eprintln!(
        "{CLIENTS} clients echoed {echoed} bytes in {:?}",
        start.elapsed()
    );
}

/// SPEC §2's example, shaped as written there: an `incoming()` loop in a
/// green thread, a green thread per connection, clients on the default
/// runtime and on the test's own OS thread.
#[test]
fn spec_example_incoming_loop_echoes() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let acceptor = grove::spawn(move || {
        for stream in listener.incoming() {
            let mut s = stream.unwrap();
            grove::spawn(move || {
                let mut buf = [0; 1024];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    s.write_all(&buf[..n]).unwrap();
                }
            });
        }
    });

    // A client on this plain OS thread.
    let mut c = TcpStream::connect(addr)?;
    c.set_read_timeout(Some(Duration::from_secs(10)))?;
    c.write_all(b"hello")?;
    let mut buf = [0u8; 5];
    c.read_exact(&mut buf)?;
    assert_eq!(&buf, b"hello");

    // Green-thread clients doing several round trips each.
    let clients: Vec<_> = (0..100u64)
        .map(|i| {
            grove::spawn(move || {
                let mut c = TcpStream::connect(addr).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let data = pattern(i, 3000);
                for chunk in data.chunks(700) {
                    c.write_all(chunk).unwrap();
                    let mut back = vec![0u8; chunk.len()];
                    c.read_exact(&mut back).unwrap();
                    assert_eq!(back, chunk, "client {i}");
                }
            })
        })
        .collect();
    for h in clients {
        join_soon(h).unwrap();
    }
    drop(c);

    // Killing the accept loop unwinds it out of `accept`; the listener
    // closes with it.
    acceptor.kill();
    assert!(join_soon(acceptor).unwrap_err().is_killed());
    let e = TcpStream::connect(addr).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
    Ok(())
}

/// `StreamServer` with the SPEC's handler (`try_clone` + `io::copy`), many
/// clients at once on a two-worker runtime, then a stop that has nothing
/// left to wait for.
#[test]
fn stream_server_echoes_with_the_spec_handler() {
    let rt = two_workers();
    rt.block_on(|| {
        let server = StreamServer::bind("127.0.0.1:0", |mut stream: TcpStream, _peer| {
            let mut r = stream.try_clone().unwrap();
            let _ = std::io::copy(&mut r, &mut stream);
        })
        .unwrap()
        .max_connections(10_000);
        let addr = server.local_addr().unwrap();
        let running = server.start();
        assert_eq!(running.local_addr(), Some(addr));

        let clients: Vec<_> = (0..200u64)
            .map(|i| {
                grove::spawn(move || {
                    let mut c = TcpStream::connect(addr).unwrap();
                    let data = pattern(1000 + i, 5000);
                    // Ping-pong a few chunks, then stream the rest and read
                    // it back after a half-close.
                    for chunk in data[..2048].chunks(512) {
                        c.write_all(chunk).unwrap();
                        let mut back = vec![0u8; chunk.len()];
                        c.read_exact(&mut back).unwrap();
                        assert_eq!(back, chunk, "client {i}");
                    }
                    c.write_all(&data[2048..]).unwrap();
                    c.shutdown(Shutdown::Write).unwrap();
                    let mut rest = Vec::new();
                    c.read_to_end(&mut rest).unwrap();
                    assert!(rest == data[2048..], "client {i}: tail differs");
                })
            })
            .collect();
        for h in clients {
            join_soon(h).unwrap();
        }
        // Every handler sees its client's EOF and ends.
        wait_until("every connection handler ends", || {
            running.connections() == 0
        });
        let t = Instant::now();
        running.stop(Duration::from_secs(5));
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "stop waited for nothing"
        );
        let e = TcpStream::connect(addr).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
    });
}

/// Many short round trips between green threads spread over two workers:
/// every wait is woken from the other worker's poll or by a cross-thread
/// wake, which is where a lost wakeup (an event cleared by a stale
/// `WouldBlock`) would show up as a hang.
#[test]
fn ping_pong_across_two_workers() {
    const PAIRS: usize = 64;
    const ROUNDS: u32 = 200;
    let rt = two_workers();
    let start = Instant::now();
    rt.block_on(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let mut handles = Vec::new();
        for _ in 0..PAIRS {
            let c = TcpStream::connect(addr).unwrap();
            let (s, _) = l.accept().unwrap();
            c.set_nodelay(true).unwrap();
            s.set_nodelay(true).unwrap();
            handles.push(grove::spawn(move || {
                let mut buf = [0u8; 4];
                for i in 0..ROUNDS {
                    (&c).write_all(&i.to_le_bytes()).unwrap();
                    (&c).read_exact(&mut buf).unwrap();
                    assert_eq!(u32::from_le_bytes(buf), i + 1);
                }
                ROUNDS
            }));
            handles.push(grove::spawn(move || {
                let mut buf = [0u8; 4];
                for i in 0..ROUNDS {
                    (&s).read_exact(&mut buf).unwrap();
                    assert_eq!(u32::from_le_bytes(buf), i);
                    (&s).write_all(&(i + 1).to_le_bytes()).unwrap();
                }
                ROUNDS
            }));
        }
        for h in handles {
            assert_eq!(join_soon(h).unwrap(), ROUNDS);
        }
    });
    eprintln!(
        "{} round trips in {:?}",
        PAIRS as u32 * ROUNDS,
        start.elapsed()
    );
}
