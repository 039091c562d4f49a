//! Carts: what a visitor or customer collects before checkout. The id is short
//! and shown on every cart page, so staff can look a cart up when a customer calls.

use super::entity::{cart, cart_item};
use super::{Line, check_line};
use crate::catalog::tld;
use crate::pricing::Pricer;
use crate::validation::FieldErrors;
use chrono::Utc;
use rand::Rng;
use relabel_tenants::TenantTx;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use std::collections::HashMap;

/// Most lines one cart holds.
pub const MAX_ITEMS: u64 = 50;

const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

fn new_cart_id() -> String {
    let mut rng = rand::rng();
    let mut id = String::from("c");
    for _ in 0..11 {
        id.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    id
}

pub async fn create(tx: &TenantTx, customer_id: Option<&str>) -> Result<cart::Model, DbErr> {
    let now = Utc::now();
    cart::ActiveModel {
        id: Set(new_cart_id()),
        customer_id: Set(customer_id.map(str::to_owned)),
        coupon_code: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(tx.conn())
    .await
}

/// The cart `id` if `customer_id` may use it: an anonymous cart (held by the
/// session that created it) or the customer's own. `customer_id` is the
/// visitor's signed-in customer, `None` for an anonymous visitor: a claimed
/// cart is only its customer's, so a signed-in caller must pass its id.
pub async fn get(
    tx: &TenantTx,
    id: &str,
    customer_id: Option<&str>,
) -> Result<Option<cart::Model>, DbErr> {
    let id = id.trim().to_lowercase();
    Ok(cart::Entity::find_by_id(id)
        .one(tx.conn())
        .await?
        .filter(|c| c.customer_id.is_none() || c.customer_id.as_deref() == customer_id))
}

/// Staff lookup by id, no ownership check.
pub async fn find(tx: &TenantTx, id: &str) -> Result<Option<cart::Model>, DbErr> {
    cart::Entity::find_by_id(id.trim().to_lowercase())
        .one(tx.conn())
        .await
}

/// Binds an anonymous cart to the customer who signed in or up.
pub async fn claim(tx: &TenantTx, id: &str, customer_id: &str) -> Result<(), DbErr> {
    cart::Entity::update_many()
        .col_expr(
            cart::Column::CustomerId,
            sea_orm::sea_query::Expr::val(customer_id.to_owned()),
        )
        .filter(cart::Column::Id.eq(id))
        .filter(cart::Column::CustomerId.is_null())
        .exec(tx.conn())
        .await?;
    Ok(())
}

pub async fn items(tx: &TenantTx, cart_id: &str) -> Result<Vec<cart_item::Model>, DbErr> {
    cart_item::Entity::find()
        .filter(cart_item::Column::CartId.eq(cart_id))
        .order_by_asc(cart_item::Column::CreatedAt)
        .order_by_asc(cart_item::Column::Id)
        .all(tx.conn())
        .await
}

pub fn lines(items: &[cart_item::Model]) -> Vec<Line> {
    items
        .iter()
        .map(|i| Line {
            product_id: i.product_id.clone(),
            domain: i.domain.clone(),
            action: i.action.clone(),
            period_months: i.period_months,
            auth_code: i.auth_code.clone(),
            trustee: i.trustee,
            smd: i.smd.clone(),
            contact_id: i.contact_id.clone(),
        })
        .collect()
}

/// Adds a checked line; a domain already in the cart is replaced (new period or
/// action). Errors name the fields without prefix (`domain`, `period`, ...).
pub async fn add(
    tx: &TenantTx,
    cart_id: &str,
    pricer: &Pricer,
    tlds: &HashMap<String, tld::Model>,
    line: &Line,
) -> Result<cart_item::Model, super::OrderError> {
    let mut errors = FieldErrors::default();
    let Some((line, _, _, _)) = check_line(pricer, tlds, line, "", &mut errors) else {
        return Err(errors.into());
    };
    let mut line = line;
    if let Some(d) = &line.domain {
        // Re-adding a domain (new term, trustee) keeps its chosen holder.
        if line.contact_id.is_none() {
            line.contact_id = cart_item::Entity::find()
                .filter(cart_item::Column::CartId.eq(cart_id))
                .filter(cart_item::Column::Domain.eq(d))
                .one(tx.conn())
                .await?
                .and_then(|i| i.contact_id);
        }
        cart_item::Entity::delete_many()
            .filter(cart_item::Column::CartId.eq(cart_id))
            .filter(cart_item::Column::Domain.eq(d))
            .exec(tx.conn())
            .await?;
    }
    let count = cart_item::Entity::find()
        .filter(cart_item::Column::CartId.eq(cart_id))
        .count(tx.conn())
        .await?;
    if count >= MAX_ITEMS {
        return Err(FieldErrors::single("items", "err.cart_full").into());
    }
    let item = cart_item::ActiveModel {
        id: Set(uuid::Uuid::now_v7().simple().to_string()),
        cart_id: Set(cart_id.to_owned()),
        product_id: Set(line.product_id),
        domain: Set(line.domain),
        action: Set(line.action),
        period_months: Set(line.period_months),
        auth_code: Set(line.auth_code),
        trustee: Set(line.trustee),
        smd: Set(line.smd),
        contact_id: Set(line.contact_id),
        created_at: Set(Utc::now()),
    }
    .insert(tx.conn())
    .await?;
    touch(tx, cart_id).await?;
    Ok(item)
}

/// Changes the period of one item, checked like a new line.
pub async fn set_period(
    tx: &TenantTx,
    cart_id: &str,
    item_id: &str,
    period_months: i32,
    pricer: &Pricer,
    tlds: &HashMap<String, tld::Model>,
) -> Result<bool, super::OrderError> {
    let Some(item) = cart_item::Entity::find_by_id(item_id.to_owned())
        .filter(cart_item::Column::CartId.eq(cart_id))
        .one(tx.conn())
        .await?
    else {
        return Ok(false);
    };
    let mut line = lines(std::slice::from_ref(&item)).remove(0);
    line.period_months = period_months;
    let mut errors = FieldErrors::default();
    if check_line(pricer, tlds, &line, "", &mut errors).is_none() {
        return Err(errors.into());
    }
    cart_item::ActiveModel {
        id: Set(item.id),
        period_months: Set(period_months),
        ..Default::default()
    }
    .update(tx.conn())
    .await?;
    touch(tx, cart_id).await?;
    Ok(true)
}

/// The periods (months) a cart item can be switched to.
pub fn period_choices(item: &cart_item::Model, tlds: &HashMap<String, tld::Model>) -> Vec<i32> {
    match &item.domain {
        Some(d) => d
            .rsplit_once('.')
            .and_then(|(_, t)| tlds.get(t))
            .map(|rules| {
                crate::domains::rules::periods(rules)
                    .into_iter()
                    .map(|y| y * 12)
                    .collect()
            })
            .unwrap_or_else(|| vec![12]),
        None => super::PRODUCT_PERIODS.to_vec(),
    }
}

pub async fn remove(tx: &TenantTx, cart_id: &str, item_id: &str) -> Result<bool, DbErr> {
    let r = cart_item::Entity::delete_many()
        .filter(cart_item::Column::CartId.eq(cart_id))
        .filter(cart_item::Column::Id.eq(item_id))
        .exec(tx.conn())
        .await?;
    touch(tx, cart_id).await?;
    Ok(r.rows_affected == 1)
}

/// Sets (or clears) the holder contact of a domain line; the caller checked that
/// the contact belongs to the cart's customer.
pub async fn set_holder(
    tx: &TenantTx,
    cart_id: &str,
    item_id: &str,
    contact_id: Option<&str>,
) -> Result<(), DbErr> {
    cart_item::Entity::update_many()
        .col_expr(
            cart_item::Column::ContactId,
            sea_orm::sea_query::Expr::val(contact_id.map(str::to_owned)),
        )
        .filter(cart_item::Column::CartId.eq(cart_id))
        .filter(cart_item::Column::Id.eq(item_id))
        .filter(cart_item::Column::Domain.is_not_null())
        .exec(tx.conn())
        .await?;
    touch(tx, cart_id).await
}

pub async fn set_coupon(tx: &TenantTx, cart_id: &str, code: Option<&str>) -> Result<(), DbErr> {
    let code = code
        .map(|c| c.trim().to_uppercase())
        .filter(|c| !c.is_empty());
    cart::ActiveModel {
        id: Set(cart_id.to_owned()),
        coupon_code: Set(code),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(tx.conn())
    .await?;
    Ok(())
}

/// Empties the cart once its order is placed (same transaction).
pub async fn clear(tx: &TenantTx, cart_id: &str) -> Result<(), DbErr> {
    cart_item::Entity::delete_many()
        .filter(cart_item::Column::CartId.eq(cart_id))
        .exec(tx.conn())
        .await?;
    set_coupon(tx, cart_id, None).await
}

async fn touch(tx: &TenantTx, cart_id: &str) -> Result<(), DbErr> {
    cart::Entity::update_many()
        .col_expr(
            cart::Column::UpdatedAt,
            sea_orm::sea_query::Expr::val(Utc::now()),
        )
        .filter(cart::Column::Id.eq(cart_id))
        .exec(tx.conn())
        .await?;
    Ok(())
}
