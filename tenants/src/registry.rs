//! The registry of resellers and their hostnames (schema `shared`).

use crate::backend::BackendKind;
use crate::entity::{hostname, tenant};
use crate::{Hostname, Tenancy, TenancyError, TenantId, TenantTx};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    Active,
    Suspended,
    Deleted,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Deleted => "deleted",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "active" => Self::Active,
            "suspended" => Self::Suspended,
            _ => Self::Deleted,
        }
    }
}

/// Brand data every storefront page needs. Colors are `#rrggbb`, checked by the caller.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Brand {
    pub primary_color: String,
    pub accent_color: String,
    pub logo_asset_id: Option<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub status: TenantStatus,
    /// The schema (Postgres) or file stem (SQLite) of this tenant's data.
    pub schema: String,
    pub brand: Brand,
    pub hostnames: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl Tenant {
    fn from_rows(row: tenant::Model, hostnames: Vec<String>) -> Self {
        Self {
            id: TenantId::parse(&row.id).unwrap_or_else(TenantId::generate),
            name: row.name,
            status: TenantStatus::parse(&row.status),
            schema: row.schema_name,
            brand: Brand {
                primary_color: row.primary_color,
                accent_color: row.accent_color,
                logo_asset_id: row.logo_asset_id,
            },
            hostnames,
            created_at: row.created_at,
        }
    }
}

pub struct NewTenant {
    pub name: String,
    pub brand: Brand,
    pub hostnames: Vec<Hostname>,
}

/// A tenant whose schema exists and is migrated but which is not yet visible.
/// Write the tenant's initial rows (owner account, ...) through [`PendingTenant::tx`],
/// then [`PendingTenant::commit`]. Dropping it without commit leaves nothing behind
/// on Postgres; on SQLite the orphaned file is removed.
pub struct PendingTenant {
    tenancy: Tenancy,
    tx: TenantTx,
    row: tenant::ActiveModel,
    hostnames: Vec<Hostname>,
    pub tenant: Tenant,
}

impl PendingTenant {
    pub fn tx(&self) -> &TenantTx {
        &self.tx
    }

    pub async fn commit(self) -> Result<Tenant, TenancyError> {
        let backend = self.tenancy.backend().clone();
        match backend.kind() {
            BackendKind::Postgres => {
                // Shared rows were written in the same transaction: all or nothing.
                // The registry is not the tenant's: back to the login role for it.
                self.tx.conn().execute_unprepared("RESET ROLE").await?;
                insert_shared(self.tx.conn(), self.row, &self.hostnames).await?;
                self.tx.commit().await?;
            }
            BackendKind::Sqlite => {
                // Two files cannot commit atomically: commit the tenant file first; if
                // the registry insert fails the file is an orphan and is removed.
                self.tx.commit().await?;
                let shared = backend.shared().begin().await?;
                let inserted = match insert_shared(&shared, self.row, &self.hostnames).await {
                    Ok(()) => shared.commit().await.map_err(TenancyError::from),
                    Err(e) => Err(e),
                };
                if let Err(e) = inserted {
                    backend.discard_sqlite_tenant(&self.tenant.schema).await;
                    return Err(e);
                }
            }
        }
        self.tenancy.changed().await;
        Ok(self.tenant)
    }
}

async fn insert_shared(
    db: &impl sea_orm::ConnectionTrait,
    row: tenant::ActiveModel,
    hostnames: &[Hostname],
) -> Result<(), TenancyError> {
    let tenant_id = row.id.clone().unwrap();
    row.insert(db).await?;
    for host in hostnames {
        insert_host(db, &tenant_id, host).await?;
    }
    Ok(())
}

