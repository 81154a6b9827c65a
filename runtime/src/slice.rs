//! Stack slicing: green threads that share one guard-paged stack, the
//! live bytes of each parked one copied out to the heap until it runs
//! again (greenlet's "stack slicing", `DESIGN.md`, "Stacks").
//!
//! ```text
//!   slot (one pooled stack)          save areas (heap, one per task)
//!   base ┌──────────────────┐
//!        │ resident's frames│ ◄─ restore ── [B's live bytes]
//!     sp ├──────────────────┤ ── evict  ──► [A's live bytes]
//!        │ (unused)         │
//!        └── guard page ────┘
//! ```
//!
//! A dedicated stack costs at least one touched 4 KiB page per green
//! thread, and a fresh page costs microseconds of kernel work the first
//! time it is touched. A parked actor uses under 1 KiB of its stack. So
//! once a worker holds many green threads ([`Slots::sharing`]), a green thread
//! that starts takes the stack of the one that suspended last instead of a
//! fresh one: that one's live bytes, `[parked sp - SWITCH_MARGIN, base)`,
//! are copied to its save area (*evicted*), and copied back to the same
//! addresses (*restored*) before it runs again, evicting whoever is there
//! then. The bytes go back to the same addresses, so every pointer inside
//! the stack stays valid.
//!
//! # Invariants
//!
//! 1. A slot's bytes belong to one task at a time, its `resident`; every
//!    other task made on it (a *claimant*) is evicted, its live bytes in
//!    its save area.
//! 2. A task runs only while it is resident (`Worker::run_task` restores
//!    it first), and is evicted only while suspended.
//! 3. Nothing outside a suspended task points into its stack, unless the
//!    task is *pinned*; a pinned task is never evicted. The one thing that
//!    pins is `Queue`'s hand-off slot on a waiting getter's stack
//!    ([`crate::park::lend_stack`]), and a task whose stack is shared never
//!    pins: it waits without the hand-off. So the resident a restore has to
//!    evict is never pinned (it is on a shared stack), and a restore never
//!    waits.
//! 4. Slots, save areas and the bookkeeping here are touched only by the
//!    owning worker thread, as the rest of a task's worker-only part.
//! 5. A slot's stack goes back to the pool when its last claimant finishes.

use std::io;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use corosensei::stack::{Stack, StackPointer};
use parking_lot::Mutex;
use slab::Slab;

use crate::stack::{PooledStack, StackPool};
use crate::task::Task;

mod arena;

use arena::{Arena, SaveBuf};

/// How far below the stack pointer a suspended task's switch reaches,
/// measured from where `park` reads it: the three words the switch pushes
/// (24 bytes; `Yielder::suspend` is inlined in release builds), with 40
/// to spare. `tests/stack_sharing.rs` crashes with a margin of 16 in a
/// release build, which `.ci/run` tests too, and of 64 in a debug build,
/// which does not inline `suspend` and its callees. Every byte of it is
/// copied with every eviction: 128 made a parked actor's 576 bytes 640.
#[cfg(not(debug_assertions))]
pub(crate) const SWITCH_MARGIN: usize = 64;
#[cfg(debug_assertions)]
pub(crate) const SWITCH_MARGIN: usize = 2048;

/// Stacks a worker holds before the tasks it starts share them, whatever
/// their size: 64 MiB of touched stack pages, past the 10,000 green
/// threads of a typical large program.
pub(crate) const DEFAULT_SHARE_AFTER: usize = 16_384;

/// Stacks a worker holds before a starting task shares the stack of a
/// *small* one (at most [`SMALL_LIVE`] live bytes), by default: about
/// what the second-level TLB maps (2,048 4 KiB pages on the benchmark's
/// AMD EPYC). Past it, every resume of a task on its own stack walks the
/// page tables, and each stack's entries sit in a line of their own
/// (stacks are 256 KiB apart). In a 10,000-actor ring that made a hop on
/// dedicated stacks cost more than the two copies of a shared one: median
/// 202 ns against 165 over ten interleaved runs.
pub(crate) const DEFAULT_SHARE_SMALL_AFTER: usize = 2_048;

