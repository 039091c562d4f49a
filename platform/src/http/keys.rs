//! The API key page, shared by the operator console and the reseller console.

use super::Page;
use crate::api_keys::{ApiKey, ApiKeyError, Realm};
use crate::validation::FieldErrors;
use poem::Response;
use poem::http::StatusCode;
use serde_json::{Value, json};

pub struct KeysView<'a> {
    pub realm: Realm,
    pub base_path: &'a str,
    pub keys: Vec<ApiKey>,
    pub new_key: Option<String>,
    pub values: Value,
    pub errors: FieldErrors,
    /// The role of the staff member looking (reseller console): only the
    /// scopes it holds are offered.
    pub role: Option<crate::staff::Role>,
}

pub fn render(page: &Page<'_>, view: KeysView<'_>) -> poem::Result<Response> {
    let status = if view.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let keys: Vec<Value> = view
        .keys
        .iter()
        .map(|k| {
            json!({
                "id": k.id,
                "name": k.name,
                "prefix": format!("{}_{}", view.realm.kind(), k.prefix),
                "scopes": k.scopes,
                "created_by": k.created_by,
                "created_at": k.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                "revoked_at": k.revoked_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
            })
        })
        .collect();
    let scopes: Vec<Value> = view
        .realm
        .scopes()
        .iter()
        .filter(|(v, _)| {
            view.role
                .is_none_or(|role| crate::api_keys::role_may_hold(role, v))
        })
        .map(|(v, l)| json!({ "value": v, "label": l }))
        .collect();
    page.render_status(
        status,
        "api_keys.html",
        "title.api_keys",
        "api_keys",
        json!({
            "base_path": view.base_path,
            "keys": keys,
            "available_scopes": scopes,
            "new_key": view.new_key,
            "values": view.values,
            "errors": view.errors.translated(page.lang.code()),
        }),
    )
}

/// Field errors of a failed key creation, or `None` for an unexpected error.
pub fn field_errors(e: &ApiKeyError) -> Option<FieldErrors> {
    match e {
        ApiKeyError::Name => Some(FieldErrors::single("name", "err.key_name")),
        ApiKeyError::NoScopes => Some(FieldErrors::single("scopes", "err.scopes_empty")),
        ApiKeyError::UnknownScope(_) => Some(FieldErrors::single("scopes", "err.scope_unknown")),
        ApiKeyError::AboveRole(_) => Some(FieldErrors::single("scopes", "err.scope_above_role")),
        ApiKeyError::Db(_) => None,
    }
}
