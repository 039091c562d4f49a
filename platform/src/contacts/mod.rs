//! Domain contacts (O4): the holder of a domain may be someone other than the
//! customer (a client of an agency, a family member). A customer keeps contacts
//! and picks one per domain; without one the customer is the holder.

use crate::auth::Email;
use crate::checks;
use crate::validation::{FieldErrors, parse_name};
use chrono::Utc;
use relabel_tenants::TenantTx;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "contacts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub customer_id: String,
        pub first_name: String,
        pub last_name: String,
        pub organization: Option<String>,
        pub street: String,
        pub postal_code: String,
        pub city: String,
        pub country: String,
        pub email: String,
        pub phone: Option<String>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use entity::Model as Contact;

/// A contact as typed.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct ContactInput {
    pub first_name: String,
    pub last_name: String,
    pub organization: Option<String>,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub country: String,
    pub email: String,
    pub phone: Option<String>,
}

/// At most this many contacts per customer.
pub const MAX_PER_CUSTOMER: u64 = 200;

pub async fn create(
    tx: &TenantTx,
    customer_id: &str,
    input: &ContactInput,
) -> Result<Result<Contact, FieldErrors>, DbErr> {
    use sea_orm::PaginatorTrait;
    let mut errors = FieldErrors::default();
    let mut name = |field: &str, v: &str| {
        parse_name(v).unwrap_or_else(|| {
            errors.add(
                field,
                if v.trim().is_empty() {
                    "err.required"
                } else {
                    "err.name_length"
                },
            );
            String::new()
        })
    };
    let first_name = name("first_name", &input.first_name);
    let last_name = name("last_name", &input.last_name);
    let street = name("street", &input.street);
    let city = name("city", &input.city);
    let organization = match input.organization.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(o) => parse_name(o).or_else(|| {
            errors.add("organization", "err.name_length");
            None
        }),
    };
    let country = input.country.trim().to_uppercase();
    if !checks::is_country(&country) {
        errors.add("country", "err.country");
    }
    let postal_code = checks::postal_code(&country, &input.postal_code).unwrap_or_else(|| {
        errors.add(
            "postal_code",
            if input.postal_code.trim().is_empty() {
                "err.required"
            } else {
                "err.postal_code"
            },
        );
        String::new()
    });
    let email = Email::parse(&input.email)
        .map(|e| e.as_str().to_lowercase())
        .unwrap_or_else(|| {
            errors.add("email", "err.email");
            String::new()
        });
    let phone = match input.phone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) => checks::phone(p).or_else(|| {
            errors.add("phone", "err.phone");
            None
        }),
    };
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let count = entity::Entity::find()
        .filter(entity::Column::CustomerId.eq(customer_id))
        .count(tx.conn())
        .await?;
    if count >= MAX_PER_CUSTOMER {
        return Ok(Err(FieldErrors::single("first_name", "err.contacts_full")));
    }
    let c = entity::ActiveModel {
        id: Set(uuid::Uuid::now_v7().simple().to_string()),
        customer_id: Set(customer_id.to_owned()),
        first_name: Set(first_name),
        last_name: Set(last_name),
        organization: Set(organization),
        street: Set(street),
        postal_code: Set(postal_code),
        city: Set(city),
        country: Set(country),
        email: Set(email),
        phone: Set(phone),
        created_at: Set(Utc::now()),
    }
    .insert(tx.conn())
    .await?;
    Ok(Ok(c))
}

pub async fn list(tx: &TenantTx, customer_id: &str) -> Result<Vec<Contact>, DbErr> {
    entity::Entity::find()
        .filter(entity::Column::CustomerId.eq(customer_id))
        .order_by_asc(entity::Column::LastName)
        .order_by_asc(entity::Column::FirstName)
        .all(tx.conn())
        .await
}

/// The contact `id` if it belongs to `customer_id`.
pub async fn get_for(tx: &TenantTx, customer_id: &str, id: &str) -> Result<Option<Contact>, DbErr> {
    entity::Entity::find_by_id(id.to_owned())
        .filter(entity::Column::CustomerId.eq(customer_id))
        .one(tx.conn())
        .await
}

pub fn label(c: &Contact) -> String {
    match &c.organization {
        Some(o) => format!("{} {} ({o}), {}", c.first_name, c.last_name, c.country),
        None => format!("{} {}, {}", c.first_name, c.last_name, c.country),
    }
}
