//! `grove::sync::AsyncResult`: set once, every waiter gets a clone, from
//! green threads and OS threads; timeouts; kill or timeout while parked.

mod sync_util;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use grove::sync::AsyncResult;
use sync_util::{debug_count, join_soon, two_workers, wait_parked, wait_until, DropCounter};

fn waiters<T>(r: &AsyncResult<T>) -> usize {
    debug_count(r, "waiters: ")
}

#[test]
fn set_once_then_read() {
    let r = AsyncResult::new();
    assert!(!r.is_ready());
    assert_eq!(r.try_get(), None);
    assert_eq!(r.set(String::from("a")), Ok(()));
    assert_eq!(r.set(String::from("b")), Err(String::from("b")));
    assert!(r.is_ready());
    assert_eq!(r.get(), "a");
    assert_eq!(r.try_get().as_deref(), Some("a"));
    assert_eq!(r.get_timeout(Duration::ZERO).as_deref(), Some("a"));
}

#[test]
fn every_waiter_gets_a_clone_across_workers_and_threads() {
    let rt = two_workers();
    let r = AsyncResult::new();
    let green: Vec<_> = (0..10)
        .map(|_| {
            let r = r.clone();
            rt.spawn(move || r.get())
        })
        .collect();
    let os = std::thread::spawn({
        let r = r.clone();
        move || r.get()
    });
    wait_until("all wait", || waiters(&r) == 11);
    r.set(vec![1, 2, 3]).unwrap();
    for h in green {
        assert_eq!(h.join().unwrap(), [1, 2, 3]);
    }
    assert_eq!(os.join().unwrap(), [1, 2, 3]);
}

#[test]
fn an_os_thread_gets_what_a_green_thread_sets() {
    let r = AsyncResult::new();
    let setter = grove::spawn({
        let r = r.clone();
        move || {
            wait_until("the OS thread waits", || waiters(&r) == 1);
            r.set(42).unwrap();
        }
    });
    assert_eq!(r.get(), 42);
    setter.join().unwrap();
}

#[test]
fn a_green_thread_gets_what_an_os_thread_sets() {
    let r = AsyncResult::new();
    let getter = grove::spawn({
        let r = r.clone();
        move || r.get()
    });
    wait_parked(getter.id(), "async-result");
    r.set('x').unwrap();
    assert_eq!(getter.join().unwrap(), 'x');
}

#[test]
fn wait_works_for_values_that_are_not_clone() {
    struct NotClone;
    let r = AsyncResult::new();
    let waiter = grove::spawn({
        let r = r.clone();
        move || r.wait()
    });
    wait_parked(waiter.id(), "async-result");
    assert!(r.set(NotClone).is_ok());
    waiter.join().unwrap();
    assert!(r.wait_timeout(Duration::ZERO));
}

#[test]
fn get_timeout_expires_in_green_and_os_threads() {
    let d = Duration::from_millis(20);
    let r = AsyncResult::<u8>::new();
    let t = Instant::now();
    assert_eq!(r.get_timeout(d), None);
    assert!(t.elapsed() >= d);
    assert!(!r.wait_timeout(d));
    let r2 = r.clone();
    let waited = grove::spawn(move || {
        let t = Instant::now();
        assert_eq!(r2.get_timeout(d), None);
        t.elapsed()
    })
    .join()
    .unwrap();
    assert!(waited >= d);
    assert_eq!(waiters(&r), 0);
}

#[test]
fn kill_while_getting_then_another_getter_still_gets() {
    let r = AsyncResult::new();
    let (dropped, guard) = DropCounter::new();
    let a = grove::spawn({
        let r = r.clone();
        move || {
            let _g = guard;
            r.get()
        }
    });
    wait_parked(a.id(), "async-result");
    let b = grove::spawn({
        let r = r.clone();
        move || r.get()
    });
    wait_parked(b.id(), "async-result");
    a.kill();
    assert!(a.join().unwrap_err().is_killed());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(waiters(&r), 1);
    r.set(5).unwrap();
    assert_eq!(join_soon(b), 5);
}

#[test]
fn timeout_while_getting_in_green_and_os_threads() {
    let r = AsyncResult::<u8>::new();
    let (dropped, guard) = DropCounter::new();
    let r2 = r.clone();
    let out = grove::spawn(move || {
        grove::timeout(Duration::from_millis(20), || {
            let _g = guard;
            r2.get()
        })
    })
    .join()
    .unwrap();
    assert!(out.is_err());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    let out = grove::timeout(Duration::from_millis(20), || r.get());
    assert!(out.is_err());
    assert_eq!(waiters(&r), 0);
    r.set(1).unwrap();
    assert_eq!(r.get(), 1);
}
