//! Payments (Y1-Y7): payment entry with open-item allocation, currency conversion
//! and Skonto, bank statement import (CAMT.053) with automatic matching, SEPA
//! direct-debit runs (pain.008) and return debits.
//!
//! A payment is a ledger entry (`payment`, in the customer's favour) plus a row in
//! `payments` that keeps what was paid, in which currency, at which rate, and where
//! it came from (`external_id`: a bank entry, a debit item or a Stripe event, unique,
//! so a payment is never booked twice). It settles the item it names first, then
//! the oldest open items ([`billing::settle`]); what is left stays on the balance
//! (over-payment: refunded by staff or used by the next invoice). Return debits
//! reopen the collected item, charge the reseller's return fee on it and set the
//! customer's debit status from the bank's reason code.

pub mod camt;
pub mod dunning;
pub mod entity;
pub mod sepa;
pub mod stripe;
pub mod suspension;

use crate::audit::{self, Change};
use crate::billing::{self, BillingError, invoice, money};
use crate::customers::customer;
use crate::validation::FieldErrors;
use chrono::{DateTime, NaiveDate, Utc};
pub use entity::{
    bank_import, bank_line, base_rate, debit_item, debit_run, dunning_letter, dunning_level,
    dunning_run, payment, stripe_event,
};
use relabel_tenants::TenantTx;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

pub const METHODS: &[&str] = &["transfer", "sepa_debit", "card", "paypal", "cash", "other"];

/// A payment as staff enter it (or an import or webhook hands it over).
#[derive(Clone, Debug, Default)]
pub struct PaymentInput {
    pub customer_id: String,
    /// As paid, e.g. `119.00`.
    pub amount: String,
    /// As paid; empty = the account's currency.
    pub currency: String,
    /// Account currency units per unit paid (needed when the currencies differ).
    pub rate: String,
    pub method: String,
    pub reference: String,
    /// The item paid; empty = found from the reference, else the oldest first.
    pub invoice_id: String,
    /// `YYYY-MM-DD`; empty = today.
    pub booked_on: String,
    pub note: String,
    /// Where it came from (bank entry, debit item, Stripe event): booked once.
    pub external_id: Option<String>,
}

/// A rate with up to six decimals, in millionths.
pub fn parse_rate(input: &str) -> Option<i64> {
    let s = input.trim().replace(',', ".");
    let (whole, frac) = s.split_once('.').unwrap_or((s.as_str(), ""));
    if whole.is_empty()
        || whole.len() > 6
        || frac.len() > 6
        || !whole
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let micro =
        whole.parse::<i64>().ok()? * 1_000_000 + format!("{frac:0<6}").parse::<i64>().ok()?;
    (micro > 0).then_some(micro)
}

fn rate_text(micro: i64) -> String {
    let s = format!("{}.{:06}", micro / 1_000_000, micro % 1_000_000);
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn parse_day(input: &str) -> Option<DateTime<Utc>> {
    NaiveDate::parse_from_str(input.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .map(|d| d.and_utc())
}

/// The Skonto an item allows when paid on `at` with `paid` (after earlier
/// payments): the rest of the item, up to the discount, when `paid` covers all but
/// that and it is paid within the cash-discount period.
pub fn skonto_for(item: &invoice::Model, paid: i64, at: DateTime<Utc>) -> i64 {
    let Some(until) = item.skonto_until else {
        return 0;
    };
    if item.skonto_bp <= 0 || at > until {
        return 0;
    }
    let discount = money::div_round(
        i128::from(item.gross_minor) * i128::from(item.skonto_bp),
        10_000,
    );
    let rest = item.open_minor() - paid;
    if rest > 0 && rest <= discount {
        rest
    } else {
        0
    }
}

/// The words of a bank reference that could be a document or customer number.
fn words(reference: &str) -> impl Iterator<Item = String> + '_ {
    reference
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '/'))
        .filter(|w| w.len() >= 3)
        .map(str::to_uppercase)
}

/// Open invoice numbers and customer numbers, for finding what a bank reference
/// means: one read each, then a hash lookup per word of the reference.
pub struct Matcher {
    invoices: HashMap<String, (String, String)>,
    customers: HashMap<String, String>,
}

