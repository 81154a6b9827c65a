//! The HTTP/1.1 protocol core (`grove_net::http::serve_connection`) driven
//! over an in-memory transport: scripted input chunks and timeouts in, a
//! log of every read, write and timeout change out. No sockets, no runtime,
//! no timing races: a "timeout" is a scripted `WouldBlock`.

use std::collections::VecDeque;
use std::io::{self, ErrorKind, Read, Write};
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use grove_net::http::{serve_connection, Limits, Transport};
use http::{Request, Response, StatusCode};
use proptest::prelude::*;

/// One step of the client's script.
#[derive(Debug, Clone)]
enum Ev {
    /// The next reads return these bytes (as many per read as fit).
    Data(Vec<u8>),
    /// The next read times out (`WouldBlock`, as std sockets report it).
    Timeout,
    /// The next read fails with this error.
    Fail(ErrorKind),
    /// The client is slow: the next read first waits this long.
    Delay(Duration),
}

/// What the server did to the transport, in order.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    Read(usize),
    Write(Vec<u8>),
    SetTimeout(Option<Duration>),
}

/// The in-memory transport: reads follow the script, then EOF.
#[derive(Debug, Default)]
struct Mock {
    script: VecDeque<Ev>,
    output: Vec<u8>,
    log: Vec<Op>,
}

impl Mock {
    fn new(script: impl IntoIterator<Item = Ev>) -> Mock {
        Mock {
            script: script.into_iter().collect(),
            ..Mock::default()
        }
    }

    fn chunks(chunks: &[&[u8]]) -> Mock {
        Mock::new(chunks.iter().map(|c| Ev::Data(c.to_vec())))
    }

    fn writes(&self) -> usize {
        self.log
            .iter()
            .filter(|op| matches!(op, Op::Write(_)))
            .count()
    }

    fn timeouts(&self) -> Vec<Option<Duration>> {
        self.log
            .iter()
            .filter_map(|op| match op {
                Op::SetTimeout(t) => Some(*t),
                _ => None,
            })
            .collect()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output).into_owned()
    }
}

impl Read for Mock {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        assert!(!buf.is_empty(), "the server read into an empty buffer");
        loop {
            match self.script.pop_front() {
                None => {
                    self.log.push(Op::Read(0));
                    return Ok(0);
                }
                Some(Ev::Delay(d)) => std::thread::sleep(d),
                Some(Ev::Timeout) => return Err(ErrorKind::WouldBlock.into()),
                Some(Ev::Fail(kind)) => return Err(kind.into()),
                Some(Ev::Data(mut data)) => {
                    let n = data.len().min(buf.len());
                    buf[..n].copy_from_slice(&data[..n]);
                    if n < data.len() {
                        self.script.push_front(Ev::Data(data.split_off(n)));
                    }
                    self.log.push(Op::Read(n));
                    return Ok(n);
                }
            }
        }
    }
}

impl Write for Mock {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        self.log.push(Op::Write(buf.to_vec()));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Mock {
    fn set_read_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        assert_ne!(t, Some(Duration::ZERO), "std refuses a zero timeout");
        self.log.push(Op::SetTimeout(t));
        Ok(())
    }
}

/// The test application: echoes what it saw, plus a few special paths.
fn app(req: Request<Vec<u8>>) -> Response<Vec<u8>> {
    match req.uri().path() {
        "/panic" => panic!("handler panic (expected by the test)"),
        "/panic-string" => panic!("handler panic #{} (expected by the test)", 2),
        "/panic-other" => panic::panic_any(42u32),
        "/close" => Response::builder()
            .header("connection", "close")
            .body(b"bye".to_vec())
            .unwrap(),
        "/big" => Response::new(vec![b'x'; 100_000]),
        "/hello" => Response::builder()
            .header("content-type", "text/plain")
            .body(b"Hello, World!".to_vec())
            .unwrap(),
        _ => {
            let text = format!(
                "{} {} {:?} [{}]",
                req.method(),
                req.uri(),
                req.version(),
                String::from_utf8_lossy(req.body())
            );
            Response::new(text.into_bytes())
        }
    }
}

fn serve_with(mock: &mut Mock, limits: &Limits) -> io::Result<()> {
    serve_connection(mock, &app, limits)
}

fn serve(mock: &mut Mock) {
    serve_with(mock, &Limits::default()).expect("serve_connection failed");
}

