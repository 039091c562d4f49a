//! Customer management in the reseller console (A1, A10 in part).

use super::{Can, EditBilling, EditCustomers, Impersonate, ViewCustomers, page};
use crate::app::AppState;
use crate::auth::csrf;
use crate::customers::{self, Actor, CustomerError, CustomerInput, ListQuery, customer, fields};
use crate::http::store::account::client_ip;
use crate::http::store::page::choices;
use crate::http::{FormData, flash, internal, redirect};
use crate::staff::Perm;
use crate::validation::FieldErrors;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, Route, get, handler, post};
use serde_json::{Value, json};

pub fn routes() -> Route {
    Route::new()
        .at("/", get(list))
        .at("/new", get(new_form).post(create))
        .at("/:id", get(show).post(update))
        .at("/:id/lock", post(lock))
        .at("/:id/unlock", post(unlock))
        .at("/:id/log", get(log))
        .at("/:id/impersonate", post(impersonate))
        .at("/:id/privacy/export", get(privacy_export))
        .at("/:id/privacy/erase", post(privacy_erase))
        .at("/:id/prices", get(super::prices::show))
        .at("/:id/prices/class", post(super::prices::set_class))
        .at("/:id/terms", post(super::prices::set_terms))
        .at("/:id/discounts", post(super::prices::set_discount))
        .at(
            "/:id/prices/:product/remove",
            post(super::prices::remove_override),
        )
        .at("/:id/prices/:product", post(super::prices::set_override))
        .at("/:id/account", get(super::billing::customer_account))
        .at("/:id/statement.pdf", get(super::billing::statement))
        .at("/:id/invoice", post(super::billing::one_off))
        .at("/:id/ledger", post(super::billing::ledger_entry))
        .at(
            "/:id/services/:service/cancel",
            post(super::billing::cancel_service),
        )
}

fn row(m: &customer::Model) -> Value {
    json!({
        "id": m.id, "number": customers::number_of(m).unwrap_or("—"), "name": customers::display_name(m), "company": m.company,
        "email": m.email, "country": m.country, "billing_type": m.billing_type,
        "debit_status": m.debit_status, "locked": m.locked_at.is_some(),
        "verified": m.email_verified_at.is_some(),
        "created_at": m.created_at.format("%Y-%m-%d").to_string(),
    })
}

#[handler]
async fn list(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ViewCustomers>,
    Query(q): Query<ListQuery>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let page_data = customers::list(&tx, &q).await.map_err(internal)?;
    drop(tx);
    let base = |after: Option<&str>| {
        let mut params = vec![];
        for (k, v) in [
            ("q", q.q.as_deref()),
            ("status", q.status.as_deref()),
            ("billing", q.billing_type.as_deref()),
            ("after", after),
        ] {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                params.push(format!("{k}={}", urlencode(v)));
            }
        }
        format!("/console/customers?{}", params.join("&"))
    };
    let items: Vec<Value> = page_data.items.iter().map(row).collect();
    page(state, session, req, &user.tenant, Some(&user.member)).render(
        "console/customers.html",
        "title.customers",
        "customers",
        json!({
            "customers": items,
            "q": q.q.clone().unwrap_or_default(),
            "filter_status": q.status.clone().unwrap_or_default(),
            "filter_billing": q.billing_type.clone().unwrap_or_default(),
            "next_url": page_data.next.as_deref().map(|n| base(Some(n))),
            "first_url": q.after.as_ref().map(|_| base(None)),
            "can_create": user.member.role.can(Perm::EditCustomers),
        }),
    )
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn options(lang: &str) -> Value {
    let countries: Vec<Value> = crate::checks::country_options(lang)
        .into_iter()
        .map(|(c, n)| json!({ "code": c, "name": n }))
        .collect();
    json!({
        "countries": countries,
        "kinds": choices(lang, fields::KINDS),
        "languages": choices(lang, fields::LANGUAGES),
        "currencies": choices(lang, fields::CURRENCIES),
        "billing_types": choices(lang, fields::BILLING_TYPES),
        "debit_statuses": choices(lang, fields::DEBIT_STATUSES),
        "billing_intervals": choices(lang, fields::BILLING_INTERVALS),
        "payment_methods": choices(lang, fields::PAYMENT_METHODS),
        "dunning_types": choices(lang, fields::DUNNING_TYPES),
        "invoice_deliveries": choices(lang, fields::INVOICE_DELIVERIES),
        "newsletter_categories": choices(lang, fields::NEWSLETTER_CATEGORIES),
    })
}

