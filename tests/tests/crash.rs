//! Kill -9 of the server in the middle of a registration (V1): the job is taken
//! again after its lease by the restarted server, and the domain is registered
//! exactly once at the test registry (EPP over TLS, outside the killed process).

use relabel_platform::cli::{Command, execute};
use relabel_platform::customers::{self, Actor, CustomerInput};
use relabel_platform::domains::devregistry::{self, DevRegistry, DevRegistryConfig, server};
use relabel_platform::domains::epp::EppConfig;
use relabel_platform::orders::{self, Checkout, Line};
use relabel_platform::{AppState, Config, jobs};
use std::process::{Child, Command as Process};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The server as a separate process: the test binary runs this (ignored) test
/// when the crash test starts it with a configuration file.
#[tokio::test]
#[ignore = "started as a child process by the kill -9 test"]
async fn serve_as_child() {
    let Ok(path) = std::env::var("RELABEL_CHILD_CONFIG") else {
        return;
    };
    relabel_platform::install_crypto();
    let config = Config::load(Some(std::path::Path::new(&path))).unwrap();
    execute(
        config,
        Command::Serve {
            demo: false,
            bind: None,
            data_dir: None,
            role: None,
        },
    )
    .await
    .unwrap();
}

fn spawn_server(config_file: &std::path::Path) -> Child {
    Process::new(std::env::current_exe().unwrap())
        .args(["serve_as_child", "--exact", "--ignored", "--nocapture"])
        .env("RELABEL_CHILD_CONFIG", config_file)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn toml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[tokio::test]
async fn a_registration_survives_kill_9_and_happens_once() {
    let (mut config, _cleanup) = relabel_tests::test_config().await.unwrap();
    std::fs::create_dir_all(&config.data_dir).unwrap();

    // The registry lives in this process; each answer takes 700 ms.
    let registry = Arc::new(DevRegistry::new(DevRegistryConfig {
        latency_ms: 700,
        ..Default::default()
    }));
    let identity = server::Identity::generate().unwrap();
    let running = server::start(registry.clone(), "127.0.0.1:0".parse().unwrap(), &identity)
        .await
        .unwrap();
    let ca = config.data_dir.join("registry.pem");
    std::fs::write(&ca, &identity.cert_pem).unwrap();
    config.epp = Some(EppConfig {
        host: "localhost".into(),
        port: running.addr.port(),
        client_id: devregistry::DEV_CLIENT.into(),
        password: devregistry::DEV_PASSWORD.into(),
        ca_file: Some(ca.clone()),
        connections: 2,
        keepalive_secs: 0,
        timeout_ms: 10_000,
    });

    // Reseller, customer and an accepted order, written by this process.
    let state = AppState::new(config.clone()).await.unwrap();
    relabel_platform::catalog::seed_demo(state.tenancy.backend().shared())
        .await
        .unwrap();
    let t = relabel_platform::resellers::create(
        &state.tenancy,
        "test",
        relabel_platform::resellers::NewReseller {
            name: "Alpha".into(),
            hostname: Some("alpha.test".into()),
            owner_email: "owner@alpha.test".into(),
            owner_password: "alpha-password-1".into(),
            primary_color: None,
            accent_color: None,
        },
    )
    .await
    .unwrap();
    let tx = state.tenancy.begin(&t).await.unwrap();
    relabel_platform::pricing::seed_demo(&tx, [("A", 150), ("B", 140), ("C", 130)])
        .await
        .unwrap();
    let c = customers::create(
        &tx,
        &Actor {
            name: "test",
            ip: None,
        },
        &CustomerInput {
            first_name: Some("Karl".into()),
            last_name: Some("Kill".into()),
            street: Some("Weg 9".into()),
            postal_code: Some("10115".into()),
            city: Some("Berlin".into()),
            country: Some("DE".into()),
            email: Some("karl@example.de".into()),
            credit_limit: Some("500.00".into()),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    let placed = orders::place(
        &tx,
        &state.prices,
        Checkout {
            customer_id: &c.id,
            cart_id: "ccrash",
            lines: &[Line {
                domain: Some("neun-neun.de".into()),
                action: "register".into(),
                period_months: 12,
                ..Default::default()
            }],
            coupon: None,
            ip: None,
            ip_country: None,
            bureau_score: None,
            actor: "test",
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // The server process: jobs on, the default five-minute lease.
    let mut toml = format!(
        "bind = \"127.0.0.1:0\"\ndata_dir = {}\nredis_prefix = {}\n",
        toml_str(&config.data_dir.display().to_string()),
        toml_str(&config.redis_prefix)
    );
    if let Some(db) = &config.database_url {
        toml.push_str(&format!("database_url = {}\n", toml_str(db)));
    }
    if let Some(r) = &config.redis_url {
        toml.push_str(&format!("redis_url = {}\n", toml_str(r)));
    }
    toml.push_str(&format!(
        "\n[epp]\nhost = \"localhost\"\nport = {}\nclient_id = \"relabel\"\npassword = {}\nca_file = {}\nkeepalive_secs = 0\n\n[jobs]\npoll_ms = 100\nlease_secs = 300\nbackoff_secs = 1\n",
        running.addr.port(),
        toml_str(devregistry::DEV_PASSWORD),
        toml_str(&ca.display().to_string())
    ));
    let file = config.data_dir.join("child.toml");
    std::fs::write(&file, toml).unwrap();

    let job_of = || async {
        let tx = state.tenancy.begin(&t).await.unwrap();
        let j = jobs::with_key_prefix(&tx, &format!("order:{}:", placed.order.id))
            .await
            .unwrap();
        j.into_iter().next().unwrap()
    };

    // Start, wait until the job runs, then kill -9 while the registry is busy.
    let mut child = spawn_server(&file);
    let start = Instant::now();
    while job_of().await.status != "running" {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the server never took the job"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let job = job_of().await;
    assert_eq!(job.status, "running", "killed mid-job");
    assert_eq!(job.attempts, 1);

    // Restarted: the node takes its own job back at once (its lease still has
    // minutes to run), and the job completes.
    let mut child = spawn_server(&file);
    let start = Instant::now();
    loop {
        let j = job_of().await;
        if j.status == "done" {
            assert_eq!(j.attempts, 2, "resumed exactly once");
            break;
        }
        assert!(j.status != "dead", "{:?}", j.last_error);
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not completed: {j:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!(registry.create_count("neun-neun.de"), 1, "registered once");
    let tx = state.tenancy.begin(&t).await.unwrap();
    let d = relabel_platform::provisioning::by_name(&tx, "neun-neun.de")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, "active");
    let items = orders::items(&tx, &placed.order.id).await.unwrap();
    assert_eq!(items[0].status, "done");
    drop(tx);
    running.stop();
}

/// Kill -9 in the middle of a billing run over 5,000 due services: after the
/// restart every service is billed exactly once, invoice numbers are gapless and
/// the ledger reconciles.
#[tokio::test]
async fn a_billing_run_survives_kill_9_and_bills_every_period_once() {
    use relabel_platform::billing;
    use relabel_platform::provisioning::service;
    use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
    const CUSTOMERS: usize = 500;
    const PER_CUSTOMER: usize = 10;
    let (config, _cleanup) = relabel_tests::test_config().await.unwrap();
    std::fs::create_dir_all(&config.data_dir).unwrap();
    let state = AppState::new(config.clone()).await.unwrap();
    relabel_platform::catalog::seed_demo(state.tenancy.backend().shared())
        .await
        .unwrap();
    let t = relabel_platform::resellers::create(
        &state.tenancy,
        "test",
        relabel_platform::resellers::NewReseller {
            name: "Alpha".into(),
            hostname: Some("alpha.test".into()),
            owner_email: "owner@alpha.test".into(),
            owner_password: "alpha-password-1".into(),
            primary_color: None,
            accent_color: None,
        },
    )
    .await
    .unwrap();
    let now = chrono::Utc::now();
    let month_start = chrono::Datelike::with_day(&now.date_naive(), 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap();
    let tx = state.tenancy.begin(&t).await.unwrap();
    relabel_platform::pricing::seed_demo(&tx, [("A", 150), ("B", 140), ("C", 130)])
        .await
        .unwrap();
    // Deliveries are not what this test is about: keep the child on the run.
    let mut bs: billing::billing_settings::ActiveModel =
        billing::settings(&tx).await.unwrap().into();
    bs.legal_name = Set("Alpha GmbH".into());
    bs.update(tx.conn()).await.unwrap();
    let actor = Actor {
        name: "test",
        ip: None,
    };
    let mut ids = Vec::new();
    for i in 0..CUSTOMERS {
        let c = customers::create(
            &tx,
            &actor,
            &CustomerInput {
                first_name: Some("Kai".into()),
                last_name: Some(format!("Kunde {i}")),
                street: Some("Weg 9".into()),
                postal_code: Some("10115".into()),
                city: Some("Berlin".into()),
                country: Some("DE".into()),
                email: Some(format!("k{i}@example.de")),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
        ids.push(c.id);
    }
    let rows: Vec<service::ActiveModel> = ids
        .iter()
        .flat_map(|id| {
            (0..PER_CUSTOMER).map(move |k| service::ActiveModel {
                id: Set(uuid::Uuid::now_v7().simple().to_string()),
                customer_id: Set(id.clone()),
                product_id: Set("hosting-starter".into()),
                order_id: Set(None),
                order_item_id: Set(None),
                domain_id: Set(None),
                kind: Set("hosting".into()),
                label: Set(format!("Hosting {k}")),
                period_months: Set(1),
                price_source: Set("order".into()),
                net_minor: Set(199),
                currency: Set("EUR".into()),
                quantity: Set(1),
                started_at: Set(now - chrono::Duration::days(30)),
                // Due this month, so the next period is in the next month
                // whatever today's date is (one collective invoice a month).
                next_billing_at: Set(month_start + chrono::Duration::hours(1)),
                ends_at: Set(None),
                cancellation: Set("none".into()),
                status: Set("active".into()),
                created_at: Set(now),
                updated_at: Set(now),
                generation: Set(0),
            })
        })
        .collect();
    for chunk in rows.chunks(500) {
        service::Entity::insert_many(chunk.to_vec())
            .exec(tx.conn())
            .await
            .unwrap();
    }
    let run = billing::run::start(&tx, now, "test").await.unwrap();
    tx.commit().await.unwrap();

    let mut toml = format!(
        "bind = \"127.0.0.1:0\"\ndata_dir = {}\nredis_prefix = {}\n",
        toml_str(&config.data_dir.display().to_string()),
        toml_str(&config.redis_prefix)
    );
    if let Some(db) = &config.database_url {
        toml.push_str(&format!("database_url = {}\n", toml_str(db)));
    }
    if let Some(r) = &config.redis_url {
        toml.push_str(&format!("redis_url = {}\n", toml_str(r)));
    }
    toml.push_str("\n[jobs]\npoll_ms = 100\nlease_secs = 3\nbackoff_secs = 1\n");
    let file = config.data_dir.join("child.toml");
    std::fs::write(&file, toml).unwrap();

    let run_of = || relabel_tests::billing::run_row(&state, &t, &run.id);
    let mut child = spawn_server(&file);
    let start = Instant::now();
    while run_of().await.customers_done < 40 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the run never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed = run_of().await;
    assert_eq!(killed.status, "running", "killed mid-run: {killed:?}");
    assert!((killed.customers_done as usize) < CUSTOMERS);
    // Progress moves in the customers' transactions: it matches what is billed.
    let tx = state.tenancy.begin(&t).await.unwrap();
    let so_far = billing::invoice::Entity::find()
        .count(tx.conn())
        .await
        .unwrap();
    assert_eq!(so_far, killed.invoices_count as u64);
    drop(tx);

    let mut child = spawn_server(&file);
    let start = Instant::now();
    loop {
        let r = run_of().await;
        if r.status == "done" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "not finished: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let tx = state.tenancy.begin(&t).await.unwrap();
    let lines = billing::invoice_line::Entity::find()
        .count(tx.conn())
        .await
        .unwrap();
    assert_eq!(
        lines as usize,
        CUSTOMERS * PER_CUSTOMER,
        "every service once"
    );
    let mut numbers: Vec<String> = billing::invoice::Entity::find()
        .all(tx.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.number)
        .collect();
    numbers.sort();
    let year = now.format("%Y");
    let want: Vec<String> = (1..=CUSTOMERS)
        .map(|n| format!("RE-{year}-{n:06}"))
        .collect();
    assert_eq!(numbers, want, "gapless");
    let advanced = service::Entity::find()
        .all(tx.conn())
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.next_billing_at > now)
        .count();
    assert_eq!(advanced, CUSTOMERS * PER_CUSTOMER);
    assert_eq!(billing::reconcile(&tx).await.unwrap(), vec![]);
    let done = run_of().await;
    assert_eq!(done.customers_done as usize, CUSTOMERS);
    assert_eq!(done.invoices_count as usize, CUSTOMERS);
}
