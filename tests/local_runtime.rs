//! `LocalRuntime`: a runtime whose one worker is the thread that owns it.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use grove::net::{TcpListener, TcpStream};

fn local() -> grove::LocalRuntime {
    grove::Runtime::builder().build_local().unwrap()
}

#[test]
fn block_on_runs_green_threads_on_the_calling_thread() {
    let rt = local();
    let me = std::thread::current().id();
    let (outer, inner) = rt.block_on(move || {
        let inner = grove::spawn(|| std::thread::current().id()).join().unwrap();
        (std::thread::current().id(), inner)
    });
    assert_eq!(outer, me);
    assert_eq!(inner, me);
}

#[test]
fn green_threads_spawned_outside_run_at_the_next_block_on() {
    let rt = local();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let h = rt.spawn(move || r.store(true, Ordering::SeqCst));
    // Nothing runs between calls.
    assert!(!ran.load(Ordering::SeqCst));
    assert!(!h.is_finished());
    rt.block_on(move || h.join().unwrap());
    assert!(ran.load(Ordering::SeqCst));
}

#[test]
fn a_green_thread_left_waiting_goes_on_in_the_next_block_on() {
    let rt = local();
    let q: grove::sync::Queue<u32> = grove::sync::Queue::unbounded();
    let (q1, q2) = (q.clone(), q.clone());
    let waiter = rt.block_on(move || grove::spawn(move || q1.get().unwrap() + 1));
    // The waiter is parked in `get`; this call gives it its value.
    rt.block_on(move || q2.put(41).unwrap());
    assert_eq!(rt.block_on(move || waiter.join().unwrap()), 42);
}

#[test]
fn sockets_and_timers_work_inside_block_on() {
    let rt = local();
    let echoed = rt.block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = grove::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).unwrap();
            grove::sleep(Duration::from_millis(5));
            s.write_all(&buf).unwrap();
        });
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"hello").unwrap();
        let mut back = [0u8; 5];
        c.read_exact(&mut back).unwrap();
        server.join().unwrap();
        back
    });
    assert_eq!(&echoed, b"hello");
}

#[test]
fn a_wake_from_another_os_thread_reaches_the_worker() {
    let rt = local();
    let v = rt.block_on(|| {
        let q: grove::sync::Queue<u32> = grove::sync::Queue::unbounded();
        let q2 = q.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            q2.put(7).unwrap();
        });
        let v = q.get().unwrap();
        t.join().unwrap();
        v
    });
    assert_eq!(v, 7);
}

#[test]
fn a_panic_in_block_on_resumes_on_the_caller_and_the_runtime_goes_on() {
    let rt = local();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(|| panic!("boom"));
    }));
    let msg = r.unwrap_err();
    assert_eq!(msg.downcast_ref::<&str>(), Some(&"boom"));
    assert_eq!(rt.block_on(|| 3), 3);
}

#[test]
fn dropping_it_kills_and_unwinds_what_is_left() {
    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let rt = local();
    let d = dropped.clone();
    let h = rt.block_on(move || {
        let started: grove::sync::Queue<()> = grove::sync::Queue::unbounded();
        let s = started.clone();
        let h = grove::spawn(move || {
            let _g = Guard(d);
            s.put(()).unwrap();
            grove::sleep(Duration::from_secs(3600));
        });
        started.get().unwrap();
        h
    });
    // Started and parked: the guard lives on its stack.
    assert_eq!(dropped.load(Ordering::SeqCst), 0);
    drop(rt);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert!(h.join().unwrap_err().is_killed());
}

#[test]
fn block_on_inside_its_own_block_on_panics() {
    thread_local! {
        static RT: std::cell::Cell<Option<&'static grove::LocalRuntime>> =
            const { std::cell::Cell::new(None) };
    }
    let rt: &'static grove::LocalRuntime = Box::leak(Box::new(local()));
    RT.with(|c| c.set(Some(rt)));
    let nested = rt.block_on(|| {
        let r = std::panic::catch_unwind(|| {
            RT.with(|c| c.get().unwrap().block_on(|| ()));
        });
        r.is_err()
    });
    assert!(nested);
}

#[test]
fn block_on_from_a_green_thread_of_another_runtime_panics() {
    let other = grove::Runtime::builder().workers(1).build().unwrap();
    let refused = other.block_on(|| {
        std::panic::catch_unwind(|| {
            let rt = local();
            rt.block_on(|| ());
        })
        .is_err()
    });
    assert!(refused);
}
