//! Green-thread stacks: guard-paged, carved from shared mappings, pooled
//! per worker, counted globally.
//!
//! ```text
//!   high addresses   base ┌──────────────────────┐
//!                         │  usable stack        │  grows down
//!                         │  (size bytes, RW)    │
//!                         ├──────────────────────┤
//!                         │  guard page          │  a touch here faults:
//!   low addresses   limit └──────────────────────┘  reported, then abort
//! ```
//!
//! How the guard page is made decides what a stack costs ([`Guard`]):
//!
//! * **Guard markers** (Linux 6.13 and later, `MADV_GUARD_INSTALL`): the
//!   guard is a poisoned page-table entry inside an ordinary read-write
//!   mapping, so stacks need no mapping of their own. Fresh stacks of a
//!   runtime's default size are mapped [`CHUNK`] at a time (one `mmap`, one
//!   `madvise` per guard; adjacent chunks merge into one mapping), and a
//!   stack is never unmapped: one the pools do not keep has its pages
//!   returned to the kernel (`MADV_DONTNEED`, which keeps the guard) and
//!   waits on a process-wide spare list for the next green thread. Memory
//!   mappings then never limit how many green threads exist.
//! * **`mprotect`** (older kernels, or `GROVE_STACK_GUARD=mprotect`): each
//!   stack is its own `mmap` with its lowest page made `PROT_NONE`, i.e. two
//!   kernel memory mappings, unmapped when dropped. Linux caps mappings per
//!   process at `vm.max_map_count` (65,530 by default), which caps live
//!   stacks at about 32,000. [`StackBudget`] counts the stacks that exist and
//!   turns the cap into a clear error at spawn time, naming the limit and how
//!   to raise it, instead of an obscure `ENOMEM` later.
//!
//! Either way a fresh stack costs microseconds (the kernel's work, and the
//! first touch of its top page) and a reused one nothing, so every worker
//! keeps the stacks of finished green threads of the default size in a
//! [`StackPool`] and hands them out again.
//!
//! A stack's frames start a few cache lines below its top, a different
//! number for each stack ([`colour`]), so that parked green threads' hot
//! lines do not all compete for the same cache sets.
//!
//! A green thread takes its stack when it first runs, not when it is
//! spawned. Under `mprotect` guards spawn counts it as *pending* until then
//! (a [`StartReservation`]). Spawning while live + pending stacks reach the
//! limit first lets the pending green threads start (they may finish and
//! give their stacks back, as in a spawn-then-join-all loop); only if that
//! frees nothing does spawn fail. So 100,000 short green threads spawned
//! before any runs are fine, and the 32,001st long-lived one is an error
//! from `spawn` itself, not a green thread that silently never starts.

use std::io;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use corosensei::stack::valgrind::ValgrindStackRegistration;
use corosensei::stack::{Stack, StackPointer};

/// Stacks the pool keeps per worker; beyond that they go to the spare list
/// (guard markers) or are unmapped (`mprotect`).
const POOL_MAX: usize = 1024;
/// Fresh default-size stacks mapped at once under guard markers.
const CHUNK: usize = 32;
/// Mappings kept free for everything that is not a green-thread stack.
const MAP_RESERVE: usize = 2048;
/// `madvise` advice that installs lightweight guard regions (Linux 6.13).
#[cfg(target_os = "linux")]
const MADV_GUARD_INSTALL: libc::c_int = 102;

/// Stacks that exist right now, in every runtime of the process.
static LIVE_STACKS: AtomicUsize = AtomicUsize::new(0);
/// Green threads spawned but not yet started (each will want a stack);
/// counted only under `mprotect` guards.
static PENDING_STARTS: AtomicUsize = AtomicUsize::new(0);
/// How many waits for pending green threads to start may pass without any
/// of them starting before spawn gives up.
const MAX_STALLS: u32 = 1000;

/// Unused stacks no worker's pool keeps, their pages returned to the kernel
/// (guard markers only: such stacks are never unmapped).
static SPARE: parking_lot::Mutex<Vec<PooledStack>> = parking_lot::Mutex::new(Vec::new());

/// How this process makes the guard page below each stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Guard {
    /// A lightweight guard region (`MADV_GUARD_INSTALL`): no mapping of its own.
    Marker,
    /// A `PROT_NONE` page (`mprotect`): a mapping of its own.
    Protect,
}

