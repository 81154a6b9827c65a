//! The reactor: readiness of registered I/O sources, cached per source, and
//! the green threads (or OS threads) that wait for it.
//!
//! Each worker's mio `Poll` is also where the worker sleeps (see `worker`),
//! so readiness, cross-thread wakes and timers all arrive through one
//! `epoll_wait`. A source is registered once, edge-triggered, for both
//! directions, with the worker that created it (or, from a plain thread,
//! with one chosen round-robin). It may then be used from any green thread
//! on any worker, or from an OS thread: readiness is recorded in the
//! source's [`ScheduledIo`] and its waiters are woken through their
//! [`Waker`](crate::park::Waker)s, which reach any thread.
//!
//! # Cached readiness and the tick
//!
//! An I/O call is always tried first; only when it fails with `WouldBlock`
//! does the caller clear the readiness bit it relied on and wait. An event
//! that arrives between the system call and the clearing must not be wiped
//! out, so the readiness word carries a *tick* that every event bumps: the
//! bit is cleared only if the tick is still the one read before the call.
//! A source that is ready thus costs exactly one system call per operation.
//!
//! # Lifetime of a registration
//!
//! The mio token is the address of the source's `ScheduledIo`, kept alive
//! by a strong count the registration owns. On drop the source is
//! deregistered first; then that count is handed to the worker it was
//! registered with, which releases it after the `poll` batch in progress
//! has been dispatched. A batch gathered before the deregistration may
//! still name the token, and this is what keeps it valid; a batch gathered
//! after cannot.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::spin::SpinLock;

use crate::park::WaitKind;
use crate::runtime::Shared;
use crate::sync::waiters::{expired, park_or, WaitList};

/// Readiness bits of a source.
pub(crate) const READABLE: usize = 1;
pub(crate) const WRITABLE: usize = 1 << 1;
pub(crate) const READ_CLOSED: usize = 1 << 2;
pub(crate) const WRITE_CLOSED: usize = 1 << 3;
pub(crate) const ERROR: usize = 1 << 4;
/// Not readiness but a hint: a stream read got fewer bytes than it asked
/// for, so it drained the receive queue, and READABLE was cleared for it
/// (see [`ScheduledIo::drained`]). Left set by later events; it only counts
/// while READABLE (and the closed and error bits) are clear.
pub(crate) const READ_DRAINED: usize = 1 << 5;
const BITS: usize = 0xff;
const TICK_SHIFT: u32 = 8;

/// A direction an operation waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Reading (or accepting, or receiving).
    Read,
    /// Writing (or connecting, or sending).
    Write,
}

impl Direction {
    /// The bits that let an operation in this direction make progress.
    fn ready_mask(self) -> usize {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
        }
    }

    /// `poll(2)` events for this direction.
    fn poll_events(self) -> libc::c_short {
        match self {
            Direction::Read => libc::POLLIN,
            Direction::Write => libc::POLLOUT,
        }
    }
}

/// Per-source state shared by the reactor and every user of the source.
///
/// Laid out for the round trip of a stream: a wait and its wake touch the
/// readiness word, the lock, the readers' list and (an event reports both
/// directions) whether the writers' list has a head. `repr(C)` keeps them
/// in that order in the first 56 bytes, and the alignment puts those in
/// one cache line (the `Arc`'s counts sit in the line before, touched
/// only when a handle is cloned or dropped); the writers' deque pointer,
/// read only when a writer waits, spills into the next. (Before, a round
/// trip touched three lines of it; in a cache simulation of echo at a
/// thousand connections the wait path now misses ~3 times less a round
/// trip, though on the hardware measured the round trip cost the same:
/// docs/benchmarks.md.)
#[derive(Debug, Default)]
#[repr(C, align(64))]
pub(crate) struct ScheduledIo {
    /// `tick << 8 | readiness bits`.
    readiness: AtomicUsize,
    /// Who waits, per direction (a spin lock: nothing under it switches).
    waiters: SpinLock<IoWaiters>,
}

/// The wait lists of one source (`repr(C)`: see [`ScheduledIo`]).
#[derive(Debug, Default)]
#[repr(C)]
struct IoWaiters {
    readers: WaitList,
    writers: WaitList,
}

impl IoWaiters {
    fn list(&mut self, dir: Direction) -> &mut WaitList {
        match dir {
            Direction::Read => &mut self.readers,
            Direction::Write => &mut self.writers,
        }
    }
}

impl ScheduledIo {
    /// The readiness word now (to pass to [`clear`](Self::clear) later).
    #[inline]
    pub(crate) fn snapshot(&self) -> usize {
        self.readiness.load(Ordering::Acquire)
    }

