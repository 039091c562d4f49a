//! Two levels (T5): the operator bills each reseller for the wholesale cost of
//! what its customers ordered and of every service period the reseller billed
//! (renewals, monthly and yearly fees), with the same billing code as a reseller
//! uses for its customers, in the operator's own books (a tenant-like schema, see
//! [`relabel_tenants::PLATFORM_BOOKS_ID`] and ADR 0007).
//!
//! In the books each reseller is a customer (its id is the tenant id, its master
//! data come from the reseller's legal data). A wholesale line is keyed by a hash
//! of (reseller, order) or (reseller, billed line) in `invoice_lines.order_item_id`,
//! whose unique index makes a repeated or resumed run bill nothing twice. The
//! reseller's platform account (`shared.reseller_accounts`, used by the ordering
//! credit check) is debited by the invoice and the orders' wholesale
//! reservations are released in the same transaction.

use super::{Draft, LineDraft, invoice, invoice_line, money};
use crate::app::AppState;
use crate::customers::customer;
use crate::orders::{order, reseller_account};
use relabel_tenants::{Tenant, TenantTx};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use sha2::Digest;

/// A stable 32-hex key for a wholesale line.
fn key(kind: &str, tenant: &str, id: &str) -> String {
    let digest = sha2::Sha256::digest(format!("{kind}:{tenant}:{id}"));
    hex::encode(&digest[..16])
}

/// The reseller as a customer of the platform, created or refreshed from its
/// legal data.
async fn reseller_customer(
    books: &TenantTx,
    reseller: &Tenant,
    legal: &super::billing_settings::Model,
) -> anyhow::Result<customer::Model> {
    let id = reseller.id.to_string();
    let existing = customer::Entity::find_by_id(id.clone())
        .one(books.conn())
        .await?;
    let mut c = existing.clone().unwrap_or_else(|| {
        crate::customers::blank(format!("R-{}", &id[id.len() - 10..]), "EUR".into())
    });
    c.id = id;
    c.kind = "company".into();
    c.company = Some(if legal.legal_name.is_empty() {
        reseller.name.clone()
    } else {
        legal.legal_name.clone()
    });
    c.first_name = reseller.name.clone();
    c.last_name = String::new();
    c.street = legal.street.clone();
    c.postal_code = legal.postal_code.clone();
    c.city = legal.city.clone();
    c.country = if legal.country.is_empty() {
        "DE".into()
    } else {
        legal.country.clone()
    };
    c.vat_id = (!legal.vat_id.is_empty()).then(|| legal.vat_id.clone());
    c.email = if legal.email.is_empty() {
        format!(
            "billing@{}",
            reseller
                .hostnames
                .first()
                .map(String::as_str)
                .unwrap_or("localhost")
        )
    } else {
        legal.email.clone()
    };
    c.email_verified_at = c.email_verified_at.or(Some(chrono::Utc::now()));
    let active: customer::ActiveModel = c.clone().into();
    if existing.is_some() {
        active.reset_all().update(books.conn()).await?;
    } else {
        customer::Entity::insert(active).exec(books.conn()).await?;
    }
    Ok(c)
}

/// One reseller's wholesale lines not billed yet, and the orders among them.
async fn wholesale_lines(
    state: &AppState,
    reseller: &Tenant,
    billed: &std::collections::HashSet<String>,
) -> anyhow::Result<(Vec<LineDraft>, Vec<(String, i64)>)> {
    let tx = state.tenancy.begin(reseller).await?;
    let book = state.prices.book(&tx).await?;
    let rid = reseller.id.to_string();
    let mut lines = Vec::new();
    let mut orders = Vec::new();
    // What its customers ordered: completed orders with a wholesale cost.
    for o in order::Entity::find()
        .filter(order::Column::Status.eq("completed"))
        .filter(order::Column::WholesaleMinor.gt(0))
        .order_by_asc(order::Column::CreatedAt)
        .all(tx.conn())
        .await?
    {
        let k = key("order", &rid, &o.id);
        if billed.contains(&k) {
            if o.wholesale_reserved_minor > 0 {
                orders.push((o.id.clone(), 0));
            }
            continue;
        }
        lines.push(LineDraft {
            order_item_id: Some(k),
            description: format!(
                "{}: order {}",
                reseller.name,
                o.number.clone().unwrap_or_else(|| o.id.clone())
            ),
            period_start: Some(o.created_at),
            quantity_milli: 1000,
            unit: "C62".into(),
            unit_net_minor: o.wholesale_minor,
            ..Default::default()
        });
        orders.push((o.id.clone(), o.wholesale_reserved_minor));
    }
    // Every service period it billed: renewals and recurring fees.
    let periods = invoice_line::Entity::find()
        .filter(invoice_line::Column::ServiceId.is_not_null())
        .order_by_asc(invoice_line::Column::Id)
        .all(tx.conn())
        .await?;
    let services: std::collections::HashMap<String, crate::provisioning::service::Model> =
        crate::provisioning::service::Entity::find()
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
    // A period the reseller billed again after a storno (a later line of the
    // same service and period start) costs the reseller nothing more.
    let mut seen = std::collections::HashSet::new();
    for l in periods {
        if let (Some(sid), Some(start)) = (&l.service_id, l.period_start)
            && !seen.insert((sid.clone(), start))
        {
            continue;
        }
        let k = key("period", &rid, &l.id);
        if billed.contains(&k) {
            continue;
        }
        let Some(s) = l.service_id.as_ref().and_then(|id| services.get(id)) else {
            continue;
        };
        let action = if s.domain_id.is_some() {
            "renew"
        } else if s.period_months % 12 == 0 {
            "yearly_fee"
        } else {
            "monthly_fee"
        };
        let Some(cost) = book.wholesale(&s.product_id, action, s.period_months, &s.currency) else {
            continue;
        };
        if cost <= 0 {
            continue;
        }
        lines.push(LineDraft {
            order_item_id: Some(k),
            product_id: Some(s.product_id.clone()),
            description: format!("{}: {}", reseller.name, s.label),
            period_start: l.period_start,
            period_end: l.period_end,
            quantity_milli: 1000,
            unit: "C62".into(),
            unit_net_minor: cost,
            ..Default::default()
        });
    }
    Ok((lines, orders))
}