impl Guard {
    /// Probes the kind this process uses: guard markers where the kernel
    /// has them, unless `GROVE_STACK_GUARD=mprotect` asks for the portable
    /// kind. Done once, by [`StackBudget::get`].
    fn probe() -> Guard {
        let forced = std::env::var_os("GROVE_STACK_GUARD").is_some_and(|v| v == "mprotect");
        if !forced && markers_work() {
            Guard::Marker
        } else {
            Guard::Protect
        }
    }
}

/// Whether the kernel installs guard markers: tried on a scratch page.
#[cfg(target_os = "linux")]
fn markers_work() -> bool {
    let page = page_size();
    let Ok(p) = map_anon(page, libc::PROT_READ | libc::PROT_WRITE) else {
        return false;
    };
    // SAFETY: `p` is a fresh one-page mapping of ours that no other code
    // knows; it is advised and unmapped here.
    unsafe {
        let ok = libc::madvise(p as *mut libc::c_void, page, MADV_GUARD_INSTALL) == 0;
        libc::munmap(p as *mut libc::c_void, page);
        ok
    }
}

#[cfg(not(target_os = "linux"))]
fn markers_work() -> bool {
    false
}

/// A spawned green thread's claim on a future stack; dropped when it starts
/// (or is dropped unstarted). Counted only where stacks are limited.
#[derive(Debug)]
pub(crate) struct StartReservation {
    /// Whether [`PENDING_STARTS`] counts this one.
    counted: bool,
}

impl Drop for StartReservation {
    fn drop(&mut self) {
        if self.counted {
            PENDING_STARTS.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// The process-wide cap on live stacks, derived from `vm.max_map_count`.
#[derive(Debug)]
pub(crate) struct StackBudget {
    /// `vm.max_map_count` as read at start-up (None: not Linux, or unreadable).
    max_map_count: Option<usize>,
    /// How many stacks may exist at once (`usize::MAX`: mappings do not
    /// limit them).
    limit: usize,
    /// How guard pages are made.
    guard: Guard,
}

impl StackBudget {
    /// The budget, computed on first use.
    pub(crate) fn get() -> &'static StackBudget {
        static BUDGET: OnceLock<StackBudget> = OnceLock::new();
        BUDGET.get_or_init(|| {
            let max = std::fs::read_to_string("/proc/sys/vm/max_map_count")
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok());
            let guard = Guard::probe();
            let limit = match (guard, max) {
                // Chunks share (and merge into) mappings and are never
                // unmapped piecemeal: mappings are no limit.
                (Guard::Marker, _) | (_, None) => usize::MAX,
                (Guard::Protect, Some(m)) => {
                    let used = std::fs::read_to_string("/proc/self/maps")
                        .map(|s| s.lines().count())
                        .unwrap_or(0);
                    m.saturating_sub(used + MAP_RESERVE) / 2
                }
            };
            StackBudget {
                max_map_count: max,
                limit,
                guard,
            }
        })
    }

    /// Claims a stack for a green thread about to be spawned. At the limit,
    /// first lets pending green threads start (a switch point in a green
    /// thread, a short sleep on an OS thread); fails if that frees nothing.
    #[inline]
    pub(crate) fn reserve_start(&self) -> io::Result<StartReservation> {
        if self.limit == usize::MAX {
            return Ok(StartReservation { counted: false });
        }
        self.reserve_counted()
    }

    /// [`reserve_start`](Self::reserve_start) where stacks are limited.
    fn reserve_counted(&self) -> io::Result<StartReservation> {
        let mut stalls = 0;
        loop {
            let live = LIVE_STACKS.load(Ordering::Relaxed);
            let pending = PENDING_STARTS.load(Ordering::Relaxed);
            if live.saturating_add(pending) < self.limit {
                PENDING_STARTS.fetch_add(1, Ordering::Relaxed);
                return Ok(StartReservation { counted: true });
            }
            if pending == 0 || stalls >= MAX_STALLS {
                return Err(self.exhausted(live));
            }
            if crate::park::in_green_thread() {
                crate::park::yield_now();
            } else {
                std::thread::sleep(std::time::Duration::from_micros(100));
            }
            if PENDING_STARTS.load(Ordering::Relaxed) >= pending {
                stalls += 1;
            } else {
                stalls = 0;
            }
        }
    }

    /// Fails if one more stack would pass the mapping limit.
    pub(crate) fn check(&self) -> io::Result<()> {
        let live = LIVE_STACKS.load(Ordering::Relaxed);
        if live >= self.limit {
            return Err(self.exhausted(live));
        }
        Ok(())
    }

    /// The error for a process that has run out of stack mappings.
    pub(crate) fn exhausted(&self, live: usize) -> io::Error {
        let msg = match (self.guard, self.max_map_count) {
            (Guard::Protect, Some(m)) => format!(
                "grove: cannot create another green-thread stack: {live} stacks are live and \
                 each guard-paged stack takes 2 memory mappings, which reaches the kernel limit \
                 vm.max_map_count = {m}; raise it (e.g. `sysctl -w vm.max_map_count={}`) or \
                 keep fewer green threads alive",
                raised(m)
            ),
            (Guard::Marker, Some(m)) => format!(
                "grove: cannot create another green-thread stack ({live} are live): the kernel \
                 refused the memory mapping; the process is out of memory or has reached the \
                 kernel limit vm.max_map_count = {m} with mappings of its own (raise it with \
                 `sysctl -w vm.max_map_count={}`)",
                raised(m)
            ),
            (_, None) => format!(
                "grove: cannot create another green-thread stack ({live} are live): \
                 the system refused the memory mapping"
            ),
        };
        io::Error::new(io::ErrorKind::OutOfMemory, msg)
    }
}

/// A `vm.max_map_count` worth suggesting instead of `m`.
fn raised(m: usize) -> usize {
    (m * 4).max(262_144)
}

/// Rounds a requested size up to whole pages, with a sane minimum. A size
/// too large to round stays too large (its green thread fails to start,
/// with an error), rather than overflowing.
pub(crate) fn normalize_size(size: usize) -> usize {
    let page = page_size();
    size.max(16 * 1024)
        .checked_next_multiple_of(page)
        .unwrap_or(usize::MAX - (page - 1))
}

/// The largest stack grove makes: its span (usable size and guard page)
/// is kept in 32 bits.
pub(crate) const MAX_STACK_SIZE: usize = (u32::MAX as usize) & !0xffff;

/// The system page size.
pub(crate) fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if p > 0 {
            p as usize
        } else {
            4096
        }
    })
}

