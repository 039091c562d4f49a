//! The operator console (`/operator` on the platform host).

mod billing;
mod catalog;
mod clearing;
mod collection;
mod keys;
mod pools;
mod resellers;
mod tickets;
mod totp;

use super::{FormData, Page, flash, platform_brand, redirect};
use crate::app::AppState;
use crate::auth::csrf;
use crate::http::store::account::client_ip;
use crate::operators::{self, Operator};
use crate::ratelimit::{Account, Refused};
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::Data;
use poem::{FromRequest, Request, RequestBody, Response, Route, get, handler, post};
use serde_json::json;

const SESSION_KEY: &str = "operator";
/// Password checked, second factor not yet.
const PENDING_KEY: &str = "operator_pending";

/// A logged-in operator. Extracting it is the access check: without a session the
/// request is redirected to the login page.
pub struct OperatorUser(pub Operator);

impl<'a> FromRequest<'a> for OperatorUser {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        req.extensions()
            .get::<Session>()
            .and_then(|s| s.get::<Operator>(SESSION_KEY))
            .map(OperatorUser)
            .ok_or_else(|| poem::Error::from_response(redirect("/operator/login")))
    }
}

pub fn page<'a>(
    state: &'a AppState,
    session: &'a Session,
    req: &Request,
    user: Option<&Operator>,
) -> Page<'a> {
    Page {
        state,
        session,
        lang: super::lang_of(req),
        area: "operator",
        brand: platform_brand(),
        user: user.map(|o| o.email.clone()),
        perms: vec![],
    }
}

pub fn routes() -> Route {
    Route::new()
        .at("/", get(home))
        .at("/login", get(login_form).post(login))
        .at("/logout", post(logout))
        .at("/login/totp", get(totp::verify_form).post(totp::verify))
        .at("/totp/setup", get(totp::setup_form).post(totp::setup))
        .nest("/resellers", resellers::routes())
        .nest("/api-keys", keys::routes())
        .at("/tickets", get(tickets::list))
        .at("/billing", get(billing::show).post(billing::run))
        .at("/billing/:id/pdf", get(billing::pdf))
        .nest("/billing/collection", collection::routes())
        .at("/pools", get(pools::show).post(pools::add))
        .at("/pools/:id", post(pools::toggle))
        .at("/clearing", get(clearing::show))
        .at("/clearing/:id", post(clearing::decide))
        .at("/clearing/limits/:tenant", post(clearing::set_limit))
        .at("/catalog", get(catalog::show))
        .at("/catalog.csv", get(catalog::csv))
        .at("/catalog/new", get(catalog::new_form).post(catalog::create))
        .at("/catalog/import", post(catalog::import))
        .at(
            "/catalog/:id",
            get(catalog::edit_form).post(catalog::update),
        )
}

#[handler]
fn home() -> Response {
    redirect("/operator/resellers")
}

#[handler]
fn login_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
) -> poem::Result<Response> {
    if session.get::<Operator>(SESSION_KEY).is_some() {
        return Ok(redirect("/operator/resellers"));
    }
    page(state, session, req, None).render(
        "login.html",
        "title.login",
        "",
        json!({ "action": "/operator/login", "error": null }),
    )
}

#[handler]
async fn login(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let failed = |status, key: &str, refused: Option<&Refused>| {
        let p = page(state, session, req, None);
        let error = match refused {
            Some(r) => super::throttled::message(p.t(key), r),
            None => p.t(key).to_owned(),
        };
        p.render_status(
            status,
            "login.html",
            "title.login",
            "",
            json!({ "action": "/operator/login", "error": error, "values": { "email": form.get("email") } }),
        )
    };
    let account = Account::operator(form.get("email"));
    let attempt = match state.throttle.begin(&account, &client_ip(req)).await {
        Ok(attempt) => attempt,
        Err(r) => {
            let page = failed(StatusCode::TOO_MANY_REQUESTS, "err.locked_out", Some(&r));
            return super::throttled::retry_after(&r, page);
        }
    };
    let found = operators::authenticate(
        state.tenancy.backend().shared(),
        form.get("email"),
        form.get("password"),
    )
    .await
    .map_err(super::internal)?;
    let found = attempt.record(found).await;
    match found {
        Some(op) => {
            // Password accepted: the session is only "pending" until the second factor.
            session.renew();
            session.remove("csrf");
            let has_totp = operators::totp(state.tenancy.backend().shared(), &state.sealer, &op.id)
                .await
                .map_err(super::internal)?
                .is_some();
            session.set(PENDING_KEY, &op);
            Ok(redirect(if has_totp {
                "/operator/login/totp"
            } else {
                "/operator/totp/setup"
            }))
        }
        None => failed(StatusCode::UNAUTHORIZED, "login.failed", None),
    }
}

#[handler]
fn logout(session: &Session, form: FormData) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    session.purge();
    Ok(redirect("/operator/login"))
}

pub(crate) fn flash_ok(session: &Session, page: &Page<'_>, key: &str) {
    flash(session, "success", page.t(key));
}
