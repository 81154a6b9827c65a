//! SPEC §3, as written: every example and every promise of the actors
//! section, compiled against the `grove::actors` facade and asserted —
//! the 10,000-actor ring, handles (`wait`, `kill`), `addr | msg`,
//! `try_send` to a dead actor, bounded mailboxes, the receives and
//! `receive!`, trait-style actors, JSON shapes and `receive_shapes`,
//! `send_json`, links / monitors / `trap_exit`, `call` with `Reply`, the
//! registry, and a brief supervisor and router use.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use grove::actors::router::{Broadcast, Pool, RoundRobin};
use grove::actors::supervisor::{ChildSpec, Strategy, Supervisor};
use grove::actors::{
    self, Actor, Addr, CallError, Ctx, Down, Exit, ExitReason, RegisterError, Reply, Shape,
    TrySendError,
};
use grove::actors::{receive, shape};
use serde_json::{json, Value};

/// A generous bound for calls that must succeed (reached only if broken).
const PATIENCE: Duration = Duration::from_secs(10);

// Function style (pyact's `spawn(fn)`): the function gets the actor's context.
fn forward(ctx: &mut Ctx<String>, next: Addr<String>) {
    let m = ctx.receive();
    next.send(m);
}

#[test]
fn spec_ring_of_10_000_actors() {
    let me = actors::spawn(|ctx: &mut Ctx<String>| {
        let first = actors::spawn({
            let me = ctx.addr();
            move |c: &mut Ctx<String>| forward(c, me)
        });
        let mut next = first.addr();
        for _ in 1..10_000 {
            let n = next.clone();
            next = actors::spawn(move |c: &mut Ctx<String>| forward(c, n)).addr();
        }
        next.send("hello around the ring".to_string());
        ctx.receive() // the actor's return value
    });
    assert_eq!(me.wait().unwrap(), "hello around the ring"); // pyact's addr.wait()
}

#[test]
fn handle_addr_wait_and_kill() {
    // `.addr()` reaches it, `.wait()` gives its return value.
    let h = actors::spawn(|ctx: &mut Ctx<u32>| ctx.receive() * 2);
    h.addr().send(21);
    assert_eq!(h.wait(), Ok(42));

    // `.kill()` ends it at its switch point: `wait` reports Killed.
    let h = actors::spawn(|ctx: &mut Ctx<u32>| ctx.receive());
    let a = h.addr();
    h.kill();
    assert_eq!(h.wait(), Err(ExitReason::Killed));
    assert!(!a.is_alive());
    assert_eq!(a.exit_reason(), Some(ExitReason::Killed));
}

