//! Exports for the tax accountant (B4): a CSV of documents and payments per
//! period, and a DATEV booking batch (EXTF format 700, category 21
//! "Buchungsstapel") in Windows-1252 as DATEV imports it.
//!
//! Bookings: an invoice is debtor (customer) to revenue per VAT group, "S"; a
//! credit note the same with "H"; a payment is bank to debtor. Revenue accounts:
//! the reseller's (SKR03 8400 by default) for domestic VAT, 8336 for EU reverse
//! charge, 8338 for exports outside the EU, 8200 zero rated. Debtor accounts are
//! 10000 + the digits of the customer number.
//!
//! The other ledger entries (SKR03): money in or out (payment, deposit, refund,
//! return debit) against the bank 1200; dunning and return-debit fees against
//! 2700 (other income, no VAT: damages); default interest against 2650; a
//! write-off against 2400; a correction against 1200. Skonto (cash discount)
//! reduces revenue and its VAT: it is split over the VAT groups of the invoice it
//! was granted on, in proportion to their gross, and booked per group against
//! 8736 (granted cash discounts 19 %, VAT corrected automatically), 8731 (7 %)
//! or 8700 (other treatments, no VAT).

use super::{billing_settings, invoice, invoice_line, ledger_entry, money};
use crate::customers::customer;
use chrono::{DateTime, Utc};
use relabel_tenants::TenantTx;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;

/// Documents issued and payments booked in `[from, to)`.
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

async fn documents(tx: &TenantTx, p: &Period) -> Result<Vec<invoice::Model>, DbErr> {
    invoice::Entity::find()
        .filter(invoice::Column::IssuedAt.gte(p.from))
        .filter(invoice::Column::IssuedAt.lt(p.to))
        .order_by_asc(invoice::Column::Kind)
        .order_by_asc(invoice::Column::Number)
        .all(tx.conn())
        .await
}

const PAYMENT_KINDS: &[&str] = &[
    "payment",
    "deposit",
    "refund",
    "write_off",
    "fee",
    "correction",
    "cash_discount",
    "return_debit",
    "interest",
];

/// The contra account of a ledger entry other than a cash discount.
fn contra_account(kind: &str) -> &'static str {
    match kind {
        "fee" => "2700",
        "interest" => "2650",
        "write_off" => "2400",
        _ => "1200",
    }
}

/// The cash-discount account of a VAT group.
fn skonto_account(category: &str, rate_bp: i32) -> &'static str {
    match (category, rate_bp) {
        ("S", 1900) => "8736",
        ("S", 700) => "8731",
        _ => "8700",
    }
}

