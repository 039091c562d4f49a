//! Availability, carts, orders and clearing cases in the REST API (O1-O13), all
//! scoped to the API key's reseller.

use super::customers::{actor_name, raw_id};
use super::tenant::authorize;
use super::{ApiError, ApiKeyAuth};
use crate::app::AppState;
use crate::customers::fields::format_amount;
use crate::domains::registrar::Availability;
use crate::domains::search;
use crate::orders::{self, Checkout, Decision, Line, OrderError, OrderFilter, Outcome};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

#[derive(Tags)]
enum Tag {
    /// Domain availability, carts, orders and the clearing center.
    Orders,
}

pub struct OrdersApi;

fn order_error(e: OrderError) -> ApiError {
    match e {
        OrderError::Invalid(errors) => ApiError::invalid(&errors),
        OrderError::NotFound => ApiError::not_found("Order or customer"),
        OrderError::Decided => {
            ApiError::conflict("case_decided", "This case has been decided already.")
        }
        OrderError::Platform => ApiError::conflict(
            "platform_case",
            "This case waits for the platform operator: the reseller's own credit does not cover the order.",
        ),
        OrderError::OverLimit { available_minor } => ApiError::conflict(
            "credit_limit",
            format!(
                "The credit still does not cover this order (available: {}); approve with override or reject.",
                format_amount(available_minor)
            ),
        ),
        OrderError::Db(e) => ApiError::internal(e),
    }
}

