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
    let mut runner = Runner::new(app.state.tenancy.clone(), handlers);
    runner.max_attempts = 3;
    runner.backoff = chrono::Duration::zero();
    let pass = runner.run_due(&t).await.unwrap();
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
    app.stop().await;
}
