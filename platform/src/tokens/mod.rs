//! Single-use, expiring tokens for links in emails (verification, password reset,
//! staff invitations). Only a SHA-256 of the token is stored.

use chrono::{Duration, Utc};
use relabel_tenants::TenantTx;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub purpose: String,
        pub subject: String,
        pub token_hash: String,
        pub expires_at: DateTimeUtc,
        pub used_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
    ChangeEmail,
    StaffInvite,
    /// Hands a support session over to the customer center (minutes only).
    Impersonate,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::ChangeEmail => "change_email",
            Self::StaffInvite => "staff_invite",
            Self::Impersonate => "impersonate",
        }
    }

    /// How long a link of this kind stays valid.
    pub fn ttl(self) -> Duration {
        match self {
            Self::ResetPassword => Duration::hours(1),
            Self::VerifyEmail | Self::ChangeEmail => Duration::hours(48),
            Self::StaffInvite => Duration::days(7),
            Self::Impersonate => Duration::minutes(2),
        }
    }
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Issues a token for `subject` (e.g. a customer id); returns the plaintext
/// for the link. Earlier links of the same kind for the same subject die: only
/// the newest link works.
pub async fn issue(tx: &TenantTx, purpose: Purpose, subject: &str) -> Result<String, DbErr> {
    revoke(tx, purpose, subject).await?;
    let token = crate::auth::random_token(32);
    let now = Utc::now();
    entity::ActiveModel {
        id: Set(uuid::Uuid::now_v7().simple().to_string()),
        purpose: Set(purpose.as_str().to_owned()),
        subject: Set(subject.to_owned()),
        token_hash: Set(hash(&token)),
        expires_at: Set(now + purpose.ttl()),
        used_at: Set(None),
        created_at: Set(now),
    }
    .insert(tx.conn())
    .await?;
    Ok(token)
}

/// Ends every unused link of `purpose` for `subject` (a newer link was
/// issued, or the password it would reset was changed).
pub async fn revoke(tx: &TenantTx, purpose: Purpose, subject: &str) -> Result<(), DbErr> {
    entity::Entity::update_many()
        .col_expr(entity::Column::UsedAt, Expr::value(Utc::now()))
        .filter(entity::Column::Purpose.eq(purpose.as_str()))
        .filter(entity::Column::Subject.eq(subject))
        .filter(entity::Column::UsedAt.is_null())
        .exec(tx.conn())
        .await?;
    Ok(())
}

/// Whether a still-working link of `purpose` for `subject` went out within
/// `window`: a repeated request (a sign-in before verifying) does not send
/// another mail meanwhile.
pub async fn sent_within(
    tx: &TenantTx,
    purpose: Purpose,
    subject: &str,
    window: Duration,
) -> Result<bool, DbErr> {
    let now = Utc::now();
    Ok(entity::Entity::find()
        .filter(entity::Column::Purpose.eq(purpose.as_str()))
        .filter(entity::Column::Subject.eq(subject))
        .filter(entity::Column::UsedAt.is_null())
        .filter(entity::Column::ExpiresAt.gt(now))
        .filter(entity::Column::CreatedAt.gt(now - window))
        .one(tx.conn())
        .await?
        .is_some())
}

/// Is `token` a link that still works (any purpose)? The outbox shows a
/// secret link only while it does.
pub async fn is_live(tx: &TenantTx, token: &str) -> Result<bool, DbErr> {
    Ok(entity::Entity::find()
        .filter(entity::Column::TokenHash.eq(hash(token)))
        .filter(entity::Column::UsedAt.is_null())
        .filter(entity::Column::ExpiresAt.gt(Utc::now()))
        .one(tx.conn())
        .await?
        .is_some())
}

/// Uses a token: returns its subject if it exists, has this purpose, is unexpired and
/// unused, and marks it used in the same statement (so it works exactly once).
pub async fn consume(
    tx: &TenantTx,
    purpose: Purpose,
    token: &str,
) -> Result<Option<String>, DbErr> {
    let h = hash(token);
    let now = Utc::now();
    let res = entity::Entity::update_many()
        .col_expr(entity::Column::UsedAt, Expr::value(now))
        .filter(entity::Column::TokenHash.eq(&h))
        .filter(entity::Column::Purpose.eq(purpose.as_str()))
        .filter(entity::Column::UsedAt.is_null())
        .filter(entity::Column::ExpiresAt.gt(now))
        .exec(tx.conn())
        .await?;
    if res.rows_affected != 1 {
        return Ok(None);
    }
    Ok(entity::Entity::find()
        .filter(entity::Column::TokenHash.eq(h))
        .one(tx.conn())
        .await?
        .map(|t| t.subject))
}

/// Looks at a token without using it (to show a form behind a link).
pub async fn peek(tx: &TenantTx, purpose: Purpose, token: &str) -> Result<Option<String>, DbErr> {
    Ok(entity::Entity::find()
        .filter(entity::Column::TokenHash.eq(hash(token)))
        .filter(entity::Column::Purpose.eq(purpose.as_str()))
        .filter(entity::Column::UsedAt.is_null())
        .filter(entity::Column::ExpiresAt.gt(Utc::now()))
        .one(tx.conn())
        .await?
        .map(|t| t.subject))
}
