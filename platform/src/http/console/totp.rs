//! Staff second factor: optional per member, required for everyone when the
//! reseller says so. Enrolment and verification as in the operator console.

use super::{SESSION_KEY, StaffSession, page};
use crate::app::AppState;
use crate::auth::{csrf, totp};
use crate::http::store::account::client_ip;
use crate::http::{FormData, internal, redirect, tenant_of, throttled};
use crate::ratelimit::Account;
use crate::staff;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::Data;
use poem::{Request, Response, handler};
use serde_json::json;

pub const PENDING_KEY: &str = "staff_pending";
const SETUP_SECRET: &str = "staff_totp_setup";

/// The pending (password-checked) or, for voluntary enrolment, the full session.
fn current(session: &Session, req: &Request, allow_full: bool) -> poem::Result<StaffSession> {
    let tenant = tenant_of(req)?;
    let pending = session.get::<StaffSession>(PENDING_KEY);
    let full = allow_full
        .then(|| session.get::<StaffSession>(SESSION_KEY))
        .flatten();
    pending
        .or(full)
        .filter(|s| s.tenant_id == tenant.id.as_str())
        .ok_or_else(|| poem::Error::from_response(redirect("/console/login")))
}

fn finish(session: &Session, s: StaffSession) {
    session.remove(PENDING_KEY);
    session.remove(SETUP_SECRET);
    session.renew();
    session.remove("csrf");
    session.set(SESSION_KEY, s);
}

#[handler]
pub fn verify_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
) -> poem::Result<Response> {
    current(session, req, false)?;
    let tenant = tenant_of(req)?;
    page(state, session, req, &tenant, None).render(
        "totp_verify.html",
        "title.totp_verify",
        "",
        json!({ "action": "/console/login/totp", "error": null }),
    )
}

#[handler]
pub async fn verify(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let s = current(session, req, false)?;
    let tenant = tenant_of(req)?;
    let p = page(state, session, req, &tenant, None);
    let fail = |status, error: String| {
        p.render_status(
            status,
            "totp_verify.html",
            "title.totp_verify",
            "",
            json!({ "action": "/console/login/totp", "error": error }),
        )
    };
    let account = Account::staff_second_factor(tenant.id.as_str(), &s.staff_id);
    let attempt = match state.throttle.begin(&account, &client_ip(req)).await {
        Ok(attempt) => attempt,
        Err(r) => {
            let error = throttled::message(p.t("err.locked_out"), &r);
            return throttled::retry_after(&r, fail(StatusCode::TOO_MANY_REQUESTS, error));
        }
    };
    let tx = state.tenancy.begin(&tenant).await.map_err(internal)?;
    let Some(row) = staff::get_row(&tx, &s.staff_id).await.map_err(internal)? else {
        return Ok(redirect("/console/login"));
    };
    let Some(secret) = staff::totp_secret(&state.sealer, &row) else {
        return Ok(redirect("/console/totp/setup"));
    };
    let code = form.get("code");
    let ok = if let Some(step) = totp::verify(&secret, code, row.totp_last_step) {
        staff::claim_totp_step(&tx, &row.id, step)
            .await
            .map_err(internal)?
    } else if let Some(rest) = totp::use_recovery_code(
        &state.sealer,
        row.recovery_codes.as_deref().unwrap_or(""),
        code,
    ) {
        staff::set_recovery_codes(&tx, &row.id, &rest)
            .await
            .map_err(internal)?;
        true
    } else {
        false
    };
    tx.commit().await.map_err(internal)?;
    if !ok {
        attempt.failed().await;
        return fail(StatusCode::UNAUTHORIZED, p.t("err.totp").to_owned());
    }
    attempt.succeeded().await;
    finish(session, s);
    Ok(redirect("/console"))
}

fn setup_page(
    state: &AppState,
    session: &Session,
    req: &Request,
    email: &str,
    status: StatusCode,
    error: Option<&str>,
) -> poem::Result<Response> {
    let tenant = tenant_of(req)?;
    let secret = match session.get::<String>(SETUP_SECRET) {
        Some(s) => s,
        None => {
            let s = totp::new_secret();
            session.set(SETUP_SECRET, &s);
            s
        }
    };
    let p = page(state, session, req, &tenant, None);
    let errors = match error {
        Some(key) => json!({ "code": p.t(key) }),
        None => json!({}),
    };
    p.render_status(
        status,
        "totp_setup.html",
        "title.totp_setup",
        "",
        json!({
            "secret": secret,
            "otpauth_uri": totp::uri(&secret, &tenant.name, email),
            "action": "/console/totp/setup",
            "errors": errors,
            "recovery_codes": null,
            "continue_url": "/console",
        }),
    )
}

#[handler]
pub async fn setup_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
) -> poem::Result<Response> {
    let s = current(session, req, true)?;
    let tenant = tenant_of(req)?;
    let tx = state.tenancy.begin(&tenant).await.map_err(internal)?;
    let row = staff::get_row(&tx, &s.staff_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| poem::Error::from_response(redirect("/console/login")))?;
    drop(tx);
    if row.totp_enabled_at.is_some() {
        return Ok(redirect("/console"));
    }
    setup_page(state, session, req, &row.email, StatusCode::OK, None)
}

#[handler]
pub async fn setup(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let s = current(session, req, true)?;
    let tenant = tenant_of(req)?;
    let tx = state.tenancy.begin(&tenant).await.map_err(internal)?;
    let row = staff::get_row(&tx, &s.staff_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| poem::Error::from_response(redirect("/console/login")))?;
    if row.totp_enabled_at.is_some() {
        return Ok(redirect("/console"));
    }
    let Some(secret) = session.get::<String>(SETUP_SECRET) else {
        drop(tx);
        return setup_page(state, session, req, &row.email, StatusCode::OK, None);
    };
    let Some(step) = totp::verify(&secret, form.get("code"), None) else {
        drop(tx);
        return setup_page(
            state,
            session,
            req,
            &row.email,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("err.totp"),
        );
    };
    let (codes, hashes) = totp::recovery_codes(&state.sealer);
    staff::enable_totp(&tx, &state.sealer, &row.id, &secret, step, &hashes)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    finish(session, s);
    page(state, session, req, &tenant, None).render(
        "totp_setup.html",
        "title.totp_setup",
        "",
        json!({ "secret": secret, "otpauth_uri": "", "action": "", "recovery_codes": codes, "continue_url": "/console" }),
    )
}
