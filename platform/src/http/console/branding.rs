use super::{Can, ManageBranding, StaffUser, page};
use crate::app::AppState;
use crate::auth::csrf;
use crate::branding::{self, BrandingInput};
use crate::http::{flash, internal, redirect, tenant_brand};
use crate::validation::FieldErrors;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Multipart};
use poem::{Request, Response, handler};
use serde_json::{Value, json};

fn render(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &StaffUser,
    values: Value,
    errors: &FieldErrors,
) -> poem::Result<Response> {
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let brand = tenant_brand(&user.tenant);
    p.render_status(
        status,
        "console/branding.html",
        "title.branding",
        "branding",
        json!({ "values": values, "errors": errors.translated(p.lang.code()), "logo_url": brand["logo_url"] }),
    )
}

#[handler]
pub fn show(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageBranding>,
) -> poem::Result<Response> {
    let t = &user.tenant;
    let values = json!({ "name": t.name, "primary_color": t.brand.primary_color, "accent_color": t.brand.accent_color });
    render(state, session, req, &user, values, &FieldErrors::default())
}

#[handler]
pub async fn save(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageBranding>,
    multipart: Multipart,
) -> poem::Result<Response> {
    let max = state.config.max_logo_bytes;
    let (fields, logo) = crate::http::read_multipart(multipart, 64 * 1024, "logo", max).await?;
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    csrf::verify(session, fields.get("csrf").map(String::as_str))?;
    let input = BrandingInput {
        name: get("name"),
        primary_color: get("primary_color"),
        accent_color: get("accent_color"),
        logo,
        remove_logo: !get("remove_logo").is_empty(),
    };
    let values = json!({ "name": input.name, "primary_color": input.primary_color, "accent_color": input.accent_color });
    match branding::validate(input, max) {
        Ok(valid) => {
            branding::apply(
                &state.tenancy,
                &user.tenant,
                &user.member.email,
                Some(&crate::http::store::account::client_ip(req)),
                valid,
            )
            .await
            .map_err(internal)?;
            let p = page(state, session, req, &user.tenant, Some(&user.member));
            flash(session, "success", p.t("flash.branding_saved"));
            Ok(redirect("/console/branding"))
        }
        Err(errors) => render(state, session, req, &user, values, &errors),
    }
}
