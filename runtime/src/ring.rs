//! [`Ring`]: the FIFO behind a worker's ready queue.
//!
//! A growable ring buffer of `Copy` values whose `push_back` and
//! `pop_front` are always inlined, with only the growth out of line.
//! `VecDeque` does the same job, but its `push_back` stayed a call on the
//! wake path (~18 instructions of a ~350-instruction hop through a
//! `Queue`), depending on what else the compiler inlined around it.
//!
//! # Invariants
//!
//! * `buf.len()` is zero or a power of two, so `mask = buf.len() - 1`.
//! * The `len` values at `head, head + 1, ...` (modulo the capacity) are
//!   initialised; the rest are not. Values are `Copy`, so nothing needs
//!   dropping.

use std::mem::MaybeUninit;

/// A FIFO of `Copy` values (see the module docs).
pub(crate) struct Ring<T: Copy> {
    /// The storage; its length is the capacity.
    buf: Box<[MaybeUninit<T>]>,
    /// Index of the oldest value.
    head: usize,
    /// Number of values.
    len: usize,
}

impl<T: Copy> Ring<T> {
    /// An empty ring; allocates on the first push.
    pub(crate) fn new() -> Ring<T> {
        Ring {
            buf: Box::new([]),
            head: 0,
            len: 0,
        }
    }

    /// Appends `v` at the back.
    #[inline(always)]
    pub(crate) fn push_back(&mut self, v: T) {
        if self.len == self.buf.len() {
            self.grow();
        }
        let i = (self.head + self.len) & (self.buf.len() - 1);
        // SAFETY: the buffer is not empty (it just grew if it was full), and
        // its length is a power of two, so the masked index is in bounds.
        unsafe { *self.buf.get_unchecked_mut(i) = MaybeUninit::new(v) };
        self.len += 1;
    }

    /// Takes the oldest value.
    #[inline(always)]
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let head = self.head;
        self.head = (head + 1) & (self.buf.len() - 1);
        self.len -= 1;
        // SAFETY: `len` was > 0, so the buffer is not empty and `head` (kept
        // masked) is in bounds and initialised (module invariants); the
        // value is `Copy`, so reading it leaves nothing to drop.
        Some(unsafe { self.buf.get_unchecked(head).assume_init() })
    }

    /// The value `k` places behind the front (`0`: what `pop_front`
    /// would return next), left in place.
    #[inline(always)]
    pub(crate) fn get(&self, k: usize) -> Option<T> {
        if k >= self.len {
            return None;
        }
        let i = (self.head + k) & (self.buf.len() - 1);
        // SAFETY: `k` < `len`, so `head + k` (masked, so in bounds) holds an
        // initialised value (the invariant of the module docs).
        Some(unsafe { self.buf.get_unchecked(i).assume_init() })
    }

    /// Whether it holds no value.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every value (they are `Copy`: nothing to drop).
    pub(crate) fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// Doubles the capacity (to 16 the first time), keeping the order.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let cap = (self.buf.len() * 2).max(16);
        let mut buf = vec![MaybeUninit::uninit(); cap].into_boxed_slice();
        let old_cap = self.buf.len();
        for (k, slot) in buf.iter_mut().enumerate().take(self.len) {
            *slot = self.buf[(self.head + k) & (old_cap - 1)];
        }
        self.buf = buf;
        self.head = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::Ring;
    use std::collections::VecDeque;

    #[test]
    fn it_is_a_fifo_across_growth_and_wrap_around() {
        let mut ring = Ring::new();
        let mut model = VecDeque::new();
        assert!(ring.is_empty());
        assert_eq!(ring.pop_front(), None);
        // Pushes and pops in a pattern that wraps the head around and
        // grows the buffer while it is wrapped.
        let mut next = 0u32;
        for round in 0..200 {
            for _ in 0..(round % 7) + 3 {
                ring.push_back(next);
                model.push_back(next);
                next += 1;
            }
            for _ in 0..(round % 5) + 1 {
                assert_eq!(ring.pop_front(), model.pop_front());
            }
            assert_eq!(ring.is_empty(), model.is_empty());
        }
        while let Some(v) = model.pop_front() {
            assert_eq!(ring.pop_front(), Some(v));
        }
        assert_eq!(ring.pop_front(), None);
        ring.push_back(1);
        ring.clear();
        assert!(ring.is_empty());
        ring.push_back(2);
        assert_eq!(ring.pop_front(), Some(2));
    }
}
