//! REST API `/api/v1` (poem-openapi). Reseller endpoints answer on the reseller's
//! hostnames with a reseller API key; operator endpoints answer on the platform
//! host with an operator API key. Errors are `{code, message, details}`.

mod billing;
mod customers;
mod domains;
pub(crate) mod error;
mod operator;
mod orders;
mod payments;
mod prices;
mod tenant;

pub use error::{ApiError, ApiErrorBody, ErrorDetail, uniform_errors};

use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::OpenApiService;

type Apis = (
    tenant::TenantApi,
    customers::CustomersApi,
    prices::PricesApi,
    orders::OrdersApi,
    domains::DomainsApi,
    billing::BillingApi,
    payments::PaymentsApi,
    operator::OperatorApi,
);

fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            tenant::TenantApi,
            customers::CustomersApi,
            prices::PricesApi,
            orders::OrdersApi,
            domains::DomainsApi,
            billing::BillingApi,
            payments::PaymentsApi,
            operator::OperatorApi,
        ),
        "relabel API",
        "1.0",
    )
    .description(
        "The REST API of relabel. Reseller endpoints are served on the reseller's own \
             hostnames and take a reseller API key (`Authorization: Bearer rlk_...`); operator \
             endpoints are served on the platform host and take an operator key (`rlo_...`).",
    )
    .server("/api/v1")
}

/// The OpenAPI document as served at `/api/v1/openapi.json` (and committed as
/// `docs/openapi.json`; a test fails when the two drift apart).
pub fn spec_json() -> String {
    service().spec()
}

/// Marks requests that arrived on the platform host (operator endpoints only).
#[derive(Clone, Copy)]
pub struct PlatformHost;

pub fn routes(state: crate::app::AppState) -> impl Endpoint + use<> {
    let svc = service();
    let ui = svc.swagger_ui();
    let spec = svc.spec_endpoint();
    Route::new()
        .at("/openapi.json", spec)
        .nest("/docs", ui)
        .nest("/", svc.around(uniform_errors))
        .data(state)
}

/// The presented bearer token.
#[derive(poem_openapi::SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "rlk_... or rlo_...")]
pub struct ApiKeyAuth(poem_openapi::auth::Bearer);

/// An XML document to download (e-invoice, debit file), served as
/// `application/xml` with its file name.
#[derive(poem_openapi::ApiResponse)]
pub(crate) enum XmlFile {
    #[oai(status = 200, content_type = "application/xml")]
    Ok(
        poem_openapi::payload::Binary<Vec<u8>>,
        #[oai(header = "Content-Disposition")] String,
    ),
}

impl XmlFile {
    pub(crate) fn new(xml: String, file_name: &str) -> Self {
        let safe: String = file_name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
            .collect();
        Self::Ok(
            poem_openapi::payload::Binary(xml.into_bytes()),
            format!("attachment; filename=\"{safe}\""),
        )
    }
}
