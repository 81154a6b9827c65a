//! Turning bytes into requests: the request head (through `httparse`), the
//! body framing it announces, chunk-size lines and trailer sections.
//!
//! Everything here is pure: functions take the unconsumed bytes of the
//! connection's read buffer and answer "complete, consumed `n` bytes",
//! "need more bytes" (`Ok(None)`) or "reject with this status". They never
//! read from the transport, so the I/O loop in `conn` owns all waiting.
//!
//! Invariant (split invariance): each parser looks at no more than its limit
//! of bytes (`max_header_bytes` for heads and trailers, [`MAX_CHUNK_LINE`]
//! for chunk-size lines) and reports "too large" exactly when the element
//! does not fit in that window. So the answer for a byte stream never depends
//! on how the stream was split into reads.
//!
//! Framing rules (RFC 9112 §6):
//! * `Transfer-Encoding` whose last coding is `chunked` → chunked body; any
//!   other coding before it → 501; `chunked` not last, or `Transfer-Encoding`
//!   on an HTTP/1.0 request, or together with `Content-Length` → 400;
//! * `Content-Length` (repeated or comma-separated copies must agree) → that
//!   many bytes; not a decimal number → 400; above `max_body_bytes` → 413;
//! * neither → no body.

use std::mem::MaybeUninit;

use ::http::header::{HeaderMap, HeaderName, HeaderValue};
use ::http::{Method, Request, StatusCode, Uri, Version};
use bytes::Bytes;

use super::Limits;

/// Most header fields in a request head or a trailer section; more is 431.
pub(crate) const MAX_HEADERS: usize = 64;

/// Longest chunk-size line (size, extensions and CRLF); longer is 400.
pub(crate) const MAX_CHUNK_LINE: usize = 4096;

/// A head with more header fields than this keeps one copy of its bytes,
/// which the header values (and the request target) are slices of: two
/// allocations (the copy and its reference count), however many fields.
/// With fewer, each value is copied on its own, one allocation each.
const SHARE_HEAD_FIELDS: usize = 2;

/// How the body of a request is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    Empty,
    /// Exactly this many bytes (never more than `max_body_bytes`).
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head, its body still to be read.
#[derive(Debug)]
pub(crate) struct Head {
    /// The request, with an empty body.
    pub(crate) request: Request<Vec<u8>>,
    /// Bytes of the head, blank line included.
    pub(crate) len: usize,
    /// How the body is delimited.
    pub(crate) framing: Framing,
    /// Whether the client asks to keep the connection open after this
    /// request (HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with
    /// `Connection: keep-alive`).
    pub(crate) keep_alive: bool,
    /// HTTP/1.1 `Expect: 100-continue` on a request with a body.
    pub(crate) expect_continue: bool,
}

