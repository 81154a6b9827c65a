//! Links, monitors and exit reasons, as Erlang has them: an abnormal end
//! travels along links (both ways, transitively, with its reason) and a
//! normal one takes nobody down; an actor that traps exits gets an
//! `Exit { from, reason }` message instead and lives; a monitor delivers
//! exactly one `Down`, also for an actor that had already ended, and none
//! once demonitored; notifications follow what the actor sent before its
//! end and ignore a full bounded mailbox; kills unwind the actor (its destructors run), whether
//! it is running, blocked in `receive`, or not started yet; and the
//! `Actor` trait's `started` runs before the first message and `stopped`
//! with the right reason, before `wait()` returns.

mod util;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use grove::actors::{
    self, Actor, ActorHandle, ActorId, Addr, CallError, Ctx, Down, Exit, ExitReason, MonitorRef,
    Reply,
};
use grove::sync::{Event, Queue};
use parking_lot::Mutex;
use util::DropCounter;

/// Long enough never to be reached on a success path.
const LONG: Duration = Duration::from_secs(10);
/// How long to look for a message that must not come. Every test first
/// synchronises on the end that would send it (a `wait()`), so by then it
/// would already be in the mailbox: this only keeps the check honest.
const SHORT: Duration = Duration::from_millis(20);

// ---------------------------------------------------------------------------
// A puppet: an actor the test drives with calls, one step at a time.

/// A notification a puppet has received.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Note {
    Exit(Exit),
    Down(Down),
}

