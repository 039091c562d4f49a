use super::{ApiError, ApiKeyAuth};
use crate::api_keys::{self, ApiKey, Realm};
use crate::app::AppState;
use crate::http::CurrentTenant;
use crate::http::store::account::client_ip;
use crate::ratelimit::Account;
use crate::resellers::public_id;
use poem::Request;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

#[derive(Tags)]
enum Tag {
    /// Endpoints for a reseller, on the reseller's own hostnames.
    Reseller,
}

pub struct TenantApi;

/// The reseller the API key belongs to.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TenantOut {
    /// `ten_...`
    pub id: String,
    pub name: String,
    /// `active` or `suspended`.
    pub status: String,
    pub hostnames: Vec<String>,
    pub primary_color: String,
    pub accent_color: String,
    pub logo_url: Option<String>,
}

/// Checks the key against the request's reseller and the scope it needs.
pub(super) async fn authorize(
    state: &AppState,
    req: &Request,
    auth: &ApiKeyAuth,
    scope: &str,
) -> Result<(CurrentTenant, ApiKey), ApiError> {
    let tenant = req
        .extensions()
        .get::<CurrentTenant>()
        .cloned()
        .ok_or_else(|| {
            ApiError::not_found("Endpoint (reseller endpoints answer on the reseller's hostname)")
        })?;
    let account = Account::api_key(tenant.id.as_str(), &auth.0.token);
    let attempt = state.throttle.begin(&account, &client_ip(req)).await?;
    let tx = state
        .tenancy
        .begin(&tenant)
        .await
        .map_err(ApiError::internal)?;
    let key = api_keys::verify(tx.conn(), Realm::Tenant, &auth.0.token)
        .await
        .map_err(ApiError::internal)?;
    // A key may do what its maker may do today: a scope the maker's role no
    // longer holds (or a maker who left) is gone from the key as well.
    let maker = match &key {
        Some(key) => crate::staff::find_by_email(&tx, &key.created_by)
            .await
            .map_err(ApiError::internal)?,
        None => None,
    };
    tx.commit().await.map_err(ApiError::internal)?;
    let key = attempt
        .record(key)
        .await
        .ok_or_else(ApiError::unauthorized)?;
    let held = key.scopes.iter().any(|s| s == scope)
        && maker.is_some_and(|m| api_keys::role_may_hold(m.role, scope));
    if !held {
        return Err(ApiError::forbidden(scope));
    }
    Ok((tenant, key))
}

#[OpenApi(tag = "Tag::Reseller")]
impl TenantApi {
    /// The reseller this API key belongs to.
    #[oai(path = "/tenant", method = "get", operation_id = "getTenant")]
    async fn tenant(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
    ) -> Result<Json<TenantOut>, ApiError> {
        let (t, _key) = authorize(&state, req, &auth, "tenant:read").await?;
        Ok(Json(TenantOut {
            id: public_id(&t.id),
            name: t.name.clone(),
            status: t.status.as_str().to_owned(),
            hostnames: t.hostnames.clone(),
            primary_color: t.brand.primary_color.clone(),
            accent_color: t.brand.accent_color.clone(),
            logo_url: t
                .brand
                .logo_asset_id
                .as_ref()
                .map(|id| format!("/assets/{id}")),
        }))
    }
}
