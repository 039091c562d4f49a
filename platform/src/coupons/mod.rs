//! Coupons (P5, O12): percent or absolute (bound to a currency), validity window,
//! total and per-customer limits, product/TLD/action scope, first-order-only.
//! Redemption is exact under concurrency: the total limit is a conditional UPDATE.

use crate::audit::{self, Change};
use crate::customers::fields::{CURRENCIES, is_choice, parse_amount};
use crate::validation::FieldErrors;
use chrono::{DateTime, Utc};
use relabel_tenants::TenantTx;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DbErr, EntityTrait, PaginatorTrait, QueryFilter, Set,
};

pub mod entity {
    pub mod coupon {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "coupons")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: String,
            pub code: String,
            pub kind: String,
            pub value: i64,
            pub currency: Option<String>,
            pub valid_from: DateTimeUtc,
            pub valid_until: Option<DateTimeUtc>,
            pub max_total: Option<i32>,
            pub max_per_customer: Option<i32>,
            pub products: String,
            pub actions: String,
            pub first_order_only: bool,
            pub used_count: i32,
            pub created_at: DateTimeUtc,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    pub mod redemption {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "coupon_redemptions")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: String,
            pub coupon_id: String,
            pub customer_id: String,
            pub reference: String,
            pub created_at: DateTimeUtc,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }
}

use entity::{coupon, redemption};

/// What a reseller enters for a new coupon.
#[derive(Clone, Debug, Default)]
pub struct CouponInput {
    pub code: String,
    /// `percent` or `absolute`.
    pub kind: String,
    /// Percent (e.g. `10` or `12.5`) or an amount (e.g. `5.00`).
    pub value: String,
    /// Required for absolute coupons.
    pub currency: Option<String>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub max_total: Option<i32>,
    pub max_per_customer: Option<i32>,
    pub products: Vec<String>,
    pub actions: Vec<String>,
    pub first_order_only: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CouponError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Why a coupon cannot be used (shown to the customer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    NotYetValid,
    Expired,
    UsedUp,
    UsedUpForCustomer,
    FirstOrderOnly,
}

impl Refusal {
    /// The message code for field `coupon`.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Unknown => "err.coupon_unknown",
            Refusal::NotYetValid => "err.coupon_not_yet_valid",
            Refusal::Expired => "err.coupon_expired",
            Refusal::UsedUp => "err.coupon_used_up",
            Refusal::UsedUpForCustomer => "err.coupon_used_up_customer",
            Refusal::FirstOrderOnly => "err.coupon_first_order_only",
        }
    }
}

pub async fn create(
    tx: &TenantTx,
    actor: &str,
    input: CouponInput,
) -> Result<coupon::Model, CouponError> {
    create_checked(tx, actor, input, FieldErrors::default()).await
}

