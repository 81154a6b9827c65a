//! The `max_blocking_time` watchdog reports, through `tracing`, a green
//! thread that holds its worker without reaching a switch point.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock()).into_owned()
    }
}

#[test]
fn a_green_thread_that_never_switches_is_reported() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let rt = grove::Runtime::builder()
        .workers(1)
        .max_blocking_time(Duration::from_millis(20))
        .build()
        .unwrap();
    let seen = rt.block_on({
        let capture = capture.clone();
        move || {
            grove::Builder::new()
                .name("hog")
                .spawn(move || {
                    // Hold the worker (no switch point) until the watchdog
                    // has spoken, or give up after 10 s.
                    let start = Instant::now();
                    while start.elapsed() < Duration::from_secs(10) {
                        if capture.text().contains("without a switch point") {
                            return true;
                        }
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    false
                })
                .unwrap()
                .join()
                .unwrap()
        }
    });
    assert!(seen, "no report:\n{}", capture.text());
    let text = capture.text();
    assert!(text.contains("WARN"), "{text}");
    assert!(
        text.contains("name=\"hog\"") || text.contains("name=hog"),
        "{text}"
    );
}
