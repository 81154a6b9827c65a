//! TLS over any grove stream (feature `tls`): [`TlsStream`], a client or
//! server TLS session (rustls, with the *ring* crypto provider) that owns
//! the stream it runs over — a [`TcpStream`](crate::TcpStream), a
//! [`UnixStream`](crate::UnixStream), `&TcpStream`, or anything else that
//! is `Read + Write`.
//!
//! It is blocking-style, like `rustls::StreamOwned`: [`TlsStream::connect`]
//! and [`TlsStream::accept`] run the whole handshake before they return, so
//! handshake failures (a certificate that does not verify, a protocol
//! mismatch, the peer hanging up) surface there; afterwards `Read`, `Write`
//! and `BufRead` move plaintext. Over grove's sockets the handshake and
//! every read and write suspend only the calling green thread, never the
//! worker, and a stream's read and write timeouts apply to the TLS I/O done
//! on it (expiry is `ErrorKind::WouldBlock`, and the stream stays usable).
//!
//! A `TlsStream` holds one TLS session state, which every read and write
//! advances, so it is used from one green thread at a time: unlike
//! `TcpStream`, `&TlsStream` is neither `Read` nor `Write`, and there is no
//! `try_clone`. It may move between green threads and workers.
//!
//! Errors: a TLS protocol failure (including a certificate that does not
//! verify) is `ErrorKind::InvalidData` carrying the `rustls::Error`; a
//! server name that is not a valid DNS name or IP address, or a config
//! rustls refuses, is `InvalidInput`; a peer that closes the connection
//! without `close_notify` is `UnexpectedEof`; I/O errors of the underlying
//! stream pass through unchanged.
//!
//! rustls is re-exported as [`tls::rustls`](rustls) so callers build
//! configs with the same version; [`client_config_with_roots`] and
//! [`server_config_with_cert`] cover the common cases.
//!
//! ```
//! use std::io::{Read, Write};
//! use grove_net::tls::{self, rustls, TlsStream};
//! use grove_net::{TcpListener, TcpStream};
//!
//! // A self-signed certificate for "localhost", trusted by the client.
//! let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
//! let key = rustls::pki_types::PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der());
//! let server_config = tls::server_config_with_cert(vec![cert.cert.der().clone()], key.into())?;
//! let mut roots = rustls::RootCertStore::empty();
//! roots.add(cert.cert.der().clone()).unwrap();
//! let client_config = tls::client_config_with_roots(roots);
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! let server = grove_runtime::spawn(move || -> std::io::Result<()> {
//!     let (tcp, _) = listener.accept()?;
//!     let mut tls = TlsStream::accept(server_config, tcp)?;
//!     let mut line = [0u8; 5];
//!     tls.read_exact(&mut line)?;
//!     tls.write_all(&line)?;
//!     tls.shutdown()
//! });
//!
//! let mut tls = TlsStream::connect(client_config, "localhost", TcpStream::connect(addr)?)?;
//! tls.write_all(b"hello")?;
//! let mut back = Vec::new();
//! tls.read_to_end(&mut back)?; // up to the server's close_notify
//! assert_eq!(back, b"hello");
//! server.join().unwrap()?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::io::{self, BufRead, IoSlice, Read, Write};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{
    ClientConfig, ClientConnection, Connection, RootCertStore, ServerConfig, ServerConnection,
};

/// The rustls crate this module is built on, re-exported so that configs,
/// certificates and keys are made with the same version.
///
/// ```
/// use grove_net::tls::rustls;
/// let roots = rustls::RootCertStore::empty();
/// assert!(roots.is_empty());
/// ```
pub use rustls;

/// A TLS session over a stream `S`: plaintext in and out through `Read`,
/// `BufRead` and `Write`, TLS records on `S`.
///
/// Made by [`connect`](TlsStream::connect) (client side) or
/// [`accept`](TlsStream::accept) (server side), both of which finish the
/// handshake first. `write` encrypts and sends at once, as a `TcpStream`
/// write does; [`flush`](Write::flush) reports whether everything was sent.
/// [`shutdown`](TlsStream::shutdown) sends `close_notify`, after which the
/// peer reads `Ok(0)`; dropping the stream without it closes the socket
/// only, which the peer reads as `UnexpectedEof`.
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
/// use grove_net::tls::{self, rustls, TlsStream};
/// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
/// # let key = rustls::pki_types::PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der());
/// # let server_config = tls::server_config_with_cert(vec![cert.cert.der().clone()], key.into())?;
/// # let mut roots = rustls::RootCertStore::empty();
/// # roots.add(cert.cert.der().clone()).unwrap();
/// # let client_config = tls::client_config_with_roots(roots);
///
/// // Any grove stream will do; here, one end of a Unix socket pair each.
/// let (a, b) = grove_net::UnixStream::pair()?;
/// let server = grove_runtime::spawn(move || -> std::io::Result<()> {
///     let mut tls = TlsStream::accept(server_config, b)?;
///     tls.write_all(b"220 ready\r\n")?;
///     tls.shutdown()
/// });
/// let tls = TlsStream::connect(client_config, "localhost", a)?;
/// let mut reader = BufReader::new(tls);
/// let mut line = String::new();
/// reader.read_line(&mut line)?;
/// assert_eq!(line, "220 ready\r\n");
/// // Keep our end open until the server has sent its close_notify: closed
/// // early, its shutdown could fail with a broken pipe.
/// server.join().unwrap()?;
/// drop(reader);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TlsStream<S> {
    conn: Connection,
    sock: S,
    /// `shutdown` sent `close_notify`: writing more is refused.
    write_closed: bool,
}

