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
use crate::pricing::book::{PriceBook, Pricer};
use crate::pricing::entity::customer_price;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

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
    /// The service's next billing date after this period.
    end: DateTime<Utc>,
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

/// What a run bills for one period of `s` (net) and the discount in it: the
/// current book price of its renewal or fee, less the larger of the customer's
/// and the product's discount (P6). The run and every list that shows what a
/// service costs use this one function, so they cannot disagree.
pub fn period_net(
    pricer: &Pricer,
    c: &customer::Model,
    product_discount_bp: i32,
    s: &service::Model,
) -> (i64, i32) {
    let action = if s.domain_id.is_some() {
        "renew"
    } else if s.period_months % 12 == 0 {
        "yearly_fee"
    } else {
        "monthly_fee"
    };
    let base = orders::quote_for(pricer, &s.product_id, action, s.period_months)
        .map(|q| q.net_minor)
        .unwrap_or(s.net_minor);
    let discount_bp = c.discount_bp.max(product_discount_bp);
    (money::discounted(base, discount_bp), discount_bp)
}

/// The most periods of one service a run bills (a run far in the future stops
/// there; the next run goes on).
const MAX_PERIODS_PER_RUN: usize = 36;

/// Whether `s` is due within `until`: domains with the renewal lead time, and
/// only for periods that start before the service ends.
fn is_due(s: &service::Model, until: DateTime<Utc>) -> bool {
    let lead = if s.domain_id.is_some() {
        Duration::days(RENEWAL_LEAD_DAYS)
    } else {
        Duration::zero()
    };
    s.next_billing_at - lead <= until && s.ends_at.is_none_or(|end| s.next_billing_at < end)
}

/// What a run at `due_by` has to do, read with three statements whatever the
/// tenant's size.
struct Due {
    /// Customers with something due: an active service due within the
    /// customer's horizon, or a completed order not yet invoiced. Excluded
    /// customers (B11) are left out. In id order.
    customers: Vec<customer::Model>,
    /// Their active services within the run's reach, in billing order.
    services: HashMap<String, Vec<service::Model>>,
    /// Customers with completed orders not yet invoiced.
    with_orders: HashSet<String>,
    /// Active services whose end date has passed: to be ended, not billed.
    ending: Vec<service::Model>,
}

impl Due {
    /// Exact, so a resumed run finds only what is still to do.
    async fn find(
        tx: &TenantTx,
        due_by: DateTime<Utc>,
        collective: bool,
        now: DateTime<Utc>,
    ) -> Result<Self, DbErr> {
        use sea_orm::Condition;
        use std::collections::BTreeSet;
        let (ending, within): (Vec<_>, Vec<_>) = active_services()
            .filter(
                Condition::any()
                    .add(service::Column::NextBillingAt.lte(reach(due_by)))
                    .add(service::Column::EndsAt.lte(now)),
            )
            .all(tx.conn())
            .await?
            .into_iter()
            .partition(|s| s.ends_at.is_some_and(|end| end <= now));
        let with_orders: HashSet<String> = uninvoiced_orders()
            .into_tuple::<String>()
            .all(tx.conn())
            .await?
            .into_iter()
            .collect();
        let mut services: HashMap<String, Vec<service::Model>> = HashMap::new();
        for s in within {
            services.entry(s.customer_id.clone()).or_default().push(s);
        }
        let ids: BTreeSet<&String> = services.keys().chain(&with_orders).collect();
        let ids: Vec<&String> = ids.into_iter().collect();
        let mut candidates = Vec::new();
        for chunk in ids.chunks(1000) {
            candidates.extend(
                customer::Entity::find()
                    .filter(customer::Column::Id.is_in(chunk.iter().copied()))
                    .filter(customer::Column::ExcludedFromInvoicing.eq(false))
                    .order_by_asc(customer::Column::Id)
                    .all(tx.conn())
                    .await?,
            );
        }
        let customers: Vec<customer::Model> = candidates
            .into_iter()
            .filter(|c| {
                let until = horizon(due_by, collective, &c.billing_interval);
                with_orders.contains(&c.id)
                    || services
                        .get(&c.id)
                        .is_some_and(|v| v.iter().any(|s| is_due(s, until)))
            })
            .collect();
        let ids: HashSet<&str> = customers.iter().map(|c| c.id.as_str()).collect();
        services.retain(|id, _| ids.contains(id.as_str()));
        Ok(Self {
            customers,
            services,
            with_orders,
            ending,
        })
    }