/// Parses the request head at the start of `buf`.
///
/// `Ok(None)` means the head is incomplete and fits the limit so far.
/// Empty lines before the request line are skipped (RFC 9112 §2.2).
///
/// A complete head takes its header fields into `recycled` when it holds an
/// (empty) map, so that a map whose storage came back with the previous
/// response is filled again instead of a new one being allocated.
pub(crate) fn parse_head(
    buf: &[u8],
    limits: &Limits,
    recycled: &mut Option<HeaderMap>,
) -> Result<Option<Head>, StatusCode> {
    let window = &buf[..buf.len().min(limits.max_header_bytes)];
    // Left uninitialised: httparse fills what it uses (no 2 KiB memset per
    // request).
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut []);
    let len = match parsed.parse_with_uninit_headers(window, &mut headers) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() >= limits.max_header_bytes => {
            return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        }
        Err(_) => return Err(StatusCode::BAD_REQUEST),
    };
    // All `Complete` fields are `Some`.
    let (Some(method), Some(path), Some(minor)) = (parsed.method, parsed.path, parsed.version)
    else {
        return Err(StatusCode::BAD_REQUEST);
    };
    let version = if minor == 0 {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| StatusCode::BAD_REQUEST)?;
    let shared =
        (parsed.headers.len() > SHARE_HEAD_FIELDS).then(|| Bytes::copy_from_slice(&window[..len]));
    // The part of the shared copy that `part` (a slice of `window`) is.
    let slice_of = |shared: &Bytes, part: &[u8]| {
        let start = part.as_ptr() as usize - window.as_ptr() as usize;
        shared.slice(start..start + part.len())
    };
    // `None` for `/`, the common target: `Request::new`'s default URI is
    // already `/`, and making another (then dropping the default) cost ~2 %
    // of a hello-world request's instructions.
    let uri = match &shared {
        _ if path == "/" => None,
        Some(shared) => Some(Uri::from_maybe_shared(slice_of(shared, path.as_bytes()))),
        None => Some(path.parse()),
    }
    .transpose()
    .map_err(|_| StatusCode::BAD_REQUEST)?;

    let mut scan = FramingScan::default();
    let mut map = match recycled.take() {
        Some(mut map) => {
            debug_assert!(map.is_empty());
            map.reserve(parsed.headers.len());
            map
        }
        None => HeaderMap::with_capacity(parsed.headers.len()),
    };
    for h in parsed.headers.iter() {
        scan.header(h.name.as_bytes(), h.value)?;
        let name =
            HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| StatusCode::BAD_REQUEST)?;
        let value = match &shared {
            Some(shared) => HeaderValue::from_maybe_shared(slice_of(shared, h.value)),
            None => HeaderValue::from_bytes(h.value),
        }
        .map_err(|_| StatusCode::BAD_REQUEST)?;
        map.append(name, value);
    }
    let framing = scan.framing(version, limits)?;
    let keep_alive = match version {
        Version::HTTP_10 => scan.keep_alive && !scan.close,
        _ => !scan.close,
    };
    let expect_continue =
        scan.expect_continue && version == Version::HTTP_11 && framing != Framing::Empty;

    let mut request = Request::new(Vec::new());
    *request.method_mut() = method;
    if let Some(uri) = uri {
        *request.uri_mut() = uri;
    }
    *request.version_mut() = version;
    let default_map = std::mem::replace(request.headers_mut(), map);
    // `Request::new`'s map is `HeaderMap::new()`, which allocates nothing
    // (http documents it), so forgetting it leaks nothing and skips its
    // drop, ~1.5 % of a hello-world request's instructions.
    debug_assert_eq!(default_map.capacity(), 0);
    std::mem::forget(default_map);
    Ok(Some(Head {
        request,
        len,
        framing,
        keep_alive,
        expect_continue,
    }))
}

/// What the framing-relevant headers of one head said, gathered in a single
/// pass over the raw `httparse` headers.
#[derive(Debug, Default)]
struct FramingScan {
    /// The agreed `Content-Length`, if any.
    content_length: Option<u64>,
    /// A `Transfer-Encoding` field was present.
    transfer_encoding: bool,
    /// The last transfer coding seen so far is `chunked`.
    chunked_last: bool,
    /// A coding other than `chunked` was seen.
    other_coding: bool,
    /// `Connection` lists `close`.
    close: bool,
    /// `Connection` lists `keep-alive`.
    keep_alive: bool,
    /// `Expect: 100-continue`.
    expect_continue: bool,
}

