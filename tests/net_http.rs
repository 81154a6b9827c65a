//! `grove::net::http::Server` seen from the wire: each test starts a server
//! on its own one-worker runtime, talks to it over a raw TCP connection
//! (a `std::net::TcpStream` on the test thread, or grove's `TcpStream` in
//! green threads for the concurrent test), writes request bytes by hand and
//! parses the response bytes with the small reader below.
//!
//! Every client socket has a read timeout, so a server that fails to answer
//! fails the test instead of hanging it.

mod net_util;

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use grove::net::http::{Limits, Server};
use grove::net::RunningServer;
use http::{Request, Response};
use net_util::{join_soon, one_worker, pattern, PATIENCE, QUICK};

/// Read timeout of the clients' sockets: a missing answer fails the test.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

// ------------------------------------------------------------ the handler

/// The handler every server here runs:
/// * `/hello` → `hello, world`;
/// * `/echo` → the request body, with `x-method` and `x-body-len`;
/// * `/panic` → panics (the server must answer 500);
/// * `/big/N` → `N` bytes of [`pattern`]`(N)`;
/// * `/close` → `ok` with the handler's own `Connection: close`;
/// * `/chunked-response` → a body the handler frames itself;
/// * `/headers` → the request's header fields, one `name: value` line
///   each, in a response carrying five fields of its own;
/// * anything else → `METHOD /path?query`, so order can be checked.
fn handler(req: Request<Vec<u8>>) -> Response<Vec<u8>> {
    let path = req.uri().path().to_owned();
    match path.as_str() {
        "/hello" => Response::builder()
            .header("content-type", "text/plain")
            .body(b"hello, world".to_vec())
            .unwrap(),
        "/echo" => {
            let len = req.body().len();
            Response::builder()
                .header("x-method", req.method().as_str())
                .header("x-body-len", len.to_string())
                .body(req.into_body())
                .unwrap()
        }
        "/panic" => panic!("handler panics on purpose"),
        "/close" => Response::builder()
            .header("connection", "close")
            .body(b"ok".to_vec())
            .unwrap(),
        "/headers" => {
            let mut body = String::new();
            for (name, value) in req.headers() {
                body += &format!("{name}: {}\n", value.to_str().unwrap());
            }
            let mut resp = Response::builder();
            for i in 0..5 {
                resp = resp.header(format!("x-response-{i}"), "not a request field");
            }
            resp.body(body.into_bytes()).unwrap()
        }
        "/chunked-response" => Response::builder()
            .header("transfer-encoding", "chunked")
            .body(b"3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\nX-T: 1\r\n\r\n".to_vec())
            .unwrap(),
        p if p.starts_with("/big/") => {
            let n: usize = p["/big/".len()..].parse().unwrap();
            Response::new(pattern(n as u64, n))
        }
        _ => {
            let target = req
                .uri()
                .path_and_query()
                .map_or(String::new(), |pq| pq.as_str().to_owned());
            Response::new(format!("{} {target}", req.method()).into_bytes())
        }
    }
}

// ------------------------------------------------------------- the server

/// A server on its own one-worker runtime; stopped (connections killed at
/// once) when dropped.
struct TestServer {
    rt: grove::Runtime,
    running: Option<RunningServer>,
    addr: SocketAddr,
}

impl TestServer {
    fn start(limits: Limits) -> TestServer {
        let rt = one_worker();
        let running = rt.block_on(move || {
            Server::bind("127.0.0.1:0")
                .unwrap()
                .limits(limits)
                .serve(handler)
                .unwrap()
        });
        let addr = running.local_addr().expect("a bound address");
        assert_eq!(addr.ip(), std::net::Ipv4Addr::LOCALHOST);
        TestServer {
            rt,
            running: Some(running),
            addr,
        }
    }

    fn with_defaults() -> TestServer {
        TestServer::start(Limits::default())
    }

    /// A new raw client connection (from the calling OS thread).
    fn connect(&self) -> Client<std::net::TcpStream> {
        let s = std::net::TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
        s.set_write_timeout(Some(CLIENT_TIMEOUT)).unwrap();
        s.set_nodelay(true).unwrap();
        Client::new(s)
    }

    /// Stops the server with `grace`; returns how long `stop` took.
    fn stop(&mut self, grace: Duration) -> Duration {
        let running = self.running.take().expect("running");
        self.rt.block_on(move || {
            let t = Instant::now();
            running.stop(grace);
            t.elapsed()
        })
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            self.rt.block_on(move || running.stop(Duration::ZERO));
        }
    }
}

// ------------------------------------------------------ the response reader

