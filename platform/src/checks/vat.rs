//! VAT identification numbers: syntax per EU member state (as VIES documents them).
//! Pattern letters: `9` digit, `A` letter, `X` letter or digit; anything else literal.

const PATTERNS: &[(&str, &[&str])] = &[
    ("AT", &["U99999999"]),
    ("BE", &["0999999999", "1999999999"]),
    ("BG", &["999999999", "9999999999"]),
    ("CY", &["99999999A"]),
    ("CZ", &["99999999", "999999999", "9999999999"]),
    ("DE", &["999999999"]),
    ("DK", &["99999999"]),
    ("EE", &["999999999"]),
    ("EL", &["999999999"]),
    ("ES", &["X9999999X"]),
    ("FI", &["99999999"]),
    ("FR", &["XX999999999"]),
    ("HR", &["99999999999"]),
    ("HU", &["99999999"]),
    ("IE", &["9X99999A", "9999999A", "9999999AA"]),
    ("IT", &["99999999999"]),
    ("LT", &["999999999", "999999999999"]),
    ("LU", &["99999999"]),
    ("LV", &["99999999999"]),
    ("MT", &["99999999"]),
    ("NL", &["999999999B99"]),
    ("PL", &["9999999999"]),
    ("PT", &["999999999"]),
    (
        "RO",
        &[
            "99",
            "999",
            "9999",
            "99999",
            "999999",
            "9999999",
            "99999999",
            "999999999",
            "9999999999",
        ],
    ),
    ("SE", &["999999999901"]),
    ("SI", &["99999999"]),
    ("SK", &["9999999999"]),
    ("XI", &["999999999", "999999999999", "GD999", "HA999"]),
];

fn matches(pattern: &str, s: &str) -> bool {
    pattern.len() == s.len()
        && pattern.bytes().zip(s.bytes()).all(|(p, c)| match p {
            b'9' => c.is_ascii_digit(),
            b'A' => c.is_ascii_uppercase(),
            b'X' => c.is_ascii_uppercase() || c.is_ascii_digit(),
            lit => lit == c,
        })
}

/// Normalizes (uppercase, no spaces, dots or hyphens) and checks the syntax for the
/// country prefix. Greece uses `EL`; `GR` is accepted and rewritten.
pub fn vat_id(input: &str) -> Option<String> {
    let s: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-'))
        .collect::<String>()
        .to_uppercase();
    if s.len() < 4 || !s.is_ascii() {
        return None;
    }
    let (prefix, rest) = s.split_at(2);
    let prefix = if prefix == "GR" { "EL" } else { prefix };
    let (_, patterns) = PATTERNS.iter().find(|(c, _)| *c == prefix)?;
    patterns
        .iter()
        .any(|p| matches(p, rest))
        .then(|| format!("{prefix}{rest}"))
}

#[cfg(test)]
mod tests {
    use super::vat_id;

    #[test]
    fn vat_ids() {
        assert_eq!(vat_id("DE 123 456 789").as_deref(), Some("DE123456789"));
        assert_eq!(vat_id("atu12345678").as_deref(), Some("ATU12345678"));
        assert_eq!(vat_id("NL123456789B01").as_deref(), Some("NL123456789B01"));
        assert_eq!(vat_id("FRXX123456789").as_deref(), Some("FRXX123456789"));
        assert_eq!(vat_id("GR123456789").as_deref(), Some("EL123456789"));
        assert!(vat_id("DE12345678").is_none(), "8 digits");
        assert!(vat_id("AT12345678").is_none(), "missing U");
        assert!(vat_id("US123456789").is_none(), "not EU");
        assert!(vat_id("").is_none());
    }
}
