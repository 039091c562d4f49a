use crate::validation::FieldErrors;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

/// The body of every error.
#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct ApiErrorBody {
    /// Stable, machine-readable code, e.g. `validation_failed`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// For validation errors: one entry per invalid field.
    pub details: Vec<ErrorDetail>,
}

#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct ErrorDetail {
    /// JSON path of the field, e.g. `hostname`.
    pub field: String,
    pub code: String,
    pub message: String,
}

#[derive(ApiResponse, Debug)]
pub enum ApiError {
    /// The request could not be parsed.
    #[oai(status = 400)]
    BadRequest(Json<ApiErrorBody>),
    /// No valid API key.
    #[oai(status = 401)]
    Unauthorized(Json<ApiErrorBody>),
    /// The key lacks the needed scope.
    #[oai(status = 403)]
    Forbidden(Json<ApiErrorBody>),
    /// No such resource (or not on this host).
    #[oai(status = 404)]
    NotFound(Json<ApiErrorBody>),
    /// This method is not served on this path; `Allow` lists the ones that are.
    #[oai(status = 405)]
    MethodNotAllowed(Json<ApiErrorBody>, #[oai(header = "Allow")] String),
    /// The resource's state does not allow this (e.g. a case decided already).
    #[oai(status = 409)]
    Conflict(Json<ApiErrorBody>),
    /// The request body is larger than the server takes.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ApiErrorBody>),
    /// The body is not JSON: send `Content-Type: application/json`.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ApiErrorBody>),
    /// Validation failed; `details` names each field.
    #[oai(status = 422)]
    Unprocessable(Json<ApiErrorBody>),
    /// Too many wrong API keys from this client (or for this key): wait the
    /// seconds in `Retry-After`.
    #[oai(status = 429)]
    TooManyRequests(Json<ApiErrorBody>, #[oai(header = "Retry-After")] u64),
    /// Unexpected error; the message carries a request id.
    #[oai(status = 500)]
    Internal(Json<ApiErrorBody>),
    /// The reseller at this host is suspended.
    #[oai(status = 503)]
    Unavailable(Json<ApiErrorBody>),
}

fn body(code: &str, message: impl Into<String>) -> Json<ApiErrorBody> {
    Json(ApiErrorBody {
        code: code.to_owned(),
        message: message.into(),
        details: vec![],
    })
}

/// Gives errors that poem or poem-openapi produce before a handler runs (bad JSON,
/// missing credentials, unknown route) the same `{code, message, details}` shape.
pub async fn uniform_errors<E: poem::Endpoint>(
    ep: std::sync::Arc<E>,
    req: poem::Request,
) -> poem::Result<poem::Response> {
    use poem::IntoResponse;
    let path = req.uri().path().to_owned();
    let resp = match ep.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    };
    let status = resp.status();
    let is_json = resp
        .content_type()
        .is_some_and(|c| c.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return Ok(resp);
    }
    let allow = (status == poem::http::StatusCode::METHOD_NOT_ALLOWED)
        .then(|| allowed_methods(&path))
        .flatten();
    let text = resp.into_body().into_string().await.unwrap_or_default();
    let (code, fallback) = match status.as_u16() {
        400 => ("bad_request", "The request could not be parsed."),
        401 => (
            "unauthorized",
            "A valid API key is required: Authorization: Bearer <key>.",
        ),
        403 => ("forbidden", "Not allowed."),
        404 => ("not_found", "Not found."),
        405 => ("method_not_allowed", "This method is not allowed here."),
        413 => ("payload_too_large", "The request body is too large."),
        415 => (
            "unsupported_media_type",
            "Send JSON with Content-Type: application/json.",
        ),
        s if s >= 500 => ("internal", "Something went wrong on our side."),
        _ => ("error", "The request failed."),
    };
    let message = if text.trim().is_empty() || status.as_u16() == 401 {
        fallback.to_owned()
    } else {
        text
    };
    let mut resp = json_error(status, code, &message);
    if let Some(allow) = allow
        && let Ok(v) = poem::http::HeaderValue::from_str(&allow)
    {
        resp.headers_mut().insert(poem::http::header::ALLOW, v);
    }
    Ok(resp)
}

/// The methods the spec serves on the API path `path` (e.g.
/// `/api/v1/customers/cus_1`), for a 405's `Allow`.
fn allowed_methods(path: &str) -> Option<String> {
    use std::sync::OnceLock;
    static PATHS: OnceLock<Vec<(Vec<String>, Vec<String>)>> = OnceLock::new();
    let paths = PATHS.get_or_init(|| {
        let spec: serde_json::Value = serde_json::from_str(&super::spec_json()).unwrap_or_default();
        spec["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(template, ops)| {
                let segments = template.split('/').map(str::to_owned).collect();
                let methods = ops
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(m, _)| m.to_ascii_uppercase())
                    .collect();
                (segments, methods)
            })
            .collect()
    });
    let rest = path.strip_prefix("/api/v1").unwrap_or(path);
    let wanted: Vec<&str> = rest.split('/').collect();
    let mut methods: Vec<String> = paths
        .iter()
        .filter(|(segments, _)| {
            segments.len() == wanted.len()
                && segments
                    .iter()
                    .zip(&wanted)
                    .all(|(s, w)| s.starts_with('{') || s == w)
        })
        .flat_map(|(_, m)| m.iter().cloned())
        .collect();
    methods.sort();
    methods.dedup();
    (!methods.is_empty()).then(|| methods.join(", "))
}

