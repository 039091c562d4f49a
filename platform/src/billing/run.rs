//! Billing runs (B8, B11, B12) and order invoices (B1).
//!
//! A run bills every active service entry whose next billing date is due, one
//! customer per transaction: the customer's lines are priced from the current
//! price book (renewal prices for domains) with the customer's discount, the
//! service's `next_billing_at` is advanced with a conditional update (a second run
//! or a retried one finds nothing left), the invoice is issued with its number,
//! ledger entry and delivery job, and the run's progress counters move in the same
//! transaction. A crash loses at most the customer being billed, whose
//! transaction rolls back; the job runs again after its lease and carries on.
//!
//! Domains are billed `RENEWAL_LEAD_DAYS` before they expire and only when the
//! customer's balance plus credit limit covers the renewal (the ordering check);
//! otherwise they are left unbilled (not renewed) and warned about.

use super::{BillingError, Draft, LineDraft, billing_run, invoice, invoice_line, money};
use crate::app::AppState;
use crate::customers::{customer, settings as tenant_settings};
use crate::jobs::runner::{Handler, JobError};
use crate::jobs::{self, NewJob};
use crate::orders::{self, account, order, order_item};
use crate::provisioning::{domain, service};
use chrono::{DateTime, Datelike, Duration, Months, TimeZone, Utc};
use relabel_tenants::{Tenant, TenantTx};
use sea_orm::sea_query::Expr;

fn plus(
    col: impl sea_orm::sea_query::IntoColumnRef,
    v: impl Into<sea_orm::Value>,
) -> sea_orm::sea_query::SimpleExpr {
    sea_orm::sea_query::ExprTrait::add(Expr::col(col), Expr::val(v))
}
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use std::collections::BTreeMap;

pub const RUN: &str = "billing.run";
pub const ORDER: &str = "billing.order";
pub const SCHEDULE: &str = "billing.schedule";
pub const RENEWAL_WARNING: &str = "billing.renewal_warning";

/// Domains are billed (and renewed) this many days before they expire.
pub const RENEWAL_LEAD_DAYS: i64 = 14;

/// End of the month of `at` (first instant of the next month).
fn month_end(at: DateTime<Utc>) -> DateTime<Utc> {
    let (y, m) = if at.month() == 12 {
        (at.year() + 1, 1)
    } else {
        (at.year(), at.month() + 1)
    };
    Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0)
        .single()
        .unwrap_or(at)
}

/// How far ahead a customer's services are collected: with "one invoice per
/// customer per month" everything due this month goes on one invoice; the
/// customer's billing interval widens the window to the quarter, half or year.
pub fn horizon(due_by: DateTime<Utc>, collective: bool, interval: &str) -> DateTime<Utc> {
    if !collective {
        return due_by;
    }
    let months = match interval {
        "quarterly" => 3,
        "semiannual" => 6,
        "yearly" => 12,
        _ => 1,
    };
    let start_month = (due_by.month0() / months) * months;
    let start = Utc
        .with_ymd_and_hms(due_by.year(), start_month + 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(due_by);
    let end = start
        .checked_add_months(Months::new(months))
        .unwrap_or_else(|| month_end(due_by));
    std::cmp::max(end - Duration::seconds(1), due_by)
}

/// One line the run would bill, before it is issued.
#[derive(Clone, Debug)]
struct Planned {
    service: service::Model,
    line: LineDraft,
    gross_minor: i64,
    /// A domain renewal: needs the credit check and a registry renewal.
    domain: Option<domain::Model>,
}

/// A customer's bill in a run (or a preview of it).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CustomerBill {
    pub customer_id: String,
    pub customer_number: String,
    pub name: String,
    pub currency: String,
    pub lines: usize,
    pub invoices: usize,
    pub net_minor: i64,
    pub gross_minor: i64,
    /// Domains left unbilled for lack of credit.
    pub refused: Vec<String>,
}

/// Preview totals of a run.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Preview {
    pub due_by: DateTime<Utc>,
    pub customers: Vec<CustomerBill>,
    pub invoices: usize,
    pub lines: usize,
    /// Per currency: (net, gross).
    pub totals: BTreeMap<String, (i64, i64)>,
}

