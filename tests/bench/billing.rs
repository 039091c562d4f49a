//! Billing benchmarks, each against a baseline measured in the same run.
//!
//! `cargo run --release -p relabel-tests --example bench_billing -- run [tenants] [services_per_tenant] [services_per_customer]`
//!   A billing run over `tenants` x `services_per_tenant` due service entries
//!   (`services_per_customer` on one collective invoice each, default 10; defaults
//!   1000 x 100 = 100,000 services), the tenants billed 4 at a time, against inserting the
//!   same number of invoice rows with plain batched inserts (1,000 per statement)
//!   in the same run. Set DATABASE_URL (and REDIS_URL) for PostgreSQL. Also
//!   measured: the same rows in each tenant's schema, the lines and ledger
//!   entries too, one read per tenant, and the essential writes of a run (the 9
//!   statements any run needs, see [`essential`]).
//!
//! `cargo run --release -p relabel-tests --example bench_billing -- pdf [count]`
//!   Invoice PDFs (PDF/A-3 with the EN 16931 XML attached) rendered per second on
//!   one core, against rendering the same document without the XML and XMP.

use chrono::SubsecRound;
use chrono::{Duration, Utc};
use futures::StreamExt;
use relabel_platform::billing::{self, invoice, run};
use relabel_platform::customers;
use relabel_platform::provisioning::service;
use relabel_tenants::Tenant;
use relabel_tests::spawn_app_with;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    TryIntoModel,
};
use std::time::Instant;

