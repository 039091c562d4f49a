//! Server pools (V7): per product the servers accounts are created on, with
//! capacity, use and the panel endpoint; the operator adds servers and takes
//! them in or out of rotation (audited).

use super::{OperatorUser, page};
use crate::app::AppState;
use crate::auth::csrf;
use crate::hosting::{self, POOL_KINDS};
use crate::http::{FormData, flash, internal, redirect};
use crate::validation::FieldErrors;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

async fn render(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &OperatorUser,
    status: StatusCode,
    values: Value,
    errors: Value,
) -> poem::Result<Response> {
    let shared = state.tenancy.backend().shared();
    let products: Vec<Value> = crate::catalog::entity::product::Entity::find()
        .all(shared)
        .await
        .map_err(internal)?
        .into_iter()
        .filter(|p| POOL_KINDS.contains(&p.kind.as_str()))
        .map(|p| json!({"id": p.id, "name": p.name, "kind": p.kind}))
        .collect();
    let servers = hosting::servers(shared).await.map_err(internal)?;
    page(state, session, req, Some(&user.0)).render_status(
        status,
        "operator/pools.html",
        "title.pools",
        "pools",
        json!({ "servers": servers, "products": products, "values": values, "errors": errors }),
    )
}

#[handler]
pub async fn show(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
) -> poem::Result<Response> {
    render(
        state,
        session,
        req,
        &user,
        StatusCode::OK,
        json!({}),
        json!({}),
    )
    .await
}

#[handler]
pub async fn add(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let shared = state.tenancy.backend().shared();
    let mut errors = FieldErrors::default();
    let product = form.get("product_id").trim();
    let known = crate::catalog::entity::product::Entity::find_by_id(product.to_owned())
        .one(shared)
        .await
        .map_err(internal)?
        .is_some_and(|p| POOL_KINDS.contains(&p.kind.as_str()));
    if !known {
        errors.add("product_id", "err.pool_product");
    }
    let name = form.get("name").trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.add("name", "err.name_length");
    }
    let capacity = form
        .get("capacity")
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|c| (1..=100_000).contains(c));
    if capacity.is_none() {
        errors.add("capacity", "err.pool_capacity");
    }
    let url = form.get("api_url").trim();
    let url_ok = reqwest::Url::parse(url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if !url_ok {
        errors.add("api_url", "err.pool_url");
    }
    let token = form.get("api_token").trim();
    if token.len() < 8 {
        errors.add("api_token", "err.pool_token");
    }
    let lang = crate::http::lang_of(req).code();
    if !errors.is_empty() {
        let values = json!({"product_id": product, "name": name, "capacity": form.get("capacity"), "api_url": url});
        return render(
            state,
            session,
            req,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            values,
            json!(errors.translated(lang)),
        )
        .await;
    }
    let server = hosting::add_server(
        shared,
        &state.sealer,
        product,
        name,
        capacity.unwrap_or(1),
        url,
        token,
    )
    .await
    .map_err(internal)?;
    crate::audit::record_operator(
        shared,
        None,
        crate::audit::Change::new(&user.0.email, "pool.server_added", &server.name)
            .entity("hosting_server", &server.id)
            .after(json!({"product_id": server.product_id, "capacity": server.capacity, "api_url": server.api_url})),
    )
    .await
    .map_err(internal)?;
    flash(
        session,
        "success",
        relabel_admin_ui::t(lang, "flash.pool_saved"),
    );
    Ok(redirect("/operator/pools"))
}

#[handler]
pub async fn toggle(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let shared = state.tenancy.backend().shared();
    let active = form.opt("active") == Some("1");
    if !hosting::set_active(shared, &id, active)
        .await
        .map_err(internal)?
    {
        return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
    }
    crate::audit::record_operator(
        shared,
        None,
        crate::audit::Change::new(
            &user.0.email,
            if active {
                "pool.server_on"
            } else {
                "pool.server_off"
            },
            &id,
        )
        .entity("hosting_server", &id),
    )
    .await
    .map_err(internal)?;
    let lang = crate::http::lang_of(req).code();
    flash(
        session,
        "success",
        relabel_admin_ui::t(lang, "flash.pool_saved"),
    );
    Ok(redirect("/operator/pools"))
}
