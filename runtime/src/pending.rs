//! A green thread spawned but not started yet: its closure, its result
//! slot and what it needs to become a [`Task`].
//!
//! ```text
//!   spawn ──► Arc<Pending> ─┬─► JoinHandle (the result slot)
//!                           └─► new queue / injector / stolen (NewRef)
//!                                   │ the worker that dequeues it
//!                                   ▼ materialize: a Task, in the memory
//!   Task { header, body: Spawned ─► Arc<Pending> }   of one that just ended
//! ```
//!
//! A spawn allocates only this: the [`Packet`] the join reads, the
//! closure and the spawn's parameters, one 128-byte chunk. The 192-byte task
//! the scheduler runs is made when a worker first takes the green thread
//! off a queue, in the memory of a task that ended on that worker just
//! before (`recycle`). A burst of spawns (100,000 spawned, then joined)
//! so touches less than half the fresh memory it did with the task made
//! at spawn, and on this VM fresh memory is most of what a cold spawn
//! costs. A green thread that will park and stay alive (an actor) has its
//! task made at spawn all the same ([`Pending::premake`]).
//!
//! # Invariants
//!
//! * The worker-only part (the closure, the name, the stack reservation,
//!   a task made at spawn) is touched by one thread at a time: the
//!   spawner until the pending is queued, then whichever worker dequeued
//!   it, then the task's owning worker (the closure is taken at the first
//!   resume).
//! * A pending is materialized or discarded exactly once, by whoever
//!   dequeued it. A kill before that is recorded in the packet
//!   (`Packet::kill`), under the packet's lock, and the materializing
//!   worker sees it when it attaches the task under the same lock, so a
//!   killed green thread never runs.
//! * `spawn_local` materializes at spawn, on the spawning worker, so a
//!   `!Send` closure never leaves it.

use std::cell::UnsafeCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use crate::join::{JoinError, Kill, Packet, ResultSlot};
use crate::stack::StartReservation;
use crate::task::{Body, Task, TaskRef};
use crate::worker::Worker;

/// A spawned green thread that no worker has started yet.
pub(crate) struct Pending<F, T> {
    /// Where its outcome goes (what the `JoinHandle` reads).
    packet: Packet<T>,
    /// Its stack size in bytes, saturated as `Task::stack_size` is.
    stack_size: u32,
    /// Killed before a worker made its task; written and read under the
    /// packet's lock (`Packet::kill`, `Packet::attach_unless`).
    killed_early: AtomicBool,
    /// Worker-only (see the module docs): the closure, until the first
    /// resume (or a discard) takes it.
    entry: UnsafeCell<Option<F>>,
    /// Worker-only: the name given with `Builder::name` (boxed twice, a
    /// thin pointer), until the task takes it.
    name: UnsafeCell<Option<Box<Box<str>>>>,
    /// Worker-only: its claim on a stack, until the task takes it.
    reservation: UnsafeCell<Option<StartReservation>>,
    /// Worker-only: its task, when it was made at spawn
    /// ([`premake`](Pending::premake)), until a worker dequeues it.
    made: UnsafeCell<Option<TaskRef>>,
}

// SAFETY: the packet is a lock-protected slot; the worker-only part is
// touched by one thread at a time (the module's invariants), and a `!Send`
// closure (`spawn_local`) is taken out on its worker before anything else
// can hold the last reference. An outcome `T` is only handed to the
// `JoinHandle`, which is `Send` only when `T` is, and is dropped where the
// handle detaches or the task completes, never by a kill handle.
unsafe impl<F, T> Send for Pending<F, T> {}
// SAFETY: as above.
unsafe impl<F, T> Sync for Pending<F, T> {}