/// What a reference names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    pub customer_id: String,
    pub invoice_id: Option<String>,
}

impl Matcher {
    pub async fn load(tx: &TenantTx) -> Result<Self, DbErr> {
        let invoices = invoice::Entity::find()
            .select_only()
            .column(invoice::Column::Number)
            .column(invoice::Column::Id)
            .column(invoice::Column::CustomerId)
            .filter(invoice::Column::Kind.eq("invoice"))
            .filter(invoice::Column::Status.eq("open"))
            .into_tuple::<(String, String, String)>()
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|(n, id, c)| (n.to_uppercase(), (id, c)))
            .collect();
        let customers = customer::Entity::find()
            .select_only()
            .column(customer::Column::Number)
            .column(customer::Column::Id)
            .filter(customer::Column::Number.ne(""))
            .into_tuple::<(String, String)>()
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|(n, id)| (n.to_uppercase(), id))
            .collect();
        Ok(Self::new(invoices, customers))
    }

    /// From (number, (invoice id, customer id)) and (customer number, id).
    pub fn new(
        invoices: HashMap<String, (String, String)>,
        customers: HashMap<String, String>,
    ) -> Self {
        Self {
            invoices,
            customers,
        }
    }

    /// The first open invoice number in `reference`, else the first customer
    /// number.
    pub fn find(&self, reference: &str) -> Option<Match> {
        let words = || words(reference);
        if let Some((id, c)) = words().find_map(|w| self.invoices.get(&w)) {
            return Some(Match {
                customer_id: c.clone(),
                invoice_id: Some(id.clone()),
            });
        }
        words().find_map(|w| self.customers.get(&w)).map(|c| Match {
            customer_id: c.clone(),
            invoice_id: None,
        })
    }
}

