use std::fmt;

/// A hostname a reseller can be reached at: lowercase, ASCII (IDNs in punycode form),
/// no port, no trailing dot, at least two labels, never an IP address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Hostname(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostnameError {
    #[error("enter a hostname")]
    Empty,
    #[error("a hostname is at most 253 characters long")]
    TooLong,
    #[error("a hostname may not contain spaces")]
    Whitespace,
    #[error("a hostname may not contain underscores")]
    Underscore,
    #[error("enter a hostname, not an IP address")]
    IpAddress,
    #[error("enter the hostname without a port")]
    Port,
    #[error("a hostname needs at least two labels, like shop.example.com")]
    SingleLabel,
    #[error(
        "the label \"{0}\" is not valid: use letters, digits and hyphens (1 to 63), not starting or ending with a hyphen"
    )]
    BadLabel(String),
    #[error("the internationalized name could not be converted to punycode")]
    BadIdn,
}

impl HostnameError {
    /// A stable code for the API and for translations.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "hostname_empty",
            Self::TooLong => "hostname_too_long",
            Self::Whitespace => "hostname_whitespace",
            Self::Underscore => "hostname_underscore",
            Self::IpAddress => "hostname_ip",
            Self::Port => "hostname_port",
            Self::SingleLabel => "hostname_single_label",
            Self::BadLabel(_) => "hostname_label",
            Self::BadIdn => "hostname_idn",
        }
    }
}

impl Hostname {
    /// Parses what a person typed. Unicode names are converted to punycode.
    pub fn parse(input: &str) -> Result<Self, HostnameError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(HostnameError::Empty);
        }
        if s.chars().any(char::is_whitespace) {
            return Err(HostnameError::Whitespace);
        }
        if s.contains('_') {
            return Err(HostnameError::Underscore);
        }
        let s = s.strip_suffix('.').unwrap_or(s);
        if s.parse::<std::net::IpAddr>().is_ok() || s.starts_with('[') {
            return Err(HostnameError::IpAddress);
        }
        if s.contains(':') {
            return Err(HostnameError::Port);
        }
        let ascii = if s.is_ascii() {
            s.to_ascii_lowercase()
        } else {
            idna::domain_to_ascii(s).map_err(|_| HostnameError::BadIdn)?
        };
        Self::check_ascii(&ascii)?;
        Ok(Self(ascii))
    }

    fn check_ascii(s: &str) -> Result<(), HostnameError> {
        if s.is_empty() {
            return Err(HostnameError::Empty);
        }
        if s.len() > 253 {
            return Err(HostnameError::TooLong);
        }
        let labels: Vec<&str> = s.split('.').collect();
        if labels.len() < 2 {
            return Err(HostnameError::SingleLabel);
        }
        for label in &labels {
            let ok = !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err(HostnameError::BadLabel((*label).to_owned()));
            }
            if let Some(rest) = label.strip_prefix("xn--")
                && (rest.is_empty() || idna::punycode::decode_to_string(rest).is_none())
            {
                return Err(HostnameError::BadIdn);
            }
        }
        if labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(HostnameError::IpAddress);
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Normalizes a `Host` header for lookup: lowercase, no port, no trailing dot.
/// Returns `None` for something that cannot be a hostname at all.
pub fn normalize_host_header(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.starts_with('[') {
        return None; // an IPv6 literal never names a reseller
    }
    let host = match raw.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        Some(_) => return None,
        None => raw,
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() || host.len() > 253 || !host.is_ascii() {
        return None;
    }
    Some(host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalizes() {
        assert_eq!(
            Hostname::parse(" Shop.Example.COM. ").unwrap().as_str(),
            "shop.example.com"
        );
        assert_eq!(
            Hostname::parse("xn--mnchen-3ya.de").unwrap().as_str(),
            "xn--mnchen-3ya.de"
        );
        assert_eq!(
            Hostname::parse("münchen.de").unwrap().as_str(),
            "xn--mnchen-3ya.de"
        );
        assert_eq!(
            Hostname::parse("alpha.localhost").unwrap().as_str(),
            "alpha.localhost"
        );
    }

    #[test]
    fn refuses_bad_input() {
        assert_eq!(Hostname::parse(""), Err(HostnameError::Empty));
        assert_eq!(
            Hostname::parse("my shop.de"),
            Err(HostnameError::Whitespace)
        );
        assert_eq!(
            Hostname::parse("my_shop.de"),
            Err(HostnameError::Underscore)
        );
        assert_eq!(
            Hostname::parse("192.168.1.1"),
            Err(HostnameError::IpAddress)
        );
        assert_eq!(Hostname::parse("::1"), Err(HostnameError::IpAddress));
        assert_eq!(Hostname::parse("shop.de:8080"), Err(HostnameError::Port));
        assert_eq!(
            Hostname::parse("localhost"),
            Err(HostnameError::SingleLabel)
        );
        assert!(matches!(
            Hostname::parse("-shop.de"),
            Err(HostnameError::BadLabel(_))
        ));
        assert!(matches!(
            Hostname::parse("a..de"),
            Err(HostnameError::BadLabel(_))
        ));
        assert!(Hostname::parse(&format!("{}.de", "a".repeat(64))).is_err());
        assert!(Hostname::parse(&format!("{}.de", "a.".repeat(130))).is_err());
    }

    #[test]
    fn host_headers_normalize_to_one_key() {
        for raw in [
            "Alpha.Localhost",
            "alpha.localhost:8080",
            "alpha.localhost.",
            "ALPHA.LOCALHOST.:443",
        ] {
            assert_eq!(
                normalize_host_header(raw).as_deref(),
                Some("alpha.localhost"),
                "{raw}"
            );
        }
        assert_eq!(normalize_host_header("[::1]:80"), None);
        assert_eq!(normalize_host_header("a:b"), None);
    }
}