/// Customers with something due by `due_by`: an active service due within the
/// customer's horizon (domains with the renewal lead time), or a completed order
/// not yet invoiced. Excluded customers (B11) are left out. Exact, so a resumed
/// run counts only what is still to do.
async fn due_customers(
    tx: &TenantTx,
    due_by: DateTime<Utc>,
    collective: bool,
) -> Result<Vec<String>, DbErr> {
    use std::collections::{BTreeSet, HashMap};
    // Collective bills reach up to a year ahead; each customer's horizon narrows it.
    let reach = due_by + Duration::days(366 + RENEWAL_LEAD_DAYS);
    type Row = (String, DateTime<Utc>, Option<String>, Option<DateTime<Utc>>);
    let rows: Vec<Row> = service::Entity::find()
        .select_only()
        .column(service::Column::CustomerId)
        .column(service::Column::NextBillingAt)
        .column(service::Column::DomainId)
        .column(service::Column::EndsAt)
        .filter(service::Column::Status.eq("active"))
        .filter(service::Column::NextBillingAt.lte(reach))
        .into_tuple()
        .all(tx.conn())
        .await?;
    let people: HashMap<String, (String, bool)> = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::BillingInterval)
        .column(customer::Column::ExcludedFromInvoicing)
        .into_tuple::<(String, String, bool)>()
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|(id, interval, excluded)| (id, (interval, excluded)))
        .collect();
    let mut ids = BTreeSet::new();
    for (cid, next, domain, ends) in rows {
        let Some((interval, _)) = people.get(&cid) else {
            continue;
        };
        let until = horizon(due_by, collective, interval);
        let lead = if domain.is_some() {
            Duration::days(RENEWAL_LEAD_DAYS)
        } else {
            Duration::zero()
        };
        if next - lead <= until && ends.is_none_or(|e| next < e) {
            ids.insert(cid);
        }
    }
    let orders: Vec<String> = order::Entity::find()
        .select_only()
        .column(order::Column::CustomerId)
        .distinct()
        .filter(order::Column::Status.eq("completed"))
        .filter(order::Column::ReservedMinor.gt(0))
        .into_tuple()
        .all(tx.conn())
        .await?;
    ids.extend(orders);
    Ok(ids
        .into_iter()
        .filter(|id| people.get(id).is_some_and(|(_, excluded)| !excluded))
        .collect())
}

fn unit_of(months: i32) -> (&'static str, i64) {
    match months {
        12 => ("ANN", 1000),
        m if m % 12 == 0 => ("ANN", i64::from(m / 12) * 1000),
        m => ("MON", i64::from(m) * 1000),
    }
}

/// What is due for one customer: the service lines and their totals.
async fn plan(
    state: &AppState,
    tx: &TenantTx,
    c: &customer::Model,
    due_by: DateTime<Utc>,
    collective: bool,
) -> Result<Vec<Planned>, DbErr> {
    let until = horizon(due_by, collective, &c.billing_interval);
    let services = service::Entity::find()
        .filter(service::Column::CustomerId.eq(&c.id))
        .filter(service::Column::Status.eq("active"))
        .filter(service::Column::NextBillingAt.lte(until + Duration::days(RENEWAL_LEAD_DAYS)))
        .order_by_asc(service::Column::NextBillingAt)
        .all(tx.conn())
        .await?;
    if services.is_empty() {
        return Ok(Vec::new());
    }
    let pricer = state.prices.pricer(tx, Some(c)).await?;
    let (category, rate) = money::category(pricer.treatment());
    let lang = c.language.as_str();
    // The larger of the customer's and the product's discount (P6).
    let discounts: std::collections::HashMap<String, i32> =
        crate::terms::product_discounts(tx, &c.id)
            .await?
            .into_iter()
            .map(|d| (d.product_id, d.discount_bp))
            .collect();
    let mut out = Vec::new();
    for s in services {
        let is_domain = s.domain_id.is_some();
        let due = if is_domain {
            s.next_billing_at - Duration::days(RENEWAL_LEAD_DAYS) <= until
        } else {
            s.next_billing_at <= until
        };
        if !due || s.ends_at.is_some_and(|end| s.next_billing_at >= end) {
            continue;
        }
        let dom = match &s.domain_id {
            Some(id) => {
                domain::Entity::find_by_id(id.clone())
                    .one(tx.conn())
                    .await?
            }
            None => None,
        };
        if dom
            .as_ref()
            .is_some_and(|d| !["active", "expiring", "grace"].contains(&d.status.as_str()))
        {
            continue;
        }
        let action = if is_domain {
            "renew"
        } else if s.period_months % 12 == 0 {
            "yearly_fee"
        } else {
            "monthly_fee"
        };
        let base = orders::quote_for(&pricer, &s.product_id, action, s.period_months)
            .map(|q| q.net_minor)
            .unwrap_or(s.net_minor);
        let discount_bp = c
            .discount_bp
            .max(discounts.get(&s.product_id).copied().unwrap_or(0));
        let unit_net = money::discounted(base, discount_bp);
        let start = s.next_billing_at;
        let months = u32::try_from(s.period_months.max(1)).unwrap_or(12);
        let end = start
            .checked_add_months(Months::new(months))
            .unwrap_or(start);
        let (unit, qty) = unit_of(s.period_months.max(1));
        let mut description = s.label.clone();
        if discount_bp > 0 {
            description.push_str(&format!(
                " ({} {} %)",
                if lang == "de" { "abzgl." } else { "less" },
                money::percent(discount_bp)
            ));
        }
        let line = LineDraft {
            service_id: Some(s.id.clone()),
            product_id: Some(s.product_id.clone()),
            description,
            period_start: Some(start),
            period_end: Some(end),
            // The unit price is per period: quantity is one period.
            quantity_milli: 1000,
            unit: if qty == 1000 {
                unit.into()
            } else {
                "C62".into()
            },
            unit_net_minor: unit_net,
            vat_rate_bp: rate,
            vat_category: category.into(),
            ..Default::default()
        };
        let net = line.net_minor();
        let gross = net + money::div_round(i128::from(net) * i128::from(rate), 10_000);
        out.push(Planned {
            service: s,
            line,
            gross_minor: gross,
            domain: dom,
        });
    }
    Ok(out)
}

