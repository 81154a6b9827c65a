//! Stack sharing (`RuntimeBuilder::share_stacks_after`): green threads that
//! start once a worker holds enough stacks take the stack of one that is
//! parked, whose live bytes are copied out and back. Every frame must come
//! back exactly as it was, whatever the depth at which a green thread
//! parked and however it suspends (queue, sleep, yield, receive), and kill,
//! timeouts and panics must behave as on a stack of its own.
//!
//! Each test first checks that stacks were in fact shared (the process-wide
//! eviction count grew), so none of them passes without exercising it.

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use grove::actors::{self, Addr, Ctx};
use grove::sync::Queue;
use grove::Runtime;

fn evictions() -> u64 {
    grove::__private::stack_evictions()
}

/// A runtime whose workers share stacks past `after` of them.
fn sharing_runtime(workers: usize, after: usize) -> Runtime {
    Runtime::builder()
        .workers(workers)
        .share_stacks_after(after)
        .build()
        .unwrap()
}

/// Recurses `depth` frames, each holding a block of values made from
/// `(id, level)`; at the bottom runs `bottom` (which parks), then checks
/// every frame's block on the way back up. Returns a checksum.
fn dive(id: usize, level: usize, depth: usize, bottom: &dyn Fn()) -> u64 {
    let mut block = [0u64; 24];
    for (k, v) in block.iter_mut().enumerate() {
        *v = (id as u64) << 32 | (level as u64) << 8 | k as u64;
    }
    let block = black_box(block);
    let below = if level == depth {
        bottom();
        0
    } else {
        dive(id, level + 1, depth, bottom)
    };
    for (k, v) in block.iter().enumerate() {
        assert_eq!(
            *v,
            (id as u64) << 32 | (level as u64) << 8 | k as u64,
            "green thread {id}: frame {level} changed while it was parked"
        );
    }
    below.wrapping_add(block.iter().sum::<u64>())
}

fn expected(id: usize, depth: usize) -> u64 {
    (0..=depth)
        .map(|level| {
            (0..24u64)
                .map(|k| (id as u64) << 32 | (level as u64) << 8 | k)
                .sum::<u64>()
        })
        .fold(0u64, |a, b| a.wrapping_add(b))
}

/// 300 green threads park at depths from 0 to 40 frames, on their own
/// queues, and are woken in an order unlike their start order, five rounds,
/// with a yield and a short sleep between rounds: every frame survives.
#[test]
fn frames_survive_eviction_at_every_depth() {
    const N: usize = 300;
    const ROUNDS: usize = 5;
    let before = evictions();
    let rt = sharing_runtime(1, 4);
    let queues: Vec<Queue<usize>> = (0..N).map(|_| Queue::unbounded()).collect();
    let acks = Queue::unbounded();
    let handles: Vec<_> = (0..N)
        .map(|id| {
            let q = queues[id].clone();
            let acks = acks.clone();
            rt.spawn(move || {
                let depth = id % 41;
                let bottom = || {
                    for round in 0..ROUNDS {
                        assert_eq!(q.get().unwrap(), round);
                        grove::yield_now();
                        if round % 2 == 1 {
                            grove::sleep(Duration::from_millis(1));
                        }
                        acks.put(id).unwrap();
                    }
                };
                dive(id, 0, depth, &bottom)
            })
        })
        .collect();
    for round in 0..ROUNDS {
        // A stride coprime to N visits every green thread in a scrambled order.
        for k in 0..N {
            queues[(k * 7 + round) % N].put(round).unwrap();
        }
        let mut seen = vec![false; N];
        for _ in 0..N {
            let id = acks.get().unwrap();
            assert!(
                !seen[id],
                "green thread {id} answered twice in round {round}"
            );
            seen[id] = true;
        }
    }
    for (id, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), expected(id, id % 41));
    }
    assert!(evictions() > before, "no stack was shared");
}

