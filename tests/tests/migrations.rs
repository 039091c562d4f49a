//! `relabel migrate`: many tenants, no-op re-runs, a broken tenant reported by name.

use relabel_platform::AppState;
use relabel_tenants::{Brand, NewTenant, Tenancy, Tenant};
use relabel_tests::{is_postgres, test_config};
use sea_orm::ConnectionTrait;

async fn make_tenant(tenancy: &Tenancy, name: String) -> Tenant {
    let brand = Brand {
        primary_color: "#000000".into(),
        accent_color: "#ffffff".into(),
        logo_asset_id: None,
    };
    let pending = tenancy
        .create_tenant(NewTenant {
            name,
            brand,
            hostnames: vec![],
        })
        .await
        .unwrap();
    pending.commit().await.unwrap()
}

#[tokio::test]
async fn two_hundred_tenants_migrate_once_and_a_broken_one_is_reported() {
    let (config, _cleanup) = test_config().await.unwrap();
    let state = AppState::new(config.clone()).await.unwrap();
    let tenancy = &state.tenancy;
    let mut tenants = Vec::new();
    for i in 0..200 {
        tenants.push(make_tenant(tenancy, format!("Tenant {i:03}")).await);
    }

    // Created tenants are already current: a migrate run applies nothing.
    let report = tenancy.migrate_all(8).await.unwrap();
    assert_eq!(report.tenants.len(), 200);
    assert_eq!(report.failed().count(), 0);
    assert_eq!(report.applied(), 0, "second migrate must be a no-op");

    // Break one tenant's schema: it is reported by name, the others still finish.
    let broken = &tenants[17];
    if is_postgres() {
        tenancy
            .backend()
            .shared()
            .execute_unprepared(&format!("DROP SCHEMA {} CASCADE", broken.schema))
            .await
            .unwrap();
    } else {
        let dir = state.config.data_dir.join("tenants");
        std::fs::write(
            dir.join(format!("{}.db", broken.schema)),
            b"this is not a database file, it is broken on purpose",
        )
        .unwrap();
        let _ = std::fs::remove_file(dir.join(format!("{}.db-wal", broken.schema)));
        let _ = std::fs::remove_file(dir.join(format!("{}.db-shm", broken.schema)));
    }
    // A fresh process, as `relabel migrate` would be.
    let state = AppState::new(config).await.unwrap();
    let report = state.tenancy.migrate_all(8).await.unwrap();
    let failed: Vec<_> = report.failed().collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].name, "Tenant 017");
    assert!(failed[0].error.as_deref().is_some_and(|e| !e.is_empty()));
    assert_eq!(
        report.tenants.iter().filter(|t| t.error.is_none()).count(),
        199
    );
}
