//! Scheduling: cooperative interleaving, offloading, pinning and wakes
//! across workers.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

#[test]
fn yield_now_interleaves_two_green_threads_on_one_worker() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    rt.block_on(move || {
        let hs: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|name| {
                let l = l.clone();
                grove::spawn(move || {
                    for i in 0..3 {
                        l.lock().push(format!("{name}{i}"));
                        grove::yield_now();
                    }
                })
            })
            .collect();
        grove::join_all(hs);
    });
    assert_eq!(*log.lock(), ["a0", "b0", "a1", "b1", "a2", "b2"]);
}

/// New and woken green threads share one FIFO on a worker, as gevent's
/// spawns and wakes share its loop's callback queue: each runs in the order
/// it became runnable, whichever kind it is.
#[test]
fn new_and_woken_green_threads_run_in_the_order_they_became_runnable() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    rt.block_on(move || {
        let go = grove::sync::Event::new();
        let logger = |name: &'static str| {
            let l = l.clone();
            move || l.lock().push(name)
        };
        let waiter = grove::spawn({
            let (go, log) = (go.clone(), logger("woken"));
            move || {
                go.wait();
                log();
            }
        });
        // The waiter starts and parks on the event.
        grove::yield_now();
        let before = grove::spawn(logger("spawned before the wake"));
        go.set();
        let after = grove::spawn(logger("spawned after the wake"));
        l.lock().push("main yields");
        grove::yield_now();
        l.lock().push("main again");
        grove::join_all([before, after]);
        waiter.join().unwrap();
    });
    assert_eq!(
        *log.lock(),
        [
            "main yields",
            "spawned before the wake",
            "woken",
            "spawned after the wake",
            "main again"
        ]
    );
}

#[test]
fn spawn_blocking_does_not_stall_other_green_threads() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let ticks = rt.block_on(|| {
        let release = Arc::new(AtomicBool::new(false));
        let ticks = Arc::new(AtomicUsize::new(0));
        // A job that holds its OS thread until the green thread below has
        // made progress on the only worker.
        let job = grove::spawn_blocking({
            let release = release.clone();
            move || {
                while !release.load(Ordering::SeqCst) {
                    std::thread::yield_now();
                }
                "job done"
            }
        });
        let ticker = grove::spawn({
            let (release, ticks) = (release.clone(), ticks.clone());
            move || {
                for _ in 0..100 {
                    ticks.fetch_add(1, Ordering::SeqCst);
                    grove::yield_now();
                }
                release.store(true, Ordering::SeqCst);
            }
        });
        assert_eq!(job.join().unwrap(), "job done");
        ticker.join().unwrap();
        ticks.load(Ordering::SeqCst)
    });
    assert_eq!(ticks, 100);
}

#[test]
fn a_green_thread_stays_on_the_worker_that_started_it() {
    let rt = grove::Runtime::builder().workers(2).build().unwrap();
    let moved = rt.block_on(|| {
        let hs: Vec<_> = (0..50)
            .map(|_| {
                grove::spawn(|| {
                    let first = std::thread::current().id();
                    let mut moved = false;
                    for i in 0..20 {
                        if i % 2 == 0 {
                            grove::yield_now();
                        } else {
                            grove::sleep(Duration::from_micros(50));
                        }
                        moved |= std::thread::current().id() != first;
                    }
                    moved
                })
            })
            .collect();
        grove::join_all(hs).into_iter().any(|r| r.unwrap())
    });
    assert!(!moved);
}

#[test]
fn spawn_local_runs_non_send_closures_on_the_same_worker() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let rt = grove::Runtime::builder().workers(2).build().unwrap();
    let n = rt.block_on(|| {
        let me = std::thread::current().id();
        let cell = Rc::new(RefCell::new(0));
        let hs: Vec<_> = (0..10)
            .map(|i| {
                let cell = cell.clone();
                grove::spawn_local(move || {
                    assert_eq!(std::thread::current().id(), me);
                    grove::yield_now();
                    *cell.borrow_mut() += i;
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let v = *cell.borrow();
        v
    });
    assert_eq!(n, 45);
}

#[test]
#[should_panic(expected = "inside a green thread")]
fn spawn_local_outside_a_green_thread_panics_clearly() {
    let _ = grove::spawn_local(|| ());
}

#[test]
fn wakes_cross_workers_and_plain_threads() {
    // A chain of joins that alternates between workers and an OS thread.
    let rt = grove::Runtime::builder().workers(2).build().unwrap();
    let total = rt.block_on(|| {
        let mut sum = 0;
        for i in 0..200 {
            let h = grove::spawn(move || {
                grove::sleep(Duration::from_micros(10));
                i
            });
            let os = std::thread::spawn(move || h.join().unwrap());
            sum += grove::spawn_blocking(move || os.join().unwrap())
                .join()
                .unwrap();
        }
        sum
    });
    assert_eq!(total, (0..200).sum::<i32>());
}

#[test]
fn sleep_orders_wakeups_by_deadline() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let order = rt.block_on(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let hs: Vec<_> = [30u64, 10, 20]
            .into_iter()
            .map(|ms| {
                let log = log.clone();
                grove::spawn(move || {
                    grove::sleep(Duration::from_millis(ms));
                    log.lock().push(ms);
                })
            })
            .collect();
        grove::join_all(hs);
        let v = log.lock().clone();
        v
    });
    assert_eq!(order, [10, 20, 30]);
}

#[test]
fn dropping_a_runtime_kills_its_green_threads() {
    let rt = grove::Runtime::builder().workers(2).build().unwrap();
    let (dropped, guard) = {
        let c = Arc::new(AtomicUsize::new(0));
        (c.clone(), Counter(c))
    };
    let started = Arc::new(AtomicBool::new(false));
    let s2 = started.clone();
    let h = rt.spawn(move || {
        let _g = guard;
        s2.store(true, Ordering::SeqCst);
        grove::sleep(Duration::from_secs(3600));
    });
    while !started.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    drop(rt);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert!(h.join().unwrap_err().is_killed());
}

struct Counter(Arc<AtomicUsize>);
impl Drop for Counter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dump_lists_green_threads_and_what_they_wait_on() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let report = rt.block_on(|| {
        let h = grove::Builder::new()
            .name("napper")
            .spawn(|| grove::sleep(Duration::from_secs(3600)))
            .unwrap();
        grove::yield_now(); // let it start and park
        let report = grove::dump();
        h.kill();
        let _ = h.join();
        report
    });
    let line = report
        .lines()
        .find(|l| l.contains("napper"))
        .unwrap_or_else(|| panic!("napper missing from:\n{report}"));
    assert!(line.contains("state=parked"), "{line}");
    assert!(line.contains("waits-on=sleep"), "{line}");
    assert!(report.contains("running"), "{report}");
}

