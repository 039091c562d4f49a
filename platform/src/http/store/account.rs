//! The customer center on the storefront: signup with email verification, login,
//! password reset, master data, security (password, email, sessions).

use super::page::StoreCtx;
use crate::app::AppState;
use crate::auth::{Password, csrf, verify_password};
use crate::customers::{self, Actor, CustomerError, CustomerInput, customer, sessions};
use crate::http::{
    CurrentTenant, FormData, flash, internal, redirect, same_site_path, tenant_of, throttled,
};
use crate::mail::Mail;
use crate::ratelimit::{self, Account, Rule};
use crate::resellers::password_code;
use crate::tokens::{self, Purpose};
use crate::validation::FieldErrors;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Query};
use poem::{FromRequest, Request, RequestBody, Response, Route, get, handler, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const SESSION_KEY: &str = "customer";

#[derive(Clone, Serialize, Deserialize)]
struct CustomerSession {
    tenant_id: String,
    customer_id: String,
    session_id: String,
}

/// A signed-in customer of the request's reseller. The session must belong to this
/// reseller and still be open (not ended by sign-out-everywhere), and the customer
/// must not be locked.
pub struct CustomerUser {
    pub tenant: CurrentTenant,
    pub customer: customer::Model,
    pub session_id: String,
}

impl<'a> FromRequest<'a> for CustomerUser {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let to_login = || poem::Error::from_response(redirect("/account/login"));
        let tenant = tenant_of(req)?;
        let state = req.data::<AppState>().ok_or_else(to_login)?;
        let s = req
            .extensions()
            .get::<Session>()
            .and_then(|s| s.get::<CustomerSession>(SESSION_KEY))
            .filter(|s| s.tenant_id == tenant.id.as_str())
            .ok_or_else(to_login)?;
        let tx = state.tenancy.begin(&tenant).await.map_err(internal)?;
        let open = sessions::is_open(&tx, &s.customer_id, &s.session_id)
            .await
            .map_err(internal)?;
        let customer = if open {
            customers::get(&tx, &s.customer_id).await.ok()
        } else {
            None
        };
        tx.commit().await.map_err(internal)?;
        match customer {
            Some(c) if c.locked_at.is_none() => Ok(Self {
                tenant,
                customer: c,
                session_id: s.session_id,
            }),
            _ => {
                if let Some(session) = req.extensions().get::<Session>() {
                    session.purge();
                }
                Err(to_login())
            }
        }
    }
}

/// The id of the customer signed in on this reseller's host, without checking the
/// session row (for pages that only personalise, like the price list).
pub fn signed_in_customer_id(
    session: &Session,
    tenant: &relabel_tenants::Tenant,
) -> Option<String> {
    session
        .get::<CustomerSession>(SESSION_KEY)
        .filter(|s| s.tenant_id == tenant.id.as_str())
        .map(|s| s.customer_id)
}

pub fn routes() -> Route {
    Route::new()
        .at("/", get(overview))
        .at("/signup", get(signup_form).post(signup))
        .at("/verify", get(verify))
        .at("/login", get(login_form).post(login))
        .at("/logout", post(logout))
        .at("/reset", get(reset_request_form).post(reset_request))
        .at("/reset/confirm", get(reset_form).post(reset))
        .at("/profile", get(profile_form).post(profile))
        .at("/security", get(security))
        .at("/security/password", post(change_password))
        .at("/security/email", post(change_email))
        .at("/email/confirm", get(confirm_email))
        .at("/security/sessions/revoke-all", post(revoke_all))
        .at("/impersonate", get(impersonate))
}

/// Starts the customer's HTTP session (a fresh id, so no fixation) bound to this
/// reseller and to a row in `customer_sessions`.
pub(crate) fn sign_in(
    session: &Session,
    tenant: &relabel_tenants::Tenant,
    customer_id: String,
    session_id: String,
) -> Response {
    session.renew();
    session.remove("csrf");
    session.set(
        SESSION_KEY,
        CustomerSession {
            tenant_id: tenant.id.to_string(),
            customer_id,
            session_id,
        },
    );
    redirect("/account")
}

