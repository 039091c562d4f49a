//! ISO 3166-1 alpha-2 country codes. A few common ones carry names for the forms;
//! the rest are listed by code.

/// Every assigned ISO 3166-1 alpha-2 code.
pub const COUNTRIES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// EU member states (VAT rules apply).
pub const EU: &[&str] = &[
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Names of the countries offered first in forms: (code, German, English).
pub const NAMED: &[(&str, &str, &str)] = &[
    ("DE", "Deutschland", "Germany"),
    ("AT", "Österreich", "Austria"),
    ("CH", "Schweiz", "Switzerland"),
    ("NL", "Niederlande", "Netherlands"),
    ("FR", "Frankreich", "France"),
    ("BE", "Belgien", "Belgium"),
    ("LU", "Luxemburg", "Luxembourg"),
    ("IT", "Italien", "Italy"),
    ("ES", "Spanien", "Spain"),
    ("PL", "Polen", "Poland"),
    ("DK", "Dänemark", "Denmark"),
    ("GB", "Vereinigtes Königreich", "United Kingdom"),
    ("US", "Vereinigte Staaten", "United States"),
    ("CZ", "Tschechien", "Czechia"),
    ("SE", "Schweden", "Sweden"),
    ("IE", "Irland", "Ireland"),
    ("PT", "Portugal", "Portugal"),
    ("FI", "Finnland", "Finland"),
    ("NO", "Norwegen", "Norway"),
    ("LI", "Liechtenstein", "Liechtenstein"),
];

pub fn is_country(code: &str) -> bool {
    COUNTRIES.binary_search(&code).is_ok()
}

/// Countries for a select: the named ones first (by name), then every other code.
pub fn options(lang: &str) -> Vec<(&'static str, String)> {
    let mut named: Vec<(&'static str, String)> = NAMED
        .iter()
        .map(|(c, de, en)| (*c, if lang == "de" { de } else { en }.to_string()))
        .collect();
    named.sort_by(|a, b| a.1.cmp(&b.1));
    let rest = COUNTRIES
        .iter()
        .filter(|c| !NAMED.iter().any(|(n, _, _)| n == *c))
        .map(|c| (*c, (*c).to_string()));
    named.extend(rest);
    named
}

#[cfg(test)]
mod tests {
    #[test]
    fn sorted_for_binary_search() {
        let mut sorted = super::COUNTRIES.to_vec();
        sorted.sort();
        assert_eq!(sorted, super::COUNTRIES);
        assert!(super::is_country("DE") && !super::is_country("XX"));
    }
}
