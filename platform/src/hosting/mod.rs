//! Hosting, email and site-builder accounts on server pools (V7, C4). The
//! operator keeps pools of servers per product in the shared catalog (name,
//! capacity, panel API endpoint); an account is created on a random server of the
//! product's pool that still has room, through the [`panel::HostingPanel`]
//! adapter. The password is shown to the customer once, then forgotten here.

pub mod devpanel;
pub mod panel;

use crate::orders::entity::entity;
use chrono::Utc;
use relabel_tenants::TenantTx;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};

pub mod server {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(schema_name = "shared", table_name = "hosting_servers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub product_id: String,
        pub name: String,
        pub capacity: i32,
        pub used: i32,
        pub api_url: String,
        #[serde(skip)]
        pub api_token: String,
        pub active: bool,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

entity!(account, "hosting_accounts", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    service_id: String,
    customer_id: String,
    server_id: String,
    username: String,
    plan: String,
    /// creating | active | suspended | terminated
    status: String,
    pending_password: Option<String>,
    created_at: DateTimeUtc,
    updated_at: DateTimeUtc,
});

/// Product kinds that live on pool servers.
pub const POOL_KINDS: &[&str] = &["hosting", "email", "sitebuilder"];

pub async fn servers(db: &impl ConnectionTrait) -> Result<Vec<server::Model>, DbErr> {
    server::Entity::find()
        .order_by_asc(server::Column::ProductId)
        .order_by_asc(server::Column::Name)
        .all(db)
        .await
}

pub async fn server_by_id(
    db: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<server::Model>, DbErr> {
    server::Entity::find_by_id(id.to_owned()).one(db).await
}

/// Adds a server to a product's pool (operator). Its API token is stored
/// sealed ([`crate::secrets`]).
pub async fn add_server(
    db: &impl ConnectionTrait,
    sealer: &crate::secrets::Sealer,
    product_id: &str,
    name: &str,
    capacity: i32,
    api_url: &str,
    api_token: &str,
) -> Result<server::Model, DbErr> {
    server::ActiveModel {
        id: Set(uuid::Uuid::now_v7().simple().to_string()),
        product_id: Set(product_id.to_owned()),
        name: Set(name.to_owned()),
        capacity: Set(capacity),
        used: Set(0),
        api_url: Set(api_url.trim_end_matches('/').to_owned()),
        api_token: Set(sealer.seal(api_token)),
        active: Set(true),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
}

pub async fn set_active(db: &impl ConnectionTrait, id: &str, active: bool) -> Result<bool, DbErr> {
    let r = server::Entity::update_many()
        .col_expr(server::Column::Active, Expr::val(active))
        .filter(server::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Reserves a place on a random active server of the product's pool with room
/// left (one conditional UPDATE per try, so two orders never take the last place
/// twice). `None` when the pool is full or empty.
pub async fn reserve(
    db: &impl ConnectionTrait,
    product_id: &str,
) -> Result<Option<server::Model>, DbErr> {
    use rand::seq::SliceRandom;
    let mut candidates: Vec<server::Model> = server::Entity::find()
        .filter(server::Column::ProductId.eq(product_id))
        .filter(server::Column::Active.eq(true))
        .filter(Expr::col(server::Column::Used).lt(Expr::col(server::Column::Capacity)))
        .all(db)
        .await?;
    candidates.shuffle(&mut rand::rng());
    for s in candidates {
        let taken = server::Entity::update_many()
            .col_expr(server::Column::Used, Expr::col(server::Column::Used).add(1))
            .filter(server::Column::Id.eq(&s.id))
            .filter(Expr::col(server::Column::Used).lt(Expr::col(server::Column::Capacity)))
            .exec(db)
            .await?;
        if taken.rows_affected == 1 {
            return Ok(Some(s));
        }
    }
    Ok(None)
}

/// Gives a reserved place back (account not created, or terminated).
pub async fn release(db: &impl ConnectionTrait, server_id: &str) -> Result<(), DbErr> {
    server::Entity::update_many()
        .col_expr(server::Column::Used, Expr::col(server::Column::Used).sub(1))
        .filter(server::Column::Id.eq(server_id))
        .filter(server::Column::Used.gt(0))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn account_of_service(
    tx: &TenantTx,
    service_id: &str,
) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find()
        .filter(account::Column::ServiceId.eq(service_id))
        .one(tx.conn())
        .await
}

pub async fn customer_accounts(
    tx: &TenantTx,
    customer_id: &str,
) -> Result<Vec<account::Model>, DbErr> {
    account::Entity::find()
        .filter(account::Column::CustomerId.eq(customer_id))
        .all(tx.conn())
        .await
}

/// The password, once: returned and cleared in the same transaction.
pub async fn take_password(tx: &TenantTx, account_id: &str) -> Result<Option<String>, DbErr> {
    let Some(a) = account::Entity::find_by_id(account_id.to_owned())
        .one(tx.conn())
        .await?
    else {
        return Ok(None);
    };
    if a.pending_password.is_none() {
        return Ok(None);
    }
    let cleared = account::Entity::update_many()
        .col_expr(
            account::Column::PendingPassword,
            Expr::val(Option::<String>::None),
        )
        .filter(account::Column::Id.eq(account_id))
        .filter(account::Column::PendingPassword.is_not_null())
        .exec(tx.conn())
        .await?;
    Ok((cleared.rows_affected == 1)
        .then_some(a.pending_password)
        .flatten())
}

/// A panel user name derived from the service id: stable across retries.
pub fn username_for(service_id: &str) -> String {
    use sha2::Digest;
    let h = hex::encode(sha2::Sha256::digest(service_id.as_bytes()));
    format!("u{}", &h[..9])
}

pub fn new_password() -> String {
    crate::provisioning::handler::random_auth_code()
}

pub async fn set_status(tx: &TenantTx, id: &str, status: &str) -> Result<(), DbErr> {
    account::ActiveModel {
        id: Set(id.to_owned()),
        status: Set(status.to_owned()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(tx.conn())
    .await?;
    Ok(())
}
