use super::{Can, ManageApiKeys, page};
use crate::api_keys::{self, Realm};
use crate::app::AppState;
use crate::audit::{self, Change};
use crate::auth::csrf;
use crate::http::keys::{KeysView, field_errors, render};
use crate::http::store::account::client_ip;
use crate::http::{FormData, flash, internal, redirect};
use crate::validation::FieldErrors;
use poem::session::Session;
use poem::web::{Data, Path};
use poem::{Request, Response, Route, get, handler, post};
use serde_json::json;

const BASE: &str = "/console/api-keys";

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
    user: Can<ManageApiKeys>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let keys = api_keys::list(tx.conn(), Realm::Tenant)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    let view = KeysView {
        realm: Realm::Tenant,
        base_path: BASE,
        keys,
        new_key: None,
        values: json!({}),
        errors: FieldErrors::default(),
        role: Some(user.member.role),
    };
    render(
        &page(state, session, req, &user.tenant, Some(&user.member)),
        view,
    )
}

#[handler]
async fn create(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageApiKeys>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let created = api_keys::create(
        tx.conn(),
        Realm::Tenant,
        form.get("name"),
        &form.all("scopes"),
        &user.member.email,
        Some(user.member.role),
    )
    .await;
    let (new_key, errors) = match created {
        Ok((key, plaintext)) => {
            audit::record_tenant(
                &tx,
                Change::new(&user.member.email, "api_key.create", &key.id)
                    .ip(Some(&client_ip(req)))
                    .after(&key),
            )
            .await
            .map_err(internal)?;
            (Some(plaintext), FieldErrors::default())
        }
        Err(e) => (None, field_errors(&e).ok_or_else(|| internal(e))?),
    };
    let keys = api_keys::list(tx.conn(), Realm::Tenant)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    let values = if errors.is_empty() {
        json!({})
    } else {
        json!({ "name": form.get("name"), "scopes": form.all("scopes") })
    };
    let view = KeysView {
        realm: Realm::Tenant,
        base_path: BASE,
        keys,
        new_key,
        values,
        errors,
        role: Some(user.member.role),
    };
    render(
        &page(state, session, req, &user.tenant, Some(&user.member)),
        view,
    )
}

#[handler]
async fn revoke(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageApiKeys>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    if let Some(key) = api_keys::revoke(tx.conn(), Realm::Tenant, &id)
        .await
        .map_err(internal)?
    {
        audit::record_tenant(
            &tx,
            Change::new(&user.member.email, "api_key.revoke", &key.id)
                .ip(Some(&client_ip(req)))
                .before(&key),
        )
        .await
        .map_err(internal)?;
        let p = page(state, session, req, &user.tenant, Some(&user.member));
        flash(session, "success", p.t("flash.key_revoked"));
    }
    tx.commit().await.map_err(internal)?;
    Ok(redirect(BASE))
}