/// A green thread spawned while two others keep the run queue busy (they
/// wake each other through queues and never wait for anything else) starts
/// within a couple of their hops, not once they are done: new and woken
/// green threads take turns. A new connection's green thread under load
/// depends on this.
#[test]
fn a_new_green_thread_starts_while_others_keep_the_worker_busy() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let started_at = rt.block_on(|| {
        let a: grove::sync::Queue<usize> = grove::sync::Queue::unbounded();
        let b: grove::sync::Queue<usize> = grove::sync::Queue::unbounded();
        let hops = Arc::new(AtomicUsize::new(0));
        let started_at = Arc::new(AtomicUsize::new(usize::MAX));
        let pong = grove::spawn({
            let (a, b, hops) = (a.clone(), b.clone(), hops.clone());
            move || {
                while let Ok(v) = a.get() {
                    hops.fetch_add(1, Ordering::SeqCst);
                    let _ = b.put(v);
                }
            }
        });
        let ping = grove::spawn({
            let (a, b, hops, started_at) = (a.clone(), b.clone(), hops.clone(), started_at.clone());
            move || {
                for round in 0..1_000 {
                    if round == 10 {
                        let (hops, started_at) = (hops.clone(), started_at.clone());
                        drop(grove::spawn(move || {
                            started_at.store(hops.load(Ordering::SeqCst), Ordering::SeqCst)
                        }));
                    }
                    a.put(round).unwrap();
                    b.get().unwrap();
                }
                a.close();
            }
        });
        ping.join().unwrap();
        pong.join().unwrap();
        started_at.load(Ordering::SeqCst)
    });
    // Spawned when pong had handled 10 messages; it must run within a
    // couple of hops of that, long before the 1,000th.
    assert!(
        (10..=13).contains(&started_at),
        "the new green thread started after {started_at} hops"
    );
}

#[test]
fn a_burst_of_spawns_starts_in_spawn_order_and_killed_ones_never_run() {
    // Deep enough that the worker takes each next task a turn early
    // (`Worker::pop_new`): that must change neither the order nor a kill.
    const N: usize = 300;
    // Killed before anything started: the second and third would be the
    // ones taken early.
    const KILLED: [usize; 4] = [1, 2, 150, N - 1];
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    rt.block_on(move || {
        let hs: Vec<_> = (0..N)
            .map(|k| {
                let l = l.clone();
                grove::spawn(move || l.lock().push(k))
            })
            .collect();
        for k in KILLED {
            hs[k].kill();
        }
        for (k, h) in hs.into_iter().enumerate() {
            let killed = KILLED.contains(&k);
            match h.join() {
                Ok(()) => assert!(!killed, "task {k} ran after its kill"),
                Err(e) => assert!(killed && e.is_killed(), "task {k}: {e}"),
            }
        }
    });
    let expected: Vec<usize> = (0..N).filter(|k| !KILLED.contains(k)).collect();
    assert_eq!(*log.lock(), expected);
}

/// Timers are fired every 61 turns while the run queue is busy, not only
/// when the worker runs out of work: a sleeper wakes although another green
/// thread yields without pause and the worker never sleeps.
#[test]
fn a_due_timer_fires_while_another_green_thread_keeps_the_worker_busy() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let yields = rt.block_on(|| {
        let woke = Arc::new(AtomicBool::new(false));
        let sleeper = grove::spawn({
            let woke = woke.clone();
            move || {
                grove::sleep(Duration::from_millis(2));
                woke.store(true, Ordering::SeqCst);
            }
        });
        let spinner = grove::spawn(move || {
            let t = std::time::Instant::now();
            let mut yields = 0u64;
            while !woke.load(Ordering::SeqCst) {
                assert!(
                    t.elapsed() < Duration::from_secs(10),
                    "the sleeper's timer never fired"
                );
                grove::yield_now();
                yields += 1;
            }
            yields
        });
        sleeper.join().unwrap();
        spinner.join().unwrap()
    });
    assert!(yields > 0, "the spinner ran while the sleeper slept");
}
