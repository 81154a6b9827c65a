//! Feeds arbitrary bytes to the HTTP/1.1 protocol core as a client's input.
//!
//! The first byte picks how many bytes each read returns (1..=256), so the
//! fuzzer also explores how requests split across reads; the rest is what
//! the client sends. The handler echoes the body. `serve_connection` must
//! never panic, whatever the input: it answers or closes.

#![no_main]

use std::io::{self, Read, Write};
use std::time::Duration;

use grove_net::http::{serve_connection, Limits, Transport};
use libfuzzer_sys::fuzz_target;

/// A client that sends `data` in reads of at most `chunk` bytes, then EOF,
/// and swallows the server's output.
struct Client<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Client<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

impl Write for Client<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Client<'_> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        assert_ne!(timeout, Some(Duration::ZERO));
        Ok(())
    }
}

fuzz_target!(|input: &[u8]| {
    let (chunk, data) = match input.split_first() {
        Some((&c, rest)) => (usize::from(c) + 1, rest),
        None => (1, input),
    };
    // Small limits so the fuzzer reaches 413 and 431 quickly.
    let limits = Limits {
        max_header_bytes: 2048,
        max_body_bytes: 4096,
        ..Limits::default()
    };
    let echo = |req: http::Request<Vec<u8>>| http::Response::new(req.into_body());
    let _ = serve_connection(Client { data, chunk }, &echo, &limits);
});
