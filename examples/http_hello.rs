//! HTTP/1.1 hello world on `grove::net::http::Server`: a green thread per
//! connection, keep-alive and pipelining, handlers as plain functions.
//!
//! ```sh
//! cargo run --release --example http_hello             # 127.0.0.1:8080
//! curl -i http://127.0.0.1:8080/
//! ```
//! `GET /` answers `Hello, World!`; `POST /echo` echoes the body; anything
//! else is a 404.

use std::io::Write;

use grove::net::http::Server;
use http::{Method, Request, Response, StatusCode};

fn handle(req: Request<Vec<u8>>) -> Response<Vec<u8>> {
    match (req.method(), req.uri().path()) {
        (&Method::GET | &Method::HEAD, "/") => Response::builder()
            .header("content-type", "text/plain")
            .body(b"Hello, World!".to_vec())
            .expect("a valid response"),
        (&Method::POST, "/echo") => Response::new(req.into_body()),
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(b"not found\n".to_vec())
            .expect("a valid response"),
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let server = Server::bind(addr.as_str())?.serve(handle)?;
    if let Some(addr) = server.local_addr() {
        println!("listening on http://{addr}/");
    }
    std::io::stdout().flush()?;
    server.wait();
    Ok(())
}