/// How many cache lines at most a stack's frames start below the top of
/// its mapping ([`colour`]): 2 KiB at most, left unused.
const COLOURS: usize = 32;
/// A cache line.
const LINE: usize = 64;
// `colour` takes its top bits as the colour: a power of two of them.
const _: () = assert!(COLOURS.is_power_of_two());

/// The stack's *colour*: how many bytes (a whole number of cache lines,
/// below [`COLOURS`] of them) its frames start below the top of the stack
/// at `lo`.
///
/// Every stack's top is a page boundary, so without it a thousand parked
/// green threads keep their hot lines (the switch's saved registers, the
/// frames of the wait, the first line of a buffer) at the same offsets in
/// their pages. A cache indexes sets by the address bits below the page
/// size as well as above, so lines at one offset in their pages can use
/// only 1/64 of the sets: 32 of the 2,048 sets (512 lines) of a 2 MiB,
/// 16-way L2. With 1,000 green threads resumed in turn, more lines than
/// that compete for them, and every resume missed the L2 on them; spread
/// over 32 colours, a ring of 1,000 green threads runs 25-45 % faster a
/// hop (docs/architecture.md, "Stack colours"). glibc colours its thread
/// stacks for the same reason.
///
/// The colour is a Fibonacci hash of the stack's page number: stacks are
/// made at a fixed stride, and the golden-ratio multiples of a stride are
/// as evenly spread as any sequence, with no state to keep.
#[inline]
fn colour(lo: usize) -> usize {
    let page_number = (lo / page_size()) as u64;
    let h = page_number.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // The top five bits: 0..COLOURS.
    (h >> (64 - COLOURS.trailing_zeros())) as usize * LINE
}

/// One green-thread stack: `[lo, lo + page)` is its guard, `[lo + page,
/// lo + page + size)` its memory, of which the top [`colour`] bytes are
/// left unused. It owns that address range: no other stack, and nothing
/// else in the process, maps or uses it.
pub(crate) struct PooledStack {
    /// The lowest address of the range: the guard page.
    lo: usize,
    /// The size of its memory above the guard (whole pages), which pools
    /// match requests by; the frames may use all but its colour.
    pub(crate) size: usize,
    /// Where its frames start: `lo + page + size - colour(lo)`, worked
    /// out once (a restore and an eviction of a shared stack ask for it).
    base: usize,
    /// Tells Valgrind this is a stack (a no-op on real hardware).
    valgrind: ManuallyDrop<ValgrindStackRegistration>,
}