/// One parsed response.
#[derive(Debug)]
struct Resp {
    status: u16,
    reason: String,
    /// Names lowercased, values trimmed, in wire order.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    /// The value of the one field called `name` (`None` when absent; the
    /// test fails if it appears more than once).
    fn header(&self, name: &str) -> Option<&str> {
        let mut found = self.headers.iter().filter(|(n, _)| n == name);
        let first = found.next().map(|(_, v)| v.as_str());
        assert!(found.next().is_none(), "{name} repeated in {self:?}");
        first
    }

    fn content_length(&self) -> usize {
        self.header("content-length")
            .unwrap_or_else(|| panic!("no content-length in {self:?}"))
            .parse()
            .unwrap()
    }

    fn body_str(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    /// Whether the server announced that it closes the connection.
    fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// A raw connection with a read buffer, so that pipelined responses that
/// arrive in one read are split correctly.
struct Client<S> {
    io: S,
    buf: Vec<u8>,
}

impl<S: Read + Write> Client<S> {
    fn new(io: S) -> Client<S> {
        Client {
            io,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.io.write_all(bytes.as_ref()).expect("client write");
    }

    /// Reads once more into the buffer; the number of bytes read (0: EOF).
    fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 4096];
        let n = self.io.read(&mut chunk).unwrap_or_else(|e| {
            panic!(
                "client read failed: {e} (kind {:?}); buffered: {:?}",
                e.kind(),
                String::from_utf8_lossy(&self.buf)
            )
        });
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }

    fn fill_for(&mut self, what: &str) {
        if self.fill() == 0 {
            panic!(
                "EOF while reading {what}; buffered: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        }
    }

    /// The next CRLF-terminated line, without its CRLF.
    fn line(&mut self, what: &str) -> String {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8(self.buf[..i].to_vec()).expect("an ASCII line");
                self.buf.drain(..i + 2);
                return line;
            }
            assert!(self.buf.len() < 64 * 1024, "no CRLF in 64 KiB of {what}");
            self.fill_for(what);
        }
    }

    fn exact(&mut self, n: usize, what: &str) -> Vec<u8> {
        while self.buf.len() < n {
            self.fill_for(what);
        }
        self.buf.drain(..n).collect()
    }

    /// The status line and header fields, up to and including the blank
    /// line.
    fn read_head(&mut self) -> Resp {
        let status_line = self.line("a status line");
        let (version, rest) = status_line
            .split_once(' ')
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        assert_eq!(version, "HTTP/1.1", "{status_line:?}");
        let (code, reason) = rest
            .split_once(' ')
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        assert_eq!(code.len(), 3, "{status_line:?}");
        let status = code.parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let line = self.line("a header field");
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("bad header field {line:?}"));
            assert!(
                !name.is_empty() && !name.contains([' ', '\t']),
                "bad field name {line:?}"
            );
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        Resp {
            status,
            reason: reason.to_owned(),
            headers,
            body: Vec::new(),
        }
    }

    /// A whole response to a request other than `HEAD`.
    fn read_response(&mut self) -> Resp {
        self.read_response_to("GET")
    }

    /// A whole response to a `method` request: the head, then the body as
    /// its framing says (none for `HEAD`, 1xx, 204 and 304; chunked;
    /// `Content-Length`; or up to EOF).
    fn read_response_to(&mut self, method: &str) -> Resp {
        let mut resp = self.read_head();
        let bodiless = method == "HEAD"
            || (100..200).contains(&resp.status)
            || resp.status == 204
            || resp.status == 304;
        if bodiless {
            return resp;
        }
        let chunked = resp
            .header("transfer-encoding")
            .is_some_and(|te| te.to_ascii_lowercase().ends_with("chunked"));
        if chunked {
            resp.body = self.read_chunked_body();
        } else if resp.header("content-length").is_some() {
            resp.body = self.exact(resp.content_length(), "a body");
        } else {
            while self.fill() > 0 {}
            resp.body = std::mem::take(&mut self.buf);
        }
        resp
    }

    /// A chunked body, decoded; extensions and trailers are dropped.
    fn read_chunked_body(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let line = self.line("a chunk-size line");
            let size = line.split(';').next().unwrap().trim();
            let size = usize::from_str_radix(size, 16)
                .unwrap_or_else(|_| panic!("bad chunk-size line {line:?}"));
            if size == 0 {
                while !self.line("a trailer").is_empty() {}
                return body;
            }
            body.extend(self.exact(size, "a chunk"));
            assert_eq!(self.exact(2, "a chunk's CRLF"), b"\r\n");
        }
    }

    /// Asserts that nothing more was sent and that the server closed the
    /// connection (a clean EOF, not a reset).
    fn assert_closed(&mut self) {
        assert!(
            self.buf.is_empty(),
            "unexpected bytes after the last response: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        let mut byte = [0u8; 1];
        match self.io.read(&mut byte) {
            Ok(0) => {}
            Ok(_) => panic!("unexpected byte {byte:?} instead of EOF"),
            Err(e) => panic!("expected EOF, got {e} (kind {:?})", e.kind()),
        }
    }
}

