//! Invoice arithmetic in integer minor units (never floats).
//!
//! The rule (EN 16931 BR-CO-17, ARCHITECTURE "Money"): each line's net is
//! quantity x unit price rounded half up (away from zero) to the cent; lines are
//! summed per VAT category and rate; the VAT of each group is its net sum x rate,
//! rounded half up once; the invoice's VAT is the sum of the groups'.

use crate::tax::Treatment;

/// Rounds `num / den` half away from zero (den > 0).
pub fn div_round(num: i128, den: i128) -> i64 {
    let q = if num >= 0 {
        (num + den / 2) / den
    } else {
        -((-num + den / 2) / den)
    };
    i64::try_from(q).unwrap_or(if q > 0 { i64::MAX } else { i64::MIN })
}

/// Net of one line: quantity (thousandths) x unit net.
pub fn line_net(quantity_milli: i64, unit_net_minor: i64) -> i64 {
    div_round(
        i128::from(quantity_milli) * i128::from(unit_net_minor),
        1000,
    )
}

/// `amount` less `bp` basis points, rounded half up.
pub fn discounted(amount: i64, bp: i32) -> i64 {
    amount - div_round(i128::from(amount) * i128::from(bp), 10_000)
}

/// EN 16931 VAT category code and rate of a line under a treatment.
pub fn category(treatment: Treatment) -> (&'static str, i32) {
    match treatment {
        Treatment::Vat { rate_bp } if rate_bp > 0 => ("S", i32::try_from(rate_bp).unwrap_or(0)),
        Treatment::Vat { .. } => ("Z", 0),
        Treatment::ReverseCharge => ("AE", 0),
        Treatment::Export => ("G", 0),
    }
}

/// One VAT group of an invoice.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct VatGroup {
    pub category: String,
    pub rate_bp: i32,
    pub net_minor: i64,
    pub vat_minor: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    pub net_minor: i64,
    pub vat_minor: i64,
    pub gross_minor: i64,
    pub groups: Vec<VatGroup>,
}

/// Totals of lines given as (net, category, rate): groups in first-seen order.
pub fn totals<'a>(lines: impl IntoIterator<Item = (i64, &'a str, i32)>) -> Totals {
    let mut groups: Vec<VatGroup> = Vec::new();
    for (net, cat, rate) in lines {
        match groups
            .iter_mut()
            .find(|g| g.category == cat && g.rate_bp == rate)
        {
            Some(g) => g.net_minor += net,
            None => groups.push(VatGroup {
                category: cat.to_owned(),
                rate_bp: rate,
                net_minor: net,
                vat_minor: 0,
            }),
        }
    }
    let mut t = Totals::default();
    for g in &mut groups {
        g.vat_minor = div_round(i128::from(g.net_minor) * i128::from(g.rate_bp), 10_000);
        t.net_minor += g.net_minor;
        t.vat_minor += g.vat_minor;
    }
    t.gross_minor = t.net_minor + t.vat_minor;
    t.groups = groups;
    t
}