/// One parsed response.
#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn body(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

/// Splits the output into responses, bodies delimited by `Content-Length`
/// (so not for responses to `HEAD`).
fn responses(mut out: &[u8]) -> Vec<Resp> {
    let mut all = Vec::new();
    while !out.is_empty() {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut r = httparse::Response::new(&mut headers);
        let len = match r.parse(out).expect("a well-formed response") {
            httparse::Status::Complete(len) => len,
            httparse::Status::Partial => panic!("truncated response: {out:?}"),
        };
        let headers: Vec<(String, String)> = r
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8(h.value.to_vec()).unwrap(),
                )
            })
            .collect();
        let status = r.code.unwrap();
        let cl = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse::<usize>().unwrap());
        all.push(Resp {
            status,
            headers,
            body: out[len..len + cl].to_vec(),
        });
        out = &out[len + cl..];
    }
    all
}

/// The output with every `date: <IMF-fixdate>` value blanked.
fn without_dates(out: &[u8]) -> Vec<u8> {
    let mut res = Vec::with_capacity(out.len());
    let mut i = 0;
    while i < out.len() {
        if out[i..].starts_with(b"date: ") && out.len() >= i + 6 + 29 {
            res.extend_from_slice(b"date: <date>");
            i += 6 + 29;
        } else {
            res.push(out[i]);
            i += 1;
        }
    }
    res
}

#[test]
fn simple_get() {
    let mut mock = Mock::chunks(&[b"GET /hello HTTP/1.1\r\nHost: example.com\r\n\r\n"]);
    serve(&mut mock);
    let rs = responses(&mock.output);
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status, 200);
    assert_eq!(rs[0].body(), "Hello, World!");
    assert_eq!(rs[0].header("content-length"), Some("13"));
    assert_eq!(rs[0].header("content-type"), Some("text/plain"));
    assert_eq!(rs[0].header("connection"), None);
    assert!(mock.text().starts_with("HTTP/1.1 200 OK\r\n"));
}

#[test]
fn request_reaches_the_handler_intact() {
    let mut mock = Mock::chunks(&[
        b"GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: h\r\nX-Multi: 1\r\nX-Multi: 2\r\n\r\n",
    ]);
    let seen = std::cell::RefCell::new(None);
    let handler = |req: Request<Vec<u8>>| {
        *seen.borrow_mut() = Some(req);
        Response::new(Vec::new())
    };
    serve_connection(&mut mock, &handler, &Limits::default()).unwrap();
    let req = seen.into_inner().unwrap();
    assert_eq!(req.method(), http::Method::GET);
    assert_eq!(req.uri().path(), "/a/b");
    assert_eq!(req.uri().query(), Some("x=1&y=2"));
    assert_eq!(req.version(), http::Version::HTTP_11);
    assert_eq!(req.headers()["host"], "h");
    let multi: Vec<_> = req.headers().get_all("x-multi").iter().collect();
    assert_eq!(multi, ["1", "2"]);
}

#[test]
fn pipelined_requests_are_answered_in_order_in_one_write() {
    let mut mock = Mock::chunks(&[b"GET /1 HTTP/1.1\r\n\r\n\
          POST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc\
          GET /3 HTTP/1.1\r\n\r\n"]);
    serve(&mut mock);
    let rs = responses(&mock.output);
    let bodies: Vec<_> = rs.iter().map(Resp::body).collect();
    assert_eq!(
        bodies,
        [
            "GET /1 HTTP/1.1 []",
            "POST /2 HTTP/1.1 [abc]",
            "GET /3 HTTP/1.1 []"
        ]
    );
    assert_eq!(mock.writes(), 1, "{:?}", mock.log);
}

#[test]
fn keep_alive_serves_several_requests() {
    let mut mock = Mock::chunks(&[
        b"GET /1 HTTP/1.1\r\n\r\n",
        b"GET /2 HTTP/1.1\r\n\r\n",
        b"GET /3 HTTP/1.1\r\n\r\n",
    ]);
    serve(&mut mock);
    let rs = responses(&mock.output);
    assert_eq!(rs.len(), 3);
    assert!(rs[2].body().starts_with("GET /3 "));
    // Each response goes out before the server waits for the next request.
    assert_eq!(mock.writes(), 3);
    // First the head timeout, then the idle timeout, set once.
    assert_eq!(
        mock.timeouts(),
        [Some(Duration::from_secs(10)), Some(Duration::from_secs(60))]
    );
}