/// Like [`create`], adding to `errors` found earlier (while reading a form), so the
/// reseller sees every problem at once.
pub async fn create_checked(
    tx: &TenantTx,
    actor: &str,
    input: CouponInput,
    mut errors: FieldErrors,
) -> Result<coupon::Model, CouponError> {
    let code = input.code.trim().to_uppercase();
    if !(3..=32).contains(&code.len())
        || !code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
    {
        errors.add("code", "err.coupon_code");
    }
    let value = match input.kind.as_str() {
        "percent" => parse_amount(&input.value)
            .filter(|v| (1..=10_000).contains(v))
            .or_else(|| {
                errors.add("value", "err.coupon_percent");
                None
            }),
        "absolute" => {
            if !input
                .currency
                .as_deref()
                .is_some_and(|c| is_choice(CURRENCIES, c))
            {
                errors.add("currency", "err.choice");
            }
            parse_amount(&input.value)
                .filter(|v| (1..=100_000_000).contains(v))
                .or_else(|| {
                    errors.add("value", "err.amount");
                    None
                })
        }
        _ => {
            errors.add("kind", "err.choice");
            None
        }
    };
    for a in &input.actions {
        if !crate::catalog::ACTIONS.contains(&a.as_str()) {
            errors.add("actions", "err.choice");
        }
    }
    for p in &input.products {
        if crate::catalog::product::Entity::find_by_id(p.clone())
            .one(tx.conn())
            .await?
            .is_none()
        {
            errors.add("products", "err.coupon_products");
        }
    }
    let valid_from = input.valid_from.unwrap_or_else(Utc::now);
    // A well-formed date that ends before the start (or in the past) says so.
    if input.valid_until.is_some_and(|u| u <= valid_from) {
        errors.add("valid_until", "err.coupon_end");
    }
    for (field, limit) in [
        ("max_total", input.max_total),
        ("max_per_customer", input.max_per_customer),
    ] {
        if limit.is_some_and(|l| l < 1) {
            errors.add(field, "err.amount");
        }
    }
    let (Some(value), true) = (value, errors.is_empty()) else {
        return Err(CouponError::Invalid(errors));
    };
    if coupon::Entity::find()
        .filter(coupon::Column::Code.eq(&code))
        .one(tx.conn())
        .await?
        .is_some()
    {
        return Err(CouponError::Invalid(FieldErrors::single(
            "code",
            "err.coupon_exists",
        )));
    }
    let m = coupon::ActiveModel {
        id: Set(uuid::Uuid::now_v7().simple().to_string()),
        code: Set(code),
        kind: Set(input.kind.clone()),
        value: Set(value),
        currency: Set(if input.kind == "absolute" {
            input.currency.clone()
        } else {
            None
        }),
        valid_from: Set(valid_from),
        valid_until: Set(input.valid_until),
        max_total: Set(input.max_total),
        max_per_customer: Set(input.max_per_customer),
        products: Set(input.products.join(",")),
        actions: Set(input.actions.join(",")),
        first_order_only: Set(input.first_order_only),
        used_count: Set(0),
        created_at: Set(Utc::now()),
    }
    .insert(tx.conn())
    .await?;
    audit::record_tenant(
        tx,
        Change::new(actor, "coupon.create", &m.code)
            .entity("coupon", &m.id)
            .after(&m.code),
    )
    .await?;
    Ok(m)
}

/// Every coupon, newest first.
pub async fn list(tx: &TenantTx) -> Result<Vec<coupon::Model>, DbErr> {
    use sea_orm::QueryOrder;
    coupon::Entity::find()
        .order_by_desc(coupon::Column::CreatedAt)
        .all(tx.conn())
        .await
}

pub async fn get(tx: &TenantTx, id: &str) -> Result<Option<coupon::Model>, DbErr> {
    coupon::Entity::find_by_id(id.to_owned())
        .one(tx.conn())
        .await
}

/// Ends a coupon now (its redemptions stay on record).
pub async fn end(tx: &TenantTx, actor: &str, id: &str) -> Result<Option<coupon::Model>, DbErr> {
    let Some(c) = get(tx, id).await? else {
        return Ok(None);
    };
    let now = Utc::now();
    if c.valid_until.is_some_and(|u| u <= now) {
        return Ok(Some(c));
    }
    let mut a: coupon::ActiveModel = c.clone().into();
    a.valid_until = Set(Some(std::cmp::max(now, c.valid_from)));
    let ended = a.update(tx.conn()).await?;
    audit::record_tenant(
        tx,
        Change::new(actor, "coupon.end", &c.code).entity("coupon", &c.id),
    )
    .await?;
    Ok(Some(ended))
}

/// Where a coupon stands now: `scheduled`, `active`, `used_up` or `ended`.
pub fn state(c: &coupon::Model, now: DateTime<Utc>) -> &'static str {
    if c.valid_until.is_some_and(|u| u <= now) {
        "ended"
    } else if c.max_total.is_some_and(|m| c.used_count >= m) {
        "used_up"
    } else if c.valid_from > now {
        "scheduled"
    } else {
        "active"
    }
}

/// `.de, .com, hosting-basic` -> catalog product ids (TLDs become `domain-<tld>`).
pub fn parse_scope(input: &str) -> Vec<String> {
    input
        .split([',', ' ', '\n'])
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix('.') {
            Some(tld) => format!("domain-{tld}"),
            None => s,
        })
        .collect()
}

