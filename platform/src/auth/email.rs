use std::fmt;

/// An email address: trimmed, lowercased domain, one `@`, a dotted domain, no spaces.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Option<Self> {
        let s = input.trim();
        if s.is_empty() || s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (local, domain) = s.rsplit_once('@')?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return None;
        }
        Some(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn parses_emails() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").unwrap().as_str(),
            "Ann@example.com"
        );
        for bad in [
            "", "a", "a@b", "a b@c.de", "@c.de", "a@.de", "a@c..de", "a@b@c.de",
        ] {
            assert!(Email::parse(bad).is_none(), "{bad}");
        }
    }
}
