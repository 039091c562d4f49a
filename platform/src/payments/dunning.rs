//! Dunning (D1-D4): runs with the reseller's levels, fees and default interest,
//! letters as PDF by mail (or post), staff adjustments.
//!
//! An overdue open item moves up one level per run once the level's days after
//! the due date have passed and the gap to its last letter is as long as the gap
//! between the two levels. A customer gets one letter per run and day (the unique
//! index on customer and day makes a second run that day a no-op): the level's fee
//! is charged once per letter on the oldest item; default interest (base rate + 5
//! points, + 9 for businesses, per day over 365, per base-rate period) is charged
//! from the levels that say so, up to the letter's date. Customers with dunning
//! type `none` are left out, `reminder_only` get the first level without fee or
//! interest. Items for which a court order was requested get no more letters.

use super::{base_rate, dunning_letter, dunning_level, dunning_run};
use crate::app::AppState;
use crate::audit::{self, Change};
use crate::billing::{self, BillingError, document, invoice, ledger_entry, money};
use crate::customers::customer;
use crate::jobs::runner::JobError;
use crate::jobs::{self, NewJob};
use chrono::{DateTime, NaiveDate, Utc};
use relabel_tenants::{Tenant, TenantTx};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

pub const DELIVER: &str = "dunning.deliver";

/// Default interest on `principal` for the days after `from` up to `to`, at the
/// base rate valid on each day plus `points_bp`, per day over 365, rounded once.
/// `rates` are (valid from, rate) in any order.
pub fn interest(
    principal: i64,
    from: NaiveDate,
    to: NaiveDate,
    rates: &[(NaiveDate, i32)],
    points_bp: i32,
) -> i64 {
    if principal <= 0 || to <= from {
        return 0;
    }
    let mut rates = rates.to_vec();
    rates.sort();
    let rate_on = |d: NaiveDate| {
        rates
            .iter()
            .rev()
            .find(|(valid, _)| *valid <= d)
            .map_or(0, |r| r.1)
    };
    // Periods between base-rate changes: days x rate summed, divided once.
    let mut sum: i128 = 0;
    let mut start = from.succ_opt().unwrap_or(from);
    while start <= to {
        let next_change = rates
            .iter()
            .map(|r| r.0)
            .find(|d| *d > start)
            .unwrap_or(to.succ_opt().unwrap_or(to));
        let end = std::cmp::min(next_change, to.succ_opt().unwrap_or(to));
        let days = (end - start).num_days();
        let rate = std::cmp::max(rate_on(start) + points_bp, 0);
        sum += i128::from(days) * i128::from(rate);
        start = end;
    }
    money::div_round(i128::from(principal) * sum, 10_000 * 365)
}

/// Statutory points over the base rate: 9 for businesses, 5 for consumers.
pub fn points_for(c: &customer::Model) -> i32 {
    if c.kind == "company" { 900 } else { 500 }
}

pub async fn levels(tx: &TenantTx) -> Result<Vec<dunning_level::Model>, DbErr> {
    dunning_level::Entity::find()
        .order_by_asc(dunning_level::Column::Level)
        .all(tx.conn())
        .await
}

/// One level as staff enter it.
pub struct LevelInput {
    pub level: i32,
    pub days: String,
    pub fee: String,
    pub interest: bool,
    pub suspend: bool,
}

/// Saves the reseller's levels (D1): days after due strictly rising from level to
/// level, fees from 0 to 1,000.00. Field names are `days_{level}` and
/// `fee_{level}`; nothing is written when one is wrong.
pub async fn save_levels(
    tx: &TenantTx,
    input: &[LevelInput],
    actor: &str,
) -> Result<(), BillingError> {
    let mut e = crate::validation::FieldErrors::default();
    let mut rows = Vec::new();
    let mut last_days = -1;
    let before = levels(tx).await?;
    for l in input {
        let Some(old) = before.iter().find(|b| b.level == l.level) else {
            return Err(BillingError::NotFound);
        };
        let days = l
            .days
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|d| (0..=365).contains(d));
        match days {
            Some(d) if d > last_days => last_days = d,
            Some(_) => e.add(&format!("days_{}", l.level), "err.level_days_order"),
            None => e.add(&format!("days_{}", l.level), "err.days"),
        }
        let fee = crate::customers::fields::parse_amount(&l.fee).filter(|f| *f <= 100_000);
        if fee.is_none() {
            e.add(&format!("fee_{}", l.level), "err.amount");
        }
        rows.push(dunning_level::Model {
            level: l.level,
            label: old.label.clone(),
            days: days.unwrap_or(0),
            fee_minor: fee.unwrap_or(0),
            interest: l.interest,
            suspend: l.suspend,
        });
    }
    e.into_result()?;
    for r in &rows {
        dunning_level::ActiveModel::from(r.clone())
            .reset_all()
            .update(tx.conn())
            .await?;
    }
    audit::record_tenant(
        tx,
        Change::new(actor, "dunning.levels", "levels")
            .before(&before)
            .after(&rows),
    )
    .await?;
    Ok(())
}

