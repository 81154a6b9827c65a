//! kill and timeout unwind the target's stack: destructors run, whatever it
//! was parked on, and a kill always ends the green thread.

mod util;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use util::DropCounter;

/// Spawns `wait` inside a green thread holding a drop guard, lets it park,
/// kills it, and checks the guard ran and join says "killed".
fn kill_while(wait: impl FnOnce() + Send + 'static) {
    let (dropped, guard) = DropCounter::new();
    let parked = Arc::new(AtomicBool::new(false));
    let h = grove::spawn({
        let parked = parked.clone();
        move || {
            let _g = guard;
            parked.store(true, Ordering::SeqCst);
            wait();
            unreachable!("the wait returned instead of being killed");
        }
    });
    while !parked.load(Ordering::SeqCst) {
        grove::yield_now();
    }
    h.kill();
    let err = h.join().unwrap_err();
    assert!(err.is_killed(), "{err:?}");
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn kill_while_sleeping() {
    kill_while(|| grove::sleep(Duration::from_secs(3600)));
}

#[test]
fn kill_while_joining() {
    let forever = grove::spawn(|| grove::sleep(Duration::from_secs(3600)));
    let id = forever.id();
    kill_while(move || {
        let _ = forever.join();
    });
    assert!(id.is_some());
}

#[test]
fn kill_while_joining_a_blocking_job() {
    let release = Arc::new(AtomicBool::new(false));
    let r2 = release.clone();
    let job = grove::spawn_blocking(move || {
        while !r2.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
    });
    kill_while(move || {
        let _ = job.join();
    });
    release.store(true, Ordering::SeqCst);
}

#[test]
fn kill_while_yielding_in_a_loop() {
    kill_while(|| loop {
        grove::yield_now()
    });
}

#[test]
fn kill_before_start_means_it_never_runs() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let (dropped, guard) = DropCounter::new();
    let ran2 = ran.clone();
    rt.block_on(move || {
        // On one worker the spawned green thread cannot start before we
        // reach a switch point.
        let h = grove::spawn(move || {
            let _g = guard;
            ran2.store(true, Ordering::SeqCst);
        });
        h.kill();
        assert!(h.join().unwrap_err().is_killed());
    });
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "the closure was dropped");
}

