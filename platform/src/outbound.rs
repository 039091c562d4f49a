//! The one HTTP client for peers whose address somebody outside the operator
//! chose: a reseller's credit bureau, SMS gateway and print-mail service, the
//! aftermarket feed, parking providers, and anything added later.
//!
//! Such a URL must never become a way into the network relabel runs in
//! (server-side request forgery). So the client
//! - speaks `https` only, unless the operator allows `http`
//!   (`RELABEL_OUTBOUND_ALLOW_HTTP`);
//! - resolves every name itself and connects only to public addresses: not to
//!   loopback, private, link-local (cloud metadata included), CGNAT, multicast,
//!   documentation or other reserved ranges, in IPv4 and IPv6, including
//!   IPv4 addresses mapped, compatible, translated (NAT64) or embedded (6to4)
//!   in IPv6 ones. The check runs when the connection is made, so a name that
//!   resolves differently the second time (DNS rebinding) is caught too;
//! - checks every redirect the same way (and follows at most three);
//! - makes exceptions only for the operator's allow-list
//!   (`RELABEL_OUTBOUND_ALLOW`: addresses or CIDR ranges of peers inside the
//!   network, e.g. `10.0.5.7,192.168.10.0/24`);
//! - ignores proxy settings of the environment, times out, and reads at most
//!   [`MAX_BODY`] of an answer;
//! - describes a failure in a short sentence of its own ([`OutboundError`]):
//!   what a peer answered is never shown to a reseller verbatim.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The largest answer read from a peer.
pub const MAX_BODY: usize = 1024 * 1024;

/// Which peers the client may reach besides the public internet.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// Plain `http://` URLs are allowed.
    pub allow_http: bool,
    /// Addresses inside the network that may be reached all the same.
    pub allow: Vec<IpNet>,
}

impl Policy {
    /// Parses the allow-list: addresses or CIDR ranges separated by commas or
    /// spaces. The error names the entry that is neither.
    pub fn parse_allow(list: &str) -> Result<Vec<IpNet>, String> {
        list.split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{entry} is neither an address nor a CIDR range"))
            })
            .collect()
    }

    /// May the client connect to `ip`?
    pub fn permits(&self, ip: IpAddr) -> bool {
        !is_internal(ip) || self.allow.iter().any(|net| net.contains(&canonical(ip)))
    }

    /// Checks a URL before anything is sent: its scheme, and its host where
    /// that is an address. Names are checked when they are resolved.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), OutboundError> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => {
                return Err(OutboundError::Refused(
                    "only https:// addresses are allowed",
                ));
            }
            _ => {
                return Err(OutboundError::Refused(
                    "only https:// addresses are allowed",
                ));
            }
        }
        let Some(host) = url.host_str() else {
            return Err(OutboundError::Refused("the address has no host"));
        };
        let inside = match host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            Ok(ip) => !self.permits(ip),
            Err(_) => is_local_name(host),
        };
        if inside {
            Err(OutboundError::Refused("the address is inside the network"))
        } else {
            Ok(())
        }
    }

    /// Checks a URL as typed into a form: the sentence to show if it cannot
    /// be used.
    pub fn check_str(&self, url: &str) -> Result<(), OutboundError> {
        let url = reqwest::Url::parse(url.trim())
            .map_err(|_| OutboundError::Refused("not a valid address"))?;
        self.check_url(&url)
    }
}

/// Names that always mean this machine or its network.
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name.ends_with(".local")
        || name.ends_with(".internal")
        || name == "metadata.google.internal"
}

/// An IPv6 address that carries an IPv4 one, as that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), -compatible
/// (`::a.b.c.d`), NAT64 (`64:ff9b::/96`, `64:ff9b:1::/48`) or 6to4
/// (`2002:AABB:CCDD::/48`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && ip != Ipv6Addr::UNSPECIFIED && ip != Ipv6Addr::LOCALHOST {
        return Some(low);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) {
        return Some(low);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

/// Is `ip` anything but a public unicast address?
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_internal_v4(v4),
            None => is_internal_v6(v6),
        },
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || a == 0 // "this network"
        || ip.is_loopback() // 127/8
        || ip.is_private() // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local() // 169.254/16, cloud metadata
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || (a == 192 && b == 88 && c == 99) // 6to4 relay
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || ip.is_multicast() // 224/4
        || a >= 240 // reserved and broadcast
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast() // ff00::/8
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7 (AWS metadata fd00:ec2::254)
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0) // Teredo: an IPv4 peer behind it
        || (s[0] == 0x2001 && s[1] < 0x200 && s[1] != 0) // other IETF assignments
        || s[0] == 0x0100 && s[1..4] == [0, 0, 0] // discard-only 100::/64
}

/// Why a call to a peer failed, in words that can be shown to a reseller.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("refused: {0}")]
    Refused(&'static str),
    #[error("the peer did not answer in time")]
    Timeout,
    #[error("the peer could not be reached")]
    Unreachable,
    #[error("the peer answered with HTTP status {0}")]
    Status(u16),
    #[error("the peer's answer is larger than {} KiB", MAX_BODY / 1024)]
    TooLarge,
    #[error("the peer's answer is not understood ({0})")]
    Answer(&'static str),
}

impl OutboundError {
    fn of(e: &reqwest::Error) -> Self {
        // A refusal by the resolver or the redirect check travels inside
        // reqwest's error; find it to keep its sentence.
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            if let Some(own) = s.downcast_ref::<OutboundError>() {
                return own.clone_kind();
            }
            source = s.source();
        }
        if e.is_timeout() {
            OutboundError::Timeout
        } else {
            OutboundError::Unreachable
        }
    }

    fn clone_kind(&self) -> Self {
        match self {
            OutboundError::Refused(r) => OutboundError::Refused(r),
            OutboundError::Timeout => OutboundError::Timeout,
            OutboundError::Unreachable => OutboundError::Unreachable,
            OutboundError::Status(s) => OutboundError::Status(*s),
            OutboundError::TooLarge => OutboundError::TooLarge,
            OutboundError::Answer(a) => OutboundError::Answer(a),
        }
    }
}

