//! Price resolution for a full storefront price list (every enabled TLD x register,
//! transfer, renew): microseconds per list through the cached price book, against a
//! plain in-memory map lookup of the same data building the same rows, in the same
//! run. Also reports the uncached path (book loaded from the database) and the
//! signed-in path (one query for the customer's overrides).
//!
//! `cargo run --release -p relabel-tests --example bench_prices -- [iterations]`
//! (embedded SQLite in a temporary directory; set DATABASE_URL for Postgres).

use relabel_platform::customers::{self, Actor, CustomerInput};
use relabel_platform::pricing::{self, LIST_ACTIONS, PriceBook, PriceListRow, Pricer};
use relabel_platform::{AppState, Config};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

fn per_list(start: Instant, n: usize) -> f64 {
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    relabel_platform::install_crypto();
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let dir = std::env::temp_dir().join(format!("relabel-bench-prices-{}", std::process::id()));
    let mut config = Config::load(None)?;
    config.data_dir = dir.clone();
    let state = AppState::new(config).await?;
    relabel_platform::demo::seed(&state).await?;
    let tenant = state
        .tenancy
        .resolve("alpha.localhost")
        .await?
        .expect("demo reseller");
    let tx = state.tenancy.begin(&tenant).await?;
    let customer = customers::create(
        &tx,
        &Actor {
            name: "bench",
            ip: None,
        },
        &CustomerInput {
            first_name: Some("Bench".into()),
            last_name: Some("Mark".into()),
            street: Some("Weg 1".into()),
            postal_code: Some("10115".into()),
            city: Some("Berlin".into()),
            country: Some("DE".into()),
            email: Some(format!("bench-{}@example.com", std::process::id())),
            ..Default::default()
        },
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    tx.commit().await?;
    let tx = state.tenancy.begin(&tenant).await?;

    // The same data as a plain map: (product, action, period) -> net.
    let pricer = state.prices.pricer(&tx, None).await?;
    let reference = pricing::price_list(&pricer);
    let domains: Vec<(String, String)> = pricer.book().domains().to_vec();
    let mut map: HashMap<(String, String, i32), (String, i64)> = HashMap::new();
    for (_, id) in &domains {
        for action in LIST_ACTIONS {
            if let Some(q) = pricer.quote(id, action, 12) {
                map.insert(
                    (id.clone(), action.to_owned(), 12),
                    (q.currency, q.gross_minor),
                );
            }
        }
    }
    let lookups = reference.len() * LIST_ACTIONS.len();
    println!(
        "price list: {} TLDs x {} actions = {lookups} prices, {n} lists per measurement",
        reference.len(),
        LIST_ACTIONS.len()
    );

    let map_list = |map: &HashMap<(String, String, i32), (String, i64)>| -> Vec<PriceListRow> {
        domains
            .iter()
            .filter_map(|(tld, id)| {
                let mut currency = None;
                let [register, transfer, renew] = LIST_ACTIONS.map(|action| {
                    map.get(&(id.clone(), action.to_owned(), 12)).map(|(c, v)| {
                        currency = Some(c.clone());
                        *v
                    })
                });
                Some(PriceListRow {
                    tld: tld.clone(),
                    currency: currency?,
                    register,
                    transfer,
                    renew,
                })
            })
            .collect()
    };
    assert_eq!(
        serde_json::to_string(&map_list(&map))?,
        serde_json::to_string(&reference)?,
        "baseline and resolver agree"
    );

    // Warm up, then measure each path in turn, twice, keeping the better run.
    let mut best = [f64::MAX; 4];
    for _ in 0..2 {
        let start = Instant::now();
        for _ in 0..n {
            black_box(map_list(black_box(&map)));
        }
        best[0] = best[0].min(per_list(start, n));

        let start = Instant::now();
        for _ in 0..n {
            let book = state.prices.book(&tx).await?;
            black_box(pricing::price_list(&Pricer::anonymous(book)));
        }
        best[1] = best[1].min(per_list(start, n));

        let m = (n / 20).max(1);
        let start = Instant::now();
        for _ in 0..m {
            let pricer = state.prices.pricer(&tx, Some(&customer)).await?;
            black_box(pricing::price_list(&pricer));
        }
        best[2] = best[2].min(per_list(start, m));

        let m = (n / 200).max(1);
        let start = Instant::now();
        for _ in 0..m {
            let book = Arc::new(PriceBook::load(&tx).await?);
            black_box(pricing::price_list(&Pricer::anonymous(book)));
        }
        best[3] = best[3].min(per_list(start, m));
    }
    let [map_us, cached_us, customer_us, uncached_us] = best;
    println!("plain map lookup        {map_us:>9.2} µs/list  (baseline)");
    println!(
        "cached price book       {cached_us:>9.2} µs/list  {:.2}x baseline (target < 5x)",
        cached_us / map_us
    );
    println!(
        "signed-in customer      {customer_us:>9.2} µs/list  {:.2}x baseline (cached book + one overrides query)",
        customer_us / map_us
    );
    println!(
        "uncached (load book)    {uncached_us:>9.2} µs/list  {:.2}x baseline",
        uncached_us / map_us
    );
    drop(tx);
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
