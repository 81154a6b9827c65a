//! Stack-overflow reports: a `SIGSEGV`/`SIGBUS` handler that recognises a
//! fault in the guard page of the running green thread's stack, writes
//! which green thread overflowed (id, name, stack size) to stderr and
//! aborts. Any other fault is handed to the handler that was installed
//! before (std's, which reports main-thread overflows, or the default).
//!
//! The handler runs on an alternate signal stack (the overflowing stack has
//! no room left), which every worker thread makes sure it has. It only reads
//! the current task through a thread-local pointer and calls `write(2)` and
//! `abort(3)`, both async-signal-safe; the message is formatted into a
//! buffer on the signal stack, with no allocation.

use std::sync::atomic::Ordering;
use std::sync::Once;

/// The handlers that were installed before ours, for faults that are not a
/// green-thread overflow.
static mut PREV_SEGV: libc::sigaction = unsafe_zeroed_sigaction();
static mut PREV_BUS: libc::sigaction = unsafe_zeroed_sigaction();

const fn unsafe_zeroed_sigaction() -> libc::sigaction {
    // SAFETY: `sigaction` is a plain C struct for which all-zeroes is a valid
    // value (SIG_DFL, empty mask, no flags).
    unsafe { std::mem::zeroed() }
}

/// Installs the handler once per process.
pub(crate) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: we build a valid sigaction (SA_SIGINFO handler of the right
        // signature, SA_ONSTACK) and store the previous actions in statics
        // that are written only here, once, before any fault can reach
        // `handler` through this installation.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGSEGV, &sa, std::ptr::addr_of_mut!(PREV_SEGV));
            libc::sigaction(libc::SIGBUS, &sa, std::ptr::addr_of_mut!(PREV_BUS));
        }
    });
}

/// Gives the calling thread an alternate signal stack if it has none.
pub(crate) fn install_on_thread() {
    const ALT_SIZE: usize = 64 * 1024;
    // SAFETY: sigaltstack with a null new stack only queries; we then map a
    // fresh region and register it. The region is leaked on purpose: it must
    // outlive every signal this thread may take, i.e. the thread.
    unsafe {
        let mut old: libc::stack_t = std::mem::zeroed();
        if libc::sigaltstack(std::ptr::null(), &mut old) != 0 {
            return;
        }
        if old.ss_flags & libc::SS_DISABLE == 0 && old.ss_size >= libc::MINSIGSTKSZ {
            return;
        }
        let mem = libc::mmap(
            std::ptr::null_mut(),
            ALT_SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if mem == libc::MAP_FAILED {
            return;
        }
        let st = libc::stack_t {
            ss_sp: mem,
            ss_flags: 0,
            ss_size: ALT_SIZE,
        };
        libc::sigaltstack(&st, std::ptr::null_mut());
    }
}

/// A fixed buffer the handler formats into.
struct Msg {
    buf: [u8; 512],
    len: usize,
}

impl Msg {
    fn push(&mut self, s: &[u8]) {
        for &b in s {
            if self.len < self.buf.len() {
                self.buf[self.len] = b;
                self.len += 1;
            }
        }
    }

    fn push_num(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some(task) = crate::park::current_ptr() {
        // SAFETY: a set current task is alive while it runs (its worker
        // holds a reference), and the fields read are immutable or atomic.
        let t = unsafe { task.as_ref() };
        let lo = t.guard_lo.load(Ordering::Relaxed);
        let hi = lo.wrapping_add(crate::stack::page_size());
        if lo != 0 && addr >= lo && addr < hi {
            let mut m = Msg {
                buf: [0; 512],
                len: 0,
            };
            m.push(b"\ngrove: green thread ");
            m.push_num(t.id);
            if let Some(name) = t.name() {
                m.push(b" (\"");
                m.push(name.as_bytes());
                m.push(b"\")");
            }
            m.push(b" overflowed its stack of ");
            m.push_num(t.stack_size as u64);
            m.push(b" bytes; give it a bigger one with grove::Builder::stack_size or Runtime::builder().stack_size\ngrove: aborting\n");
            // SAFETY: write(2) and abort(3) are async-signal-safe; the buffer
            // is valid for `len` bytes.
            unsafe {
                libc::write(2, m.buf.as_ptr().cast(), m.len);
                libc::abort();
            }
        }
    }
    // Not ours: restore the previous handler and return, so the faulting
    // instruction runs again and faults into it. If it was a real handler
    // with SA_SIGINFO, call it directly instead (std's handler does its own
    // checks and reinstalls the default).
    // SAFETY: PREV_* were written once at install time, before this handler
    // could run; sigaction with a valid struct is async-signal-safe.
    unsafe {
        let prev = if sig == libc::SIGBUS {
            std::ptr::addr_of!(PREV_BUS)
        } else {
            std::ptr::addr_of!(PREV_SEGV)
        };
        let p = &*prev;
        if p.sa_flags & libc::SA_SIGINFO != 0
            && p.sa_sigaction != libc::SIG_DFL
            && p.sa_sigaction != libc::SIG_IGN
        {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(p.sa_sigaction);
            f(sig, info, ctx);
        } else {
            libc::sigaction(sig, prev, std::ptr::null_mut());
        }
    }
}