#[test]
fn http10_closes_by_default() {
    let mut mock = Mock::chunks(&[b"GET /1 HTTP/1.0\r\n\r\nGET /2 HTTP/1.0\r\n\r\n"]);
    serve(&mut mock);
    let rs = responses(&mock.output);
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].body(), "GET /1 HTTP/1.0 []");
    assert_eq!(rs[0].header("connection"), Some("close"));
}

#[test]
fn http10_keep_alive_on_request() {
    let mut mock = Mock::chunks(&[b"GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n\
          GET /2 HTTP/1.0\r\n\r\nGET /3 HTTP/1.0\r\n\r\n"]);
    serve(&mut mock);
    let rs = responses(&mock.output);
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[0].header("connection"), Some("keep-alive"));
    assert_eq!(rs[1].header("connection"), Some("close"));
}

#[test]
fn client_connection_close() {
    let mut mock =
        Mock::chunks(&[b"GET /1 HTTP/1.1\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"]);
    serve(&mut mock);
    let rs = responses(&mock.output);
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].header("connection"), Some("close"));
    // The second request was never read further than the buffer.
    assert!(!mock.log.contains(&Op::Read(0)));
}

#[test]
fn handler_connection_close() {
    let mut mock = Mock::chunks(&[b"GET /close HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"]);
    serve(&mut mock);
    let rs = responses(&mock.output);
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].body(), "bye");
    assert_eq!(rs[0].header("connection"), Some("close"));
}

#[test]
fn max_requests_per_connection() {
    let mut mock = Mock::chunks(&[b"GET /1 HTTP/1.1\r\n\r\n\
          GET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n"]);
    let limits = Limits {
        max_requests_per_connection: Some(2),
        ..Limits::default()
    };
    serve_with(&mut mock, &limits).unwrap();
    let rs = responses(&mock.output);
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[0].header("connection"), None);
    assert_eq!(rs[1].header("connection"), Some("close"));
}

#[test]
fn head_has_get_headers_and_no_body() {
    let mut mock = Mock::chunks(&[b"HEAD /hello HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n"]);
    serve(&mut mock);
    let text = String::from_utf8(without_dates(&mock.output)).unwrap();
    let get = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n\
               date: <date>\r\n\r\n";
    assert_eq!(text, format!("{get}{get}Hello, World!"));
}

#[test]
fn content_length_body_across_reads() {
    let mut mock = Mock::chunks(&[
        b"POST /echo HTTP/1.1\r\nContent-Length: 11\r\n\r\nhel",
        b"lo",
        b" world",
        b"GET /next HTTP/1.1\r\n\r\n",
    ]);
    serve(&mut mock);
    let rs = responses(&mock.output);
    assert_eq!(rs[0].body(), "POST /echo HTTP/1.1 [hello world]");
    assert_eq!(rs[1].body(), "GET /next HTTP/1.1 []");
    // The body reads use the head timeout; idle waits the keep-alive one.
    assert_eq!(
        mock.timeouts(),
        [Some(Duration::from_secs(10)), Some(Duration::from_secs(60))]
    );
}

#[test]
fn large_body_and_large_response() {
    let body = vec![b'y'; 200_000];
    let mut input = format!(
        "POST /echo HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    input.extend_from_slice(&body);
    input.extend_from_slice(b"GET /big HTTP/1.1\r\n\r\n");
    let mut mock = Mock::new([Ev::Data(input)]);
    serve(&mut mock);
    let rs = responses(&mock.output);
    assert_eq!(rs.len(), 2);
    assert_eq!(
        rs[0].body.len(),
        "POST /echo HTTP/1.1 []".len() + body.len()
    );
    assert_eq!(rs[1].body, vec![b'x'; 100_000]);
}

#[test]
fn chunked_body_with_extensions_and_trailers() {
    let mut mock = Mock::chunks(&[
        b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"5;ext=1\r\nhello\r\n6 ; a=\"b c\"; d\r\n wo",
        b"rld\r\nA\r\n, chunked!\r\n0;last=yes\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n",
        b"GET /after HTTP/1.1\r\n\r\n",
    ]);
    serve(&mut mock);
    let rs = responses(&mock.output);
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[0].body(), "POST /c HTTP/1.1 [hello world, chunked!]");
    assert_eq!(rs[1].body(), "GET /after HTTP/1.1 []");
}

