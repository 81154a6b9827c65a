//! One HTTP/1.1 connection, transport-agnostic: [`serve_connection`] reads
//! requests from a [`Transport`], calls the handler, writes the responses,
//! and returns when the connection is done.
//!
//! ```text
//!            ┌──────────── keep-alive ◄─────────────────────┐
//!            ▼                                              │
//!   ┌─── read head ───┐  complete  ┌─ read body ─┐   ┌─ call handler ─┐
//!   │ keep_alive_     │──────────► │ header_read_│──►│ catch &str /   │
//!   │ timeout when    │            │ timeout per │   │ String panics  │
//!   │ idle, else      │            │ read        │   │ → 500          │
//!   │ header deadline │            └─────────────┘   └───────┬────────┘
//!   └──┬──────────┬───┘                                     │ append response
//!      │ EOF /    │ malformed / too large                   ▼
//!      │ timeout  └──► 400 / 413 / 431 / 501 + close    close requested?
//!      ▼                                                    │ yes → flush, Ok
//!   flush, Ok(())
//! ```
//!
//! Invariants:
//! * **Buffers belong to the thread while a connection waits for a
//!   request**: bytes after one request (pipelining) stay in the
//!   connection's read buffer and start the next; once it has consumed
//!   every byte and written every response, the connection gives both
//!   buffers back to its thread's cache and waits for readability
//!   ([`Transport::wait_readable`]) holding none, then reads into the
//!   buffer the thread used last. So idle connections cost no buffer
//!   memory and a busy thread reads and writes through cache-warm ones.
//!   The transport is read in large chunks, never byte by byte, and only
//!   when the buffered bytes cannot make progress.
//! * **Header maps are reused per worker thread**: the request owns its
//!   map and the handler keeps it, but the response's map comes back;
//!   emptied, it is kept in a one-map slot of the thread (a `Cell`, never
//!   borrowed across a switch) and holds the next request's headers,
//!   whichever connection that is. So serving a request does not allocate
//!   a map, and the map it fills is the one the thread used last, still in
//!   the cache. (A slot per connection also saved the allocation, but at
//!   1,000 connections its map was out of the cache by the connection's
//!   next request: loading it was 45 % of `parse_head`'s samples.)
//! * **Responses go out in request order, batched**: each response is
//!   appended to one output buffer, which is flushed only before the
//!   connection would block on a read (or when it grows past
//!   [`FLUSH_AT`], or at the end). A burst of pipelined requests is answered
//!   with one write. Bodies above [`COPY_BODY_MAX`] are written straight
//!   from the response instead of being copied.
//! * **Timeouts** (see [`Limits`]): while idle between requests the read
//!   timeout is `keep_alive_timeout`; while a head is incomplete it is what
//!   remains of `header_read_timeout`, counted from the start of the
//!   connection for the first request and from the first byte of later
//!   ones; while a body is read, `header_read_timeout` bounds each read. An
//!   expired read (`WouldBlock` or `TimedOut`) closes the connection without
//!   an answer. The transport's timeout is only set when it changes.
//! * **Errors**: a request the server refuses (400, 413, 431, 501) gets its
//!   status and `Connection: close`, then the connection closes (`Ok`). EOF
//!   or a timeout in the middle of a request has nobody to answer: `Ok`.
//!   Only transport errors return `Err`.
//! * **Handler panics**: a panic whose payload is a `&'static str` or a
//!   `String` (what `panic!` produces) becomes a 500 and the connection goes
//!   on serving. Any other payload is re-raised with
//!   [`resume_unwind`](std::panic::resume_unwind): grove kills green
//!   threads and enforces timeouts by unwinding with private payload types,
//!   and those must reach the runtime, not be swallowed as a 500.

use std::cell::{Cell, RefCell};
use std::io::{self, ErrorKind};
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use ::http::{HeaderMap, Method, Request, Response, StatusCode, Version};

use super::request::{self, Framing, Head};
use super::response::{self, Persistence};
use super::Limits;

