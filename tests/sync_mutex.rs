//! `grove::sync::Mutex`: mutual exclusion across green threads, workers and
//! OS threads; FIFO hand-over; no poisoning; timeouts; kill or timeout
//! while parked in `lock`; a holder killed while parked elsewhere releases.

mod sync_util;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use grove::sync::Mutex;
use sync_util::{
    debug_count, join_soon, one_worker, spin_until, two_workers, wait_parked, wait_until,
    DropCounter,
};

fn waiters<T: std::fmt::Debug>(m: &Mutex<T>) -> usize {
    debug_count(m, "waiters: ")
}

#[test]
fn lock_try_lock_into_inner_get_mut() {
    let mut m = Mutex::new(vec![1]);
    m.lock().push(2);
    {
        let g = m.try_lock().unwrap();
        assert!(m.try_lock().is_none());
        assert!(m.lock_timeout(Duration::ZERO).is_none());
        assert_eq!(*g, [1, 2]);
        assert!(format!("{m:?}").contains("<locked>"));
    }
    m.get_mut().push(3);
    assert!(m.lock_timeout(Duration::from_secs(1)).is_some());
    assert_eq!(m.into_inner(), [1, 2, 3]);
}

#[test]
fn exclusive_across_workers_green_and_os_threads() {
    const ROUNDS: usize = 500;
    let rt = two_workers();
    let m = Arc::new(Mutex::new((0usize, false)));
    let work = |m: Arc<Mutex<(usize, bool)>>| {
        move || {
            for _ in 0..ROUNDS {
                let mut g = m.lock();
                assert!(!g.1, "two holders at once");
                g.1 = true;
                // A switch point while holding it: others must wait.
                grove::yield_now();
                g.0 += 1;
                g.1 = false;
            }
        }
    };
    let green: Vec<_> = (0..8).map(|_| rt.spawn(work(m.clone()))).collect();
    let os: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(work(m.clone())))
        .collect();
    for h in green {
        h.join().unwrap();
    }
    for h in os {
        h.join().unwrap();
    }
    assert_eq!(m.lock().0, 10 * ROUNDS);
    assert_eq!(waiters(&m), 0);
}

#[test]
fn an_os_thread_waits_for_a_green_holder() {
    let m = Arc::new(Mutex::new(0));
    let locked = Arc::new(grove::sync::Event::new());
    let holder = grove::spawn({
        let (m, locked) = (m.clone(), locked.clone());
        move || {
            let mut g = m.lock();
            locked.set();
            wait_until("the OS thread waits", || waiters(&m) == 1);
            *g = 1;
        }
    });
    locked.wait();
    assert_eq!(*m.lock(), 1);
    holder.join().unwrap();
}

#[test]
fn a_green_thread_waits_for_an_os_holder() {
    let m = Arc::new(Mutex::new(0));
    let g = m.lock();
    let waiter = grove::spawn({
        let m = m.clone();
        move || *m.lock()
    });
    wait_parked(waiter.id(), "lock");
    drop(g);
    assert_eq!(waiter.join().unwrap(), 0);
}

#[test]
fn waiters_get_the_lock_in_arrival_order() {
    let m = Arc::new(Mutex::new(Vec::new()));
    let g = m.lock();
    let mut hs = Vec::new();
    for i in 0..5 {
        let m = m.clone();
        let h = grove::spawn(move || m.lock().push(i));
        wait_parked(h.id(), "lock");
        hs.push(h);
    }
    drop(g);
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(*m.lock(), [0, 1, 2, 3, 4]);
}

#[test]
fn a_panic_while_holding_releases_without_poisoning() {
    let m = Arc::new(Mutex::new(1));
    let m2 = m.clone();
    let err = grove::spawn(move || {
        let mut g = m2.lock();
        *g = 2;
        panic!("while holding");
    })
    .join()
    .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(*m.try_lock().expect("released"), 2);
}

#[test]
fn a_holder_killed_while_sleeping_releases_the_lock() {
    let m = Arc::new(Mutex::new(0));
    let (dropped, guard) = DropCounter::new();
    let holder = grove::spawn({
        let m = m.clone();
        move || {
            let _g = guard;
            let _lock = m.lock();
            grove::sleep(Duration::from_secs(3600));
        }
    });
    wait_parked(holder.id(), "sleep");
    let waiter = grove::spawn({
        let m = m.clone();
        move || *m.lock() += 1
    });
    wait_parked(waiter.id(), "lock");
    holder.kill();
    assert!(holder.join().unwrap_err().is_killed());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    join_soon(waiter);
    assert_eq!(*m.try_lock().unwrap(), 1);
}

