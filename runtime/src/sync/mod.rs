//! gevent's synchronisation primitives, for green threads and plain OS
//! threads alike.
//!
//! | type | gevent | what it is |
//! |---|---|---|
//! | [`Event`] | `gevent.event.Event` | a flag to wait for; `set` wakes all |
//! | [`AsyncResult`] | `gevent.event.AsyncResult` | a value set once, read by every waiter |
//! | [`Queue`] | `gevent.queue.Queue` | MPMC FIFO channel, bounded or not, closable |
//! | [`Semaphore`] | `gevent.lock.Semaphore` | counted permits, FIFO hand-over |
//! | [`Mutex`] | `gevent.lock.RLock` | a lock whose waiters suspend (not re-entrant) |
//! | [`Group`] / [`Pool`] | `gevent.pool.Group` / `Pool` | green threads joined or killed together; a pool caps how many run |
//!
//! Every blocking call suspends the calling green thread, or parks the
//! calling OS thread (main, a test, a `spawn_blocking` job): the same code
//! works in both. Every blocking call is a switch point, so a kill or an
//! expired `grove::timeout` interrupts it; each has a `try_` variant that
//! never waits and a `_timeout` variant that waits at most so long.
//!
//! # The wait protocol
//!
//! Each primitive keeps its waiters in a FIFO *wait list* inside its own
//! lock-protected state (on the heap, never on a waiting stack), and waits
//! only through the runtime's `park`:
//!
//! ```text
//!   lock ─► condition holds? ─yes─► take it (forget our entry), unlock, return
//!     │ no                ▲
//!     ▼                   │
//!   deadline passed? ─yes─┴─► forget our entry, unlock, return "timed out"
//!     │ no
//!     ▼
//!   still listed? else list ourselves again; unlock
//!     │
//!   park(kind, deadline)  ── unwinds (kill / timeout)? ─► guard: lock, forget
//!     │                      our entry; if we had been notified, pass the
//!   lock, loop               notification on (or give back what we were handed)
//! ```
//!
//! * `park` may return spuriously; the loop re-checks. A wake that comes
//!   before the park makes it return at once, so a wake between the
//!   waiter's unlock and its park loses nothing.
//! * A notifier wakes the entry it takes while it still holds the lock:
//!   entries borrow their green threads, and the lock is what keeps a
//!   listed one alive (`waiters`, module docs).
//! * A notifier *removes* the entry it wakes, and only notifiers remove
//!   other contexts' entries: "my entry is gone" means "I was notified".
//! * Wake-one primitives (Queue, Semaphore, Mutex, a Pool's free slot)
//!   notify exactly one waiter per item, permit, unlock or slot; a waiter
//!   that then leaves without using it hands it on, so a kill or timeout
//!   never strands another waiter. Semaphore and Mutex hand the permit or
//!   the lock itself to the waiter (strict FIFO, no barging); Queue lets a
//!   newcomer take an item first, and the notified getter then waits again.
//! * Wake-all primitives (Event, AsyncResult, Group join, Queue close) have
//!   nothing to hand on.
//! * No parking_lot lock is ever held across `park`, and wakes happen after
//!   the lock is released.

mod async_result;
mod event;
mod group;
mod mutex;
mod queue;
mod semaphore;
pub(crate) mod waiters;

pub use async_result::AsyncResult;
pub use event::Event;
pub use group::{Group, Pool};
pub use mutex::{Mutex, MutexGuard};
pub use queue::{
    Iter, Queue, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError,
    TrySendError,
};
pub use semaphore::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

/// Compile-time checks: what must cross threads does.
#[allow(dead_code)]
fn _assert_send_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Event>();
    send_sync::<AsyncResult<u8>>();
    send_sync::<Queue<u8>>();
    send_sync::<Semaphore>();
    send_sync::<OwnedSemaphorePermit>();
    send_sync::<Mutex<u8>>();
    send_sync::<Group>();
    send_sync::<Pool>();
}
