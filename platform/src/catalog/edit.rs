//! Changing the wholesale catalog: one product (with its TLD rules when it is a
//! domain, and its complete wholesale price set) at a time, from the operator's form
//! or from CSV lines. Both go through [`save`], so both are checked the same way.

use super::{ACTIONS, KINDS, product, tld, wholesale_price};
use crate::customers::fields::{CURRENCIES, amount_error, format_amount, is_choice, parse_amount};
use crate::validation::{FieldErrors, parse_name};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use std::collections::{BTreeMap, BTreeSet};

pub const GROUPS: &[&str] = &["top10", "europe", "gtld", "new-gtld"];
/// Residency rules the ordering checks know.
pub const RESIDENCY: &[&str] = &["eu", "de-admin"];
/// The largest wholesale price: 1,000,000.00.
const MAX_MINOR: i64 = 100_000_000;

/// A TLD's registry rules as typed.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct TldForm {
    pub groups: String,
    pub idn: bool,
    pub min_length: String,
    pub max_length: String,
    /// Years, comma-separated: `1,2,5,10`.
    pub periods: String,
    pub transfer_auth_code: bool,
    pub restore_grace_days: String,
    pub residency: String,
    /// `ga`, `upcoming` or `sunrise`; empty keeps the stored phase (CSV import).
    pub phase: String,
    /// General availability date, `YYYY-MM-DD`; required before GA.
    pub ga_at: String,
}

/// One wholesale price as typed.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PriceForm {
    pub action: String,
    pub period_months: String,
    pub currency: String,
    pub amount: String,
}

/// A product with everything that belongs to it.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ProductForm {
    pub id: String,
    pub kind: String,
    pub name: String,
    /// The TLD (without dot) for domains.
    pub tld: String,
    pub active: bool,
    pub rules: TldForm,
    pub prices: Vec<PriceForm>,
}

