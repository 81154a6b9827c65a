//! Growing a worker's malloc arena once, up front.
//!
//! glibc gives every thread after the first its own arena, a 64 MiB
//! reservation it makes usable with one `mprotect` per growth step, and a
//! step is only as large as the allocation that needed it (its
//! `grow_heap` has no top pad, unlike the main arena's `brk`). A burst of
//! small allocations on a worker (100,000 spawns: ~40 MB of task headers)
//! therefore paid one `mprotect` per fresh page, ~8,700 system calls, and
//! ~150 ns a spawn. [`pregrow_arena`] allocates and frees a block of
//! `PREGROW` in pieces just under malloc's mmap threshold, so the arena
//! grows in few steps; glibc keeps the protection when it trims and hands
//! the pages back with `MADV_DONTNEED`, so what this costs is address
//! space and commit charge, not resident memory. On other allocators it is
//! a handful of mallocs and frees.

/// How much of the arena to grow.
const PREGROW: usize = 48 << 20;

/// Under glibc's default mmap threshold (128 KiB), so each piece comes
/// from the arena rather than a mapping of its own.
const PIECE: usize = 120 << 10;

/// Grows the calling thread's malloc arena by [`PREGROW`] in
/// `PREGROW / PIECE` steps, then gives the memory back. Stops quietly
/// where an allocation fails (strict overcommit, a memory limit): this is
/// a speed-up, never a reason to fail.
pub(crate) fn pregrow_arena() {
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    if pieces.try_reserve_exact(PREGROW / PIECE).is_err() {
        return;
    }
    for _ in 0..PREGROW / PIECE {
        let mut piece = Vec::new();
        if piece.try_reserve_exact(PIECE).is_err() {
            break;
        }
        pieces.push(piece);
    }
    drop(std::hint::black_box(pieces));
}
