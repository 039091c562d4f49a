//! The reseller's hostnames: the ones it is served on, and custom domains it
//! claims and proves by DNS (T2).

use super::{Can, ManageBranding, page};
use crate::app::AppState;
use crate::auth::csrf;
use crate::hostnames::{self, ClaimError, challenge_name, challenge_value};
use crate::http::{FormData, flash, internal, redirect};
use crate::validation::FieldErrors;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path};
use poem::{Request, Response, Route, get, handler, post};
use serde_json::{Value, json};

const BACK: &str = "/console/hostnames";

pub fn routes() -> Route {
    Route::new()
        .at("/", get(show).post(claim))
        .at("/:id/check", post(check))
        .at("/:id/remove", post(remove))
}

async fn render(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &Can<ManageBranding>,
    values: Value,
    errors: &FieldErrors,
) -> poem::Result<Response> {
    let claims = hostnames::claims(&state.tenancy, &user.tenant)
        .await
        .map_err(internal)?;
    let platform = &state.config.platform_host;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let rows: Vec<Value> = claims
        .iter()
        .map(|c| {
            json!({
                "id": c.id, "hostname": c.hostname, "status": c.status,
                "txt_name": challenge_name(&c.hostname), "txt_value": challenge_value(&c.token),
                "checked_at": c.checked_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
                "last_error": c.last_error.as_deref().map(|e| why_unproven(&p, e)),
            })
        })
        .collect();
    let claimed: Vec<&str> = claims.iter().map(|c| c.hostname.as_str()).collect();
    let assigned: Vec<&String> = user
        .tenant
        .hostnames
        .iter()
        .filter(|h| !claimed.contains(&h.as_str()))
        .collect();
    p.render_status(
        if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "console/hostnames.html",
        "title.hostnames",
        "hostnames",
        json!({
            "assigned": assigned, "claims": rows, "platform_host": platform,
            "values": values, "errors": errors.translated(p.lang.code()),
        }),
    )
}

/// A failed check's reason for the reseller: "taken" is translated, a DNS
/// finding is shown as it is (it names the record).
fn why_unproven(p: &crate::http::Page<'_>, error: &str) -> String {
    if error == "taken" {
        p.t("err.hostname_taken").to_owned()
    } else {
        error.to_owned()
    }
}

#[handler]
pub async fn show(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageBranding>,
) -> poem::Result<Response> {
    render(
        state,
        session,
        req,
        &user,
        json!({}),
        &FieldErrors::default(),
    )
    .await
}

#[handler]
pub async fn claim(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageBranding>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let raw = form.get("hostname");
    match hostnames::claim(
        &state.tenancy,
        &user.tenant,
        &state.config.platform_host,
        &user.member.email,
        raw,
    )
    .await
    {
        Ok(_) => Ok(redirect(BACK)),
        Err(ClaimError::Invalid(errors)) => {
            render(
                state,
                session,
                req,
                &user,
                json!({ "hostname": raw }),
                &errors,
            )
            .await
        }
        Err(e) => Err(internal(e)),
    }
}

#[handler]
pub async fn check(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageBranding>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let done = hostnames::check(
        &state.tenancy,
        &user.tenant,
        &state.config.platform_host,
        state.config.dns_resolver.as_deref(),
        &user.member.email,
        &id,
    )
    .await;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    match done {
        Ok(c) if c.status == "verified" => {
            flash(
                session,
                "success",
                format!("{}: {}", c.hostname, p.t("flash.hostname_verified")),
            );
            Ok(redirect(BACK))
        }
        Ok(c) => {
            let why = c
                .last_error
                .as_deref()
                .map(|e| why_unproven(&p, e))
                .unwrap_or_default();
            flash(
                session,
                "error",
                format!("{}: {} {why}", c.hostname, p.t("err.hostname_unproven")),
            );
            Ok(redirect(BACK))
        }
        Err(ClaimError::NotFound) => Ok(StatusCode::NOT_FOUND.into()),
        Err(e) => Err(internal(e)),
    }
}

#[handler]
pub async fn remove(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageBranding>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    match hostnames::remove(&state.tenancy, &user.tenant, &user.member.email, &id).await {
        Ok(()) => {
            let p = page(state, session, req, &user.tenant, Some(&user.member));
            flash(session, "success", p.t("flash.hostname_removed"));
            Ok(redirect(BACK))
        }
        Err(ClaimError::NotFound) => Ok(StatusCode::NOT_FOUND.into()),
        Err(e) => Err(internal(e)),
    }
}