/// What a puppet is told to do.
enum Cmd {
    Link(Addr<Cmd>, Reply<()>),
    Unlink(Addr<Cmd>, Reply<()>),
    /// Sets trap_exit; answers `traps_exits()` afterwards.
    Trap(bool, Reply<bool>),
    Monitor(Addr<Cmd>, Reply<MonitorRef>),
    Demonitor(MonitorRef, Reply<bool>),
    /// Answers the oldest notification, waiting at most this long.
    Next(Duration, Reply<Option<Note>>),
    /// Answers its id (proof of life).
    Ping(Reply<ActorId>),
    Panic(&'static str),
    Return,
    ExitWith(ExitReason),
    /// An `Exit` or `Down` that arrived; left in the mailbox until `Next`.
    Note(Note),
}

impl From<Exit> for Cmd {
    fn from(e: Exit) -> Cmd {
        Cmd::Note(Note::Exit(e))
    }
}

impl From<Down> for Cmd {
    fn from(d: Down) -> Cmd {
        Cmd::Note(Note::Down(d))
    }
}

/// Spawns a puppet. It handles commands in order and keeps notifications
/// in its mailbox (selective receive) until asked for them.
fn puppet() -> ActorHandle<Cmd, ()> {
    actors::spawn(|ctx: &mut Ctx<Cmd>| loop {
        match ctx.receive_match(|m| !matches!(m, Cmd::Note(_))) {
            Cmd::Link(a, r) => {
                ctx.link(&a);
                r.send(());
            }
            Cmd::Unlink(a, r) => {
                ctx.unlink(&a);
                r.send(());
            }
            Cmd::Trap(on, r) => {
                ctx.trap_exit(on);
                r.send(ctx.traps_exits());
            }
            Cmd::Monitor(a, r) => r.send(ctx.monitor(&a)),
            Cmd::Demonitor(m, r) => r.send(ctx.demonitor(m)),
            Cmd::Next(d, r) => {
                let n = ctx.receive_match_timeout(d, |m| matches!(m, Cmd::Note(_)));
                r.send(n.map(|m| match m {
                    Cmd::Note(n) => n,
                    _ => unreachable!("only notes match"),
                }));
            }
            Cmd::Ping(r) => r.send(ctx.id()),
            Cmd::Panic(msg) => panic!("{msg}"),
            Cmd::Return => return,
            Cmd::ExitWith(reason) => ctx.exit(reason),
            Cmd::Note(_) => unreachable!("notes are not commands"),
        }
    })
}

fn link(a: &Addr<Cmd>, b: &Addr<Cmd>) {
    a.call(|r| Cmd::Link(b.clone(), r), LONG).unwrap();
}

fn unlink(a: &Addr<Cmd>, b: &Addr<Cmd>) {
    a.call(|r| Cmd::Unlink(b.clone(), r), LONG).unwrap();
}

fn trap(a: &Addr<Cmd>, on: bool) -> bool {
    a.call(|r| Cmd::Trap(on, r), LONG).unwrap()
}

fn monitor(watcher: &Addr<Cmd>, target: &Addr<Cmd>) -> MonitorRef {
    watcher
        .call(|r| Cmd::Monitor(target.clone(), r), LONG)
        .unwrap()
}

fn demonitor(watcher: &Addr<Cmd>, m: MonitorRef) -> bool {
    watcher.call(|r| Cmd::Demonitor(m, r), LONG).unwrap()
}

fn next(a: &Addr<Cmd>, within: Duration) -> Option<Note> {
    a.call(|r| Cmd::Next(within, r), LONG + within).unwrap()
}

fn ping(a: &Addr<Cmd>) -> Result<ActorId, CallError> {
    a.call(Cmd::Ping, LONG)
}

fn panic_reason(msg: &str) -> ExitReason {
    ExitReason::Panic(msg.to_string())
}

// ---------------------------------------------------------------------------
// Links.

#[test]
fn a_crash_takes_the_linked_actor_down_with_its_reason_both_ways() {
    // The side that made the link crashes.
    let (a, b) = (puppet(), puppet());
    link(&a.addr(), &b.addr());
    a.addr().send(Cmd::Panic("the linker crashed"));
    assert_eq!(a.wait(), Err(panic_reason("the linker crashed")));
    assert_eq!(b.wait(), Err(panic_reason("the linker crashed")));

    // The side that was linked to crashes.
    let (a, b) = (puppet(), puppet());
    link(&a.addr(), &b.addr());
    b.addr().send(Cmd::Panic("the linked crashed"));
    assert_eq!(b.wait(), Err(panic_reason("the linked crashed")));
    assert_eq!(a.wait(), Err(panic_reason("the linked crashed")));
}

#[test]
fn a_normal_end_does_not_take_a_linked_actor_down() {
    for linker_ends in [true, false] {
        let (a, b) = (puppet(), puppet());
        link(&a.addr(), &b.addr());
        let (ending, staying) = if linker_ends { (a, b) } else { (b, a) };
        ending.addr().send(Cmd::Return);
        assert_eq!(ending.wait(), Ok(()));
        // Its exit signal was handled before `wait` returned: had it been
        // taken for a crash, the call would fail.
        assert_eq!(ping(&staying.addr()), Ok(staying.id()));
        assert_eq!(staying.addr().exit_reason(), None);
        // Still linked to nobody: a crash now ends only itself.
        staying.addr().send(Cmd::Panic("alone"));
        assert_eq!(staying.wait(), Err(panic_reason("alone")));
    }
}

#[test]
fn every_abnormal_reason_travels_along_a_chain_of_five() {
    type Ender = fn(&ActorHandle<Cmd, ()>);
    let cases: [(Ender, ExitReason); 4] = [
        (
            |h| h.addr().send(Cmd::Panic("chain")),
            panic_reason("chain"),
        ),
        (
            |h| {
                h.addr()
                    .send(Cmd::ExitWith(ExitReason::Custom("own".into())))
            },
            ExitReason::Custom("own".into()),
        ),
        (
            |h| h.addr().send(Cmd::ExitWith(ExitReason::Shutdown)),
            ExitReason::Shutdown,
        ),
        (|h| h.kill(), ExitReason::Killed),
    ];
    for (end, reason) in cases {
        let chain: Vec<_> = (0..5).map(|_| puppet()).collect();
        for w in chain.windows(2) {
            link(&w[0].addr(), &w[1].addr());
        }
        let bystander = puppet();
        // End the one in the middle: the exit goes both ways along the chain.
        end(&chain[2]);
        for h in chain {
            assert_eq!(h.wait(), Err(reason.clone()));
        }
        assert_eq!(ping(&bystander.addr()), Ok(bystander.id()));
        bystander.addr().send(Cmd::Return);
        assert_eq!(bystander.wait(), Ok(()));
    }
}

#[test]
fn a_trapping_actor_in_a_chain_stops_the_crash_and_hears_of_it_once() {
    let (a, b, c) = (puppet(), puppet(), puppet());
    link(&a.addr(), &b.addr());
    link(&b.addr(), &c.addr());
    assert!(trap(&b.addr(), true));
    c.addr().send(Cmd::Panic("stopped at b"));
    let cid = c.id();
    assert_eq!(c.wait(), Err(panic_reason("stopped at b")));
    assert_eq!(
        next(&b.addr(), LONG),
        Some(Note::Exit(Exit {
            from: cid,
            reason: panic_reason("stopped at b"),
        }))
    );
    assert_eq!(next(&b.addr(), SHORT), None, "one Exit per crash");
    // b lives, and so does a, which never heard of it.
    assert_eq!(ping(&b.addr()), Ok(b.id()));
    assert_eq!(ping(&a.addr()), Ok(a.id()));
    // b's link with a is intact: b's own crash takes a down.
    b.addr().send(Cmd::Panic("b now"));
    assert_eq!(b.wait(), Err(panic_reason("b now")));
    assert_eq!(a.wait(), Err(panic_reason("b now")));
}

#[test]
fn linking_to_an_actor_that_already_ended() {
    let crashed = puppet();
    crashed.addr().send(Cmd::Panic("was dead"));
    let dead = crashed.addr();
    assert_eq!(crashed.wait(), Err(panic_reason("was dead")));

    // Not trapping: taken down at once, with the dead actor's reason. The
    // call itself may or may not get its answer before the kill lands.
    let a = puppet();
    let _ = a.addr().call(|r| Cmd::Link(dead.clone(), r), LONG);
    assert_eq!(a.wait(), Err(panic_reason("was dead")));

    // Trapping: the exit arrives as a message, once.
    let t = puppet();
    assert!(trap(&t.addr(), true));
    link(&t.addr(), &dead);
    assert_eq!(
        next(&t.addr(), LONG),
        Some(Note::Exit(Exit {
            from: dead.id(),
            reason: panic_reason("was dead"),
        }))
    );
    assert_eq!(next(&t.addr(), SHORT), None);

    // To one that ended normally: nothing happens to a non-trapping actor;
    // a trapping one hears `Exit { reason: Normal }`.
    let done = puppet();
    done.addr().send(Cmd::Return);
    let done_addr = done.addr();
    assert_eq!(done.wait(), Ok(()));
    let n = puppet();
    link(&n.addr(), &done_addr);
    assert_eq!(ping(&n.addr()), Ok(n.id()));
    link(&t.addr(), &done_addr);
    assert_eq!(
        next(&t.addr(), LONG),
        Some(Note::Exit(Exit {
            from: done_addr.id(),
            reason: ExitReason::Normal,
        }))
    );
    for h in [n, t] {
        h.addr().send(Cmd::Return);
        assert_eq!(h.wait(), Ok(()));
    }
}

#[test]
fn unlink_from_either_side_stops_propagation() {
    // The side that linked unlinks.
    let (a, b) = (puppet(), puppet());
    link(&a.addr(), &b.addr());
    unlink(&a.addr(), &b.addr());
    b.addr().send(Cmd::Panic("unlinked"));
    assert_eq!(b.wait(), Err(panic_reason("unlinked")));
    assert_eq!(ping(&a.addr()), Ok(a.id()));
    a.addr().send(Cmd::Return);
    assert_eq!(a.wait(), Ok(()));

    // The other side unlinks.
    let (a, b) = (puppet(), puppet());
    link(&a.addr(), &b.addr());
    unlink(&b.addr(), &a.addr());
    a.addr().send(Cmd::Panic("unlinked too"));
    assert_eq!(a.wait(), Err(panic_reason("unlinked too")));
    assert_eq!(ping(&b.addr()), Ok(b.id()));
    b.addr().send(Cmd::Return);
    assert_eq!(b.wait(), Ok(()));

    // Linking twice is one link; unlinking once removes it.
    let (a, b) = (puppet(), puppet());
    link(&a.addr(), &b.addr());
    link(&b.addr(), &a.addr());
    unlink(&a.addr(), &b.addr());
    a.addr().send(Cmd::Panic("one link"));
    assert_eq!(a.wait(), Err(panic_reason("one link")));
    assert_eq!(ping(&b.addr()), Ok(b.id()));
    b.addr().send(Cmd::Return);
    assert_eq!(b.wait(), Ok(()));
}

#[test]
fn spawn_link_links_both_ways() {
    // The child crashes: the parent, blocked in receive, is taken down.
    let parent = actors::spawn(|ctx: &mut Ctx<()>| {
        let child = ctx.spawn_link(|c: &mut Ctx<()>| -> () {
            c.receive();
            panic!("child crashed");
        });
        child.addr().send(());
        ctx.receive()
    });
    assert_eq!(parent.wait(), Err(panic_reason("child crashed")));

    // The parent crashes: the child, blocked in receive, is taken down and
    // its destructors run.
    let (dropped, guard) = DropCounter::new();
    let handoff = Queue::unbounded();
    let parent = actors::spawn({
        let handoff = handoff.clone();
        move |ctx: &mut Ctx<()>| -> () {
            let child = ctx.spawn_link(move |c: &mut Ctx<()>| {
                let _g = guard;
                c.receive()
            });
            handoff.put(child).unwrap();
            panic!("parent crashed");
        }
    });
    let child = handoff.get().unwrap();
    assert_eq!(parent.wait(), Err(panic_reason("parent crashed")));
    assert_eq!(child.wait(), Err(panic_reason("parent crashed")));
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------------------
// Trapping exits.

/// A trapping actor's mailbox.
#[derive(Debug)]
enum Trapper {
    Exit(Exit),
    Go,
}

impl From<Exit> for Trapper {
    fn from(e: Exit) -> Trapper {
        Trapper::Exit(e)
    }
}

#[test]
fn trap_exit_turns_each_linked_end_into_one_message_and_the_actor_lives() {
    let h = actors::spawn(|ctx: &mut Ctx<Trapper>| {
        ctx.trap_exit(true);
        let traps = ctx.traps_exits();
        let a = ctx.spawn_link(|_: &mut Ctx<()>| -> () { panic!("trapped") });
        let b = ctx.spawn_link(|_: &mut Ctx<()>| 5);
        let c =
            ctx.spawn_link(|c: &mut Ctx<()>| -> () { c.exit(ExitReason::Custom("bye".into())) });
        let expected = vec![
            (a.id(), panic_reason("trapped")),
            (b.id(), ExitReason::Normal),
            (c.id(), ExitReason::Custom("bye".into())),
        ];
        let mut got = Vec::new();
        for _ in 0..3 {
            match ctx.receive() {
                Trapper::Exit(e) => got.push((e.from, e.reason)),
                Trapper::Go => unreachable!("nobody sent Go yet"),
            }
        }
        // Their ends are over (wait), and nothing more came.
        for h in [a, c] {
            assert!(h.wait().is_err());
        }
        assert_eq!(b.wait(), Ok(5));
        let extra = ctx.receive_timeout(SHORT).map(|m| format!("{m:?}"));
        // Alive and receiving.
        ctx.addr().send(Trapper::Go);
        let alive = matches!(ctx.receive(), Trapper::Go);
        (traps, expected, got, extra, alive)
    });
    let (traps, mut expected, mut got, extra, alive) = h.wait().unwrap();
    assert!(traps);
    expected.sort_by_key(|(id, _)| *id);
    got.sort_by_key(|(id, _)| *id);
    assert_eq!(got, expected);
    assert_eq!(extra, None);
    assert!(alive);
}

#[test]
fn trap_exit_false_brings_the_default_back() {
    let h = actors::spawn(|ctx: &mut Ctx<Trapper>| {
        ctx.trap_exit(true);
        let first = ctx.spawn_link(|_: &mut Ctx<()>| -> () { panic!("first") });
        let Trapper::Exit(e) = ctx.receive() else {
            unreachable!()
        };
        assert_eq!((e.from, e.reason), (first.id(), panic_reason("first")));
        ctx.trap_exit(false);
        assert!(!ctx.traps_exits());
        ctx.spawn_link(|_: &mut Ctx<()>| -> () { panic!("second") });
        ctx.receive(); // taken down by the link before anything arrives
        "survived"
    });
    assert_eq!(h.wait(), Err(panic_reason("second")));
}

#[test]
fn a_kill_is_not_trapped() {
    let (dropped, guard) = DropCounter::new();
    let ready = Event::new();
    let h = actors::spawn({
        let ready = ready.clone();
        move |ctx: &mut Ctx<Trapper>| {
            let _g = guard;
            ctx.trap_exit(true);
            ready.set();
            ctx.receive()
        }
    });
    ready.wait();
    h.kill();
    assert_eq!(h.wait().unwrap_err(), ExitReason::Killed);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn addr_exit_is_an_exit_signal() {
    let from = puppet();
    // Not trapping: Shutdown ends it with Shutdown; Normal is ignored.
    let p = puppet();
    p.addr().exit(from.id(), ExitReason::Normal);
    assert_eq!(ping(&p.addr()), Ok(p.id()));
    p.addr().exit(from.id(), ExitReason::Shutdown);
    assert_eq!(p.wait(), Err(ExitReason::Shutdown));

    // Trapping: a message with the `from` given, for any reason.
    let t = puppet();
    assert!(trap(&t.addr(), true));
    for reason in [
        ExitReason::Normal,
        ExitReason::Shutdown,
        ExitReason::Custom("x".into()),
    ] {
        t.addr().exit(from.id(), reason.clone());
        assert_eq!(
            next(&t.addr(), LONG),
            Some(Note::Exit(Exit {
                from: from.id(),
                reason
            }))
        );
    }
    assert_eq!(ping(&t.addr()), Ok(t.id()));
    for h in [t, from] {
        h.addr().send(Cmd::Return);
        assert_eq!(h.wait(), Ok(()));
    }
}

/// A mailbox with data and both kinds of notifications.
#[derive(Debug, PartialEq)]
enum Mixed {
    Data(u32),
    Exit(Exit),
    Down(Down),
}

impl From<Exit> for Mixed {
    fn from(e: Exit) -> Mixed {
        Mixed::Exit(e)
    }
}

impl From<Down> for Mixed {
    fn from(d: Down) -> Mixed {
        Mixed::Down(d)
    }
}

#[test]
fn notifications_come_after_what_the_actor_sent_before_its_end() {
    let h = actors::spawn(|ctx: &mut Ctx<Mixed>| {
        ctx.trap_exit(true);
        let me = ctx.addr();
        let child = ctx.spawn_link(move |_: &mut Ctx<()>| -> () {
            for i in 0..3 {
                me.send(Mixed::Data(i));
            }
            panic!("after the data");
        });
        let m = ctx.monitor(&child.addr());
        let got: Vec<Mixed> = (0..5).map(|_| ctx.receive()).collect();
        (got, child.id(), m)
    });
    let (got, id, m) = h.wait().unwrap();
    let reason = panic_reason("after the data");
    assert_eq!(&got[..3], [Mixed::Data(0), Mixed::Data(1), Mixed::Data(2)]);
    // The Exit and the Down both follow the data (in either order: the
    // monitor may have been set up after the child had ended).
    assert!(got[3..].contains(&Mixed::Exit(Exit {
        from: id,
        reason: reason.clone()
    })));
    assert!(got[3..].contains(&Mixed::Down(Down {
        monitor: m,
        actor: id,
        reason
    })));
}

#[test]
fn notifications_ignore_the_bound_of_a_full_mailbox() {
    let gate = Event::new();
    let handoff = Queue::unbounded();
    let h = actors::Builder::new()
        .bounded(1)
        .spawn({
            let gate = gate.clone();
            let handoff = handoff.clone();
            move |ctx: &mut Ctx<Mixed>| {
                ctx.trap_exit(true);
                let child = ctx.spawn_link(|c: &mut Ctx<()>| -> () {
                    c.receive();
                    panic!("into a full mailbox");
                });
                let m = ctx.monitor(&child.addr());
                handoff.put(child).unwrap();
                gate.wait();
                let got: Vec<Mixed> = (0..3).map(|_| ctx.receive()).collect();
                (got, m)
            }
        })
        .unwrap();
    let child = handoff.get().unwrap();
    let id = child.id();
    h.addr().send(Mixed::Data(1)); // the one slot
    assert!(h.addr().try_send(Mixed::Data(2)).unwrap_err().is_full());
    child.addr().send(());
    // Its end (Exit and Down into the full mailbox) does not block.
    assert_eq!(child.wait(), Err(panic_reason("into a full mailbox")));
    gate.set();
    let (got, m) = h.wait().unwrap();
    let reason = panic_reason("into a full mailbox");
    assert_eq!(
        got,
        [
            Mixed::Data(1),
            Mixed::Exit(Exit {
                from: id,
                reason: reason.clone()
            }),
            Mixed::Down(Down {
                monitor: m,
                actor: id,
                reason
            }),
        ]
    );
}

#[test]
fn the_first_exit_signal_wins() {
    let from = puppet();
    let p = puppet();
    p.addr().exit(from.id(), ExitReason::Custom("first".into()));
    p.addr().kill();
    p.addr().exit(from.id(), ExitReason::Shutdown);
    assert_eq!(p.wait(), Err(ExitReason::Custom("first".into())));
    from.addr().send(Cmd::Return);
    from.wait().unwrap();
}

#[test]
fn ctx_exit_normal_is_a_normal_end_for_links() {
    let (a, b) = (puppet(), puppet());
    link(&a.addr(), &b.addr());
    a.addr().send(Cmd::ExitWith(ExitReason::Normal));
    assert_eq!(a.wait(), Err(ExitReason::Normal));
    assert_eq!(ping(&b.addr()), Ok(b.id()));
    b.addr().send(Cmd::Return);
    assert_eq!(b.wait(), Ok(()));
}

// ---------------------------------------------------------------------------
// Monitors.

#[test]
fn a_monitor_delivers_exactly_one_down_and_never_takes_the_watcher_down() {
    let w = puppet();
    type Ender = fn(&ActorHandle<Cmd, ()>);
    let cases: [(Ender, ExitReason); 3] = [
        (|h| h.addr().send(Cmd::Panic("down")), panic_reason("down")),
        (|h| h.addr().send(Cmd::Return), ExitReason::Normal),
        (|h| h.kill(), ExitReason::Killed),
    ];
    for (end, reason) in cases {
        let t = puppet();
        let m = monitor(&w.addr(), &t.addr());
        end(&t);
        let tid = t.id();
        let _ = t.wait();
        assert_eq!(
            next(&w.addr(), LONG),
            Some(Note::Down(Down {
                monitor: m,
                actor: tid,
                reason,
            }))
        );
        assert_eq!(next(&w.addr(), SHORT), None, "a second Down");
        assert!(!demonitor(&w.addr(), m), "it has fired");
        assert_eq!(ping(&w.addr()), Ok(w.id()));
    }
    w.addr().send(Cmd::Return);
    assert_eq!(w.wait(), Ok(()));
}

#[test]
fn monitoring_an_actor_that_already_ended_fires_once_at_once() {
    let t = puppet();
    t.addr()
        .send(Cmd::ExitWith(ExitReason::Custom("long gone".into())));
    let dead = t.addr();
    assert_eq!(t.wait(), Err(ExitReason::Custom("long gone".into())));

    let w = puppet();
    let m = monitor(&w.addr(), &dead);
    assert_eq!(
        next(&w.addr(), LONG),
        Some(Note::Down(Down {
            monitor: m,
            actor: dead.id(),
            reason: ExitReason::Custom("long gone".into()),
        }))
    );
    assert_eq!(next(&w.addr(), SHORT), None);
    assert!(!demonitor(&w.addr(), m));
    w.addr().send(Cmd::Return);
    assert_eq!(w.wait(), Ok(()));
}

#[test]
fn several_monitors_each_fire_once() {
    let (w1, w2, t) = (puppet(), puppet(), puppet());
    let m1 = monitor(&w1.addr(), &t.addr());
    let m2 = monitor(&w1.addr(), &t.addr());
    let m3 = monitor(&w2.addr(), &t.addr());
    assert_eq!([m1, m2, m3].iter().collect::<HashSet<_>>().len(), 3);
    t.addr().send(Cmd::Panic("watched"));
    let tid = t.id();
    let _ = t.wait();
    let down = |m| {
        Some(Note::Down(Down {
            monitor: m,
            actor: tid,
            reason: panic_reason("watched"),
        }))
    };
    let mut got = vec![next(&w1.addr(), LONG), next(&w1.addr(), LONG)];
    got.sort_by_key(|n| match n {
        Some(Note::Down(d)) => d.monitor,
        other => panic!("not a Down: {other:?}"),
    });
    let mut want = vec![down(m1), down(m2)];
    want.sort_by_key(|n| match n {
        Some(Note::Down(d)) => d.monitor,
        _ => unreachable!(),
    });
    assert_eq!(got, want);
    assert_eq!(next(&w1.addr(), SHORT), None);
    assert_eq!(next(&w2.addr(), LONG), down(m3));
    assert_eq!(next(&w2.addr(), SHORT), None);
    for h in [w1, w2] {
        h.addr().send(Cmd::Return);
        assert_eq!(h.wait(), Ok(()));
    }
}

#[test]
fn demonitor_before_the_end_means_no_down() {
    let (w, t) = (puppet(), puppet());
    let m = monitor(&w.addr(), &t.addr());
    assert!(demonitor(&w.addr(), m), "it was active");
    assert!(!demonitor(&w.addr(), m), "and is gone");
    t.addr().send(Cmd::Panic("unwatched"));
    let _ = t.wait();
    assert_eq!(next(&w.addr(), SHORT), None);
    assert_eq!(ping(&w.addr()), Ok(w.id()));
    w.addr().send(Cmd::Return);
    assert_eq!(w.wait(), Ok(()));
}

#[test]

fn a_fired_monitor_lets_go_of_the_dead_actor() {
    // The dead actor's return value, never joined, is freed once nothing
    // refers to the actor any more. A monitor whose Down was delivered must
    // not be such a reference (it is spent: demonitor says so).
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let (freed_after_down, spent) = rt.block_on(|| {
        let watcher = actors::spawn(|ctx: &mut Ctx<Down>| {
            let (freed, guard) = DropCounter::new();
            let child = ctx.spawn(move |_: &mut Ctx<()>| guard);
            let m = ctx.monitor(&child.addr());
            drop(child); // never joined: its value goes when the actor does
            let down = ctx.receive();
            assert_eq!(down.monitor, m);
            // One worker: the child's green thread has finished by now.
            let freed_after_down = freed.load(Ordering::SeqCst);
            let spent = !ctx.demonitor(m);
            (freed_after_down, spent)
        });
        watcher.wait().unwrap()
    });
    assert!(spent, "demonitor after the Down: nothing to remove");
    assert_eq!(
        freed_after_down, 1,
        "the watcher still holds the dead actor through its fired monitor"
    );
}

// ---------------------------------------------------------------------------
// Exit reasons and kills.

#[test]
fn exit_reasons_normal_panic_custom_and_shutdown() {
    let normal = actors::spawn(|_: &mut Ctx<()>| 7);
    let a = normal.addr();
    assert_eq!(normal.wait(), Ok(7));
    assert_eq!(a.exit_reason(), Some(ExitReason::Normal));
    assert!(!a.is_alive());

    let panicked = actors::spawn(|_: &mut Ctx<()>| -> () { panic!("bad value {}", 42) });
    let a = panicked.addr();
    assert_eq!(panicked.wait(), Err(panic_reason("bad value 42")));
    assert_eq!(a.exit_reason(), Some(panic_reason("bad value 42")));

    let (dropped, guard) = DropCounter::new();
    let custom = actors::spawn(move |ctx: &mut Ctx<()>| -> () {
        let _g = guard;
        ctx.exit(ExitReason::Custom("my own reason".into()))
    });
    assert_eq!(
        custom.wait(),
        Err(ExitReason::Custom("my own reason".into()))
    );
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "ctx.exit unwinds");

    let blocked = actors::spawn(|ctx: &mut Ctx<()>| ctx.receive());
    blocked.addr().exit(blocked.id(), ExitReason::Shutdown);
    assert_eq!(blocked.wait(), Err(ExitReason::Shutdown));
}

#[test]
fn kill_a_running_actor() {
    let (dropped, guard) = DropCounter::new();
    let running = Event::new();
    let h = actors::spawn({
        let running = running.clone();
        move |_: &mut Ctx<()>| -> () {
            let _g = guard;
            running.set();
            loop {
                grove::yield_now();
            }
        }
    });
    running.wait();
    let a = h.addr();
    h.kill();
    assert_eq!(h.wait(), Err(ExitReason::Killed));
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(a.exit_reason(), Some(ExitReason::Killed));
}

#[test]
fn kill_an_actor_blocked_in_receive() {
    let (dropped, guard) = DropCounter::new();
    let (dropped_msg, msg_guard) = DropCounter::new();
    let ready = Event::new();
    let h = actors::spawn({
        let ready = ready.clone();
        move |ctx: &mut Ctx<Option<DropCounter>>| {
            let _g = guard;
            ready.set();
            // The next switch point: the kill lands here.
            ctx.receive_match(|m| m.is_none())
        }
    });
    ready.wait();
    h.addr().send(Some(msg_guard)); // does not match: stays in its mailbox
    h.kill();
    assert_eq!(h.wait().unwrap_err(), ExitReason::Killed);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(
        dropped_msg.load(Ordering::SeqCst),
        1,
        "its unreceived messages are dropped"
    );
}

#[test]
fn kill_an_actor_that_has_not_started() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let (dropped, guard) = DropCounter::new();
    let (reason, child, notes) = rt.block_on({
        let ran = ran.clone();
        move || {
            let parent = actors::spawn(move |ctx: &mut Ctx<Cmd>| {
                ctx.trap_exit(true);
                // One worker, and no switch point from the spawn to the
                // kill: the child is killed before it ever runs.
                let h = ctx.spawn_link(move |c: &mut Ctx<()>| {
                    let _g = guard;
                    ran.store(true, Ordering::SeqCst);
                    c.receive()
                });
                let m = ctx.monitor(&h.addr());
                h.kill();
                let id = h.id();
                let reason = h.wait();
                let mut notes = vec![ctx.receive(), ctx.receive()]
                    .into_iter()
                    .map(|c| match c {
                        Cmd::Note(n) => n,
                        _ => unreachable!("only notes are sent here"),
                    })
                    .collect::<Vec<_>>();
                notes.sort_by_key(|n| matches!(n, Note::Down(_)));
                (reason, (id, m), notes)
            });
            parent.wait().unwrap()
        }
    });
    assert!(!ran.load(Ordering::SeqCst), "it never ran");
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "its closure was dropped");
    assert_eq!(reason, Err(ExitReason::Killed));
    let (id, m) = child;
    assert_eq!(
        notes,
        [
            Note::Exit(Exit {
                from: id,
                reason: ExitReason::Killed
            }),
            Note::Down(Down {
                monitor: m,
                actor: id,
                reason: ExitReason::Killed
            }),
        ],
        "links and monitors hear of it"
    );