/// Adds (or corrects) a base rate valid from a day (D2), e.g. `2026-01-01` and
/// `1.27` (percent, may be negative).
pub async fn save_rate(
    tx: &TenantTx,
    valid_from: &str,
    rate: &str,
    actor: &str,
) -> Result<(), BillingError> {
    let mut e = crate::validation::FieldErrors::default();
    let day = NaiveDate::parse_from_str(valid_from.trim(), "%Y-%m-%d").ok();
    if day.is_none() {
        e.add("valid_from", "err.date");
    }
    // Percent with at most two decimals is basis points; may be negative.
    let rate = rate.trim();
    let (sign, digits) = match rate.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, rate),
    };
    let bp = crate::customers::fields::parse_amount(digits)
        .and_then(|v| i32::try_from(v).ok())
        .map(|v| sign * v)
        .filter(|bp| (-1000..=2000).contains(bp));
    if bp.is_none() {
        e.add("rate", "err.rate_percent");
    }
    e.into_result()?;
    let (Some(day), Some(bp)) = (day, bp) else {
        return Err(BillingError::Refused("invalid rate"));
    };
    let from = day.to_string();
    base_rate::Entity::delete_by_id(from.clone())
        .exec(tx.conn())
        .await?;
    base_rate::ActiveModel {
        valid_from: Set(from.clone()),
        rate_bp: Set(bp),
    }
    .insert(tx.conn())
    .await?;
    audit::record_tenant(
        tx,
        Change::new(actor, "dunning.base_rate", &from)
            .after(json!({ "valid_from": from, "rate_bp": bp })),
    )
    .await?;
    Ok(())
}

pub async fn rates(tx: &TenantTx) -> Result<Vec<(NaiveDate, i32)>, DbErr> {
    Ok(base_rate::Entity::find()
        .all(tx.conn())
        .await?
        .into_iter()
        .filter_map(|r| {
            NaiveDate::parse_from_str(&r.valid_from, "%Y-%m-%d")
                .ok()
                .map(|d| (d, r.rate_bp))
        })
        .collect())
}

/// One item moving up a level.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Step {
    pub invoice_id: String,
    pub number: String,
    pub due: String,
    pub level: i32,
    pub open_minor: i64,
    /// Interest to date on the item (total, not the change).
    pub interest_total_minor: i64,
    pub interest_minor: i64,
}

/// A letter the run would write.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Letter {
    pub customer_id: String,
    pub customer_number: String,
    pub name: String,
    pub currency: String,
    pub level: i32,
    pub label: String,
    pub steps: Vec<Step>,
    pub fee_minor: i64,
    pub interest_minor: i64,
    /// Everything open on the letter's items after the new charges.
    pub total_minor: i64,
    pub suspend: bool,
}

