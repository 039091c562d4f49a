use super::{OperatorUser, flash_ok, page};
use crate::api_keys::{self, Realm};
use crate::app::AppState;
use crate::audit::{self, Change};
use crate::auth::csrf;
use crate::http::keys::{KeysView, field_errors, render};
use crate::http::{FormData, internal, redirect};
use crate::validation::FieldErrors;
use poem::session::Session;
use poem::web::{Data, Path};
use poem::{Request, Response, Route, get, handler, post};
use serde_json::json;

const BASE: &str = "/operator/api-keys";

pub fn routes() -> Route {
    Route::new()
        .at("/", get(list).post(create))
        .at("/:id/revoke", post(revoke))
}

#[handler]
async fn list(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
) -> poem::Result<Response> {
    let keys = api_keys::list(state.tenancy.backend().shared(), Realm::Operator)
        .await
        .map_err(internal)?;
    let view = KeysView {
        realm: Realm::Operator,
        base_path: BASE,
        keys,
        new_key: None,
        values: json!({}),
        errors: FieldErrors::default(),
        role: None,
    };
    render(&page(state, session, req, Some(&user.0)), view)
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
    let db = state.tenancy.backend().shared();
    let created = api_keys::create(
        db,
        Realm::Operator,
        form.get("name"),
        &form.all("scopes"),
        &user.0.email,
        None,
    )
    .await;
    let (new_key, errors) = match created {
        Ok((key, plaintext)) => {
            audit::record_operator(
                db,
                None,
                Change::new(&user.0.email, "api_key.create", &key.id).after(&key),
            )
            .await
            .map_err(internal)?;
            (Some(plaintext), FieldErrors::default())
        }
        Err(e) => (None, field_errors(&e).ok_or_else(|| internal(e))?),
    };
    let keys = api_keys::list(db, Realm::Operator)
        .await
        .map_err(internal)?;
    let values = if errors.is_empty() {
        json!({})
    } else {
        json!({ "name": form.get("name") })
    };
    let view = KeysView {
        realm: Realm::Operator,
        base_path: BASE,
        keys,
        new_key,
        values,
        errors,
        role: None,
    };
    render(&page(state, session, req, Some(&user.0)), view)
}

#[handler]
async fn revoke(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let db = state.tenancy.backend().shared();
    if let Some(key) = api_keys::revoke(db, Realm::Operator, &id)
        .await
        .map_err(internal)?
    {
        audit::record_operator(
            db,
            None,
            Change::new(&user.0.email, "api_key.revoke", &key.id).before(&key),
        )
        .await
        .map_err(internal)?;
        flash_ok(
            session,
            &page(state, session, req, Some(&user.0)),
            "flash.key_revoked",
        );
    }
    Ok(redirect(BASE))
}