/// `GET target` with a `Host` field.
fn get(target: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: test\r\n\r\n")
}

/// Asserts `resp` is an empty-bodied error with `status` that closes the
/// connection.
fn assert_refused(resp: &Resp, status: u16) {
    assert_eq!(resp.status, status, "{resp:?}");
    assert!(resp.closes(), "no `connection: close` on {resp:?}");
    assert_eq!(resp.content_length(), 0, "{resp:?}");
    assert!(resp.body.is_empty(), "{resp:?}");
}

// ----------------------------------------------------------- the Date field

/// Days from 1970-01-01 to the civil date `y-m-d` (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110
/// §5.6.7) into seconds since the epoch, checking its exact shape and that
/// the weekday matches the date.
fn parse_imf_fixdate(s: &str) -> i64 {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let b = s.as_bytes();
    assert_eq!(b.len(), 29, "{s:?} is not an IMF-fixdate");
    let num = |r: std::ops::Range<usize>| -> i64 {
        assert!(b[r.clone()].iter().all(u8::is_ascii_digit), "{s:?}");
        s[r].parse().unwrap()
    };
    assert_eq!(&s[3..5], ", ", "{s:?}");
    assert_eq!(b[7], b' ', "{s:?}");
    assert_eq!(b[11], b' ', "{s:?}");
    assert_eq!(b[16], b' ', "{s:?}");
    assert_eq!(b[19], b':', "{s:?}");
    assert_eq!(b[22], b':', "{s:?}");
    assert_eq!(&s[25..], " GMT", "{s:?}");
    let weekday = DAYS
        .iter()
        .position(|d| *d == &s[0..3])
        .unwrap_or_else(|| panic!("bad weekday in {s:?}"));
    let month = MONTHS
        .iter()
        .position(|m| *m == &s[8..11])
        .unwrap_or_else(|| panic!("bad month in {s:?}")) as i64
        + 1;
    let (day, year) = (num(5..7), num(12..16));
    let (hour, min, sec) = (num(17..19), num(20..22), num(23..25));
    assert!(
        (1..=31).contains(&day) && hour < 24 && min < 60 && sec < 61,
        "{s:?}"
    );
    let days = days_from_civil(year, month, day);
    // 1970-01-01 was a Thursday.
    assert_eq!(
        (days + 4).rem_euclid(7) as usize,
        weekday,
        "wrong weekday in {s:?}"
    );
    days * 86_400 + hour * 3600 + min * 60 + sec
}

#[test]
fn imf_fixdate_parser_knows_the_rfc_example() {
    assert_eq!(
        parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"),
        784_111_777
    );
}

// ------------------------------------------------------------------ tests

#[test]
fn get_answers_200_with_body_date_and_content_length() {
    let server = TestServer::with_defaults();
    let mut c = server.connect();
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    c.send(get("/hello"));
    let resp = c.read_response();
    let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();

    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.reason, "OK");
    assert_eq!(resp.body, b"hello, world");
    assert_eq!(resp.content_length(), 12);
    assert_eq!(resp.header("content-type"), Some("text/plain"));
    // HTTP/1.1 keep-alive is the default: nothing to say.
    assert_eq!(resp.header("connection"), None);
    let date = parse_imf_fixdate(resp.header("date").expect("a date field"));
    assert!(
        (before.as_secs() as i64..=after.as_secs() as i64).contains(&date),
        "date {date} not within [{before:?}, {after:?}]"
    );

    // The handler sees the method and the whole request target.
    c.send("DELETE /x/y?a=1&b=2 HTTP/1.1\r\nHost: test\r\n\r\n");
    let resp = c.read_response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body_str(), "DELETE /x/y?a=1&b=2");
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let server = TestServer::with_defaults();
    let mut c = server.connect();
    for i in 0..3 {
        c.send(get(&format!("/ka/{i}")));
        let resp = c.read_response();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body_str(), format!("GET /ka/{i}"));
        assert!(!resp.closes(), "{resp:?}");
    }
    // Still open: one more, then the client hangs up.
    c.send(get("/hello"));
    assert_eq!(c.read_response().body, b"hello, world");
}

