//! The reseller's catalog, price classes, overrides, coupons and price quotes in the
//! REST API (P2-P5), all scoped to the API key's reseller.

use super::customers::{actor_name, raw_id};
use super::tenant::authorize;
use super::{ApiError, ApiKeyAuth};
use crate::app::AppState;
use crate::customers;
use crate::customers::fields::format_amount;
use crate::pricing::{self, PriceInput, PricingError, Source};
use crate::tax::Treatment;
use poem::Request;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};
use sea_orm::EntityTrait;

#[derive(Tags)]
enum Tag {
    /// Catalog, price classes, overrides, coupons and price quotes of the reseller.
    Prices,
}

fn pricing_error(e: PricingError, what: &str) -> ApiError {
    match e {
        PricingError::Invalid(errors) => ApiError::invalid(&errors),
        PricingError::NotFound => ApiError::not_found(what),
        PricingError::Db(e) => ApiError::internal(e),
    }
}

/// One price relation.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PriceIn {
    /// `register`, `transfer`, `renew`, `restore`, `owner_change`, `setup`,
    /// `monthly_fee` or `yearly_fee`.
    pub action: String,
    /// Months; 0 for one-off actions.
    pub period_months: i32,
    /// Decimal string with at most two decimals, e.g. `"12.99"`.
    pub amount: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PriceOut {
    pub action: String,
    pub period_months: i32,
    pub amount: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PriceSetIn {
    /// Must be the currency of the customer's price class (overrides only; a class
    /// set is always in the class's currency).
    pub currency: Option<String>,
    /// The complete set: every action and period the product is sold in.
    pub prices: Vec<PriceIn>,
}

/// A saved set, with the prices below the reseller's wholesale cost (allowed).
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PriceSetOut {
    pub product_id: String,
    pub below_cost: Vec<BelowCostOut>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct BelowCostOut {
    pub action: String,
    pub period_months: i32,
    pub price: String,
    pub cost: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OverrideOut {
    pub product_id: String,
    pub currency: String,
    pub prices: Vec<PriceOut>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CatalogItemOut {
    pub product_id: String,
    /// `domain`, `hosting`, `email`, `site_builder`, `ssl` or `service_contract`.
    pub kind: String,
    pub name: String,
    pub tld: Option<String>,
    /// TLD groups, e.g. `["top10", "europe"]`.
    pub groups: Vec<String>,
    /// Allowed registration periods in years (domains).
    pub periods_years: Vec<i32>,
    pub enabled: bool,
    /// The reseller's cost per action and period.
    pub wholesale: Vec<WholesaleOut>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct WholesaleOut {
    pub action: String,
    pub period_months: i32,
    pub currency: String,
    pub amount: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct EnabledIn {
    pub enabled: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CouponIn {
    /// 3-32 letters, digits or hyphens.
    pub code: String,
    /// `percent` or `absolute`.
    pub kind: String,
    /// Percent (`"10"`) or amount (`"5.00"`).
    pub value: String,
    /// Required for absolute coupons.
    pub currency: Option<String>,
    pub valid_from: Option<chrono::DateTime<chrono::Utc>>,
    /// Exclusive end.
    pub valid_until: Option<chrono::DateTime<chrono::Utc>>,
    pub max_total: Option<i32>,
    pub max_per_customer: Option<i32>,
    /// Product ids (`domain-de`, `hosting-basic`); empty = all.
    #[oai(default)]
    pub products: Vec<String>,
    /// Actions; empty = all.
    #[oai(default)]
    pub actions: Vec<String>,
    #[oai(default)]
    pub first_order_only: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CouponOut {
    pub id: String,
    pub code: String,
    pub kind: String,
    /// Percent or amount as a decimal string.
    pub value: String,
    pub currency: Option<String>,
    pub valid_from: chrono::DateTime<chrono::Utc>,
    pub valid_until: Option<chrono::DateTime<chrono::Utc>>,
    pub max_total: Option<i32>,
    pub max_per_customer: Option<i32>,
    pub used: i32,
    pub products: Vec<String>,
    pub actions: Vec<String>,
    pub first_order_only: bool,
    /// `scheduled`, `active`, `used_up` or `ended`.
    pub state: String,
}

fn coupon_out(c: crate::coupons::entity::coupon::Model) -> CouponOut {
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    };
    CouponOut {
        state: crate::coupons::state(&c, chrono::Utc::now()).into(),
        value: format_amount(c.value),
        products: list(&c.products),
        actions: list(&c.actions),
        id: c.id,
        code: c.code,
        kind: c.kind,
        currency: c.currency,
        valid_from: c.valid_from,
        valid_until: c.valid_until,
        max_total: c.max_total,
        max_per_customer: c.max_per_customer,
        used: c.used_count,
        first_order_only: c.first_order_only,
    }
}

fn rows_of(prices: Vec<PriceIn>) -> Vec<PriceInput> {
    prices
        .into_iter()
        .map(|p| (p.action, p.period_months, p.amount))
        .collect()
}

fn below_out(product_id: String, below: Vec<pricing::BelowCost>) -> PriceSetOut {
    PriceSetOut {
        product_id,
        below_cost: below
            .into_iter()
            .map(|b| BelowCostOut {
                action: b.action,
                period_months: b.period_months,
                price: b.price,
                cost: b.cost,
            })
            .collect(),
    }
}

pub struct PricesApi;

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PriceClassOut {
    pub id: String,
    pub name: String,
    pub currency: String,
    pub is_default: bool,
}

/// A sell price with where it comes from.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct QuoteOut {
    pub product_id: String,
    pub action: String,
    pub period_months: i32,
    pub currency: String,
    /// Net price as a decimal string.
    pub net: String,
    /// VAT for this customer (0.00 under reverse charge or export).
    pub vat: String,
    pub gross: String,
    /// `vat`, `reverse_charge` or `export`.
    pub vat_treatment: String,
    /// VAT rate in percent when VAT applies.
    pub vat_rate: Option<String>,
    /// `override` or `class`.
    pub source: String,
    /// The price class, when the price comes from one.
    pub price_class: Option<String>,
    /// The reseller's wholesale cost, when known in this currency.
    pub wholesale: Option<String>,
    pub margin: Option<String>,
}

#[OpenApi(tag = "Tag::Prices")]
impl PricesApi {
    /// The reseller's price classes.
    #[oai(
        path = "/price-classes",
        method = "get",
        operation_id = "listPriceClasses"
    )]
    async fn classes(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
    ) -> Result<Json<Vec<PriceClassOut>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "prices:read").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let classes = pricing::classes(&tx).await.map_err(ApiError::internal)?;
        Ok(Json(
            classes
                .into_iter()
                .map(|c| PriceClassOut {
                    id: c.id,
                    name: c.name,
                    currency: c.currency,
                    is_default: c.is_default,
                })
                .collect(),
        ))
    }

    /// The price of one product, action and period, for a customer (`cus_...`) or
    /// anonymous (default class). 404 when it is not for sale.
    #[oai(path = "/quote", method = "get", operation_id = "quotePrice")]
    #[allow(clippy::too_many_arguments)]
    async fn quote(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        /// e.g. `domain-de`
        product: Query<String>,
        /// e.g. `register`
        action: Query<String>,
        /// Months, e.g. 12.
        period: Query<i32>,
        customer: Query<Option<String>>,
    ) -> Result<Json<QuoteOut>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "prices:read").await?;
        // A misspelt parameter (`perod=24`) would silently quote the default:
        // refused, naming it.
        if let Some(unknown) = unknown_parameter(req, &["product", "action", "period", "customer"])
        {
            return Err(ApiError::invalid(&crate::validation::FieldErrors::single(
                &unknown,
                "err.unknown_parameter",
            )));
        }
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let customer = match customer.0.as_deref() {
            Some(id) => {
                let raw = id
                    .strip_prefix("cus_")
                    .ok_or_else(|| ApiError::not_found("Customer"))?;
                Some(customers::get(&tx, raw).await?)
            }
            None => None,
        };
        let q = pricing::resolve(
            &state.prices,
            &tx,
            customer.as_ref(),
            &product.0,
            &action.0,
            period.0,
        )
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("Price (not for sale)"))?;
        let margin = q.margin_minor().map(format_amount_signed);
        let (source, price_class) = match &q.source {
            Source::Override => ("override".to_owned(), None),
            Source::Class { name, .. } => ("class".to_owned(), Some(name.clone())),
        };
        Ok(Json(QuoteOut {
            product_id: q.product_id,
            action: q.action,
            period_months: q.period_months,
            currency: q.currency,
            net: format_amount(q.net_minor),
            vat: format_amount(q.vat_minor),
            gross: format_amount(q.gross_minor),
            vat_treatment: match q.treatment {
                Treatment::Vat { .. } => "vat",
                Treatment::ReverseCharge => "reverse_charge",
                Treatment::Export => "export",
            }
            .into(),
            vat_rate: match q.treatment {
                Treatment::Vat { rate_bp } => Some(format_amount(i64::from(rate_bp))),
                _ => None,
            },
            source,
            price_class,
            wholesale: q.wholesale_minor.map(format_amount),
            margin,
        }))
    }

    /// The platform's catalog as this reseller sees it: every offered product with
    /// its TLD rules, the reseller's cost, and whether the reseller sells it.
    #[oai(path = "/catalog", method = "get", operation_id = "listCatalog")]
    async fn catalog(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
    ) -> Result<Json<Vec<CatalogItemOut>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "prices:read").await?;
        let db = state.tenancy.backend().shared();
        let overview = crate::catalog::overview(db)
            .await
            .map_err(ApiError::internal)?;
        let tlds = crate::catalog::tlds(db).await.map_err(ApiError::internal)?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let enabled = pricing::enabled(&tx).await.map_err(ApiError::internal)?;
        Ok(Json(
            overview
                .into_iter()
                .filter(|(p, _)| p.active)
                .map(|(p, prices)| {
                    let tld = p
                        .tld
                        .as_deref()
                        .and_then(|n| tlds.iter().find(|t| t.name == n));
                    CatalogItemOut {
                        enabled: enabled.contains(&p.id),
                        groups: tld
                            .map(|t| t.groups.split(',').map(str::to_owned).collect())
                            .unwrap_or_default(),
                        periods_years: tld
                            .map(|t| {
                                t.periods
                                    .split(',')
                                    .filter_map(|y| y.parse().ok())
                                    .collect()
                            })
                            .unwrap_or_default(),
                        wholesale: prices
                            .into_iter()
                            .map(|w| WholesaleOut {
                                action: w.action,
                                period_months: w.period_months,
                                currency: w.currency,
                                amount: format_amount(w.amount_minor),
                            })
                            .collect(),
                        product_id: p.id,
                        kind: p.kind,
                        name: p.name,
                        tld: p.tld,
                    }
                })
                .collect(),
        ))
    }

    /// Enables or disables one catalog product for this reseller.
    #[oai(
        path = "/catalog/:product_id",
        method = "put",
        operation_id = "setCatalogEnabled"
    )]
    async fn set_enabled(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        product_id: Path<String>,
        body: Json<EnabledIn>,
    ) -> Result<Json<EnabledIn>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "prices:write").await?;
        let offered = crate::catalog::product::Entity::find_by_id(product_id.0.clone())
            .one(state.tenancy.backend().shared())
            .await
            .map_err(ApiError::internal)?
            .is_some_and(|p| p.active);
        if !offered {
            return Err(ApiError::not_found("Product"));
        }
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        if body.enabled {
            pricing::enable(&tx, std::slice::from_ref(&product_id.0)).await
        } else {
            pricing::disable(&tx, &product_id.0).await
        }
        .map_err(ApiError::internal)?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(Json(EnabledIn {
            enabled: body.enabled,
        }))
    }

    /// A class's prices for every product it sells.
    #[oai(
        path = "/price-classes/:id/prices",
        method = "get",
        operation_id = "listClassPrices"
    )]
    async fn class_prices(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Json<Vec<OverrideOut>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "prices:read").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let class = pricing::classes(&tx)
            .await
            .map_err(ApiError::internal)?
            .into_iter()
            .find(|c| c.id == id.0)
            .ok_or_else(|| ApiError::not_found("Price class"))?;
        let rows = pricing::class_prices(&tx, &class.id)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(group_sets(rows.into_iter().map(|r| {
            (
                r.product_id,
                class.currency.clone(),
                r.action,
                r.period_months,
                r.amount_minor,
            )
        }))))
    }

    /// Replaces a class's set for one product (complete, in the class's currency).
    #[oai(
        path = "/price-classes/:id/prices/:product_id",
        method = "put",
        operation_id = "setClassPrices"
    )]
    async fn set_class_prices(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
        product_id: Path<String>,
        body: Json<PriceSetIn>,
    ) -> Result<Json<PriceSetOut>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "prices:write").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let below = pricing::set_class_prices(
            &tx,
            &actor_name(&key),
            &id.0,
            &product_id.0,
            &rows_of(body.0.prices),
        )
        .await
        .map_err(|e| pricing_error(e, "Price class or product"))?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(Json(below_out(product_id.0, below)))
    }

    /// A customer's overrides.
    #[oai(
        path = "/customers/:id/prices",
        method = "get",
        operation_id = "listCustomerOverrides"
    )]
    async fn overrides(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Json<Vec<OverrideOut>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "prices:read").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let c = customers::get(&tx, raw_id(&id.0)?).await?;
        let rows = pricing::overrides(&tx, &c.id)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(group_sets(rows.into_iter().map(|r| {
            (
                r.product_id,
                r.currency,
                r.action,
                r.period_months,
                r.amount_minor,
            )
        }))))
    }

    /// Sets a customer's override for one product: a complete set in the currency of
    /// the customer's price class. Mixed currencies and incomplete sets are refused.
    #[oai(
        path = "/customers/:id/prices/:product_id",
        method = "put",
        operation_id = "setCustomerOverride"
    )]
    async fn set_override(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
        product_id: Path<String>,
        body: Json<PriceSetIn>,
    ) -> Result<Json<PriceSetOut>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "prices:write").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let c = customers::get(&tx, raw_id(&id.0)?).await?;
        let currency = body.0.currency.clone().unwrap_or_default();
        let below = pricing::set_override(
            &tx,
            &actor_name(&key),
            &c,
            &product_id.0,
            &currency,
            &rows_of(body.0.prices),
        )
        .await
        .map_err(|e| pricing_error(e, "Product"))?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(Json(below_out(product_id.0, below)))
    }

    /// Removes a customer's override for one product; the class prices apply again.
    #[oai(
        path = "/customers/:id/prices/:product_id",
        method = "delete",
        operation_id = "removeCustomerOverride"
    )]
    async fn remove_override(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
        product_id: Path<String>,
    ) -> Result<Json<Vec<OverrideOut>>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "prices:write").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let c = customers::get(&tx, raw_id(&id.0)?).await?;
        pricing::remove_override(&tx, &actor_name(&key), &c, &product_id.0)
            .await
            .map_err(|e| pricing_error(e, "Override"))?;
        let rows = pricing::overrides(&tx, &c.id)
            .await
            .map_err(ApiError::internal)?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(Json(group_sets(rows.into_iter().map(|r| {
            (
                r.product_id,
                r.currency,
                r.action,
                r.period_months,
                r.amount_minor,
            )
        }))))
    }

    /// The reseller's coupons, newest first.
    #[oai(path = "/coupons", method = "get", operation_id = "listCoupons")]
    async fn coupons(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
    ) -> Result<Json<Vec<CouponOut>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "prices:read").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let list = crate::coupons::list(&tx)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(list.into_iter().map(coupon_out).collect()))
    }

    /// Creates a coupon.
    #[oai(path = "/coupons", method = "post", operation_id = "createCoupon")]
    async fn create_coupon(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        body: Json<CouponIn>,
    ) -> Result<poem_openapi::payload::Json<CouponOut>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "prices:write").await?;
        let b = body.0;
        let input = crate::coupons::CouponInput {
            code: b.code,
            kind: b.kind,
            value: b.value,
            currency: b.currency,
            valid_from: b.valid_from,
            valid_until: b.valid_until,
            max_total: b.max_total,
            max_per_customer: b.max_per_customer,
            products: b.products,
            actions: b.actions,
            first_order_only: b.first_order_only,
        };
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let c = crate::coupons::create(&tx, &actor_name(&key), input)
            .await
            .map_err(|e| match e {
                crate::coupons::CouponError::Invalid(errors) => ApiError::invalid(&errors),
                crate::coupons::CouponError::Db(e) => ApiError::internal(e),
            })?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(Json(coupon_out(c)))
    }
}

fn format_amount_signed(minor: i64) -> String {
    if minor < 0 {
        format!("-{}", format_amount(-minor))
    } else {
        format_amount(minor)
    }
}

/// (product, currency, action, period, amount) rows -> one set per product.
fn group_sets(rows: impl Iterator<Item = (String, String, String, i32, i64)>) -> Vec<OverrideOut> {
    let mut sets: std::collections::BTreeMap<String, OverrideOut> = Default::default();
    for (product, currency, action, period, amount) in rows {
        sets.entry(product.clone())
            .or_insert_with(|| OverrideOut {
                product_id: product,
                currency,
                prices: vec![],
            })
            .prices
            .push(PriceOut {
                action,
                period_months: period,
                amount: format_amount(amount),
            });
    }
    sets.into_values().collect()
}

/// The first query parameter of `req` that is not one of `known`.
fn unknown_parameter(req: &Request, known: &[&str]) -> Option<String> {
    req.uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').map_or(pair, |(k, _)| k))
        .find(|k| !known.contains(k))
        .map(|k| k.chars().take(64).collect())
}
