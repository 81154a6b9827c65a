//! The pattern of "The actor model in python with gevent": actors that
//! pull stats from an HTTP API, with timeouts and retries, and hand the
//! results to a writer actor.
//!
//! * A local test API (grove's HTTP server) lists users at `/users` and
//!   serves each one's stats at `/users/<name>`. It misbehaves on purpose:
//!   some users' first request fails with 503, one is slower than the
//!   client's timeout the first time, and one never answers well.
//! * A supervised pool of fetcher actors (`router::Pool`) takes one user
//!   per job, fetches with a 100 ms timeout and up to 3 attempts with
//!   backoff, and sends a row (or the failure) to the writer.
//! * The writer actor (`impl Actor`) owns the output — in the article a
//!   MySQL table, here CSV lines on stdout — and answers the driver's
//!   `call` once every user is accounted for.
//!
//!     cargo run --release --example api_poller

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grove::actors::router::Pool;
use grove::actors::{self, Actor, Addr, Ctx, Reply};
use grove::net::http::Server;
use grove::net::TcpStream;
use http::{Request, Response, StatusCode};
use serde_json::{json, Value};

const USERS: [&str; 6] = ["ada", "brian", "carla", "dmitri", "erin", "frank"];
const TIMEOUT: Duration = Duration::from_millis(100);
const ATTEMPTS: u32 = 3;

// ------------------------------------------------------------- test API

/// The test API: per-user request counts drive its misbehaviour.
fn api(req: Request<Vec<u8>>, hits: &Mutex<HashMap<String, usize>>) -> Response<Vec<u8>> {
    let path = req.uri().path();
    if path == "/users" {
        return Response::new(json!(USERS).to_string().into_bytes());
    }
    let Some(name) = path.strip_prefix("/users/") else {
        return status(StatusCode::NOT_FOUND);
    };
    let n = {
        let mut h = hits.lock().unwrap();
        let c = h.entry(name.to_string()).or_insert(0);
        *c += 1;
        *c
    };
    match (name, n) {
        // Busy the first time.
        ("brian" | "erin", 1) => status(StatusCode::SERVICE_UNAVAILABLE),
        // Slower than the client's timeout the first time.
        ("carla", 1) => {
            grove::sleep(TIMEOUT * 3);
            stats(name)
        }
        // Always broken.
        ("frank", _) => status(StatusCode::INTERNAL_SERVER_ERROR),
        _ => stats(name),
    }
}

fn stats(name: &str) -> Response<Vec<u8>> {
    let commits = name.bytes().map(u64::from).sum::<u64>() % 97;
    Response::new(
        json!({ "username": name, "commits": commits })
            .to_string()
            .into_bytes(),
    )
}

fn status(code: StatusCode) -> Response<Vec<u8>> {
    let mut r = Response::new(Vec::new());
    *r.status_mut() = code;
    r
}

// ------------------------------------------------------------- client

/// One `GET`, with a deadline on connect and on every read.
fn get(addr: SocketAddr, path: &str) -> Result<Value, String> {
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => "timed out".to_string(),
        _ => e.to_string(),
    })?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("malformed response")?;
    let code = head.split(' ').nth(1).unwrap_or("?");
    if code != "200" {
        return Err(format!("HTTP {code}"));
    }
    serde_json::from_str(body).map_err(|e| e.to_string())
}

/// `get` with retries and exponential backoff.
fn fetch(addr: SocketAddr, path: &str) -> Result<(Value, u32), String> {
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        match get(addr, path) {
            Ok(v) => return Ok((v, attempt)),
            Err(e) => last = e,
        }
        grove::sleep(Duration::from_millis(10) * 2u32.pow(attempt));
    }
    Err(format!("{last} (after {ATTEMPTS} attempts)"))
}

// ------------------------------------------------------------- actors

/// What the writer receives.
enum WriterMsg {
    Row {
        user: String,
        commits: u64,
        attempts: u32,
    },
    Failed {
        user: String,
        error: String,
    },
    /// Answer once `n` users are accounted for: (rows, failures).
    WhenDone(usize, Reply<(usize, usize)>),
}

/// Owns the output: prints CSV as rows arrive.
#[derive(Default)]
struct Writer {
    rows: usize,
    failures: usize,
    waiting: Option<(usize, Reply<(usize, usize)>)>,
}

impl Writer {
    fn maybe_done(&mut self) {
        if let Some((n, _)) = &self.waiting {
            if self.rows + self.failures >= *n {
                let (_, reply) = self.waiting.take().expect("checked");
                reply.send((self.rows, self.failures));
            }
        }
    }
}

impl Actor for Writer {
    type Msg = WriterMsg;

    fn started(&mut self, _ctx: &mut Ctx<WriterMsg>) {
        println!("username,commits,attempts");
    }

    fn handle(&mut self, msg: WriterMsg, _ctx: &mut Ctx<WriterMsg>) {
        match msg {
            WriterMsg::Row {
                user,
                commits,
                attempts,
            } => {
                println!("{user},{commits},{attempts}");
                self.rows += 1;
            }
            WriterMsg::Failed { user, error } => {
                eprintln!("# {user}: {error}");
                self.failures += 1;
            }
            WriterMsg::WhenDone(n, reply) => self.waiting = Some((n, reply)),
        }
        self.maybe_done();
    }
}

/// A fetcher's job: one user, and where the result goes.
struct Job {
    user: String,
    api: SocketAddr,
    writer: Addr<WriterMsg>,
}

/// A pooled fetcher: one job at a time, results to the writer.
fn fetcher(ctx: &mut Ctx<Job>) {
    loop {
        let Job { user, api, writer } = ctx.receive();
        match fetch(api, &format!("/users/{user}")) {
            Ok((v, attempts)) => writer.send(WriterMsg::Row {
                commits: v["commits"].as_u64().unwrap_or(0),
                user,
                attempts,
            }),
            Err(error) => writer.send(WriterMsg::Failed { user, error }),
        }
    }
}

fn main() -> std::io::Result<()> {
    let hits = Arc::new(Mutex::new(HashMap::new()));
    let served = Arc::new(AtomicUsize::new(0));
    let server = Server::bind("127.0.0.1:0")?.serve({
        let (hits, served) = (hits.clone(), served.clone());
        move |req| {
            served.fetch_add(1, Ordering::Relaxed);
            api(req, &hits)
        }
    })?;
    let api_addr = server.local_addr().expect("a TCP server has an address");

    let t0 = Instant::now();
    let writer = actors::start(Writer::default());
    let pool = Pool::new(3, fetcher)?;

    let (users, _) = fetch(api_addr, "/users").map_err(std::io::Error::other)?;
    let users: Vec<String> = serde_json::from_value(users).map_err(std::io::Error::other)?;
    for user in &users {
        pool.send(Job {
            user: user.clone(),
            api: api_addr,
            writer: writer.addr(),
        });
    }
    let (rows, failures) = writer
        .addr()
        .call(
            |r| WriterMsg::WhenDone(users.len(), r),
            Duration::from_secs(10),
        )
        .map_err(std::io::Error::other)?;
    println!(
        "# {rows} users written, {failures} failed, {} API requests, {:.0} ms",
        served.load(Ordering::Relaxed),
        t0.elapsed().as_secs_f64() * 1e3
    );

    pool.stop().map_err(std::io::Error::other)?;
    writer.kill();
    server.stop(Duration::from_millis(100));
    Ok(())
}