/// Resolves names and keeps only the addresses the policy permits.
struct GuardedResolver {
    policy: Arc<Policy>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            if is_local_name(name.as_str()) {
                return Err(
                    Box::new(OutboundError::Refused("the address is inside the network"))
                        as Box<dyn std::error::Error + Send + Sync>,
                );
            }
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await
                .map_err(|_| {
                    Box::new(OutboundError::Unreachable) as Box<dyn std::error::Error + Send + Sync>
                })?
                .collect();
            let permitted: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| policy.permits(addr.ip()))
                .collect();
            if permitted.is_empty() {
                return Err(
                    Box::new(OutboundError::Refused("the address is inside the network"))
                        as Box<dyn std::error::Error + Send + Sync>,
                );
            }
            Ok(Box::new(permitted.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The guarded client; cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    policy: Arc<Policy>,
    client: reqwest::Client,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("policy", &self.policy)
            .finish()
    }
}

/// How long one call may take, connection included, unless the caller says.
const TIMEOUT: Duration = Duration::from_secs(10);

impl Outbound {
    pub fn new(policy: Policy) -> Self {
        let policy = Arc::new(policy);
        let redirects = policy.clone();
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 3 {
                    return attempt.error(OutboundError::Refused("too many redirects"));
                }
                match redirects.check_url(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(e) => attempt.error(e),
                }
            }))
            .connect_timeout(Duration::from_secs(5))
            .timeout(TIMEOUT)
            .user_agent(concat!("relabel/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client without custom certificates builds");
        Self { policy, client }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// A request to `url`, checked first; send it with [`Outbound::send`].
    pub fn request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, OutboundError> {
        let url = reqwest::Url::parse(url.trim())
            .map_err(|_| OutboundError::Refused("not a valid address"))?;
        self.policy.check_url(&url)?;
        Ok(self.client.request(method, url))
    }

    /// Sends `req` and reads the answer's body (at most [`MAX_BODY`]); an
    /// answer other than 2xx is an error that names only its status.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Result<Vec<u8>, OutboundError> {
        let mut resp = req.send().await.map_err(|e| OutboundError::of(&e))?;
        if !resp.status().is_success() {
            return Err(OutboundError::Status(resp.status().as_u16()));
        }
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(OutboundError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| OutboundError::of(&e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(OutboundError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Sends `req` and parses the answer as JSON.
    pub async fn send_json(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<serde_json::Value, OutboundError> {
        let body = self.send(req).await?;
        serde_json::from_slice(&body).map_err(|_| OutboundError::Answer("not JSON"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_in_every_form_are_refused() {
        for ip in [
            "127.0.0.1",
            "127.1.2.3",
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "100.100.100.200",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(is_internal(ip), "{ip} counts as internal");
            assert!(!Policy::default().permits(ip), "{ip} is refused");
        }
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "193.0.6.139",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80e::200e",
            "::ffff:8.8.8.8",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!is_internal(ip), "{ip} is public");
        }
    }

    #[test]
    fn the_allow_list_opens_exactly_its_ranges() {
        let policy = Policy {
            allow_http: false,
            allow: Policy::parse_allow("10.0.5.7, 192.168.10.0/24 ::1").unwrap(),
        };
        assert!(policy.permits("10.0.5.7".parse().unwrap()));
        assert!(!policy.permits("10.0.5.8".parse().unwrap()));
        assert!(policy.permits("192.168.10.200".parse().unwrap()));
        assert!(policy.permits("::ffff:10.0.5.7".parse().unwrap()));
        assert!(policy.permits("::1".parse().unwrap()));
        assert!(!policy.permits("127.0.0.1".parse().unwrap()));
        assert_eq!(
            Policy::parse_allow("10.0.0.0/8,intranet").unwrap_err(),
            "intranet is neither an address nor a CIDR range"
        );
    }

    #[test]
    fn urls_are_checked_for_scheme_and_literal_addresses() {
        let policy = Policy::default();
        for bad in [
            "http://bureau.example/score",
            "ftp://bureau.example/",
            "file:///etc/passwd",
            "https://127.0.0.1:8080/",
            "https://[::1]/",
            "https://[::ffff:7f00:1]/",
            "https://2130706433/",
            "https://0x7f.1/",
            "https://localhost/",
            "https://metadata.google.internal/",
            "https://169.254.169.254/latest/meta-data/",
            "not a url",
        ] {
            assert!(policy.check_str(bad).is_err(), "{bad} is refused");
        }
        assert!(policy.check_str("https://bureau.example/score").is_ok());
        let http = Policy {
            allow_http: true,
            ..Policy::default()
        };
        assert!(http.check_str("http://bureau.example/score").is_ok());
        assert!(http.check_str("http://127.0.0.1/").is_err());
    }
}