pub use crate::http::client::client_ip;

fn ctx<'a>(
    state: &'a AppState,
    session: &'a Session,
    req: &'a Request,
    customer: Option<&'a customer::Model>,
) -> poem::Result<StoreCtx<'a>> {
    Ok(StoreCtx {
        state,
        session,
        req,
        tenant: tenant_of(req)?,
        customer,
    })
}

pub(crate) async fn send(
    state: &AppState,
    tx: &relabel_tenants::TenantTx,
    tenant: &relabel_tenants::Tenant,
    to: &str,
    template: &str,
    lang: relabel_themes::Lang,
    data: Value,
) -> poem::Result<()> {
    let look = state.looks.get(tx, &state.themes).await.map_err(internal)?;
    let (subject, body) = state
        .themes
        .render_email(template, lang, &data, look.custom.as_ref())
        .map_err(internal)?;
    let from = crate::mail::sender(tx, tenant).await.map_err(internal)?;
    state
        .mailer
        .queue(
            tx,
            Mail {
                to: to.to_owned(),
                from,
                subject,
                body,
            },
        )
        .await
        .map_err(internal)
}

/// A link mailed to a customer: a fresh single-use token for `purpose` and
/// `subject`, appended to `path`, in the email `template`.
pub(crate) struct LinkMail<'a> {
    pub purpose: Purpose,
    pub subject: &'a str,
    pub path: &'a str,
    pub template: &'a str,
    pub to: &'a str,
}

pub(crate) async fn mail_link(
    state: &AppState,
    req: &Request,
    tx: &relabel_tenants::TenantTx,
    tenant: &relabel_tenants::Tenant,
    customer: &customer::Model,
    lang: relabel_themes::Lang,
    mail: LinkMail<'_>,
) -> poem::Result<()> {
    let token = tokens::issue(tx, mail.purpose, mail.subject)
        .await
        .map_err(internal)?;
    let link =
        crate::http::link_for_mail(state, tenant, req, &format!("{}?token={token}", mail.path));
    let hours = mail.purpose.ttl().num_hours();
    let data = json!({ "brand_name": tenant.name, "customer_name": customers::display_name(customer), "link": link, "expires_hours": hours });
    send(state, tx, tenant, mail.to, mail.template, lang, data).await
}

pub(crate) async fn limited(
    state: &AppState,
    tenant: &CurrentTenant,
    rule: Rule,
    key: &str,
) -> bool {
    !state
        .limiter
        .allow(rule, &format!("{}:{key}", tenant.id))
        .await
}

pub(crate) fn field_errors(lang: &str, errors: &FieldErrors) -> Value {
    serde_json::to_value(errors.translated(lang)).unwrap_or_default()
}

#[handler]
async fn overview(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
) -> poem::Result<Response> {
    ctx(state, session, req, Some(&user.customer))?.render(
        StatusCode::OK,
        "account/overview.html",
        json!({ "section": "overview" }),
    )
}

// ---- signup and verification ----------------------------------------------------

pub(crate) const SIGNUP_FIELDS: [&str; 13] = [
    "kind",
    "first_name",
    "last_name",
    "company",
    "buyer_reference",
    "email",
    "street",
    "postal_code",
    "city",
    "country",
    "phone",
    "language",
    "accept_terms",
];

pub(crate) fn signup_values(form: &FormData) -> Value {
    let mut v = serde_json::Map::new();
    for f in SIGNUP_FIELDS {
        v.insert(f.to_owned(), json!(form.get(f)));
    }
    Value::Object(v)
}

#[handler]
fn signup_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
) -> poem::Result<Response> {
    let c = ctx(state, session, req, None)?;
    let lang = c.lang().code();
    c.render(
        StatusCode::OK,
        "account/signup.html",
        json!({ "values": { "kind": "person", "country": "DE", "language": lang } }),
    )
}