/// Whether the coupon applies to this product and action.
pub fn applies_to(c: &coupon::Model, product_id: &str, action: &str) -> bool {
    let in_list = |list: &str, v: &str| list.is_empty() || list.split(',').any(|x| x == v);
    in_list(&c.products, product_id) && in_list(&c.actions, action)
}

/// The discount on `net_minor` in `currency` (never more than the price; an
/// absolute coupon in another currency gives nothing).
pub fn discount(c: &coupon::Model, net_minor: i64, currency: &str) -> i64 {
    match c.kind.as_str() {
        "percent" => (net_minor * c.value + 5_000) / 10_000,
        "absolute" if c.currency.as_deref() == Some(currency) => std::cmp::min(c.value, net_minor),
        _ => 0,
    }
}

/// Redeems a coupon for a customer inside the order's transaction.
///
/// The first statement is the conditional UPDATE that counts the redemption only
/// while the total limit allows it; it also takes the row (Postgres) or write
/// (SQLite) lock, so concurrent orders can never exceed the limit. The other rules
/// are checked after it. On a refusal the caller must roll the transaction back
/// (drop it), which also undoes the count.
pub async fn redeem(
    tx: &TenantTx,
    code: &str,
    customer_id: &str,
    is_first_order: bool,
    reference: &str,
) -> Result<Result<coupon::Model, Refusal>, DbErr> {
    let now = Utc::now();
    let code = code.trim().to_uppercase();
    let counted = coupon::Entity::update_many()
        .col_expr(
            coupon::Column::UsedCount,
            Expr::col(coupon::Column::UsedCount).add(1),
        )
        .filter(coupon::Column::Code.eq(&code))
        .filter(
            Condition::any()
                .add(coupon::Column::MaxTotal.is_null())
                .add(Expr::col(coupon::Column::UsedCount).lt(Expr::col(coupon::Column::MaxTotal))),
        )
        .exec(tx.conn())
        .await?;
    let Some(c) = coupon::Entity::find()
        .filter(coupon::Column::Code.eq(&code))
        .one(tx.conn())
        .await?
    else {
        return Ok(Err(Refusal::Unknown));
    };
    if c.valid_from > now {
        return Ok(Err(Refusal::NotYetValid));
    }
    if c.valid_until.is_some_and(|u| u <= now) {
        return Ok(Err(Refusal::Expired));
    }
    if counted.rows_affected != 1 {
        return Ok(Err(Refusal::UsedUp));
    }
    if c.first_order_only && !is_first_order {
        return Ok(Err(Refusal::FirstOrderOnly));
    }
    if let Some(limit) = c.max_per_customer {
        let used = redemption::Entity::find()
            .filter(redemption::Column::CouponId.eq(&c.id))
            .filter(redemption::Column::CustomerId.eq(customer_id))
            .count(tx.conn())
            .await?;
        if used >= limit as u64 {
            return Ok(Err(Refusal::UsedUpForCustomer));
        }
    }
    redemption::ActiveModel {
        id: Set(uuid::Uuid::now_v7().simple().to_string()),
        coupon_id: Set(c.id.clone()),
        customer_id: Set(customer_id.to_owned()),
        reference: Set(reference.to_owned()),
        created_at: Set(now),
    }
    .insert(tx.conn())
    .await?;
    Ok(Ok(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(kind: &str, value: i64, currency: Option<&str>) -> coupon::Model {
        coupon::Model {
            id: "x".into(),
            code: "X".into(),
            kind: kind.into(),
            value,
            currency: currency.map(str::to_owned),
            valid_from: Utc::now(),
            valid_until: None,
            max_total: None,
            max_per_customer: None,
            products: "domain-de".into(),
            actions: String::new(),
            first_order_only: false,
            used_count: 0,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn discounts_and_scope() {
        assert_eq!(discount(&c("percent", 1000, None), 1999, "EUR"), 200);
        assert_eq!(discount(&c("absolute", 500, Some("EUR")), 399, "EUR"), 399);
        assert_eq!(discount(&c("absolute", 500, Some("EUR")), 999, "CHF"), 0);
        assert!(applies_to(
            &c("percent", 1000, None),
            "domain-de",
            "register"
        ));
        assert!(!applies_to(
            &c("percent", 1000, None),
            "domain-com",
            "register"
        ));
    }
}
