//! `grove::sync::Event`: set/clear/wait from green threads and OS threads,
//! wake-all, timeouts, and kill or timeout while parked in `wait`.

mod sync_util;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use grove::sync::Event;
use sync_util::{debug_count, join_soon, two_workers, wait_parked, wait_until, DropCounter};

fn waiters(e: &Event) -> usize {
    debug_count(e, "waiters: ")
}

#[test]
fn set_clear_is_set() {
    let e = Event::new();
    assert!(!e.is_set());
    e.set();
    e.set();
    assert!(e.is_set());
    e.wait();
    assert!(e.wait_timeout(Duration::ZERO));
    e.clear();
    assert!(!e.is_set());
    assert!(!e.wait_timeout(Duration::ZERO));
    let d = Event::default();
    assert!(!d.clone().is_set());
}

#[test]
fn an_os_thread_waits_for_a_green_thread() {
    let e = Event::new();
    let setter = grove::spawn({
        let e = e.clone();
        move || {
            wait_until("the OS thread waits", || waiters(&e) == 1);
            e.set();
        }
    });
    e.wait();
    assert!(e.is_set());
    setter.join().unwrap();
}

#[test]
fn a_green_thread_waits_for_an_os_thread() {
    let e = Event::new();
    let waiter = grove::spawn({
        let e = e.clone();
        move || e.wait()
    });
    wait_parked(waiter.id(), "event");
    e.set();
    waiter.join().unwrap();
}

#[test]
fn set_wakes_every_waiter_on_every_worker() {
    let rt = two_workers();
    let e = Event::new();
    let hs: Vec<_> = (0..20)
        .map(|_| {
            let e = e.clone();
            rt.spawn(move || e.wait())
        })
        .collect();
    let os = std::thread::spawn({
        let e = e.clone();
        move || e.wait()
    });
    wait_until("all wait", || waiters(&e) == 21);
    e.set();
    for h in hs {
        h.join().unwrap();
    }
    os.join().unwrap();
}

#[test]
fn set_then_clear_still_releases_those_waiting() {
    let e = Event::new();
    let waiter = grove::spawn({
        let e = e.clone();
        move || e.wait_timeout(Duration::from_secs(60))
    });
    wait_parked(waiter.id(), "event");
    e.set();
    e.clear();
    assert!(waiter.join().unwrap(), "released by the set");
    assert!(!e.is_set());
}

#[test]
fn wait_timeout_expires_in_green_and_os_threads() {
    let d = Duration::from_millis(20);
    let e = Event::new();
    let t = Instant::now();
    assert!(!e.wait_timeout(d));
    assert!(t.elapsed() >= d);
    let e2 = e.clone();
    let waited = grove::spawn(move || {
        let t = Instant::now();
        assert!(!e2.wait_timeout(d));
        t.elapsed()
    })
    .join()
    .unwrap();
    assert!(waited >= d);
    assert_eq!(waiters(&e), 0, "timed-out waiters left no entry");
}

#[test]
fn kill_while_waiting_then_another_waiter_still_wakes() {
    let e = Event::new();
    let (dropped, guard) = DropCounter::new();
    let a = grove::spawn({
        let e = e.clone();
        move || {
            let _g = guard;
            e.wait()
        }
    });
    wait_parked(a.id(), "event");
    let b = grove::spawn({
        let e = e.clone();
        move || e.wait()
    });
    wait_parked(b.id(), "event");
    a.kill();
    assert!(a.join().unwrap_err().is_killed());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(waiters(&e), 1, "the killed waiter's entry is gone");
    e.set();
    join_soon(b);
}

#[test]
fn timeout_while_waiting_in_green_and_os_threads() {
    let e = Event::new();
    let (dropped, guard) = DropCounter::new();
    let e2 = e.clone();
    let r = grove::spawn(move || {
        grove::timeout(Duration::from_millis(20), || {
            let _g = guard;
            e2.wait()
        })
    })
    .join()
    .unwrap();
    assert!(r.is_err());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);

    let (dropped, guard) = DropCounter::new();
    let r = grove::timeout(Duration::from_millis(20), || {
        let _g = guard;
        e.wait()
    });
    assert!(r.is_err());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(waiters(&e), 0);
}