/// Books a payment: validates, converts, allocates to the named (or referenced)
/// item with its Skonto, settles the rest oldest first, and records where it came
/// from. Bad input changes nothing and names the field.
pub async fn record(
    tx: &TenantTx,
    input: &PaymentInput,
    actor: &str,
) -> Result<payment::Model, BillingError> {
    let mut e = FieldErrors::default();
    let original = crate::customers::fields::parse_amount(&input.amount).filter(|a| *a > 0);
    if original.is_none() {
        e.add(
            "amount",
            crate::customers::fields::amount_error(&input.amount),
        );
    }
    let method = if input.method.trim().is_empty() {
        "transfer"
    } else {
        input.method.trim()
    };
    if !METHODS.contains(&method) {
        e.add("method", "err.choice");
    }
    let booked_at = if input.booked_on.trim().is_empty() {
        Some(Utc::now())
    } else {
        parse_day(&input.booked_on).filter(|d| *d <= Utc::now() + chrono::Duration::days(1))
    };
    if booked_at.is_none() {
        e.add("booked_on", "err.date");
    }
    let currency = input.currency.trim().to_uppercase();
    if !currency.is_empty()
        && !crate::customers::fields::CURRENCIES
            .iter()
            .any(|(c, _)| *c == currency)
    {
        e.add("currency", "err.currency");
    }
    if input.reference.chars().count() > 500 {
        e.add("reference", "err.too_long");
    }
    e.clone().into_result()?;
    billing::lock_account(tx, &input.customer_id).await?;
    let c = customer::Entity::find_by_id(input.customer_id.clone())
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)?;
    let paid_currency = if currency.is_empty() {
        c.currency.clone()
    } else {
        currency
    };
    let rate = if paid_currency == c.currency {
        Some(1_000_000)
    } else {
        let r = parse_rate(&input.rate);
        if r.is_none() {
            e.add("rate", "err.rate");
        }
        r
    };
    // The item: chosen, else named in the reference; it must be this customer's.
    let target = if input.invoice_id.trim().is_empty() {
        let named: std::collections::HashSet<String> = words(&input.reference).collect();
        billing::open_items(tx, &c.id)
            .await?
            .into_iter()
            .find(|i| named.contains(&i.number.to_uppercase()))
    } else {
        let found = open_item(tx, &c.id, input.invoice_id.trim()).await?;
        if found.is_none() {
            e.add("invoice_id", "err.open_item");
        }
        found
    };
    e.into_result()?;
    let (Some(original), Some(rate), Some(booked_at)) = (original, rate, booked_at) else {
        return Err(BillingError::Refused("invalid payment"));
    };
    if let Some(ext) = &input.external_id
        && payment::Entity::find()
            .filter(payment::Column::ExternalId.eq(ext.as_str()))
            .one(tx.conn())
            .await?
            .is_some()
    {
        return Err(BillingError::Refused("already booked"));
    }
    let amount = money::div_round(i128::from(original) * i128::from(rate), 1_000_000);
    let skonto = target
        .as_ref()
        .map_or(0, |t| skonto_for(t, amount, booked_at));
    let reference = input.reference.trim();
    let doc = target.as_ref().map(|t| (t.id.as_str(), t.number.as_str()));
    let note = (!input.note.trim().is_empty())
        .then(|| input.note.trim().chars().take(500).collect::<String>());
    billing::post(
        tx,
        &c.id,
        "payment",
        amount,
        &c.currency,
        doc,
        Some(note.as_deref().unwrap_or(reference)),
        actor,
    )
    .await?;
    if skonto > 0 {
        billing::post(
            tx,
            &c.id,
            "cash_discount",
            skonto,
            &c.currency,
            doc,
            None,
            actor,
        )
        .await?;
    }
    if let Some(t) = &target {
        apply(tx, t, amount + skonto).await?;
    }
    billing::settle(tx, &c.id).await?;
    let now = Utc::now();
    let p = payment::ActiveModel {
        id: Set(billing::new_id()),
        customer_id: Set(c.id.clone()),
        method: Set(method.to_owned()),
        amount_minor: Set(amount),
        currency: Set(c.currency.clone()),
        original_minor: Set(original),
        original_currency: Set(paid_currency),
        rate: Set(rate_text(rate)),
        reference: Set((!reference.is_empty()).then(|| reference.chars().take(500).collect())),
        external_id: Set(input.external_id.clone()),
        invoice_id: Set(target.as_ref().map(|t| t.id.clone())),
        skonto_minor: Set(skonto),
        refunded_minor: Set(0),
        booked_at: Set(booked_at),
        note: Set(note),
        actor: Set(actor.to_owned()),
        created_at: Set(now),
    }
    .insert(tx.conn())
    .await?;
    audit::record_tenant(
        tx,
        Change::new(actor, "payment.record", &c.number)
            .entity("payment", &p.id)
            .after(&p),
    )
    .await?;
    Ok(p)
}

/// An open invoice of `customer_id`.
async fn open_item(
    tx: &TenantTx,
    customer_id: &str,
    id: &str,
) -> Result<Option<invoice::Model>, DbErr> {
    invoice::Entity::find_by_id(id.to_owned())
        .filter(invoice::Column::CustomerId.eq(customer_id))
        .filter(invoice::Column::Kind.eq("invoice"))
        .filter(invoice::Column::Status.eq("open"))
        .one(tx.conn())
        .await
}

/// Settles up to `amount` of `item` (the payment's credit is on the balance).
async fn apply(tx: &TenantTx, item: &invoice::Model, amount: i64) -> Result<(), DbErr> {
    let take = std::cmp::min(amount, item.open_minor());
    if take <= 0 {
        return Ok(());
    }
    let settled = item.settled_minor + take;
    invoice::ActiveModel {
        id: Set(item.id.clone()),
        settled_minor: Set(settled),
        status: Set(if settled >= item.total_minor() {
            "paid".into()
        } else {
            "open".into()
        }),
        ..Default::default()
    }
    .update(tx.conn())
    .await?;
    Ok(())
}

