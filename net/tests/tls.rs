//! `grove_net::tls::TlsStream` over grove streams: echo round trips over
//! TCP and a Unix socket pair, concurrent clients, certificate rejection,
//! `close_notify` versus a bare EOF, and timeouts.
//!
//! Every socket gets read and write timeouts of [`LIMIT`], so a bug fails a
//! test with `WouldBlock` instead of hanging it; nothing sleeps.

#![cfg(feature = "tls")]

use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use grove_net::tls::{self, rustls, TlsStream};
use grove_net::{TcpListener, TcpStream, UnixStream};
use grove_runtime::JoinHandle;
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// The longest any single read or write may wait.
const LIMIT: Duration = Duration::from_secs(30);

/// Frame sizes for the round trips: empty, tiny, around the 16 KiB TLS
/// record limit, and well past rustls's 64 KiB buffers.
const SIZES: &[usize] = &[0, 1, 100, 16_384, 16_385, 70_000, 300_000];

/// A self-signed certificate for "localhost" and configs that use it.
struct Pki {
    cert: CertificateDer<'static>,
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
}

fn pki() -> Pki {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = ck.cert.der().clone();
    let key = PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der());
    let server = tls::server_config_with_cert(vec![cert.clone()], key.into()).unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    Pki {
        cert,
        server,
        client: tls::client_config_with_roots(roots),
    }
}

fn bounded_tcp(s: &TcpStream) {
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.set_write_timeout(Some(LIMIT)).unwrap();
}

fn bounded_unix(s: &UnixStream) {
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.set_write_timeout(Some(LIMIT)).unwrap();
}

/// Deterministic bytes that differ per `seed`.
fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn write_frame(w: &mut impl Write, data: &[u8]) -> io::Result<()> {
    w.write_all(&u32::try_from(data.len()).unwrap().to_be_bytes())?;
    w.write_all(data)?;
    w.flush()
}

/// One length-prefixed frame, or `None` on a clean end of stream between
/// frames.
fn read_frame(r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    if r.read(&mut len[..1])? == 0 {
        return Ok(None);
    }
    r.read_exact(&mut len[1..])?;
    let mut data = vec![0u8; u32::from_be_bytes(len) as usize];
    r.read_exact(&mut data)?;
    Ok(Some(data))
}

fn reversed(data: &[u8]) -> Vec<u8> {
    data.iter().rev().copied().collect()
}

/// The server side: answers each frame with its reverse (having read all
/// of it first, so neither side needs to read and write at once) until the
/// client's `close_notify`, then sends its own. Returns the frame count.
fn serve<S: Read + Write>(mut tls: TlsStream<S>) -> io::Result<usize> {
    assert!(tls.peer_certificates().is_none(), "no client auth");
    let mut frames = 0;
    while let Some(frame) = read_frame(&mut tls)? {
        write_frame(&mut tls, &reversed(&frame))?;
        frames += 1;
    }
    tls.shutdown()?;
    Ok(frames)
}

/// The client side: sends each size's payload, checks the reply, then
/// closes with `close_notify` and expects the server's.
fn exchange<S: Read + Write>(tls: &mut TlsStream<S>, sizes: &[usize], seed: u64) -> io::Result<()> {
    for (i, &size) in sizes.iter().enumerate() {
        let data = payload(size, seed + i as u64);
        write_frame(tls, &data)?;
        let back = read_frame(tls)?.expect("a reply frame");
        assert_eq!(back.len(), size);
        assert!(
            back == reversed(&data),
            "reply to the {size}-byte frame differs"
        );
    }
    tls.shutdown()?;
    assert_eq!(tls.read(&mut [0u8; 16])?, 0, "the server's close_notify");
    assert_eq!(tls.read(&mut [0u8; 16])?, 0, "end of stream stays put");
    Ok(())
}

