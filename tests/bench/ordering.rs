//! Ordering benchmarks, each against a baseline measured in the same run.
//!
//! `cargo run --release -p relabel-tests --example bench_ordering -- availability [requests]`
//!   Search page time with the built-in test registry answering after 20 ms and no
//!   availability cache: the full page (44 TLDs across 15 registries, plus the
//!   suggestions round) against a shop with a single TLD. Target: < 3x.
//!
//! `cargo run --release -p relabel-tests --example bench_ordering -- orders [seconds]`
//!   Orders/s through the full order transaction (account lock, pricing, risk, the
//!   conditional credit UPDATE, numbering, provisioning jobs, audit) under 50
//!   concurrent clients spread over 100 resellers, against plain order-row inserts
//!   (one transaction each) with the same concurrency. Set DATABASE_URL (and
//!   REDIS_URL) for PostgreSQL; without it the embedded SQLite is measured.

use relabel_platform::customers::{self, Actor, CustomerInput};
use relabel_platform::orders::{self, Checkout, Line};
use relabel_platform::pricing;
use relabel_tenants::Tenant;
use relabel_tests::spawn_app_with;
use sea_orm::{ActiveModelTrait, Set};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn only_de(app: &relabel_tests::TestApp, name: &str, host: &str) -> Tenant {
    let t = app
        .reseller(name, host, &format!("owner@{host}"), "bench-password-1")
        .await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    pricing::enable(&tx, &["domain-de".to_owned()])
        .await
        .unwrap();
    let class = pricing::create_class(&tx, "bench", "Default", "EUR", true)
        .await
        .unwrap();
    pricing::set_class_prices(
        &tx,
        "bench",
        &class.id,
        "domain-de",
        &[
            ("register".into(), 12, "5.00".into()),
            ("renew".into(), 12, "5.00".into()),
            ("transfer".into(), 12, "0".into()),
            ("restore".into(), 12, "30.00".into()),
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    t
}

async fn availability(requests: usize) -> anyhow::Result<()> {
    let app = spawn_app_with(|c| {
        c.dev_registry.latency_ms = 20;
        c.availability_cache_secs = 0;
    })
    .await;
    relabel_platform::demo::seed(&app.state).await?;
    only_de(&app, "Solo", "solo.localhost").await;
    let client = app.client();
    let port = app.addr.port();
    let measure = |host: &'static str| {
        let client = client.clone();
        let url = move |i: usize| format!("http://{host}:{port}/search?q=benchname{i}x");
        async move {
            let mut times = Vec::with_capacity(requests);
            for i in 0..requests {
                let start = Instant::now();
                let body = client
                    .get(url(i))
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                assert!(body.contains("badge-success"));
                times.push(start.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(f64::total_cmp);
            times
        }
    };
    let one = measure("solo.localhost").await;
    let all = measure("alpha.localhost").await;
    let (p50_1, p99_1) = (percentile(&one, 0.5), percentile(&one, 0.99));
    let (p50_n, p99_n) = (percentile(&all, 0.5), percentile(&all, 0.99));
    println!(
        "availability page, test registry answering after 20 ms, no cache, {requests} requests each"
    );
    println!("  1 TLD (baseline):  p50 {p50_1:.1} ms  p99 {p99_1:.1} ms");
    println!("  44 TLDs:           p50 {p50_n:.1} ms  p99 {p99_n:.1} ms");
    println!(
        "  ratio p50 {:.2}x  p99 {:.2}x  (target < 3x)",
        p50_n / p50_1,
        p99_n / p99_1
    );
    app.stop().await;
    Ok(())
}

async fn orders_bench(seconds: u64) -> anyhow::Result<()> {
    const TENANTS: usize = 100;
    const CLIENTS: usize = 50;
    let app = spawn_app_with(|c| c.db_max_connections = 60).await;
    relabel_platform::catalog::seed_demo(app.state.tenancy.backend().shared()).await?;
    let setup = Instant::now();
    let mut shops = Vec::new();
    for i in 0..TENANTS {
        let t = only_de(&app, &format!("Shop {i}"), &format!("shop{i}.bench")).await;
        let tx = app.state.tenancy.begin(&t).await?;
        let c = customers::create(
            &tx,
            &Actor {
                name: "bench",
                ip: None,
            },
            &CustomerInput {
                first_name: Some("Bench".into()),
                last_name: Some("Buyer".into()),
                street: Some("Weg 1".into()),
                postal_code: Some("10115".into()),
                city: Some("Berlin".into()),
                country: Some("DE".into()),
                email: Some(format!("buyer{i}@example.de")),
                credit_limit: Some("1000000.00".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        tx.commit().await?;
        shops.push((t, c.id));
    }
    println!(
        "{} backend: {TENANTS} resellers set up in {:.1} s",
        if relabel_tests::is_postgres() {
            "postgres"
        } else {
            "sqlite"
        },
        setup.elapsed().as_secs_f64()
    );
    let shops = Arc::new(shops);
    let state = app.state.clone();

    let run = |placing: bool| {
        let shops = shops.clone();
        let state = state.clone();
        async move {
            let done = Arc::new(AtomicU64::new(0));
            let stop = Instant::now() + Duration::from_secs(seconds);
            let mut tasks = Vec::new();
            for w in 0..CLIENTS {
                let (shops, state, done) = (shops.clone(), state.clone(), done.clone());
                tasks.push(tokio::spawn(async move {
                    let mut n = w;
                    while Instant::now() < stop {
                        let (tenant, customer) = &shops[n % shops.len()];
                        n += CLIENTS;
                        let tx = state.tenancy.begin(tenant).await.unwrap();
                        if placing {
                            let lines = [Line {
                                domain: Some(format!("bench-{w}-{n}.de")),
                                action: "register".into(),
                                period_months: 12,
                                ..Default::default()
                            }];
                            let placed = orders::place(
                                &tx,
                                &state.prices,
                                Checkout {
                                    customer_id: customer,
                                    cart_id: "cbench",
                                    lines: &lines,
                                    coupon: None,
                                    ip: None,
                                    ip_country: None,
                                    bureau_score: None,
                                    actor: "bench",
                                },
                            )
                            .await
                            .unwrap();
                            assert!(placed.order.number.is_some());
                        } else {
                            let now = chrono::Utc::now();
                            orders::order::ActiveModel {
                                id: Set(uuid::Uuid::now_v7().simple().to_string()),
                                number: Set(None),
                                customer_id: Set(customer.clone()),
                                cart_id: Set("cbench".into()),
                                status: Set("received".into()),
                                currency: Set("EUR".into()),
                                net_minor: Set(500),
                                vat_minor: Set(95),
                                gross_minor: Set(595),
                                reserved_minor: Set(0),
                                coupon_code: Set(None),
                                discount_minor: Set(0),
                                risk_score: Set(0),
                                risk_reasons: Set(None),
                                ip: Set(None),
                                activation_code_hash: Set(None),
                                activation_expires_at: Set(None),
                                wholesale_minor: Set(349),
                                wholesale_reserved_minor: Set(0),
                                created_at: Set(now),
                                updated_at: Set(now),
                            }
                            .insert(tx.conn())
                            .await
                            .unwrap();
                        }
                        tx.commit().await.unwrap();
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            done.load(Ordering::Relaxed) as f64 / seconds as f64
        }
    };
    let plain = run(false).await;
    let placed = run(true).await;
    println!("{CLIENTS} concurrent clients over {TENANTS} resellers, {seconds} s each");
    println!("  plain order-row inserts (baseline): {plain:.0} tx/s");
    println!("  orders with credit check:           {placed:.0} orders/s");
    println!(
        "  ratio: orders take {:.2}x the time of a plain insert",
        plain / placed
    );
    app.stop().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("availability") => {
            availability(args.next().and_then(|s| s.parse().ok()).unwrap_or(200)).await
        }
        Some("orders") => {
            orders_bench(args.next().and_then(|s| s.parse().ok()).unwrap_or(10)).await
        }
        _ => anyhow::bail!("usage: bench_ordering availability [requests] | orders [seconds]"),
    }
}