#[test]
fn each_request_sees_exactly_its_own_header_fields() {
    // The server refills the header map of a finished response with the
    // next request's fields: none of the response's may leak into it, on
    // the same connection or on another served by the same thread.
    let server = TestServer::with_defaults();
    let mut a = server.connect();
    let mut b = server.connect();
    for i in 0..4 {
        let c = if i % 2 == 0 { &mut a } else { &mut b };
        let extra: String = (0..i).map(|k| format!("X-Req-{k}: v{i}\r\n")).collect();
        c.send(format!(
            "GET /headers HTTP/1.1\r\nHost: h{i}\r\n{extra}\r\n"
        ));
        let resp = c.read_response();
        assert_eq!(resp.status, 200);
        let want: String = std::iter::once(format!("host: h{i}\n"))
            .chain((0..i).map(|k| format!("x-req-{k}: v{i}\n")))
            .collect();
        assert_eq!(resp.body_str(), want, "request {i}");
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = TestServer::with_defaults();
    let mut c = server.connect();
    let burst: String = (0..10).map(|i| get(&format!("/p/{i}"))).collect();
    c.send(burst);
    for i in 0..10 {
        let resp = c.read_response();
        assert_eq!(resp.status, 200, "response {i}: {resp:?}");
        assert_eq!(resp.body_str(), format!("GET /p/{i}"));
    }
    // Nothing extra, and the connection is still usable.
    assert!(c.buf.is_empty());
    c.send(get("/after"));
    assert_eq!(c.read_response().body_str(), "GET /after");
}

#[test]
fn pipelined_large_and_small_bodies_stay_in_order() {
    // Bodies above the server's copy threshold are written straight from the
    // response: they must not overtake the smaller ones queued before them.
    let server = TestServer::with_defaults();
    let mut c = server.connect();
    let sizes = [10usize, 100_000, 3, 20_000, 0, 300_000, 7];
    let burst: String = sizes.iter().map(|n| get(&format!("/big/{n}"))).collect();
    c.send(burst);
    for &n in &sizes {
        let resp = c.read_response();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.content_length(), n);
        assert!(
            resp.body == pattern(n as u64, n),
            "body of /big/{n} differs"
        );
    }
}

#[test]
fn http10_without_keep_alive_gets_one_response_then_close() {
    let server = TestServer::with_defaults();
    let mut c = server.connect();
    c.send("GET /hello HTTP/1.0\r\n\r\n");
    let resp = c.read_response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, b"hello, world");
    assert!(resp.closes(), "{resp:?}");
    c.assert_closed();
}

#[test]
fn http10_with_keep_alive_keeps_the_connection() {
    let server = TestServer::with_defaults();
    let mut c = server.connect();
    for i in 0..2 {
        c.send(format!(
            "GET /k/{i} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        ));
        let resp = c.read_response();
        assert_eq!(resp.body_str(), format!("GET /k/{i}"));
        assert_eq!(resp.header("connection"), Some("keep-alive"), "{resp:?}");
    }
    // A plain 1.0 request ends it.
    c.send("GET /last HTTP/1.0\r\n\r\n");
    let resp = c.read_response();
    assert_eq!(resp.body_str(), "GET /last");
    assert!(resp.closes());
    c.assert_closed();
}

#[test]
fn connection_close_gets_a_response_then_close() {
    let server = TestServer::with_defaults();
    let mut c = server.connect();
    // The pipelined request after the `close` one is never answered.
    c.send(format!(
        "GET /bye HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n{}",
        get("/never")
    ));
    let resp = c.read_response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body_str(), "GET /bye");
    assert!(resp.closes(), "{resp:?}");
    c.assert_closed();

    // The handler's own `Connection: close` closes it too.
    let mut c = server.connect();
    c.send(get("/close"));
    let resp = c.read_response();
    assert_eq!(resp.body, b"ok");
    assert!(resp.closes(), "{resp:?}");
    c.assert_closed();
}

#[test]
fn max_requests_per_connection_closes_after_the_last() {
    let server = TestServer::start(Limits {
        max_requests_per_connection: Some(2),
        ..Limits::default()
    });
    let mut c = server.connect();
    c.send(get("/one"));
    let resp = c.read_response();
    assert!(!resp.closes(), "{resp:?}");
    c.send(get("/two"));
    let resp = c.read_response();
    assert_eq!(resp.body_str(), "GET /two");
    assert!(resp.closes(), "{resp:?}");
    c.assert_closed();
}

#[test]
fn head_sends_the_get_length_and_no_body() {
    let server = TestServer::with_defaults();
    let mut c = server.connect();
    c.send(get("/hello"));
    let get_resp = c.read_response();

    c.send("HEAD /hello HTTP/1.1\r\nHost: test\r\n\r\n");
    let head = c.read_response_to("HEAD");
    assert_eq!(head.status, 200);
    assert_eq!(head.content_length(), get_resp.content_length());
    assert_eq!(head.content_length(), 12);
    assert_eq!(head.header("content-type"), Some("text/plain"));
    assert!(head.header("date").is_some());
    // Had body bytes followed the HEAD response, this one would not parse.
    c.send(get("/hello"));
    let resp = c.read_response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, b"hello, world");

    // The same, pipelined in one write.
    c.send(format!(
        "HEAD /hello HTTP/1.1\r\nHost: test\r\n\r\n{}HEAD /big/100000 HTTP/1.1\r\n\r\n{}",
        get("/after-head"),
        get("/after-head-2")
    ));
    let head = c.read_response_to("HEAD");
    assert_eq!(head.content_length(), 12);
    assert_eq!(c.read_response().body_str(), "GET /after-head");
    let head = c.read_response_to("HEAD");
    assert_eq!(head.content_length(), 100_000);
    assert_eq!(c.read_response().body_str(), "GET /after-head-2");
    assert!(c.buf.is_empty());
}