    // An exit signal before the start ends it with that signal's reason.
    let reason = rt.block_on(|| {
        let h = actors::spawn(|c: &mut Ctx<()>| c.receive());
        h.addr().exit(h.id(), ExitReason::Shutdown);
        h.wait()
    });
    assert_eq!(reason, Err(ExitReason::Shutdown));
}

// ---------------------------------------------------------------------------
// The Actor trait's hooks.

/// What the hooked actor is told.
enum HookMsg {
    Note(&'static str),
    /// Answers once everything before it was handled.
    Sync(Reply<()>),
    /// Links itself to a puppet.
    Link(Addr<Cmd>, Reply<()>),
    Stop,
    Crash,
    ExitWith(ExitReason),
}

/// Logs its hooks and messages into shared state.
struct Hooked {
    log: Arc<Mutex<Vec<String>>>,
    /// Whether `stopped` switches before it logs (only when the actor is
    /// not being killed: a kill strikes again at any switch point).
    slow_stop: bool,
    /// Messages waiting when `started` ran.
    pending_at_start: usize,
    handled: usize,
}

impl Hooked {
    fn new(slow_stop: bool) -> (Hooked, Arc<Mutex<Vec<String>>>) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let actor = Hooked {
            log: log.clone(),
            slow_stop,
            pending_at_start: 0,
            handled: 0,
        };
        (actor, log)
    }
}

