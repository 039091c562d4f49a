//! Search, cart, checkout and the customer's orders on the storefront (O1-O14).

use super::account::{self, CustomerUser, LinkMail};
use super::page::StoreCtx;
use crate::app::AppState;
use crate::auth::{Password, csrf};
use crate::customers::fields::format_amount;
use crate::customers::{self, Actor, CustomerError, customer, sessions};
use crate::domains::registrar::Availability;
use crate::domains::search::{self, GROUPS};
use crate::http::{CurrentTenant, FormData, internal, redirect, tenant_of};
use crate::orders::entity::cart::Model as CartModel;
use crate::orders::{self, Checkout, Line, OrderError, Outcome, order};
use crate::resellers::password_code;
use crate::tokens::Purpose;
use crate::validation::FieldErrors;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path, Query};
use poem::{Body, Request, Response, Route, get, handler, post};
use relabel_tenants::TenantTx;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes(r: Route) -> Route {
    r.at("/search", get(search_page))
        .at("/search/stream", get(search_stream))
        .at("/cart", get(cart_page))
        .at("/cart/add", post(cart_add))
        .at("/cart/remove", post(cart_remove))
        .at("/cart/period", post(cart_period))
        .at("/cart/holder", post(cart_holder))
        .at("/cart/coupon", post(cart_coupon))
        .at("/checkout", get(checkout_page).post(checkout))
}

pub fn account_routes(r: Route) -> Route {
    r.at("/orders", get(my_orders))
        .at("/orders/:id", get(my_order))
        .at("/orders/:id/activate", post(activate))
        .at("/orders/:id/resend", post(resend_code))
        .at("/contacts", get(contacts_page).post(contact_create))
}

fn money(minor: i64, currency: &str) -> String {
    format!("{} {currency}", format_amount(minor))
}

fn cart_key(tenant: &CurrentTenant) -> String {
    format!("cart:{}", tenant.id)
}

/// The signed-in customer on this host, if any (personalises prices and the cart).
async fn current_customer(
    session: &Session,
    tenant: &CurrentTenant,
    tx: &TenantTx,
) -> Option<customer::Model> {
    let id = account::signed_in_customer_id(session, tenant)?;
    customers::get(tx, &id)
        .await
        .ok()
        .filter(|c| c.locked_at.is_none())
}

/// The session's cart, claimed by the customer once signed in. `create` makes one.
async fn session_cart(
    session: &Session,
    tenant: &CurrentTenant,
    tx: &TenantTx,
    customer: Option<&customer::Model>,
    create: bool,
) -> Result<Option<CartModel>, sea_orm::DbErr> {
    let cid = customer.map(|c| c.id.as_str());
    if let Some(id) = session.get::<String>(&cart_key(tenant))
        && let Some(c) = orders::cart::get(tx, &id, cid).await?
    {
        if let (None, Some(cid)) = (&c.customer_id, cid) {
            orders::cart::claim(tx, &c.id, cid).await?;
        }
        return Ok(Some(c));
    }
    if !create {
        return Ok(None);
    }
    let c = orders::cart::create(tx, cid).await?;
    session.set(&cart_key(tenant), c.id.clone());
    Ok(Some(c))
}

// ---- search -----------------------------------------------------------------

#[derive(Deserialize, Default)]
struct SearchQuery {
    q: Option<String>,
    group: Option<String>,
    live: Option<String>,
}

struct Prepared {
    query: search::Query,
    rows: Vec<search::Row>,
    pricer: crate::pricing::Pricer,
    tlds: std::collections::HashMap<String, crate::catalog::tld::Model>,
}

async fn prepare(
    state: &AppState,
    session: &Session,
    tenant: &CurrentTenant,
    q: &SearchQuery,
) -> poem::Result<(Option<customer::Model>, Result<Prepared, &'static str>)> {
    let tx = state.tenancy.begin(tenant).await.map_err(internal)?;
    let customer = current_customer(session, tenant, &tx).await;
    let pricer = state
        .prices
        .pricer(&tx, customer.as_ref())
        .await
        .map_err(internal)?;
    let tlds = orders::tld_rules(&tx).await.map_err(internal)?;
    drop(tx);
    let group = q.group.as_deref().filter(|g| GROUPS.contains(g));
    let prepared =
        search::parse_query(q.q.as_deref().unwrap_or_default(), &tlds).and_then(|query| {
            let rows = search::rows(&pricer, &tlds, &query, group);
            // A name the wanted TLD (or every TLD) refuses is an error on the field.
            let refused = rows
                .iter()
                .find(|r| r.wanted)
                .map(|r| r.invalid)
                .unwrap_or_else(|| {
                    rows.iter()
                        .all(|r| r.invalid.is_some())
                        .then(|| rows.first().and_then(|r| r.invalid))
                        .flatten()
                });
            match refused {
                Some(code) => Err(code),
                None => Ok(Prepared {
                    query,
                    rows,
                    pricer,
                    tlds,
                }),
            }
        });
    Ok((customer, prepared))
}

fn row_json(r: &search::Row, status: Option<&Availability>, lang: &str) -> Value {
    json!({
        "name": r.name, "ascii": r.ascii, "tld": r.tld, "groups": r.groups,
        "invalid": r.invalid.map(|c| relabel_admin_ui::t(lang, c)),
        "price": r.price_minor.zip(r.currency.as_deref()).map(|(p, c)| money(p, c)),
        "transfer_price": r.transfer_price_minor.zip(r.currency.as_deref()).map(|(p, c)| money(p, c)),
        "ga_at": r.ga_at.map(|d| d.format("%Y-%m-%d").to_string()),
        "status": match (r.invalid, status) {
            (Some(_), _) => "invalid",
            (None, _) if r.price_minor.is_none() => "not_offered",
            (None, _) if r.phase == "upcoming" => "preregister",
            (None, _) if r.phase == "sunrise" => "sunrise",
            (None, Some(Availability::Available)) => "available",
            (None, Some(Availability::Taken)) => "taken",
            (None, Some(Availability::Unknown)) => "unknown",
            (None, None) => "checking",
        },
        "wanted": r.wanted,
    })
}

