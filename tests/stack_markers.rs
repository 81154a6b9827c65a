//! Where the kernel has lightweight guard markers (Linux 6.13 and later),
//! green-thread stacks take no memory mappings of their own: more green
//! threads can be alive at once than `vm.max_map_count` allows stacks
//! guarded with `mprotect` (two mappings each), and the process's mapping
//! count does not grow with them. In a test binary of its own: it holds
//! tens of thousands of stacks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

mod util;

use util::max_map_count;

fn mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[test]
fn more_green_threads_than_mprotect_guards_allow() {
    let max = max_map_count();
    if max > 300_000 {
        eprintln!("vm.max_map_count = {max}: too high to pass in a test; skipped");
        return;
    }
    // More than the `mprotect` budget (at most max / 2 stacks).
    let n = max / 2 + 1_000;
    let rt = grove::Runtime::builder()
        .workers(1)
        .stack_size(64 * 1024)
        .build()
        .unwrap();
    let before = mappings();
    let outcome = rt.block_on(move || {
        let release = Arc::new(grove::sync::Event::new());
        let started = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::with_capacity(n);
        for _ in 0..n {
            let (r, s) = (release.clone(), started.clone());
            match grove::Builder::new().spawn(move || {
                s.fetch_add(1, Ordering::Relaxed);
                r.wait();
            }) {
                Ok(h) => handles.push(h),
                Err(e) => {
                    release.set();
                    return Err(e);
                }
            }
        }
        // Every one starts (takes its stack) and parks; each yield runs all
        // that are ready, so a few suffice.
        for _ in 0..100 {
            if started.load(Ordering::Relaxed) == n {
                break;
            }
            grove::yield_now();
        }
        let live = started.load(Ordering::Relaxed);
        let during = mappings();
        release.set();
        let joined = handles.into_iter().filter_map(|h| h.join().ok()).count();
        Ok((live, during, joined))
    });
    let (live, during, joined) = match outcome {
        Ok(r) => r,
        Err(e) if e.to_string().contains("takes 2 memory mappings") => {
            eprintln!("this kernel has no guard markers (mprotect guards): skipped; {e}");
            return;
        }
        Err(e) => panic!("spawn failed: {e}"),
    };
    assert_eq!(live, n, "green threads that started");
    assert_eq!(joined, n, "green threads that finished");
    // Stacks are mapped 32 at a time, and adjacent chunks merge: far fewer
    // new mappings than green threads.
    assert!(
        during < before + n / 16,
        "{during} mappings with {n} green threads alive (before: {before})"
    );
}