pub(crate) fn input_from(form: &FormData, fields: &[&str]) -> CustomerInput {
    let get = |k: &str| fields.contains(&k).then(|| form.get(k).to_owned());
    CustomerInput {
        kind: get("kind"),
        first_name: get("first_name"),
        last_name: get("last_name"),
        company: get("company"),
        street: get("street"),
        postal_code: get("postal_code"),
        city: get("city"),
        country: get("country"),
        phone: get("phone"),
        email: get("email"),
        vat_id: get("vat_id"),
        buyer_reference: get("buyer_reference"),
        language: get("language"),
        iban: get("iban"),
        bic: get("bic"),
        account_holder: get("account_holder"),
        newsletter: fields
            .contains(&"newsletter")
            .then(|| form.all("newsletter")),
        ..Default::default()
    }
}

#[handler]
async fn signup(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let c = ctx(state, session, req, None)?;
    match register(&c, &form, "signup").await? {
        Some(refused) => Ok(refused),
        None => verify_sent(&c),
    }
}

/// A signup from the shop's own form or the widget. `None` when it was
/// accepted: a new address gets its verification mail, a registered one's
/// holder is told by mail, and the caller answers the same in both cases
/// (whether an address has an account is the holder's business). `Some` is the
/// signup form again with its errors (or the rate limit).
pub(crate) async fn register(
    c: &StoreCtx<'_>,
    form: &FormData,
    actor: &str,
) -> poem::Result<Option<Response>> {
    let (state, req) = (c.state, c.req);
    let lang = c.lang();
    let ip = client_ip(req);
    if limited(state, &c.tenant, ratelimit::SIGNUP_PER_IP, &ip).await {
        let errors = FieldErrors::single("email", "err.rate_limited");
        return c
            .render(
                StatusCode::TOO_MANY_REQUESTS,
                "account/signup.html",
                json!({ "values": signup_values(form), "errors": field_errors(lang.code(), &errors) }),
            )
            .map(Some);
    }
    let mut errors = FieldErrors::default();
    let password = Password::parse(form.get("password"))
        .map_err(|e| errors.add("password", password_code(e)))
        .ok();
    if form.get("accept_terms") != "1" {
        errors.add("accept_terms", "err.required");
    }
    let input = input_from(form, &SIGNUP_FIELDS);
    let tx = state.tenancy.begin(&c.tenant).await.map_err(internal)?;
    let actor = Actor {
        name: actor,
        ip: Some(&ip),
    };
    let created = match (errors.is_empty(), &password) {
        (true, Some(pw)) => customers::create_self_service(&tx, &actor, &input, Some(pw)).await,
        _ => Err(CustomerError::Invalid(FieldErrors::default())),
    };
    let customer = match created {
        Ok(m) => m,
        Err(CustomerError::Invalid(more)) => {
            for e in more.iter() {
                errors.add(&e.field, &e.code);
            }
            // Validation of the remaining fields even when the password failed.
            if let Err(CustomerError::Invalid(rest)) =
                customers::create_self_service(&tx, &actor, &input, None).await
            {
                for e in rest.iter() {
                    errors.add(&e.field, &e.code);
                }
            }
            drop(tx);
            if errors.take("email", "err.email_taken") && errors.is_empty() {
                tell_holder_of_signup(state, req, &c.tenant, form.get("email")).await?;
                return Ok(None);
            }
            return c
                .render(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "account/signup.html",
                    json!({ "values": signup_values(form), "errors": field_errors(lang.code(), &errors) }),
                )
                .map(Some);
        }
        Err(e) => return Err(internal(e)),
    };
    let verify_mail = LinkMail {
        purpose: Purpose::VerifyEmail,
        subject: &customer.id,
        path: "/account/verify",
        template: "verify_email",
        to: &customer.email,
    };
    mail_link(state, req, &tx, &c.tenant, &customer, lang, verify_mail).await?;
    crate::orders::hooks::queue_score(&tx, &customer.id)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    state.mailer.kick(&state.tenancy, &c.tenant);
    Ok(None)
}