impl std::fmt::Debug for PooledStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledStack")
            .field("lo", &format_args!("{:#x}", self.lo))
            .field("size", &self.size)
            .finish()
    }
}

// SAFETY: `base` and `limit` bound a range this value owns for its whole
// life: `[lo, lo + page)` is a guard (a guard marker or a `PROT_NONE`
// page, so an overflow faults instead of writing past it), above it at
// least `size - colour` ≥ 16 KiB - 2 KiB (> MIN_STACK_SIZE) of read-write
// memory (`base` is `adopt`'s `lo + page + size - colour(lo)`). `limit` is
// page-aligned and `base` a whole number of cache lines below a page
// boundary, so both are STACK_ALIGNMENT (16) aligned; both are non-zero
// (mmap never returns the zero page).
unsafe impl Stack for PooledStack {
    #[inline]
    fn base(&self) -> StackPointer {
        StackPointer::new(self.base).expect("stack address is non-zero")
    }

    #[inline]
    fn limit(&self) -> StackPointer {
        StackPointer::new(self.lo).expect("stack address is non-zero")
    }
}

impl PooledStack {
    /// Wraps the range at `lo` (guard already in place) and counts it.
    fn adopt(lo: usize, size: usize) -> PooledStack {
        LIVE_STACKS.fetch_add(1, Ordering::Relaxed);
        let page = page_size();
        PooledStack {
            lo,
            size,
            base: lo + page + size - colour(lo),
            valgrind: ManuallyDrop::new(ValgrindStackRegistration::new(
                (lo + page) as *mut u8,
                size,
            )),
        }
    }

    /// Maps `count` fresh stacks of `size` usable bytes in one mapping
    /// (one per stack under `mprotect` guards: `count` must then be 1).
    fn map(size: usize, count: usize, guard: Guard) -> io::Result<Vec<PooledStack>> {
        let page = page_size();
        let span = size + page;
        let len = span * count;
        let prot = match guard {
            Guard::Marker => libc::PROT_READ | libc::PROT_WRITE,
            Guard::Protect => libc::PROT_NONE,
        };
        let base = map_anon(len, prot)?;
        let mut out = Vec::with_capacity(count);
        for i in 0..count {
            let lo = base + i * span;
            if let Err(e) = make_guard(lo, size, guard) {
                // Unmap what no stack owns yet; those made drop themselves.
                // SAFETY: `[lo, base + len)` is the part of our fresh mapping
                // that no PooledStack owns.
                unsafe { libc::munmap(lo as *mut libc::c_void, base + len - lo) };
                return Err(e);
            }
            out.push(PooledStack::adopt(lo, size));
        }
        Ok(out)
    }

    /// Returns the stack's pages to the kernel, keeping the range and its
    /// guard (guard markers survive `MADV_DONTNEED`).
    fn release_pages(&self) {
        let page = page_size();
        // SAFETY: the usable range is ours and unused (no coroutine runs on
        // a stack in a pool); after this it reads as zeroes, as when fresh.
        unsafe {
            libc::madvise(
                (self.lo + page) as *mut libc::c_void,
                self.size,
                libc::MADV_DONTNEED,
            );
        }
    }
}

/// A fresh private anonymous mapping of `len` bytes (no swap reserved):
/// its address.
fn map_anon(len: usize, prot: libc::c_int) -> io::Result<usize> {
    // SAFETY: asks for new memory at an address of the kernel's choosing;
    // it replaces nothing, and no other code knows it yet.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            prot,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(p as usize)
}

