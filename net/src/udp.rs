//! [`UdpSocket`]: std's API, cooperative underneath.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use crate::addr::{each_addr, ToSocketAddrs};
use crate::socket::Socket;

/// A UDP socket: `std::net::UdpSocket` whose receives (and sends, when the
/// buffer is full) suspend the calling green thread.
///
/// ```
/// use grove_net::UdpSocket;
/// let a = UdpSocket::bind("127.0.0.1:0")?;
/// let b = UdpSocket::bind("127.0.0.1:0")?;
/// a.send_to(b"ping", b.local_addr()?)?;
/// let mut buf = [0u8; 16];
/// let (n, from) = b.recv_from(&mut buf)?;
/// assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    inner: Arc<Socket<mio::net::UdpSocket>>,
}

impl UdpSocket {
    /// Binds to `addr` (each address it resolves to is tried in turn).
    ///
    /// ```
    /// let s = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(&addr, |a| {
            Ok(UdpSocket {
                inner: Arc::new(Socket::new(mio::net::UdpSocket::bind(a)?)?),
            })
        })
    }

    /// Makes a grove socket of a std one (switched to non-blocking mode).
    ///
    /// ```
    /// let s = grove_net::UdpSocket::from_std(std::net::UdpSocket::bind("127.0.0.1:0")?)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            inner: Arc::new(Socket::new(mio::net::UdpSocket::from_std(socket))?),
        })
    }

    /// Receives one datagram, waiting for it; returns its length and sender.
    ///
    /// ```
    /// # let a = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// # let b = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// # a.send_to(b"x", b.local_addr()?)?;
    /// let mut buf = [0u8; 1500];
    /// let (n, from) = b.recv_from(&mut buf)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_op(|s| s.recv_from(buf))
    }

    /// As [`recv_from`](Self::recv_from), without removing the datagram.
    ///
    /// ```
    /// # let a = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// # let b = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// # a.send_to(b"x", b.local_addr()?)?;
    /// let mut buf = [0u8; 16];
    /// let (n, _) = b.peek_from(&mut buf)?;
    /// assert_eq!(b.recv_from(&mut buf)?.0, n);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_op(|s| s.peek_from(buf))
    }

    /// Sends one datagram to `addr` (resolved cooperatively; the first
    /// address is used, as in std).
    ///
    /// ```
    /// # let a = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// let n = a.send_to(b"hello", "127.0.0.1:9")?;
    /// assert_eq!(n, 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let target = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no addresses to send data to")
        })?;
        self.inner.write_op(|s| s.send_to(buf, target))
    }

    /// Sets the default peer: `send` goes there and only its datagrams are
    /// received.
    ///
    /// ```
    /// # let a = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// # let b = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// a.connect(b.local_addr()?)?;
    /// a.send(b"hi")?;
    /// assert_eq!(a.peer_addr()?, b.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(&addr, |a| self.inner.get().connect(a))
    }

    /// Sends to the connected peer.
    ///
    /// ```
    /// # let a = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// a.connect("127.0.0.1:9")?;
    /// assert_eq!(a.send(b"x")?, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_op(|s| s.send(buf))
    }

    /// Receives from the connected peer, waiting for a datagram.
    ///
    /// ```
    /// # let a = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// # let b = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// # b.connect(a.local_addr()?)?;
    /// # a.send_to(b"x", b.local_addr()?)?;
    /// let mut buf = [0u8; 16];
    /// assert_eq!(b.recv(&mut buf)?, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_op(|s| s.recv(buf))
    }

    /// As [`recv`](Self::recv), without removing the datagram.
    ///
    /// ```
    /// # let a = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// # let b = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// # b.connect(a.local_addr()?)?;
    /// # a.send_to(b"x", b.local_addr()?)?;
    /// let mut buf = [0u8; 16];
    /// assert_eq!(b.peek(&mut buf)?, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_op(|s| s.peek(buf))
    }

    /// The local address.
    ///
    /// ```
    /// let s = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(s.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().local_addr()
    }

    /// The connected peer's address (`NotConnected` if none).
    ///
    /// ```
    /// let s = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(s.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().peer_addr()
    }

    /// Another handle to the same socket (settings are shared, as in std).
    ///
    /// ```
    /// let s = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// let s2 = s.try_clone()?;
    /// assert_eq!(s.local_addr()?, s2.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            inner: self.inner.clone(),
        })
    }

    /// Sets the read timeout: a receive that waits longer fails with
    /// `WouldBlock` (std on Unix).
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.set_read_timeout(Some(Duration::from_millis(5)))?;
    /// let e = s.recv_from(&mut [0u8; 8]).unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.read_timeout.set(timeout)
    }

    /// Sets the write timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.set_write_timeout(Some(Duration::from_secs(1)))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.write_timeout.set(timeout)
    }

    /// The read timeout.
    ///
    /// ```
    /// let s = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(s.read_timeout()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.read_timeout.get())
    }

    /// The write timeout.
    ///
    /// ```
    /// let s = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(s.write_timeout()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.write_timeout.get())
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// ```
    /// let s = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.set_broadcast(true)?;
    /// assert!(s.broadcast()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.inner.get().set_broadcast(on)
    }

    /// `SO_BROADCAST`.
    ///
    /// ```
    /// let s = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(!s.broadcast()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.inner.get().broadcast()
    }

    /// Sets `IP_TTL`.
    ///
    /// ```
    /// let s = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.set_ttl(8)?;
    /// assert_eq!(s.ttl()?, 8);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get().set_ttl(ttl)
    }

    /// `IP_TTL`.
    ///
    /// ```
    /// let s = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(s.ttl()? > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get().ttl()
    }

    /// Joins an IPv4 multicast group on `interface`.
    ///
    /// ```no_run
    /// use std::net::Ipv4Addr;
    /// let s = grove_net::UdpSocket::bind("0.0.0.0:0")?;
    /// s.join_multicast_v4(&Ipv4Addr::new(239, 0, 0, 1), &Ipv4Addr::UNSPECIFIED)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn join_multicast_v4(&self, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.inner.get().join_multicast_v4(group, interface)
    }

    /// Joins an IPv6 multicast group on interface index `interface`.
    ///
    /// ```no_run
    /// let s = grove_net::UdpSocket::bind("[::]:0")?;
    /// s.join_multicast_v6(&"ff02::1".parse().unwrap(), 0)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn join_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.inner.get().join_multicast_v6(group, interface)
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// ```
    /// let s = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(s.take_error()?.is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get().take_error()
    }

    /// In non-blocking mode receives and sends fail with `WouldBlock`
    /// instead of waiting.
    ///
    /// ```
    /// let s = grove_net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.set_nonblocking(true)?;
    /// assert_eq!(s.recv_from(&mut [0u8; 8]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking);
        Ok(())
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.get().as_raw_fd()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.get().as_fd()
    }
}

impl TryFrom<std::net::UdpSocket> for UdpSocket {
    type Error = io::Error;
    fn try_from(s: std::net::UdpSocket) -> io::Result<UdpSocket> {
        UdpSocket::from_std(s)
    }
}
