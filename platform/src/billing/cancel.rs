//! Cancellation of services (C8).
//!
//! A customer's cancellation ends the service at the first end of a billing
//! period that is at least the product's notice period away and not before the
//! minimum term; billing stops there (the run never bills a period starting at or
//! after `ends_at`). Staff may end a service at once; then, when the reseller's
//! rule says so, the unused part of the current, already invoiced period is
//! credited pro rata with a credit note on that invoice.

use super::{BillingError, invoice, invoice_line};
use crate::catalog::product;
use crate::provisioning::service;
use chrono::{DateTime, Duration, Months, Utc};
use relabel_tenants::TenantTx;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

/// The earliest end of `s` for a cancellation received at `now`.
pub fn earliest_end(
    s: &service::Model,
    notice_days: i32,
    min_term_months: i32,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let months = u32::try_from(s.period_months.max(1)).unwrap_or(12);
    let min_end = s
        .started_at
        .checked_add_months(Months::new(
            u32::try_from(min_term_months.max(0)).unwrap_or(0),
        ))
        .unwrap_or(s.started_at);
    let notice = now + Duration::days(i64::from(notice_days.max(0)));
    let mut end = s.next_billing_at;
    // Periods already billed run to their end; go on period by period.
    for _ in 0..1200 {
        if end >= notice && end >= min_end {
            break;
        }
        end = end.checked_add_months(Months::new(months)).unwrap_or(end);
    }
    end
}

/// What a cancellation did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Cancelled {
    pub service_id: String,
    pub ends_at: DateTime<Utc>,
    pub credit_note: Option<String>,
}

