//! Reseller staff accounts (tenant schema). This issue has the owner role only;
//! the other roles arrive with the accounts work.

use crate::auth::{Email, Password, check_account, hash_password};
use chrono::Utc;
use relabel_tenants::TenantTx;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, Set};

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "staff")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub email: String,
        pub password_hash: String,
        pub role: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StaffMember {
    pub id: String,
    pub email: String,
    pub role: Role,
}

fn member(m: entity::Model) -> StaffMember {
    StaffMember {
        id: m.id,
        email: m.email,
        role: Role::Owner,
    }
}

pub async fn create_owner(
    tx: &TenantTx,
    email: &Email,
    password: &Password,
) -> Result<StaffMember, DbErr> {
    let m = entity::ActiveModel {
        id: Set(uuid::Uuid::now_v7().simple().to_string()),
        email: Set(email.to_string()),
        password_hash: Set(hash_password(password)),
        role: Set("owner".into()),
        created_at: Set(Utc::now()),
    }
    .insert(tx.conn())
    .await?;
    Ok(member(m))
}

pub async fn authenticate(
    tx: &TenantTx,
    email: &str,
    password: &str,
) -> Result<Option<StaffMember>, DbErr> {
    let found = match Email::parse(email) {
        Some(e) => {
            entity::Entity::find()
                .filter(entity::Column::Email.eq(e.as_str()))
                .one(tx.conn())
                .await?
        }
        None => None,
    };
    Ok(check_account(found, |m| m.password_hash.as_str(), password).map(member))
}

pub async fn owner(tx: &TenantTx) -> Result<Option<StaffMember>, DbErr> {
    Ok(entity::Entity::find()
        .filter(entity::Column::Role.eq("owner"))
        .one(tx.conn())
        .await?
        .map(member))
}