async fn insert_host(
    db: &impl sea_orm::ConnectionTrait,
    tenant_id: &str,
    host: &Hostname,
) -> Result<(), TenancyError> {
    hostname::ActiveModel {
        hostname: Set(host.as_str().to_owned()),
        tenant_id: Set(tenant_id.to_owned()),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .map_err(|e| TenancyError::from_host_insert(e, host.as_str()))?;
    Ok(())
}

impl Tenancy {
    /// Creates the tenant's schema and migrates it. See [`PendingTenant`].
    pub async fn create_tenant(&self, new: NewTenant) -> Result<PendingTenant, TenancyError> {
        let name = new.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(TenancyError::InvalidName);
        }
        for host in &new.hostnames {
            self.ensure_host_free(host).await?;
        }
        let id = TenantId::generate();
        let schema = id.schema_name();
        let backend = self.backend();
        let txn = backend.begin_schema(&schema, true).await?;
        let migrated = match backend.migrate_tenant(&txn, &schema).await {
            Ok(_) => backend.enter_role(&txn, &schema).await,
            Err(e) => Err(e),
        };
        if let Err(e) = migrated {
            drop(txn);
            backend.discard_sqlite_tenant(&schema).await;
            return Err(e);
        }
        let now = Utc::now();
        let row = tenant::ActiveModel {
            id: Set(id.to_string()),
            name: Set(name.clone()),
            status: Set(TenantStatus::Active.as_str().to_owned()),
            schema_name: Set(schema.clone()),
            primary_color: Set(new.brand.primary_color.clone()),
            accent_color: Set(new.brand.accent_color.clone()),
            logo_asset_id: Set(new.brand.logo_asset_id.clone()),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        };
        let tenant = Tenant {
            id: id.clone(),
            name,
            status: TenantStatus::Active,
            schema,
            brand: new.brand,
            hostnames: new.hostnames.iter().map(|h| h.to_string()).collect(),
            created_at: now,
        };
        Ok(PendingTenant {
            tenancy: self.clone(),
            tx: TenantTx::new(txn, id, backend.platform()).with_changes(self.changes().clone()),
            row,
            hostnames: new.hostnames,
            tenant,
        })
    }

    async fn ensure_host_free(&self, host: &Hostname) -> Result<(), TenancyError> {
        let taken = hostname::Entity::find_by_id(host.as_str().to_owned())
            .one(self.backend().shared())
            .await?;
        match taken {
            Some(_) => Err(TenancyError::HostnameTaken(host.to_string())),
            None => Ok(()),
        }
    }

    /// All tenants that are not deleted, oldest first, with their hostnames.
    pub async fn list(&self) -> Result<Vec<Tenant>, TenancyError> {
        let db = self.backend().shared();
        let rows = tenant::Entity::find()
            .filter(tenant::Column::DeletedAt.is_null())
            .order_by_asc(tenant::Column::CreatedAt)
            .all(db)
            .await?;
        let mut hosts: HashMap<String, Vec<String>> = HashMap::new();
        for h in hostname::Entity::find()
            .order_by_asc(hostname::Column::Hostname)
            .all(db)
            .await?
        {
            hosts.entry(h.tenant_id).or_default().push(h.hostname);
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                let h = hosts.remove(&r.id).unwrap_or_default();
                Tenant::from_rows(r, h)
            })
            .collect())
    }

    /// Every tenant schema, including deleted tenants still in retention: all of them
    /// must stay on the current schema version.
    pub(crate) async fn all_schemas(
        &self,
    ) -> Result<Vec<(TenantId, String, String)>, TenancyError> {
        let rows = tenant::Entity::find()
            .order_by_asc(tenant::Column::CreatedAt)
            .all(self.backend().shared())
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Some((TenantId::parse(&r.id)?, r.name, r.schema_name)))
            .collect())
    }

    pub async fn get(&self, id: &TenantId) -> Result<Tenant, TenancyError> {
        let db = self.backend().shared();
        let row = tenant::Entity::find_by_id(id.to_string())
            .filter(tenant::Column::DeletedAt.is_null())
            .one(db)
            .await?
            .ok_or_else(|| TenancyError::NotFound(id.to_string()))?;
        let hosts = hostname::Entity::find()
            .filter(hostname::Column::TenantId.eq(id.as_str()))
            .order_by_asc(hostname::Column::Hostname)
            .all(db)
            .await?
            .into_iter()
            .map(|h| h.hostname)
            .collect();
        Ok(Tenant::from_rows(row, hosts))
    }

    pub(crate) async fn find_by_host(&self, host: &str) -> Result<Option<Tenant>, TenancyError> {
        let db = self.backend().shared();
        let Some(h) = hostname::Entity::find_by_id(host.to_owned())
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        let id = TenantId::parse(&h.tenant_id)
            .ok_or_else(|| TenancyError::NotFound(h.tenant_id.clone()))?;
        match self.get(&id).await {
            Ok(t) => Ok(Some(t)),
            Err(TenancyError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn update_row(
        &self,
        id: &TenantId,
        change: impl FnOnce(&mut tenant::ActiveModel),
    ) -> Result<Tenant, TenancyError> {
        let db = self.backend().shared();
        let row = tenant::Entity::find_by_id(id.to_string())
            .filter(tenant::Column::DeletedAt.is_null())
            .one(db)
            .await?
            .ok_or_else(|| TenancyError::NotFound(id.to_string()))?;
        let mut active: tenant::ActiveModel = row.into();
        change(&mut active);
        active.updated_at = Set(Utc::now());
        active.update(db).await?;
        self.changed().await;
        self.get(id).await
    }

    pub async fn set_status(
        &self,
        id: &TenantId,
        status: TenantStatus,
    ) -> Result<Tenant, TenancyError> {
        self.update_row(id, |t| t.status = Set(status.as_str().to_owned()))
            .await
    }

    pub async fn set_branding(
        &self,
        id: &TenantId,
        name: &str,
        brand: &Brand,
    ) -> Result<Tenant, TenancyError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(TenancyError::InvalidName);
        }
        self.update_row(id, |t| {
            t.name = Set(name.to_owned());
            t.primary_color = Set(brand.primary_color.clone());
            t.accent_color = Set(brand.accent_color.clone());
            t.logo_asset_id = Set(brand.logo_asset_id.clone());
        })
        .await
    }

    /// Deletes a reseller: it stops resolving at once and its hostnames are freed;
    /// its schema is kept for the retention period (purged by the operator later).
    pub async fn delete(&self, id: &TenantId) -> Result<Tenant, TenancyError> {
        let txn = self.backend().shared().begin().await?;
        hostname::Entity::delete_many()
            .filter(hostname::Column::TenantId.eq(id.as_str()))
            .exec(&txn)
            .await?;
        let row = tenant::Entity::find_by_id(id.to_string())
            .filter(tenant::Column::DeletedAt.is_null())
            .one(&txn)
            .await?
            .ok_or_else(|| TenancyError::NotFound(id.to_string()))?;
        let before = Tenant::from_rows(row.clone(), vec![]);
        let mut active: tenant::ActiveModel = row.into();
        active.status = Set(TenantStatus::Deleted.as_str().to_owned());
        active.deleted_at = Set(Some(Utc::now()));
        active.update(&txn).await?;
        txn.commit().await?;
        self.backend().evict(&before.schema).await;
        self.changed().await;
        Ok(before)
    }

    /// Resellers deleted before `cutoff` whose data is still kept.
    pub async fn deleted_before(&self, cutoff: DateTime<Utc>) -> Result<Vec<Tenant>, TenancyError> {
        let rows = tenant::Entity::find()
            .filter(tenant::Column::DeletedAt.lt(cutoff))
            .filter(tenant::Column::Id.ne(PLATFORM_BOOKS_ID))
            .order_by_asc(tenant::Column::DeletedAt)
            .all(self.backend().shared())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| Tenant::from_rows(r, vec![]))
            .collect())
    }

    /// Removes a deleted reseller's data for good: its schema (or file) and its
    /// rows in the shared tables. The audit log keeps its entries. Refused for
    /// a reseller that is not deleted.
    pub async fn purge(&self, id: &TenantId) -> Result<Tenant, TenancyError> {
        let backend = self.backend();
        let txn = backend.shared().begin().await?;
        let row = tenant::Entity::find_by_id(id.to_string())
            .filter(tenant::Column::DeletedAt.is_not_null())
            .one(&txn)
            .await?
            .ok_or_else(|| TenancyError::NotFound(id.to_string()))?;
        let gone = Tenant::from_rows(row, vec![]);
        for table in [
            "hostnames",
            "reseller_accounts",
            "operator_cases",
            "custom_domains",
            "forward_hosts",
        ] {
            txn.execute_raw(sea_orm::Statement::from_sql_and_values(
                txn.get_database_backend(),
                format!(
                    "DELETE FROM shared.{table} WHERE tenant_id = {}",
                    placeholder(&txn)
                ),
                [id.as_str().into()],
            ))
            .await?;
        }
        tenant::Entity::delete_by_id(id.to_string())
            .exec(&txn)
            .await?;
        if backend.kind() == BackendKind::Postgres {
            // The name is generated (`t_<hex>`), checked again here.
            if !crate::backend::is_tenant_schema(&gone.schema) {
                return Err(TenancyError::Config(format!(
                    "not a tenant schema: {}",
                    gone.schema
                )));
            }
            txn.execute_unprepared(&format!("DROP SCHEMA IF EXISTS {} CASCADE", gone.schema))
                .await?;
            // Its role goes too, with what it was granted here.
            txn.execute_unprepared(&format!(
                "DO $$ BEGIN
                    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{0}') THEN
                        DROP OWNED BY {0};
                        DROP ROLE {0};
                    END IF;
                EXCEPTION WHEN dependent_objects_still_exist THEN
                    NULL; -- still granted something in another database of the cluster
                END $$",
                gone.schema
            ))
            .await?;
            txn.commit().await?;
        } else {
            txn.commit().await?;
            backend.discard_sqlite_tenant(&gone.schema).await;
        }
        Ok(gone)
    }

    pub async fn add_host(&self, id: &TenantId, host: &Hostname) -> Result<Tenant, TenancyError> {
        self.get(id).await?;
        self.ensure_host_free(host).await?;
        insert_host(self.backend().shared(), id.as_str(), host).await?;
        self.changed().await;
        self.get(id).await
    }

    pub async fn remove_host(
        &self,
        id: &TenantId,
        host: &Hostname,
    ) -> Result<Tenant, TenancyError> {
        let res = hostname::Entity::delete_many()
            .filter(hostname::Column::TenantId.eq(id.as_str()))
            .filter(hostname::Column::Hostname.eq(host.as_str()))
            .exec(self.backend().shared())
            .await?;
        if res.rows_affected == 0 {
            return Err(TenancyError::NotFound(host.to_string()));
        }
        self.changed().await;
        self.get(id).await
    }
}