/// Initial size of a connection's read buffer.
const READ_BUF: usize = 8 * 1024;
/// A read is not attempted into less free space than this: the buffer is
/// compacted or grown first.
const MIN_READ: usize = 2 * 1024;
/// The output buffer is flushed once it holds this much, even when more
/// pipelined requests are waiting.
const FLUSH_AT: usize = 64 * 1024;
/// Larger response bodies are written from the response, not copied into
/// the output buffer.
const COPY_BODY_MAX: usize = 16 * 1024;
/// Bodies are allocated up to this size from their `Content-Length`, and
/// grown as bytes arrive beyond it (a client cannot make the server reserve
/// `max_body_bytes` by announcing it).
const BODY_PREALLOC_MAX: usize = 64 * 1024;
/// A response's header map is kept for the next request only up to this
/// capacity, so one large response does not pin its storage in the
/// thread's slot.
const RECYCLE_HEADERS_MAX: usize = 64;

/// A byte stream the HTTP server can serve: std's blocking `Read` and
/// `Write` plus a read timeout with std's semantics (an expired read fails
/// with [`ErrorKind::WouldBlock`] or [`ErrorKind::TimedOut`]).
///
/// grove's `TcpStream` and `UnixStream` are transports, and so is anything
/// that wraps one (a TLS stream, a test double).
pub trait Transport: io::Read + io::Write {
    /// Sets the timeout of subsequent reads; `None` blocks indefinitely
    /// (as [`std::net::TcpStream::set_read_timeout`]). Never called with a
    /// zero duration.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;

    /// Waits until a read may find bytes (or the end of the stream, or an
    /// error), as a read with the current read timeout would wait, and
    /// fails as that read would on expiry; it may return although a read
    /// would still block.
    ///
    /// The server calls it before reading on a connection whose bytes it
    /// has all consumed, and holds no read buffer while it waits, so idle
    /// connections hold no buffers. The default returns at once: the read
    /// then waits instead, with a buffer held. grove's own server
    /// implements it for its TCP streams.
    fn wait_readable(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn wait_readable(&mut self) -> io::Result<()> {
        (**self).wait_readable()
    }
}

/// Serves HTTP/1.1 requests from `io` with `handler` until the connection
/// ends: the client closes it or asks to, it stays idle or slow past the
/// [`Limits`], it sends a request the server must refuse, or the handler's
/// response says `Connection: close`.
///
/// Returns `Ok(())` for all of those and `Err` only when the transport
/// fails. Keep-alive (HTTP/1.1 by default, HTTP/1.0 with
/// `Connection: keep-alive`), pipelining, `Content-Length` and chunked
/// bodies, `Expect: 100-continue` and `HEAD` are handled here; the handler
/// sees the decoded body and returns a whole response, whose
/// `Content-Length`, `Date` and `Connection` headers the server fills in.
///
/// A handler that panics with a `&str` or `String` message is answered 500
/// and the connection goes on; other panic payloads (such as grove's kill)
/// propagate.
///
/// ```
/// use std::io::{Read, Write};
/// use std::time::Duration;
/// use grove_net::http::{serve_connection, Limits, Transport};
///
/// struct Mem { input: std::io::Cursor<Vec<u8>>, output: Vec<u8> }
/// impl Read for Mem {
///     fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> { self.input.read(buf) }
/// }
/// impl Write for Mem {
///     fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> { self.output.write(buf) }
///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// }
/// impl Transport for Mem {
///     fn set_read_timeout(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
/// }
///
/// let mut mem = Mem {
///     input: std::io::Cursor::new(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
///     output: Vec::new(),
/// };
/// let hello = |_req: http::Request<Vec<u8>>| http::Response::new(b"hi".to_vec());
/// serve_connection(&mut mem, &hello, &Limits::default())?;
/// assert!(mem.output.starts_with(b"HTTP/1.1 200 OK\r\n"));
/// assert!(mem.output.ends_with(b"\r\n\r\nhi"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn serve_connection<T, H>(io: T, handler: &H, limits: &Limits) -> io::Result<()>
where
    T: Transport,
    H: Fn(Request<Vec<u8>>) -> Response<Vec<u8>>,
{
    let mut conn = Conn {
        io,
        limits,
        rbuf: ReadBuf::new(),
        wbuf: Vec::new(),
        timeout: None,
        head_deadline: None,
        served: 0,
    };
    // Pending responses are flushed before every read, so after a transport
    // error there is nothing left worth writing.
    conn.serve(handler)?;
    conn.flush()
}

/// What came of waiting for a part of a request.
#[derive(Debug)]
enum Step<T> {
    /// The part is complete.
    Ready(T),
    /// EOF or a timeout: close the connection without an answer.
    Close,
    /// Refuse the request with this status, then close.
    Reject(StatusCode),
}

/// What one read into the buffer brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filled {
    /// At least one byte.
    Data,
    /// The client closed its side.
    Eof,
    /// The read timed out.
    TimedOut,
}

