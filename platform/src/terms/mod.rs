//! Discounts, cash discount (Skonto) and payment terms (P6): per customer, and a
//! discount per customer and product. Stored here for billing to apply; the
//! reseller's default payment term lives in the settings.

use crate::audit::{self, Change};
use crate::customers::entity::product_discount;
use crate::customers::{customer, fields::parse_amount, settings};
use crate::validation::FieldErrors;
use relabel_tenants::TenantTx;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, Set};

/// Percentages are kept in basis points: 2.5 % = 250.
pub const MAX_BP: i32 = 10_000;
/// The longest payment term or Skonto period anyone may set.
pub const MAX_DAYS: i32 = 365;

#[derive(Debug, thiserror::Error)]
pub enum TermsError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// What a customer's invoices are issued with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Terms {
    pub discount_bp: i32,
    pub skonto_bp: i32,
    pub skonto_days: i32,
    pub payment_term_days: i32,
}

/// The form or API input, as typed.
#[derive(Clone, Debug, Default)]
pub struct TermsInput {
    pub discount: String,
    pub skonto: String,
    pub skonto_days: String,
    /// Empty = the reseller's default.
    pub payment_term_days: String,
}

/// `12.5` (or `12,5`) percent -> 1250 basis points, 0..=100 %; empty is 0.
pub fn parse_percent(input: &str) -> Option<i32> {
    let input = input.trim();
    if input.is_empty() {
        return Some(0);
    }
    parse_amount(input)
        .and_then(|v| i32::try_from(v).ok())
        .filter(|v| *v <= MAX_BP)
}

/// Whole days 0..=365; empty is 0.
pub fn parse_days(input: &str) -> Option<i32> {
    let input = input.trim();
    if input.is_empty() {
        return Some(0);
    }
    input
        .parse::<i32>()
        .ok()
        .filter(|d| (0..=MAX_DAYS).contains(d))
}

impl TermsInput {
    /// Checks the input; every problem is named by its field.
    pub fn parse(&self) -> Result<Terms, FieldErrors> {
        let mut errors = FieldErrors::default();
        let percent = |errors: &mut FieldErrors, field: &str, v: &str| {
            parse_percent(v).unwrap_or_else(|| {
                errors.add(field, "err.percent");
                0
            })
        };
        let discount_bp = percent(&mut errors, "discount", &self.discount);
        let skonto_bp = percent(&mut errors, "skonto", &self.skonto);
        let days = |errors: &mut FieldErrors, field: &str, v: &str| {
            parse_days(v).unwrap_or_else(|| {
                errors.add(field, "err.days");
                0
            })
        };
        let skonto_days = days(&mut errors, "skonto_days", &self.skonto_days);
        let payment_term_days = days(&mut errors, "payment_term_days", &self.payment_term_days);
        if errors.is_empty() {
            if skonto_bp > 0 && skonto_days == 0 {
                errors.add("skonto_days", "err.skonto_days_missing");
            }
            if payment_term_days > 0 && skonto_days > payment_term_days {
                errors.add("skonto_days", "err.skonto_after_due");
            }
        }
        errors.into_result()?;
        Ok(Terms {
            discount_bp,
            skonto_bp,
            skonto_days,
            payment_term_days,
        })
    }
}

pub fn of(c: &customer::Model) -> Terms {
    Terms {
        discount_bp: c.discount_bp,
        skonto_bp: c.skonto_bp,
        skonto_days: c.skonto_days,
        payment_term_days: c.payment_term_days,
    }
}

pub async fn set_customer_terms(
    tx: &TenantTx,
    actor: &str,
    customer: &customer::Model,
    input: &TermsInput,
) -> Result<Terms, TermsError> {
    let terms = input.parse().map_err(TermsError::Invalid)?;
    let mut a: customer::ActiveModel = customer.clone().into();
    a.discount_bp = Set(terms.discount_bp);
    a.skonto_bp = Set(terms.skonto_bp);
    a.skonto_days = Set(terms.skonto_days);
    a.payment_term_days = Set(terms.payment_term_days);
    a.update(tx.conn()).await?;
    audit::record_tenant(
        tx,
        Change::new(actor, "customer.terms", &customer.number)
            .entity("customer", &customer.id)
            .before(of(customer))
            .after(terms),
    )
    .await?;
    Ok(terms)
}

