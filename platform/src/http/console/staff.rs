//! Staff management (A13): the owner invites members by email and sets their roles.

use super::{Can, ManageStaff, page};
use crate::app::AppState;
use crate::auth::{Email, Password, csrf};
use crate::http::store::account::client_ip;
use crate::http::{FormData, flash, internal, redirect, tenant_of};
use crate::mail::Mail;
use crate::resellers::password_code;
use crate::staff::{self, Role};
use crate::tokens::{self, Purpose};
use crate::validation::{FieldErrors, parse_name};
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, Route, get, handler, post};
use serde_json::{Value, json};

pub fn routes() -> Route {
    Route::new()
        .at("/", get(list).post(invite))
        .at("/security", post(security))
        .at("/:id/role", post(set_role))
        .at("/:id/remove", post(remove))
}

async fn render(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &super::StaffUser,
    values: Value,
    errors: &FieldErrors,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let members = staff::list(&tx).await.map_err(internal)?;
    let require_totp = crate::customers::settings(&tx)
        .await
        .map_err(internal)?
        .require_staff_totp;
    drop(tx);
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let lang = p.lang.code();
    let rows: Vec<Value> = members
        .iter()
        .map(|m| json!({ "id": m.id, "email": m.email, "name": m.name, "role": m.role.as_str(), "totp": m.totp, "is_self": m.id == user.member.id }))
        .collect();
    let roles: Vec<Value> = Role::ASSIGNABLE
        .iter()
        .map(|r| json!({ "value": r.as_str(), "label": p.t(&format!("role.{}", r.as_str())) }))
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    p.render_status(
        status,
        "console/staff.html",
        "title.staff",
        "staff",
        json!({ "members": rows, "roles": roles, "values": values, "errors": errors.translated(lang), "require_totp": require_totp }),
    )
}

#[handler]
async fn list(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageStaff>,
) -> poem::Result<Response> {
    render(
        state,
        session,
        req,
        &user,
        json!({ "role": "support" }),
        &FieldErrors::default(),
    )
    .await
}

#[handler]
async fn invite(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageStaff>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let mut errors = FieldErrors::default();
    let email = Email::parse(form.get("email"));
    if email.is_none() {
        errors.add("email", "err.email");
    }
    let role = Role::parse(form.get("role")).filter(|r| *r != Role::Owner);
    if role.is_none() {
        errors.add("role", "err.role");
    }
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    if let Some(e) = &email
        && staff::find_by_email(&tx, e.as_str())
            .await
            .map_err(internal)?
            .is_some()
    {
        errors.add("email", "err.staff_exists");
    }
    let (Some(email), Some(role), true) = (email, role, errors.is_empty()) else {
        drop(tx);
        return render(
            state,
            session,
            req,
            &user,
            json!({ "email": form.get("email"), "role": form.get("role") }),
            &errors,
        )
        .await;
    };
    let subject = format!("{}|{}", email.as_str().to_lowercase(), role.as_str());
    let token = tokens::issue(&tx, Purpose::StaffInvite, &subject)
        .await
        .map_err(internal)?;
    let link = crate::http::link_for_mail(
        state,
        &user.tenant,
        req,
        &format!("/console/invite?token={token}"),
    );
    let lang = crate::http::lang_of(req);
    let role_label = relabel_admin_ui::t(lang.code(), &format!("role.{}", role.as_str()));
    let data = json!({ "brand_name": user.tenant.name, "inviter": user.member.email, "role": role_label, "link": link, "expires_hours": 168 });
    let look = state.look(&user.tenant).await.map_err(internal)?;
    let (subject_line, body) = state
        .themes
        .render_email("staff_invite", lang, &data, look.custom.as_ref())
        .map_err(internal)?;
    let host = user.tenant.hostnames.first().cloned().unwrap_or_default();
    let from = format!(
        "\"{}\" <noreply@{host}>",
        user.tenant.name.replace(['"', '<', '>'], "")
    );
    state
        .mailer
        .queue(
            &tx,
            Mail {
                to: email.to_string(),
                from,
                subject: subject_line,
                body,
            },
        )
        .await
        .map_err(internal)?;
    crate::audit::record_tenant(
        &tx,
        crate::audit::Change::new(&user.member.email, "staff.invite", email.as_str())
            .ip(Some(&client_ip(req)))
            .after(role.as_str()),
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    state.mailer.kick(&state.tenancy, &user.tenant);
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    flash(session, "success", p.t("flash.staff_invited"));
    Ok(redirect("/console/staff"))
}

#[handler]
async fn set_role(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageStaff>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let role = Role::parse(form.get("role"))
        .ok_or_else(|| poem::Error::from_status(StatusCode::UNPROCESSABLE_ENTITY))?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let changed = staff::set_role(&tx, &user.member.email, Some(&client_ip(req)), &id, role)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    if changed.is_none() {
        return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
    }
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    flash(session, "success", p.t("flash.staff_role_changed"));
    Ok(redirect("/console/staff"))
}

#[handler]
async fn remove(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageStaff>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    if id == user.member.id {
        return Err(poem::Error::from_status(StatusCode::UNPROCESSABLE_ENTITY));
    }
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let removed = staff::remove(&tx, &user.member.email, Some(&client_ip(req)), &id)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    if !removed {
        return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
    }
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    flash(session, "success", p.t("flash.staff_removed"));
    Ok(redirect("/console/staff"))
}

#[derive(serde::Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// The invitation link: choose a name and password, then sign in.
#[handler]
pub async fn accept_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    Query(q): Query<TokenQuery>,
) -> poem::Result<Response> {
    let tenant = tenant_of(req)?;
    let token = q.token.unwrap_or_default();
    let tx = state.tenancy.begin(&tenant).await.map_err(internal)?;
    let subject = tokens::peek(&tx, Purpose::StaffInvite, &token)
        .await
        .map_err(internal)?;
    drop(tx);
    let Some((email, _)) = subject.as_deref().and_then(|s| s.split_once('|')) else {
        return Err(poem::Error::from_string(
            relabel_admin_ui::t(crate::http::lang_of(req).code(), "acct.link_invalid.text"),
            StatusCode::BAD_REQUEST,
        ));
    };
    let action = format!("/console/invite?token={token}");
    super::page(state, session, req, &tenant, None).render(
        "console/invite_accept.html",
        "title.invite_accept",
        "",
        json!({ "email": email, "action": action }),
    )
}