/// The answer to every accepted signup, whether or not the address was new.
fn verify_sent(c: &StoreCtx<'_>) -> poem::Result<Response> {
    c.message(
        StatusCode::OK,
        "acct.verify_sent.heading",
        "acct.verify_sent.text",
        None,
    )
}

/// Mails the holder of `email` that someone signed up with it, with the way to
/// sign in and to reset the password, in the holder's language.
pub(crate) async fn tell_holder_of_signup(
    state: &AppState,
    req: &Request,
    tenant: &CurrentTenant,
    email: &str,
) -> poem::Result<()> {
    let tx = state.tenancy.begin(tenant).await.map_err(internal)?;
    let Some(holder) = customers::find_by_email(&tx, email)
        .await
        .map_err(internal)?
    else {
        return Ok(());
    };
    let lang = relabel_themes::Lang::parse(&holder.language).unwrap_or(relabel_themes::Lang::De);
    let data = json!({
        "brand_name": tenant.name,
        "customer_name": customers::display_name(&holder),
        "login_link": crate::http::link_for_mail(state, tenant, req, "/account/login"),
        "reset_link": crate::http::link_for_mail(state, tenant, req, "/account/reset"),
    });
    send(
        state,
        &tx,
        tenant,
        &holder.email,
        "signup_exists",
        lang,
        data,
    )
    .await?;
    tx.commit().await.map_err(internal)?;
    state.mailer.kick(&state.tenancy, tenant);
    Ok(())
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

#[handler]
async fn verify(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    Query(q): Query<TokenQuery>,
) -> poem::Result<Response> {
    let c = ctx(state, session, req, None)?;
    let tx = state.tenancy.begin(&c.tenant).await.map_err(internal)?;
    let subject = tokens::consume(
        &tx,
        Purpose::VerifyEmail,
        q.token.as_deref().unwrap_or_default(),
    )
    .await
    .map_err(internal)?;
    let Some(id) = subject else {
        return c.link_invalid(Some(("/account/login", "acct.to_login")));
    };
    customers::mark_verified(&tx, &id).await.map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    c.message(
        StatusCode::OK,
        "acct.verified.heading",
        "acct.verified.text",
        Some(("/account/login", "acct.to_login")),
    )
}

// ---- login and logout ---------------------------------------------------------

#[handler]
fn login_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    Query(q): Query<NextQuery>,
) -> poem::Result<Response> {
    ctx(state, session, req, None)?.render(
        StatusCode::OK,
        "account/login.html",
        json!({ "error": null, "next": q.next.as_deref().and_then(same_site_path) }),
    )
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[handler]
async fn login(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let c = ctx(state, session, req, None)?;
    let email = form.get("email").trim().to_lowercase();
    let ip = client_ip(req);
    let fail = |c: &StoreCtx<'_>, status: StatusCode, error: String| {
        c.render(
            status,
            "account/login.html",
            json!({ "error": error, "values": { "email": form.get("email") }, "next": form.opt("next").and_then(same_site_path) }),
        )
    };
    // The same answer whether or not the account exists.
    let account = Account::customer(c.tenant.id.as_str(), &email);
    let attempt = match state.throttle.begin(&account, &ip).await {
        Ok(attempt) => attempt,
        Err(r) => {
            let error = throttled::message(c.t("err.locked_out"), &r);
            return throttled::retry_after(&r, fail(&c, StatusCode::TOO_MANY_REQUESTS, error));
        }
    };
    let tx = state.tenancy.begin(&c.tenant).await.map_err(internal)?;
    let found = customers::find_by_email(&tx, &email)
        .await
        .map_err(internal)?;
    let ok = crate::auth::check_account(
        found,
        |m| m.password_hash.as_deref().unwrap_or(""),
        form.get("password"),
    );
    let ok = attempt.record(ok).await;
    let Some(customer) = ok.filter(|m| m.locked_at.is_none()) else {
        return fail(&c, StatusCode::UNAUTHORIZED, c.t("login.failed").to_owned());
    };
    if customer.email_verified_at.is_none() {
        // A new link, unless one went out in the last quarter hour: repeated
        // sign-ins do not fill the customer's inbox.
        let recent = tokens::sent_within(
            &tx,
            Purpose::VerifyEmail,
            &customer.id,
            chrono::Duration::minutes(15),
        )
        .await
        .map_err(internal)?;
        if !recent {
            let verify_mail = LinkMail {
                purpose: Purpose::VerifyEmail,
                subject: &customer.id,
                path: "/account/verify",
                template: "verify_email",
                to: &customer.email,
            };
            mail_link(state, req, &tx, &c.tenant, &customer, c.lang(), verify_mail).await?;
        }
        tx.commit().await.map_err(internal)?;
        state.mailer.kick(&state.tenancy, &c.tenant);
        return fail(&c, StatusCode::FORBIDDEN, c.t("acct.unverified").to_owned());
    }
    let ua = req.header("user-agent").unwrap_or_default();
    let session_id = sessions::open(&tx, &customer.id, ua, &ip)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    let response = sign_in(session, &c.tenant, customer.id, session_id);
    Ok(match form.opt("next").and_then(same_site_path) {
        Some(next) => redirect(next),
        None => response,
    })
}

