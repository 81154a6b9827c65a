//! Receiving in grove-actors: selective receive keeps what it skips in
//! arrival order and never rescans while it waits; per-sender FIFO across
//! workers and OS threads; every form of `receive!` (guards on values,
//! arm order, block bodies, `break` / `continue` / `return` / `?` acting
//! on the caller, `after`); `receive_timeout` and `try_receive`; bounded
//! mailboxes (`send` waiting for room, `try_send`, `send_timeout`);
//! messages of an actor that ends are dropped (a `Reply` inside answers
//! `CallError::Dead`); and a `grove::timeout` around a selective receive
//! leaves the mailbox intact.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grove::actors::{self, receive, Builder, CallError, Ctx, Reply, TrySendError};
use grove::sync::Event;
use parking_lot::Mutex;
use util::{yield_until, DropCounter};

/// A generous bound for waits that must succeed (reached only if broken).
const PATIENCE: Duration = Duration::from_secs(10);

/// Bound on yield loops.
const SPINS: usize = 10_000;

fn one_worker() -> grove::Runtime {
    grove::Runtime::builder().workers(1).build().unwrap()
}

/// Everything received without waiting, oldest first.
fn drain<M: Send + 'static>(ctx: &mut Ctx<M>) -> Vec<M> {
    std::iter::from_fn(|| ctx.try_receive()).collect()
}

// ---------------------------------------------------------------------
// Selective receive: order, and no rescans
// ---------------------------------------------------------------------

#[test]
fn selective_receives_keep_unmatched_messages_in_arrival_order() {
    let h = actors::spawn(|ctx: &mut Ctx<u32>| {
        let me = ctx.addr();
        for i in 0..12 {
            me.send(i);
        }
        let picked = vec![
            ctx.receive_match(|m| *m == 7),
            ctx.receive_match(|m| m % 2 == 0), // the oldest even: 0
            ctx.receive_match(|m| *m > 5),     // 6 (7 is gone)
            ctx.receive_match(|m| m % 5 == 0), // 5
            ctx.receive_match(|m| *m == 11),   // the newest
            ctx.receive_match(|m| m % 2 == 0), // 2
        ];
        // New arrivals queue up behind what was skipped.
        me.send(100);
        me.send(101);
        let plain = ctx.receive(); // a plain receive takes the oldest left
        (picked, plain, drain(ctx))
    });
    let (picked, plain, rest) = h.wait().unwrap();
    assert_eq!(picked, [7, 0, 6, 5, 11, 2]);
    assert_eq!(plain, 1);
    assert_eq!(rest, [3, 4, 8, 9, 10, 100, 101]);
}

#[test]
fn a_waiting_selective_receive_offers_each_message_once() {
    const EARLY: usize = 6;
    const BATCH: usize = 4;
    const SINGLES: usize = 5;
    let rt = one_worker();
    rt.block_on(|| {
        let calls = Arc::new(AtomicUsize::new(0));
        let h = actors::spawn({
            let calls = calls.clone();
            move |ctx: &mut Ctx<u32>| {
                let m = ctx.receive_match(|m| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    *m == 999
                });
                (m, drain(ctx))
            }
        });
        let a = h.addr();
        let mut next = 0;
        // Some messages before the actor first looks.
        for _ in 0..EARLY {
            a.send(next);
            next += 1;
        }
        let seen = |n: usize| calls.load(Ordering::SeqCst) == n;
        assert!(yield_until(SPINS, || seen(EARLY)), "first scan");
        // A batch arriving while it waits: each offered once.
        for _ in 0..BATCH {
            a.send(next);
            next += 1;
        }
        assert!(yield_until(SPINS, || seen(EARLY + BATCH)), "batch");
        // Then one at a time: only the new one is offered each time.
        for k in 1..=SINGLES {
            a.send(next);
            next += 1;
            assert!(yield_until(SPINS, || seen(EARLY + BATCH + k)), "single {k}");
            // And nothing is offered again while it keeps waiting.
            for _ in 0..10 {
                grove::yield_now();
            }
            assert_eq!(calls.load(Ordering::SeqCst), EARLY + BATCH + k);
        }
        a.send(999);
        let (m, rest) = h.wait().unwrap();
        assert_eq!(m, 999);
        assert_eq!(calls.load(Ordering::SeqCst), EARLY + BATCH + SINGLES + 1);
        // Everything it skipped is still there, in arrival order.
        assert_eq!(rest, (0..next).collect::<Vec<u32>>());
    });
}

