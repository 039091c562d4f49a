//! Checks of customer data (Y4, O10): bank data, VAT ids, postal codes, phone
//! numbers, countries. Each returns the normalized value or `None`; callers turn
//! `None` into a field error.

mod countries;
mod vat;

pub use countries::{COUNTRIES, EU, is_country, options as country_options};
pub use vat::vat_id;

/// The buyer reference (EN 16931 BT-10), which public-sector buyers require as
/// their Leitweg-ID (XRechnung): up to 100 printable characters. A value shaped
/// like a Leitweg-ID (coarse address of 2-12 digits, optional fine address of
/// up to 30 letters and digits, 2 check digits, joined by `-`) must carry the
/// right check digits (ISO 7064 Mod 97-10), so a typo is caught before the
/// authority's portal refuses the invoice. `Err` names the message key.
pub fn buyer_reference(input: &str) -> Result<String, &'static str> {
    let v = input.trim();
    if v.chars().count() > 100 || v.chars().any(char::is_control) {
        return Err("err.buyer_reference");
    }
    let parts: Vec<&str> = v.split('-').collect();
    let digits = |s: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    // Three parts, or two with a municipal key of 8 to 12 digits: "4711-01"
    // stays an ordinary reference.
    let coarse = if parts.len() == 3 { 2..=12 } else { 8..=12 };
    let leitweg = matches!(parts.len(), 2 | 3)
        && digits(parts[0], coarse)
        && digits(parts[parts.len() - 1], 2..=2)
        && (parts.len() == 2
            || (1..=30).contains(&parts[1].len())
                && parts[1].bytes().all(|b| b.is_ascii_alphanumeric()));
    if leitweg {
        let body: String = parts[..parts.len() - 1].concat().to_uppercase();
        let mut rest: u32 = 0;
        for c in body.chars().chain("00".chars()) {
            let n = c.to_digit(36).unwrap_or(0);
            for d in n.to_string().chars() {
                rest = (rest * 10 + d.to_digit(10).unwrap_or(0)) % 97;
            }
        }
        let expected = 98 - rest;
        if parts[parts.len() - 1].parse::<u32>().ok() != Some(expected) {
            return Err("err.leitweg_check");
        }
        return Ok(v.to_uppercase());
    }
    Ok(v.to_owned())
}

/// IBAN: checksum and the country's length and format (iban_validate). Spaces are
/// removed, letters uppercased; returned in electronic format.
pub fn iban(input: &str) -> Option<String> {
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    use iban::IbanLike;
    let parsed: iban::Iban = compact.parse().ok()?;
    Some(parsed.electronic_str().to_owned())
}

/// BIC (ISO 9362): 4 letters bank, 2 letters country, 2 alphanumerics location,
/// optionally 3 alphanumerics branch.
pub fn bic(input: &str) -> Option<String> {
    let s: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    let b = s.as_bytes();
    let ok = (b.len() == 8 || b.len() == 11)
        && b[..6].iter().all(u8::is_ascii_uppercase)
        && b[6..].iter().all(u8::is_ascii_alphanumeric)
        && is_country(&s[4..6]);
    ok.then_some(s)
}

/// Postal code in the country's format (DE, AT, CH, NL, FR, BE, IT, ES, LU, DK, PL,
/// GB checked exactly; elsewhere 2 to 10 letters, digits, spaces or hyphens).
pub fn postal_code(country: &str, input: &str) -> Option<String> {
    let s = input.trim().to_uppercase();
    let digits = |n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let ok = match country {
        "DE" | "FR" | "IT" | "ES" => digits(5),
        "AT" | "CH" | "BE" | "LU" | "DK" => digits(4) && !s.starts_with('0'),
        "NL" => {
            let compact: String = s.chars().filter(|c| *c != ' ').collect();
            let b = compact.as_bytes();
            let ok = b.len() == 6
                && b[0] != b'0'
                && b[..4].iter().all(u8::is_ascii_digit)
                && b[4..].iter().all(u8::is_ascii_uppercase);
            return ok.then(|| format!("{} {}", &compact[..4], &compact[4..]));
        }
        "PL" => {
            s.len() == 6
                && s.as_bytes()[2] == b'-'
                && s.bytes()
                    .enumerate()
                    .all(|(i, b)| i == 2 || b.is_ascii_digit())
        }
        "GB" => {
            let compact: String = s.chars().filter(|c| *c != ' ').collect();
            (5..=7).contains(&compact.len())
                && compact.bytes().all(|b| b.is_ascii_alphanumeric())
                && compact.as_bytes()[0].is_ascii_uppercase()
                && compact.as_bytes()[compact.len() - 3].is_ascii_digit()
        }
        _ => {
            (2..=10).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-')
        }
    };
    ok.then_some(s)
}