#[test]
fn malformed_chunked_bodies_are_400() {
    for bad in [
        &b"zz\r\nhello\r\n0\r\n\r\n"[..],
        b"5\r\nhelloXX0\r\n\r\n",
        b"5\nhello\r\n0\r\n\r\n",
        b"0\r\nBad Trailer\r\n\r\n",
    ] {
        let mut input = b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        input.extend_from_slice(bad);
        let mut mock = Mock::new([Ev::Data(input)]);
        serve(&mut mock);
        let rs = responses(&mock.output);
        assert_eq!(rs.len(), 1, "{bad:?}");
        assert_eq!(rs[0].status, 400, "{bad:?}");
        assert_eq!(rs[0].header("connection"), Some("close"));
    }
}

#[test]
fn content_length_with_transfer_encoding_is_400() {
    let mut mock = Mock::chunks(&[b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\
          Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n"]);
    serve(&mut mock);
    let rs = responses(&mock.output);
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status, 400);
    assert_eq!(rs[0].header("connection"), Some("close"));
    assert_eq!(rs[0].body(), "");
}

#[test]
fn invalid_content_length_is_400() {
    for bad in ["abc", "-5", "1,2", "18446744073709551616"] {
        let input = format!("POST / HTTP/1.1\r\nContent-Length: {bad}\r\n\r\n");
        let mut mock = Mock::chunks(&[input.as_bytes()]);
        serve(&mut mock);
        let rs = responses(&mock.output);
        assert_eq!(rs.len(), 1);
        assert_eq!(rs[0].status, 400, "{bad}");
    }
}

#[test]
fn oversized_head_is_431() {
    let big = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(17 * 1024));
    // In one read and in small reads alike.
    for chunk in [big.len(), 1000] {
        let mut mock = Mock::new(big.as_bytes().chunks(chunk).map(|c| Ev::Data(c.to_vec())));
        serve(&mut mock);
        let rs = responses(&mock.output);
        assert_eq!(rs.len(), 1);
        assert_eq!(rs[0].status, 431);
        assert_eq!(rs[0].header("connection"), Some("close"));
    }
    // A head that never ends is cut off at the limit, not buffered forever.
    let mut endless = vec![Ev::Data(b"GET / HTTP/1.1\r\n".to_vec())];
    endless.extend((0..100).map(|_| Ev::Data(b"X-Header: value\r\n".repeat(20))));
    let mut mock = Mock::new(endless);
    serve(&mut mock);
    assert_eq!(responses(&mock.output)[0].status, 431);
    assert!(!mock.script.is_empty(), "read past the limit");
}

#[test]
fn too_many_headers_is_431() {
    let headers: String = (0..100).map(|i| format!("X-H{i}: v\r\n")).collect();
    let input = format!("GET / HTTP/1.1\r\n{headers}\r\n");
    let mut mock = Mock::chunks(&[input.as_bytes()]);
    serve(&mut mock);
    assert_eq!(responses(&mock.output)[0].status, 431);
}

#[test]
fn oversized_body_is_413() {
    let limits = Limits {
        max_body_bytes: 10,
        ..Limits::default()
    };
    // Announced by Content-Length: refused before the body is read.
    let mut mock = Mock::chunks(&[
        b"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n",
        b"hello world",
    ]);
    serve_with(&mut mock, &limits).unwrap();
    let rs = responses(&mock.output);
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status, 413);
    assert_eq!(rs[0].header("connection"), Some("close"));
    assert_eq!(mock.script.len(), 1, "the body was read");

    // Exactly at the limit is fine.
    let mut mock = Mock::chunks(&[b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789"]);
    serve_with(&mut mock, &limits).unwrap();
    assert_eq!(responses(&mock.output)[0].status, 200);

    // Chunked: refused at the chunk that crosses the limit.
    let mut mock = Mock::chunks(&[
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n",
        b"5\r\nworld\r\n0\r\n\r\n",
    ]);
    serve_with(&mut mock, &limits).unwrap();
    let rs = responses(&mock.output);
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status, 413);
}

