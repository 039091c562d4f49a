//! Sell prices of a reseller (P2-P4): enabled products, price classes with complete
//! sets per product, per-customer overrides, and the one price resolver.

pub mod book;
pub mod entity;

pub use book::{PriceBook, PriceBooks, Pricer};

use crate::audit::{self, Change};
use crate::catalog::wholesale_price;
use crate::customers::customer;
use crate::customers::fields::{CURRENCIES, format_amount, is_choice, parse_amount};
use crate::validation::{FieldErrors, parse_name};
use chrono::Utc;
use entity::{class_price, customer_price, enabled_product, price_class};
use relabel_tenants::TenantTx;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};
use std::collections::{BTreeMap, BTreeSet};

/// The largest price anyone may enter: 1,000,000.00.
const MAX_MINOR: i64 = 100_000_000;

#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Where a price came from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    Override,
    Class { id: String, name: String },
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Quote {
    pub product_id: String,
    pub action: String,
    pub period_months: i32,
    pub currency: String,
    pub net_minor: i64,
    /// VAT for the buyer (0 under reverse charge or export).
    pub vat_minor: i64,
    pub gross_minor: i64,
    pub treatment: crate::tax::Treatment,
    pub source: Source,
    /// The reseller's cost at the platform, when the catalog has it in this currency.
    pub wholesale_minor: Option<i64>,
}

impl Quote {
    pub fn margin_minor(&self) -> Option<i64> {
        self.wholesale_minor.map(|w| self.net_minor - w)
    }
}

/// Checked prices: (action, period in months) -> minor units.
type PriceSet = BTreeMap<(String, i32), i64>;

/// One submitted price: (action, period in months, amount as typed).
pub type PriceInput = (String, i32, String);

/// A price below the reseller's wholesale cost: allowed, but shown.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BelowCost {
    pub action: String,
    pub period_months: i32,
    pub price: String,
    pub cost: String,
}

pub async fn enable(tx: &TenantTx, product_ids: &[String]) -> Result<(), DbErr> {
    tx.touch(book::TOPIC);
    for id in product_ids {
        if enabled_product::Entity::find_by_id(id.clone())
            .one(tx.conn())
            .await?
            .is_none()
        {
            enabled_product::ActiveModel {
                product_id: Set(id.clone()),
                enabled_at: Set(Utc::now()),
            }
            .insert(tx.conn())
            .await?;
        }
    }
    Ok(())
}

pub async fn disable(tx: &TenantTx, product_id: &str) -> Result<(), DbErr> {
    tx.touch(book::TOPIC);
    enabled_product::Entity::delete_by_id(product_id.to_owned())
        .exec(tx.conn())
        .await?;
    Ok(())
}

pub async fn enabled(tx: &TenantTx) -> Result<BTreeSet<String>, DbErr> {
    Ok(enabled_product::Entity::find()
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|e| e.product_id)
        .collect())
}

pub async fn classes(tx: &TenantTx) -> Result<Vec<price_class::Model>, DbErr> {
    price_class::Entity::find()
        .order_by_asc(price_class::Column::Name)
        .all(tx.conn())
        .await
}

pub async fn default_class(tx: &TenantTx) -> Result<Option<price_class::Model>, DbErr> {
    price_class::Entity::find()
        .filter(price_class::Column::IsDefault.eq(true))
        .one(tx.conn())
        .await
}

pub async fn create_class(
    tx: &TenantTx,
    actor: &str,
    name: &str,
    currency: &str,
    is_default: bool,
) -> Result<price_class::Model, PricingError> {
    let mut errors = FieldErrors::default();
    let name = parse_name(name);
    if name.is_none() {
        errors.add("name", "err.name_length");
    }
    if !is_choice(CURRENCIES, currency) {
        errors.add("currency", "err.currency_unknown");
    }
    let Some(name) = name.filter(|_| errors.is_empty()) else {
        return Err(PricingError::Invalid(errors));
    };
    if price_class::Entity::find()
        .filter(price_class::Column::Name.eq(&name))
        .one(tx.conn())
        .await?
        .is_some()
    {
        return Err(PricingError::Invalid(FieldErrors::single(
            "name",
            "err.class_exists",
        )));
    }
    tx.touch(book::TOPIC);
    let first = price_class::Entity::find().one(tx.conn()).await?.is_none();
    if is_default {
        price_class::Entity::update_many()
            .col_expr(
                price_class::Column::IsDefault,
                sea_orm::sea_query::Expr::value(false),
            )
            .exec(tx.conn())
            .await?;
    }
    let m = price_class::ActiveModel {
        id: Set(uuid::Uuid::now_v7().simple().to_string()),
        name: Set(name),
        currency: Set(currency.to_owned()),
        is_default: Set(is_default || first),
        created_at: Set(Utc::now()),
    }
    .insert(tx.conn())
    .await?;
    audit::record_tenant(
        tx,
        Change::new(actor, "price_class.create", &m.name)
            .entity("price_class", &m.id)
            .after(&m.name),
    )
    .await?;
    Ok(m)
}

