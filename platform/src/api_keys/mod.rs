//! API keys of resellers (tenant schema, kind `rlk`) and of operators (`shared`,
//! kind `rlo`). Both tables have the same shape; [`Realm`] picks one.

use crate::auth::api_key;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};

macro_rules! key_entity {
    ($name:ident, $($schema:tt)*) => {
        pub mod $name {
            use sea_orm::entity::prelude::*;

            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
            #[sea_orm($($schema)*)]
            pub struct Model {
                #[sea_orm(primary_key, auto_increment = false)]
                pub id: String,
                pub name: String,
                pub prefix: String,
                pub secret_hash: String,
                pub scopes: String,
                pub created_by: String,
                pub created_at: DateTimeUtc,
                pub revoked_at: Option<DateTimeUtc>,
            }

            #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
            pub enum Relation {}

            impl ActiveModelBehavior for ActiveModel {}
        }
    };
}

key_entity!(tenant_keys, table_name = "api_keys");
key_entity!(
    operator_keys,
    schema_name = "shared",
    table_name = "operator_api_keys"
);

/// Runs `$body` with `$m` bound to the entity module of `$realm`.
macro_rules! in_realm {
    ($realm:expr, $m:ident => $body:expr) => {
        match $realm {
            Realm::Tenant => {
                use tenant_keys as $m;
                $body
            }
            Realm::Operator => {
                use operator_keys as $m;
                $body
            }
        }
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Realm {
    Tenant,
    Operator,
}

impl Realm {
    pub fn kind(self) -> &'static str {
        match self {
            Realm::Tenant => "rlk",
            Realm::Operator => "rlo",
        }
    }

    /// The scopes a key of this realm may carry, with English labels.
    pub fn scopes(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Realm::Tenant => &[
                ("tenant:read", "Read reseller profile"),
                ("customers:read", "Read customers"),
                ("customers:write", "Create and change customers"),
                (
                    "prices:read",
                    "Read catalog, price classes, overrides, coupons and quotes",
                ),
                (
                    "prices:write",
                    "Change enablement, prices, overrides and coupons",
                ),
                ("orders:read", "Read orders"),
                ("orders:write", "Place orders and fill carts"),
                ("clearing:write", "Approve or reject clearing cases"),
                (
                    "credit:override",
                    "Approve orders beyond the customer's credit limit",
                ),
                ("domains:read", "Read domains"),
                ("domains:write", "Manage domains"),
                (
                    "invoices:read",
                    "Read invoices, credit notes and the ledger",
                ),
                (
                    "billing:write",
                    "Start billing runs, issue credit notes and individual invoices",
                ),
                (
                    "payments:read",
                    "Read payments, open items, debit and dunning runs",
                ),
                (
                    "payments:write",
                    "Record payments, run direct debits and dunning, book return debits",
                ),
            ],
            Realm::Operator => &[
                ("resellers:read", "Read resellers and hostnames"),
                (
                    "resellers:write",
                    "Create, suspend, delete resellers; manage hostnames",
                ),
            ],
        }
    }
}

/// What a staff member must be allowed to do to hold a reseller key's scope:
/// a key never does more than the person who made it may do in the console.
pub fn scope_perms(scope: &str) -> &'static [crate::staff::Perm] {
    use crate::staff::Perm::*;
    match scope {
        "tenant:read" => &[],
        "customers:read" | "invoices:read" | "domains:read" => &[ViewCustomers],
        // Customer records carry billing data (bank, mandate, credit limit).
        "customers:write" => &[EditCustomers, EditBilling],
        "domains:write" => &[EditCustomers],
        "prices:read" | "prices:write" => &[ManagePricing],
        "orders:read" => &[ViewOrders],
        "orders:write" => &[ViewOrders, EditCustomers],
        "clearing:write" => &[DecideClearing],
        "credit:override" => &[DecideClearing, OverrideCredit],
        "billing:write" | "payments:read" | "payments:write" => &[EditBilling],
        // Unknown scopes are refused on their own; nobody may hold them.
        _ => &[ManageStaff, OverrideCredit, Impersonate],
    }
}

