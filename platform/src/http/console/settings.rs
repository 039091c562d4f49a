//! Reseller settings: customer number prefix, default credit limit, currency, and the
//! sender of customer emails.

use super::{Can, ManageBranding, page};
use crate::app::AppState;
use crate::auth::{Email, csrf};
use crate::customers::{self, fields};
use crate::http::store::page::choices;
use crate::http::{FormData, flash, internal, redirect};
use crate::validation::{FieldErrors, parse_name};
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::Data;
use poem::{Request, Response, handler};
use serde_json::{Value, json};

fn render(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &super::StaffUser,
    values: Value,
    errors: &FieldErrors,
) -> poem::Result<Response> {
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let lang = p.lang.code();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    p.render_status(
        status,
        "console/settings.html",
        "title.settings",
        "settings",
        json!({ "values": values, "errors": errors.translated(lang), "currencies": choices(lang, fields::CURRENCIES) }),
    )
}

#[handler]
pub async fn show(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageBranding>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let s = customers::settings(&tx).await.map_err(internal)?;
    drop(tx);
    let values = json!({
        "customer_number_prefix": s.customer_number_prefix,
        "default_credit_limit": fields::format_amount(s.default_credit_limit_minor),
        "currency": s.currency,
        "mail_from_name": s.mail_from_name,
        "mail_from_address": s.mail_from_address,
        "order_activation": s.order_activation,
        "widget_origins": s.widget_origins.replace(',', "\n"),
        "sms_url": s.sms_url, "bureau_url": s.bureau_url,
        "bureau_threshold": fields::format_amount(s.bureau_threshold_minor),
        "score_limits": s.score_limits,
        "dns_template": crate::dns::template_lines(&crate::provisioning::template("@", s.dns_template.as_deref(), &state.config.dns)),
        "matomo_url": s.matomo_url, "matomo_site_id": s.matomo_site_id, "ga_id": s.ga_id,
    });
    render(state, session, req, &user, values, &FieldErrors::default())
}

#[handler]
pub async fn save(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageBranding>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let mut errors = FieldErrors::default();
    let prefix = form.get("customer_number_prefix").trim().to_owned();
    if prefix.is_empty() || prefix.len() > 12 || !prefix.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        errors.add("customer_number_prefix", "err.prefix");
    }
    let limit = fields::parse_amount(form.get("default_credit_limit"));
    if limit.is_none() {
        errors.add("default_credit_limit", "err.amount");
    }
    let currency = form.get("currency").to_owned();
    if !fields::is_choice(fields::CURRENCIES, &currency) {
        errors.add("currency", "err.choice");
    }
    let name = match form.get("mail_from_name").trim() {
        "" => None,
        n => parse_name(n).or_else(|| {
            errors.add("mail_from_name", "err.name_length");
            None
        }),
    };
    let address = match form.get("mail_from_address").trim() {
        "" => None,
        a => Email::parse(a).map(|e| e.to_string()).or_else(|| {
            errors.add("mail_from_address", "err.email");
            None
        }),
    };
    let activation = form.get("order_activation").to_owned();
    if !matches!(activation.as_str(), "auto" | "manual" | "sms") {
        errors.add("order_activation", "err.choice");
    }
    let url = |field: &str, errors: &mut FieldErrors| match form.get(field).trim() {
        "" => None,
        u if (u.starts_with("https://") || u.starts_with("http://"))
            && u.len() <= 500
            && !u.contains(char::is_whitespace) =>
        {
            // Only a peer the outbound client may reach (`crate::outbound`):
            // said here rather than when a customer checks out.
            if state.outbound.policy().check_str(u).is_err() {
                errors.add(field, "err.url_unreachable");
                return None;
            }
            Some(u.to_owned())
        }
        _ => {
            errors.add(field, "err.url");
            None
        }
    };
    let sms_url = url("sms_url", &mut errors);
    let bureau_url = url("bureau_url", &mut errors);
    let threshold = match form.get("bureau_threshold").trim() {
        "" => Some(0),
        v => fields::parse_amount(v),
    };
    if threshold.is_none() {
        errors.add("bureau_threshold", "err.amount");
    }
    let score_limits = match crate::orders::hooks::parse_score_limits(form.get("score_limits")) {
        Some(bands) => bands
            .iter()
            .map(|(score, limit)| format!("{score}:{}", crate::billing::money::decimal(*limit)))
            .collect::<Vec<_>>()
            .join(", "),
        None => {
            errors.add("score_limits", "err.score_limits");
            String::new()
        }
    };
    let dns_template = match crate::dns::parse_template(form.get("dns_template")) {
        Ok(list) if list.is_empty() => None,
        Ok(list) => Some(serde_json::to_string(&list).unwrap_or_default()),
        Err((_, code)) => {
            errors.add("dns_template", &code);
            None
        }
    };
    let matomo_url = url("matomo_url", &mut errors);
    let opt = |field: &str, ok: fn(&str) -> bool, errors: &mut FieldErrors| match form
        .get(field)
        .trim()
    {
        "" => None,
        v if ok(v) => Some(v.to_owned()),
        _ => {
            errors.add(field, "err.analytics_id");
            None
        }
    };
    let matomo_site_id = opt(
        "matomo_site_id",
        |v| v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit()),
        &mut errors,
    );
    let ga_id = opt(
        "ga_id",
        |v| {
            (v.starts_with("G-") || v.starts_with("UA-"))
                && v.len() <= 20
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        },
        &mut errors,
    );
    if matomo_url.is_some() != matomo_site_id.is_some() && errors.is_empty() {
        errors.add("matomo_site_id", "err.analytics_pair");
    }
    let origins = customers::parse_origins(form.get("widget_origins"))
        .map_err(|code| errors.add("widget_origins", code))
        .unwrap_or_default();
    let (Some(limit), true) = (limit, errors.is_empty()) else {
        let values = json!({
            "customer_number_prefix": form.get("customer_number_prefix"), "default_credit_limit": form.get("default_credit_limit"),
            "currency": currency, "mail_from_name": form.get("mail_from_name"), "mail_from_address": form.get("mail_from_address"),
            "order_activation": activation, "widget_origins": form.get("widget_origins"),
            "sms_url": form.get("sms_url"), "bureau_url": form.get("bureau_url"),
            "bureau_threshold": form.get("bureau_threshold"), "score_limits": form.get("score_limits"),
            "dns_template": form.get("dns_template"), "matomo_url": form.get("matomo_url"),
            "matomo_site_id": form.get("matomo_site_id"), "ga_id": form.get("ga_id"),
        });
        return render(state, session, req, &user, values, &errors);
    };
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let change = customers::SettingsChange {
        customer_number_prefix: prefix,
        default_credit_limit_minor: limit,
        currency,
        mail_from_name: name,
        mail_from_address: address,
        order_activation: activation,
        widget_origins: origins,
        sms_url,
        bureau_url,
        bureau_threshold_minor: threshold.unwrap_or(0),
        score_limits,
        dns_template,
        matomo_url,
        matomo_site_id,
        ga_id,
    };
    customers::update_settings(
        &tx,
        &user.member.email,
        Some(&crate::http::store::account::client_ip(req)),
        change,
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    flash(session, "success", p.t("flash.settings_saved"));
    Ok(redirect("/console/settings"))
}
