//! A TCP echo server: one green thread per connection, on gevent's
//! `StreamServer`, at most 10,000 connections at once.
//!
//! ```sh
//! cargo run --release --example echo_server            # listens on 127.0.0.1:7000
//! cargo run --release --example echo_server -- 127.0.0.1:0
//! ```
//! Then, for example, `nc 127.0.0.1 7000`. Ctrl-C stops it.

use std::io::Write;

use grove::net::{StreamServer, TcpStream};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".into());
    let server = StreamServer::bind(addr.as_str(), |mut stream: TcpStream, peer| {
        let _ = stream.set_nodelay(true);
        let mut reader = match stream.try_clone() {
            Ok(r) => r,
            Err(e) => return eprintln!("{peer}: {e}"),
        };
        // Blocking-style code: `copy` suspends this green thread while it
        // waits for bytes, and the worker runs the other connections.
        let _ = std::io::copy(&mut reader, &mut stream);
        let _ = stream.flush();
    })?
    .max_connections(10_000);
    println!("echo server listening on {}", server.local_addr()?);
    std::io::stdout().flush()?;
    server.serve_forever();
    Ok(())
}
