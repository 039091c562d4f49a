//! Tenant isolation (T4) on whichever backend the environment selects.

use relabel_platform::api_keys::{self, Realm};
use relabel_tenants::{Hostname, TenancyError};
use relabel_tests::{is_postgres, login, spawn_app, state_only};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

#[tokio::test]
async fn rows_of_one_tenant_are_invisible_to_another() {
    let app = spawn_app().await;
    let a = app
        .reseller(
            "Alpha",
            "alpha.test",
            "owner@alpha.test",
            "alpha-password-1",
        )
        .await;
    let b = app
        .reseller("Beta", "beta.test", "owner@beta.test", "beta-password-1")
        .await;
    let tenancy = &app.state.tenancy;

    let tx = tenancy.begin(&a).await.unwrap();
    api_keys::create(
        tx.conn(),
        Realm::Tenant,
        "alpha key",
        &["tenant:read".into()],
        "test",
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let tx = tenancy.begin(&a).await.unwrap();
    assert_eq!(
        api_keys::list(tx.conn(), Realm::Tenant)
            .await
            .unwrap()
            .len(),
        1
    );
    drop(tx);
    let tx = tenancy.begin(&b).await.unwrap();
    assert!(
        api_keys::list(tx.conn(), Realm::Tenant)
            .await
            .unwrap()
            .is_empty(),
        "B sees A's key"
    );
    drop(tx);
    app.stop().await;
}

#[tokio::test]
async fn a_connection_without_tenant_scope_cannot_reach_tenant_tables() {
    let (state, _cleanup) = state_only().await;
    let db = state.tenancy.backend().shared();
    let backend = db.get_database_backend();
    // `staff` exists in every tenant schema, but not in the unscoped connection's.
    let res = db
        .query_all_raw(Statement::from_string(backend, "SELECT * FROM staff"))
        .await;
    assert!(res.is_err(), "unscoped query must fail");
    let res = db
        .query_all_raw(Statement::from_string(backend, "SELECT * FROM api_keys"))
        .await;
    assert!(res.is_err(), "unscoped query must fail");
    // The shared schema is reachable, qualified.
    let ok = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id FROM shared.tenants",
        ))
        .await;
    assert!(ok.is_ok());
    if backend == DbBackend::Postgres {
        let row = db
            .query_one_raw(Statement::from_string(backend, "SHOW search_path"))
            .await
            .unwrap()
            .unwrap();
        let path: String = row.try_get_by_index(0).unwrap();
        assert_eq!(path, "relabel_no_tenant");
    }
}

/// Defence in depth (issue 22): not only the code but the database keeps a
/// tenant transaction to its own data and the reference tables it reads.
/// The database's own refusal: the tenant role's missing grant on Postgres,
/// SQLite's authorizer (a whole statement, or a column it reads).
fn refused(msg: &str) -> bool {
    ["permission denied", "not authorized", "is prohibited"]
        .iter()
        .any(|m| msg.contains(m))
}

