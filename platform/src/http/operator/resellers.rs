use super::{OperatorUser, flash_ok, page};
use crate::app::AppState;
use crate::auth::csrf;
use crate::http::{FormData, internal, redirect};
use crate::resellers::{self, NewReseller, ResellerError, public_id};
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path};
use poem::{Request, Response, Route, get, handler, post};
use relabel_tenants::{Tenant, TenantStatus};
use serde_json::{Value, json};

pub fn routes() -> Route {
    Route::new()
        .at("/", get(list).post(create))
        .at("/:id", get(show))
        .at("/:id/hosts", post(add_host))
        .at("/:id/hosts/remove", post(remove_host))
        .at("/:id/suspend", post(suspend))
        .at("/:id/resume", post(resume))
        .at("/:id/delete", post(delete))
}

fn row(t: &Tenant) -> Value {
    json!({
        "id": public_id(&t.id),
        "name": t.name,
        "schema": t.schema,
        "status": t.status.as_str(),
        "hostnames": t.hostnames,
        "created_at": t.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
    })
}

async fn render_list(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &OperatorUser,
    status: StatusCode,
    extra: Value,
) -> poem::Result<Response> {
    let tenants = state.tenancy.list().await.map_err(internal)?;
    let rows: Vec<Value> = tenants.iter().map(row).collect();
    let mut data = json!({ "resellers": rows });
    if let (Some(d), Value::Object(e)) = (data.as_object_mut(), extra) {
        d.extend(e);
    }
    page(state, session, req, Some(&user.0)).render_status(
        status,
        "operator/resellers.html",
        "title.resellers",
        "resellers",
        data,
    )
}

#[handler]
async fn list(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
) -> poem::Result<Response> {
    render_list(state, session, req, &user, StatusCode::OK, json!({})).await
}

#[handler]
async fn create(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let input = NewReseller {
        name: form.get("name").to_owned(),
        hostname: Some(form.get("hostname").to_owned()),
        owner_email: form.get("owner_email").to_owned(),
        owner_password: form.get("owner_password").to_owned(),
        primary_color: None,
        accent_color: None,
    };
    match resellers::create(&state.tenancy, &user.0.email, input).await {
        Ok(t) => {
            let p = page(state, session, req, Some(&user.0));
            flash_ok(session, &p, "flash.reseller_created");
            Ok(redirect(&format!(
                "/operator/resellers/{}",
                public_id(&t.id)
            )))
        }
        Err(ResellerError::Invalid(errors)) => {
            let lang = crate::http::lang_of(req);
            let values = json!({
                "name": form.get("name"),
                "hostname": form.get("hostname"),
                "owner_email": form.get("owner_email"),
            });
            let extra = json!({ "values": values, "errors": errors.translated(lang.code()) });
            render_list(
                state,
                session,
                req,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                extra,
            )
            .await
        }
        Err(e) => Err(internal(e)),
    }
}

async fn render_show(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &OperatorUser,
    id: &str,
    status: StatusCode,
    extra: Value,
) -> poem::Result<Response> {
    let tid =
        resellers::parse_id(id).map_err(|_| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    let tenant = match state.tenancy.get(&tid).await {
        Ok(t) => t,
        Err(relabel_tenants::TenancyError::NotFound(_)) => {
            return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
        }
        Err(e) => return Err(internal(e)),
    };
    let mut data = json!({ "reseller": row(&tenant) });
    if let (Some(d), Value::Object(e)) = (data.as_object_mut(), extra) {
        d.extend(e);
    }
    page(state, session, req, Some(&user.0)).render_status(
        status,
        "operator/reseller.html",
        "title.reseller",
        "resellers",
        data,
    )
}

#[handler]
async fn show(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    render_show(state, session, req, &user, &id, StatusCode::OK, json!({})).await
}

/// Runs a reseller change from a console form: CSRF check, the change, then either a
/// redirect with a flash message or the detail page again with the field errors.
#[allow(clippy::too_many_arguments)]
async fn change<F, Fut>(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    id: String,
    form: FormData,
    done_key: &str,
    run: F,
) -> poem::Result<Response>
where
    F: FnOnce(relabel_tenants::TenantId, FormData) -> Fut,
    Fut: std::future::Future<Output = Result<String, ResellerError>>,
{
    csrf::verify(session, form.opt("csrf"))?;
    let tid =
        resellers::parse_id(&id).map_err(|_| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    let hostname = form.get("hostname").to_owned();
    match run(tid, form).await {
        Ok(to) => {
            let p = page(state, session, req, Some(&user.0));
            flash_ok(session, &p, done_key);
            Ok(redirect(&to))
        }
        Err(ResellerError::Invalid(errors)) => {
            let lang = crate::http::lang_of(req);
            let extra = json!({ "values": { "hostname": hostname }, "errors": errors.translated(lang.code()) });
            render_show(
                state,
                session,
                req,
                &user,
                &id,
                StatusCode::UNPROCESSABLE_ENTITY,
                extra,
            )
            .await
        }
        Err(ResellerError::NotFound) => Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
        Err(e) => Err(internal(e)),
    }
}

fn detail_url(id: &relabel_tenants::TenantId) -> String {
    format!("/operator/resellers/{}", public_id(id))
}

#[handler]
async fn add_host(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    let actor = user.0.email.clone();
    change(
        state,
        session,
        req,
        user,
        id,
        form,
        "flash.hostname_added",
        |tid, form| async move {
            resellers::add_host(&state.tenancy, &actor, &tid, form.get("hostname")).await?;
            Ok(detail_url(&tid))
        },
    )
    .await
}

#[handler]
async fn remove_host(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    let actor = user.0.email.clone();
    change(
        state,
        session,
        req,
        user,
        id,
        form,
        "flash.hostname_removed",
        |tid, form| async move {
            resellers::remove_host(&state.tenancy, &actor, &tid, form.get("hostname")).await?;
            Ok(detail_url(&tid))
        },
    )
    .await
}

#[handler]
async fn suspend(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    let actor = user.0.email.clone();
    change(
        state,
        session,
        req,
        user,
        id,
        form,
        "flash.reseller_suspended",
        |tid, _| async move {
            resellers::set_status(&state.tenancy, &actor, &tid, TenantStatus::Suspended).await?;
            Ok(detail_url(&tid))
        },
    )
    .await
}

#[handler]
async fn resume(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    let actor = user.0.email.clone();
    change(
        state,
        session,
        req,
        user,
        id,
        form,
        "flash.reseller_resumed",
        |tid, _| async move {
            resellers::set_status(&state.tenancy, &actor, &tid, TenantStatus::Active).await?;
            Ok(detail_url(&tid))
        },
    )
    .await
}

#[handler]
async fn delete(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    let actor = user.0.email.clone();
    change(
        state,
        session,
        req,
        user,
        id,
        form,
        "flash.reseller_deleted",
        |tid, form| async move {
            let tenant = state.tenancy.get(&tid).await?;
            if form.get("confirm").trim() != tenant.name {
                return Err(ResellerError::Invalid(
                    crate::validation::FieldErrors::single("confirm", "err.confirm_mismatch"),
                ));
            }
            resellers::delete(&state.tenancy, &actor, &tid).await?;
            Ok("/operator/resellers".to_owned())
        },
    )
    .await
}