impl Actor for Hooked {
    type Msg = HookMsg;

    fn started(&mut self, ctx: &mut Ctx<HookMsg>) {
        self.pending_at_start = ctx.pending();
        self.log.lock().push("started".to_string());
    }

    fn handle(&mut self, msg: HookMsg, ctx: &mut Ctx<HookMsg>) {
        self.handled += 1;
        match msg {
            HookMsg::Note(s) => self.log.lock().push(format!("handle {s}")),
            HookMsg::Sync(r) => r.send(()),
            HookMsg::Link(a, r) => {
                ctx.link(&a);
                r.send(());
            }
            HookMsg::Stop => ctx.stop(),
            HookMsg::Crash => panic!("crash in handle"),
            HookMsg::ExitWith(r) => ctx.exit(r),
        }
    }

    fn stopped(&mut self, _: &mut Ctx<HookMsg>, reason: &ExitReason) {
        if self.slow_stop {
            // Give a `wait` that does not wait for `stopped` every chance
            // to return before the log is written.
            for _ in 0..20 {
                grove::yield_now();
            }
        }
        self.log.lock().push(format!("stopped {reason:?}"));
    }
}

fn last(log: &Mutex<Vec<String>>) -> String {
    log.lock().last().cloned().unwrap_or_default()
}

