//! The reactor seam: where I/O readiness from a worker's mio `Poll` reaches
//! the green threads that wait for it.
//!
//! Each worker's `Poll` is also where the worker sleeps (see `worker`), so
//! readiness, cross-thread wakes and timers all arrive through one
//! `epoll_wait`. Socket registration and readiness caching belong to
//! grove-net (issue 3), which will register sources here; until then no
//! source is registered, and the only token a worker sees is its own waker's,
//! which the worker filters out before calling [`dispatch`].

/// Delivers one readiness event to the green threads waiting on its source.
pub(crate) fn dispatch(event: &mio::event::Event) {
    tracing::trace!(
        token = event.token().0,
        "grove: event for an unregistered token"
    );
}
