//! Green-thread stacks: guard-paged, pooled per worker, counted globally.
//!
//! ```text
//!   high addresses   base ┌──────────────────────┐
//!                         │  usable stack        │  grows down
//!                         │  (size bytes, RW)    │
//!                         ├──────────────────────┤
//!                         │  guard page (none)   │  a touch here faults:
//!   low addresses   limit └──────────────────────┘  reported, then abort
//! ```
//!
//! Each stack is one `mmap` plus one `mprotect` (corosensei's
//! `DefaultStack`), i.e. two kernel memory mappings. A fresh one costs
//! microseconds; a reused one nothing, so every worker keeps the stacks of
//! finished green threads of the default size in a [`StackPool`] and hands
//! them out again.
//!
//! Linux caps mappings per process at `vm.max_map_count` (65,530 by
//! default), which caps live guarded stacks at about 32,000. [`StackBudget`]
//! counts the stacks that exist and turns the cap into a clear error at
//! spawn time, naming the limit and how to raise it, instead of an obscure
//! `ENOMEM` later.
//!
//! A green thread takes its stack when it first runs, not when it is
//! spawned, so spawn counts it as *pending* until then (a
//! [`StartReservation`]). Spawning while live + pending stacks reach the
//! limit first lets the pending green threads start (they may finish and
//! give their stacks back, as in a spawn-then-join-all loop); only if that
//! frees nothing does spawn fail. So 100,000 short green threads spawned
//! before any runs are fine, and the 32,001st long-lived one is an error
//! from `spawn` itself, not a green thread that silently never starts.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use corosensei::stack::{DefaultStack, Stack};

/// Stacks the pool keeps per worker; beyond that they are unmapped.
const POOL_MAX: usize = 1024;
/// Mappings kept free for everything that is not a green-thread stack.
const MAP_RESERVE: usize = 2048;

/// Stacks that exist right now, in every runtime of the process.
static LIVE_STACKS: AtomicUsize = AtomicUsize::new(0);
/// Green threads spawned but not yet started (each will want a stack).
static PENDING_STARTS: AtomicUsize = AtomicUsize::new(0);
/// How many waits for pending green threads to start may pass without any
/// of them starting before spawn gives up.
const MAX_STALLS: u32 = 1000;

/// A spawned green thread's claim on a future stack; dropped when it starts
/// (or is dropped unstarted).
#[derive(Debug)]
pub(crate) struct StartReservation(());

impl Drop for StartReservation {
    fn drop(&mut self) {
        PENDING_STARTS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The process-wide cap on live stacks, derived from `vm.max_map_count`.
#[derive(Debug)]
pub(crate) struct StackBudget {
    /// `vm.max_map_count` as read at start-up (None: not Linux, or unreadable).
    max_map_count: Option<usize>,
    /// How many stacks may exist at once.
    limit: usize,
}

impl StackBudget {
    /// The budget, computed on first use.
    pub(crate) fn get() -> &'static StackBudget {
        static BUDGET: OnceLock<StackBudget> = OnceLock::new();
        BUDGET.get_or_init(|| {
            let max = std::fs::read_to_string("/proc/sys/vm/max_map_count")
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok());
            let used = std::fs::read_to_string("/proc/self/maps")
                .map(|s| s.lines().count())
                .unwrap_or(0);
            let limit = match max {
                Some(m) => m.saturating_sub(used + MAP_RESERVE) / 2,
                None => usize::MAX,
            };
            StackBudget {
                max_map_count: max,
                limit,
            }
        })
    }

