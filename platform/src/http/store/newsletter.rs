//! Newsletter sign-up on the reseller's storefront (A12): choose categories and
//! give an address, confirm through the mailed link (double opt-in), leave
//! through the link in every mailing. A signed-in customer sees their own
//! subscriptions here.

use super::account::{client_ip, limited, signed_in_customer_id};
use super::page::StoreCtx;
use crate::app::AppState;
use crate::auth::csrf;
use crate::http::{FormData, internal, tenant_of};
use crate::newsletter;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path};
use poem::{Request, Response, Route, get, handler};
use serde_json::json;

pub fn routes(r: Route) -> Route {
    r.at("/newsletter", get(show).post(subscribe))
        .at("/newsletter/confirm/:token", get(confirm))
        .at(
            "/newsletter/unsubscribe/:token",
            get(unsubscribe_form).post(unsubscribe),
        )
}

fn ctx<'a>(
    state: &'a AppState,
    session: &'a Session,
    req: &'a Request,
) -> poem::Result<StoreCtx<'a>> {
    Ok(StoreCtx {
        state,
        session,
        req,
        tenant: tenant_of(req)?,
        customer: None,
    })
}

/// The form, with the signed-in customer's address and subscriptions.
async fn render(
    c: &StoreCtx<'_>,
    status: StatusCode,
    email: &str,
    chosen: &[String],
    errors: serde_json::Value,
) -> poem::Result<Response> {
    let tx = c.state.tenancy.begin(&c.tenant).await.map_err(internal)?;
    let categories = newsletter::categories(&tx, true).await.map_err(internal)?;
    let customer = match signed_in_customer_id(c.session, &c.tenant) {
        Some(id) => crate::customers::get(&tx, &id).await.ok(),
        None => None,
    };
    let mine = match &customer {
        Some(m) => newsletter::of_email(&tx, &m.email)
            .await
            .map_err(internal)?,
        None => Vec::new(),
    };
    drop(tx);
    let email = if email.is_empty() {
        customer
            .as_ref()
            .map(|m| m.email.clone())
            .unwrap_or_default()
    } else {
        email.to_owned()
    };
    c.render(
        status,
        "newsletter.html",
        json!({
            "categories": categories.iter().map(|k| {
                let sub = mine.iter().find(|s| s.category_id == k.id);
                json!({
                    "id": k.id, "name": k.name, "description": k.description,
                    "checked": chosen.contains(&k.id),
                    "status": sub.map(|s| s.status.clone()),
                    "token": sub.filter(|s| s.status == "confirmed").map(|s| newsletter::unsubscribe_token(&c.state.sealer, s)),
                })
            }).collect::<Vec<_>>(),
            "values": { "email": email },
            "errors": errors,
        }),
    )
}

#[handler]
async fn show(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
) -> poem::Result<Response> {
    let c = ctx(state, session, req)?;
    render(&c, StatusCode::OK, "", &[], json!({})).await
}

#[handler]
async fn subscribe(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let c = ctx(state, session, req)?;
    let lang = c.lang();
    let chosen: Vec<String> = form.all("categories");
    let email = form.get("email").trim().to_owned();
    let ip = client_ip(req);
    if limited(state, &c.tenant, crate::ratelimit::SIGNUP_PER_IP, &ip).await {
        let errors = crate::validation::FieldErrors::single("email", "err.rate_limited");
        let errors = super::account::field_errors(lang.code(), &errors);
        return render(&c, StatusCode::TOO_MANY_REQUESTS, &email, &chosen, errors).await;
    }
    let tx = state.tenancy.begin(&c.tenant).await.map_err(internal)?;
    let customer_id = signed_in_customer_id(session, &c.tenant);
    match newsletter::subscribe(&tx, &email, &chosen, customer_id.as_deref(), lang.code()).await {
        Ok(done) => {
            let base = super::billing::base_url(state, req, &c.tenant.name);
            newsletter::queue_opt_in(state, &tx, &c.tenant, &base, lang, &done.pending)
                .await
                .map_err(internal)?;
            tx.commit().await.map_err(internal)?;
            state.mailer.kick(&state.tenancy, &c.tenant);
            let text = if done.pending.is_empty() {
                "newsletter.already"
            } else {
                "newsletter.check_mail"
            };
            c.message(StatusCode::OK, "newsletter.heading", text, None)
        }
        Err(Ok(errors)) => {
            drop(tx);
            let errors = super::account::field_errors(lang.code(), &errors);
            render(
                &c,
                StatusCode::UNPROCESSABLE_ENTITY,
                &email,
                &chosen,
                errors,
            )
            .await
        }
        Err(Err(e)) => Err(internal(e)),
    }
}

#[handler]
async fn confirm(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    Path(token): Path<String>,
) -> poem::Result<Response> {
    let c = ctx(state, session, req)?;
    let tx = state.tenancy.begin(&c.tenant).await.map_err(internal)?;
    let done = newsletter::confirm(&tx, &token).await.map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    match done {
        Some((s, _)) if s.status == "confirmed" => c.message(
            StatusCode::OK,
            "newsletter.heading",
            "newsletter.confirmed",
            None,
        ),
        Some(_) => c.message(
            StatusCode::OK,
            "newsletter.heading",
            "newsletter.confirm_after_unsubscribe",
            Some(("/newsletter", "newsletter.subscribe_again")),
        ),
        None => c.message(
            StatusCode::NOT_FOUND,
            "newsletter.heading",
            "newsletter.bad_link",
            None,
        ),
    }
}

#[handler]
async fn unsubscribe_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    Path(token): Path<String>,
) -> poem::Result<Response> {
    let c = ctx(state, session, req)?;
    c.render(
        StatusCode::OK,
        "newsletter_unsubscribe.html",
        json!({ "token": token }),
    )
}

/// Leaves a category. No CSRF token: the link's own token is the proof, and
/// mail clients' one-click unsubscribe (RFC 8058) posts here without a session.
#[handler]
async fn unsubscribe(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    Path(token): Path<String>,
) -> poem::Result<Response> {
    let c = ctx(state, session, req)?;
    let tx = state.tenancy.begin(&c.tenant).await.map_err(internal)?;
    let done = newsletter::unsubscribe(&tx, &state.sealer, &token)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    match done {
        Some(_) => c.message(
            StatusCode::OK,
            "newsletter.heading",
            "newsletter.unsubscribed",
            Some(("/newsletter", "newsletter.subscribe_again")),
        ),
        None => c.message(
            StatusCode::NOT_FOUND,
            "newsletter.heading",
            "newsletter.bad_link",
            None,
        ),
    }
}
