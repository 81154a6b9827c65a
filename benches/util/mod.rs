//! What grove's micro benchmarks share: the peers' command line
//! (`<workload> <workers> [N] [M]`), the child-process runner used when no
//! arguments are given, and the `INFO` / `RESULT` output.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

/// One measurement, as the peers print it.
pub struct Report {
    /// The `INFO` line.
    pub info: String,
    /// The figure of the `RESULT` line.
    pub value: f64,
    /// Its unit.
    pub unit: &'static str,
}

/// A case as given on the command line.
pub struct Case {
    /// The workload's name.
    pub workload: String,
    /// `N`, if given.
    pub n: Option<usize>,
    /// `M`, if given.
    pub m: Option<usize>,
}

/// A field of `/proc/self/status` in KiB (-1 if unreadable).
pub fn proc_kib(field: &str) -> i64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in s.lines() {
        if let Some(rest) = line.strip_prefix(field).and_then(|r| r.strip_prefix(':')) {
            return rest
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(-1);
        }
    }
    -1
}

/// Nanoseconds as a float.
pub fn ns(d: Duration) -> f64 {
    d.as_nanos() as f64
}

/// The benchmark's `main`: with no arguments, every case of `cases` in a
/// fresh child process (as the peers' `run.sh` does), printing each one's
/// `RESULT` line; with arguments, the one case they name, on a runtime of
/// that many workers, with `run` as its driver green thread (`None`: an
/// unknown workload). Exits without tearing anything down, as the peers do.
pub fn main<F>(system: &'static str, cases: &[&str], usage: &str, run: F)
where
    F: FnOnce(Case) -> Option<Report> + Send + 'static,
{
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if args.is_empty() {
        let exe = std::env::current_exe().expect("own path");
        for case in cases {
            let out = std::process::Command::new(&exe)
                .args(case.split_whitespace())
                .output()
                .expect("run a case");
            let text = String::from_utf8_lossy(&out.stdout);
            match text.lines().rev().find(|l| l.starts_with("RESULT ")) {
                Some(line) if out.status.success() => println!("{line}"),
                _ => println!(
                    "FAILED {case} {system} exit={}: {}",
                    out.status.code().unwrap_or(-1),
                    text.lines().last().unwrap_or("")
                ),
            }
        }
        return;
    }
    if args.len() < 2 {
        eprintln!("{usage}");
        std::process::exit(2);
    }
    let workload = args[0].clone();
    let workers: usize = args[1].parse().expect("bad worker count");
    let int = |i: usize| {
        args.get(i)
            .map(|s| s.parse::<usize>().expect("bad integer"))
    };
    let case = Case {
        workload: workload.clone(),
        n: int(2),
        m: int(3),
    };
    let mut label = workload.clone();
    for (prefix, a) in ["_n", "_m"].iter().zip(args.iter().skip(2)) {
        label.push_str(prefix);
        label.push_str(a);
    }

    let rt = grove::Runtime::builder()
        .workers(workers.max(1))
        .build()
        .expect("runtime");
    println!("INFO system={system} workers={}", workers.max(1));
    let Some(report) = rt.block_on(move || run(case)) else {
        eprintln!("unknown workload {workload}\n{usage}");
        std::process::exit(2);
    };
    println!("{}", report.info);
    println!(
        "RESULT {label} {system} {:.1} {}",
        report.value, report.unit
    );
    std::process::exit(0);
}

/// The report of a ring run: ns per hop, build ns per node (`ring_build`)
/// or RSS growth per node (`ring_mem`), with the peers' `INFO` line. Call
/// it right after the run, so that RSS is read with the ring still up.
pub fn ring_report(
    workload: &str,
    n: usize,
    laps: usize,
    rss0: i64,
    build: Duration,
    run: Duration,
) -> Report {
    let hops = n * laps;
    let rss1 = proc_kib("VmRSS");
    let hwm = proc_kib("VmHWM");
    let build_ns = ns(build) / n as f64;
    let hop_ns = ns(run) / hops as f64;
    let kib_per = (rss1 - rss0) as f64 / n as f64;
    // Stacks copied out so far (stack sharing), and their mean size.
    let evictions = grove::__private::stack_evictions();
    let per = grove::__private::stack_evicted_bytes() / evictions.max(1);
    let info = format!(
        "INFO ring n={n} laps={laps} hops={hops} build_ms={:.1} build_ns_per_spawn={build_ns:.1} run_ms={:.1} ns_per_hop={hop_ns:.1} rss_before_kib={rss0} rss_after_kib={rss1} vmhwm_kib={hwm} kib_per_node={kib_per:.2} stack_evictions={evictions} bytes_per_eviction={per}",
        ns(build) / 1e6,
        ns(run) / 1e6
    );
    let (value, unit) = match workload {
        "ring_build" => (build_ns, "ns/spawn"),
        "ring_mem" => (kib_per, "KiB/node"),
        _ => (hop_ns, "ns/hop"),
    };
    Report { info, value, unit }
}

/// The report of a pingpong run of `rounds` round trips taking `el`: ns per
/// one-way hop.
pub fn pingpong_report(rounds: usize, el: Duration) -> Report {
    Report {
        info: format!(
            "INFO pingpong round_trips={rounds} total_ms={:.1}",
            ns(el) / 1e6
        ),
        value: ns(el) / (2 * rounds) as f64,
        unit: "ns/hop",
    }
}