#[tokio::test]
async fn the_database_keeps_a_tenant_transaction_to_its_own_data() {
    let app = spawn_app().await;
    let a = app
        .reseller(
            "Alpha",
            "alpha.test",
            "owner@alpha.test",
            "alpha-password-1",
        )
        .await;
    let b = app
        .reseller("Beta", "beta.test", "owner@beta.test", "beta-password-1")
        .await;
    let tenancy = &app.state.tenancy;
    let backend = tenancy.backend().shared().get_database_backend();
    // One transaction per statement: on Postgres a failed one aborts the rest.
    let run = |sql: String| {
        let a = &a;
        async move {
            let tx = tenancy.begin(a).await.unwrap();
            let res = tx
                .conn()
                .query_all_raw(Statement::from_string(backend, sql.clone()))
                .await
                .map(|rows| rows.len());
            drop(tx);
            res
        }
    };

    // What tenant code reads: its own tables and the reference data in `shared`.
    for sql in [
        "SELECT id FROM customers",
        "SELECT * FROM shared.tlds",
        "SELECT * FROM shared.products",
        "SELECT * FROM shared.wholesale_prices",
    ] {
        run(sql.into())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    // Writing to the platform's tables from a tenant transaction is refused:
    // those go through the shared handle (or, for its own rows, `platform()`).
    let res = run("DELETE FROM shared.tlds".into()).await;
    let err = res.expect_err("a tenant transaction deleted reference data");
    let msg = err.to_string();
    assert!(refused(&msg), "{msg}");

    // The other reseller's schema (Postgres) or file (SQLite) is out of reach.
    let other = format!("SELECT id FROM {}.customers", b.schema);
    assert!(run(other).await.is_err(), "A read B's customers");

    // The platform's private tables are not readable at all: the tenant role on
    // Postgres, SQLite's authorizer on the tenant connection.
    for table in ["operators", "operator_api_keys", "tenants", "hostnames"] {
        for sql in [
            format!("SELECT * FROM shared.{table}"),
            format!("SELECT count(*) FROM shared.{table}"),
        ] {
            let err = run(sql.clone()).await.expect_err(&sql);
            let msg = err.to_string();
            assert!(refused(&msg), "{sql}: {msg}");
        }
    }

    // No statement opens another database: B's file (SQLite) or anything else.
    if !is_postgres() {
        let file = app
            .state
            .config
            .data_dir
            .join("tenants")
            .join(format!("{}.db", b.schema));
        assert!(file.exists(), "{}", file.display());
        let attach = format!("ATTACH DATABASE '{}' AS other", file.display());
        let err = run(attach).await.expect_err("a tenant ATTACHed B's file");
        assert!(err.to_string().contains("not authorized"), "{err}");
    }

    if is_postgres() {
        // Its own row of the wholesale accounts, not another reseller's.
        let tx = tenancy.begin(&b).await.unwrap();
        relabel_platform::orders::wholesale::ensure(tx.platform().await.unwrap(), b.id.as_str())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let seen = run("SELECT tenant_id FROM shared.reseller_accounts".into())
            .await
            .unwrap();
        assert_eq!(seen, 0, "A sees B's platform account");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_hostname_belongs_to_one_tenant_and_resolves_in_any_form() {
    let app = spawn_app().await;
    let a = app
        .reseller(
            "Alpha",
            "shop.alpha.test",
            "owner@alpha.test",
            "alpha-password-1",
        )
        .await;
    let b = app
        .reseller("Beta", "beta.test", "owner@beta.test", "beta-password-1")
        .await;
    let tenancy = &app.state.tenancy;

    let err = tenancy
        .add_host(&b.id, &Hostname::parse("SHOP.alpha.test").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, TenancyError::HostnameTaken(_)), "{err:?}");
    assert_eq!(
        tenancy.get(&b.id).await.unwrap().hostnames,
        vec!["beta.test"]
    );

    for form in [
        "shop.alpha.test",
        "SHOP.Alpha.Test",
        "shop.alpha.test:8443",
        "shop.alpha.test.",
        "Shop.Alpha.Test.:80",
    ] {
        let t = tenancy
            .resolve(form)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{form} did not resolve"));
        assert_eq!(t.id, a.id, "{form}");
    }
    assert!(tenancy.resolve("other.test").await.unwrap().is_none());
    app.stop().await;
}

#[tokio::test]
async fn unknown_hosts_get_a_neutral_404_without_data() {
    let app = spawn_app().await;
    app.reseller(
        "Secret Reseller GmbH",
        "secret.test",
        "owner@secret.test",
        "secret-password-1",
    )
    .await;
    let client = app.client();
    for path in [
        "/",
        "/console",
        "/console/login",
        "/api/v1/tenant",
        "/assets/0190",
    ] {
        let resp = client
            .get(app.url("unknown.test", path))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        let body = resp.text().await.unwrap();
        assert!(
            !body.contains("Secret Reseller"),
            "404 page leaks a tenant name"
        );
        assert!(!body.contains("secret.test"));
    }
    app.stop().await;
}

#[tokio::test]
async fn a_console_session_does_not_carry_over_to_another_reseller() {
    let app = spawn_app().await;
    app.reseller(
        "Alpha",
        "alpha.test",
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    app.reseller("Beta", "beta.test", "owner@beta.test", "beta-password-1")
        .await;
    let client = app.client();
    let resp = login(
        &client,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    assert_eq!(resp.status(), 303);
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| {
            v.to_str()
                .ok()
                .filter(|s| s.starts_with("relabel_console="))
        })
        .map(|s| s.split(';').next().unwrap().to_owned())
        .expect("session cookie");
    assert_eq!(
        client
            .get(app.url("alpha.test", "/console"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Replay Alpha's session cookie on Beta's host: no access.
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(std::sync::Arc::new(LoopbackOnly))
        .build()
        .unwrap();
    let resp = bare
        .get(app.url("beta.test", "/console"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/console/login");
    // Alpha's owner cannot log in on Beta either.
    let resp = login(
        &client,
        &app.url("beta.test", "/console/login"),
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    assert_eq!(resp.status(), 401);
    app.stop().await;
}

struct LoopbackOnly;

impl reqwest::dns::Resolve for LoopbackOnly {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async {
            let addrs: reqwest::dns::Addrs = Box::new(std::iter::once(std::net::SocketAddr::from(
                ([127, 0, 0, 1], 0),
            )));
            Ok(addrs)
        })
    }
}
