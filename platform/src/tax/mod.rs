//! VAT treatment of a sale (P7): one rule, table-driven tests.
//!
//! - Customer in the seller's country: domestic VAT at the seller's rate.
//! - Customer a business in another EU state with a VAT id of valid syntax (and
//!   valid check digits where the country has them): reverse charge, no VAT.
//! - Private customer in another EU state: the seller's rate (no OSS registration
//!   is assumed; see docs).
//! - Customer outside the EU: export, no VAT.

use crate::checks::{EU, vat_id};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Treatment {
    /// VAT at `rate_bp` basis points (1900 = 19 %).
    Vat { rate_bp: u32 },
    /// EU B2B: the customer accounts for the VAT; the invoice carries a note.
    ReverseCharge,
    /// Outside the EU: no VAT.
    Export,
}

/// The seller's side: its country and standard rate.
#[derive(Clone, Copy, Debug)]
pub struct Seller<'a> {
    pub country: &'a str,
    pub rate_bp: u32,
}

/// The buyer's side as the customer record has it.
#[derive(Clone, Copy, Debug)]
pub struct Buyer<'a> {
    pub country: &'a str,
    pub is_company: bool,
    pub vat_id: Option<&'a str>,
}

/// Greece is `GR` as a country and `EL` in VAT ids.
fn vat_prefix(country: &str) -> &str {
    if country == "GR" { "EL" } else { country }
}

fn in_eu(country: &str) -> bool {
    EU.contains(&country)
}

/// A VAT id counts for reverse charge when its syntax is valid, it belongs to the
/// buyer's country and its check digits are right where we know the algorithm.
pub fn valid_vat_id_for(country: &str, id: &str) -> bool {
    let Some(normalized) = vat_id(id) else {
        return false;
    };
    normalized.starts_with(vat_prefix(country)) && checksum_ok(&normalized)
}

fn digits(s: &str) -> Option<Vec<u32>> {
    s.chars().map(|c| c.to_digit(10)).collect()
}

fn checksum_ok(id: &str) -> bool {
    let (prefix, rest) = id.split_at(2);
    match prefix {
        // ISO 7064 MOD 11,10 over the first 8 digits; the 9th is the check digit.
        "DE" => digits(rest).is_some_and(|d| {
            let mut product = 10;
            for &x in &d[..8] {
                let mut sum = (x + product) % 10;
                if sum == 0 {
                    sum = 10;
                }
                product = (2 * sum) % 11;
            }
            let check = (11 - product) % 10;
            check == d[8]
        }),
        // "U" + 8 digits; weights 1,2,1,2,1,2,1 with digit sums, check = (10 - (sum + 4) % 10) % 10.
        "AT" => digits(&rest[1..]).is_some_and(|d| {
            let mut sum = 0;
            for (i, &x) in d[..7].iter().enumerate() {
                let v = if i % 2 == 1 { x * 2 } else { x };
                sum += v / 10 + v % 10;
            }
            (10 - (sum + 4) % 10) % 10 == d[7]
        }),
        _ => true,
    }
}

pub fn treatment(seller: Seller<'_>, buyer: Buyer<'_>) -> Treatment {
    if buyer.country == seller.country {
        return Treatment::Vat {
            rate_bp: seller.rate_bp,
        };
    }
    if !in_eu(buyer.country) {
        return Treatment::Export;
    }
    let b2b = buyer.is_company
        && buyer
            .vat_id
            .is_some_and(|id| valid_vat_id_for(buyer.country, id));
    if b2b && in_eu(seller.country) {
        Treatment::ReverseCharge
    } else {
        Treatment::Vat {
            rate_bp: seller.rate_bp,
        }
    }
}

/// The reseller's tax page as typed.
#[derive(Clone, Debug, Default)]
pub struct TaxInput {
    pub country: String,
    /// Percent, e.g. `19` or `7.7`.
    pub vat_rate: String,
    pub show_gross: bool,
    pub payment_term_days: String,
    /// What a 0 % line is: `zero`, `exempt` or `outside` (see [`ZERO_RATES`]).
    pub zero_rate: String,
    /// Why: required when exempt, e.g. "Kein Ausweis von Umsatzsteuer, da
    /// Kleinunternehmer gemäß § 19 UStG".
    pub exemption_reason: String,
}

/// The kinds of 0 % line with their EN 16931 VAT category (BT-118): zero-rated,
/// exempt (a reason is printed and sent), outside the scope of VAT.
pub const ZERO_RATES: &[(&str, &str)] = &[("zero", "Z"), ("exempt", "E"), ("outside", "O")];

/// The VAT category of a 0 % line under the seller's choice.
pub fn zero_category(zero_rate: &str) -> &'static str {
    ZERO_RATES
        .iter()
        .find(|(k, _)| *k == zero_rate)
        .map_or("Z", |(_, c)| c)
}

