//! `grove::sync::Queue`: FIFO, blocking in green threads and OS threads,
//! backpressure, close, timeouts, kill and timeout while parked (with no
//! lost wakeup), and a cross-worker MPMC stress run.

mod sync_util;

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use grove::sync::{Queue, RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};
use sync_util::{
    debug_count, join_soon, one_worker, spin_until, two_workers, wait_parked, wait_until,
    DropCounter,
};

/// How many contexts are blocked in `get`.
fn getters<T>(q: &Queue<T>) -> usize {
    debug_count(q, "getters: ")
}

/// A green thread blocked in `q.get()`, once it is parked there.
fn parked_getter(q: &Queue<u32>) -> grove::JoinHandle<Result<u32, RecvError>> {
    let h = grove::spawn({
        let q = q.clone();
        move || q.get()
    });
    wait_parked(h.id(), "queue");
    h
}

/// How many contexts are blocked in `put`.
fn putters<T>(q: &Queue<T>) -> usize {
    debug_count(q, "putters: ")
}

#[test]
fn fifo_len_capacity_and_try_variants() {
    let q = Queue::bounded(3);
    assert_eq!(q.capacity(), Some(3));
    assert!(q.is_empty());
    assert_eq!(q.try_get(), Err(TryRecvError::Empty));
    for i in 0..3 {
        q.try_put(i).unwrap();
    }
    assert_eq!(q.len(), 3);
    assert_eq!(q.try_put(9), Err(TrySendError::Full(9)));
    assert_eq!((q.get(), q.try_get(), q.get()), (Ok(0), Ok(1), Ok(2)));
    assert!(q.is_empty());

    let u = Queue::unbounded();
    assert_eq!(u.capacity(), None);
    for i in 0..10_000 {
        u.put(i).unwrap();
    }
    assert!((0..10_000).eq(std::iter::from_fn(|| u.try_get().ok())));
}

#[test]
fn bounded_zero_behaves_as_bounded_one() {
    let q = Queue::bounded(0);
    assert_eq!(q.capacity(), Some(1));
    q.put(1).unwrap();
    assert!(q.try_put(2).unwrap_err().is_full());
    assert_eq!(q.get(), Ok(1));
}

#[test]
fn an_os_thread_gets_what_a_green_thread_puts() {
    let q = Queue::unbounded();
    let producer = grove::spawn({
        let q = q.clone();
        move || {
            // Put only once the OS thread below is blocked in `get`.
            wait_until("the OS thread waits", || getters(&q) == 1);
            for i in 0..100 {
                q.put(i).unwrap();
            }
        }
    });
    for i in 0..100 {
        assert_eq!(q.get(), Ok(i));
    }
    producer.join().unwrap();
}

#[test]
fn a_green_thread_gets_what_an_os_thread_puts() {
    let q = Queue::unbounded();
    let consumer = grove::spawn({
        let q = q.clone();
        move || (0..100).map(|_| q.get().unwrap()).collect::<Vec<i32>>()
    });
    wait_parked(consumer.id(), "queue");
    for i in 0..100 {
        q.put(i).unwrap();
    }
    assert_eq!(consumer.join().unwrap(), (0..100).collect::<Vec<_>>());
}

#[test]
fn put_blocks_while_full_in_a_green_thread() {
    let q = Queue::bounded(2);
    q.put(0).unwrap();
    q.put(1).unwrap();
    let putter = grove::spawn({
        let q = q.clone();
        move || q.put(2)
    });
    wait_parked(putter.id(), "queue");
    assert_eq!(q.len(), 2, "the putter must wait for room");
    assert_eq!(q.get(), Ok(0));
    putter.join().unwrap().unwrap();
    assert_eq!((q.get(), q.get()), (Ok(1), Ok(2)));
}

#[test]
fn put_blocks_while_full_on_an_os_thread() {
    let q = Queue::bounded(1);
    q.put(0).unwrap();
    let getter = grove::spawn({
        let q = q.clone();
        move || {
            wait_until("the OS thread waits to put", || putters(&q) == 1);
            let first = q.get().unwrap();
            let second = q.get().unwrap();
            (first, second)
        }
    });
    q.put(1).unwrap(); // blocks until the green thread makes room
    assert_eq!(getter.join().unwrap(), (0, 1));
}