/// Lines of completed orders not yet invoiced (B1), with the order ids.
async fn order_lines(
    tx: &TenantTx,
    c: &customer::Model,
    rate: i32,
    category: &str,
) -> Result<Vec<(order::Model, Vec<LineDraft>)>, DbErr> {
    let orders = order::Entity::find()
        .filter(order::Column::CustomerId.eq(&c.id))
        .filter(order::Column::Status.eq("completed"))
        .filter(order::Column::ReservedMinor.gt(0))
        .order_by_asc(order::Column::CreatedAt)
        .all(tx.conn())
        .await?;
    let mut out = Vec::new();
    for o in orders {
        let items = order_item::Entity::find()
            .filter(order_item::Column::OrderId.eq(&o.id))
            .filter(order_item::Column::Status.eq("done"))
            .order_by_asc(order_item::Column::Position)
            .all(tx.conn())
            .await?;
        let billed: Vec<String> = invoice_line::Entity::find()
            .select_only()
            .column(invoice_line::Column::OrderItemId)
            .filter(invoice_line::Column::OrderItemId.is_in(items.iter().map(|i| i.id.clone())))
            .into_tuple::<Option<String>>()
            .all(tx.conn())
            .await?
            .into_iter()
            .flatten()
            .collect();
        let now = Utc::now();
        let lines: Vec<LineDraft> = items
            .into_iter()
            .filter(|i| !billed.contains(&i.id))
            .map(|i| {
                let months = u32::try_from(i.period_months.max(1)).unwrap_or(12);
                let what = i.domain.clone().unwrap_or_else(|| i.product_id.clone());
                LineDraft {
                    order_item_id: Some(i.id.clone()),
                    product_id: Some(i.product_id.clone()),
                    description: format!("{what} ({}, {} M)", i.action, i.period_months),
                    period_start: Some(now),
                    period_end: now.checked_add_months(Months::new(months)),
                    quantity_milli: 1000,
                    unit: "C62".into(),
                    unit_net_minor: i.net_minor,
                    vat_rate_bp: rate,
                    vat_category: category.to_owned(),
                    ..Default::default()
                }
            })
            .collect();
        out.push((o, lines));
    }
    Ok(out)
}

/// Releases an invoiced order's reservation: the invoice now holds the amount.
async fn close_order(tx: &TenantTx, o: &order::Model) -> Result<(), DbErr> {
    if o.reserved_minor > 0 {
        orders::release(tx, &o.customer_id, o.reserved_minor).await?;
    }
    order::Entity::update_many()
        .col_expr(order::Column::ReservedMinor, Expr::val(0i64))
        .filter(order::Column::Id.eq(&o.id))
        .exec(tx.conn())
        .await?;
    Ok(())
}