impl FramingScan {
    fn header(&mut self, name: &[u8], value: &[u8]) -> Result<(), StatusCode> {
        if name.eq_ignore_ascii_case(b"content-length") {
            for item in value.split(|&b| b == b',') {
                let n = parse_decimal(trim(item)).ok_or(StatusCode::BAD_REQUEST)?;
                match self.content_length {
                    Some(prev) if prev != n => return Err(StatusCode::BAD_REQUEST),
                    _ => self.content_length = Some(n),
                }
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.transfer_encoding = true;
            for coding in value.split(|&b| b == b',').map(trim) {
                if coding.is_empty() {
                    continue;
                }
                if self.chunked_last {
                    // `chunked` must be the last coding, and only once.
                    return Err(StatusCode::BAD_REQUEST);
                }
                self.chunked_last = coding.eq_ignore_ascii_case(b"chunked");
                self.other_coding |= !self.chunked_last;
            }
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',').map(trim) {
                if token.eq_ignore_ascii_case(b"close") {
                    self.close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    self.keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"expect") {
            self.expect_continue |= trim(value).eq_ignore_ascii_case(b"100-continue");
        }
        Ok(())
    }

    fn framing(&self, version: Version, limits: &Limits) -> Result<Framing, StatusCode> {
        if self.transfer_encoding {
            if self.content_length.is_some() || version == Version::HTTP_10 || !self.chunked_last {
                return Err(StatusCode::BAD_REQUEST);
            }
            if self.other_coding {
                return Err(StatusCode::NOT_IMPLEMENTED);
            }
            return Ok(Framing::Chunked);
        }
        match self.content_length {
            None | Some(0) => Ok(Framing::Empty),
            Some(n) if n > limits.max_body_bytes as u64 => Err(StatusCode::PAYLOAD_TOO_LARGE),
            // Fits: n <= max_body_bytes, a usize.
            Some(n) => Ok(Framing::Length(n as usize)),
        }
    }
}

/// Parses the chunk-size line at the start of `buf`:
/// `1*HEXDIG [ BWS ] *( ";" chunk-ext ) CRLF`, returning the bytes consumed
/// and the chunk size.
///
/// Extensions are checked to hold only visible characters, spaces, tabs
/// and obs-text, then ignored (no extension has a meaning here).
pub(crate) fn parse_chunk_line(buf: &[u8]) -> Result<Option<(usize, u64)>, StatusCode> {
    let window = &buf[..buf.len().min(MAX_CHUNK_LINE)];
    let bad = Err(StatusCode::BAD_REQUEST);
    let mut size: u64 = 0;
    let mut digits = 0;
    let mut i = 0;
    while let Some(&b) = window.get(i) {
        let v = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => break,
        };
        if digits == 16 {
            return bad; // does not fit in a u64
        }
        size = size << 4 | u64::from(v);
        digits += 1;
        i += 1;
    }
    if i == window.len() {
        return incomplete(buf);
    }
    if digits == 0 {
        return bad;
    }
    let mut in_ext = false;
    while let Some(&b) = window.get(i) {
        match b {
            b'\r' => {
                return match window.get(i + 1) {
                    Some(b'\n') => Ok(Some((i + 2, size))),
                    Some(_) => bad,
                    None => incomplete(buf),
                }
            }
            b';' => in_ext = true,
            b' ' | b'\t' => {}
            b'!'..=b'~' | 0x80..=0xff if in_ext => {}
            _ => return bad,
        }
        i += 1;
    }
    incomplete(buf)
}

/// "Need more bytes" for a chunk-size line, or 400 when the line has
/// already outgrown [`MAX_CHUNK_LINE`].
fn incomplete(buf: &[u8]) -> Result<Option<(usize, u64)>, StatusCode> {
    if buf.len() >= MAX_CHUNK_LINE {
        Err(StatusCode::BAD_REQUEST)
    } else {
        Ok(None)
    }
}

/// Parses the trailer section of a chunked body (after the last chunk):
/// header fields then a blank line. Returns the bytes consumed; the fields
/// are validated and dropped.
pub(crate) fn parse_trailers(buf: &[u8], limits: &Limits) -> Result<Option<usize>, StatusCode> {
    let window = &buf[..buf.len().min(limits.max_header_bytes)];
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    match httparse::parse_headers(window, &mut headers) {
        Ok(httparse::Status::Complete((len, _))) => Ok(Some(len)),
        Ok(httparse::Status::Partial) if buf.len() >= limits.max_header_bytes => {
            Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE),
        Err(_) => Err(StatusCode::BAD_REQUEST),
    }
}

/// `s` without leading and trailing spaces and tabs.
fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// `1*DIGIT` as a `u64`; `None` if empty, not all digits, or too large.
fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(s: &str) -> Result<Option<Head>, StatusCode> {
        parse_head(s.as_bytes(), &Limits::default(), &mut None)
    }

