//! Routers: round-robin deals in order; `Random::with_seed` repeats its
//! choices and reaches every routee; broadcast reaches all; consistent
//! hashing sends a key to one routee, spreads keys over all of them, and
//! moves only the keys of a routee that is removed; a `Pool` of workers
//! answers calls, restarts a crashed worker and keeps answering, and
//! `stop()` ends every worker.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use grove::actors::router::{Broadcast, ConsistentHash, Pool, Random, RoundRobin};
use grove::actors::{self, ActorHandle, ActorId, Addr, CallError, Ctx, Down, ExitReason, Reply};

/// Long enough never to be reached on a success path.
const LONG: Duration = Duration::from_secs(10);

/// A routee that collects `n` messages and returns them in arrival order.
fn collector(n: usize) -> ActorHandle<u32, Vec<u32>> {
    actors::spawn(move |ctx: &mut Ctx<u32>| (0..n).map(|_| ctx.receive()).collect())
}

/// Routees that are never sent anything: only their addresses matter.
fn idlers(n: usize) -> Vec<ActorHandle<u32, ()>> {
    (0..n)
        .map(|_| {
            actors::spawn(|ctx: &mut Ctx<u32>| {
                ctx.receive();
            })
        })
        .collect()
}

fn addrs<M: Send + 'static, R>(hs: &[ActorHandle<M, R>]) -> Vec<Addr<M>> {
    hs.iter().map(ActorHandle::addr).collect()
}

fn end<R>(hs: Vec<ActorHandle<u32, R>>) {
    for h in hs {
        h.kill();
        let _ = h.wait();
    }
}

#[test]
fn round_robin_deals_in_order() {
    let hs: Vec<_> = (0..3).map(|_| collector(4)).collect();
    let rr = RoundRobin::new(addrs(&hs));
    assert_eq!(rr.routees(), addrs(&hs).as_slice());
    for n in 0..12 {
        rr.send(n);
    }
    let got: Vec<Vec<u32>> = hs.into_iter().map(|h| h.wait().unwrap()).collect();
    assert_eq!(got, [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8, 11]]);

    // pick() walks the same cycle.
    let hs = idlers(3);
    let rr = RoundRobin::new(addrs(&hs));
    let picks: Vec<ActorId> = (0..7).map(|_| rr.pick().unwrap().id()).collect();
    let ids: Vec<ActorId> = hs.iter().map(ActorHandle::id).collect();
    assert_eq!(
        picks,
        [ids[0], ids[1], ids[2], ids[0], ids[1], ids[2], ids[0]]
    );
    end(hs);
}

#[test]
fn round_robin_calls_and_an_empty_router() {
    let hs: Vec<_> = (0..2u32)
        .map(|k| actors::spawn(move |ctx: &mut Ctx<Reply<u32>>| ctx.receive().send(k)))
        .collect();
    let rr = RoundRobin::new(addrs(&hs));
    assert_eq!(rr.call(|r| r, LONG), Ok(0));
    assert_eq!(rr.call(|r| r, LONG), Ok(1));
    for h in hs {
        h.wait().unwrap();
    }

    // Over no routees: nothing to pick, a call is Dead, a send is dropped.
    let empty: RoundRobin<Reply<u32>> = RoundRobin::new(Vec::new());
    assert!(empty.pick().is_none());
    assert_eq!(empty.call(|r| r, LONG), Err(CallError::Dead));
    RoundRobin::<u32>::new(Vec::new()).send(1);
}

