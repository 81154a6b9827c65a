//! `Addr::call`, request/reply: the answer comes back to an OS thread or an
//! actor; a callee that is dead, dies mid-call (panic, kill), drops the
//! `Reply`, or ends with the request still unreceived gives
//! `CallError::Dead` at once, never a hang; a call that times out gives
//! `CallError::Timeout` and leaves no stray reply in the caller's mailbox,
//! and the callee's late answer goes nowhere (without panicking); a call
//! to a full bounded mailbox times out without delivering.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grove::actors::{self, ActorHandle, Builder, CallError, Ctx, ExitReason, Reply};
use grove::sync::Event;

/// Long enough never to be reached on a success path.
const LONG: Duration = Duration::from_secs(10);
/// What "at once" means for a call that must fail without waiting for its
/// timeout of `LONG`: generous, and still far below it.
const PROMPT: Duration = Duration::from_secs(2);
/// The timeout of calls that are meant to time out.
const SHORT: Duration = Duration::from_millis(20);

/// A callee's mailbox.
enum Req {
    /// Answers n + 1.
    Inc(u32, Reply<u32>),
    /// Panics with the reply in hand.
    Crash(Reply<u32>),
    /// Drops the reply unanswered, and lives on.
    Forget(Reply<u32>),
    /// Ends the callee normally.
    End,
}

/// A callee serving `Req` until `End`; returns how many it handled.
fn server() -> ActorHandle<Req, usize> {
    actors::spawn(|ctx: &mut Ctx<Req>| {
        let mut handled = 0;
        loop {
            match ctx.receive() {
                Req::Inc(n, r) => r.send(n + 1),
                Req::Crash(_r) => panic!("crashed mid-call"),
                Req::Forget(r) => drop(r),
                Req::End => return handled,
            }
            handled += 1;
        }
    })
}

/// Runs `f` and returns its value with how long it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let v = f();
    (v, start.elapsed())
}

