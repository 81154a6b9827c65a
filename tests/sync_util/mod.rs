//! Helpers shared by the `sync_*` integration tests.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a helper waits for a condition before failing the test (only
/// reached if the code under test is broken).
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

/// Whether `grove::dump()` of the calling context's runtime shows green
/// thread `id` parked on `kind` ("queue", "event", "lock"...).
pub(crate) fn is_parked_on(id: u64, kind: &str) -> bool {
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

/// Polls until green thread `id` is parked on `kind`. Panics after
/// [`PATIENCE`].
pub(crate) fn wait_parked(id: Option<u64>, kind: &str) {
    let id = id.expect("a green thread has an id");
    let start = Instant::now();
    while !is_parked_on(id, kind) {
        assert!(
            start.elapsed() < PATIENCE,
            "green thread {id} never parked on {kind}:\n{}",
            grove::dump()
        );
        pause();
    }
}

/// Polls until `cond` holds. Panics after [`PATIENCE`].
pub(crate) fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < PATIENCE, "never happened: {what}");
        pause();
    }
}

/// Lets others run between two polls. A green thread sleeps rather than
/// yields: `yield_now` requeues it ahead of green threads that have not
/// started yet, so on one worker a yield loop would starve them.
fn pause() {
    grove::sleep(Duration::from_micros(200));
}

/// A runtime with one worker: green threads spawned inside its `block_on`
/// run only when the caller reaches a switch point, which makes
/// interleavings deterministic.
pub(crate) fn one_worker() -> grove::Runtime {
    grove::Runtime::builder().workers(1).build().unwrap()
}

/// A runtime with two workers, for cross-worker behaviour.
pub(crate) fn two_workers() -> grove::Runtime {
    grove::Runtime::builder().workers(2).build().unwrap()
}

/// Blocks the calling OS thread (and with it a worker, if called from a
/// green thread) until `deadline` has passed, without a switch point.
pub(crate) fn spin_until(deadline: Instant) {
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Counts its drops: put one in a green thread to observe that its
/// destructors ran.
#[derive(Debug)]
pub(crate) struct DropCounter(Arc<AtomicUsize>);

impl DropCounter {
    /// A counter starting at zero, and a guard that bumps it when dropped.
    pub(crate) fn new() -> (Arc<AtomicUsize>, DropCounter) {
        let c = Arc::new(AtomicUsize::new(0));
        (c.clone(), DropCounter(c))
    }
}

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Joins `h`, failing the test (instead of hanging it) if `h` has not
/// ended within [`PATIENCE`]: the symptom of a lost wakeup.
pub(crate) fn join_soon<T>(h: grove::JoinHandle<T>) -> T {
    let id = h.id();
    grove::timeout(PATIENCE, move || h.join())
        .unwrap_or_else(|_| panic!("lost wakeup: green thread {id:?} never finished"))
        .unwrap()
}

/// The number after `field` (e.g. `"waiters: "`) in `x`'s Debug output:
/// the sync primitives show how many contexts wait on them.
pub(crate) fn debug_count(x: &impl std::fmt::Debug, field: &str) -> usize {
    let s = format!("{x:?}");
    let at = s
        .find(field)
        .unwrap_or_else(|| panic!("{field:?} not in {s}"));
    let digits: String = s[at + field.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}