#[handler]
async fn logout(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    if let (Some(s), Ok(tenant)) = (session.get::<CustomerSession>(SESSION_KEY), tenant_of(req)) {
        let tx = state.tenancy.begin(&tenant).await.map_err(internal)?;
        sessions::close(&tx, &s.session_id)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
    }
    session.purge();
    Ok(redirect("/"))
}

// ---- password reset -----------------------------------------------------------

#[handler]
fn reset_request_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
) -> poem::Result<Response> {
    ctx(state, session, req, None)?.render(StatusCode::OK, "account/reset_request.html", json!({}))
}

#[handler]
async fn reset_request(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let c = ctx(state, session, req, None)?;
    let email = form.get("email").trim().to_lowercase();
    let over = limited(state, &c.tenant, ratelimit::RESET_PER_IP, &client_ip(req)).await
        || limited(state, &c.tenant, ratelimit::RESET_PER_ACCOUNT, &email).await;
    if over {
        return c.message(
            StatusCode::TOO_MANY_REQUESTS,
            "acct.reset_sent.heading",
            "err.rate_limited",
            None,
        );
    }
    let tx = state.tenancy.begin(&c.tenant).await.map_err(internal)?;
    if let Some(customer) = customers::find_by_email(&tx, &email)
        .await
        .map_err(internal)?
        .filter(|m| m.locked_at.is_none())
    {
        let reset_mail = LinkMail {
            purpose: Purpose::ResetPassword,
            subject: &customer.id,
            path: "/account/reset/confirm",
            template: "reset_password",
            to: &customer.email,
        };
        mail_link(state, req, &tx, &c.tenant, &customer, c.lang(), reset_mail).await?;
    }
    tx.commit().await.map_err(internal)?;
    state.mailer.kick(&state.tenancy, &c.tenant);
    // Identical answer for known and unknown addresses: no account enumeration.
    c.message(
        StatusCode::OK,
        "acct.reset_sent.heading",
        "acct.reset_sent.text",
        None,
    )
}

#[handler]
async fn reset_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    Query(q): Query<TokenQuery>,
) -> poem::Result<Response> {
    let c = ctx(state, session, req, None)?;
    let token = q.token.unwrap_or_default();
    let tx = state.tenancy.begin(&c.tenant).await.map_err(internal)?;
    let valid = tokens::peek(&tx, Purpose::ResetPassword, &token)
        .await
        .map_err(internal)?
        .is_some();
    drop(tx);
    if !valid {
        return c.link_invalid(Some(("/account/reset", "acct.to_reset")));
    }
    c.render(
        StatusCode::OK,
        "account/reset.html",
        json!({ "token": token }),
    )
}