#[test]
fn post_with_content_length_is_echoed() {
    let server = TestServer::with_defaults();
    let mut c = server.connect();
    c.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\nhello there");
    let resp = c.read_response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-method"), Some("POST"));
    assert_eq!(resp.body, b"hello there");

    // A body split over several writes, larger than the read buffer.
    let body = pattern(7, 100_000);
    c.send(format!(
        "PUT /echo HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    for part in body.chunks(30_000) {
        c.send(part);
    }
    let resp = c.read_response();
    assert_eq!(resp.header("x-method"), Some("PUT"));
    assert_eq!(resp.header("x-body-len"), Some("100000"));
    assert!(resp.body == body, "echoed body differs");

    // The body ended exactly where Content-Length said. (A stray CRLF after
    // a body, as some clients send, is skipped: RFC 9112 §2.2.)
    c.send(format!("\r\n{}", get("/next")));
    assert_eq!(c.read_response().body_str(), "GET /next");
}

#[test]
fn post_with_chunked_body_extension_and_trailer_is_echoed() {
    let server = TestServer::with_defaults();
    let mut c = server.connect();
    let request = "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
                   5;name=value\r\nhello\r\n\
                   7 ; q=\"a b\"\r\n, world\r\n\
                   0\r\nX-Trailer: yes\r\nX-Other: 1\r\n\r\n";
    c.send(request);
    let resp = c.read_response();
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.body_str(), "hello, world");
    assert_eq!(resp.header("x-body-len"), Some("12"));

    // The trailer was consumed exactly: the next request parses.
    c.send(get("/after-trailer"));
    assert_eq!(c.read_response().body_str(), "GET /after-trailer");

    // The same request dribbled a few bytes per write, and a chunked body
    // without trailers pipelined behind it.
    for piece in request.as_bytes().chunks(3) {
        c.send(piece);
    }
    c.send(
        "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
         A\r\n0123456789\r\n0\r\n\r\n",
    );
    assert_eq!(c.read_response().body_str(), "hello, world");
    assert_eq!(c.read_response().body_str(), "0123456789");

    // A large chunked body in large chunks.
    let body = pattern(3, 200_000);
    let mut req =
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for chunk in body.chunks(65_000) {
        req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend_from_slice(chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    c.send(req);
    let resp = c.read_response();
    assert!(resp.body == body, "chunked echo differs");
}

#[test]
fn expect_100_continue_gets_an_interim_response_first() {
    let server = TestServer::with_defaults();
    let mut c = server.connect();
    c.send(
        "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\
         Expect: 100-continue\r\n\r\n",
    );
    // The client waits for 100 before sending its body.
    let interim = c.read_head();
    assert_eq!(interim.status, 100, "{interim:?}");
    assert_eq!(interim.reason, "Continue");
    assert!(interim.headers.is_empty(), "{interim:?}");
    assert!(c.buf.is_empty(), "the final response came before the body");
    c.send("hello");
    let resp = c.read_response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, b"hello");

    // Chunked with Expect too.
    c.send(
        "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\
         Expect: 100-continue\r\n\r\n",
    );
    assert_eq!(c.read_head().status, 100);
    c.send("3\r\nabc\r\n0\r\n\r\n");
    assert_eq!(c.read_response().body, b"abc");

    // No body, no 100.
    c.send("GET /nobody HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\n\r\n");
    let resp = c.read_response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body_str(), "GET /nobody");
}