#[test]
fn catching_the_kill_does_not_save_the_green_thread() {
    let (dropped, guard) = DropCounter::new();
    let caught = Arc::new(AtomicUsize::new(0));
    let c2 = caught.clone();
    let parked = Arc::new(AtomicBool::new(false));
    let p2 = parked.clone();
    let h = grove::spawn(move || {
        let _g = guard;
        p2.store(true, Ordering::SeqCst);
        // Swallow whatever unwinds out of the sleep, and carry on...
        let r = catch_unwind(AssertUnwindSafe(|| grove::sleep(Duration::from_secs(3600))));
        if r.is_err() {
            c2.fetch_add(1, Ordering::SeqCst);
        }
        // ...to the next switch point, where the kill strikes again.
        grove::sleep(Duration::from_secs(3600));
        unreachable!("survived a kill");
    });
    while !parked.load(Ordering::SeqCst) {
        grove::yield_now();
    }
    h.kill();
    assert!(h.join().unwrap_err().is_killed());
    assert_eq!(
        caught.load(Ordering::SeqCst),
        1,
        "caught once, killed at the next switch"
    );
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn a_green_thread_can_kill_itself() {
    let h = grove::spawn(|| {
        let me = grove::current().id();
        assert!(me > 0);
        grove::sleep(Duration::from_secs(3600));
    });
    h.kill();
    h.kill(); // twice is harmless
    assert!(h.join().unwrap_err().is_killed());
}

#[test]
fn kill_after_finish_changes_nothing() {
    let h = grove::spawn(|| 5);
    while !h.is_finished() {
        grove::yield_now();
    }
    h.kill();
    assert_eq!(h.join().unwrap(), 5);
}

#[test]
fn timeout_runs_destructors_in_a_green_thread() {
    let (dropped, guard) = DropCounter::new();
    let r = grove::spawn(move || {
        grove::timeout(Duration::from_millis(10), move || {
            let _g = guard;
            grove::sleep(Duration::from_secs(3600));
        })
    })
    .join()
    .unwrap();
    assert!(r.is_err());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn timeout_interrupts_a_join_on_a_plain_thread() {
    let (dropped, guard) = DropCounter::new();
    let forever = grove::spawn(|| grove::sleep(Duration::from_secs(3600)));
    let t = Instant::now();
    let r = grove::timeout(Duration::from_millis(20), move || {
        let _g = guard;
        let _ = forever.join();
    });
    assert!(r.is_err());
    assert!(t.elapsed() >= Duration::from_millis(20));
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn timeout_that_completes_returns_the_value() {
    let v = grove::spawn(|| grove::timeout(Duration::from_secs(60), || 9))
        .join()
        .unwrap();
    assert_eq!(v, Ok(9));
}

#[test]
fn nested_timeouts_each_catch_their_own() {
    let r = grove::spawn(|| {
        // The outer one expires first: the inner passes it on.
        let outer = grove::timeout(Duration::from_millis(10), || {
            let inner = grove::timeout(Duration::from_secs(3600), || {
                grove::sleep(Duration::from_secs(3600));
            });
            unreachable!("inner returned {inner:?}");
        });
        assert!(outer.is_err());
        // The inner one expires first: the outer goes on.
        grove::timeout(Duration::from_secs(3600), || {
            let inner = grove::timeout(Duration::from_millis(10), || {
                grove::sleep(Duration::from_secs(3600));
            });
            assert!(inner.is_err());
            "outer finished"
        })
    })
    .join()
    .unwrap();
    assert_eq!(r, Ok("outer finished"));
}

#[test]
fn panics_are_isolated() {
    let rt = grove::Runtime::builder().workers(2).build().unwrap();
    let msgs = rt.block_on(|| {
        let hs: Vec<_> = (0..1000)
            .map(|i| grove::spawn(move || -> () { panic!("green thread {i} failed") }))
            .collect();
        grove::join_all(hs)
            .into_iter()
            .map(|r| r.unwrap_err().panic_message().unwrap().to_owned())
            .collect::<Vec<_>>()
    });
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(m, &format!("green thread {i} failed"));
    }
    // The runtime keeps running.
    assert_eq!(rt.block_on(|| grove::spawn(|| 1).join().unwrap()), 1);
}

/// Kills racing the workers that take green threads off the queues and
/// make their tasks (`pending`): spawned from a plain thread onto two
/// workers, each killed through a `KillHandle` from another thread. Every
/// one either ran to the end or never ran at all, its join says which,
/// and every closure was dropped once.
#[test]
fn kills_racing_the_start_on_two_workers_never_half_run() {
    const N: usize = 2_000;
    let rt = grove::Runtime::builder().workers(2).build().unwrap();
    let started = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::with_capacity(N);
    let mut killers = Vec::with_capacity(N);
    for _ in 0..N {
        let guard = DropCounter(dropped.clone());
        let started = started.clone();
        let h = rt.spawn(move || {
            let _g = guard;
            started.fetch_add(1, Ordering::SeqCst);
            // A switch point: a kill that lands after the start unwinds
            // here, with the guard dropped.
            grove::yield_now();
            1usize
        });
        killers.push(h.kill_handle());
        handles.push(h);
    }
    let killer = std::thread::spawn(move || {
        for k in killers.iter().step_by(2) {
            k.kill();
        }
    });
    killer.join().unwrap();
    let mut finished = 0;
    for (i, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok(v) => {
                assert_eq!(v, 1);
                finished += 1;
            }
            Err(e) => {
                assert!(e.is_killed(), "{e}");
                assert_eq!(i % 2, 0, "only the even ones were killed");
            }
        }
    }
    assert!(finished >= N / 2, "every odd one finished");
    assert!(started.load(Ordering::SeqCst) >= finished);
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        N,
        "each closure dropped once"
    );
}
