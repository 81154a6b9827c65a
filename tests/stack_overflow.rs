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
    if std::env::var_os(CHILD_ENV).is_some() {
        // The child: say something, then overflow a named green thread.
        println!("before the overflow: line 1");
        println!("before the overflow: line 2");
        let h = grove::Builder::new()
            .name("deep-diver")
            .stack_size(64 * 1024)
            .spawn(|| deep(0))
            .unwrap();
        let _ = h.join();
        println!("unreachable: the process should have aborted");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--exact",
            "overflow_is_reported_with_the_green_threads_identity",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "child exited cleanly:\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("(\"deep-diver\") overflowed its stack of 65536 bytes"),
        "stderr:\n{stderr}"
    );
    assert!(stderr.contains("grove: green thread "), "stderr:\n{stderr}");
    assert!(
        stdout.contains("before the overflow: line 1"),
        "stdout:\n{stdout}"
    );
    assert!(
        stdout.contains("before the overflow: line 2"),
        "stdout:\n{stdout}"
    );
    assert!(!stdout.contains("unreachable"), "stdout:\n{stdout}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            out.status.signal(),
            Some(libc_sigabrt()),
            "{:?}",
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