#[test]
fn oversized_head_gets_431_then_close() {
    let server = TestServer::start(Limits {
        max_header_bytes: 1024,
        ..Limits::default()
    });

    // A head of exactly the limit is fine.
    let prefix = "GET /fits HTTP/1.1\r\nHost: test\r\nX-Pad: ";
    let pad = 1024 - prefix.len() - 4;
    let exact = format!("{prefix}{}\r\n\r\n", "a".repeat(pad));
    assert_eq!(exact.len(), 1024);
    let mut c = server.connect();
    c.send(&exact);
    let resp = c.read_response();
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.body_str(), "GET /fits");

    // One byte more is not.
    let over = format!("{prefix}{}\r\n\r\n", "a".repeat(pad + 1));
    c.send(&over);
    assert_refused(&c.read_response(), 431);
    c.assert_closed();

    // A head that never ends is refused once it passes the limit.
    let mut c = server.connect();
    c.send(format!("GET / HTTP/1.1\r\nX-Big: {}", "b".repeat(2000)));
    assert_refused(&c.read_response(), 431);
    c.assert_closed();

    // The server still serves new connections.
    let mut c = server.connect();
    c.send(get("/hello"));
    assert_eq!(c.read_response().status, 200);
}

#[test]
fn too_many_header_fields_get_431_then_close() {
    let server = TestServer::with_defaults();
    // 64 fields are fine...
    let fields = |n: usize| -> String { (0..n).map(|i| format!("h{i}: v\r\n")).collect() };
    let mut c = server.connect();
    c.send(format!("GET /64 HTTP/1.1\r\n{}\r\n", fields(64)));
    assert_eq!(c.read_response().body_str(), "GET /64");
    // ...65 are not, however small the head.
    c.send(format!("GET /65 HTTP/1.1\r\n{}\r\n", fields(65)));
    assert_refused(&c.read_response(), 431);
    c.assert_closed();
}

#[test]
fn oversized_body_gets_413_then_close() {
    let server = TestServer::start(Limits {
        max_body_bytes: 16,
        ..Limits::default()
    });

    // At the limit: fine.
    let mut c = server.connect();
    c.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 16\r\n\r\n0123456789abcdef");
    assert_eq!(c.read_response().body, b"0123456789abcdef");

    // One over, body sent along: 413 and close.
    c.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 17\r\n\r\n0123456789abcdefg");
    assert_refused(&c.read_response(), 413);
    c.assert_closed();

    // With Expect: 100-continue, refused before any 100.
    let mut c = server.connect();
    c.send(
        "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 1000000\r\n\
         Expect: 100-continue\r\n\r\n",
    );
    let resp = c.read_response();
    assert_refused(&resp, 413);
    c.assert_closed();
}

#[test]
fn chunked_body_growing_over_the_limit_gets_413() {
    let server = TestServer::start(Limits {
        max_body_bytes: 16,
        ..Limits::default()
    });

    // 10 + 6 = 16 fits.
    let mut c = server.connect();
    c.send(
        "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
         a\r\n0123456789\r\n6\r\nabcdef\r\n0\r\n\r\n",
    );
    assert_eq!(c.read_response().body_str(), "0123456789abcdef");

    // 10 + 7 does not: refused at the second chunk's size.
    c.send(
        "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
         a\r\n0123456789\r\n7\r\nabcdefg\r\n0\r\n\r\n",
    );
    assert_refused(&c.read_response(), 413);
    c.assert_closed();

    // The client sends the first chunk, waits, then announces too much.
    let mut c = server.connect();
    c.send(
        "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\
         Expect: 100-continue\r\n\r\n",
    );
    assert_eq!(c.read_head().status, 100);
    c.send("8\r\n01234567\r\n");
    c.send("ffffffff\r\n");
    assert_refused(&c.read_response(), 413);
    c.assert_closed();
}

#[test]
fn malformed_requests_get_400_then_close() {
    let server = TestServer::with_defaults();
    let cases: &[&[u8]] = &[
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
        b"GET / HTTP/2.0\r\n\r\n",
        b"G(T / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
        // A TLS ClientHello on the plain port: refused at once, without
        // waiting for a complete head.
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
        // A bad Content-Length, or two that disagree.
        b"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab",
        // Bad chunked framing.
        b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nbad trailer\r\n\r\n",
        b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        // Smuggling shapes: whitespace before the colon, a coding after
        // `chunked`, an obsolete line folding.
        b"POST /echo HTTP/1.1\r\nContent-Length : 3\r\n\r\nabc",
        b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-A: a\r\n folded\r\n\r\n",
    ];
    for &case in cases {
        let mut c = server.connect();
        c.send(case);
        let resp = c.read_response();
        assert_eq!(
            resp.status,
            400,
            "{:?} → {resp:?}",
            String::from_utf8_lossy(case)
        );
        assert_refused(&resp, 400);
        c.assert_closed();
    }

    // An unknown transfer coding is 501, also closing.
    let mut c = server.connect();
    c.send("POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    assert_refused(&c.read_response(), 501);
    c.assert_closed();

    // A good request answered before the garbage still gets its response.
    let mut c = server.connect();
    c.send(format!("{}NONSENSE\r\n\r\n", get("/good")));
    assert_eq!(c.read_response().body_str(), "GET /good");
    assert_refused(&c.read_response(), 400);
    c.assert_closed();
}

#[test]
fn content_length_with_transfer_encoding_gets_400() {
    let server = TestServer::with_defaults();
    for head in [
        "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
    ] {
        let mut c = server.connect();
        c.send(format!("{head}5\r\nhello\r\n0\r\n\r\n"));
        assert_refused(&c.read_response(), 400);
        c.assert_closed();
    }
}

/// Reads until the server ends the connection; returns what it sent.
/// A reset counts as an end too (the server may close with unread input).
fn read_until_closed(c: &mut Client<std::net::TcpStream>) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match c.io.read(&mut chunk) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if net_util::is_reset_like(&e) => return got,
            Err(e) => panic!("the server never closed the connection: {e}"),
        }
    }
}

