//! Reseller staff accounts (tenant schema) with roles: owner, admin, billing, support.

mod roles;

pub use roles::{Perm, Role};

use crate::audit::{self, Change};
use crate::auth::{Email, Password, check_account, hash_password};
use chrono::Utc;
use relabel_tenants::TenantTx;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};

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
        pub name: Option<String>,
        pub totp_secret: Option<String>,
        pub totp_enabled_at: Option<DateTimeUtc>,
        pub recovery_codes: Option<String>,
        pub locked_at: Option<DateTimeUtc>,
        /// Time step of the last accepted TOTP code (no code is accepted twice).
        pub totp_last_step: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StaffMember {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub totp: bool,
}

fn member(m: entity::Model) -> StaffMember {
    StaffMember {
        role: Role::parse(&m.role).unwrap_or(Role::Support),
        totp: m.totp_enabled_at.is_some(),
        id: m.id,
        email: m.email,
        name: m.name,
    }
}

async fn insert(
    tx: &TenantTx,
    email: &Email,
    name: Option<&str>,
    password_hash: String,
    role: Role,
) -> Result<StaffMember, DbErr> {
    let m = entity::ActiveModel {
        id: Set(uuid::Uuid::now_v7().simple().to_string()),
        email: Set(email.as_str().to_lowercase()),
        password_hash: Set(password_hash),
        role: Set(role.as_str().into()),
        created_at: Set(Utc::now()),
        name: Set(name.map(str::to_owned)),
        totp_secret: Set(None),
        totp_enabled_at: Set(None),
        recovery_codes: Set(None),
        locked_at: Set(None),
        totp_last_step: Set(None),
    }
    .insert(tx.conn())
    .await?;
    Ok(member(m))
}

pub async fn create_owner(
    tx: &TenantTx,
    email: &Email,
    password: &Password,
) -> Result<StaffMember, DbErr> {
    insert(tx, email, None, hash_password(password), Role::Owner).await
}

/// Adds a member who accepted an invitation.
pub async fn create_invited(
    tx: &TenantTx,
    email: &Email,
    name: &str,
    password: &Password,
    role: Role,
) -> Result<StaffMember, DbErr> {
    insert(tx, email, Some(name), hash_password(password), role).await
}

pub async fn authenticate(
    tx: &TenantTx,
    email: &str,
    password: &str,
) -> Result<Option<StaffMember>, DbErr> {
    let found = match Email::parse(email) {
        Some(e) => {
            entity::Entity::find()
                .filter(entity::Column::Email.eq(e.as_str().to_lowercase()))
                .one(tx.conn())
                .await?
        }
        None => None,
    };
    Ok(check_account(found, |m| m.password_hash.as_str(), password)
        .filter(|m| m.locked_at.is_none())
        .map(member))
}

pub async fn get(tx: &TenantTx, id: &str) -> Result<Option<StaffMember>, DbErr> {
    Ok(entity::Entity::find_by_id(id.to_owned())
        .filter(entity::Column::LockedAt.is_null())
        .one(tx.conn())
        .await?
        .map(member))
}

pub async fn get_row(tx: &TenantTx, id: &str) -> Result<Option<entity::Model>, DbErr> {
    entity::Entity::find_by_id(id.to_owned())
        .one(tx.conn())
        .await
}

pub async fn find_by_email(tx: &TenantTx, email: &str) -> Result<Option<StaffMember>, DbErr> {
    Ok(entity::Entity::find()
        .filter(entity::Column::Email.eq(email.to_lowercase()))
        .one(tx.conn())
        .await?
        .map(member))
}

pub async fn owner(tx: &TenantTx) -> Result<Option<StaffMember>, DbErr> {
    Ok(entity::Entity::find()
        .filter(entity::Column::Role.eq("owner"))
        .one(tx.conn())
        .await?
        .map(member))
}

pub async fn list(tx: &TenantTx) -> Result<Vec<StaffMember>, DbErr> {
    Ok(entity::Entity::find()
        .filter(entity::Column::LockedAt.is_null())
        .order_by_asc(entity::Column::CreatedAt)
        .all(tx.conn())
        .await?
        .into_iter()
        .map(member)
        .collect())
}

