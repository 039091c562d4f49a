//! The last dunning step (D1) and its end: a letter at a level that says
//! `suspend` marks the customer suspended and suspends their hosting accounts
//! (and email and site-builder add-ons) at the panel; a posting that leaves no
//! open item at such a level lifts the mark and unsuspends them.
//!
//! In the operator's books (T5) the customer is a reseller: the mark pauses the
//! reseller's storefront ordering at once, in the same transaction, and payment
//! resumes it.
//!
//! The mark on the customer is the truth; the panel follows it through one job
//! kind per direction, each of which brings every account in line with the mark
//! as it is when the job runs (so jobs in any order, or repeated, end right).

use super::dunning_level;
use crate::app::AppState;
use crate::audit::{self, Change};
use crate::billing::invoice;
use crate::customers::customer;
use crate::hosting::{self, panel::PanelError};
use crate::jobs::runner::JobError;
use crate::jobs::{self, NewJob};
use chrono::Utc;
use relabel_tenants::{Tenant, TenantTx};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};
use serde_json::json;

pub const SUSPEND: &str = "dunning.suspend";
pub const UNSUSPEND: &str = "dunning.unsuspend";

fn is_books(tx: &TenantTx) -> bool {
    tx.tenant_id().as_str() == relabel_tenants::PLATFORM_BOOKS_ID
}

/// Marks the customer suspended (once) and suspends their services: returns
/// whether the mark was new.
pub async fn suspend(tx: &TenantTx, customer_id: &str, actor: &str) -> Result<bool, DbErr> {
    let now = Utc::now();
    let marked = customer::Entity::update_many()
        .col_expr(customer::Column::SuspendedAt, Expr::val(Some(now)))
        .filter(customer::Column::Id.eq(customer_id))
        .filter(customer::Column::SuspendedAt.is_null())
        .exec(tx.conn())
        .await?
        .rows_affected
        == 1;
    if !marked {
        return Ok(false);
    }
    follow(tx, customer_id, true).await?;
    audit::record_tenant(
        tx,
        Change::new(actor, "customer.suspend", customer_id)
            .entity("customer", customer_id)
            .after(json!({ "reason": "dunning" })),
    )
    .await?;
    Ok(true)
}

/// After a posting: lifts a suspension once no open item of the customer stands
/// at a level that suspends. Returns whether it was lifted.
pub async fn release_if_paid(tx: &TenantTx, customer_id: &str) -> Result<bool, DbErr> {
    let suspended: Option<Option<chrono::DateTime<Utc>>> =
        customer::Entity::find_by_id(customer_id.to_owned())
            .select_only()
            .column(customer::Column::SuspendedAt)
            .into_tuple()
            .one(tx.conn())
            .await?;
    if !matches!(suspended, Some(Some(_))) {
        return Ok(false);
    }
    let from: Option<i32> = dunning_level::Entity::find()
        .select_only()
        .column(dunning_level::Column::Level)
        .filter(dunning_level::Column::Suspend.eq(true))
        .into_tuple()
        .all(tx.conn())
        .await?
        .into_iter()
        .min();
    if let Some(from) = from {
        let still = invoice::Entity::find()
            .filter(invoice::Column::CustomerId.eq(customer_id))
            .filter(invoice::Column::Kind.eq("invoice"))
            .filter(invoice::Column::Status.eq("open"))
            .filter(invoice::Column::DunningLevel.gte(from))
            .count(tx.conn())
            .await?;
        if still > 0 {
            return Ok(false);
        }
    }
    customer::Entity::update_many()
        .col_expr(
            customer::Column::SuspendedAt,
            Expr::val(Option::<chrono::DateTime<Utc>>::None),
        )
        .filter(customer::Column::Id.eq(customer_id))
        .exec(tx.conn())
        .await?;
    follow(tx, customer_id, false).await?;
    audit::record_tenant(
        tx,
        Change::new("payment", "customer.unsuspend", customer_id).entity("customer", customer_id),
    )
    .await?;
    Ok(true)
}

/// Makes the services follow the mark: in the books the reseller's ordering, at
/// once; otherwise a job for the panel.
async fn follow(tx: &TenantTx, customer_id: &str, suspend: bool) -> Result<(), DbErr> {
    if is_books(tx) {
        crate::orders::wholesale::suspend_ordering(tx.platform().await?, customer_id, suspend)
            .await?;
        return Ok(());
    }
    let (kind, word) = if suspend {
        (SUSPEND, "suspend")
    } else {
        (UNSUSPEND, "unsuspend")
    };
    jobs::enqueue(
        tx,
        NewJob {
            kind,
            reference: customer_id,
            key: &format!("{word}:{customer_id}:{}", Utc::now().timestamp_micros()),
            payload: json!({ "customer_id": customer_id }),
            run_after: None,
        },
    )
    .await?;
    Ok(())
}

/// The job: every hosting account of the customer to the state the mark asks for.
pub async fn apply(state: &AppState, tenant: &Tenant, customer_id: &str) -> Result<(), JobError> {
    let retry = |e: DbErr| JobError::Retry(e.to_string());
    let tx = state
        .tenancy
        .begin(tenant)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    let Some(c) = customer::Entity::find_by_id(customer_id.to_owned())
        .one(tx.conn())
        .await
        .map_err(retry)?
    else {
        return Err(JobError::Fatal(format!("customer {customer_id} not found")));
    };
    let accounts = hosting::customer_accounts(&tx, customer_id)
        .await
        .map_err(retry)?;
    drop(tx);
    let want = c.suspended_at.is_some();
    let shared = state.tenancy.backend().shared();
    for a in accounts {
        let (from, to) = if want {
            ("active", "suspended")
        } else {
            ("suspended", "active")
        };
        if a.status != from {
            continue;
        }
        let server = hosting::server_by_id(shared, &a.server_id)
            .await
            .map_err(retry)?
            .ok_or_else(|| JobError::Fatal(format!("server {} is gone", a.server_id)))?;
        let done = if want {
            state.panel.suspend(&server, &a.username).await
        } else {
            state.panel.unsuspend(&server, &a.username).await
        };
        match done {
            Ok(()) => {}
            Err(PanelError::Unavailable(e)) => return Err(JobError::Retry(e)),
            Err(e) => {
                return Err(JobError::Fatal(format!(
                    "the hosting panel refused to {} {}: {e}",
                    if want { "suspend" } else { "unsuspend" },
                    a.username
                )));
            }
        }
        let tx = state
            .tenancy
            .begin(tenant)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        hosting::set_status(&tx, &a.id, to).await.map_err(retry)?;
        tx.commit().await.map_err(retry)?;
    }
    Ok(())
}