/// The letters a run at `now` writes (the preview shows them).
pub async fn plan(tx: &TenantTx, now: DateTime<Utc>) -> Result<Vec<Letter>, DbErr> {
    let levels = levels(tx).await?;
    if levels.is_empty() {
        return Ok(Vec::new());
    }
    let rates = rates(tx).await?;
    let today = now.date_naive();
    let items = invoice::Entity::find()
        .filter(invoice::Column::Kind.eq("invoice"))
        .filter(invoice::Column::Status.eq("open"))
        .filter(invoice::Column::DueAt.lt(now))
        .filter(invoice::Column::CourtOrderAt.is_null())
        .order_by_asc(invoice::Column::CustomerId)
        .order_by_asc(invoice::Column::DueAt)
        .order_by_asc(invoice::Column::Number)
        .all(tx.conn())
        .await?;
    // A collection pending pays the item on its date: no reminder before.
    let pending = super::sepa::pending(tx).await?;
    let items: Vec<invoice::Model> = items
        .into_iter()
        .filter(|i| !pending.contains_key(&i.id))
        .collect();
    let ids: Vec<String> = {
        let mut v: Vec<String> = items.iter().map(|i| i.customer_id.clone()).collect();
        v.dedup();
        v
    };
    let mut people: HashMap<String, customer::Model> = HashMap::new();
    for chunk in ids.chunks(500) {
        for c in customer::Entity::find()
            .filter(customer::Column::Id.is_in(chunk.iter().cloned()))
            .all(tx.conn())
            .await?
        {
            people.insert(c.id.clone(), c);
        }
    }
    let days_of = |level: i32| {
        levels
            .iter()
            .find(|l| l.level == level)
            .map_or(0, |l| i64::from(l.days))
    };
    let mut letters: BTreeMap<String, Letter> = BTreeMap::new();
    for inv in items {
        let Some(c) = people.get(&inv.customer_id) else {
            continue;
        };
        let max = match c.dunning_type.as_str() {
            "none" => 0,
            "reminder_only" => 1,
            _ => levels.last().map_or(0, |l| l.level),
        };
        let next = inv.dunning_level + 1;
        if inv.open_minor() <= 0 || next > max {
            continue;
        }
        let Some(level) = levels.iter().find(|l| l.level == next) else {
            continue;
        };
        let overdue = (now - inv.due_at).num_days();
        if overdue < i64::from(level.days) {
            continue;
        }
        if let Some(last) = inv.dunned_at {
            let gap = i64::from(level.days) - days_of(inv.dunning_level);
            if last.date_naive() == today || (now - last).num_days() < gap {
                continue;
            }
        }
        let reminder_only = c.dunning_type == "reminder_only";
        let principal = inv.gross_minor - std::cmp::min(inv.settled_minor, inv.gross_minor);
        let charges_interest = level.interest && !reminder_only;
        let total = if charges_interest {
            interest(
                principal,
                inv.due_at.date_naive(),
                today,
                &rates,
                points_for(c),
            )
        } else {
            inv.interest_minor
        };
        let delta = std::cmp::max(total - inv.interest_minor, 0);
        let letter = letters.entry(c.id.clone()).or_insert_with(|| Letter {
            customer_id: c.id.clone(),
            customer_number: c.number.clone(),
            name: crate::customers::display_name(c),
            currency: inv.currency.clone(),
            level: 0,
            label: String::new(),
            steps: Vec::new(),
            fee_minor: 0,
            interest_minor: 0,
            total_minor: 0,
            suspend: false,
        });
        letter.steps.push(Step {
            invoice_id: inv.id.clone(),
            number: inv.number.clone(),
            due: inv.due_at.date_naive().to_string(),
            level: next,
            open_minor: inv.open_minor() + delta,
            interest_total_minor: std::cmp::max(total, inv.interest_minor),
            interest_minor: delta,
        });
        letter.interest_minor += delta;
        if next > letter.level {
            letter.level = next;
            letter.label = level.label.clone();
            letter.fee_minor = if reminder_only { 0 } else { level.fee_minor };
            letter.suspend = level.suspend && !reminder_only;
        }
    }
    Ok(letters
        .into_values()
        .map(|mut l| {
            l.total_minor = l.steps.iter().map(|s| s.open_minor).sum::<i64>() + l.fee_minor;
            l
        })
        .collect())
}