/// The (action, period) pairs a product is sold in, from the wholesale catalog.
async fn catalog_pairs(
    tx: &TenantTx,
    product_id: &str,
) -> Result<BTreeMap<(String, i32), Vec<wholesale_price::Model>>, DbErr> {
    let rows = wholesale_price::Entity::find()
        .filter(wholesale_price::Column::ProductId.eq(product_id))
        .all(tx.conn())
        .await?;
    let mut map: BTreeMap<(String, i32), Vec<wholesale_price::Model>> = BTreeMap::new();
    for r in rows {
        map.entry((r.action.clone(), r.period_months))
            .or_default()
            .push(r);
    }
    Ok(map)
}

/// Checks a submitted set against the pairs it must cover exactly.
fn check_set(
    rows: &[PriceInput],
    required: &BTreeSet<(String, i32)>,
    currency: &str,
    wholesale: &BTreeMap<(String, i32), Vec<wholesale_price::Model>>,
) -> Result<(PriceSet, Vec<BelowCost>), FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut parsed = BTreeMap::new();
    for (action, period, amount) in rows {
        let field = format!("price.{action}.{period}");
        if !required.contains(&(action.clone(), *period)) {
            errors.add(&field, "err.price_unknown_relation");
            continue;
        }
        if parsed.contains_key(&(action.clone(), *period)) {
            errors.add(&field, "err.price_duplicate");
            continue;
        }
        match parse_amount(amount) {
            Some(v) if v <= MAX_MINOR => {
                parsed.insert((action.clone(), *period), v);
            }
            Some(_) => errors.add(&field, "err.price_too_high"),
            None => errors.add(&field, crate::customers::fields::amount_error(amount)),
        }
    }
    for (action, period) in required {
        if !parsed.contains_key(&(action.clone(), *period))
            && errors
                .iter()
                .all(|e| e.field != format!("price.{action}.{period}"))
        {
            errors.add(&format!("price.{action}.{period}"), "err.price_incomplete");
        }
    }
    errors.into_result()?;
    let below = parsed
        .iter()
        .filter_map(|((action, period), amount)| {
            let cost = wholesale
                .get(&(action.clone(), *period))?
                .iter()
                .find(|w| w.currency == currency)?
                .amount_minor;
            (*amount < cost).then(|| BelowCost {
                action: action.clone(),
                period_months: *period,
                price: format_amount(*amount),
                cost: format_amount(cost),
            })
        })
        .collect();
    Ok((parsed, below))
}

/// Replaces a class's prices for one product with a complete set.
pub async fn set_class_prices(
    tx: &TenantTx,
    actor: &str,
    class_id: &str,
    product_id: &str,
    rows: &[PriceInput],
) -> Result<Vec<BelowCost>, PricingError> {
    let class = price_class::Entity::find_by_id(class_id.to_owned())
        .one(tx.conn())
        .await?
        .ok_or(PricingError::NotFound)?;
    let wholesale = catalog_pairs(tx, product_id).await?;
    if wholesale.is_empty() {
        return Err(PricingError::NotFound);
    }
    let required: BTreeSet<(String, i32)> = wholesale.keys().cloned().collect();
    let (parsed, below) =
        check_set(rows, &required, &class.currency, &wholesale).map_err(PricingError::Invalid)?;
    tx.touch(book::TOPIC);
    class_price::Entity::delete_many()
        .filter(class_price::Column::ClassId.eq(class_id))
        .filter(class_price::Column::ProductId.eq(product_id))
        .exec(tx.conn())
        .await?;
    for ((action, period), amount) in &parsed {
        class_price::ActiveModel {
            class_id: Set(class_id.to_owned()),
            product_id: Set(product_id.to_owned()),
            action: Set(action.clone()),
            period_months: Set(*period),
            amount_minor: Set(*amount),
        }
        .insert(tx.conn())
        .await?;
    }
    let after: BTreeMap<String, String> = parsed
        .iter()
        .map(|((a, p), v)| (format!("{a}/{p}"), format_amount(*v)))
        .collect();
    audit::record_tenant(
        tx,
        Change::new(actor, "price_class.prices", &class.name)
            .entity("price_class", &class.id)
            .after(serde_json::json!({ "product": product_id, "prices": after })),
    )
    .await?;
    Ok(below)
}