fn raw(prefix: &str, id: &str, what: &str) -> Result<String, ApiError> {
    id.strip_prefix(prefix)
        .filter(|r| r.len() == 32 && r.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned)
        .ok_or_else(|| ApiError::not_found(what))
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AvailabilityOut {
    /// The label searched, lowercase Unicode.
    pub label: String,
    pub results: Vec<AvailabilityRow>,
    /// Free alternatives, checked at the registry.
    pub suggestions: Vec<SuggestionOut>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AvailabilityRow {
    /// Unicode name.
    pub domain: String,
    /// ASCII (punycode) name as registered; empty when the label is invalid here.
    pub ascii: String,
    pub tld: String,
    pub groups: Vec<String>,
    /// `available`, `taken`, `unknown` (registry did not answer in time),
    /// `invalid` (see `invalid_code`), `not_offered`, `preregister` (upcoming TLD:
    /// kept until general availability) or `sunrise` (trademark holders with an SMD).
    pub status: String,
    pub invalid_code: Option<String>,
    /// Registration for one year, as the storefront shows it (net or gross).
    pub price: Option<String>,
    pub currency: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SuggestionOut {
    pub domain: String,
    pub price: Option<String>,
    pub currency: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CartIn {
    /// The customer the cart belongs to (`cus_...`); absent for an anonymous cart.
    pub customer_id: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LineIn {
    /// A domain to register or transfer (Unicode or punycode).
    pub domain: Option<String>,
    /// A product id (`hosting-starter`) when not a domain.
    pub product_id: Option<String>,
    /// `register` or `transfer` for domains; ignored for products.
    #[oai(default = "default_action")]
    pub action: String,
    /// Months: 12, 24, ... for domains; 1 or 12 for products.
    pub period_months: i32,
    /// Required for transfers of TLDs that use one.
    pub auth_code: Option<String>,
    /// Use the reseller's trustee service as admin contact (e.g. `.de` without a
    /// German address).
    #[oai(default)]
    pub trustee: bool,
    /// The SMD file (text) of a sunrise registration.
    pub smd: Option<String>,
    /// The holder: one of the customer's contacts; absent = the customer.
    pub contact_id: Option<String>,
}

fn default_action() -> String {
    "register".into()
}

impl LineIn {
    fn line(self) -> Line {
        Line {
            product_id: self.product_id.unwrap_or_default(),
            domain: self.domain,
            action: self.action,
            period_months: self.period_months,
            auth_code: self.auth_code,
            trustee: self.trustee,
            smd: self.smd,
            contact_id: self.contact_id,
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CartOut {
    pub id: String,
    pub customer_id: Option<String>,
    pub coupon: Option<String>,
    pub items: Vec<CartItemOut>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CartItemOut {
    pub id: String,
    pub domain: Option<String>,
    pub product_id: String,
    pub action: String,
    pub period_months: i32,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OrderIn {
    pub customer_id: String,
    /// Order the contents of this cart ...
    pub cart_id: Option<String>,
    /// ... or these items.
    #[oai(default)]
    pub items: Vec<LineIn>,
    pub coupon: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OrderOut {
    pub id: String,
    /// Assigned on acceptance.
    pub number: Option<String>,
    /// `accepted`, `review`, `awaiting_code` (SMS activation) or `rejected`.
    pub status: String,
    pub customer_id: String,
    pub cart_id: String,
    pub currency: String,
    pub net: String,
    pub vat: String,
    pub gross: String,
    pub discount: String,
    pub coupon: Option<String>,
    /// The clearing case (Vorgangsnummer) when the order waits for a decision.
    pub case_number: Option<String>,
    /// `credit_limit`, `risk` or `manual`.
    pub case_reason: Option<String>,
    pub items: Vec<OrderItemOut>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OrderItemOut {
    pub position: i32,
    pub domain: Option<String>,
    pub product_id: String,
    pub action: String,
    pub period_months: i32,
    pub net: String,
    pub gross: String,
    /// Provisioning job status: `queued`, `running`, `done`, `dead`; none before acceptance.
    pub provisioning: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CaseOut {
    pub id: String,
    pub number: String,
    pub order_id: String,
    /// `credit_limit`, `risk` or `manual`.
    pub reason: String,
    /// `open`, `waiting`, `approved` or `rejected`.
    pub status: String,
    pub note: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
    pub decided_by: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DecisionIn {
    /// Accept beyond the credit limit (needs the `credit:override` scope).
    #[oai(default)]
    pub override_limit: bool,
    pub note: Option<String>,
}

fn case_out(k: orders::clearing_case::Model) -> CaseOut {
    CaseOut {
        id: format!("clr_{}", k.id),
        number: k.number,
        order_id: format!("ord_{}", k.order_id),
        reason: k.reason,
        status: k.status,
        note: k.note,
        created_at: k.created_at,
        decided_at: k.decided_at,
        decided_by: k.decided_by,
    }
}

async fn order_out(
    tx: &relabel_tenants::TenantTx,
    o: orders::order::Model,
) -> Result<OrderOut, ApiError> {
    let items = orders::items(tx, &o.id).await.map_err(ApiError::internal)?;
    let jobs = crate::jobs::with_key_prefix(tx, &format!("order:{}:", o.id))
        .await
        .map_err(ApiError::internal)?;
    let case = orders::case_of(tx, &o.id)
        .await
        .map_err(ApiError::internal)?
        .filter(|_| o.status == "review");
    Ok(OrderOut {
        items: items
            .into_iter()
            .map(|i| OrderItemOut {
                provisioning: jobs
                    .iter()
                    .find(|j| j.idempotency_key == format!("order:{}:{}", o.id, i.position))
                    .map(|j| j.status.clone()),
                position: i.position,
                domain: i.domain,
                product_id: i.product_id,
                action: i.action,
                period_months: i.period_months,
                net: format_amount(i.net_minor),
                gross: format_amount(i.gross_minor),
            })
            .collect(),
        id: format!("ord_{}", o.id),
        number: o.number,
        status: o.status,
        customer_id: format!("cus_{}", o.customer_id),
        cart_id: o.cart_id,
        currency: o.currency,
        net: format_amount(o.net_minor),
        vat: format_amount(o.vat_minor),
        gross: format_amount(o.gross_minor),
        discount: format_amount(o.discount_minor),
        coupon: o.coupon_code,
        case_number: case.as_ref().map(|c| c.number.clone()),
        case_reason: case.map(|c| c.reason),
        created_at: o.created_at,
    })
}

async fn cart_out(
    tx: &relabel_tenants::TenantTx,
    c: orders::entity::cart::Model,
) -> Result<CartOut, ApiError> {
    let items = orders::cart::items(tx, &c.id)
        .await
        .map_err(ApiError::internal)?;
    Ok(CartOut {
        id: c.id,
        customer_id: c.customer_id.map(|id| format!("cus_{id}")),
        coupon: c.coupon_code,
        items: items
            .into_iter()
            .map(|i| CartItemOut {
                id: i.id,
                domain: i.domain,
                product_id: i.product_id,
                action: i.action,
                period_months: i.period_months,
            })
            .collect(),
    })
}

#[OpenApi(tag = "Tag::Orders")]
impl OrdersApi {
    /// Availability of a name across the reseller's TLDs, with prices for the
    /// default price class and checked alternatives.
    #[oai(
        path = "/availability",
        method = "get",
        operation_id = "checkAvailability"
    )]
    async fn availability(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        /// A name (`example`, `example.de`, `müller bau`).
        q: Query<String>,
        /// `top10`, `europe`, `gtld` or `new-gtld`.
        group: Query<Option<String>>,
    ) -> Result<Json<AvailabilityOut>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "orders:read").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let pricer = state
            .prices
            .pricer(&tx, None)
            .await
            .map_err(ApiError::internal)?;
        let tlds = orders::tld_rules(&tx).await.map_err(ApiError::internal)?;
        drop(tx);
        let query = search::parse_query(&q.0, &tlds).map_err(|code| {
            ApiError::invalid(&crate::validation::FieldErrors::single("q", code))
        })?;
        let group = group.0.filter(|g| search::GROUPS.contains(&g.as_str()));
        let rows = search::rows(&pricer, &tlds, &query, group.as_deref());
        let names: Vec<String> = rows
            .iter()
            .filter(|r| r.checkable())
            .map(|r| r.ascii.clone())
            .collect();
        let statuses = state.registries.check(tenant.id.as_str(), &names).await;
        let suggestions = search::suggestions(
            &state.registries,
            tenant.id.as_str(),
            &pricer,
            &tlds,
            &query,
            &rows,
            8,
        )
        .await;
        Ok(Json(AvailabilityOut {
            label: query.label,
            results: rows
                .into_iter()
                .map(|r| AvailabilityRow {
                    status: match (r.invalid, statuses.get(&r.ascii)) {
                        (Some(_), _) => "invalid",
                        _ if r.price_minor.is_none() => "not_offered",
                        _ if r.phase == "upcoming" => "preregister",
                        _ if r.phase == "sunrise" => "sunrise",
                        (None, Some(Availability::Available)) => "available",
                        (None, Some(Availability::Taken)) => "taken",
                        _ => "unknown",
                    }
                    .into(),
                    invalid_code: r.invalid.map(|c| c.trim_start_matches("err.").to_owned()),
                    price: r.price_minor.map(format_amount),
                    domain: r.name,
                    ascii: r.ascii,
                    tld: r.tld,
                    groups: r.groups,
                    currency: r.currency,
                })
                .collect(),
            suggestions: suggestions
                .into_iter()
                .map(|s| SuggestionOut {
                    domain: s.name,
                    price: s.price_minor.map(format_amount),
                    currency: s.currency,
                })
                .collect(),
        }))
    }

    /// A new cart.
    #[oai(path = "/carts", method = "post", operation_id = "createCart")]
    async fn create_cart(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        body: Json<CartIn>,
    ) -> Result<Json<CartOut>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "orders:write").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let customer = match &body.0.customer_id {
            Some(id) => {
                let raw = raw_id(id)?;
                Some(
                    crate::customers::get(&tx, raw)
                        .await
                        .map_err(|_| ApiError::not_found("Customer"))?
                        .id,
                )
            }
            None => None,
        };
        let cart = orders::cart::create(&tx, customer.as_deref())
            .await
            .map_err(ApiError::internal)?;
        let out = cart_out(&tx, cart).await?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(Json(out))
    }

    /// A cart with its items.
    #[oai(path = "/carts/:id", method = "get", operation_id = "getCart")]
    async fn get_cart(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Json<CartOut>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "orders:read").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let cart = orders::cart::find(&tx, &id.0)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("Cart"))?;
        Ok(Json(cart_out(&tx, cart).await?))
    }

    /// Adds a domain or product to a cart, checked against the registry rules and
    /// the price list (a domain already in the cart is replaced).
    #[oai(
        path = "/carts/:id/items",
        method = "post",
        operation_id = "addCartItem"
    )]
    async fn add_item(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
        body: Json<LineIn>,
    ) -> Result<Json<CartOut>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "orders:write").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let cart = orders::cart::find(&tx, &id.0)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("Cart"))?;
        let customer = match &cart.customer_id {
            Some(c) => crate::customers::get(&tx, c).await.ok(),
            None => None,
        };
        let pricer = state
            .prices
            .pricer(&tx, customer.as_ref())
            .await
            .map_err(ApiError::internal)?;
        let tlds = orders::tld_rules(&tx).await.map_err(ApiError::internal)?;
        orders::cart::add(&tx, &cart.id, &pricer, &tlds, &body.0.line())
            .await
            .map_err(order_error)?;
        let out = cart_out(&tx, cart).await?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(Json(out))
    }

    /// Removes an item from a cart.
    #[oai(
        path = "/carts/:id/items/:item",
        method = "delete",
        operation_id = "removeCartItem"
    )]
    async fn remove_item(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
        item: Path<String>,
    ) -> Result<Json<CartOut>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "orders:write").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let cart = orders::cart::find(&tx, &id.0)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("Cart"))?;
        if !orders::cart::remove(&tx, &cart.id, &item.0)
            .await
            .map_err(ApiError::internal)?
        {
            return Err(ApiError::not_found("Cart item"));
        }
        let out = cart_out(&tx, cart).await?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(Json(out))
    }

    /// Places an order for a customer: the credit check reserves the total and
    /// accepts it, or the order waits in the clearing center under a case number.
    #[oai(path = "/orders", method = "post", operation_id = "createOrder")]
    async fn create_order(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        body: Json<OrderIn>,
    ) -> Result<Json<OrderOut>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "orders:write").await?;
        let body = body.0;
        let customer_id = raw_id(&body.customer_id)?.to_owned();
        // Cart contents are read first in their own transaction: the order
        // transaction must begin with a write.
        let rtx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let (cart_id, lines, coupon) = match &body.cart_id {
            Some(id) => {
                let cart = orders::cart::get(&rtx, id, Some(&customer_id))
                    .await
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| {
                        ApiError::invalid(&crate::validation::FieldErrors::single(
                            "cart_id",
                            "err.cart_not_found",
                        ))
                    })?;
                let items = orders::cart::items(&rtx, &cart.id)
                    .await
                    .map_err(ApiError::internal)?;
                (
                    Some(cart.id.clone()),
                    orders::cart::lines(&items),
                    body.coupon.or(cart.coupon_code),
                )
            }
            None => (
                None,
                body.items.into_iter().map(LineIn::line).collect(),
                body.coupon,
            ),
        };
        drop(rtx);
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let actor = actor_name(&key);
        let cart_id = match cart_id {
            Some(id) => id,
            None => {
                orders::cart::create(&tx, Some(&customer_id))
                    .await
                    .map_err(ApiError::internal)?
                    .id
            }
        };
        let placed = orders::place(
            &tx,
            &state.prices,
            Checkout {
                customer_id: &customer_id,
                cart_id: &cart_id,
                lines: &lines,
                coupon: coupon.as_deref(),
                ip: None,
                ip_country: None,
                bureau_score: None,
                actor: &actor,
            },
        )
        .await
        .map_err(|e| match e {
            OrderError::NotFound => ApiError::not_found("Customer"),
            other => order_error(other),
        })?;
        orders::cart::claim(&tx, &cart_id, &customer_id)
            .await
            .map_err(ApiError::internal)?;
        orders::cart::clear(&tx, &cart_id)
            .await
            .map_err(ApiError::internal)?;
        let customer = crate::customers::get(&tx, &customer_id)
            .await
            .map_err(|_| ApiError::not_found("Customer"))?;
        crate::http::store::shop::status_mail(
            &state,
            &tx,
            &tenant,
            &customer,
            &placed.order,
            &placed.outcome,
            None,
        )
        .await
        .map_err(ApiError::internal)?;
        let settings = crate::customers::settings(&tx)
            .await
            .map_err(ApiError::internal)?;
        let out = order_out(&tx, placed.order).await?;
        tx.commit().await.map_err(ApiError::internal)?;
        state.mailer.kick(&state.tenancy, &tenant);
        if let (Some((to, code)), Some(url)) = (&placed.sms, &settings.sms_url) {
            let lang =
                relabel_themes::Lang::parse(&customer.language).unwrap_or(relabel_themes::Lang::En);
            crate::http::store::shop::send_code(&state.outbound, url, to, code, &tenant.name, lang)
                .await;
        }
        Ok(Json(out))
    }

    /// Orders, newest first.
    #[oai(path = "/orders", method = "get", operation_id = "listOrders")]
    async fn list_orders(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        /// `accepted`, `review` or `rejected`.
        status: Query<Option<String>>,
        customer_id: Query<Option<String>>,
        /// Order number or cart id (or part of either).
        q: Query<Option<String>>,
    ) -> Result<Json<Vec<OrderOut>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "orders:read").await?;
        let customer_id = match customer_id.0 {
            Some(c) => Some(raw_id(&c)?.to_owned()),
            None => None,
        };
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let list = orders::list(
            &tx,
            &OrderFilter {
                status: status.0,
                customer_id,
                q: q.0,
            },
            200,
        )
        .await
        .map_err(ApiError::internal)?;
        let mut out = Vec::with_capacity(list.len());
        for o in list {
            out.push(order_out(&tx, o).await?);
        }
        Ok(Json(out))
    }

    /// One order with items and provisioning status.
    #[oai(path = "/orders/:id", method = "get", operation_id = "getOrder")]
    async fn get_order(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Json<OrderOut>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "orders:read").await?;
        let raw = raw("ord_", &id.0, "Order")?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let o = orders::get(&tx, &raw)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("Order"))?;
        Ok(Json(order_out(&tx, o).await?))
    }

    /// Clearing cases: open ones (oldest first) or all recent ones.
    #[oai(
        path = "/clearing-cases",
        method = "get",
        operation_id = "listClearingCases"
    )]
    async fn list_cases(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        /// Only open and waiting cases (default true).
        open: Query<Option<bool>>,
    ) -> Result<Json<Vec<CaseOut>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "orders:read").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let list = orders::cases(&tx, open.0.unwrap_or(true))
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(list.into_iter().map(case_out).collect()))
    }

    /// Approves a case: the credit check runs again; `override_limit` accepts
    /// beyond the limit (scope `credit:override`).
    #[oai(
        path = "/clearing-cases/:id/approve",
        method = "post",
        operation_id = "approveClearingCase"
    )]
    async fn approve(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
        body: Json<DecisionIn>,
    ) -> Result<Json<CaseOut>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "clearing:write").await?;
        if body.0.override_limit && !key.scopes.iter().any(|s| s == "credit:override") {
            return Err(ApiError::forbidden("credit:override"));
        }
        decide_api(
            &state,
            &tenant,
            &key,
            &id.0,
            Decision::Approve {
                override_limit: body.0.override_limit,
            },
            body.0.note,
        )
        .await
    }

    /// Rejects a case; a reservation held for it is released.
    #[oai(
        path = "/clearing-cases/:id/reject",
        method = "post",
        operation_id = "rejectClearingCase"
    )]
    async fn reject(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
        body: Json<DecisionIn>,
    ) -> Result<Json<CaseOut>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "clearing:write").await?;
        decide_api(&state, &tenant, &key, &id.0, Decision::Reject, body.0.note).await
    }
}