#[handler]
pub async fn accept(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    Query(q): Query<TokenQuery>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let tenant = tenant_of(req)?;
    let token = q.token.unwrap_or_default();
    let mut errors = FieldErrors::default();
    let name = parse_name(form.get("name"));
    if name.is_none() {
        errors.add("name", "err.name_length");
    }
    let password = Password::parse(form.get("password"))
        .map_err(|e| errors.add("password", password_code(e)))
        .ok();
    let tx = state.tenancy.begin(&tenant).await.map_err(internal)?;
    let (Some(name), Some(password), true) = (name, password, errors.is_empty()) else {
        let subject = tokens::peek(&tx, Purpose::StaffInvite, &token)
            .await
            .map_err(internal)?
            .unwrap_or_default();
        drop(tx);
        let email = subject.split('|').next().unwrap_or_default().to_owned();
        let p = super::page(state, session, req, &tenant, None);
        let lang = p.lang.code();
        return p.render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "console/invite_accept.html",
            "title.invite_accept",
            "",
            json!({ "email": email, "action": format!("/console/invite?token={token}"), "values": { "name": form.get("name") }, "errors": errors.translated(lang) }),
        );
    };
    let subject = tokens::consume(&tx, Purpose::StaffInvite, &token)
        .await
        .map_err(internal)?;
    let Some((email, role)) = subject.as_deref().and_then(|s| s.split_once('|')) else {
        return Err(poem::Error::from_status(StatusCode::BAD_REQUEST));
    };
    let (Some(email), Some(role)) = (Email::parse(email), Role::parse(role)) else {
        return Err(poem::Error::from_status(StatusCode::BAD_REQUEST));
    };
    let member = staff::create_invited(&tx, &email, &name, &password, role)
        .await
        .map_err(internal)?;
    crate::audit::record_tenant(
        &tx,
        crate::audit::Change::new(email.as_str(), "staff.join", email.as_str())
            .entity("staff", &member.id)
            .after(role.as_str()),
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(redirect("/console/login"))
}

/// Turns the reseller-wide second-factor requirement on or off.
#[handler]
async fn security(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageStaff>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let required = form.get("require_totp") == "1";
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    crate::customers::set_require_staff_totp(
        &tx,
        &user.member.email,
        Some(&client_ip(req)),
        required,
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    flash(session, "success", p.t("flash.settings_saved"));
    Ok(redirect("/console/staff"))
}