impl<F, T> Pending<F, T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    /// A pending green thread with id `id`, not yet queued.
    pub(crate) fn new(
        id: u64,
        entry: F,
        name: Option<Box<str>>,
        stack_size: usize,
        reservation: StartReservation,
    ) -> Arc<Pending<F, T>> {
        Arc::new(Pending {
            packet: Packet::green(id),
            // Anything larger fails the start (`Slots::take`); saturated,
            // it still does.
            stack_size: u32::try_from(stack_size).unwrap_or(u32::MAX),
            killed_early: AtomicBool::new(false),
            entry: UnsafeCell::new(Some(entry)),
            name: UnsafeCell::new(name.map(Box::new)),
            reservation: UnsafeCell::new(Some(reservation)),
            made: UnsafeCell::new(None),
        })
    }

    /// Makes its task on worker `w`, owned by `owner` (`NO_OWNER` until
    /// it starts, or `w`'s index for `spawn_local`), in the memory of a
    /// task that ended there when one fits. `None` if it was killed
    /// before: then its joiner sees "killed" and it never runs.
    ///
    /// # Safety
    ///
    /// The caller is the thread of worker `w` and dequeued this pending
    /// (or spawned it there, for `spawn_local`), and calls this or
    /// [`discard`](Pending::discard) once.
    pub(crate) unsafe fn materialize(self: Arc<Self>, w: &Worker, owner: u32) -> Option<TaskRef> {
        // SAFETY: the caller owns the worker-only part now; the borrow
        // ends at once.
        if let Some(task) = unsafe { (*self.made.get()).take() } {
            // Made at spawn and attached then: a kill since went to the
            // task, whose start sees it.
            return Some(task);
        }
        // SAFETY: as above.
        let reservation = unsafe { (*self.reservation.get()).take() };
        // SAFETY: as above.
        let name = unsafe { (*self.name.get()).take() };
        let Some(reservation) = reservation else {
            // Materialized twice: the caller's contract forbids it.
            return None;
        };
        let recycled = w.reusable::<Spawned<F, T>>();
        let id = self.packet.id_raw();
        let stack_size = self.stack_size as usize;
        // The pending's reference moves into the body: no count to bump on
        // a line that, stolen, was last written by the spawner's core.
        let task: Arc<Task<Spawned<F, T>>> = Task::new(
            w.shared.clone(),
            id,
            name,
            stack_size,
            Spawned { pending: self },
            owner,
            recycled,
            reservation,
        );
        let pending = &task.body().pending;
        let link: Weak<Task<Spawned<F, T>>> = Arc::downgrade(&task);
        if pending.packet.attach_unless(link as Weak<Task>, || {
            pending.killed_early.load(Ordering::Relaxed)
        }) {
            Some(task)
        } else {
            // Killed before it started: the task never runs. Dropping it
            // drops its reservation; its memory goes back to malloc.
            // SAFETY: as above; the task was never queued.
            unsafe { pending.discard(None) };
            None
        }
    }

    /// Makes its task now, on the spawning worker `w`, for a green thread
    /// that will park soon after it starts and stay alive (an actor):
    /// then the fresh memory a burst of such spawns needs is touched while
    /// spawning, as a spawn always did before tasks were made at the
    /// start, and not by the first message that reaches each of them (in
    /// a 100,000-actor ring, one lap took twice as long). The cycle it
    /// makes (the pending holds the task, whose body holds the pending)
    /// lasts until a worker dequeues it or it is discarded.
    ///
    /// # Safety
    ///
    /// As for [`materialize`](Pending::materialize), on the spawner's
    /// worker, before the pending is queued.
    pub(crate) unsafe fn premake(self: &Arc<Self>, w: &Worker) {
        // SAFETY: forwarded obligation; the pending is not queued yet, so
        // it is materialized once, here, and nothing else borrows `made`.
        unsafe {
            let task = self.clone().materialize(w, crate::task::NO_OWNER);
            *self.made.get() = task;
        }
    }

    /// Drops the closure unrun; the joiner sees `error` (a spawn failure),
    /// or "killed" when `None`.
    ///
    /// # Safety
    ///
    /// The caller owns the worker-only part (as for
    /// [`materialize`](Pending::materialize)) and the closure is not
    /// running.
    unsafe fn discard(&self, error: Option<std::io::Error>) {
        // SAFETY: forwarded obligation; each borrow ends at once.
        let made = unsafe {
            drop((*self.entry.get()).take());
            *self.reservation.get() = None;
            (*self.made.get()).take()
        };
        // A task made at spawn never ran: dropping it breaks its cycle.
        drop(made);
        self.packet.complete(Err(match error {
            Some(e) => JoinError::spawn_failed(e),
            None => JoinError::killed(),
        }));
    }
}

impl<F: 'static, T: 'static> ResultSlot<T> for Pending<F, T> {
    fn packet(&self) -> &Packet<T> {
        &self.packet
    }