    fn ids(&self) -> Vec<String> {
        self.customers.iter().map(|c| c.id.clone()).collect()
    }
}

/// How far ahead of `due_by` a run looks: collective bills reach up to a year
/// ahead (each customer's horizon narrows it), domains their renewal lead time.
fn reach(due_by: DateTime<Utc>) -> DateTime<Utc> {
    due_by + Duration::days(366 + RENEWAL_LEAD_DAYS)
}

/// Active services in billing order.
fn active_services() -> sea_orm::Select<service::Entity> {
    service::Entity::find()
        .filter(service::Column::Status.eq("active"))
        .order_by_asc(service::Column::NextBillingAt)
        .order_by_asc(service::Column::Id)
}

/// The customers of completed orders not yet invoiced, each once.
fn uninvoiced_orders() -> sea_orm::Select<order::Entity> {
    order::Entity::find()
        .select_only()
        .column(order::Column::CustomerId)
        .distinct()
        .filter(order::Column::Status.eq("completed"))
        .filter(order::Column::ReservedMinor.gt(0))
}

fn unit_of(months: i32) -> (&'static str, i64) {
    match months {
        12 => ("ANN", 1000),
        m if m % 12 == 0 => ("ANN", i64::from(m / 12) * 1000),
        m => ("MON", i64::from(m) * 1000),
    }
}

/// How many customers one transaction of a run bills.
const BATCH: usize = 200;

/// What the bills of a batch of customers are computed from: one query per table
/// whatever the batch size.
struct Batch {
    customers: Vec<customer::Model>,
    services: HashMap<String, Vec<service::Model>>,
    domains: HashMap<String, domain::Model>,
    /// (customer, product) -> discount.
    discounts: HashMap<(String, String), i32>,
    prices: HashMap<String, Vec<customer_price::Model>>,
    accounts: HashMap<String, account::Model>,
    /// Customers with completed orders not yet invoiced.
    with_orders: HashSet<String>,
}

impl Batch {
    /// Reads a batch of a run's customers afresh, for a run of more than one
    /// batch; `take` holds their accounts (see [`Batch::complete`]).
    async fn load(
        tx: &TenantTx,
        ids: &[String],
        due_by: DateTime<Utc>,
        take: bool,
    ) -> Result<Self, DbErr> {
        let customers = customer::Entity::find()
            .filter(customer::Column::Id.is_in(ids))
            .order_by_asc(customer::Column::Id)
            .all(tx.conn())
            .await?;
        let mut services: HashMap<String, Vec<service::Model>> = HashMap::new();
        for s in active_services()
            .filter(service::Column::CustomerId.is_in(ids))
            .filter(service::Column::NextBillingAt.lte(reach(due_by)))
            .all(tx.conn())
            .await?
        {
            services.entry(s.customer_id.clone()).or_default().push(s);
        }
        let with_orders = uninvoiced_orders()
            .filter(order::Column::CustomerId.is_in(ids))
            .into_tuple::<String>()
            .all(tx.conn())
            .await?
            .into_iter()
            .collect();
        Self::complete(tx, customers, services, with_orders, take).await
    }

