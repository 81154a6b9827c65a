//! Save areas: where the live bytes of evicted stacks wait.
//!
//! Blocks of whole [`GRAIN`]s, up to [`MAX_BLOCK`], are carved from large
//! private mappings advised `MADV_HUGEPAGE` and recycled through one free
//! list per size; larger ones (a task parked deep in its stack) come from
//! the global allocator. Not from malloc for the common sizes: a burst of
//! evictions (a 100,000-actor ring starting) would grow the worker's arena
//! one `mprotect` at a time, a quarter of that burst's cost when measured,
//! and fault it in 4 KiB at a time.
//!
//! # Invariants
//!
//! * A block handed out is never handed out again until it is freed, and
//!   every mapping stays mapped until the arena drops.
//! * Only the owning worker thread uses its arena (it lives in `Slots`).

use std::alloc::{handle_alloc_error, Layout};
use std::mem::MaybeUninit;

/// Block sizes are multiples of this.
const GRAIN: usize = 128;
/// The largest block carved from the mappings.
const MAX_BLOCK: usize = 8 << 10;
/// How much one mapping holds.
const REGION: usize = 32 << 20;
/// The huge-page size the mappings are aligned to.
const HUGE: usize = 2 << 20;

/// A save area: a block that starts with its size and the saved bytes'
/// length (two `u32`s, [`HEADER`] bytes), then the bytes. One pointer, so
/// that every task carries only a word for it.
pub(crate) struct SaveBuf {
    block: *mut u32,
}

/// The block header's size.
const HEADER: usize = 8;

impl Default for SaveBuf {
    fn default() -> SaveBuf {
        SaveBuf {
            block: std::ptr::null_mut(),
        }
    }
}

impl SaveBuf {
    /// The block's size, header included (0: no block).
    fn cap(&self) -> usize {
        if self.block.is_null() {
            0
        } else {
            // SAFETY: a non-null block starts with its header, written by
            // `Arena::fit`, and lives until `Arena::free`.
            unsafe { *self.block as usize }
        }
    }

    /// The saved bytes' length.
    pub(crate) fn len(&self) -> usize {
        if self.block.is_null() {
            0
        } else {
            // SAFETY: as in `cap`.
            unsafe { *self.block.add(1) as usize }
        }
    }

    /// Where the saved bytes start (room for `len` of them).
    pub(crate) fn as_ptr(&self) -> *mut MaybeUninit<u8> {
        self.block.cast::<u8>().wrapping_add(HEADER).cast()
    }
}
/// One worker's save areas.
pub(crate) struct Arena {
    /// The mappings, `(address, length)`, unmapped on drop.
    maps: Vec<(usize, usize)>,
    /// The huge-page-aligned usable part of each mapping, `[start, end)`,
    /// in the order blocks are carved from them.
    regions: Vec<(usize, usize)>,
    /// Blocks are carved at `next`, in `regions[cur]`.
    cur: usize,
    next: usize,
    /// Memory is known to be touched (faulted in) up to `touched`, in
    /// `regions[tcur]`: never behind `(cur, next)` (see [`prefault`]).
    ///
    /// [`prefault`]: Arena::prefault
    tcur: usize,
    touched: usize,
    /// Freed blocks, by size (`cap / GRAIN - 1`).
    free: Vec<Vec<usize>>,
}

impl Arena {
    pub(crate) fn new() -> Arena {
        Arena {
            maps: Vec::new(),
            regions: Vec::new(),
            cur: 0,
            next: 0,
            tcur: 0,
            touched: 0,
            free: (0..MAX_BLOCK / GRAIN).map(|_| Vec::new()).collect(),
        }
    }

    /// Makes `buf` a block with room for `len` bytes (keeping its block if
    /// it is large enough) and sets its length to `len`; its old contents
    /// are gone.
    pub(crate) fn fit(&mut self, buf: &mut SaveBuf, len: usize) {
        let need = len + HEADER;
        if buf.cap() < need {
            self.free(buf);
            let cap = block_size(len);
            assert!(cap <= u32::MAX as usize, "a stack's live part fits a u32");
            buf.block = self.alloc(cap).cast();
            // SAFETY: a fresh block of `cap` ≥ HEADER bytes, 16-aligned.
            unsafe { *buf.block = cap as u32 };
        }
        // SAFETY: `buf` has a block (above), whose header this is.
        unsafe { *buf.block.add(1) = len as u32 };
    }