/// Takes a product out of a class: without a set it is not for sale in the class.
pub async fn clear_class_prices(
    tx: &TenantTx,
    actor: &str,
    class_id: &str,
    product_id: &str,
) -> Result<(), DbErr> {
    let gone = class_price::Entity::delete_many()
        .filter(class_price::Column::ClassId.eq(class_id))
        .filter(class_price::Column::ProductId.eq(product_id))
        .exec(tx.conn())
        .await?;
    if gone.rows_affected > 0 {
        tx.touch(book::TOPIC);
        audit::record_tenant(
            tx,
            Change::new(actor, "price_class.prices_removed", product_id)
                .entity("price_class", class_id),
        )
        .await?;
    }
    Ok(())
}

/// The customer's class, or the default class.
pub async fn class_of(
    tx: &TenantTx,
    customer: Option<&customer::Model>,
) -> Result<Option<price_class::Model>, DbErr> {
    if let Some(id) = customer.and_then(|c| c.price_class_id.clone())
        && let Some(c) = price_class::Entity::find_by_id(id).one(tx.conn()).await?
    {
        return Ok(Some(c));
    }
    default_class(tx).await
}

/// Puts a customer into a price class (`None` = the default class).
pub async fn assign_class(
    tx: &TenantTx,
    actor: &str,
    customer: &customer::Model,
    class_id: Option<&str>,
) -> Result<(), PricingError> {
    if let Some(id) = class_id
        && price_class::Entity::find_by_id(id.to_owned())
            .one(tx.conn())
            .await?
            .is_none()
    {
        return Err(PricingError::Invalid(FieldErrors::single(
            "price_class_id",
            "err.choice",
        )));
    }
    let mut a: customer::ActiveModel = customer.clone().into();
    a.price_class_id = Set(class_id.map(str::to_owned));
    a.update(tx.conn()).await?;
    audit::record_tenant(
        tx,
        Change::new(actor, "customer.price_class", &customer.number)
            .entity("customer", &customer.id)
            .before(&customer.price_class_id)
            .after(class_id),
    )
    .await?;
    Ok(())
}

/// Sets a customer's override for one product: a complete set (every action and
/// period the customer's class has for it), in the class's currency.
pub async fn set_override(
    tx: &TenantTx,
    actor: &str,
    customer: &customer::Model,
    product_id: &str,
    currency: &str,
    rows: &[PriceInput],
) -> Result<Vec<BelowCost>, PricingError> {
    let class = class_of(tx, Some(customer))
        .await?
        .ok_or(PricingError::Invalid(FieldErrors::single(
            "product",
            "err.no_class",
        )))?;
    if !is_choice(CURRENCIES, currency) {
        return Err(PricingError::Invalid(FieldErrors::single(
            "currency",
            "err.currency_unknown",
        )));
    }
    if currency != class.currency {
        return Err(PricingError::Invalid(FieldErrors::single(
            "currency",
            "err.currency_mixed",
        )));
    }
    let class_rows = class_price::Entity::find()
        .filter(class_price::Column::ClassId.eq(&class.id))
        .filter(class_price::Column::ProductId.eq(product_id))
        .all(tx.conn())
        .await?;
    if class_rows.is_empty() {
        return Err(PricingError::Invalid(FieldErrors::single(
            "product",
            "err.not_in_class",
        )));
    }
    let required: BTreeSet<(String, i32)> = class_rows
        .iter()
        .map(|r| (r.action.clone(), r.period_months))
        .collect();
    let wholesale = catalog_pairs(tx, product_id).await?;
    let (parsed, below) =
        check_set(rows, &required, currency, &wholesale).map_err(PricingError::Invalid)?;
    customer_price::Entity::delete_many()
        .filter(customer_price::Column::CustomerId.eq(&customer.id))
        .filter(customer_price::Column::ProductId.eq(product_id))
        .exec(tx.conn())
        .await?;
    for ((action, period), amount) in &parsed {
        customer_price::ActiveModel {
            customer_id: Set(customer.id.clone()),
            product_id: Set(product_id.to_owned()),
            action: Set(action.clone()),
            period_months: Set(*period),
            currency: Set(currency.to_owned()),
            amount_minor: Set(*amount),
        }
        .insert(tx.conn())
        .await?;
    }
    let after: BTreeMap<String, String> = parsed
        .iter()
        .map(|((a, p), v)| (format!("{a}/{p}"), format_amount(*v)))
        .collect();
    audit::record_tenant(
        tx,
        Change::new(actor, "customer.price_override", &customer.number)
            .entity("customer", &customer.id)
            .after(
                serde_json::json!({ "product": product_id, "currency": currency, "prices": after }),
            ),
    )
    .await?;
    Ok(below)
}