#[test]
fn slow_client_is_disconnected_after_header_read_timeout() {
    const TIMEOUT: Duration = Duration::from_millis(200);
    let server = TestServer::start(Limits {
        header_read_timeout: Some(TIMEOUT),
        ..Limits::default()
    });
    let start = Instant::now();
    let mut c = server.connect();
    c.send("GET /slow HTTP/1.1\r\nHost: te");
    let got = read_until_closed(&mut c);
    let took = start.elapsed();
    assert!(
        got.is_empty(),
        "answered {:?}",
        String::from_utf8_lossy(&got)
    );
    assert!(took >= TIMEOUT, "closed after only {took:?}");
    assert!(took < QUICK, "closed after {took:?}");

    // A client that never sends a byte is disconnected the same way.
    let start = Instant::now();
    let mut c = server.connect();
    let got = read_until_closed(&mut c);
    let took = start.elapsed();
    assert!(got.is_empty());
    assert!(took >= TIMEOUT && took < QUICK, "closed after {took:?}");
}

#[test]
fn trickling_bytes_do_not_extend_the_header_deadline() {
    // Slowloris: one byte every 20 ms. The deadline counts from the start
    // of the connection, not from the last byte.
    const TIMEOUT: Duration = Duration::from_millis(200);
    let server = TestServer::start(Limits {
        header_read_timeout: Some(TIMEOUT),
        ..Limits::default()
    });
    let start = Instant::now();
    let mut c = server.connect();
    let mut dribble = c.io.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let head = b"GET /slow HTTP/1.1\r\nHost: test\r\nX-Pad: ".iter();
        for &b in head.chain(std::iter::repeat(&b'a')) {
            if dribble.write_all(&[b]).is_err() || start.elapsed() > QUICK {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let got = read_until_closed(&mut c);
    let took = start.elapsed();
    assert!(
        got.is_empty(),
        "answered {:?}",
        String::from_utf8_lossy(&got)
    );
    assert!(took >= TIMEOUT, "closed after only {took:?}");
    assert!(took < QUICK, "closed after {took:?}: the deadline moved");
    let _ = c.io.shutdown(std::net::Shutdown::Both);
    writer.join().unwrap();
}

#[test]
fn idle_keep_alive_connection_is_closed_after_keep_alive_timeout() {
    const IDLE: Duration = Duration::from_millis(150);
    let server = TestServer::start(Limits {
        keep_alive_timeout: Some(IDLE),
        ..Limits::default()
    });
    let mut c = server.connect();
    // The server starts waiting after it has read the request: later than
    // this.
    let sent = Instant::now();
    c.send(get("/one"));
    assert_eq!(c.read_response().body_str(), "GET /one");
    c.assert_closed();
    let took = sent.elapsed();
    assert!(took >= IDLE, "closed after {took:?}");
    assert!(took < QUICK, "closed after {took:?}");
}

#[test]
fn panicking_handler_gets_500_and_the_connection_goes_on() {
    let server = TestServer::with_defaults();
    let mut c = server.connect();
    c.send(get("/panic"));
    let resp = c.read_response();
    assert_eq!(resp.status, 500, "{resp:?}");
    assert_eq!(resp.reason, "Internal Server Error");
    assert_eq!(resp.content_length(), 0);
    assert!(!resp.closes(), "{resp:?}");

    // The same connection serves the next request...
    c.send(get("/hello"));
    let resp = c.read_response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, b"hello, world");

    // ...also when the panic is in the middle of a pipelined burst.
    c.send(format!("{}{}{}", get("/a"), get("/panic"), get("/b")));
    assert_eq!(c.read_response().body_str(), "GET /a");
    assert_eq!(c.read_response().status, 500);
    assert_eq!(c.read_response().body_str(), "GET /b");

    // And other connections are served.
    let mut other = server.connect();
    other.send(get("/other"));
    assert_eq!(other.read_response().body_str(), "GET /other");
}

#[test]
fn many_concurrent_keep_alive_clients_on_one_worker() {
    const CLIENTS: usize = 200;
    const REQUESTS: usize = 20;
    let rt = one_worker();
    let answered = rt.block_on(|| {
        let running = Server::bind("127.0.0.1:0").unwrap().serve(handler).unwrap();
        let addr = running.local_addr().unwrap();
        let answered = Arc::new(AtomicUsize::new(0));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let answered = answered.clone();
                grove::spawn(move || {
                    let s = grove::net::TcpStream::connect(addr).unwrap();
                    s.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
                    let mut c = Client::new(s);
                    for j in 0..REQUESTS {
                        let last = j + 1 == REQUESTS;
                        if i % 2 == 0 {
                            // Plain requests...
                            let close = if last { "Connection: close\r\n" } else { "" };
                            c.send(format!(
                                "GET /c/{i}/r/{j} HTTP/1.1\r\nHost: test\r\n{close}\r\n"
                            ));
                        } else {
                            // ...and bodies echoed.
                            let close = if last { "Connection: close\r\n" } else { "" };
                            let body = format!("client {i} request {j}");
                            c.send(format!(
                                "POST /echo HTTP/1.1\r\nHost: test\r\n{close}\
                                 Content-Length: {}\r\n\r\n{body}",
                                body.len()
                            ));
                        }
                        let resp = c.read_response();
                        assert_eq!(resp.status, 200);
                        let want = if i % 2 == 0 {
                            format!("GET /c/{i}/r/{j}")
                        } else {
                            format!("client {i} request {j}")
                        };
                        assert_eq!(resp.body_str(), want);
                        assert_eq!(resp.closes(), last);
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    c.assert_closed();
                })
            })
            .collect();
        for h in clients {
            join_soon(h).unwrap();
        }
        running.stop(Duration::from_secs(5));
        answered.load(Ordering::Relaxed)
    });
    assert_eq!(answered, CLIENTS * REQUESTS);
}

