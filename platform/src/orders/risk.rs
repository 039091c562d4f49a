//! Risk check on checkout (O11): rules add scores; at [`REVIEW_AT`] or above the
//! order goes to the clearing center instead of being accepted automatically.

use std::net::IpAddr;
use std::path::Path;

/// Score from which an order needs a person's look.
pub const REVIEW_AT: i32 = 50;

/// Throwaway mail providers; a customer on one of them is not reachable later.
const DISPOSABLE: &[&str] = &[
    "10minutemail.com",
    "discard.email",
    "dispostable.com",
    "emailondeck.com",
    "fakeinbox.com",
    "getnada.com",
    "guerrillamail.com",
    "mailinator.com",
    "maildrop.cc",
    "mailnesia.com",
    "mytemp.email",
    "sharklasers.com",
    "spamgourmet.com",
    "temp-mail.org",
    "tempmail.dev",
    "throwawaymail.com",
    "trash-mail.com",
    "trashmail.com",
    "wegwerfmail.de",
    "yopmail.com",
];

/// What the rules look at, gathered inside the order transaction.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub email: String,
    pub address_country: String,
    /// From the GeoIP database, when one is configured.
    pub ip_country: Option<String>,
    /// No earlier accepted order and signed up within the last 30 days.
    pub new_customer: bool,
    pub gross_minor: i64,
    pub domains: usize,
    /// Orders by this customer in the last hour, this one not counted.
    pub recent_orders: u64,
    /// The credit bureau's score (0-1000), when asked.
    pub bureau_score: Option<i32>,
}

/// Order totals from which a new customer's order counts as large (in minor units).
pub const LARGE_ORDER_MINOR: i64 = 20_000;
pub const MANY_DOMAINS: usize = 10;
pub const VELOCITY_PER_HOUR: u64 = 5;

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Assessment {
    pub score: i32,
    /// Rule codes that fired (`risk.disposable_email`, ...).
    pub reasons: Vec<&'static str>,
}

impl Assessment {
    pub fn needs_review(&self) -> bool {
        self.score >= REVIEW_AT
    }
}

pub fn assess(f: &Facts) -> Assessment {
    let mut a = Assessment::default();
    let mut hit = |code: &'static str, score: i32| {
        a.score += score;
        a.reasons.push(code);
    };
    let domain = f
        .email
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase());
    if domain.is_some_and(|d| DISPOSABLE.contains(&d.as_str())) {
        hit("risk.disposable_email", 50);
    }
    if let Some(ip) = &f.ip_country
        && !ip.eq_ignore_ascii_case(&f.address_country)
    {
        hit("risk.country_mismatch", 30);
    }
    if f.new_customer && f.gross_minor >= LARGE_ORDER_MINOR {
        hit("risk.new_customer_large_order", 30);
    }
    if f.domains > MANY_DOMAINS {
        hit("risk.many_domains", 30);
    }
    if f.recent_orders >= VELOCITY_PER_HOUR {
        hit("risk.velocity", 40);
    }
    match f.bureau_score {
        Some(s) if s < 300 => hit("risk.bureau_low", 50),
        Some(s) if s < 500 => hit("risk.bureau_medium", 20),
        _ => {}
    }
    a
}

/// Country of an IP address from a range table: lines `first_ip,last_ip,CC`
/// (the format of the free DB-IP / IP2Location "lite" CSV exports).
#[derive(Default)]
pub struct GeoIp {
    ranges: Vec<(u128, u128, [u8; 2])>,
}

fn key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

impl GeoIp {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        Self::parse(&std::fs::read_to_string(path)?)
    }

    pub fn parse(csv: &str) -> anyhow::Result<Self> {
        let mut ranges = Vec::new();
        for (n, line) in csv.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line
                .split(',')
                .map(|c| c.trim().trim_matches('"'))
                .collect();
            let [first, last, cc, ..] = cols.as_slice() else {
                anyhow::bail!("line {}: expected first_ip,last_ip,country", n + 1);
            };
            let (first, last): (IpAddr, IpAddr) = (first.parse()?, last.parse()?);
            let cc = cc.as_bytes();
            if cc.len() != 2 || !cc.iter().all(u8::is_ascii_alphabetic) {
                anyhow::bail!("line {}: bad country code", n + 1);
            }
            ranges.push((
                key(first),
                key(last),
                [cc[0].to_ascii_uppercase(), cc[1].to_ascii_uppercase()],
            ));
        }
        ranges.sort_unstable();
        Ok(Self { ranges })
    }

    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let k = key(ip);
        let i = self.ranges.partition_point(|r| r.0 <= k);
        let (first, last, cc) = self.ranges.get(i.checked_sub(1)?)?;
        (*first <= k && k <= *last).then(|| String::from_utf8_lossy(cc).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            email: "anna@example.de".into(),
            address_country: "DE".into(),
            gross_minor: 1_000,
            domains: 1,
            ..Default::default()
        }
    }

    #[test]
    fn a_plain_order_passes() {
        let a = assess(&facts());
        assert_eq!(a.score, 0);
        assert!(!a.needs_review());
    }

    #[test]
    fn rules_add_up_to_review() {
        let mut f = facts();
        f.email = "x@Mailinator.com".into();
        assert!(assess(&f).needs_review());

        let mut f = facts();
        f.new_customer = true;
        f.gross_minor = LARGE_ORDER_MINOR;
        let a = assess(&f);
        assert_eq!(a.reasons, ["risk.new_customer_large_order"]);
        assert!(!a.needs_review());
        f.domains = MANY_DOMAINS + 1;
        assert!(assess(&f).needs_review());

        let mut f = facts();
        f.ip_country = Some("US".into());
        f.recent_orders = VELOCITY_PER_HOUR;
        assert_eq!(
            assess(&f).reasons,
            ["risk.country_mismatch", "risk.velocity"]
        );
        f.ip_country = Some("de".into());
        assert_eq!(assess(&f).reasons, ["risk.velocity"]);

        let mut f = facts();
        f.bureau_score = Some(420);
        assert_eq!(assess(&f).score, 20);
        f.bureau_score = Some(120);
        assert!(assess(&f).needs_review());
        f.bureau_score = Some(800);
        assert_eq!(assess(&f).score, 0);
    }

    #[test]
    fn geoip_ranges() {
        let g = GeoIp::parse(
            "# first,last,country\n10.0.0.0,10.255.255.255,de\n192.0.2.0,192.0.2.255,US\n2001:db8::,2001:db8::ffff,FR\n",
        )
        .unwrap();
        assert_eq!(
            g.country("10.1.2.3".parse().unwrap()).as_deref(),
            Some("DE")
        );
        assert_eq!(
            g.country("192.0.2.9".parse().unwrap()).as_deref(),
            Some("US")
        );
        assert_eq!(
            g.country("2001:db8::1".parse().unwrap()).as_deref(),
            Some("FR")
        );
        assert_eq!(g.country("11.0.0.1".parse().unwrap()), None);
        assert_eq!(g.country("127.0.0.1".parse().unwrap()), None);
        assert!(GeoIp::parse("1.2.3.4,1.2.3.5,DEU").is_err());
    }
}
