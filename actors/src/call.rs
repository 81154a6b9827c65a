//! Request/reply: [`Reply`], the one-shot slot a call's answer goes into,
//! and [`CallError`].
//!
//! ```text
//!   caller                                 callee (an actor)
//!   ──────                                 ─────────────────
//!   (reply, answer) = pair()
//!   addr.send(make(reply)) ──────────────► msg holds the Reply
//!   answer.wait(deadline)                  reply.send(v)  ─► slot: Some(v), done
//!      ◄──────────── unpark ─────────────  or the Reply is dropped
//!   done? take the value (None → Dead)        (callee panicked, ended, forgot)
//!                                                          ─► slot: done
//! ```
//!
//! The answer never passes through the caller's mailbox, so a call that
//! timed out leaves nothing behind for a later receive to trip over: a
//! late answer lands in a slot nobody reads and is dropped with it.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use grove_runtime::Unparker;
use parking_lot::Mutex;

/// Why [`Addr::call`](crate::Addr::call) got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallError {
    /// The actor ended, or dropped the [`Reply`] without answering.
    Dead,
    /// No answer came in time.
    Timeout,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Dead => f.write_str("the actor ended without replying"),
            CallError::Timeout => f.write_str("the call timed out"),
        }
    }
}

impl std::error::Error for CallError {}

/// The shared slot of one call.
struct Slot<T> {
    state: Mutex<SlotState<T>>,
}

struct SlotState<T> {
    /// The answer, once given.
    value: Option<T>,
    /// Answered, or the `Reply` is gone.
    done: bool,
    /// The caller, while it waits.
    waiter: Option<Unparker>,
}

/// Where the callee puts its answer to a call: carried inside the message
/// that [`Addr::call`](crate::Addr::call) builds, answered with
/// [`send`](Reply::send). Dropping it unanswered makes the call fail with
/// [`CallError::Dead`] at once.
///
/// ```
/// use std::time::Duration;
/// use grove_actors::{self as actors, CallError, Ctx, Reply};
///
/// let forgetful = actors::spawn(|ctx: &mut Ctx<Reply<u8>>| {
///     let reply = ctx.receive();
///     drop(reply); // never answers
///     ctx.receive(); // and lives on
/// });
/// let r = forgetful.addr().call(|reply| reply, Duration::from_secs(5));
/// assert_eq!(r, Err(CallError::Dead));
/// forgetful.kill();
/// ```
pub struct Reply<T> {
    /// The slot; taken by `send`.
    slot: Option<Arc<Slot<T>>>,
}

/// The caller's side of a call.
pub(crate) struct Answer<T> {
    slot: Arc<Slot<T>>,
}

/// A fresh reply and its answer.
pub(crate) fn pair<T>() -> (Reply<T>, Answer<T>) {
    let slot = Arc::new(Slot {
        state: Mutex::new(SlotState {
            value: None,
            done: false,
            waiter: None,
        }),
    });
    (
        Reply {
            slot: Some(slot.clone()),
        },
        Answer { slot },
    )
}

impl<T> Slot<T> {
    /// Marks the slot done, with or without a value, and wakes the caller.
    fn finish(&self, value: Option<T>) {
        let waiter = {
            let mut st = self.state.lock();
            st.value = value;
            st.done = true;
            st.waiter.take()
        };
        if let Some(w) = waiter {
            w.unpark();
        }
    }
}

impl<T> Reply<T> {
    /// Answers the call. If the caller has given up (timed out), the
    /// answer is dropped.
    ///
    /// ```
    /// use std::time::Duration;
    /// use grove_actors::{self as actors, Ctx, Reply};
    /// let h = actors::spawn(|ctx: &mut Ctx<Reply<&'static str>>| ctx.receive().send("pong"));
    /// assert_eq!(h.addr().call(|r| r, Duration::from_secs(1)), Ok("pong"));
    /// ```
    pub fn send(mut self, value: T) {
        if let Some(slot) = self.slot.take() {
            slot.finish(Some(value));
        }
    }

    /// Whether the caller still waits for the answer (it has not timed out
    /// or ended).
    ///
    /// ```
    /// use std::time::Duration;
    /// use grove_actors::{self as actors, Ctx, Reply};
    /// let h = actors::spawn(|ctx: &mut Ctx<Reply<bool>>| {
    ///     let r = ctx.receive();
    ///     let waiting = r.is_waiting();
    ///     r.send(waiting);
    /// });
    /// assert_eq!(h.addr().call(|r| r, Duration::from_secs(1)), Ok(true));
    /// ```
    pub fn is_waiting(&self) -> bool {
        self.slot.as_ref().is_some_and(|s| Arc::strong_count(s) > 1)
    }
}

impl<T> Drop for Reply<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            slot.finish(None);
        }
    }
}

impl<T> fmt::Debug for Reply<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("waiting", &self.is_waiting())
            .finish()
    }
}

impl<T> Answer<T> {
    /// Waits for the answer until `deadline` (`None`: no limit).
    pub(crate) fn wait(self, deadline: Option<Instant>) -> Result<T, CallError> {
        loop {
            {
                let mut st = self.slot.state.lock();
                if st.done {
                    return st.value.take().ok_or(CallError::Dead);
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(CallError::Timeout);
                }
                if st.waiter.is_none() {
                    st.waiter = Some(grove_runtime::current().unparker());
                }
            }
            match deadline {
                Some(d) => grove_runtime::park_deadline(d),
                None => grove_runtime::park(),
            }
        }
    }
}