/// Runs dunning at `now` in the caller's transaction: moves the items up, charges
/// fees and interest (ledger entries and open-item charges), writes the letters
/// and queues their delivery. A second run the same day writes nothing.
pub async fn run(
    tx: &TenantTx,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<dunning_run::Model, BillingError> {
    let started = std::time::Instant::now();
    let done = run_levels(tx, now, actor).await;
    crate::metrics::run("dunning", started.elapsed());
    done
}

async fn run_levels(
    tx: &TenantTx,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<dunning_run::Model, BillingError> {
    // A write first: serialises runs (and takes SQLite's lock before reading).
    dunning_level::Entity::update_many()
        .col_expr(
            dunning_level::Column::Days,
            Expr::col(dunning_level::Column::Days),
        )
        .exec(tx.conn())
        .await?;
    let letters = plan(tx, now).await?;
    let id = billing::new_id();
    let day = now.date_naive().to_string();
    // Customers already written to today (by an earlier run) are left out.
    let written: std::collections::HashSet<String> = dunning_letter::Entity::find()
        .filter(dunning_letter::Column::Day.eq(&day))
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|l| l.customer_id)
        .collect();
    let letters: Vec<Letter> = letters
        .into_iter()
        .filter(|l| !written.contains(&l.customer_id))
        .collect();
    let mut entries = Vec::new();
    let mut rows = Vec::new();
    let (mut fees, mut interest_sum, mut items) = (0, 0, 0);
    for l in &letters {
        let letter_id = billing::new_id();
        for (k, s) in l.steps.iter().enumerate() {
            // The letter's fee goes on its oldest item.
            let fee = if k == 0 { l.fee_minor } else { 0 };
            invoice::Entity::update_many()
                .col_expr(invoice::Column::DunningLevel, Expr::val(s.level))
                .col_expr(invoice::Column::DunnedAt, Expr::val(Some(now)))
                .col_expr(
                    invoice::Column::InterestMinor,
                    Expr::col(invoice::Column::InterestMinor).add(s.interest_minor),
                )
                .col_expr(
                    invoice::Column::FeesMinor,
                    Expr::col(invoice::Column::FeesMinor).add(fee),
                )
                .filter(invoice::Column::Id.eq(&s.invoice_id))
                .exec(tx.conn())
                .await?;
            let mut entry = |kind: &str, amount: i64| {
                if amount > 0 {
                    entries.push(ledger_entry::Model {
                        id: billing::new_id(),
                        customer_id: l.customer_id.clone(),
                        kind: kind.to_owned(),
                        amount_minor: -amount,
                        currency: l.currency.clone(),
                        document_id: Some(s.invoice_id.clone()),
                        reference: Some(s.number.clone()),
                        note: Some(format!("{} ({})", l.label, day)),
                        actor: actor.to_owned(),
                        created_at: now,
                    });
                }
            };
            entry("fee", fee);
            entry("interest", s.interest_minor);
            items += 1;
        }
        fees += l.fee_minor;
        interest_sum += l.interest_minor;
        rows.push(dunning_letter::ActiveModel {
            id: Set(letter_id),
            run_id: Set(id.clone()),
            customer_id: Set(l.customer_id.clone()),
            level: Set(l.level),
            day: Set(day.clone()),
            items: Set(serde_json::to_string(&l.steps).unwrap_or_default()),
            fee_minor: Set(l.fee_minor),
            interest_minor: Set(l.interest_minor),
            total_minor: Set(l.total_minor),
            currency: Set(l.currency.clone()),
            text: Set(None),
            pdf: Set(None),
            delivered_at: Set(None),
            created_at: Set(now),
        });
    }
    billing::post_many(tx, &entries).await?;
    // The last step: services suspended until paid.
    for l in letters.iter().filter(|l| l.suspend) {
        super::suspension::suspend(tx, &l.customer_id, actor).await?;
    }
    for chunk in rows.chunks(500) {
        dunning_letter::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(tx.conn())
            .await?;
    }
    let keys: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            let id = r.id.clone().unwrap();
            (format!("dunning:{id}"), id)
        })
        .collect();
    jobs::enqueue_many(
        tx,
        keys.iter().map(|(key, letter)| NewJob {
            kind: DELIVER,
            reference: letter,
            key,
            payload: json!({ "letter_id": letter }),
            run_after: None,
        }),
    )
    .await?;
    let n = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
    let run = dunning_run::ActiveModel {
        id: Set(id),
        letters: Set(n(letters.len())),
        items: Set(n(items)),
        fees_minor: Set(fees),
        interest_minor: Set(interest_sum),
        actor: Set(actor.to_owned()),
        created_at: Set(now),
    }
    .insert(tx.conn())
    .await?;
    tx.touch(billing::TOPIC);
    Ok(run)
}

/// The runs that wrote letters, newest first (a run that found nothing to do
/// is not a run anyone needs to see).
pub async fn runs(tx: &TenantTx) -> Result<Vec<dunning_run::Model>, DbErr> {
    dunning_run::Entity::find()
        .filter(dunning_run::Column::Letters.gt(0))
        .order_by_desc(dunning_run::Column::CreatedAt)
        .all(tx.conn())
        .await
}