/// An error answer in the API's `{code, message, details}` shape, for answers
/// given before the API's own handlers run (unknown or suspended hosts, …).
pub fn json_error(status: poem::http::StatusCode, code: &str, message: &str) -> poem::Response {
    poem::Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(serde_json::json!({ "code": code, "message": message, "details": [] }).to_string())
}

impl From<crate::ratelimit::Refused> for ApiError {
    fn from(r: crate::ratelimit::Refused) -> Self {
        Self::TooManyRequests(
            body(
                "too_many_failures",
                format!(
                    "Too many failed attempts. Try again in {} seconds.",
                    r.retry_after_secs()
                ),
            ),
            r.retry_after_secs(),
        )
    }
}

impl ApiError {
    pub fn unauthorized() -> Self {
        Self::Unauthorized(body(
            "unauthorized",
            "A valid API key is required: Authorization: Bearer <key>.",
        ))
    }

    pub fn forbidden(scope: &str) -> Self {
        Self::Forbidden(body(
            "forbidden",
            format!("This API key lacks the scope {scope}."),
        ))
    }

    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::Conflict(body(code, message))
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(body("not_found", format!("{what} not found.")))
    }

    pub fn invalid(errors: &FieldErrors) -> Self {
        let details = errors
            .iter()
            .map(|e| ErrorDetail {
                field: e.field.clone(),
                code: e.code.trim_start_matches("err.").to_owned(),
                message: relabel_admin_ui::t("en", &e.code).to_owned(),
            })
            .collect();
        Self::Unprocessable(Json(ApiErrorBody {
            code: "validation_failed".into(),
            message: "One or more fields are invalid.".into(),
            details,
        }))
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        let request_id = uuid::Uuid::now_v7().simple().to_string();
        tracing::error!(%request_id, error = %e, "API internal error");
        Self::Internal(body(
            "internal",
            format!("Something went wrong on our side. Request id: {request_id}"),
        ))
    }
}

impl From<crate::resellers::ResellerError> for ApiError {
    fn from(e: crate::resellers::ResellerError) -> Self {
        use crate::resellers::ResellerError;
        match e {
            ResellerError::Invalid(errors) => Self::invalid(&errors),
            ResellerError::NotFound => Self::not_found("Reseller"),
            ResellerError::Other(e) => Self::internal(e),
        }
    }
}