    /// Gives `buf`'s block back; `buf` is empty afterwards.
    pub(crate) fn free(&mut self, buf: &mut SaveBuf) {
        let cap = buf.cap();
        let ptr = std::mem::take(buf).block.cast::<MaybeUninit<u8>>();
        if cap == 0 {
            return;
        }
        if cap <= MAX_BLOCK {
            self.free[cap / GRAIN - 1].push(ptr as usize);
        } else {
            // SAFETY: blocks this large came from `alloc` with this layout.
            unsafe { std::alloc::dealloc(ptr.cast(), layout(cap)) };
        }
    }

    /// Faults in memory ahead of the blocks handed out, until `want` bytes
    /// of it are ready: so that the evictions to come copy into memory the
    /// kernel has already provided, and the first touch of fresh pages is
    /// paid now (at spawn) instead of when a green thread first runs. In
    /// huge-page steps; a no-op when that much is ready.
    pub(crate) fn prefault(&mut self, want: usize) {
        while self.ready() < want {
            if self.regions.is_empty() {
                self.map_region();
                self.next = self.regions[0].0;
                self.touched = self.next;
            }
            if self.touched >= self.regions[self.tcur].1 {
                // Touched to its end: on to the next region.
                if self.tcur + 1 == self.regions.len() {
                    self.map_region();
                }
                self.tcur += 1;
                self.touched = self.regions[self.tcur].0;
            }
            let end = (self.touched + HUGE).min(self.regions[self.tcur].1);
            let mut p = self.touched;
            while p < end {
                // SAFETY: `p` lies in a mapping of ours that no block
                // handed out covers yet (it is at or ahead of `next`);
                // writing a byte there faults the page in and changes
                // nothing a block will read (its bytes are written before
                // they are read).
                unsafe { std::ptr::write_volatile(p as *mut u8, 0) };
                p += 4096;
            }
            self.touched = end;
        }
    }

    /// Bytes faulted in and not handed out yet.
    fn ready(&self) -> usize {
        if self.regions.is_empty() || self.tcur < self.cur {
            return 0;
        }
        if self.tcur == self.cur {
            return self.touched.saturating_sub(self.next);
        }
        let rest_of_cur = self.regions[self.cur].1 - self.next;
        let between: usize = self.regions[self.cur + 1..self.tcur]
            .iter()
            .map(|&(a, b)| b - a)
            .sum();
        rest_of_cur + between + (self.touched - self.regions[self.tcur].0)
    }

    /// A block of `cap` bytes (a multiple of `GRAIN`).
    fn alloc(&mut self, cap: usize) -> *mut MaybeUninit<u8> {
        if cap > MAX_BLOCK {
            // SAFETY: the layout's size is non-zero.
            let p = unsafe { std::alloc::alloc(layout(cap)) };
            if p.is_null() {
                handle_alloc_error(layout(cap));
            }
            return p.cast();
        }
        if let Some(p) = self.free[cap / GRAIN - 1].pop() {
            return p as *mut _;
        }
        if self.regions.is_empty() || self.regions[self.cur].1 - self.next < cap {
            // On to the next region (the rest of this one, less than a
            // block, is abandoned).
            if self.regions.is_empty() {
                self.map_region();
                self.next = self.regions[0].0;
            } else {
                if self.cur + 1 == self.regions.len() {
                    self.map_region();
                }
                self.cur += 1;
                self.next = self.regions[self.cur].0;
            }
        }
        if self.tcur < self.cur || (self.tcur == self.cur && self.touched < self.next) {
            // The touched frontier never lags behind the blocks.
            self.tcur = self.cur;
            self.touched = self.next;
        }
        let p = self.next;
        self.next += cap;
        // The block after the next is where the eviction after the next
        // one most likely writes: fetch it now. Faulted in at spawn long
        // before (`prefault`), its lines are far out of the cache, and an
        // eviction waited on a write miss per line (a 100,000-actor ring:
        // ~240 ns a hop without this, ~190 with; fetching the very next
        // block gave too little lead).
        crate::task::prefetch_lines(self.next + cap, super::PREFETCH_SAVED.min(cap / 64));
        p as *mut _
    }

