use super::{OperatorUser, flash_ok, page};
use crate::app::AppState;
use crate::auth::csrf;
use crate::http::{FormData, internal, redirect};
use crate::resellers::{self, NewReseller, ResellerError, public_id};
use crate::validation::FieldErrors;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path};
use poem::{Request, Response, Route, get, handler, post};
use relabel_tenants::{Tenant, TenantId, TenantStatus};
use serde_json::{Value, json};

pub fn routes() -> Route {
    Route::new()
        .at("/", get(list).post(create))
        .at("/:id", get(show))
        .at("/:id/hosts/remove", post(remove_host))
        .at("/:id/:action", post(act))
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

/// A change to one reseller, posted from its detail page.
#[derive(Clone, Copy)]
enum Action {
    AddHost,
    RemoveHost,
    Suspend,
    Resume,
    Delete,
}

impl Action {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "hosts" => Self::AddHost,
            "suspend" => Self::Suspend,
            "resume" => Self::Resume,
            "delete" => Self::Delete,
            _ => return None,
        })
    }

    fn done_key(self) -> &'static str {
        match self {
            Self::AddHost => "flash.hostname_added",
            Self::RemoveHost => "flash.hostname_removed",
            Self::Suspend => "flash.reseller_suspended",
            Self::Resume => "flash.reseller_resumed",
            Self::Delete => "flash.reseller_deleted",
        }
    }

    /// Applies the change; returns where to go next.
    async fn run(
        self,
        state: &AppState,
        actor: &str,
        tid: &TenantId,
        form: &FormData,
    ) -> Result<String, ResellerError> {
        let t = &state.tenancy;
        match self {
            Self::AddHost => resellers::add_host(t, actor, tid, form.get("hostname"))
                .await
                .map(|_| ())?,
            Self::RemoveHost => resellers::remove_host(t, actor, tid, form.get("hostname"))
                .await
                .map(|_| ())?,
            Self::Suspend => resellers::set_status(t, actor, tid, TenantStatus::Suspended)
                .await
                .map(|_| ())?,
            Self::Resume => resellers::set_status(t, actor, tid, TenantStatus::Active)
                .await
                .map(|_| ())?,
            Self::Delete => {
                let tenant = t.get(tid).await?;
                if form.get("confirm").trim() != tenant.name {
                    return Err(ResellerError::Invalid(FieldErrors::single(
                        "confirm",
                        "err.confirm_mismatch",
                    )));
                }
                resellers::delete(t, actor, tid).await?;
                return Ok("/operator/resellers".to_owned());
            }
        }
        Ok(format!("/operator/resellers/{}", public_id(tid)))
    }
}

#[handler]
async fn act(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    Path((id, action)): Path<(String, String)>,
    form: FormData,
) -> poem::Result<Response> {
    let action =
        Action::parse(&action).ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    apply(state, session, req, user, &id, action, form).await
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
    apply(state, session, req, user, &id, Action::RemoveHost, form).await
}

/// CSRF check, the change, then a redirect with a flash message, or the detail page
/// again with the field errors.
async fn apply(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    id: &str,
    action: Action,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let tid =
        resellers::parse_id(id).map_err(|_| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    match action.run(state, &user.0.email, &tid, &form).await {
        Ok(to) => {
            let p = page(state, session, req, Some(&user.0));
            flash_ok(session, &p, action.done_key());
            Ok(redirect(&to))
        }
        Err(ResellerError::Invalid(errors)) => {
            let lang = crate::http::lang_of(req);
            let extra = json!({ "values": { "hostname": form.get("hostname") }, "errors": errors.translated(lang.code()) });
            render_show(
                state,
                session,
                req,
                &user,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                extra,
            )
            .await
        }
        Err(ResellerError::NotFound) => Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
        Err(e) => Err(internal(e)),
    }
}