/// May a member of `role` hold `scope`?
pub fn role_may_hold(role: crate::staff::Role, scope: &str) -> bool {
    scope_perms(scope).iter().all(|p| role.can(*p))
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    /// Who made the key (a staff member's or operator's email): decisions
    /// made with it are theirs.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("enter a name of 1 to 100 characters")]
    Name,
    #[error("choose at least one scope")]
    NoScopes,
    #[error("unknown scope {0}")]
    UnknownScope(String),
    #[error("your role may not grant {0}")]
    AboveRole(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

macro_rules! to_key {
    ($m:expr) => {
        ApiKey {
            id: $m.id,
            name: $m.name,
            prefix: $m.prefix,
            scopes: $m
                .scopes
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            created_by: $m.created_by,
            created_at: $m.created_at,
            revoked_at: $m.revoked_at,
        }
    };
}

pub async fn list(db: &impl ConnectionTrait, realm: Realm) -> Result<Vec<ApiKey>, DbErr> {
    in_realm!(realm, t => {
        let rows = t::Entity::find().order_by_desc(t::Column::CreatedAt).all(db).await?;
        Ok(rows.into_iter().map(|m| to_key!(m)).collect())
    })
}

/// Creates a key; returns it with the plaintext, which is never stored. A
/// reseller key is made by a staff member of `role` and may carry only scopes
/// that role holds ([`role_may_hold`]).
pub async fn create(
    db: &impl ConnectionTrait,
    realm: Realm,
    name: &str,
    scopes: &[String],
    created_by: &str,
    role: Option<crate::staff::Role>,
) -> Result<(ApiKey, String), ApiKeyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiKeyError::Name);
    }
    if scopes.is_empty() {
        return Err(ApiKeyError::NoScopes);
    }
    if let Some(bad) = scopes
        .iter()
        .find(|s| !realm.scopes().iter().any(|(v, _)| v == s))
    {
        return Err(ApiKeyError::UnknownScope(bad.clone()));
    }
    if let Some(role) = role
        && let Some(bad) = scopes.iter().find(|s| !role_may_hold(role, s))
    {
        return Err(ApiKeyError::AboveRole(bad.clone()));
    }
    let new = api_key::generate(realm.kind());
    let key = in_realm!(realm, t => {
        let m = t::ActiveModel {
            id: Set(uuid::Uuid::now_v7().simple().to_string()),
            name: Set(name.to_owned()),
            prefix: Set(new.prefix.clone()),
            secret_hash: Set(new.secret_hash.clone()),
            scopes: Set(scopes.join(",")),
            created_by: Set(created_by.to_owned()),
            created_at: Set(Utc::now()),
            revoked_at: Set(None),
        }
        .insert(db)
        .await?;
        to_key!(m)
    });
    Ok((key, new.plaintext))
}

/// Revokes a key; returns it as it was, or `None` if there is no such active key.
pub async fn revoke(
    db: &impl ConnectionTrait,
    realm: Realm,
    id: &str,
) -> Result<Option<ApiKey>, DbErr> {
    in_realm!(realm, t => {
        let Some(m) = t::Entity::find_by_id(id.to_owned())
            .filter(t::Column::RevokedAt.is_null())
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        let mut a: t::ActiveModel = m.clone().into();
        a.revoked_at = Set(Some(Utc::now()));
        a.update(db).await?;
        Ok(Some(to_key!(m)))
    })
}

/// Checks a presented key; returns the active key it belongs to.
pub async fn verify(
    db: &impl ConnectionTrait,
    realm: Realm,
    presented: &str,
) -> Result<Option<ApiKey>, DbErr> {
    let Some((prefix, secret)) = api_key::split(realm.kind(), presented) else {
        return Ok(None);
    };
    in_realm!(realm, t => {
        let found = t::Entity::find()
            .filter(t::Column::Prefix.eq(prefix))
            .filter(t::Column::RevokedAt.is_null())
            .one(db)
            .await?;
        Ok(found.filter(|m| api_key::matches(secret, &m.secret_hash)).map(|m| to_key!(m)))
    })
}
