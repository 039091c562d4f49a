//! The wholesale catalog in the operator console: overview, editing one product
//! (TLD rules and wholesale prices included), CSV export and import.

use super::{OperatorUser, page};
use crate::app::AppState;
use crate::auth::csrf;
use crate::catalog;
use crate::catalog::edit::{self, ImportError, PriceForm, ProductForm, TldForm};
use crate::customers::fields::format_amount;
use crate::http::internal;
use crate::http::{FormData, flash, redirect};
use crate::validation::FieldErrors;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Multipart, Path};
use poem::{Request, Response, handler};
use relabel_tenants::Change;
use sea_orm::{EntityTrait, TransactionTrait};
use serde_json::{Value, json};

fn period(months: i32) -> String {
    match months {
        0 => "once".into(),
        1 => "1 mo".into(),
        m if m % 12 == 0 => format!("{} yr", m / 12),
        m => format!("{m} mo"),
    }
}

#[handler]
pub async fn show(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
) -> poem::Result<Response> {
    let ctx = show_ctx(state).await?;
    render_overview(state, session, req, &user, ctx)
}

async fn show_ctx(state: &AppState) -> poem::Result<Value> {
    let db = state.tenancy.backend().shared();
    let tlds = catalog::tlds(db).await.map_err(internal)?;
    let overview = catalog::overview(db).await.map_err(internal)?;
    let yearly = |tld: &str, action: &str| -> String {
        overview
            .iter()
            .find(|(p, _)| p.tld.as_deref() == Some(tld))
            .and_then(|(_, prices)| {
                prices
                    .iter()
                    .find(|w| w.action == action && w.period_months == 12)
            })
            .map(|w| format_amount(w.amount_minor))
            .unwrap_or_else(|| "—".into())
    };
    let tld_rows: Vec<Value> = tlds
        .iter()
        .map(|t| {
            json!({
                "name": t.name, "groups": t.groups, "periods": t.periods, "idn": t.idn,
                "min_length": t.min_length, "max_length": t.max_length,
                "transfer_auth_code": t.transfer_auth_code, "residency": t.residency,
                "register": yearly(&t.name, "register"), "renew": yearly(&t.name, "renew"),
                "transfer": yearly(&t.name, "transfer"), "restore": yearly(&t.name, "restore"),
            })
        })
        .collect();
    let products: Vec<Value> = overview
        .iter()
        .filter(|(p, _)| p.tld.is_none())
        .map(|(p, prices)| {
            let prices: Vec<Value> = prices
                .iter()
                .map(|w| json!({ "action": w.action, "period": period(w.period_months), "amount": format_amount(w.amount_minor), "currency": w.currency }))
                .collect();
            json!({ "id": p.id, "name": p.name, "kind": p.kind, "prices": prices })
        })
        .collect();
    Ok(json!({ "tlds": tld_rows, "products": products }))
}

fn render_overview(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &OperatorUser,
    mut ctx: Value,
) -> poem::Result<Response> {
    let status = if ctx.get("import_errors").is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    ctx["kinds"] = json!(catalog::KINDS);
    page(state, session, req, Some(&user.0)).render_status(
        status,
        "operator/catalog.html",
        "title.catalog",
        "catalog",
        ctx,
    )
}

/// Every reseller's prices depend on the catalog: drop their cached price books.
async fn catalog_changed(state: &AppState) {
    state
        .tenancy
        .changes()
        .publish(Change {
            tenant: None,
            topic: catalog::TOPIC.into(),
        })
        .await;
}

/// Blank rows offered under the existing prices for adding new ones.
const NEW_PRICE_ROWS: usize = 3;

fn render_product(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &OperatorUser,
    form: &ProductForm,
    is_new: bool,
    errors: &FieldErrors,
) -> poem::Result<Response> {
    let p = page(state, session, req, Some(&user.0));
    let mut prices = form.prices.clone();
    prices.extend((0..NEW_PRICE_ROWS).map(|_| PriceForm::default()));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let errors = errors.translated(p.lang.code());
    p.render_status(
        status,
        "operator/catalog_product.html",
        "title.catalog_product",
        "catalog",
        json!({
            "form": form, "prices": prices, "is_new": is_new, "errors": errors,
            "kinds": catalog::KINDS, "actions": catalog::ACTIONS, "groups": edit::GROUPS,
            "residency": edit::RESIDENCY,
            "currencies": crate::customers::fields::CURRENCIES.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        }),
    )
}

fn form_from(form: &FormData, id: Option<&str>) -> ProductForm {
    let mut prices = Vec::new();
    for i in 0..200 {
        let f = |name: &str| form.get(&format!("price.{i}.{name}")).trim().to_owned();
        if form.opt(&format!("price.{i}.action")).is_none() {
            break;
        }
        let row = PriceForm {
            action: f("action"),
            period_months: f("period_months"),
            currency: f("currency"),
            amount: f("amount"),
        };
        // Untouched blank rows are not prices.
        if row.amount.is_empty() && row.period_months.is_empty() {
            continue;
        }
        prices.push(row);
    }
    ProductForm {
        id: id
            .map(str::to_owned)
            .unwrap_or_else(|| form.get("id").to_owned()),
        kind: form.get("kind").to_owned(),
        name: form.get("name").to_owned(),
        tld: form.get("tld").to_owned(),
        active: form.get("active") == "1",
        rules: TldForm {
            groups: form.all("groups").join(","),
            idn: form.get("idn") == "1",
            min_length: form.get("min_length").to_owned(),
            max_length: form.get("max_length").to_owned(),
            periods: form.get("periods").to_owned(),
            transfer_auth_code: form.get("transfer_auth_code") == "1",
            restore_grace_days: form.get("restore_grace_days").to_owned(),
            residency: form.get("residency").to_owned(),
            phase: form.get("phase").to_owned(),
            ga_at: form.get("ga_at").to_owned(),
        },
        prices,
    }
}