fn values(m: &customer::Model) -> Value {
    json!({
        "kind": m.kind, "first_name": m.first_name, "last_name": m.last_name, "company": m.company,
        "street": m.street, "postal_code": m.postal_code, "city": m.city, "country": m.country,
        "phone": m.phone, "email": m.email, "vat_id": m.vat_id, "language": m.language,
        "buyer_reference": m.buyer_reference,
        "currency": m.currency, "iban": m.iban, "bic": m.bic, "account_holder": m.account_holder,
        "mandate_signed_on": m.mandate_signed_on.map(|d| d.to_string()),
        "billing_type": m.billing_type, "debit_status": m.debit_status,
        "credit_limit": m.credit_limit_minor.map(fields::format_amount),
        "billing_interval": m.billing_interval, "payment_method": m.payment_method,
        "dunning_type": m.dunning_type, "invoice_delivery": m.invoice_delivery,
        "newsletter": m.newsletter.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
        "excluded_from_invoicing": m.excluded_from_invoicing,
    })
}

const MASTER: [&str; 13] = [
    "kind",
    "first_name",
    "last_name",
    "company",
    "street",
    "postal_code",
    "city",
    "country",
    "phone",
    "email",
    "vat_id",
    "buyer_reference",
    "language",
];
const BILLING: [&str; 12] = [
    "iban",
    "bic",
    "account_holder",
    "mandate_signed_on",
    "currency",
    "billing_type",
    "debit_status",
    "credit_limit",
    "billing_interval",
    "payment_method",
    "dunning_type",
    "invoice_delivery",
];

/// Reads the console form. Billing fields are only taken when `billing` (the form
/// of a role without billing rights has them disabled, so they are not sent).
fn input_from(form: &FormData, billing: bool) -> CustomerInput {
    let get = |k: &str| form.opt(k).map(str::to_owned);
    let mut input = CustomerInput {
        kind: get("kind"),
        first_name: get("first_name"),
        last_name: get("last_name"),
        company: get("company"),
        street: get("street"),
        postal_code: get("postal_code"),
        city: get("city"),
        country: get("country"),
        phone: get("phone"),
        email: get("email"),
        vat_id: get("vat_id"),
        buyer_reference: get("buyer_reference"),
        language: get("language"),
        ..Default::default()
    };
    if billing {
        input.iban = get("iban");
        input.bic = get("bic");
        input.account_holder = get("account_holder");
        input.mandate_signed_on = get("mandate_signed_on");
        input.currency = get("currency");
        input.billing_type = get("billing_type");
        input.debit_status = get("debit_status");
        input.credit_limit = get("credit_limit");
        input.billing_interval = get("billing_interval");
        input.payment_method = get("payment_method");
        input.dunning_type = get("dunning_type");
        input.invoice_delivery = get("invoice_delivery");
        input.excluded_from_invoicing = Some(form.get("excluded_from_invoicing") == "1");
    }
    input
}

fn form_values(form: &FormData) -> Value {
    let mut v = serde_json::Map::new();
    for f in MASTER.iter().chain(BILLING.iter()) {
        v.insert((*f).to_owned(), json!(form.get(f)));
    }
    v.insert("newsletter".into(), json!(form.all("newsletter")));
    v.insert(
        "excluded_from_invoicing".into(),
        json!(form.get("excluded_from_invoicing") == "1"),
    );
    Value::Object(v)
}

