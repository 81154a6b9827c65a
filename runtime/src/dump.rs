//! Introspection: `dump()` (gevent's `print_run_info`) and the
//! `max_blocking_time` watchdog.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::park::WaitKind;
use crate::runtime::{current_shared, Shared};

/// A printable report of every live green thread of the current runtime:
/// per worker, each started green thread's id, name, state and what it
/// waits on, plus the number not yet started.
///
/// ```
/// let h = grove_runtime::Builder::new().name("sleeper")
///     .spawn(|| grove_runtime::sleep(std::time::Duration::from_secs(60))).unwrap();
/// while !grove_runtime::dump().contains("sleeper") { grove_runtime::yield_now(); }
/// let report = grove_runtime::dump();
/// assert!(report.contains("sleep"));
/// h.kill();
/// # let _ = h.join();
/// ```
pub fn dump() -> String {
    let shared = current_shared();
    render(&shared)
}

fn render(shared: &Shared) -> String {
    let mut out = String::new();
    let queued: usize =
        shared.injector.len() + shared.stealers.iter().map(|s| s.len()).sum::<usize>();
    let _ = writeln!(
        out,
        "grove runtime: {} workers, {} green threads not yet started",
        shared.workers.len(),
        queued
    );
    for (i, w) in shared.workers.iter().enumerate() {
        let live = w.live.lock();
        let _ = writeln!(out, "worker {i}: {} started green threads", live.len());
        for (_, t) in live.iter() {
            let kind = WaitKind::from_u8(t.wait_kind.load(Ordering::Relaxed));
            let _ = writeln!(
                out,
                "  id={:<8} name={:<20} state={:<8} waits-on={}",
                t.id,
                t.name().unwrap_or("-"),
                t.state_name(),
                if t.state_name() == "parked" {
                    kind.name()
                } else {
                    "-"
                }
            );
        }
    }
    out
}

/// Starts the watchdog thread of a runtime.
pub(crate) fn start_watchdog(shared: Weak<Shared>, limit: Duration) -> std::io::Result<()> {
    let period = (limit / 2).max(Duration::from_millis(1));
    std::thread::Builder::new()
        .name("grove-watchdog".to_owned())
        .spawn(move || {
            let mut reported: Vec<u64> = Vec::new();
            loop {
                std::thread::sleep(period);
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                if shared.shutdown.load(Ordering::Acquire) {
                    return;
                }
                check(&shared, limit, &mut reported);
            }
        })?;
    Ok(())
}

/// One watchdog pass: reports each worker whose current green thread has
/// run longer than `limit`, once per run.
fn check(shared: &Arc<Shared>, limit: Duration, reported: &mut Vec<u64>) {
    reported.resize(shared.workers.len(), 0);
    let now = shared.nanos_since_start();
    for (i, w) in shared.workers.iter().enumerate() {
        let id = w.running_id.load(Ordering::Relaxed);
        let since = w.running_since.load(Ordering::Relaxed);
        if id == 0 || now < since {
            continue;
        }
        let held = Duration::from_nanos(now - since);
        if held < limit || reported[i] == since {
            continue;
        }
        reported[i] = since;
        let name = w
            .live
            .lock()
            .iter()
            .find(|(_, t)| t.id == id)
            .and_then(|(_, t)| t.name().map(str::to_owned));
        tracing::warn!(
            worker = i,
            green_thread = id,
            name = name.as_deref().unwrap_or("-"),
            held_ms = held.as_millis() as u64,
            "grove: green thread {id} has held worker {i} for {held:?} without a switch point \
             (max_blocking_time {limit:?}); it blocks every other green thread on that worker \
             and cannot be interrupted by kill or timeout until it switches"
        );
    }
}
