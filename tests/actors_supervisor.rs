//! Supervisors: the three strategies (one-for-one keeps the other
//! children's ids, one-for-all changes every id, rest-for-one those from
//! the crashed child on); the three restart types (permanent always,
//! transient only after an abnormal end, temporary never); restart
//! intensity (N restarts within T are made, the N+1-th crash — or failed
//! start — ends the supervisor with its own reason, after stopping every
//! child; crashes further apart than T do not add up); ordered
//! shutdown (reverse start order, `Exit { reason: Shutdown }` for a child
//! that traps exits, a kill after the grace for one that ignores it);
//! `child()` giving the live instance after a restart; and a supervisor
//! that is killed, or whose linked parent crashes, taking its children
//! with it.
//!
//! Most tests run on a one-worker runtime, where a supervisor's restart
//! happens as a whole between two of the test's switch points, and wait
//! for it with bounded `yield_now` loops.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grove::actors::supervisor::{ChildSpec, Restart, Strategy, Supervisor, SupervisorHandle};
use grove::actors::{self, Actor, ActorId, Addr, Ctx, Down, Exit, ExitReason, Reply};
use parking_lot::Mutex;
use util::{yield_until, DropCounter};

/// Long enough never to be reached on a success path.
const LONG: Duration = Duration::from_secs(10);
/// How many yields a restart may take (it takes a handful).
const YIELDS: usize = 10_000;

type Log = Arc<Mutex<Vec<String>>>;

fn new_log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

/// Runs `f` on a fresh one-worker runtime.
fn one_worker<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    grove::Runtime::builder()
        .workers(1)
        .build()
        .unwrap()
        .block_on(f)
}

/// A worker child's mailbox.
enum Work {
    /// Answers (its id, which start of its spec it is: 1, 2, ...).
    Who(Reply<(ActorId, usize)>),
    Crash,
    Return,
    ExitWith(ExitReason),
    /// An exit signal, for children that trap exits.
    Exit(Exit),
}

impl From<Exit> for Work {
    fn from(e: Exit) -> Work {
        Work::Exit(e)
    }
}

/// The starts of each child, by name.
#[derive(Clone, Default)]
struct Starts(Arc<Mutex<Vec<String>>>);

impl Starts {
    fn of(&self, name: &str) -> usize {
        self.0.lock().iter().filter(|n| *n == name).count()
    }
}

/// A worker child named `name`: counts its starts, answers `Who`, and
/// crashes, returns or exits when told.
fn worker(name: &str, starts: &Starts) -> ChildSpec {
    let starts = starts.clone();
    let me = name.to_string();
    ChildSpec::new(name, move |ctx: &mut Ctx<Work>| {
        let generation = {
            let mut s = starts.0.lock();
            s.push(me.clone());
            s.iter().filter(|n| **n == me).count()
        };
        loop {
            match ctx.receive() {
                Work::Who(r) => r.send((ctx.id(), generation)),
                Work::Crash => panic!("{me} crashed"),
                Work::Return => return,
                Work::ExitWith(reason) => ctx.exit(reason),
                Work::Exit(_) => {}
            }
        }
    })
}

fn who(sup: &SupervisorHandle, name: &str) -> (ActorId, usize) {
    sup.child::<Work>(name)
        .unwrap_or_else(|| panic!("no live {name}"))
        .call(Work::Who, LONG)
        .unwrap()
}

fn tell(sup: &SupervisorHandle, name: &str, w: Work) {
    sup.child::<Work>(name)
        .unwrap_or_else(|| panic!("no live {name}"))
        .send(w);
}

/// The id of each child, in `names` order (None: not running).
fn ids(sup: &SupervisorHandle, names: &[&str]) -> Vec<Option<ActorId>> {
    let children = sup.children();
    names
        .iter()
        .map(|n| children.iter().find(|(c, _)| c == n).map(|(_, id)| *id))
        .collect()
}