async fn render_form(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &super::StaffUser,
    customer: Option<&customer::Model>,
    values: Value,
    errors: &FieldErrors,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let settings = customers::settings(&tx).await.map_err(internal)?;
    drop(tx);
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let lang = p.lang.code();
    let role = user.member.role;
    let (mode, action, title) = match customer {
        Some(c) => (
            "edit",
            format!("/console/customers/{}", c.id),
            "title.customer",
        ),
        None => (
            "create",
            "/console/customers/new".to_owned(),
            "title.new_customer",
        ),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    p.render_status(
        status,
        "console/customer_form.html",
        title,
        "customers",
        json!({
            "mode": mode,
            "action": action,
            "customer": customer.map(|c| json!({
                "id": c.id, "number": customers::number_of(c).unwrap_or("—"), "locked": c.locked_at.is_some(),
                "verified": c.email_verified_at.is_some(), "mandate_reference": c.mandate_reference,
                "created_at": c.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            })),
            "can_edit": role.can(Perm::EditCustomers),
            "can_edit_billing": role.can(Perm::EditBilling),
            "can_impersonate": role.can(Perm::Impersonate),
            "options": options(lang),
            "default_credit_limit": format!("{} {}", fields::format_amount(settings.default_credit_limit_minor), settings.currency),
            "values": values,
            "errors": errors.translated(lang),
        }),
    )
}

#[handler]
async fn new_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditCustomers>,
) -> poem::Result<Response> {
    let values = json!({ "kind": "person", "country": "DE", "language": "de", "currency": "EUR", "billing_type": "BANKTRANSFER",
        "debit_status": "INACTIVE", "billing_interval": "monthly", "payment_method": "bank_transfer", "dunning_type": "standard",
        "invoice_delivery": "email", "newsletter": [] });
    render_form(
        state,
        session,
        req,
        &user,
        None,
        values,
        &FieldErrors::default(),
    )
    .await
}

fn actor_ip(req: &Request) -> String {
    client_ip(req)
}

#[handler]
async fn create(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditCustomers>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let billing = user.member.role.can(Perm::EditBilling);
    let input = input_from(&form, billing);
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let ip = actor_ip(req);
    match customers::create(
        &tx,
        &Actor {
            name: &user.member.email,
            ip: Some(&ip),
        },
        &input,
        None,
    )
    .await
    {
        Ok(m) => {
            tx.commit().await.map_err(internal)?;
            let p = page(state, session, req, &user.tenant, Some(&user.member));
            flash(session, "success", p.t("flash.customer_created"));
            Ok(redirect(&format!("/console/customers/{}", m.id)))
        }
        Err(CustomerError::Invalid(errors)) => {
            drop(tx);
            render_form(
                state,
                session,
                req,
                &user,
                None,
                form_values(&form),
                &errors,
            )
            .await
        }
        Err(e) => Err(internal(e)),
    }
}

async fn load(
    state: &AppState,
    user: &super::StaffUser,
    id: &str,
) -> poem::Result<customer::Model> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    match customers::get(&tx, id).await {
        Ok(m) => Ok(m),
        Err(CustomerError::NotFound) => Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
        Err(e) => Err(internal(e)),
    }
}

#[handler]
async fn show(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ViewCustomers>,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    let m = load(state, &user, &id).await?;
    render_form(
        state,
        session,
        req,
        &user,
        Some(&m),
        values(&m),
        &FieldErrors::default(),
    )
    .await
}

#[handler]
async fn update(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditCustomers>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    // A role without billing rights may not send billing fields at all.
    let billing = user.member.role.can(Perm::EditBilling);
    if !billing && BILLING.iter().any(|f| form.opt(f).is_some()) {
        return Err(poem::Error::from_status(StatusCode::FORBIDDEN));
    }
    let before = load(state, &user, &id).await?;
    let input = input_from(&form, billing);
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let ip = actor_ip(req);
    match customers::update(
        &tx,
        &Actor {
            name: &user.member.email,
            ip: Some(&ip),
        },
        &id,
        &input,
    )
    .await
    {
        Ok(_) => {
            tx.commit().await.map_err(internal)?;
            let p = page(state, session, req, &user.tenant, Some(&user.member));
            flash(session, "success", p.t("flash.customer_saved"));
            Ok(redirect(&format!("/console/customers/{id}")))
        }
        Err(CustomerError::Invalid(errors)) => {
            drop(tx);
            render_form(
                state,
                session,
                req,
                &user,
                Some(&before),
                form_values(&form),
                &errors,
            )
            .await
        }
        Err(CustomerError::NotFound) => Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
        Err(e) => Err(internal(e)),
    }
}

