//! The job runner: retries with backoff up to the attempt limit, dead jobs keep
//! the last error, a job left running by a dead worker is taken again after its
//! lease, kinds without a handler stay queued, keys make enqueuing idempotent.

use async_trait::async_trait;
use relabel_platform::jobs::runner::{Handler, JobError, Pass, Runner};
use relabel_platform::jobs::{self, NewJob};
use relabel_tenants::Tenant;
use relabel_tests::spawn_app;
use sea_orm::{ActiveModelTrait, Set};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Flaky {
    calls: AtomicUsize,
    fail_first: usize,
    fatal: bool,
}

#[async_trait]
impl Handler for Flaky {
    async fn run(&self, _: &Tenant, _: &jobs::Job) -> Result<(), JobError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        match (n < self.fail_first, self.fatal) {
            (false, _) => Ok(()),
            (true, true) => Err(JobError::Fatal("refused for good".into())),
            (true, false) => Err(JobError::Retry(format!("peer down ({n})"))),
        }
    }
}

fn flaky(fail_first: usize, fatal: bool) -> Arc<Flaky> {
    Arc::new(Flaky {
        calls: AtomicUsize::new(0),
        fail_first,
        fatal,
    })
}

#[tokio::test]
async fn jobs_retry_die_and_are_taken_again_after_a_crash() {
    let app = spawn_app().await;
    let t = app
        .reseller(
            "Alpha",
            "alpha.test",
            "owner@alpha.test",
            "alpha-password-1",
        )
        .await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    for (kind, key) in [
        ("test.ok", "a"),
        ("test.flaky", "b"),
        ("test.bad", "c"),
        ("test.fatal", "d"),
        ("domain.register", "e"),
        ("test.ok", "a"), // same key: ignored
    ] {
        jobs::enqueue(
            &tx,
            NewJob {
                kind,
                reference: key,
                key,
                payload: serde_json::json!({}),
                run_after: None,
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let (ok, fl, bad, fatal) = (
        flaky(0, false),
        flaky(2, false),
        flaky(99, false),
        flaky(99, true),
    );
    let mut handlers: HashMap<&'static str, Arc<dyn Handler>> = HashMap::new();
    handlers.insert("test.ok", ok.clone());
    handlers.insert("test.flaky", fl.clone());
    handlers.insert("test.bad", bad.clone());
    handlers.insert("test.fatal", fatal.clone());
    let mut runner = Runner::new(app.state.tenancy.clone(), handlers.clone());
    runner.max_attempts = 3;
    runner.backoff = chrono::Duration::zero();
    // A pass runs what was due when it began; retries wait for the next pass.
    let mut pass = Pass::default();
    loop {
        let p = runner.run_due(&t).await.unwrap();
        if p == Pass::default() {
            break;
        }
        pass.done += p.done;
        pass.retried += p.retried;
        pass.dead += p.dead;
    }
    assert_eq!(
        pass,
        Pass {
            done: 2,
            retried: 4,
            dead: 2
        }
    );
    assert_eq!(
        ok.calls.load(Ordering::SeqCst),
        1,
        "the duplicate key made no second job"
    );
    assert_eq!(fl.calls.load(Ordering::SeqCst), 3);
    assert_eq!(bad.calls.load(Ordering::SeqCst), 3, "attempt limit");
    assert_eq!(fatal.calls.load(Ordering::SeqCst), 1, "fatal: no retry");

    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let all = jobs::with_key_prefix(&tx, "").await.unwrap();
    let by_key = |k: &str| all.iter().find(|j| j.idempotency_key == k).unwrap().clone();
    assert_eq!(all.len(), 5);
    assert_eq!(
        (by_key("a").status.as_str(), by_key("a").attempts),
        ("done", 1)
    );
    assert_eq!(
        (by_key("b").status.as_str(), by_key("b").attempts),
        ("done", 3)
    );
    assert_eq!(by_key("c").status, "dead");
    assert_eq!(by_key("c").last_error.as_deref(), Some("peer down (2)"));
    assert_eq!(by_key("d").last_error.as_deref(), Some("refused for good"));
    // No handler (the registrar comes later): still queued, untouched.
    assert_eq!(
        (by_key("e").status.as_str(), by_key("e").attempts),
        ("queued", 0)
    );
    drop(tx);

    // A worker killed mid-job leaves it running; after the lease it runs again.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let mut crashed: jobs::entity::ActiveModel = by_key("a").into();
    crashed.status = Set("running".into());
    crashed.run_after = Set(chrono::Utc::now() - chrono::Duration::seconds(1));
    crashed.update(tx.conn()).await.unwrap();
    tx.commit().await.unwrap();
    let pass = runner.run_due(&t).await.unwrap();
    assert_eq!(pass.done, 1);
    assert_eq!(ok.calls.load(Ordering::SeqCst), 2);

    // A node restarted after a crash takes back its own running jobs at once,
    // though their leases run for minutes yet; another node's lease is kept.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let lease_left = chrono::Utc::now() + chrono::Duration::minutes(4);
    for (key, node) in [("a", "node-1:8080"), ("b", "node-2:8080")] {
        let mut leased: jobs::entity::ActiveModel = by_key(key).into();
        leased.status = Set("running".into());
        leased.run_after = Set(lease_left);
        leased.locked_by = Set(Some(node.into()));
        leased.updated_at = Set(chrono::Utc::now() - chrono::Duration::seconds(60));
        leased.update(tx.conn()).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut restarted = Runner::new(app.state.tenancy.clone(), handlers);
    restarted.node = "node-1:8080".into();
    assert_eq!(restarted.reclaim(&t).await.unwrap(), 1);
    assert_eq!(restarted.reclaim(&t).await.unwrap(), 0, "once");
    let pass = restarted.run_due(&t).await.unwrap();
    assert_eq!(pass.done, 1);
    assert_eq!(ok.calls.load(Ordering::SeqCst), 3);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let now = jobs::with_key_prefix(&tx, "").await.unwrap();
    drop(tx);
    let fresh = |k: &str| now.iter().find(|j| j.idempotency_key == k).unwrap().clone();
    assert_eq!(fresh("a").status, "done");
    assert_eq!(fresh("a").locked_by.as_deref(), Some("node-1:8080"));
    assert_eq!(
        (
            fresh("b").status.as_str(),
            fresh("b").run_after > chrono::Utc::now()
        ),
        ("running", true),
        "another node's lease stands"
    );

    // Staff see dead jobs as tickets with the last answer, re-run or cancel them.
    app.reseller("Beta", "beta.test", "owner@beta.test", "beta-password-1")
        .await;
    let staff = app.client();
    relabel_tests::login(
        &staff,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let page = staff
        .get(app.url("alpha.test", "/console/jobs?status=dead&lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("peer down (2)") && page.contains("refused for good"),
        "{page}"
    );
    let dead = by_key("c").id;
    let token = relabel_tests::csrf(&staff, &app.url("alpha.test", "/console/jobs")).await;
    let r = staff
        .post(app.url("alpha.test", &format!("/console/jobs/{dead}/rerun")))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let queued = by_key("e").id;
    staff
        .post(app.url("alpha.test", &format!("/console/jobs/{queued}/cancel")))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let after = jobs::with_key_prefix(&tx, "").await.unwrap();
    let state_of = |k: &str| {
        after
            .iter()
            .find(|j| j.idempotency_key == k)
            .map(|j| (j.status.clone(), j.attempts))
            .unwrap()
    };
    assert_eq!(state_of("c"), ("queued".to_owned(), 0));
    assert_eq!(state_of("e").0, "cancelled");
    drop(tx);
    // Beta's staff neither see nor touch alpha's jobs.
    let beta = app.client();
    relabel_tests::login(
        &beta,
        &app.url("beta.test", "/console/login"),
        "owner@beta.test",
        "beta-password-1",
    )
    .await;
    let page = beta
        .get(app.url("beta.test", "/console/jobs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("test.ok"));
    let token = relabel_tests::csrf(&beta, &app.url("beta.test", "/console/jobs")).await;
    beta.post(app.url("beta.test", &format!("/console/jobs/{dead}/cancel")))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let c = jobs::with_key_prefix(&tx, "c").await.unwrap();
    assert_eq!(
        c[0].status, "queued",
        "beta's cancel changed nothing in alpha"
    );
    app.stop().await;
}