/// Accepts `conns` connections, each served by its own green thread, and
/// returns every handler's result.
fn echo_server(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    conns: usize,
) -> JoinHandle<Vec<io::Result<usize>>> {
    grove_runtime::spawn(move || {
        let handlers: Vec<_> = (0..conns)
            .map(|_| {
                let (tcp, _) = listener.accept().unwrap();
                bounded_tcp(&tcp);
                let config = config.clone();
                grove_runtime::spawn(move || serve(TlsStream::accept(config, tcp)?))
            })
            .collect();
        handlers.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn connect(addr: SocketAddr, config: Arc<ClientConfig>) -> io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr)?;
    bounded_tcp(&tcp);
    TlsStream::connect(config, "localhost", tcp)
}

fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

#[test]
fn round_trip_over_tcp() {
    let pki = pki();
    let (l, addr) = listener();
    let server = echo_server(l, pki.server.clone(), 1);
    let client = grove_runtime::spawn(move || -> io::Result<()> {
        let mut tls = connect(addr, pki.client)?;
        assert_eq!(tls.peer_certificates(), Some(&[pki.cert][..]));
        assert_eq!(tls.alpn_protocol(), None);
        assert!(format!("{tls:?}").contains("client"));
        exchange(&mut tls, SIZES, 1)
    });
    client.join().unwrap().unwrap();
    let results = server.join().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(*results[0].as_ref().unwrap(), SIZES.len());
}

#[test]
fn concurrent_clients() {
    const CLIENTS: usize = 20;
    let pki = pki();
    let (l, addr) = listener();
    let server = echo_server(l, pki.server.clone(), CLIENTS);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let config = pki.client.clone();
            grove_runtime::spawn(move || -> io::Result<()> {
                let mut tls = connect(addr, config)?;
                exchange(&mut tls, &[1, 1_000, 70_000], 100 * i as u64)
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap().unwrap();
    }
    for r in server.join().unwrap() {
        assert_eq!(r.unwrap(), 3);
    }
}

/// Runs one handshake the client must refuse, keeping the client's socket
/// open until the server has seen the refusal; returns both errors.
fn refused_handshake(
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    name: &str,
) -> (io::Error, io::Error) {
    let (l, addr) = listener();
    let server = grove_runtime::spawn(move || {
        let (tcp, _) = l.accept().unwrap();
        bounded_tcp(&tcp);
        TlsStream::accept(server, tcp).map(drop)
    });
    let tcp = TcpStream::connect(addr).unwrap();
    bounded_tcp(&tcp);
    // `&TcpStream` is a stream too; owning `tcp` here keeps it open.
    let client_err = TlsStream::connect(client, name, &tcp).unwrap_err();
    let server_err = server.join().unwrap().unwrap_err();
    drop(tcp);
    (client_err, server_err)
}

fn rustls_error(e: &io::Error) -> &rustls::Error {
    e.get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .unwrap_or_else(|| panic!("not a rustls error: {e:?}"))
}

#[test]
fn client_rejects_certificate_for_another_name() {
    let pki = pki();
    let (client_err, server_err) = refused_handshake(pki.client, pki.server, "example.com");
    assert_eq!(
        client_err.kind(),
        io::ErrorKind::InvalidData,
        "{client_err}"
    );
    assert!(
        matches!(
            rustls_error(&client_err),
            rustls::Error::InvalidCertificate(_)
        ),
        "{client_err:?}"
    );
    // The client's alert reaches the server.
    assert_eq!(
        server_err.kind(),
        io::ErrorKind::InvalidData,
        "{server_err}"
    );
    assert!(
        matches!(rustls_error(&server_err), rustls::Error::AlertReceived(_)),
        "{server_err:?}"
    );
}

#[test]
fn client_rejects_untrusted_certificate() {
    let pki = pki();
    let stranger = tls::client_config_with_roots(RootCertStore::empty());
    let (client_err, server_err) = refused_handshake(stranger, pki.server, "localhost");
    assert_eq!(
        client_err.kind(),
        io::ErrorKind::InvalidData,
        "{client_err}"
    );
    assert!(
        matches!(
            rustls_error(&client_err),
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        ),
        "{client_err:?}"
    );
    assert_eq!(
        server_err.kind(),
        io::ErrorKind::InvalidData,
        "{server_err}"
    );
}

#[test]
fn invalid_server_name_is_invalid_input() {
    let pki = pki();
    let (a, _b) = UnixStream::pair().unwrap();
    let e = TlsStream::connect(pki.client, "not a host name!", a).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
}

#[test]
fn handshake_with_a_peer_that_hangs_up_is_unexpected_eof() {
    let pki = pki();
    let (a, mut b) = UnixStream::pair().unwrap();
    bounded_unix(&a);
    bounded_unix(&b);
    // Not a TLS server: it takes the whole ClientHello record, then hangs up.
    let peer = grove_runtime::spawn(move || -> io::Result<()> {
        let mut header = [0u8; 5];
        b.read_exact(&mut header)?;
        assert_eq!(header[0], 22, "a handshake record");
        let mut hello = vec![0u8; usize::from(u16::from_be_bytes([header[3], header[4]]))];
        b.read_exact(&mut hello)
    });
    let e = TlsStream::connect(pki.client, "localhost", a).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e:?}");
    peer.join().unwrap().unwrap();
}

#[test]
fn close_notify_reads_as_end_of_stream() {
    let pki = pki();
    let (l, addr) = listener();
    let server = grove_runtime::spawn(move || -> io::Result<()> {
        let (tcp, _) = l.accept()?;
        bounded_tcp(&tcp);
        let mut tls = TlsStream::accept(pki.server, tcp)?;
        tls.write_all(b"bye")?;
        tls.shutdown()?;
        // Half-closed: the client may still send.
        let mut rest = Vec::new();
        tls.read_to_end(&mut rest)?;
        assert_eq!(rest, b"after");
        Ok(())
    });
    let mut tls = connect(addr, pki.client).unwrap();
    let mut got = Vec::new();
    tls.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"bye");
    assert_eq!(tls.read(&mut [0u8; 8]).unwrap(), 0);
    tls.write_all(b"after").unwrap();
    tls.shutdown().unwrap();
    let e = tls.write(b"x").unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    server.join().unwrap().unwrap();
}