/// The most live bytes a parked task may have for the lower threshold to
/// share its stack: an actor in `receive` (576) or a green thread on a
/// `Queue` (416), not a connection with a 4 KiB buffer on its stack,
/// whose copies cost an echo server at 4,000 connections 0.3–0.5 µs of
/// user time a round trip. Debug builds, with their 2 KiB margin and
/// unoptimised frames (a green thread parked on an `Event` holds ~4.6 KiB
/// there, ~0.5 in release), count 8 KiB as small.
#[cfg(not(debug_assertions))]
pub(crate) const SMALL_LIVE: usize = 1024;
#[cfg(debug_assertions)]
pub(crate) const SMALL_LIVE: usize = 8192;

/// When a worker's starting tasks share stacks: from `all` tasks on, the
/// stack of whichever task suspended last; from `small` on, only the
/// stack of one with at most [`SMALL_LIVE`] live bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ShareAfter {
    pub(crate) all: usize,
    pub(crate) small: usize,
}

impl ShareAfter {
    /// grove's default: [`DEFAULT_SHARE_AFTER`], [`DEFAULT_SHARE_SMALL_AFTER`].
    pub(crate) const DEFAULT: ShareAfter = ShareAfter {
        all: DEFAULT_SHARE_AFTER,
        small: DEFAULT_SHARE_SMALL_AFTER,
    };

    /// One threshold for every task, as `share_stacks_after(n)` sets it.
    pub(crate) const fn uniform(n: usize) -> ShareAfter {
        ShareAfter { all: n, small: n }
    }

    /// The most live bytes a stack taken from `last` may hold, with
    /// `n` tasks on the worker (started or queued): 0 when no stack is
    /// shared.
    fn max_live(self, n: usize) -> usize {
        if n >= self.all {
            usize::MAX
        } else if n >= self.small {
            SMALL_LIVE
        } else {
            0
        }
    }
}

/// What a save area is expected to take before any eviction measured it:
/// what an actor parked in `receive` copies out (the benchmarks' rings
/// report it as `bytes_per_eviction`). A guess above it faults in memory
/// no actor uses (1,024 bytes cost 0.2 KiB an actor in a 100,000-actor
/// ring), one below leaves the rest to the first lap.
const DEFAULT_SAVE: usize = 576;

/// The most save-area memory faulted in ahead of evictions, per worker.
const PREFAULT_MAX: usize = 128 << 20;

/// The default of `RuntimeBuilder::share_stacks_after`:
/// `GROVE_STACK_SHARE_AFTER` (a number, for every task, or `off`), else
/// [`ShareAfter::DEFAULT`].
pub(crate) fn share_after_from_env() -> ShareAfter {
    match std::env::var("GROVE_STACK_SHARE_AFTER") {
        Ok(v) if v.trim() == "off" => ShareAfter::uniform(usize::MAX),
        Ok(v) => v
            .trim()
            .parse()
            .map_or(ShareAfter::DEFAULT, ShareAfter::uniform),
        Err(_) => ShareAfter::DEFAULT,
    }
}

/// One worker's eviction counts, published for [`evictions`] and
/// [`evicted_bytes`]. Written only by its worker, with plain stores: a
/// locked add on a process-wide counter was two of the most expensive
/// instructions of every eviction, and a contended line with two workers.
struct Published {
    evictions: AtomicU64,
    bytes: AtomicU64,
}

