//! DNS records of a customer's zone (V4, issue 7 part): validation of the records
//! a customer may edit, and the RFC 1035 zone file the embedded default serves.
//! The `DnsProvider` adapters (PowerDNS HTTP API, zone files) build on this.

pub mod provider;

use crate::validation::FieldErrors;
use std::net::{Ipv4Addr, Ipv6Addr};

pub const TYPES: &[&str] = &["A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA"];
pub const MIN_TTL: u32 = 60;
pub const MAX_TTL: u32 = 86_400;
/// One TXT string holds at most 255 bytes; longer texts are split into strings,
/// and a record is kept below 4 KiB in total.
pub const MAX_TXT: usize = 4_000;

/// A record as the customer edits it: `name` relative to the zone (`@` = apex).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    pub name: String,
    pub rtype: String,
    pub ttl: u32,
    /// MX and SRV priority.
    pub priority: Option<u16>,
    pub content: String,
}

fn valid_label(l: &str) -> bool {
    !l.is_empty()
        && l.len() <= 63
        && !l.starts_with('-')
        && !l.ends_with('-')
        && l.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A host name (absolute, a trailing dot allowed) for CNAME/MX/SRV targets.
fn valid_host(h: &str) -> bool {
    let h = h.trim_end_matches('.');
    !h.is_empty() && h.len() <= 253 && h.split('.').all(valid_label)
}

/// The record's owner name inside `zone`: `@`, `www`, `_sip._tcp`, `*.dev`.
/// Absolute names must end in the zone; anything outside it is refused.
pub fn owner_name(name: &str, zone: &str) -> Option<String> {
    let n = name.trim().to_ascii_lowercase();
    let zone = zone.trim_end_matches('.').to_ascii_lowercase();
    let relative = if n.is_empty() || n == "@" || n == zone || n == format!("{zone}.") {
        return Some("@".into());
    } else if let Some(abs) = n.strip_suffix('.') {
        abs.strip_suffix(&format!(".{zone}"))?.to_owned()
    } else {
        n
    };
    // A wildcard is only allowed as the first label.
    for (i, l) in relative.split('.').enumerate() {
        if !(valid_label(l) || (i == 0 && l == "*")) {
            return None;
        }
    }
    (relative.len() + zone.len() < 253).then_some(relative)
}

/// Checks a zone's records; errors name `records.N.field`. Also refuses a CNAME
/// beside any other record of the same name (RFC 1034 3.6.2) and at the apex.
pub fn check(zone: &str, records: &[Record]) -> Result<Vec<Record>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut out = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let f = |x: &str| format!("records.{i}.{x}");
        let rtype = r.rtype.trim().to_ascii_uppercase();
        if !TYPES.contains(&rtype.as_str()) {
            errors.add(&f("type"), "err.dns_type");
            continue;
        }
        let Some(name) = owner_name(&r.name, zone) else {
            errors.add(&f("name"), "err.dns_name");
            continue;
        };
        if !(MIN_TTL..=MAX_TTL).contains(&r.ttl) {
            errors.add(&f("ttl"), "err.dns_ttl");
        }
        let content = r.content.trim().to_owned();
        let ok = match rtype.as_str() {
            "A" => content.parse::<Ipv4Addr>().is_ok(),
            "AAAA" => content.parse::<Ipv6Addr>().is_ok(),
            "CNAME" => valid_host(&content) && name != "@",
            "MX" => valid_host(&content) && r.priority.is_some(),
            "TXT" => {
                !content.is_empty() && content.len() <= MAX_TXT && !content.contains(['\n', '\r'])
            }
            "SRV" => {
                // "weight port target"
                let parts: Vec<&str> = content.split_whitespace().collect();
                r.priority.is_some()
                    && parts.len() == 3
                    && parts[0].parse::<u16>().is_ok()
                    && parts[1].parse::<u16>().is_ok_and(|p| p > 0)
                    && valid_host(parts[2])
                    && name.starts_with('_')
            }
            "CAA" => {
                // "flags tag value"
                let mut it = content.splitn(3, ' ');
                let flags = it.next().and_then(|v| v.parse::<u8>().ok());
                let tag = it.next().unwrap_or_default();
                let value = it.next().unwrap_or_default();
                flags.is_some()
                    && matches!(tag, "issue" | "issuewild" | "iodef")
                    && value.starts_with('"')
                    && value.ends_with('"')
                    && value.len() >= 2
            }
            _ => false,
        };
        if !ok {
            errors.add(
                &f("content"),
                &format!("err.dns_{}", rtype.to_ascii_lowercase()),
            );
            continue;
        }
        out.push(Record {
            name,
            rtype,
            ttl: r.ttl,
            priority: r
                .priority
                .filter(|_| matches!(r.rtype.to_ascii_uppercase().as_str(), "MX" | "SRV")),
            content,
        });
    }
    for (i, r) in out.iter().enumerate() {
        if r.rtype == "CNAME"
            && out
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && o.name == r.name)
        {
            let pos = records
                .iter()
                .position(|x| {
                    owner_name(&x.name, zone).as_deref() == Some(&r.name)
                        && x.rtype.eq_ignore_ascii_case("CNAME")
                })
                .unwrap_or(i);
            errors.add(&format!("records.{pos}.name"), "err.dns_cname_alone");
        }
    }
    errors.into_result().map(|()| out)
}

