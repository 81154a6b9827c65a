//! Cooperative name resolution: [`ToSocketAddrs`] and [`lookup_host`].
//!
//! std's `ToSocketAddrs` resolves host names with a blocking
//! `getaddrinfo`, which would stall every green thread of the worker. So
//! grove has its own trait, implemented for the same argument types std
//! accepts: literal addresses are parsed on the spot, and a host name is
//! resolved on the `spawn_blocking` pool while the calling green thread
//! waits (gevent's threadpool resolver). On a plain OS thread it simply
//! calls std.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Something that names one or more socket addresses, as std's
/// `ToSocketAddrs`, but resolved without blocking the worker.
///
/// Implemented for every type std's trait is: `SocketAddr` (and the V4/V6
/// forms), `(IpAddr, u16)` (and V4/V6), `(&str, u16)`, `(String, u16)`,
/// `&str` and `String` (`"host:port"`), `&[SocketAddr]`, and references.
///
/// ```
/// use grove_net::ToSocketAddrs;
/// let addrs = ("127.0.0.1", 80).to_socket_addrs().unwrap().collect::<Vec<_>>();
/// assert_eq!(addrs, ["127.0.0.1:80".parse().unwrap()]);
/// let addrs: Vec<_> = "localhost:80".to_socket_addrs().unwrap().collect();
/// assert!(!addrs.is_empty());
/// ```
pub trait ToSocketAddrs {
    /// Resolves to the addresses, suspending the green thread while a host
    /// name is looked up.
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>>;
}

/// Resolves `host` (`"host:port"`, or any [`ToSocketAddrs`]) without
/// blocking the worker: the lookup runs on the `spawn_blocking` pool.
///
/// ```
/// let addrs: Vec<_> = grove_net::lookup_host("localhost:8080").unwrap().collect();
/// assert!(addrs.iter().all(|a| a.port() == 8080 && a.ip().is_loopback()));
/// ```
pub fn lookup_host<A: ToSocketAddrs>(host: A) -> io::Result<std::vec::IntoIter<SocketAddr>> {
    host.to_socket_addrs()
}

/// Resolves `host:port`-style input through std, off the worker.
fn resolve_blocking(query: String) -> io::Result<std::vec::IntoIter<SocketAddr>> {
    fn std_lookup(q: &str) -> io::Result<Vec<SocketAddr>> {
        std::net::ToSocketAddrs::to_socket_addrs(q).map(Iterator::collect)
    }
    let addrs = if grove_runtime::current().is_green() {
        grove_runtime::spawn_blocking(move || std_lookup(&query))
            .join()
            .map_err(|e| io::Error::other(format!("grove: name lookup failed: {e}")))??
    } else {
        std_lookup(&query)?
    };
    Ok(addrs.into_iter())
}

fn one(a: SocketAddr) -> io::Result<std::vec::IntoIter<SocketAddr>> {
    Ok(vec![a].into_iter())
}

impl ToSocketAddrs for SocketAddr {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        one(*self)
    }
}

impl ToSocketAddrs for SocketAddrV4 {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        one(SocketAddr::V4(*self))
    }
}

impl ToSocketAddrs for SocketAddrV6 {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        one(SocketAddr::V6(*self))
    }
}

impl ToSocketAddrs for (IpAddr, u16) {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        one(SocketAddr::new(self.0, self.1))
    }
}

impl ToSocketAddrs for (Ipv4Addr, u16) {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        one(SocketAddr::new(IpAddr::V4(self.0), self.1))
    }
}

impl ToSocketAddrs for (Ipv6Addr, u16) {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        one(SocketAddr::new(IpAddr::V6(self.0), self.1))
    }
}

impl ToSocketAddrs for (&str, u16) {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        let (host, port) = *self;
        if let Ok(ip) = host.parse::<IpAddr>() {
            return one(SocketAddr::new(ip, port));
        }
        resolve_blocking(format!("{host}:{port}"))
    }
}

impl ToSocketAddrs for (String, u16) {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        (self.0.as_str(), self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for str {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        if let Ok(a) = self.parse::<SocketAddr>() {
            return one(a);
        }
        let Some((host, port)) = self.rsplit_once(':') else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "invalid socket address: expected \"host:port\"",
            ));
        };
        let port: u16 = port
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "invalid port value"))?;
        (host, port).to_socket_addrs()
    }
}

impl ToSocketAddrs for String {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        self.as_str().to_socket_addrs()
    }
}

impl ToSocketAddrs for [SocketAddr] {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        let v = self.to_vec();
        Ok(v.into_iter())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        (**self).to_socket_addrs()
    }
}

/// Runs `f` on each address `addr` names until one succeeds, returning the
/// last error otherwise (std's behaviour for `connect` and `bind`).
pub(crate) fn each_addr<A: ToSocketAddrs + ?Sized, T>(
    addr: &A,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match f(a) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}
