//! The operator console's second factor (required): enrolment at first login, then
//! a TOTP or recovery code after every password login.

use super::{PENDING_KEY, SESSION_KEY, page};
use crate::app::AppState;
use crate::auth::{csrf, totp};
use crate::http::store::account::client_ip;
use crate::http::{FormData, internal, redirect, throttled};
use crate::operators::{self, Operator};
use crate::ratelimit::Account;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::Data;
use poem::{Request, Response, handler};
use serde_json::json;

const SETUP_SECRET: &str = "operator_totp_setup";

fn pending(session: &Session) -> poem::Result<Operator> {
    session
        .get::<Operator>(PENDING_KEY)
        .ok_or_else(|| poem::Error::from_response(redirect("/operator/login")))
}

fn finish(session: &Session, op: &Operator) {
    session.remove(PENDING_KEY);
    session.remove(SETUP_SECRET);
    session.renew();
    session.remove("csrf");
    session.set(SESSION_KEY, op);
}

#[handler]
pub fn verify_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
) -> poem::Result<Response> {
    pending(session)?;
    page(state, session, req, None).render(
        "totp_verify.html",
        "title.totp_verify",
        "",
        json!({ "action": "/operator/login/totp", "error": null }),
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
    let op = pending(session)?;
    let db = state.tenancy.backend().shared();
    let p = page(state, session, req, None);
    let fail = |status, error: String| {
        p.render_status(
            status,
            "totp_verify.html",
            "title.totp_verify",
            "",
            json!({ "action": "/operator/login/totp", "error": error }),
        )
    };
    let account = Account::operator_second_factor(&op.id);
    let attempt = match state.throttle.begin(&account, &client_ip(req)).await {
        Ok(attempt) => attempt,
        Err(r) => {
            let error = throttled::message(p.t("err.locked_out"), &r);
            return throttled::retry_after(&r, fail(StatusCode::TOO_MANY_REQUESTS, error));
        }
    };
    let Some(factor) = operators::totp(db, &state.sealer, &op.id)
        .await
        .map_err(internal)?
    else {
        return Ok(redirect("/operator/totp/setup"));
    };
    let code = form.get("code");
    let ok = if let Some(step) = totp::verify(&factor.secret, code, factor.last_step) {
        operators::claim_totp_step(db, &op.id, step)
            .await
            .map_err(internal)?
    } else if let Some(rest) = totp::use_recovery_code(&state.sealer, &factor.recovery, code) {
        operators::set_totp(db, &state.sealer, &op.id, None, &rest)
            .await
            .map_err(internal)?;
        true
    } else {
        false
    };
    if !ok {
        attempt.failed().await;
        return fail(StatusCode::UNAUTHORIZED, p.t("err.totp").to_owned());
    }
    attempt.succeeded().await;
    finish(session, &op);
    Ok(redirect("/operator/resellers"))
}

fn setup_page(
    state: &AppState,
    session: &Session,
    req: &Request,
    op: &Operator,
    status: StatusCode,
    error: Option<&str>,
) -> poem::Result<Response> {
    let secret = match session.get::<String>(SETUP_SECRET) {
        Some(s) => s,
        None => {
            let s = totp::new_secret();
            session.set(SETUP_SECRET, &s);
            s
        }
    };
    let p = page(state, session, req, None);
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
            "otpauth_uri": totp::uri(&secret, &state.config.platform_host, &op.email),
            "action": "/operator/totp/setup",
            "errors": errors,
            "recovery_codes": null,
            "continue_url": "/operator/resellers",
        }),
    )
}

#[handler]
pub async fn setup_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
) -> poem::Result<Response> {
    let op = pending(session)?;
    if operators::totp(state.tenancy.backend().shared(), &state.sealer, &op.id)
        .await
        .map_err(internal)?
        .is_some()
    {
        return Ok(redirect("/operator/login/totp"));
    }
    setup_page(state, session, req, &op, StatusCode::OK, None)
}

#[handler]
pub async fn setup(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let op = pending(session)?;
    let db = state.tenancy.backend().shared();
    if operators::totp(db, &state.sealer, &op.id)
        .await
        .map_err(internal)?
        .is_some()
    {
        return Ok(redirect("/operator/login/totp"));
    }
    let Some(secret) = session.get::<String>(SETUP_SECRET) else {
        return setup_page(state, session, req, &op, StatusCode::OK, None);
    };
    let Some(step) = totp::verify(&secret, form.get("code"), None) else {
        return setup_page(
            state,
            session,
            req,
            &op,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("err.totp"),
        );
    };
    let (codes, hashes) = totp::recovery_codes(&state.sealer);
    operators::set_totp(db, &state.sealer, &op.id, Some(&secret), &hashes)
        .await
        .map_err(internal)?;
    // The code that confirmed the secret cannot sign in again.
    operators::claim_totp_step(db, &op.id, step)
        .await
        .map_err(internal)?;
    crate::audit::record_operator(
        db,
        None,
        crate::audit::Change::new(&op.email, "operator.totp_enable", &op.email),
    )
    .await
    .map_err(internal)?;
    finish(session, &op);
    let p = page(state, session, req, Some(&op));
    p.render(
        "totp_setup.html",
        "title.totp_setup",
        "",
        json!({ "secret": secret, "otpauth_uri": "", "action": "", "recovery_codes": codes, "continue_url": "/operator/resellers" }),
    )
}
