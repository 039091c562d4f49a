//! Newsletters in the console (A12): categories with their confirmed
//! subscribers, and mailings to a category (queued as a job, progress shown).

use super::billing::flash_errors;
use super::{Can, EditCustomers, page};
use crate::app::AppState;
use crate::auth::csrf;
use crate::http::{FormData, flash, internal, redirect};
use crate::newsletter;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path};
use poem::{Request, Response, Route, get, handler, post};
use serde_json::json;

pub fn routes() -> Route {
    Route::new()
        .at("/", get(show))
        .at("/categories", post(create_category))
        .at("/categories/:id", post(toggle))
        .at("/mailings", post(start_mailing))
}

const BACK: &str = "/console/newsletter";

#[handler]
async fn show(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditCustomers>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let categories = newsletter::categories(&tx, false).await.map_err(internal)?;
    let counts = newsletter::counts(&tx).await.map_err(internal)?;
    let mailings = newsletter::mailings(&tx).await.map_err(internal)?;
    drop(tx);
    let name = |id: &str| {
        categories
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    };
    page(state, session, req, &user.tenant, Some(&user.member)).render(
        "console/newsletter.html",
        "title.newsletter",
        "newsletter",
        json!({
            "categories": categories.iter().map(|c| json!({
                "id": c.id, "name": c.name, "description": c.description, "active": c.active,
                "subscribers": counts.get(&c.id).copied().unwrap_or(0),
            })).collect::<Vec<_>>(),
            "mailings": mailings.iter().map(|m| json!({
                "subject": m.subject, "category": name(&m.category_id), "status": m.status,
                "recipients": m.recipients, "sent": m.sent, "actor": m.actor,
                "created": m.created_at.format("%Y-%m-%d %H:%M").to_string(),
            })).collect::<Vec<_>>(),
            "sending": mailings.iter().any(|m| m.status != "sent"),
        }),
    )
}

#[handler]
async fn create_category(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditCustomers>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    match newsletter::create_category(
        &tx,
        form.get("name"),
        form.get("description"),
        &user.member.email,
    )
    .await
    {
        Ok(_) => {
            tx.commit().await.map_err(internal)?;
            flash(session, "success", p.t("flash.settings_saved"));
        }
        Err(Ok(e)) => flash_errors(session, &p, &e),
        Err(Err(e)) => return Err(internal(e)),
    }
    Ok(redirect(BACK))
}

/// Saves a topic's name and description, or switches it on or off.
#[handler]
async fn toggle(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditCustomers>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let found = match form.opt("active") {
        Some(active) => newsletter::set_active(&tx, &id, active == "1")
            .await
            .map_err(internal)?,
        None => match newsletter::update_category(
            &tx,
            &id,
            form.get("name"),
            form.get("description"),
            &user.member.email,
        )
        .await
        {
            Ok(found) => found,
            Err(Ok(e)) => {
                flash_errors(session, &p, &e);
                return Ok(redirect(BACK));
            }
            Err(Err(e)) => return Err(internal(e)),
        },
    };
    if !found {
        return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
    }
    tx.commit().await.map_err(internal)?;
    flash(session, "success", p.t("flash.settings_saved"));
    Ok(redirect(BACK))
}

#[handler]
async fn start_mailing(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditCustomers>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    match newsletter::start_mailing(
        &tx,
        form.get("category_id"),
        form.get("subject"),
        form.get("body"),
        &user.member.email,
        Some(&crate::http::store::billing::base_url(
            state,
            req,
            &user.tenant.name,
        )),
    )
    .await
    {
        Ok(m) => {
            tx.commit().await.map_err(internal)?;
            flash(
                session,
                "success",
                format!("{} {}", p.t("newsletter.mailing_queued"), m.recipients),
            );
        }
        Err(Ok(e)) => flash_errors(session, &p, &e),
        Err(Err(e)) => return Err(internal(e)),
    }
    Ok(redirect(BACK))
}
