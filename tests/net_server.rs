//! `StreamServer`: the cap on live connections (a client past it waits in
//! the kernel backlog and is served once a slot frees), graceful `stop`
//! (handlers that finish in time complete; one that hangs is killed after
//! the grace period and unwinds), refusal after stop, a panicking handler,
//! `serve_forever`, and backing off — not spinning — when `accept` runs
//! out of file descriptors (in a child process, which lowers its own
//! `RLIMIT_NOFILE`).

mod net_util;

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grove::net::{StreamServer, TcpStream};
use grove::sync::{Event, Queue};
use net_util::{join_soon, one_worker, parked_on, wait_parked, wait_until, DropCounter, PATIENCE};

/// Whether a connect to `addr` is refused (nothing listens there any more).
fn assert_refused(addr: SocketAddr) {
    let e = TcpStream::connect(addr).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
}

/// Reads until the peer hangs up (or the connection fails).
fn drain(s: &mut TcpStream) {
    let mut buf = [0u8; 256];
    while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
}

#[test]
fn max_connections_holds_the_next_client_until_a_slot_frees() {
    let rt = one_worker();
    rt.block_on(|| {
        let started: Queue<SocketAddr> = Queue::unbounded();
        let server = StreamServer::bind("127.0.0.1:0", {
            let started = started.clone();
            move |mut s: TcpStream, peer| {
                started.put(peer).unwrap();
                drain(&mut s);
            }
        })
        .unwrap()
        .max_connections(2);
        let addr = server.local_addr().unwrap();
        let running = server.start();

        let c1 = TcpStream::connect(addr).unwrap();
        let c2 = TcpStream::connect(addr).unwrap();
        let first_two: HashSet<SocketAddr> = (0..2)
            .map(|_| started.get_timeout(PATIENCE).unwrap())
            .collect();
        let expected: HashSet<SocketAddr> = [c1.local_addr().unwrap(), c2.local_addr().unwrap()]
            .into_iter()
            .collect();
        assert_eq!(first_two, expected);
        assert_eq!(running.connections(), 2);

        // The third connect completes at the TCP level (kernel backlog)...
        let mut c3 = TcpStream::connect(addr).unwrap();
        c3.write_all(b"waiting").unwrap();
        // ...and the accept loop takes it, then waits for a slot in its
        // pool (a `Group` wait) without starting its handler.
        wait_until("the accept loop waits for a free slot", || {
            parked_on("group") == 1
        });
        assert!(started.is_empty(), "a third handler started at the cap");
        assert_eq!(running.connections(), 2);

        // One of the first two hangs up: the third is served.
        drop(c1);
        let third = started.get_timeout(PATIENCE).unwrap();
        assert_eq!(third, c3.local_addr().unwrap());
        assert_eq!(running.connections(), 2);
        assert!(started.is_empty());

        drop(c2);
        c3.shutdown(std::net::Shutdown::Write).unwrap();
        drain(&mut c3);
        wait_until("every handler ends", || running.connections() == 0);
        running.stop(Duration::from_secs(5));
        assert_refused(addr);
    });
}

