//! `spawn_blocking`: a pool of OS threads for work that would hold a worker
//! (CPU-heavy code, blocking system calls, blocking FFI).
//!
//! Threads are started on demand up to a cap and exit after 10 s idle. A
//! job's caller gets an ordinary [`JoinHandle`], so a green thread that joins
//! it suspends while the job runs and other green threads keep running.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::join::{CompleteOnDrop, JoinError, JoinHandle, Packet};
use crate::runtime::{current_shared, Shared};

/// How long an idle pool thread waits for a job before it exits.
const IDLE_EXIT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

/// A runtime's blocking pool.
#[derive(Debug)]
pub(crate) struct BlockingPool {
    inner: Arc<PoolInner>,
}

#[derive(Debug)]
struct PoolInner {
    state: Mutex<PoolState>,
    cv: Condvar,
    max_threads: usize,
}

struct PoolState {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
    shutdown: bool,
}

impl std::fmt::Debug for PoolState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolState")
            .field("queued", &self.queue.len())
            .field("threads", &self.threads)
            .field("idle", &self.idle)
            .finish()
    }
}

thread_local! {
    /// The runtime whose pool runs the current job.
    static OWNER: RefCell<Option<Weak<Shared>>> = const { RefCell::new(None) };
}

/// The runtime owning the blocking pool this thread belongs to, if any.
pub(crate) fn current_pool_owner() -> Option<Arc<Shared>> {
    OWNER.with(|o| o.borrow().as_ref().and_then(Weak::upgrade))
}

impl BlockingPool {
    pub(crate) fn new(max_threads: usize) -> BlockingPool {
        BlockingPool {
            inner: Arc::new(PoolInner {
                state: Mutex::new(PoolState {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    shutdown: false,
                }),
                cv: Condvar::new(),
                max_threads,
            }),
        }
    }

    fn submit(&self, job: Job) -> std::io::Result<()> {
        let mut st = self.inner.state.lock();
        if st.shutdown {
            return Err(std::io::Error::other("grove: the runtime is shut down"));
        }
        st.queue.push_back(job);
        if st.idle > 0 {
            self.inner.cv.notify_one();
        } else if st.threads < self.inner.max_threads {
            st.threads += 1;
            let inner = self.inner.clone();
            let spawned = std::thread::Builder::new()
                .name("grove-blocking".to_owned())
                .spawn(move || inner.run());
            if let Err(e) = spawned {
                st.threads -= 1;
                if st.threads == 0 {
                    st.queue.pop_back();
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    pub(crate) fn shutdown(&self) {
        self.inner.state.lock().shutdown = true;
        self.inner.cv.notify_all();
    }
}

impl PoolInner {
    fn run(&self) {
        let mut st = self.state.lock();
        loop {
            if let Some(job) = st.queue.pop_front() {
                drop(st);
                job();
                st = self.state.lock();
                continue;
            }
            if st.shutdown {
                break;
            }
            st.idle += 1;
            let timed_out = self.cv.wait_for(&mut st, IDLE_EXIT).timed_out();
            st.idle -= 1;
            if timed_out && st.queue.is_empty() {
                break;
            }
        }
        st.threads -= 1;
    }
}

/// Runs `f` on a thread of the runtime's blocking pool and returns a handle
/// to join it; joining from a green thread suspends only that green thread.
///
/// Use it for work that would otherwise hold a worker: CPU-heavy code,
/// blocking system calls, blocking FFI. The job cannot be killed.
///
/// # Panics
///
/// If the runtime is shut down or no thread can be started at all.
///
/// ```
/// let n = grove_runtime::spawn_blocking(|| 6 * 7).join().unwrap();
/// assert_eq!(n, 42);
/// ```
pub fn spawn_blocking<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let shared = current_shared();
    let packet = Arc::new(Packet::new());
    let guard = CompleteOnDrop {
        packet: packet.clone(),
    };
    let owner = Arc::downgrade(&shared);
    let job: Job = Box::new(move || {
        OWNER.with(|o| *o.borrow_mut() = Some(owner));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .map_err(JoinError::from_payload);
        OWNER.with(|o| *o.borrow_mut() = None);
        guard.packet.complete(r);
    });
    if let Err(e) = shared.blocking.submit(job) {
        panic!("grove: spawn_blocking: {e}");
    }
    JoinHandle::new(packet)
}