/// Where the decoding of a chunked body stands.
#[derive(Debug, Clone, Copy)]
enum Chunked {
    /// Before a chunk-size line.
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// After a chunk's data, before its CRLF.
    DataEnd,
    /// After the last chunk, in the trailer section.
    Trailers,
}

/// The read buffer: `buf[start..end]` holds bytes read but not consumed.
/// `buf` is always fully initialised, so reads go straight into its tail.
/// With nothing unconsumed it may hold no storage at all (`buf` empty):
/// its storage went back to the thread's [`Buffers`], and [`spare`]
/// takes some again.
///
/// [`spare`]: ReadBuf::spare
#[derive(Debug)]
struct ReadBuf {
    /// Storage; its length is the capacity in use.
    buf: Vec<u8>,
    /// First unconsumed byte.
    start: usize,
    /// End of the bytes read.
    end: usize,
}

impl ReadBuf {
    fn new() -> ReadBuf {
        ReadBuf {
            buf: Vec::new(),
            start: 0,
            end: 0,
        }
    }

    /// The unconsumed bytes.
    fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn is_empty(&self) -> bool {
        self.start == self.end
    }

    fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.start);
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Free space to read into, at least [`MIN_READ`] bytes: the unconsumed
    /// bytes move to the front, and the buffer grows if that is not enough.
    /// The callers only read while the unconsumed bytes are below a limit,
    /// which bounds the growth.
    fn spare(&mut self) -> &mut [u8] {
        if self.buf.is_empty() {
            self.buf = Buffers::take_read();
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < MIN_READ {
            let len = (self.buf.len() * 2).max(self.end + MIN_READ);
            self.buf.resize(len, 0);
        }
        &mut self.buf[self.end..]
    }

    /// Gives the storage back to the thread's [`Buffers`] when it holds no
    /// unconsumed bytes.
    fn release(&mut self) {
        if self.is_empty() && !self.buf.is_empty() {
            Buffers::give_read(std::mem::take(&mut self.buf));
        }
    }
}

impl Drop for ReadBuf {
    fn drop(&mut self) {
        self.release();
    }
}

/// Each thread's spare connection buffers, so that a request is read into,
/// and its response written from, the buffers the thread used last, still
/// in the cache, and an idle connection holds none (a thousand idle
/// keep-alive connections would hold 12 MiB). A buffer is an owned `Vec`,
/// moved between a connection and this cache: a connection that waits with
/// unconsumed bytes, or with a response not yet written, keeps its own.
/// The cache is borrowed only inside `take_*` and `give_*`, which never
/// switch.
#[derive(Debug, Default)]
struct Buffers {
    /// Read buffers, each [`READ_BUF`] initialised bytes.
    read: Vec<Vec<u8>>,
    /// Empty write buffers of at least [`WRITE_BUF`] capacity.
    write: Vec<Vec<u8>>,
}

