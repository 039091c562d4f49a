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
use crate::provisioning::ops::{self, OpError};
use crate::provisioning::{self, domain};
use crate::validation::FieldErrors;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path};
use poem::{Request, Response, Route, get, handler, post};
use serde_json::{Value, json};

pub fn routes(r: Route) -> Route {
    r.at("/domains", get(domains_page))
        .at("/domains/:name", get(detail))
        .at("/domains/:name/:action", post(act))
        .at("/services/:id/credentials", post(reveal_credentials))
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
    let accounts = crate::hosting::customer_accounts(&tx, &user.customer.id)
        .await
        .map_err(internal)?;
    // C4: add-ons are booked through the cart and checkout (credit check).
    let pricer = state
        .prices
        .pricer(&tx, Some(&user.customer))
        .await
        .map_err(internal)?;
    drop(tx);
    let addons: Vec<Value> = pricer
        .book()
        .products_of_kinds(crate::hosting::POOL_KINDS)
        .into_iter()
        .filter_map(|(id, name)| {
            let q = pricer.quote(&id, "monthly_fee", 1)?;
            Some(json!({ "id": id, "name": name, "monthly": format!("{} {}", crate::customers::fields::format_amount(q.net_minor), q.currency) }))
        })
        .collect();
    let services: Vec<Value> = services
        .iter()
        .map(|s| {
            let account = accounts.iter().find(|a| a.service_id == s.id);
            let mut v = json!(s);
            v["account"] = json!(account.map(|a| json!({
                "username": a.username, "status": a.status,
                "password_pending": a.pending_password.is_some(),
            })));
            v
        })
        .collect();
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
        json!({ "domains": domains, "services": services, "addons": addons }),
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
        "glue": provisioning::glue_of(d).iter().map(|g| g.join(", ")).collect::<Vec<_>>(),
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
    let web = crate::forwarding::web_forwards(&tx, &d.id)
        .await
        .map_err(internal)?;
    let mail = crate::forwarding::mail_forwards(&tx, &d.id)
        .await
        .map_err(internal)?;
    let contacts: Vec<Value> = crate::contacts::list(&tx, &user.customer.id)
        .await
        .map_err(internal)?
        .iter()
        .map(|c| json!({ "id": c.id, "label": crate::contacts::label(c) }))
        .collect();
    // B12: in grace the renewal price; in redemption the (far higher) restore
    // price, shown beside the renewal price before the customer orders it.
    let offer = if ["grace", "redemption"].contains(&d.status.as_str()) {
        let pricer = state
            .prices
            .pricer(&tx, Some(&user.customer))
            .await
            .map_err(internal)?;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let product = crate::provisioning::service::Entity::find()
            .filter(crate::provisioning::service::Column::DomainId.eq(&d.id))
            .one(tx.conn())
            .await
            .map_err(internal)?
            .map(|s| s.product_id);
        let gross = |action: &str| {
            product.as_deref().and_then(|p| {
                crate::orders::quote_for(&pricer, p, action, 12).map(|q| {
                    crate::customers::fields::format_amount(q.gross_minor) + " " + &q.currency
                })
            })
        };
        Some(json!({ "renew": gross("renew"), "restore": gross("restore") }))
    } else {
        None
    };
    drop(tx);
    let strip = |h: &str| -> String {
        if h == d.name {
            "@".into()
        } else {
            h.trim_end_matches(&format!(".{}", d.name)).to_owned()
        }
    };
    let mut web: Vec<Value> = web
        .iter()
        .map(|f| json!({"host": strip(&f.host), "target": f.target, "mode": f.mode, "title": f.title}))
        .collect();
    web.push(json!({"host": "", "target": "", "mode": "301", "title": null}));
    let mut mail: Vec<Value> = mail
        .iter()
        .map(|m| json!({"local_part": m.local_part, "target": m.target}))
        .collect();
    mail.extend((0..2).map(|_| json!({"local_part": "", "target": ""})));
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
            "offer": offer,
            "web": web, "mail": mail, "parking": d.parking_provider, "contacts": contacts,
            "parking_providers": crate::forwarding::PARKING_PROVIDERS,
            "ops": ops.iter().take(20).map(|o| json!({"op": o.op, "code": o.result_code, "outcome": provisioning::outcome(o.result_code), "at": o.at.format("%Y-%m-%d %H:%M").to_string()})).collect::<Vec<_>>(),
        }),
    )
}