/// Invoices the completed, uninvoiced orders of `c` (one invoice per order).
pub async fn invoice_orders(
    state: &AppState,
    tx: &TenantTx,
    tenant: &Tenant,
    c: &customer::Model,
    run_id: Option<&str>,
) -> Result<Vec<invoice::Model>, BillingError> {
    let pricer = state.prices.pricer(tx, Some(c)).await?;
    let (category, rate) = money::category(pricer.treatment());
    let mut out = Vec::new();
    for (o, lines) in order_lines(tx, c, rate, category).await? {
        if !lines.is_empty() {
            let inv = super::issue(
                tx,
                c,
                &tenant.name,
                Draft {
                    kind: "invoice",
                    currency: o.currency.clone(),
                    lines,
                    note: o.number.clone().map(|n| format!("Order {n}")),
                    refers_to: None,
                    billing_run_id: run_id.map(str::to_owned),
                    order_id: Some(o.id.clone()),
                    issued_at: Utc::now(),
                },
                "billing",
            )
            .await?;
            out.push(inv);
        }
        close_order(tx, &o).await?;
    }
    Ok(out)
}

/// Available credit of a customer: balance + limit - reserved.
async fn available(tx: &TenantTx, c: &customer::Model) -> Result<i64, DbErr> {
    let s = tenant_settings::Entity::find_by_id(1)
        .one(tx.conn())
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("settings".into()))?;
    let acc = account::Entity::find_by_id(c.id.clone())
        .one(tx.conn())
        .await?;
    let limit = orders::credit_limit(c, &s);
    Ok(match acc {
        Some(a) => orders::available(&a, limit),
        None => limit,
    })
}

/// Bills one customer inside `tx`: due services (advancing their dates) and
/// uninvoiced orders. With `dry` nothing is written and the bill is returned.
pub async fn bill_customer(
    state: &AppState,
    tx: &TenantTx,
    tenant: &Tenant,
    c: &customer::Model,
    due_by: DateTime<Utc>,
    run_id: Option<&str>,
    dry: bool,
) -> Result<CustomerBill, BillingError> {
    let bs = super::settings(tx).await?;
    let mut bill = CustomerBill {
        customer_id: c.id.clone(),
        customer_number: c.number.clone(),
        name: super::buyer_party(c).name,
        currency: c.currency.clone(),
        ..Default::default()
    };
    let planned = plan(state, tx, c, due_by, bs.collective_monthly).await?;
    // Credit for domain renewals: what is left after the other lines (B12).
    let mut credit = available(tx, c).await?;
    credit -= planned
        .iter()
        .filter(|p| p.domain.is_none())
        .map(|p| p.gross_minor)
        .sum::<i64>();
    let mut billable = Vec::new();
    for p in planned {
        if let Some(d) = &p.domain {
            if p.gross_minor > credit {
                bill.refused.push(d.name.clone());
                continue;
            }
            credit -= p.gross_minor;
        }
        billable.push(p);
    }
    let pricer_rate = billable.first().map(|p| p.line.vat_rate_bp);
    if dry {
        let t = money::totals(billable.iter().map(|p| {
            (
                p.line.net_minor(),
                p.line.vat_category.as_str(),
                p.line.vat_rate_bp,
            )
        }));
        bill.lines = billable.len();
        bill.invoices = match (bs.collective_monthly, billable.len()) {
            (_, 0) => 0,
            (true, _) => 1,
            (false, n) => n,
        };
        bill.net_minor = t.net_minor;
        bill.gross_minor = t.gross_minor;
        let _ = pricer_rate;
        return Ok(bill);
    }
    // Advance each period once, conditionally on the date read: services with
    // the same old and new date move in one statement.
    let mut taken = Vec::new();
    type Move = (DateTime<Utc>, DateTime<Utc>);
    let mut by_dates: Vec<(Move, Vec<Planned>)> = Vec::new();
    for p in billable {
        let Some(end) = p.line.period_end else {
            continue;
        };
        let k = (p.service.next_billing_at, end);
        match by_dates.iter_mut().find(|(d, _)| *d == k) {
            Some((_, v)) => v.push(p),
            None => by_dates.push((k, vec![p])),
        }
    }
    for ((old, end), group) in by_dates {
        let ids: Vec<String> = group.iter().map(|p| p.service.id.clone()).collect();
        let moved = service::Entity::update_many()
            .col_expr(service::Column::NextBillingAt, Expr::val(end))
            .col_expr(service::Column::UpdatedAt, Expr::val(Utc::now()))
            .filter(service::Column::Id.is_in(ids.clone()))
            .filter(service::Column::NextBillingAt.eq(old))
            .exec(tx.conn())
            .await?;
        if moved.rows_affected as usize == group.len() {
            taken.extend(group);
            continue;
        }
        // Another writer moved one of them after we read it (the customer's
        // account row is held, so only a path outside billing could): give up
        // this customer's transaction; the run retries it.
        return Err(BillingError::Refused("service dates changed while billing"));
    }
    let mut groups: Vec<(String, Vec<Planned>)> = Vec::new();
    for p in taken {
        let currency = p.service.currency.clone();
        match groups
            .iter_mut()
            .find(|(cur, _)| *cur == currency && bs.collective_monthly)
        {
            Some((_, v)) => v.push(p),
            None => groups.push((currency, vec![p])),
        }
    }
    for (currency, planned) in groups {
        let renewals: Vec<(domain::Model, DateTime<Utc>, i32)> = planned
            .iter()
            .filter_map(|p| {
                p.domain
                    .clone()
                    .map(|d| (d, p.service.next_billing_at, p.service.period_months))
            })
            .collect();
        bill.lines += planned.len();
        let inv = super::issue(
            tx,
            c,
            &tenant.name,
            Draft {
                kind: "invoice",
                currency,
                lines: planned.into_iter().map(|p| p.line).collect(),
                note: None,
                refers_to: None,
                billing_run_id: run_id.map(str::to_owned),
                order_id: None,
                issued_at: Utc::now(),
            },
            "billing",
        )
        .await?;
        for (d, period_start, months) in renewals {
            jobs::enqueue(
                tx,
                NewJob {
                    kind: crate::provisioning::handler::RENEW,
                    reference: &d.name,
                    key: &format!("renew:{}:{}", d.id, period_start.timestamp()),
                    payload: serde_json::json!({ "domain_id": d.id, "years": (months / 12).max(1), "invoice": inv.number }),
                    run_after: None,
                },
            )
            .await?;
        }
        bill.invoices += 1;
        bill.net_minor += inv.net_minor;
        bill.gross_minor += inv.gross_minor;
    }
    for inv in invoice_orders(state, tx, tenant, c, run_id).await? {
        bill.invoices += 1;
        bill.lines += 1;
        bill.net_minor += inv.net_minor;
        bill.gross_minor += inv.gross_minor;
    }
    Ok(bill)
}

