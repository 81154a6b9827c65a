//! `grove::sync::Semaphore`: permits from green threads and OS threads,
//! FIFO hand-over without barging, timeouts, owned permits, and kill or
//! timeout while parked in `acquire` (with no lost permit).

mod sync_util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use grove::sync::Semaphore;
use sync_util::{
    debug_count, join_soon, one_worker, spin_until, two_workers, wait_parked, wait_until,
    DropCounter,
};

fn waiters(s: &Semaphore) -> usize {
    debug_count(s, "waiters: ")
}

#[test]
fn permits_count_and_release_on_drop() {
    let s = Semaphore::new(2);
    let a = s.acquire();
    let b = s.try_acquire().unwrap();
    assert_eq!(s.available(), 0);
    assert!(s.try_acquire().is_none());
    assert!(s.acquire_timeout(Duration::ZERO).is_none());
    drop(a);
    assert_eq!(s.available(), 1);
    b.forget();
    assert_eq!(s.available(), 1);
    s.add_permits(3);
    assert_eq!(s.available(), 4);
}

#[test]
fn owned_permits_move_into_green_threads() {
    let s = Arc::new(Semaphore::new(1));
    let p = s.acquire_owned();
    assert!(s.try_acquire_owned().is_none());
    grove::spawn(move || drop(p)).join().unwrap();
    assert_eq!(s.available(), 1);
    s.try_acquire_owned().unwrap().forget();
    assert_eq!(s.available(), 0);
}

#[test]
fn an_os_thread_waits_for_a_green_thread_to_release() {
    let s = Arc::new(Semaphore::new(1));
    let held = s.clone().acquire_owned();
    let releaser = grove::spawn({
        let s = s.clone();
        move || {
            wait_until("the OS thread waits", || waiters(&s) == 1);
            drop(held);
        }
    });
    let _p = s.acquire();
    releaser.join().unwrap();
    assert_eq!(s.available(), 0);
}

#[test]
fn a_green_thread_waits_for_an_os_thread_to_release() {
    let s = Arc::new(Semaphore::new(1));
    let held = s.acquire();
    let waiter = grove::spawn({
        let s = s.clone();
        move || {
            let _p = s.acquire();
        }
    });
    wait_parked(waiter.id(), "semaphore");
    drop(held);
    waiter.join().unwrap();
    assert_eq!(s.available(), 1);
}

#[test]
fn waiters_are_served_in_order_and_newcomers_do_not_barge() {
    let s = Arc::new(Semaphore::new(1));
    let held = s.acquire();
    let order = Arc::new(StdMutex::new(Vec::new()));
    let mut hs = Vec::new();
    for i in 0..4 {
        let (s, order) = (s.clone(), order.clone());
        let h = grove::spawn(move || {
            let _p = s.acquire();
            order.lock().unwrap().push(i);
        });
        wait_parked(h.id(), "semaphore");
        hs.push(h);
    }
    drop(held);
    // The permit went to the first waiter, not to a newcomer.
    assert!(s.try_acquire().is_none() || order.lock().unwrap().len() == 4);
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3]);
}

#[test]
fn never_more_holders_than_permits_across_workers() {
    let rt = two_workers();
    let s = Arc::new(Semaphore::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let work = |s: Arc<Semaphore>, inside: Arc<AtomicUsize>, max: Arc<AtomicUsize>| {
        move || {
            for _ in 0..200 {
                let _p = s.acquire();
                let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(n, Ordering::SeqCst);
                grove::yield_now();
                inside.fetch_sub(1, Ordering::SeqCst);
            }
        }
    };
    let green: Vec<_> = (0..8)
        .map(|_| rt.spawn(work(s.clone(), inside.clone(), max.clone())))
        .collect();
    let os: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(work(s.clone(), inside.clone(), max.clone())))
        .collect();
    for h in green {
        h.join().unwrap();
    }
    for h in os {
        h.join().unwrap();
    }
    assert!(max.load(Ordering::SeqCst) <= 3);
    assert_eq!(s.available(), 3);
}

#[test]
fn acquire_timeout_expires_in_green_and_os_threads() {
    let d = Duration::from_millis(20);
    let s = Arc::new(Semaphore::new(0));
    let t = Instant::now();
    assert!(s.acquire_timeout(d).is_none());
    assert!(t.elapsed() >= d);
    let s2 = s.clone();
    let waited = grove::spawn(move || {
        let t = Instant::now();
        assert!(s2.acquire_timeout(d).is_none());
        t.elapsed()
    })
    .join()
    .unwrap();
    assert!(waited >= d);
    assert_eq!(waiters(&s), 0);
    assert_eq!(s.available(), 0);
}