async fn set_lock(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &super::StaffUser,
    id: &str,
    form: &FormData,
    locked: bool,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let ip = actor_ip(req);
    match customers::set_locked(
        &tx,
        &Actor {
            name: &user.member.email,
            ip: Some(&ip),
        },
        id,
        locked,
    )
    .await
    {
        Ok(m) => {
            if locked {
                let reason = form.get("reason").trim();
                if !reason.is_empty() {
                    let reason: String = reason.chars().take(500).collect();
                    crate::audit::record_tenant(
                        &tx,
                        crate::audit::Change::new(
                            &user.member.email,
                            "customer.lock_reason",
                            &m.number,
                        )
                        .entity("customer", &m.id)
                        .ip(Some(&ip))
                        .after(reason),
                    )
                    .await
                    .map_err(internal)?;
                }
            }
            tx.commit().await.map_err(internal)?;
            let p = page(state, session, req, &user.tenant, Some(&user.member));
            flash(
                session,
                "success",
                p.t(if locked {
                    "flash.customer_locked"
                } else {
                    "flash.customer_unlocked"
                }),
            );
            Ok(redirect(&format!("/console/customers/{id}")))
        }
        Err(CustomerError::NotFound) => Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
        Err(e) => Err(internal(e)),
    }
}

#[handler]
async fn lock(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditCustomers>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    set_lock(state, session, req, &user, &id, &form, true).await
}

#[handler]
async fn unlock(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditCustomers>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    set_lock(state, session, req, &user, &id, &form, false).await
}

#[handler]
async fn log(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ViewCustomers>,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    let m = load(state, &user, &id).await?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let entries = crate::audit::entity_log(&tx, Some(&m.id), 200)
        .await
        .map_err(internal)?;
    drop(tx);
    let subject = format!("{} · {}", m.number, customers::display_name(&m));
    super::logs::render(
        state,
        session,
        req,
        &user,
        Some(subject),
        Some(format!("/console/customers/{id}")),
        &entries,
    )
}

/// Opens the customer center as this customer, for support. Recorded in the log.
#[handler]
async fn impersonate(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<Impersonate>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let m = load(state, &user, &id).await?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let ip = actor_ip(req);
    let label = format!("impersonation by {}", user.member.email);
    let session_id = customers::sessions::open(&tx, &m.id, &label, &ip)
        .await
        .map_err(internal)?;
    crate::audit::record_tenant(
        &tx,
        crate::audit::Change::new(&user.member.email, "customer.impersonate", &m.number)
            .entity("customer", &m.id)
            .ip(Some(&ip)),
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    // The storefront reads this one-time hand-over from the customer session cookie's
    // store: set it through a short-lived token link instead of sharing cookies.
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let token = crate::tokens::issue(
        &tx,
        crate::tokens::Purpose::Impersonate,
        &format!("{}|{session_id}", m.id),
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(redirect(&format!("/account/impersonate?token={token}")))
}

/// The customer's data as a JSON download (GDPR Art. 15, 20); recorded in the
/// log.
#[handler]
async fn privacy_export(
    Data(state): Data<&AppState>,
    req: &Request,
    user: Can<EditBilling>,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let data = match customers::privacy::export(&state.tenancy, &tx, &id).await {
        Ok(d) => d,
        Err(customers::privacy::PrivacyError::NotFound) => {
            return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
        }
        Err(e) => return Err(internal(e)),
    };
    let ip = actor_ip(req);
    crate::audit::record_tenant(
        &tx,
        crate::audit::Change::new(&user.member.email, "customer.data_export", &id)
            .entity("customer", &id)
            .ip(Some(&ip)),
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    let number = data["number"].as_str().unwrap_or("customer").to_owned();
    let body = serde_json::to_vec_pretty(&data).map_err(internal)?;
    Ok(super::billing::download(
        body,
        "application/json",
        &format!("{number}-data.json"),
    ))
}

/// Erases the customer's personal data (GDPR Art. 17), keeping invoices and
/// bookings as the law requires. Staff confirm by typing the customer number.
#[handler]
async fn privacy_erase(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let m = load(state, &user, &id).await?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let back = redirect(&format!("/console/customers/{id}"));
    if form.get("confirm").trim() != customers::number_of(&m).unwrap_or(&m.id) {
        flash(session, "error", p.t("err.erase_confirm"));
        return Ok(back);
    }
    let tx = state
        .tenancy
        .begin_write(&user.tenant)
        .await
        .map_err(internal)?;
    match customers::privacy::erase(&tx, &id, &user.member.email).await {
        Ok(_) => {
            tx.commit().await.map_err(internal)?;
            flash(session, "success", p.t("flash.customer_erased"));
        }
        Err(customers::privacy::PrivacyError::Refused(code)) => {
            flash(session, "error", p.t(code));
        }
        Err(customers::privacy::PrivacyError::NotFound) => {
            return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
        }
        Err(e) => return Err(internal(e)),
    }
    Ok(back)
}