impl<S: Read + Write> TlsStream<S> {
    /// Runs the client side of a TLS handshake over `sock`, verifying the
    /// server's certificate against `config` and `server_name` (a DNS name
    /// or an IP address), and returns the established session. Suspends
    /// the calling green thread while it waits for the server.
    ///
    /// Errors: an invalid `server_name` is `InvalidInput`; a certificate
    /// that does not verify, or any other TLS failure, is `InvalidData`
    /// (the server is sent the matching alert); EOF from the server during
    /// the handshake is `UnexpectedEof`.
    ///
    /// ```no_run
    /// use std::io::Write;
    /// use grove_net::tls::{self, rustls, TlsStream};
    ///
    /// // The CA's certificate, DER-encoded.
    /// let ca_der = rustls::pki_types::CertificateDer::from(std::fs::read("ca.der")?);
    /// let mut roots = rustls::RootCertStore::empty();
    /// roots.add(ca_der).unwrap();
    /// let config = tls::client_config_with_roots(roots);
    /// let tcp = grove_net::TcpStream::connect("example.com:443")?;
    /// let mut tls = TlsStream::connect(config, "example.com", tcp)?;
    /// tls.write_all(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect(
        config: Arc<ClientConfig>,
        server_name: &str,
        sock: S,
    ) -> io::Result<TlsStream<S>> {
        let name = ServerName::try_from(server_name)
            .map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("invalid TLS server name {server_name:?}: {e}"),
                )
            })?
            .to_owned();
        let conn = ClientConnection::new(config, name).map_err(invalid_input)?;
        TlsStream::handshake(Connection::Client(conn), sock)
    }

    /// Runs the server side of a TLS handshake over `sock` (typically a
    /// freshly accepted connection) with `config`, and returns the
    /// established session. Suspends the calling green thread while it
    /// waits for the client.
    ///
    /// Errors: a TLS failure, including the client rejecting the
    /// certificate (a fatal alert from it), is `InvalidData`; EOF from the
    /// client during the handshake is `UnexpectedEof`.
    ///
    /// ```no_run
    /// use std::io::{Read, Write};
    /// use grove_net::tls::{self, rustls, TlsStream};
    ///
    /// use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    ///
    /// // The server's certificate and its key (PKCS#8), DER-encoded.
    /// let chain = vec![CertificateDer::from(std::fs::read("cert.der")?)];
    /// let key = PrivateKeyDer::try_from(std::fs::read("key.der")?)
    ///     .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    /// let config = tls::server_config_with_cert(chain, key)?;
    /// let listener = grove_net::TcpListener::bind("127.0.0.1:8443")?;
    /// for tcp in listener.incoming() {
    ///     let (tcp, config) = (tcp?, config.clone());
    ///     grove_runtime::spawn(move || -> std::io::Result<()> {
    ///         let mut tls = TlsStream::accept(config, tcp)?;
    ///         let mut buf = [0u8; 4096];
    ///         loop {
    ///             let n = tls.read(&mut buf)?;
    ///             if n == 0 {
    ///                 return tls.shutdown();
    ///             }
    ///             tls.write_all(&buf[..n])?;
    ///         }
    ///     });
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept(config: Arc<ServerConfig>, sock: S) -> io::Result<TlsStream<S>> {
        let conn = ServerConnection::new(config).map_err(invalid_input)?;
        TlsStream::handshake(Connection::Server(conn), sock)
    }

    fn handshake(conn: Connection, sock: S) -> io::Result<TlsStream<S>> {
        let mut tls = TlsStream {
            conn,
            sock,
            write_closed: false,
        };
        while tls.conn.is_handshaking() {
            // Our flight first: the peer may be waiting for it.
            tls.write_pending()?;
            match tls.conn.read_tls(&mut tls.sock) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "peer closed the connection during the TLS handshake",
                    ))
                }
                Ok(_) => tls.process()?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        // The last of our handshake messages (the client's Finished, the
        // server's session tickets).
        tls.write_pending()?;
        Ok(tls)
    }

    /// Sends `close_notify`, telling the peer that no more data follows
    /// (its reads then return `Ok(0)`), and writes out everything pending.
    /// Reading remains possible until the peer closes its side; further
    /// writes fail with `BrokenPipe`. The underlying stream stays open
    /// until the `TlsStream` is dropped.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use grove_net::tls::{self, rustls, TlsStream};
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// # let key = rustls::pki_types::PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der());
    /// # let server_config = tls::server_config_with_cert(vec![cert.cert.der().clone()], key.into())?;
    /// # let mut roots = rustls::RootCertStore::empty();
    /// # roots.add(cert.cert.der().clone()).unwrap();
    /// # let client_config = tls::client_config_with_roots(roots);
    /// let (a, b) = grove_net::UnixStream::pair()?;
    /// let server = grove_runtime::spawn(move || -> std::io::Result<usize> {
    ///     let mut tls = TlsStream::accept(server_config, b)?;
    ///     tls.read(&mut [0u8; 16]) // the client's close_notify: Ok(0)
    /// });
    /// let mut tls = TlsStream::connect(client_config, "localhost", a)?;
    /// tls.shutdown()?;
    /// assert_eq!(server.join().unwrap()?, 0);
    /// assert_eq!(tls.write(b"late").unwrap_err().kind(), std::io::ErrorKind::BrokenPipe);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        self.write_closed = true;
        self.write_pending()?;
        self.sock.flush()
    }

    /// Writes all TLS records rustls has queued to the stream.
    fn write_pending(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Processes the records read so far; on a TLS error, makes a last try
    /// at sending the alert rustls queued for the peer.
    fn process(&mut self) -> io::Result<()> {
        match self.conn.process_new_packets() {
            Ok(_) => Ok(()),
            Err(e) => {
                let _ = self.write_pending();
                Err(io::Error::new(io::ErrorKind::InvalidData, e))
            }
        }
    }

    /// Reads and decrypts until there is plaintext to return, the peer has
    /// sent `close_notify` (`Ok` with nothing buffered) or an error.
    fn fill(&mut self) -> io::Result<()> {
        loop {
            match self.conn.reader().into_first_chunk() {
                // Plaintext, or a clean close.
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // UnexpectedEof: the peer hung up without close_notify.
                Err(e) => return Err(e),
            }
            // A connection that already failed reports its error (this does
            // no I/O) rather than reading the stream again.
            self.conn.writer().flush()?;
            // Replies rustls queued while processing (alerts, key updates).
            self.write_pending()?;
            match self.conn.read_tls(&mut self.sock) {
                // Ok(0) is EOF, which rustls records for the reader.
                Ok(_) => self.process()?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Queues the plaintext `write` accepted and sends it at once; a
    /// failure to send is reported by the next write or flush, since the
    /// bytes were already taken.
    fn send(
        &mut self,
        write: impl FnOnce(&mut Connection) -> io::Result<usize>,
    ) -> io::Result<usize> {
        if self.write_closed {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "TLS stream was shut down for writing",
            ));
        }
        self.write_pending()?;
        let n = write(&mut self.conn)?;
        let _ = self.write_pending();
        Ok(n)
    }
}

impl<S> TlsStream<S> {
    /// The underlying stream, e.g. to read its address or set its
    /// timeouts. Reading or writing it directly corrupts the TLS session.
    ///
    /// ```
    /// use std::time::Duration;
    /// use grove_net::tls::{self, rustls, TlsStream};
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// # let key = rustls::pki_types::PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der());
    /// # let server_config = tls::server_config_with_cert(vec![cert.cert.der().clone()], key.into())?;
    /// # let mut roots = rustls::RootCertStore::empty();
    /// # roots.add(cert.cert.der().clone()).unwrap();
    /// # let client_config = tls::client_config_with_roots(roots);
    /// let (a, b) = grove_net::UnixStream::pair()?;
    /// let server = grove_runtime::spawn(move || TlsStream::accept(server_config, b).map(drop));
    /// let tls = TlsStream::connect(client_config, "localhost", a)?;
    /// tls.get_ref().set_read_timeout(Some(Duration::from_secs(30)))?;
    /// assert_eq!(tls.get_ref().read_timeout()?, Some(Duration::from_secs(30)));
    /// server.join().unwrap()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.sock
    }

    /// The underlying stream, mutably. Reading or writing it directly
    /// corrupts the TLS session.
    ///
    /// ```
    /// use grove_net::tls::{self, rustls, TlsStream};
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// # let key = rustls::pki_types::PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der());
    /// # let server_config = tls::server_config_with_cert(vec![cert.cert.der().clone()], key.into())?;
    /// # let mut roots = rustls::RootCertStore::empty();
    /// # roots.add(cert.cert.der().clone()).unwrap();
    /// # let client_config = tls::client_config_with_roots(roots);
    /// let (a, b) = grove_net::UnixStream::pair()?;
    /// let server = grove_runtime::spawn(move || TlsStream::accept(server_config, b).map(drop));
    /// let mut tls = TlsStream::connect(client_config, "localhost", a)?;
    /// let sock: &mut grove_net::UnixStream = tls.get_mut();
    /// sock.set_nonblocking(false)?;
    /// server.join().unwrap()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.sock
    }

    /// The rustls session, for what this type does not wrap: the protocol
    /// version and cipher suite (through `Deref` to `CommonState`), the
    /// server name the client asked for (`Connection::Server`), keying
    /// material export.
    ///
    /// ```
    /// use grove_net::tls::{self, rustls, TlsStream};
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// # let key = rustls::pki_types::PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der());
    /// # let server_config = tls::server_config_with_cert(vec![cert.cert.der().clone()], key.into())?;
    /// # let mut roots = rustls::RootCertStore::empty();
    /// # roots.add(cert.cert.der().clone()).unwrap();
    /// # let client_config = tls::client_config_with_roots(roots);
    /// let (a, b) = grove_net::UnixStream::pair()?;
    /// let server = grove_runtime::spawn(move || -> std::io::Result<Option<String>> {
    ///     let tls = TlsStream::accept(server_config, b)?;
    ///     Ok(match tls.connection() {
    ///         rustls::Connection::Server(s) => s.server_name().map(str::to_owned),
    ///         rustls::Connection::Client(_) => unreachable!(),
    ///     })
    /// });
    /// let tls = TlsStream::connect(client_config, "localhost", a)?;
    /// assert_eq!(tls.connection().protocol_version(), Some(rustls::ProtocolVersion::TLSv1_3));
    /// assert_eq!(server.join().unwrap()?.as_deref(), Some("localhost"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The application protocol agreed by ALPN, if the configs offered
    /// any and the two sides had one in common.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use grove_net::tls::{self, rustls, TlsStream};
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// # let key = rustls::pki_types::PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der());
    /// # let mut server_config = tls::server_config_with_cert(vec![cert.cert.der().clone()], key.into())?;
    /// # let mut roots = rustls::RootCertStore::empty();
    /// # roots.add(cert.cert.der().clone()).unwrap();
    /// let mut client_config = tls::client_config_with_roots(roots);
    /// Arc::make_mut(&mut client_config).alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    /// Arc::make_mut(&mut server_config).alpn_protocols = vec![b"http/1.1".to_vec()];
    ///
    /// let (a, b) = grove_net::UnixStream::pair()?;
    /// let server = grove_runtime::spawn(move || TlsStream::accept(server_config, b).map(drop));
    /// let tls = TlsStream::connect(client_config, "localhost", a)?;
    /// assert_eq!(tls.alpn_protocol(), Some(&b"http/1.1"[..]));
    /// server.join().unwrap()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    /// The certificate chain the peer presented, its own certificate
    /// first: always there on the client side; on the server side only if
    /// the config asked for client certificates.
    ///
    /// ```
    /// use grove_net::tls::{self, rustls, TlsStream};
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// # let key = rustls::pki_types::PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der());
    /// # let server_config = tls::server_config_with_cert(vec![cert.cert.der().clone()], key.into())?;
    /// # let mut roots = rustls::RootCertStore::empty();
    /// # roots.add(cert.cert.der().clone()).unwrap();
    /// # let client_config = tls::client_config_with_roots(roots);
    /// let (a, b) = grove_net::UnixStream::pair()?;
    /// let server = grove_runtime::spawn(move || -> std::io::Result<bool> {
    ///     Ok(TlsStream::accept(server_config, b)?.peer_certificates().is_none())
    /// });
    /// let tls = TlsStream::connect(client_config, "localhost", a)?;
    /// assert_eq!(tls.peer_certificates(), Some(&[cert.cert.der().clone()][..]));
    /// assert!(server.join().unwrap()?); // no client authentication
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.conn.peer_certificates()
    }
}

