//! Provisioning benchmarks, each against a baseline measured in the same run.
//!
//! `cargo run --release -p relabel-tests --example bench_provisioning -- jobs [count]`
//!   Jobs/s through the queue (claim with lease, handler, result) with 4 workers
//!   (1 on SQLite)
//!   and a no-op job, against plain inserts of the same job rows (one transaction
//!   each, 4 concurrent writers). Set DATABASE_URL (and REDIS_URL) for PostgreSQL.
//!
//! `cargo run --release -p relabel-tests --example bench_provisioning -- registrations [count]`
//!   Registrations/s end to end (provisioning job: contact + create over EPP/TLS at
//!   the test registry with 0 ms latency, zone file, service entry, order
//!   completion, mail) with 4 workers, against bare EPP `<domain:create>` round
//!   trips on the same registry with the same concurrency.

use async_trait::async_trait;
use relabel_platform::customers::{self, Actor, CustomerInput};
use relabel_platform::domains::registrar::{NewDomain, RegistryContact};
use relabel_platform::jobs::runner::{Handler, JobError, Runner};
use relabel_platform::jobs::{self, Job, NewJob};
use relabel_platform::orders::{self, Checkout, Line};
use relabel_tenants::Tenant;
use relabel_tests::spawn_app_with;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// Workers: 4 on Postgres; 1 on SQLite, which has one writer at a time (the
/// embedded default runs a single job worker).
fn workers() -> usize {
    if relabel_tests::is_postgres() { 4 } else { 1 }
}

struct Noop;

#[async_trait]
impl Handler for Noop {
    async fn run(&self, _: &Tenant, _: &Job) -> Result<(), JobError> {
        Ok(())
    }
}

