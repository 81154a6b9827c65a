//! Under `mprotect` guard pages, the mapping limit is enforced at spawn
//! even when the green threads have not started yet: spawning more
//! long-lived green threads than stacks can exist fails from
//! `Builder::spawn` itself, while spawning more *short* ones than that
//! before joining any works (they start, finish and hand their stacks on).
//! In a test binary of its own: it fills the process with green-thread
//! stacks.

use std::time::Duration;

mod util;

use util::max_map_count;

#[test]
fn pending_green_threads_count_against_the_limit() {
    let max = max_map_count();
    if max > 300_000 {
        eprintln!("vm.max_map_count = {max}: too high to exhaust in a test; skipped");
        return;
    }
    // Only `mprotect` guard pages take mappings of their own (stacks with
    // guard markers share theirs): exercise that kind. Nothing in this
    // test binary has made a stack yet, so the choice still applies.
    std::env::set_var("GROVE_STACK_GUARD", "mprotect");
    let rt = grove::Runtime::builder().workers(1).build().unwrap();

    // Short green threads, all spawned before any is joined: more of them
    // than stacks may exist, and every one runs.
    let n = max; // at least twice the number of stacks that fit
    let sum: usize = rt.block_on(move || {
        let hs: Vec<_> = (0..n).map(|_| grove::spawn(|| 1usize)).collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(sum, n);

    // Long-lived ones, spawned without ever yielding: spawn itself fails,
    // with the clear error, before any green thread is left unable to start.
    let (count, err, start_failures) = rt.block_on(move || {
        let mut handles = Vec::new();
        let err = loop {
            match grove::Builder::new()
                .stack_size(16 * 1024)
                .spawn(|| grove::sleep(Duration::from_secs(3600)))
            {
                Ok(h) => handles.push(h),
                Err(e) => break e,
            }
            assert!(
                handles.len() <= max,
                "no error after {} spawns",
                handles.len()
            );
        };
        let count = handles.len();
        for h in &handles {
            h.kill();
        }
        let mut start_failures = 0;
        for h in handles {
            let e = h.join().unwrap_err();
            if e.spawn_error().is_some() {
                start_failures += 1;
            } else {
                assert!(e.is_killed(), "{e:?}");
            }
        }
        (count, err, start_failures)
    });
    assert_eq!(err.kind(), std::io::ErrorKind::OutOfMemory);
    assert!(err.to_string().contains("vm.max_map_count"), "{err}");
    assert!(count > 1000 && count < max / 2, "{count} green threads");
    assert_eq!(start_failures, 0, "green threads that could not start");
}
