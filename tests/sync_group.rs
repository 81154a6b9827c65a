//! `grove::sync::Group` and `Pool`: spawn, join, kill, len; a pool never
//! runs more than its size; kill or timeout while parked in `join` or in a
//! full pool's `spawn`.

mod sync_util;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grove::sync::{Event, Group, Pool};
use sync_util::{join_soon, one_worker, two_workers, wait_parked, DropCounter};

#[test]
fn members_return_values_and_join_waits_for_all() {
    let g = Group::new();
    assert!(g.is_empty());
    let go = Event::new();
    let hs: Vec<_> = (0..10)
        .map(|i| {
            let go = go.clone();
            g.spawn(move || {
                go.wait();
                i * 2
            })
        })
        .collect();
    assert_eq!(g.len(), 10);
    assert!(!g.join_timeout(Duration::from_millis(5)));
    go.set();
    g.join(); // from this OS thread
    assert!(g.is_empty());
    let sum: i32 = hs.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, 90);
}

#[test]
fn join_from_a_green_thread_across_workers() {
    let rt = two_workers();
    let g = Group::new();
    let done = Arc::new(AtomicUsize::new(0));
    let g2 = g.clone();
    let d2 = done.clone();
    let seen = rt.block_on(move || {
        for _ in 0..50 {
            let d = d2.clone();
            g2.spawn(move || {
                grove::sleep(Duration::from_millis(1));
                d.fetch_add(1, Ordering::SeqCst);
            });
        }
        g2.join();
        d2.load(Ordering::SeqCst)
    });
    assert_eq!(seen, 50);
    assert_eq!(done.load(Ordering::SeqCst), 50);
    assert!(g.is_empty());
}

#[test]
fn panicking_members_leave_the_group() {
    let g = Group::new();
    let h = g.spawn(|| panic!("member"));
    g.join();
    assert!(h.join().unwrap_err().is_panic());
    assert_eq!(g.len(), 0);
}

#[test]
fn kill_ends_every_member_and_join_returns() {
    let g = Group::new();
    let (dropped, guard) = DropCounter::new();
    let guard = Arc::new(guard);
    let hs: Vec<_> = (0..5)
        .map(|_| {
            let guard = guard.clone();
            g.spawn(move || {
                let _g = guard;
                grove::sleep(Duration::from_secs(3600));
            })
        })
        .collect();
    drop(guard);
    for h in &hs {
        wait_parked(h.id(), "sleep");
    }
    g.kill();
    assert!(g.join_timeout(sync_util::PATIENCE));
    for h in hs {
        assert!(h.join().unwrap_err().is_killed());
    }
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the shared guard dropped"
    );
}