fn is_slug(s: &str) -> bool {
    (2..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn int_in(
    errors: &mut FieldErrors,
    field: &str,
    v: &str,
    range: std::ops::RangeInclusive<i32>,
) -> i32 {
    match v.trim().parse::<i32>() {
        Ok(n) if range.contains(&n) => n,
        _ => {
            errors.add(field, "err.number_range");
            *range.start()
        }
    }
}

/// The checked product, ready to write.
struct Checked {
    product: product::Model,
    tld: Option<tld::Model>,
    prices: Vec<wholesale_price::Model>,
}

fn check(form: &ProductForm) -> Result<Checked, FieldErrors> {
    let mut errors = FieldErrors::default();
    let now = Utc::now();
    let kind = form.kind.trim();
    if !KINDS.contains(&kind) {
        errors.add("kind", "err.choice");
    }
    let tld_name = form.tld.trim().trim_start_matches('.').to_lowercase();
    let id = form.id.trim().to_lowercase();
    if kind == "domain" {
        if !is_slug(&tld_name) {
            errors.add("tld", "err.tld");
        } else if id != format!("domain-{tld_name}") {
            errors.add("id", "err.domain_product_id");
        }
    } else if !tld_name.is_empty() {
        errors.add("tld", "err.tld_only_domains");
    }
    if !is_slug(&id) {
        errors.add("id", "err.product_id");
    }
    let name = parse_name(&form.name).unwrap_or_else(|| {
        errors.add("name", "err.name_length");
        String::new()
    });
    let tld = (kind == "domain").then(|| {
        let r = &form.rules;
        let groups: Vec<&str> = r
            .groups
            .split([',', ' '])
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .collect();
        if groups.iter().any(|g| !GROUPS.contains(g)) {
            errors.add("rules.groups", "err.groups");
        }
        let min = int_in(&mut errors, "rules.min_length", &r.min_length, 1..=63);
        let max = int_in(&mut errors, "rules.max_length", &r.max_length, 1..=63);
        if max < min {
            errors.add("rules.max_length", "err.max_below_min");
        }
        let mut periods = BTreeSet::new();
        for p in r
            .periods
            .split([',', ' '])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match p.parse::<i32>() {
                Ok(y) if (1..=10).contains(&y) => {
                    periods.insert(y);
                }
                _ => errors.add("rules.periods", "err.periods"),
            }
        }
        if periods.is_empty() {
            errors.add("rules.periods", "err.periods");
        }
        let grace = int_in(
            &mut errors,
            "rules.restore_grace_days",
            &r.restore_grace_days,
            0..=90,
        );
        let residency = r.residency.trim();
        if !residency.is_empty() && !RESIDENCY.contains(&residency) {
            errors.add("rules.residency", "err.choice");
        }
        let phase = r.phase.trim();
        if !matches!(phase, "" | "ga" | "upcoming" | "sunrise") {
            errors.add("rules.phase", "err.choice");
        }
        let ga_at = match r.ga_at.trim() {
            "" => None,
            d => match chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d") {
                Ok(d) => d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()),
                Err(_) => {
                    errors.add("rules.ga_at", "err.date");
                    None
                }
            },
        };
        if matches!(phase, "upcoming" | "sunrise") && ga_at.is_none() {
            errors.add("rules.ga_at", "err.ga_date_required");
        }
        tld::Model {
            name: tld_name.clone(),
            groups: groups.join(","),
            idn: r.idn,
            min_length: min,
            max_length: max,
            periods: periods
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(","),
            transfer_auth_code: r.transfer_auth_code,
            restore_grace_days: grace,
            residency: (!residency.is_empty()).then(|| residency.to_owned()),
            created_at: now,
            phase: phase.to_owned(),
            ga_at,
        }
    });
    let mut seen = BTreeSet::new();
    let mut prices = Vec::new();
    for (i, p) in form.prices.iter().enumerate() {
        let field = |f: &str| format!("price.{i}.{f}");
        let action = p.action.trim();
        if !ACTIONS.contains(&action) {
            errors.add(&field("action"), "err.choice");
        }
        let period = int_in(
            &mut errors,
            &field("period_months"),
            &p.period_months,
            0..=120,
        );
        let currency = p.currency.trim().to_uppercase();
        if !is_choice(CURRENCIES, &currency) {
            errors.add(&field("currency"), "err.currency_unknown");
        }
        let amount = match parse_amount(&p.amount) {
            Some(v) if v <= MAX_MINOR => v,
            Some(_) => {
                errors.add(&field("amount"), "err.price_too_high");
                0
            }
            None => {
                errors.add(&field("amount"), amount_error(&p.amount));
                0
            }
        };
        if !seen.insert((action.to_owned(), period, currency.clone())) {
            errors.add(&field("action"), "err.price_duplicate");
        }
        prices.push(wholesale_price::Model {
            product_id: id.clone(),
            action: action.to_owned(),
            period_months: period,
            currency,
            amount_minor: amount,
        });
    }
    if prices.is_empty() {
        errors.add("prices", "err.prices_required");
    }
    errors.into_result()?;
    Ok(Checked {
        product: product::Model {
            id,
            kind: kind.to_owned(),
            name,
            tld: tld.as_ref().map(|t| t.name.clone()),
            active: form.active,
            created_at: now,
            notice_days: 30,
            min_term_months: 0,
        },
        tld,
        prices,
    })
}

/// Checks and writes one product: TLD rules and product are inserted or updated, the
/// wholesale price set is replaced. Nothing is written when a field is wrong.
pub async fn save(
    db: &impl ConnectionTrait,
    form: &ProductForm,
) -> Result<Result<(), FieldErrors>, DbErr> {
    let c = match check(form) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    if let Some(t) = c.tld {
        let existing = tld::Entity::find_by_id(t.name.clone()).one(db).await?;
        let keep_phase = t.phase.is_empty();
        let mut a: tld::ActiveModel = t.into();
        match existing {
            Some(old) => {
                a.created_at = Set(old.created_at);
                if keep_phase {
                    a.phase = Set(old.phase);
                    a.ga_at = Set(old.ga_at);
                }
                a.reset_all().update(db).await?;
            }
            None => {
                if keep_phase {
                    a.phase = Set("ga".into());
                }
                a.insert(db).await?;
            }
        }
    }
    let existing = product::Entity::find_by_id(c.product.id.clone())
        .one(db)
        .await?;
    let mut a: product::ActiveModel = c.product.clone().into();
    match existing {
        Some(old) => {
            if old.kind != c.product.kind {
                return Ok(Err(FieldErrors::single("kind", "err.kind_fixed")));
            }
            a.created_at = Set(old.created_at);
            // Contract terms are kept (not on this form).
            a.notice_days = Set(old.notice_days);
            a.min_term_months = Set(old.min_term_months);
            a.reset_all().update(db).await?;
        }
        None => {
            a.insert(db).await?;
        }
    }
    wholesale_price::Entity::delete_many()
        .filter(wholesale_price::Column::ProductId.eq(&c.product.id))
        .exec(db)
        .await?;
    for p in c.prices {
        let a: wholesale_price::ActiveModel = p.into();
        a.insert(db).await?;
    }
    Ok(Ok(()))
}