#[test]
fn a_call_is_answered_on_an_os_thread_and_in_an_actor() {
    let s = server();
    // The test's own (OS) thread.
    assert_eq!(s.addr().call(|r| Req::Inc(1, r), LONG), Ok(2));

    // Another OS thread.
    let a = s.addr();
    let other = std::thread::spawn(move || a.call(|r| Req::Inc(10, r), LONG));
    assert_eq!(other.join().unwrap(), Ok(11));

    // An actor, which keeps receiving its own messages around the call.
    let a = s.addr();
    let caller = actors::spawn(move |ctx: &mut Ctx<&'static str>| {
        ctx.addr().send("before");
        let got = a.call(|r| Req::Inc(100, r), LONG);
        (got, ctx.receive(), ctx.pending())
    });
    assert_eq!(caller.wait().unwrap(), (Ok(101), "before", 0));

    // Several callers at once each get their own answer.
    let callers: Vec<_> = (0..4u32)
        .map(|t| {
            let a = s.addr();
            std::thread::spawn(move || {
                (0..50u32)
                    .map(|i| a.call(|r| Req::Inc(t * 1000 + i, r), LONG).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for (t, c) in (0..4u32).zip(callers) {
        let want: Vec<u32> = (0..50).map(|i| t * 1000 + i + 1).collect();
        assert_eq!(c.join().unwrap(), want);
    }

    s.addr().send(Req::End);
    assert_eq!(s.wait(), Ok(3 + 200));
}

#[test]
fn a_call_to_a_dead_actor_fails_at_once() {
    // Ended normally.
    let s = server();
    let a = s.addr();
    a.send(Req::End);
    s.wait().unwrap();
    let (r, took) = timed(|| a.call(|r| Req::Inc(1, r), LONG));
    assert_eq!(r, Err(CallError::Dead));
    assert!(took < PROMPT, "took {took:?}");

    // Ended by a panic.
    let p = actors::spawn(|_: &mut Ctx<Req>| -> () { panic!("gone") });
    let a = p.addr();
    assert!(p.wait().is_err());
    let (r, took) = timed(|| a.call(|r| Req::Inc(1, r), LONG));
    assert_eq!(r, Err(CallError::Dead));
    assert!(took < PROMPT, "took {took:?}");

    // Killed before it ever ran (one worker: it cannot start before the
    // kill), with the call made in between.
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let (r, took) = rt.block_on(|| {
        let s = server();
        let a = s.addr();
        s.kill();
        timed(|| a.call(|r| Req::Inc(1, r), LONG))
    });
    assert_eq!(r, Err(CallError::Dead));
    assert!(took < PROMPT, "took {took:?}");
}

#[test]
fn a_callee_that_panics_mid_call_gives_dead() {
    let s = server();
    let (r, took) = timed(|| s.addr().call(Req::Crash, LONG));
    assert_eq!(r, Err(CallError::Dead));
    assert!(took < PROMPT, "took {took:?}");
    assert_eq!(
        s.wait(),
        Err(ExitReason::Panic("crashed mid-call".to_string()))
    );
}

#[test]
fn a_callee_that_drops_the_reply_gives_dead_and_lives_on() {
    let s = server();
    let (r, took) = timed(|| s.addr().call(Req::Forget, LONG));
    assert_eq!(r, Err(CallError::Dead));
    assert!(took < PROMPT, "took {took:?}");
    assert_eq!(s.addr().call(|r| Req::Inc(4, r), LONG), Ok(5));
    s.addr().send(Req::End);
    assert_eq!(s.wait(), Ok(2));
}

#[test]
fn a_callee_killed_while_it_holds_the_reply_gives_dead() {
    let holding = Event::new();
    let callee = actors::spawn({
        let holding = holding.clone();
        move |ctx: &mut Ctx<Req>| {
            let Req::Inc(_, reply) = ctx.receive() else {
                unreachable!("only Inc is sent")
            };
            holding.set();
            ctx.receive(); // the kill lands here, with `reply` alive
            drop(reply);
        }
    });
    let a = callee.addr();
    let caller = std::thread::spawn(move || timed(|| a.call(|r| Req::Inc(1, r), LONG)));
    holding.wait();
    callee.kill();
    let (r, took) = caller.join().unwrap();
    assert_eq!(r, Err(CallError::Dead));
    assert!(took < PROMPT, "took {took:?}");
    assert_eq!(callee.wait(), Err(ExitReason::Killed));
}

#[test]
fn a_request_still_in_the_mailbox_when_the_callee_ends_gives_dead() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let (r, left) = rt.block_on(|| {
        // It waits for End only, skipping (keeping) everything else; at its
        // end it reports how many messages it left unreceived.
        let callee = actors::spawn(|ctx: &mut Ctx<Req>| {
            ctx.receive_match(|m| matches!(m, Req::End));
            ctx.pending()
        });
        let a = callee.addr();
        let caller = grove::spawn(move || a.call(|r| Req::Inc(1, r), LONG));
        // One worker: the yield lets both start and park (the request is
        // then in the callee's mailbox), and only then is End sent.
        grove::yield_now();
        callee.addr().send(Req::End);
        let left = callee.wait().unwrap();
        (caller.join().unwrap(), left)
    });
    assert_eq!(left, 1, "the request was queued when the callee ended");
    assert_eq!(r, Err(CallError::Dead));
}

#[test]
fn a_timed_out_call_leaves_no_stray_reply_and_the_late_answer_goes_nowhere() {
    let caller = actors::spawn(|ctx: &mut Ctx<u32>| {
        // The callee takes the request, then answers only once released:
        // after the caller has timed out.
        let release = Event::new();
        let callee = actors::spawn({
            let release = release.clone();
            move |c: &mut Ctx<Reply<u32>>| {
                let reply = c.receive();
                release.wait();
                let still_waiting = reply.is_waiting();
                reply.send(99); // late: must not panic, must go nowhere
                still_waiting
            }
        });
        let (r, took) = timed(|| callee.addr().call(|r| r, SHORT));
        release.set();
        let callee_saw_waiting = callee.wait();
        // The callee has answered by now; nothing may have reached us.
        let pending = ctx.pending();
        let stray = ctx.try_receive();
        // A later call gets its own answer, not the stale one.
        let fresh = actors::spawn(|c: &mut Ctx<Reply<u32>>| c.receive().send(7));
        let next = fresh.addr().call(|r| r, LONG);
        (r, took, callee_saw_waiting, pending, stray, next)
    });
    let (r, took, callee_saw_waiting, pending, stray, next) = caller.wait().unwrap();
    assert_eq!(r, Err(CallError::Timeout));
    assert!(took >= SHORT, "timed out early: {took:?}");
    assert!(took < PROMPT, "took {took:?}");
    assert_eq!(
        callee_saw_waiting,
        Ok(false),
        "the caller had given up (and the late send did not panic)"
    );
    assert_eq!(pending, 0);
    assert_eq!(stray, None);
    assert_eq!(next, Ok(7));
}

#[test]
fn a_timed_out_call_from_an_os_thread() {
    let release = Event::new();
    let answered = Arc::new(AtomicBool::new(false));
    let callee = actors::spawn({
        let release = release.clone();
        let answered = answered.clone();
        move |c: &mut Ctx<Reply<&'static str>>| {
            let reply = c.receive();
            release.wait();
            reply.send("late");
            answered.store(true, Ordering::SeqCst);
        }
    });
    let (r, took) = timed(|| callee.addr().call(|r| r, SHORT));
    assert_eq!(r, Err(CallError::Timeout));
    assert!(took >= SHORT && took < PROMPT, "took {took:?}");
    release.set();
    assert_eq!(callee.wait(), Ok(()));
    assert!(answered.load(Ordering::SeqCst));
}

#[test]
fn a_call_to_a_full_bounded_mailbox_times_out_without_delivering() {
    enum Msg {
        Note(u32),
        Get(Reply<u32>),
    }
    let release = Event::new();
    let callee = Builder::new()
        .bounded(1)
        .spawn({
            let release = release.clone();
            move |ctx: &mut Ctx<Msg>| {
                release.wait();
                let mut got = Vec::new();
                while let Some(m) = ctx.try_receive() {
                    got.push(match m {
                        Msg::Note(n) => n,
                        Msg::Get(reply) => {
                            drop(reply);
                            u32::MAX
                        }
                    });
                }
                got
            }
        })
        .unwrap();
    let a = callee.addr();
    a.send(Msg::Note(1)); // the one slot
    let (r, took) = timed(|| a.call(Msg::Get, SHORT));
    assert_eq!(r, Err(CallError::Timeout));
    assert!(took >= SHORT && took < PROMPT, "took {took:?}");
    assert!(
        a.try_send(Msg::Note(2)).unwrap_err().is_full(),
        "the call's message did not take a slot"
    );
    release.set();
    assert_eq!(callee.wait(), Ok(vec![1]), "only the note was delivered");
}

#[test]
fn a_call_blocked_on_a_full_mailbox_fails_at_once_when_the_actor_dies() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let (r, took, reason) = rt.block_on(|| {
        let release = Event::new();
        let callee = Builder::new()
            .bounded(1)
            .spawn({
                let release = release.clone();
                move |ctx: &mut Ctx<Option<Reply<u32>>>| {
                    release.wait(); // the kill lands here
                    ctx.receive();
                }
            })
            .unwrap();
        let a = callee.addr();
        a.send(None); // the one slot
        let caller = grove::spawn(move || timed(|| a.call(Some, LONG)));
        // One worker: the yield runs the callee (it parks on `release`)
        // and the caller (it parks in its send, the mailbox being full).
        grove::yield_now();
        assert!(!caller.is_finished());
        callee.kill();
        let (r, took) = caller.join().unwrap();
        (r, took, callee.wait())
    });
    assert_eq!(r, Err(CallError::Dead));
    assert!(took < PROMPT, "took {took:?}");
    assert_eq!(reason, Err(ExitReason::Killed));
}

#[test]
fn failed_calls_leave_nothing_in_an_actor_callers_mailbox() {
    let caller = actors::spawn(|ctx: &mut Ctx<u32>| {
        let mut seen = Vec::new();
        // To a dead actor.
        let dead = server();
        let d = dead.addr();
        d.send(Req::End);
        dead.wait().unwrap();
        seen.push((d.call(|r| Req::Inc(1, r), LONG), ctx.pending()));
        // To one that panics mid-call.
        let crasher = server();
        seen.push((crasher.addr().call(Req::Crash, LONG), ctx.pending()));
        let _ = crasher.wait();
        // To one that drops the reply.
        let forgetful = server();
        seen.push((forgetful.addr().call(Req::Forget, LONG), ctx.pending()));
        forgetful.addr().send(Req::End);
        forgetful.wait().unwrap();
        (seen, ctx.try_receive())
    });
    let (seen, stray) = caller.wait().unwrap();
    assert_eq!(seen, [(Err(CallError::Dead), 0); 3]);
    assert_eq!(stray, None);
}
