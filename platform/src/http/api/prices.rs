//! Price quotes and price classes in the REST API (issue 5, item 8 in part).

use super::tenant::authorize;
use super::{ApiError, ApiKeyAuth};
use crate::app::AppState;
use crate::customers;
use crate::customers::fields::format_amount;
use crate::pricing::{self, Source};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

#[derive(Tags)]
enum Tag {
    /// Price classes and price quotes of the reseller.
    Prices,
}

pub struct PricesApi;

#[derive(Object)]
pub struct PriceClassOut {
    pub id: String,
    pub name: String,
    pub currency: String,
    pub is_default: bool,
}

/// A sell price with where it comes from.
#[derive(Object)]
pub struct QuoteOut {
    pub product_id: String,
    pub action: String,
    pub period_months: i32,
    pub currency: String,
    /// Net price as a decimal string.
    pub net: String,
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
        let (tenant, _) = authorize(&state, req, &auth, "tenant:read").await?;
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
        let (tenant, _) = authorize(&state, req, &auth, "tenant:read").await?;
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
        let q = pricing::resolve(&tx, customer.as_ref(), &product.0, &action.0, period.0)
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
            source,
            price_class,
            wholesale: q.wholesale_minor.map(format_amount),
            margin,
        }))
    }
}

fn format_amount_signed(minor: i64) -> String {
    if minor < 0 {
        format!("-{}", format_amount(-minor))
    } else {
        format_amount(minor)
    }
}