#[handler]
async fn reset(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let c = ctx(state, session, req, None)?;
    let lang = c.lang().code();
    let token = form.get("token").to_owned();
    let mut errors = FieldErrors::default();
    let password = Password::parse(form.get("password"))
        .map_err(|e| errors.add("password", password_code(e)))
        .ok();
    if form.get("password") != form.get("password_confirm") {
        errors.add("password_confirm", "err.password_mismatch");
    }
    let (Some(password), true) = (password, errors.is_empty()) else {
        return c.render(
            StatusCode::UNPROCESSABLE_ENTITY,
            "account/reset.html",
            json!({ "token": token, "errors": field_errors(lang, &errors) }),
        );
    };
    let tx = state.tenancy.begin(&c.tenant).await.map_err(internal)?;
    let Some(id) = tokens::consume(&tx, Purpose::ResetPassword, &token)
        .await
        .map_err(internal)?
    else {
        return c.link_invalid(Some(("/account/reset", "acct.to_reset")));
    };
    let ip = client_ip(req);
    customers::set_password(
        &tx,
        &Actor {
            name: "password-reset",
            ip: Some(&ip),
        },
        &id,
        &password,
    )
    .await
    .map_err(internal)?;
    // A reset also proves control of the address.
    customers::mark_verified(&tx, &id).await.map_err(internal)?;
    sessions::close_all(&tx, &id).await.map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    c.message(
        StatusCode::OK,
        "acct.reset_done.heading",
        "acct.reset_done.text",
        Some(("/account/login", "acct.to_login")),
    )
}

// ---- master data --------------------------------------------------------------

const PROFILE_FIELDS: [&str; 14] = [
    "kind",
    "first_name",
    "last_name",
    "company",
    "street",
    "postal_code",
    "city",
    "country",
    "phone",
    "vat_id",
    "language",
    "iban",
    "bic",
    "account_holder",
];

fn profile_values(m: &customer::Model) -> Value {
    json!({
        "kind": m.kind, "first_name": m.first_name, "last_name": m.last_name, "company": m.company,
        "street": m.street, "postal_code": m.postal_code, "city": m.city, "country": m.country,
        "phone": m.phone, "vat_id": m.vat_id, "language": m.language, "iban": m.iban, "bic": m.bic,
        "account_holder": m.account_holder,
        "newsletter": m.newsletter.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
    })
}

fn mandate(m: &customer::Model) -> Value {
    match (&m.mandate_reference, m.mandate_signed_on) {
        (Some(r), Some(d)) => json!({ "reference": r, "signed_on": d.to_string() }),
        _ => Value::Null,
    }
}

#[handler]
fn profile_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
) -> poem::Result<Response> {
    let c = ctx(state, session, req, Some(&user.customer))?;
    c.render(
        StatusCode::OK,
        "account/profile.html",
        json!({ "section": "profile", "values": profile_values(&user.customer), "mandate": mandate(&user.customer) }),
    )
}

#[handler]
async fn profile(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let mut input = input_from(&form, &PROFILE_FIELDS);
    // Granting the SEPA mandate dates it today; the reference is assigned on save.
    if form.get("grant_mandate") == "1" && user.customer.mandate_signed_on.is_none() {
        input.mandate_signed_on = Some(chrono::Utc::now().date_naive().to_string());
    }
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let ip = client_ip(req);
    let actor_name = customers::actor_name(&user.customer);
    let result = customers::update(
        &tx,
        &Actor {
            name: &actor_name,
            ip: Some(&ip),
        },
        &user.customer.id,
        &input,
    )
    .await;
    match result {
        Ok(saved) => {
            tx.commit().await.map_err(internal)?;
            let c = ctx(state, session, req, Some(&saved))?;
            flash(session, "success", c.t("flash.customer_saved"));
            Ok(redirect("/account/profile"))
        }
        Err(CustomerError::Invalid(errors)) => {
            drop(tx);
            let c = ctx(state, session, req, Some(&user.customer))?;
            let mut values = serde_json::Map::new();
            for f in PROFILE_FIELDS {
                values.insert(
                    f.to_owned(),
                    if f == "newsletter" {
                        json!(form.all(f))
                    } else {
                        json!(form.get(f))
                    },
                );
            }
            c.render(
                StatusCode::UNPROCESSABLE_ENTITY,
                "account/profile.html",
                json!({ "section": "profile", "values": values, "errors": field_errors(c.lang().code(), &errors), "mandate": mandate(&user.customer) }),
            )
        }
        Err(e) => Err(internal(e)),
    }
}