pub async fn letters_of(
    tx: &TenantTx,
    customer_id: &str,
) -> Result<Vec<dunning_letter::Model>, DbErr> {
    dunning_letter::Entity::find()
        .filter(dunning_letter::Column::CustomerId.eq(customer_id))
        .order_by_desc(dunning_letter::Column::CreatedAt)
        .all(tx.conn())
        .await
}

/// Staff add (positive) or waive (negative) a fee or interest on an item, with a
/// reason (D3). The charge never goes below zero; audited.
pub async fn adjust(
    tx: &TenantTx,
    invoice_id: &str,
    kind: &str,
    amount: &str,
    reason: &str,
    actor: &str,
) -> Result<invoice::Model, BillingError> {
    let mut e = crate::validation::FieldErrors::default();
    if !["fee", "interest"].contains(&kind) {
        e.add("kind", "err.choice");
    }
    let parsed = crate::customers::fields::parse_signed_amount(amount).filter(|a| *a != 0);
    if parsed.is_none() {
        e.add("amount", "err.amount");
    }
    if reason.trim().is_empty() {
        e.add("reason", "err.required");
    }
    e.into_result()?;
    let inv = invoice::Entity::find_by_id(invoice_id.to_owned())
        .filter(invoice::Column::Kind.eq("invoice"))
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)?;
    billing::lock_account(tx, &inv.customer_id).await?;
    let current = if kind == "fee" {
        inv.fees_minor
    } else {
        inv.interest_minor
    };
    let change = std::cmp::max(parsed.unwrap_or(0), -current);
    if change == 0 {
        return Err(BillingError::Refused("nothing to waive"));
    }
    let col = if kind == "fee" {
        invoice::Column::FeesMinor
    } else {
        invoice::Column::InterestMinor
    };
    // Waiving on a paid item leaves the paid part as credit on the balance.
    let settled = std::cmp::min(inv.settled_minor, inv.total_minor() + change);
    invoice::Entity::update_many()
        .col_expr(col, Expr::col(col).add(change))
        .col_expr(invoice::Column::SettledMinor, Expr::val(settled))
        .col_expr(
            invoice::Column::Status,
            Expr::val(if settled >= inv.total_minor() + change {
                "paid"
            } else {
                "open"
            }),
        )
        .filter(invoice::Column::Id.eq(&inv.id))
        .exec(tx.conn())
        .await?;
    let reason = reason.trim().chars().take(500).collect::<String>();
    billing::post(
        tx,
        &inv.customer_id,
        kind,
        -change,
        &inv.currency,
        Some((&inv.id, &inv.number)),
        Some(&reason),
        actor,
    )
    .await?;
    billing::settle(tx, &inv.customer_id).await?;
    audit::record_tenant(
        tx,
        Change::new(actor, "dunning.adjust", &inv.number)
            .entity("invoice", &inv.id)
            .after(json!({ "kind": kind, "change_minor": change, "reason": reason })),
    )
    .await?;
    invoice::Entity::find_by_id(inv.id)
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)
}

/// Marks that a court dunning order was requested for an item (D4): it gets no
/// more letters. Audited.
pub async fn court_order(tx: &TenantTx, invoice_id: &str, actor: &str) -> Result<(), BillingError> {
    let moved = invoice::Entity::update_many()
        .col_expr(invoice::Column::CourtOrderAt, Expr::val(Some(Utc::now())))
        .filter(invoice::Column::Id.eq(invoice_id))
        .filter(invoice::Column::Kind.eq("invoice"))
        .filter(invoice::Column::CourtOrderAt.is_null())
        .exec(tx.conn())
        .await?;
    if moved.rows_affected == 0 {
        return Err(BillingError::NotFound);
    }
    audit::record_tenant(
        tx,
        Change::new(actor, "dunning.court_order", invoice_id).entity("invoice", invoice_id),
    )
    .await?;
    Ok(())
}