impl Published {
    const fn new() -> Published {
        Published {
            evictions: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// Counts one eviction of `bytes`; only the owning worker calls this
    /// (so a load and a store are an add).
    fn count(&self, bytes: u64) {
        let n = self.evictions.load(Ordering::Relaxed);
        self.evictions.store(n + 1, Ordering::Relaxed);
        let b = self.bytes.load(Ordering::Relaxed);
        self.bytes.store(b + bytes, Ordering::Relaxed);
    }

    /// Its counts: evictions, bytes.
    fn get(&self) -> (u64, u64) {
        (
            self.evictions.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

/// Every live worker's counts, and what workers that are gone had.
static PUBLISHED: Mutex<Vec<Arc<Published>>> = Mutex::new(Vec::new());
static RETIRED: Published = Published::new();

/// Every worker's counts summed: evictions, bytes.
fn totals() -> (u64, u64) {
    PUBLISHED
        .lock()
        .iter()
        .map(|p| p.get())
        .fold(RETIRED.get(), |(e, b), (pe, pb)| (e + pe, b + pb))
}

/// How many times a parked green thread's stack was copied out so far, in
/// every runtime of the process (for tests and the benchmarks' reports).
pub fn evictions() -> u64 {
    totals().0
}

/// How many bytes those copies moved, in all.
pub fn evicted_bytes() -> u64 {
    totals().1
}

/// The stack a coroutine is made on: one slot's, shared or not.
pub(crate) struct SlotStack {
    base: StackPointer,
    /// `base - limit`: the usable size and the guard page (a stack is
    /// far smaller than 4 GiB). Two words in all, as every task's
    /// coroutine holds one.
    span: u32,
    /// The slot's key in the worker's table.
    key: u32,
}

impl SlotStack {
    fn limit_addr(&self) -> usize {
        self.base.get() - self.span as usize
    }
}

// SAFETY: `base` and `limit` are the pooled stack's (see its impl), which
// the slot table keeps mapped, guard and all, for as long as any claimant
// (any coroutine made on this `SlotStack`) exists (invariant 5). Claimants
// never use the memory at the same time: only the resident runs
// (invariants 1, 2).
unsafe impl Stack for SlotStack {
    #[inline]
    fn base(&self) -> StackPointer {
        self.base
    }

    #[inline]
    fn limit(&self) -> StackPointer {
        StackPointer::new(self.limit_addr()).expect("a stack's limit is above the zero page")
    }
}

/// One stack and who has it.
struct Slot {
    stack: PooledStack,
    /// The task whose bytes are in it now.
    resident: Option<NonNull<Task>>,
    /// Tasks made on it that have not finished.
    claimants: usize,
}

/// A task's share of its slot: which one, and its bytes while evicted.
///
/// Sixteen bytes: every task carries one, shared or not.
#[derive(Default)]
pub(crate) struct SliceState {
    /// Its live bytes while evicted (kept for the next eviction, freed
    /// when it finishes).
    saved: SaveBuf,
    /// Its slot's key.
    key: u32,
    /// Pins held (`park::lend_stack`): while nonzero it is never evicted.
    pub(crate) pins: u16,
    /// Whether its stack is or was shared; it then never pins.
    pub(crate) shared: bool,
}

impl SliceState {
    /// Asks the cache for the first [`PREFETCH_SAVED`] lines of its save
    /// area, which a restore is about to read.
    #[inline]
    pub(crate) fn prefetch_saved(&self) {
        crate::task::prefetch_lines(self.saved.as_ptr() as usize, PREFETCH_SAVED);
    }
}

/// Set in a task's `parked_sp` while its bytes are copied out (the one
/// record of that, `Task::is_evicted`).
pub(crate) const EVICTED_BIT: usize = 1;

/// Save-area lines fetched ahead of a restore, and of an eviction into a
/// fresh block (`arena`): the 640-byte block of a parked actor (576 bytes
/// and the header, in 128-byte steps).
pub(crate) const PREFETCH_SAVED: usize = 10;

/// A worker's stacks: the pool of free ones and the table of those in use.
pub(crate) struct Slots {
    table: Slab<Slot>,
    /// Keys of slots whose resident finished while others still claim
    /// them: a starting task takes one before anything else.
    vacant: Vec<usize>,
    pool: StackPool,
    /// Where evicted bytes go.
    arena: Arena,
    default_size: usize,
    /// Tasks with a stack here (the slots' claimants, summed).
    tasks: usize,
    /// Tasks (with a stack, or queued to start) from which a starting
    /// task shares a stack.
    share_after: ShareAfter,
    /// Evictions here, and the bytes they copied (what a save area
    /// takes), also read by other threads.
    published: Arc<Published>,
}

impl Slots {
    pub(crate) fn new(default_size: usize, share_after: ShareAfter) -> Slots {
        Slots {
            table: Slab::new(),
            vacant: Vec::new(),
            pool: StackPool::new(default_size),
            arena: Arena::new(),
            default_size,
            tasks: 0,
            share_after,
            published: {
                let p = Arc::new(Published::new());
                PUBLISHED.lock().push(p.clone());
                p
            },
        }
    }

    /// A stack for `task`, which starts now: a vacant slot, a pooled
    /// stack, the slot of `last` (the task that suspended last, evicted
    /// for it) when the worker shares stacks for `queued` tasks waiting to
    /// start and `last`'s live bytes (see [`ShareAfter`]), or a fresh
    /// stack, in that order of preference. The task becomes the slot's
    /// resident.
    ///
    /// # Safety
    ///
    /// `task` and `last` are tasks of this worker that have not finished;
    /// `last` is suspended. The caller may touch `task`'s worker-only part.
    pub(crate) unsafe fn take(
        &mut self,
        task: &Task,
        last: Option<NonNull<Task>>,
        queued: usize,
    ) -> io::Result<SlotStack> {
        let size = task.stack_size as usize;
        if size == self.default_size && !self.pool.has_free(size) {
            if let Some(key) = self.vacant_slot() {
                return Ok(self.join(key, task));
            }
            let max_live = self.max_live(queued);
            if max_live > 0 {
                // SAFETY: `last` is a live, suspended task of this worker
                // (the caller's obligation).
                if let Some(key) = last.and_then(|l| unsafe { self.evict_for_share(l, max_live) }) {
                    return Ok(self.join(key, task));
                }
            }
        }
        if size > crate::stack::MAX_STACK_SIZE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "grove: a green-thread stack larger than the 4 GiB grove makes cannot be made",
            ));
        }
        let stack = self.pool.take(size)?;
        self.tasks += 1;
        let key = self.table.insert(Slot {
            stack,
            resident: Some(NonNull::from(task)),
            claimants: 1,
        });
        // SAFETY: the caller may touch `task`'s worker-only part.
        unsafe { task.local().slice.key = small_key(key) };
        Ok(self.stack_of(key))
    }

    /// Whether tasks starting now may share stacks: the worker holds
    /// enough tasks for the lower of [`ShareAfter`]'s thresholds, counting
    /// those with a stack and the `queued` ones waiting to start on it.
    /// Counting the queued ones makes a burst of 100,000 spawns share from
    /// its first start on.
    pub(crate) fn sharing(&self, queued: usize) -> bool {
        self.max_live(queued) > 0
    }

    /// [`ShareAfter::max_live`] for the tasks with a stack here and the
    /// `queued` ones waiting to start.
    fn max_live(&self, queued: usize) -> usize {
        self.share_after.max_live(self.tasks.saturating_add(queued))
    }

    /// Faults in save areas for `queued` green threads about to start
    /// (those of a burst of actor spawns), if this worker shares the stack
    /// of every task (the upper threshold): each will be evicted when the
    /// next one starts, and its bytes then go into memory touched now, at
    /// spawn, as tokio's and Go's tasks are. At most [`PREFAULT_MAX`]
    /// ahead, which bounds what a burst of actors that never park commits
    /// early (it is used by later evictions, not lost). Below the upper
    /// threshold a program's tasks are few enough that their first
    /// evictions fault in what they need (a 10,000-actor ring builds in
    /// ~290 ns an actor instead of ~400 with the prefault).
    pub(crate) fn prefault_for(&mut self, queued: usize) {
        if self.max_live(queued) != usize::MAX {
            return;
        }
        let per = match self.published.get() {
            (0, _) => DEFAULT_SAVE,
            (n, bytes) => (bytes / n) as usize,
        };
        let want = queued.saturating_mul(arena::block_size(per));
        self.arena.prefault(want.min(PREFAULT_MAX));
    }

    /// A vacant slot that is still vacant, if any.
    fn vacant_slot(&mut self) -> Option<usize> {
        while let Some(key) = self.vacant.pop() {
            if self.table.get(key).is_some_and(|s| s.resident.is_none()) {
                return Some(key);
            }
        }
        None
    }

    /// Evicts `last` so that its slot can be shared, if it may be: not
    /// pinned, resident, on a stack of the default size, with at most
    /// `max_live` live bytes.
    ///
    /// # Safety
    ///
    /// As for [`take`](Self::take).
    unsafe fn evict_for_share(&mut self, last: NonNull<Task>, max_live: usize) -> Option<usize> {
        let key = {
            // SAFETY: the caller's obligation; the borrow ends in this block.
            let t = unsafe { last.as_ref() };
            // SAFETY: as above.
            let st = unsafe { &mut t.local().slice };
            if st.pins != 0 || t.is_evicted() {
                return None;
            }
            let slot = self.table.get(st.key as usize)?;
            if slot.stack.size != self.default_size || slot.resident != Some(last) {
                return None;
            }
            if live_range(&slot.stack, t).1 > max_live {
                return None;
            }
            st.shared = true;
            st.key as usize
        };
        // SAFETY: `last` is suspended (caller), not pinned and resident.
        unsafe { self.evict(key, last) };
        Some(key)
    }

    /// Makes `task` a claimant and the resident of the empty slot `key`.
    fn join(&mut self, key: usize, task: &Task) -> SlotStack {
        let slot = &mut self.table[key];
        debug_assert!(slot.resident.is_none());
        slot.claimants += 1;
        self.tasks += 1;
        slot.resident = Some(NonNull::from(task));
        // SAFETY: `take`'s caller may touch `task`'s worker-only part.
        let st = unsafe { &mut task.local().slice };
        st.key = small_key(key);
        st.shared = true;
        self.stack_of(key)
    }

    /// The low end of the guard page below a slot's stack (one page).
    pub(crate) fn guard_lo(stack: &SlotStack) -> usize {
        stack.limit_addr()
    }

    fn stack_of(&self, key: usize) -> SlotStack {
        let stack = &self.table[key].stack;
        let (base, limit) = (stack.base(), stack.limit());
        SlotStack {
            base,
            span: u32::try_from(base.get() - limit.get()).expect("a stack is smaller than 4 GiB"),
            key: small_key(key),
        }
    }

    /// Copies the live bytes of `task`, resident in slot `key`, to its
    /// save area; the slot is then empty.
    ///
    /// # Safety
    ///
    /// `task` is a suspended, unpinned task of this worker, resident in
    /// `key`, and nothing else borrows its worker-only part.
    unsafe fn evict(&mut self, key: usize, task: NonNull<Task>) {
        let slot = &mut self.table[key];
        // SAFETY: the caller's obligation.
        let t = unsafe { task.as_ref() };
        // SAFETY: as above.
        let st = unsafe { &mut t.local().slice };
        debug_assert!(st.pins == 0 && !t.is_evicted() && slot.resident == Some(task));
        let (lo, len) = live_range(&slot.stack, t);
        self.arena.fit(&mut st.saved, len);
        // SAFETY: `[lo, lo + len)` lies inside the slot's usable stack
        // (`live_range` clamps it), which is mapped and holds `task`'s
        // bytes (it is resident); `saved` is a block of at least `len`
        // bytes of its own. Bytes are copied as `MaybeUninit`, so stack
        // padding that was never written is fine.
        unsafe {
            std::ptr::copy_nonoverlapping(lo as *const MaybeUninit<u8>, st.saved.as_ptr(), len);
        }
        // Its bytes are in `saved` now: bit 0 of the parked stack pointer
        // says so (`Task::is_evicted`), to the resume and to a wake, which
        // then fetches the save area (`Task::prefetch_resume`);
        // `live_range` and the stack prefetch mask it off.
        let sp = t.parked_sp.load(Ordering::Relaxed);
        t.parked_sp.store(sp | EVICTED_BIT, Ordering::Relaxed);
        slot.resident = None;
        self.published.count(len as u64);
    }

    /// Makes an evicted `task` resident again: evicts the slot's resident,
    /// if any, and copies `task`'s bytes back where they were.
    ///
    /// # Safety
    ///
    /// `task` is an evicted task of this worker about to be resumed, and
    /// nothing else borrows its (or the resident's) worker-only part.
    #[cold]
    pub(crate) unsafe fn restore(&mut self, task: &Task) {
        // SAFETY: the caller's obligation.
        let key = unsafe { task.local().slice.key } as usize;
        if let Some(other) = self.table[key].resident {
            // SAFETY: the resident is suspended (only `task` is about to
            // run) and unpinned: it is on a shared stack (invariant 3).
            unsafe { self.evict(key, other) };
        }
        let slot = &mut self.table[key];
        // SAFETY: as above.
        let st = unsafe { &mut task.local().slice };
        let base = slot.stack.base().get();
        let len = st.saved.len();
        // SAFETY: `[base - len, base)` is where these bytes were copied
        // from (the same slot, the same base), inside its usable stack;
        // the slot is empty now, so they overwrite nobody's live bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(
                st.saved.as_ptr(),
                (base - len) as *mut MaybeUninit<u8>,
                len,
            );
        }
        let sp = task.parked_sp.load(Ordering::Relaxed);
        task.parked_sp.store(sp & !EVICTED_BIT, Ordering::Relaxed);
        slot.resident = Some(NonNull::from(task));
    }