impl<S: Read + Write> Read for TlsStream<S> {
    /// Reads plaintext, suspending the green thread until some arrives;
    /// `Ok(0)` once the peer has sent `close_notify`.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.fill()?;
        self.conn.reader().read(buf)
    }
}

impl<S: Read + Write> BufRead for TlsStream<S> {
    /// The decrypted plaintext rustls holds, reading more first if there
    /// is none; empty once the peer has sent `close_notify`.
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.fill()?;
        self.conn.reader().into_first_chunk()
    }

    fn consume(&mut self, amt: usize) {
        self.conn.reader().consume(amt);
    }
}

impl<S: Read + Write> Write for TlsStream<S> {
    /// Encrypts and sends up to 64 KiB of `buf`; fails with `BrokenPipe`
    /// after [`shutdown`](TlsStream::shutdown).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.send(|conn| conn.writer().write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Ok(0);
        }
        self.send(|conn| conn.writer().write_vectored(bufs))
    }

    /// Sends every pending TLS record and flushes the stream; reports an
    /// earlier send failure or TLS error.
    fn flush(&mut self) -> io::Result<()> {
        self.write_pending()?;
        self.sock.flush()?;
        // No I/O: the error the session failed with, if any.
        self.conn.writer().flush()
    }
}

impl<S: fmt::Debug> fmt::Debug for TlsStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = match self.conn {
            Connection::Client(_) => "client",
            Connection::Server(_) => "server",
        };
        f.debug_struct("TlsStream")
            .field("side", &side)
            .field("protocol_version", &self.conn.protocol_version())
            .field("sock", &self.sock)
            .finish_non_exhaustive()
    }
}