    /// Maps a fresh region after the others.
    #[cold]
    fn map_region(&mut self) {
        let len = REGION + HUGE;
        // SAFETY: asks for new memory at an address of the kernel's
        // choosing; it replaces nothing.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            handle_alloc_error(layout(REGION));
        }
        let start = (p as usize).next_multiple_of(HUGE);
        #[cfg(target_os = "linux")]
        // SAFETY: advice on memory we just mapped; a hint that changes no
        // contents (failure is harmless and ignored).
        unsafe {
            libc::madvise(start as *mut libc::c_void, REGION, libc::MADV_HUGEPAGE);
        }
        self.maps.push((p as usize, len));
        self.regions.push((start, start + REGION));
    }
}

/// The block a save of `len` bytes takes.
pub(crate) fn block_size(len: usize) -> usize {
    (len + HEADER).div_ceil(GRAIN) * GRAIN
}

impl Drop for Arena {
    fn drop(&mut self) {
        for &(p, len) in &self.maps {
            // SAFETY: our own mapping. Save areas left in it belong to
            // tasks leaked at shutdown, which never run again.
            unsafe { libc::munmap(p as *mut libc::c_void, len) };
        }
    }
}

fn layout(cap: usize) -> Layout {
    Layout::from_size_align(cap, 16).expect("a save area's size fits a layout")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefaulting_runs_ahead_of_the_blocks_across_regions() {
        let mut a = Arena::new();
        a.prefault(REGION + HUGE);
        assert!(a.ready() >= REGION + HUGE);
        assert_eq!(
            a.regions.len(),
            2,
            "the touched frontier went on to a second region"
        );
        a.prefault(HUGE);
        assert_eq!(a.regions.len(), 2, "nothing more when enough is ready");
        // Blocks past the frontier (34 MiB into the second region, 40 MiB
        // of blocks): none overlap, each keeps what was written to it, and
        // the frontier never lags.
        let n = (REGION + 4 * HUGE) / 4096;
        let mut bufs: Vec<SaveBuf> = (0..n).map(|_| SaveBuf::default()).collect();
        let mut before = a.ready();
        for (i, b) in bufs.iter_mut().enumerate() {
            a.fit(b, 4000);
            let now = a.ready();
            assert!(now <= before, "handing out a block never adds ready memory");
            before = now;
            // SAFETY: the block holds 4,000 bytes.
            unsafe { std::ptr::write_bytes(b.as_ptr(), i as u8, 4000) };
        }
        assert_eq!(a.ready(), 0, "every block past the frontier");
        assert_eq!(a.regions.len(), 2);
        let mut spans: Vec<(usize, usize)> = bufs
            .iter()
            .map(|b| (b.as_ptr() as usize, b.as_ptr() as usize + 4000))
            .collect();
        spans.sort();
        assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0), "blocks overlap");
        for (i, b) in bufs.iter().enumerate() {
            // SAFETY: written above.
            let s = unsafe { std::slice::from_raw_parts(b.as_ptr().cast::<u8>(), 4000) };
            assert!(s.iter().all(|&x| x == i as u8), "block {i} was overwritten");
        }
        for b in &mut bufs {
            a.free(b);
        }
    }

    #[test]
    fn blocks_are_recycled_by_size_and_never_overlap() {
        let mut a = Arena::new();
        let mut bufs: Vec<SaveBuf> = (0..100).map(|_| SaveBuf::default()).collect();
        for (i, b) in bufs.iter_mut().enumerate() {
            a.fit(b, 100 + i * 37);
            assert_eq!(b.len(), 100 + i * 37);
            // SAFETY: the block holds at least `len` bytes.
            unsafe { std::ptr::write_bytes(b.as_ptr(), i as u8, b.len()) };
        }
        for (i, b) in bufs.iter().enumerate() {
            // SAFETY: written above.
            let s = unsafe { std::slice::from_raw_parts(b.as_ptr().cast::<u8>(), b.len()) };
            assert!(s.iter().all(|&x| x == i as u8), "block {i} was overwritten");
        }
        let p = bufs[0].as_ptr();
        a.free(&mut bufs[0]);
        let mut again = SaveBuf::default();
        a.fit(&mut again, 90); // the same size class as bufs[0]'s 100 bytes
        assert_eq!(
            again.as_ptr(),
            p,
            "a freed block of the same size is reused"
        );
        // Large ones come from the global allocator and go back to it.
        let mut big = SaveBuf::default();
        a.fit(&mut big, 100_000);
        assert_eq!(big.len(), 100_000);
        a.free(&mut big);
        for b in &mut bufs {
            a.free(b);
        }
        a.free(&mut again);
    }
}