// ---------------------------------------------------------------------
// Per-sender FIFO across workers
// ---------------------------------------------------------------------

#[test]
fn per_sender_fifo_holds_across_workers_and_os_threads() {
    const GREEN: usize = 2;
    const OS: usize = 2;
    const SENDERS: usize = GREEN + OS;
    const EACH: u32 = 5_000;
    const END: usize = usize::MAX;

    let rt = grove::Runtime::builder().workers(2).build().unwrap();
    // The actor checks each sender's sequence as it goes: increasing by
    // one (so nothing lost or duplicated in between), and after the end
    // marker that comes after all senders finished, nothing extra.
    let receiver = rt.block_on(|| {
        actors::spawn(|ctx: &mut Ctx<(usize, u32)>| {
            let mut next = [0u32; SENDERS];
            loop {
                let (s, i) = ctx.receive();
                if s == END {
                    break;
                }
                assert_eq!(i, next[s], "sender {s}: got {i}, expected {}", next[s]);
                next[s] += 1;
                if next.iter().sum::<u32>() % 1_000 == 0 {
                    grove::yield_now(); // let senders on this worker in
                }
            }
            (next, ctx.try_receive())
        })
    });
    let a = receiver.addr();
    let green: Vec<_> = (0..GREEN)
        .map(|s| {
            let a = a.clone();
            rt.spawn(move || {
                for i in 0..EACH {
                    a.send((s, i));
                    if i % 64 == 0 {
                        grove::yield_now();
                    }
                }
            })
        })
        .collect();
    let os: Vec<_> = (GREEN..SENDERS)
        .map(|s| {
            let a = a.clone();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    a.send((s, i));
                }
            })
        })
        .collect();
    for t in os {
        t.join().unwrap();
    }
    for g in green {
        g.join().unwrap();
    }
    a.send((END, 0));
    let (next, extra) = receiver.wait().unwrap();
    assert_eq!(next, [EACH; SENDERS]);
    assert_eq!(extra, None);
}

// ---------------------------------------------------------------------
// receive!
// ---------------------------------------------------------------------

#[derive(Debug, PartialEq)]
enum Msg {
    Add(i64),
    Name(String),
    Tick,
    Stop,
}

#[test]
fn receive_guards_see_bound_values() {
    let h = actors::spawn(|ctx: &mut Ctx<Msg>| {
        let me = ctx.addr();
        me.send(Msg::Add(-1));
        me.send(Msg::Name("al".into()));
        me.send(Msg::Add(0));
        me.send(Msg::Name("alice".into()));
        me.send(Msg::Add(4));
        // `n` is an i64 and `s` a String in the guards, as in a match.
        let n = receive!(ctx, Msg::Add(n) if n > 0 => n);
        let s = receive!(ctx, Msg::Name(s) if s.len() > 3 => s);
        let bound: i64 = 0;
        let z = receive!(ctx, Msg::Add(n) if n >= bound => n * 10);
        (n, s, z, drain(ctx))
    });
    let (n, s, z, rest) = h.wait().unwrap();
    assert_eq!((n, s.as_str(), z), (4, "alice", 0));
    assert_eq!(rest, [Msg::Add(-1), Msg::Name("al".into())]);
}

