//! `relabel migrate`: shared first, then every tenant schema with bounded concurrency.

use crate::{Tenancy, TenancyError, TenantId};
use futures::StreamExt;
use std::time::Instant;

#[derive(Debug, Clone, serde::Serialize)]
pub struct TenantMigration {
    pub tenant_id: TenantId,
    pub name: String,
    pub schema: String,
    /// Migrations applied in this run (0 = already current).
    pub applied: usize,
    pub error: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrationReport {
    pub tenants: Vec<TenantMigration>,
    pub elapsed_ms: u128,
}

impl MigrationReport {
    pub fn failed(&self) -> impl Iterator<Item = &TenantMigration> {
        self.tenants.iter().filter(|t| t.error.is_some())
    }

    pub fn applied(&self) -> usize {
        self.tenants.iter().map(|t| t.applied).sum()
    }
}

impl Tenancy {
    /// Brings every tenant schema to the current version. A failing tenant is
    /// recorded with its error; the others still migrate.
    pub async fn migrate_all(&self, concurrency: usize) -> Result<MigrationReport, TenancyError> {
        let started = Instant::now();
        self.backend().migrate_shared().await?;
        let schemas = self.all_schemas().await?;
        let mut tenants: Vec<TenantMigration> = futures::stream::iter(schemas)
            .map(|(tenant_id, name, schema)| async move {
                let result = self.migrate_one(&schema).await;
                if let Err(e) = &result {
                    tracing::error!(tenant = %tenant_id, %name, error = %e, "tenant migration failed");
                }
                TenantMigration {
                    tenant_id,
                    name,
                    schema,
                    applied: *result.as_ref().unwrap_or(&0),
                    error: result.err().map(|e| e.to_string()),
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        tenants.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
        Ok(MigrationReport {
            tenants,
            elapsed_ms: started.elapsed().as_millis(),
        })
    }

    async fn migrate_one(&self, schema: &str) -> Result<usize, TenancyError> {
        let backend = self.backend();
        let txn = backend.begin_schema(schema, false).await?;
        let applied = backend.migrate_tenant(&txn, schema).await?;
        txn.commit().await?;
        Ok(applied)
    }
}