async fn extras(
    state: &AppState,
    tenant: &CurrentTenant,
    p: &Prepared,
    statuses: &std::collections::HashMap<String, Availability>,
) -> (
    Vec<search::Suggestion>,
    Vec<crate::domains::aftermarket::Listing>,
) {
    let suggestions = search::suggestions(
        &state.registries,
        tenant.id.as_str(),
        &p.pricer,
        &p.tlds,
        &p.query,
        &p.rows,
        8,
    )
    .await;
    let taken: Vec<String> = p
        .rows
        .iter()
        .filter(|r| statuses.get(&r.ascii) == Some(&Availability::Taken))
        .map(|r| r.name.clone())
        .collect();
    let listings = if taken.is_empty() {
        Vec::new()
    } else {
        state.aftermarket.listings(&taken).await
    };
    (suggestions, listings)
}

fn extras_json(
    s: &[search::Suggestion],
    l: &[crate::domains::aftermarket::Listing],
) -> (Value, Value) {
    (
        json!(s.iter().map(|s| json!({ "name": s.name, "tld": s.tld, "price": s.price_minor.zip(s.currency.as_deref()).map(|(p, c)| money(p, c)) })).collect::<Vec<_>>()),
        json!(l.iter().map(|l| json!({ "name": l.name, "price": money(l.price_minor, &l.currency), "seller_ref": l.seller_ref })).collect::<Vec<_>>()),
    )
}

/// The result page. Without `live` it waits for every registry (at most one
/// timeout) and renders complete, which is what a browser without JavaScript
/// gets; with `live` it renders at once and the page's script streams the answers.
#[handler]
async fn search_page(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    Query(q): Query<SearchQuery>,
) -> poem::Result<Response> {
    let tenant = tenant_of(req)?;
    let lang = crate::http::lang_of(req).code();
    let (customer, prepared) = prepare(state, session, &tenant, &q).await?;
    let ctx = StoreCtx {
        state,
        session,
        req,
        tenant: tenant.clone(),
        customer: customer.as_ref(),
    };
    let base = json!({
        "q": q.q.clone().unwrap_or_default(), "group": q.group.clone().unwrap_or_default(),
        "groups": GROUPS, "show_gross": false,
    });
    let p = match prepared {
        Ok(p) => p,
        Err(code) => {
            let status = if q.q.as_deref().unwrap_or_default().trim().is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let mut data = base;
            data["error"] = json!(relabel_admin_ui::t(lang, code));
            data["searched"] = json!(!q.q.as_deref().unwrap_or_default().trim().is_empty());
            return ctx.render(status, "search.html", data);
        }
    };
    let live = q.live.is_some();
    let names: Vec<String> = p
        .rows
        .iter()
        .filter(|r| r.checkable())
        .map(|r| r.ascii.clone())
        .collect();
    let statuses = if live {
        Default::default()
    } else {
        state.registries.check(tenant.id.as_str(), &names).await
    };
    let (suggestions, listings) = if live {
        (Vec::new(), Vec::new())
    } else {
        extras(state, &tenant, &p, &statuses).await
    };
    let (suggestions, listings) = extras_json(&suggestions, &listings);
    let rows: Vec<Value> = p
        .rows
        .iter()
        .map(|r| row_json(r, statuses.get(&r.ascii), lang))
        .collect();
    let gross = p.pricer.book().tax.show_gross;
    let mut data = base;
    data["searched"] = json!(true);
    data["live"] = json!(live);
    data["label"] = json!(p.query.label);
    data["rows"] = json!(rows);
    data["suggestions"] = suggestions;
    data["aftermarket"] = listings;
    data["show_gross"] = json!(gross);
    data["periods"] = json!(1);
    ctx.render(StatusCode::OK, "search.html", data)
}

/// Newline-delimited JSON: one line per registry as it answers
/// (`{"results":[{"ascii":..,"status":..}]}`), then suggestions and aftermarket.
#[handler]
async fn search_stream(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    Query(q): Query<SearchQuery>,
) -> poem::Result<Response> {
    let tenant = tenant_of(req)?;
    let (_, prepared) = prepare(state, session, &tenant, &q).await?;
    let Ok(p) = prepared else {
        return Ok(Response::builder()
            .status(StatusCode::UNPROCESSABLE_ENTITY)
            .content_type("application/x-ndjson")
            .body("{\"error\":\"q\"}\n"));
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Result<bytes::Bytes, std::io::Error>>();
    let state = state.clone();
    tokio::spawn(async move {
        let names: Vec<String> = p
            .rows
            .iter()
            .filter(|r| r.checkable())
            .map(|r| r.ascii.clone())
            .collect();
        let statuses = state
            .registries
            .check_streaming(tenant.id.as_str(), &names, |batch| {
                let results: Vec<Value> = batch
                    .iter()
                    .map(|(n, a)| json!({ "ascii": n, "status": a }))
                    .collect();
                let _ = tx.send(Ok(bytes::Bytes::from(format!(
                    "{}\n",
                    json!({ "results": results })
                ))));
            })
            .await;
        let (s, l) = extras(&state, &tenant, &p, &statuses).await;
        let (s, l) = extras_json(&s, &l);
        let _ = tx.send(Ok(bytes::Bytes::from(format!(
            "{}\n",
            json!({ "suggestions": s, "aftermarket": l, "done": true })
        ))));
    });
    let stream = tokio_stream_from(rx);
    Ok(Response::builder()
        .content_type("application/x-ndjson")
        .header("Cache-Control", "no-store")
        .header("X-Accel-Buffering", "no")
        .body(Body::from_bytes_stream(stream)))
}

fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<T>,
) -> impl futures::Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