#[test]
fn receive_takes_the_oldest_message_that_matches_any_arm() {
    let h = actors::spawn(|ctx: &mut Ctx<Msg>| {
        let me = ctx.addr();
        me.send(Msg::Tick);
        me.send(Msg::Add(1));
        me.send(Msg::Name("n".into()));
        me.send(Msg::Add(20));
        let mut seen = Vec::new();
        for _ in 0..3 {
            // Add(1) is older than Name, Name older than Add(20): each is
            // taken in turn although their arms come in the other order.
            let s = receive!(ctx,
                Msg::Add(n) if n > 10 => format!("big {n}"),
                Msg::Name(s) => format!("name {s}"),
                Msg::Add(n) if n <= 10 => format!("small {n}"),
            );
            seen.push(s);
        }
        (seen, drain(ctx))
    });
    let (seen, rest) = h.wait().unwrap();
    assert_eq!(seen, ["small 1", "name n", "big 20"]);
    assert_eq!(rest, [Msg::Tick]);
}

#[test]
fn receive_tries_arms_in_order() {
    let h = actors::spawn(|ctx: &mut Ctx<Msg>| {
        let me = ctx.addr();
        for n in [1, 20, 3] {
            me.send(Msg::Add(n));
        }
        let mut seen = Vec::new();
        for _ in 0..3 {
            // Add(20) matches both arms: the first one must win, as in a
            // `match` (and Erlang's first matching clause).
            let s = receive!(ctx,
                Msg::Add(n) if n > 10 => format!("big {n}"),
                Msg::Add(n) => format!("any {n}"),
            );
            seen.push(s);
        }
        // A catch-all arm after specific ones, and a guard that becomes
        // true: the specific arm still wins.
        me.send(Msg::Tick);
        let specific = receive!(ctx, Msg::Tick => "tick", _ => "anything");
        let mut ticks = 0;
        'outer: for _ in 0..3 {
            me.send(Msg::Tick);
            receive!(ctx,
                Msg::Tick if ticks == 1 => break 'outer,
                Msg::Tick => ticks += 1,
            );
        }
        (seen, specific, ticks)
    });
    let (seen, specific, ticks) = h.wait().unwrap();
    assert_eq!(seen, ["any 1", "big 20", "any 3"]);
    assert_eq!(specific, "tick");
    assert_eq!(ticks, 1);
}

#[test]
fn receive_block_bodies_with_and_without_commas() {
    let h = actors::spawn(|ctx: &mut Ctx<Msg>| {
        let me = ctx.addr();
        for m in [
            Msg::Tick,
            Msg::Add(2),
            Msg::Add(-2),
            Msg::Name("x".into()),
            Msg::Stop,
        ] {
            me.send(m);
        }
        let mut log: Vec<String> = Vec::new();
        for _ in 0..5 {
            receive!(ctx,
                Msg::Tick => {
                    log.push("tick".into());
                }
                Msg::Add(n) if n > 0 => {
                    log.push(format!("pos {n}"));
                },
                Msg::Add(n) if n < 0 => {
                    let abs = -n;
                    log.push(format!("neg {abs}"))
                }
                Msg::Name(s) => log.push(format!("name {s}")),
                Msg::Stop => { log.push("stop".into()) }
            );
        }
        // A block body's value is the macro's value.
        me.send(Msg::Add(5));
        let v = receive!(ctx, Msg::Add(n) => { n + 1 });
        let w = {
            me.send(Msg::Add(6));
            receive!(ctx, Msg::Add(n) => { n * 2 }, after Duration::from_secs(5) => { -1 })
        };
        (log, v, w)
    });
    let (log, v, w) = h.wait().unwrap();
    assert_eq!(log, ["tick", "pos 2", "neg 2", "name x", "stop"]);
    assert_eq!((v, w), (6, 12));
}

/// `?` inside an arm propagates out of the caller's function.
fn parse_all(ctx: &mut Ctx<Msg>) -> Result<Vec<i64>, std::num::ParseIntError> {
    let mut out = Vec::new();
    loop {
        receive!(ctx,
            Msg::Name(s) => out.push(s.parse::<i64>()?),
            Msg::Stop => return Ok(out),
        );
    }
}