/// Initial capacity of a connection's output buffer.
const WRITE_BUF: usize = 4 * 1024;
/// Most spare buffers of each kind a thread keeps.
const SPARE_BUFFERS: usize = 16;
/// Write buffers that grew beyond this are freed rather than kept.
const KEEP_WRITE_BUF_MAX: usize = 4 * WRITE_BUF;

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
}

impl Buffers {
    fn take_read() -> Vec<u8> {
        Buffers::take(|b| &mut b.read).unwrap_or_else(|| vec![0; READ_BUF])
    }

    fn give_read(buf: Vec<u8>) {
        if buf.len() == READ_BUF {
            Buffers::keep(|b| &mut b.read, buf);
        }
    }

    fn take_write() -> Vec<u8> {
        Buffers::take(|b| &mut b.write).unwrap_or_else(|| Vec::with_capacity(WRITE_BUF))
    }

    fn give_write(buf: Vec<u8>) {
        debug_assert!(buf.is_empty());
        if (WRITE_BUF..=KEEP_WRITE_BUF_MAX).contains(&buf.capacity()) {
            Buffers::keep(|b| &mut b.write, buf);
        }
    }

    /// A spare buffer of the kind `spares` picks, if the thread has one.
    fn take(spares: fn(&mut Buffers) -> &mut Vec<Vec<u8>>) -> Option<Vec<u8>> {
        BUFFERS
            .try_with(|b| spares(&mut b.borrow_mut()).pop())
            .ok()
            .flatten()
    }

    /// Keeps `buf` among the spares `spares` picks, unless there are
    /// [`SPARE_BUFFERS`] already (or the thread is being torn down and has
    /// no cache): then it is freed.
    fn keep(spares: fn(&mut Buffers) -> &mut Vec<Vec<u8>>, buf: Vec<u8>) {
        let _ = BUFFERS.try_with(|b| {
            let mut b = b.borrow_mut();
            let spares = spares(&mut b);
            if spares.len() < SPARE_BUFFERS {
                spares.push(buf);
            }
        });
    }
}

/// The state of one connection.
#[derive(Debug)]
struct Conn<'l, T> {
    /// The transport.
    io: T,
    /// The bounds to enforce.
    limits: &'l Limits,
    /// Bytes read and not yet consumed.
    rbuf: ReadBuf,
    /// Responses not yet written (no storage while there are none: it went
    /// back to the thread's [`Buffers`]; [`out`](Conn::out) takes some).
    wbuf: Vec<u8>,
    /// The read timeout last set on the transport (`None`: never set).
    timeout: Option<Option<Duration>>,
    /// When the head being read must be complete (`None`: no head started,
    /// or no `header_read_timeout`).
    head_deadline: Option<Instant>,
    /// Requests handed to the handler so far.
    served: usize,
}

thread_local! {
    /// The last response's header map on this thread, emptied: the next
    /// request's headers go into it, instead of into a newly allocated one.
    static SPARE_HEADERS: Cell<Option<HeaderMap>> = const { Cell::new(None) };
}