/// The debit status a return reason leaves the customer with: account problems
/// need new bank data, a refused or unauthorised debit ends the mandate, a lack of
/// funds keeps it.
pub fn debit_status_after(reason: &str) -> &'static str {
    match reason {
        "AC01" | "AC04" | "AC06" | "AC13" | "AG01" | "AG02" | "BE05" | "RR01" | "RR02" | "RR03"
        | "RR04" | "FF01" => "INACTIVE",
        "MD01" | "MD02" | "MD06" | "MD07" | "MS02" | "SL01" => "REVOKED",
        _ => "ACTIVE",
    }
}

/// ISO 20022 return reason codes accepted for return debits.
pub const RETURN_REASONS: &[&str] = &[
    "AC01", "AC04", "AC06", "AC13", "AG01", "AG02", "AM04", "AM05", "BE05", "CNOR", "DNOR", "FF01",
    "MD01", "MD02", "MD06", "MD07", "MS02", "MS03", "RR01", "RR02", "RR03", "RR04", "SL01",
];

/// A return debit (R-transaction): the collected amount goes back on the item,
/// the reseller's return fee is charged on it, the customer's debit status
/// follows the reason. A second return of the same collection is refused.
pub async fn return_debit(
    tx: &TenantTx,
    end_to_end_id: &str,
    reason: &str,
    actor: &str,
) -> Result<debit_item::Model, BillingError> {
    let reason = reason.trim().to_uppercase();
    if !RETURN_REASONS.contains(&reason.as_str()) {
        let mut e = FieldErrors::default();
        e.add("reason", "err.return_reason");
        return Err(e.into());
    }
    let item = debit_item::Entity::find()
        .filter(debit_item::Column::EndToEndId.eq(end_to_end_id.trim()))
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)?;
    billing::lock_account(tx, &item.customer_id).await?;
    // Conditional: a concurrent or repeated return finds nothing left to return.
    // A pending item (before its collection date) paid nothing, so nothing is
    // reversed; a collected one gives its payment back.
    if ![sepa::PENDING, sepa::COLLECTED].contains(&item.status.as_str()) {
        return Err(BillingError::Refused("already returned"));
    }
    let collected = item.status == sepa::COLLECTED;
    let now = Utc::now();
    let moved = debit_item::Entity::update_many()
        .col_expr(debit_item::Column::Status, Expr::val(sepa::RETURNED))
        .col_expr(debit_item::Column::ReturnReason, Expr::val(reason.clone()))
        .col_expr(debit_item::Column::ReturnedAt, Expr::val(now))
        .filter(debit_item::Column::Id.eq(&item.id))
        .filter(debit_item::Column::Status.eq(item.status.as_str()))
        .exec(tx.conn())
        .await?;
    if moved.rows_affected == 0 {
        return Err(BillingError::Refused("already returned"));
    }
    let inv = invoice::Entity::find_by_id(item.invoice_id.clone())
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)?;
    let c = customer::Entity::find_by_id(item.customer_id.clone())
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)?;
    let fee = std::cmp::max(billing::settings(tx).await?.return_fee_minor, 0);
    let doc = Some((inv.id.as_str(), inv.number.as_str()));
    let reversed = if collected { item.amount_minor } else { 0 };
    if collected {
        billing::post(
            tx,
            &c.id,
            "return_debit",
            -item.amount_minor,
            &c.currency,
            doc,
            Some(&reason),
            actor,
        )
        .await?;
    }
    if fee > 0 {
        billing::post(
            tx,
            &c.id,
            "fee",
            -fee,
            &c.currency,
            doc,
            Some(&reason),
            actor,
        )
        .await?;
    }
    // The item is open again for what the debit had paid, plus the fee.
    invoice::Entity::update_many()
        .col_expr(
            invoice::Column::SettledMinor,
            Expr::col(invoice::Column::SettledMinor).sub(reversed),
        )
        .col_expr(
            invoice::Column::FeesMinor,
            Expr::col(invoice::Column::FeesMinor).add(fee),
        )
        .col_expr(invoice::Column::Status, Expr::val("open"))
        .filter(invoice::Column::Id.eq(&inv.id))
        .exec(tx.conn())
        .await?;
    let status = debit_status_after(&reason);
    if status != c.debit_status {
        customer::Entity::update_many()
            .col_expr(customer::Column::DebitStatus, Expr::val(status))
            .filter(customer::Column::Id.eq(&c.id))
            .exec(tx.conn())
            .await?;
    }
    // Credit left on the balance (e.g. a later transfer) settles it again.
    billing::settle(tx, &c.id).await?;
    audit::record_tenant(
        tx,
        Change::new(actor, "payment.return_debit", &c.number)
            .entity("debit_item", &item.id)
            .after(serde_json::json!({ "invoice": inv.number, "reason": reason, "fee_minor": fee, "debit_status": status })),
    )
    .await?;
    debit_item::Entity::find_by_id(item.id)
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)
}