#[test]
fn random_with_a_seed_repeats_itself_and_reaches_every_routee() {
    let hs = idlers(4);
    let picks = |seed: u64| -> Vec<ActorId> {
        let r = Random::with_seed(addrs(&hs), seed);
        (0..400).map(|_| r.pick().unwrap().id()).collect()
    };
    let a = picks(7);
    assert_eq!(a, picks(7), "same seed, same choices");
    assert_ne!(a, picks(8), "another seed, other choices");
    let mut counts: HashMap<ActorId, usize> = HashMap::new();
    for id in &a {
        *counts.entry(*id).or_default() += 1;
    }
    assert_eq!(counts.len(), 4, "every routee picked");
    // Roughly uniform: 100 expected each (fixed by the seed, so this is
    // a property of the generator, not luck).
    assert!(counts.values().all(|&c| c >= 50), "{counts:?}");

    // send() goes where pick() would.
    let c: Vec<_> = (0..3).map(|_| collector(1)).collect();
    let first = Random::with_seed(addrs(&c), 42).pick().unwrap().id();
    Random::with_seed(addrs(&c), 42).send(5);
    for h in c {
        if h.id() == first {
            assert_eq!(h.wait().unwrap(), [5]);
        } else {
            assert!(h.addr().is_alive());
            h.kill();
            assert_eq!(h.wait(), Err(ExitReason::Killed), "it got nothing");
        }
    }
    end(hs);
}

#[test]
fn broadcast_reaches_every_routee() {
    let hs: Vec<_> = (0..4).map(|_| collector(2)).collect();
    let b = Broadcast::new(addrs(&hs));
    b.send(1);
    b.send(2);
    for h in hs {
        assert_eq!(h.wait().unwrap(), [1, 2]);
    }
    Broadcast::<u32>::new(Vec::new()).send(3); // nobody: nothing happens
}

#[test]
fn consistent_hash_is_stable_and_spreads_keys() {
    const KEYS: usize = 2000;
    let hs = idlers(4);
    let ch = ConsistentHash::new(addrs(&hs));
    let owner = |ch: &ConsistentHash<u32>, k: usize| ch.pick(&format!("key-{k}")).unwrap().id();

    // The same key, the same routee — also for a router built over the same
    // routees in another order.
    let mut reversed = addrs(&hs);
    reversed.reverse();
    let ch_rev = ConsistentHash::new(reversed);
    for k in 0..KEYS {
        assert_eq!(owner(&ch, k), owner(&ch, k));
        assert_eq!(owner(&ch, k), owner(&ch_rev, k), "key-{k}");
    }

    // Spread over all of them: 500 each expected; with 64 points per
    // routee, a share below 5% is astronomically unlikely for any ids.
    let mut counts: HashMap<ActorId, usize> = HashMap::new();
    for k in 0..KEYS {
        *counts.entry(owner(&ch, k)).or_default() += 1;
    }
    assert_eq!(counts.len(), 4, "{counts:?}");
    assert!(counts.values().all(|&c| c >= KEYS / 20), "{counts:?}");

    // send() goes to the owner.
    let c: Vec<_> = (0..3).map(|_| collector(1)).collect();
    let ch3 = ConsistentHash::new(addrs(&c));
    let target = ch3.pick(&"user-42").unwrap().id();
    ch3.send(&"user-42", 42);
    for h in c {
        let id = h.id();
        if id == target {
            assert_eq!(h.wait().unwrap(), [42]);
        } else {
            h.kill();
            assert_eq!(h.wait(), Err(ExitReason::Killed), "it got nothing");
        }
    }
    end(hs);
}

#[test]
fn removing_a_routee_moves_only_its_keys() {
    const KEYS: usize = 2000;
    let hs = idlers(5);
    let all = ConsistentHash::new(addrs(&hs));
    let removed = hs[2].id();
    let fewer = ConsistentHash::new(
        addrs(&hs)
            .into_iter()
            .filter(|a| a.id() != removed)
            .collect(),
    );
    let mut moved = 0;
    let mut landed = HashSet::new();
    for k in 0..KEYS {
        let key = format!("key-{k}");
        let before = all.pick(&key).unwrap().id();
        let after = fewer.pick(&key).unwrap().id();
        assert_ne!(after, removed);
        if before == removed {
            moved += 1;
            landed.insert(after);
        } else {
            assert_eq!(after, before, "{key} moved off a routee that stayed");
        }
    }
    assert!(moved > 0, "the removed routee owned no key");
    assert!(
        landed.len() > 1,
        "its keys all went to one routee: {landed:?}"
    );
    end(hs);
}

