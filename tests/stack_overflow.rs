//! A stack overflow in a green thread is reported (which green thread, its
//! stack size) before the process aborts: never a bare SIGSEGV. Run in a
//! child process, since the process does abort.

#![allow(unconditional_recursion)]

use std::process::Command;

const CHILD_ENV: &str = "GROVE_OVERFLOW_CHILD";

fn deep(n: u64) -> u64 {
    let buf = [n; 128];
    if n == u64::MAX {
        return 0;
    }
    std::hint::black_box(&buf);
    deep(n + 1) + std::hint::black_box(buf[7])
}

#[test]
fn overflow_is_reported_with_the_green_threads_identity() {
    if let Some(size) = std::env::var_os(CHILD_ENV) {
        // The child: say something, then overflow a named green thread.
        println!("before the overflow: line 1");
        println!("before the overflow: line 2");
        let mut b = grove::Builder::new().name("deep-diver");
        if size != "default" {
            b = b.stack_size(64 * 1024);
        }
        let h = b.spawn(|| deep(0)).unwrap();
        let _ = h.join();
        println!("unreachable: the process should have aborted");
        return;
    }
    // A stack of its own size, and one of the default size (carved from a
    // mapping shared with other stacks where the kernel has guard markers);
    // then the same under the portable `mprotect` guard pages.
    for (size, bytes, guard) in [
        ("64k", 65536, None),
        ("default", grove::DEFAULT_STACK_SIZE, None),
        ("64k", 65536, Some("mprotect")),
    ] {
        check_overflow_child(size, bytes, guard);
    }
}

fn check_overflow_child(size: &str, bytes: usize, guard: Option<&str>) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        "overflow_is_reported_with_the_green_threads_identity",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, size);
    match guard {
        Some(g) => cmd.env("GROVE_STACK_GUARD", g),
        None => cmd.env_remove("GROVE_STACK_GUARD"),
    };
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let case = format!("stack {size}, guard {guard:?}");
    assert!(
        !out.status.success(),
        "{case}: child exited cleanly:\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "(\"deep-diver\") overflowed its stack of {bytes} bytes"
        )),
        "{case}: stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("grove: green thread "),
        "{case}: stderr:\n{stderr}"
    );
    assert!(
        stdout.contains("before the overflow: line 1"),
        "{case}: stdout:\n{stdout}"
    );
    assert!(
        stdout.contains("before the overflow: line 2"),
        "{case}: stdout:\n{stdout}"
    );
    assert!(!stdout.contains("unreachable"), "{case}: stdout:\n{stdout}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            out.status.signal(),
            Some(libc_sigabrt()),
            "{case}: {:?}",
            out.status
        );
    }
}

fn libc_sigabrt() -> i32 {
    6
}

#[test]
fn main_thread_overflow_handling_is_left_to_std() {
    // A fault that is not in a green thread's guard page goes to the handler
    // installed before grove's (std's), which reports it its own way.
    if std::env::var_os("GROVE_OVERFLOW_OS_CHILD").is_some() {
        let _ = grove::spawn(|| 1).join(); // installs grove's handler
        let t = std::thread::Builder::new()
            .name("plain-thread".into())
            .stack_size(128 * 1024)
            .spawn(|| deep(0))
            .unwrap();
        let _ = t.join();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--exact",
            "main_thread_overflow_handling_is_left_to_std",
            "--nocapture",
        ])
        .env("GROVE_OVERFLOW_OS_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("thread 'plain-thread'") && stderr.contains("has overflowed its stack"),
        "stderr:\n{stderr}"
    );
    assert!(!stderr.contains("grove: green thread"), "stderr:\n{stderr}");
}