async fn decide_api(
    state: &AppState,
    tenant: &crate::http::CurrentTenant,
    key: &crate::api_keys::ApiKey,
    id: &str,
    decision: Decision,
    note: Option<String>,
) -> Result<Json<CaseOut>, ApiError> {
    let raw = raw("clr_", id, "Clearing case")?;
    if note.as_deref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(ApiError::invalid(&crate::validation::FieldErrors::single(
            "note",
            "err.too_long",
        )));
    }
    let tx = state
        .tenancy
        .begin(tenant)
        .await
        .map_err(ApiError::internal)?;
    let (case, order) =
        orders::decide(&tx, &raw, decision, &actor_name(key), None, note.as_deref())
            .await
            .map_err(|e| match e {
                OrderError::NotFound => ApiError::not_found("Clearing case"),
                other => order_error(other),
            })?;
    let customer = crate::customers::get(&tx, &order.customer_id)
        .await
        .map_err(|_| ApiError::not_found("Customer"))?;
    let outcome = match &order.number {
        Some(n) => Outcome::Accepted { number: n.clone() },
        None => Outcome::Clearing {
            case_number: case.number.clone(),
            reason: case.reason.clone(),
        },
    };
    crate::http::store::shop::status_mail(
        state,
        &tx,
        tenant,
        &customer,
        &order,
        &outcome,
        note.as_deref(),
    )
    .await
    .map_err(ApiError::internal)?;
    tx.commit().await.map_err(ApiError::internal)?;
    state.mailer.kick(&state.tenancy, tenant);
    Ok(Json(case_out(case)))
}
