//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts its drops: put one in a green thread to observe that its
/// destructors ran.
#[derive(Debug, Clone)]
pub struct DropCounter(pub Arc<AtomicUsize>);

impl DropCounter {
    /// A counter starting at zero, and a guard that bumps it when dropped.
    pub fn new() -> (Arc<AtomicUsize>, DropCounter) {
        let c = Arc::new(AtomicUsize::new(0));
        (c.clone(), DropCounter(c))
    }
}

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Yields until `cond` holds, at most `limit` times; false if it never did.
pub fn yield_until(limit: usize, mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..limit {
        if cond() {
            return true;
        }
        grove::yield_now();
    }
    cond()
}

/// The kernel's `vm.max_map_count` (`usize::MAX` where it cannot be read).
pub fn max_map_count() -> usize {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(usize::MAX)
}