    fn killer(self: Arc<Self>) -> Option<Arc<dyn Kill>> {
        Some(self)
    }
}

impl<F, T> Kill for Pending<F, T> {
    fn kill(&self) {
        self.packet
            .kill(|| self.killed_early.store(true, Ordering::Relaxed));
    }
}

/// A not-yet-started green thread as the scheduler's queues hold it.
pub(crate) type NewRef = Arc<dyn Unstarted>;

/// What the scheduler does with a queued pending green thread; every
/// queued one has a `Send` closure (`spawn_local` never queues one).
pub(crate) trait Unstarted: Send + Sync {
    /// [`Pending::materialize`] with no owner yet.
    ///
    /// # Safety
    ///
    /// As for [`Pending::materialize`].
    unsafe fn materialize_on(self: Arc<Self>, w: &Worker) -> Option<TaskRef>;

    /// Drops it unrun (a shutdown): its joiner sees "killed".
    ///
    /// # Safety
    ///
    /// The caller dequeued it, and calls this instead of materializing.
    unsafe fn discard_unstarted(&self);

    /// Asks the cache for the first lines of its task, if it was made at
    /// spawn ([`Pending::premake`]), which a start reads first.
    ///
    /// # Safety
    ///
    /// The caller dequeued it, and it has not been materialized.
    unsafe fn prefetch_made(&self);
}

impl<F, T> Unstarted for Pending<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    unsafe fn materialize_on(self: Arc<Self>, w: &Worker) -> Option<TaskRef> {
        // SAFETY: forwarded obligation.
        unsafe { self.materialize(w, crate::task::NO_OWNER) }
    }

    unsafe fn discard_unstarted(&self) {
        // SAFETY: forwarded obligation.
        unsafe { self.discard(None) }
    }

    unsafe fn prefetch_made(&self) {
        // SAFETY: the caller owns the worker-only part; a read that ends
        // at once.
        if let Some(task) = unsafe { &*self.made.get() } {
            crate::task::prefetch_arc(Arc::as_ptr(task), 4);
        }
    }
}

/// Asks the cache for a queued pending's first two lines (its packet and
/// what its start reads), from the `Arc`'s counts on.
#[inline]
pub(crate) fn prefetch(new: &NewRef) {
    crate::task::prefetch_arc(Arc::as_ptr(new), 2);
}

/// The [`Body`] of a green thread made from a [`Pending`]: one pointer,
/// whatever the closure, so every task has the same size and any ended
/// one's memory fits the next (`recycle`).
pub(crate) struct Spawned<F, T> {
    pending: Arc<Pending<F, T>>,
}

impl<F: FnOnce() -> T + 'static, T: 'static> Body for Spawned<F, T> {
    unsafe fn run(&self) {
        // SAFETY: only the owning worker touches the worker-only part
        // once the task exists, and `run` is called once (the caller's
        // obligation), so this is the only live reference.
        let entry = unsafe { (*self.pending.entry.get()).take() };
        let Some(f) = entry else { return };
        let result = catch_unwind(AssertUnwindSafe(f)).map_err(JoinError::from_payload);
        self.pending.packet.complete(result);
    }

    unsafe fn discard(&self, error: Option<std::io::Error>) {
        // SAFETY: forwarded obligation (the owning worker, body not
        // running).
        unsafe { self.pending.discard(error) }
    }
}

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::*;

    /// A spawn of a closure that captures nothing allocates one 128-byte
    /// malloc chunk (120 usable bytes with the `Arc`'s counts), where it
    /// was 192 + 96 with the task made at spawn; the task, made at the
    /// start, still fits the 192-byte chunk of an ended one.
    #[test]
    fn a_spawn_is_one_small_chunk() {
        fn sizes<F: FnOnce() -> usize>(_: &F) -> (usize, usize) {
            let arc_counts = 2 * std::mem::size_of::<usize>();
            (
                std::mem::size_of::<Pending<F, usize>>() + arc_counts,
                std::mem::size_of::<Task<Spawned<F, usize>>>() + arc_counts,
            )
        }
        let (pending, task) = sizes(&|| 1usize);
        assert!(pending <= 120, "{pending}");
        assert!(task <= 184, "{task}");
        // Every task has the same size, whatever its closure captures.
        let big = [0u8; 256];
        assert_eq!(sizes(&move || big.len()).1, task);
    }
}