/// What a run at `due_by` would bill, without writing anything.
pub async fn preview(
    state: &AppState,
    tenant: &Tenant,
    due_by: DateTime<Utc>,
) -> Result<Preview, BillingError> {
    let tx = state.tenancy.begin(tenant).await.map_err(db)?;
    let mut p = Preview {
        due_by,
        ..Default::default()
    };
    let collective = super::settings(&tx).await?.collective_monthly;
    for id in due_customers(&tx, due_by, collective).await? {
        let Some(c) = customer::Entity::find_by_id(id).one(tx.conn()).await? else {
            continue;
        };
        let mut bill = bill_customer(state, &tx, tenant, &c, due_by, None, true).await?;
        // Uninvoiced orders count too.
        let (category, rate) = money::category(super::treatment_of(&tx, &c).await?);
        for (_, lines) in order_lines(&tx, &c, rate, category).await? {
            if lines.is_empty() {
                continue;
            }
            let t = money::totals(
                lines
                    .iter()
                    .map(|l| (l.net_minor(), l.vat_category.as_str(), l.vat_rate_bp)),
            );
            bill.invoices += 1;
            bill.lines += lines.len();
            bill.net_minor += t.net_minor;
            bill.gross_minor += t.gross_minor;
        }
        if bill.lines == 0 && bill.refused.is_empty() {
            continue;
        }
        p.invoices += bill.invoices;
        p.lines += bill.lines;
        let e = p.totals.entry(bill.currency.clone()).or_default();
        e.0 += bill.net_minor;
        e.1 += bill.gross_minor;
        p.customers.push(bill);
    }
    tx.rollback().await?;
    Ok(p)
}

fn db(e: relabel_tenants::TenancyError) -> BillingError {
    BillingError::Db(DbErr::Custom(e.to_string()))
}