/// Staff add text to a letter (D3); it is printed on the letter and the letter is
/// sent again.
pub async fn letter_text(
    tx: &TenantTx,
    letter_id: &str,
    text: &str,
    actor: &str,
) -> Result<(), BillingError> {
    if text.chars().count() > 2000 {
        return Err(crate::validation::FieldErrors::single("text", "err.too_long").into());
    }
    let moved = dunning_letter::Entity::update_many()
        .col_expr(
            dunning_letter::Column::Text,
            Expr::val((!text.trim().is_empty()).then(|| text.trim().to_owned())),
        )
        .col_expr(
            dunning_letter::Column::Pdf,
            Expr::val(Option::<Vec<u8>>::None),
        )
        .col_expr(
            dunning_letter::Column::DeliveredAt,
            Expr::val(Option::<DateTime<Utc>>::None),
        )
        .filter(dunning_letter::Column::Id.eq(letter_id))
        .exec(tx.conn())
        .await?;
    if moved.rows_affected == 0 {
        return Err(BillingError::NotFound);
    }
    jobs::enqueue(
        tx,
        NewJob {
            kind: DELIVER,
            reference: letter_id,
            key: &format!("dunning:{letter_id}:{}", Utc::now().timestamp_millis()),
            payload: json!({ "letter_id": letter_id }),
            run_after: None,
        },
    )
    .await?;
    audit::record_tenant(
        tx,
        Change::new(actor, "dunning.letter_text", letter_id)
            .entity("dunning_letter", letter_id)
            .after(json!({ "text": text })),
    )
    .await?;
    Ok(())
}

/// The letter's title and text from `documents/dunning_letter.txt` (the
/// reseller's when it has one), in the customer's language.
async fn letter_text_of(
    state: &AppState,
    tenant: &Tenant,
    l: &dunning_letter::Model,
    c: &customer::Model,
) -> anyhow::Result<(String, String)> {
    let lang = if c.language == "de" { "de" } else { "en" };
    let look = state.look(tenant).await?;
    let cur = &l.currency;
    let (title, text) = state.themes.render_document_text(
        "dunning_letter",
        document::lang_of(lang),
        &json!({
            "brand_name": tenant.name, "customer_name": crate::customers::display_name(c),
            "customer_number": c.number, "level": l.level,
            "total": document::amount(l.total_minor, cur, lang),
            "fee": document::amount(l.fee_minor, cur, lang),
            "interest": document::amount(l.interest_minor, cur, lang),
        }),
        look.custom.as_ref(),
    )?;
    Ok((title.unwrap_or_default(), text))
}

/// A letter as PDF (the invoice template's layout with the reseller's letterhead).
pub async fn letter_pdf(
    state: &AppState,
    tenant: &Tenant,
    letter_id: &str,
) -> anyhow::Result<Option<(dunning_letter::Model, Vec<u8>)>> {
    Ok(render_letter(state, tenant, letter_id)
        .await?
        .map(|(l, pdf, _)| (l, pdf)))
}

