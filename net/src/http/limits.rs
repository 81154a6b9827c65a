//! [`Limits`]: the bounds one HTTP connection enforces against its client.
//!
//! Every limit answers one question a hostile or broken client could
//! otherwise make unbounded: how much of a request head the server buffers,
//! how large a body it accepts, how long it waits for a head or an idle
//! client, and how many requests one connection may carry. The protocol
//! core (`conn`) reads them; nothing else does.

use std::time::Duration;

/// Bounds on what one connection of the HTTP server accepts and how long it
/// waits.
///
/// ```
/// use std::time::Duration;
/// use grove_net::http::Limits;
///
/// let limits = Limits {
///     max_body_bytes: 1 << 20,
///     keep_alive_timeout: Some(Duration::from_secs(5)),
///     ..Limits::default()
/// };
/// assert_eq!(limits.max_header_bytes, 16 * 1024);
/// ```
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request head (request line, headers and the blank line) and
    /// largest chunked-body trailer section, in bytes; a larger one is
    /// answered `431 Request Header Fields Too Large` and the connection
    /// closes. So is a head with more than 64 header fields. Default 16 KiB.
    pub max_header_bytes: usize,
    /// Largest request body, in bytes, after chunked decoding; a larger one
    /// is answered `413 Content Too Large` and the connection closes.
    /// A `Content-Length` above it is refused before any body byte is read
    /// (and before `100 Continue`). Default 8 MiB.
    pub max_body_bytes: usize,
    /// How long a client may take to send a complete request head, counted
    /// from the start of the connection for its first request and from the
    /// first byte of each later one; when it expires the connection closes
    /// without an answer. While a body is read it bounds each read (an
    /// inactivity timeout, not a deadline for the whole body). `None`
    /// waits forever; zero does not wait for bytes that have not arrived.
    /// Default 10 s.
    pub header_read_timeout: Option<Duration>,
    /// How long an idle keep-alive connection waits for the first byte of
    /// its next request before it closes. `None` waits forever; zero closes
    /// the connection as soon as it is idle. Default 60 s.
    pub keep_alive_timeout: Option<Duration>,
    /// The most requests one connection serves; the response to the last
    /// carries `Connection: close`. `None` (the default) is unlimited; the
    /// first request is always served, so `Some(0)` acts as `Some(1)`.
    pub max_requests_per_connection: Option<usize>,
}

impl Default for Limits {
    /// 16 KiB heads, 8 MiB bodies, 10 s to send a head, 60 s idle between
    /// requests, no cap on requests per connection.
    fn default() -> Limits {
        Limits {
            max_header_bytes: 16 * 1024,
            max_body_bytes: 8 * 1024 * 1024,
            header_read_timeout: Some(Duration::from_secs(10)),
            keep_alive_timeout: Some(Duration::from_secs(60)),
            max_requests_per_connection: None,
        }
    }
}