/// Queues a billing run (console button, API, schedule). Refused while another
/// run of the tenant is queued or running.
pub async fn start(
    tx: &TenantTx,
    due_by: DateTime<Utc>,
    actor: &str,
) -> Result<billing_run::Model, BillingError> {
    // A write first (SQLite takes its lock before reading; see `lock_account`).
    billing_run::Entity::update_many()
        .col_expr(
            billing_run::Column::Status,
            Expr::col(billing_run::Column::Status),
        )
        .filter(billing_run::Column::Status.is_in(["queued", "running"]))
        .exec(tx.conn())
        .await?;
    let busy = billing_run::Entity::find()
        .filter(billing_run::Column::Status.is_in(["queued", "running"]))
        .one(tx.conn())
        .await?;
    if busy.is_some() {
        return Err(BillingError::Refused(
            "a billing run is already in progress",
        ));
    }
    let id = super::new_id();
    let run = billing_run::ActiveModel {
        id: Set(id.clone()),
        status: Set("queued".into()),
        due_by: Set(due_by),
        customers_total: Set(0),
        customers_done: Set(0),
        invoices_count: Set(0),
        net_minor: Set(0),
        gross_minor: Set(0),
        error: Set(None),
        actor: Set(actor.to_owned()),
        created_at: Set(Utc::now()),
        started_at: Set(None),
        finished_at: Set(None),
    }
    .insert(tx.conn())
    .await?;
    jobs::enqueue(
        tx,
        NewJob {
            kind: RUN,
            reference: &id,
            key: &format!("billing-run:{id}"),
            payload: serde_json::json!({ "run_id": id }),
            run_after: None,
        },
    )
    .await?;
    tx.touch(super::TOPIC);
    Ok(run)
}

pub async fn runs(tx: &TenantTx, limit: u64) -> Result<Vec<billing_run::Model>, DbErr> {
    billing_run::Entity::find()
        .order_by_desc(billing_run::Column::CreatedAt)
        .limit(limit)
        .all(tx.conn())
        .await
}

/// Executes a queued (or interrupted) run to its end.
pub async fn execute(state: &AppState, tenant: &Tenant, run_id: &str) -> anyhow::Result<()> {
    let tx = state.tenancy.begin(tenant).await?;
    let Some(run) = billing_run::Entity::find_by_id(run_id.to_owned())
        .one(tx.conn())
        .await?
    else {
        return Ok(());
    };
    if run.status == "done" {
        return Ok(());
    }
    super::cancel::end_due(&tx, Utc::now()).await?;
    let collective = super::settings(&tx).await?.collective_monthly;
    let todo = due_customers(&tx, run.due_by, collective).await?;
    billing_run::Entity::update_many()
        .col_expr(billing_run::Column::Status, Expr::val("running"))
        .col_expr(
            billing_run::Column::StartedAt,
            Expr::val(run.started_at.unwrap_or_else(Utc::now)),
        )
        .col_expr(
            billing_run::Column::CustomersTotal,
            Expr::val(run.customers_done + i32::try_from(todo.len()).unwrap_or(i32::MAX)),
        )
        .filter(billing_run::Column::Id.eq(run_id))
        .exec(tx.conn())
        .await?;
    tx.commit().await?;
    for id in todo {
        let tx = state.tenancy.begin(tenant).await?;
        super::lock_account(&tx, &id).await?;
        let Some(c) = customer::Entity::find_by_id(id.clone())
            .one(tx.conn())
            .await?
        else {
            continue;
        };
        let bill =
            match bill_customer(state, &tx, tenant, &c, run.due_by, Some(run_id), false).await {
                Ok(bill) => bill,
                // Trouble with the database itself: the job is retried.
                Err(BillingError::Db(e)) => return Err(e.into()),
                // One customer's problem does not hold up the others: noted on the
                // run, the customer is left for the next run.
                Err(e) => {
                    tx.rollback().await?;
                    let tx = state.tenancy.begin(tenant).await?;
                    let note = format!("{}: {e}", c.number);
                    let mut r: billing_run::ActiveModel =
                        billing_run::Entity::find_by_id(run_id.to_owned())
                            .one(tx.conn())
                            .await?
                            .ok_or_else(|| anyhow::anyhow!("run vanished"))?
                            .into();
                    let before = r.error.clone().take().flatten().unwrap_or_default();
                    r.error = Set(Some(
                        format!(
                            "{before}{}{note}",
                            if before.is_empty() { "" } else { "; " }
                        )
                        .chars()
                        .take(2000)
                        .collect(),
                    ));
                    r.update(tx.conn()).await?;
                    tx.commit().await?;
                    continue;
                }
            };
        for name in &bill.refused {
            warn_refused(state, &tx, tenant, &c, name).await?;
        }
        use billing_run::Column as R;
        billing_run::Entity::update_many()
            .col_expr(R::CustomersDone, plus(R::CustomersDone, 1))
            .col_expr(
                R::InvoicesCount,
                plus(R::InvoicesCount, i32::try_from(bill.invoices).unwrap_or(0)),
            )
            .col_expr(R::NetMinor, plus(R::NetMinor, bill.net_minor))
            .col_expr(R::GrossMinor, plus(R::GrossMinor, bill.gross_minor))
            .filter(R::Id.eq(run_id))
            .exec(tx.conn())
            .await?;
        tx.commit().await?;
    }
    let tx = state.tenancy.begin(tenant).await?;
    billing_run::Entity::update_many()
        .col_expr(billing_run::Column::Status, Expr::val("done"))
        .col_expr(billing_run::Column::FinishedAt, Expr::val(Utc::now()))
        .filter(billing_run::Column::Id.eq(run_id))
        .exec(tx.conn())
        .await?;
    tx.touch(super::TOPIC);
    tx.commit().await?;
    Ok(())
}