// ---- security -----------------------------------------------------------------

async fn render_security(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &CustomerUser,
    status: StatusCode,
    extra: Value,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let list = sessions::list(&tx, &user.customer.id)
        .await
        .map_err(internal)?;
    drop(tx);
    let rows: Vec<Value> = list
        .iter()
        .map(|s| {
            json!({
                "id": s.id, "user_agent": s.user_agent, "ip": s.ip,
                "created_at": s.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                "last_seen_at": s.last_seen_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                "current": s.id == user.session_id,
            })
        })
        .collect();
    let mut data = json!({ "section": "security", "sessions": rows });
    if let (Some(d), Value::Object(e)) = (data.as_object_mut(), extra) {
        d.extend(e);
    }
    ctx(state, session, req, Some(&user.customer))?.render(status, "account/security.html", data)
}

#[handler]
async fn security(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
) -> poem::Result<Response> {
    render_security(state, session, req, &user, StatusCode::OK, json!({})).await
}

/// The signed-in customer's current password (changing the password or the
/// address asks for it), checked through the same credential throttle as the
/// login: a stolen session cannot guess it at leisure.
async fn check_current_password(
    state: &AppState,
    req: &Request,
    user: &CustomerUser,
    given: &str,
    errors: &mut FieldErrors,
) {
    let account = Account::customer(user.tenant.id.as_str(), &user.customer.email);
    let Ok(attempt) = state.throttle.begin(&account, &client_ip(req)).await else {
        errors.add("current_password", "err.rate_limited");
        return;
    };
    let hash = user.customer.password_hash.as_deref().unwrap_or("");
    let ok = verify_password(given, hash).then_some(());
    if attempt.record(ok).await.is_none() {
        errors.add("current_password", "err.current_password");
    }
}

#[handler]
async fn change_password(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let lang = crate::http::lang_of(req);
    let mut errors = FieldErrors::default();
    check_current_password(state, req, &user, form.get("current_password"), &mut errors).await;
    let password = Password::parse(form.get("password"))
        .map_err(|e| errors.add("password", password_code(e)))
        .ok();
    if form.get("password") != form.get("password_confirm") {
        errors.add("password_confirm", "err.password_mismatch");
    }
    let (Some(password), true) = (password, errors.is_empty()) else {
        return render_security(
            state,
            session,
            req,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "errors": field_errors(lang.code(), &errors) }),
        )
        .await;
    };
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let ip = client_ip(req);
    let actor_name = customers::actor_name(&user.customer);
    customers::set_password(
        &tx,
        &Actor {
            name: &actor_name,
            ip: Some(&ip),
        },
        &user.customer.id,
        &password,
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    flash(
        session,
        "success",
        relabel_admin_ui::t(lang.code(), "acct.password_changed"),
    );
    Ok(redirect("/account/security"))
}