#[test]
fn addr_is_cheap_to_clone_send_and_pipe_sends() {
    fn assert_send_clone<T: Send + Clone>() {}
    assert_send_clone::<Addr<String>>();

    let h = actors::spawn(|ctx: &mut Ctx<String>| {
        let mut got: Vec<String> = (0..4).map(|_| ctx.receive()).collect();
        got.sort();
        got
    });
    let a = h.addr();
    // From plain OS threads, through clones.
    let threads: Vec<_> = ["os-1", "os-2"]
        .into_iter()
        .map(|s| {
            let a = a.clone();
            std::thread::spawn(move || a.send(s.to_string()))
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // `addr | msg` sends too, as in pyact, by reference or by value.
    let _: () = &a | "pipe-ref".to_string();
    let _: () = a.clone() | "pipe-val".to_string();
    assert_eq!(h.wait().unwrap(), ["os-1", "os-2", "pipe-ref", "pipe-val"]);
    assert_eq!(a.clone(), a); // clones name the same actor
}

#[test]
fn send_to_a_dead_actor_is_dropped_and_try_send_reports_it() {
    let h = actors::spawn(|_: &mut Ctx<String>| ());
    let a = h.addr();
    h.wait().unwrap();
    // Not an error the sender must handle...
    a.send("into the void".to_string());
    &a | "nor this".to_string();
    // ...but try_send reports it, and hands the message back.
    match a.try_send("hello?".to_string()) {
        Err(TrySendError::Dead(m)) => assert_eq!(m, "hello?"),
        other => panic!("expected Dead, got {other:?}"),
    }
}

#[test]
fn unbounded_send_never_blocks_bounded_send_waits() {
    // Unbounded: thousands of sends to an actor that is not receiving.
    let gate = Arc::new(grove::sync::Event::new());
    let h = actors::spawn({
        let gate = gate.clone();
        move |ctx: &mut Ctx<u32>| {
            gate.wait();
            (0..5_000).map(|_| ctx.receive()).sum::<u32>()
        }
    });
    for i in 0..5_000 {
        assert!(h.addr().try_send(i).is_ok());
    }
    gate.set();
    assert_eq!(h.wait().unwrap(), (0..5_000).sum::<u32>());

    // Bounded (chosen at spawn): full means try_send is refused and send
    // waits until the actor receives (backpressure).
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let order = rt.block_on(|| {
        let log = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let gate = Arc::new(grove::sync::Event::new());
        let h = actors::Builder::new()
            .bounded(2)
            .spawn({
                let (log, gate) = (log.clone(), gate.clone());
                move |ctx: &mut Ctx<u32>| {
                    gate.wait();
                    for _ in 0..3 {
                        let m = ctx.receive();
                        log.lock().push(format!("got {m}"));
                    }
                }
            })
            .unwrap();
        let a = h.addr();
        assert_eq!(a.capacity(), Some(2));
        a.send(1);
        a.send(2);
        assert!(matches!(a.try_send(3), Err(TrySendError::Full(3))));
        let sender = grove::spawn({
            let (a, log) = (a.clone(), log.clone());
            move || {
                a.send(3); // waits: the mailbox is full
                log.lock().push("sent 3".to_string());
            }
        });
        // Let the sender block; nothing can make room yet.
        for _ in 0..20 {
            grove::yield_now();
        }
        assert!(log.lock().is_empty(), "send returned on a full mailbox");
        gate.set();
        sender.join().unwrap();
        h.wait().unwrap();
        let v = log.lock().clone();
        v
    });
    // The send completed only after the actor made room.
    let sent = order.iter().position(|s| s == "sent 3").unwrap();
    let first = order.iter().position(|s| s == "got 1").unwrap();
    assert!(first < sent, "{order:?}");
    assert_eq!(order.len(), 4, "{order:?}");
    assert!(order.contains(&"got 3".to_string()), "{order:?}");
}

#[test]
fn receive_receive_timeout_and_receive_match() {
    let h = actors::spawn(|ctx: &mut Ctx<i32>| {
        let me = ctx.addr();
        // Nothing there: receive_timeout gives None.
        let none = ctx.receive_timeout(Duration::from_millis(5));
        for i in [1, 2, 3, 4, 5] {
            me.send(i);
        }
        // Selective: the oldest match; the others keep their order.
        let even = ctx.receive_match(|m| m % 2 == 0);
        let first = ctx.receive();
        let timed = ctx.receive_timeout(Duration::from_millis(5));
        let rest: Vec<i32> = std::iter::from_fn(|| ctx.try_receive()).collect();
        (none, even, first, timed, rest)
    });
    assert_eq!(h.wait().unwrap(), (None, 2, 1, Some(3), vec![4, 5]));
}

enum Counter {
    Add(i64),
    Get(Reply<i64>),
    Stop,
}

#[test]
fn receive_macro_with_patterns_guards_and_after() {
    let h = actors::spawn(|ctx: &mut Ctx<Counter>| {
        let mut total = 0;
        loop {
            receive!(ctx,
                Counter::Add(n) if n > 0 => total += n,
                Counter::Get(reply) => reply.send(total),
                Counter::Stop => break,
                after Duration::from_secs(5) => return -1,
            );
        }
        // What the guard left behind is still there, in order.
        let mut left = Vec::new();
        while let Some(Counter::Add(n)) = ctx.try_receive() {
            left.push(n);
        }
        assert_eq!(left, [-5, -7]);
        total
    });
    let a = h.addr();
    a.send(Counter::Add(-5)); // matches no arm: stays in the mailbox
    a.send(Counter::Add(2));
    a.send(Counter::Add(-7));
    a.send(Counter::Add(3));
    assert_eq!(a.call(Counter::Get, PATIENCE), Ok(5));
    a.send(Counter::Stop);
    assert_eq!(h.wait().unwrap(), 5);

    // `after`: nothing matches in time.
    let h = actors::spawn(|ctx: &mut Ctx<Counter>| {
        ctx.addr().send(Counter::Add(-1));
        receive!(ctx,
            Counter::Add(n) if n > 0 => n,
            after Duration::from_millis(10) => 0,
        )
    });
    assert_eq!(h.wait().unwrap(), 0);
}

#[derive(Default)]
struct Bank {
    balance: i64,
    started: bool,
    stopped: Option<ExitReason>,
}

enum BankMsg {
    Deposit(i64),
    Balance(Reply<i64>),
    Close,
}

impl Actor for Bank {
    type Msg = BankMsg;

    fn started(&mut self, _ctx: &mut Ctx<BankMsg>) {
        self.started = true;
    }

    fn handle(&mut self, msg: BankMsg, ctx: &mut Ctx<BankMsg>) {
        match msg {
            BankMsg::Deposit(n) => self.balance += n,
            BankMsg::Balance(r) => r.send(self.balance),
            BankMsg::Close => ctx.stop(),
        }
    }

    fn stopped(&mut self, _ctx: &mut Ctx<BankMsg>, reason: &ExitReason) {
        self.stopped = Some(reason.clone());
    }
}

#[test]
fn trait_style_actor_started_with_start() {
    let h = actors::start(Bank::default());
    let a = h.addr();
    a.send(BankMsg::Deposit(10));
    a.send(BankMsg::Deposit(-3));
    assert_eq!(a.call(BankMsg::Balance, PATIENCE), Ok(7));
    a.send(BankMsg::Close);
    let bank = h.wait().unwrap(); // the final state
    assert_eq!(bank.balance, 7);
    assert!(bank.started);
    assert_eq!(bank.stopped, Some(ExitReason::Normal));
}

#[test]
fn json_shapes_as_written() {
    let named = shape!({"name": int});
    assert!(named.matches(&json!({"name": 3})));
    assert!(named.matches(&json!({"name": -3, "extra": "allowed"})));
    assert!(!named.matches(&json!({"name": "three"})));
    assert!(!named.matches(&json!({"other": 3})));

    let credit = shape!(("credit", float));
    assert!(credit.matches(&json!(["credit", 9.5])));
    assert!(!credit.matches(&json!(["debit", 9.5])));
    assert!(!credit.matches(&json!(["credit", 9.5, 1.0])));

    let strings = shape!([str]);
    assert!(strings.matches(&json!(["a", "b"])));
    assert!(strings.matches(&json!([]))); // an empty one too
    assert!(!strings.matches(&json!(["a", 1])));

    let anything = shape!(any);
    for v in [
        json!(null),
        json!(1),
        json!("x"),
        json!([1]),
        json!({"k": {}}),
    ] {
        assert!(anything.matches(&v), "{v}");
    }

    // Also float, num, bool, null, and literals.
    assert!(shape!(float).matches(&json!(1.5)));
    assert!(shape!(num).matches(&json!(1)) && shape!(num).matches(&json!(1.5)));
    assert!(shape!(bool).matches(&json!(false)));
    assert!(shape!(null).matches(&json!(null)));
    assert!(shape!("ok").matches(&json!("ok")));
    assert!(shape!(42).matches(&json!(42)));

    // The macro builds a `Shape`.
    let s: Shape = shape!({"name": int});
    assert_eq!(s, Shape::object([("name", Shape::int())]));
}

static DATA: LazyLock<Shape> = LazyLock::new(|| shape!(("data", str)));
static EVENT: LazyLock<Shape> = LazyLock::new(|| shape!({"event": str, "payload": any}));

#[test]
fn receive_shapes_returns_the_index_and_the_message() {
    let h = actors::spawn(|ctx: &mut Ctx<Value>| {
        let me = ctx.addr();
        me.send(json!({"noise": true}));
        me.send(json!({"event": "tick", "payload": [1, 2]}));
        me.send(json!(["data", "bytes"]));
        let a = ctx.receive_shapes(&[&DATA, &EVENT]);
        let b = ctx.receive_shapes(&[&DATA, &EVENT]);
        (a, b, ctx.receive()) // the noise stayed
    });
    let ((i, first), (j, second), noise) = h.wait().unwrap();
    assert_eq!((i, j), (1, 0));
    assert_eq!(first, json!({"event": "tick", "payload": [1, 2]}));
    assert_eq!(second, json!(["data", "bytes"]));
    assert_eq!(noise, json!({"noise": true}));
}

#[test]
fn send_json_sends_a_serialized_copy() {
    let h = actors::spawn(|ctx: &mut Ctx<Value>| (ctx.receive(), ctx.receive(), ctx.receive()));
    let a = h.addr();
    a.send_json(&("credit", 9.5)).unwrap();
    a.send_json(&vec!["x", "y"]).unwrap();
    let mut map = std::collections::BTreeMap::new();
    map.insert("name", 7);
    a.send_json(&map).unwrap();
    let (m1, m2, m3) = h.wait().unwrap();
    assert!(shape!(("credit", float)).matches(&m1));
    assert!(shape!([str]).matches(&m2));
    assert!(shape!({"name": int}).matches(&m3));
    assert_eq!(m3, json!({"name": 7}));
}

#[test]
fn exit_reasons_normal_panic_killed_custom() {
    assert_eq!(actors::spawn(|_: &mut Ctx<()>| 1).wait(), Ok(1));
    let panicked = actors::spawn(|_: &mut Ctx<()>| -> () { panic!("boom {}", 7) });
    assert_eq!(panicked.wait(), Err(ExitReason::Panic("boom 7".into())));
    let killed = actors::spawn(|ctx: &mut Ctx<()>| ctx.receive());
    killed.kill();
    assert_eq!(killed.wait(), Err(ExitReason::Killed));
    let custom = actors::spawn(|ctx: &mut Ctx<()>| -> () {
        ctx.exit(ExitReason::Custom("my reason".into()))
    });
    assert_eq!(custom.wait(), Err(ExitReason::Custom("my reason".into())));
}

#[derive(Debug)]
enum Sig {
    Exit(Exit),
    Down(Down),
}

impl From<Exit> for Sig {
    fn from(e: Exit) -> Sig {
        Sig::Exit(e)
    }
}

impl From<Down> for Sig {
    fn from(d: Down) -> Sig {
        Sig::Down(d)
    }
}

#[test]
fn an_abnormal_end_takes_linked_actors_down() {
    // ctx.link: the victim dies with the panicking actor's reason.
    let victim = actors::spawn(|ctx: &mut Ctx<()>| ctx.receive());
    let v = victim.addr();
    let h = actors::spawn(move |ctx: &mut Ctx<()>| -> () {
        ctx.link(&v);
        panic!("linked crash");
    });
    assert_eq!(h.wait(), Err(ExitReason::Panic("linked crash".into())));
    assert_eq!(victim.wait(), Err(ExitReason::Panic("linked crash".into())));

    // spawn_link, along a chain a - b - c: c's crash reaches a through b.
    let a = actors::spawn(|ctx: &mut Ctx<()>| {
        let _b = ctx.spawn_link(|ctx: &mut Ctx<()>| {
            ctx.spawn_link(|_: &mut Ctx<()>| -> () { panic!("end of chain") });
            ctx.receive()
        });
        ctx.receive()
    });
    assert_eq!(a.wait(), Err(ExitReason::Panic("end of chain".into())));

    // A custom reason travels along a link as it is; `actors::spawn_link`
    // names the other end (here an actor that only waits).
    let parent = actors::spawn(|ctx: &mut Ctx<()>| ctx.receive());
    let child = actors::spawn_link(&parent.addr(), |c: &mut Ctx<()>| -> () {
        c.exit(ExitReason::Custom("child gave up".into()))
    });
    assert_eq!(
        child.wait(),
        Err(ExitReason::Custom("child gave up".into()))
    );
    assert_eq!(
        parent.wait(),
        Err(ExitReason::Custom("child gave up".into()))
    );
}

#[test]
fn a_normal_end_does_not_take_linked_actors_down() {
    let h = actors::spawn(|ctx: &mut Ctx<u8>| {
        let child = ctx.spawn_link(|_: &mut Ctx<()>| "done");
        assert_eq!(child.wait(), Ok("done"));
        ctx.addr().send(9);
        ctx.receive() // still alive, still receiving
    });
    assert_eq!(h.wait(), Ok(9));
}

#[test]
fn trapping_exits_turns_them_into_messages() {
    let h = actors::spawn(|ctx: &mut Ctx<Sig>| {
        ctx.trap_exit(true);
        assert!(ctx.traps_exits());
        let crash = ctx.spawn_link(|_: &mut Ctx<()>| -> () { panic!("child died") });
        let calm = ctx.spawn_link(|_: &mut Ctx<()>| ());
        let mut got = Vec::new();
        for _ in 0..2 {
            match ctx.receive() {
                Sig::Exit(e) => got.push((e.from, e.reason)),
                other => panic!("unexpected {other:?}"),
            }
        }
        got.sort_by_key(|(id, _)| *id);
        let mut want = vec![
            (crash.id(), ExitReason::Panic("child died".into())),
            (calm.id(), ExitReason::Normal),
        ];
        want.sort_by_key(|(id, _)| *id);
        assert_eq!(got, want);
        "survived"
    });
    assert_eq!(h.wait(), Ok("survived"));
}

#[test]
fn a_monitor_delivers_one_down_message() {
    let worker = actors::spawn(|ctx: &mut Ctx<()>| -> () {
        ctx.receive();
        panic!("worker failed")
    });
    let w = worker.addr();
    let watcher = actors::spawn(move |ctx: &mut Ctx<Sig>| {
        let r = ctx.monitor(&w);
        w.send(());
        let d = match ctx.receive() {
            Sig::Down(d) => d,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(d.monitor, r);
        assert_eq!(d.actor, w.id());
        // Exactly once, and the watcher was not taken down.
        assert!(ctx.receive_timeout(Duration::from_millis(10)).is_none());
        d.reason
    });
    assert_eq!(
        watcher.wait(),
        Ok(ExitReason::Panic("worker failed".into()))
    );
    assert!(worker.wait().is_err());
}

enum Store {
    Get(Reply<u64>),
    Crash(Reply<u64>),
    Ignore(Reply<u64>),
}

#[test]
fn call_with_reply_dead_and_timeout() {
    let h = actors::spawn(|ctx: &mut Ctx<Store>| {
        let mut held = Vec::new();
        loop {
            match ctx.receive() {
                Store::Get(reply) => reply.send(99),
                // Keeps the reply without ever answering.
                Store::Ignore(reply) => held.push(reply),
                Store::Crash(_reply) => panic!("crashed mid-call"),
            }
        }
    });
    let a = h.addr();
    assert_eq!(a.call(Store::Get, PATIENCE), Ok(99));
    // No answer in time: Timeout.
    assert_eq!(
        a.call(Store::Ignore, Duration::from_millis(20)),
        Err(CallError::Timeout)
    );
    // The callee dies first: Dead, never a hang.
    let t0 = Instant::now();
    assert_eq!(a.call(Store::Crash, PATIENCE), Err(CallError::Dead));
    assert!(t0.elapsed() < PATIENCE);
    assert_eq!(h.wait(), Err(ExitReason::Panic("crashed mid-call".into())));
    // A call to an actor already gone: Dead at once.
    assert_eq!(a.call(Store::Get, PATIENCE), Err(CallError::Dead));
}

#[test]
fn register_and_whereis() {
    let h = actors::spawn(|ctx: &mut Ctx<u8>| ctx.receive() + 1);
    actors::register("spec-actors-adder", &h.addr()).unwrap();
    // A taken name is an error.
    let other = actors::spawn(|ctx: &mut Ctx<u8>| ctx.receive());
    assert_eq!(
        actors::register("spec-actors-adder", &other.addr()),
        Err(RegisterError::Taken("spec-actors-adder".into()))
    );
    // whereis needs the right mailbox type.
    assert!(actors::whereis::<String>("spec-actors-adder").is_none());
    let found = actors::whereis::<u8>("spec-actors-adder").unwrap();
    assert_eq!(found, h.addr());
    found.send(41);
    assert_eq!(h.wait(), Ok(42));
    // The actor's names go when it ends; the name is free again.
    assert!(actors::whereis::<u8>("spec-actors-adder").is_none());
    actors::register("spec-actors-adder", &other.addr()).unwrap();
    assert_eq!(
        actors::whereis::<u8>("spec-actors-adder"),
        Some(other.addr())
    );
    other.kill();
    assert!(other.wait().is_err());
    assert!(actors::whereis::<u8>("spec-actors-adder").is_none());
}

#[test]
fn a_supervisor_restarts_a_crashed_child() {
    let starts = Arc::new(AtomicUsize::new(0));
    let sup = Supervisor::new(Strategy::OneForOne)
        .intensity(5, Duration::from_secs(60))
        .child(ChildSpec::new("doubler", {
            let starts = starts.clone();
            move |ctx: &mut Ctx<(i32, Reply<i32>)>| {
                starts.fetch_add(1, Ordering::SeqCst);
                loop {
                    let (n, reply) = ctx.receive();
                    if n < 0 {
                        panic!("negative");
                    }
                    reply.send(n * 2);
                }
            }
        }))
        .start()
        .unwrap();
    let call = |n: i32| {
        sup.child::<(i32, Reply<i32>)>("doubler")
            .unwrap()
            .call(|r| (n, r), PATIENCE)
    };
    assert_eq!(call(21), Ok(42));
    let first = sup.child::<(i32, Reply<i32>)>("doubler").unwrap();
    assert_eq!(call(-1), Err(CallError::Dead)); // it panicked mid-call
    let t0 = Instant::now();
    while sup.restarts() == 0 || sup.child::<(i32, Reply<i32>)>("doubler").is_none() {
        assert!(
            t0.elapsed() < PATIENCE,
            "the supervisor never restarted the child"
        );
        grove::yield_now();
    }
    assert_eq!(call(4), Ok(8)); // a new instance answers
    assert_ne!(sup.child::<(i32, Reply<i32>)>("doubler").unwrap(), first);
    assert_eq!(starts.load(Ordering::SeqCst), 2);
    sup.stop().unwrap();
}

#[test]
fn routers_round_robin_broadcast_and_pool() {
    let workers: Vec<_> = (0..3)
        .map(|_| actors::spawn(|ctx: &mut Ctx<u32>| (ctx.receive(), ctx.receive())))
        .collect();
    let rr = RoundRobin::new(workers.iter().map(|w| w.addr()).collect());
    for n in [1, 2, 3, 4, 5, 6] {
        rr.send(n);
    }
    let got: Vec<(u32, u32)> = workers.into_iter().map(|w| w.wait().unwrap()).collect();
    assert_eq!(got, [(1, 4), (2, 5), (3, 6)]);

    let hs: Vec<_> = (0..3)
        .map(|_| actors::spawn(|ctx: &mut Ctx<String>| ctx.receive()))
        .collect();
    Broadcast::new(hs.iter().map(|h| h.addr()).collect()).send("everyone".to_string());
    for h in hs {
        assert_eq!(h.wait().unwrap(), "everyone");
    }

    let pool = Pool::new(3, |ctx: &mut Ctx<(u64, Reply<u64>)>| loop {
        let (n, reply) = ctx.receive();
        reply.send(n * n);
    })
    .unwrap();
    assert_eq!(pool.len(), 3);
    let squares: Vec<u64> = (1..=6)
        .map(|n| pool.call(|r| (n, r), PATIENCE).unwrap())
        .collect();
    assert_eq!(squares, [1, 4, 9, 16, 25, 36]);
    pool.stop().unwrap();
}