// ---- cart -------------------------------------------------------------------

/// The cart's lines priced for the buyer, with totals; field errors of lines that
/// no longer validate (a TLD disabled since) are shown on the line.
async fn cart_view(
    state: &AppState,
    tx: &TenantTx,
    cart: &CartModel,
    customer: Option<&customer::Model>,
    lang: &str,
) -> Result<Value, sea_orm::DbErr> {
    let items = orders::cart::items(tx, &cart.id).await?;
    let pricer = state.prices.pricer(tx, customer).await?;
    let tlds = orders::tld_rules(tx).await?;
    let coupon = match &cart.coupon_code {
        Some(code) => {
            crate::coupons::entity::coupon::Entity::find()
                .filter(crate::coupons::entity::coupon::Column::Code.eq(code))
                .one(tx.conn())
                .await?
        }
        None => None,
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let mut lines = Vec::new();
    let (mut net, mut vat, mut gross, mut discount) = (0, 0, 0, 0);
    let mut currency = String::from("EUR");
    let mut domains_in_cart = Vec::new();
    for item in &items {
        let line = orders::cart::lines(std::slice::from_ref(item)).remove(0);
        let priced = orders::price_lines(&pricer, &tlds, &[line], coupon.as_ref()).or_else(|_| {
            orders::price_lines(
                &pricer,
                &tlds,
                &orders::cart::lines(std::slice::from_ref(item)),
                None,
            )
        });
        let name = item.domain.clone().unwrap_or_else(|| {
            pricer
                .book()
                .product_name(&item.product_id)
                .unwrap_or(&item.product_id)
                .to_owned()
        });
        match priced.map(|mut v| v.remove(0)) {
            Ok(p) => {
                net += p.net_minor;
                vat += p.vat_minor;
                gross += p.gross_minor;
                discount += p.discount_minor;
                currency = p.currency.clone();
                if let Some(d) = &item.domain {
                    domains_in_cart.push(d.clone());
                }
                lines.push(json!({
                    "id": item.id, "name": name, "is_domain": item.domain.is_some(),
                    "action": item.action, "period_months": item.period_months,
                    "periods": orders::cart::period_choices(item, &tlds),
                    "trustee": item.trustee,
                    "contact_id": item.contact_id,
                    "trustee_offered": item.domain.as_deref().and_then(|d| d.rsplit_once('.')).and_then(|(_, t)| tlds.get(t)).is_some_and(|r| r.residency.as_deref() == Some("de-admin")),
                    "net": money(p.net_minor, &p.currency),
                    "discount": (p.discount_minor > 0).then(|| money(p.discount_minor, &p.currency)),
                    "error": null,
                }));
            }
            Err(errors) => {
                let msg = errors
                    .iter()
                    .next()
                    .map(|e| relabel_admin_ui::t(lang, &e.code))
                    .unwrap_or_default();
                lines.push(json!({ "id": item.id, "name": name, "is_domain": item.domain.is_some(), "action": item.action, "period_months": item.period_months, "error": msg, "net": null, "discount": null }));
            }
        }
    }
    // Cross-selling: email and hosting for the domains in the cart.
    let cross: Vec<Value> = if domains_in_cart.is_empty() {
        Vec::new()
    } else {
        pricer
            .book()
            .products_of_kinds(&["hosting", "email"])
            .into_iter()
            .filter(|(id, _)| !items.iter().any(|i| &i.product_id == id))
            .filter_map(|(id, name)| {
                let q = pricer.quote(&id, "monthly_fee", 1)?;
                Some(json!({ "id": id, "name": name, "monthly": money(q.net_minor, &q.currency) }))
            })
            .collect()
    };
    let holders: Vec<Value> = match customer {
        Some(c) => crate::contacts::list(tx, &c.id)
            .await?
            .iter()
            .map(|k| json!({ "id": k.id, "label": crate::contacts::label(k) }))
            .collect(),
        None => Vec::new(),
    };
    Ok(json!({
        "holders": holders,
        "id": cart.id, "lines": lines, "count": items.len(),
        "net": money(net, &currency), "vat": money(vat, &currency), "gross": money(gross, &currency),
        "discount": (discount > 0).then(|| money(discount, &currency)),
        "coupon": cart.coupon_code, "cross_sell": cross, "domains": domains_in_cart,
        "vat_rate": crate::customers::fields::format_percent(i64::from(pricer.book().tax.rate_bp)),
    }))
}

#[handler]
async fn cart_page(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
) -> poem::Result<Response> {
    let tenant = tenant_of(req)?;
    let lang = crate::http::lang_of(req).code();
    let tx = state.tenancy.begin(&tenant).await.map_err(internal)?;
    let customer = current_customer(session, &tenant, &tx).await;
    let cart = session_cart(session, &tenant, &tx, customer.as_ref(), false)
        .await
        .map_err(internal)?;
    let view = match &cart {
        Some(c) => Some(
            cart_view(state, &tx, c, customer.as_ref(), lang)
                .await
                .map_err(internal)?,
        ),
        None => None,
    };
    tx.commit().await.map_err(internal)?;
    let errors: Value = session.get("cart_errors").unwrap_or(json!({}));
    session.remove("cart_errors");
    let ctx = StoreCtx {
        state,
        session,
        req,
        tenant,
        customer: customer.as_ref(),
    };
    ctx.render(
        StatusCode::OK,
        "cart.html",
        json!({ "cart": view, "errors": errors }),
    )
}

fn wants_json(req: &Request) -> bool {
    req.header("accept")
        .is_some_and(|a| a.contains("application/json"))
}

/// What every cart form handler starts with: the CSRF check, a transaction of
/// the request's tenant, the signed-in customer and the session's cart (made if
/// `create`).
struct CartForm {
    tx: TenantTx,
    customer: Option<customer::Model>,
    cart: Option<CartModel>,
}

async fn cart_form(
    state: &AppState,
    session: &Session,
    req: &Request,
    form: &FormData,
    create: bool,
) -> poem::Result<CartForm> {
    csrf::verify(session, form.opt("csrf"))?;
    let tenant = tenant_of(req)?;
    let tx = state.tenancy.begin(&tenant).await.map_err(internal)?;
    let customer = current_customer(session, &tenant, &tx).await;
    let cart = session_cart(session, &tenant, &tx, customer.as_ref(), create)
        .await
        .map_err(internal)?;
    Ok(CartForm { tx, customer, cart })
}

#[handler]
async fn cart_add(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    form: FormData,
) -> poem::Result<Response> {
    let lang = crate::http::lang_of(req).code();
    let CartForm { tx, customer, cart } = cart_form(state, session, req, &form, true).await?;
    let cart = cart.ok_or_else(|| internal("no cart"))?;
    let pricer = state
        .prices
        .pricer(&tx, customer.as_ref())
        .await
        .map_err(internal)?;
    let tlds = orders::tld_rules(&tx).await.map_err(internal)?;
    let domain = form
        .opt("domain")
        .map(str::to_owned)
        .filter(|d| !d.trim().is_empty());
    let period: i32 = form
        .get("period")
        .parse()
        .unwrap_or(if domain.is_some() { 12 } else { 1 });
    let line = Line {
        product_id: form.get("product").to_owned(),
        action: form.opt("action").unwrap_or("register").to_owned(),
        period_months: period,
        auth_code: form.opt("auth_code").map(str::to_owned),
        trustee: form.get("trustee") == "1",
        smd: form
            .opt("smd")
            .map(str::to_owned)
            .filter(|s| !s.trim().is_empty()),
        contact_id: None,
        domain,
    };
    match orders::cart::add(&tx, &cart.id, &pricer, &tlds, &line).await {
        Ok(_) => {
            tx.commit().await.map_err(internal)?;
            if wants_json(req) {
                return Ok(Response::builder()
                    .content_type("application/json")
                    .body(json!({ "ok": true, "cart": cart.id }).to_string()));
            }
            let back = form.opt("back").and_then(crate::http::same_site_path);
            Ok(redirect(back.unwrap_or("/cart")))
        }
        Err(OrderError::Invalid(errors)) => {
            drop(tx);
            let translated = account::field_errors(lang, &errors);
            if wants_json(req) {
                return Ok(Response::builder()
                    .status(StatusCode::UNPROCESSABLE_ENTITY)
                    .content_type("application/json")
                    .body(json!({ "ok": false, "errors": translated }).to_string()));
            }
            session.set("cart_errors", translated);
            Ok(redirect("/cart"))
        }
        Err(e) => Err(internal(e)),
    }
}

#[handler]
async fn cart_period(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    form: FormData,
) -> poem::Result<Response> {
    let lang = crate::http::lang_of(req).code();
    let CartForm { tx, customer, cart } = cart_form(state, session, req, &form, false).await?;
    let Some(cart) = cart else {
        return Ok(redirect("/cart"));
    };
    let pricer = state
        .prices
        .pricer(&tx, customer.as_ref())
        .await
        .map_err(internal)?;
    let tlds = orders::tld_rules(&tx).await.map_err(internal)?;
    let period: i32 = form.get("period").parse().unwrap_or(0);
    match orders::cart::set_period(&tx, &cart.id, form.get("item"), period, &pricer, &tlds).await {
        Ok(_) => tx.commit().await.map_err(internal)?,
        Err(OrderError::Invalid(errors)) => {
            session.set("cart_errors", account::field_errors(lang, &errors));
        }
        Err(e) => return Err(internal(e)),
    }
    Ok(redirect("/cart"))
}

#[handler]
async fn cart_holder(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let tenant = tenant_of(req)?;
    let lang = crate::http::lang_of(req).code();
    let tx = state.tenancy.begin(&tenant).await.map_err(internal)?;
    let Some(customer) = current_customer(session, &tenant, &tx).await else {
        return Ok(redirect("/account/login?next=/cart"));
    };
    let Some(cart) = session_cart(session, &tenant, &tx, Some(&customer), false)
        .await
        .map_err(internal)?
    else {
        return Ok(redirect("/cart"));
    };
    let contact = match form.get("contact").trim() {
        "" => None,
        id => match crate::contacts::get_for(&tx, &customer.id, id)
            .await
            .map_err(internal)?
        {
            Some(c) => Some(c.id),
            None => {
                session.set(
                    "cart_errors",
                    account::field_errors(
                        lang,
                        &FieldErrors::single("contact", "err.contact_unknown"),
                    ),
                );
                return Ok(redirect("/cart"));
            }
        },
    };
    orders::cart::set_holder(&tx, &cart.id, form.get("item"), contact.as_deref())
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(redirect("/cart"))
}

#[handler]
async fn contacts_page(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
) -> poem::Result<Response> {
    render_contacts(
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

async fn render_contacts(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &CustomerUser,
    status: StatusCode,
    values: Value,
    errors: Value,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let list = crate::contacts::list(&tx, &user.customer.id)
        .await
        .map_err(internal)?;
    drop(tx);
    let ctx = StoreCtx {
        state,
        session,
        req,
        tenant: user.tenant.clone(),
        customer: Some(&user.customer),
    };
    let mut values = values;
    if values.get("country").is_none() {
        values["country"] = json!(user.customer.country);
    }
    ctx.render(
        status,
        "account/contacts.html",
        json!({ "contacts": list, "values": values, "errors": errors }),
    )
}

#[handler]
async fn contact_create(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let lang = crate::http::lang_of(req).code();
    let input = crate::contacts::ContactInput {
        first_name: form.get("first_name").to_owned(),
        last_name: form.get("last_name").to_owned(),
        organization: form.opt("organization").map(str::to_owned),
        street: form.get("street").to_owned(),
        postal_code: form.get("postal_code").to_owned(),
        city: form.get("city").to_owned(),
        country: form.get("country").to_owned(),
        email: form.get("email").to_owned(),
        phone: form.opt("phone").map(str::to_owned),
    };
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    match crate::contacts::create(&tx, &user.customer.id, &input)
        .await
        .map_err(internal)?
    {
        Ok(_) => {
            tx.commit().await.map_err(internal)?;
            let back = form.opt("back").filter(|b| *b == "/cart");
            Ok(redirect(back.unwrap_or("/account/contacts")))
        }
        Err(errors) => {
            drop(tx);
            let values: serde_json::Map<String, Value> = form
                .pairs()
                .filter(|(k, _)| *k != "csrf")
                .map(|(k, v)| (k.to_owned(), json!(v)))
                .collect();
            render_contacts(
                state,
                session,
                req,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Value::Object(values),
                account::field_errors(lang, &errors),
            )
            .await
        }
    }
}

#[handler]
async fn cart_remove(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    form: FormData,
) -> poem::Result<Response> {
    let CartForm { tx, cart, .. } = cart_form(state, session, req, &form, false).await?;
    if let Some(cart) = cart {
        orders::cart::remove(&tx, &cart.id, form.get("item"))
            .await
            .map_err(internal)?;
    }
    tx.commit().await.map_err(internal)?;
    Ok(redirect("/cart"))
}

#[handler]
async fn cart_coupon(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    form: FormData,
) -> poem::Result<Response> {
    let lang = crate::http::lang_of(req).code();
    let CartForm { tx, cart, .. } = cart_form(state, session, req, &form, true).await?;
    let Some(cart) = cart else {
        return Ok(redirect("/cart"));
    };
    let code = form.get("coupon").trim().to_uppercase();
    if code.is_empty() {
        orders::cart::set_coupon(&tx, &cart.id, None)
            .await
            .map_err(internal)?;
    } else {
        use crate::coupons::entity::coupon;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let found = coupon::Entity::find()
            .filter(coupon::Column::Code.eq(&code))
            .one(tx.conn())
            .await
            .map_err(internal)?;
        let now = chrono::Utc::now();
        let refusal = match &found {
            None => Some(crate::coupons::Refusal::Unknown),
            Some(c) if c.valid_from > now => Some(crate::coupons::Refusal::NotYetValid),
            Some(c) if c.valid_until.is_some_and(|u| u <= now) => {
                Some(crate::coupons::Refusal::Expired)
            }
            Some(c) if c.max_total.is_some_and(|m| c.used_count >= m) => {
                Some(crate::coupons::Refusal::UsedUp)
            }
            Some(_) => None,
        };
        if let Some(r) = refusal {
            session.set(
                "cart_errors",
                account::field_errors(lang, &FieldErrors::single("coupon", r.code())),
            );
            return Ok(redirect("/cart"));
        }
        orders::cart::set_coupon(&tx, &cart.id, Some(&code))
            .await
            .map_err(internal)?;
    }
    tx.commit().await.map_err(internal)?;
    Ok(redirect("/cart"))
}

// ---- checkout ---------------------------------------------------------------

#[handler]
async fn checkout_page(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
) -> poem::Result<Response> {
    render_checkout(state, session, req, StatusCode::OK, json!({}), json!({})).await
}

async fn render_checkout(
    state: &AppState,
    session: &Session,
    req: &Request,
    status: StatusCode,
    values: Value,
    errors: Value,
) -> poem::Result<Response> {
    let tenant = tenant_of(req)?;
    let lang = crate::http::lang_of(req).code();
    let tx = state.tenancy.begin(&tenant).await.map_err(internal)?;
    let customer = current_customer(session, &tenant, &tx).await;
    let cart = session_cart(session, &tenant, &tx, customer.as_ref(), false)
        .await
        .map_err(internal)?;
    let Some(cart) = cart else {
        return Ok(redirect("/cart"));
    };
    let view = cart_view(state, &tx, &cart, customer.as_ref(), lang)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    if view["count"] == 0 {
        return Ok(redirect("/cart"));
    }
    let mut values = values;
    if values.get("country").is_none() {
        values["country"] = json!("DE");
        values["kind"] = json!("person");
        values["language"] = json!(lang);
    }
    let ctx = StoreCtx {
        state,
        session,
        req,
        tenant,
        customer: customer.as_ref(),
    };
    ctx.render(
        status,
        "checkout.html",
        json!({ "cart": view, "values": values, "errors": errors }),
    )
}

#[handler]
async fn checkout(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let tenant = tenant_of(req)?;
    let lang = crate::http::lang_of(req);
    let ip = account::client_ip(req);
    let mut errors = FieldErrors::default();
    if form.get("accept_terms") != "1" {
        errors.add("accept_terms", "err.terms_required");
    }
    // The cart is read in its own short transaction: the order transaction must
    // start with a write (see orders::place).
    let cart_id = session
        .get::<String>(&cart_key(&tenant))
        .unwrap_or_default();
    // A signed-in customer's cart is claimed by them: look it up as theirs.
    let signed_in = account::signed_in_customer_id(session, &tenant);
    let rtx = state.tenancy.begin(&tenant).await.map_err(internal)?;
    let cart = orders::cart::get(&rtx, &cart_id, signed_in.as_deref())
        .await
        .map_err(internal)?;
    let lines = match &cart {
        Some(c) => orders::cart::lines(&orders::cart::items(&rtx, &c.id).await.map_err(internal)?),
        None => Vec::new(),
    };
    let settings = customers::settings(&rtx).await.map_err(internal)?;
    let signed_in_customer = match &signed_in {
        Some(id) => customers::get(&rtx, id).await.ok(),
        None => None,
    };
    let applicant = match &settings.bureau_url {
        Some(_) => {
            bureau_applicant(
                state,
                &rtx,
                settings.bureau_threshold_minor,
                signed_in_customer.as_ref(),
                &form,
                &lines,
            )
            .await?
        }
        None => None,
    };
    // The bureau is asked with no connection held: a slow bureau must not
    // stall the shop's pages.
    drop(rtx);
    let bureau_score = match (&settings.bureau_url, applicant) {
        (Some(url), Some(applicant)) => {
            bureau_score(
                state,
                &tenant,
                &ip,
                url,
                signed_in_customer.as_ref(),
                &applicant,
            )
            .await
        }
        _ => None,
    };
    let Some(cart) = cart else {
        return Ok(redirect("/cart"));
    };
    // One transaction: a new customer, the order, the emails. It writes, so
    // it takes the write lock first (SQLite: concurrent checkouts wait for
    // each other instead of failing with "database is locked").
    let tx = state.tenancy.begin_write(&tenant).await.map_err(internal)?;
    let (customer_id, new_customer) = match signed_in {
        Some(id) => (id, None),
        None => {
            if account::limited(state, &tenant, crate::ratelimit::SIGNUP_PER_IP, &ip).await {
                errors.add("email", "err.rate_limited");
            }
            let password = Password::parse(form.get("password"))
                .map_err(|e| errors.add("password", password_code(e)))
                .ok();
            let input = account::input_from(&form, &account::SIGNUP_FIELDS);
            let actor = Actor {
                name: "checkout",
                ip: Some(&ip),
            };
            let created = match (&password, errors.is_empty()) {
                (Some(pw), true) => {
                    customers::create_self_service(&tx, &actor, &input, Some(pw)).await
                }
                _ => customers::create_self_service(&tx, &actor, &input, None)
                    .await
                    .and(Err(CustomerError::Invalid(FieldErrors::default()))),
            };
            match created {
                Ok(c) => (c.id.clone(), Some(c)),
                Err(CustomerError::Invalid(more)) => {
                    for e in more.iter() {
                        errors.add(&e.field, &e.code);
                    }
                    drop(tx);
                    // The page asks to sign in; the address's holder hears that
                    // someone tried, as with a signup.
                    if more
                        .iter()
                        .any(|e| e.field == "email" && e.code == "err.email_taken")
                    {
                        account::tell_holder_of_signup(state, req, &tenant, form.get("email"))
                            .await?;
                    }
                    return render_checkout(
                        state,
                        session,
                        req,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        account::signup_values(&form),
                        account::field_errors(lang.code(), &errors),
                    )
                    .await;
                }
                Err(e) => return Err(internal(e)),
            }
        }
    };
    if !errors.is_empty() {
        drop(tx);
        return render_checkout(
            state,
            session,
            req,
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({}),
            account::field_errors(lang.code(), &errors),
        )
        .await;
    }
    if cart
        .customer_id
        .as_deref()
        .is_some_and(|owner| owner != customer_id)
    {
        drop(tx);
        return Ok(redirect("/cart"));
    }
    let ip_country = ip
        .parse()
        .ok()
        .and_then(|a| state.geoip.as_ref().as_ref().and_then(|g| g.country(a)));
    let actor = new_customer
        .as_ref()
        .map(|c| c.email.clone())
        .unwrap_or_else(|| format!("customer:{customer_id}"));
    let placed = orders::place(
        &tx,
        &state.prices,
        Checkout {
            customer_id: &customer_id,
            cart_id: &cart.id,
            lines: &lines,
            coupon: cart.coupon_code.as_deref(),
            ip: Some(&ip),
            ip_country,
            bureau_score,
            actor: &actor,
        },
    )
    .await;
    let placed = match placed {
        Ok(p) => p,
        Err(OrderError::Invalid(e)) => {
            drop(tx);
            session.set("cart_errors", account::field_errors(lang.code(), &e));
            return Ok(redirect("/cart"));
        }
        Err(e) => return Err(internal(e)),
    };
    orders::cart::claim(&tx, &cart.id, &customer_id)
        .await
        .map_err(internal)?;
    orders::cart::clear(&tx, &cart.id).await.map_err(internal)?;
    let customer = customers::get(&tx, &customer_id).await.map_err(internal)?;
    status_mail(
        state,
        &tx,
        &tenant,
        &customer,
        &placed.order,
        &placed.outcome,
        None,
    )
    .await?;
    if let Some(c) = &new_customer {
        let verify = LinkMail {
            purpose: Purpose::VerifyEmail,
            subject: &c.id,
            path: "/account/verify",
            template: "verify_email",
            to: &c.email,
        };
        account::mail_link(state, req, &tx, &tenant, c, lang, verify).await?;
    }
    let session_id = match &new_customer {
        Some(c) => Some(
            sessions::open(
                &tx,
                &c.id,
                req.header("user-agent").unwrap_or_default(),
                &ip,
            )
            .await
            .map_err(internal)?,
        ),
        None => None,
    };
    tx.commit().await.map_err(internal)?;
    state.mailer.kick(&state.tenancy, &tenant);
    if let (Some((to, code)), Some(url)) = (&placed.sms, &settings.sms_url) {
        send_code(&state.outbound, url, to, code, &tenant.name, lang).await;
    }
    if let (Some(c), Some(sid)) = (new_customer, session_id) {
        let cart_id = cart.id.clone();
        account::sign_in(session, &tenant, c.id, sid);
        session.set(&cart_key(&tenant), cart_id);
    }
    Ok(redirect(&format!("/account/orders/{}", placed.order.id)))
}

/// The tenant-branded status email for the order's current state.
pub async fn status_mail(
    state: &AppState,
    tx: &TenantTx,
    tenant: &relabel_tenants::Tenant,
    customer: &customer::Model,
    order: &order::Model,
    outcome: &Outcome,
    note: Option<&str>,
) -> poem::Result<()> {
    let lang = relabel_themes::Lang::parse(&customer.language).unwrap_or(relabel_themes::Lang::En);
    let case_number = match outcome {
        Outcome::Clearing { case_number, .. } => Some(case_number.clone()),
        Outcome::Accepted { .. } | Outcome::AwaitingCode => None,
    };
    let data = json!({
        "brand_name": tenant.name, "customer_name": customers::display_name(customer),
        "status": order.status, "order_number": order.number, "case_number": case_number,
        "total": money(order.gross_minor, &order.currency), "note": note,
    });
    account::send(
        state,
        tx,
        tenant,
        &customer.email,
        "order_status",
        lang,
        data,
    )
    .await
}

/// The applicant the reseller's credit bureau is asked about, when the
/// checkout is a new customer's or reaches the threshold (read inside the
/// checkout's read transaction; the call itself is [`bureau_score`]).
async fn bureau_applicant(
    state: &AppState,
    tx: &TenantTx,
    threshold_minor: i64,
    customer: Option<&customer::Model>,
    form: &FormData,
    lines: &[Line],
) -> poem::Result<Option<orders::hooks::Applicant>> {
    let pricer = state.prices.pricer(tx, customer).await.map_err(internal)?;
    let tlds = orders::tld_rules(tx).await.map_err(internal)?;
    let Ok(priced) = orders::price_lines(&pricer, &tlds, lines, None) else {
        return Ok(None);
    };
    let gross: i64 = priced.iter().map(|p| p.gross_minor).sum();
    let currency = priced
        .first()
        .map(|p| p.currency.clone())
        .unwrap_or_default();
    let is_new = customer.is_none();
    if !(is_new || (threshold_minor > 0 && gross >= threshold_minor)) {
        return Ok(None);
    }
    let pick = |field: &str, known: Option<&str>| {
        known
            .map(str::to_owned)
            .unwrap_or_else(|| form.get(field).trim().to_owned())
    };
    Ok(Some(orders::hooks::Applicant {
        first_name: pick("first_name", customer.map(|c| c.first_name.as_str())),
        last_name: pick("last_name", customer.map(|c| c.last_name.as_str())),
        street: pick("street", customer.map(|c| c.street.as_str())),
        postal_code: pick("postal_code", customer.map(|c| c.postal_code.as_str())),
        city: pick("city", customer.map(|c| c.city.as_str())),
        country: pick("country", customer.map(|c| c.country.as_str())),
        email: pick("email", customer.map(|c| c.email.as_str())),
        amount_minor: gross,
        currency,
    }))
}

/// Asks the reseller's credit bureau for `applicant`'s score, holding no
/// database connection. A known customer's score from the last
/// `bureau_cache_secs` is used instead of a new (paid) call; the per-client
/// and per-shop limits apply before any call. A failing or limited bureau
/// gives no score (logged): the order is not blocked by a peer's outage.
async fn bureau_score(
    state: &AppState,
    tenant: &CurrentTenant,
    ip: &str,
    url: &str,
    customer: Option<&customer::Model>,
    applicant: &orders::hooks::Applicant,
) -> Option<i32> {
    let fresh =
        chrono::Utc::now() - chrono::Duration::seconds(state.config.bureau_cache_secs as i64);
    if let Some(c) = customer
        && let (Some(score), Some(at)) = (c.credit_score, c.scored_at)
        && at > fresh
    {
        return Some(score);
    }
    if account::limited(state, tenant, crate::ratelimit::BUREAU_PER_IP, ip).await
        || account::limited(state, tenant, crate::ratelimit::BUREAU_PER_SHOP, "shop").await
    {
        tracing::warn!(tenant = %tenant.id, "credit bureau limit reached; no score");
        return None;
    }
    use orders::hooks::CreditBureau;
    let bureau = orders::hooks::HttpBureau {
        url: url.to_owned(),
        client: state.outbound.clone(),
    };
    match bureau.score(applicant).await {
        Ok(score) => Some(score),
        Err(e) => {
            tracing::warn!(error = %e, "credit bureau did not answer; no score");
            None
        }
    }
}

/// Sends an activation code through the reseller's SMS gateway (after commit; a
/// failure is logged and the customer can ask for a new code).
pub(crate) async fn send_code(
    client: &crate::outbound::Outbound,
    url: &str,
    to: &str,
    code: &str,
    brand: &str,
    lang: relabel_themes::Lang,
) {
    use orders::hooks::SmsSender;
    let text = relabel_themes::t(lang, "sms.code")
        .replace("{code}", code)
        .replace("{brand}", brand);
    if let Err(e) = (orders::hooks::HttpSms {
        url: url.to_owned(),
        client: client.clone(),
    })
    .send(to, &text)
    .await
    {
        tracing::warn!(error = %e, "activation SMS not sent");
    }
}

#[handler]
async fn activate(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let lang = crate::http::lang_of(req);
    let key = format!("{}:{}", user.customer.id, id);
    if account::limited(state, &user.tenant, crate::ratelimit::CODE_ATTEMPTS, &key).await {
        session.set(
            "order_errors",
            account::field_errors(
                lang.code(),
                &FieldErrors::single("code", "err.rate_limited"),
            ),
        );
        return Ok(redirect(&format!("/account/orders/{id}")));
    }
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    match orders::activate(&tx, &user.customer.id, &id, form.get("code")).await {
        Ok(order) => {
            let outcome = Outcome::Accepted {
                number: order.number.clone().unwrap_or_default(),
            };
            status_mail(
                state,
                &tx,
                &user.tenant,
                &user.customer,
                &order,
                &outcome,
                None,
            )
            .await?;
            tx.commit().await.map_err(internal)?;
            state.mailer.kick(&state.tenancy, &user.tenant);
        }
        Err(OrderError::Invalid(e)) => {
            drop(tx);
            session.set("order_errors", account::field_errors(lang.code(), &e));
        }
        Err(OrderError::NotFound) => return Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
        Err(e) => return Err(internal(e)),
    }
    Ok(redirect(&format!("/account/orders/{id}")))
}

#[handler]
async fn resend_code(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let lang = crate::http::lang_of(req);
    let key = format!("resend:{}", user.customer.id);
    if account::limited(state, &user.tenant, crate::ratelimit::CODE_ATTEMPTS, &key).await {
        return Ok(redirect(&format!("/account/orders/{id}")));
    }
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let renewed = orders::renew_code(&tx, &user.customer.id, &id)
        .await
        .map_err(internal)?;
    let settings = customers::settings(&tx).await.map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    if let (Some((to, code)), Some(url)) = (renewed, settings.sms_url) {
        send_code(&state.outbound, &url, &to, &code, &user.tenant.name, lang).await;
    }
    Ok(redirect(&format!("/account/orders/{id}")))
}

// ---- the customer's orders --------------------------------------------------

fn order_json(o: &order::Model) -> Value {
    json!({
        "id": o.id, "number": o.number, "status": o.status, "cart_id": o.cart_id,
        "net": money(o.net_minor, &o.currency), "vat": money(o.vat_minor, &o.currency),
        "gross": money(o.gross_minor, &o.currency),
        "discount": (o.discount_minor > 0).then(|| money(o.discount_minor, &o.currency)),
        "coupon": o.coupon_code, "created_at": o.created_at.format("%Y-%m-%d %H:%M").to_string(),
    })
}

#[handler]
async fn my_orders(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let list = orders::list(
        &tx,
        &orders::OrderFilter {
            customer_id: Some(user.customer.id.clone()),
            ..Default::default()
        },
        200,
    )
    .await
    .map_err(internal)?;
    let ids: Vec<&str> = list.iter().map(|o| o.id.as_str()).collect();
    let cases = orders::cases_of(&tx, &ids).await.map_err(internal)?;
    drop(tx);
    let ctx = StoreCtx {
        state,
        session,
        req,
        tenant: user.tenant.clone(),
        customer: Some(&user.customer),
    };
    let rows: Vec<Value> = list
        .iter()
        .map(|o| {
            let mut row = order_json(o);
            row["case_number"] = json!(cases.get(&o.id).map(|c| &c.number));
            row
        })
        .collect();
    ctx.render(
        StatusCode::OK,
        "account/orders.html",
        json!({ "orders": rows }),
    )
}

#[handler]
async fn my_order(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let Some(o) = orders::for_customer(&tx, &user.customer.id, &id)
        .await
        .map_err(internal)?
    else {
        return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
    };
    let items = orders::items(&tx, &o.id).await.map_err(internal)?;
    let case = orders::case_of(&tx, &o.id).await.map_err(internal)?;
    let jobs = crate::jobs::with_key_prefix(&tx, &format!("order:{}:", o.id))
        .await
        .map_err(internal)?;
    let book = state.prices.book(&tx).await.map_err(internal)?;
    drop(tx);
    let items: Vec<Value> = items
        .iter()
        .map(|i| {
            let job = jobs
                .iter()
                .find(|j| j.idempotency_key == format!("order:{}:{}", o.id, i.position));
            json!({
                "name": i.domain.clone().unwrap_or_else(|| book.product_name(&i.product_id).unwrap_or(&i.product_id).to_owned()),
                "action": i.action, "period_months": i.period_months,
                "gross": money(i.gross_minor, &o.currency),
                // The item's own result wins over its job's state.
                "provisioning": match i.status.as_str() {
                    "failed" => Some("failed".to_owned()),
                    _ => job.map(|j| j.status.clone()),
                },
                "error": i.error,
                "domain_link": (i.status == "done").then(|| i.domain.clone()).flatten(),
            })
        })
        .collect();
    let ctx = StoreCtx {
        state,
        session,
        req,
        tenant: user.tenant.clone(),
        customer: Some(&user.customer),
    };
    let errors: Value = session.get("order_errors").unwrap_or(json!({}));
    session.remove("order_errors");
    ctx.render(
        StatusCode::OK,
        "account/order.html",
        json!({
            "errors": errors,
            "order": order_json(&o), "items": items,
            "case": case.map(|c| json!({ "number": c.number, "reason": c.reason, "status": c.status, "note": c.note })),
        }),
    )
}
