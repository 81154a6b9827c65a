//! The OS edge: everything that talks to the kernel directly, in one place.
//! Every other module is portable Rust over `mio`, `corosensei` and `libc`'s
//! types. A port to another Unix must provide what `overflow` provides: a
//! report of a green-thread stack overflow before the process dies.
//! `heap` is an optimisation for glibc's malloc that any port may keep
//! as it is (elsewhere it is a few allocations and frees).

pub(crate) mod heap;
pub(crate) mod overflow;
