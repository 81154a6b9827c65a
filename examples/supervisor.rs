//! Supervised workers: a one-for-one supervisor keeps a key-value store
//! and a flaky worker alive, Erlang/OTP style.
//!
//! * `store` is an object-style actor (`impl Actor`) holding a map; its
//!   `stopped` hook reports when it goes down.
//! * `worker` squares numbers for callers, and crashes on a negative one:
//!   the supervisor restarts it, and `sup.child("worker")` gives the new
//!   instance's address. The store, under one-for-one, is untouched.
//! * Then the worker is crashed over and over: past the restart intensity
//!   (3 restarts within 1 s) the supervisor gives up, stops the store
//!   (its `stopped` hook runs) and ends with its own exit reason.
//!
//!     cargo run --release --example supervisor

use std::collections::HashMap;
use std::time::Duration;

use grove::actors::supervisor::{ChildSpec, Strategy, Supervisor};
use grove::actors::{Actor, Ctx, ExitReason, Reply};

/// The store's messages.
enum StoreMsg {
    Put(String, i64),
    Get(String, Reply<Option<i64>>),
}

/// A key-value store with a lifecycle.
#[derive(Default)]
struct Store {
    map: HashMap<String, i64>,
}

impl Actor for Store {
    type Msg = StoreMsg;

    fn started(&mut self, ctx: &mut Ctx<StoreMsg>) {
        println!("store {}: started", ctx.id());
    }

    fn handle(&mut self, msg: StoreMsg, _ctx: &mut Ctx<StoreMsg>) {
        match msg {
            StoreMsg::Put(k, v) => {
                self.map.insert(k, v);
            }
            StoreMsg::Get(k, reply) => reply.send(self.map.get(&k).copied()),
        }
    }

    fn stopped(&mut self, ctx: &mut Ctx<StoreMsg>, reason: &ExitReason) {
        println!(
            "store {}: stopped ({reason}) holding {} keys",
            ctx.id(),
            self.map.len()
        );
    }
}

/// The worker's messages: a number to square, and where the answer goes.
type Square = (i64, Reply<i64>);

/// Squares numbers; a negative one is a bug that crashes it.
fn worker(ctx: &mut Ctx<Square>) {
    println!("worker {}: started", ctx.id());
    loop {
        let (n, reply) = ctx.receive();
        assert!(n >= 0, "worker cannot square {n}");
        reply.send(n * n);
    }
}

fn main() {
    // Crashes are part of the demonstration; keep their panic messages short.
    std::panic::set_hook(Box::new(|info| eprintln!("  (crash: {info})")));

    let sup = Supervisor::new(Strategy::OneForOne)
        .intensity(3, Duration::from_secs(1))
        .child(ChildSpec::actor("store", Store::default))
        .child(ChildSpec::new("worker", worker).shutdown(Duration::from_millis(100)))
        .start()
        .expect("start the supervisor");

    let timeout = Duration::from_secs(1);
    let store = sup.child::<StoreMsg>("store").expect("the store runs");
    store.send(StoreMsg::Put("answer".into(), 42));

    // The live worker: between a crash and its restart there is none.
    let square = |n: i64| {
        let w = loop {
            match sup.child::<Square>("worker") {
                Some(w) => break w,
                None => grove::yield_now(),
            }
        };
        (w.id(), w.call(|r| (n, r), timeout))
    };

    let (id, r) = square(12);
    println!("worker {id}: 12² = {:?}", r);
    let (crashed, r) = square(-1);
    println!("worker {crashed}: -1² = {:?}  (it crashed mid-call)", r);

    // The supervisor restarts it; wait until the table shows the new one.
    while sup
        .child::<Square>("worker")
        .is_none_or(|w| w.id() == crashed)
    {
        grove::yield_now();
    }
    let (id, r) = square(7);
    println!("worker {id}: 7² = {:?}  (the restarted instance)", r);
    println!(
        "store still holds answer = {:?}",
        store.call(|r| StoreMsg::Get("answer".into(), r), timeout)
    );

    // Crash it past the restart intensity.
    println!("crashing the worker repeatedly...");
    for _ in 0..10 {
        if let Some(w) = sup.child::<Square>("worker") {
            let _ = w.call(|r| (-1, r), timeout);
        }
        if !sup.addr().is_alive() {
            break;
        }
        grove::yield_now();
    }
    match sup.wait() {
        Ok(()) => println!("supervisor stopped normally"),
        Err(reason) => println!("supervisor gave up: {reason}"),
    }
}
