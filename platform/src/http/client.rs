//! The client's address, behind reverse proxies too (issue 22).
//!
//! `deploy/` puts Caddy in front of relabel, so the peer of every connection
//! is the proxy. The operator names the proxies it trusts
//! (`RELABEL_TRUSTED_PROXIES`: addresses or CIDR ranges); only when the peer
//! is one of them is `X-Forwarded-For` read, from the right (the hop closest
//! to relabel) to the left, and the first address that is not a trusted proxy
//! is the client. A client that is not a trusted proxy can claim whatever it
//! likes in the header: it is not read. Rate limits, throttles and the change
//! log all use this address ([`client_ip`]).

use ipnet::IpNet;
use poem::Request;
use std::net::IpAddr;

/// The client's address, worked out once per request by `HostDispatch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The client of a connection from `peer`, given its `X-Forwarded-For`
/// headers and the proxies to trust.
pub fn resolve(peer: Option<IpAddr>, forwarded_for: &[&str], trusted: &[IpNet]) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    let peer = peer.map(canonical)?;
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = forwarded_for
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // An entry that is no address ends what can be believed.
        let Ok(ip) = hop.parse::<IpAddr>().map(canonical) else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
}

/// IPv4 clients of a dual-stack socket arrive as `::ffff:a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The request's client address as text (empty when unknown).
pub fn client_ip(req: &Request) -> String {
    req.extensions()
        .get::<ClientAddr>()
        .map(|c| c.0)
        .or_else(|| {
            req.remote_addr()
                .as_socket_addr()
                .map(|a| canonical(a.ip()))
        })
        .map(|ip| ip.to_string())
        .unwrap_or_default()
}

/// Works out the client of `req` and notes it on the request.
pub fn note(req: &mut Request, trusted: &[IpNet]) {
    let peer = req.remote_addr().as_socket_addr().map(|a| a.ip());
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if let Some(ip) = resolve(peer, &forwarded, trusted) {
        req.extensions_mut().insert(ClientAddr(ip));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &str) -> Vec<IpNet> {
        crate::outbound::Policy::parse_allow(list).unwrap()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn forwarded_for_is_read_only_through_trusted_hops() {
        let proxies = nets("10.0.0.0/8");
        // No trusted proxy: the header is whatever the client claims.
        assert_eq!(
            resolve(ip("203.0.113.9"), &["1.2.3.4"], &proxies),
            ip("203.0.113.9")
        );
        assert_eq!(resolve(ip("10.0.0.2"), &["1.2.3.4"], &[]), ip("10.0.0.2"));
        // One proxy: its view of the client.
        assert_eq!(
            resolve(ip("10.0.0.2"), &["198.51.100.7"], &proxies),
            ip("198.51.100.7")
        );
        // A client's forged entry in front of the proxy's is not believed.
        assert_eq!(
            resolve(ip("10.0.0.2"), &["6.6.6.6, 198.51.100.7"], &proxies),
            ip("198.51.100.7")
        );
        // Two trusted hops, in one header or two.
        assert_eq!(
            resolve(ip("10.0.0.2"), &["198.51.100.7, 10.0.0.9"], &proxies),
            ip("198.51.100.7")
        );
        assert_eq!(
            resolve(ip("10.0.0.2"), &["198.51.100.7", "10.0.0.9"], &proxies),
            ip("198.51.100.7")
        );
        // Garbage ends the walk at the last believable hop.
        assert_eq!(
            resolve(ip("10.0.0.2"), &["nonsense"], &proxies),
            ip("10.0.0.2")
        );
        assert_eq!(
            resolve(ip("10.0.0.2"), &["1.1.1.1, nonsense, 10.0.0.9"], &proxies),
            ip("10.0.0.9")
        );
        // Mapped IPv4 peers count as IPv4.
        assert_eq!(
            resolve(ip("::ffff:10.0.0.2"), &["198.51.100.7"], &proxies),
            ip("198.51.100.7")
        );
    }
}