/// Mails the customer and the reseller that a domain was not renewed for lack of
/// credit (once per domain and expiry).
async fn warn_refused(
    state: &AppState,
    tx: &TenantTx,
    tenant: &Tenant,
    c: &customer::Model,
    name: &str,
) -> Result<(), DbErr> {
    let Some(d) = domain::Entity::find()
        .filter(domain::Column::Name.eq(name))
        .one(tx.conn())
        .await?
    else {
        return Ok(());
    };
    let expiry = d
        .expires_at
        .map(|e| e.date_naive().to_string())
        .unwrap_or_default();
    jobs::enqueue(
        tx,
        NewJob {
            kind: RENEWAL_WARNING,
            reference: name,
            key: &format!("renewal-refused:{}:{expiry}", d.id),
            payload: serde_json::json!({ "domain_id": d.id, "customer_id": c.id, "reason": "credit" }),
            run_after: None,
        },
    )
    .await?;
    let _ = (state, tenant);
    Ok(())
}

/// Daily: warns customers whose domains expire in one of the configured numbers
/// of days and whose credit does not cover the renewal (B12).
pub async fn renewal_warnings(state: &AppState, tenant: &Tenant) -> anyhow::Result<usize> {
    let tx = state.tenancy.begin(tenant).await?;
    let bs = super::settings(&tx).await?;
    let days: Vec<i64> = bs
        .renewal_warning_days
        .split(',')
        .filter_map(|d| d.trim().parse().ok())
        .collect();
    let now = Utc::now();
    let mut queued = 0;
    let max = days.iter().copied().max().unwrap_or(0);
    let soon = domain::Entity::find()
        .filter(domain::Column::Status.is_in(["active", "expiring"]))
        .filter(domain::Column::ExpiresAt.lte(now + Duration::days(max + 1)))
        .filter(domain::Column::ExpiresAt.gt(now))
        .all(tx.conn())
        .await?;
    for d in soon {
        let Some(exp) = d.expires_at else { continue };
        let left = (exp - now).num_days();
        // The nearest threshold not yet passed: 9 days left with 30,14,3 -> 14.
        let Some(threshold) = days.iter().filter(|t| **t >= left).min().copied() else {
            continue;
        };
        let Some(s) = service::Entity::find()
            .filter(service::Column::DomainId.eq(&d.id))
            .filter(service::Column::Status.eq("active"))
            .one(tx.conn())
            .await?
        else {
            continue;
        };
        if s.next_billing_at > exp {
            continue; // renewal already billed
        }
        let Some(c) = customer::Entity::find_by_id(s.customer_id.clone())
            .one(tx.conn())
            .await?
        else {
            continue;
        };
        let pricer = state.prices.pricer(&tx, Some(&c)).await?;
        let gross = orders::quote_for(&pricer, &s.product_id, "renew", s.period_months)
            .map(|q| q.gross_minor)
            .unwrap_or(s.net_minor);
        if available(&tx, &c).await? >= gross {
            continue;
        }
        jobs::enqueue(
            &tx,
            NewJob {
                kind: RENEWAL_WARNING,
                reference: &d.name,
                key: &format!("renewal-warning:{}:{}:{threshold}", d.id, exp.date_naive()),
                payload: serde_json::json!({ "domain_id": d.id, "customer_id": c.id, "days": left, "gross_minor": gross }),
                run_after: None,
            },
        )
        .await?;
        queued += 1;
    }
    tx.commit().await?;
    Ok(queued)
}

