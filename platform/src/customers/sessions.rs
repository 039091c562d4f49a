//! Signed-in sessions of customers, kept per tenant so a customer can see them and
//! sign out everywhere. The HTTP session only holds the id of a row here.

use chrono::Utc;
use relabel_tenants::TenantTx;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "customer_sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub customer_id: String,
        pub user_agent: String,
        pub ip: String,
        pub created_at: DateTimeUtc,
        pub last_seen_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub async fn open(
    tx: &TenantTx,
    customer_id: &str,
    user_agent: &str,
    ip: &str,
) -> Result<String, DbErr> {
    let id = crate::auth::random_token(24);
    let now = Utc::now();
    entity::ActiveModel {
        id: Set(id.clone()),
        customer_id: Set(customer_id.to_owned()),
        user_agent: Set(user_agent.chars().take(200).collect()),
        ip: Set(ip.chars().take(45).collect()),
        created_at: Set(now),
        last_seen_at: Set(now),
    }
    .insert(tx.conn())
    .await?;
    Ok(id)
}

/// Whether the session row still exists (it is gone after sign-out-everywhere).
pub async fn is_open(tx: &TenantTx, customer_id: &str, id: &str) -> Result<bool, DbErr> {
    Ok(entity::Entity::find_by_id(id.to_owned())
        .filter(entity::Column::CustomerId.eq(customer_id))
        .one(tx.conn())
        .await?
        .is_some())
}

pub async fn list(tx: &TenantTx, customer_id: &str) -> Result<Vec<entity::Model>, DbErr> {
    entity::Entity::find()
        .filter(entity::Column::CustomerId.eq(customer_id))
        .order_by_desc(entity::Column::LastSeenAt)
        .all(tx.conn())
        .await
}

pub async fn close(tx: &TenantTx, id: &str) -> Result<(), DbErr> {
    entity::Entity::delete_by_id(id.to_owned())
        .exec(tx.conn())
        .await?;
    Ok(())
}

/// Ends every session of the customer (sign out everywhere, password reset).
pub async fn close_all(tx: &TenantTx, customer_id: &str) -> Result<u64, DbErr> {
    Ok(entity::Entity::delete_many()
        .filter(entity::Column::CustomerId.eq(customer_id))
        .exec(tx.conn())
        .await?
        .rows_affected)
}