#[handler]
pub async fn new_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
) -> poem::Result<Response> {
    let form = ProductForm {
        kind: "domain".into(),
        active: true,
        rules: TldForm {
            min_length: "1".into(),
            max_length: "63".into(),
            periods: "1".into(),
            transfer_auth_code: true,
            restore_grace_days: "30".into(),
            phase: "ga".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    render_product(
        state,
        session,
        req,
        &user,
        &form,
        true,
        &FieldErrors::default(),
    )
}

#[handler]
pub async fn edit_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    let form = edit::form_of(state.tenancy.backend().shared(), &id)
        .await
        .map_err(internal)?
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    render_product(
        state,
        session,
        req,
        &user,
        &form,
        false,
        &FieldErrors::default(),
    )
}

async fn save_product(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &OperatorUser,
    form: ProductForm,
    is_new: bool,
) -> poem::Result<Response> {
    let db = state.tenancy.backend().shared();
    if is_new
        && catalog::product::Entity::find_by_id(form.id.trim().to_lowercase())
            .one(db)
            .await
            .map_err(internal)?
            .is_some()
    {
        let errors = FieldErrors::single("id", "err.product_exists");
        return render_product(state, session, req, user, &form, is_new, &errors);
    }
    let txn = db.begin().await.map_err(internal)?;
    match edit::save(&txn, &form).await.map_err(internal)? {
        Ok(()) => {
            crate::audit::record_operator(
                &txn,
                None,
                crate::audit::Change::new(&user.0.email, "catalog.product", &form.id)
                    .entity("product", &form.id)
                    .after(&form),
            )
            .await
            .map_err(internal)?;
            txn.commit().await.map_err(internal)?;
            catalog_changed(state).await;
            let p = page(state, session, req, Some(&user.0));
            flash(session, "success", p.t("flash.catalog_saved"));
            Ok(redirect(&format!(
                "/operator/catalog/{}",
                form.id.trim().to_lowercase()
            )))
        }
        Err(errors) => {
            drop(txn);
            render_product(state, session, req, user, &form, is_new, &errors)
        }
    }
}

#[handler]
pub async fn create(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let product = form_from(&form, None);
    save_product(state, session, req, &user, product, true).await
}

#[handler]
pub async fn update(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let product = form_from(&form, Some(&id));
    save_product(state, session, req, &user, product, false).await
}

/// The largest catalog file accepted.
const MAX_CSV_BYTES: u64 = 4 * 1024 * 1024;

#[handler]
pub async fn import(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    multipart: Multipart,
) -> poem::Result<Response> {
    let (fields, file) =
        crate::http::read_multipart(multipart, 1024, "file", MAX_CSV_BYTES as usize).await?;
    let file = file.unwrap_or_default();
    let token = fields.get("csrf");
    csrf::verify(session, token.map(String::as_str))?;
    let p = page(state, session, req, Some(&user.0));
    let fail = |errors: Vec<ImportError>| {
        let rows: Vec<Value> = errors
            .iter()
            .take(200)
            .map(|e| json!({ "line": e.line, "field": e.field, "message": p.t(&e.code) }))
            .collect();
        json!({ "import_errors": rows, "import_error_count": errors.len() })
    };
    let ctx = if file.len() as u64 > MAX_CSV_BYTES {
        fail(vec![ImportError {
            line: 0,
            field: "file".into(),
            code: "err.csv_too_large".into(),
        }])
    } else {
        match String::from_utf8(file) {
            Err(_) => fail(vec![ImportError {
                line: 0,
                field: "file".into(),
                code: "err.csv_encoding".into(),
            }]),
            Ok(text) => {
                let db = state.tenancy.backend().shared();
                let txn = db.begin().await.map_err(internal)?;
                match catalog::import_csv(&txn, text.trim_start_matches('\u{feff}'))
                    .await
                    .map_err(internal)?
                {
                    Ok(report) => {
                        crate::audit::record_operator(
                            &txn,
                            None,
                            crate::audit::Change::new(&user.0.email, "catalog.import", "catalog")
                                .after(&report),
                        )
                        .await
                        .map_err(internal)?;
                        txn.commit().await.map_err(internal)?;
                        catalog_changed(state).await;
                        flash(
                            session,
                            "success",
                            p.t("flash.catalog_imported")
                                .replace("{products}", &report.products.to_string())
                                .replace("{prices}", &report.prices.to_string()),
                        );
                        return Ok(redirect("/operator/catalog"));
                    }
                    Err(errors) => {
                        drop(txn);
                        fail(errors)
                    }
                }
            }
        }
    };
    // Show the overview with the errors; nothing was changed.
    let mut resp = show_ctx(state).await?;
    if let (Some(obj), Some(extra)) = (resp.as_object_mut(), ctx.as_object()) {
        obj.extend(extra.clone());
    }
    render_overview(state, session, req, &user, resp)
}

#[handler]
pub async fn csv(Data(state): Data<&AppState>, _user: OperatorUser) -> poem::Result<Response> {
    let body = catalog::export_csv(state.tenancy.backend().shared())
        .await
        .map_err(internal)?;
    Ok(Response::builder()
        .content_type("text/csv; charset=utf-8")
        .header(
            "Content-Disposition",
            "attachment; filename=\"relabel-catalog.csv\"",
        )
        .body(body))
}