/// Removes a customer's override for one product: the class prices apply again.
pub async fn remove_override(
    tx: &TenantTx,
    actor: &str,
    customer: &customer::Model,
    product_id: &str,
) -> Result<(), PricingError> {
    let gone = customer_price::Entity::delete_many()
        .filter(customer_price::Column::CustomerId.eq(&customer.id))
        .filter(customer_price::Column::ProductId.eq(product_id))
        .exec(tx.conn())
        .await?;
    if gone.rows_affected == 0 {
        return Err(PricingError::NotFound);
    }
    audit::record_tenant(
        tx,
        Change::new(actor, "customer.price_override_removed", &customer.number)
            .entity("customer", &customer.id)
            .before(product_id),
    )
    .await?;
    Ok(())
}

/// How many customers each class has (classes without customers are absent).
pub async fn class_usage(tx: &TenantTx) -> Result<BTreeMap<String, i64>, DbErr> {
    use sea_orm::{ExprTrait, QuerySelect, sea_query::Expr};
    let rows: Vec<(String, i64)> = customer::Entity::find()
        .select_only()
        .column(customer::Column::PriceClassId)
        .column_as(Expr::col(customer::Column::Id).count(), "n")
        .filter(customer::Column::PriceClassId.is_not_null())
        .group_by(customer::Column::PriceClassId)
        .into_tuple()
        .all(tx.conn())
        .await?;
    Ok(rows.into_iter().collect())
}

async fn get_class(tx: &TenantTx, class_id: &str) -> Result<price_class::Model, PricingError> {
    price_class::Entity::find_by_id(class_id.to_owned())
        .one(tx.conn())
        .await?
        .ok_or(PricingError::NotFound)
}

/// Makes `class_id` the class of everyone without a class of their own.
pub async fn set_default_class(
    tx: &TenantTx,
    actor: &str,
    class_id: &str,
) -> Result<(), PricingError> {
    let class = get_class(tx, class_id).await?;
    tx.touch(book::TOPIC);
    price_class::Entity::update_many()
        .col_expr(
            price_class::Column::IsDefault,
            sea_orm::sea_query::Expr::value(false),
        )
        .exec(tx.conn())
        .await?;
    let mut a: price_class::ActiveModel = class.clone().into();
    a.is_default = Set(true);
    a.update(tx.conn()).await?;
    audit::record_tenant(
        tx,
        Change::new(actor, "price_class.default", &class.name).entity("price_class", &class.id),
    )
    .await?;
    Ok(())
}

/// Deletes a class and its prices. Refused while customers are in it, and for the
/// default class (make another class the default first).
pub async fn delete_class(tx: &TenantTx, actor: &str, class_id: &str) -> Result<(), PricingError> {
    let class = get_class(tx, class_id).await?;
    if class.is_default {
        return Err(PricingError::Invalid(FieldErrors::single(
            "class",
            "err.class_is_default",
        )));
    }
    let used = customer::Entity::find()
        .filter(customer::Column::PriceClassId.eq(class_id))
        .one(tx.conn())
        .await?
        .is_some();
    if used {
        return Err(PricingError::Invalid(FieldErrors::single(
            "class",
            "err.class_in_use",
        )));
    }
    tx.touch(book::TOPIC);
    class_price::Entity::delete_many()
        .filter(class_price::Column::ClassId.eq(class_id))
        .exec(tx.conn())
        .await?;
    price_class::Entity::delete_by_id(class_id.to_owned())
        .exec(tx.conn())
        .await?;
    audit::record_tenant(
        tx,
        Change::new(actor, "price_class.delete", &class.name)
            .entity("price_class", &class.id)
            .before(&class.name),
    )
    .await?;
    Ok(())
}

