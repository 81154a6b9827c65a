//! The sync primitives between plain OS threads, with no runtime at all.
//!
//! A plain thread waits on a primitive through its parker, so these tests
//! run the primitives' whole wait protocol — the wait lists with a crowd
//! behind the head, a queue's hand-off slot on a getter's stack, timeouts
//! taking an entry off from the middle of a list, `grove::timeout`
//! unwinding a waiter out of its park, `close` waking everyone — without a
//! stack switch. That makes them the part of the suite Miri
//! can run (it cannot follow corosensei's switches): `.ci/run` runs this
//! file under `cargo +nightly miri test` when the toolchain has Miri.
//! Under Miri the counts are smaller; the checks are the same.
//!
//! Every wait is bounded: a blocked thread is released by the test's own
//! put, set, release or close, and nothing sleeps to let a race settle.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use grove_runtime::sync::{Event, Mutex, Queue, RecvError, RecvTimeoutError, Semaphore};

/// Items per producer (smaller under Miri, which is ~1,000× slower).
const ITEMS: usize = if cfg!(miri) { 20 } else { 2_000 };

#[test]
fn a_bounded_queue_carries_every_item_in_order_between_two_threads() {
    let q = Queue::bounded(1);
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..ITEMS {
                q.put(Box::new(i)).unwrap();
            }
        });
        // A capacity of one: the two threads take turns waiting, the
        // getter mostly through the hand-off slot, the putter on a full
        // queue.
        for i in 0..ITEMS {
            assert_eq!(*q.get().unwrap(), i);
        }
    });
    assert!(q.is_empty());
}

#[test]
fn a_crowd_of_getters_receives_each_item_exactly_once() {
    const GETTERS: usize = 3;
    let q: Queue<Box<usize>> = Queue::unbounded();
    let got = Mutex::new(Vec::new());
    thread::scope(|s| {
        for _ in 0..GETTERS {
            s.spawn(|| {
                // Until the queue is closed and drained.
                while let Ok(item) = q.get() {
                    got.lock().push(*item);
                }
            });
        }
        let producers: Vec<_> = (0..2)
            .map(|p| {
                let q = &q;
                s.spawn(move || {
                    for i in 0..ITEMS {
                        q.put(Box::new(p * ITEMS + i)).unwrap();
                    }
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        q.close();
    });
    let mut got = got.into_inner();
    got.sort_unstable();
    assert_eq!(got, (0..2 * ITEMS).collect::<Vec<_>>());
}

#[test]
fn a_getter_timing_out_beside_a_waiting_one_leaves_it_listed() {
    let q: Queue<&str> = Queue::unbounded();
    let listed = Barrier::new(2);
    // One getter waits with no deadline, the other with one; whichever
    // lists first, the one that expires takes only its own entry off (the
    // head, or the entry behind it) and the other still gets the item.
    thread::scope(|s| {
        let first = s.spawn(|| {
            listed.wait();
            q.get()
        });
        listed.wait();
        let second = q.get_timeout(Duration::from_millis(20));
        assert_eq!(second, Err(RecvTimeoutError::Timeout));
        q.put("for the first").unwrap();
        assert_eq!(first.join().unwrap(), Ok("for the first"));
    });
    assert!(q.is_empty());
}

#[test]
fn closing_a_queue_wakes_every_blocked_getter() {
    const GETTERS: usize = 3;
    let q: Queue<u8> = Queue::unbounded();
    let started = Barrier::new(GETTERS + 1);
    thread::scope(|s| {
        let getters: Vec<_> = (0..GETTERS)
            .map(|_| {
                s.spawn(|| {
                    started.wait();
                    q.get()
                })
            })
            .collect();
        started.wait();
        // Whether a getter is already listed or still on its way, it ends
        // with the queue closed and empty: `RecvError`, never a hang.
        q.close();
        for g in getters {
            assert_eq!(g.join().unwrap(), Err(RecvError));
        }
    });
}

#[test]
fn a_semaphore_never_lets_more_holders_in_than_it_has_permits() {
    const PERMITS: usize = 2;
    const THREADS: usize = 4;
    let rounds = if cfg!(miri) { 5 } else { 500 };
    let sem = Semaphore::new(PERMITS);
    let inside = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..rounds {
                    let _permit = sem.acquire();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    thread::yield_now();
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
            });
        }
    });
    assert!(most.load(Ordering::SeqCst) <= PERMITS);
    assert_eq!(sem.available(), PERMITS);
}

#[test]
fn a_mutex_serialises_increments_from_many_threads() {
    const THREADS: usize = 4;
    let rounds = if cfg!(miri) { 10 } else { 1_000 };
    let counter = Mutex::new(0usize);
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..rounds {
                    // A read, a yield and a write: lost updates show if
                    // two threads ever hold the lock at once.
                    let mut guard = counter.lock();
                    let seen = *guard;
                    thread::yield_now();
                    *guard = seen + 1;
                }
            });
        }
    });
    assert_eq!(*counter.lock(), THREADS * rounds);
}

#[test]
fn setting_an_event_releases_every_waiter() {
    const WAITERS: usize = 3;
    let event = Event::new();
    let started = Barrier::new(WAITERS + 1);
    thread::scope(|s| {
        let waiters: Vec<_> = (0..WAITERS)
            .map(|_| {
                s.spawn(|| {
                    started.wait();
                    event.wait();
                    event.is_set()
                })
            })
            .collect();
        started.wait();
        event.set();
        for w in waiters {
            assert!(w.join().unwrap());
        }
    });
    // A waiter after the set does not wait at all.
    event.wait();
}

#[test]
fn a_getter_interrupted_by_timeout_leaves_nothing_listed_behind() {
    let q: Queue<Box<u32>> = Queue::unbounded();
    // `timeout` unwinds out of the getter's park: its entry, and the
    // hand-off slot on its (now unwound) frame, must be off the list, or
    // the put below would write into a dead frame. (With the unwind guard's
    // removal taken out of `Queue::get`, Miri reports exactly that: a
    // dangling reference to the `Handoff`.)
    let r = grove_runtime::timeout(Duration::from_millis(10), || q.get());
    assert!(r.is_err());
    q.put(Box::new(7)).unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(*q.get().unwrap(), 7);
}

#[test]
fn a_waiter_interrupted_beside_another_leaves_the_permit_to_it() {
    let sem = Semaphore::new(0);
    let listed = Barrier::new(2);
    thread::scope(|s| {
        s.spawn(|| {
            listed.wait();
            // Blocks until the release below; then holds the permit.
            sem.acquire().forget();
        });
        listed.wait();
        // This thread waits beside the other one and is interrupted; the
        // one permit released afterwards must reach the other waiter.
        let r = grove_runtime::timeout(Duration::from_millis(10), || drop(sem.acquire()));
        assert!(r.is_err());
        sem.add_permits(1);
    });
    assert_eq!(sem.available(), 0);
}
