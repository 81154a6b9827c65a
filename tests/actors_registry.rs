//! The registry: `register` / `whereis` / `unregister`; a taken name and a
//! dead actor are errors; `whereis` with another mailbox type finds
//! nothing; an actor may hold several names; its names go when it ends,
//! however it ends — also when it was killed before it started — so no
//! stale entry is ever left; and many actors registering at once from two
//! workers each get their own name (or `Taken`, never both).
//!
//! The registry is process-wide and tests in one file run in parallel:
//! every test uses names of its own.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use grove::actors::{self, ActorHandle, Addr, Ctx, ExitReason, RegisterError};
use grove::sync::Queue;

/// An actor that idles until told to end, with the given outcome.
#[derive(Debug, Clone, PartialEq)]
enum Msg {
    Return,
    Panic,
    ExitWith(ExitReason),
}

fn idle() -> ActorHandle<Msg, ()> {
    actors::spawn(|ctx: &mut Ctx<Msg>| match ctx.receive() {
        Msg::Return => {}
        Msg::Panic => panic!("registered and crashed"),
        Msg::ExitWith(r) => ctx.exit(r),
    })
}

/// Whether `name` is in the registry (by both lookups).
fn present(name: &str) -> bool {
    let listed = actors::registered().iter().any(|n| n == name);
    assert_eq!(
        listed,
        actors::whereis::<Msg>(name).is_some(),
        "registered() and whereis() disagree on {name:?}"
    );
    listed
}

#[test]
fn register_whereis_unregister() {
    let h = idle();
    actors::register("reg-basic", &h.addr()).unwrap();
    assert_eq!(actors::whereis::<Msg>("reg-basic"), Some(h.addr()));
    assert!(present("reg-basic"));

    assert!(actors::unregister("reg-basic"));
    assert!(!present("reg-basic"));
    assert!(!actors::unregister("reg-basic"), "already gone");
    assert!(
        h.addr().is_alive(),
        "unregistering does not touch the actor"
    );

    // The name can be taken again, and reaches the actor.
    actors::register("reg-basic", &h.addr()).unwrap();
    actors::whereis::<Msg>("reg-basic")
        .unwrap()
        .send(Msg::Return);
    assert_eq!(h.wait(), Ok(()));
    assert!(!present("reg-basic"));
}

#[test]
fn a_taken_name_is_an_error() {
    let (a, b) = (idle(), idle());
    actors::register("reg-taken", &a.addr()).unwrap();
    for h in [&b, &a] {
        assert_eq!(
            actors::register("reg-taken", &h.addr()),
            Err(RegisterError::Taken("reg-taken".to_string()))
        );
    }
    assert_eq!(actors::whereis::<Msg>("reg-taken"), Some(a.addr()));
    // b's failed attempt did not give b the name: b's end leaves it alone.
    b.addr().send(Msg::Return);
    b.wait().unwrap();
    assert_eq!(actors::whereis::<Msg>("reg-taken"), Some(a.addr()));
    a.addr().send(Msg::Return);
    a.wait().unwrap();
    assert!(!present("reg-taken"));
}

#[test]
fn registering_a_dead_actor_is_an_error() {
    let h = idle();
    let a = h.addr();
    a.send(Msg::Return);
    h.wait().unwrap();
    assert_eq!(actors::register("reg-dead", &a), Err(RegisterError::Dead));
    assert!(!present("reg-dead"));
}

#[test]
fn whereis_with_another_mailbox_type_finds_nothing() {
    let h = idle();
    actors::register("reg-typed", &h.addr()).unwrap();
    assert!(actors::whereis::<String>("reg-typed").is_none());
    assert!(actors::whereis::<()>("reg-typed").is_none());
    assert_eq!(actors::whereis::<Msg>("reg-typed"), Some(h.addr()));
    assert!(actors::whereis::<Msg>("reg-typed-nobody").is_none());
    h.addr().send(Msg::Return);
    h.wait().unwrap();
}

