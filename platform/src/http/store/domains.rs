//! The customer center's domains and services (C2, C3, C9, V4, V5): the list,
//! one domain with its DNS records (edited with validation, pushed to the DNS
//! server by a durable job), AuthCode request with transfer release, transfer
//! lock, and own nameservers with glue. Only the signed-in customer's domains
//! are found; anything else is 404.

use super::account::CustomerUser;
use super::page::StoreCtx;
use crate::app::AppState;
use crate::auth::csrf;
use crate::dns::{self, Record};
use crate::domains::registrar::RegistrarError;
use crate::http::{FormData, flash, internal, redirect};
use crate::provisioning::{self, domain, handler::random_auth_code, record_op};
use crate::validation::FieldErrors;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path};
use poem::{Request, Response, Route, get, handler, post};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use std::net::IpAddr;

pub fn routes(r: Route) -> Route {
    r.at("/domains", get(domains_page))
        .at("/domains/:name", get(detail))
        .at("/domains/:name/records", post(save_records))
        .at("/domains/:name/authcode", post(request_auth_code))
        .at("/domains/:name/lock", post(set_lock))
        .at("/domains/:name/nameservers", post(set_nameservers))
}

/// Empty rows offered below the records for new entries.
const NEW_ROWS: usize = 3;
const MAX_RECORDS: usize = 200;

#[handler]
async fn domains_page(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let domains = provisioning::customer_domains(&tx, &user.customer.id)
        .await
        .map_err(internal)?;
    let services = provisioning::customer_services(&tx, &user.customer.id)
        .await
        .map_err(internal)?;
    drop(tx);
    let domains: Vec<Value> = domains.iter().map(domain_json).collect();
    let ctx = StoreCtx {
        state,
        session,
        req,
        tenant: user.tenant.clone(),
        customer: Some(&user.customer),
    };
    ctx.render(
        StatusCode::OK,
        "account/domains.html",
        json!({ "domains": domains, "services": services }),
    )
}

fn domain_json(d: &domain::Model) -> Value {
    json!({
        "name": d.name,
        "display": idna::domain_to_unicode(&d.name).0,
        "status": d.status,
        "expires": d.expires_at.map(|e| e.format("%Y-%m-%d").to_string()),
        "transfer_lock": d.transfer_lock,
        "own_nameservers": d.own_nameservers,
        "nameservers": provisioning::nameservers_of(d),
    })
}

async fn own_domain(
    state: &AppState,
    user: &CustomerUser,
    name: &str,
) -> poem::Result<(domain::Model, Vec<Record>)> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let Some(d) = provisioning::for_customer(&tx, &user.customer.id, &name.to_ascii_lowercase())
        .await
        .map_err(internal)?
    else {
        return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
    };
    let records = provisioning::records(&tx, &d.id).await.map_err(internal)?;
    Ok((d, records))
}

