//! grove's side of the peer network benchmarks (`../shared/peers/net`): the
//! same servers, doing the same work as the peers' `rs/src/bin/` ones, for
//! the peers' load generators (`loadgen`, `wrk`) to drive.
//! `benches/compare_net.sh` runs them the way the peers' `run.sh` runs its
//! own servers and prints the same `RESULT` lines.
//!
//!     cargo bench --bench net -- echo 127.0.0.1:21001   # TCP echo server
//!     cargo bench --bench net -- http 127.0.0.1:21002   # HTTP hello world
//!
//! Both serve until killed, on a `LocalRuntime`: one worker, which is the
//! main thread, so the server is one thread in all, as tokio's
//! `current_thread` servers are (may runs one worker, Go `GOMAXPROCS=1`):
//! * `echo`: one green thread per connection, TCP_NODELAY on every accepted
//!   socket; each reads up to 4 KiB and writes it all back (`echo_tokio.rs`).
//! * `http`: `grove::net::http::Server`, `GET /` -> 200 `Hello, World!`
//!   (13 bytes, `Content-Type: text/plain`, keep-alive), as `http_hyper.rs`
//!   and `http_may.rs` answer.
//!
//! Without arguments (as a plain `cargo bench` runs it) it prints its usage
//! and exits 0, so `cargo bench` never waits on a server.

use std::io::{self, Read, Write};
use std::time::Duration;

use grove::net::{TcpListener, TcpStream};

const USAGE: &str =
    "usage: net <echo|http> <addr>   (a server for benches/compare_net.sh; runs until killed)";

/// One worker on the main thread, as tokio's `current_thread` servers.
fn runtime() -> io::Result<grove::LocalRuntime> {
    grove::Runtime::builder().build_local()
}

/// What an echo connection does: read, write it all back, until EOF or an
/// error.
fn echo_conn(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

fn echo(addr: String) -> io::Result<()> {
    runtime()?.block_on(move || {
        let listener = TcpListener::bind(addr.as_str())?;
        loop {
            match listener.accept() {
                Ok((stream, _)) => drop(grove::spawn(move || echo_conn(stream))),
                // Out of descriptors or the like: do not spin on it.
                Err(_) => grove::sleep(Duration::from_millis(1)),
            }
        }
    })
}

fn http(addr: String) -> io::Result<()> {
    runtime()?.block_on(move || {
        let server = grove::net::http::Server::bind(addr.as_str())?.serve(
            |_req: http::Request<Vec<u8>>| {
                let mut res = http::Response::new(b"Hello, World!".to_vec());
                res.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("text/plain"),
                );
                res
            },
        )?;
        server.wait();
        Ok(())
    })
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let (workload, addr) = match args.as_slice() {
        [] => {
            println!("{USAGE}");
            return;
        }
        [w, a] => (w.as_str(), a.clone()),
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    let r = match workload {
        "echo" => echo(addr),
        "http" => http(addr),
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = r {
        eprintln!("net {workload}: {e}");
        std::process::exit(1);
    }
}
