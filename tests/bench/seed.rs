//! Creates many tenants and measures tenant creation and a no-op `migrate`.
//!
//! `cargo run --release -p relabel-tests --example bench_seed -- TENANTS [CONCURRENCY]`
//! Uses DATABASE_URL (Postgres) or RELABEL_DATA_DIR (SQLite) like `relabel`.
//! Tenants are named `Bench N` with hostname `bN.bench.test`; existing ones are kept,
//! so the command can be re-run to top up to TENANTS.

use futures::StreamExt;
use relabel_platform::{AppState, Config};
use relabel_tenants::{Brand, Hostname, NewTenant};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    relabel_platform::install_crypto();
    let mut args = std::env::args().skip(1);
    let target: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let concurrency: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(4);
    let mut config = Config::load(None)?;
    config.db_max_connections = (concurrency as u32 + 4).max(8);
    let state = AppState::new(config).await?;
    let tenancy = &state.tenancy;
    let existing = tenancy.list().await?.len();
    let todo: Vec<usize> = (existing..target).collect();
    println!(
        "backend: {:?}; {existing} tenants exist, creating {}",
        tenancy.backend().kind(),
        todo.len()
    );

    let started = Instant::now();
    let mut times: Vec<Duration> = futures::stream::iter(todo)
        .map(|i| async move {
            let t0 = Instant::now();
            let pending = tenancy
                .create_tenant(NewTenant {
                    name: format!("Bench {i}"),
                    brand: Brand {
                        primary_color: "#1f4fd8".into(),
                        accent_color: "#f08c00".into(),
                        logo_asset_id: None,
                    },
                    hostnames: vec![Hostname::parse(&format!("b{i}.bench.test")).expect("valid")],
                })
                .await
                .expect("create tenant");
            pending.commit().await.expect("commit tenant");
            t0.elapsed()
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let wall = started.elapsed();
    if !times.is_empty() {
        times.sort();
        let mean = times.iter().sum::<Duration>() / times.len() as u32;
        let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
        println!(
            "created {} tenants in {:.1} s (concurrency {concurrency}): per tenant mean {:.1} ms, p50 {:.1} ms, p95 {:.1} ms; throughput {:.1} ms/tenant",
            times.len(),
            wall.as_secs_f64(),
            mean.as_secs_f64() * 1e3,
            p(0.5).as_secs_f64() * 1e3,
            p(0.95).as_secs_f64() * 1e3,
            wall.as_secs_f64() * 1e3 / times.len() as f64
        );
    }

    for concurrency in [8] {
        let t0 = Instant::now();
        let report = tenancy.migrate_all(concurrency).await?;
        println!(
            "no-op migrate over {} tenants: {:.2} s (concurrency {concurrency}, applied {}, failed {})",
            report.tenants.len(),
            t0.elapsed().as_secs_f64(),
            report.applied(),
            report.failed().count()
        );
    }
    Ok(())
}
