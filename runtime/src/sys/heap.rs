//! Growing a worker's malloc arena once, up front, and asking for huge
//! pages behind it.
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
//!
//! # Huge pages
//!
//! What is left of a spawn burst's cost is the first touch of each fresh
//! page: a fault per 4 KiB, ~1–3 µs each in a VM, a third of a cold
//! spawn+join. [`pregrow_arena`] then marks the arena's reservation
//! `MADV_HUGEPAGE`, so that, where transparent huge pages are enabled
//! (`always` or `madvise`), the kernel backs it with 2 MiB pages and one
//! fault serves ~5,000 task headers. glibc's trimming still hands memory
//! back (a partly freed huge page is split). The advice is given only when
//! `/proc/self/maps` shows that the memory malloc returned lies in a glibc
//! arena heap: an anonymous private mapping starting at a multiple of
//! [`ARENA_HEAP`] and spanning it. Under another global allocator, or when
//! the worker shares the main arena, nothing is advised.
//!
//! # Invariants
//!
//! Both steps are hints: each failure (an allocation, reading the maps,
//! the `madvise`) leaves the worker exactly as fast as without them and is
//! never reported.

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
    let probe = pieces.first().map(|p| p.as_ptr() as usize);
    drop(std::hint::black_box(pieces));
    // After the frees: the trim above has zapped the pages the pieces'
    // headers touched, so the kernel can fault whole huge pages there.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if let Some(probe) = probe {
        advise_huge_pages(probe);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = probe;
}

/// The size and alignment of a glibc arena heap on 64-bit targets
/// (`HEAP_MAX_SIZE`, twice the largest mmap threshold).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENA_HEAP: usize = 64 << 20;

/// Marks the glibc arena heap holding `probe` (an address malloc returned)
/// `MADV_HUGEPAGE`, when `/proc/self/maps` shows one there.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn advise_huge_pages(probe: usize) {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    let base = probe & !(ARENA_HEAP - 1);
    if !is_arena_heap(&maps, base, probe) {
        return;
    }
    // SAFETY: `[base, base + ARENA_HEAP)` is mapped, anonymous and private
    // (checked just above, and glibc never unmaps a live arena heap), and
    // MADV_HUGEPAGE only changes how the kernel backs those pages, never
    // their contents or protection; on error nothing changed.
    unsafe {
        libc::madvise(base as *mut libc::c_void, ARENA_HEAP, libc::MADV_HUGEPAGE);
    }
}

/// Whether the mappings listed in `maps` (the text of `/proc/self/maps`)
/// cover `[base, base + ARENA_HEAP)` with anonymous private memory, the
/// first of them starting at `base` and holding `probe`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn is_arena_heap(maps: &str, base: usize, probe: usize) -> bool {
    let end = base + ARENA_HEAP;
    let mut covered = base;
    for line in maps.lines() {
        let mut fields = line.split_ascii_whitespace();
        let (Some(range), Some(perms), Some(_), Some(_), Some(inode)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            continue;
        };
        let Some((lo, hi)) = parse_range(range) else {
            continue;
        };
        if hi <= covered || lo >= end {
            continue;
        }
        // No path, or a name given with PR_SET_VMA_ANON_NAME (newer glibc
        // names its arenas so).
        let unnamed = fields.next().is_none_or(|name| name.starts_with("[anon:"));
        let anonymous = inode == "0" && unnamed && perms.ends_with('p');
        if lo != covered || !anonymous || (lo == base && !(lo..hi).contains(&probe)) {
            return false;
        }
        covered = hi;
        if covered >= end {
            return covered == end;
        }
    }
    false
}

/// The `lo-hi` (hexadecimal) address range that starts a line of
/// `/proc/self/maps` or `smaps`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn parse_range(field: &str) -> Option<(usize, usize)> {
    let (lo, hi) = field.split_once('-')?;
    Some((
        usize::from_str_radix(lo, 16).ok()?,
        usize::from_str_radix(hi, 16).ok()?,
    ))
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    const BASE: usize = 0x7f34_8000_0000;

    #[test]
    fn a_glibc_heap_in_two_mappings_is_recognised() {
        let maps = "\
55d0c0000000-55d0c0021000 r--p 00000000 08:01 1234 /usr/bin/app
7f3480000000-7f3481000000 rw-p 00000000 00:00 0 
7f3481000000-7f3484000000 ---p 00000000 00:00 0 
7f3490000000-7f3490001000 rw-p 00000000 00:00 0 
";
        assert!(is_arena_heap(maps, BASE, BASE + 0x1000));
    }

    #[test]
    fn anything_else_is_not() {
        // The probe outside the first mapping.
        let maps = "7f3480000000-7f3481000000 rw-p 00000000 00:00 0\n\
                    7f3481000000-7f3484000000 ---p 00000000 00:00 0\n";
        assert!(!is_arena_heap(maps, BASE, BASE + 0x200_0000));
        // A file mapping inside the range.
        let maps = "7f3480000000-7f3481000000 rw-p 00000000 00:00 0\n\
                    7f3481000000-7f3484000000 r--p 00000000 08:01 99 /lib/x.so\n";
        assert!(!is_arena_heap(maps, BASE, BASE + 0x1000));
        // A hole in the range.
        let maps = "7f3480000000-7f3481000000 rw-p 00000000 00:00 0\n\
                    7f3482000000-7f3484000000 ---p 00000000 00:00 0\n";
        assert!(!is_arena_heap(maps, BASE, BASE + 0x1000));
        // A mapping that starts below the aligned base (the main heap).
        let maps = "7f347f000000-7f3484000000 rw-p 00000000 00:00 0 [heap]\n";
        assert!(!is_arena_heap(maps, BASE, BASE + 0x1000));
        // Shorter than a heap.
        let maps = "7f3480000000-7f3481000000 rw-p 00000000 00:00 0\n";
        assert!(!is_arena_heap(maps, BASE, BASE + 0x1000));
        // Empty.
        assert!(!is_arena_heap("", BASE, BASE));
    }

    #[test]
    fn a_named_arena_counts_as_anonymous() {
        let maps = "7f3480000000-7f3484000000 rw-p 00000000 00:00 0 [anon: glibc: malloc arena]\n";
        assert!(is_arena_heap(maps, BASE, BASE + 0x1000));
    }

    /// The `VmFlags` line of the mapping holding `addr`, from `smaps`.
    fn vm_flags(addr: usize) -> Option<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((lo, hi)) = line.split_once(' ').and_then(|(r, _)| parse_range(r)) {
                inside = (lo..hi).contains(&addr);
                continue;
            }
            if inside {
                if let Some(flags) = line.strip_prefix("VmFlags:") {
                    return Some(flags.to_string());
                }
            }
        }
        None
    }

    #[test]
    fn a_threads_own_arena_is_advised_and_stays_usable() {
        std::thread::spawn(|| {
            pregrow_arena();
            let v = vec![7u8; 1 << 16];
            assert!(v.iter().all(|&b| b == 7));
            let addr = v.as_ptr() as usize;
            let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
            // Threads beyond glibc's arena limit share one; only a heap of
            // this thread's own is ours to check.
            if is_arena_heap(&maps, addr & !(ARENA_HEAP - 1), addr) {
                let flags = vm_flags(addr).expect("the mapping is in smaps");
                assert!(
                    flags.split_ascii_whitespace().any(|f| f == "hg"),
                    "no MADV_HUGEPAGE flag: {flags}"
                );
            }
        })
        .join()
        .unwrap();
    }
}
