//! Helpers shared by the `net_*` integration tests.
#![allow(dead_code, unreachable_pub)]

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a helper waits for a condition before failing the test (only
/// reached if the code under test is broken: a hang becomes a failure).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The loose upper bound on anything that should be "quick" (a refused
/// connect, a timeout of a few hundred milliseconds firing).
pub const QUICK: Duration = Duration::from_secs(5);

/// A runtime with one worker.
pub fn one_worker() -> grove::Runtime {
    grove::Runtime::builder().workers(1).build().unwrap()
}

/// A runtime with two workers, for cross-worker behaviour.
pub fn two_workers() -> grove::Runtime {
    grove::Runtime::builder().workers(2).build().unwrap()
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the new soft
/// limit.
pub fn raise_nofile_limit() -> libc::rlim_t {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable `rlimit`.
    let r = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    assert_eq!(r, 0, "getrlimit: {}", io::Error::last_os_error());
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: `lim` is a valid `rlimit`.
        let r = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
        assert_eq!(r, 0, "setrlimit: {}", io::Error::last_os_error());
    }
    lim.rlim_cur
}

/// Whether `grove::dump()` of the calling context's runtime shows green
/// thread `id` parked on `kind` ("io", "queue", "group"...).
pub fn is_parked_on(id: u64, kind: &str) -> bool {
    let report = grove::dump();
    let want_id = format!("id={id}");
    let want_kind = format!("waits-on={kind}");
    report.lines().any(|line| {
        let mut toks = line.split_whitespace();
        toks.next() == Some(want_id.as_str())
            && line.split_whitespace().any(|t| t == "state=parked")
            && line.split_whitespace().any(|t| t == want_kind)
    })
}

/// How many green threads of the calling context's runtime are parked on
/// `kind`.
pub fn parked_on(kind: &str) -> usize {
    let want_kind = format!("waits-on={kind}");
    grove::dump()
        .lines()
        .filter(|line| {
            line.split_whitespace().any(|t| t == "state=parked")
                && line.split_whitespace().any(|t| t == want_kind)
        })
        .count()
}

/// Polls until green thread `id` is parked on `kind`. Panics after
/// [`PATIENCE`]. Call it from the runtime that runs `id` (inside
/// `block_on` or a green thread of it).
pub fn wait_parked(id: Option<u64>, kind: &str) {
    let id = id.expect("a green thread has an id");
    wait_until(&format!("green thread {id} parks on {kind}"), || {
        is_parked_on(id, kind)
    });
}

/// Polls until `cond` holds, sleeping cooperatively (or parking the OS
/// thread) in between. Panics after [`PATIENCE`].
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < PATIENCE,
            "never happened: {what}\n{}",
            grove::dump()
        );
        grove::sleep(Duration::from_micros(200));
    }
}

/// Joins `h`, failing the test (instead of hanging it) if it has not ended
/// within [`PATIENCE`].
pub fn join_soon<T>(h: grove::JoinHandle<T>) -> Result<T, grove::JoinError> {
    let id = h.id();
    grove::timeout(PATIENCE, move || h.join())
        .unwrap_or_else(|_| panic!("green thread {id:?} never finished"))
}

/// Counts its drops: put one in a green thread to observe that its
/// destructors ran.
#[derive(Debug)]
pub struct DropCounter(Arc<AtomicUsize>);

impl DropCounter {
    /// A counter starting at zero, and a guard that bumps it when dropped.
    pub fn new() -> (Arc<AtomicUsize>, DropCounter) {
        let c = Arc::new(AtomicUsize::new(0));
        (c.clone(), DropCounter(c))
    }

    /// A guard that bumps `counter` when dropped.
    pub fn on(counter: &Arc<AtomicUsize>) -> DropCounter {
        DropCounter(counter.clone())
    }
}

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// `len` bytes that depend on `seed` and on the position, so that a lost,
/// duplicated or reordered chunk shows up in a comparison.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A socket path under the temp directory that no other test (or test
/// process) uses; removed on drop.
#[derive(Debug)]
pub struct TempSocketPath(pub PathBuf);

impl TempSocketPath {
    /// A fresh path named after `tag`.
    pub fn new(tag: &str) -> TempSocketPath {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let p = std::env::temp_dir().join(format!(
            "grove-test-{tag}-{}-{n}-{nanos}.sock",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&p);
        TempSocketPath(p)
    }
}

impl Drop for TempSocketPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Whether `e` says the peer reset or closed the connection under us.
pub fn is_reset_like(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

/// A connected pair over loopback: `(client, server side)`. Works in a
/// green thread and on a plain OS thread (the kernel completes a loopback
/// handshake before `accept`).
pub fn tcp_pair() -> (grove::net::TcpStream, grove::net::TcpStream) {
    let l = grove::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let c = grove::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, peer) = l.accept().unwrap();
    assert_eq!(peer, c.local_addr().unwrap());
    (c, s)
}

/// A loopback port with nothing listening on it (bound, then closed).
pub fn refused_addr() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    drop(l);
    a
}