async fn seed_tenant(
    app: &relabel_tests::TestApp,
    i: usize,
    services: usize,
    per_customer: usize,
) -> Tenant {
    let t = app
        .reseller(
            &format!("Bench {i}"),
            &format!("b{i}.bench.test"),
            &format!("owner@b{i}.bench.test"),
            "bench-password-1",
        )
        .await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let mut bs: billing::billing_settings::ActiveModel =
        billing::settings(&tx).await.unwrap().into();
    bs.legal_name = Set(format!("Bench {i} GmbH"));
    bs.update(tx.conn()).await.unwrap();
    let now = Utc::now();
    let customers: Vec<customers::customer::Model> = (0..services.div_ceil(per_customer))
        .map(|k| {
            let mut c = customers::blank(format!("K{k:06}"), "EUR".into());
            c.first_name = "Bench".into();
            c.last_name = format!("Kunde {k}");
            c.street = "Weg 1".into();
            c.postal_code = "10115".into();
            c.city = "Berlin".into();
            c.email = format!("k{k}@b{i}.bench.test");
            c
        })
        .collect();
    customers::customer::Entity::insert_many(
        customers
            .iter()
            .cloned()
            .map(customers::customer::ActiveModel::from),
    )
    .exec(tx.conn())
    .await
    .unwrap();
    let rows: Vec<service::ActiveModel> = (0..services)
        .map(|s| service::ActiveModel {
            id: Set(uuid::Uuid::now_v7().simple().to_string()),
            customer_id: Set(customers[s / per_customer].id.clone()),
            product_id: Set("hosting-starter".into()),
            order_id: Set(None),
            order_item_id: Set(None),
            domain_id: Set(None),
            kind: Set("hosting".into()),
            label: Set(format!("Hosting {s}")),
            period_months: Set(1),
            price_source: Set("order".into()),
            net_minor: Set(199),
            currency: Set("EUR".into()),
            quantity: Set(1),
            started_at: Set(now - Duration::days(30)),
            next_billing_at: Set(now - Duration::days(1)),
            ends_at: Set(None),
            cancellation: Set("none".into()),
            status: Set("active".into()),
            created_at: Set(now),
            updated_at: Set(now),
            generation: Set(0),
        })
        .collect();
    for chunk in rows.chunks(1000) {
        service::Entity::insert_many(chunk.to_vec())
            .exec(tx.conn())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    t
}

/// The baseline: the same number of invoice rows, batched plain inserts.
async fn baseline(app: &relabel_tests::TestApp, t: &Tenant, n: usize) -> f64 {
    let now = Utc::now();
    let start = Instant::now();
    let ids: Vec<usize> = (0..n).collect();
    for chunk in ids.chunks(1000) {
        let tx = app.state.tenancy.begin(t).await.unwrap();
        let rows = chunk.iter().map(|i| {
            relabel_tests::billing::invoice_row(format!("BASE-{i:08}"), "baseline".into(), now, now)
        });
        invoice::Entity::insert_many(rows)
            .exec(tx.conn())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    start.elapsed().as_secs_f64()
}

/// The baseline where the rows must live: each tenant's invoice rows into its
/// own schema, batched plain inserts (one statement per 1,000), 4 tenants at a
/// time like the run.
async fn baseline_per_tenant(app: &relabel_tests::TestApp, counts: &[(&Tenant, usize)]) -> f64 {
    let now = Utc::now();
    let start = Instant::now();
    futures::stream::iter(counts.iter())
        .for_each_concurrent(4, |(t, n)| async move {
            let ids: Vec<usize> = (0..*n).collect();
            for chunk in ids.chunks(1000) {
                let tx = app.state.tenancy.begin(t).await.unwrap();
                let rows = chunk.iter().map(|i| {
                    relabel_tests::billing::invoice_row(
                        format!("TBASE-{i:08}"),
                        "baseline".into(),
                        now,
                        now,
                    )
                });
                invoice::Entity::insert_many(rows)
                    .exec_without_returning(tx.conn())
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        })
        .await;
    start.elapsed().as_secs_f64()
}

/// A monthly hosting line of `net` at 19 %, for the baselines.
fn line_row(
    invoice_id: String,
    position: i32,
    service_id: String,
    start: chrono::DateTime<Utc>,
    net: i64,
) -> billing::invoice_line::Model {
    billing::invoice_line::Model {
        id: uuid::Uuid::now_v7().simple().to_string(),
        invoice_id,
        position,
        service_id: Some(service_id),
        order_item_id: None,
        product_id: Some("hosting-starter".into()),
        description: "Hosting Starter".into(),
        period_start: Some(start),
        period_end: Some(start + Duration::days(30)),
        quantity_milli: 1000,
        unit: "MON".into(),
        unit_net_minor: net,
        net_minor: net,
        vat_rate_bp: 1900,
        vat_category: "S".into(),
        generation: 0,
    }
}

/// An invoice's ledger entry, for the baselines.
fn entry_row(
    customer_id: String,
    gross: i64,
    document_id: String,
    reference: String,
    actor: &str,
    at: chrono::DateTime<Utc>,
) -> billing::ledger_entry::Model {
    billing::ledger_entry::Model {
        id: uuid::Uuid::now_v7().simple().to_string(),
        customer_id,
        kind: "invoice".into(),
        amount_minor: -gross,
        currency: "EUR".into(),
        document_id: Some(document_id),
        reference: Some(reference),
        note: None,
        actor: actor.into(),
        created_at: at,
    }
}

/// Plain batched inserts of `lines` invoice lines and `entries` ledger entries
/// (1,000 per statement, one transaction each), in seconds.
async fn rows_baseline(
    app: &relabel_tests::TestApp,
    t: &Tenant,
    lines: usize,
    entries: usize,
) -> f64 {
    use billing::{invoice_line, ledger_entry};
    let now = Utc::now();
    let id = || uuid::Uuid::now_v7().simple().to_string();
    let start = Instant::now();
    let all: Vec<usize> = (0..lines).collect();
    for chunk in all.chunks(1000) {
        let tx = app.state.tenancy.begin(t).await.unwrap();
        let rows = chunk.iter().map(|i| {
            invoice_line::ActiveModel::from(line_row(
                format!("base-{}", i / 10),
                i32::try_from(i % 10).unwrap_or(0) + 1,
                id(),
                now,
                599,
            ))
        });
        invoice_line::Entity::insert_many(rows)
            .exec_without_returning(tx.conn())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let all: Vec<usize> = (0..entries).collect();
    for chunk in all.chunks(1000) {
        let tx = app.state.tenancy.begin(t).await.unwrap();
        let rows = chunk.iter().map(|i| {
            ledger_entry::ActiveModel::from(entry_row(
                format!("base-{i}"),
                7128,
                id(),
                format!("BASE-{i:08}"),
                "baseline",
                now,
            ))
        });
        ledger_entry::Entity::insert_many(rows)
            .exec_without_returning(tx.conn())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    start.elapsed().as_secs_f64()
}

/// What any billing run must do at least in each tenant, with the product's own
/// bulk writes and nothing else: one transaction per tenant (4 at a time like
/// the run) that reads the due services and their customers, moves the
/// services' dates, takes the invoice numbers, writes the invoices, their lines
/// (one per service), the ledger entries with the account postings and a
/// delivery job per invoice: 9 statements. No run record, no reseller rules,
/// prices, discounts or overrides, no credit check. The run's services are
/// billed again for the next period (their dates moved), so the rows are new.
async fn essential(app: &relabel_tests::TestApp, tenants: &[Tenant], per_customer: usize) -> f64 {
    use billing::invoice_line;
    let start = Instant::now();
    futures::stream::iter(tenants.iter())
        .for_each_concurrent(4, |t| {
            let state = app.state.clone();
            async move {
                let tx = state.tenancy.begin_write(t).await.unwrap();
                let services = service::Entity::find()
                    .filter(service::Column::Status.eq("active"))
                    .filter(service::Column::NextBillingAt.lte(Utc::now() + Duration::days(400)))
                    .all(tx.conn())
                    .await
                    .unwrap();
                let mut ids: Vec<&str> = services.iter().map(|s| s.customer_id.as_str()).collect();
                ids.sort_unstable();
                ids.dedup();
                let customers = customers::customer::Entity::find()
                    .filter(customers::customer::Column::Id.is_in(ids))
                    .all(tx.conn())
                    .await
                    .unwrap();
                let old = services[0].next_billing_at;
                let end = old + Duration::days(30);
                service::Entity::update_many()
                    .col_expr(
                        service::Column::NextBillingAt,
                        sea_orm::sea_query::Expr::val(end),
                    )
                    .filter(service::Column::Id.is_in(services.iter().map(|s| s.id.as_str())))
                    .filter(service::Column::NextBillingAt.eq(old))
                    .exec(tx.conn())
                    .await
                    .unwrap();
                let now = Utc::now().trunc_subsecs(6);
                let numbers = billing::allocate_numbers(
                    &tx,
                    "invoice",
                    "ES-{YYYY}-{seq:06}",
                    now,
                    customers.len(),
                )
                .await
                .unwrap();
                let mut by_customer: std::collections::HashMap<&str, Vec<&service::Model>> =
                    std::collections::HashMap::new();
                for s in &services {
                    by_customer.entry(&s.customer_id).or_default().push(s);
                }
                let mut invoices = Vec::new();
                let mut lines = Vec::new();
                let mut entries = Vec::new();
                for (c, number) in customers.iter().zip(numbers) {
                    let mut inv =
                        relabel_tests::billing::invoice_row(number.clone(), c.id.clone(), now, now)
                            .try_into_model()
                            .unwrap();
                    inv.net_minor = 199 * per_customer as i64;
                    inv.vat_minor = 38 * per_customer as i64;
                    inv.gross_minor = inv.net_minor + inv.vat_minor;
                    for (k, s) in by_customer[c.id.as_str()].iter().enumerate() {
                        let position = i32::try_from(k + 1).unwrap_or(i32::MAX);
                        lines.push(line_row(inv.id.clone(), position, s.id.clone(), end, 199));
                    }
                    entries.push(entry_row(
                        c.id.clone(),
                        inv.gross_minor,
                        inv.id.clone(),
                        number,
                        "essential",
                        now,
                    ));
                    invoices.push(inv);
                }
                relabel_platform::bulk::insert::<invoice::Entity>(&tx, &invoices, None)
                    .await
                    .unwrap();
                relabel_platform::bulk::insert::<invoice_line::Entity>(&tx, &lines, None)
                    .await
                    .unwrap();
                billing::post_many(&tx, &entries).await.unwrap();
                let keys: Vec<String> = invoices
                    .iter()
                    .map(|i| format!("essential:{}", i.id))
                    .collect();
                relabel_platform::jobs::enqueue_many(
                    &tx,
                    invoices
                        .iter()
                        .zip(&keys)
                        .map(|(i, key)| relabel_platform::jobs::NewJob {
                            kind: "bench.essential",
                            reference: &i.number,
                            key,
                            payload: serde_json::json!({ "invoice_id": i.id }),
                            run_after: None,
                        }),
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }
        })
        .await;
    start.elapsed().as_secs_f64()
}

/// CPU seconds used so far by this process, by PostgreSQL's processes and by
/// Redis (Linux `/proc`; zeros elsewhere). Backends that ended in between are
/// not counted, so the PostgreSQL figure is a lower bound.
fn cpu_seconds() -> [f64; 3] {
    let tick = 100.0; // USER_HZ
    let used = |stat: &str| -> Option<(String, f64)> {
        let (head, rest) = stat.rsplit_once(')')?;
        let comm = head.split_once('(')?.1.to_owned();
        let f: Vec<&str> = rest.split_whitespace().collect();
        let t = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
        Some((comm, t / tick))
    };
    let mut out = [0.0; 3];
    if let Some((_, t)) = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| used(&s))
    {
        out[0] = t;
    }
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        match used(&stat) {
            Some((comm, t)) if comm == "postgres" => out[1] += t,
            Some((comm, t)) if comm.starts_with("redis-server") => out[2] += t,
            _ => {}
        }
    }
    out
}

async fn run_bench(tenants: usize, per_tenant: usize, per_customer: usize) {
    let app = spawn_app_with(|c| {
        c.jobs.enabled = false;
        c.db_max_connections = 10;
    })
    .await;
    relabel_platform::catalog::seed_demo(app.state.tenancy.backend().shared())
        .await
        .unwrap();
    let t0 = Instant::now();
    let all: Vec<Tenant> = futures::stream::iter(0..tenants)
        .map(|i| {
            let app = &app;
            async move { seed_tenant(app, i, per_tenant, per_customer).await }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    println!(
        "seeded {tenants} tenants x {per_tenant} services ({per_customer} per customer) in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let now = Utc::now();
    // Markers for a statement log of the run (log_min_duration_statement = 0).
    let mark = |m: &'static str| {
        let shared = app.state.tenancy.backend().shared();
        async move { shared.execute_unprepared(m).await.unwrap() }
    };
    mark("SELECT 'relabel-bench-run-start'").await;
    let cpu_before = cpu_seconds();
    let start = Instant::now();
    futures::stream::iter(all.iter())
        .for_each_concurrent(4, |t| {
            let state = app.state.clone();
            async move {
                let tx = state.tenancy.begin(t).await.unwrap();
                let r = run::start(&tx, now, "bench").await.unwrap();
                tx.commit().await.unwrap();
                run::execute(&state, t, &r.id).await.unwrap();
            }
        })
        .await;
    let run_secs = start.elapsed().as_secs_f64();
    let cpu_after = cpu_seconds();
    mark("SELECT 'relabel-bench-run-end'").await;
    let cpu: Vec<f64> = (0..3).map(|k| cpu_after[k] - cpu_before[k]).collect();
    let mut invoices = 0;
    let mut counts = Vec::with_capacity(all.len());
    for t in &all {
        let tx = app.state.tenancy.begin(t).await.unwrap();
        let n = invoice::Entity::find().count(tx.conn()).await.unwrap();
        invoices += n;
        counts.push((t, n as usize));
    }
    let base_secs = baseline(&app, &all[0], invoices as usize).await;
    let tenant_base_secs = baseline_per_tenant(&app, &counts).await;
    // The run writes more than invoice rows: the same volume of lines and
    // ledger entries as plain batched inserts too (service date updates, jobs
    // and numbers not included, so this is a lower bound of its writes).
    let (mut lines, mut entries) = (0, 0);
    for t in &all {
        let tx = app.state.tenancy.begin(t).await.unwrap();
        lines += billing::invoice_line::Entity::find()
            .count(tx.conn())
            .await
            .unwrap();
        entries += billing::ledger_entry::Entity::find()
            .count(tx.conn())
            .await
            .unwrap();
    }
    let volume_secs =
        base_secs + rows_baseline(&app, &all[0], lines as usize, entries as usize).await;
    // What touching every tenant costs at least: one transaction with one read
    // per tenant, 4 at a time like the run.
    let floor = Instant::now();
    futures::stream::iter(all.iter())
        .for_each_concurrent(4, |t| {
            let state = app.state.clone();
            async move {
                let tx = state.tenancy.begin(t).await.unwrap();
                billing::settings(&tx).await.unwrap();
                tx.commit().await.unwrap();
            }
        })
        .await;
    let floor_secs = floor.elapsed().as_secs_f64();
    let essential_secs = essential(&app, &all, per_customer).await;
    let services = tenants * per_tenant;
    println!(
        "billing run: {services} services, {invoices} invoices in {run_secs:.1} s ({:.0} invoices/s, {:.0} services/s)",
        invoices as f64 / run_secs,
        services as f64 / run_secs
    );
    println!(
        "baseline: {invoices} invoice rows, batched plain inserts: {base_secs:.2} s ({:.0} rows/s)",
        invoices as f64 / base_secs
    );
    println!("ratio run / baseline: {:.1}x", run_secs / base_secs);
    println!(
        "CPU during the run: relabel {:.1} s, PostgreSQL {:.1} s, Redis {:.1} s, per tenant {:.1} ms + {:.1} ms + {:.1} ms",
        cpu[0],
        cpu[1],
        cpu[2],
        cpu[0] * 1000.0 / tenants as f64,
        cpu[1] * 1000.0 / tenants as f64,
        cpu[2] * 1000.0 / tenants as f64,
    );
    println!(
        "baseline per tenant: the same {invoices} invoice rows, each tenant's into its own schema, batched plain inserts 4 tenants at a time: {tenant_base_secs:.2} s (run / per-tenant baseline {:.1}x)",
        run_secs / tenant_base_secs
    );
    println!(
        "volume baseline: the same {invoices} invoices + {lines} lines + {entries} ledger entries, batched plain inserts: {volume_secs:.2} s (run / volume {:.1}x)",
        run_secs / volume_secs
    );
    println!(
        "floor: one transaction with one read in each of the {tenants} tenants: {floor_secs:.2} s (run / floor {:.1}x)",
        run_secs / floor_secs
    );
    println!(
        "essential writes: one transaction in each tenant with the 9 statements any run needs (due services, customers, dates, numbers, invoices, lines, ledger + accounts, jobs), the same rows, 4 tenants at a time: {essential_secs:.2} s (run / essential {:.1}x, essential / baseline {:.1}x)",
        run_secs / essential_secs,
        essential_secs / base_secs
    );
    app.stop().await;
}

async fn pdf_bench(count: usize) {
    let app = spawn_app_with(|c| c.jobs.enabled = false).await;
    relabel_platform::catalog::seed_demo(app.state.tenancy.backend().shared())
        .await
        .unwrap();
    let t = seed_tenant(&app, 0, 10, 10).await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let c = customers::customer::Entity::find()
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap();
    let line = |n: usize| billing::OneOffLine {
        description: format!("Leistung {n}"),
        quantity: "1".into(),
        unit_price: "9.99".into(),
        vat_rate: "19".into(),
    };
    let lines: Vec<_> = (0..8).map(line).collect();
    let inv = billing::one_off(&tx, "Bench", &c.id, &lines, "", "bench")
        .await
        .unwrap();
    let inv_lines = billing::lines(&tx, &inv.id).await.unwrap();
    let head = billing::document::letterhead(&tx, &t).await.unwrap();
    tx.commit().await.unwrap();
    let mut plain = inv.clone();
    plain.einvoice = "none".into();
    let (a, b, la, lb) = (inv.clone(), plain, inv_lines.clone(), inv_lines);
    let (with, without) = tokio::task::spawn_blocking(move || {
        // Warm up (fonts, template parse) once.
        billing::document::render_document(&a, &la, &head, None).unwrap();
        let s = Instant::now();
        for _ in 0..count {
            billing::document::render_document(&a, &la, &head, None).unwrap();
        }
        let with = s.elapsed().as_secs_f64();
        let s = Instant::now();
        for _ in 0..count {
            billing::document::render_document(&b, &lb, &head, None).unwrap();
        }
        (with, s.elapsed().as_secs_f64())
    })
    .await
    .unwrap();
    println!(
        "PDF/A-3 + EN 16931 XML: {count} renders in {with:.2} s = {:.1} per second on one core",
        count as f64 / with
    );
    println!(
        "baseline, same document without XML/XMP: {:.1} per second; ratio {:.2}x",
        count as f64 / without,
        with / without
    );
    app.stop().await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    match args.get(1).map(String::as_str) {
        Some("run") => run_bench(arg(2, 1000), arg(3, 100), arg(4, 10).max(1)).await,
        Some("pdf") => pdf_bench(arg(2, 50)).await,
        _ => eprintln!(
            "usage: bench_billing run [tenants] [services_per_tenant] [services_per_customer] | pdf [count]"
        ),
    }
}