/// The daily schedule's part (Y7, D1): a debit run and a dunning run when the
/// reseller turned them on. Both are safe to repeat: a second debit run finds
/// nothing to collect, a second dunning run the same day writes no letter.
pub async fn scheduled(
    state: &crate::app::AppState,
    tenant: &relabel_tenants::Tenant,
) -> anyhow::Result<()> {
    let tx = state.tenancy.begin(tenant).await?;
    let s = billing::settings(&tx).await?;
    drop(tx);
    let now = Utc::now();
    // Collections whose date has come are paid now, whether or not runs are
    // automatic.
    let tx = state.tenancy.begin(tenant).await?;
    if sepa::settle_due(&tx, now, "schedule").await? > 0 {
        tx.commit().await?;
    }
    if s.auto_debit {
        let tx = state.tenancy.begin(tenant).await?;
        match sepa::run(&tx, now, "schedule").await {
            Ok(_) => tx.commit().await?,
            Err(BillingError::Refused(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if s.auto_dunning {
        let tx = state.tenancy.begin(tenant).await?;
        dunning::run(&tx, now, "schedule").await?;
        tx.commit().await?;
    }
    Ok(())
}

/// A customer's payments, newest first.
pub async fn of_customer(tx: &TenantTx, customer_id: &str) -> Result<Vec<payment::Model>, DbErr> {
    payment::Entity::find()
        .filter(payment::Column::CustomerId.eq(customer_id))
        .order_by_desc(payment::Column::BookedAt)
        .all(tx.conn())
        .await
}

/// Receivables of the tenant (Y1): open, overdue by age, collections pending,
/// collected this month (by the day the money came).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Receivables {
    pub currency: String,
    pub open_minor: i64,
    pub not_due_minor: i64,
    /// Open items whose SEPA collection is pending, counted for their collection
    /// date, not their due date: neither due nor overdue.
    pub collection_pending_minor: i64,
    /// 1-30, 31-60, 61-90, over 90 days overdue.
    pub overdue_minor: [i64; 4],
    pub collected_month_minor: i64,
    pub items: usize,
}

pub async fn receivables(tx: &TenantTx, now: DateTime<Utc>) -> Result<Vec<Receivables>, DbErr> {
    use chrono::Datelike;
    let mut out: std::collections::BTreeMap<String, Receivables> = Default::default();
    let open = invoice::Entity::find()
        .filter(invoice::Column::Kind.eq("invoice"))
        .filter(invoice::Column::Status.eq("open"))
        .all(tx.conn())
        .await?;
    let pending = sepa::pending(tx).await?;
    for i in open {
        let r = out
            .entry(i.currency.clone())
            .or_insert_with(|| Receivables {
                currency: i.currency.clone(),
                ..Default::default()
            });
        let amount = i.open_minor();
        r.open_minor += amount;
        r.items += 1;
        if pending.contains_key(&i.id) {
            r.collection_pending_minor += amount;
            continue;
        }
        let days = (now - i.due_at).num_days();
        match days {
            d if d <= 0 => r.not_due_minor += amount,
            1..=30 => r.overdue_minor[0] += amount,
            31..=60 => r.overdue_minor[1] += amount,
            61..=90 => r.overdue_minor[2] += amount,
            _ => r.overdue_minor[3] += amount,
        }
    }
    let month = now
        .date_naive()
        .with_day(1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap_or(now);
    // Booked on a day (noon): today's count, not tomorrow's.
    let tomorrow = (now.date_naive() + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .map_or(now, |d| d.and_utc());
    let collected: Vec<(String, i64)> = payment::Entity::find()
        .select_only()
        .column(payment::Column::Currency)
        .column(payment::Column::AmountMinor)
        .filter(payment::Column::BookedAt.gte(month))
        .filter(payment::Column::BookedAt.lt(tomorrow))
        .into_tuple()
        .all(tx.conn())
        .await?;
    for (cur, amount) in collected {
        out.entry(cur.clone())
            .or_insert_with(|| Receivables {
                currency: cur,
                ..Default::default()
            })
            .collected_month_minor += amount;
    }
    Ok(out.into_values().collect())
}

/// The reseller's direct-debit settings (Y7): creditor id, days after the invoice
/// date, collection lead days, return fee, pain.008 version. Bad input changes
/// nothing.
pub async fn save_settings(
    tx: &TenantTx,
    input: &std::collections::BTreeMap<String, String>,
) -> Result<billing::billing_settings::Model, BillingError> {
    let get = |k: &str| {
        input
            .get(k)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut e = FieldErrors::default();
    let creditor = get("creditor_id").to_uppercase().replace(' ', "");
    if !creditor.is_empty() && !sepa::valid_creditor_id(&creditor) {
        e.add("creditor_id", "err.creditor_id");
    }
    let days = |k: &str, max: i32, e: &mut FieldErrors| match get(k).parse::<i32>() {
        Ok(d) if (0..=max).contains(&d) => d,
        _ => {
            e.add(k, "err.days");
            0
        }
    };
    let delay = days("debit_delay_days", 60, &mut e);
    let lead = days("debit_lead_days", 14, &mut e);
    let fee = crate::customers::fields::parse_amount(&get("return_fee"));
    if fee.is_none() || fee.is_some_and(|f| f > 10_000) {
        e.add("return_fee", "err.amount");
    }
    let version = get("sepa_version");
    if !["08", "02"].contains(&version.as_str()) {
        e.add("sepa_version", "err.choice");
    }
    e.into_result()?;
    let m = billing::billing_settings::ActiveModel {
        id: Set(1),
        creditor_id: Set(creditor),
        debit_delay_days: Set(delay),
        debit_lead_days: Set(std::cmp::max(lead, 1)),
        return_fee_minor: Set(fee.unwrap_or(0)),
        sepa_version: Set(version),
        auto_debit: Set(!get("auto_debit").is_empty()),
        auto_dunning: Set(!get("auto_dunning").is_empty()),
        ..Default::default()
    }
    .update(tx.conn())
    .await?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_to_millionths() {
        assert_eq!(parse_rate("1.0850"), Some(1_085_000));
        assert_eq!(parse_rate("0,92"), Some(920_000));
        assert_eq!(parse_rate("1"), Some(1_000_000));
        assert_eq!(parse_rate("0"), None);
        assert_eq!(parse_rate("1.1234567"), None);
        assert_eq!(parse_rate("-1"), None);
        assert_eq!(parse_rate("abc"), None);
        assert_eq!(rate_text(1_085_000), "1.085");
        assert_eq!(rate_text(1_000_000), "1");
    }

    #[test]
    fn references_find_invoices_before_customers() {
        let m = Matcher::new(
            [("RE-2026-000012".into(), ("i12".into(), "c1".into()))].into(),
            [("K-10001".into(), "c2".into())].into(),
        );
        assert_eq!(
            m.find("Rechnung re-2026-000012, Kd K-10001"),
            Some(Match {
                customer_id: "c1".into(),
                invoice_id: Some("i12".into())
            })
        );
        assert_eq!(
            m.find("Kundennr. K-10001 Abschlag"),
            Some(Match {
                customer_id: "c2".into(),
                invoice_id: None
            })
        );
        assert_eq!(m.find("Miete Dezember"), None);
    }

    #[test]
    fn return_reasons_set_the_debit_status() {
        assert_eq!(debit_status_after("AM04"), "ACTIVE");
        assert_eq!(debit_status_after("AC04"), "INACTIVE");
        assert_eq!(debit_status_after("MD06"), "REVOKED");
    }
}