#[test]
fn stop_waits_for_handlers_that_finish_within_the_grace_period() {
    let rt = one_worker();
    rt.block_on(|| {
        let started: Queue<()> = Queue::unbounded();
        let release = Event::new();
        let completed = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let server = StreamServer::bind("127.0.0.1:0", {
            let (started, release, completed, dropped) = (
                started.clone(),
                release.clone(),
                completed.clone(),
                dropped.clone(),
            );
            move |mut s: TcpStream, _peer| {
                let _guard = DropCounter::on(&dropped);
                started.put(()).unwrap();
                release.wait();
                s.write_all(b"done").unwrap();
                completed.fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap();
        let addr = server.local_addr().unwrap();
        let running = server.start();
        let mut clients: Vec<TcpStream> =
            (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
        for _ in 0..3 {
            started.get_timeout(PATIENCE).unwrap();
        }

        let stopper = grove::spawn(move || {
            let t = Instant::now();
            running.stop(Duration::from_secs(10));
            t.elapsed()
        });
        // `stop` has closed the listener and waits for the handlers.
        wait_parked(stopper.id(), "group");
        assert!(!stopper.is_finished());
        assert_refused(addr);
        assert_eq!(completed.load(Ordering::SeqCst), 0);

        release.set();
        let took = join_soon(stopper).unwrap();
        assert!(took < Duration::from_secs(10), "stop killed them: {took:?}");
        assert_eq!(completed.load(Ordering::SeqCst), 3);
        assert_eq!(dropped.load(Ordering::SeqCst), 3);
        for c in &mut clients {
            let mut buf = Vec::new();
            c.read_to_end(&mut buf).unwrap();
            assert_eq!(buf, b"done");
        }
    });
}

#[test]
fn stop_kills_handlers_that_outlive_the_grace_period() {
    const GRACE: Duration = Duration::from_millis(150);
    let rt = one_worker();
    rt.block_on(|| {
        let started: Queue<()> = Queue::unbounded();
        let completed = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let conn = Arc::new(AtomicUsize::new(0));
        let server = StreamServer::bind("127.0.0.1:0", {
            let (started, completed, dropped) =
                (started.clone(), completed.clone(), dropped.clone());
            move |mut s: TcpStream, _peer| {
                let _guard = DropCounter::on(&dropped);
                let n = conn.fetch_add(1, Ordering::SeqCst);
                started.put(()).unwrap();
                if n == 0 {
                    // Hangs in a sleep...
                    grove::sleep(Duration::from_secs(3600));
                } else {
                    // ...or in a read the client never answers.
                    let _ = s.read(&mut [0u8; 8]);
                }
                completed.fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap();
        let addr = server.local_addr().unwrap();
        let running = server.start();
        let mut c1 = TcpStream::connect(addr).unwrap();
        started.get_timeout(PATIENCE).unwrap();
        let mut c2 = TcpStream::connect(addr).unwrap();
        started.get_timeout(PATIENCE).unwrap();
        assert_eq!(running.connections(), 2);

        let t = Instant::now();
        running.stop(GRACE);
        let took = t.elapsed();
        assert!(took >= GRACE, "stop returned after {took:?}");
        assert!(took < net_util::QUICK, "stop took {took:?}");
        assert_eq!(completed.load(Ordering::SeqCst), 0);
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            2,
            "a handler did not unwind"
        );
        assert_refused(addr);
        // Their sockets closed as they unwound.
        c1.set_read_timeout(Some(PATIENCE)).unwrap();
        c2.set_read_timeout(Some(PATIENCE)).unwrap();
        assert_eq!(c1.read(&mut [0u8; 4]).unwrap(), 0);
        assert_eq!(c2.read(&mut [0u8; 4]).unwrap(), 0);
    });
}

/// `stop` while the accept loop waits for a free slot (at the cap, with a
/// client accepted but not yet handled): the loop unwinds out of that
/// wait, the waiting client's socket is closed, the hung handler is killed.
#[test]
fn stop_while_the_accept_loop_waits_for_a_slot() {
    let rt = one_worker();
    rt.block_on(|| {
        let started: Queue<()> = Queue::unbounded();
        let dropped = Arc::new(AtomicUsize::new(0));
        let server = StreamServer::bind("127.0.0.1:0", {
            let (started, dropped) = (started.clone(), dropped.clone());
            move |_s: TcpStream, _peer| {
                let _guard = DropCounter::on(&dropped);
                started.put(()).unwrap();
                grove::sleep(Duration::from_secs(3600));
            }
        })
        .unwrap()
        .max_connections(1);
        let addr = server.local_addr().unwrap();
        let running = server.start();
        let _c1 = TcpStream::connect(addr).unwrap();
        started.get_timeout(PATIENCE).unwrap();
        let mut c2 = TcpStream::connect(addr).unwrap();
        wait_until("the accept loop waits for a free slot", || {
            parked_on("group") == 1
        });

        let t = Instant::now();
        running.stop(Duration::from_millis(50));
        assert!(t.elapsed() < net_util::QUICK, "stop took {:?}", t.elapsed());
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
        assert!(started.is_empty(), "the waiting client's handler ran");
        assert_refused(addr);
        // The accepted-but-never-handled connection was closed.
        c2.set_read_timeout(Some(PATIENCE)).unwrap();
        match c2.read(&mut [0u8; 4]) {
            Ok(0) => {}
            Err(e) if net_util::is_reset_like(&e) => {}
            other => panic!("the waiting client got {other:?}"),
        }
    });
}

#[test]
fn a_panicking_handler_does_not_stop_the_server() {
    let rt = one_worker();
    rt.block_on(|| {
        let n = Arc::new(AtomicUsize::new(0));
        let server = StreamServer::bind("127.0.0.1:0", move |mut s: TcpStream, _peer| {
            if n.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("handler panics on purpose");
            }
            s.write_all(b"fine").unwrap();
        })
        .unwrap();
        let addr = server.local_addr().unwrap();
        let running = server.start();
        let mut c1 = TcpStream::connect(addr).unwrap();
        c1.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut buf = Vec::new();
        // The panicking handler's socket is closed as it unwinds.
        c1.read_to_end(&mut buf).unwrap();
        assert!(buf.is_empty());
        let mut c2 = TcpStream::connect(addr).unwrap();
        c2.set_read_timeout(Some(PATIENCE)).unwrap();
        c2.read_to_end(&mut buf).unwrap();
        assert_eq!(buf, b"fine");
        running.stop(Duration::from_secs(5));
    });
}

#[test]
fn serve_forever_in_a_green_thread_until_killed() {
    let rt = one_worker();
    rt.block_on(|| {
        let server = StreamServer::bind("127.0.0.1:0", |mut s: TcpStream, _peer| {
            let mut r = s.try_clone().unwrap();
            let _ = std::io::copy(&mut r, &mut s);
        })
        .unwrap();
        let addr = server.local_addr().unwrap();
        let h = grove::spawn(move || server.serve_forever());
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"abc").unwrap();
        let mut buf = [0u8; 3];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"abc");
        h.kill();
        assert!(join_soon(h).unwrap_err().is_killed());
        assert_refused(addr);
    });
}

// --------------------------------------------------------------- EMFILE

const EMFILE_CHILD: &str = "GROVE_NET_EMFILE_CHILD";
const EMFILE_TEST: &str = "accept_backs_off_when_out_of_descriptors_and_recovers";

/// `tracing` output captured in memory.
#[derive(Clone, Default)]
struct Capture(Arc<parking_lot::Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock()).into_owned()
    }
}

/// CPU time (user + system) the process has used so far. `getrusage`
/// needs no file descriptor, which matters while they are exhausted.
fn cpu_time() -> Duration {
    // SAFETY: all-zero is a valid `rusage`.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable `rusage`.
    let r = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(r, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn set_nofile_soft(soft: libc::rlim_t) -> libc::rlim_t {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable `rlimit`.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    let old = lim.rlim_cur;
    lim.rlim_cur = soft;
    // SAFETY: `lim` is a valid `rlimit`.
    let r = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    assert_eq!(r, 0, "setrlimit: {}", io::Error::last_os_error());
    old
}

/// Runs in a child process (it changes the process's descriptor limit):
/// with no descriptor left, the accept loop must log a warning and back
/// off instead of spinning, keep the pending clients in the backlog, and
/// serve them once descriptors are available again.
fn emfile_child() {
    use std::os::fd::AsFd;
    const CLIENTS: usize = 3;

    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let rt = one_worker();
    let served = Arc::new(AtomicUsize::new(0));
    let running = rt.block_on({
        let served = served.clone();
        move || {
            StreamServer::bind("127.0.0.1:0", move |mut s: TcpStream, _peer| {
                s.write_all(b"served").unwrap();
                served.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap()
            .start()
        }
    });
    let addr = running.local_addr().unwrap();

    // The clients' sockets exist before the descriptors run out; connecting
    // them needs no new descriptor.
    let clients: Vec<socket2::Socket> = (0..CLIENTS)
        .map(|_| socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap())
        .collect();

    // Use up every descriptor under a low limit.
    let open_now = std::fs::read_dir("/proc/self/fd").unwrap().count() as libc::rlim_t;
    let old_limit = set_nofile_soft(open_now + 64);
    let mut hoard = Vec::new();
    let exhausted = loop {
        match io::stderr().as_fd().try_clone_to_owned() {
            Ok(fd) => hoard.push(fd),
            Err(e) => break e,
        }
        assert!(hoard.len() < 100_000, "descriptors never ran out");
    };
    assert_eq!(exhausted.raw_os_error(), Some(libc::EMFILE), "{exhausted}");

    for c in &clients {
        c.connect(&addr.into()).unwrap();
        c.set_read_timeout(Some(PATIENCE)).unwrap();
    }

    // The accept loop hits EMFILE and says so.
    let start = Instant::now();
    while !capture.text().contains("StreamServer accept failed") {
        assert!(
            start.elapsed() < PATIENCE,
            "no warning:\n{}",
            capture.text()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    // Measure over a window: a spinning loop would burn a whole core.
    let window = Duration::from_millis(600);
    let cpu_before = cpu_time();
    let warnings_before = capture.text().matches("StreamServer accept failed").count();
    std::thread::sleep(window);
    let cpu = cpu_time() - cpu_before;
    let text = capture.text();
    let warnings = text.matches("StreamServer accept failed").count() - warnings_before;
    assert!(
        cpu < window / 4,
        "the accept loop spins: {cpu:?} of CPU in {window:?}\n{text}"
    );
    // Backing off 5 ms, doubling: a handful of retries in the window.
    assert!(warnings <= 12, "{warnings} retries in {window:?}:\n{text}");
    assert_eq!(served.load(Ordering::SeqCst), 0);
    assert!(text.contains("WARN"), "{text}");
    assert!(
        text.contains("Too many open files") || text.contains("os error 24"),
        "{text}"
    );

    // Descriptors come back: the pending clients are served.
    drop(hoard);
    set_nofile_soft(old_limit);
    let restored = Instant::now();
    for c in &clients {
        let mut got = Vec::new();
        (&*c).read_to_end(&mut got).unwrap();
        assert_eq!(got, b"served", "{}", capture.text());
    }
    assert_eq!(served.load(Ordering::SeqCst), CLIENTS);
    running.stop(Duration::from_secs(5));
    println!(
        "emfile child: ok; {warnings} retries and {cpu:?} of CPU in {window:?}; \
         served {:?} after the limit was restored",
        restored.elapsed()
    );
}

#[test]
fn accept_backs_off_when_out_of_descriptors_and_recovers() {
    if std::env::var_os(EMFILE_CHILD).is_some() {
        emfile_child();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["--exact", EMFILE_TEST, "--nocapture", "--test-threads=1"])
        .env(EMFILE_CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child failed ({:?}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("emfile child: ok"), "{stdout}\n{stderr}");
}