#[test]
fn malformed_request_is_400_and_closes() {
    for bad in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nNo Colon Here\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET /\x7f HTTP/1.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ] {
        let mut input = bad.to_vec();
        input.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        let mut mock = Mock::new([Ev::Data(input)]);
        serve(&mut mock);
        let rs = responses(&mock.output);
        assert_eq!(rs.len(), 1, "{bad:?}");
        assert_eq!(rs[0].status, 400, "{bad:?}");
        assert_eq!(rs[0].header("connection"), Some("close"));
    }
}

#[test]
fn unknown_transfer_coding_is_501() {
    let mut mock =
        Mock::chunks(&[b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"]);
    serve(&mut mock);
    assert_eq!(responses(&mock.output)[0].status, 501);
}

#[test]
fn panicking_handler_is_500_and_the_connection_goes_on() {
    let mut mock = Mock::chunks(&[
        b"GET /panic HTTP/1.1\r\n\r\nGET /1 HTTP/1.1\r\n\r\n",
        b"GET /panic-string HTTP/1.1\r\n\r\n",
        b"GET /2 HTTP/1.1\r\n\r\n",
    ]);
    serve(&mut mock);
    let rs = responses(&mock.output);
    let statuses: Vec<_> = rs.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 200, 500, 200]);
    assert_eq!(rs[0].header("connection"), None);
    assert_eq!(rs[0].body(), "");
    assert_eq!(rs[3].body(), "GET /2 HTTP/1.1 []");
}

#[test]
fn foreign_panic_payloads_propagate() {
    // grove's kill unwinds with a private payload; the server must not
    // swallow anything that is not a `panic!` message.
    let mut mock = Mock::chunks(&[b"GET /1 HTTP/1.1\r\n\r\nGET /panic-other HTTP/1.1\r\n\r\n"]);
    let err = panic::catch_unwind(AssertUnwindSafe(|| serve(&mut mock))).unwrap_err();
    assert_eq!(err.downcast_ref::<u32>(), Some(&42));
}