#[handler]
async fn detail(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
    Path(name): Path<String>,
) -> poem::Result<Response> {
    let (d, records) = own_domain(state, &user, &name).await?;
    render(
        state,
        session,
        req,
        &user,
        &d,
        StatusCode::OK,
        &records,
        json!({}),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &CustomerUser,
    d: &domain::Model,
    status: StatusCode,
    records: &[Record],
    errors: Value,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let ops = provisioning::ops(&tx, &d.id).await.map_err(internal)?;
    drop(tx);
    let mut rows: Vec<Value> = records.iter().map(|r| json!(r)).collect();
    rows.extend(
        (0..NEW_ROWS).map(
            |_| json!({"name": "", "rtype": "", "ttl": 3600, "priority": null, "content": ""}),
        ),
    );
    // The AuthCode is shown for a day after it was requested.
    let auth_code = d
        .auth_code
        .as_ref()
        .zip(d.auth_code_at)
        .filter(|(_, at)| *at > chrono::Utc::now() - chrono::Duration::days(1))
        .map(|(c, _)| c.clone());
    let ctx = StoreCtx {
        state,
        session,
        req,
        tenant: user.tenant.clone(),
        customer: Some(&user.customer),
    };
    ctx.render(
        status,
        "account/domain.html",
        json!({
            "domain": domain_json(d),
            "records": rows,
            "types": dns::TYPES,
            "errors": errors,
            "auth_code": auth_code,
            "editable": d.status == "active" && !d.own_nameservers,
            "ops": ops.iter().take(20).map(|o| json!({"op": o.op, "code": o.result_code, "at": o.at.format("%Y-%m-%d %H:%M").to_string()})).collect::<Vec<_>>(),
        }),
    )
}

/// Reads `records.N.*` rows of the form; rows left completely empty are dropped.
fn form_records(form: &FormData) -> Result<Vec<Record>, FieldErrors> {
    let mut out = Vec::new();
    let mut errors = FieldErrors::default();
    for i in 0..MAX_RECORDS + NEW_ROWS {
        let get = |f: &str| form.opt(&format!("records.{i}.{f}")).map(str::trim);
        let (Some(rtype), content) = (get("rtype"), get("content").unwrap_or_default()) else {
            continue;
        };
        let name = get("name").unwrap_or_default();
        if rtype.is_empty() && content.is_empty() && name.is_empty() {
            continue;
        }
        if get("delete").is_some() {
            continue;
        }
        let ttl = match get("ttl").unwrap_or("3600").parse::<u32>() {
            Ok(t) => t,
            Err(_) => {
                errors.add(&format!("records.{}.ttl", out.len()), "err.dns_ttl");
                continue;
            }
        };
        let priority = match get("priority").filter(|p| !p.is_empty()) {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(p) => Some(p),
                Err(_) => {
                    errors.add(
                        &format!("records.{}.priority", out.len()),
                        "err.dns_priority",
                    );
                    continue;
                }
            },
        };
        out.push(Record {
            name: name.to_owned(),
            rtype: rtype.to_owned(),
            ttl,
            priority,
            content: content.to_owned(),
        });
    }
    if out.len() > MAX_RECORDS {
        errors.add("records", "err.dns_too_many");
    }
    errors.into_result().map(|_| out)
}

#[handler]
async fn save_records(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
    Path(name): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let lang = crate::http::lang_of(req).code();
    let (d, _) = own_domain(state, &user, &name).await?;
    if d.status != "active" || d.own_nameservers {
        return Err(poem::Error::from_status(StatusCode::CONFLICT));
    }
    let submitted = form_records(&form);
    let checked = submitted
        .clone()
        .and_then(|records| dns::check(&d.name, &records));
    let records = match checked {
        Ok(r) => r,
        Err(errors) => {
            let shown = submitted.unwrap_or_default();
            return render(
                state,
                session,
                req,
                &user,
                &d,
                StatusCode::UNPROCESSABLE_ENTITY,
                &shown,
                json!(errors.translated(lang)),
            )
            .await;
        }
    };
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    provisioning::set_records(&tx, &d.id, &records)
        .await
        .map_err(internal)?;
    record_op(
        &tx,
        &d.id,
        "records",
        None,
        &format!("{} records saved", records.len()),
        &user.customer.email,
    )
    .await
    .map_err(internal)?;
    provisioning::handler::queue_zone_push(&tx, &d)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    flash(
        session,
        "success",
        relabel_themes::t(crate::http::lang_of(req), "domains.records_saved"),
    );
    Ok(redirect(&format!("/account/domains/{}", d.name)))
}

fn registry_message(lang: relabel_themes::Lang, e: &RegistrarError) -> String {
    let key = if e.is_transient() {
        "domains.registry_down"
    } else {
        "domains.registry_refused"
    };
    format!("{} ({e})", relabel_themes::t(lang, key))
}

/// C9: a new AuthCode is set at the registry and shown; the transfer lock is
/// lifted so the domain can move to another provider.
#[handler]
async fn request_auth_code(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
    Path(name): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let (d, _) = own_domain(state, &user, &name).await?;
    if d.status != "active" {
        return Err(poem::Error::from_status(StatusCode::CONFLICT));
    }
    let registrar = state.registries.registrar();
    let code = random_auth_code();
    let result = match registrar.set_auth_code(&d.name, &code).await {
        Ok(()) if d.transfer_lock => registrar.set_transfer_lock(&d.name, false).await,
        other => other,
    };
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let actor = user.customer.email.as_str();
    match &result {
        Ok(()) => {
            record_op(
                &tx,
                &d.id,
                "authcode",
                Some(1000),
                "AuthCode set, transfer lock off",
                actor,
            )
            .await
            .map_err(internal)?;
            domain::ActiveModel {
                id: Set(d.id.clone()),
                auth_code: Set(Some(code)),
                auth_code_at: Set(Some(chrono::Utc::now())),
                transfer_lock: Set(false),
                updated_at: Set(chrono::Utc::now()),
                ..Default::default()
            }
            .update(tx.conn())
            .await
            .map_err(internal)?;
            flash(
                session,
                "success",
                relabel_themes::t(crate::http::lang_of(req), "domains.authcode_set"),
            );
        }
        Err(e) => {
            record_op(&tx, &d.id, "authcode", e.code(), &e.to_string(), actor)
                .await
                .map_err(internal)?;
            flash(
                session,
                "error",
                registry_message(crate::http::lang_of(req), e),
            );
        }
    }
    tx.commit().await.map_err(internal)?;
    Ok(redirect(&format!("/account/domains/{}", d.name)))
}

