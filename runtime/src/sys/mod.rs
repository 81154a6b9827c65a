//! The OS edge: everything that talks to the kernel directly, in one place.
//! Every other module is portable Rust over `mio`, `corosensei` and `libc`'s
//! types. A port to another Unix must provide what `overflow` provides: a
//! report of a green-thread stack overflow before the process dies.

pub(crate) mod overflow;