#[test]
fn started_runs_before_the_first_message_and_stopped_after_a_normal_stop() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let (actor, log) = Hooked::new(true);
    let state = rt.block_on(move || {
        let h = actors::start(actor);
        // Queued before the actor runs (one worker, no switch yet).
        h.addr().send(HookMsg::Note("a"));
        h.addr().send(HookMsg::Note("b"));
        h.addr().send(HookMsg::Stop);
        h.addr().send(HookMsg::Note("never"));
        h.wait()
    });
    // `wait` returned the final state, after `stopped` ran.
    let state = state.unwrap();
    assert_eq!((state.pending_at_start, state.handled), (4, 3));
    assert_eq!(
        *log.lock(),
        ["started", "handle a", "handle b", "stopped Normal"]
    );
}

#[test]
fn stopped_runs_with_the_reason_before_wait_returns() {
    type Ender = fn(&ActorHandle<HookMsg, Hooked>);
    // (how it ends, the reason, whether `stopped` may switch)
    let cases: [(Ender, ExitReason, bool); 4] = [
        (
            |h| h.addr().send(HookMsg::Crash),
            panic_reason("crash in handle"),
            true,
        ),
        (
            |h| {
                h.addr()
                    .send(HookMsg::ExitWith(ExitReason::Custom("from handle".into())))
            },
            ExitReason::Custom("from handle".into()),
            true,
        ),
        (|h| h.kill(), ExitReason::Killed, false),
        (
            |h| h.addr().exit(h.id(), ExitReason::Shutdown),
            ExitReason::Shutdown,
            false,
        ),
    ];
    for (end, reason, slow) in cases {
        let (actor, log) = Hooked::new(slow);
        let h = actors::start(actor);
        h.addr().send(HookMsg::Note("x"));
        h.addr().call(HookMsg::Sync, LONG).unwrap(); // started, idle
        end(&h);
        assert_eq!(h.wait().err(), Some(reason.clone()));
        let log = log.lock().clone();
        assert_eq!(
            log,
            [
                "started".to_string(),
                "handle x".to_string(),
                format!("stopped {reason:?}")
            ]
        );
    }
}