/// Changes a member's role (never the owner's).
pub async fn set_role(
    tx: &TenantTx,
    actor: &str,
    ip: Option<&str>,
    id: &str,
    role: Role,
) -> Result<Option<StaffMember>, DbErr> {
    let Some(row) = get_row(tx, id).await? else {
        return Ok(None);
    };
    if row.role == "owner" || role == Role::Owner {
        return Ok(None);
    }
    let before = row.role.clone();
    let mut a: entity::ActiveModel = row.into();
    a.role = Set(role.as_str().into());
    let saved = a.update(tx.conn()).await?;
    audit::record_tenant(
        tx,
        Change::new(actor, "staff.role", &saved.email)
            .entity("staff", &saved.id)
            .ip(ip)
            .before(before)
            .after(role.as_str()),
    )
    .await?;
    Ok(Some(member(saved)))
}

/// Removes a member (kept locked for the audit trail; never the owner).
pub async fn remove(tx: &TenantTx, actor: &str, ip: Option<&str>, id: &str) -> Result<bool, DbErr> {
    let Some(row) = get_row(tx, id).await? else {
        return Ok(false);
    };
    if row.role == "owner" {
        return Ok(false);
    }
    let mut a: entity::ActiveModel = row.clone().into();
    a.locked_at = Set(Some(Utc::now()));
    a.email = Set(format!("removed-{}-{}", row.id, row.email));
    a.update(tx.conn()).await?;
    audit::record_tenant(
        tx,
        Change::new(actor, "staff.remove", &row.email)
            .entity("staff", &row.id)
            .ip(ip)
            .before(&row.role),
    )
    .await?;
    Ok(true)
}

/// A member's TOTP secret once enabled (stored sealed, [`crate::secrets`]).
pub fn totp_secret(sealer: &crate::secrets::Sealer, row: &entity::Model) -> Option<String> {
    row.totp_enabled_at?;
    sealer.open_or_plain(row.totp_secret.as_deref()?)
}

/// Stores a confirmed TOTP secret (sealed) and keyed hashes of the recovery
/// codes. Enables the second factor with a confirmed `secret`; `step` is the time step of
/// the code that confirmed it, which cannot be used again to sign in.
pub async fn enable_totp(
    tx: &TenantTx,
    sealer: &crate::secrets::Sealer,
    id: &str,
    secret: &str,
    step: i64,
    recovery_hashes: &str,
) -> Result<(), DbErr> {
    let Some(row) = get_row(tx, id).await? else {
        return Ok(());
    };
    let mut a: entity::ActiveModel = row.clone().into();
    a.totp_secret = Set(Some(sealer.seal(secret)));
    a.totp_enabled_at = Set(Some(Utc::now()));
    a.totp_last_step = Set(Some(step));
    a.recovery_codes = Set(Some(recovery_hashes.to_owned()));
    a.update(tx.conn()).await?;
    audit::record_tenant(
        tx,
        Change::new(&row.email, "staff.totp_enable", &row.email).entity("staff", &row.id),
    )
    .await?;
    Ok(())
}

/// Records `step` as the member's last accepted TOTP step, unless a code of that
/// step or a later one was accepted already (by a concurrent request or another
/// node): then returns false and the code must be refused.
pub async fn claim_totp_step(tx: &TenantTx, id: &str, step: i64) -> Result<bool, DbErr> {
    use sea_orm::sea_query::{Condition, Expr};
    let res = entity::Entity::update_many()
        .col_expr(entity::Column::TotpLastStep, Expr::value(step))
        .filter(entity::Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(entity::Column::TotpLastStep.is_null())
                .add(entity::Column::TotpLastStep.lt(step)),
        )
        .exec(tx.conn())
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn set_recovery_codes(
    tx: &TenantTx,
    id: &str,
    recovery_hashes: &str,
) -> Result<(), DbErr> {
    let Some(row) = get_row(tx, id).await? else {
        return Ok(());
    };
    let mut a: entity::ActiveModel = row.into();
    a.recovery_codes = Set(Some(recovery_hashes.to_owned()));
    a.update(tx.conn()).await?;
    Ok(())
}