/// The reason an exempt or outside-the-scope line carries (BT-120): the
/// seller's own words, else the standard one for lines outside the scope.
pub fn exemption_reason(category: &str, own: &str) -> Option<String> {
    match category {
        "E" | "O" if !own.trim().is_empty() => Some(own.trim().to_owned()),
        "O" => Some("Not subject to VAT".to_owned()),
        _ => None,
    }
}

/// The highest standard VAT rate anyone may set (Hungary has 27 %).
const MAX_RATE_BP: i32 = 3_000;

/// Saves the seller's country, VAT rate, net/gross display and default payment term.
/// Prices depend on them, so the price cache is dropped on commit.
pub async fn update_settings(
    tx: &relabel_tenants::TenantTx,
    actor: &str,
    input: &TaxInput,
) -> Result<(), crate::customers::CustomerError> {
    use crate::validation::FieldErrors;
    use sea_orm::{ActiveModelTrait, Set};
    let mut errors = FieldErrors::default();
    let country = input.country.trim().to_uppercase();
    if !crate::checks::is_country(&country) {
        errors.add("tax_country", "err.country");
    }
    let rate = crate::terms::parse_percent(&input.vat_rate).filter(|r| *r <= MAX_RATE_BP);
    if rate.is_none() || input.vat_rate.trim().is_empty() {
        errors.add("vat_rate", "err.vat_rate");
    }
    let term = crate::terms::parse_days(&input.payment_term_days).filter(|d| *d > 0);
    if term.is_none() {
        errors.add("payment_term_days", "err.days");
    }
    let zero_rate = match input.zero_rate.trim() {
        "" => "zero",
        z => z,
    };
    if !ZERO_RATES.iter().any(|(k, _)| *k == zero_rate) {
        errors.add("zero_rate", "err.choice");
    }
    let reason = input.exemption_reason.trim();
    if reason.chars().count() > 200 {
        errors.add("exemption_reason", "err.too_long");
    } else if zero_rate == "exempt" && reason.is_empty() {
        errors.add("exemption_reason", "err.exemption_reason");
    }
    let (Some(rate), Some(term), true) = (rate, term, errors.is_empty()) else {
        return Err(crate::customers::CustomerError::Invalid(errors));
    };
    let before = crate::customers::settings(tx).await?;
    let mut a: crate::customers::settings::ActiveModel = before.clone().into();
    a.tax_country = Set(country);
    a.vat_rate_bp = Set(rate);
    a.show_gross = Set(input.show_gross);
    a.zero_rate = Set(zero_rate.to_owned());
    a.exemption_reason = Set(reason.to_owned());
    a.payment_term_days = Set(term);
    let after = a.update(tx.conn()).await?;
    tx.touch(crate::pricing::book::TOPIC);
    let snap = |s: &crate::customers::settings::Model| {
        serde_json::json!({ "tax_country": s.tax_country, "vat_rate_bp": s.vat_rate_bp,
            "zero_rate": s.zero_rate, "exemption_reason": s.exemption_reason,
            "show_gross": s.show_gross, "payment_term_days": s.payment_term_days })
    };
    crate::audit::record_tenant(
        tx,
        crate::audit::Change::new(actor, "settings.tax", "settings")
            .before(snap(&before))
            .after(snap(&after)),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DE: Seller = Seller {
        country: "DE",
        rate_bp: 1900,
    };

    #[test]
    fn table() {
        // (buyer country, company, VAT id, expected)
        let cases: &[(&str, bool, Option<&str>, Treatment)] = &[
            ("DE", false, None, Treatment::Vat { rate_bp: 1900 }),
            (
                "DE",
                true,
                Some("DE136695976"),
                Treatment::Vat { rate_bp: 1900 },
            ),
            ("AT", true, Some("ATU13585627"), Treatment::ReverseCharge),
            ("AT", false, None, Treatment::Vat { rate_bp: 1900 }),
            ("AT", true, None, Treatment::Vat { rate_bp: 1900 }),
            (
                "AT",
                true,
                Some("ATU13585626"),
                Treatment::Vat { rate_bp: 1900 },
            ),
            (
                "AT",
                true,
                Some("DE136695976"),
                Treatment::Vat { rate_bp: 1900 },
            ),
            ("NL", true, Some("NL123456789B01"), Treatment::ReverseCharge),
            ("GR", true, Some("EL123456789"), Treatment::ReverseCharge),
            ("US", false, None, Treatment::Export),
            ("US", true, Some("DE136695976"), Treatment::Export),
            ("CH", true, None, Treatment::Export),
        ];
        for (country, company, id, expected) in cases {
            let got = treatment(
                DE,
                Buyer {
                    country,
                    is_company: *company,
                    vat_id: *id,
                },
            );
            assert_eq!(got, *expected, "{country} company={company} id={id:?}");
        }
    }

    #[test]
    fn checksums() {
        assert!(valid_vat_id_for("DE", "DE 136 695 976"));
        assert!(!valid_vat_id_for("DE", "DE136695975"));
        assert!(valid_vat_id_for("AT", "ATU13585627"));
        assert!(!valid_vat_id_for("AT", "ATU13585628"));
    }
}