/// What one platform run did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PlatformRun {
    pub resellers: usize,
    pub invoices: Vec<String>,
    pub gross_minor: i64,
}

/// Bills every reseller's unbilled wholesale cost, one invoice per reseller.
pub async fn run(state: &AppState, actor: &str) -> anyhow::Result<PlatformRun> {
    ensure_letterhead(state).await?;
    let books_tenant = state.tenancy.platform_books().await?;
    let mut out = PlatformRun::default();
    for reseller in state.tenancy.list().await? {
        let rtx = state.tenancy.begin(&reseller).await?;
        let legal = super::settings(&rtx).await?;
        drop(rtx);
        let books = state.tenancy.begin(&books_tenant).await?;
        let c = reseller_customer(&books, &reseller, &legal).await?;
        let billed: std::collections::HashSet<String> = invoice_line::Entity::find()
            .select_only()
            .column(invoice_line::Column::OrderItemId)
            .filter(invoice_line::Column::OrderItemId.is_not_null())
            .into_tuple::<Option<String>>()
            .all(books.conn())
            .await?
            .into_iter()
            .flatten()
            .collect();
        let (mut lines, orders) = wholesale_lines(state, &reseller, &billed).await?;
        out.resellers += 1;
        let (category, rate) = money::category(super::treatment_of(&books, &c).await?);
        for l in &mut lines {
            l.vat_category = category.into();
            l.vat_rate_bp = rate;
        }
        let released: i64 = orders.iter().map(|(_, r)| *r).sum();
        if !lines.is_empty() {
            let inv = super::issue(
                &books,
                &c,
                "relabel",
                Draft {
                    kind: "invoice",
                    currency: "EUR".into(),
                    lines,
                    note: None,
                    refers_to: None,
                    billing_run_id: None,
                    order_id: None,
                    issued_at: chrono::Utc::now(),
                },
                actor,
            )
            .await?;
            // The reseller's platform account: debited by the invoice (its
            // balance follows the books, see `billing::post_many`), the orders'
            // wholesale reservations released.
            crate::orders::wholesale::ensure(books.platform().await?, reseller.id.as_str()).await?;
            use reseller_account::Column as R;
            reseller_account::Entity::update_many()
                .col_expr(
                    R::ReservedMinor,
                    sea_orm::sea_query::ExprTrait::sub(
                        Expr::col(R::ReservedMinor),
                        Expr::val(released),
                    ),
                )
                .filter(R::TenantId.eq(reseller.id.as_str()))
                .exec(books.platform().await?)
                .await?;
            out.gross_minor += inv.gross_minor;
            out.invoices.push(inv.number.clone());
        }
        books.commit().await?;
        // The orders' own reservation marks, in the reseller's schema (a rerun
        // finds them billed and clears what a crash left).
        if !orders.is_empty() {
            let rtx = state.tenancy.begin(&reseller).await?;
            order::Entity::update_many()
                .col_expr(order::Column::WholesaleReservedMinor, Expr::val(0i64))
                .filter(order::Column::Id.is_in(orders.iter().map(|(id, _)| id.clone())))
                .exec(rtx.conn())
                .await?;
            rtx.commit().await?;
        }
    }
    Ok(out)
}

/// The platform invoices of one reseller (console) or all (operator), newest first.
pub async fn invoices(
    state: &AppState,
    reseller: Option<&str>,
) -> anyhow::Result<(
    Vec<invoice::Model>,
    std::collections::HashMap<String, chrono::NaiveDate>,
)> {
    let books_tenant = state.tenancy.platform_books().await?;
    let tx = state.tenancy.begin(&books_tenant).await?;
    let mut q = invoice::Entity::find();
    if let Some(r) = reseller {
        q = q.filter(invoice::Column::CustomerId.eq(r));
    }
    let docs = q
        .order_by_desc(invoice::Column::IssuedAt)
        .order_by_desc(invoice::Column::Number)
        .all(tx.conn())
        .await?;
    let pending = crate::payments::sepa::pending(&tx).await?;
    Ok((docs, pending))
}

/// The operator's legal data on platform invoices: set once from the config's
/// platform name when still empty.
pub async fn ensure_letterhead(state: &AppState) -> anyhow::Result<()> {
    let books_tenant = state.tenancy.platform_books().await?;
    let tx = state.tenancy.begin(&books_tenant).await?;
    let s = super::settings(&tx).await?;
    if s.legal_name.is_empty() {
        let mut a: super::billing_settings::ActiveModel = s.into();
        a.legal_name = Set("relabel platform".into());
        a.invoice_pattern = Set("PL-{YYYY}-{seq:06}".into());
        a.credit_note_pattern = Set("PG-{YYYY}-{seq:06}".into());
        a.invoice_on_completion = Set(false);
        a.update(tx.conn()).await?;
    }
    tx.commit().await?;
    Ok(())
}