#[test]
fn receive_bodies_break_continue_and_return_act_on_the_caller() {
    let h = actors::spawn(|ctx: &mut Ctx<Msg>| {
        let me = ctx.addr();
        for m in [
            Msg::Add(1),
            Msg::Tick,
            Msg::Add(2),
            Msg::Stop,
            Msg::Add(100),
        ] {
            me.send(m);
        }
        let mut sum = 0;
        let mut after_receive = 0;
        loop {
            receive!(ctx,
                Msg::Add(n) => sum += n,
                Msg::Tick => continue, // skips the line below
                Msg::Stop => break,
            );
            after_receive += 1;
        }
        // A labelled break out of an outer loop.
        let mut ticks = 0;
        'outer: for _ in 0..3 {
            for _ in 0..3 {
                me.send(Msg::Tick);
                receive!(ctx,
                    Msg::Tick if ticks == 1 => break 'outer,
                    Msg::Tick if ticks != 1 => ticks += 1,
                );
            }
        }
        // `?` and `return` in an arm act on the enclosing function.
        for m in [Msg::Name("7".into()), Msg::Name("8".into()), Msg::Stop] {
            me.send(m);
        }
        let parsed = parse_all(ctx);
        for m in [Msg::Name("9".into()), Msg::Name("nine".into()), Msg::Stop] {
            me.send(m);
        }
        let failed = parse_all(ctx).is_err();
        let leftover = drain(ctx); // the Stop after the failure stays
        (sum, after_receive, ticks, parsed, failed, leftover)
    });
    let (sum, after_receive, ticks, parsed, failed, leftover) = h.wait().unwrap();
    assert_eq!(sum, 3);
    assert_eq!(after_receive, 2);
    assert_eq!(ticks, 1);
    assert_eq!(parsed, Ok(vec![7, 8]));
    assert!(failed);
    assert_eq!(leftover, [Msg::Add(100), Msg::Stop]);

    // `return` from the actor's own function, out of a loop.
    let h = actors::spawn(|ctx: &mut Ctx<Msg>| -> i64 {
        ctx.addr().send(Msg::Add(41));
        loop {
            receive!(ctx, Msg::Add(n) => return n + 1, Msg::Tick => {});
        }
    });
    assert_eq!(h.wait().unwrap(), 42);
}

#[test]
fn receive_after_fires_when_nothing_matches() {
    let h = actors::spawn(|ctx: &mut Ctx<Msg>| {
        let me = ctx.addr();
        me.send(Msg::Tick);
        me.send(Msg::Add(-3));
        let t0 = Instant::now();
        let r = receive!(ctx,
            Msg::Add(n) if n > 0 => Some(n),
            Msg::Stop => None,
            after Duration::from_millis(15) => Some(-1),
        );
        let waited = t0.elapsed();
        // Nothing at all in the mailbox: `after` fires too.
        let empty = {
            drain(ctx);
            receive!(ctx, _ => "got one", after Duration::from_millis(5) => "timed out")
        };
        (r, waited, empty)
    });
    let (r, waited, empty) = h.wait().unwrap();
    assert_eq!(r, Some(-1));
    assert!(waited >= Duration::from_millis(15), "{waited:?}");
    assert_eq!(empty, "timed out");
}

#[test]
fn receive_after_does_not_fire_when_a_match_arrives_in_time() {
    let rt = one_worker();
    rt.block_on(|| {
        let waiting = Arc::new(Event::new());
        let h = actors::spawn({
            let waiting = waiting.clone();
            move |ctx: &mut Ctx<Msg>| {
                waiting.set();
                // A long `after`: the match comes long before it.
                let got = receive!(ctx,
                    Msg::Add(n) if n > 0 => Ok(n),
                    after PATIENCE => Err("after fired"),
                );
                (got, drain(ctx))
            }
        });
        waiting.wait();
        // On one worker the actor is parked in receive! by now.
        let a = h.addr();
        a.send(Msg::Add(-1)); // wakes it, matches nothing
        grove::yield_now();
        a.send(Msg::Add(8));
        let t0 = Instant::now();
        let (got, rest) = h.wait().unwrap();
        assert_eq!(got, Ok(8));
        assert!(t0.elapsed() < PATIENCE);
        assert_eq!(rest, [Msg::Add(-1)]);
    });
}

