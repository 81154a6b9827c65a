//! A worker's timers: a min-heap of deadlines, each waking one parked green
//! thread.
//!
//! An entry carries the park generation it was armed for. A green thread
//! keeps its current entry across parks while it fires no later than what
//! the next park needs (`TaskLocal::timer_at`; see `park`), and arms a new one
//! only for an earlier deadline, which bumps its generation: the old entry
//! goes stale and firing it does nothing. When the current entry fires it
//! wakes the green thread (possibly early for its park now, which is a
//! spurious wake) and clears `timer_at`. Stale entries are not searched out
//! one by one; when they outnumber the current ones the heap is rebuilt
//! without them, which keeps it at most about twice the size of what is
//! really pending.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::task::TaskRef;

/// One armed timer.
#[derive(Debug)]
struct Entry {
    /// When it fires.
    deadline: Instant,
    /// Tie-breaker: arming order.
    seq: u64,
    /// Whom it wakes.
    task: TaskRef,
    /// The park it was armed for.
    gen: u64,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.deadline == other.deadline && self.seq == other.seq
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    // Reversed: BinaryHeap is a max-heap and we want the earliest on top.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        other
            .deadline
            .cmp(&self.deadline)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl Entry {
    fn is_stale(&self) -> bool {
        self.task.park_gen.load(Ordering::Relaxed) != self.gen
    }
}

/// The timers of one worker.
#[derive(Debug, Default)]
pub(crate) struct TimerHeap {
    /// Armed and stale entries, earliest first.
    heap: BinaryHeap<Entry>,
    /// Next `seq`.
    seq: u64,
    /// Current (not stale) entries: one at most per green thread.
    armed: usize,
}

impl TimerHeap {
    /// Arms a timer that wakes `task` at `deadline` if it is still in park
    /// generation `gen` then; `replaces` says that this makes the task's
    /// previous entry stale.
    pub(crate) fn arm(&mut self, deadline: Instant, task: TaskRef, gen: u64, replaces: bool) {
        self.seq += 1;
        if !replaces {
            self.armed += 1;
        }
        self.heap.push(Entry {
            deadline,
            seq: self.seq,
            task,
            gen,
        });
        if self.heap.len() > 1024 && self.heap.len() > 2 * self.armed + 64 {
            let entries = std::mem::take(&mut self.heap).into_vec();
            self.heap = entries.into_iter().filter(|e| !e.is_stale()).collect();
        }
    }

    /// The earliest deadline, if any timer is pending.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.deadline)
    }

    /// Whether no entry is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Pops every entry due at `now` and wakes those still current.
    pub(crate) fn fire(&mut self, now: Instant) {
        while let Some(top) = self.heap.peek() {
            if top.deadline > now {
                break;
            }
            let Some(e) = self.heap.pop() else { break };
            if !e.is_stale() {
                self.armed = self.armed.saturating_sub(1);
                // SAFETY: timers run on the task's owning worker, between
                // resumes, so nothing else touches its local part now.
                unsafe { e.task.local().timer_at = 0 };
                e.task.wake();
            }
        }
    }

    /// Drops every entry (at shutdown).
    pub(crate) fn clear(&mut self) {
        self.heap.clear();
        self.armed = 0;
    }
}
