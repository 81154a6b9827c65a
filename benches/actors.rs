//! grove-actors' side of the peer micro-benchmarks
//! (`../shared/peers/micro`): the ring and pingpong workloads with actors
//! and mailboxes instead of green threads and queues, printing `RESULT`
//! lines with the system name `grove-actors`.
//!
//!     cargo bench --bench actors                      # every case, once each
//!     cargo bench --bench actors -- <workload> <workers> [N] [M]
//!
//! Workloads (the peers' definitions, see their README):
//! * `ring` / `ring_mt` / `ring_build` / `ring_mem` (N=10,000 actors,
//!   M=100 laps; `ring_mem` N=100,000, M=1): actor k forwards to actor
//!   k+1, the last to the first; one token (the hops still to go) makes
//!   N*M hops, and the actor that receives 0 tells the driver. Reported:
//!   ns per hop, build ns per actor (spawning the N actors and filling in
//!   the table of their addresses), or RSS growth in KiB per actor.
//! * `pingpong` / `pingpong_mt` (N=1,000,000 round trips): two actors
//!   exchange an integer; ns per one-way hop.
//! * `ring_shuffled` (grove's own, not a peers' case; run it by hand:
//!   `actors ring_shuffled 1`): the ring, but each actor forwards to the
//!   next of a fixed pseudo-random order, so consecutive hops touch actors
//!   spawned far apart, as messages between a real program's actors do.
//!
//! The driver is itself an actor. Without arguments each case runs in a
//! fresh child process, as the peers' `run.sh` does.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use grove::actors::{self, Addr, Ctx};

mod util;

use util::{proc_kib, Report};

const SYSTEM: &str = "grove-actors";

/// A ring actor's mailbox: the token, the hops still to go.
type Node = usize;

/// The ring's addresses, filled in once every actor is spawned (an
/// address exists only once its actor does).
type Slots = Arc<Vec<OnceLock<Addr<Node>>>>;

/// A ring actor: forwards to actor `to` (k+1 in the peers' ring).
fn node(ctx: &mut Ctx<Node>, slots: Slots, to: usize, done: Addr<Node>) {
    let slot = &slots[to];
    let next = loop {
        match slot.get() {
            Some(a) => break a.clone(),
            // Started (on another worker) before the ring was complete.
            None => grove::yield_now(),
        }
    };
    drop(slots);
    loop {
        match ctx.receive() {
            0 => done.send(0),
            v => next.send(v - 1),
        }
    }
}

/// Whom each of `n` ring actors forwards to: k+1 (the last to the first),
/// as in the peers' ring; or, `shuffled`, the next of a fixed
/// pseudo-random order of all `n`, so that consecutive hops land on
/// actors spawned far apart (as messages between actors of a real
/// program do), not on neighbours in memory.
fn successors(n: usize, shuffled: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    if shuffled {
        // Fisher–Yates with xorshift64, a fixed seed: the same ring every run.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in (1..n).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
    }
    let mut next = vec![0; n];
    for i in 0..n {
        next[order[i]] = order[(i + 1) % n];
    }
    next
}

fn bench_ring(ctx: &mut Ctx<Node>, workload: &str, n: usize, laps: usize) -> Report {
    let hops = n * laps;
    let rss0 = proc_kib("VmRSS");
    let done = ctx.addr();

    // Actor k forwards to actor next[k] (k+1, the last to the first, as in
    // the peers' rings): the actors are spawned first, then the table of
    // their addresses is filled in (the peers likewise make all channels
    // first).
    let next = successors(n, workload == "ring_shuffled");
    let t0 = Instant::now();
    let slots: Slots = Arc::new((0..n).map(|_| OnceLock::new()).collect());
    let mut handles = Vec::with_capacity(n);
    for (k, &to) in next.iter().enumerate() {
        let (done, slots) = (done.clone(), slots.clone());
        match actors::Builder::new().spawn(move |c: &mut Ctx<Node>| node(c, slots, to, done)) {
            Ok(h) => handles.push(h),
            Err(e) => {
                println!("INFO ring failed after {k} actors: {e}");
                std::process::exit(1);
            }
        }
    }
    for (slot, h) in slots.iter().zip(&handles) {
        let _ = slot.set(h.addr());
    }
    let first = handles[0].addr();
    let build = t0.elapsed();

    let t1 = Instant::now();
    first.send(hops);
    while ctx.receive() != 0 {}
    let run = t1.elapsed();
    // No teardown: the process exits with the actors blocked, as the peers do.
    std::mem::forget(handles);
    util::ring_report(workload, n, laps, rss0, build, run)
}

fn bench_pingpong(rounds: usize) -> Report {
    // Pong learns ping's address once, so the messages are bare integers.
    let ping_addr: grove::sync::AsyncResult<Addr<usize>> = grove::sync::AsyncResult::new();
    let pong = actors::spawn({
        let ping_addr = ping_addr.clone();
        move |ctx: &mut Ctx<usize>| {
            let back = ping_addr.get();
            loop {
                let v = ctx.receive();
                if v == usize::MAX {
                    return;
                }
                back.send(v + 1);
            }
        }
    });
    let pong_addr = pong.addr();
    let ping = actors::spawn(move |ctx: &mut Ctx<usize>| {
        ping_addr.set(ctx.addr()).expect("set once");
        let mut v = 0usize;
        let t0 = Instant::now();
        for _ in 0..rounds {
            pong_addr.send(v);
            v = ctx.receive();
        }
        let el = t0.elapsed();
        assert_eq!(v, rounds);
        pong_addr.send(usize::MAX);
        el
    });
    let el = ping.wait().expect("ping ended abnormally");
    pong.wait().expect("pong ended abnormally");
    util::pingpong_report(rounds, el)
}

/// The standard cases (with the sizes that fit under the default
/// `vm.max_map_count`, as for may).
const CASES: &[&str] = &[
    "pingpong 1",
    "pingpong_mt 2",
    "ring 1",
    "ring_mt 2",
    "ring_build 1",
    "ring_mem 1 100000",
    "ring_mem 1 1000000",
    "ring_mem 1 30000",
];

fn main() {
    util::main(
        SYSTEM,
        CASES,
        "usage: actors <pingpong|pingpong_mt|ring|ring_mt|ring_shuffled|ring_build|ring_mem> <workers> [N] [M]",
        |c| match c.workload.as_str() {
            "pingpong" | "pingpong_mt" => Some(bench_pingpong(c.n.unwrap_or(1_000_000))),
            "ring" | "ring_mt" | "ring_shuffled" | "ring_build" | "ring_mem" => {
                let (n, m) = if c.workload == "ring_mem" {
                    (c.n.unwrap_or(100_000), c.m.unwrap_or(1))
                } else {
                    (c.n.unwrap_or(10_000), c.m.unwrap_or(100))
                };
                let wl = c.workload;
                let driver = actors::spawn(move |ctx: &mut Ctx<Node>| bench_ring(ctx, &wl, n, m));
                Some(driver.wait().expect("ring driver ended abnormally"))
            }
            _ => None,
        },
    );
}