pub(crate) fn txt_strings(text: &str) -> String {
    text.as_bytes()
        .chunks(255)
        .map(|c| {
            let s = String::from_utf8_lossy(c);
            format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A zone template as staff write it, one record per line:
/// `name TYPE [priority] content` (priority for MX and SRV; TTL 3600). `@` as
/// content stands for the zone. Checked against a sample zone; the first error
/// names the line (`dns_template`).
pub fn parse_template(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let (Some(name), Some(rtype)) = (tokens.first(), tokens.get(1)) else {
            return Err((i + 1, "err.dns_template_line".into()));
        };
        let rtype = rtype.to_ascii_uppercase();
        let (priority, rest) = if matches!(rtype.as_str(), "MX" | "SRV") {
            match tokens.get(2).and_then(|p| p.parse::<u16>().ok()) {
                Some(p) => (Some(p), &tokens[3.min(tokens.len())..]),
                None => return Err((i + 1, "err.dns_priority".into())),
            }
        } else {
            (None, &tokens[2.min(tokens.len())..])
        };
        out.push(Record {
            name: (*name).to_owned(),
            rtype,
            ttl: 3600,
            priority,
            content: rest.join(" "),
        });
    }
    let sample = "example.com";
    let probe: Vec<Record> = out
        .iter()
        .cloned()
        .map(|mut r| {
            if r.content == "@" {
                r.content = sample.to_owned();
            }
            r
        })
        .collect();
    match check(sample, &probe) {
        Ok(_) => Ok(out),
        Err(errors) => {
            let first = errors
                .iter()
                .next()
                .map(|e| (e.field.clone(), e.code.clone()));
            let (field, code) = first.unwrap_or_default();
            let n: usize = field
                .split('.')
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            Err((n + 1, code))
        }
    }
}

/// A template as lines for the form (see [`parse_template`]).
pub fn template_lines(records: &[Record]) -> String {
    records
        .iter()
        .map(|r| match r.priority {
            Some(p) => format!("{} {} {p} {}", r.name, r.rtype, r.content),
            None => format!("{} {} {}", r.name, r.rtype, r.content),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether serial `a` comes after `b` in RFC 1982 serial number arithmetic
/// (32 bits): what a secondary asks before it transfers a zone.
pub fn serial_after(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 1 << 31
}

/// The serial for a zone's next version: `YYYYMMDDnn` of `today` (nn = 00) when
/// that comes after `previous`, otherwise `previous` + 1, so it grows on every
/// change, several in a second included, and a zone whose serial is already
/// ahead (the earlier `YYMMDDhhmm` scheme) keeps counting from there.
pub fn next_serial(previous: Option<u32>, today: chrono::NaiveDate) -> u32 {
    use chrono::Datelike;
    let dated =
        today.year().unsigned_abs() * 1_000_000 + today.month() * 10_000 + today.day() * 100;
    match previous {
        Some(p) if !serial_after(dated, p) => p.wrapping_add(1),
        _ => dated,
    }
}

/// The SOA serial of a master file written by [`zone_file`].
pub fn serial_of(zone_file: &str) -> Option<u32> {
    let soa = zone_file.lines().find(|l| l.contains("\tSOA\t"))?;
    let (_, rest) = soa.split_once('(')?;
    rest.split_whitespace().next()?.parse().ok()
}

/// The zone as an RFC 1035 master file, with SOA and NS first.
pub fn zone_file(
    zone: &str,
    serial: u32,
    nameservers: &[&str],
    hostmaster: &str,
    records: &[Record],
) -> String {
    let zone = zone.trim_end_matches('.');
    let abs = |h: &str| {
        if h.ends_with('.') {
            h.to_owned()
        } else {
            format!("{h}.")
        }
    };
    let mut out = format!(
        "$ORIGIN {zone}.\n$TTL 3600\n@\tIN\tSOA\t{} {} ( {serial} 10800 3600 604800 3600 )\n",
        abs(nameservers.first().copied().unwrap_or("ns1.invalid")),
        abs(&hostmaster.replacen('@', ".", 1)),
    );
    for ns in nameservers {
        out.push_str(&format!("@\tIN\tNS\t{}\n", abs(ns)));
    }
    for r in records {
        let content = match r.rtype.as_str() {
            "CNAME" => abs(&r.content),
            "MX" => format!("{} {}", r.priority.unwrap_or(10), abs(&r.content)),
            "SRV" => {
                let p: Vec<&str> = r.content.split_whitespace().collect();
                format!(
                    "{} {} {} {}",
                    r.priority.unwrap_or(0),
                    p[0],
                    p[1],
                    abs(p[2])
                )
            }
            "TXT" => txt_strings(&r.content),
            _ => r.content.clone(),
        };
        out.push_str(&format!(
            "{}\t{}\tIN\t{}\t{}\n",
            r.name, r.ttl, r.rtype, content
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn serials_grow_on_every_change_in_serial_arithmetic() {
        use super::{next_serial, serial_after};
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert_eq!(next_serial(None, day), 2026120700);
        assert_eq!(next_serial(Some(2026120700), day), 2026120701);
        assert_eq!(next_serial(Some(2026113005), day), 2026120700);
        // The old YYMMDDhhmm scheme is ahead in serial arithmetic: keep counting.
        assert_eq!(next_serial(Some(2612071930), day), 2612071931);
        // Ahead by less than 2^31: counts on, and wraps past 2^32 - 1.
        assert_eq!(next_serial(Some(4_000_000_000), day), 4_000_000_001);
        assert_eq!(
            next_serial(
                Some(u32::MAX),
                chrono::NaiveDate::from_ymd_opt(2200, 1, 1).unwrap()
            ),
            0
        );
        // 2^32 - 1 is behind today's dated serial in serial arithmetic.
        assert_eq!(next_serial(Some(u32::MAX), day), 2026120700);
        assert!(serial_after(0, u32::MAX));
        assert!(!serial_after(5, 5));
        assert!(serial_after(2026120701, 2026120700));
    }

    use super::*;

    fn rec(name: &str, t: &str, content: &str) -> Record {
        Record {
            name: name.into(),
            rtype: t.into(),
            ttl: 3600,
            priority: matches!(t, "MX" | "SRV").then_some(10),
            content: content.into(),
        }
    }

    fn codes(e: FieldErrors) -> Vec<(String, String)> {
        e.iter()
            .map(|e| (e.field.clone(), e.code.clone()))
            .collect()
    }

    #[test]
    fn names_stay_inside_the_zone() {
        assert_eq!(owner_name("www", "example.de").as_deref(), Some("www"));
        assert_eq!(
            owner_name("WWW.example.de.", "example.de").as_deref(),
            Some("www")
        );
        assert_eq!(owner_name("@", "example.de").as_deref(), Some("@"));
        assert_eq!(owner_name("*.dev", "example.de").as_deref(), Some("*.dev"));
        assert_eq!(
            owner_name("_sip._tcp", "example.de").as_deref(),
            Some("_sip._tcp")
        );
        assert_eq!(owner_name("www.other.de.", "example.de"), None);
        assert_eq!(owner_name("-bad", "example.de"), None);
        assert_eq!(owner_name("a..b", "example.de"), None);
    }

    #[test]
    fn records_are_checked_per_type() {
        let good = vec![
            rec("@", "A", "192.0.2.1"),
            rec("@", "AAAA", "2001:db8::1"),
            rec("www", "CNAME", "example.de."),
            rec("@", "MX", "mx.example.net"),
            rec("@", "TXT", "v=spf1 mx -all"),
            rec("_sip._tcp", "SRV", "5 5060 sip.example.de"),
            rec("@", "CAA", "0 issue \"letsencrypt.org\""),
        ];
        let ok = check("example.de", &good).unwrap();
        assert_eq!(ok.len(), 7);
        let file = zone_file(
            "example.de",
            2026113001,
            &["ns1.relabel.example", "ns2.relabel.example"],
            "hostmaster@relabel.example",
            &ok,
        );
        assert!(
            file.contains(
                "@\tIN\tSOA\tns1.relabel.example. hostmaster.relabel.example. ( 2026113001"
            )
        );
        assert!(file.contains("www\t3600\tIN\tCNAME\texample.de."));
        assert!(file.contains("@\t3600\tIN\tMX\t10 mx.example.net."));
        assert!(file.contains("_sip._tcp\t3600\tIN\tSRV\t10 5 5060 sip.example.de."));

        let bad = vec![
            rec("@", "A", "300.1.1.1"),
            rec("www.other.de.", "A", "192.0.2.1"),
            Record {
                ttl: 5,
                ..rec("x", "A", "192.0.2.1")
            },
            Record {
                priority: None,
                ..rec("@", "MX", "mx.example.net")
            },
            rec("@", "CNAME", "example.net"),
            rec("sip", "SRV", "5 5060 sip.example.de"),
            rec("@", "CAA", "0 issue letsencrypt.org"),
            rec("@", "TXT", &"x".repeat(MAX_TXT + 1)),
            rec("@", "NS", "ns.example.net"),
        ];
        assert_eq!(
            codes(check("example.de", &bad).unwrap_err()),
            [
                ("records.0.content".into(), "err.dns_a".into()),
                ("records.1.name".into(), "err.dns_name".into()),
                ("records.2.ttl".into(), "err.dns_ttl".into()),
                ("records.3.content".into(), "err.dns_mx".into()),
                ("records.4.content".into(), "err.dns_cname".into()),
                ("records.5.content".into(), "err.dns_srv".into()),
                ("records.6.content".into(), "err.dns_caa".into()),
                ("records.7.content".into(), "err.dns_txt".into()),
                ("records.8.type".into(), "err.dns_type".into()),
            ]
        );
        // A CNAME must stand alone.
        let clash = vec![
            rec("www", "CNAME", "example.de."),
            rec("www", "TXT", "hello"),
        ];
        assert_eq!(
            codes(check("example.de", &clash).unwrap_err()),
            [("records.0.name".into(), "err.dns_cname_alone".into())]
        );
        // Long TXT records are split into 255-byte strings.
        let long = check("example.de", &[rec("@", "TXT", &"a".repeat(300))]).unwrap();
        let file = zone_file("example.de", 1, &["ns1.x.de"], "h@x.de", &long);
        assert!(file.contains(&format!("\"{}\" \"{}\"", "a".repeat(255), "a".repeat(45))));
    }
}
