//! SPEC §1, as written: the green-thread example must compile and behave.

use std::time::Duration;

#[test]
fn spec_section_1_example() {
    // No setup needed: the default runtime starts lazily on first use.
    let h = grove::spawn(|| {
        grove::sleep(Duration::from_millis(10));
        42
    });
    assert_eq!(h.join().unwrap(), 42);

    grove::yield_now(); // gevent.sleep(0)

    let hs: Vec<_> = (0..1000).map(|i| grove::spawn(move || i * 2)).collect();
    let results: Vec<Result<i32, grove::JoinError>> = grove::join_all(hs);
    assert_eq!(results.len(), 1000);
    for (i, r) in results.into_iter().enumerate() {
        assert_eq!(r.unwrap(), i as i32 * 2);
    }

    // Named green threads with their own stack size.
    let h = grove::Builder::new()
        .name("worker-1")
        .stack_size(64 * 1024)
        .spawn(|| grove::current().name().map(str::to_owned))
        .unwrap();
    assert_eq!(h.join().unwrap().as_deref(), Some("worker-1"));

    // A panic ends only its green thread; join reports it.
    let err = grove::spawn(|| panic!("boom")).join().unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("boom"));

    // kill: the target unwinds at its current switch point, running destructors.
    let h = grove::spawn(|| loop {
        grove::sleep(Duration::from_secs(1))
    });
    h.kill();
    assert!(h.join().unwrap_err().is_killed());

    // timeout: interrupts whatever blocking call the closure is in.
    let r: Result<(), grove::Elapsed> = grove::timeout(Duration::from_millis(20), || {
        grove::sleep(Duration::from_secs(5))
    });
    assert!(r.is_err());

    // Explicit runtimes.
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let v = rt.block_on(|| grove::spawn(|| 7).join().unwrap());
    assert_eq!(v, 7);

    // Offload truly blocking work (CPU-heavy code, blocking FFI) to a thread pool.
    let n = grove::spawn_blocking(|| 6 * 7).join().unwrap();
    assert_eq!(n, 42);
}

#[test]
fn free_functions_use_the_runtime_of_the_calling_green_thread() {
    let rt = grove::Runtime::builder()
        .workers(1)
        .thread_name("mine")
        .build()
        .unwrap();
    let name = rt.block_on(|| {
        grove::spawn(|| std::thread::current().name().map(str::to_owned))
            .join()
            .unwrap()
    });
    assert_eq!(name.as_deref(), Some("mine-0"));
    // spawn_blocking inside it uses its pool, and spawn from there its workers.
    let name = rt.block_on(|| {
        grove::spawn_blocking(|| {
            grove::spawn(|| std::thread::current().name().map(str::to_owned))
                .join()
                .unwrap()
        })
        .join()
        .unwrap()
    });
    assert_eq!(name.as_deref(), Some("mine-0"));
}

#[test]
fn current_outside_a_green_thread_is_the_os_thread() {
    let me = grove::current();
    assert!(!me.is_green());
    assert_eq!(me.id(), grove::current().id());
    let g = grove::spawn(|| (grove::current().id(), grove::current().is_green()))
        .join()
        .unwrap();
    assert!(g.1);
    assert_ne!(g.0, me.id());
}

#[test]
fn block_on_resumes_a_panic_on_the_caller() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(|| panic!("inside block_on"))
    }));
    let payload = r.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"inside block_on"));
    // The runtime keeps working.
    assert_eq!(rt.block_on(|| 3), 3);
}