    #[test]
    fn simple_get() {
        let h = head("GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nX-A: 2\r\n\r\nrest")
            .unwrap()
            .unwrap();
        assert_eq!(h.len, 48);
        assert_eq!(h.request.method(), Method::GET);
        assert_eq!(h.request.uri().path(), "/a");
        assert_eq!(h.request.uri().query(), Some("b=c"));
        assert_eq!(h.request.version(), Version::HTTP_11);
        assert_eq!(h.request.headers().get_all("x-a").iter().count(), 2);
        assert_eq!(h.framing, Framing::Empty);
        assert!(h.keep_alive);
        assert!(!h.expect_continue);
    }

    #[test]
    fn values_and_target_are_the_same_whether_copied_or_shared() {
        // One to five fields: below and above `SHARE_HEAD_FIELDS`.
        for n in 1..=5 {
            let fields: String = (0..n).map(|i| format!("X-F{i}: v{i} \t w\r\n")).collect();
            let text = format!("GET /p/q?r=s HTTP/1.1\r\n{fields}\r\n");
            let h = head(&text).unwrap().unwrap();
            assert_eq!(h.len, text.len());
            assert_eq!(h.request.uri().path(), "/p/q", "{n} fields");
            assert_eq!(h.request.uri().query(), Some("r=s"));
            let got: Vec<_> = h.request.headers().iter().collect();
            assert_eq!(got.len(), n);
            for (i, (name, value)) in got.into_iter().enumerate() {
                assert_eq!(name.as_str(), format!("x-f{i}"));
                // httparse trims the value's surrounding whitespace only.
                assert_eq!(value.as_bytes(), format!("v{i} \t w").as_bytes());
            }
            // A bad target is refused either way.
            let bad = format!("GET /a\u{7f}b HTTP/1.1\r\n{fields}\r\n");
            assert!(head(&bad).is_err(), "{n} fields");
        }
    }

    #[test]
    fn partial_heads_wait() {
        let full = "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n";
        for i in 0..full.len() {
            assert!(head(&full[..i]).unwrap().is_none(), "prefix {i}");
        }
        assert_eq!(head(full).unwrap().unwrap().framing, Framing::Length(3));
    }

