//! Two `relabel serve` nodes on one PostgreSQL + Redis (issue 10): a hostname,
//! branding or storefront design change on node 1 is seen by node 2 within a
//! second (cache invalidation through Redis), a console session started on
//! node 1 works on node 2, and a scheduled run fired on both nodes runs once.
//! Multi-node needs the production backend: on the embedded SQLite default
//! (one process by design) the test has nothing to check and says so.

use chrono::{Duration, Utc};
use relabel_platform::AppState;
use relabel_platform::billing::run;
use relabel_tests::billing::{NewCustomer, customer, docs, service, setup};
use relabel_tests::{TestApp, csrf, login, spawn_app};
use reqwest::multipart::Form;
use std::collections::HashMap;

struct Node2 {
    state: AppState,
    port: u16,
    running: relabel_platform::Running,
}

async fn node2(app: &TestApp) -> Node2 {
    let state = AppState::new((*app.state.config).clone()).await.unwrap();
    let running = relabel_platform::spawn(state.clone(), "127.0.0.1:0")
        .await
        .unwrap();
    Node2 {
        state,
        port: running.addr.port(),
        running,
    }
}

impl Node2 {
    fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.port)
    }
}

/// Polls `url` until its body contains `needle`; returns how long it took.
async fn seen_within(client: &reqwest::Client, url: &str, needle: &str) -> std::time::Duration {
    let started = std::time::Instant::now();
    loop {
        if let Ok(rsp) = client.get(url).send().await
            && rsp.text().await.is_ok_and(|b| b.contains(needle))
        {
            let took = started.elapsed();
            eprintln!("{needle:?} seen on node 2 after {} ms", took.as_millis());
            return took;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "{needle:?} not seen at {url} within a second"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_nodes_share_changes_sessions_and_schedules() {
    let app = spawn_app().await;
    if !relabel_tests::is_postgres() || app.state.config.redis_url.is_none() {
        eprintln!("skipping: several nodes need PostgreSQL + Redis (DATABASE_URL, REDIS_URL)");
        app.stop().await;
        return;
    }
    let t = setup(&app, "Alpha", "alpha.test").await;
    let two = node2(&app).await;
    let client = app.client();
    // Node 2 serves alpha and caches it.
    seen_within(&client, &two.url("alpha.test", "/"), "Alpha").await;
    // Give node 2's subscriber a moment to be listening before the changes.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    // A console session from node 1 is valid on node 2 (sessions in Redis).
    let rsp = login(
        &client,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "owner-password-1",
    )
    .await;
    assert!(rsp.status().is_redirection());
    let on_two = client
        .get(two.url("alpha.test", "/console/branding"))
        .send()
        .await
        .unwrap();
    assert_eq!(on_two.status(), 200, "signed in on node 2 too");

    // Branding saved on node 1 shows on node 2 within a second.
    let token = csrf(&client, &app.url("alpha.test", "/console/branding")).await;
    let form = Form::new()
        .text("csrf", token)
        .text("name", "Alpha Renamed")
        .text("primary_color", "#123456")
        .text("accent_color", "#abcdef");
    let rsp = client
        .post(app.url("alpha.test", "/console/branding"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(rsp.status().is_redirection());
    seen_within(&client, &two.url("alpha.test", "/"), "Alpha Renamed").await;

    // The storefront design too (the data-change channel).
    let token = csrf(&client, &app.url("alpha.test", "/console/appearance")).await;
    let form = Form::new()
        .text("csrf", token)
        .text("theme", "studio")
        .text("font", "system")
        .text("analytics_kind", "");
    let rsp = client
        .post(app.url("alpha.test", "/console/appearance"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(rsp.status().is_redirection());
    seen_within(&client, &two.url("alpha.test", "/"), "theme-studio.css").await;

    // A hostname added through node 1 is served by node 2.
    relabel_platform::resellers::add_host(&app.state.tenancy, "test", &t.id, "shop.alpha.test")
        .await
        .unwrap();
    seen_within(&client, &two.url("shop.alpha.test", "/"), "Alpha Renamed").await;

    // The schedule fires on both nodes: one billing run, one invoice.
    let c = customer(&app.state, &t, NewCustomer::default()).await;
    service(
        &app.state,
        &t,
        &c,
        "hosting-starter",
        1,
        Utc::now() - Duration::days(1),
    )
    .await;
    let mut one = app.state.runner();
    one.periodic = vec![(run::SCHEDULE, chrono::Duration::days(1))];
    let mut other = two.state.runner();
    other.periodic = one.periodic.clone();
    let (mut seen_one, mut seen_other) = (HashMap::new(), HashMap::new());
    let (a, b) = tokio::join!(
        one.queue_periodic(&t, &mut seen_one),
        other.queue_periodic(&t, &mut seen_other),
    );
    a.unwrap();
    b.unwrap();
    for _ in 0..20 {
        let (a, b) = tokio::join!(one.run_due(&t), other.run_due(&t));
        a.unwrap();
        b.unwrap();
    }
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let runs = run::runs(&tx, 10).await.unwrap();
    drop(tx);
    assert_eq!(runs.len(), 1, "one run however many nodes fire");
    assert_eq!(runs[0].status, "done");
    assert_eq!(docs(&app.state, &t).await.len(), 1);

    two.running.shutdown().await;
    app.stop().await;
}
