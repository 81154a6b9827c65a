//! The flagship: python-actors' ring benchmark on green threads.
//!
//! 10,000 green threads stand in a ring, each with its own `Queue`; node k
//! forwards what it receives to node k+1 (the last to the first). A token
//! carrying the number of hops still to go goes around 100 laps; the node
//! that receives 0 tells the driver. Prints the build time and the cost of
//! one hop (one `put` + one suspend/resume).
//!
//!     cargo run --release --example ring [-- NODES LAPS]

use std::time::Instant;

use grove::sync::Queue;

fn main() {
    let mut args = std::env::args().skip(1);
    let nodes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let laps: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let hops = nodes * laps;

    // The driver is a green thread itself, like every node.
    let (build, run) = grove::spawn(move || ring(nodes, hops)).join().unwrap();
    println!(
        "ring of {nodes} green threads: built in {:.2} ms ({:.0} ns per node)",
        build.as_secs_f64() * 1e3,
        build.as_nanos() as f64 / nodes as f64
    );
    println!(
        "{laps} laps = {hops} hops in {:.2} ms: {:.1} ns per hop",
        run.as_secs_f64() * 1e3,
        run.as_nanos() as f64 / hops as f64
    );
}

fn ring(nodes: usize, hops: usize) -> (std::time::Duration, std::time::Duration) {
    let done = Queue::unbounded();
    let t0 = Instant::now();
    let queues: Vec<Queue<usize>> = (0..nodes).map(|_| Queue::unbounded()).collect();
    let members: Vec<_> = (0..nodes)
        .map(|k| {
            let inbox = queues[k].clone();
            let next = queues[(k + 1) % nodes].clone();
            let done = done.clone();
            grove::spawn(move || {
                while let Ok(left) = inbox.get() {
                    if left == 0 {
                        done.put(()).unwrap();
                    } else {
                        next.put(left - 1).unwrap();
                    }
                }
            })
        })
        .collect();
    let build = t0.elapsed();

    let t1 = Instant::now();
    queues[0].put(hops).unwrap();
    done.get().unwrap();
    let run = t1.elapsed();

    // Tear down: closing a queue ends its node's loop.
    for q in &queues {
        q.close();
    }
    for m in members {
        m.join().unwrap();
    }
    (build, run)
}