/// Yields until the supervisor has made `n` restarts and every child in
/// `names` runs again.
fn await_restarts(sup: &SupervisorHandle, n: usize, names: &[&str]) {
    assert!(
        yield_until(YIELDS, || sup.restarts() == n
            && names.iter().all(|c| sup.child::<Work>(c).is_some())),
        "restarts: {} of {n}; children: {:?}",
        sup.restarts(),
        sup.children()
    );
}

/// How the actor at `target` ended, waiting for it with a monitor.
fn end_of<M: Send + 'static>(target: &Addr<M>) -> ExitReason {
    let target = target.clone();
    actors::spawn(move |ctx: &mut Ctx<Down>| {
        ctx.monitor(&target);
        ctx.receive().reason
    })
    .wait()
    .unwrap()
}

const ABC: [&str; 3] = ["a", "b", "c"];

fn three(strategy: Strategy, starts: &Starts) -> SupervisorHandle {
    Supervisor::new(strategy)
        .intensity(10, LONG)
        .child(worker("a", starts))
        .child(worker("b", starts))
        .child(worker("c", starts))
        .start()
        .unwrap()
}

// ---------------------------------------------------------------------------
// Strategies.

#[test]
fn one_for_one_restarts_only_the_crashed_child() {
    one_worker(|| {
        let starts = Starts::default();
        let sup = three(Strategy::OneForOne, &starts);
        let before = ids(&sup, &ABC);
        assert!(before.iter().all(Option::is_some));
        // Ids are handed out at spawn: they show the start order.
        assert!(before[0] < before[1] && before[1] < before[2]);

        tell(&sup, "b", Work::Crash);
        await_restarts(&sup, 1, &ABC);
        let after = ids(&sup, &ABC);
        assert_eq!(after[0], before[0], "a kept its id");
        assert_ne!(after[1], before[1], "b is a new instance");
        assert_eq!(after[2], before[2], "c kept its id");

        // child() is the new instance, and it handles what is sent to it.
        let b = sup.child::<Work>("b").unwrap();
        assert_eq!(Some(b.id()), after[1]);
        assert_eq!(b.call(Work::Who, LONG), Ok((b.id(), 2)));
        assert_eq!(who(&sup, "a").1, 1);
        assert_eq!(who(&sup, "c").1, 1);
        sup.stop().unwrap();
    });
}

#[test]
fn one_for_all_restarts_every_child() {
    one_worker(|| {
        let starts = Starts::default();
        let sup = three(Strategy::OneForAll, &starts);
        let before = ids(&sup, &ABC);
        let old_a = sup.child::<Work>("a").unwrap();
        tell(&sup, "b", Work::Crash);
        assert!(yield_until(YIELDS, || {
            let now = ids(&sup, &ABC);
            now.iter().zip(&before).all(|(n, b)| n.is_some() && n != b)
        }));
        assert_eq!(sup.restarts(), 1, "one crash, one restart");
        assert_eq!(end_of(&old_a), ExitReason::Shutdown, "a was stopped");
        for n in ABC {
            assert_eq!(who(&sup, n).1, 2, "{n}");
        }
        // Restarted in start order.
        let after = ids(&sup, &ABC);
        assert!(after[0] < after[1] && after[1] < after[2]);
        sup.stop().unwrap();
    });
}