/// `1234567` -> `12345.67` (and `-5` -> `-0.05`): the XML and CSV form.
pub fn decimal(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// `1500` thousandths -> `1.5`, `2000` -> `2`.
pub fn quantity(milli: i64) -> String {
    let sign = if milli < 0 { "-" } else { "" };
    let abs = milli.unsigned_abs();
    let frac = abs % 1000;
    if frac == 0 {
        format!("{sign}{}", abs / 1000)
    } else {
        format!("{sign}{}.{:03}", abs / 1000, frac)
            .trim_end_matches('0')
            .to_owned()
    }
}

/// A rate in basis points as a percentage: `1900` -> `19`, `550` -> `5.5`.
pub fn percent(bp: i32) -> String {
    let s = format!("{}.{:02}", bp / 100, bp % 100);
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// German display form: `1234567` -> `12.345,67`.
pub fn german(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let units = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(ch);
    }
    format!("{sign}{grouped},{:02}", abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(div_round(5, 10), 1);
        assert_eq!(div_round(4, 10), 0);
        assert_eq!(div_round(-5, 10), -1);
        assert_eq!(div_round(-4, 10), 0);
        assert_eq!(line_net(1500, 999), 1499); // 1498.5
        assert_eq!(line_net(333, 100), 33); // 33.3
        assert_eq!(discounted(999, 1000), 899); // 99.9 off
    }

    /// A hand-computed table: 19 % and 7 % lines with odd cents, summed per rate
    /// and rounded once per rate.
    #[test]
    fn rounding_table_matches_hand_computed_totals() {
        // (quantity milli, unit net) -> line nets, by hand:
        // 19 %: 3 x 3.33 = 9.99; 1.5 x 19.99 = 29.985 -> 29.99; 7 x 0.15 = 1.05;
        //       0.333 x 100.00 = 33.30; 12 x 4.99 = 59.88           sum 134.21
        //       VAT 134.21 x 0.19 = 25.4999 -> 25.50
        // 7 %:  1 x 12.34 = 12.34; 2.5 x 7.77 = 19.425 -> 19.43; 3 x 0.99 = 2.97
        //                                                      sum 34.74
        //       VAT 34.74 x 0.07 = 2.4318 -> 2.43
        // net 168.95, VAT 27.93, gross 196.88
        let lines19 = [
            (3000, 333),
            (1500, 1999),
            (7000, 15),
            (333, 10000),
            (12000, 499),
        ];
        let lines7 = [(1000, 1234), (2500, 777), (3000, 99)];
        let nets19: Vec<i64> = lines19.iter().map(|(q, p)| line_net(*q, *p)).collect();
        let nets7: Vec<i64> = lines7.iter().map(|(q, p)| line_net(*q, *p)).collect();
        assert_eq!(nets19, vec![999, 2999, 105, 3330, 5988]);
        assert_eq!(nets7, vec![1234, 1943, 297]);
        let t = totals(
            nets19
                .iter()
                .map(|n| (*n, "S", 1900))
                .chain(nets7.iter().map(|n| (*n, "S", 700))),
        );
        assert_eq!(t.groups[0].net_minor, 13421);
        assert_eq!(t.groups[0].vat_minor, 2550);
        assert_eq!(t.groups[1].net_minor, 3474);
        assert_eq!(t.groups[1].vat_minor, 243);
        assert_eq!(
            (t.net_minor, t.vat_minor, t.gross_minor),
            (16895, 2793, 19688)
        );
        // Per-line rounding would give 25.51 on the 19 % group: the rule matters.
        let per_line: i64 = nets19
            .iter()
            .map(|n| div_round(i128::from(*n) * 1900, 10_000))
            .sum();
        assert_eq!(per_line, 2551);
    }

    #[test]
    fn reverse_charge_export_and_zero_rated_carry_no_vat() {
        let t = totals([
            (10000, "AE", 0),
            (2550, "G", 0),
            (199, "Z", 0),
            (1000, "S", 1900),
        ]);
        assert_eq!(t.groups.len(), 4);
        assert_eq!(
            (t.net_minor, t.vat_minor, t.gross_minor),
            (13749, 190, 13939)
        );
        assert_eq!(category(Treatment::ReverseCharge), ("AE", 0));
        assert_eq!(category(Treatment::Export), ("G", 0));
        assert_eq!(category(Treatment::Vat { rate_bp: 0 }), ("Z", 0));
        assert_eq!(category(Treatment::Vat { rate_bp: 1900 }), ("S", 1900));
    }

    #[test]
    fn display_forms() {
        assert_eq!(decimal(1234567), "12345.67");
        assert_eq!(decimal(-5), "-0.05");
        assert_eq!(quantity(1500), "1.5");
        assert_eq!(quantity(2000), "2");
        assert_eq!(quantity(333), "0.333");
        assert_eq!(percent(1900), "19");
        assert_eq!(percent(550), "5.5");
        assert_eq!(german(1234567), "12.345,67");
        assert_eq!(german(-99), "-0,99");
    }
}
