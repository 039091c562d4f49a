//! Registry rules (O5): a wanted domain name checked against its TLD's rules from the
//! catalog (label syntax and length, IDN support and scripts, periods, AuthCode
//! format, residency). Every refusal is an error code for one field.

use crate::catalog::tld;

/// A checked domain: the label as typed (Unicode) and as the registry wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainName {
    /// Lowercase, Unicode (`müller`).
    pub label: String,
    /// ASCII (`xn--mller-kva`).
    pub ascii_label: String,
    pub tld: String,
}

impl DomainName {
    /// `müller.de`.
    pub fn unicode(&self) -> String {
        format!("{}.{}", self.label, self.tld)
    }

    /// `xn--mller-kva.de`: what goes to the registry.
    pub fn ascii(&self) -> String {
        format!("{}.{}", self.ascii_label, self.tld)
    }
}

/// The writing system of a letter, coarse enough to catch look-alike mixes
/// (Latin `a` beside Cyrillic `а`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Script {
    Latin,
    Greek,
    Cyrillic,
    Armenian,
    Hebrew,
    Arabic,
    Devanagari,
    Thai,
    Cjk,
    Hangul,
    Other,
}

fn script(c: char) -> Option<Script> {
    let u = c as u32;
    Some(match u {
        0x30..=0x39 | 0x2d => return None, // digits and hyphen go with any script
        0x61..=0x7a | 0xc0..=0x24f | 0x1e00..=0x1eff => Script::Latin,
        0x370..=0x3ff | 0x1f00..=0x1fff => Script::Greek,
        0x400..=0x52f => Script::Cyrillic,
        0x530..=0x58f => Script::Armenian,
        0x590..=0x5ff => Script::Hebrew,
        0x600..=0x6ff | 0x750..=0x77f => Script::Arabic,
        0x900..=0x97f => Script::Devanagari,
        0xe00..=0xe7f => Script::Thai,
        // Han, Hiragana and Katakana are used together in Japanese names.
        0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff => Script::Cjk,
        0xac00..=0xd7af | 0x1100..=0x11ff => Script::Hangul,
        _ => Script::Other,
    })
}

/// Splits `name` (`müller.de`, `MÜLLER.DE.`, `xn--mller-kva.de`) into a checked label
/// for `rules` (the TLD the name ends in). Errors are codes for field `domain`.
pub fn check_name(input: &str, rules: &tld::Model) -> Result<DomainName, &'static str> {
    let name = input.trim().trim_end_matches('.').to_lowercase();
    if name.is_empty() {
        return Err("err.domain_empty");
    }
    let suffix = format!(".{}", rules.name);
    let label = name
        .strip_suffix(&suffix)
        .ok_or("err.domain_tld")?
        .to_owned();
    check_label(&label, rules).map(|(label, ascii_label)| DomainName {
        label,
        ascii_label,
        tld: rules.name.clone(),
    })
}

/// Checks one label (no dots) against the TLD's rules; returns (Unicode, ASCII).
pub fn check_label(label: &str, rules: &tld::Model) -> Result<(String, String), &'static str> {
    if label.is_empty() {
        return Err("err.domain_empty");
    }
    if label.contains('.') {
        return Err("err.domain_subdomain");
    }
    // An ASCII label written as punycode is the IDN it encodes.
    // It must encode something non-ASCII and encode back to itself.
    let unicode = match label.strip_prefix("xn--") {
        Some(rest) => {
            let decoded = idna::punycode::decode_to_string(rest)
                .filter(|u| !u.is_ascii())
                .ok_or("err.domain_punycode")?;
            if idna::domain_to_ascii(&decoded).ok().as_deref() != Some(label) {
                return Err("err.domain_punycode");
            }
            decoded
        }
        None => label.to_owned(),
    };
    let is_idn = !unicode.is_ascii();
    if is_idn && !rules.idn {
        return Err("err.domain_idn_unsupported");
    }
    if unicode.starts_with('-') || unicode.ends_with('-') {
        return Err("err.domain_hyphen_edge");
    }
    // `ab--cd`: positions 3-4 are reserved for IDN prefixes like `xn--`.
    if unicode.is_ascii() && unicode.get(2..4) == Some("--") {
        return Err("err.domain_hyphen_34");
    }
    let mut scripts = unicode.chars().filter_map(script);
    if unicode
        .chars()
        .any(|c| !(c.is_alphanumeric() || c == '-') || c.is_uppercase())
    {
        return Err("err.domain_chars");
    }
    if let Some(first) = scripts.next() {
        if first == Script::Other {
            return Err("err.domain_chars");
        }
        if scripts.any(|s| s != first) {
            return Err("err.domain_mixed_scripts");
        }
    }
    let ascii = if is_idn {
        idna::domain_to_ascii(&unicode).map_err(|_| "err.domain_chars")?
    } else {
        unicode.clone()
    };
    if ascii.len() > 63 {
        return Err("err.domain_too_long");
    }
    let chars = unicode.chars().count() as i32;
    if chars < rules.min_length {
        return Err("err.domain_too_short");
    }
    if chars > rules.max_length {
        return Err("err.domain_too_long");
    }
    Ok((unicode, ascii))
}

/// The registration periods (years) the TLD allows.
pub fn periods(rules: &tld::Model) -> Vec<i32> {
    rules
        .periods
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect()
}

/// A period in months allowed for the TLD, as a field error code otherwise.
pub fn check_period(months: i32, rules: &tld::Model) -> Result<(), &'static str> {
    if months % 12 == 0 && periods(rules).contains(&(months / 12)) {
        Ok(())
    } else {
        Err("err.domain_period")
    }
}

