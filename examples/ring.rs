//! The flagship: python-actors' ring, as actors (SPEC §3).
//!
//! An actor builds a ring of 10,000 actors: each one forwards whatever it
//! receives to the next, and the last one hands it back to the builder,
//! which closes the ring. First a greeting goes around once, as in
//! pyact's example; then a token goes around 100 laps (1,000,000 hops),
//! the builder passing it on after each lap; then a `Stop` goes around and
//! every actor ends. Prints the build time and the cost of one hop (one
//! `send` and one `receive`: a suspend and a resume of a green thread).
//!
//!     cargo run --release --example ring [-- ACTORS LAPS]

use std::time::{Duration, Instant};

use grove::actors::{self, Addr, Ctx};

/// What travels around the ring.
enum Token {
    /// The greeting of pyact's example.
    Hello(String),
    /// The lap token: laps still to go.
    Lap(usize),
    /// Ends every actor it passes.
    Stop,
}

/// A ring member: passes everything on; a `Stop` also ends it.
fn forward(ctx: &mut Ctx<Token>, next: Addr<Token>) {
    loop {
        let m = ctx.receive();
        let stop = matches!(m, Token::Stop);
        next.send(m);
        if stop {
            return;
        }
    }
}

/// What the builder measured.
struct Timings {
    build: Duration,
    hello: String,
    laps: Duration,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000)
        .max(2);
    let laps: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(100)
        .max(1);

    let me = actors::spawn(move |ctx: &mut Ctx<Token>| {
        let t0 = Instant::now();
        let first = actors::spawn({
            let me = ctx.addr();
            move |c: &mut Ctx<Token>| forward(c, me)
        });
        let mut last = first.addr();
        for _ in 2..n {
            let next = last.clone();
            last = actors::spawn(move |c: &mut Ctx<Token>| forward(c, next)).addr();
        }
        let build = t0.elapsed();

        // Once around, as in pyact.
        last.send(Token::Hello("hello around the ring".to_string()));
        let Token::Hello(hello) = ctx.receive() else {
            unreachable!("only the greeting is on its way")
        };

        // The laps: the token comes back after each one.
        let t1 = Instant::now();
        last.send(Token::Lap(laps));
        loop {
            match ctx.receive() {
                Token::Lap(1) => break,
                Token::Lap(k) => last.send(Token::Lap(k - 1)),
                _ => unreachable!("only the token is on its way"),
            }
        }
        let laps = t1.elapsed();

        // Take the ring down.
        last.send(Token::Stop);
        while !matches!(ctx.receive(), Token::Stop) {}
        Timings { build, hello, laps }
    });

    let t = me.wait().expect("the ring's builder ended abnormally");
    let hops = n * laps;
    println!("{}", t.hello);
    println!(
        "ring of {n} actors: built in {:.2} ms ({:.0} ns per actor)",
        t.build.as_secs_f64() * 1e3,
        t.build.as_nanos() as f64 / n as f64
    );
    println!(
        "{laps} laps = {hops} hops in {:.2} ms: {:.1} ns per hop",
        t.laps.as_secs_f64() * 1e3,
        t.laps.as_nanos() as f64 / hops as f64
    );
}
