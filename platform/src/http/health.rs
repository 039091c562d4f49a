use crate::app::AppState;
use poem::http::StatusCode;
use poem::{IntoResponse, Response};

/// `/healthz`: the process answers. `/readyz`: the database (and Redis) answer too.
pub async fn respond(state: &AppState, path: &str) -> Response {
    if path == "/healthz" {
        return "ok".into_response();
    }
    match state.tenancy.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
        }
    }
}
