//! The audit log (T7): who changed what, when, with the state before and after.
//! Operator changes go to `shared.audit_log`; reseller staff changes to the tenant's
//! own `audit_log`.

mod entity;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

pub use entity::{shared_log, tenant_log};

/// One change to record.
pub struct Change<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    /// The kind of entity and its id, for per-entity change logs.
    pub entity: Option<(&'a str, &'a str)>,
    /// The client's IP address, when the change came over HTTP.
    pub ip: Option<&'a str>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl<'a> Change<'a> {
    pub fn new(actor: &'a str, action: &'a str, target: &'a str) -> Self {
        Self {
            actor,
            action,
            target,
            entity: None,
            ip: None,
            before: None,
            after: None,
        }
    }

    pub fn entity(mut self, kind: &'a str, id: &'a str) -> Self {
        self.entity = Some((kind, id));
        self
    }

    pub fn ip(mut self, ip: Option<&'a str>) -> Self {
        self.ip = ip;
        self
    }

    pub fn before(mut self, v: impl Serialize) -> Self {
        self.before = serde_json::to_value(v).ok();
        self
    }

    pub fn after(mut self, v: impl Serialize) -> Self {
        self.after = serde_json::to_value(v).ok();
        self
    }
}

fn json(v: Option<serde_json::Value>) -> Option<String> {
    v.map(|v| v.to_string())
}

/// Records an operator's change (platform level), optionally about one tenant.
pub async fn record_operator(
    db: &impl ConnectionTrait,
    tenant_id: Option<&str>,
    change: Change<'_>,
) -> Result<(), DbErr> {
    shared_log::ActiveModel {
        id: Set(uuid::Uuid::now_v7().simple().to_string()),
        at: Set(Utc::now()),
        actor: Set(change.actor.to_owned()),
        tenant_id: Set(tenant_id.map(str::to_owned)),
        action: Set(change.action.to_owned()),
        target: Set(change.target.to_owned()),
        before: Set(json(change.before)),
        after: Set(json(change.after)),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Records a reseller staff member's change, in the same tenant transaction as the change.
pub async fn record_tenant(
    tx: &relabel_tenants::TenantTx,
    change: Change<'_>,
) -> Result<(), DbErr> {
    tenant_log::ActiveModel {
        id: Set(uuid::Uuid::now_v7().simple().to_string()),
        at: Set(Utc::now()),
        actor: Set(change.actor.to_owned()),
        action: Set(change.action.to_owned()),
        target: Set(change.target.to_owned()),
        entity: Set(change.entity.map(|(k, _)| k.to_owned())),
        entity_id: Set(change.entity.map(|(_, id)| id.to_owned())),
        ip: Set(change.ip.map(str::to_owned)),
        before: Set(json(change.before)),
        after: Set(json(change.after)),
    }
    .insert(tx.conn())
    .await?;
    Ok(())
}

pub async fn recent_tenant(
    tx: &relabel_tenants::TenantTx,
    limit: u64,
) -> Result<Vec<tenant_log::Model>, DbErr> {
    entity_log(tx, None, limit).await
}

/// The newest entries, optionally only those about one entity (e.g. a customer).
pub async fn entity_log(
    tx: &relabel_tenants::TenantTx,
    entity_id: Option<&str>,
    limit: u64,
) -> Result<Vec<tenant_log::Model>, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let mut q = tenant_log::Entity::find();
    if let Some(id) = entity_id {
        q = q.filter(tenant_log::Column::EntityId.eq(id));
    }
    q.order_by_desc(tenant_log::Column::Id)
        .limit(limit)
        .all(tx.conn())
        .await
}

pub async fn recent_operator(
    db: &impl ConnectionTrait,
    limit: u64,
) -> Result<Vec<shared_log::Model>, DbErr> {
    shared_log::Entity::find()
        .order_by_desc(shared_log::Column::Id)
        .limit(limit)
        .all(db)
        .await
}
