//! Operator accounts of the platform (schema `shared`).

use crate::auth::{Email, Password, check_account, hash_password};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(schema_name = "shared", table_name = "operators")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub email: String,
        pub password_hash: String,
        pub created_at: DateTimeUtc,
        pub totp_secret: Option<String>,
        pub totp_enabled_at: Option<DateTimeUtc>,
        pub recovery_codes: Option<String>,
        /// Time step of the last accepted TOTP code (no code is accepted twice).
        pub totp_last_step: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Operator {
    pub id: String,
    pub email: String,
}

pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<Operator>, DbErr> {
    Ok(entity::Entity::find()
        .filter(entity::Column::Email.eq(email.as_str()))
        .one(db)
        .await?
        .map(|m| Operator {
            id: m.id,
            email: m.email,
        }))
}

/// Creates an operator, or resets the password of an existing one with that email.
pub async fn upsert(
    db: &impl ConnectionTrait,
    email: &Email,
    password: &Password,
) -> Result<Operator, DbErr> {
    let existing = entity::Entity::find()
        .filter(entity::Column::Email.eq(email.as_str()))
        .one(db)
        .await?;
    let model = match existing {
        Some(m) => {
            let mut a: entity::ActiveModel = m.into();
            a.password_hash = Set(hash_password(password));
            a.update(db).await?
        }
        None => {
            entity::ActiveModel {
                id: Set(uuid::Uuid::now_v7().simple().to_string()),
                email: Set(email.to_string()),
                password_hash: Set(hash_password(password)),
                created_at: Set(Utc::now()),
                totp_secret: Set(None),
                totp_enabled_at: Set(None),
                recovery_codes: Set(None),
                totp_last_step: Set(None),
            }
            .insert(db)
            .await?
        }
    };
    Ok(Operator {
        id: model.id,
        email: model.email,
    })
}

/// Checks email and password. Takes the same time whether or not the email exists.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    email: &str,
    password: &str,
) -> Result<Option<Operator>, DbErr> {
    let found = match Email::parse(email) {
        Some(e) => {
            entity::Entity::find()
                .filter(entity::Column::Email.eq(e.as_str()))
                .one(db)
                .await?
        }
        None => None,
    };
    Ok(
        check_account(found, |m| m.password_hash.as_str(), password).map(|m| Operator {
            id: m.id,
            email: m.email,
        }),
    )
}

/// An operator's enabled second factor.
pub struct SecondFactor {
    pub secret: String,
    /// Hashes of the unused recovery codes.
    pub recovery: String,
    /// Time step of the last accepted code.
    pub last_step: Option<i64>,
}

/// The operator's second factor, once enabled.
/// The secret is stored sealed ([`crate::secrets`]).
pub async fn totp(
    db: &impl ConnectionTrait,
    sealer: &crate::secrets::Sealer,
    id: &str,
) -> Result<Option<SecondFactor>, DbErr> {
    Ok(entity::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .and_then(|m| match (m.totp_secret, m.totp_enabled_at) {
            (Some(sealed), Some(_)) => Some(SecondFactor {
                secret: sealer.open_or_plain(&sealed)?,
                recovery: m.recovery_codes.unwrap_or_default(),
                last_step: m.totp_last_step,
            }),
            _ => None,
        }))
}

/// Records `step` as the operator's last accepted TOTP step, unless a code of
/// that step or a later one was accepted already (by a concurrent request or
/// another node): then returns false and the code must be refused.
pub async fn claim_totp_step(
    db: &impl ConnectionTrait,
    id: &str,
    step: i64,
) -> Result<bool, DbErr> {
    use sea_orm::sea_query::{Condition, Expr};
    let res = entity::Entity::update_many()
        .col_expr(entity::Column::TotpLastStep, Expr::value(step))
        .filter(entity::Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(entity::Column::TotpLastStep.is_null())
                .add(entity::Column::TotpLastStep.lt(step)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Stores a confirmed secret (or only new recovery hashes when `secret` is None).
pub async fn set_totp(
    db: &impl ConnectionTrait,
    sealer: &crate::secrets::Sealer,
    id: &str,
    secret: Option<&str>,
    recovery_hashes: &str,
) -> Result<(), DbErr> {
    let Some(m) = entity::Entity::find_by_id(id.to_owned()).one(db).await? else {
        return Ok(());
    };
    let mut a: entity::ActiveModel = m.into();
    if let Some(secret) = secret {
        a.totp_secret = Set(Some(sealer.seal(secret)));
        a.totp_enabled_at = Set(Some(Utc::now()));
    }
    a.recovery_codes = Set(Some(recovery_hashes.to_owned()));
    a.update(db).await?;
    Ok(())
}