/// Makes `[lo, lo + page)` the guard of the stack above it.
fn make_guard(lo: usize, size: usize, guard: Guard) -> io::Result<()> {
    let page = page_size();
    // SAFETY: `lo` starts `page + size` bytes of a mapping we just made and
    // own; advising or re-protecting them affects nothing else.
    let rc = unsafe {
        match guard {
            #[cfg(target_os = "linux")]
            Guard::Marker => libc::madvise(lo as *mut libc::c_void, page, MADV_GUARD_INSTALL),
            #[cfg(not(target_os = "linux"))]
            Guard::Marker => unreachable!("guard markers are probed on Linux only"),
            Guard::Protect => libc::mprotect(
                (lo + page) as *mut libc::c_void,
                size,
                libc::PROT_READ | libc::PROT_WRITE,
            ),
        }
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl Drop for PooledStack {
    fn drop(&mut self) {
        // SAFETY: the registration was made in `adopt` and is dropped once.
        unsafe { ManuallyDrop::drop(&mut self.valgrind) };
        // SAFETY: the range is this stack's alone and nothing runs on it
        // any more; unmapping a part of a larger mapping is allowed.
        unsafe { libc::munmap(self.lo as *mut libc::c_void, self.size + page_size()) };
        LIVE_STACKS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A worker's cache of default-size stacks.
#[derive(Debug)]
pub(crate) struct StackPool {
    /// The size this pool caches.
    default_size: usize,
    /// Stacks ready for (re)use: of finished green threads, or fresh from
    /// a chunk.
    free: Vec<PooledStack>,
}

impl StackPool {
    /// An empty pool for stacks of `default_size` bytes.
    pub(crate) fn new(default_size: usize) -> StackPool {
        StackPool {
            default_size,
            free: Vec::new(),
        }
    }

    /// A stack of at least `size` bytes: a pooled or spare one if it fits,
    /// else a fresh one.
    pub(crate) fn take(&mut self, size: usize) -> io::Result<PooledStack> {
        if size == self.default_size {
            if let Some(s) = self.free.pop() {
                return Ok(s);
            }
        }
        self.take_slow(size)
    }

    /// Whether [`take`](Self::take) would reuse a pooled stack.
    #[inline]
    pub(crate) fn has_free(&self, size: usize) -> bool {
        size == self.default_size && !self.free.is_empty()
    }

    /// [`take`](Self::take) when the pool has none: a spare, or new ones.
    #[cold]
    fn take_slow(&mut self, size: usize) -> io::Result<PooledStack> {
        let budget = StackBudget::get();
        if budget.guard == Guard::Marker {
            let mut spare = SPARE.lock();
            if let Some(i) = spare.iter().rposition(|s| s.size == size) {
                return Ok(spare.swap_remove(i));
            }
        }
        budget.check()?;
        let count = match budget.guard {
            Guard::Marker if size == self.default_size => CHUNK,
            _ => 1,
        };
        match PooledStack::map(size, count, budget.guard) {
            Ok(mut stacks) => {
                let first = stacks.pop().expect("count >= 1");
                self.free.append(&mut stacks);
                Ok(first)
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOMEM) => {
                Err(budget.exhausted(LIVE_STACKS.load(Ordering::Relaxed)))
            }
            Err(e) => Err(e),
        }
    }

    /// Returns a stack for reuse: kept if it is of the default size and
    /// the pool has room, else spared (guard markers) or unmapped.
    pub(crate) fn give(&mut self, stack: PooledStack) {
        if stack.size == self.default_size && self.free.len() < POOL_MAX {
            self.free.push(stack);
        } else {
            spare(stack);
        }
    }
}

impl Drop for StackPool {
    fn drop(&mut self) {
        for s in self.free.drain(..) {
            spare(s);
        }
    }
}

/// Gives up a stack no pool keeps: to the spare list, its pages returned
/// (guard markers: stacks are never unmapped, so mappings never split), or
/// unmapped (`mprotect`).
fn spare(stack: PooledStack) {
    if StackBudget::get().guard == Guard::Marker {
        stack.release_pages();
        SPARE.lock().push(stack);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_made_in_a_row_start_on_every_colour() {
        // The stacks of one chunk: one stride apart (default size, guard).
        let page = page_size();
        let stride = crate::DEFAULT_STACK_SIZE + page;
        let first = 0x7f00_0000_0000usize;
        let mut seen = [0usize; COLOURS];
        for i in 0..COLOURS * 8 {
            let c = colour(first + i * stride);
            assert_eq!(c % LINE, 0);
            assert!(c < COLOURS * LINE);
            seen[c / LINE] += 1;
        }
        // Evenly: every colour, none more than twice as often as fair.
        assert!(seen.iter().all(|&n| (1..=16).contains(&n)), "{seen:?}");
    }

    #[test]
    fn requested_sizes_are_whole_pages_within_bounds() {
        let page = page_size();
        assert_eq!(normalize_size(0), 16 * 1024);
        assert_eq!(normalize_size(16 * 1024 + 1), 16 * 1024 + page);
        assert_eq!(normalize_size(usize::MAX) % page, 0);
        assert!(normalize_size(usize::MAX) > MAX_STACK_SIZE);
    }
}