#[test]
fn names_go_when_the_actor_ends_however_it_ends() {
    type Ender = fn(&ActorHandle<Msg, ()>);
    let cases: [(&str, Ender, Result<(), ExitReason>); 5] = [
        ("normal", |h| h.addr().send(Msg::Return), Ok(())),
        (
            "panic",
            |h| h.addr().send(Msg::Panic),
            Err(ExitReason::Panic("registered and crashed".into())),
        ),
        ("kill", |h| h.kill(), Err(ExitReason::Killed)),
        (
            "shutdown",
            |h| h.addr().exit(h.id(), ExitReason::Shutdown),
            Err(ExitReason::Shutdown),
        ),
        (
            "custom",
            |h| h.addr().send(Msg::ExitWith(ExitReason::Custom("c".into()))),
            Err(ExitReason::Custom("c".into())),
        ),
    ];
    for (what, end, outcome) in cases {
        let name = format!("reg-end-{what}");
        let h = idle();
        actors::register(name.clone(), &h.addr()).unwrap();
        assert!(present(&name));
        end(&h);
        assert_eq!(h.wait(), outcome, "{what}");
        assert!(!present(&name), "{what}: the name outlived its actor");
        // And it is free for the next one.
        let next = idle();
        actors::register(name.clone(), &next.addr()).unwrap();
        next.kill();
        next.wait().unwrap_err();
        assert!(!present(&name), "{what}");
    }
}

#[test]
fn names_go_with_an_actor_taken_down_by_a_link() {
    let victim = idle();
    actors::register("reg-linked", &victim.addr()).unwrap();
    let v = victim.addr();
    let crasher = actors::spawn(move |ctx: &mut Ctx<()>| -> () {
        ctx.link(&v);
        panic!("taking the victim along");
    });
    assert!(crasher.wait().is_err());
    assert_eq!(
        victim.wait(),
        Err(ExitReason::Panic("taking the victim along".into()))
    );
    assert!(!present("reg-linked"));
}

#[test]
fn an_actor_killed_before_it_started_leaves_no_name_behind() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let (reason, was_present) = rt.block_on({
        let ran = ran.clone();
        move || {
            // One worker: it cannot start before we switch.
            let h = actors::spawn(move |ctx: &mut Ctx<Msg>| {
                ran.store(true, Ordering::SeqCst);
                ctx.receive();
            });
            actors::register("reg-unstarted", &h.addr()).unwrap();
            let was_present = present("reg-unstarted");
            h.kill();
            (h.wait(), was_present)
        }
    });
    assert!(was_present);
    assert_eq!(reason, Err(ExitReason::Killed));
    assert!(!ran.load(Ordering::SeqCst));
    assert!(!present("reg-unstarted"), "a stale entry");

    // Registered after the kill, but before the kill has ended it: either
    // refused, or released at its end — never left behind.
    let (registered, reason) = rt.block_on(|| {
        let h = actors::spawn(|ctx: &mut Ctx<Msg>| ctx.receive());
        h.kill();
        let r = actors::register("reg-killed-first", &h.addr());
        (r, h.wait())
    });
    assert!(matches!(registered, Ok(()) | Err(RegisterError::Dead)));
    assert_eq!(reason, Err(ExitReason::Killed));
    assert!(!present("reg-killed-first"), "a stale entry");
}

#[test]
fn an_actor_that_failed_to_start_leaves_no_name_behind() {
    // No stack that large can be mapped: the green thread fails to start.
    let h = actors::Builder::new()
        .stack_size(1 << 62)
        .spawn(|ctx: &mut Ctx<Msg>| ctx.receive())
        .unwrap();
    let a = h.addr();
    // Registered before it tried to start, or refused if it failed first.
    let r = actors::register("reg-failed-start", &a);
    assert!(matches!(r, Ok(()) | Err(RegisterError::Dead)), "{r:?}");
    assert_eq!(h.wait(), Err(ExitReason::Killed));
    assert!(!a.is_alive());
    assert!(!present("reg-failed-start"), "a stale entry");
    assert_eq!(
        actors::register("reg-failed-start", &a),
        Err(RegisterError::Dead)
    );
}

#[test]
fn one_actor_may_hold_several_names() {
    let h = idle();
    for n in ["reg-multi-a", "reg-multi-b", "reg-multi-c"] {
        actors::register(n, &h.addr()).unwrap();
    }
    for n in ["reg-multi-a", "reg-multi-b", "reg-multi-c"] {
        assert_eq!(actors::whereis::<Msg>(n), Some(h.addr()), "{n}");
    }
    assert!(actors::unregister("reg-multi-b"));
    assert!(!present("reg-multi-b"));
    assert!(present("reg-multi-a") && present("reg-multi-c"));
    h.addr().send(Msg::Return);
    h.wait().unwrap();
    for n in ["reg-multi-a", "reg-multi-b", "reg-multi-c"] {
        assert!(!present(n), "{n}");
    }
}