/// Runs the billing jobs of this application.
pub struct BillingHandler {
    pub state: AppState,
}

pub const KINDS: &[&str] = &[
    RUN,
    ORDER,
    SCHEDULE,
    RENEWAL_WARNING,
    super::document::DELIVER,
];

fn retry(e: impl std::fmt::Display) -> JobError {
    JobError::Retry(e.to_string())
}

#[async_trait::async_trait]
impl Handler for BillingHandler {
    async fn run(&self, tenant: &Tenant, job: &jobs::entity::Model) -> Result<(), JobError> {
        let payload: serde_json::Value =
            serde_json::from_str(&job.payload).unwrap_or(serde_json::Value::Null);
        let field = |k: &str| payload[k].as_str().unwrap_or_default().to_owned();
        match job.kind.as_str() {
            RUN => execute(&self.state, tenant, &field("run_id"))
                .await
                .map_err(retry),
            ORDER => {
                let tx = self.state.tenancy.begin(tenant).await.map_err(retry)?;
                super::lock_account(&tx, &field("customer_id"))
                    .await
                    .map_err(retry)?;
                let Some(c) = customer::Entity::find_by_id(field("customer_id"))
                    .one(tx.conn())
                    .await
                    .map_err(retry)?
                else {
                    return Err(JobError::Fatal("customer not found".into()));
                };
                invoice_orders(&self.state, &tx, tenant, &c, None)
                    .await
                    .map_err(retry)?;
                tx.commit().await.map_err(retry)?;
                Ok(())
            }
            SCHEDULE if tenant.id.as_str() == relabel_tenants::PLATFORM_BOOKS_ID => {
                super::platform::run(&self.state, "schedule")
                    .await
                    .map_err(retry)?;
                Ok(())
            }
            SCHEDULE => {
                renewal_warnings(&self.state, tenant).await.map_err(retry)?;
                let tx = self.state.tenancy.begin(tenant).await.map_err(retry)?;
                // Once a day: a retried schedule job finds today's run.
                let today = Utc::now()
                    .date_naive()
                    .and_hms_opt(0, 0, 0)
                    .map(|d| d.and_utc())
                    .unwrap_or_else(Utc::now);
                let ran = billing_run::Entity::find()
                    .filter(billing_run::Column::Actor.eq("schedule"))
                    .filter(billing_run::Column::CreatedAt.gte(today))
                    .one(tx.conn())
                    .await
                    .map_err(retry)?;
                if ran.is_some() {
                    return Ok(());
                }
                match start(&tx, Utc::now(), "schedule").await {
                    Ok(_) | Err(BillingError::Refused(_)) => {}
                    Err(e) => return Err(retry(e)),
                }
                tx.commit().await.map_err(retry)?;
                Ok(())
            }
            RENEWAL_WARNING => super::document::renewal_mail(&self.state, tenant, &payload)
                .await
                .map_err(retry),
            super::document::DELIVER => {
                super::document::deliver(&self.state, tenant, &field("invoice_id")).await
            }
            other => Err(JobError::Fatal(format!("unknown job kind {other}"))),
        }
    }
}

/// Queues the order's invoice after completion when the reseller invoices at once
/// (B1); otherwise the next run picks the order up. Inside the completing tx.
pub async fn order_completed(tx: &TenantTx, o: &order::Model) -> Result<(), DbErr> {
    let bs = super::settings(tx).await?;
    if !bs.invoice_on_completion {
        return Ok(());
    }
    jobs::enqueue(
        tx,
        NewJob {
            kind: ORDER,
            reference: o.number.as_deref().unwrap_or(&o.id),
            key: &format!("invoice-order:{}", o.id),
            payload: serde_json::json!({ "customer_id": o.customer_id, "order_id": o.id }),
            run_after: None,
        },
    )
    .await
}

#[allow(dead_code)]
fn _unused(_: Condition) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_horizon_follows_the_interval() {
        let at = Utc.with_ymd_and_hms(2026, 5, 10, 8, 0, 0).unwrap();
        assert_eq!(horizon(at, false, "monthly"), at);
        assert_eq!(
            horizon(at, true, "monthly"),
            Utc.with_ymd_and_hms(2026, 5, 31, 23, 59, 59).unwrap()
        );
        assert_eq!(
            horizon(at, true, "quarterly"),
            Utc.with_ymd_and_hms(2026, 6, 30, 23, 59, 59).unwrap()
        );
        assert_eq!(
            horizon(at, true, "yearly"),
            Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap()
        );
    }
}