/// `amount` split over `groups` (account, gross) in proportion to their gross,
/// rounded so the parts add up exactly (the last takes the rest).
fn split(amount: i64, groups: &[(&'static str, i64)]) -> Vec<(&'static str, i64)> {
    let total: i64 = groups.iter().map(|g| g.1).sum();
    if total <= 0 || groups.is_empty() {
        return vec![("8700", amount)];
    }
    let mut left = amount;
    let mut out = Vec::with_capacity(groups.len());
    for (k, (account, gross)) in groups.iter().enumerate() {
        let part = if k + 1 == groups.len() {
            left
        } else {
            money::div_round(i128::from(amount) * i128::from(*gross), i128::from(total))
        };
        left -= part;
        out.push((*account, part));
    }
    out
}

async fn payments(tx: &TenantTx, p: &Period) -> Result<Vec<ledger_entry::Model>, DbErr> {
    ledger_entry::Entity::find()
        .filter(ledger_entry::Column::Kind.is_in(PAYMENT_KINDS.iter().copied()))
        .filter(ledger_entry::Column::CreatedAt.gte(p.from))
        .filter(ledger_entry::Column::CreatedAt.lt(p.to))
        .order_by_asc(ledger_entry::Column::Id)
        .all(tx.conn())
        .await
}

async fn customers(tx: &TenantTx) -> Result<HashMap<String, customer::Model>, DbErr> {
    Ok(customer::Entity::find()
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect())
}

fn csv_row(w: &mut csv::Writer<Vec<u8>>, row: &[String]) {
    let _ = w.write_record(row);
}

/// CSV of invoices, credit notes and payments in the period.
pub async fn csv(tx: &TenantTx, p: &Period) -> Result<Vec<u8>, DbErr> {
    let people = customers(tx).await?;
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    csv_row(
        &mut w,
        &[
            "type",
            "number",
            "date",
            "customer_number",
            "customer",
            "currency",
            "net",
            "vat",
            "gross",
            "settled",
            "status",
            "refers_to",
            "tax_treatment",
        ]
        .map(str::to_owned),
    );
    let name = |id: &str| {
        people
            .get(id)
            .map(|c| (c.number.clone(), super::buyer_party(c).name))
            .unwrap_or_default()
    };
    for d in documents(tx, p).await? {
        let (number, who) = name(&d.customer_id);
        csv_row(
            &mut w,
            &[
                d.kind.clone(),
                d.number.clone(),
                d.issued_at.format("%Y-%m-%d").to_string(),
                number,
                who,
                d.currency.clone(),
                money::decimal(d.net_minor),
                money::decimal(d.vat_minor),
                money::decimal(d.gross_minor),
                money::decimal(d.settled_minor),
                d.status.clone(),
                d.refers_to_number.clone().unwrap_or_default(),
                d.tax_treatment.clone(),
            ],
        );
    }
    for e in payments(tx, p).await? {
        let (number, who) = name(&e.customer_id);
        csv_row(
            &mut w,
            &[
                e.kind.clone(),
                e.reference.clone().unwrap_or_default(),
                e.created_at.format("%Y-%m-%d").to_string(),
                number,
                who,
                e.currency.clone(),
                String::new(),
                String::new(),
                money::decimal(e.amount_minor),
                String::new(),
                String::new(),
                String::new(),
                e.note.clone().unwrap_or_default(),
            ],
        );
    }
    Ok(w.into_inner().unwrap_or_default())
}

fn debtor(c: Option<&customer::Model>) -> String {
    let digits: String = c
        .map(|c| c.number.chars().filter(char::is_ascii_digit).collect())
        .unwrap_or_default();
    let n: u64 = digits.parse().unwrap_or(0) % 90_000;
    (10_000 + n).to_string()
}

fn revenue_account(s: &billing_settings::Model, category: &str) -> String {
    match category {
        "AE" => "8336".into(),
        "G" => "8338".into(),
        "Z" | "O" => "8200".into(),
        // Tax-free revenue (SKR03 8100); a small business may book to 8195.
        "E" => "8100".into(),
        _ => s.revenue_account.clone(),
    }
}

/// A DATEV text field: quoted, quotes doubled, at most `max` characters.
fn text(s: &str, max: usize) -> String {
    let s: String = s.chars().filter(|c| !c.is_control()).take(max).collect();
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn amount(minor: i64) -> String {
    money::decimal(minor.abs()).replace('.', ",")
}

/// Windows-1252 as DATEV reads it: Latin-1 plus the euro sign; others become `?`.
fn cp1252(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '€' => 0x80,
            c if (c as u32) < 0x100 => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

const COLUMNS: &[&str] = &[
    "Umsatz (ohne Soll/Haben-Kz)",
    "Soll/Haben-Kennzeichen",
    "WKZ Umsatz",
    "Kurs",
    "Basis-Umsatz",
    "WKZ Basis-Umsatz",
    "Konto",
    "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel",
    "Belegdatum",
    "Belegfeld 1",
    "Belegfeld 2",
    "Skonto",
    "Buchungstext",
];

/// The DATEV EXTF booking batch of the period.
pub async fn extf(
    tx: &TenantTx,
    s: &billing_settings::Model,
    p: &Period,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, DbErr> {
    let people = customers(tx).await?;
    let mut out = String::new();
    let header = [
        "\"EXTF\"".to_owned(),
        "700".into(),
        "21".into(),
        "\"Buchungsstapel\"".into(),
        "13".into(),
        now.format("%Y%m%d%H%M%S%3f").to_string(),
        String::new(),
        "\"RE\"".into(),
        "\"relabel\"".into(),
        "\"\"".into(),
        s.datev_consultant.clone(),
        s.datev_client.clone(),
        p.from.format("%Y0101").to_string(),
        "4".into(),
        p.from.format("%Y%m%d").to_string(),
        (p.to - chrono::Duration::days(1))
            .format("%Y%m%d")
            .to_string(),
        text("Rechnungen relabel", 30),
        "\"\"".into(),
        "1".into(),
        "0".into(),
        "0".into(),
        "\"EUR\"".into(),
        String::new(),
        "\"\"".into(),
        String::new(),
        String::new(),
        "\"03\"".into(),
        String::new(),
        String::new(),
        "\"\"".into(),
        "\"\"".into(),
    ];
    out.push_str(&header.join(";"));
    out.push_str("\r\n");
    out.push_str(&COLUMNS.join(";"));
    out.push_str("\r\n");
    let mut row = |minor: i64,
                   sh: &str,
                   cur: &str,
                   konto: &str,
                   gegen: &str,
                   at: DateTime<Utc>,
                   beleg: &str,
                   beleg2: &str,
                   txt: &str| {
        let fields = [
            amount(minor),
            text(sh, 1),
            text(cur, 3),
            String::new(),
            String::new(),
            "\"\"".into(),
            konto.to_owned(),
            gegen.to_owned(),
            "\"\"".into(),
            at.format("%d%m").to_string(),
            text(beleg, 36),
            text(beleg2, 12),
            String::new(),
            text(txt, 60),
        ];
        out.push_str(&fields.join(";"));
        out.push_str("\r\n");
    };
    for d in documents(tx, p).await? {
        let c = people.get(&d.customer_id);
        let lines = invoice_line::Entity::find()
            .filter(invoice_line::Column::InvoiceId.eq(&d.id))
            .all(tx.conn())
            .await?;
        let t = money::totals(
            lines
                .iter()
                .map(|l| (l.net_minor, l.vat_category.as_str(), l.vat_rate_bp)),
        );
        let sh = if d.kind == "credit_note" { "H" } else { "S" };
        let who = c.map(|c| super::buyer_party(c).name).unwrap_or_default();
        for g in t.groups {
            row(
                g.net_minor + g.vat_minor,
                sh,
                &d.currency,
                &debtor(c),
                &revenue_account(s, &g.category),
                d.issued_at,
                &d.number,
                &d.due_at.format("%d%m%y").to_string(),
                &format!("{} {}", d.number, who),
            );
        }
    }
    for e in payments(tx, p).await? {
        let c = people.get(&e.customer_id);
        // In the customer's favour (payment, deposit, Skonto) the debtor is
        // credited ("H"); against it (refund, fee, interest) debited.
        let sh = if e.amount_minor >= 0 { "H" } else { "S" };
        let parts = if e.kind == "cash_discount" {
            let lines = match &e.document_id {
                Some(doc) => {
                    invoice_line::Entity::find()
                        .filter(invoice_line::Column::InvoiceId.eq(doc))
                        .all(tx.conn())
                        .await?
                }
                None => Vec::new(),
            };
            let t = money::totals(
                lines
                    .iter()
                    .map(|l| (l.net_minor, l.vat_category.as_str(), l.vat_rate_bp)),
            );
            let groups: Vec<(&'static str, i64)> = t
                .groups
                .iter()
                .map(|g| {
                    (
                        skonto_account(&g.category, g.rate_bp),
                        g.net_minor + g.vat_minor,
                    )
                })
                .collect();
            split(e.amount_minor, &groups)
        } else {
            vec![(contra_account(&e.kind), e.amount_minor)]
        };
        for (account, minor) in parts.into_iter().filter(|(_, m)| *m != 0) {
            row(
                minor,
                sh,
                &e.currency,
                &debtor(c),
                account,
                e.created_at,
                e.reference.as_deref().unwrap_or(&e.kind),
                "",
                &format!("{} {}", e.kind, e.note.clone().unwrap_or_default()),
            );
        }
    }
    Ok(cp1252(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skonto_is_split_over_the_vat_groups_to_the_cent() {
        // 2 % of 119.00 (19 %) + 107.00 (7 %) = 4.52: 2.38 + 2.14.
        assert_eq!(
            split(452, &[("8736", 11_900), ("8731", 10_700)]),
            vec![("8736", 238), ("8731", 214)]
        );
        // The parts always add up: 1 cent over three equal groups.
        let parts = split(1, &[("a", 100), ("b", 100), ("c", 100)]);
        assert_eq!(parts.iter().map(|p| p.1).sum::<i64>(), 1);
        assert_eq!(split(500, &[]), vec![("8700", 500)]);
        assert_eq!(skonto_account("S", 1900), "8736");
        assert_eq!(skonto_account("AE", 0), "8700");
        assert_eq!(contra_account("fee"), "2700");
        assert_eq!(contra_account("return_debit"), "1200");
    }

    #[test]
    fn datev_fields() {
        assert_eq!(amount(-123456), "1234,56");
        assert_eq!(text("Müller \"GmbH\"", 60), "\"Müller \"\"GmbH\"\"\"");
        assert_eq!(
            cp1252("Grüße €"),
            vec![b'G', b'r', 0xFC, 0xDF, b'e', b' ', 0x80]
        );
    }
}