#[handler]
async fn set_lock(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
    Path(name): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let (d, _) = own_domain(state, &user, &name).await?;
    if d.status != "active" {
        return Err(poem::Error::from_status(StatusCode::CONFLICT));
    }
    let locked = form.opt("locked") == Some("1");
    let result = state
        .registries
        .registrar()
        .set_transfer_lock(&d.name, locked)
        .await;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let op = if locked { "lock_on" } else { "lock_off" };
    match &result {
        Ok(()) => {
            record_op(&tx, &d.id, op, Some(1000), "ok", &user.customer.email)
                .await
                .map_err(internal)?;
            domain::ActiveModel {
                id: Set(d.id.clone()),
                transfer_lock: Set(locked),
                updated_at: Set(chrono::Utc::now()),
                ..Default::default()
            }
            .update(tx.conn())
            .await
            .map_err(internal)?;
            flash(
                session,
                "success",
                relabel_themes::t(crate::http::lang_of(req), "domains.lock_saved"),
            );
        }
        Err(e) => {
            record_op(
                &tx,
                &d.id,
                op,
                e.code(),
                &e.to_string(),
                &user.customer.email,
            )
            .await
            .map_err(internal)?;
            flash(
                session,
                "error",
                registry_message(crate::http::lang_of(req), e),
            );
        }
    }
    tx.commit().await.map_err(internal)?;
    Ok(redirect(&format!("/account/domains/{}", d.name)))
}

/// A nameserver the customer entered, with glue addresses when it lies inside
/// the domain itself.
#[derive(Debug, PartialEq)]
pub struct OwnNameserver {
    pub host: String,
    pub addresses: Vec<IpAddr>,
}

/// Checks own nameservers (V7): 2 to 6 distinct host names; glue (IPv4/IPv6)
/// required inside the domain and refused outside it. Errors name `ns.N.host`
/// and `ns.N.ip`.
pub fn check_nameservers(
    domain: &str,
    entries: &[(String, String)],
) -> Result<Vec<OwnNameserver>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut out: Vec<OwnNameserver> = Vec::new();
    for (i, (host, ips)) in entries.iter().enumerate() {
        let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() && ips.trim().is_empty() {
            continue;
        }
        let valid = host.len() <= 253
            && host.contains('.')
            && host.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !valid {
            errors.add(&format!("ns.{i}.host"), "err.ns_host");
            continue;
        }
        if out.iter().any(|n| n.host == host) {
            errors.add(&format!("ns.{i}.host"), "err.ns_duplicate");
            continue;
        }
        let inside = host.ends_with(&format!(".{domain}"));
        let mut addresses = Vec::new();
        for ip in ips
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match ip.parse::<IpAddr>() {
                Ok(a) if !(a.is_loopback() || a.is_unspecified() || a.is_multicast()) => {
                    addresses.push(a)
                }
                _ => errors.add(&format!("ns.{i}.ip"), "err.ns_ip"),
            }
        }
        if inside && addresses.is_empty() {
            errors.add(&format!("ns.{i}.ip"), "err.ns_glue_required");
        }
        if !inside && !addresses.is_empty() {
            errors.add(&format!("ns.{i}.ip"), "err.ns_glue_outside");
        }
        out.push(OwnNameserver { host, addresses });
    }
    if errors.is_empty() && !(2..=6).contains(&out.len()) {
        errors.add("ns.0.host", "err.ns_count");
    }
    errors.into_result().map(|_| out)
}