    /// A finished task lets go of its slot; the last claimant returns the
    /// stack to the pool.
    ///
    /// # Safety
    ///
    /// `task` finished on `stack` and nothing borrows its worker-only part.
    pub(crate) unsafe fn release(&mut self, stack: SlotStack, task: &Task) {
        // SAFETY: the caller's obligation.
        self.arena.free(unsafe { &mut task.local().slice.saved });
        let key = stack.key as usize;
        let slot = &mut self.table[key];
        slot.claimants -= 1;
        self.tasks -= 1;
        if slot.resident == Some(NonNull::from(task)) {
            slot.resident = None;
            if slot.claimants > 0 {
                self.vacant.push(key);
            }
        }
        if slot.claimants == 0 {
            let slot = self.table.remove(key);
            self.pool.give(slot.stack);
        }
    }
}

impl Drop for Slots {
    /// Slots still claimed when the worker goes away belong to tasks that
    /// were leaked, suspended, at shutdown (`Worker::shut_down`): their
    /// stacks are leaked with them, never unmapped under them.
    fn drop(&mut self) {
        for slot in self.table.drain() {
            std::mem::forget(slot.stack);
        }
        let mut published = PUBLISHED.lock();
        published.retain(|p| !Arc::ptr_eq(p, &self.published));
        let (evictions, bytes) = self.published.get();
        RETIRED.evictions.fetch_add(evictions, Ordering::Relaxed);
        RETIRED.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// A slot key as a task keeps it. Slots are stacks that exist, far fewer
/// than 2^32.
fn small_key(key: usize) -> u32 {
    u32::try_from(key).expect("fewer than 2^32 stacks")
}

/// The live bytes of suspended `task` in `stack`: from `SWITCH_MARGIN`
/// below where it parked up to the base, clamped to the usable stack.
fn live_range(stack: &PooledStack, task: &Task) -> (usize, usize) {
    let base = stack.base().get();
    let bottom = stack.limit().get() + crate::stack::page_size();
    let sp = task.parked_sp.load(Ordering::Relaxed);
    // 16-byte aligned; `bottom` is page-aligned, so the clamp keeps that.
    let lo = (sp.saturating_sub(SWITCH_MARGIN) & !15).max(bottom);
    (lo, base - lo)
}