/// Cancels a service. `customer_id` restricts it to that customer's own
/// services (customer center); `immediate` is for staff only.
pub async fn cancel(
    tx: &TenantTx,
    shared: &sea_orm::DatabaseConnection,
    brand_name: &str,
    service_id: &str,
    customer_id: Option<&str>,
    immediate: bool,
    actor: &str,
) -> Result<Cancelled, BillingError> {
    // A write first (SQLite takes its lock before reading; see `lock_account`).
    service::Entity::update_many()
        .col_expr(
            service::Column::UpdatedAt,
            sea_orm::sea_query::Expr::val(Utc::now()),
        )
        .filter(service::Column::Id.eq(service_id))
        .exec(tx.conn())
        .await?;
    let s = service::Entity::find_by_id(service_id.to_owned())
        .one(tx.conn())
        .await?
        .filter(|s| customer_id.is_none_or(|c| s.customer_id == c))
        .ok_or(BillingError::NotFound)?;
    if s.status != "active" {
        return Err(BillingError::Refused("the service has ended"));
    }
    if s.cancellation != "none" && !immediate {
        return Err(BillingError::Refused("the service is already cancelled"));
    }
    let now = Utc::now();
    let (notice, min_term) = product::Entity::find_by_id(s.product_id.clone())
        .one(shared)
        .await?
        .map(|p| (p.notice_days, p.min_term_months))
        .unwrap_or((30, 0));
    let ends_at = if immediate {
        now
    } else {
        earliest_end(&s, notice, min_term, now)
    };
    service::ActiveModel {
        id: Set(s.id.clone()),
        ends_at: Set(Some(ends_at)),
        cancellation: Set(if immediate { "immediate" } else { "requested" }.into()),
        status: Set(if immediate {
            "ended".into()
        } else {
            s.status.clone()
        }),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(tx.conn())
    .await?;
    tx.touch(crate::provisioning::TOPIC);
    if immediate {
        crate::provisioning::handler::queue_terminations(tx, std::slice::from_ref(&s)).await?;
    }
    let mut credit_note = None;
    if immediate && super::settings(tx).await?.prorata_credit {
        credit_note = prorata_credit(tx, brand_name, &s, now, actor).await?;
    }
    Ok(Cancelled {
        service_id: s.id,
        ends_at,
        credit_note,
    })
}

/// Credits the unused days of the invoiced period that contains `now`.
async fn prorata_credit(
    tx: &TenantTx,
    brand_name: &str,
    s: &service::Model,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<Option<String>, BillingError> {
    let Some(line) = invoice_line::Entity::find()
        .filter(invoice_line::Column::ServiceId.eq(&s.id))
        .filter(invoice_line::Column::PeriodStart.lte(now))
        .filter(invoice_line::Column::PeriodEnd.gt(now))
        .order_by_desc(invoice_line::Column::PeriodStart)
        .order_by_desc(invoice_line::Column::Generation)
        .one(tx.conn())
        .await?
    else {
        return Ok(None);
    };
    let Some(inv) = invoice::Entity::find_by_id(line.invoice_id.clone())
        .one(tx.conn())
        .await?
        .filter(|i| i.kind == "invoice" && i.status != "cancelled")
    else {
        return Ok(None);
    };
    let (Some(start), Some(end)) = (line.period_start, line.period_end) else {
        return Ok(None);
    };
    let total = (end - start).num_days().max(1);
    let unused = (end - now).num_days().clamp(0, total);
    let prorata = super::money::div_round(
        i128::from(line.net_minor) * i128::from(unused),
        i128::from(total),
    );
    // What earlier credit notes left of this line (credited lines keep the
    // product and period), and of the invoice as a whole (gross): the pro-rata
    // credit is at most that, never a refusal that undoes the ending.
    let earlier = invoice::Entity::find()
        .filter(invoice::Column::RefersToId.eq(&inv.id))
        .filter(invoice::Column::Kind.eq("credit_note"))
        .all(tx.conn())
        .await?;
    let mut line_left = line.net_minor;
    for cn in &earlier {
        for l in super::lines(tx, &cn.id).await? {
            if l.product_id == line.product_id && l.period_start == line.period_start {
                line_left -= l.net_minor;
            }
        }
    }
    let gross_left = inv.gross_minor - earlier.iter().map(|c| c.gross_minor).sum::<i64>();
    let net_of_gross_left = i64::try_from(
        i128::from(gross_left.max(0)) * 10_000 / (10_000 + i128::from(line.vat_rate_bp.max(0))),
    )
    .unwrap_or(0);
    let amount = prorata.min(line_left).min(net_of_gross_left);
    if amount <= 0 {
        return Ok(None);
    }
    let reason = if amount < prorata {
        format!("Pro-rata credit: {unused} of {total} days unused, as far as not credited before")
    } else {
        format!("Pro-rata credit: {unused} of {total} days unused")
    };
    let cn = super::credit_note(
        tx,
        brand_name,
        &inv.id,
        &[(line.position, Some(amount))],
        Some(reason),
        // The service ends now: nothing of it is billed again.
        super::CreditedPeriods::GiveAway,
        actor,
    )
    .await?;
    Ok(Some(cn.number))
}

/// Ends services whose end date has passed (run before each billing run) and
/// queues closing their panel accounts.
pub async fn end_due(tx: &TenantTx, now: DateTime<Utc>) -> Result<u64, sea_orm::DbErr> {
    let ending = service::Entity::find()
        .filter(service::Column::Status.eq("active"))
        .filter(service::Column::EndsAt.lte(now))
        .all(tx.conn())
        .await?;
    end(tx, &ending, now).await
}

/// Ends `ending` (active services whose end date has passed) and queues closing
/// their panel accounts; a billing run reads them with what it bills.
pub async fn end(
    tx: &TenantTx,
    ending: &[service::Model],
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    if ending.is_empty() {
        return Ok(0);
    }
    crate::provisioning::handler::queue_terminations(tx, ending).await?;
    let r = service::Entity::update_many()
        .col_expr(
            service::Column::Status,
            sea_orm::sea_query::Expr::val("ended"),
        )
        .col_expr(
            service::Column::UpdatedAt,
            sea_orm::sea_query::Expr::val(now),
        )
        .filter(service::Column::Id.is_in(ending.iter().map(|s| s.id.clone())))
        .exec(tx.conn())
        .await?;
    Ok(r.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn svc(start: DateTime<Utc>, next: DateTime<Utc>, months: i32) -> service::Model {
        service::Model {
            id: "s".into(),
            customer_id: "c".into(),
            product_id: "p".into(),
            order_id: None,
            order_item_id: None,
            domain_id: None,
            kind: "hosting".into(),
            label: "x".into(),
            period_months: months,
            price_source: "order".into(),
            net_minor: 100,
            currency: "EUR".into(),
            quantity: 1,
            started_at: start,
            next_billing_at: next,
            ends_at: None,
            cancellation: "none".into(),
            status: "active".into(),
            created_at: start,
            updated_at: start,
            generation: 0,
        }
    }

    #[test]
    fn the_end_follows_notice_and_minimum_term() {
        let d = |m, day| Utc.with_ymd_and_hms(2026, m, day, 0, 0, 0).unwrap();
        // Monthly, paid until 1 June; cancelled 20 May with 30 days notice: the
        // May period is too close, June runs to 1 July.
        let s = svc(d(1, 1), d(6, 1), 1);
        assert_eq!(earliest_end(&s, 30, 0, d(5, 20)), d(7, 1));
        // Cancelled early enough: ends with the paid period.
        assert_eq!(earliest_end(&s, 30, 0, d(4, 20)), d(6, 1));
        // A 12-month minimum term from 1 January runs to the next January.
        assert_eq!(
            earliest_end(&s, 0, 12, d(4, 20)),
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
        );
        // Yearly domain: the end of the paid year.
        let y = svc(
            d(1, 1),
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
            12,
        );
        assert_eq!(earliest_end(&y, 0, 0, d(3, 1)), y.next_billing_at);
    }
}