fn placeholder(db: &impl sea_orm::ConnectionTrait) -> &'static str {
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "$1",
        _ => "?",
    }
}

/// The id of the operator's own books (T5): a schema like a tenant's, never a
/// reseller (no hostname, not listed), in which the platform bills its resellers
/// with the same billing code and tables as a reseller bills its customers.
pub const PLATFORM_BOOKS_ID: &str = "00000000000000000000000000000000";

impl Tenancy {
    /// The operator's books as a tenant: the schema is created and migrated on
    /// first use (and brought to the current version on every call).
    pub async fn platform_books(&self) -> Result<Tenant, TenancyError> {
        let id = TenantId::parse(PLATFORM_BOOKS_ID).expect("valid platform id");
        let schema = id.schema_name();
        let backend = self.backend();
        let txn = backend.begin_schema_ensured(&schema).await?;
        backend.migrate_tenant(&txn, &schema).await?;
        txn.commit().await?;
        Ok(Tenant {
            id,
            name: "Platform".into(),
            status: TenantStatus::Active,
            schema,
            brand: Brand {
                primary_color: "#1f3a5f".into(),
                accent_color: "#e07a1f".into(),
                logo_asset_id: None,
            },
            hostnames: vec![],
            created_at: Utc::now(),
        })
    }
}
