//! The reseller console (`/console` on each reseller host).

mod appearance;
pub mod billing;
mod branding;
mod catalog;
mod classes;
mod coupons;
mod customers;
mod domains;
mod hostnames;
mod jobs;
mod keys;
pub mod logs;
pub mod newsletter;
mod orders;
pub mod payments;
mod prices;
mod settings;
mod staff;
mod totp;

use super::{CurrentTenant, FormData, Page, internal, redirect, tenant_brand, tenant_of};
use crate::app::AppState;
use crate::auth::csrf;
use crate::http::store::account::client_ip;
use crate::ratelimit::{Account, Refused};
use crate::staff::{self as staff_db, Perm, StaffMember};
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::Data;
use poem::{FromRequest, Request, RequestBody, Response, Route, get, handler, post};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub(crate) const SESSION_KEY: &str = "staff";

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct StaffSession {
    pub(crate) tenant_id: String,
    pub(crate) staff_id: String,
}

/// A logged-in staff member of the request's reseller, loaded fresh on every request
/// (a changed role or a removal takes effect at once). A session from another
/// reseller's host is not accepted here, even if its cookie is replayed.
pub struct StaffUser {
    pub member: StaffMember,
    pub tenant: CurrentTenant,
}

impl<'a> FromRequest<'a> for StaffUser {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let to_login = || poem::Error::from_response(redirect("/console/login"));
        let tenant = tenant_of(req)?;
        let state = req.data::<AppState>().ok_or_else(to_login)?;
        let s = req
            .extensions()
            .get::<Session>()
            .and_then(|s| s.get::<StaffSession>(SESSION_KEY))
            .filter(|s| s.tenant_id == tenant.id.as_str())
            .ok_or_else(to_login)?;
        let tx = state.tenancy.begin(&tenant).await.map_err(internal)?;
        let member = staff_db::get(&tx, &s.staff_id).await.map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        member
            .map(|member| StaffUser { member, tenant })
            .ok_or_else(to_login)
    }
}

/// A permission, as a type, for [`Can`].
pub trait Permission {
    const PERM: Perm;
}

macro_rules! permissions {
    ($($name:ident),*) => {
        $(
            pub struct $name;
            impl Permission for $name {
                const PERM: Perm = Perm::$name;
            }
        )*
    };
}

permissions!(
    ManageStaff,
    ManageBranding,
    ManageApiKeys,
    ManagePricing,
    ViewCustomers,
    EditCustomers,
    EditBilling,
    Impersonate,
    ViewAudit,
    ViewOutbox,
    ViewOrders,
    DecideClearing
);

/// A staff member whose role grants `P`; anyone else gets 403.
pub struct Can<P: Permission>(pub StaffUser, std::marker::PhantomData<P>);

impl<P: Permission> std::ops::Deref for Can<P> {
    type Target = StaffUser;
    fn deref(&self) -> &StaffUser {
        &self.0
    }
}

impl<'a, P: Permission> FromRequest<'a> for Can<P> {
    async fn from_request(req: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let user = StaffUser::from_request(req, body).await?;
        if user.member.role.can(P::PERM) {
            Ok(Can(user, std::marker::PhantomData))
        } else {
            Err(poem::Error::from_status(poem::http::StatusCode::FORBIDDEN))
        }
    }
}

pub fn page<'a>(
    state: &'a AppState,
    session: &'a Session,
    req: &Request,
    tenant: &CurrentTenant,
    user: Option<&StaffMember>,
) -> Page<'a> {
    Page {
        state,
        session,
        lang: super::lang_of(req),
        area: "console",
        brand: tenant_brand(tenant),
        user: user.map(|m| m.email.clone()),
        perms: user.map(|m| m.role.nav()).unwrap_or_default(),
    }
}