/// Phone number in E.164: `+`, country code, subscriber number, 8 to 15 digits in
/// all. Spaces, hyphens, dots, slashes and parentheses are accepted and removed.
pub fn phone(input: &str) -> Option<String> {
    let s: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '/' | '(' | ')'))
        .collect();
    let digits = s.strip_prefix('+')?;
    let ok = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    ok.then(|| format!("+{digits}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn leitweg_ids_are_checked_and_other_references_pass() {
        use super::buyer_reference as r;
        assert_eq!(r("991-33333TEST-33"), Ok("991-33333TEST-33".into()));
        assert_eq!(
            r(" 04011000-1234512345-06 "),
            Ok("04011000-1234512345-06".into())
        );
        assert_eq!(r("991-33333test-33"), Ok("991-33333TEST-33".into()));
        assert_eq!(r("991-33333TEST-34"), Err("err.leitweg_check"));
        assert_eq!(r("04011000-1234512345-60"), Err("err.leitweg_check"));
        assert_eq!(r("PO 4711 / Einkauf"), Ok("PO 4711 / Einkauf".into()));
        assert_eq!(r("4711-01"), Ok("4711-01".into()), "an order number");
        assert_eq!(r("a\nb"), Err("err.buyer_reference"));
        assert_eq!(r(&"x".repeat(101)), Err("err.buyer_reference"));
    }

    use super::*;

    #[test]
    fn ibans() {
        assert_eq!(
            iban("DE89 3704 0044 0532 0130 00").as_deref(),
            Some("DE89370400440532013000")
        );
        assert_eq!(
            iban("de89370400440532013000").as_deref(),
            Some("DE89370400440532013000")
        );
        assert!(iban("DE89 3704 0044 0532 0130 01").is_none(), "checksum");
        assert!(iban("DE89 3704 0044 0532 0130").is_none(), "length");
        assert!(iban("XX89370400440532013000").is_none(), "country");
        assert!(iban("").is_none());
    }

    #[test]
    fn bics() {
        assert_eq!(bic("cobadeffxxx").as_deref(), Some("COBADEFFXXX"));
        assert_eq!(bic("DEUTDEFF").as_deref(), Some("DEUTDEFF"));
        assert!(bic("DEUTDEF").is_none());
        assert!(bic("DEUTXXFF").is_none(), "unknown country");
        assert!(bic("1EUTDEFF").is_none());
    }

    #[test]
    fn postal_codes() {
        assert_eq!(postal_code("DE", "10115").as_deref(), Some("10115"));
        assert!(postal_code("DE", "1011").is_none());
        assert_eq!(postal_code("AT", "1010").as_deref(), Some("1010"));
        assert!(postal_code("AT", "0101").is_none());
        assert_eq!(postal_code("CH", "8001").as_deref(), Some("8001"));
        assert_eq!(postal_code("NL", "1012ab").as_deref(), Some("1012 AB"));
        assert!(postal_code("NL", "0123 AB").is_none());
        assert!(postal_code("NL", "1012 A1").is_none());
        assert_eq!(postal_code("FR", "75001").as_deref(), Some("75001"));
        assert!(postal_code("FR", "7500").is_none());
        assert_eq!(postal_code("GB", "SW1A 1AA").as_deref(), Some("SW1A 1AA"));
        assert!(postal_code("US", "").is_none());
    }

    #[test]
    fn phones() {
        assert_eq!(phone("+49 30 1234567").as_deref(), Some("+49301234567"));
        assert_eq!(phone("+1 (415) 555-0100").as_deref(), Some("+14155550100"));
        assert!(phone("030 1234567").is_none(), "no country code");
        assert!(phone("+0049301234567").is_none());
        assert!(phone("+49").is_none());
        assert!(phone("+49 30 12345678901234").is_none());
    }
}