/// Runs `runner` with `workers()` concurrent workers until `left` reports zero.
async fn drain(runner: Runner, t: &Tenant, state: &relabel_platform::AppState, total: usize) {
    let mut handles = Vec::new();
    for _ in 0..workers() {
        let runner = runner.clone();
        let t = t.clone();
        let state = state.clone();
        handles.push(tokio::spawn(async move {
            loop {
                let pass = runner.run_due(&t).await.unwrap();
                if pass.done == 0 {
                    let tx = state.tenancy.begin(&t).await.unwrap();
                    let open = jobs::list(&tx, Some("queued"), 1).await.unwrap().len()
                        + jobs::list(&tx, Some("running"), 1).await.unwrap().len();
                    if open == 0 {
                        return;
                    }
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    for w in handles {
        w.await.unwrap();
    }
    let tx = state.tenancy.begin(t).await.unwrap();
    let done = jobs::list(&tx, Some("done"), total as u64 + 10)
        .await
        .unwrap()
        .len();
    assert!(done >= total, "{done} of {total} done");
}

async fn jobs_bench(count: usize) -> anyhow::Result<()> {
    let app = spawn_app_with(|c| c.jobs.enabled = false).await;
    let t = app
        .reseller(
            "Bench",
            "bench.localhost",
            "owner@bench.localhost",
            "bench-password-1",
        )
        .await;

    // Baseline: the same rows, inserted one transaction each by 4 writers.
    let start = Instant::now();
    let mut writers = Vec::new();
    for w in 0..workers() {
        let state = app.state.clone();
        let t = t.clone();
        writers.push(tokio::spawn(async move {
            for i in (w..count).step_by(workers()) {
                let tx = state.tenancy.begin(&t).await.unwrap();
                jobs::enqueue(
                    &tx,
                    NewJob {
                        kind: "bench.baseline",
                        reference: "x",
                        key: &format!("base:{i}"),
                        payload: serde_json::json!({}),
                        run_after: None,
                    },
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }
        }));
    }
    for w in writers {
        w.await?;
    }
    let insert_secs = start.elapsed().as_secs_f64();
    // The baseline rows have no handler: out of the queue before it is measured.
    {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let tx = app.state.tenancy.begin(&t).await?;
        jobs::entity::Entity::delete_many()
            .filter(jobs::entity::Column::Kind.eq("bench.baseline"))
            .exec(tx.conn())
            .await?;
        tx.commit().await?;
    }

    // The queue: enqueue (not timed), then 4 workers claim, run, record.
    for chunk in (0..count).collect::<Vec<_>>().chunks(500) {
        let tx = app.state.tenancy.begin(&t).await?;
        for i in chunk {
            jobs::enqueue(
                &tx,
                NewJob {
                    kind: "bench.noop",
                    reference: "x",
                    key: &format!("noop:{i}"),
                    payload: serde_json::json!({}),
                    run_after: None,
                },
            )
            .await?;
        }
        tx.commit().await?;
    }
    let handlers: HashMap<&'static str, Arc<dyn Handler>> =
        HashMap::from([("bench.noop", Arc::new(Noop) as Arc<dyn Handler>)]);
    let runner = Runner::new(app.state.tenancy.clone(), handlers);
    let start = Instant::now();
    drain(runner, &t, &app.state, count).await;
    let run_secs = start.elapsed().as_secs_f64();

    let backend = if relabel_tests::is_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let ips = count as f64 / insert_secs;
    let jps = count as f64 / run_secs;
    println!("backend: {backend}, {count} jobs, {} workers", workers());
    println!("plain job-row inserts: {ips:.0}/s");
    println!("no-op jobs through the queue: {jps:.0}/s");
    println!("ratio inserts/jobs: {:.2}x", ips / jps);
    app.stop().await;
    Ok(())
}

async fn registrations_bench(count: usize) -> anyhow::Result<()> {
    let app = spawn_app_with(|c| c.jobs.enabled = false).await;
    relabel_platform::catalog::seed_demo(app.state.tenancy.backend().shared()).await?;
    let t = app
        .reseller(
            "Bench",
            "bench.localhost",
            "owner@bench.localhost",
            "bench-password-1",
        )
        .await;
    let tx = app.state.tenancy.begin(&t).await?;
    relabel_platform::pricing::seed_demo(&tx, [("A", 150), ("B", 140), ("C", 130)]).await?;
    let c = customers::create(
        &tx,
        &Actor {
            name: "bench",
            ip: None,
        },
        &CustomerInput {
            first_name: Some("Bea".into()),
            last_name: Some("Bench".into()),
            street: Some("Weg 1".into()),
            postal_code: Some("10115".into()),
            city: Some("Berlin".into()),
            country: Some("DE".into()),
            email: Some("bea@example.de".into()),
            credit_limit: Some("1000000.00".into()),
            ..Default::default()
        },
        None,
    )
    .await?;
    tx.commit().await?;
    let registrar = app.state.registries.registrar().clone();

    // Baseline: bare EPP creates, 4 concurrent sessions.
    registrar
        .create_contact(&RegistryContact {
            id: "bench-c".into(),
            name: "Bea Bench".into(),
            organization: None,
            street: "Weg 1".into(),
            city: "Berlin".into(),
            postal_code: "10115".into(),
            country: "DE".into(),
            email: "bea@example.de".into(),
            phone: None,
        })
        .await?;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers() {
        let registrar = registrar.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..count).step_by(workers()) {
                let name = format!("baseline-{i}.de");
                registrar
                    .create(&NewDomain {
                        name: &name,
                        years: 1,
                        registrant: "bench-c",
                        nameservers: &[],
                        auth_code: "Bench-1234",
                    })
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let epp_secs = start.elapsed().as_secs_f64();
    let dev = app.state.dev_registry.clone().expect("test registry");
    for i in [0, count - 1] {
        assert_eq!(dev.registry.create_count(&format!("baseline-{i}.de")), 1);
    }

    // Orders (not timed), then the provisioning jobs with 4 workers.
    for i in 0..count {
        let tx = app.state.tenancy.begin(&t).await?;
        orders::place(
            &tx,
            &app.state.prices,
            Checkout {
                customer_id: &c.id,
                cart_id: "cbench",
                lines: &[Line {
                    domain: Some(format!("bench-reg-{i}.de")),
                    action: "register".into(),
                    period_months: 12,
                    ..Default::default()
                }],
                coupon: None,
                ip: None,
                ip_country: None,
                bureau_score: None,
                actor: "bench",
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        tx.commit().await?;
    }
    let start = Instant::now();
    drain(app.state.runner(), &t, &app.state, count).await;
    let reg_secs = start.elapsed().as_secs_f64();
    assert_eq!(dev.registry.create_count("bench-reg-0.de"), 1);

    let backend = if relabel_tests::is_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let eps = count as f64 / epp_secs;
    let rps = count as f64 / reg_secs;
    println!(
        "backend: {backend}, {count} domains, {} workers, registry latency 0 ms",
        workers()
    );
    println!("bare EPP creates: {eps:.0}/s");
    println!("registrations end to end: {rps:.0}/s");
    println!("ratio EPP/registrations: {:.2}x", eps / rps);
    app.stop().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    relabel_platform::install_crypto();
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("jobs") => jobs_bench(args.next().and_then(|s| s.parse().ok()).unwrap_or(2000)).await,
        Some("registrations") => {
            registrations_bench(args.next().and_then(|s| s.parse().ok()).unwrap_or(300)).await
        }
        _ => anyhow::bail!("usage: bench_provisioning jobs [count] | registrations [count]"),
    }
}