#[test]
fn rest_for_one_restarts_the_crashed_child_and_those_after_it() {
    one_worker(|| {
        let starts = Starts::default();
        let sup = three(Strategy::RestForOne, &starts);
        let before = ids(&sup, &ABC);
        tell(&sup, "b", Work::Crash);
        await_restarts(&sup, 1, &ABC);
        let mid = ids(&sup, &ABC);
        assert_eq!(mid[0], before[0], "a, started before b, kept its id");
        assert_ne!(mid[1], before[1]);
        assert_ne!(mid[2], before[2], "c, started after b, was restarted");
        assert!(mid[1] < mid[2], "in start order");
        assert_eq!(
            (who(&sup, "a").1, who(&sup, "b").1, who(&sup, "c").1),
            (1, 2, 2)
        );

        // The last one crashing restarts only itself.
        tell(&sup, "c", Work::Crash);
        await_restarts(&sup, 2, &ABC);
        let last = ids(&sup, &ABC);
        assert_eq!(&last[..2], &mid[..2]);
        assert_ne!(last[2], mid[2]);

        // The first one crashing restarts all.
        tell(&sup, "a", Work::Crash);
        await_restarts(&sup, 3, &ABC);
        let all = ids(&sup, &ABC);
        assert!(all.iter().zip(&last).all(|(n, l)| n != l));
        assert_eq!(
            (who(&sup, "a").1, who(&sup, "b").1, who(&sup, "c").1),
            (2, 3, 4)
        );
        sup.stop().unwrap();
    });
}

// ---------------------------------------------------------------------------
// Restart types.

/// A supervisor with `spec` and a permanent "sentinel" after it. Crashing
/// the sentinel and waiting for its restart proves that the supervisor
/// has handled every exit before it (it handles them in order).
fn with_sentinel(spec: ChildSpec, starts: &Starts) -> SupervisorHandle {
    Supervisor::new(Strategy::OneForOne)
        .intensity(10, LONG)
        .child(spec)
        .child(worker("sentinel", starts))
        .start()
        .unwrap()
}

fn sync_on_sentinel(sup: &SupervisorHandle, restarts: usize) {
    tell(sup, "sentinel", Work::Crash);
    await_restarts(sup, restarts, &["sentinel"]);
}

#[test]
fn a_permanent_child_is_restarted_after_any_end() {
    one_worker(|| {
        let starts = Starts::default();
        let sup = with_sentinel(worker("p", &starts), &starts);
        let ends = [
            Work::Return,
            Work::ExitWith(ExitReason::Shutdown),
            Work::Crash,
            Work::ExitWith(ExitReason::Custom("own".into())),
        ];
        for (i, end) in ends.into_iter().enumerate() {
            tell(&sup, "p", end);
            await_restarts(&sup, i + 1, &["p"]);
            assert_eq!(who(&sup, "p").1, i + 2);
        }
        sup.stop().unwrap();
    });
}

#[test]
fn a_transient_child_is_restarted_only_after_an_abnormal_end() {
    one_worker(|| {
        for (end, restarted) in [
            (Work::Return, false),
            (Work::ExitWith(ExitReason::Shutdown), false),
            (Work::Crash, true),
            (Work::ExitWith(ExitReason::Custom("own".into())), true),
        ] {
            let starts = Starts::default();
            let spec = worker("t", &starts).restart(Restart::Transient);
            let sup = with_sentinel(spec, &starts);
            tell(&sup, "t", end);
            let expected = usize::from(restarted);
            sync_on_sentinel(&sup, expected + 1);
            assert_eq!(sup.child::<Work>("t").is_some(), restarted);
            if restarted {
                assert_eq!(who(&sup, "t").1, 2);
            } else {
                assert_eq!(starts.of("t"), 1);
            }
            sup.stop().unwrap();
        }
    });
}

#[test]
fn a_temporary_child_is_never_restarted() {
    one_worker(|| {
        for end in [Work::Return, Work::Crash] {
            let starts = Starts::default();
            let spec = worker("tmp", &starts).restart(Restart::Temporary);
            let sup = with_sentinel(spec, &starts);
            tell(&sup, "tmp", end);
            sync_on_sentinel(&sup, 1);
            assert!(sup.child::<Work>("tmp").is_none());
            assert_eq!(starts.of("tmp"), 1);
            sup.stop().unwrap();
        }

        // Nor when a sibling's crash restarts everyone (one-for-all): it
        // is stopped with the others and stays down.
        let starts = Starts::default();
        let sup = Supervisor::new(Strategy::OneForAll)
            .child(worker("tmp", &starts).restart(Restart::Temporary))
            .child(worker("perm", &starts))
            .start()
            .unwrap();
        let tmp = sup.child::<Work>("tmp").unwrap();
        tell(&sup, "perm", Work::Crash);
        await_restarts(&sup, 1, &["perm"]);
        assert_eq!(end_of(&tmp), ExitReason::Shutdown);
        assert!(sup.child::<Work>("tmp").is_none());
        assert_eq!(starts.of("tmp"), 1);
        sup.stop().unwrap();
    });
}

