//! When a worker shares stacks by default: past 2,048 green threads, the
//! stacks of those that park with little on them (at most 1 KiB live, as
//! an actor in `receive` or a green thread on a `Queue`); past 16,384,
//! every one's. A green thread that parks with a large buffer on its stack
//! keeps a stack of its own below that, since copying the buffer out and
//! back at every switch would cost more than the stack's page. Green
//! threads that pinned their stacks before the threshold (a `Queue`
//! getter's hand-off) are never taken. An explicit `share_stacks_after(n)`
//! is one threshold for all.
//!
//! The eviction count is process-wide, so this file holds one test, which
//! runs its cases one after another: nothing else in this process shares
//! stacks meanwhile.

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use grove::sync::{Event, Queue};
use grove::Runtime;

/// Above the default lower threshold (2,048), below the upper (16,384).
const TASKS: usize = 3_000;

fn evictions() -> u64 {
    grove::__private::stack_evictions()
}

/// Spawns `n` green threads, the i-th running `body(i)` (which parks),
/// and returns their handles once every one of them has parked: on one
/// worker, the spawner runs again only after the last has parked too.
fn spawn_parked<T: Send + 'static>(
    n: usize,
    body: impl Fn(usize) -> Box<dyn FnOnce() -> T + Send>,
) -> Vec<grove::JoinHandle<T>> {
    let all_parked = Event::new();
    let started = Arc::new(AtomicUsize::new(0));
    let handles = (0..n)
        .map(|i| {
            let (all_parked, started, f) = (all_parked.clone(), started.clone(), body(i));
            grove::spawn(move || {
                if started.fetch_add(1, Ordering::Relaxed) + 1 == n {
                    all_parked.set();
                }
                f()
            })
        })
        .collect();
    all_parked.wait();
    handles
}

/// Spawns `TASKS` green threads that each run `body` (which parks on
/// `release`), waits until all have parked, and returns how many
/// evictions happened by then; then releases and joins them. The spawner
/// keeps 4 KiB live on its own stack, so it is never the small one a
/// starting green thread shares.
fn park_many(rt: &Runtime, body: fn(&Event, usize) -> usize) -> u64 {
    rt.block_on(move || {
        let own = black_box([7u8; 4096]);
        let before = evictions();
        let release = Event::new();
        let handles = spawn_parked(TASKS, |i| {
            let release = release.clone();
            Box::new(move || body(&release, i))
        });
        let during = evictions() - before;
        release.set();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), i % 256);
        }
        assert_eq!(black_box(&own)[4095], 7);
        during
    })
}

/// Parks with 4 KiB of its frame live (a connection's read buffer).
fn big(release: &Event, i: usize) -> usize {
    let buf = black_box([i as u8; 4096]);
    release.wait();
    black_box(&buf)[4095] as usize
}

/// Parks with only the wait's frames live.
fn small(release: &Event, i: usize) -> usize {
    release.wait();
    i % 256
}

/// 2,000 green threads wait on `Queue`s below the lower threshold, each
/// lending its stack for the queue's hand-off (pinned); then 1,000 more,
/// past it, share stacks among themselves (a pinned one is never taken).
/// Every value reaches its getter. Returns the evictions of the second
/// phase.
fn pinned_then_shared(rt: &Runtime) -> u64 {
    rt.block_on(|| {
        let own = black_box([7u8; 4096]);
        let phase = |n: usize, base: usize| {
            let queues: Vec<Queue<usize>> = (0..n).map(|_| Queue::unbounded()).collect();
            let handles = spawn_parked(n, |i| {
                let q = queues[i].clone();
                Box::new(move || q.get().unwrap())
            });
            (queues, handles, base)
        };
        let first = phase(2_000, 0);
        let before = evictions();
        let second = phase(1_000, 2_000);
        let shared = evictions() - before;
        for (queues, handles, base) in [first, second] {
            for (i, q) in queues.iter().enumerate() {
                q.put(base + i).unwrap();
            }
            for (i, h) in handles.into_iter().enumerate() {
                assert_eq!(h.join().unwrap(), base + i);
            }
        }
        assert_eq!(black_box(&own)[4095], 7);
        shared
    })
}

#[test]
fn small_parked_green_threads_share_past_2048_and_large_ones_do_not() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    assert_eq!(
        park_many(&rt, big),
        0,
        "a green thread with 4 KiB live keeps its own stack below 16,384"
    );
    assert!(
        park_many(&rt, small) > 0,
        "small parked green threads share past 2,048"
    );
    assert!(
        pinned_then_shared(&rt) > 0,
        "past 2,048, green threads on queues share too, around the pinned ones"
    );
    drop(rt);

    let explicit = Runtime::builder()
        .workers(1)
        .share_stacks_after(100_000)
        .build()
        .unwrap();
    assert_eq!(
        park_many(&explicit, small),
        0,
        "an explicit threshold holds for small green threads too"
    );
}