/// An AuthCode (transfer authorization) as registries accept it: 6 to 32 printable
/// ASCII characters without spaces, with at least one letter and one digit.
pub fn check_auth_code(code: &str, rules: &tld::Model) -> Result<(), &'static str> {
    let code = code.trim();
    if code.is_empty() {
        return if rules.transfer_auth_code {
            Err("err.auth_code_required")
        } else {
            Ok(())
        };
    }
    let ok = (6..=32).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_graphic())
        && code.bytes().any(|b| b.is_ascii_alphabetic())
        && code.bytes().any(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err("err.auth_code_format")
    }
}

/// EU, EEA states outside the EU, for `.eu` eligibility.
const EEA_EXTRA: &[&str] = &["IS", "LI", "NO"];

/// The residency rule: `eu` needs a registrant in the EU/EEA; `de-admin` needs a
/// German postal address for the admin contact, or the reseller's trustee service.
pub fn check_residency(
    rules: &tld::Model,
    registrant_country: &str,
    admin_country: &str,
    trustee: bool,
) -> Result<(), &'static str> {
    match rules.residency.as_deref() {
        Some("eu")
            if !(crate::checks::EU.contains(&registrant_country)
                || EEA_EXTRA.contains(&registrant_country)) =>
        {
            Err("err.residency_eu")
        }
        Some("de-admin") if admin_country != "DE" && !trustee => Err("err.residency_de_admin"),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tld(name: &str, idn: bool, min: i32, max: i32, residency: Option<&str>) -> tld::Model {
        tld::Model {
            name: name.into(),
            groups: String::new(),
            idn,
            min_length: min,
            max_length: max,
            periods: "1,2,5".into(),
            transfer_auth_code: true,
            restore_grace_days: 30,
            residency: residency.map(str::to_owned),
            created_at: chrono::Utc::now(),
            phase: "ga".into(),
            ga_at: None,
        }
    }

    #[test]
    fn names_are_checked_against_the_tld() {
        let de = tld("de", true, 1, 63, Some("de-admin"));
        let com = tld("com", true, 1, 63, None);
        let ascii_only = tld("eu", false, 2, 63, Some("eu"));
        let ok = |name: &str, t: &tld::Model| check_name(name, t).unwrap().ascii();
        assert_eq!(ok("Example.DE.", &de), "example.de");
        assert_eq!(ok("müller.de", &de), "xn--mller-kva.de");
        assert_eq!(ok("xn--mller-kva.de", &de), "xn--mller-kva.de");
        assert_eq!(
            check_name("xn--mller-kva.de", &de).unwrap().unicode(),
            "müller.de"
        );
        assert_eq!(ok("a-b-c.com", &com), "a-b-c.com");
        assert_eq!(ok("東京.com", &com), "xn--1lqs71d.com");
        let long = "a".repeat(63);
        assert_eq!(ok(&format!("{long}.com"), &com), format!("{long}.com"));
        let cases: &[(&str, &tld::Model, &str)] = &[
            ("", &de, "err.domain_empty"),
            ("example.com", &de, "err.domain_tld"),
            (".de", &de, "err.domain_empty"),
            ("www.example.de", &de, "err.domain_subdomain"),
            ("-example.de", &de, "err.domain_hyphen_edge"),
            ("example-.de", &de, "err.domain_hyphen_edge"),
            ("ab--cd.de", &de, "err.domain_hyphen_34"),
            ("exa_mple.de", &de, "err.domain_chars"),
            ("exa mple.de", &de, "err.domain_chars"),
            (
                &format!("{}.com", "a".repeat(64)),
                &com,
                "err.domain_too_long",
            ),
            ("müller.eu", &ascii_only, "err.domain_idn_unsupported"),
            ("a.eu", &ascii_only, "err.domain_too_short"),
            // Latin "p" and "a" with Cyrillic "у" and "а": a look-alike of "paypal".
            ("pаypаl.com", &com, "err.domain_mixed_scripts"),
            ("xn--zz-.de", &de, "err.domain_punycode"),
        ];
        for (name, t, code) in cases {
            assert_eq!(check_name(name, t), Err(*code), "{name}");
        }
    }

    #[test]
    fn periods_auth_codes_and_residency() {
        let eu = tld("eu", false, 2, 63, Some("eu"));
        let de = tld("de", true, 1, 63, Some("de-admin"));
        assert_eq!(check_period(12, &eu), Ok(()));
        assert_eq!(check_period(60, &eu), Ok(()));
        assert_eq!(check_period(36, &eu), Err("err.domain_period"));
        assert_eq!(check_period(6, &eu), Err("err.domain_period"));
        assert_eq!(check_auth_code("Ab3$xY9!", &de), Ok(()));
        assert_eq!(check_auth_code("", &de), Err("err.auth_code_required"));
        for bad in [
            "abc12",
            "abcdefgh",
            "12345678",
            "abc 12345",
            &"a1".repeat(17),
        ] {
            assert_eq!(
                check_auth_code(bad, &de),
                Err("err.auth_code_format"),
                "{bad}"
            );
        }
        assert_eq!(check_residency(&eu, "AT", "AT", false), Ok(()));
        assert_eq!(check_residency(&eu, "NO", "NO", false), Ok(()));
        assert_eq!(
            check_residency(&eu, "US", "DE", false),
            Err("err.residency_eu")
        );
        assert_eq!(check_residency(&de, "US", "DE", false), Ok(()));
        assert_eq!(
            check_residency(&de, "US", "US", false),
            Err("err.residency_de_admin")
        );
        assert_eq!(check_residency(&de, "US", "US", true), Ok(()));
    }
}
