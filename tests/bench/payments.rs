//! Payment benchmarks, each against a baseline measured in the same run.
//!
//! `cargo run --release -p relabel-tests --example bench_payments -- match [lines] [open_items]`
//!   Matching a CAMT.053 statement of `lines` transfers (default 10,000) against
//!   `open_items` open invoices (default 100,000): parsing the file, reading the
//!   open items and customers, and finding each line's item, against a hash join
//!   in memory of the same references and numbers.
//!
//! `cargo run --release -p relabel-tests --example bench_payments -- dunning [items]`
//!   Dunning over `items` overdue items (default 50,000; ten per customer): the
//!   reminder run, then 15 days later the first-notice run that books a fee per
//!   letter and interest per item.
//!
//! Set DATABASE_URL (and REDIS_URL) for PostgreSQL.

use chrono::{Duration, Utc};
use relabel_platform::billing::invoice;
use relabel_platform::customers;
use relabel_platform::payments::{Matcher, camt, dunning};
use relabel_tenants::Tenant;
use relabel_tests::spawn_app_with;
use sea_orm::EntityTrait;
use std::collections::HashMap;
use std::time::Instant;

const PER_CUSTOMER: usize = 10;

/// A tenant with `items` open invoices, ten per customer, due `overdue_days` ago.
async fn seed(app: &relabel_tests::TestApp, items: usize, overdue_days: i64) -> Tenant {
    let t = relabel_tests::billing::setup(app, "Bench", "pay.bench.test").await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let customers: Vec<customers::customer::Model> = (0..items.div_ceil(PER_CUSTOMER))
        .map(|k| {
            let mut c = customers::blank(format!("K{k:07}"), "EUR".into());
            c.first_name = "Bench".into();
            c.last_name = format!("Kunde {k}");
            c.email = format!("k{k}@pay.bench.test");
            c
        })
        .collect();
    for chunk in customers.chunks(1000) {
        customers::customer::Entity::insert_many(
            chunk
                .iter()
                .cloned()
                .map(customers::customer::ActiveModel::from),
        )
        .exec_without_returning(tx.conn())
        .await
        .unwrap();
    }
    let now = Utc::now();
    let rows: Vec<invoice::ActiveModel> = (0..items)
        .map(|i| {
            relabel_tests::billing::invoice_row(
                format!("RE-2026-{i:07}"),
                customers[i / PER_CUSTOMER].id.clone(),
                now - Duration::days(overdue_days + 14),
                now - Duration::days(overdue_days),
            )
        })
        .collect();
    for chunk in rows.chunks(500) {
        invoice::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(tx.conn())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    t
}

async fn match_bench(lines: usize, items: usize) {
    let app = spawn_app_with(|c| c.jobs.enabled = false).await;
    let t = seed(&app, items, 5).await;
    // A statement paying every tenth item, in a reference as banks write it.
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>B</MsgId><CreDtTm>2026-11-30T08:00:00</CreDtTm></GrpHdr><Stmt><Id>S</Id><CreDtTm>2026-11-30T08:00:00</CreDtTm><Acct><Id><IBAN>DE02120300000000202051</IBAN></Id></Acct>"#,
    );
    let step = (items / lines).max(1);
    for k in 0..lines {
        let n = (k * step) % items;
        xml.push_str(&format!(
            "<Ntry><Amt Ccy=\"EUR\">11.90</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-11-29</Dt></BookgDt><ValDt><Dt>2026-11-29</Dt></ValDt><AcctSvcrRef>R{k}</AcctSvcrRef><BkTxCd/><NtryDtls><TxDtls><RmtInf><Ustrd>Rechnung RE-2026-{n:07} vielen Dank</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
        ));
    }
    xml.push_str("</Stmt></BkToCstmrStmt></Document>");

    let start = Instant::now();
    let st = camt::parse(&xml).unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let matcher = Matcher::load(&tx).await.unwrap();
    let matched = st
        .lines
        .iter()
        .filter(|l| {
            matcher
                .find(&l.reference)
                .is_some_and(|m| m.invoice_id.is_some())
        })
        .count();
    let secs = start.elapsed().as_secs_f64();
    drop(tx);
    assert_eq!(matched, lines);

    // Baseline: the same data already in memory, joined on the exact number.
    let numbers: Vec<(String, String)> = (0..items)
        .map(|i| (format!("RE-2026-{i:07}"), format!("id{i}")))
        .collect();
    let refs: Vec<String> = (0..lines)
        .map(|k| format!("RE-2026-{:07}", (k * step) % items))
        .collect();
    let start = Instant::now();
    let index: HashMap<&str, &str> = numbers
        .iter()
        .map(|(n, id)| (n.as_str(), id.as_str()))
        .collect();
    let joined = refs
        .iter()
        .filter(|r| index.contains_key(r.as_str()))
        .count();
    let base = start.elapsed().as_secs_f64();
    assert_eq!(joined, lines);
    println!(
        "matching: {lines} statement lines against {items} open items in {:.0} ms (parse, read, match), {matched} matched",
        secs * 1000.0
    );
    println!(
        "baseline: hash join in memory of the same numbers: {:.1} ms; ratio {:.0}x",
        base * 1000.0,
        secs / base
    );
    app.stop().await;
}

async fn dunning_bench(items: usize) {
    let app = spawn_app_with(|c| c.jobs.enabled = false).await;
    let t = seed(&app, items, 25).await;
    // Two runs as days pass: 15 days ago the items were 10 days overdue (the
    // reminder, no fee); today they are 25 days overdue and 15 days after the
    // reminder, so every item gets the first notice with its fee and interest.
    for (label, at) in [
        ("reminders", Utc::now() - Duration::days(15)),
        ("first notices", Utc::now()),
    ] {
        let start = Instant::now();
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        let run = dunning::run(&tx, at, "bench").await.unwrap();
        tx.commit().await.unwrap();
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(run.items as usize, items);
        println!(
            "dunning run ({label}): {items} overdue items, {} letters, fees {} + interest {} (minor) in {secs:.1} s ({:.0} items/s)",
            run.letters,
            run.fees_minor,
            run.interest_minor,
            items as f64 / secs
        );
    }
    app.stop().await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    match args.get(1).map(String::as_str) {
        Some("match") => match_bench(arg(2, 10_000), arg(3, 100_000)).await,
        Some("dunning") => dunning_bench(arg(2, 50_000)).await,
        _ => eprintln!("usage: bench_payments match [lines] [open_items] | dunning [items]"),
    }
}