/// Sets (or with 0 removes) a customer's discount on one catalog product.
pub async fn set_product_discount(
    tx: &TenantTx,
    actor: &str,
    customer: &customer::Model,
    product_id: &str,
    discount: &str,
) -> Result<(), TermsError> {
    let mut errors = FieldErrors::default();
    if crate::catalog::product::Entity::find_by_id(product_id.to_owned())
        .one(tx.conn())
        .await?
        .is_none()
    {
        errors.add("product_id", "err.choice");
    }
    let bp = parse_percent(discount).unwrap_or_else(|| {
        errors.add("product_discount", "err.percent");
        0
    });
    errors.into_result().map_err(TermsError::Invalid)?;
    product_discount::Entity::delete_many()
        .filter(product_discount::Column::CustomerId.eq(&customer.id))
        .filter(product_discount::Column::ProductId.eq(product_id))
        .exec(tx.conn())
        .await?;
    if bp > 0 {
        product_discount::ActiveModel {
            customer_id: Set(customer.id.clone()),
            product_id: Set(product_id.to_owned()),
            discount_bp: Set(bp),
        }
        .insert(tx.conn())
        .await?;
    }
    audit::record_tenant(
        tx,
        Change::new(actor, "customer.product_discount", &customer.number)
            .entity("customer", &customer.id)
            .after(serde_json::json!({ "product": product_id, "discount_bp": bp })),
    )
    .await?;
    Ok(())
}

pub async fn product_discounts(
    tx: &TenantTx,
    customer_id: &str,
) -> Result<Vec<product_discount::Model>, DbErr> {
    product_discount::Entity::find()
        .filter(product_discount::Column::CustomerId.eq(customer_id))
        .all(tx.conn())
        .await
}

/// The terms billing applies to one line of `customer` for `product_id`: the larger
/// of the customer's and the product discount, the customer's Skonto, and the
/// customer's payment term or else the reseller's default.
pub async fn effective(
    tx: &TenantTx,
    customer: &customer::Model,
    product_id: &str,
) -> Result<Terms, DbErr> {
    let product =
        product_discount::Entity::find_by_id((customer.id.clone(), product_id.to_owned()))
            .one(tx.conn())
            .await?
            .map(|d| d.discount_bp)
            .unwrap_or(0);
    let default_term = settings::Entity::find_by_id(1)
        .one(tx.conn())
        .await?
        .map(|s| s.payment_term_days)
        .unwrap_or(14);
    Ok(Terms {
        discount_bp: customer.discount_bp.max(product),
        skonto_bp: customer.skonto_bp,
        skonto_days: customer.skonto_days,
        payment_term_days: if customer.payment_term_days > 0 {
            customer.payment_term_days
        } else {
            default_term
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(d: &str, s: &str, sd: &str, pt: &str) -> TermsInput {
        TermsInput {
            discount: d.into(),
            skonto: s.into(),
            skonto_days: sd.into(),
            payment_term_days: pt.into(),
        }
    }

    fn codes(e: FieldErrors) -> Vec<(String, String)> {
        e.iter()
            .map(|e| (e.field.clone(), e.code.clone()))
            .collect()
    }

    #[test]
    fn terms_are_checked_field_by_field() {
        assert_eq!(
            input("5", "2,5", "10", "30").parse().unwrap(),
            Terms {
                discount_bp: 500,
                skonto_bp: 250,
                skonto_days: 10,
                payment_term_days: 30
            }
        );
        assert_eq!(input("", "", "", "").parse().unwrap().payment_term_days, 0);
        let cases: &[(TermsInput, &str, &str)] = &[
            (input("-5", "", "", ""), "discount", "err.percent"),
            (input("100.01", "", "", ""), "discount", "err.percent"),
            (input("", "2.555", "", ""), "skonto", "err.percent"),
            (input("", "", "x", ""), "skonto_days", "err.days"),
            (input("", "", "", "366"), "payment_term_days", "err.days"),
            (
                input("", "2", "", "14"),
                "skonto_days",
                "err.skonto_days_missing",
            ),
            (
                input("", "2", "20", "14"),
                "skonto_days",
                "err.skonto_after_due",
            ),
        ];
        for (i, field, code) in cases {
            let got = codes(i.parse().unwrap_err());
            assert_eq!(got, vec![((*field).into(), (*code).into())], "{i:?}");
        }
    }
}