impl<T: Transport> Conn<'_, T> {
    /// The request loop; returns when the connection should close.
    fn serve<H>(&mut self, handler: &H) -> io::Result<()>
    where
        H: Fn(Request<Vec<u8>>) -> Response<Vec<u8>>,
    {
        loop {
            let head = match self.read_head()? {
                Step::Ready(head) => head,
                Step::Close => return Ok(()),
                Step::Reject(status) => {
                    self.reject(status);
                    return Ok(());
                }
            };
            let Head {
                mut request,
                framing,
                keep_alive,
                expect_continue,
                ..
            } = head;
            if expect_continue {
                self.out().extend_from_slice(response::CONTINUE);
            }
            let body = match framing {
                Framing::Empty => Step::Ready(Vec::new()),
                Framing::Length(len) => self.read_body(len)?,
                Framing::Chunked => self.read_chunked()?,
            };
            match body {
                Step::Ready(body) => *request.body_mut() = body,
                Step::Close => return Ok(()),
                Step::Reject(status) => {
                    self.reject(status);
                    return Ok(());
                }
            }

            let head_request = request.method() == Method::HEAD;
            let http10 = request.version() == Version::HTTP_10;
            self.served += 1;
            let mut resp = call(handler, request);

            let last = self
                .limits
                .max_requests_per_connection
                .is_some_and(|max| self.served >= max);
            let persistence = match (!keep_alive || last, http10) {
                (true, _) => Persistence::Close,
                (false, true) => Persistence::KeepAlive,
                (false, false) => Persistence::Default,
            };
            if self.write_response(&resp, head_request, persistence)? {
                return Ok(());
            }
            if resp.headers().capacity() <= RECYCLE_HEADERS_MAX {
                let mut headers = std::mem::take(resp.headers_mut());
                headers.clear();
                SPARE_HEADERS.set(Some(headers));
            }
        }
    }

    /// Waits for the next complete request head.
    fn read_head(&mut self) -> io::Result<Step<Head>> {
        loop {
            if !self.rbuf.is_empty() {
                let mut spare = SPARE_HEADERS.take();
                let parsed = request::parse_head(self.rbuf.data(), self.limits, &mut spare);
                if spare.is_some() {
                    SPARE_HEADERS.set(spare);
                }
                match parsed {
                    Ok(Some(head)) => {
                        self.rbuf.consume(head.len);
                        self.head_deadline = None;
                        return Ok(Step::Ready(head));
                    }
                    Ok(None) => {}
                    Err(status) => return Ok(Step::Reject(status)),
                }
            }
            let timeout = if self.rbuf.is_empty() && self.served > 0 {
                // Idle between requests.
                self.limits.keep_alive_timeout
            } else {
                match (self.limits.header_read_timeout, self.head_deadline) {
                    (None, _) => None,
                    (Some(t), None) => {
                        self.head_deadline = Some(Instant::now() + t);
                        Some(t)
                    }
                    (Some(_), Some(deadline)) => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            tracing::debug!("http: request head timed out");
                            return Ok(Step::Close);
                        }
                        Some(left)
                    }
                }
            };
            match self.fill(timeout)? {
                Filled::Data => {}
                Filled::Eof => return Ok(Step::Close),
                Filled::TimedOut => {
                    tracing::debug!(served = self.served, "http: read timed out, closing");
                    return Ok(Step::Close);
                }
            }
        }
    }

    /// Reads a body of exactly `len` bytes.
    fn read_body(&mut self, len: usize) -> io::Result<Step<Vec<u8>>> {
        let mut body = Vec::with_capacity(len.min(BODY_PREALLOC_MAX));
        loop {
            let data = self.rbuf.data();
            let take = data.len().min(len - body.len());
            body.extend_from_slice(&data[..take]);
            self.rbuf.consume(take);
            if body.len() == len {
                return Ok(Step::Ready(body));
            }
            if self.fill(self.limits.header_read_timeout)? != Filled::Data {
                return Ok(Step::Close);
            }
        }
    }

    /// Reads and decodes a chunked body, trailers included (they are
    /// validated and dropped).
    fn read_chunked(&mut self) -> io::Result<Step<Vec<u8>>> {
        let max = self.limits.max_body_bytes as u64;
        let mut body = Vec::new();
        let mut state = Chunked::Size;
        loop {
            let data = self.rbuf.data();
            match state {
                Chunked::Size => match request::parse_chunk_line(data) {
                    Ok(Some((n, 0))) => {
                        self.rbuf.consume(n);
                        state = Chunked::Trailers;
                        continue;
                    }
                    Ok(Some((n, size))) => {
                        if size > max - body.len() as u64 {
                            return Ok(Step::Reject(StatusCode::PAYLOAD_TOO_LARGE));
                        }
                        self.rbuf.consume(n);
                        state = Chunked::Data(size);
                        continue;
                    }
                    Ok(None) => {}
                    Err(status) => return Ok(Step::Reject(status)),
                },
                Chunked::Data(left) => {
                    if !data.is_empty() {
                        // `take` <= data.len(), a usize.
                        let take = (data.len() as u64).min(left) as usize;
                        body.extend_from_slice(&data[..take]);
                        self.rbuf.consume(take);
                        state = match left - take as u64 {
                            0 => Chunked::DataEnd,
                            left => Chunked::Data(left),
                        };
                        continue;
                    }
                }
                Chunked::DataEnd => match data {
                    [b'\r', b'\n', ..] => {
                        self.rbuf.consume(2);
                        state = Chunked::Size;
                        continue;
                    }
                    [] | [b'\r'] => {}
                    _ => return Ok(Step::Reject(StatusCode::BAD_REQUEST)),
                },
                Chunked::Trailers => match request::parse_trailers(data, self.limits) {
                    Ok(Some(n)) => {
                        self.rbuf.consume(n);
                        return Ok(Step::Ready(body));
                    }
                    Ok(None) => {}
                    Err(status) => return Ok(Step::Reject(status)),
                },
            }
            if self.fill(self.limits.header_read_timeout)? != Filled::Data {
                return Ok(Step::Close);
            }
        }
    }

    /// Appends `resp` to the output (or writes it, for a large body), and
    /// returns whether it closes the connection.
    fn write_response(
        &mut self,
        resp: &Response<Vec<u8>>,
        head_request: bool,
        persistence: Persistence,
    ) -> io::Result<bool> {
        let head = response::write_head(self.out(), resp, head_request, persistence);
        let send_body = head.body;
        let body = resp.body();
        if send_body && body.len() > COPY_BODY_MAX {
            self.flush()?;
            self.io.write_all(body)?;
        } else {
            if send_body {
                self.wbuf.extend_from_slice(body);
            }
            if self.wbuf.len() >= FLUSH_AT {
                self.flush()?;
            }
        }
        Ok(head.close)
    }

    /// Answers a refused request with `status` and `Connection: close`.
    fn reject(&mut self, status: StatusCode) {
        tracing::debug!(%status, "http: refusing request");
        response::write_error(self.out(), status, Persistence::Close);
    }

    /// The output buffer, with storage from the thread's [`Buffers`] if it
    /// had none.
    fn out(&mut self) -> &mut Vec<u8> {
        if self.wbuf.capacity() == 0 {
            self.wbuf = Buffers::take_write();
        }
        &mut self.wbuf
    }

    /// Writes out the output buffer (emptied even when the write fails, so
    /// nothing is ever written twice).
    fn flush(&mut self) -> io::Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let written = self.io.write_all(&self.wbuf);
        self.wbuf.clear();
        written?;
        self.io.flush()
    }

    /// Flushes the pending responses (the connection is about to wait), then
    /// reads once into the buffer with `timeout`. A zero timeout does not
    /// wait at all (std refuses to set one). With no unconsumed bytes, both
    /// buffers go back to the thread's cache before the wait for bytes
    /// ([`Transport::wait_readable`]), and a read buffer is taken after it.
    fn fill(&mut self, timeout: Option<Duration>) -> io::Result<Filled> {
        self.flush()?;
        if timeout == Some(Duration::ZERO) {
            return Ok(Filled::TimedOut);
        }
        if self.timeout != Some(timeout) {
            self.io.set_read_timeout(timeout)?;
            self.timeout = Some(timeout);
        }
        self.release_out();
        if self.rbuf.is_empty() {
            self.rbuf.release();
            loop {
                match self.io.wait_readable() {
                    Ok(()) => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Self::read_failed(e),
                }
            }
        }
        loop {
            match self.io.read(self.rbuf.spare()) {
                Ok(0) => return Ok(Filled::Eof),
                Ok(n) => {
                    self.rbuf.end += n;
                    return Ok(Filled::Data);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Self::read_failed(e),
            }
        }
    }

    /// What a failed read (or wait for one) means: an expired timeout, or a
    /// transport error.
    fn read_failed(e: io::Error) -> io::Result<Filled> {
        match e.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => Ok(Filled::TimedOut),
            _ => Err(e),
        }
    }
}