#[test]
fn expect_100_continue() {
    let mut mock = Mock::chunks(&[
        b"PUT /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
        b"data",
    ]);
    serve(&mut mock);
    let text = mock.text();
    assert!(text.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"));
    assert!(text.ends_with("PUT /up HTTP/1.1 [data]"));
    // "100 Continue" was written before the body was read.
    let cont = mock
        .log
        .iter()
        .position(|op| *op == Op::Write(b"HTTP/1.1 100 Continue\r\n\r\n".to_vec()))
        .expect("100 Continue written on its own");
    let body_read = mock.log.iter().position(|op| *op == Op::Read(4)).unwrap();
    assert!(cont < body_read, "{:?}", mock.log);

    // A body that would be refused gets no 100 Continue.
    let limits = Limits {
        max_body_bytes: 3,
        ..Limits::default()
    };
    let mut mock =
        Mock::chunks(&[b"PUT /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"]);
    serve_with(&mut mock, &limits).unwrap();
    assert!(mock
        .text()
        .starts_with("HTTP/1.1 413 Payload Too Large\r\n"));
}

/// Seconds since the epoch of an IMF-fixdate, checking its shape.
fn parse_imf_fixdate(s: &str) -> u64 {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let b = s.as_bytes();
    assert_eq!(b.len(), 29, "{s:?}");
    assert!(DAYS.contains(&&s[0..3]), "{s:?}");
    assert_eq!(&s[3..5], ", ");
    assert_eq!(
        (b[7], b[11], b[16], b[19], b[22]),
        (b' ', b' ', b' ', b':', b':')
    );
    assert_eq!(&s[25..], " GMT");
    let num = |r: std::ops::Range<usize>| s[r].parse::<u64>().expect("digits");
    let (day, year) = (num(5..7), num(12..16));
    let month = MONTHS.iter().position(|m| *m == &s[8..11]).expect("month") as u64 + 1;
    let (h, m, sec) = (num(17..19), num(20..22), num(23..25));
    assert!(
        (1..=31).contains(&day) && h < 24 && m < 60 && sec < 61,
        "{s:?}"
    );
    // days_from_civil (Howard Hinnant).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let weekday = DAYS[((days + 4) % 7) as usize];
    assert_eq!(weekday, &s[0..3], "wrong weekday in {s:?}");
    days * 86_400 + h * 3600 + m * 60 + sec
}

#[test]
fn date_header_is_a_current_imf_fixdate() {
    assert_eq!(
        parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"),
        784_111_777
    );
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut mock = Mock::chunks(&[b"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n"]);
    serve(&mut mock);
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for r in responses(&mock.output) {
        let date = parse_imf_fixdate(r.header("date").expect("a Date header"));
        assert!(
            before <= date && date <= after,
            "{date} not in {before}..={after}"
        );
    }
}

#[test]
fn header_read_timeout_closes_without_a_response() {
    let mut mock = Mock::new([
        Ev::Data(b"GET / HTTP/1.1\r\nHost:".to_vec()),
        Ev::Timeout,
        Ev::Data(b" x\r\n\r\n".to_vec()),
    ]);
    serve(&mut mock);
    assert_eq!(mock.output, b"");
    assert_eq!(mock.script.len(), 1, "read after the timeout");
    let timeouts = mock.timeouts();
    assert_eq!(timeouts[0], Some(Duration::from_secs(10)));
    // Then what remains of the 10 s.
    assert_eq!(timeouts.len(), 2);
    assert!(timeouts[1].unwrap() <= Duration::from_secs(10));

    // `TimedOut` counts too (some platforms report it).
    let mut mock = Mock::new([Ev::Fail(ErrorKind::TimedOut)]);
    serve(&mut mock);
    assert_eq!(mock.output, b"");
}

#[test]
fn header_deadline_spans_reads() {
    // A client trickling a head byte by byte is cut off when the deadline
    // passes, although no single read timed out.
    let limits = Limits {
        header_read_timeout: Some(Duration::from_millis(1)),
        ..Limits::default()
    };
    let head = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut script = Vec::new();
    for &b in head {
        script.push(Ev::Delay(Duration::from_millis(1)));
        script.push(Ev::Data(vec![b]));
    }
    let mut mock = Mock::new(script);
    serve_with(&mut mock, &limits).unwrap();
    assert_eq!(mock.output, b"");
    // The second byte arrived after the deadline: nothing more was read.
    assert_eq!(mock.script.len(), 2 * (head.len() - 1), "{:?}", mock.log);
    assert_eq!(mock.timeouts(), [Some(Duration::from_millis(1))]);
}

#[test]
fn idle_keep_alive_timeout_closes() {
    let mut mock = Mock::new([
        Ev::Data(b"GET /1 HTTP/1.1\r\n\r\n".to_vec()),
        Ev::Timeout,
        Ev::Data(b"GET /2 HTTP/1.1\r\n\r\n".to_vec()),
    ]);
    serve(&mut mock);
    let rs = responses(&mock.output);
    assert_eq!(rs.len(), 1);
    assert_eq!(
        mock.timeouts(),
        [Some(Duration::from_secs(10)), Some(Duration::from_secs(60))]
    );
}

#[test]
fn body_read_timeout_closes_without_a_response() {
    let mut mock = Mock::new([
        Ev::Data(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc".to_vec()),
        Ev::Timeout,
    ]);
    serve(&mut mock);
    assert_eq!(mock.output, b"");
    assert_eq!(mock.timeouts(), [Some(Duration::from_secs(10))]);
}

#[test]
fn no_timeouts_when_unlimited() {
    let limits = Limits {
        header_read_timeout: None,
        keep_alive_timeout: None,
        ..Limits::default()
    };
    let mut mock = Mock::chunks(&[b"GET / HTTP/1.1\r\n", b"\r\n", b"GET / HTTP/1.1\r\n\r\n"]);
    serve_with(&mut mock, &limits).unwrap();
    assert_eq!(responses(&mock.output).len(), 2);
    assert_eq!(mock.timeouts(), [None]);
}

#[test]
fn zero_timeouts_do_not_wait() {
    // Zero keep-alive: what is already buffered is served, then the idle
    // connection closes without another read (and std's refusal of a zero
    // timeout is never hit: the mock asserts it).
    let limits = Limits {
        keep_alive_timeout: Some(Duration::ZERO),
        ..Limits::default()
    };
    let mut mock = Mock::chunks(&[
        b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
        b"GET /3 HTTP/1.1\r\n\r\n",
    ]);
    serve_with(&mut mock, &limits).unwrap();
    assert_eq!(responses(&mock.output).len(), 2);
    assert_eq!(mock.script.len(), 1);

    let limits = Limits {
        header_read_timeout: Some(Duration::ZERO),
        ..Limits::default()
    };
    let mut mock = Mock::chunks(&[b"GET / HTTP/1.1\r\n\r\n"]);
    serve_with(&mut mock, &limits).unwrap();
    assert_eq!(mock.output, b"");
    assert_eq!(mock.script.len(), 1);
}

#[test]
fn eof_ends_the_connection_quietly() {
    for input in [
        &b""[..],
        b"GET / HTTP/1.1\r\nHo",
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n",
    ] {
        let mut mock = Mock::chunks(&[input]);
        serve(&mut mock);
        assert_eq!(mock.output, b"", "{input:?}");
    }
    // After a complete exchange, EOF just ends it.
    let mut mock = Mock::chunks(&[b"GET / HTTP/1.1\r\n\r\n"]);
    serve(&mut mock);
    assert_eq!(responses(&mock.output).len(), 1);
}

#[test]
fn transport_errors_are_returned() {
    let mut mock = Mock::new([
        Ev::Data(b"GET / HTTP/1.1\r\n\r\n".to_vec()),
        Ev::Fail(ErrorKind::ConnectionReset),
    ]);
    let err = serve_with(&mut mock, &Limits::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    // What was answered before the error went out.
    assert_eq!(responses(&mock.output).len(), 1);
    // Interrupted reads are retried.
    let mut mock = Mock::new([
        Ev::Fail(ErrorKind::Interrupted),
        Ev::Data(b"GET / HTTP/1.1\r\n\r\n".to_vec()),
    ]);
    serve(&mut mock);
    assert_eq!(responses(&mock.output).len(), 1);
}

#[test]
fn leading_empty_lines_are_skipped() {
    let mut mock = Mock::chunks(&[b"\r\n\r\nGET /x HTTP/1.1\r\n\r\n\r\nGET /y HTTP/1.1\r\n\r\n"]);
    serve(&mut mock);
    let rs = responses(&mock.output);
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[1].body(), "GET /y HTTP/1.1 []");
}

#[test]
fn status_reason_phrases() {
    let handler = |_req: Request<Vec<u8>>| {
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(b"nope".to_vec())
            .unwrap()
    };
    let mut mock = Mock::chunks(&[b"GET / HTTP/1.1\r\n\r\n"]);
    serve_connection(&mut mock, &handler, &Limits::default()).unwrap();
    assert!(mock.text().starts_with("HTTP/1.1 404 Not Found\r\n"));
    assert!(mock.text().ends_with("\r\n\r\nnope"));
}

/// Valid requests for the split property, the `app`'s answers to which do
/// not depend on timing.
const CORPUS: &[&str] = &[
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: 1\r\n\r\n",
    "HEAD /hello HTTP/1.1\r\n\r\n",
    "PUT /e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
    "\r\nGET /lead HTTP/1.1\r\nX-A: 1\r\nX-B: 2\r\n\r\n",
    "GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "GET /big HTTP/1.1\r\n\r\n",
    "POST /empty HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
];

/// Runs `input` split into reads of the given sizes (cycled).
fn run_split(input: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut script = Vec::new();
    let mut rest = input;
    for &n in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let n = n.min(rest.len());
        script.push(Ev::Data(rest[..n].to_vec()));
        rest = &rest[n..];
    }
    let mut mock = Mock::new(script);
    serve(&mut mock);
    without_dates(&mock.output)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn responses_do_not_depend_on_how_input_is_split(
        picks in prop::collection::vec(0..CORPUS.len(), 1..8),
        close in any::<bool>(),
        sizes in prop::collection::vec(1usize..48, 1..24),
    ) {
        let mut input: Vec<u8> = picks.iter().flat_map(|&i| CORPUS[i].bytes()).collect();
        if close {
            input.extend_from_slice(b"GET /last HTTP/1.1\r\nConnection: close\r\n\r\n");
        }
        let whole = run_split(&input, &[input.len()]);
        let split = run_split(&input, &sizes);
        prop_assert_eq!(String::from_utf8_lossy(&split), String::from_utf8_lossy(&whole));
        // Everything was answered: every final response has a Date.
        let finals = whole.windows(6).filter(|w| w == b"date: ").count();
        prop_assert_eq!(finals, picks.len() + usize::from(close));
    }
}

#[test]
fn byte_at_a_time_matches_one_read() {
    let input: Vec<u8> = CORPUS.iter().flat_map(|r| r.bytes()).collect();
    assert_eq!(run_split(&input, &[1]), run_split(&input, &[input.len()]));
}