/// The form of an existing product, for editing.
pub async fn form_of(db: &impl ConnectionTrait, id: &str) -> Result<Option<ProductForm>, DbErr> {
    let Some(p) = product::Entity::find_by_id(id.to_owned()).one(db).await? else {
        return Ok(None);
    };
    let rules = match &p.tld {
        Some(name) => tld::Entity::find_by_id(name.clone())
            .one(db)
            .await?
            .map(|t| TldForm {
                groups: t.groups,
                idn: t.idn,
                min_length: t.min_length.to_string(),
                max_length: t.max_length.to_string(),
                periods: t.periods,
                transfer_auth_code: t.transfer_auth_code,
                restore_grace_days: t.restore_grace_days.to_string(),
                residency: t.residency.unwrap_or_default(),
                phase: t.phase,
                ga_at: t
                    .ga_at
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
            })
            .unwrap_or_default(),
        None => TldForm::default(),
    };
    let mut prices: Vec<wholesale_price::Model> = wholesale_price::Entity::find()
        .filter(wholesale_price::Column::ProductId.eq(id))
        .all(db)
        .await?;
    prices.sort_by_key(|w| {
        (
            ACTIONS.iter().position(|a| *a == w.action).unwrap_or(99),
            w.period_months,
            w.currency.clone(),
        )
    });
    Ok(Some(ProductForm {
        id: p.id,
        kind: p.kind,
        name: p.name,
        tld: p.tld.unwrap_or_default(),
        active: p.active,
        rules,
        prices: prices
            .into_iter()
            .map(|w| PriceForm {
                action: w.action,
                period_months: w.period_months.to_string(),
                currency: w.currency,
                amount: format_amount(w.amount_minor),
            })
            .collect(),
    }))
}

/// The CSV columns, in order. One line per product x action x period x currency; the
/// product and TLD columns repeat on every line of a product.
pub const CSV_HEADER: &[&str] = &[
    "product_id",
    "kind",
    "name",
    "active",
    "tld",
    "tld_groups",
    "tld_idn",
    "tld_min_length",
    "tld_max_length",
    "tld_periods",
    "tld_transfer_auth_code",
    "tld_restore_grace_days",
    "tld_residency",
    "action",
    "period_months",
    "currency",
    "amount",
];

/// The whole catalog as CSV (the format [`import_csv`] reads).
pub async fn export_csv(db: &impl ConnectionTrait) -> Result<String, DbErr> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| DbErr::Custom(e.to_string());
    w.write_record(CSV_HEADER).map_err(csv_err)?;
    let ids: Vec<String> = super::overview(db)
        .await?
        .into_iter()
        .map(|(p, _)| p.id)
        .collect();
    let yes = |b: bool| if b { "yes" } else { "no" };
    for id in ids {
        let Some(f) = form_of(db, &id).await? else {
            continue;
        };
        for p in &f.prices {
            let r = &f.rules;
            let domain = f.kind == "domain";
            let opt = |s: &str| if domain { s.to_owned() } else { String::new() };
            w.write_record([
                f.id.as_str(),
                &f.kind,
                &f.name,
                yes(f.active),
                &f.tld,
                &opt(&r.groups),
                &opt(yes(r.idn)),
                &opt(&r.min_length),
                &opt(&r.max_length),
                &opt(&r.periods),
                &opt(yes(r.transfer_auth_code)),
                &opt(&r.restore_grace_days),
                &opt(&r.residency),
                &p.action,
                &p.period_months,
                &p.currency,
                &p.amount,
            ])
            .map_err(csv_err)?;
        }
    }
    let bytes = w.into_inner().map_err(|e| DbErr::Custom(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| DbErr::Custom(e.to_string()))
}

/// One problem of an import: the line (1 = header) and the field.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ImportError {
    pub line: usize,
    pub field: String,
    pub code: String,
}

/// What an import changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub products: usize,
    pub prices: usize,
}

fn yes_no(v: &str) -> Option<bool> {
    match v.trim().to_lowercase().as_str() {
        "yes" | "true" | "1" | "ja" => Some(true),
        "no" | "false" | "0" | "nein" | "" => Some(false),
        _ => None,
    }
}

