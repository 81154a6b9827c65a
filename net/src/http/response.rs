//! Turning responses into bytes: the status line, the headers the server
//! owns (`Content-Length`, `Date`, `Connection`) and the handler's, appended
//! to the connection's output buffer without allocating.
//!
//! The server owns three headers:
//! * `Content-Length` is the length of the body. The handler's own value is
//!   dropped, except on a response to `HEAD` (whose empty body cannot say
//!   how long the `GET` body would be), and none is sent with
//!   `Transfer-Encoding` (the handler then frames the body itself: its bytes
//!   go out as they are) nor on 1xx and 204 responses;
//! * `Date` is added unless the handler set one;
//! * `Connection` is the server's decision: `close` on the last response of
//!   a connection, `keep-alive` to an HTTP/1.0 client that keeps the
//!   connection, nothing otherwise. The handler's `Connection` field is read
//!   (`close` closes the connection) but not copied.
//!
//! No body is sent for `HEAD`, 1xx, 204 and 304.

use ::http::header::{self, HeaderValue};
use ::http::{Response, StatusCode};

use super::date;

/// What the response says about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Persistence {
    /// HTTP/1.1 keep-alive: nothing to say.
    Default,
    /// An HTTP/1.0 client asked to keep the connection: `Connection: keep-alive`.
    KeepAlive,
    /// The connection closes after this response: `Connection: close`.
    Close,
}

/// The interim response to `Expect: 100-continue`.
pub(crate) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// What [`write_head`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    /// The body must follow (the caller writes it, so a large body need not
    /// be copied).
    pub(crate) body: bool,
    /// The response says `Connection: close`: the server's own decision, or
    /// the handler's `Connection` field listing `close`.
    pub(crate) close: bool,
}

/// Appends the status line and headers of `resp` to `out`.
///
/// `persistence` is what the server decided from the request; a handler's
/// `Connection: close` turns it into [`Persistence::Close`].
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    resp: &Response<Vec<u8>>,
    head_request: bool,
    mut persistence: Persistence,
) -> Head {
    let status = resp.status();
    if status == StatusCode::OK {
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(status.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
        out.extend_from_slice(b"\r\n");
    }

    let code = status.as_u16();
    let no_body = status.is_informational() || code == 204 || code == 304;
    let mut has_date = false;
    let mut has_te = false;
    let mut own_length: Option<&HeaderValue> = None;
    for (name, value) in resp.headers() {
        if name == header::CONTENT_LENGTH {
            own_length.get_or_insert(value);
            continue;
        }
        if name == header::CONNECTION {
            if has_token(value, b"close") {
                persistence = Persistence::Close;
            }
            continue;
        }
        has_date |= name == header::DATE;
        has_te |= name == header::TRANSFER_ENCODING;
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }

    if has_te || status.is_informational() || code == 204 {
        // No Content-Length: the handler frames the body, or there is none.
    } else if let (Some(v), true) = (own_length, head_request || code == 304) {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    } else if code != 304 {
        out.extend_from_slice(b"content-length: ");
        append_decimal(out, resp.body().len() as u64);
        out.extend_from_slice(b"\r\n");
    }
    if !has_date {
        out.extend_from_slice(b"date: ");
        date::append_now(out);
        out.extend_from_slice(b"\r\n");
    }
    match persistence {
        Persistence::Default => {}
        Persistence::KeepAlive => out.extend_from_slice(b"connection: keep-alive\r\n"),
        Persistence::Close => out.extend_from_slice(b"connection: close\r\n"),
    }
    out.extend_from_slice(b"\r\n");
    Head {
        body: !(head_request || no_body),
        close: persistence == Persistence::Close,
    }
}

/// Appends a complete, empty-bodied response with `status` (the server's
/// own answers: 400, 413, 431, 501, 500).
pub(crate) fn write_error(out: &mut Vec<u8>, status: StatusCode, persistence: Persistence) {
    let mut resp = Response::new(Vec::new());
    *resp.status_mut() = status;
    write_head(out, &resp, false, persistence);
}

/// Appends `n` in decimal (a small `itoa`).
pub(crate) fn append_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Whether the comma-separated header value lists `token`
/// (case-insensitively).
fn has_token(value: &HeaderValue, token: &[u8]) -> bool {
    value
        .as_bytes()
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(resp: &Response<Vec<u8>>, head: bool, p: Persistence) -> (String, bool) {
        let mut out = Vec::new();
        let body = write_head(&mut out, resp, head, p).body;
        let s = String::from_utf8(out).unwrap();
        // Blank out the date so the text is stable.
        let s = match s.find("date: ") {
            Some(i) if s[i + 6..].get(date::DATE_LEN - 4..date::DATE_LEN) == Some(" GMT") => {
                format!("{}DATE{}", &s[..i + 6], &s[i + 6 + date::DATE_LEN..])
            }
            _ => s,
        };
        (s, body)
    }

    #[test]
    fn decimal() {
        for n in [0u64, 7, 10, 99, 100, 12345, u64::MAX] {
            let mut out = Vec::new();
            append_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }

    #[test]
    fn ok_response() {
        let resp = Response::builder()
            .header("content-type", "text/plain")
            .header("content-length", "999")
            .header("connection", "keep-alive")
            .body(b"hello".to_vec())
            .unwrap();
        let (s, body) = render(&resp, false, Persistence::Default);
        assert_eq!(
            s,
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\ndate: DATE\r\n\r\n"
        );
        assert!(body);
        // HEAD keeps the handler's length but sends no body.
        let (s, body) = render(&resp, true, Persistence::Close);
        assert!(s.contains("content-length: 999\r\n"), "{s}");
        assert!(s.ends_with("connection: close\r\n\r\n"), "{s}");
        assert!(!body);
    }

    #[test]
    fn special_statuses() {
        let status = |code: u16| {
            Response::builder()
                .status(code)
                .body(b"x".to_vec())
                .unwrap()
        };
        let (s, body) = render(&status(204), false, Persistence::Default);
        assert_eq!(s, "HTTP/1.1 204 No Content\r\ndate: DATE\r\n\r\n");
        assert!(!body);
        let (s, body) = render(&status(304), false, Persistence::Default);
        assert!(!s.contains("content-length"));
        assert!(!body);
        let (s, _) = render(&status(599), false, Persistence::KeepAlive);
        assert!(s.starts_with("HTTP/1.1 599 \r\n"), "{s}");
        assert!(s.ends_with("connection: keep-alive\r\n\r\n"), "{s}");
        let te = Response::builder()
            .header("transfer-encoding", "chunked")
            .header("date", "custom")
            .body(b"0\r\n\r\n".to_vec())
            .unwrap();
        let (s, body) = render(&te, false, Persistence::Default);
        assert_eq!(
            s,
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ndate: custom\r\n\r\n"
        );
        assert!(body);
    }

    #[test]
    fn close_token() {
        let closes = |v: &str, p: Persistence| {
            let resp = Response::builder()
                .header("connection", v)
                .body(vec![])
                .unwrap();
            let mut out = Vec::new();
            let head = write_head(&mut out, &resp, false, p);
            let text = String::from_utf8(out).unwrap();
            // The handler's field is never copied; the server's decision is.
            assert_eq!(text.contains("connection: close\r\n"), head.close, "{text}");
            assert!(!text.contains(v), "{text}");
            head.close
        };
        assert!(closes("Close", Persistence::Default));
        assert!(closes("upgrade, close", Persistence::KeepAlive));
        assert!(!closes("keep-alive", Persistence::Default));
        assert!(closes("keep-alive", Persistence::Close));
    }
}