#[test]
fn kill_before_members_start_means_they_never_run() {
    let rt = one_worker();
    let ran = Arc::new(AtomicBool::new(false));
    let ran2 = ran.clone();
    let (dropped, guard) = DropCounter::new();
    rt.block_on(move || {
        let g = Group::new();
        // On one worker they cannot start before we reach a switch point.
        let h = g.spawn(move || {
            let _g = guard;
            ran2.store(true, Ordering::SeqCst);
        });
        assert_eq!(g.len(), 1);
        g.kill();
        g.join();
        assert!(h.join().unwrap_err().is_killed());
    });
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn kill_while_joining_then_another_joiner_still_returns() {
    let g = Group::new();
    let release = Event::new();
    g.spawn({
        let release = release.clone();
        move || release.wait()
    });
    let (dropped, guard) = DropCounter::new();
    let a = grove::spawn({
        let g = g.clone();
        move || {
            let _g = guard;
            g.join();
        }
    });
    wait_parked(a.id(), "group");
    let b = grove::spawn({
        let g = g.clone();
        move || g.join()
    });
    wait_parked(b.id(), "group");
    a.kill();
    assert!(a.join().unwrap_err().is_killed());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    release.set();
    join_soon(b);
    assert!(g.is_empty());
}

#[test]
fn timeout_while_joining_in_green_and_os_threads() {
    let g = Group::new();
    let release = Event::new();
    g.spawn({
        let release = release.clone();
        move || release.wait()
    });
    let (dropped, guard) = DropCounter::new();
    let g2 = g.clone();
    let r = grove::spawn(move || {
        grove::timeout(Duration::from_millis(20), || {
            let _g = guard;
            g2.join()
        })
    })
    .join()
    .unwrap();
    assert!(r.is_err());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    let t = Instant::now();
    assert!(grove::timeout(Duration::from_millis(20), || g.join()).is_err());
    assert!(t.elapsed() >= Duration::from_millis(20));
    release.set();
    g.join();
}

#[test]
fn pool_never_runs_more_than_its_size() {
    let rt = two_workers();
    let pool = Pool::new(3);
    assert_eq!((pool.capacity(), pool.free_count()), (3, 3));
    let running = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let (p2, r2, m2) = (pool.clone(), running.clone(), max.clone());
    // Spawners on both a green thread and this OS thread.
    let green_spawner = rt.spawn(move || {
        for _ in 0..30 {
            let (r, m) = (r2.clone(), m2.clone());
            p2.spawn(move || {
                let n = r.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(n, Ordering::SeqCst);
                grove::sleep(Duration::from_micros(200));
                r.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    for _ in 0..30 {
        let (r, m) = (running.clone(), max.clone());
        pool.spawn(move || {
            let n = r.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(n, Ordering::SeqCst);
            grove::yield_now();
            r.fetch_sub(1, Ordering::SeqCst);
        });
        assert!(pool.len() <= 3);
    }
    green_spawner.join().unwrap();
    pool.join();
    assert!(
        max.load(Ordering::SeqCst) <= 3,
        "max {}",
        max.load(Ordering::SeqCst)
    );
    assert_eq!(pool.free_count(), 3);
}

#[test]
fn pool_spawn_waits_while_full() {
    let pool = Pool::new(1);
    let release = Event::new();
    let first = pool.spawn({
        let release = release.clone();
        move || release.wait()
    });
    assert_eq!(pool.free_count(), 0);
    let spawner = grove::spawn({
        let pool = pool.clone();
        move || pool.spawn(|| 7).join().unwrap()
    });
    wait_parked(spawner.id(), "group");
    assert_eq!(pool.len(), 1, "the second member waits for a slot");
    release.set();
    assert_eq!(spawner.join().unwrap(), 7);
    first.join().unwrap();
    pool.join();
    assert!(pool.is_empty());
}

#[test]
fn kill_while_waiting_for_a_slot_then_another_spawner_gets_it() {
    let pool = Pool::new(1);
    let release = Event::new();
    pool.spawn({
        let release = release.clone();
        move || release.wait()
    });
    let (dropped, guard) = DropCounter::new();
    let a = grove::spawn({
        let pool = pool.clone();
        move || {
            let _g = guard;
            pool.spawn(|| "a").join().unwrap()
        }
    });
    wait_parked(a.id(), "group");
    let b = grove::spawn({
        let pool = pool.clone();
        move || pool.spawn(|| "b").join().unwrap()
    });
    wait_parked(b.id(), "group");
    a.kill();
    assert!(a.join().unwrap_err().is_killed());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    release.set();
    assert_eq!(join_soon(b), "b");
}

#[test]
fn a_spawner_killed_after_being_notified_hands_the_slot_on() {
    let rt = one_worker();
    let (dropped, guard) = DropCounter::new();
    let (a_out, b_out) = rt.block_on(move || {
        let pool = Pool::new(1);
        let release = Event::new();
        let member = pool.spawn({
            let release = release.clone();
            move || release.wait()
        });
        wait_parked(member.id(), "event");
        let a = grove::spawn({
            let pool = pool.clone();
            move || {
                let _g = guard;
                pool.spawn(|| "a").join().unwrap()
            }
        });
        wait_parked(a.id(), "group");
        let b = grove::spawn({
            let pool = pool.clone();
            move || pool.spawn(|| "b").join().unwrap()
        });
        wait_parked(b.id(), "group");
        let killer = grove::spawn({
            let release = release.clone();
            move || {
                release.wait();
                a.kill();
                a.join().map_err(|e| e.is_killed())
            }
        });
        wait_parked(killer.id(), "event");
        // One worker, FIFO: `set` readies the member, then the killer. The
        // member ends and its free slot notifies `a` (readied after the
        // killer); the killer then kills `a` before `a` runs.
        release.set();
        (killer.join().unwrap(), join_soon(b))
    });
    assert_eq!(a_out, Err(true), "a was killed holding the notification");
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(b_out, "b");
}
