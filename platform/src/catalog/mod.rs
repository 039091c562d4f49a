//! The operator's wholesale catalog (P1, T6) in schema `shared`: TLDs with their
//! registry rules, products, and wholesale prices per product x action x period x
//! currency.

pub mod edit;
pub mod entity;
pub(crate) mod seed;

pub use edit::{export_csv, import_csv};

pub use entity::{product, tld, wholesale_price};

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use std::collections::BTreeMap;

/// The change topic of the wholesale catalog (it concerns every tenant's prices).
pub const TOPIC: &str = "catalog";

pub const KINDS: &[&str] = &[
    "domain",
    "hosting",
    "email",
    "site_builder",
    "ssl",
    "service_contract",
];
pub const ACTIONS: &[&str] = &[
    "register",
    "transfer",
    "renew",
    "restore",
    "owner_change",
    "setup",
    "monthly_fee",
    "yearly_fee",
];

/// Inserts the demo catalog where it is missing (existing entries are kept).
pub async fn seed_demo(db: &impl ConnectionTrait) -> Result<usize, DbErr> {
    let mut added = 0;
    let now = Utc::now();
    for &(
        name,
        groups,
        idn,
        min,
        max,
        periods,
        auth,
        grace,
        residency,
        reg,
        renew,
        transfer,
        restore,
    ) in seed::TLDS
    {
        if tld::Entity::find_by_id(name.to_owned())
            .one(db)
            .await?
            .is_some()
        {
            continue;
        }
        tld::ActiveModel {
            name: Set(name.into()),
            groups: Set(groups.into()),
            idn: Set(idn),
            min_length: Set(min),
            max_length: Set(max),
            periods: Set(periods.into()),
            transfer_auth_code: Set(auth),
            restore_grace_days: Set(grace),
            residency: Set(residency.map(str::to_owned)),
            created_at: Set(now),
            phase: Set("ga".into()),
            ga_at: Set(None),
        }
        .insert(db)
        .await?;
        let id = format!("domain-{name}");
        product::ActiveModel {
            id: Set(id.clone()),
            kind: Set("domain".into()),
            name: Set(format!(".{name}")),
            tld: Set(Some(name.into())),
            active: Set(true),
            created_at: Set(now),
            // A domain is cancelled by not renewing it: before it is billed.
            notice_days: Set(i32::try_from(crate::billing::run::RENEWAL_LEAD_DAYS).unwrap_or(14)),
            min_term_months: Set(0),
        }
        .insert(db)
        .await?;
        // A transfer price of 0 means the registry includes no renewal with it;
        // it is still offered at no cost.
        for (action, cents) in [
            ("register", reg),
            ("renew", renew),
            ("transfer", transfer),
            ("restore", restore),
        ] {
            price(db, &id, action, 12, "EUR", cents).await?;
        }
        added += 1;
    }
    // Two TLDs still launching: one in sunrise, one taking pre-registrations.
    for (name, phase, days) in seed::LAUNCHING {
        tld::Entity::update_many()
            .col_expr(tld::Column::Phase, sea_orm::sea_query::Expr::val(*phase))
            .col_expr(
                tld::Column::GaAt,
                sea_orm::sea_query::Expr::val(Some(now + chrono::Duration::days(*days))),
            )
            .filter(tld::Column::Name.eq(*name))
            .filter(tld::Column::Phase.eq("ga"))
            .filter(tld::Column::GaAt.is_null())
            .exec(db)
            .await?;
    }
    for &(id, kind, name, prices) in seed::PRODUCTS {
        if product::Entity::find_by_id(id.to_owned())
            .one(db)
            .await?
            .is_some()
        {
            continue;
        }
        product::ActiveModel {
            id: Set(id.into()),
            kind: Set(kind.into()),
            name: Set(name.into()),
            tld: Set(None),
            active: Set(true),
            created_at: Set(now),
            notice_days: Set(30),
            min_term_months: Set(0),
        }
        .insert(db)
        .await?;
        for &(action, months, cents) in prices {
            price(db, id, action, months, "EUR", cents).await?;
        }
        added += 1;
    }
    Ok(added)
}

async fn price(
    db: &impl ConnectionTrait,
    product: &str,
    action: &str,
    months: i32,
    currency: &str,
    cents: i64,
) -> Result<(), DbErr> {
    wholesale_price::ActiveModel {
        product_id: Set(product.into()),
        action: Set(action.into()),
        period_months: Set(months),
        currency: Set(currency.into()),
        amount_minor: Set(cents),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// One catalog line as the console and the CSV show it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Line {
    pub product_id: String,
    pub kind: String,
    pub name: String,
    pub tld: Option<String>,
    pub action: String,
    pub period_months: i32,
    pub currency: String,
    pub amount_minor: i64,
}

/// All products with their wholesale prices, grouped by product.
pub async fn overview(
    db: &impl ConnectionTrait,
) -> Result<Vec<(product::Model, Vec<wholesale_price::Model>)>, DbErr> {
    let products = product::Entity::find()
        .order_by_asc(product::Column::Kind)
        .order_by_asc(product::Column::Id)
        .all(db)
        .await?;
    let mut prices: BTreeMap<String, Vec<wholesale_price::Model>> = BTreeMap::new();
    for p in wholesale_price::Entity::find().all(db).await? {
        prices.entry(p.product_id.clone()).or_default().push(p);
    }
    Ok(products
        .into_iter()
        .map(|p| {
            let mut list = prices.remove(&p.id).unwrap_or_default();
            list.sort_by_key(|w| {
                (
                    ACTIONS.iter().position(|a| *a == w.action).unwrap_or(99),
                    w.period_months,
                )
            });
            (p, list)
        })
        .collect())
}

pub async fn tlds(db: &impl ConnectionTrait) -> Result<Vec<tld::Model>, DbErr> {
    tld::Entity::find()
        .order_by_asc(tld::Column::Name)
        .all(db)
        .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_catalog_is_realistic() {
        let tlds = super::seed::TLDS;
        assert!(tlds.len() >= 40);
        for group in ["top10", "europe", "gtld", "new-gtld"] {
            assert!(
                tlds.iter()
                    .filter(|t| t.1.split(',').any(|g| g == group))
                    .count()
                    >= 5,
                "{group}"
            );
        }
        let kinds: Vec<&str> = super::seed::PRODUCTS.iter().map(|p| p.1).collect();
        assert_eq!(kinds.iter().filter(|k| **k == "hosting").count(), 3);
        assert_eq!(kinds.iter().filter(|k| **k == "email").count(), 2);
        assert!(kinds.contains(&"site_builder"));
    }
}