/// Waiters that leave from behind the head of a crowd (killed in the
/// middle and at the tail) leave the others in order, and a second crowd
/// on the same semaphore (the wait list's deque kept from the first) is
/// served in order too.
#[test]
fn waiters_leaving_from_inside_a_crowd_leave_the_rest_in_order() {
    let s = Arc::new(Semaphore::new(1));
    let order = Arc::new(StdMutex::new(Vec::new()));
    let crowd = |first: usize, n: usize| {
        (first..first + n)
            .map(|i| {
                let (s, order) = (s.clone(), order.clone());
                let h = grove::spawn(move || {
                    let _p = s.acquire();
                    order.lock().unwrap().push(i);
                });
                wait_parked(h.id(), "semaphore");
                h
            })
            .collect::<Vec<_>>()
    };

    let held = s.acquire();
    let mut hs = crowd(0, 5);
    assert_eq!(waiters(&s), 5);
    let leavers: Vec<_> = [4, 3, 1].into_iter().map(|i| hs.remove(i)).collect();
    for h in leavers {
        h.kill();
        assert!(h.join().unwrap_err().is_killed());
    }
    assert_eq!(waiters(&s), 2);
    drop(held);
    for h in hs {
        join_soon(h);
    }
    assert_eq!(*order.lock().unwrap(), [0, 2]);

    let held = s.acquire();
    let hs = crowd(10, 3);
    assert_eq!(waiters(&s), 3);
    drop(held);
    for h in hs {
        join_soon(h);
    }
    assert_eq!(*order.lock().unwrap(), [0, 2, 10, 11, 12]);
    assert_eq!(s.available(), 1);
}

#[test]
fn kill_while_acquiring_then_another_waiter_still_gets_the_permit() {
    let s = Arc::new(Semaphore::new(1));
    let held = s.acquire();
    let (dropped, guard) = DropCounter::new();
    let a = grove::spawn({
        let s = s.clone();
        move || {
            let _g = guard;
            let _p = s.acquire();
        }
    });
    wait_parked(a.id(), "semaphore");
    let b = grove::spawn({
        let s = s.clone();
        move || s.acquire().forget()
    });
    wait_parked(b.id(), "semaphore");
    a.kill();
    assert!(a.join().unwrap_err().is_killed());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    drop(held);
    join_soon(b);
    assert_eq!(s.available(), 0, "b took it (and kept it)");
}

#[test]
fn a_waiter_killed_after_being_handed_the_permit_hands_it_on() {
    let rt = one_worker();
    let s = Arc::new(Semaphore::new(1));
    let (dropped, guard) = DropCounter::new();
    let s2 = s.clone();
    rt.block_on(move || {
        let s = s2;
        let held = s.acquire();
        let a = grove::spawn({
            let s = s.clone();
            move || {
                let _g = guard;
                let _p = s.acquire();
            }
        });
        wait_parked(a.id(), "semaphore");
        let b = grove::spawn({
            let s = s.clone();
            move || s.acquire().forget()
        });
        wait_parked(b.id(), "semaphore");
        // No switch point between: the permit is handed to `a`, which is
        // then killed before it runs.
        drop(held);
        a.kill();
        assert!(a.join().unwrap_err().is_killed());
        join_soon(b);
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(s.available(), 0, "b holds the one permit");
}

#[test]
fn a_waiter_whose_timeout_expires_after_being_handed_the_permit_hands_it_on() {
    let rt = one_worker();
    let s = Arc::new(Semaphore::new(1));
    let s2 = s.clone();
    let a_result = rt.block_on(move || {
        let s = s2;
        let held = s.acquire();
        let a = grove::spawn({
            let s = s.clone();
            move || grove::timeout(Duration::from_millis(30), || s.acquire().forget())
        });
        wait_parked(a.id(), "semaphore");
        let b = grove::spawn({
            let s = s.clone();
            move || s.acquire().forget()
        });
        wait_parked(b.id(), "semaphore");
        spin_until(Instant::now() + Duration::from_millis(40));
        drop(held);
        let r = a.join().unwrap();
        join_soon(b);
        r
    });
    assert!(a_result.is_err(), "a's timeout fired");
    assert_eq!(s.available(), 0, "b holds the one permit");
}

#[test]
fn timeout_while_acquiring_on_an_os_thread() {
    let s = Semaphore::new(0);
    let (dropped, guard) = DropCounter::new();
    let r = grove::timeout(Duration::from_millis(20), || {
        let _g = guard;
        s.acquire().forget();
    });
    assert!(r.is_err());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(waiters(&s), 0);
    s.add_permits(1);
    assert!(s.try_acquire().is_some());
}
