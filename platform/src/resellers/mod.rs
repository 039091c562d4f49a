//! Resellers as the operator manages them: create (schema + owner account), suspend,
//! resume, delete, hostnames. Used by the operator console, the operator API, the
//! CLI and the demo seed alike, and every change is written to the audit log.

use crate::audit::{self, Change};
use crate::auth::{Email, Password, PasswordError};
use crate::staff;
use crate::validation::{FieldErrors, hostname_code, parse_color, parse_name};
use relabel_tenants::{
    Brand, Hostname, NewTenant, Tenancy, TenancyError, Tenant, TenantId, TenantStatus,
};

#[derive(Debug, thiserror::Error)]
pub enum ResellerError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("no such reseller")]
    NotFound,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<TenancyError> for ResellerError {
    fn from(e: TenancyError) -> Self {
        match e {
            TenancyError::NotFound(_) => Self::NotFound,
            TenancyError::HostnameTaken(_) => {
                Self::Invalid(FieldErrors::single("hostname", "err.hostname_taken"))
            }
            TenancyError::Hostname(h) => {
                Self::Invalid(FieldErrors::single("hostname", &hostname_code(&h)))
            }
            TenancyError::InvalidName => {
                Self::Invalid(FieldErrors::single("name", "err.name_length"))
            }
            other => Self::Other(other.into()),
        }
    }
}

impl From<sea_orm::DbErr> for ResellerError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Other(e.into())
    }
}

#[derive(Clone, Debug, Default)]
pub struct NewReseller {
    pub name: String,
    /// Optional first hostname.
    pub hostname: Option<String>,
    pub owner_email: String,
    pub owner_password: String,
    pub primary_color: Option<String>,
    pub accent_color: Option<String>,
}

pub const DEFAULT_PRIMARY: &str = "#1f4fd8";
pub const DEFAULT_ACCENT: &str = "#f08c00";

pub fn parse_host_field(raw: &str, errors: &mut FieldErrors) -> Option<Hostname> {
    match Hostname::parse(raw) {
        Ok(h) => Some(h),
        Err(e) => {
            errors.add("hostname", &hostname_code(&e));
            None
        }
    }
}

pub fn password_code(e: PasswordError) -> &'static str {
    match e {
        PasswordError::TooShort => "err.password_short",
        PasswordError::TooLong => "err.password_long",
    }
}

/// Creates a reseller with its schema and owner account. Nothing is written when
/// any field is invalid or the hostname is taken.
pub async fn create(
    tenancy: &Tenancy,
    actor: &str,
    input: NewReseller,
) -> Result<Tenant, ResellerError> {
    let mut errors = FieldErrors::default();
    let name = parse_name(&input.name);
    if name.is_none() {
        errors.add("name", "err.name_length");
    }
    let host = match input.hostname.as_deref().map(str::trim) {
        Some(raw) if !raw.is_empty() => parse_host_field(raw, &mut errors),
        _ => None,
    };
    let email = Email::parse(&input.owner_email);
    if email.is_none() {
        errors.add("owner_email", "err.email");
    }
    let password = Password::parse(&input.owner_password)
        .map_err(|e| errors.add("owner_password", password_code(e)))
        .ok();
    let mut color = |field: &str, value: Option<&str>, default: &str| match value
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => default.to_owned(),
        Some(v) => parse_color(v).unwrap_or_else(|| {
            errors.add(field, "err.color");
            default.to_owned()
        }),
    };
    let primary_color = color(
        "primary_color",
        input.primary_color.as_deref(),
        DEFAULT_PRIMARY,
    );
    let accent_color = color(
        "accent_color",
        input.accent_color.as_deref(),
        DEFAULT_ACCENT,
    );
    errors.into_result().map_err(ResellerError::Invalid)?;
    let (Some(name), Some(email), Some(password)) = (name, email, password) else {
        unreachable!("validated above");
    };

    let pending = tenancy
        .create_tenant(NewTenant {
            name,
            brand: Brand {
                primary_color,
                accent_color,
                logo_asset_id: None,
            },
            hostnames: host.into_iter().collect(),
        })
        .await?;
    staff::create_owner(pending.tx(), &email, &password).await?;
    audit::record_tenant(
        pending.tx(),
        Change::new(actor, "tenant.create", pending.tenant.id.as_str()).after(&pending.tenant),
    )
    .await?;
    let tenant = pending.commit().await?;
    audit::record_operator(
        tenancy.backend().shared(),
        Some(tenant.id.as_str()),
        Change::new(actor, "tenant.create", tenant.id.as_str())
            .after(serde_json::json!({ "tenant": &tenant, "owner_email": email })),
    )
    .await?;
    Ok(tenant)
}

pub fn parse_id(raw: &str) -> Result<TenantId, ResellerError> {
    TenantId::parse(raw.strip_prefix("ten_").unwrap_or(raw)).ok_or(ResellerError::NotFound)
}