#[test]
fn stop_refuses_new_connections_and_ends_idle_ones() {
    const GRACE: Duration = Duration::from_millis(100);
    let mut server = TestServer::with_defaults();
    let addr = server.addr;
    let mut idle = server.connect();
    idle.send(get("/hello"));
    assert_eq!(idle.read_response().status, 200);

    let took = server.stop(GRACE);
    // The idle keep-alive connection waits in a read: it outlives the grace
    // period and is killed.
    assert!(took >= GRACE, "stop returned after {took:?}");
    assert!(took < QUICK, "stop took {took:?}");
    idle.assert_closed();

    let e = std::net::TcpStream::connect(addr).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
}

#[test]
fn stop_lets_a_request_in_progress_finish() {
    // A request whose body is still arriving when `stop` is called is
    // answered if it completes within the grace period.
    let mut server = TestServer::with_defaults();
    let mut c = server.connect();
    c.send(
        "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\n\
         Expect: 100-continue\r\n\r\n",
    );
    // The 100 says the server has accepted the connection and parsed the
    // head: from here on `stop` waits for this connection (whether it starts
    // before or after the body arrives, the request must be answered).
    assert_eq!(c.read_head().status, 100);
    c.send("ab");
    let running = server.running.take().unwrap();
    let stopper = server.rt.spawn(move || {
        let t = Instant::now();
        running.stop(PATIENCE);
        t.elapsed()
    });
    c.send("cd");
    let resp = c.read_response();
    assert_eq!(resp.body, b"abcd");
    // The client hangs up: the connection ends, and so does `stop`.
    drop(c);
    let took = stopper.join().unwrap();
    assert!(took < QUICK, "stop took {took:?}");
}

#[test]
fn handler_framed_chunked_response_passes_through() {
    let server = TestServer::with_defaults();
    let mut c = server.connect();
    c.send(get("/chunked-response"));
    let resp = c.read_response();
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert_eq!(resp.header("content-length"), None, "{resp:?}");
    assert_eq!(resp.body, b"abcdefg");
    // Framing held: the next response parses.
    c.send(get("/next"));
    assert_eq!(c.read_response().body_str(), "GET /next");
}

#[test]
fn client_half_close_still_gets_its_responses() {
    // A client that shuts down its sending side after its requests (as
    // `nc -N` does) is answered, then the server closes too.
    let server = TestServer::with_defaults();
    let mut c = server.connect();
    c.send(format!("{}{}", get("/one"), get("/two")));
    c.io.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(c.read_response().body_str(), "GET /one");
    assert_eq!(c.read_response().body_str(), "GET /two");
    c.assert_closed();
}
