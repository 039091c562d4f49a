use super::{ApiError, ApiKeyAuth, PlatformHost};
use crate::api_keys::{self, ApiKey, Realm};
use crate::app::AppState;
use crate::http::store::account::client_ip;
use crate::ratelimit::Account;
use crate::resellers::{self, NewReseller, public_id};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};
use relabel_tenants::{Tenant, TenantStatus};

#[derive(Tags)]
enum Tag {
    /// Endpoints for the platform operator, on the platform host.
    Operator,
}

pub struct OperatorApi;

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ResellerOut {
    /// `ten_...`
    pub id: String,
    pub name: String,
    /// `active` or `suspended`.
    pub status: String,
    /// The database schema (Postgres) or file (SQLite) holding its data.
    pub schema: String,
    pub hostnames: Vec<String>,
    pub primary_color: String,
    pub accent_color: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Tenant> for ResellerOut {
    fn from(t: Tenant) -> Self {
        Self {
            id: public_id(&t.id),
            name: t.name,
            status: t.status.as_str().to_owned(),
            schema: t.schema,
            hostnames: t.hostnames,
            primary_color: t.brand.primary_color,
            accent_color: t.brand.accent_color,
            created_at: t.created_at,
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ResellerIn {
    pub name: String,
    /// First hostname, e.g. `shop.example.com` (IDNs in punycode or Unicode).
    pub hostname: Option<String>,
    pub owner_email: String,
    /// At least 10 characters.
    pub owner_password: String,
    /// `#rrggbb`
    pub primary_color: Option<String>,
    /// `#rrggbb`
    pub accent_color: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct HostnameIn {
    pub hostname: String,
}

#[derive(ApiResponse)]
enum Created {
    /// The reseller was created with its schema and owner account.
    #[oai(status = 201)]
    Created(Json<ResellerOut>),
}

async fn authorize(
    state: &AppState,
    req: &Request,
    auth: &ApiKeyAuth,
    scope: &str,
) -> Result<ApiKey, ApiError> {
    if req.extensions().get::<PlatformHost>().is_none() {
        return Err(ApiError::not_found(
            "Endpoint (operator endpoints answer on the platform host)",
        ));
    }
    let account = Account::api_key("platform", &auth.0.token);
    let attempt = state.throttle.begin(&account, &client_ip(req)).await?;
    let key = api_keys::verify(
        state.tenancy.backend().shared(),
        Realm::Operator,
        &auth.0.token,
    )
    .await
    .map_err(ApiError::internal)?;
    let key = attempt
        .record(key)
        .await
        .ok_or_else(ApiError::unauthorized)?;
    if !key.scopes.iter().any(|s| s == scope) {
        return Err(ApiError::forbidden(scope));
    }
    Ok(key)
}

fn actor(key: &ApiKey) -> String {
    format!("{} (api-key:{})", key.created_by, key.prefix)
}

#[OpenApi(prefix_path = "/operator", tag = "Tag::Operator")]
impl OperatorApi {
    /// All resellers with their hostnames.
    #[oai(path = "/resellers", method = "get", operation_id = "listResellers")]
    async fn list(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
    ) -> Result<Json<Vec<ResellerOut>>, ApiError> {
        authorize(&state, req, &auth, "resellers:read").await?;
        let all = state.tenancy.list().await.map_err(ApiError::internal)?;
        Ok(Json(all.into_iter().map(ResellerOut::from).collect()))
    }

    /// Creates a reseller: its schema, its owner account and optionally a first hostname.
    #[oai(path = "/resellers", method = "post", operation_id = "createReseller")]
    async fn create(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        body: Json<ResellerIn>,
    ) -> Result<Created, ApiError> {
        let key = authorize(&state, req, &auth, "resellers:write").await?;
        let b = body.0;
        let input = NewReseller {
            name: b.name,
            hostname: b.hostname,
            owner_email: b.owner_email,
            owner_password: b.owner_password,
            primary_color: b.primary_color,
            accent_color: b.accent_color,
        };
        let t = resellers::create(&state.tenancy, &actor(&key), input).await?;
        Ok(Created::Created(Json(t.into())))
    }

    /// One reseller.
    #[oai(path = "/resellers/:id", method = "get", operation_id = "getReseller")]
    async fn get(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Json<ResellerOut>, ApiError> {
        authorize(&state, req, &auth, "resellers:read").await?;
        let tid = resellers::parse_id(&id.0)?;
        let t = state
            .tenancy
            .get(&tid)
            .await
            .map_err(resellers::ResellerError::from)?;
        Ok(Json(t.into()))
    }

    /// Suspends a reseller: its hostnames answer 503 until it is resumed.
    #[oai(
        path = "/resellers/:id/suspend",
        method = "post",
        operation_id = "suspendReseller"
    )]
    async fn suspend(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Json<ResellerOut>, ApiError> {
        let key = authorize(&state, req, &auth, "resellers:write").await?;
        let tid = resellers::parse_id(&id.0)?;
        Ok(Json(
            resellers::set_status(&state.tenancy, &actor(&key), &tid, TenantStatus::Suspended)
                .await?
                .into(),
        ))
    }

    /// Resumes a suspended reseller.
    #[oai(
        path = "/resellers/:id/resume",
        method = "post",
        operation_id = "resumeReseller"
    )]
    async fn resume(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Json<ResellerOut>, ApiError> {
        let key = authorize(&state, req, &auth, "resellers:write").await?;
        let tid = resellers::parse_id(&id.0)?;
        Ok(Json(
            resellers::set_status(&state.tenancy, &actor(&key), &tid, TenantStatus::Active)
                .await?
                .into(),
        ))
    }

    /// Deletes a reseller. Its hostnames are freed at once; its data is retained.
    #[oai(
        path = "/resellers/:id",
        method = "delete",
        operation_id = "deleteReseller"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Json<ResellerOut>, ApiError> {
        let key = authorize(&state, req, &auth, "resellers:write").await?;
        let tid = resellers::parse_id(&id.0)?;
        Ok(Json(
            resellers::delete(&state.tenancy, &actor(&key), &tid)
                .await?
                .into(),
        ))
    }

    /// Adds a hostname. A hostname belongs to one reseller only.
    #[oai(
        path = "/resellers/:id/hostnames",
        method = "post",
        operation_id = "addHostname"
    )]
    async fn add_host(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
        body: Json<HostnameIn>,
    ) -> Result<Json<ResellerOut>, ApiError> {
        let key = authorize(&state, req, &auth, "resellers:write").await?;
        let tid = resellers::parse_id(&id.0)?;
        Ok(Json(
            resellers::add_host(&state.tenancy, &actor(&key), &tid, &body.0.hostname)
                .await?
                .into(),
        ))
    }

    /// Removes a hostname from a reseller.
    #[oai(
        path = "/resellers/:id/hostnames/:hostname",
        method = "delete",
        operation_id = "removeHostname"
    )]
    async fn remove_host(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
        hostname: Path<String>,
    ) -> Result<Json<ResellerOut>, ApiError> {
        let key = authorize(&state, req, &auth, "resellers:write").await?;
        let tid = resellers::parse_id(&id.0)?;
        Ok(Json(
            resellers::remove_host(&state.tenancy, &actor(&key), &tid, &hostname.0)
                .await?
                .into(),
        ))
    }
}