#[test]
fn stopped_runs_when_a_link_takes_the_actor_down_and_before_monitors_hear() {
    let (actor, log) = Hooked::new(false);
    let h = actors::start(actor);
    let crasher = puppet();
    h.addr()
        .call(|r| HookMsg::Link(crasher.addr(), r), LONG)
        .unwrap();
    let watcher = actors::spawn({
        let log = log.clone();
        let target = h.addr();
        move |ctx: &mut Ctx<Down>| {
            ctx.monitor(&target);
            let down = ctx.receive();
            // What the log held when the Down arrived.
            (down.reason, log.lock().clone())
        }
    });
    crasher.addr().send(Cmd::Panic("the linked one crashed"));
    let reason = panic_reason("the linked one crashed");
    assert_eq!(crasher.wait().err(), Some(reason.clone()));
    assert_eq!(h.wait().err(), Some(reason.clone()));
    assert_eq!(last(&log), format!("stopped {reason:?}"));
    let (down_reason, seen) = watcher.wait().unwrap();
    assert_eq!(down_reason, reason);
    assert!(
        seen.last().is_some_and(|l| l.starts_with("stopped")),
        "the Down came before stopped ran: {seen:?}"
    );
}

#[test]
fn an_actor_killed_before_it_started_runs_neither_hook() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let (actor, log) = Hooked::new(false);
    let reason = rt.block_on(move || {
        let h = actors::start(actor);
        h.kill();
        h.wait().err()
    });
    assert_eq!(reason, Some(ExitReason::Killed));
    assert!(log.lock().is_empty(), "{:?}", log.lock());
}
