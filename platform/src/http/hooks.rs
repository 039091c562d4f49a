//! Webhooks from payment providers: `POST /hooks/stripe/{tenant}` (Y2).
//!
//! The body is checked against the reseller's signing secret before anything is
//! read from it; a bad or stale signature is a 400 and books nothing. A verified
//! event is applied in one transaction with its id recorded, so a repeated (or
//! concurrent) delivery is acknowledged and changes nothing.

use crate::app::AppState;
use crate::billing::{self, BillingError};
use crate::payments::stripe;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Body, IntoResponse, Request, Response, Route, handler, post};

pub fn routes() -> Route {
    Route::new().at("/stripe/:tenant", post(stripe_hook))
}

fn answer(status: StatusCode, message: &str) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(serde_json::json!({ "message": message }).to_string())
}

/// The largest webhook body accepted.
const MAX_BODY: usize = 512 * 1024;

#[handler]
async fn stripe_hook(
    Data(state): Data<&AppState>,
    req: &Request,
    Path(tenant): Path<String>,
    body: Body,
) -> Response {
    // The bare id or the API's `ten_...` form.
    let Ok(tid) = crate::resellers::parse_id(&tenant) else {
        return answer(StatusCode::NOT_FOUND, "unknown account");
    };
    // The operator's books take resellers' payments to the platform (T5).
    let found = if tid.as_str() == relabel_tenants::PLATFORM_BOOKS_ID {
        state.tenancy.platform_books().await
    } else {
        state.tenancy.get(&tid).await
    };
    let Ok(t) = found else {
        return answer(StatusCode::NOT_FOUND, "unknown account");
    };
    let Ok(bytes) = body.into_bytes_limit(MAX_BODY).await else {
        return answer(StatusCode::PAYLOAD_TOO_LARGE, "body too large");
    };
    let header = req.header("stripe-signature").unwrap_or_default();
    match handle(state, &t, header, &bytes).await {
        Ok(stripe::Applied::Booked(_)) => answer(StatusCode::OK, "booked"),
        Ok(stripe::Applied::Duplicate) => answer(StatusCode::OK, "already processed"),
        Ok(stripe::Applied::Ignored) => answer(StatusCode::OK, "ignored"),
        Err(HookError::Signature(e)) => answer(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(HookError::NotConfigured) => answer(
            StatusCode::BAD_REQUEST,
            "Stripe is not set up for this account",
        ),
        Err(HookError::Bad(why)) => answer(StatusCode::BAD_REQUEST, &why),
        Err(HookError::Internal(e)) => {
            tracing::error!(error = %e, tenant = %t.id, "stripe webhook failed");
            // Stripe retries.
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

enum HookError {
    Signature(stripe::SignatureError),
    NotConfigured,
    Bad(String),
    Internal(String),
}

async fn handle(
    state: &AppState,
    t: &relabel_tenants::Tenant,
    header: &str,
    body: &[u8],
) -> Result<stripe::Applied, HookError> {
    let internal = |e: &dyn std::fmt::Display| HookError::Internal(e.to_string());
    let settings = {
        let tx = state.tenancy.begin(t).await.map_err(|e| internal(&e))?;
        billing::settings(&tx).await.map_err(|e| internal(&e))?
    };
    let keys = stripe::keys(state, &settings).ok_or(HookError::NotConfigured)?;
    stripe::verify(
        header,
        body,
        &keys.webhook_secret,
        chrono::Utc::now().timestamp(),
    )
    .map_err(HookError::Signature)?;
    let event: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| HookError::Bad("body is not JSON".into()))?;
    // The booking transaction begins with a write (the event's id), so SQLite
    // takes its lock first and concurrent deliveries wait their turn.
    let tx = state.tenancy.begin(t).await.map_err(|e| internal(&e))?;
    match stripe::apply(&tx, t.id.as_str(), &event).await {
        Ok(applied) => {
            tx.commit().await.map_err(|e| internal(&e))?;
            Ok(applied)
        }
        // A concurrent delivery of the same event committed first.
        Err(BillingError::Db(e))
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            Ok(stripe::Applied::Duplicate)
        }
        Err(BillingError::Db(e)) => Err(internal(&e)),
        // A sentence Stripe's dashboard shows the reseller, never a message key.
        Err(BillingError::Invalid(f)) => Err(HookError::Bad(
            f.iter()
                .map(|e| format!("{}: {}", e.field, relabel_admin_ui::t("en", &e.code)))
                .collect::<Vec<_>>()
                .join("; "),
        )),
        Err(e) => Err(HookError::Bad(e.to_string())),
    }
}