/// The letter, its PDF and its title (from the reseller's template).
async fn render_letter(
    state: &AppState,
    tenant: &Tenant,
    letter_id: &str,
) -> anyhow::Result<Option<(dunning_letter::Model, Vec<u8>, String)>> {
    let tx = state.tenancy.begin(tenant).await?;
    let Some(l) = dunning_letter::Entity::find_by_id(letter_id.to_owned())
        .one(tx.conn())
        .await?
    else {
        return Ok(None);
    };
    let Some(c) = customer::Entity::find_by_id(l.customer_id.clone())
        .one(tx.conn())
        .await?
    else {
        return Ok(None);
    };
    let bs = billing::settings(&tx).await?;
    let head = document::letterhead(&tx, tenant).await?;
    drop(tx);
    let lang = if c.language == "de" { "de" } else { "en" };
    let t = document::labels(lang);
    let seller = billing::seller_party(&bs, &tenant.name);
    let (legal, bank) = document::seller_lines(&seller, &t);
    let steps: Vec<Step> = serde_json::from_str(&l.items).unwrap_or_default();
    let cur = &l.currency;
    let rows: Vec<Vec<String>> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            vec![
                (i + 1).to_string(),
                s.number.clone(),
                NaiveDate::parse_from_str(&s.due, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| document::day(d.and_utc(), lang))
                    .unwrap_or_else(|| s.due.clone()),
                // What was open before this letter; its interest is its own
                // column, so the rows, interest and fee add up to the total.
                document::amount(s.open_minor - s.interest_minor, cur, lang),
                document::amount(s.interest_minor, cur, lang),
            ]
        })
        .collect();
    let open_before: i64 = steps.iter().map(|s| s.open_minor - s.interest_minor).sum();
    let (title, text) = letter_text_of(state, tenant, &l, &c).await?;
    let mut paragraphs = text.split("\n\n").map(str::trim).filter(|p| !p.is_empty());
    let intro = paragraphs.next().unwrap_or_default().to_owned();
    let more: Vec<String> = paragraphs.map(str::to_owned).collect();
    let de = lang == "de";
    let mut totals = vec![
        vec![
            if de { "Offene Posten" } else { "Open items" }.to_owned(),
            document::amount(open_before, cur, lang),
        ],
        vec![
            if de {
                "Verzugszinsen"
            } else {
                "Default interest"
            }
            .to_owned(),
            document::amount(l.interest_minor, cur, lang),
        ],
    ];
    if l.fee_minor > 0 {
        totals.push(vec![
            if de { "Mahngebühr" } else { "Dunning fee" }.to_owned(),
            document::amount(l.fee_minor, cur, lang),
        ]);
    }
    let mut notes = vec![if de {
        format!(
            "Bitte überweisen Sie {} auf das unten genannte Konto unter Angabe Ihrer Kundennummer {}.",
            document::amount(l.total_minor, cur, lang),
            c.number
        )
    } else {
        format!(
            "Please transfer {} to the account below, quoting your customer number {}.",
            document::amount(l.total_minor, cur, lang),
            c.number
        )
    }];
    if let Some(text) = &l.text {
        notes.insert(0, text.clone());
    }
    for (i, p) in more.into_iter().enumerate() {
        notes.insert(i, p);
    }
    let at = l.created_at;
    let view = json!({
        "lang": lang, "title": title, "labels": t,
        "primary": head.primary, "accent": head.accent,
        "seller": seller, "seller_legal": legal, "seller_bank": bank,
        "buyer_lines": document::buyer_lines(&billing::buyer_party(&c)),
        "facts": [[document::label(&t, "customer"), c.number], [document::label(&t, "date"), document::day(at, lang)]],
        "intro": intro,
        "columns": [
            [document::label(&t, "pos"), "auto", "l"], [document::label(&t, "reference"), "1fr", "l"],
            [document::label(&t, "due"), "auto", "r"], [if de { "Offen" } else { "Open" }, "auto", "r"],
            [if de { "Zinsen" } else { "Interest" }, "auto", "r"],
        ],
        "rows": rows,
        "totals": totals,
        "grand": [document::label(&t, "payable"), document::amount(l.total_minor, cur, lang)],
        "notes": notes,
        "xml_name": "",
    });
    let logo = head.logo;
    let ident = format!("dunning-{}", l.id);
    let pdf =
        tokio::task::spawn_blocking(move || document::render_pdf(view, logo, None, &ident, at))
            .await??;
    Ok(Some((l, pdf, title)))
}

/// Marks a letter delivered with its PDF, unless it already is; the rows
/// changed (0: delivered before).
async fn mark_delivered(tx: &TenantTx, letter_id: &str, pdf: Vec<u8>) -> Result<u64, DbErr> {
    Ok(dunning_letter::Entity::update_many()
        .col_expr(
            dunning_letter::Column::DeliveredAt,
            Expr::val(Some(Utc::now())),
        )
        .col_expr(dunning_letter::Column::Pdf, Expr::val(Some(pdf)))
        .filter(dunning_letter::Column::Id.eq(letter_id))
        .filter(dunning_letter::Column::DeliveredAt.is_null())
        .exec(tx.conn())
        .await?
        .rows_affected)
}

