//! The customer list: search, filters and keyset pagination (newest first), which
//! stays fast at any depth because it never counts or skips rows.

use super::customer;
use relabel_tenants::TenantTx;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct ListQuery {
    /// Matches number, email, names and company (case-insensitive, substring).
    pub q: Option<String>,
    /// `active` or `locked`.
    pub status: Option<String>,
    /// `DEBIT` or `BANKTRANSFER`.
    #[serde(alias = "billing")]
    pub billing_type: Option<String>,
    /// Id of the last customer of the previous page.
    pub after: Option<String>,
    pub limit: Option<u64>,
}

pub struct CustomerPage {
    pub items: Vec<customer::Model>,
    /// Cursor for the next page, if there is one.
    pub next: Option<String>,
}

pub async fn list(tx: &TenantTx, query: &ListQuery) -> Result<CustomerPage, DbErr> {
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let mut cond = Condition::all();
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", q.to_lowercase().replace(['%', '_'], ""));
        let mut any = Condition::any();
        for col in [
            customer::Column::Number,
            customer::Column::Email,
            customer::Column::LastName,
            customer::Column::FirstName,
            customer::Column::Company,
        ] {
            any = any.add(Expr::expr(Func::lower(Expr::col(col))).like(pattern.clone()));
        }
        cond = cond.add(any);
    }
    match query.status.as_deref() {
        Some("active") => cond = cond.add(customer::Column::LockedAt.is_null()),
        Some("locked") => cond = cond.add(customer::Column::LockedAt.is_not_null()),
        _ => {}
    }
    if let Some(b) = query
        .billing_type
        .as_deref()
        .filter(|b| matches!(*b, "DEBIT" | "BANKTRANSFER"))
    {
        cond = cond.add(customer::Column::BillingType.eq(b));
    }
    if let Some(after) = query.after.as_deref().filter(|a| !a.is_empty()) {
        cond = cond.add(customer::Column::Id.lt(after));
    }
    let mut items = customer::Entity::find()
        .filter(cond)
        .order_by_desc(customer::Column::Id)
        .limit(limit + 1)
        .all(tx.conn())
        .await?;
    let next = if items.len() as u64 > limit {
        items.truncate(limit as usize);
        items.last().map(|m| m.id.clone())
    } else {
        None
    };
    Ok(CustomerPage { items, next })
}

/// How many customers the tenant has.
pub async fn count(tx: &TenantTx) -> Result<i64, DbErr> {
    use sea_orm::PaginatorTrait;
    let n = customer::Entity::find().count(tx.conn()).await?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}