fn invalid_input(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e)
}

/// A client config that trusts the certificate authorities in `roots`,
/// with the *ring* crypto provider (no process-wide default provider is
/// used or installed), TLS 1.3 and 1.2, and no client certificate.
///
/// To offer ALPN protocols or change other settings, use
/// `Arc::make_mut` on the result, or build a `rustls::ClientConfig` with
/// rustls's own builder.
///
/// ```
/// use grove_net::tls::{self, rustls};
/// let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
/// let mut roots = rustls::RootCertStore::empty();
/// roots.add(cert.cert.der().clone()).unwrap();
/// let config = tls::client_config_with_roots(roots);
/// assert!(config.alpn_protocols.is_empty());
/// ```
pub fn client_config_with_roots(roots: RootCertStore) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// A server config that presents `cert_chain` (the server's own
/// certificate first) with its private `key`, with the *ring* crypto
/// provider, TLS 1.3 and 1.2, and no client authentication.
///
/// A key that rustls cannot use, or that does not match the certificate,
/// is `InvalidInput`.
///
/// ```
/// use grove_net::tls::{self, rustls};
/// let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
/// let key = rustls::pki_types::PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der());
/// let config = tls::server_config_with_cert(vec![cert.cert.der().clone()], key.into())?;
///
/// let other = rcgen::generate_simple_self_signed(vec!["other".into()]).unwrap();
/// let wrong = rustls::pki_types::PrivatePkcs8KeyDer::from(other.key_pair.serialize_der());
/// let e = tls::server_config_with_cert(vec![cert.cert.der().clone()], wrong.into()).unwrap_err();
/// assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn server_config_with_cert(
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> io::Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(invalid_input)?
        .with_no_client_auth()
        .with_single_cert(cert_chain, key)
        .map_err(invalid_input)?;
    Ok(Arc::new(config))
}