impl<T> Conn<'_, T> {
    /// Gives the (empty) output buffer's storage back to the thread's
    /// [`Buffers`].
    fn release_out(&mut self) {
        if self.wbuf.capacity() != 0 {
            Buffers::give_write(std::mem::take(&mut self.wbuf));
        }
    }
}

impl<T> Drop for Conn<'_, T> {
    fn drop(&mut self) {
        // Unwritten bytes at this point have nowhere to go (a transport
        // error, or an unwinding kill).
        self.wbuf.clear();
        self.release_out();
    }
}

/// Calls the handler; a `&str` or `String` panic becomes a 500 response,
/// any other payload keeps unwinding (see the module docs).
fn call<H>(handler: &H, request: Request<Vec<u8>>) -> Response<Vec<u8>>
where
    H: Fn(Request<Vec<u8>>) -> Response<Vec<u8>>,
{
    match panic::catch_unwind(AssertUnwindSafe(|| handler(request))) {
        Ok(resp) => resp,
        Err(payload) => {
            let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
                *s
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.as_str()
            } else {
                // Possibly grove's kill or timeout: not ours to stop.
                panic::resume_unwind(payload)
            };
            tracing::error!(panic = message, "http: handler panicked, answering 500");
            let mut resp = Response::new(Vec::new());
            *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            resp
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transport that hands out `chunks` one read at a time and, each
    /// time the server waits for bytes, records how many spare read and
    /// write buffers the thread's cache holds.
    struct Script {
        chunks: std::collections::VecDeque<&'static [u8]>,
        output: Vec<u8>,
        waits: Vec<(usize, usize)>,
    }

    impl io::Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some(chunk) = self.chunks.pop_front() else {
                return Ok(0);
            };
            buf[..chunk.len()].copy_from_slice(chunk);
            Ok(chunk.len())
        }
    }

    impl io::Write for Script {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Transport for Script {
        fn set_read_timeout(&mut self, _: Option<Duration>) -> io::Result<()> {
            Ok(())
        }
        fn wait_readable(&mut self) -> io::Result<()> {
            let spare = BUFFERS.with(|b| {
                let b = b.borrow();
                (b.read.len(), b.write.len())
            });
            self.waits.push(spare);
            Ok(())
        }
    }

    fn hello(_: Request<Vec<u8>>) -> Response<Vec<u8>> {
        Response::new(b"hi".to_vec())
    }

    #[test]
    fn an_idle_connection_holds_no_buffers() {
        // libtest runs each test on a thread of its own: the cache starts
        // empty.
        let get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        let mut io = Script {
            chunks: [&get[..], &get[..10], &get[10..]].into(),
            output: Vec::new(),
            waits: Vec::new(),
        };
        serve_connection(&mut io, &hello, &Limits::default()).unwrap();
        let responses = String::from_utf8(io.output).unwrap();
        assert_eq!(responses.matches("HTTP/1.1 200 OK\r\n").count(), 2);
        // Waits: before the first request (nothing to give back yet), after
        // each one (both buffers given back, the same ones each time). The
        // read of the second request's tail found unconsumed bytes, so the
        // server read without waiting, buffer held.
        assert_eq!(io.waits, [(0, 0), (1, 1), (1, 1)]);
        // The connection's end gave nothing more back, and took nothing.
        BUFFERS.with(|b| {
            let b = b.borrow();
            assert_eq!((b.read.len(), b.write.len()), (1, 1));
        });
    }

    #[test]
    fn pipelined_requests_keep_their_buffers_until_all_are_answered() {
        let two = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
        let mut io = Script {
            chunks: [&two[..]].into(),
            output: Vec::new(),
            waits: Vec::new(),
        };
        serve_connection(&mut io, &hello, &Limits::default()).unwrap();
        let responses = String::from_utf8(io.output).unwrap();
        assert_eq!(responses.matches("HTTP/1.1 200 OK\r\n").count(), 2);
        // One wait before the burst, one after both answers: none between.
        assert_eq!(io.waits, [(0, 0), (1, 1)]);
    }
}