// ---------------------------------------------------------------------------
// Restart intensity.

#[test]
fn n_crashes_are_restarted_and_the_next_one_ends_the_supervisor() {
    one_worker(|| {
        const N: usize = 3;
        let starts = Starts::default();
        let sup = Supervisor::new(Strategy::OneForOne)
            .intensity(N, LONG)
            .child(worker("crasher", &starts))
            .child(worker("bystander", &starts))
            .start()
            .unwrap();
        let bystander = sup.child::<Work>("bystander").unwrap();
        for k in 1..=N {
            tell(&sup, "crasher", Work::Crash);
            await_restarts(&sup, k, &["crasher"]);
            assert!(sup.addr().is_alive(), "gave up after {k} of {N}");
        }
        let last = sup.child::<Work>("crasher").unwrap();
        last.send(Work::Crash);
        let reason = sup.wait().unwrap_err();
        match &reason {
            ExitReason::Custom(m) => {
                assert!(m.contains("intensity"), "{m}");
                assert!(m.contains(&N.to_string()), "{m}");
            }
            other => panic!("not the supervisor's own reason: {other:?}"),
        }
        // Every child was stopped, none restarted again.
        assert_eq!(end_of(&bystander), ExitReason::Shutdown);
        assert!(!last.is_alive());
        assert_eq!(starts.of("crasher"), N + 1);
        assert_eq!(starts.of("bystander"), 1);
    });
}

#[test]
fn a_child_that_crashes_at_once_exhausts_the_intensity() {
    // On the default runtime, with nobody in the way.
    let starts = Arc::new(AtomicUsize::new(0));
    let sup = Supervisor::new(Strategy::OneForOne)
        .intensity(2, LONG)
        .child(ChildSpec::new("doomed", {
            let starts = starts.clone();
            move |_: &mut Ctx<()>| -> () {
                starts.fetch_add(1, Ordering::SeqCst);
                panic!("doomed from the start")
            }
        }))
        .start()
        .unwrap();
    assert!(matches!(sup.wait(), Err(ExitReason::Custom(m)) if m.contains("intensity")));
    assert_eq!(
        starts.load(Ordering::SeqCst),
        3,
        "the first start and 2 restarts"
    );
}

#[test]
fn a_child_that_cannot_start_counts_as_a_crash() {
    // No stack that large can be mapped: every start of it fails, each
    // failure counts against the intensity, and the supervisor gives up.
    let unstartable = ChildSpec::with_builder(
        "unstartable",
        actors::Builder::new().stack_size(1 << 62),
        |ctx: &mut Ctx<()>| ctx.receive(),
    );
    let sup = Supervisor::new(Strategy::OneForOne)
        .intensity(2, LONG)
        .child(unstartable)
        .start()
        .unwrap();
    let reason = sup.wait().unwrap_err();
    assert!(
        matches!(&reason, ExitReason::Custom(m) if m.contains("intensity")),
        "{reason:?}"
    );
}

#[test]
fn crashes_further_apart_than_the_window_do_not_add_up() {
    one_worker(|| {
        let window = Duration::from_millis(30);
        let starts = Starts::default();
        let sup = Supervisor::new(Strategy::OneForOne)
            .intensity(1, window)
            .child(worker("w", &starts))
            .start()
            .unwrap();
        for k in 1..=3 {
            tell(&sup, "w", Work::Crash);
            await_restarts(&sup, k, &["w"]);
            // The next crash comes after the window has passed: only one
            // restart within any window.
            grove::sleep(window + Duration::from_millis(10));
        }
        assert!(sup.addr().is_alive());
        assert_eq!(who(&sup, "w").1, 4);
        sup.stop().unwrap();
    });
}