/// A pool worker's mailbox.
enum Job {
    /// Answers n * n and the worker's id.
    Square(u64, Reply<(u64, ActorId)>),
    /// Panics mid-call.
    Crash(Reply<(u64, ActorId)>),
}

fn pool_worker(ctx: &mut Ctx<Job>) {
    loop {
        match ctx.receive() {
            Job::Square(n, r) => r.send((n * n, ctx.id())),
            Job::Crash(_r) => panic!("pool worker crashed"),
        }
    }
}

fn square(pool: &Pool<Job>, n: u64) -> (u64, ActorId) {
    pool.call(|r| Job::Square(n, r), LONG).unwrap()
}

/// How `target` ended, waiting with a monitor.
fn end_of<M: Send + 'static>(target: &Addr<M>) -> ExitReason {
    let target = target.clone();
    actors::spawn(move |ctx: &mut Ctx<Down>| {
        ctx.monitor(&target);
        ctx.receive().reason
    })
    .wait()
    .unwrap()
}

#[test]
fn a_pool_answers_restarts_a_crashed_worker_and_stops() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    rt.block_on(|| {
        let pool = Pool::new(3, pool_worker).unwrap();
        assert_eq!(pool.len(), 3);
        assert!(!pool.is_empty());
        let workers = pool.workers();
        let ids: HashSet<ActorId> = workers.iter().map(Addr::id).collect();
        assert_eq!(ids.len(), 3);

        // Calls are dealt over all the workers, and answered.
        let mut answered = HashSet::new();
        for n in 1..=6 {
            let (sq, id) = square(&pool, n);
            assert_eq!(sq, n * n);
            answered.insert(id);
        }
        assert_eq!(answered, ids);

        // A worker crashes mid-call: the call says Dead, the worker is
        // restarted, and the pool keeps answering from all three.
        let victim = workers[1].clone();
        assert_eq!(victim.call(Job::Crash, LONG), Err(CallError::Dead));
        assert_eq!(
            end_of(&victim),
            ExitReason::Panic("pool worker crashed".into())
        );
        let mut restarted = false;
        for _ in 0..10_000 {
            if pool.restarts() == 1 && pool.workers().len() == 3 {
                restarted = true;
                break;
            }
            grove::yield_now();
        }
        assert!(restarted, "restarts: {}", pool.restarts());
        let now: HashSet<ActorId> = pool.workers().iter().map(Addr::id).collect();
        assert!(!now.contains(&victim.id()));
        assert_eq!(now.intersection(&ids).count(), 2, "the others kept theirs");
        let mut answered = HashSet::new();
        for n in 1..=6 {
            let (sq, id) = square(&pool, n);
            assert_eq!(sq, n * n);
            answered.insert(id);
        }
        assert_eq!(answered, now);

        // stop() ends every worker.
        let last = pool.workers();
        assert_eq!(pool.stop(), Ok(()));
        for w in &last {
            assert!(!w.is_alive());
            assert_eq!(w.exit_reason(), Some(ExitReason::Shutdown));
        }
    });
}

#[test]
fn a_pool_on_the_default_runtime_answers_from_threads() {
    let pool = std::sync::Arc::new(Pool::new(2, pool_worker).unwrap());
    let callers: Vec<_> = (0..4u64)
        .map(|t| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                (0..25u64)
                    .map(|i| square(&pool, t * 100 + i).0)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for (t, c) in (0..4u64).zip(callers) {
        let want: Vec<u64> = (0..25).map(|i| (t * 100 + i) * (t * 100 + i)).collect();
        assert_eq!(c.join().unwrap(), want);
    }
    let pool = std::sync::Arc::into_inner(pool).unwrap();
    let workers = pool.workers();
    assert_eq!(pool.stop(), Ok(()));
    assert!(workers.iter().all(|w| !w.is_alive()));
}