/// Orders the restore of a domain in redemption (B12): an order with the
/// restore price through the usual checks (credit, clearing); provisioning
/// restores it at the registry.
async fn restore(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &CustomerUser,
    d: &domain::Model,
) -> poem::Result<Response> {
    let lang = crate::http::lang_of(req);
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let line = crate::orders::Line {
        domain: Some(idna::domain_to_unicode(&d.name).0),
        action: "restore".into(),
        period_months: 12,
        ..Default::default()
    };
    let placed = crate::orders::place(
        &tx,
        &state.prices,
        crate::orders::Checkout {
            customer_id: &user.customer.id,
            cart_id: "restore",
            lines: std::slice::from_ref(&line),
            coupon: None,
            ip: Some(&crate::http::store::account::client_ip(req)),
            ip_country: None,
            bureau_score: None,
            actor: &user.customer.email,
        },
    )
    .await;
    match placed {
        Ok(p) => {
            tx.commit().await.map_err(internal)?;
            state.mailer.kick(&state.tenancy, &user.tenant);
            Ok(crate::http::redirect(&format!(
                "/account/orders/{}",
                p.order.id
            )))
        }
        Err(crate::orders::OrderError::Invalid(e)) => {
            drop(tx);
            let msg = e
                .iter()
                .map(|f| relabel_admin_ui::t(lang.code(), &f.code).to_owned())
                .collect::<Vec<_>>()
                .join(" ");
            crate::http::flash(session, "error", msg);
            Ok(crate::http::redirect(&format!(
                "/account/domains/{}",
                d.name
            )))
        }
        Err(e) => Err(internal(e)),
    }
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

/// Rows `prefix.N.field` of a form, up to `max`, skipping rows whose `keys`
/// are all empty.
fn rows(form: &FormData, prefix: &str, keys: &[&str], max: usize) -> Vec<Vec<String>> {
    (0..max)
        .map(|i| {
            keys.iter()
                .map(|k| form.get(&format!("{prefix}.{i}.{k}")).trim().to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|r| r.iter().any(|v| !v.is_empty()))
        .collect()
}

/// Hosting access data: the password is shown once, then forgotten here.
#[handler]
async fn reveal_credentials(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let service = provisioning::customer_services(&tx, &user.customer.id)
        .await
        .map_err(internal)?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    let account = crate::hosting::account_of_service(&tx, &service.id)
        .await
        .map_err(internal)?
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    let password = crate::hosting::take_password(&tx, &account.id)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    let server = crate::hosting::server_by_id(state.tenancy.backend().shared(), &account.server_id)
        .await
        .map_err(internal)?;
    let ctx = StoreCtx {
        state,
        session,
        req,
        tenant: user.tenant.clone(),
        customer: Some(&user.customer),
    };
    ctx.render(
        StatusCode::OK,
        "account/credentials.html",
        json!({
            "service": service.label, "username": account.username,
            "server": server.map(|s| s.name), "password": password,
        }),
    )
}

/// After an operation: a flash with the outcome, back to the domain page; field
/// errors re-render the page (422).
#[allow(clippy::too_many_arguments)]
async fn outcome(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &CustomerUser,
    d: &domain::Model,
    shown: &[Record],
    result: Result<(), OpError>,
    success: &str,
) -> poem::Result<Response> {
    let lang = crate::http::lang_of(req);
    match result {
        Ok(_) => flash(session, "success", relabel_themes::t(lang, success)),
        Err(OpError::Invalid(errors)) => {
            return render(
                state,
                session,
                req,
                user,
                d,
                StatusCode::UNPROCESSABLE_ENTITY,
                shown,
                json!(errors.translated(lang.code())),
            )
            .await;
        }
        Err(OpError::State) => return Err(poem::Error::from_status(StatusCode::CONFLICT)),
        Err(OpError::Registry(e)) => flash(session, "error", registry_message(lang, &e)),
        Err(e @ (OpError::Db(_) | OpError::Tenancy(_))) => return Err(internal(e)),
    }
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

/// One change to a domain (`records`, `authcode` with transfer release (C9),
/// `lock`, `nameservers`, `web`, `mail`, `parking`, `owner`): CSRF, the
/// customer's own domain, the operation in [`ops`], then [`outcome`].
#[handler]
async fn act(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
    Path((name, action)): Path<(String, String)>,
    form: FormData,
) -> poem::Result<Response> {
    use crate::forwarding::{MailForward, WebForward};
    csrf::verify(session, form.opt("csrf"))?;
    let (d, mut shown) = own_domain(state, &user, &name).await?;
    let (tenant, actor) = (&user.tenant, user.customer.email.as_str());
    let (result, success): (Result<(), OpError>, &str) = match action.as_str() {
        "records" => match form_records(&form) {
            Ok(records) => {
                let r = ops::save_records(state, tenant, &d, &records, actor).await;
                shown = records;
                (r.map(drop), "domains.records_saved")
            }
            Err(errors) => {
                shown.clear();
                (Err(OpError::Invalid(errors)), "domains.records_saved")
            }
        },
        "authcode" => (
            ops::request_auth_code(state, tenant, &d, actor)
                .await
                .map(drop),
            "domains.authcode_set",
        ),
        "lock" => {
            let locked = form.opt("locked") == Some("1");
            (
                ops::set_transfer_lock(state, tenant, &d, locked, actor).await,
                "domains.lock_saved",
            )
        }
        "nameservers" => {
            let r = if form.opt("use") == Some("platform") {
                ops::set_nameservers(state, tenant, &d, None, actor).await
            } else {
                // By position, so errors name the row the customer filled in.
                let entries: Vec<(String, String)> = (0..6)
                    .map(|i| {
                        (
                            form.get(&format!("ns.{i}.host")).to_owned(),
                            form.get(&format!("ns.{i}.ip")).to_owned(),
                        )
                    })
                    .collect();
                match ops::check_nameservers(&d.name, &entries) {
                    Ok(list) => ops::set_nameservers(state, tenant, &d, Some(list), actor).await,
                    Err(errors) => Err(OpError::Invalid(errors)),
                }
            };
            (r.map(drop), "domains.ns_saved")
        }
        "web" => {
            let list: Vec<WebForward> =
                rows(&form, "web", &["host", "target", "mode", "title"], 20)
                    .into_iter()
                    .filter(|r| !r[1].is_empty() || !r[0].is_empty())
                    .map(|r| WebForward {
                        host: r[0].clone(),
                        target: r[1].clone(),
                        mode: r[2].clone(),
                        title: Some(r[3].clone()),
                    })
                    .collect();
            (
                ops::set_web_forwards(state, tenant, &d, &list, actor)
                    .await
                    .map(drop),
                "domains.forwards_saved",
            )
        }
        "mail" => {
            let list: Vec<MailForward> = rows(&form, "mail", &["local_part", "target"], 110)
                .into_iter()
                .map(|r| MailForward {
                    local_part: r[0].clone(),
                    target: r[1].clone(),
                })
                .collect();
            (
                ops::set_mail_forwards(state, tenant, &d, &list, actor)
                    .await
                    .map(drop),
                "domains.forwards_saved",
            )
        }
        "parking" => {
            let provider = form.opt("provider").filter(|p| !p.is_empty());
            (
                ops::set_parking(state, tenant, &d, provider, actor).await,
                "domains.parking_saved",
            )
        }
        "owner" => (
            ops::change_owner(state, tenant, &d, form.get("contact_id"), actor)
                .await
                .map(drop),
            "domains.owner_saved",
        ),
        "restore" => return restore(state, session, req, &user, &d).await,
        _ => return Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
    };
    outcome(state, session, req, &user, &d, &shown, result, success).await
}