// ---------------------------------------------------------------------------
// Ordered shutdown.

/// An object-style child logging its start and its `stopped` reason.
struct Logged {
    name: &'static str,
    log: Log,
}

impl Actor for Logged {
    type Msg = Reply<()>;
    fn started(&mut self, _: &mut Ctx<Reply<()>>) {
        self.log.lock().push(format!("start {}", self.name));
    }
    fn handle(&mut self, r: Reply<()>, _: &mut Ctx<Reply<()>>) {
        r.send(());
    }
    fn stopped(&mut self, _: &mut Ctx<Reply<()>>, reason: &ExitReason) {
        self.log
            .lock()
            .push(format!("stop {} {reason:?}", self.name));
    }
}

/// Waits until each child named has started and answers: a child stopped
/// before it ever ran would run neither `started` nor `stopped`, nor trap
/// exits, nor make the drop guards it holds.
fn ready(sup: &SupervisorHandle, names: &[&str]) {
    for n in names {
        sup.child::<Reply<()>>(n)
            .unwrap_or_else(|| panic!("no live {n}"))
            .call(|r| r, LONG)
            .unwrap();
    }
}

fn logged(name: &'static str, log: &Log) -> ChildSpec {
    let log = log.clone();
    ChildSpec::actor(name, move || Logged {
        name,
        log: log.clone(),
    })
}

#[test]
fn stop_stops_the_children_in_reverse_start_order() {
    let log = new_log();
    let sup = Supervisor::new(Strategy::OneForOne)
        .child(logged("first", &log))
        .child(logged("second", &log))
        .child(logged("third", &log))
        .start()
        .unwrap();
    let names = ["first", "second", "third"];
    ready(&sup, &names);
    let addrs: Vec<Addr<Reply<()>>> = names.iter().map(|n| sup.child(n).unwrap()).collect();
    assert!(addrs[0].id() < addrs[1].id() && addrs[1].id() < addrs[2].id());
    assert_eq!(sup.stop(), Ok(()));
    let log = log.lock().clone();
    let stops: Vec<&str> = log
        .iter()
        .filter(|l| l.starts_with("stop"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        stops,
        [
            "stop third Shutdown",
            "stop second Shutdown",
            "stop first Shutdown"
        ]
    );
    assert_eq!(log.iter().filter(|l| l.starts_with("start")).count(), 3);
    assert!(addrs.iter().all(|a| !a.is_alive()));
    assert!(addrs
        .iter()
        .all(|a| a.exit_reason() == Some(ExitReason::Shutdown)));
}

#[test]
fn stop_order_seen_by_drop_guards_of_function_children() {
    let log = new_log();
    struct Guard(&'static str, Log);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.1.lock().push(self.0.to_string());
        }
    }
    let child = |name: &'static str| {
        let log = log.clone();
        ChildSpec::new(name, move |ctx: &mut Ctx<Reply<()>>| {
            let _g = Guard(name, log.clone());
            loop {
                ctx.receive().send(());
            }
        })
    };
    let sup = Supervisor::new(Strategy::RestForOne)
        .child(child("one"))
        .child(child("two"))
        .child(child("three"))
        .child(child("four"))
        .start()
        .unwrap();
    ready(&sup, &["one", "two", "three", "four"]);
    assert_eq!(sup.stop(), Ok(()));
    assert_eq!(*log.lock(), ["four", "three", "two", "one"]);
}

