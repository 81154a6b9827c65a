//! grove's side of the peer micro-benchmarks (`../shared/peers/micro`): the
//! same workloads, the same command line, the same `RESULT` lines.
//!
//!     cargo bench --bench micro                      # every case, once each
//!     cargo bench --bench micro -- <workload> <workers> [N] [M]
//!
//! Workloads (see the peers' README for the exact definitions):
//! * `spawn` / `spawn_mt` (N=100,000): spawn N green threads returning a
//!   small int, then join all; reported: the cold round, ns per spawn+join.
//! * `pingpong` / `pingpong_mt` (N=1,000,000 round trips): two green threads
//!   exchange an integer through two `Queue`s; ns per one-way hop.
//! * `ring` / `ring_mt` / `ring_build` / `ring_mem` (N=10,000 nodes, M=100
//!   laps): the ring of `examples/ring.rs`; ns per hop, build ns per node,
//!   or RSS growth in KiB per node.
//! * `idle` (N=100,000): N green threads parked on their own `Queue`; RSS
//!   growth in KiB per green thread.
//!
//! The driver runs as a green thread, as in every peer. Without arguments
//! each standard case runs in a fresh child process, as `run.sh` does.

use std::time::{Duration, Instant};

use grove::sync::Queue;

mod util;

use util::{ns, proc_kib, Report};

const SYSTEM: &str = "grove";

fn spawn_once(n: usize) -> Duration {
    let t0 = Instant::now();
    let hs: Vec<_> = (0..n).map(|_| grove::spawn(|| 1usize)).collect();
    let mut sum = 0usize;
    for h in hs {
        sum += h.join().expect("green thread panicked");
    }
    let el = t0.elapsed();
    assert_eq!(sum, n);
    el
}

fn bench_spawn(n: usize) -> Report {
    let cold = spawn_once(n);
    let mut warm: Vec<f64> = (0..3).map(|_| ns(spawn_once(n)) / n as f64).collect();
    warm.sort_by(|a, b| a.total_cmp(b));
    let cold_ns = ns(cold) / n as f64;
    Report {
        info: format!(
            "INFO spawn n={n} cold_ns_per={cold_ns:.1} warm_median_ns_per={:.1} vmhwm_kib={}",
            warm[1],
            proc_kib("VmHWM")
        ),
        value: cold_ns,
        unit: "ns/spawn+join",
    }
}

fn bench_pingpong(rounds: usize) -> Report {
    let a: Queue<usize> = Queue::unbounded();
    let b: Queue<usize> = Queue::unbounded();
    let pong = grove::spawn({
        let (a, b) = (a.clone(), b.clone());
        move || {
            while let Ok(v) = a.get() {
                if b.put(v + 1).is_err() {
                    break;
                }
            }
        }
    });
    let ping = grove::spawn(move || {
        let mut v = 0usize;
        let t0 = Instant::now();
        for _ in 0..rounds {
            a.put(v).unwrap();
            v = b.get().unwrap();
        }
        let el = t0.elapsed();
        assert_eq!(v, rounds);
        a.close();
        el
    });
    let el = ping.join().expect("ping panicked");
    pong.join().expect("pong panicked");
    util::pingpong_report(rounds, el)
}

fn bench_ring(workload: &str, n: usize, laps: usize) -> Report {
    let hops = n * laps;
    let rss0 = proc_kib("VmRSS");
    let done: Queue<()> = Queue::unbounded();

    let t0 = Instant::now();
    let queues: Vec<Queue<usize>> = (0..n).map(|_| Queue::unbounded()).collect();
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let inbox = queues[i].clone();
        let out = queues[(i + 1) % n].clone();
        let done = done.clone();
        let h = grove::Builder::new().spawn(move || {
            while let Ok(v) = inbox.get() {
                if v == 0 {
                    let _ = done.put(());
                } else {
                    let _ = out.put(v - 1);
                }
            }
        });
        match h {
            Ok(h) => handles.push(h),
            Err(e) => {
                println!("INFO ring failed after {i} nodes: {e}");
                std::process::exit(1);
            }
        }
    }
    let build = t0.elapsed();

    let t1 = Instant::now();
    queues[0].put(hops).unwrap();
    done.get().unwrap();
    let run = t1.elapsed();
    // No teardown: the process exits with the nodes blocked, as the peers do.
    std::mem::forget(handles);
    std::mem::forget(queues);
    util::ring_report(workload, n, laps, rss0, build, run)
}

fn bench_idle(n: usize) -> Report {
    let rss0 = proc_kib("VmRSS");
    let ready: Queue<()> = Queue::unbounded();
    let t0 = Instant::now();
    let mut inboxes = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let inbox: Queue<usize> = Queue::unbounded();
        inboxes.push(inbox.clone());
        let ready = ready.clone();
        let h = grove::Builder::new().spawn(move || {
            ready.put(()).unwrap();
            inbox.get().unwrap() // parks here
        });
        match h {
            Ok(h) => handles.push(h),
            Err(e) => {
                println!("INFO idle failed after {i} green threads: {e}");
                std::process::exit(1);
            }
        }
    }
    for _ in 0..n {
        ready.get().unwrap();
    }
    let up = t0.elapsed();
    let rss1 = proc_kib("VmRSS");

    let t1 = Instant::now();
    for q in &inboxes {
        q.put(1).unwrap();
    }
    let mut sum = 0;
    for h in handles {
        sum += h.join().expect("green thread panicked");
    }
    assert_eq!(sum, n);
    let release = t1.elapsed();
    Report {
        info: format!(
            "INFO idle n={n} spawn_ready_ms={:.1} release_join_ms={:.1} rss_before_kib={rss0} rss_blocked_kib={rss1} vmhwm_kib={}",
            ns(up) / 1e6,
            ns(release) / 1e6,
            proc_kib("VmHWM")
        ),
        value: (rss1 - rss0) as f64 / n as f64,
        unit: "KiB/thread",
    }
}

/// The standard cases, as the peers' `run.sh` lists them (plus the sizes
/// that fit under the default `vm.max_map_count`, as for may).
const CASES: &[&str] = &[
    "spawn 1",
    "spawn_mt 2",
    "pingpong 1",
    "pingpong_mt 2",
    "ring 1",
    "ring_mt 2",
    "ring_build 1",
    "ring_mem 1 100000",
    "ring_mem 1 1000000",
    "ring_mem 1 30000",
    "idle 1",
    "idle 1 30000",
];

fn main() {
    util::main(
        SYSTEM,
        CASES,
        "usage: micro <spawn|spawn_mt|pingpong|pingpong_mt|ring|ring_mt|ring_build|ring_mem|idle> <workers> [N] [M]",
        |c| match c.workload.as_str() {
            "spawn" | "spawn_mt" => Some(bench_spawn(c.n.unwrap_or(100_000))),
            "pingpong" | "pingpong_mt" => Some(bench_pingpong(c.n.unwrap_or(1_000_000))),
            "ring" | "ring_mt" | "ring_build" => Some(bench_ring(
                &c.workload,
                c.n.unwrap_or(10_000),
                c.m.unwrap_or(100),
            )),
            "ring_mem" => Some(bench_ring(
                &c.workload,
                c.n.unwrap_or(100_000),
                c.m.unwrap_or(1),
            )),
            "idle" => Some(bench_idle(c.n.unwrap_or(100_000))),
            _ => None,
        },
    );
}