#[test]
fn close_drains_then_fails_and_wakes_everyone() {
    // Blocked getters: one green, one OS thread (this one, below).
    let q: Queue<i32> = Queue::unbounded();
    let g = grove::spawn({
        let q = q.clone();
        move || q.get()
    });
    wait_parked(g.id(), "queue");
    let closer = grove::spawn({
        let q = q.clone();
        move || {
            wait_until("the OS thread waits", || getters(&q) == 2);
            q.close();
        }
    });
    assert_eq!(q.get(), Err(RecvError));
    assert_eq!(g.join().unwrap(), Err(RecvError));
    closer.join().unwrap();
    assert_eq!(q.put(5), Err(SendError(5)));
    assert_eq!(q.try_put(6), Err(TrySendError::Closed(6)));

    // Items left at close are still delivered, then the error.
    let q = Queue::bounded(2);
    q.put(1).unwrap();
    q.put(2).unwrap();
    let putter = grove::spawn({
        let q = q.clone();
        move || q.put(3)
    });
    wait_parked(putter.id(), "queue");
    q.close();
    assert!(q.is_closed());
    assert_eq!(
        putter.join().unwrap(),
        Err(SendError(3)),
        "value handed back"
    );
    assert_eq!(q.get_timeout(Duration::from_secs(5)), Ok(1));
    assert_eq!(q.try_get(), Ok(2));
    assert_eq!(q.get(), Err(RecvError));
    assert_eq!(q.try_get(), Err(TryRecvError::Closed));
    assert_eq!(
        q.get_timeout(Duration::from_secs(5)),
        Err(RecvTimeoutError::Closed)
    );
}

#[test]
fn iter_gets_until_closed() {
    let q = Queue::bounded(4);
    let producer = grove::spawn({
        let q = q.clone();
        move || {
            for i in 0..50 {
                q.put(i).unwrap();
            }
            q.close();
        }
    });
    assert!((&q).into_iter().eq(0..50));
    producer.join().unwrap();
}

#[test]
fn get_timeout_and_put_timeout_expire() {
    let d = Duration::from_millis(20);
    // OS thread.
    let q = Queue::<u8>::bounded(1);
    let t = Instant::now();
    assert_eq!(q.get_timeout(d), Err(RecvTimeoutError::Timeout));
    assert!(t.elapsed() >= d);
    q.put(1).unwrap();
    let t = Instant::now();
    assert!(q.put_timeout(2, d).unwrap_err().is_timeout());
    assert!(t.elapsed() >= d);
    // Green thread.
    let q2 = q.clone();
    let (getter_waited, putter_waited) = grove::spawn(move || {
        let e = Queue::<u8>::unbounded();
        let t = Instant::now();
        assert_eq!(e.get_timeout(d), Err(RecvTimeoutError::Timeout));
        let a = t.elapsed();
        let t = Instant::now();
        assert_eq!(q2.put_timeout(3, d).unwrap_err().into_inner(), 3);
        (a, t.elapsed())
    })
    .join()
    .unwrap();
    assert!(getter_waited >= d && putter_waited >= d);
    assert_eq!(q.get(), Ok(1), "the timed-out puts left nothing behind");
    assert!(q.is_empty());
}

#[test]
fn kill_while_parked_in_get_then_another_getter_still_gets() {
    let q: Queue<&str> = Queue::unbounded();
    let (dropped, guard) = DropCounter::new();
    let a = grove::spawn({
        let q = q.clone();
        move || {
            let _g = guard;
            q.get()
        }
    });
    wait_parked(a.id(), "queue");
    let b = grove::spawn({
        let q = q.clone();
        move || q.get()
    });
    wait_parked(b.id(), "queue");
    a.kill();
    assert!(a.join().unwrap_err().is_killed());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    q.put("item").unwrap();
    assert_eq!(b.join().unwrap(), Ok("item"));
}

