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

/// Actor k of the ring: forwards to actor k+1 (the last to the first).
fn node(ctx: &mut Ctx<Node>, slots: Slots, k: usize, done: Addr<Node>) {
    let slot = &slots[(k + 1) % slots.len()];
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

fn bench_ring(ctx: &mut Ctx<Node>, workload: &str, n: usize, laps: usize) -> Report {
    let hops = n * laps;
    let rss0 = proc_kib("VmRSS");
    let done = ctx.addr();

    // Actor k forwards to actor k+1 (the last to the first), as in the
    // peers' rings: the actors are spawned first, then the table of their
    // addresses is filled in (the peers likewise make all channels first).
    let t0 = Instant::now();
    let slots: Slots = Arc::new((0..n).map(|_| OnceLock::new()).collect());
    let mut handles = Vec::with_capacity(n);
    for k in 0..n {
        let (done, slots) = (done.clone(), slots.clone());
        match actors::Builder::new().spawn(move |c: &mut Ctx<Node>| node(c, slots, k, done)) {
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
        "usage: actors <pingpong|pingpong_mt|ring|ring_mt|ring_build|ring_mem> <workers> [N] [M]",
        |c| match c.workload.as_str() {
            "pingpong" | "pingpong_mt" => Some(bench_pingpong(c.n.unwrap_or(1_000_000))),
            "ring" | "ring_mt" | "ring_build" | "ring_mem" => {
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