pub async fn set_status(
    tenancy: &Tenancy,
    actor: &str,
    id: &TenantId,
    status: TenantStatus,
) -> Result<Tenant, ResellerError> {
    let before = tenancy.get(id).await?;
    let after = tenancy.set_status(id, status).await?;
    let action = match status {
        TenantStatus::Active => "tenant.resume",
        TenantStatus::Suspended => "tenant.suspend",
        TenantStatus::Deleted => "tenant.delete",
    };
    audit::record_operator(
        tenancy.backend().shared(),
        Some(id.as_str()),
        Change::new(actor, action, id.as_str())
            .before(before.status)
            .after(after.status),
    )
    .await?;
    Ok(after)
}

pub async fn delete(
    tenancy: &Tenancy,
    actor: &str,
    id: &TenantId,
) -> Result<Tenant, ResellerError> {
    let before = tenancy.delete(id).await?;
    audit::record_operator(
        tenancy.backend().shared(),
        Some(id.as_str()),
        Change::new(actor, "tenant.delete", id.as_str()).before(&before),
    )
    .await?;
    Ok(before)
}

pub async fn add_host(
    tenancy: &Tenancy,
    actor: &str,
    id: &TenantId,
    raw: &str,
) -> Result<Tenant, ResellerError> {
    let mut errors = FieldErrors::default();
    let host = parse_host_field(raw, &mut errors).ok_or(ResellerError::Invalid(errors))?;
    let after = tenancy.add_host(id, &host).await?;
    audit::record_operator(
        tenancy.backend().shared(),
        Some(id.as_str()),
        Change::new(actor, "hostname.add", host.as_str()).after(&after.hostnames),
    )
    .await?;
    Ok(after)
}

pub async fn remove_host(
    tenancy: &Tenancy,
    actor: &str,
    id: &TenantId,
    raw: &str,
) -> Result<Tenant, ResellerError> {
    let host = Hostname::parse(raw).map_err(|_| ResellerError::NotFound)?;
    let before = tenancy.get(id).await?;
    let after = tenancy.remove_host(id, &host).await?;
    audit::record_operator(
        tenancy.backend().shared(),
        Some(id.as_str()),
        Change::new(actor, "hostname.remove", host.as_str())
            .before(&before.hostnames)
            .after(&after.hostnames),
    )
    .await?;
    Ok(after)
}

/// The id as shown in URLs and the API.
pub fn public_id(id: &TenantId) -> String {
    format!("ten_{id}")
}

/// Columns sealed with the deployment key: an export carries them opened, an
/// import seals them again with the target deployment's key.
pub const SEALED: &[&str] = &[
    "billing_settings.stripe_secret",
    "billing_settings.stripe_webhook_secret",
];

impl relabel_tenants::Secrets for crate::secrets::Sealer {
    fn open(&self, sealed: &str) -> Option<String> {
        crate::secrets::Sealer::open(self, sealed)
    }

    fn seal(&self, plain: &str) -> String {
        crate::secrets::Sealer::seal(self, plain)
    }
}

/// Writes one reseller's complete data to `out` (T1, see
/// `relabel_tenants::Tenancy::export`); audited.
pub async fn export(
    state: &crate::AppState,
    actor: &str,
    id: &TenantId,
    out: &mut impl std::io::Write,
) -> Result<relabel_tenants::ArchiveSummary, ResellerError> {
    let summary = state.tenancy.export(id, out, SEALED, &state.sealer).await?;
    audit::record_operator(
        state.tenancy.backend().shared(),
        Some(id.as_str()),
        Change::new(actor, "tenant.export", id.as_str()).after(&summary),
    )
    .await?;
    Ok(summary)
}

/// Loads a reseller exported by [`export`] (here or in another deployment);
/// audited.
pub async fn import(
    state: &crate::AppState,
    actor: &str,
    input: impl std::io::BufRead,
) -> Result<(Tenant, relabel_tenants::ArchiveSummary), ResellerError> {
    let (tenant, summary) = state.tenancy.import(input, &state.sealer).await?;
    audit::record_operator(
        state.tenancy.backend().shared(),
        Some(tenant.id.as_str()),
        Change::new(actor, "tenant.import", tenant.id.as_str()).after(&summary),
    )
    .await?;
    Ok((tenant, summary))
}

/// Purges the resellers deleted more than `tenant_retention_days` ago (T1):
/// their schemas and shared rows go, the audit log records each. Run by the
/// operator's daily schedule and `relabel tenant purge`.
pub async fn purge_expired(
    state: &crate::AppState,
    actor: &str,
) -> Result<Vec<Tenant>, ResellerError> {
    let days = i64::from(state.config.tenant_retention_days);
    let cutoff = chrono::Utc::now() - chrono::Duration::days(days);
    let mut purged = Vec::new();
    for t in state.tenancy.deleted_before(cutoff).await? {
        let gone = state.tenancy.purge(&t.id).await?;
        audit::record_operator(
            state.tenancy.backend().shared(),
            Some(gone.id.as_str()),
            Change::new(actor, "tenant.purge", gone.id.as_str()).before(&gone),
        )
        .await?;
        tracing::info!(tenant = %gone.id, schema = %gone.schema, "deleted reseller purged after its retention period");
        purged.push(gone);
    }
    Ok(purged)
}