#[test]
fn a_getter_killed_after_being_notified_hands_the_item_on() {
    let rt = one_worker();
    let q: Queue<u32> = Queue::unbounded();
    let (dropped, guard) = DropCounter::new();
    let got = rt.block_on(move || {
        let a = grove::spawn({
            let q = q.clone();
            move || {
                let _g = guard;
                q.get()
            }
        });
        wait_parked(a.id(), "queue");
        let b = parked_getter(&q);
        // No switch point between these two: `a` is notified (it is first)
        // and then killed before it can run and take the item.
        q.put(7).unwrap();
        a.kill();
        assert!(a.join().unwrap_err().is_killed());
        join_soon(b)
    });
    assert_eq!(got, Ok(7));
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn an_item_handed_to_a_getter_that_is_killed_keeps_its_place() {
    // `put` on an empty queue hands the item straight to the first waiting
    // getter. When that getter is killed before it runs, the item goes
    // back to the queue ahead of everything put after it.
    let rt = one_worker();
    let q: Queue<u32> = Queue::unbounded();
    let (b_got, rest) = rt.block_on(move || {
        let a = parked_getter(&q);
        let b = parked_getter(&q);
        // No switch point until the join: 7 is handed to `a`, 8 and 9 are
        // put while it is on its way, then `a` is killed.
        q.put(7).unwrap();
        q.put(8).unwrap();
        q.put(9).unwrap();
        a.kill();
        assert!(a.join().unwrap_err().is_killed());
        let b_got = join_soon(b);
        q.close();
        (b_got, q.iter().collect::<Vec<_>>())
    });
    assert_eq!(b_got, Ok(7));
    assert_eq!(rest, [8, 9]);
}

#[test]
fn an_os_thread_getter_is_handed_items_in_order() {
    // An OS thread blocked in `get` is handed each item directly; a green
    // thread puts them one at a time as the getter comes back.
    let rt = one_worker();
    let q: Queue<u32> = Queue::unbounded();
    let back: Queue<()> = Queue::unbounded();
    let getter = std::thread::spawn({
        let (q, back) = (q.clone(), back.clone());
        move || {
            let mut got = Vec::new();
            while let Ok(v) = q.get() {
                got.push(v);
                back.put(()).unwrap();
            }
            got
        }
    });
    rt.block_on(move || {
        for i in 0..200 {
            wait_until("the OS thread waits in get", || getters(&q) == 1);
            q.put(i).unwrap();
            back.get().unwrap();
        }
        q.close();
    });
    assert_eq!(getter.join().unwrap(), (0..200).collect::<Vec<_>>());
}

#[test]
fn a_getter_whose_timeout_expires_after_being_notified_hands_the_item_on() {
    let rt = one_worker();
    let q: Queue<u32> = Queue::unbounded();
    let (dropped, guard) = DropCounter::new();
    let (a_result, b_result) = rt.block_on(move || {
        let a = grove::spawn({
            let q = q.clone();
            move || {
                grove::timeout(Duration::from_millis(30), || {
                    let _g = guard;
                    q.get()
                })
            }
        });
        wait_parked(a.id(), "queue");
        let b = grove::spawn({
            let q = q.clone();
            move || q.get()
        });
        wait_parked(b.id(), "queue");
        // Hold the only worker past `a`'s deadline, then notify it: when it
        // runs, its timeout unwinds it before it can take the item.
        spin_until(Instant::now() + Duration::from_millis(40));
        q.put(7).unwrap();
        (a.join().unwrap(), join_soon(b))
    });
    assert!(a_result.is_err(), "a's timeout fired: {a_result:?}");
    assert_eq!(b_result, Ok(7));
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn timeout_while_parked_in_get_on_an_os_thread() {
    let q: Queue<u8> = Queue::unbounded();
    let (dropped, guard) = DropCounter::new();
    let r = grove::timeout(Duration::from_millis(20), || {
        let _g = guard;
        q.get()
    });
    assert!(r.is_err());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(getters(&q), 0, "the entry was removed");
    q.put(1).unwrap();
    assert_eq!(q.get(), Ok(1));
}

#[test]
fn kill_while_parked_in_put_then_another_putter_still_puts() {
    let q = Queue::bounded(1);
    q.put("full").unwrap();
    let (dropped, guard) = DropCounter::new();
    let a = grove::spawn({
        let q = q.clone();
        move || {
            let _g = guard;
            q.put("a")
        }
    });
    wait_parked(a.id(), "queue");
    let b = grove::spawn({
        let q = q.clone();
        move || q.put("b")
    });
    wait_parked(b.id(), "queue");
    a.kill();
    assert!(a.join().unwrap_err().is_killed());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(q.get(), Ok("full"));
    b.join().unwrap().unwrap();
    assert_eq!(q.get(), Ok("b"));
    assert!(q.is_empty());
}

#[test]
fn a_putter_killed_after_being_notified_hands_the_room_on() {
    let rt = one_worker();
    let q = Queue::bounded(1);
    let (dropped, guard) = DropCounter::new();
    let left = rt.block_on(move || {
        q.put("full").unwrap();
        let a = grove::spawn({
            let q = q.clone();
            move || {
                let _g = guard;
                q.put("a")
            }
        });
        wait_parked(a.id(), "queue");
        let b = grove::spawn({
            let q = q.clone();
            move || q.put("b")
        });
        wait_parked(b.id(), "queue");
        // `a` is notified of the room, then killed before it can use it.
        assert_eq!(q.get(), Ok("full"));
        a.kill();
        assert!(a.join().unwrap_err().is_killed());
        join_soon(b).unwrap();
        q.close();
        q.iter().collect::<Vec<_>>()
    });
    assert_eq!(left, ["b"]);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn timeout_while_parked_in_put() {
    let q = Queue::bounded(1);
    q.put(0).unwrap();
    let (dropped, guard) = DropCounter::new();
    let q2 = q.clone();
    let r = grove::spawn(move || {
        grove::timeout(Duration::from_millis(20), || {
            let _g = guard;
            q2.put(1)
        })
    })
    .join()
    .unwrap();
    assert!(r.is_err());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(putters(&q), 0);
    assert_eq!(q.get(), Ok(0));
    assert!(q.is_empty());
}

/// 200,000 messages from 4 producers (2 green threads, 2 OS threads) to 2
/// consumers (a green thread and this OS thread) through one bounded queue
/// on a 2-worker runtime: none lost, none duplicated, each producer's
/// messages in order.
#[test]
fn cross_worker_mpmc_stress() {
    const PER_PRODUCER: u32 = 50_000;
    let rt = two_workers();
    let q: Queue<(u8, u32)> = Queue::bounded(64);

    let produce = |p: u8, q: Queue<(u8, u32)>| {
        move || {
            for i in 0..PER_PRODUCER {
                q.put((p, i)).unwrap();
            }
        }
    };
    let green_producers: Vec<_> = (0..2).map(|p| rt.spawn(produce(p, q.clone()))).collect();
    let os_producers: Vec<_> = (2..4)
        .map(|p| std::thread::spawn(produce(p, q.clone())))
        .collect();
    let green_consumer = rt.spawn({
        let q = q.clone();
        move || q.iter().collect::<Vec<_>>()
    });
    let closer = std::thread::spawn({
        let q = q.clone();
        move || {
            for h in green_producers {
                h.join().unwrap();
            }
            for h in os_producers {
                h.join().unwrap();
            }
            q.close();
        }
    });
    let mine: Vec<_> = q.iter().collect();
    closer.join().unwrap();
    let theirs = green_consumer.join().unwrap();

    for got in [&mine, &theirs] {
        let mut next_min = [0u32; 4];
        for &(p, i) in got {
            assert!(i >= next_min[p as usize], "producer {p} out of order");
            next_min[p as usize] = i + 1;
        }
    }
    let all: HashSet<(u8, u32)> = mine.iter().chain(&theirs).copied().collect();
    assert_eq!(
        mine.len() + theirs.len(),
        4 * PER_PRODUCER as usize,
        "count"
    );
    assert_eq!(all.len(), 4 * PER_PRODUCER as usize, "no duplicates");
    drop(rt);
}

/// Wait lists borrow their waiters (no reference count), and a notifier
/// wakes under the queue's lock: a getter that leaves while an OS thread
/// puts may be freed the moment it ends, and nothing may touch it after.
/// Detached getters on two workers (so nothing but the runtime keeps them
/// alive) give up through `grove::timeout` after 0–300 µs while items
/// arrive: every item is got exactly once or is still in the queue, in
/// every round.
#[test]
fn getters_leaving_while_items_arrive_lose_nothing() {
    const ROUNDS: usize = 20;
    const GETTERS: usize = 32;
    let rt = two_workers();
    for round in 0..ROUNDS {
        let q: Queue<usize> = Queue::unbounded();
        let got: Queue<usize> = Queue::unbounded();
        let ended = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for g in 0..GETTERS {
            let patience = Duration::from_micros(((round * 7 + g * 13) % 300) as u64);
            drop(rt.spawn({
                let (q, got, ended) = (q.clone(), got.clone(), ended.clone());
                move || {
                    let _end = Ended(ended);
                    if let Ok(Ok(v)) = grove::timeout(patience, || q.get()) {
                        got.put(v).unwrap();
                    }
                }
            }));
        }
        let putter = std::thread::spawn({
            let q = q.clone();
            move || {
                for i in 0..GETTERS {
                    q.put(i).unwrap();
                    if i % 4 == 0 {
                        std::thread::sleep(Duration::from_micros(20));
                    }
                }
            }
        });
        putter.join().unwrap();
        wait_until("every getter ended", || {
            ended.load(Ordering::Acquire) == GETTERS
        });
        let mut all: Vec<usize> = std::iter::from_fn(|| got.try_get().ok()).collect();
        all.extend(std::iter::from_fn(|| q.try_get().ok()));
        all.sort_unstable();
        assert_eq!(all, (0..GETTERS).collect::<Vec<_>>(), "round {round}");
    }
    drop(rt);
}

/// Counts a green thread's end, however it ends.
struct Ended(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Release);
    }
}
