//! Migrations of schema `shared`: data that belongs to the platform, not to one reseller.

use sea_orm_migration::prelude::*;

mod m0001_platform;
mod m0002_operator_totp;
mod m0003_catalog;
mod m0004_reseller_accounts;
mod m0005_tld_phases;
mod m0006_hosting_servers;
mod m0007_forward_hosts;
mod m0008_product_terms;
mod m0009_reseller_collection;
mod m0010_custom_domains;
mod m0011_operator_totp_step;
mod m0012_http_sessions;

pub struct SharedMigrator;

#[async_trait::async_trait]
impl MigratorTrait for SharedMigrator {
    fn migration_table_name() -> DynIden {
        "shared_migrations".into_iden()
    }

    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_platform::Migration),
            Box::new(m0002_operator_totp::Migration),
            Box::new(m0003_catalog::Migration),
            Box::new(m0004_reseller_accounts::Migration),
            Box::new(m0005_tld_phases::Migration),
            Box::new(m0006_hosting_servers::Migration),
            Box::new(m0007_forward_hosts::Migration),
            Box::new(m0008_product_terms::Migration),
            Box::new(m0009_reseller_collection::Migration),
            Box::new(m0010_custom_domains::Migration),
            Box::new(m0011_operator_totp_step::Migration),
            Box::new(m0012_http_sessions::Migration),
        ]
    }
}
