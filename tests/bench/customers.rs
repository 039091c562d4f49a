//! Customer list with 100k customers (Postgres): ms per console page through the
//! app's query vs the same SQL run directly with psql, in the same run. Also prints
//! argon2id verifications per second, which bound login throughput.
//!
//! `DATABASE_URL=postgres://... cargo run --release -p relabel-tests --example bench_customers -- [N]`

use relabel_platform::customers::{self, ListQuery};
use relabel_platform::{AppState, Config};
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use std::time::Instant;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    relabel_platform::install_crypto();
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let config = Config::load(None)?;
    let url = config
        .database_url
        .clone()
        .ok_or_else(|| anyhow::anyhow!("set DATABASE_URL"))?;
    let state = AppState::new(config).await?;
    let tenancy = &state.tenancy;
    let tenant = match tenancy.resolve("customers.bench.test").await? {
        Some(t) => t,
        None => {
            relabel_platform::resellers::create(
                tenancy,
                "bench",
                relabel_platform::resellers::NewReseller {
                    name: "Customer Bench".into(),
                    hostname: Some("customers.bench.test".into()),
                    owner_email: "owner@bench.test".into(),
                    owner_password: "bench-password-1".into(),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            tenancy
                .resolve("customers.bench.test")
                .await?
                .expect("created")
        }
    };
    let tx = tenancy.begin(&tenant).await?;
    let existing = customers::list(
        &tx,
        &ListQuery {
            limit: Some(1),
            ..Default::default()
        },
    )
    .await?
    .items
    .len();
    drop(tx);
    if existing == 0 {
        let t0 = Instant::now();
        for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
            let tx = tenancy.begin(&tenant).await?;
            let now = chrono::Utc::now();
            let rows = chunk.iter().map(|i| customers::customer::ActiveModel {
                id: Set(uuid::Uuid::now_v7().simple().to_string()),
                number: Set(format!("B{i:07}")),
                kind: Set("person".into()),
                first_name: Set(format!("First{i}")),
                last_name: Set(format!("Last{}", i % 5000)),
                company: Set(None),
                street: Set("Street 1".into()),
                postal_code: Set("10115".into()),
                city: Set("Berlin".into()),
                country: Set("DE".into()),
                phone: Set(None),
                email: Set(format!("c{i}@bench.test")),
                email_verified_at: Set(Some(now)),
                password_hash: Set(None),
                vat_id: Set(None),
                language: Set("de".into()),
                currency: Set("EUR".into()),
                price_class_id: Set(None),
                billing_type: Set(if i % 3 == 0 { "DEBIT" } else { "BANKTRANSFER" }.into()),
                debit_status: Set("INACTIVE".into()),
                iban: Set(None),
                bic: Set(None),
                account_holder: Set(None),
                mandate_reference: Set(None),
                mandate_signed_on: Set(None),
                credit_limit_minor: Set(None),
                billing_interval: Set("monthly".into()),
                payment_method: Set("bank_transfer".into()),
                dunning_type: Set("standard".into()),
                invoice_delivery: Set("email".into()),
                newsletter: Set(String::new()),
                excluded_from_invoicing: Set(false),
                locked_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                discount_bp: Set(0),
                skonto_bp: Set(0),
                skonto_days: Set(0),
                payment_term_days: Set(0),
                einvoice: Set("zugferd".into()),
                suspended_at: Set(None),
                credit_score: Set(None),
                scored_at: Set(None),
                buyer_reference: Set(None),
            });
            customers::customer::Entity::insert_many(rows)
                .exec(tx.conn())
                .await?;
            tx.commit().await?;
        }
        let tx = tenancy.begin(&tenant).await?;
        tx.conn().execute_unprepared("ANALYZE customers").await?;
        tx.commit().await?;
        println!(
            "inserted {n} customers in {:.1} s",
            t0.elapsed().as_secs_f64()
        );
    }

    // The console's first page, a page deep in the list (cursor), and a search.
    let tx = tenancy.begin(&tenant).await?;
    let mut cursor = None;
    for _ in 0..400 {
        let page = customers::list(
            &tx,
            &ListQuery {
                after: cursor.clone(),
                limit: Some(200),
                ..Default::default()
            },
        )
        .await?;
        cursor = page.next;
    }
    drop(tx);
    let deep = cursor.unwrap_or_default();
    let cases = [
        ("first page", ListQuery::default()),
        (
            "page at customer ~80,000",
            ListQuery {
                after: Some(deep.clone()),
                ..Default::default()
            },
        ),
        (
            "search 'last4711'",
            ListQuery {
                q: Some("last4711".into()),
                ..Default::default()
            },
        ),
    ];
    let schema = &tenant.schema;
    let sql = [
        format!("SELECT * FROM {schema}.customers ORDER BY id DESC LIMIT 51"),
        format!("SELECT * FROM {schema}.customers WHERE id < '{deep}' ORDER BY id DESC LIMIT 51"),
        format!(
            "SELECT * FROM {schema}.customers WHERE lower(number) LIKE '%last4711%' OR lower(email) LIKE '%last4711%' OR lower(last_name) LIKE '%last4711%' OR lower(first_name) LIKE '%last4711%' OR lower(company) LIKE '%last4711%' ORDER BY id DESC LIMIT 51"
        ),
    ];
    const RUNS: u32 = 30;
    for ((label, query), sql) in cases.iter().zip(sql.iter()) {
        let t0 = Instant::now();
        for _ in 0..RUNS {
            let tx = tenancy.begin(&tenant).await?;
            customers::list(&tx, query).await?;
            tx.commit().await?;
        }
        let app_ms = t0.elapsed().as_secs_f64() * 1e3 / f64::from(RUNS);
        let mut script = String::from("\\timing on\n");
        for _ in 0..RUNS {
            script.push_str(sql);
            script.push_str(";\n");
        }
        let out = std::process::Command::new("psql")
            .arg(&url)
            .args(["-q", "-o", "/dev/null"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(script.as_bytes())?;
                child.wait_with_output()
            })?;
        let text = String::from_utf8_lossy(&out.stdout);
        let times: Vec<f64> = text
            .lines()
            .filter_map(|l| l.strip_prefix("Time: "))
            .filter_map(|l| l.split(' ').next()?.parse().ok())
            .collect();
        let psql_ms = times.iter().sum::<f64>() / times.len().max(1) as f64;
        println!(
            "{label:<28} app {app_ms:7.2} ms/page   psql {psql_ms:7.2} ms   ratio {:.1}",
            app_ms / psql_ms.max(0.001)
        );
    }

    // Login is bounded by argon2id; these are the parameters every password hash uses.
    let params = argon2::Params::default();
    let pw = relabel_platform::auth::Password::parse("benchmark-password")?;
    let hash = relabel_platform::auth::hash_password(&pw);
    let per_thread = 40;
    let t0 = Instant::now();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let hash = hash.clone();
            std::thread::spawn(move || {
                for _ in 0..per_thread {
                    assert!(relabel_platform::auth::verify_password(
                        "benchmark-password",
                        &hash
                    ));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    let rate = f64::from(2 * per_thread) / t0.elapsed().as_secs_f64();
    println!(
        "argon2id m={} KiB t={} p={}: {:.1} verifications/s on 2 threads (= upper bound for logins/s)",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        rate
    );
    let _ = customers::customer::Entity::find();
    Ok(())
}
