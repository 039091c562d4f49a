//! Two levels (T5): every order also reserves the reseller's wholesale cost on its
//! account at the platform, with the same conditional UPDATE as the customer's
//! credit check. A reseller over its own limit sends the order to the operator's
//! clearing; the operator approves (beyond the limit) or rejects it.

use super::entity::{operator_case, reseller_account};
use chrono::Utc;
use relabel_tenants::TenantTx;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};

/// A new reseller's platform credit: 10,000.00 EUR until the operator sets one.
pub const DEFAULT_LIMIT_MINOR: i64 = 1_000_000;

/// Creates the reseller's account if missing. In an order transaction this is the
/// first statement on the platform tables, a write (see `orders::place`).
pub async fn ensure(db: &impl ConnectionTrait, tenant_id: &str) -> Result<(), DbErr> {
    reseller_account::Entity::insert(reseller_account::ActiveModel {
        tenant_id: Set(tenant_id.to_owned()),
        currency: Set("EUR".into()),
        balance_minor: Set(0),
        reserved_minor: Set(0),
        credit_limit_minor: Set(DEFAULT_LIMIT_MINOR),
        updated_at: Set(Utc::now()),
        ordering_suspended_at: Set(None),
    })
    .on_conflict_do_nothing_on([reseller_account::Column::TenantId])
    .exec(db)
    .await?;
    Ok(())
}

/// Whether the operator's dunning paused the reseller's ordering (T5).
pub async fn ordering_suspended(db: &impl ConnectionTrait, tenant_id: &str) -> Result<bool, DbErr> {
    Ok(account(db, tenant_id)
        .await?
        .is_some_and(|a| a.ordering_suspended_at.is_some()))
}

/// Pauses (`true`) or resumes the reseller's storefront ordering. Returns whether
/// it changed.
pub async fn suspend_ordering(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    suspend: bool,
) -> Result<bool, DbErr> {
    use reseller_account::Column as R;
    ensure(db, tenant_id).await?;
    let now = Utc::now();
    let q = reseller_account::Entity::update_many()
        .col_expr(
            R::OrderingSuspendedAt,
            Expr::val(if suspend { Some(now) } else { None }),
        )
        .col_expr(R::UpdatedAt, Expr::val(now))
        .filter(R::TenantId.eq(tenant_id));
    let q = if suspend {
        q.filter(R::OrderingSuspendedAt.is_null())
    } else {
        q.filter(R::OrderingSuspendedAt.is_not_null())
    };
    Ok(q.exec(db).await?.rows_affected == 1)
}

/// Sets the reseller's platform balance to its account in the operator's books
/// (every posting there, payments included, moves it).
pub async fn mirror_balance(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    balance_minor: i64,
) -> Result<(), DbErr> {
    use reseller_account::Column as R;
    ensure(db, tenant_id).await?;
    reseller_account::Entity::update_many()
        .col_expr(R::BalanceMinor, Expr::val(balance_minor))
        .col_expr(R::UpdatedAt, Expr::val(Utc::now()))
        .filter(R::TenantId.eq(tenant_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Reserves `amount` if balance + limit - reserved covers it (or always, with
/// `override_limit`).
pub async fn reserve(tx: &TenantTx, amount: i64, override_limit: bool) -> Result<bool, DbErr> {
    use reseller_account::Column as R;
    if amount == 0 {
        return Ok(true);
    }
    let mut q = reseller_account::Entity::update_many()
        .col_expr(R::ReservedMinor, Expr::col(R::ReservedMinor).add(amount))
        .col_expr(R::UpdatedAt, Expr::val(Utc::now()))
        .filter(R::TenantId.eq(tx.tenant_id().as_str()));
    if !override_limit {
        q = q.filter(
            Expr::col(R::BalanceMinor)
                .add(Expr::col(R::CreditLimitMinor))
                .sub(Expr::col(R::ReservedMinor))
                .gte(amount),
        );
    }
    Ok(q.exec(tx.platform().await?).await?.rows_affected == 1)
}

pub async fn release(tx: &TenantTx, amount: i64) -> Result<(), DbErr> {
    use reseller_account::Column as R;
    if amount == 0 {
        return Ok(());
    }
    reseller_account::Entity::update_many()
        .col_expr(R::ReservedMinor, Expr::col(R::ReservedMinor).sub(amount))
        .filter(R::TenantId.eq(tx.tenant_id().as_str()))
        .exec(tx.platform().await?)
        .await?;
    Ok(())
}

pub async fn account(
    db: &impl ConnectionTrait,
    tenant_id: &str,
) -> Result<Option<reseller_account::Model>, DbErr> {
    reseller_account::Entity::find_by_id(tenant_id.to_owned())
        .one(db)
        .await
}

pub async fn accounts(db: &impl ConnectionTrait) -> Result<Vec<reseller_account::Model>, DbErr> {
    reseller_account::Entity::find().all(db).await
}

/// Sets a reseller's platform credit limit (operator).
pub async fn set_limit(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    limit_minor: i64,
) -> Result<(), DbErr> {
    ensure(db, tenant_id).await?;
    reseller_account::Entity::update_many()
        .col_expr(
            reseller_account::Column::CreditLimitMinor,
            Expr::val(limit_minor),
        )
        .col_expr(reseller_account::Column::UpdatedAt, Expr::val(Utc::now()))
        .filter(reseller_account::Column::TenantId.eq(tenant_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Files the operator's case for an order the reseller's credit does not cover.
pub async fn open_case(
    tx: &TenantTx,
    order: &super::order::Model,
    case: &super::clearing_case::Model,
) -> Result<(), DbErr> {
    use sea_orm::ActiveModelTrait;
    operator_case::ActiveModel {
        id: Set(uuid::Uuid::now_v7().simple().to_string()),
        tenant_id: Set(tx.tenant_id().as_str().to_owned()),
        order_id: Set(order.id.clone()),
        case_id: Set(case.id.clone()),
        case_number: Set(case.number.clone()),
        amount_minor: Set(order.wholesale_minor),
        currency: Set("EUR".into()),
        status: Set("open".into()),
        note: Set(None),
        created_at: Set(Utc::now()),
        decided_at: Set(None),
        decided_by: Set(None),
    }
    .insert(tx.platform().await?)
    .await?;
    Ok(())
}

/// Open operator cases, oldest first (across all resellers).
pub async fn open_cases(db: &impl ConnectionTrait) -> Result<Vec<operator_case::Model>, DbErr> {
    operator_case::Entity::find()
        .filter(operator_case::Column::Status.eq("open"))
        .order_by_asc(operator_case::Column::CreatedAt)
        .all(db)
        .await
}

pub async fn operator_case(
    db: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<operator_case::Model>, DbErr> {
    operator_case::Entity::find_by_id(id.to_owned())
        .one(db)
        .await
}