#[handler]
async fn set_nameservers(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
    Path(name): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let lang = crate::http::lang_of(req).code();
    let (d, records) = own_domain(state, &user, &name).await?;
    if d.status != "active" {
        return Err(poem::Error::from_status(StatusCode::CONFLICT));
    }
    let registrar = state.registries.registrar();
    let use_ours = form.opt("use") == Some("platform");
    let (hosts, own) = if use_ours {
        (state.config.dns.nameservers.clone(), false)
    } else {
        let entries: Vec<(String, String)> = (0..6)
            .map(|i| {
                (
                    form.get(&format!("ns.{i}.host")).to_owned(),
                    form.get(&format!("ns.{i}.ip")).to_owned(),
                )
            })
            .collect();
        let list = match check_nameservers(&d.name, &entries) {
            Ok(l) => l,
            Err(errors) => {
                return render(
                    state,
                    session,
                    req,
                    &user,
                    &d,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &records,
                    json!(errors.translated(lang)),
                )
                .await;
            }
        };
        // Glue hosts inside the domain are host objects we create or update.
        for ns in list.iter().filter(|n| !n.addresses.is_empty()) {
            let r = match registrar.create_host(&ns.host, &ns.addresses).await {
                Err(e) if e.code() == Some(2302) => {
                    registrar.update_host(&ns.host, &ns.addresses, &[]).await
                }
                other => other,
            };
            if let Err(e) = r {
                flash(
                    session,
                    "error",
                    registry_message(crate::http::lang_of(req), &e),
                );
                return Ok(redirect(&format!("/account/domains/{}", d.name)));
            }
        }
        (list.into_iter().map(|n| n.host).collect(), true)
    };
    let result = registrar.set_nameservers(&d.name, &hosts).await;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    match &result {
        Ok(()) => {
            record_op(
                &tx,
                &d.id,
                "nameservers",
                Some(1000),
                &hosts.join(" "),
                &user.customer.email,
            )
            .await
            .map_err(internal)?;
            domain::ActiveModel {
                id: Set(d.id.clone()),
                nameservers: Set(serde_json::to_string(&hosts).unwrap_or_default()),
                own_nameservers: Set(own),
                updated_at: Set(chrono::Utc::now()),
                ..Default::default()
            }
            .update(tx.conn())
            .await
            .map_err(internal)?;
            flash(
                session,
                "success",
                relabel_themes::t(crate::http::lang_of(req), "domains.ns_saved"),
            );
        }
        Err(e) => {
            record_op(
                &tx,
                &d.id,
                "nameservers",
                e.code(),
                &e.to_string(),
                &user.customer.email,
            )
            .await
            .map_err(internal)?;
            flash(
                session,
                "error",
                registry_message(crate::http::lang_of(req), e),
            );
        }
    }
    tx.commit().await.map_err(internal)?;
    Ok(redirect(&format!("/account/domains/{}", d.name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(host: &str, ip: &str) -> (String, String) {
        (host.into(), ip.into())
    }

    #[test]
    fn own_nameservers_need_glue_exactly_inside_the_domain() {
        let ok = check_nameservers(
            "beispiel.de",
            &[
                e("ns1.beispiel.de", "192.0.2.1, 2001:db8::1"),
                e("ns.extern.net", ""),
            ],
        )
        .unwrap();
        assert_eq!(ok[0].addresses.len(), 2);
        assert!(ok[1].addresses.is_empty());
        let fields = |r: Result<Vec<OwnNameserver>, FieldErrors>| -> Vec<String> {
            r.unwrap_err()
                .iter()
                .map(|e| format!("{}:{}", e.field, e.code))
                .collect()
        };
        assert_eq!(
            fields(check_nameservers(
                "beispiel.de",
                &[e("ns1.beispiel.de", ""), e("ns.extern.net", "192.0.2.9")]
            )),
            [
                "ns.0.ip:err.ns_glue_required",
                "ns.1.ip:err.ns_glue_outside"
            ]
        );
        assert_eq!(
            fields(check_nameservers(
                "beispiel.de",
                &[e("not a host", ""), e("ns.extern.net", "")]
            )),
            ["ns.0.host:err.ns_host"]
        );
        assert_eq!(
            fields(check_nameservers("beispiel.de", &[e("ns.extern.net", "")])),
            ["ns.0.host:err.ns_count"]
        );
        assert_eq!(
            fields(check_nameservers(
                "beispiel.de",
                &[e("ns1.beispiel.de", "127.0.0.1"), e("ns.extern.net", "")]
            )),
            ["ns.0.ip:err.ns_ip"]
        );
    }
}