#[test]
fn lock_timeout_expires_in_green_and_os_threads() {
    let d = Duration::from_millis(20);
    let m = Arc::new(Mutex::new(()));
    let g = m.lock();
    let t = Instant::now();
    assert!(m.lock_timeout(d).is_none());
    assert!(t.elapsed() >= d);
    let m2 = m.clone();
    let waited = grove::spawn(move || {
        let t = Instant::now();
        assert!(m2.lock_timeout(d).is_none());
        t.elapsed()
    })
    .join()
    .unwrap();
    assert!(waited >= d);
    assert_eq!(waiters(&m), 0);
    drop(g);
    assert!(m.try_lock().is_some(), "a timed-out waiter leaves it free");
}

#[test]
fn kill_while_locking_then_another_waiter_still_gets_it() {
    let m = Arc::new(Mutex::new(Vec::new()));
    let g = m.lock();
    let (dropped, guard) = DropCounter::new();
    let a = grove::spawn({
        let m = m.clone();
        move || {
            let _g = guard;
            m.lock().push("a");
        }
    });
    wait_parked(a.id(), "lock");
    let b = grove::spawn({
        let m = m.clone();
        move || m.lock().push("b")
    });
    wait_parked(b.id(), "lock");
    a.kill();
    assert!(a.join().unwrap_err().is_killed());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    drop(g);
    join_soon(b);
    assert_eq!(*m.try_lock().unwrap(), ["b"]);
}

#[test]
fn a_waiter_killed_after_being_handed_the_lock_hands_it_on() {
    let rt = one_worker();
    let m = Arc::new(Mutex::new(Vec::new()));
    let (dropped, guard) = DropCounter::new();
    let m2 = m.clone();
    rt.block_on(move || {
        let m = m2;
        let g = m.lock();
        let a = grove::spawn({
            let m = m.clone();
            move || {
                let _g = guard;
                m.lock().push("a");
            }
        });
        wait_parked(a.id(), "lock");
        let b = grove::spawn({
            let m = m.clone();
            move || m.lock().push("b")
        });
        wait_parked(b.id(), "lock");
        // No switch point between: the lock is handed to `a`, which is then
        // killed before it runs.
        drop(g);
        a.kill();
        assert!(a.join().unwrap_err().is_killed());
        join_soon(b);
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(*m.try_lock().unwrap(), ["b"]);
}

#[test]
fn a_waiter_whose_timeout_expires_after_being_handed_the_lock_hands_it_on() {
    let rt = one_worker();
    let m = Arc::new(Mutex::new(Vec::new()));
    let m2 = m.clone();
    let a_result = rt.block_on(move || {
        let m = m2;
        let g = m.lock();
        let a = grove::spawn({
            let m = m.clone();
            move || grove::timeout(Duration::from_millis(30), || m.lock().push("a"))
        });
        wait_parked(a.id(), "lock");
        let b = grove::spawn({
            let m = m.clone();
            move || m.lock().push("b")
        });
        wait_parked(b.id(), "lock");
        spin_until(Instant::now() + Duration::from_millis(40));
        drop(g);
        let r = a.join().unwrap();
        join_soon(b);
        r
    });
    assert!(a_result.is_err(), "a's timeout fired");
    assert_eq!(*m.try_lock().unwrap(), ["b"]);
}

#[test]
fn timeout_while_locking_on_an_os_thread() {
    let m = Arc::new(Mutex::new(0));
    let holder = grove::spawn({
        let m = m.clone();
        move || {
            let _g = m.lock();
            grove::sleep(Duration::from_secs(3600));
        }
    });
    wait_parked(holder.id(), "sleep");
    let (dropped, guard) = DropCounter::new();
    let r = grove::timeout(Duration::from_millis(20), || {
        let _g = guard;
        *m.lock() += 1;
    });
    assert!(r.is_err());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(waiters(&m), 0);
    holder.kill();
    let _ = holder.join();
    assert_eq!(*m.lock(), 0);
}