#[test]
fn a_child_that_traps_exits_gets_shutdown_as_a_message_and_cleans_up() {
    let log = new_log();
    let spec = ChildSpec::new("careful", {
        let log = log.clone();
        move |ctx: &mut Ctx<Work>| {
            ctx.trap_exit(true);
            loop {
                let m = ctx.receive();
                if let Work::Who(r) = m {
                    r.send((ctx.id(), 1));
                } else if let Work::Exit(e) = m {
                    // Clean-up that switches: a trapping child is not
                    // killed, it has its grace to finish.
                    grove::sleep(Duration::from_millis(2));
                    log.lock().push(format!("cleaned up after {e:?}"));
                    return;
                }
            }
        }
    });
    let sup = Supervisor::new(Strategy::OneForOne)
        .child(spec)
        .start()
        .unwrap();
    let sup_id = sup.addr().id();
    let careful = sup.child::<Work>("careful").unwrap();
    who(&sup, "careful"); // it traps exits by now
    assert_eq!(sup.stop(), Ok(()));
    let expected = Exit {
        from: sup_id,
        reason: ExitReason::Shutdown,
    };
    assert_eq!(*log.lock(), [format!("cleaned up after {expected:?}")]);
    assert_eq!(careful.exit_reason(), Some(ExitReason::Normal));
}

#[test]
fn a_child_that_ignores_the_shutdown_is_killed_after_its_grace() {
    let grace = Duration::from_millis(30);
    let (dropped, guard) = DropCounter::new();
    let guard = Arc::new(Mutex::new(Some(guard)));
    let spec = ChildSpec::new("stubborn", {
        move |ctx: &mut Ctx<Work>| {
            let _g = guard.lock().take();
            ctx.trap_exit(true);
            loop {
                // Ignores everything, Exit included, but answers Who.
                if let Work::Who(r) = ctx.receive() {
                    r.send((ctx.id(), 1));
                }
            }
        }
    })
    .shutdown(grace);
    let log = new_log();
    let sup = Supervisor::new(Strategy::OneForOne)
        .child(logged("polite", &log))
        .child(spec)
        .start()
        .unwrap();
    let stubborn = sup.child::<Work>("stubborn").unwrap();
    let polite = sup.child::<Reply<()>>("polite").unwrap();
    who(&sup, "stubborn"); // it traps exits by now
    ready(&sup, &["polite"]);
    let start = Instant::now();
    assert_eq!(sup.stop(), Ok(()));
    assert!(start.elapsed() >= grace, "killed before its grace");
    assert_eq!(stubborn.exit_reason(), Some(ExitReason::Killed));
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "its destructors ran");
    // The one before it was stopped after it, normally.
    assert_eq!(polite.exit_reason(), Some(ExitReason::Shutdown));
}

// ---------------------------------------------------------------------------
// child(), and the supervisor's own end.

/// A stateful object child: counts what it was sent.
#[derive(Default)]
struct Counter {
    n: u64,
}

enum CounterMsg {
    Add(u64),
    Get(Reply<u64>),
    Crash,
}

impl Actor for Counter {
    type Msg = CounterMsg;
    fn handle(&mut self, msg: CounterMsg, _: &mut Ctx<CounterMsg>) {
        match msg {
            CounterMsg::Add(k) => self.n += k,
            CounterMsg::Get(r) => r.send(self.n),
            CounterMsg::Crash => panic!("counter crashed"),
        }
    }
}

#[test]
fn child_gives_the_live_instance_after_a_restart() {
    one_worker(child_after_restart);
}

fn child_after_restart() {
    let sup = Supervisor::new(Strategy::OneForOne)
        .child(ChildSpec::actor("counter", Counter::default))
        .start()
        .unwrap();
    assert!(
        sup.child::<Work>("counter").is_none(),
        "another mailbox type"
    );
    assert!(sup.child::<CounterMsg>("nobody").is_none());
    let old = sup.child::<CounterMsg>("counter").unwrap();
    old.send(CounterMsg::Add(5));
    assert_eq!(old.call(CounterMsg::Get, LONG), Ok(5));
    old.send(CounterMsg::Crash);
    assert_eq!(end_of(&old), ExitReason::Panic("counter crashed".into()));
    // Until the restart, child() is None or the new instance, never the
    // dead one.
    let mut new = None;
    for _ in 0..YIELDS {
        if let Some(a) = sup.child::<CounterMsg>("counter") {
            assert_ne!(a.id(), old.id(), "child() gave the dead instance");
            new = Some(a);
            break;
        }
        grove::yield_now();
    }
    let new = new.expect("never restarted");
    assert_eq!(
        sup.children(),
        [("counter".to_string(), new.id())],
        "children() agrees"
    );
    // Handled by the new instance, with fresh state.
    new.send(CounterMsg::Add(2));
    assert_eq!(new.call(CounterMsg::Get, LONG), Ok(2));
    sup.stop().unwrap();
}