pub fn routes() -> Route {
    Route::new()
        .at("/", get(dashboard))
        .at("/login", get(login_form).post(login))
        .at("/logout", post(logout))
        .at("/branding", get(branding::show).post(branding::save))
        .nest("/appearance", appearance::routes())
        .nest("/hostnames", hostnames::routes())
        .nest("/api-keys", keys::routes())
        .nest("/customers", customers::routes())
        .nest("/billing", billing::routes())
        .nest("/invoices", billing::invoice_routes())
        .nest("/payments", payments::routes())
        .nest("/newsletter", newsletter::routes())
        .nest("/staff", staff::routes())
        .at("/invite", get(staff::accept_form).post(staff::accept))
        .at("/login/totp", get(totp::verify_form).post(totp::verify))
        .at("/totp/setup", get(totp::setup_form).post(totp::setup))
        .at("/settings", get(settings::show).post(settings::save))
        .at("/catalog", get(catalog::show).post(catalog::save))
        .at("/tax", get(catalog::tax_form).post(catalog::tax_save))
        .at("/price-classes", get(classes::list).post(classes::create))
        .at(
            "/price-classes/:id",
            get(classes::matrix).post(classes::save_matrix),
        )
        .at("/price-classes/:id/default", post(classes::make_default))
        .at("/price-classes/:id/delete", post(classes::delete))
        .at("/coupons", get(coupons::list).post(coupons::create))
        .at("/coupons/:id/end", post(coupons::end))
        .at("/orders", get(orders::orders_list))
        .at("/orders/:id", get(orders::detail))
        .at("/domains", get(domains::list))
        .at("/domains/:id", get(domains::detail))
        .at("/jobs", get(jobs::list))
        .at("/jobs/:id/:action", post(jobs::act))
        .at("/clearing", get(orders::clearing))
        .at("/clearing/:id", get(orders::case_page).post(orders::decide))
        .at("/audit", get(logs::audit))
        .at("/outbox", get(logs::outbox))
}

#[handler]
fn dashboard(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: StaffUser,
) -> poem::Result<Response> {
    let t = &user.tenant;
    let storefront_url = t
        .hostnames
        .first()
        .map(|h| format!("//{h}{}/", port_suffix(req)));
    page(state, session, req, t, Some(&user.member)).render(
        "console/dashboard.html",
        "title.dashboard",
        "dashboard",
        json!({
            "tenant": { "name": t.name, "schema": t.schema, "status": t.status.as_str(), "hostnames": t.hostnames },
            "storefront_url": storefront_url,
        }),
    )
}

/// `:8080` when the request came in on a non-default port, so links stay on it.
fn port_suffix(req: &Request) -> String {
    req.header("host")
        .and_then(|h| h.rsplit_once(':'))
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map(|(_, p)| format!(":{p}"))
        .unwrap_or_default()
}

#[handler]
fn login_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
) -> poem::Result<Response> {
    let tenant = tenant_of(req)?;
    if session
        .get::<StaffSession>(SESSION_KEY)
        .is_some_and(|s| s.tenant_id == tenant.id.as_str())
    {
        return Ok(redirect("/console"));
    }
    page(state, session, req, &tenant, None).render(
        "login.html",
        "title.login",
        "",
        json!({ "action": "/console/login", "error": null }),
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
    let tenant = tenant_of(req)?;
    let failed = |status, key: &str, refused: Option<&Refused>| {
        let p = page(state, session, req, &tenant, None);
        let error = match refused {
            Some(r) => super::throttled::message(p.t(key), r),
            None => p.t(key).to_owned(),
        };
        p.render_status(
            status,
            "login.html",
            "title.login",
            "",
            json!({ "action": "/console/login", "error": error, "values": { "email": form.get("email") } }),
        )
    };
    let account = Account::staff(tenant.id.as_str(), form.get("email"));
    let attempt = match state.throttle.begin(&account, &client_ip(req)).await {
        Ok(attempt) => attempt,
        Err(r) => {
            let page = failed(StatusCode::TOO_MANY_REQUESTS, "err.locked_out", Some(&r));
            return super::throttled::retry_after(&r, page);
        }
    };
    let tx = state.tenancy.begin(&tenant).await.map_err(internal)?;
    let found = staff_db::authenticate(&tx, form.get("email"), form.get("password"))
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    let found = attempt.record(found).await;
    match found {
        Some(member) => {
            session.renew();
            session.remove("csrf");
            let s = StaffSession {
                tenant_id: tenant.id.to_string(),
                staff_id: member.id.clone(),
            };
            // With a second factor (own choice or required by the reseller) the
            // session stays pending until the code is checked.
            let tx = state.tenancy.begin(&tenant).await.map_err(internal)?;
            let required = crate::customers::settings(&tx)
                .await
                .map_err(internal)?
                .require_staff_totp;
            drop(tx);
            if member.totp || required {
                session.set(totp::PENDING_KEY, s);
                return Ok(redirect(if member.totp {
                    "/console/login/totp"
                } else {
                    "/console/totp/setup"
                }));
            }
            session.set(SESSION_KEY, s);
            Ok(redirect("/console"))
        }
        None => failed(StatusCode::UNAUTHORIZED, "login.failed", None),
    }
}

#[handler]
fn logout(session: &Session, form: FormData) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    session.purge();
    Ok(redirect("/console/login"))
}