#[test]
fn a_name_given_up_and_taken_by_another_is_not_released_by_the_first() {
    let (first, second) = (idle(), idle());
    actors::register("reg-handover", &first.addr()).unwrap();
    assert!(actors::unregister("reg-handover"));
    actors::register("reg-handover", &second.addr()).unwrap();
    first.addr().send(Msg::Return);
    first.wait().unwrap();
    assert_eq!(actors::whereis::<Msg>("reg-handover"), Some(second.addr()));
    second.addr().send(Msg::Return);
    second.wait().unwrap();
    assert!(!present("reg-handover"));
}

/// Spawns actors on `rt` from outside it (its shared queue, which both
/// workers take from); each registers `name(i)` itself, reports the
/// outcome on `acks`, and then waits to be told to end.
fn spawn_registrants(
    rt: &grove::Runtime,
    count: usize,
    name: fn(usize) -> String,
    acks: &Queue<(usize, Result<(), RegisterError>)>,
) -> Vec<ActorHandle<Msg, ()>> {
    let spawners: Vec<_> = (0..count)
        .map(|i| {
            let acks = acks.clone();
            rt.spawn(move || {
                actors::spawn(move |ctx: &mut Ctx<Msg>| {
                    acks.put((i, ctx.register(name(i)))).unwrap();
                    ctx.receive();
                })
            })
        })
        .collect();
    spawners.into_iter().map(|s| s.join().unwrap()).collect()
}

#[test]
fn many_actors_register_at_once_from_two_workers() {
    const N: usize = 64;
    let rt = grove::Runtime::builder().workers(2).build().unwrap();
    let name = |i: usize| format!("reg-many-{i}");
    let acks = Queue::unbounded();
    let hs = spawn_registrants(&rt, N, name, &acks);
    for _ in 0..N {
        let (i, r) = acks.get().unwrap();
        assert_eq!(r, Ok(()), "{}", name(i));
    }
    for (i, h) in hs.iter().enumerate() {
        assert_eq!(actors::whereis::<Msg>(&name(i)), Some(h.addr()));
    }
    let listed: HashSet<String> = actors::registered().into_iter().collect();
    assert!((0..N).all(|i| listed.contains(&name(i))));

    // Told to end through their names.
    for i in 0..N {
        actors::whereis::<Msg>(&name(i)).unwrap().send(Msg::Return);
    }
    for h in hs {
        assert_eq!(h.wait(), Ok(()));
    }
    let listed: HashSet<String> = actors::registered().into_iter().collect();
    assert!((0..N).all(|i| !listed.contains(&name(i))));
    assert!((0..N).all(|i| actors::whereis::<Msg>(&name(i)).is_none()));
}

#[test]
fn racing_for_one_name_exactly_one_wins() {
    const NAMES: usize = 32;
    let rt = grove::Runtime::builder().workers(2).build().unwrap();
    // Actors 2k and 2k + 1 both want name k.
    let name = |i: usize| format!("reg-race-{}", i / 2);
    let acks = Queue::unbounded();
    let hs = spawn_registrants(&rt, 2 * NAMES, name, &acks);
    let mut winners = vec![None; NAMES];
    for _ in 0..2 * NAMES {
        let (i, r) = acks.get().unwrap();
        match r {
            Ok(()) => {
                assert!(winners[i / 2].is_none(), "two winners for {}", name(i));
                winners[i / 2] = Some(i);
            }
            Err(e) => assert_eq!(e, RegisterError::Taken(name(i))),
        }
    }
    for (k, w) in winners.iter().enumerate() {
        let w = w.unwrap_or_else(|| panic!("nobody won reg-race-{k}"));
        let holder: Option<Addr<Msg>> = actors::whereis(&name(w));
        assert_eq!(holder, Some(hs[w].addr()));
    }
    for h in &hs {
        h.addr().send(Msg::Return);
    }
    for h in hs {
        assert_eq!(h.wait(), Ok(()));
    }
    assert!((0..2 * NAMES).all(|i| actors::whereis::<Msg>(&name(i)).is_none()));
}