#[handler]
async fn change_email(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let lang = crate::http::lang_of(req);
    let mut errors = FieldErrors::default();
    check_current_password(state, req, &user, form.get("current_password"), &mut errors).await;
    let email = crate::auth::Email::parse(form.get("email")).map(|e| e.as_str().to_lowercase());
    if email.is_none() {
        errors.add("email", "err.email");
    }
    let (Some(email), true) = (email, errors.is_empty()) else {
        return render_security(state, session, req, &user, StatusCode::UNPROCESSABLE_ENTITY, json!({ "errors": field_errors(lang.code(), &errors), "values": { "email": form.get("email") } })).await;
    };
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    match customers::find_by_email(&tx, &email)
        .await
        .map_err(internal)?
    {
        // Whether an address has an account is its holder's business: the
        // answer is the same, and the holder hears that it was asked for.
        Some(holder) => {
            let holder_lang =
                relabel_themes::Lang::parse(&holder.language).unwrap_or(relabel_themes::Lang::De);
            let data = json!({
                "brand_name": user.tenant.name,
                "customer_name": customers::display_name(&holder),
                "login_link": crate::http::link_for_mail(state, &user.tenant, req, "/account/login"),
            });
            let to = holder.email.clone();
            send(
                state,
                &tx,
                &user.tenant,
                &to,
                "email_in_use",
                holder_lang,
                data,
            )
            .await?;
        }
        // The new address takes effect when its owner confirms it.
        None => {
            let subject = format!("{}|{email}", user.customer.id);
            let confirm = LinkMail {
                purpose: Purpose::ChangeEmail,
                subject: &subject,
                path: "/account/email/confirm",
                template: "email_changed",
                to: &email,
            };
            mail_link(state, req, &tx, &user.tenant, &user.customer, lang, confirm).await?;
        }
    }
    tx.commit().await.map_err(internal)?;
    state.mailer.kick(&state.tenancy, &user.tenant);
    flash(
        session,
        "info",
        relabel_admin_ui::t(lang.code(), "acct.email_confirm_sent"),
    );
    Ok(redirect("/account/security"))
}

#[handler]
async fn confirm_email(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    Query(q): Query<TokenQuery>,
) -> poem::Result<Response> {
    let c = ctx(state, session, req, None)?;
    let tx = state.tenancy.begin(&c.tenant).await.map_err(internal)?;
    let subject = tokens::consume(
        &tx,
        Purpose::ChangeEmail,
        q.token.as_deref().unwrap_or_default(),
    )
    .await
    .map_err(internal)?;
    let Some((id, email)) = subject.as_deref().and_then(|s| s.split_once('|')) else {
        return c.link_invalid(None);
    };
    let input = CustomerInput {
        email: Some(email.to_owned()),
        ..Default::default()
    };
    match customers::update(
        &tx,
        &Actor {
            name: "email-confirmation",
            ip: None,
        },
        id,
        &input,
    )
    .await
    {
        Ok(_) => {
            customers::mark_verified(&tx, id).await.map_err(internal)?;
            tx.commit().await.map_err(internal)?;
            c.message(
                StatusCode::OK,
                "acct.email_changed.heading",
                "acct.email_changed.text",
                Some(("/account", "acct.to_account")),
            )
        }
        Err(CustomerError::Invalid(_)) => c.message(
            StatusCode::CONFLICT,
            "acct.link_invalid.heading",
            "err.email_taken",
            None,
        ),
        Err(e) => Err(internal(e)),
    }
}

#[handler]
async fn revoke_all(
    Data(state): Data<&AppState>,
    session: &Session,
    user: CustomerUser,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    sessions::close_all(&tx, &user.customer.id)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    session.purge();
    Ok(redirect("/account/login"))
}

/// Takes over a support session prepared in the console (single-use, 2 minutes).
#[handler]
async fn impersonate(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    Query(q): Query<TokenQuery>,
) -> poem::Result<Response> {
    let c = ctx(state, session, req, None)?;
    let tx = state.tenancy.begin(&c.tenant).await.map_err(internal)?;
    let subject = tokens::consume(
        &tx,
        Purpose::Impersonate,
        q.token.as_deref().unwrap_or_default(),
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    let Some((customer_id, session_id)) = subject.as_deref().and_then(|s| s.split_once('|')) else {
        return c.link_invalid(None);
    };
    Ok(sign_in(
        session,
        &c.tenant,
        customer_id.to_owned(),
        session_id.to_owned(),
    ))
}