    /// Completes a batch from its customers and their services: their domains,
    /// discounts, price overrides and accounts. With `take` the accounts are
    /// read by the statement that holds them for the bill (see
    /// [`super::take_accounts`]).
    async fn complete(
        tx: &TenantTx,
        customers: Vec<customer::Model>,
        services: HashMap<String, Vec<service::Model>>,
        with_orders: HashSet<String>,
        take: bool,
    ) -> Result<Self, DbErr> {
        use crate::customers::entity::product_discount;
        let ids: Vec<&str> = customers.iter().map(|c| c.id.as_str()).collect();
        let domain_ids: Vec<&String> = services
            .values()
            .flatten()
            .filter_map(|s| s.domain_id.as_ref())
            .collect();
        let domains = if domain_ids.is_empty() {
            HashMap::new()
        } else {
            domain::Entity::find()
                .filter(domain::Column::Id.is_in(domain_ids))
                .all(tx.conn())
                .await?
                .into_iter()
                .map(|d| (d.id.clone(), d))
                .collect()
        };
        let discounts = product_discount::Entity::find()
            .filter(product_discount::Column::CustomerId.is_in(ids.iter().copied()))
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|d| ((d.customer_id, d.product_id), d.discount_bp))
            .collect();
        let mut prices: HashMap<String, Vec<customer_price::Model>> = HashMap::new();
        for p in customer_price::Entity::find()
            .filter(customer_price::Column::CustomerId.is_in(ids.iter().copied()))
            .all(tx.conn())
            .await?
        {
            prices.entry(p.customer_id.clone()).or_default().push(p);
        }
        let accounts = if take {
            super::take_accounts(tx, &ids).await?
        } else {
            account::Entity::find()
                .filter(account::Column::CustomerId.is_in(ids.iter().copied()))
                .all(tx.conn())
                .await?
        };
        Ok(Self {
            customers,
            services,
            domains,
            discounts,
            prices,
            accounts: accounts
                .into_iter()
                .map(|a| (a.customer_id.clone(), a))
                .collect(),
            with_orders,
        })
    }
}

/// A customer's bill: the preview figures and the lines per invoice to issue.
struct Plan {
    bill: CustomerBill,
    /// Per invoice: currency and lines.
    invoices: Vec<(String, Vec<Planned>)>,
}

/// What is due for one customer of `batch`: every due service at the current book
/// price (renewal for domains, the fee otherwise) less the larger of the
/// customer's and the product's discount (P6), domain renewals only within the
/// customer's credit (B12), grouped into invoices.
fn plan(
    rules: &super::Rules,
    book: &Arc<PriceBook>,
    batch: &Batch,
    c: &customer::Model,
    due_by: DateTime<Utc>,
) -> Plan {
    let collective = rules.billing.collective_monthly;
    let mut bill = CustomerBill {
        customer_id: c.id.clone(),
        customer_number: c.number.clone(),
        name: super::buyer_party(c).name,
        currency: c.currency.clone(),
        ..Default::default()
    };
    let until = horizon(due_by, collective, &c.billing_interval);
    let pricer = Pricer::with_overrides(
        book.clone(),
        c,
        batch.prices.get(&c.id).cloned().unwrap_or_default(),
    );
    let (category, rate) = money::category(pricer.treatment());
    let lang = c.language.as_str();
    let mut planned = Vec::new();
    for s in batch.services.get(&c.id).into_iter().flatten() {
        let dom = s.domain_id.as_ref().and_then(|id| batch.domains.get(id));
        if dom.is_some_and(|d| !["active", "expiring", "grace"].contains(&d.status.as_str())) {
            continue;
        }
        // Every period due by then, one line each (a run with a future "due
        // by" bills them all); a domain renews one period per run.
        let mut current = s.clone();
        for _ in 0..MAX_PERIODS_PER_RUN {
            let s = &current;
            if !is_due(s, until) {
                break;
            }
            let product_discount = batch
                .discounts
                .get(&(c.id.clone(), s.product_id.clone()))
                .copied()
                .unwrap_or(0);
            let (unit_net_minor, discount_bp) = period_net(&pricer, c, product_discount, s);
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
                generation: s.generation,
                // The unit price is per period: quantity is one period.
                quantity_milli: 1000,
                unit: if qty == 1000 {
                    unit.into()
                } else {
                    "C62".into()
                },
                unit_net_minor,
                vat_rate_bp: rate,
                vat_category: category.into(),
                ..Default::default()
            };
            let net = line.net_minor();
            planned.push(Planned {
                service: s.clone(),
                end,
                line,
                gross_minor: net + money::div_round(i128::from(net) * i128::from(rate), 10_000),
                domain: dom.cloned(),
            });
            if dom.is_some() {
                break;
            }
            current.next_billing_at = end;
        }
    }

    // Credit for domain renewals: what is left after the other lines (B12).
    let limit = orders::credit_limit(c, &rules.shop);
    let mut credit = batch
        .accounts
        .get(&c.id)
        .map_or(limit, |a| orders::available(a, limit));
    credit -= planned
        .iter()
        .filter(|p| p.domain.is_none())
        .map(|p| p.gross_minor)
        .sum::<i64>();
    let mut invoices: Vec<(String, Vec<Planned>)> = Vec::new();
    for p in planned {
        if let Some(d) = &p.domain {
            if p.gross_minor > credit {
                bill.refused.push(d.name.clone());
                continue;
            }
            credit -= p.gross_minor;
        }
        let currency = p.service.currency.clone();
        match invoices
            .iter_mut()
            .find(|(cur, _)| collective && *cur == currency)
        {
            Some((_, v)) => v.push(p),
            None => invoices.push((currency, vec![p])),
        }
    }
    for (_, lines) in &invoices {
        let t = money::totals(lines.iter().map(|p| {
            (
                p.line.net_minor(),
                p.line.vat_category.as_str(),
                p.line.vat_rate_bp,
            )
        }));
        bill.invoices += 1;
        bill.lines += lines.len();
        bill.net_minor += t.net_minor;
        bill.gross_minor += t.gross_minor;
    }
    Plan { bill, invoices }
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