#[test]
fn a_killed_supervisor_takes_its_children_down() {
    let starts = Starts::default();
    let sup = three(Strategy::OneForOne, &starts);
    let children: Vec<Addr<Work>> = ABC.iter().map(|n| sup.child(n).unwrap()).collect();
    for n in ABC {
        who(&sup, n); // all running
    }
    sup.addr().kill();
    assert_eq!(sup.wait(), Err(ExitReason::Killed));
    for c in &children {
        assert_eq!(end_of(c), ExitReason::Killed);
    }
    assert_eq!(starts.0.lock().len(), 3, "nobody restarted them");
}

#[test]
fn a_crash_of_a_linked_parent_stops_the_supervisor_in_order() {
    let log = new_log();
    let sup = Supervisor::new(Strategy::OneForOne)
        .child(logged("x", &log))
        .child(logged("y", &log))
        .start()
        .unwrap();
    ready(&sup, &["x", "y"]);
    let sup_addr = sup.addr();
    let parent = actors::spawn(move |ctx: &mut Ctx<()>| -> () {
        ctx.link(&sup_addr);
        panic!("the parent crashed");
    });
    assert!(parent.wait().is_err());
    assert_eq!(
        sup.wait(),
        Err(ExitReason::Panic("the parent crashed".into()))
    );
    let stops: Vec<String> = log
        .lock()
        .iter()
        .filter(|l| l.starts_with("stop"))
        .cloned()
        .collect();
    assert_eq!(stops, ["stop y Shutdown", "stop x Shutdown"]);
}

#[test]
fn two_children_with_one_name_are_refused() {
    let starts = Starts::default();
    let err = Supervisor::new(Strategy::OneForOne)
        .child(worker("twin", &starts))
        .child(worker("twin", &starts))
        .start()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(starts.0.lock().is_empty(), "nothing was started");
}

#[test]

fn restarts_counts_a_restart_only_once_it_is_made() {
    // One worker: the test runs only while the supervisor waits. In a
    // one-for-all restart it waits for each sibling to stop; a restart
    // that `restarts()` already counts must then be complete.
    one_worker(|| {
        let starts = Starts::default();
        let sup = three(Strategy::OneForAll, &starts);
        tell(&sup, "b", Work::Crash);
        assert!(yield_until(YIELDS, || sup.restarts() == 1));
        let live: Vec<bool> = ABC.iter().map(|n| sup.child::<Work>(n).is_some()).collect();
        assert_eq!(
            live,
            [true, true, true],
            "restarts() == 1 but the children are not back: {:?}",
            sup.children()
        );
        sup.stop().unwrap();
    });
    // On the default runtime, the module docs' own pattern: wait for
    // restarts() to move, then use child() at once.
    for _ in 0..200 {
        let sup = Supervisor::new(Strategy::OneForOne)
            .intensity(5, LONG)
            .child(worker("w", &Starts::default()))
            .start()
            .unwrap();
        tell(&sup, "w", Work::Crash);
        for _ in 0..1_000_000 {
            if sup.restarts() == 1 {
                break;
            }
            grove::yield_now();
        }
        assert_eq!(sup.restarts(), 1);
        assert!(sup.child::<Work>("w").is_some(), "counted, not yet made");
        sup.stop().unwrap();
    }
}