    /// Records an event and wakes the waiters it concerns. Any thread.
    pub(crate) fn set_ready(&self, bits: usize) {
        let mut cur = self.readiness.load(Ordering::Relaxed);
        loop {
            let tick = (cur >> TICK_SHIFT).wrapping_add(1);
            let next = (tick << TICK_SHIFT) | (cur & BITS) | bits;
            match self.readiness.compare_exchange_weak(
                cur,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        let mut w = self.waiters.lock();
        if bits & Direction::Read.ready_mask() != 0 {
            w.readers.wake_all();
        }
        if bits & Direction::Write.ready_mask() != 0 {
            w.writers.wake_all();
        }
    }

    /// After a `WouldBlock`: clears every bit that let `dir` proceed
    /// (readable or writable, but also closed and error: an operation that
    /// just returned `WouldBlock` has nothing left to report from them, and
    /// a bit left set would make the next wait return at once, forever —
    /// a connected UDP socket's ICMP error did exactly that), unless an
    /// event arrived since `snapshot` was taken.
    pub(crate) fn clear(&self, snapshot: usize, dir: Direction) {
        self.update_since(snapshot, |w| w & !dir.ready_mask());
    }

    /// Replaces the readiness word with `f(word)`, unless an event arrived
    /// since `snapshot` was taken (its tick changed): the rule that keeps
    /// a clear from wiping out an event that came during the system call.
    fn update_since(&self, snapshot: usize, f: impl Fn(usize) -> usize) {
        let mut cur = snapshot;
        loop {
            if cur >> TICK_SHIFT != snapshot >> TICK_SHIFT {
                return;
            }
            match self.readiness.compare_exchange_weak(
                cur,
                f(cur),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Whether an operation in `dir` may make progress now.
    #[inline]
    pub(crate) fn is_ready(&self, dir: Direction) -> bool {
        self.snapshot() & dir.ready_mask() != 0
    }

    /// After a stream read that returned some bytes but fewer than asked
    /// for: the receive queue was empty when it returned (a stream socket
    /// hands over all it has, up to the length), so clear READABLE and
    /// mark the source drained, unless an event arrived since `snapshot`.
    /// Data that comes later raises a new edge, which sets READABLE again;
    /// data that came during the read raised one not yet harvested, which
    /// does too. Leaves the closed and error bits alone: an end of stream
    /// must still be read at once. This is tokio's rule as well.
    pub(crate) fn drained(&self, snapshot: usize) {
        self.update_since(snapshot, |w| (w & !READABLE) | READ_DRAINED);
    }

    /// Whether the last stream read drained the source and nothing has
    /// arrived since: a read now would fail with `WouldBlock`.
    #[inline]
    pub(crate) fn is_drained(&self) -> bool {
        let w = self.snapshot();
        w & READ_DRAINED != 0 && w & Direction::Read.ready_mask() == 0
    }

    /// Waits until `dir` is ready (suspending a green thread, parking an OS
    /// thread), or until `deadline` (`ErrorKind::TimedOut`). A switch
    /// point: kill and `grove::timeout` unwind here. `check_first: false`
    /// says the deadline cannot have passed yet (it was just made from a
    /// positive timeout), which saves the clock read before the first park;
    /// after a wake the deadline is always checked. Always inlined (see
    /// `park::park`).
    #[inline(always)]
    pub(crate) fn wait(
        &self,
        dir: Direction,
        deadline: Option<Instant>,
        check_first: bool,
    ) -> io::Result<()> {
        // Two copies of the loop: with no deadline (the common case) the
        // deadline checks fold away, as they do for `Queue::get`.
        match deadline {
            None => self.wait_until(dir, None, false),
            Some(_) => self.wait_until(dir, deadline, check_first),
        }
    }

    /// The loop of [`wait`](Self::wait).
    #[inline(always)]
    fn wait_until(
        &self,
        dir: Direction,
        deadline: Option<Instant>,
        mut check: bool,
    ) -> io::Result<()> {
        let mut w = self.waiters.lock();
        loop {
            if self.is_ready(dir) {
                return Ok(());
            }
            if check && expired(deadline) {
                return Err(timed_out());
            }
            check = true;
            let id = w.list(dir).push_current();
            drop(w);
            park_or(WaitKind::Io, deadline, || {
                self.waiters.lock().list(dir).remove(id);
            });
            // Woken waiters were all taken off the list; a timed-out or
            // spuriously woken one is still on it. The same lock covers the
            // next look at the readiness: one lock a wake, not two.
            w = self.waiters.lock();
            w.list(dir).remove(id);
        }
    }
}

/// Waits for `fd` to be ready in `dir` without the reactor, for a source
/// whose runtime has shut down (no worker polls its `Poll` any more): a
/// plain OS thread blocks in `poll(2)`; a green thread (of another runtime)
/// checks with a zero timeout and sleeps a millisecond between checks, so
/// its worker keeps running the others.
pub(crate) fn wait_fd(fd: RawFd, dir: Direction, deadline: Option<Instant>) -> io::Result<()> {
    let green = crate::park::in_green_thread();
    loop {
        let timeout_ms: libc::c_int = if green {
            0
        } else {
            match deadline {
                None => -1,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    libc::c_int::try_from(left.as_nanos().div_ceil(1_000_000))
                        .unwrap_or(libc::c_int::MAX)
                }
            }
        };
        let mut pfd = libc::pollfd {
            fd,
            events: dir.poll_events(),
            revents: 0,
        };
        // SAFETY: `pfd` is one valid, initialised pollfd that lives across
        // the call; poll(2) writes only its `revents`.
        let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if n > 0 {
            return Ok(());
        }
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        if expired(deadline) {
            return Err(timed_out());
        }
        if green {
            crate::time::sleep(std::time::Duration::from_millis(1));
        }
    }
}

/// The error a wait past its deadline returns.
pub(crate) fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "grove: I/O wait timed out")
}

/// A source's registration with one worker's `Poll`.
#[derive(Debug)]
pub(crate) struct Registration {
    /// The readiness the reactor records for the source.
    io: Arc<ScheduledIo>,
    /// The runtime it is registered with.
    shared: Arc<Shared>,
    /// The worker whose `Poll` delivers its events.
    worker: usize,
}

impl Registration {
    /// Registers `source` (edge-triggered, both directions) with a worker
    /// of the calling context's runtime: the current worker if called from
    /// one, else one picked round-robin.
    pub(crate) fn new<S: mio::event::Source + ?Sized>(source: &mut S) -> io::Result<Registration> {
        let shared = crate::runtime::current_shared();
        let worker = match crate::worker::current() {
            Some(w) if Arc::ptr_eq(&w.shared, &shared) => w.index,
            _ => shared.next_io_worker(),
        };
        let io = Arc::new(ScheduledIo::default());
        let token = mio::Token(Arc::as_ptr(&io) as usize);
        shared.workers[worker].registry.register(
            source,
            token,
            mio::Interest::READABLE | mio::Interest::WRITABLE,
        )?;
        Ok(Registration { io, shared, worker })
    }

    /// The readiness state.
    #[inline]
    pub(crate) fn io(&self) -> &ScheduledIo {
        &self.io
    }

    /// Whether its runtime has shut down, so that no worker delivers its
    /// readiness any more.
    #[inline]
    pub(crate) fn is_orphaned(&self) -> bool {
        self.shared.shutdown.load(Ordering::Acquire)
    }

    /// Deregisters `source`; the registration is then dropped. Must be
    /// called with the source this registration was made for.
    pub(crate) fn deregister<S: mio::event::Source + ?Sized>(self, source: &mut S) {
        let ws = &self.shared.workers[self.worker];
        if let Err(e) = ws.registry.deregister(source) {
            tracing::debug!("grove: deregistering an I/O source failed: {e}");
        }
        // Hand our strong count to the worker: it drops it after the poll
        // batch in progress (which may still name our token) is dispatched.
        ws.release_io(self.io);
    }
}

/// Delivers one readiness event to the source it names.
///
/// # Safety
///
/// The event must come from a worker's `Poll`, whose tokens other than
/// `WAKE_TOKEN` are `Arc<ScheduledIo>` addresses kept alive until after
/// the batch holding the event has been dispatched (see the module docs).
pub(crate) unsafe fn dispatch(event: &mio::event::Event) {
    let mut bits = 0;
    if event.is_readable() {
        bits |= READABLE;
    }
    if event.is_writable() {
        bits |= WRITABLE;
    }
    if event.is_read_closed() {
        bits |= READ_CLOSED;
    }
    if event.is_write_closed() {
        bits |= WRITE_CLOSED;
    }
    if event.is_error() {
        bits |= ERROR;
    }
    let p = event.token().0 as *const ScheduledIo;
    // SAFETY: the caller's contract: `p` is the address of a live
    // `ScheduledIo` for the duration of this batch.
    unsafe { (*p).set_ready(bits) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    /// What a stream's round trip touches stays in one cache line (see
    /// [`ScheduledIo`]): the readiness word, the lock, the readers' list
    /// and the start of the writers' (its head's tag).
    #[test]
    fn a_round_trip_touches_one_line_of_the_source() {
        assert_eq!(align_of::<ScheduledIo>(), 64);
        assert_eq!(offset_of!(ScheduledIo, readiness), 0);
        assert_eq!(size_of::<WaitList>(), 32);
        let waiters = offset_of!(ScheduledIo, waiters);
        // The lock byte first, then the lists (`SpinLock` is `repr(C)`).
        assert_eq!(waiters, 8);
        let lists = waiters + size_of::<SpinLock<IoWaiters>>() - size_of::<IoWaiters>();
        assert_eq!(offset_of!(IoWaiters, readers), 0);
        assert_eq!(offset_of!(IoWaiters, writers), size_of::<WaitList>());
        let writers = lists + offset_of!(IoWaiters, writers);
        assert_eq!(writers, 48);
        assert!(writers + 8 <= 64);
    }
}