/// Bills a batch of customers inside `tx`: advances the due services' dates
/// (conditionally on the dates read, so nothing is billed twice), issues the
/// invoices with their renewal jobs, invoices uninvoiced orders and warns about
/// domains left unrenewed.
async fn bill(
    state: &AppState,
    tx: &TenantTx,
    tenant: &Tenant,
    batch: &Batch,
    run: &billing_run::Model,
    rules: &super::Rules,
) -> Result<Vec<CustomerBill>, BillingError> {
    let (run_id, due_by) = (run.id.as_str(), run.due_by);
    let book = state.prices.book(tx).await?;
    let plans: Vec<(&customer::Model, Plan)> = batch
        .customers
        .iter()
        .map(|c| (c, plan(rules, &book, batch, c, due_by)))
        .collect();
    // Each period advances once: services with the same old and new date move in
    // one statement, only from the date read.
    type Move = (DateTime<Utc>, DateTime<Utc>);
    let mut moves: BTreeMap<Move, Vec<&str>> = BTreeMap::new();
    for p in plans
        .iter()
        .flat_map(|(_, plan)| &plan.invoices)
        .flat_map(|(_, v)| v)
    {
        moves
            .entry((p.service.next_billing_at, p.end))
            .or_default()
            .push(&p.service.id);
    }
    let now = Utc::now();
    for ((old, end), ids) in moves {
        for chunk in ids.chunks(500) {
            let moved = service::Entity::update_many()
                .col_expr(service::Column::NextBillingAt, Expr::val(end))
                .col_expr(service::Column::UpdatedAt, Expr::val(now))
                .filter(service::Column::Id.is_in(chunk.iter().copied()))
                .filter(service::Column::NextBillingAt.eq(old))
                .exec(tx.conn())
                .await?;
            if moved.rows_affected as usize != chunk.len() {
                // Another writer moved one after we read it (the accounts are
                // held, so only a path outside billing could): give up the batch.
                return Err(BillingError::Refused("service dates changed while billing"));
            }
        }
    }
    let mut drafts = Vec::new();
    let mut renewals = Vec::new();
    for (c, plan) in &plans {
        for (currency, lines) in &plan.invoices {
            renewals.push(
                lines
                    .iter()
                    .filter_map(|p| {
                        p.domain
                            .as_ref()
                            .map(|d| (d, p.service.next_billing_at, p.service.period_months))
                    })
                    .collect::<Vec<_>>(),
            );
            drafts.push((
                *c,
                Draft {
                    kind: "invoice",
                    currency: currency.clone(),
                    lines: lines.iter().map(|p| p.line.clone()).collect(),
                    note: None,
                    refers_to: None,
                    billing_run_id: Some(run_id.to_owned()),
                    order_id: None,
                    issued_at: now,
                },
            ));
        }
    }
    let issued = super::issue_many(tx, rules, &tenant.name, drafts, "billing").await?;
    let renew: Vec<_> = issued
        .iter()
        .zip(renewals)
        .flat_map(|(inv, list)| list.into_iter().map(move |r| (inv, r)))
        .map(|(inv, (d, period_start, months))| {
            (
                d,
                format!("renew:{}:{}", d.id, period_start.timestamp()),
                serde_json::json!({ "domain_id": d.id, "years": (months / 12).max(1), "invoice": inv.number }),
            )
        })
        .collect();
    jobs::enqueue_many(
        tx,
        renew.iter().map(|(d, key, payload)| NewJob {
            kind: crate::provisioning::handler::RENEW,
            reference: &d.name,
            key,
            payload: payload.clone(),
            run_after: None,
        }),
    )
    .await?;
    let mut bills = Vec::with_capacity(plans.len());
    for (c, plan) in plans {
        let mut bill = plan.bill;
        if batch.with_orders.contains(&c.id) {
            for inv in invoice_orders(state, tx, tenant, c, Some(run_id)).await? {
                bill.invoices += 1;
                bill.lines += 1;
                bill.net_minor += inv.net_minor;
                bill.gross_minor += inv.gross_minor;
            }
        }
        for name in &bill.refused {
            warn_refused(tx, c, name).await?;
        }
        bills.push(bill);
    }
    Ok(bills)
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
    let rules = super::Rules::load(&tx).await?;
    let book = state.prices.book(&tx).await?;
    let Due {
        customers,
        mut services,
        with_orders,
        ..
    } = Due::find(&tx, due_by, rules.billing.collective_monthly, Utc::now()).await?;
    for chunk in customers.chunks(BATCH) {
        let part = chunk
            .iter()
            .filter_map(|c| services.remove_entry(&c.id))
            .collect();
        let batch = Batch::complete(&tx, chunk.to_vec(), part, with_orders.clone(), false).await?;
        for c in &batch.customers {
            let mut bill = plan(&rules, &book, &batch, c, due_by).bill;
            if batch.with_orders.contains(&c.id) {
                // Uninvoiced orders count too.
                let (category, rate) = money::category(super::treatment_with(&rules.shop, c));
                for (_, lines) in order_lines(&tx, c, rate, category).await? {
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
    // A write first that finds the run in progress (SQLite takes its lock
    // before reading; see `lock_account`).
    let busy = billing_run::Entity::update_many()
        .col_expr(
            billing_run::Column::Status,
            Expr::col(billing_run::Column::Status),
        )
        .filter(billing_run::Column::Status.is_in(["queued", "running"]))
        .exec_with_returning(tx.conn())
        .await?;
    if !busy.is_empty() {
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

/// A run opened for work: its transaction (holding the tenant's write lock on
/// SQLite), the run, the reseller's rules and what is still to bill.
struct Opened {
    tx: TenantTx,
    run: billing_run::Model,
    rules: super::Rules,
    due: Due,
}

/// Opens `run_id` for work: reads the rules once for the whole run, finds what
/// is still to bill and ends what is due to end. `None` when the run is gone or
/// done.
async fn open(state: &AppState, tenant: &Tenant, run_id: &str) -> anyhow::Result<Option<Opened>> {
    let tx = state.tenancy.begin_write(tenant).await?;
    let Some(run) = billing_run::Entity::find_by_id(run_id.to_owned())
        .one(tx.conn())
        .await?
    else {
        return Ok(None);
    };
    if run.status == "done" {
        return Ok(None);
    }
    let rules = super::Rules::load(&tx).await?;
    let now = Utc::now();
    let due = Due::find(&tx, run.due_by, rules.billing.collective_monthly, now).await?;
    super::cancel::end(&tx, &due.ending, now).await?;
    Ok(Some(Opened {
        tx,
        run,
        rules,
        due,
    }))
}

/// `update` moving a run's progress counters by a billed batch of `customers`.
fn progress(
    update: sea_orm::UpdateMany<billing_run::Entity>,
    customers: usize,
    bills: &[CustomerBill],
) -> sea_orm::UpdateMany<billing_run::Entity> {
    use billing_run::Column as R;
    let sum = |f: fn(&CustomerBill) -> i64| bills.iter().map(f).sum::<i64>();
    let invoices = bills.iter().map(|b| b.invoices).sum::<usize>();
    update
        .col_expr(
            R::CustomersDone,
            plus(R::CustomersDone, i32::try_from(customers).unwrap_or(0)),
        )
        .col_expr(
            R::InvoicesCount,
            plus(R::InvoicesCount, i32::try_from(invoices).unwrap_or(0)),
        )
        .col_expr(R::NetMinor, plus(R::NetMinor, sum(|b| b.net_minor)))
        .col_expr(R::GrossMinor, plus(R::GrossMinor, sum(|b| b.gross_minor)))
}

/// Marks a run done with `update` (which may carry the last counters).
async fn finish(
    tx: &TenantTx,
    run_id: &str,
    update: sea_orm::UpdateMany<billing_run::Entity>,
) -> Result<(), DbErr> {
    update
        .col_expr(billing_run::Column::Status, Expr::val("done"))
        .col_expr(billing_run::Column::FinishedAt, Expr::val(Utc::now()))
        .filter(billing_run::Column::Id.eq(run_id))
        .exec(tx.conn())
        .await?;
    tx.touch(super::TOPIC);
    Ok(())
}

/// Executes a queued (or interrupted) run to its end.
pub async fn execute(state: &AppState, tenant: &Tenant, run_id: &str) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let Some(Opened {
        tx,
        run,
        rules,
        due,
    }) = open(state, tenant, run_id).await?
    else {
        return Ok(());
    };
    let started_at = run.started_at.unwrap_or_else(Utc::now);
    let todo = due.ids();
    let total = run.customers_done + i32::try_from(todo.len()).unwrap_or(i32::MAX);
    let mut size = BATCH;
    let tx = if todo.len() <= BATCH {
        // Most resellers: the whole run is one batch, billed in the transaction
        // that found it from what it read there, and done with one commit.
        let batch =
            Batch::complete(&tx, due.customers, due.services, due.with_orders, true).await?;
        match bill(state, &tx, tenant, &batch, &run, &rules).await {
            Ok(bills) => {
                let done = billing_run::Entity::update_many()
                    .col_expr(billing_run::Column::CustomersTotal, Expr::val(total))
                    .col_expr(billing_run::Column::StartedAt, Expr::val(started_at));
                finish(&tx, run_id, progress(done, todo.len(), &bills)).await?;
                tx.commit().await?;
                crate::metrics::run("billing", started.elapsed());
                return Ok(());
            }
            Err(BillingError::Db(e)) => return Err(e.into()),
            // A customer's bill was refused: start over one customer at a time
            // below, so the others are not held up.
            Err(_) => {
                tx.rollback().await?;
                size = 1;
                let Some(again) = open(state, tenant, run_id).await? else {
                    return Ok(());
                };
                again.tx
            }
        }
    } else {
        tx
    };
    billing_run::Entity::update_many()
        .col_expr(billing_run::Column::Status, Expr::val("running"))
        .col_expr(billing_run::Column::StartedAt, Expr::val(started_at))
        .col_expr(billing_run::Column::CustomersTotal, Expr::val(total))
        .filter(billing_run::Column::Id.eq(run_id))
        .exec(tx.conn())
        .await?;
    tx.commit().await?;
    for ids in todo.chunks(size) {
        match bill_batch(state, tenant, &run, &rules, ids).await {
            Ok(()) => {}
            // Trouble with the database itself: the job is retried.
            Err(BillingError::Db(e)) => return Err(e.into()),
            // One customer's problem does not hold up the others: the batch is
            // billed one customer at a time, failures noted on the run and left
            // for the next run.
            Err(e) if ids.len() == 1 => note_failure(state, tenant, run_id, &ids[0], &e).await?,
            Err(_) => {
                for id in ids {
                    match bill_batch(state, tenant, &run, &rules, std::slice::from_ref(id)).await {
                        Ok(()) => {}
                        Err(BillingError::Db(e)) => return Err(e.into()),
                        Err(e) => note_failure(state, tenant, run_id, id, &e).await?,
                    }
                }
            }
        }
    }
    let tx = state.tenancy.begin(tenant).await?;
    finish(&tx, run_id, billing_run::Entity::update_many()).await?;
    tx.commit().await?;
    crate::metrics::run("billing", started.elapsed());
    Ok(())
}

/// Bills one batch of a run's customers in one transaction, read afresh, with
/// the run's progress counters.
async fn bill_batch(
    state: &AppState,
    tenant: &Tenant,
    run: &billing_run::Model,
    rules: &super::Rules,
    ids: &[String],
) -> Result<(), BillingError> {
    let tx = state.tenancy.begin_write(tenant).await.map_err(db)?;
    let batch = Batch::load(&tx, ids, run.due_by, true).await?;
    let bills = bill(state, &tx, tenant, &batch, run, rules).await?;
    progress(billing_run::Entity::update_many(), ids.len(), &bills)
        .filter(billing_run::Column::Id.eq(&run.id))
        .exec(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Notes on the run that a customer could not be billed (left for the next run).
async fn note_failure(
    state: &AppState,
    tenant: &Tenant,
    run_id: &str,
    customer_id: &str,
    e: &BillingError,
) -> anyhow::Result<()> {
    let tx = state.tenancy.begin(tenant).await?;
    let number = customer::Entity::find_by_id(customer_id.to_owned())
        .one(tx.conn())
        .await?
        .map_or_else(|| customer_id.to_owned(), |c| c.number);
    let mut r: billing_run::ActiveModel = billing_run::Entity::find_by_id(run_id.to_owned())
        .one(tx.conn())
        .await?
        .ok_or_else(|| anyhow::anyhow!("run vanished"))?
        .into();
    let before = r.error.clone().take().flatten().unwrap_or_default();
    let sep = if before.is_empty() { "" } else { "; " };
    r.error = Set(Some(
        format!("{before}{sep}{number}: {e}")
            .chars()
            .take(2000)
            .collect(),
    ));
    r.update(tx.conn()).await?;
    tx.commit().await?;
    Ok(())
}

/// Mails the customer and the reseller that a domain was not renewed for lack of
/// credit (once per domain and expiry).
async fn warn_refused(tx: &TenantTx, c: &customer::Model, name: &str) -> Result<(), DbErr> {
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
    .await
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
    crate::payments::dunning::DELIVER,
    crate::payments::suspension::SUSPEND,
    crate::payments::suspension::UNSUSPEND,
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
                // Deleted resellers past their retention period (T1).
                crate::resellers::purge_expired(&self.state, "schedule")
                    .await
                    .map_err(retry)?;
                super::platform::run(&self.state, "schedule")
                    .await
                    .map_err(retry)?;
                // The operator collects from resellers the same way (T5).
                crate::payments::scheduled(&self.state, tenant)
                    .await
                    .map_err(retry)?;
                Ok(())
            }
            SCHEDULE => {
                renewal_warnings(&self.state, tenant).await.map_err(retry)?;
                crate::payments::scheduled(&self.state, tenant)
                    .await
                    .map_err(retry)?;
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
            crate::payments::dunning::DELIVER => {
                crate::payments::dunning::deliver(&self.state, tenant, &field("letter_id")).await
            }
            crate::payments::suspension::SUSPEND | crate::payments::suspension::UNSUSPEND => {
                crate::payments::suspension::apply(&self.state, tenant, &field("customer_id")).await
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
