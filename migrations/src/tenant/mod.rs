//! Migrations of one tenant schema. Every tenant runs the same list; keep tables and
//! indexes few, since each is paid once per tenant.

use sea_orm_migration::prelude::*;

mod m0001_tenant_base;
mod m0002_accounts;
mod m0003_pricing;
mod m0004_coupons;
mod m0005_terms;
mod m0006_orders;
mod m0007_provisioning;
mod m0008_hosting_accounts;
mod m0009_forwarding;
mod m0010_billing;
mod m0011_payments;
mod m0012_collections;
mod m0013_appearance;
mod m0014_job_claim;
mod m0015_staff_totp_step;
mod m0016_outbox_list_unsubscribe;
mod m0017_job_owner;
mod m0018_period_generation;
mod m0019_zero_rate_basis;

pub struct TenantMigrator;

#[async_trait::async_trait]
impl MigratorTrait for TenantMigrator {
    fn migration_table_name() -> DynIden {
        "tenant_migrations".into_iden()
    }

    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_tenant_base::Migration),
            Box::new(m0002_accounts::Migration),
            Box::new(m0003_pricing::Migration),
            Box::new(m0004_coupons::Migration),
            Box::new(m0005_terms::Migration),
            Box::new(m0006_orders::Migration),
            Box::new(m0007_provisioning::Migration),
            Box::new(m0008_hosting_accounts::Migration),
            Box::new(m0009_forwarding::Migration),
            Box::new(m0010_billing::Migration),
            Box::new(m0011_payments::Migration),
            Box::new(m0012_collections::Migration),
            Box::new(m0013_appearance::Migration),
            Box::new(m0014_job_claim::Migration),
            Box::new(m0015_staff_totp_step::Migration),
            Box::new(m0016_outbox_list_unsubscribe::Migration),
            Box::new(m0017_job_owner::Migration),
            Box::new(m0018_period_generation::Migration),
            Box::new(m0019_zero_rate_basis::Migration),
        ]
    }
}
