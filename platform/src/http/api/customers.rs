//! Customers in the REST API, scoped to the API key's reseller.

use super::tenant::authorize;
use super::{ApiError, ApiKeyAuth};
use crate::app::AppState;
use crate::customers::{self, Actor, CustomerError, CustomerInput, ListQuery, customer, fields};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

#[derive(Tags)]
enum Tag {
    /// End customers of the reseller.
    Customers,
}

pub struct CustomersApi;

/// A customer with master data and billing settings.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CustomerOut {
    /// `cus_...`
    pub id: String,
    /// The reseller's customer number, e.g. `K10001`; absent until the first
    /// accepted order for customers who signed up on the storefront (numbers stay
    /// gapless).
    pub number: Option<String>,
    /// `person` or `company`.
    pub kind: String,
    pub first_name: String,
    pub last_name: String,
    pub company: Option<String>,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// E.164.
    pub phone: Option<String>,
    pub email: String,
    pub email_verified: bool,
    pub vat_id: Option<String>,
    /// Buyer reference (EN 16931 BT-10); for public-sector buyers their Leitweg-ID.
    pub buyer_reference: Option<String>,
    pub language: String,
    pub currency: String,
    /// `DEBIT` or `BANKTRANSFER`.
    pub billing_type: String,
    /// `INACTIVE`, `ACTIVE` or `REVOKED`.
    pub debit_status: String,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub account_holder: Option<String>,
    pub mandate_reference: Option<String>,
    pub mandate_signed_on: Option<String>,
    /// Per-customer credit limit as a decimal string; null = the reseller's default.
    pub credit_limit: Option<String>,
    pub billing_interval: String,
    pub payment_method: String,
    pub dunning_type: String,
    pub invoice_delivery: String,
    pub newsletter: Vec<String>,
    pub excluded_from_invoicing: bool,
    pub locked: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<customer::Model> for CustomerOut {
    fn from(m: customer::Model) -> Self {
        Self {
            id: format!("cus_{}", m.id),
            number: customers::number_of(&m).map(str::to_owned),
            kind: m.kind,
            first_name: m.first_name,
            last_name: m.last_name,
            company: m.company,
            street: m.street,
            postal_code: m.postal_code,
            city: m.city,
            country: m.country,
            phone: m.phone,
            email: m.email,
            email_verified: m.email_verified_at.is_some(),
            vat_id: m.vat_id,
            buyer_reference: m.buyer_reference,
            language: m.language,
            currency: m.currency,
            billing_type: m.billing_type,
            debit_status: m.debit_status,
            iban: m.iban,
            bic: m.bic,
            account_holder: m.account_holder,
            mandate_reference: m.mandate_reference,
            mandate_signed_on: m.mandate_signed_on.map(|d| d.to_string()),
            credit_limit: m.credit_limit_minor.map(fields::format_amount),
            billing_interval: m.billing_interval,
            payment_method: m.payment_method,
            dunning_type: m.dunning_type,
            invoice_delivery: m.invoice_delivery,
            newsletter: m
                .newsletter
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            excluded_from_invoicing: m.excluded_from_invoicing,
            locked: m.locked_at.is_some(),
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// Fields to set. On create, names, address, country and email are required; on
/// update, omitted fields keep their value and `""` clears an optional one.
#[derive(Object, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct CustomerIn {
    pub kind: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub vat_id: Option<String>,
    /// Buyer reference (EN 16931 BT-10): for public-sector buyers their
    /// Leitweg-ID, whose check digits are verified; up to 100 characters.
    pub buyer_reference: Option<String>,
    pub language: Option<String>,
    pub newsletter: Option<Vec<String>>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub account_holder: Option<String>,
    /// `YYYY-MM-DD`
    pub mandate_signed_on: Option<String>,
    pub currency: Option<String>,
    pub billing_type: Option<String>,
    pub debit_status: Option<String>,
    /// Decimal string, e.g. `750.00`; `""` = the reseller's default.
    pub credit_limit: Option<String>,
    pub billing_interval: Option<String>,
    pub payment_method: Option<String>,
    pub dunning_type: Option<String>,
    pub invoice_delivery: Option<String>,
    pub excluded_from_invoicing: Option<bool>,
}

impl From<CustomerIn> for CustomerInput {
    fn from(c: CustomerIn) -> Self {
        Self {
            kind: c.kind,
            first_name: c.first_name,
            last_name: c.last_name,
            company: c.company,
            street: c.street,
            postal_code: c.postal_code,
            city: c.city,
            country: c.country,
            phone: c.phone,
            email: c.email,
            vat_id: c.vat_id,
            buyer_reference: c.buyer_reference,
            language: c.language,
            newsletter: c.newsletter,
            iban: c.iban,
            bic: c.bic,
            account_holder: c.account_holder,
            mandate_signed_on: c.mandate_signed_on,
            currency: c.currency,
            billing_type: c.billing_type,
            debit_status: c.debit_status,
            credit_limit: c.credit_limit,
            billing_interval: c.billing_interval,
            payment_method: c.payment_method,
            dunning_type: c.dunning_type,
            invoice_delivery: c.invoice_delivery,
            excluded_from_invoicing: c.excluded_from_invoicing,
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CustomerList {
    pub items: Vec<CustomerOut>,
    /// Pass as `after` for the next page; null on the last page.
    pub next: Option<String>,
}

#[derive(ApiResponse)]
enum Created {
    /// The customer was created with the next customer number.
    #[oai(status = 201)]
    Created(Json<CustomerOut>),
}

impl From<CustomerError> for ApiError {
    fn from(e: CustomerError) -> Self {
        match e {
            CustomerError::Invalid(errors) => Self::invalid(&errors),
            CustomerError::NotFound => Self::not_found("Customer"),
            CustomerError::Db(e) => Self::internal(e),
        }
    }
}

pub(super) fn raw_id(id: &str) -> Result<&str, ApiError> {
    id.strip_prefix("cus_")
        .filter(|r| r.len() == 32 && r.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| ApiError::not_found("Customer"))
}

/// Who acts through `key`: the person who made it, and the key.
pub(super) fn actor_name(key: &crate::api_keys::ApiKey) -> String {
    format!("{} (api-key:{})", key.created_by, key.prefix)
}

#[OpenApi(tag = "Tag::Customers")]
impl CustomersApi {
    /// Customers, newest first, with search and filters (keyset pagination).
    #[oai(path = "/customers", method = "get", operation_id = "listCustomers")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        /// Matches number, email, names and company.
        q: Query<Option<String>>,
        /// `active` or `locked`.
        status: Query<Option<String>>,
        /// `DEBIT` or `BANKTRANSFER`.
        billing_type: Query<Option<String>>,
        /// The `next` value of the previous page.
        after: Query<Option<String>>,
        /// 1 to 200, default 50.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u64>>,
    ) -> Result<Json<CustomerList>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "customers:read").await?;
        let after = match after.0 {
            Some(a) => Some(raw_id(&a)?.to_owned()),
            None => None,
        };
        let query = ListQuery {
            q: q.0,
            status: status.0,
            billing_type: billing_type.0,
            after,
            limit: limit.0,
        };
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let page = customers::list(&tx, &query)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(CustomerList {
            items: page.items.into_iter().map(CustomerOut::from).collect(),
            next: page.next.map(|n| format!("cus_{n}")),
        }))
    }

    /// One customer.
    #[oai(path = "/customers/:id", method = "get", operation_id = "getCustomer")]
    async fn get(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Json<CustomerOut>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "customers:read").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(customers::get(&tx, raw_id(&id.0)?).await?.into()))
    }

    /// Creates a customer (no password: the customer sets one through a reset link).
    #[oai(path = "/customers", method = "post", operation_id = "createCustomer")]
    async fn create(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        body: Json<CustomerIn>,
    ) -> Result<Created, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "customers:write").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let name = actor_name(&key);
        let m = customers::create(
            &tx,
            &Actor {
                name: &name,
                ip: None,
            },
            &body.0.into(),
            None,
        )
        .await?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(Created::Created(Json(m.into())))
    }

    /// Changes a customer; fields left out keep their value.
    #[oai(
        path = "/customers/:id",
        method = "patch",
        operation_id = "updateCustomer"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
        body: Json<CustomerIn>,
    ) -> Result<Json<CustomerOut>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "customers:write").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let name = actor_name(&key);
        let m = customers::update(
            &tx,
            &Actor {
                name: &name,
                ip: None,
            },
            raw_id(&id.0)?,
            &body.0.into(),
        )
        .await?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(Json(m.into()))
    }

    /// Locks a customer: no sign-in, sessions ended.
    #[oai(
        path = "/customers/:id/lock",
        method = "post",
        operation_id = "lockCustomer"
    )]
    async fn lock(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Json<CustomerOut>, ApiError> {
        set_locked(&state, req, &auth, &id.0, true).await
    }

    /// Unlocks a customer.
    #[oai(
        path = "/customers/:id/unlock",
        method = "post",
        operation_id = "unlockCustomer"
    )]
    async fn unlock(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Json<CustomerOut>, ApiError> {
        set_locked(&state, req, &auth, &id.0, false).await
    }
}

async fn set_locked(
    state: &AppState,
    req: &Request,
    auth: &ApiKeyAuth,
    id: &str,
    locked: bool,
) -> Result<Json<CustomerOut>, ApiError> {
    let (tenant, key) = authorize(state, req, auth, "customers:write").await?;
    let tx = state
        .tenancy
        .begin(&tenant)
        .await
        .map_err(ApiError::internal)?;
    let name = actor_name(&key);
    let m = customers::set_locked(
        &tx,
        &Actor {
            name: &name,
            ip: None,
        },
        raw_id(id)?,
        locked,
    )
    .await?;
    tx.commit().await.map_err(ApiError::internal)?;
    Ok(Json(m.into()))
}