    /// Claims a stack for a green thread about to be spawned. At the limit,
    /// first lets pending green threads start (a switch point in a green
    /// thread, a short sleep on an OS thread); fails if that frees nothing.
    pub(crate) fn reserve_start(&self) -> io::Result<StartReservation> {
        let mut stalls = 0;
        loop {
            let live = LIVE_STACKS.load(Ordering::Relaxed);
            let pending = PENDING_STARTS.load(Ordering::Relaxed);
            if live.saturating_add(pending) < self.limit {
                PENDING_STARTS.fetch_add(1, Ordering::Relaxed);
                return Ok(StartReservation(()));
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
        let msg = match self.max_map_count {
            Some(m) => format!(
                "grove: cannot create another green-thread stack: {live} stacks are live and \
                 each guard-paged stack takes 2 memory mappings, which reaches the kernel limit \
                 vm.max_map_count = {m}; raise it (e.g. `sysctl -w vm.max_map_count={}`) or \
                 keep fewer green threads alive",
                (m * 4).max(262_144)
            ),
            None => format!(
                "grove: cannot create another green-thread stack ({live} are live): \
                 the system refused the memory mapping"
            ),
        };
        io::Error::new(io::ErrorKind::OutOfMemory, msg)
    }
}

/// Rounds a requested size up to whole pages, with a sane minimum.
pub(crate) fn normalize_size(size: usize) -> usize {
    let page = page_size();
    size.max(16 * 1024).div_ceil(page) * page
}

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

/// The guard page range `[lo, hi)` below a stack.
///
/// corosensei's `DefaultStack::limit` is the start of its mapping, and the
/// lowest page of the mapping is the guard.
pub(crate) fn guard_range(stack: &PooledStack) -> (usize, usize) {
    let lo = stack.limit().get();
    (lo, lo + page_size())
}

/// A worker's cache of default-size stacks.
#[derive(Debug)]
pub(crate) struct StackPool {
    /// The size this pool caches.
    default_size: usize,
    /// Stacks of finished green threads, ready for reuse.
    free: Vec<PooledStack>,
}

/// A stack plus its accounting in [`LIVE_STACKS`].
pub(crate) struct PooledStack {
    /// The mapping itself.
    pub(crate) stack: DefaultStack,
    /// The usable size it was made with.
    pub(crate) size: usize,
}

impl std::fmt::Debug for PooledStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledStack")
            .field("size", &self.size)
            .finish()
    }
}

// SAFETY: delegates to `DefaultStack`, which upholds the trait's contract
// (a valid, aligned, writable range between `limit` and `base` that lives as
// long as the value); wrapping it changes neither the range nor its lifetime.
unsafe impl Stack for PooledStack {
    #[inline]
    fn base(&self) -> corosensei::stack::StackPointer {
        self.stack.base()
    }

    #[inline]
    fn limit(&self) -> corosensei::stack::StackPointer {
        self.stack.limit()
    }
}

impl Drop for PooledStack {
    fn drop(&mut self) {
        LIVE_STACKS.fetch_sub(1, Ordering::Relaxed);
    }
}

impl StackPool {
    /// An empty pool for stacks of `default_size` bytes.
    pub(crate) fn new(default_size: usize) -> StackPool {
        StackPool {
            default_size,
            free: Vec::new(),
        }
    }

    /// A stack of at least `size` bytes: a pooled one if it fits, else new.
    pub(crate) fn take(&mut self, size: usize) -> io::Result<PooledStack> {
        if size == self.default_size {
            if let Some(s) = self.free.pop() {
                return Ok(s);
            }
        }
        let budget = StackBudget::get();
        budget.check()?;
        match DefaultStack::new(size) {
            Ok(stack) => {
                LIVE_STACKS.fetch_add(1, Ordering::Relaxed);
                Ok(PooledStack { stack, size })
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOMEM) => {
                Err(budget.exhausted(LIVE_STACKS.load(Ordering::Relaxed)))
            }
            Err(e) => Err(e),
        }
    }

    /// Returns a stack for reuse (or unmaps it if the pool is full or the
    /// size is not the default).
    pub(crate) fn give(&mut self, stack: PooledStack) {
        if stack.size == self.default_size && self.free.len() < POOL_MAX {
            self.free.push(stack);
        }
    }
}
