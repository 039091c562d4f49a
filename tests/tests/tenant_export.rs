//! Tenant export and import (issue 10, T1): a reseller written out of one
//! deployment and loaded into another gives identical data, serves its shop and
//! console there, keeps its payment keys (sealed again under the other
//! deployment's key), and carries nothing of another reseller; an import that
//! would collide writes nothing.

use relabel_platform::{demo, resellers};
use relabel_tests::{TestApp, spawn_app};
use std::collections::BTreeMap;

/// Alpha as the demo seeds it, billed once (invoices with their PDFs and
/// e-invoice XML, mails, ledger, dunning letters, sealed Stripe keys).
async fn seeded() -> TestApp {
    let app = spawn_app().await;
    demo::seed(&app.state).await.unwrap();
    demo::seed_billing(&app.state).await.unwrap();
    let alpha = app
        .state
        .tenancy
        .resolve("alpha.localhost")
        .await
        .unwrap()
        .unwrap();
    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    relabel_platform::billing::run::start(&tx, chrono::Utc::now(), "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    relabel_tests::billing::run_jobs(&app, &alpha).await;
    app
}

/// The export's tables: `scope.table` -> (header line, sorted row lines).
fn tables(export: &[u8]) -> BTreeMap<String, (String, Vec<String>)> {
    let text = std::str::from_utf8(export).unwrap();
    let mut out: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines().skip(1) {
        if line.starts_with('{') {
            let h: serde_json::Value = serde_json::from_str(line).unwrap();
            current = format!(
                "{}.{}",
                h["scope"].as_str().unwrap(),
                h["table"].as_str().unwrap()
            );
            out.insert(current.clone(), (line.to_owned(), Vec::new()));
        } else {
            out.get_mut(&current).unwrap().1.push(line.to_owned());
        }
    }
    for (_, rows) in out.values_mut() {
        rows.sort();
    }
    out
}

async fn export(app: &TestApp, id: &relabel_tenants::TenantId) -> Vec<u8> {
    let mut out = Vec::new();
    resellers::export(&app.state, "test", id, &mut out)
        .await
        .unwrap();
    out
}

#[tokio::test]
async fn a_reseller_moves_to_another_deployment_with_identical_data() {
    let a = seeded().await;
    let alpha = a
        .state
        .tenancy
        .resolve("alpha.localhost")
        .await
        .unwrap()
        .unwrap();
    let beta = a
        .state
        .tenancy
        .resolve("beta.localhost")
        .await
        .unwrap()
        .unwrap();
    let first = export(&a, &alpha.id).await;
    let text = String::from_utf8(first.clone()).unwrap();
    assert!(!text.contains(beta.id.as_str()), "nothing of beta");
    assert!(text.contains("sk_test_demo"), "payment keys travel opened");
    let before = tables(&first);
    assert!(
        before["tenant.invoices"].1.len() >= 3,
        "the billed invoices"
    );
    assert!(
        before["tenant.invoices"]
            .1
            .iter()
            .any(|r| r.contains("JVBERi0")),
        "rendered PDFs travel as bytes"
    );
    assert_eq!(before["shared.hostnames"].1.len(), 1);

    // Into another deployment (its own database and secret key).
    let b = spawn_app().await;
    let (imported, summary) = resellers::import(&b.state, "test", first.as_slice())
        .await
        .unwrap();
    assert_eq!(imported.id, alpha.id);
    assert_eq!(imported.hostnames, ["alpha.localhost"]);
    assert!(summary.rows > 50, "{summary:?}");
    let second = export(&b, &alpha.id).await;
    let after = tables(&second);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (name, (header, rows)) in &before {
        if name == "shared.audit_log" {
            continue;
        }
        assert_eq!(header, &after[name].0, "{name}: columns");
        assert_eq!(rows, &after[name].1, "{name}: rows");
    }
    // The audit trail came along, plus the import itself.
    let audit = &after["shared.audit_log"].1;
    assert_eq!(audit.len(), before["shared.audit_log"].1.len() + 1);
    assert!(
        before["shared.audit_log"]
            .1
            .iter()
            .all(|r| audit.contains(r))
    );
    assert!(audit.iter().any(|r| r.contains("tenant.import")));

    // The sealed keys open under b's key (a's key would not open them).
    let tx = b.state.tenancy.begin(&imported).await.unwrap();
    let bs = relabel_platform::billing::settings(&tx).await.unwrap();
    drop(tx);
    let sealed = bs.stripe_secret.unwrap();
    assert_eq!(
        b.state.sealer.open(&sealed).as_deref(),
        Some("sk_test_demo")
    );
    assert_eq!(a.state.sealer.open(&sealed), None);

    // b serves alpha's shop and its owner signs in to the console there.
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .resolve(
            "alpha.localhost",
            std::net::SocketAddr::from(([127, 0, 0, 1], b.addr.port())),
        )
        .build()
        .unwrap();
    let base = format!("http://alpha.localhost:{}", b.addr.port());
    let home = client.get(&base).send().await.unwrap();
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap().contains("Alpha Hosting"));
    relabel_tests::login(
        &client,
        &format!("{base}/console/login"),
        demo::RESELLERS[0].owner_email,
        demo::RESELLERS[0].owner_password,
    )
    .await;
    let invoices = client
        .get(format!("{base}/console/invoices"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(invoices.contains("RE-2026-"), "the invoices are there");

    // A second import collides (same id) and changes nothing, in b and in a.
    for app in [&b, &a] {
        let err = resellers::import(&app.state, "test", first.as_slice())
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("exists") || format!("{err:?}").contains("exists"),
            "{err:?}"
        );
    }
    assert_eq!(
        tables(&export(&b, &alpha.id).await)["tenant.customers"],
        after["tenant.customers"]
    );
    // A file that is not an export says so.
    let err = resellers::import(&b.state, "test", &b"{\"format\":\"x\"}\n"[..])
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("line 1"), "{err:?}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_deleted_reseller_is_purged_after_its_retention_period_only() {
    let app = spawn_app().await;
    demo::seed(&app.state).await.unwrap();
    let state = &app.state;
    let beta = state
        .tenancy
        .resolve("beta.localhost")
        .await
        .unwrap()
        .unwrap();
    let alpha = state
        .tenancy
        .resolve("alpha.localhost")
        .await
        .unwrap()
        .unwrap();
    resellers::delete(&state.tenancy, "test", &beta.id)
        .await
        .unwrap();
    // Kept within the retention period, and exportable meanwhile.
    assert!(
        resellers::purge_expired(state, "test")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!export(&app, &beta.id).await.is_empty());
    // 31 days later (retention 30): the schema and the shared rows go.
    let shared = state.tenancy.backend().shared();
    use sea_orm::ConnectionTrait;
    let backend = shared.get_database_backend();
    let p = if backend == sea_orm::DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    shared
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE shared.tenants SET deleted_at = {p} WHERE id = '{}'",
                beta.id
            ),
            [(chrono::Utc::now() - chrono::Duration::days(31)).into()],
        ))
        .await
        .unwrap();
    let purged = resellers::purge_expired(state, "test").await.unwrap();
    assert_eq!(purged.iter().map(|t| &t.id).collect::<Vec<_>>(), [&beta.id]);
    let schema_left = if relabel_tests::is_postgres() {
        !shared
            .query_all_raw(sea_orm::Statement::from_string(
                backend,
                format!(
                    "SELECT 1 FROM information_schema.schemata WHERE schema_name = '{}'",
                    beta.schema
                ),
            ))
            .await
            .unwrap()
            .is_empty()
    } else {
        state
            .config
            .data_dir
            .join("tenants")
            .join(format!("{}.db", beta.schema))
            .exists()
    };
    assert!(!schema_left, "the data is gone");
    assert!(matches!(
        resellers::export(state, "test", &beta.id, &mut Vec::new()).await,
        Err(resellers::ResellerError::NotFound)
    ));
    let audit = shared
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            format!(
                "SELECT action FROM shared.audit_log WHERE tenant_id = '{}'",
                beta.id
            ),
        ))
        .await
        .unwrap();
    let actions: Vec<String> = audit
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect();
    assert!(actions.contains(&"tenant.purge".to_owned()), "{actions:?}");
    // Alpha is untouched and purging again does nothing.
    assert_eq!(state.tenancy.get(&alpha.id).await.unwrap().name, alpha.name);
    assert!(
        resellers::purge_expired(state, "test")
            .await
            .unwrap()
            .is_empty()
    );
    app.stop().await;
}