/// Copies the class's set for a product into the customer's override (the safe start).
pub async fn copy_class_to_override(
    tx: &TenantTx,
    actor: &str,
    customer: &customer::Model,
    product_id: &str,
) -> Result<(), PricingError> {
    let class = class_of(tx, Some(customer))
        .await?
        .ok_or(PricingError::NotFound)?;
    let rows: Vec<PriceInput> = class_price::Entity::find()
        .filter(class_price::Column::ClassId.eq(&class.id))
        .filter(class_price::Column::ProductId.eq(product_id))
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|r| (r.action, r.period_months, format_amount(r.amount_minor)))
        .collect();
    set_override(tx, actor, customer, product_id, &class.currency, &rows)
        .await
        .map(|_| ())
}

/// The one price resolver: override, else the customer's (or default) class, else
/// not for sale. Only enabled products have prices. Reads through the tenant's cached
/// [`PriceBook`]; callers pricing many items should take a [`Pricer`] once instead.
pub async fn resolve(
    books: &PriceBooks,
    tx: &TenantTx,
    customer: Option<&customer::Model>,
    product_id: &str,
    action: &str,
    period_months: i32,
) -> Result<Option<Quote>, DbErr> {
    Ok(books
        .pricer(tx, customer)
        .await?
        .quote(product_id, action, period_months))
}

/// Seeds a reseller's demo prices: everything enabled and three classes priced at
/// `markups` (percent of wholesale) of the catalog, the first one the default.
pub async fn seed_demo(tx: &TenantTx, markups: [(&str, i64); 3]) -> Result<(), PricingError> {
    if !classes(tx).await?.is_empty() {
        return Ok(());
    }
    let products = crate::catalog::product::Entity::find()
        .all(tx.conn())
        .await?;
    enable(
        tx,
        &products.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
    )
    .await?;
    for (i, (name, percent)) in markups.iter().enumerate() {
        let class = create_class(tx, "demo", name, "EUR", i == 0).await?;
        for p in &products {
            let rows: Vec<PriceInput> = catalog_pairs(tx, &p.id)
                .await?
                .into_iter()
                .filter_map(|((action, period), w)| {
                    let cost = w.iter().find(|w| w.currency == "EUR")?.amount_minor;
                    // Round up to .x9 cents like a shop would.
                    let price = (cost * percent / 100) / 10 * 10 + 9;
                    Some((
                        action,
                        period,
                        format_amount(if cost == 0 { 0 } else { price }),
                    ))
                })
                .collect();
            set_class_prices(tx, "demo", &class.id, &p.id, &rows).await?;
        }
    }
    Ok(())
}

/// One line of the storefront price list.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PriceListRow {
    pub tld: String,
    pub currency: String,
    pub register: Option<i64>,
    pub transfer: Option<i64>,
    pub renew: Option<i64>,
}

/// The price list's actions (one year each).
pub const LIST_ACTIONS: [&str; 3] = ["register", "transfer", "renew"];

/// Yearly domain prices of every enabled TLD for the pricer's buyer, net or gross as
/// the reseller shows them. TLDs without any price are left out.
pub fn price_list(pricer: &Pricer) -> Vec<PriceListRow> {
    let gross = pricer.book().tax.show_gross;
    pricer
        .book()
        .domains()
        .iter()
        .filter_map(|(tld, id)| {
            let mut currency = None;
            let [register, transfer, renew] = LIST_ACTIONS.map(|action| {
                pricer.quote(id, action, 12).map(|q| {
                    currency = Some(q.currency);
                    if gross { q.gross_minor } else { q.net_minor }
                })
            });
            Some(PriceListRow {
                tld: tld.clone(),
                currency: currency?,
                register,
                transfer,
                renew,
            })
        })
        .collect()
}

pub async fn class_prices(tx: &TenantTx, class_id: &str) -> Result<Vec<class_price::Model>, DbErr> {
    class_price::Entity::find()
        .filter(class_price::Column::ClassId.eq(class_id))
        .all(tx.conn())
        .await
}

pub async fn overrides(
    tx: &TenantTx,
    customer_id: &str,
) -> Result<Vec<customer_price::Model>, DbErr> {
    customer_price::Entity::find()
        .filter(customer_price::Column::CustomerId.eq(customer_id))
        .all(tx.conn())
        .await
}