#[test]
fn eof_without_close_notify_is_unexpected_eof() {
    let pki = pki();
    let (l, addr) = listener();
    let server = grove_runtime::spawn(move || -> io::Result<Vec<u8>> {
        let (tcp, _) = l.accept()?;
        bounded_tcp(&tcp);
        let mut tls = TlsStream::accept(pki.server, tcp)?;
        let mut got = Vec::new();
        let e = tls.read_to_end(&mut got).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
        // The error sticks, without touching the socket again.
        let e = tls.read(&mut [0u8; 1]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
        Ok(got)
    });
    let mut tls = connect(addr, pki.client).unwrap();
    tls.write_all(b"truncated").unwrap();
    // A FIN with no close_notify before it.
    tls.get_ref().shutdown(Shutdown::Write).unwrap();
    assert_eq!(server.join().unwrap().unwrap(), b"truncated");
}

#[test]
fn any_grove_stream_unix_pair() {
    let pki = pki();
    let (a, b) = UnixStream::pair().unwrap();
    bounded_unix(&a);
    bounded_unix(&b);
    let server = grove_runtime::spawn(move || -> io::Result<usize> {
        let mut tls = TlsStream::accept(pki.server, b)?;
        tls.write_all(b"hello\nworld\n")?;
        serve(tls)
    });
    let client = grove_runtime::spawn(move || -> io::Result<()> {
        let mut tls = TlsStream::connect(pki.client, "localhost", a)?;
        // BufRead straight off the TLS stream.
        let mut line = String::new();
        tls.read_line(&mut line)?;
        assert_eq!(line, "hello\n");
        let buffered = tls.fill_buf()?.to_vec();
        assert_eq!(buffered, b"world\n");
        tls.consume(buffered.len());
        exchange(&mut tls, SIZES, 7)
    });
    client.join().unwrap().unwrap();
    assert_eq!(server.join().unwrap().unwrap(), SIZES.len());
}

#[test]
fn read_timeout_leaves_the_stream_usable() {
    let pki = pki();
    let (l, addr) = listener();
    let server = grove_runtime::spawn(move || -> io::Result<()> {
        let (tcp, _) = l.accept()?;
        bounded_tcp(&tcp);
        let mut tls = TlsStream::accept(pki.server, tcp)?;
        // Nothing is sent until the client says so.
        let mut go = [0u8; 2];
        tls.read_exact(&mut go)?;
        assert_eq!(&go, b"go");
        tls.write_all(b"pong")?;
        tls.shutdown()
    });
    let mut tls = connect(addr, pki.client).unwrap();
    // An empty write neither blocks nor sends anything.
    assert_eq!(tls.write(&[]).unwrap(), 0);
    tls.get_ref()
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let e = tls.read(&mut [0u8; 4]).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    tls.get_ref().set_read_timeout(Some(LIMIT)).unwrap();
    tls.write_all(b"go").unwrap();
    let mut got = Vec::new();
    tls.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"pong");
    server.join().unwrap().unwrap();
}