#[test]
fn unmatched_messages_survive_a_receive_that_timed_out() {
    let h = actors::spawn(|ctx: &mut Ctx<Msg>| {
        let me = ctx.addr();
        me.send(Msg::Add(1));
        me.send(Msg::Name("a".into()));
        me.send(Msg::Add(2));
        // A guarded arm whose body does not use its binding: no
        // `unused_variables` warning, as in a plain `match`.
        let r = receive!(ctx,
            Msg::Stop => "stop",
            Msg::Add(n) if n > 5 => "big",
            after Duration::from_millis(5) => "timeout",
        );
        me.send(Msg::Tick); // arrives behind the survivors
        let first = receive!(ctx, Msg::Add(n) => n);
        (r, first, drain(ctx))
    });
    let (r, first, rest) = h.wait().unwrap();
    assert_eq!(r, "timeout");
    assert_eq!(first, 1);
    assert_eq!(rest, [Msg::Name("a".into()), Msg::Add(2), Msg::Tick]);
}

#[test]
fn a_message_handed_to_a_waiting_selective_receive_keeps_its_place() {
    // A send to an actor that waits on an empty mailbox hands the message
    // straight over; later sends queue behind it, and a selective receive
    // still sees them all in arrival order.
    let rt = one_worker();
    let got = rt.block_on(|| {
        let waiting = Arc::new(Event::new());
        let h = actors::spawn({
            let waiting = waiting.clone();
            move |ctx: &mut Ctx<u32>| {
                waiting.set();
                let two = ctx.receive_match(|m| *m == 2);
                (two, ctx.receive(), ctx.receive(), ctx.pending())
            }
        });
        // One worker: the actor parks in its receive before we run again.
        waiting.wait();
        let a = h.addr();
        a.send(1); // handed over
        a.send(3);
        a.send(2);
        h.wait().unwrap()
    });
    assert_eq!(got, (2, 1, 3, 0));
}

#[test]
fn a_message_handed_over_as_a_receive_unwinds_is_received_next() {
    // The actor's receive is inside a `grove::timeout` that has expired by
    // the time a message is handed to it: the receive unwinds, and the
    // message waits for the next one.
    let rt = one_worker();
    let (first, second) = rt.block_on(|| {
        let waiting = Arc::new(Event::new());
        let h = actors::spawn({
            let waiting = waiting.clone();
            move |ctx: &mut Ctx<u32>| {
                waiting.set();
                let first = grove::timeout(Duration::from_millis(10), || ctx.receive());
                (first.is_err(), ctx.receive())
            }
        });
        waiting.wait();
        // Keep the only worker until the actor's timeout has passed, then
        // send: the actor is still parked with its mailbox armed.
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(20) {
            std::hint::spin_loop();
        }
        h.addr().send(5);
        h.wait().unwrap()
    });
    assert!(first, "the timeout fired");
    assert_eq!(second, 5);
}