/// Reads a catalog CSV into product forms, grouped by product id, keeping the line of
/// each price for error messages.
#[allow(clippy::type_complexity)]
fn parse_csv(
    input: &str,
) -> Result<(Vec<(ProductForm, Vec<usize>)>, Vec<ImportError>), Vec<ImportError>> {
    let mut errors = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(input.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_owned).collect(),
        Err(_) => {
            return Err(vec![ImportError {
                line: 1,
                field: "header".into(),
                code: "err.csv_header".into(),
            }]);
        }
    };
    if header != CSV_HEADER {
        return Err(vec![ImportError {
            line: 1,
            field: "header".into(),
            code: "err.csv_header".into(),
        }]);
    }
    let mut forms: BTreeMap<String, (ProductForm, Vec<usize>)> = BTreeMap::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(_) => {
                errors.push(ImportError {
                    line,
                    field: "line".into(),
                    code: "err.csv_line".into(),
                });
                continue;
            }
        };
        let col = |name: &str| {
            CSV_HEADER
                .iter()
                .position(|h| *h == name)
                .and_then(|i| record.get(i))
                .unwrap_or("")
                .to_owned()
        };
        let mut flag = |name: &str| {
            yes_no(&col(name)).unwrap_or_else(|| {
                errors.push(ImportError {
                    line,
                    field: name.into(),
                    code: "err.yes_no".into(),
                });
                false
            })
        };
        let active = flag("active");
        let idn = flag("tld_idn");
        let auth = flag("tld_transfer_auth_code");
        let form = ProductForm {
            id: col("product_id"),
            kind: col("kind"),
            name: col("name"),
            tld: col("tld"),
            active,
            rules: TldForm {
                groups: col("tld_groups"),
                idn,
                min_length: col("tld_min_length"),
                max_length: col("tld_max_length"),
                periods: col("tld_periods"),
                transfer_auth_code: auth,
                restore_grace_days: col("tld_restore_grace_days"),
                residency: col("tld_residency"),
                phase: String::new(),
                ga_at: String::new(),
            },
            prices: vec![],
        };
        let price = PriceForm {
            action: col("action"),
            period_months: col("period_months"),
            currency: col("currency"),
            amount: col("amount"),
        };
        let entry = forms
            .entry(form.id.trim().to_lowercase())
            .or_insert_with(|| (form.clone(), vec![]));
        // The product's own columns must agree on every line.
        if entry.0.kind != form.kind || entry.0.name != form.name || entry.0.tld != form.tld {
            errors.push(ImportError {
                line,
                field: "product_id".into(),
                code: "err.csv_inconsistent".into(),
            });
        }
        entry.0.prices.push(price);
        entry.1.push(line);
    }
    if forms.is_empty() && errors.is_empty() {
        errors.push(ImportError {
            line: 1,
            field: "file".into(),
            code: "err.csv_empty".into(),
        });
    }
    Ok((forms.into_values().collect(), errors))
}

/// Imports a catalog CSV inside `db` (a transaction the caller commits only on
/// success): every product in the file is created or updated and its price set
/// replaced; products not in the file stay as they are. All errors are reported
/// with their line; on any error the caller must roll back.
pub async fn import_csv(
    db: &impl ConnectionTrait,
    input: &str,
) -> Result<Result<ImportReport, Vec<ImportError>>, DbErr> {
    // Lines that could be read are still checked, so one pass reports everything.
    let (forms, mut errors) = match parse_csv(input) {
        Ok(f) => f,
        Err(e) => return Ok(Err(e)),
    };
    let mut report = ImportReport::default();
    for (form, lines) in &forms {
        match save(db, form).await? {
            Ok(()) => {
                report.products += 1;
                report.prices += form.prices.len();
            }
            Err(field_errors) => {
                for e in field_errors.iter() {
                    // `price.<i>.<field>` points at the i-th line of the product.
                    let (line, field) = match e
                        .field
                        .strip_prefix("price.")
                        .and_then(|r| r.split_once('.'))
                    {
                        Some((i, f)) => (
                            i.parse::<usize>()
                                .ok()
                                .and_then(|i| lines.get(i))
                                .copied()
                                .unwrap_or(lines[0]),
                            f.to_owned(),
                        ),
                        None => (
                            lines[0],
                            match e.field.as_str() {
                                "id" => "product_id".to_owned(),
                                f => f.replace("rules.", "tld_"),
                            },
                        ),
                    };
                    errors.push(ImportError {
                        line,
                        field,
                        code: e.code.clone(),
                    });
                }
            }
        }
    }
    errors.sort_by_key(|e| e.line);
    Ok(if errors.is_empty() {
        Ok(report)
    } else {
        Err(errors)
    })
}