/// The actor ring of the benchmarks on shared stacks: 2,000 actors, token
/// passed 5 laps, every hop counted.
#[test]
fn an_actor_ring_on_shared_stacks_delivers_every_hop() {
    const N: usize = 2_000;
    const LAPS: usize = 5;
    let before = evictions();
    let rt = sharing_runtime(1, 16);
    let hops = Arc::new(AtomicUsize::new(0));
    let h = hops.clone();
    let last = rt.block_on(move || {
        let done: Queue<usize> = Queue::unbounded();
        let d = done.clone();
        let h2 = h.clone();
        // Built back to front: each actor knows the next one's address.
        let first = actors::spawn(move |ctx: &mut Ctx<usize>| loop {
            let v: usize = ctx.receive();
            h2.fetch_add(1, Ordering::Relaxed);
            d.put(v).unwrap();
        });
        let mut next: Addr<usize> = first.addr();
        for _ in 1..N {
            let to = next.clone();
            let h = h.clone();
            let a = actors::spawn(move |ctx: &mut Ctx<usize>| loop {
                let v: usize = ctx.receive();
                h.fetch_add(1, Ordering::Relaxed);
                to.send(v + 1);
            });
            next = a.addr();
        }
        for lap in 0..LAPS {
            next.send(lap * N);
            assert_eq!(done.get().unwrap(), lap * N + N - 1);
        }
        next.send(0);
        done.get().unwrap()
    });
    assert_eq!(last, N - 1);
    assert_eq!(hops.load(Ordering::Relaxed), (LAPS + 1) * N);
    assert!(evictions() > before, "no stack was shared");
    drop(rt);
}

/// Kill reaches a green thread whose stack is copied out (parked on a
/// queue or asleep): it is restored, unwinds, and its destructors run.
#[test]
fn killing_an_evicted_green_thread_runs_its_destructors() {
    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    const N: usize = 200;
    let before = evictions();
    let rt = sharing_runtime(1, 4);
    let dropped = Arc::new(AtomicUsize::new(0));
    let parked = Queue::unbounded();
    let handles: Vec<_> = (0..N)
        .map(|i| {
            let g = Guard(dropped.clone());
            let parked = parked.clone();
            rt.spawn(move || {
                let _g = g;
                let q: Queue<()> = Queue::unbounded();
                parked.put(()).unwrap();
                if i % 2 == 0 {
                    q.get().unwrap();
                } else {
                    grove::sleep(Duration::from_secs(3600));
                }
            })
        })
        .collect();
    for _ in 0..N {
        parked.get().unwrap();
    }
    assert!(evictions() > before, "no stack was shared");
    for h in &handles {
        h.kill();
    }
    for h in handles {
        assert!(h.join().unwrap_err().is_killed());
    }
    assert_eq!(dropped.load(Ordering::SeqCst), N);
}

/// A `timeout` that expires while its green thread is evicted unwinds it
/// out of the wait; a panic on a shared stack reports its message.
#[test]
fn timeouts_and_panics_on_shared_stacks() {
    const N: usize = 100;
    let before = evictions();
    let rt = sharing_runtime(1, 4);
    let handles: Vec<_> = (0..N)
        .map(|i| {
            rt.spawn(move || {
                let q: Queue<()> = Queue::unbounded();
                let r = grove::timeout(Duration::from_millis(20), || q.get());
                assert!(r.is_err(), "the queue stayed empty");
                if i % 3 == 0 {
                    panic!("boom {i}");
                }
                i
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok(v) => assert_eq!(v, i),
            Err(e) => {
                assert_eq!(i % 3, 0);
                assert!(e.is_panic());
                assert_eq!(e.panic_message(), Some(format!("boom {i}").as_str()));
            }
        }
    }
    assert!(evictions() > before, "no stack was shared");
}

/// Two workers, both sharing: green threads exchange messages across
/// workers and with the test thread; none is lost or duplicated.
#[test]
fn sharing_on_two_workers_loses_nothing() {
    const N: usize = 400;
    const MSGS: usize = 20;
    let before = evictions();
    let rt = sharing_runtime(2, 4);
    let inboxes: Vec<Queue<usize>> = (0..N).map(|_| Queue::unbounded()).collect();
    let out = Queue::unbounded();
    let handles: Vec<_> = (0..N)
        .map(|id| {
            let me = inboxes[id].clone();
            let peer = inboxes[(id + 1) % N].clone();
            let out = out.clone();
            rt.spawn(move || {
                let bottom = || {
                    for m in 0..MSGS {
                        peer.put(m).unwrap();
                        let got = me.get().unwrap();
                        out.put(got).unwrap();
                    }
                };
                dive(id, 0, id % 17, &bottom)
            })
        })
        .collect();
    let mut counts = [0usize; MSGS];
    for _ in 0..N * MSGS {
        counts[out.get().unwrap()] += 1;
    }
    assert!(counts.iter().all(|&c| c == N), "{counts:?}");
    for (id, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), expected(id, id % 17));
    }
    assert!(evictions() > before, "no stack was shared");
}