#[test]
fn alpn_is_negotiated() {
    let pki = pki();
    let (mut client, mut server) = (pki.client, pki.server);
    Arc::make_mut(&mut client).alpn_protocols = vec![b"h2".to_vec(), b"grove/1".to_vec()];
    Arc::make_mut(&mut server).alpn_protocols = vec![b"grove/1".to_vec()];
    let (a, b) = UnixStream::pair().unwrap();
    bounded_unix(&a);
    bounded_unix(&b);
    let server = grove_runtime::spawn(move || -> io::Result<Option<Vec<u8>>> {
        let tls = TlsStream::accept(server, b)?;
        Ok(tls.alpn_protocol().map(<[u8]>::to_vec))
    });
    let tls = TlsStream::connect(client, "localhost", a).unwrap();
    assert_eq!(tls.alpn_protocol(), Some(&b"grove/1"[..]));
    assert_eq!(
        server.join().unwrap().unwrap().as_deref(),
        Some(&b"grove/1"[..])
    );
}

#[test]
fn tls12_round_trip() {
    let pki = pki();
    let mut roots = RootCertStore::empty();
    roots.add(pki.cert.clone()).unwrap();
    let client =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let (a, b) = UnixStream::pair().unwrap();
    bounded_unix(&a);
    bounded_unix(&b);
    let server = grove_runtime::spawn(move || serve(TlsStream::accept(pki.server, b)?));
    let mut tls = TlsStream::connect(Arc::new(client), "localhost", a).unwrap();
    assert_eq!(
        tls.connection().protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    exchange(&mut tls, SIZES, 12).unwrap();
    assert_eq!(server.join().unwrap().unwrap(), SIZES.len());
}

#[test]
fn corrupt_record_is_invalid_data_and_sticks() {
    let pki = pki();
    let (a, b) = UnixStream::pair().unwrap();
    bounded_unix(&a);
    bounded_unix(&b);
    let server = grove_runtime::spawn(move || -> io::Result<()> {
        let mut tls = TlsStream::accept(pki.server, b)?;
        // Tells the client the handshake is over here too, so that its
        // garbage is read after it.
        tls.write_all(b"k")?;
        let e = tls.read(&mut [0u8; 16]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
        // Failed for good: the same error, without waiting on the socket.
        let again = tls.read(&mut [0u8; 16]).unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::InvalidData, "{again}");
        assert_eq!(again.to_string(), e.to_string());
        assert_eq!(tls.flush().unwrap_err().kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            tls.write(b"x").unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        Ok(())
    });
    let mut tls = TlsStream::connect(pki.client, "localhost", a).unwrap();
    let mut k = [0u8; 1];
    tls.read_exact(&mut k).unwrap();
    // An application-data record that does not decrypt, behind rustls's back.
    tls.get_mut()
        .write_all(&[
            23, 3, 3, 0, 24, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
            21, 22, 23, 24,
        ])
        .unwrap();
    server.join().unwrap().unwrap();
    // The server's alert.
    let e = tls.read(&mut [0u8; 16]).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
    assert!(
        matches!(rustls_error(&e), rustls::Error::AlertReceived(_)),
        "{e:?}"
    );
}
