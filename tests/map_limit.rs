//! Running out of `vm.max_map_count` (under `mprotect` guard pages, where
//! each stack takes two mappings) gives a clear error from
//! `Builder::spawn`, naming the limit and how to raise it. In a test binary
//! of its own: it fills the process with green-thread stacks.

use std::time::Duration;

mod util;

#[test]
fn exhausting_the_mapping_limit_is_a_clear_error() {
    let max = util::max_map_count();
    if max > 300_000 {
        eprintln!("vm.max_map_count = {max}: too high to exhaust in a test; skipped");
        return;
    }
    // Only `mprotect` guard pages take mappings of their own (stacks with
    // guard markers share theirs): exercise that kind. Nothing in this
    // test binary has made a stack yet, so the choice still applies.
    std::env::set_var("GROVE_STACK_GUARD", "mprotect");
    // Each green thread on a stack of its own: a worker that shares stacks
    // (past 16,384 of them by default) never reaches the limit.
    let rt = grove::Runtime::builder()
        .workers(1)
        .stack_size(16 * 1024)
        .share_stacks_after(usize::MAX)
        .build()
        .unwrap();
    let (count, err) = rt.block_on(move || {
        let mut handles = Vec::new();
        let err = loop {
            match grove::Builder::new().spawn(|| grove::sleep(Duration::from_secs(3600))) {
                Ok(h) => {
                    handles.push(h);
                    // Let it start, so that it holds its stack.
                    grove::yield_now();
                }
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
        for h in handles {
            let e = h.join().unwrap_err();
            assert!(e.is_killed() || e.spawn_error().is_some(), "{e:?}");
        }
        (count, err)
    });
    assert_eq!(err.kind(), std::io::ErrorKind::OutOfMemory);
    let msg = err.to_string();
    assert!(msg.contains("vm.max_map_count"), "{msg}");
    assert!(msg.contains("sysctl -w vm.max_map_count="), "{msg}");
    assert!(count > 1000 && count < max / 2, "{count} green threads");
    // Once they are gone, spawning works again.
    assert_eq!(rt.block_on(|| grove::spawn(|| 1).join().unwrap()), 1);
}