#[test]
fn a_message_handed_to_an_actor_that_is_killed_is_dropped() {
    let rt = one_worker();
    let (dropped, guard) = DropCounter::new();
    rt.block_on(move || {
        let waiting = Arc::new(Event::new());
        let h = actors::spawn({
            let waiting = waiting.clone();
            move |ctx: &mut Ctx<DropCounter>| {
                waiting.set();
                drop(ctx.receive());
            }
        });
        waiting.wait();
        // No switch point between these: the message is handed over, then
        // the actor is killed before it runs.
        h.addr().send(guard);
        h.kill();
        assert!(h.wait().is_err());
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------------
// receive_timeout, try_receive
// ---------------------------------------------------------------------

#[test]
fn receive_timeout_returns_none_when_nothing_comes() {
    let h = actors::spawn(|ctx: &mut Ctx<u8>| {
        let t0 = Instant::now();
        let none = ctx.receive_timeout(Duration::from_millis(10));
        let waited = t0.elapsed();
        let zero = ctx.receive_timeout(Duration::ZERO);
        ctx.addr().send(3);
        let some = ctx.receive_timeout(Duration::from_millis(10));
        (none, waited, zero, some)
    });
    let (none, waited, zero, some) = h.wait().unwrap();
    assert_eq!(none, None);
    assert!(waited >= Duration::from_millis(10), "{waited:?}");
    assert_eq!(zero, None);
    assert_eq!(some, Some(3));
}

#[test]
fn receive_timeout_returns_a_message_sent_while_it_waits() {
    let rt = one_worker();
    rt.block_on(|| {
        let waiting = Arc::new(Event::new());
        let h = actors::spawn({
            let waiting = waiting.clone();
            move |ctx: &mut Ctx<u8>| {
                waiting.set();
                ctx.receive_timeout(PATIENCE)
            }
        });
        waiting.wait();
        h.addr().send(5);
        assert_eq!(h.wait().unwrap(), Some(5));
    });
}

#[test]
fn try_receive_never_waits_and_keeps_order() {
    let h = actors::spawn(|ctx: &mut Ctx<u8>| {
        let empty = ctx.try_receive();
        let me = ctx.addr();
        for i in 1..=4 {
            me.send(i);
        }
        let three = ctx.receive_match(|m| *m == 3);
        let pending = ctx.pending();
        let first = ctx.try_receive();
        me.send(5);
        (empty, three, pending, first, drain(ctx), ctx.try_receive())
    });
    let (empty, three, pending, first, rest, last) = h.wait().unwrap();
    assert_eq!(empty, None);
    assert_eq!(three, 3);
    assert_eq!(pending, 3);
    assert_eq!(first, Some(1));
    assert_eq!(rest, [2, 4, 5]);
    assert_eq!(last, None);
}

// ---------------------------------------------------------------------
// Bounded mailboxes
// ---------------------------------------------------------------------

#[test]
fn bounded_send_waits_while_full_and_resumes_when_the_actor_receives() {
    let rt = one_worker();
    let log = rt.block_on(|| {
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        let go = Arc::new(Event::new());
        let h = Builder::new()
            .bounded(1)
            .spawn({
                let (log, go) = (log.clone(), go.clone());
                move |ctx: &mut Ctx<u32>| {
                    go.wait();
                    for _ in 0..3 {
                        let m = ctx.receive();
                        log.lock().push(format!("recv {m}"));
                    }
                }
            })
            .unwrap();
        let a = h.addr();
        a.send(1); // room: returns at once
        log.lock().push("sent 1".into());
        assert!(matches!(a.try_send(2), Err(TrySendError::Full(2))));
        let sender = grove::spawn({
            let (a, log) = (a.clone(), log.clone());
            move || {
                log.lock().push("sending 2".into());
                a.send(2);
                log.lock().push("sent 2".into());
                a.send(3);
                log.lock().push("sent 3".into());
            }
        });
        let logged = |s: &str| log.lock().iter().any(|l| l == s);
        assert!(yield_until(SPINS, || logged("sending 2")));
        // It stays blocked while the actor does not receive.
        for _ in 0..50 {
            grove::yield_now();
        }
        assert!(!logged("sent 2"), "send returned on a full mailbox");
        go.set();
        sender.join().unwrap();
        h.wait().unwrap();
        let v = log.lock().clone();
        v
    });
    // Each send completed only once the actor had taken the one before.
    assert_eq!(
        log,
        [
            "sent 1",
            "sending 2",
            "recv 1",
            "sent 2",
            "recv 2",
            "sent 3",
            "recv 3"
        ]
    );
}

#[test]
fn try_send_reports_full_and_dead() {
    let rt = one_worker();
    rt.block_on(|| {
        let go = Arc::new(Event::new());
        let h = Builder::new()
            .bounded(2)
            .spawn({
                let go = go.clone();
                move |ctx: &mut Ctx<u32>| {
                    go.wait();
                    vec![ctx.receive(), ctx.receive()]
                }
            })
            .unwrap();
        let a = h.addr();
        assert_eq!(a.capacity(), Some(2));
        assert!(a.try_send(1).is_ok());
        assert!(a.try_send(2).is_ok());
        let full = a.try_send(3).unwrap_err();
        assert!(full.is_full() && !full.is_dead());
        assert_eq!(full.into_inner(), 3);
        go.set();
        assert_eq!(h.wait().unwrap(), [1, 2]);
        let dead = a.try_send(4).unwrap_err();
        assert!(dead.is_dead() && !dead.is_full());
        assert!(matches!(dead, TrySendError::Dead(4)));
        // Unbounded mailboxes report Dead the same way, never Full.
        let u = actors::spawn(|_: &mut Ctx<u32>| ());
        let ua = u.addr();
        assert_eq!(ua.capacity(), None);
        u.wait().unwrap();
        assert!(matches!(ua.try_send(5), Err(TrySendError::Dead(5))));
    });
}

#[test]
fn send_timeout_gives_up_on_a_full_mailbox_and_succeeds_with_room() {
    let rt = one_worker();
    rt.block_on(|| {
        let go = Arc::new(Event::new());
        let h = Builder::new()
            .bounded(1)
            .spawn({
                let go = go.clone();
                move |ctx: &mut Ctx<u32>| {
                    go.wait();
                    vec![ctx.receive(), ctx.receive()]
                }
            })
            .unwrap();
        let a = h.addr();
        a.send_timeout(1, Duration::from_millis(5)).unwrap(); // room
        let t0 = Instant::now();
        let e = a.send_timeout(2, Duration::from_millis(10)).unwrap_err();
        assert!(matches!(e, TrySendError::Full(2)), "{e:?}");
        assert!(t0.elapsed() >= Duration::from_millis(10));
        // With room made while it waits, it goes through.
        let sender = grove::spawn({
            let a = a.clone();
            move || a.send_timeout(3, PATIENCE)
        });
        grove::yield_now(); // the sender blocks on the full mailbox
        go.set();
        assert_eq!(sender.join().unwrap(), Ok(()));
        assert_eq!(h.wait().unwrap(), [1, 3]);
        // To an actor that has ended: Dead, at once.
        let t0 = Instant::now();
        assert!(matches!(
            a.send_timeout(4, PATIENCE),
            Err(TrySendError::Dead(4))
        ));
        assert!(t0.elapsed() < PATIENCE);
    });
}

#[test]
fn a_sender_blocked_on_a_full_mailbox_is_released_when_the_actor_ends() {
    let rt = one_worker();
    rt.block_on(|| {
        let go = Arc::new(Event::new());
        let h = Builder::new()
            .bounded(1)
            .spawn({
                let go = go.clone();
                move |_: &mut Ctx<u32>| go.wait()
            })
            .unwrap();
        let a = h.addr();
        a.send(1);
        let sender = grove::spawn({
            let a = a.clone();
            move || a.send_timeout(2, PATIENCE)
        });
        grove::yield_now();
        go.set(); // the actor ends without receiving
        let t0 = Instant::now();
        assert!(matches!(sender.join().unwrap(), Err(TrySendError::Dead(2))));
        assert!(t0.elapsed() < PATIENCE);
        h.wait().unwrap();
    });
}

// ---------------------------------------------------------------------
// An actor that ends: its messages are dropped
// ---------------------------------------------------------------------

/// The fields are never read: they are there to be dropped.
#[allow(dead_code)]
enum Job {
    Payload(DropCounter),
    Ask(Reply<u32>),
}

#[test]
fn messages_queued_for_an_actor_that_ends_are_dropped() {
    let rt = one_worker();
    rt.block_on(|| {
        let (drops, counter) = DropCounter::new();
        let go = Arc::new(Event::new());
        let stashed = Arc::new(Event::new());
        let finish = Arc::new(Event::new());
        let h = actors::spawn({
            let (go, stashed, finish) = (go.clone(), stashed.clone(), finish.clone());
            move |ctx: &mut Ctx<Job>| {
                go.wait();
                // Takes everything queued into its own stash and leaves it
                // there, unreceived.
                let none = ctx.receive_match_timeout(Duration::from_millis(1), |_| false);
                assert!(none.is_none());
                stashed.set();
                finish.wait();
                ctx.pending()
            }
        });
        let a = h.addr();
        for _ in 0..3 {
            a.send(Job::Payload(counter.clone()));
        }
        let asked = Arc::new(AtomicUsize::new(0));
        let caller = |a: grove::actors::Addr<Job>, asked: Arc<AtomicUsize>| {
            grove::spawn(move || {
                asked.fetch_add(1, Ordering::SeqCst);
                let t0 = Instant::now();
                (a.call(Job::Ask, PATIENCE), t0.elapsed())
            })
        };
        // One call ends up in the actor's stash...
        let first = caller(a.clone(), asked.clone());
        assert!(yield_until(SPINS, || asked.load(Ordering::SeqCst) == 1));
        go.set();
        stashed.wait();
        // ...the next ones stay in its mailbox.
        for _ in 0..2 {
            a.send(Job::Payload(counter.clone()));
        }
        let second = caller(a.clone(), asked.clone());
        assert!(yield_until(SPINS, || asked.load(Ordering::SeqCst) == 2));
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        finish.set();
        // It never received them: 4 stashed + 3 queued were pending.
        assert_eq!(h.wait().unwrap(), 7);
        // Both callers hear Dead at once, well before their timeout.
        for c in [first, second] {
            let (r, took) = c.join().unwrap();
            assert_eq!(r, Err(CallError::Dead));
            assert!(took < PATIENCE, "{took:?}");
        }
        // Every message it held was dropped with it.
        assert_eq!(drops.load(Ordering::SeqCst), 5);
        // And one sent after the end is dropped at once.
        a.send(Job::Payload(counter.clone()));
        assert_eq!(drops.load(Ordering::SeqCst), 6);
        drop(counter);
    });
}

// ---------------------------------------------------------------------
// grove::timeout around a selective receive
// ---------------------------------------------------------------------

#[test]
fn a_timeout_around_receive_match_leaves_the_mailbox_intact() {
    let rt = one_worker();
    rt.block_on(|| {
        let calls = Arc::new(AtomicUsize::new(0));
        let h = actors::spawn({
            let calls = calls.clone();
            move |ctx: &mut Ctx<u32>| {
                let me = ctx.addr();
                for i in [1, 2, 3] {
                    me.send(i);
                }
                let r = grove::timeout(Duration::from_millis(30), || {
                    ctx.receive_match(|m| {
                        calls.fetch_add(1, Ordering::SeqCst);
                        *m == 99
                    })
                });
                assert!(r.is_err(), "the receive should have been interrupted");
                // All of it is still there, in order, followed by what
                // came later; 0 marks the end.
                let mut got = Vec::new();
                loop {
                    match ctx.receive() {
                        0 => break,
                        m => got.push(m),
                    }
                }
                got
            }
        });
        // While it waits with 1, 2, 3 skipped, more arrive.
        assert!(yield_until(SPINS, || calls.load(Ordering::SeqCst) >= 3));
        let a = h.addr();
        a.send(4);
        a.send(5);
        a.send(0);
        assert_eq!(h.wait().unwrap(), [1, 2, 3, 4, 5]);
    });
}