/// Delivers a letter: renders it, stores the PDF and mails it (or hands it to the
/// print-mail service when the customer gets documents by post).
pub async fn deliver(state: &AppState, tenant: &Tenant, letter_id: &str) -> Result<(), JobError> {
    let retry = |e: anyhow::Error| JobError::Retry(e.to_string());
    let Some((l, pdf, title)) = render_letter(state, tenant, letter_id)
        .await
        .map_err(retry)?
    else {
        return Err(JobError::Fatal(format!(
            "dunning letter {letter_id} not found"
        )));
    };
    if l.delivered_at.is_some() {
        return Ok(());
    }
    let tx = state
        .tenancy
        .begin(tenant)
        .await
        .map_err(|e| retry(e.into()))?;
    let marked = mark_delivered(&tx, letter_id, pdf.clone())
        .await
        .map_err(|e| retry(e.into()))?;
    if marked == 0 {
        return Ok(());
    }
    let c = customer::Entity::find_by_id(l.customer_id.clone())
        .one(tx.conn())
        .await
        .map_err(|e| retry(e.into()))?
        .ok_or_else(|| JobError::Fatal("customer not found".into()))?;
    if c.invoice_delivery == "postal" {
        let bs = billing::settings(&tx).await.map_err(|e| retry(e.into()))?;
        let Some(url) = bs.print_mail_url else {
            return Err(JobError::Fatal(
                "postal delivery chosen but no print-mail service is configured".into(),
            ));
        };
        // Delivered only once the service took it, and the service is asked
        // with no transaction open: undo the mark, send, then mark again. A
        // failure retries the whole delivery (the reference stays the same).
        tx.rollback().await.map_err(|e| retry(e.into()))?;
        use billing::printmail::PrintMail;
        let buyer = billing::buyer_party(&c);
        billing::printmail::HttpPrintMail::new(&url, &state.outbound)
            .send(&billing::printmail::Letter {
                reference: format!("{}:dunning:{}", tenant.id, l.id),
                recipient: document::buyer_lines(&buyer),
                country: buyer.country.clone(),
                pdf: pdf.clone(),
            })
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        let tx = state
            .tenancy
            .begin(tenant)
            .await
            .map_err(|e| retry(e.into()))?;
        mark_delivered(&tx, letter_id, pdf)
            .await
            .map_err(|e| retry(e.into()))?;
        tx.commit().await.map_err(|e| retry(e.into()))?;
        return Ok(());
    }
    let lang = if c.language == "de" { "de" } else { "en" };
    let look = state.look(tenant).await.map_err(retry)?;
    let (subject, body) = state
        .themes
        .render_email(
            "dunning_letter",
            document::lang_of(lang),
            &json!({
                "brand_name": tenant.name, "customer_name": crate::customers::display_name(&c),
                "title": title, "level": l.level,
                "total": document::amount(l.total_minor, &l.currency, lang),
            }),
            look.custom.as_ref(),
        )
        .map_err(|e| retry(e.into()))?;
    let from = crate::mail::sender(&tx, tenant)
        .await
        .map_err(|e| retry(e.into()))?;
    state
        .mailer
        .queue_with_document(
            &tx,
            crate::mail::Mail {
                to: c.email.clone(),
                from,
                subject,
                body,
            },
            letter_id,
        )
        .await
        .map_err(|e| retry(e.into()))?;
    tx.commit().await.map_err(|e| retry(e.into()))?;
    state.mailer.kick(&state.tenancy, tenant);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn interest_is_computed_per_day_and_base_rate_period() {
        let rates = [
            (d("2025-01-01"), 227),
            (d("2025-07-01"), 127),
            (d("2024-07-01"), 337),
        ];
        // 1,000.00 at 2.27 + 5 = 7.27 % for 30 days: 1000 x 0.0727 x 30/365 = 5.975... -> 5.98
        assert_eq!(
            interest(100_000, d("2025-03-01"), d("2025-03-31"), &rates, 500),
            598
        );
        // Business: 2.27 + 9 = 11.27 % for 30 days: 9.263... -> 9.26
        assert_eq!(
            interest(100_000, d("2025-03-01"), d("2025-03-31"), &rates, 900),
            926
        );
        // Across the change on 1 July: 10 days (21-30 June) at 7.27 % and
        // 10 days (1-10 July) at 6.27 %: 1000 x (0.0727 x 10 + 0.0627 x 10)/365
        // = 3.7095... -> 3.71
        assert_eq!(
            interest(100_000, d("2025-06-20"), d("2025-07-10"), &rates, 500),
            371
        );
        // 119.00 for one day at 6.27 %: 0.0204... -> 0.02
        assert_eq!(
            interest(11_900, d("2025-08-01"), d("2025-08-02"), &rates, 500),
            2
        );
        // A whole year at 6.27 % on 500.00: 31.35
        assert_eq!(
            interest(50_000, d("2025-07-01"), d("2026-07-01"), &rates, 500),
            3_135
        );
        // Nothing for no days or no principal.
        assert_eq!(
            interest(100_000, d("2025-03-01"), d("2025-03-01"), &rates, 500),
            0
        );
        assert_eq!(
            interest(0, d("2025-03-01"), d("2025-04-01"), &rates, 500),
            0
        );
    }
}