    #[test]
    fn keep_alive_rules() {
        let ka = |s: &str| head(s).unwrap().unwrap().keep_alive;
        assert!(ka("GET / HTTP/1.1\r\n\r\n"));
        assert!(!ka("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n"));
        assert!(!ka("GET / HTTP/1.0\r\n\r\n"));
        assert!(ka("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
        assert!(!ka(
            "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"
        ));
    }

    #[test]
    fn framing_rules() {
        let f = |s: &str| head(s).map(|h| h.unwrap().framing);
        assert_eq!(
            f("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
            Ok(Framing::Empty)
        );
        assert_eq!(
            f("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n"),
            Ok(Framing::Length(5))
        );
        assert_eq!(
            f("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
            Err(StatusCode::BAD_REQUEST)
        );
        for bad in ["-1", "+1", "0x10", "", "1 2", "99999999999999999999999"] {
            assert_eq!(
                f(&format!("POST / HTTP/1.1\r\nContent-Length: {bad}\r\n\r\n")),
                Err(StatusCode::BAD_REQUEST),
                "{bad:?}"
            );
        }
        assert_eq!(
            f("POST / HTTP/1.1\r\nContent-Length: 8388609\r\n\r\n"),
            Err(StatusCode::PAYLOAD_TOO_LARGE)
        );
        assert_eq!(
            f("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            f("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"),
            Err(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            f("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
            Err(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            f("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Err(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            f("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            Err(StatusCode::NOT_IMPLEMENTED)
        );
        assert_eq!(
            f("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Err(StatusCode::BAD_REQUEST)
        );
    }

    #[test]
    fn expect_continue_only_with_a_body_on_1_1() {
        let e = |s: &str| head(s).unwrap().unwrap().expect_continue;
        assert!(e(
            "PUT / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n"
        ));
        assert!(!e("PUT / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"));
        assert!(!e(
            "PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n"
        ));
    }

    #[test]
    fn head_limits() {
        let limits = Limits {
            max_header_bytes: 32,
            ..Limits::default()
        };
        let exact = "GET / HTTP/1.1\r\nA: 123456789\r\n\r\n";
        assert_eq!(exact.len(), 32);
        assert!(parse_head(exact.as_bytes(), &limits, &mut None)
            .unwrap()
            .is_some());
        let over = "GET / HTTP/1.1\r\nA: 1234567890\r\n\r\n";
        assert_eq!(
            parse_head(over.as_bytes(), &limits, &mut None).unwrap_err(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
        let many: String = (0..=MAX_HEADERS).map(|i| format!("h{i}: v\r\n")).collect();
        assert_eq!(
            head(&format!("GET / HTTP/1.1\r\n{many}\r\n")).unwrap_err(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
    }

    #[test]
    fn malformed_heads() {
        for bad in [
            "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
            "GET / HTTP/2.0\r\n\r\n",
            "GET\r\n\r\n",
            "G(T / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
        ] {
            assert_eq!(head(bad).unwrap_err(), StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }

    #[test]
    fn chunk_lines() {
        assert_eq!(parse_chunk_line(b"1a\r\nxx"), Ok(Some((4, 26))));
        assert_eq!(parse_chunk_line(b"0\r\n"), Ok(Some((3, 0))));
        assert_eq!(
            parse_chunk_line(b"5;name=value;q=\"a b\"\r\n"),
            Ok(Some((22, 5)))
        );
        assert_eq!(parse_chunk_line(b"5 ; ext\r\n"), Ok(Some((9, 5))));
        assert_eq!(
            parse_chunk_line(b"ffffffffffffffff\r\n"),
            Ok(Some((18, u64::MAX)))
        );
        for partial in [&b""[..], b"5", b"5;", b"5;a=b", b"5\r"] {
            assert_eq!(parse_chunk_line(partial), Ok(None), "{partial:?}");
        }
        for bad in [
            &b"\r\n"[..],
            b";x\r\n",
            b"g\r\n",
            b"5\n",
            b"5\rx",
            b"5;a\nb\r\n",
            b"10000000000000000\r\n",
        ] {
            assert_eq!(
                parse_chunk_line(bad),
                Err(StatusCode::BAD_REQUEST),
                "{bad:?}"
            );
        }
        let long = vec![b'1'; MAX_CHUNK_LINE];
        assert_eq!(parse_chunk_line(&long), Err(StatusCode::BAD_REQUEST));
        let mut long_ext = b"1;".to_vec();
        long_ext.resize(MAX_CHUNK_LINE, b'a');
        assert_eq!(parse_chunk_line(&long_ext), Err(StatusCode::BAD_REQUEST));
    }

    #[test]
    fn trailers() {
        let l = Limits::default();
        assert_eq!(parse_trailers(b"\r\n", &l), Ok(Some(2)));
        assert_eq!(
            parse_trailers(b"A: b\r\nC: d\r\n\r\nnext", &l),
            Ok(Some(14))
        );
        assert_eq!(parse_trailers(b"A: b\r\n", &l), Ok(None));
        assert_eq!(
            parse_trailers(b"A b\r\n\r\n", &l),
            Err(StatusCode::BAD_REQUEST)
        );
    }
}
