//! Billing (issue 8): ledger, gapless invoices and credit notes, billing runs,
//! documents (PDF/A-3 with EN 16931 XML, validated against the official schema),
//! delivery, exports, renewals with the credit check, cancellation, isolation.

use chrono::{Datelike, Duration, Utc};
use relabel_platform::AppState;
use relabel_platform::billing::{self, run};
use relabel_platform::customers::customer;
use relabel_platform::provisioning::service;
use relabel_tenants::Tenant;
use relabel_tests::billing::{
    NewCustomer, balance, customer, docs, reconcile, run_jobs, run_row, service, setup, tempdir,
};
use relabel_tests::spawn_app_with;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};

fn year() -> String {
    Utc::now().format("%Y").to_string()
}

/// The first instant of `at`'s month.
fn month_start(at: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    at.date_naive()
        .with_day(1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap()
}

#[tokio::test]
async fn a_billing_run_bills_each_due_period_once_with_gapless_numbers() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let now = Utc::now();
    let a = customer(
        &app.state,
        &t,
        NewCustomer {
            email: "a@example.de",
            ..Default::default()
        },
    )
    .await;
    let b = customer(
        &app.state,
        &t,
        NewCustomer {
            email: "b@example.de",
            ..Default::default()
        },
    )
    .await;
    let excluded = customer(
        &app.state,
        &t,
        NewCustomer {
            email: "x@example.de",
            ..Default::default()
        },
    )
    .await;
    // Due in this month (one collective invoice per customer and month), so the
    // next period falls into the next month whatever today's date is.
    let month = month_start(now);
    let s1 = service(
        &app.state,
        &t,
        &a,
        "hosting-business",
        1,
        month + Duration::hours(1),
    )
    .await;
    service(
        &app.state,
        &t,
        &a,
        "hosting-starter",
        1,
        month + Duration::hours(2),
    )
    .await;
    service(
        &app.state,
        &t,
        &b,
        "hosting-starter",
        12,
        month + Duration::hours(3),
    )
    .await;
    // Not due (beyond this month's horizon) and excluded from invoicing (B11).
    service(
        &app.state,
        &t,
        &b,
        "hosting-starter",
        1,
        now + Duration::days(70),
    )
    .await;
    service(
        &app.state,
        &t,
        &excluded,
        "hosting-starter",
        1,
        now - Duration::days(1),
    )
    .await;
    {
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        let mut m: customer::ActiveModel = excluded.clone().into();
        m.excluded_from_invoicing = Set(true);
        m.update(tx.conn()).await.unwrap();
        // b has 500.00 on account: the invoice is settled from it (B8).
        billing::manual_entry(&tx, &b.id, "deposit", "500.00", "prepaid", "test")
            .await
            .unwrap();
        // a has 10 % off the business package (P6).
        relabel_platform::terms::set_product_discount(&tx, "test", &a, "hosting-business", "10")
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    // Dry run: totals, nothing written.
    let preview = run::preview(&app.state, &t, now).await.unwrap();
    assert_eq!(preview.invoices, 2, "{preview:?}");
    assert_eq!(preview.lines, 3);
    // Business 11.50 x 1.5 class markup and starter 1.99/19.90 via class A (150 %).
    let (net, gross) = preview.totals["EUR"];
    assert!(net > 0 && gross > net);
    assert!(docs(&app.state, &t).await.is_empty());

    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let r = run::start(&tx, now, "test").await.unwrap();
    // A second run while one is queued is refused.
    assert!(run::start(&tx, now, "test").await.is_err());
    tx.commit().await.unwrap();
    run_jobs(&app, &t).await;
    // The run and its job are in the metrics.
    let metrics = relabel_platform::metrics::render(&app.state).await;
    assert!(
        metrics.contains("relabel_jobs_total{kind=\"billing.run\",outcome=\"done\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("relabel_run_duration_seconds_count{kind=\"billing\"}"));

    let all = docs(&app.state, &t).await;
    let invoices: Vec<_> = all.iter().filter(|d| d.kind == "invoice").collect();
    assert_eq!(invoices.len(), 2);
    let y = year();
    assert_eq!(invoices[0].number, format!("RE-{y}-000001"));
    assert_eq!(invoices[1].number, format!("RE-{y}-000002"));
    assert_eq!(net, invoices.iter().map(|i| i.net_minor).sum::<i64>());
    assert_eq!(gross, invoices.iter().map(|i| i.gross_minor).sum::<i64>());
    let inv_b = invoices.iter().find(|i| i.customer_id == b.id).unwrap();
    assert_eq!(inv_b.status, "paid", "settled from the credit balance");
    assert_eq!(inv_b.settled_minor, inv_b.gross_minor);
    assert_eq!(
        balance(&app.state, &t, &b).await,
        50_000 - inv_b.gross_minor
    );
    let inv_a = invoices.iter().find(|i| i.customer_id == a.id).unwrap();
    assert_eq!(inv_a.status, "open");
    assert_eq!(balance(&app.state, &t, &a).await, -inv_a.gross_minor);
    // The discount applies to the business line only, at the current book price.
    {
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        let pricer = app.state.prices.pricer(&tx, Some(&a)).await.unwrap();
        let list = |p: &str| pricer.quote(p, "monthly_fee", 1).unwrap().net_minor;
        let lines = billing::lines(&tx, &inv_a.id).await.unwrap();
        let line = |p: &str| {
            lines
                .iter()
                .find(|l| l.product_id.as_deref() == Some(p))
                .unwrap()
                .clone()
        };
        let business = line("hosting-business");
        assert_eq!(
            business.unit_net_minor,
            billing::money::discounted(list("hosting-business"), 1000)
        );
        assert!(
            business.description.ends_with(" 10 %)"),
            "{}",
            business.description
        );
        let starter = line("hosting-starter");
        assert_eq!(starter.unit_net_minor, list("hosting-starter"));
        assert!(!starter.description.contains('%'));
    }
    // The periods moved on by one period each.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let moved = service::Entity::find_by_id(s1.id.clone())
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        moved.next_billing_at,
        s1.next_billing_at
            .checked_add_months(chrono::Months::new(1))
            .unwrap()
    );
    let run_row = run_row(&app.state, &t, &r.id).await;
    assert_eq!(run_row.status, "done");
    assert_eq!((run_row.customers_done, run_row.customers_total), (2, 2));
    assert_eq!(run_row.invoices_count, 2);
    drop(tx);

    // A repeated run over the same date bills nothing twice.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    run::start(&tx, now, "test").await.unwrap();
    tx.commit().await.unwrap();
    run_jobs(&app, &t).await;
    assert_eq!(docs(&app.state, &t).await.len(), 2);
    reconcile(&app.state, &t).await;

    // A rolled-back issue leaves no gap: the next number is 3.
    {
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        billing::one_off(
            &tx,
            "Alpha",
            &a.id,
            &[billing::OneOffLine {
                description: "Support".into(),
                quantity: "1".into(),
                unit_price: "10".into(),
                vat_rate: "19".into(),
            }],
            "",
            "test",
        )
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        let inv = billing::one_off(
            &tx,
            "Alpha",
            &a.id,
            &[billing::OneOffLine {
                description: "Support".into(),
                quantity: "1".into(),
                unit_price: "10".into(),
                vat_rate: "19".into(),
            }],
            "",
            "test",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(inv.number, format!("RE-{y}-000003"));
    }
    app.stop().await;
}

/// Concurrent issues on both backends: every number once, no gaps.
#[tokio::test]
async fn concurrent_issues_get_unique_gapless_numbers() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let c = customer(&app.state, &t, NewCustomer::default()).await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (state, t, c) = (app.state.clone(), t.clone(), c.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Ok(tx) = state.tenancy.begin(&t).await else {
                    continue;
                };
                let r = billing::one_off(
                    &tx,
                    "Alpha",
                    &c.id,
                    &[billing::OneOffLine {
                        description: format!("Work {i}"),
                        quantity: "1".into(),
                        unit_price: "1".into(),
                        vat_rate: "19".into(),
                    }],
                    "",
                    "test",
                )
                .await;
                match r {
                    Ok(_) => match tx.commit().await {
                        Ok(()) => return,
                        Err(_) => continue,
                    },
                    // SQLite: a busy writer; Postgres never gets here.
                    Err(_) => continue,
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut numbers: Vec<String> = docs(&app.state, &t)
        .await
        .into_iter()
        .map(|d| d.number)
        .collect();
    numbers.sort();
    let want: Vec<String> = (1..=12).map(|n| format!("RE-{}-{n:06}", year())).collect();
    assert_eq!(numbers, want);
    reconcile(&app.state, &t).await;
    app.stop().await;
}

/// `xmllint --schema` against the official Factur-X EN 16931 schema.
fn assert_schema_valid(xml: &str, what: &str) {
    relabel_tests::billing::assert_schema_valid(
        xml,
        "billing/schema/cii/FACTUR-X_EN16931.xsd",
        what,
    );
}

#[tokio::test]
async fn the_pdf_opens_and_carries_a_schema_valid_einvoice() {
    if !relabel_tests::deps::ensure_tools(&["xmllint", "pdftotext", "pdfdetach"]) {
        return;
    }
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let de = customer(&app.state, &t, NewCustomer::default()).await;
    let rc = customer(
        &app.state,
        &t,
        NewCustomer {
            email: "nl@example.nl",
            country: "NL",
            company: Some("Voorbeeld BV"),
            vat_id: Some("NL004495445B01"),
            ..Default::default()
        },
    )
    .await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let line = |d: &str, q: &str, p: &str, v: &str| billing::OneOffLine {
        description: d.into(),
        quantity: q.into(),
        unit_price: p.into(),
        vat_rate: v.into(),
    };
    // The rounding table of the money module, through the whole document.
    let lines = [
        line("Setup 19 %", "3", "3.33", "19"),
        line("Support hours", "1.5", "19.99", "19"),
        line("Book 7 %", "2.5", "7.77", "7"),
    ];
    let inv = billing::one_off(
        &tx,
        "Alpha",
        &de.id,
        &lines,
        "Thanks & \"quotes\" <ok>",
        "test",
    )
    .await
    .unwrap();
    // 9.99 + 29.99 (19 %) -> 39.98, VAT 7.60; 19.43 (7 %), VAT 1.36
    assert_eq!(
        (inv.net_minor, inv.vat_minor, inv.gross_minor),
        (5941, 896, 6837)
    );
    let rc_inv = billing::one_off(
        &tx,
        "Alpha",
        &rc.id,
        &[line("Consulting", "2", "50", "19")],
        "",
        "test",
    )
    .await
    .unwrap();
    assert_eq!(rc_inv.tax_treatment, "reverse_charge");
    assert_eq!((rc_inv.vat_minor, rc_inv.gross_minor), (0, 10000));
    tx.commit().await.unwrap();

    let (stored, pdf, xml) = billing::document::files(&app.state, &t, &inv.id)
        .await
        .unwrap()
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let xml = xml.expect("zugferd by default");
    assert_schema_valid(&xml, "factur-x");
    assert!(xml.contains(&format!("<ram:ID>{}</ram:ID>", inv.number)));
    assert!(xml.contains("<ram:GrandTotalAmount>68.37</ram:GrandTotalAmount>"));
    // Stored once; a second fetch serves the same bytes.
    let (_, again, _) = billing::document::files(&app.state, &t, &inv.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, pdf);
    assert!(stored.pdf.is_some());

    let dir = tempdir();
    let file = dir.join("invoice.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let text = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains(&inv.number), "{text}");
    assert!(text.contains("Alpha GmbH"));
    assert!(text.contains("68,37"), "{text}");
    // Its printed figures add up: lines to net, VAT groups to net, to total.
    if let Some(text) = relabel_tests::billing::pdf_layout_text(&pdf) {
        relabel_tests::billing::assert_invoice_adds_up(&text);
    }
    let detached = std::process::Command::new("pdfdetach")
        .arg("-saveall")
        .arg("-o")
        .arg(&dir)
        .arg(&file)
        .output()
        .unwrap();
    assert!(detached.status.success(), "{detached:?}");
    let embedded =
        std::fs::read_to_string(dir.join("factur-x.xml")).expect("factur-x.xml embedded");
    assert_eq!(embedded, xml);
    assert_schema_valid(&embedded, "embedded");
    // The Factur-X XMP (conformance level) is in the PDF's metadata.
    let raw = String::from_utf8_lossy(&pdf);
    assert!(raw.contains("<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>"));
    assert!(raw.contains("pdfaid:part"));

    // Reverse charge and XRechnung.
    let (_, _, rc_xml) = billing::document::files(&app.state, &t, &rc_inv.id)
        .await
        .unwrap()
        .unwrap();
    let rc_xml = rc_xml.unwrap();
    assert!(rc_xml.contains("<ram:CategoryCode>AE</ram:CategoryCode>"));
    assert!(rc_xml.contains("VATEX-EU-AE"));
    assert_schema_valid(&rc_xml, "reverse-charge");
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let mut m: customer::ActiveModel = de.clone().into();
    m.einvoice = Set("xrechnung".into());
    m.buyer_reference = Set(Some("04011000-12345-67".into()));
    let de = m.update(tx.conn()).await.unwrap();
    let xr = billing::one_off(
        &tx,
        "Alpha",
        &de.id,
        &[line("Hosting", "1", "5.99", "19")],
        "",
        "test",
    )
    .await
    .unwrap();
    let cn = billing::credit_note(
        &tx,
        "Alpha",
        &inv.id,
        &[],
        Some("Storno".into()),
        billing::CreditedPeriods::default(),
        "test",
    )
    .await
    .unwrap();
    // Part of the XRechnung is paid before it is printed: total, settled, due.
    relabel_platform::payments::record(
        &tx,
        &relabel_platform::payments::PaymentInput {
            customer_id: de.id.clone(),
            amount: "3.00".into(),
            invoice_id: xr.id.clone(),
            ..Default::default()
        },
        "test",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let (_, xr_pdf, xr_xml) = billing::document::files(&app.state, &t, &xr.id)
        .await
        .unwrap()
        .unwrap();
    let xr_xml = xr_xml.unwrap();
    assert!(xr_xml.contains("xrechnung_3.0"));
    assert!(xr_xml.contains("<ram:BuyerReference>04011000-12345-67</ram:BuyerReference>"));
    assert_schema_valid(&xr_xml, "xrechnung");
    assert!(String::from_utf8_lossy(&xr_pdf).contains("XRECHNUNG"));
    if let Some(text) = relabel_tests::billing::pdf_layout_text(&xr_pdf) {
        relabel_tests::billing::assert_invoice_adds_up(&text);
        assert_eq!(
            relabel_tests::billing::printed_total(&text, "Zu zahlen")
                .or_else(|| relabel_tests::billing::printed_total(&text, "Amount due")),
            Some(713 - 300),
            "{text}"
        );
    }
    let (_, cn_pdf, cn_xml) = billing::document::files(&app.state, &t, &cn.id)
        .await
        .unwrap()
        .unwrap();
    let cn_xml = cn_xml.unwrap();
    assert!(cn_xml.contains("<ram:TypeCode>381</ram:TypeCode>"));
    // The money goes to the customer's account: no IBAN to pay to, nothing due.
    assert!(cn_xml.contains("<ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>97</ram:TypeCode></ram:SpecifiedTradeSettlementPaymentMeans>"), "{cn_xml}");
    assert!(!cn_xml.contains("IBANID"), "{cn_xml}");
    assert!(
        cn_xml.contains("<ram:DuePayableAmount>0.00</ram:DuePayableAmount>"),
        "{cn_xml}"
    );
    assert!(cn_xml.contains(&format!(
        "<ram:IssuerAssignedID>{}</ram:IssuerAssignedID>",
        inv.number
    )));
    assert_schema_valid(&cn_xml, "credit-note");
    if let Some(text) = relabel_tests::billing::pdf_layout_text(&cn_pdf) {
        relabel_tests::billing::assert_invoice_adds_up(&text);
    }
    // The statement of account renders, and its rows carry the balance to the
    // printed closing balance: invoice, invoice, payment, credit note.
    let statement = billing::document::statement(&app.state, &t, &de.id)
        .await
        .unwrap()
        .unwrap();
    assert!(statement.starts_with(b"%PDF-"));
    if let Some(text) = relabel_tests::billing::pdf_layout_text(&statement) {
        relabel_tests::billing::assert_statement_adds_up(&text);
        assert_eq!(
            relabel_tests::billing::printed_rows(&text, 2).len(),
            4,
            "{text}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn storno_and_partial_credit_notes_have_their_own_numbers() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let c = customer(&app.state, &t, NewCustomer::default()).await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let l = |d: &str, p: &str| billing::OneOffLine {
        description: d.into(),
        quantity: "1".into(),
        unit_price: p.into(),
        vat_rate: "19".into(),
    };
    let inv = billing::one_off(
        &tx,
        "Alpha",
        &c.id,
        &[l("A", "100"), l("B", "50")],
        "",
        "test",
    )
    .await
    .unwrap();
    assert_eq!(inv.gross_minor, 17850);
    // Partial: 20.00 net of line 2.
    let cn1 = billing::credit_note(
        &tx,
        "Alpha",
        &inv.id,
        &[(2, Some(2000))],
        None,
        billing::CreditedPeriods::default(),
        "test",
    )
    .await
    .unwrap();
    assert_eq!(cn1.number, format!("GS-{}-000001", year()));
    assert_eq!(cn1.gross_minor, 2380);
    // More than the line's net is refused with the field named.
    let err = billing::credit_note(
        &tx,
        "Alpha",
        &inv.id,
        &[(2, Some(6000))],
        None,
        billing::CreditedPeriods::default(),
        "test",
    )
    .await
    .unwrap_err();
    match err {
        billing::BillingError::Invalid(e) => {
            assert_eq!(e.iter().next().unwrap().field, "lines.2.amount")
        }
        other => panic!("{other:?}"),
    }
    // The rest in full exceeds what is left: refused.
    assert!(
        billing::credit_note(
            &tx,
            "Alpha",
            &inv.id,
            &[],
            None,
            billing::CreditedPeriods::default(),
            "test"
        )
        .await
        .is_err()
    );
    let rest = billing::credit_note(
        &tx,
        "Alpha",
        &inv.id,
        &[(1, None), (2, Some(3000))],
        None,
        billing::CreditedPeriods::default(),
        "test",
    )
    .await
    .unwrap();
    assert_eq!(rest.number, format!("GS-{}-000002", year()));
    tx.commit().await.unwrap();
    let all = docs(&app.state, &t).await;
    let original = all.iter().find(|d| d.id == inv.id).unwrap();
    assert_eq!(original.status, "cancelled");
    assert_eq!(original.settled_minor, original.gross_minor);
    assert_eq!(balance(&app.state, &t, &c).await, 0);
    reconcile(&app.state, &t).await;
    app.stop().await;
}

#[tokio::test]
async fn invoices_are_immutable_and_isolated_between_resellers() {
    let app = spawn_app_with(|_| {}).await;
    let ta = setup(&app, "Alpha", "alpha.test").await;
    let tb = setup(&app, "Beta", "beta.test").await;
    let a = customer(
        &app.state,
        &ta,
        NewCustomer {
            email: "a@example.de",
            ..Default::default()
        },
    )
    .await;
    let b = customer(
        &app.state,
        &tb,
        NewCustomer {
            email: "b@example.de",
            ..Default::default()
        },
    )
    .await;
    let one = |state: AppState, t: Tenant, c: customer::Model| async move {
        let tx = state.tenancy.begin(&t).await.unwrap();
        let inv = billing::one_off(
            &tx,
            &t.name,
            &c.id,
            &[billing::OneOffLine {
                description: "Work".into(),
                quantity: "1".into(),
                unit_price: "10".into(),
                vat_rate: "19".into(),
            }],
            "",
            "test",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        inv
    };
    let inv_a = one(app.state.clone(), ta.clone(), a.clone()).await;
    let inv_b = one(app.state.clone(), tb.clone(), b.clone()).await;
    // Both resellers start at number 1: numbering is per reseller.
    assert_eq!(inv_a.number, inv_b.number);

    // API: beta's key cannot read alpha's invoice; there is no write route.
    let key_b = app
        .api_key("beta.test", &["invoices:read", "billing:write"])
        .await;
    let client = app.client();
    let r = client
        .get(app.url("beta.test", &format!("/api/v1/invoices/inv_{}", inv_a.id)))
        .bearer_auth(&key_b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = client
        .get(app.url(
            "beta.test",
            &format!("/api/v1/invoices/inv_{}/pdf", inv_a.id),
        ))
        .bearer_auth(&key_b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let own = client
        .get(app.url("beta.test", &format!("/api/v1/invoices/inv_{}", inv_b.id)))
        .bearer_auth(&key_b)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let body: serde_json::Value = own.json().await.unwrap();
    assert_eq!(body["gross_minor"], 1190);
    assert_eq!(body["lines"][0]["description"], "Work");
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ] {
        let r = client
            .request(
                method.clone(),
                app.url("beta.test", &format!("/api/v1/invoices/inv_{}", inv_b.id)),
            )
            .bearer_auth(&key_b)
            .json(&serde_json::json!({ "gross_minor": 1 }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{method}");
    }
    let pdf = client
        .get(app.url(
            "beta.test",
            &format!("/api/v1/invoices/inv_{}/pdf", inv_b.id),
        ))
        .bearer_auth(&key_b)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    // A credit note over the API, then one too many: 409.
    let cn = client
        .post(app.url(
            "beta.test",
            &format!("/api/v1/invoices/inv_{}/credit-notes", inv_b.id),
        ))
        .bearer_auth(&key_b)
        .json(&serde_json::json!({ "reason": "test" }))
        .send()
        .await
        .unwrap();
    assert_eq!(cn.status(), 200);
    let again = client
        .post(app.url(
            "beta.test",
            &format!("/api/v1/invoices/inv_{}/credit-notes", inv_b.id),
        ))
        .bearer_auth(&key_b)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let ledger: serde_json::Value = client
        .get(app.url(
            "beta.test",
            &format!("/api/v1/customers/cus_{}/ledger", b.id),
        ))
        .bearer_auth(&key_b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ledger["balance_minor"], 0);
    assert_eq!(ledger["entries"].as_array().unwrap().len(), 2);
    let foreign = client
        .get(app.url(
            "beta.test",
            &format!("/api/v1/customers/cus_{}/ledger", a.id),
        ))
        .bearer_auth(&key_b)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404);

    // The invoice row is unchanged by all of that (beyond the credit's settlement).
    let after = docs(&app.state, &ta).await;
    assert_eq!(after[0].gross_minor, inv_a.gross_minor);
    assert_eq!(after[0].number, inv_a.number);
    app.stop().await;
}

#[tokio::test]
async fn exports_list_documents_and_payments_as_csv_and_datev() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let c = customer(&app.state, &t, NewCustomer::default()).await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let inv = billing::one_off(
        &tx,
        "Alpha",
        &c.id,
        &[billing::OneOffLine {
            description: "Work".into(),
            quantity: "2".into(),
            unit_price: "50".into(),
            vat_rate: "19".into(),
        }],
        "",
        "test",
    )
    .await
    .unwrap();
    billing::manual_entry(&tx, &c.id, "payment", "119.00", "bank transfer", "test")
        .await
        .unwrap();
    let p = billing::datev::Period {
        from: Utc::now() - Duration::days(1),
        to: Utc::now() + Duration::days(1),
    };
    let csv = String::from_utf8(billing::datev::csv(&tx, &p).await.unwrap()).unwrap();
    assert!(csv.starts_with("type,number,date,customer_number"));
    assert!(csv.contains(&format!("invoice,{},", inv.number)));
    assert!(csv.contains("100.00,19.00,119.00,119.00,paid"));
    assert!(csv.contains("payment,"));
    let s = billing::settings(&tx).await.unwrap();
    let extf = billing::datev::extf(&tx, &s, &p, Utc::now()).await.unwrap();
    let text: String = extf.iter().map(|b| *b as char).collect();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert!(lines[0].starts_with("\"EXTF\";700;21;\"Buchungsstapel\";13;"));
    assert!(lines[1].starts_with("Umsatz (ohne Soll/Haben-Kz);Soll/Haben-Kennzeichen"));
    assert!(
        lines[2].starts_with("119,00;\"S\";\"EUR\";;;\"\";"),
        "{}",
        lines[2]
    );
    assert!(lines[2].contains(";8400;"));
    assert!(lines[3].starts_with("119,00;\"H\";\"EUR\""), "{}", lines[3]);
    assert!(lines[3].contains(";1200;"));
    tx.commit().await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn cancellation_follows_the_notice_period_and_staff_end_at_once_with_prorata_credit() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let c = customer(&app.state, &t, NewCustomer::default()).await;
    let now = Utc::now();
    let s = service(
        &app.state,
        &t,
        &c,
        "hosting-starter",
        1,
        now - Duration::hours(1),
    )
    .await;
    let other = service(
        &app.state,
        &t,
        &c,
        "hosting-business",
        1,
        now - Duration::hours(1),
    )
    .await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    run::start(&tx, now, "test").await.unwrap();
    tx.commit().await.unwrap();
    run_jobs(&app, &t).await;
    assert_eq!(docs(&app.state, &t).await.len(), 1);
    let shared = app.state.tenancy.backend().shared();
    let tx = app.state.tenancy.begin_write(&t).await.unwrap();
    // Customer: 30 days notice (the catalog default) before the paid month ends;
    // when the notice does not fit into it (months of up to 30 days), the period
    // after runs to its end.
    let c1 = billing::cancel::cancel(&tx, shared, "Alpha", &s.id, Some(&c.id), false, "customer")
        .await
        .unwrap();
    let paid_until = s
        .next_billing_at
        .checked_add_months(chrono::Months::new(1))
        .unwrap();
    let earliest = Utc::now() + Duration::days(30);
    let expected = if earliest <= paid_until {
        paid_until
    } else {
        paid_until
            .checked_add_months(chrono::Months::new(1))
            .unwrap()
    };
    assert_eq!(c1.ends_at, expected);
    assert!(c1.ends_at >= earliest, "the notice period is kept");
    // Another customer cannot cancel it.
    assert!(matches!(
        billing::cancel::cancel(
            &tx,
            shared,
            "Alpha",
            &other.id,
            Some("someone-else"),
            false,
            "x"
        )
        .await,
        Err(billing::BillingError::NotFound)
    ));
    // Its line was credited before but for one euro (a price correction).
    let line = billing::invoice_line::Entity::find()
        .filter(billing::invoice_line::Column::ServiceId.eq(&other.id))
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap();
    billing::credit_note(
        &tx,
        "Alpha",
        &line.invoice_id,
        &[(line.position, Some(line.net_minor - 100))],
        Some("Price correction".into()),
        billing::CreditedPeriods::default(),
        "staff",
    )
    .await
    .unwrap();
    // Staff end the other one at once: the unused part of the month is
    // credited, as far as the line was not credited before (no refusal).
    let c2 = billing::cancel::cancel(&tx, shared, "Alpha", &other.id, None, true, "staff")
        .await
        .unwrap();
    assert!(c2.credit_note.is_some());
    let credited: i64 = billing::invoice::Entity::find()
        .filter(billing::invoice::Column::RefersToId.eq(&line.invoice_id))
        .all(tx.conn())
        .await
        .unwrap()
        .iter()
        .map(|c| c.net_minor)
        .sum();
    assert!(
        credited <= line.net_minor,
        "{credited} > {}",
        line.net_minor
    );
    tx.commit().await.unwrap();
    let all = docs(&app.state, &t).await;
    let cn = all.iter().find(|d| d.kind == "credit_note").unwrap();
    assert!(cn.gross_minor > 0);
    // Billing stops at the end date: bill up to two months ahead; the cancelled
    // one is billed for the last period before its end only, the ended one never.
    let later = now + Duration::days(62);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    run::start(&tx, later, "test").await.unwrap();
    tx.commit().await.unwrap();
    run_jobs(&app, &t).await;
    // It reads, then writes (the end of the cancelled service) while the
    // app's job runner may write: take the write lock first (SQLite).
    let tx = app.state.tenancy.begin_write(&t).await.unwrap();
    let lines_s = billing::invoice_line::Entity::find()
        .filter(billing::invoice_line::Column::ServiceId.eq(&s.id))
        .count(tx.conn())
        .await
        .unwrap();
    let lines_other = billing::invoice_line::Entity::find()
        .filter(billing::invoice_line::Column::ServiceId.eq(&other.id))
        .count(tx.conn())
        .await
        .unwrap();
    // One line per billed month up to the end date.
    let months = if expected == paid_until { 1 } else { 2 };
    assert_eq!(
        lines_s, months,
        "paid month (+ the month up to the end date)"
    );
    assert_eq!(lines_other, 1);
    // At its end date the cancelled service ends and its panel account is to
    // be closed (the one ended at once already was).
    assert_eq!(billing::cancel::end_due(&tx, c1.ends_at).await.unwrap(), 1);
    let terminations: Vec<String> = relabel_platform::jobs::entity::Entity::find()
        .filter(relabel_platform::jobs::entity::Column::Kind.eq("service.terminate"))
        .all(tx.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.idempotency_key)
        .collect();
    let mut expected_keys = vec![
        format!("terminate:{}", s.id),
        format!("terminate:{}", other.id),
    ];
    expected_keys.sort();
    let mut terminations = terminations;
    terminations.sort();
    assert_eq!(terminations, expected_keys);
    drop(tx);
    reconcile(&app.state, &t).await;
    app.stop().await;
}

#[tokio::test]
async fn an_order_is_invoiced_on_completion_and_delivered_by_mail_and_post() {
    let sink = relabel_tests::smtp::SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(move |c| c.smtp_url = Some(url)).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let c = customer(
        &app.state,
        &t,
        NewCustomer {
            email: "olga@example.de",
            ..Default::default()
        },
    )
    .await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let placed = relabel_platform::orders::place(
        &tx,
        &app.state.prices,
        relabel_platform::orders::Checkout {
            customer_id: &c.id,
            cart_id: "ctest",
            lines: &[relabel_platform::orders::Line {
                domain: Some("olgas-laden.de".into()),
                action: "register".into(),
                period_months: 12,
                ..Default::default()
            }],
            coupon: None,
            ip: Some("127.0.0.1"),
            ip_country: None,
            bureau_score: None,
            actor: "test",
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let order = placed.order;
    assert!(order.reserved_minor > 0);
    run_jobs(&app, &t).await;
    // Invoiced at once (B1): reservation released, the invoice holds the amount.
    let all = docs(&app.state, &t).await;
    assert_eq!(all.len(), 1);
    let inv = &all[0];
    assert_eq!(inv.order_id.as_deref(), Some(order.id.as_str()));
    assert_eq!(inv.gross_minor, order.gross_minor);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let acc = relabel_platform::orders::account::Entity::find_by_id(c.id.clone())
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (acc.reserved_minor, acc.balance_minor),
        (0, -inv.gross_minor)
    );
    drop(tx);
    assert!(inv.delivered_at.is_some());
    // Mailed over SMTP with the PDF attached.
    app.state
        .mailer
        .deliver(&app.state.tenancy, &t)
        .await
        .unwrap();
    let mails = sink.wait_for(2).await;
    let m = mails.iter().find(|m| m.data.contains(&inv.number)).unwrap();
    assert!(m.data.contains("application/pdf"), "{}", m.data);
    assert!(m.data.contains(&format!("{}.pdf", inv.number)));
    assert!(m.data.contains("JVBERi0"), "the PDF in base64");
    // A repeated run does not invoice the order again.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    run::start(&tx, Utc::now(), "test").await.unwrap();
    tx.commit().await.unwrap();
    run_jobs(&app, &t).await;
    assert_eq!(docs(&app.state, &t).await.len(), 1);

    // Postal delivery goes to the print-mail service (B5).
    let (peer, letters) = relabel_tests::billing::printmail_peer().await;
    // Read, then write while the app's own job runner writes too.
    let tx = app.state.tenancy.begin_write(&t).await.unwrap();
    let bs = billing::settings(&tx).await.unwrap();
    let mut bs: billing::billing_settings::ActiveModel = bs.into();
    bs.print_mail_url = Set(Some(peer));
    bs.update(tx.conn()).await.unwrap();
    let mut m: customer::ActiveModel = c.clone().into();
    m.invoice_delivery = Set("postal".into());
    let c = m.update(tx.conn()).await.unwrap();
    let letter_inv = billing::one_off(
        &tx,
        "Alpha",
        &c.id,
        &[billing::OneOffLine {
            description: "Support".into(),
            quantity: "1".into(),
            unit_price: "20".into(),
            vat_rate: "19".into(),
        }],
        "",
        "test",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    run_jobs(&app, &t).await;
    let got = letters.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0]["reference"],
        format!("{}:{}", t.id, letter_inv.number)
    );
    assert!(
        got[0]["pdf_base64"]
            .as_str()
            .unwrap()
            .starts_with("JVBERi0")
    );
    assert_eq!(got[0]["recipient"][0], "Kim Kunde");
    reconcile(&app.state, &t).await;
    app.stop().await;
}

#[tokio::test]
async fn domain_renewals_need_credit_and_are_renewed_at_the_registry() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let rich = customer(
        &app.state,
        &t,
        NewCustomer {
            email: "rich@example.de",
            ..Default::default()
        },
    )
    .await;
    let poor = customer(
        &app.state,
        &t,
        NewCustomer {
            email: "poor@example.de",
            credit_limit: "0.00",
            ..Default::default()
        },
    )
    .await;
    // Register one domain each through the normal order flow (the poor one
    // pays up front with a deposit so the order passes).
    {
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        billing::manual_entry(&tx, &poor.id, "deposit", "50.00", "prepaid", "test")
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    for (c, name) in [(&rich, "reich-verlaengert.de"), (&poor, "arm-verfaellt.de")] {
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        let placed = relabel_platform::orders::place(
            &tx,
            &app.state.prices,
            relabel_platform::orders::Checkout {
                customer_id: &c.id,
                cart_id: "ctest",
                lines: &[relabel_platform::orders::Line {
                    domain: Some(name.into()),
                    action: "register".into(),
                    period_months: 12,
                    ..Default::default()
                }],
                coupon: None,
                ip: Some("127.0.0.1"),
                ip_country: None,
                bureau_score: None,
                actor: "test",
            },
        )
        .await
        .unwrap();
        assert!(
            matches!(
                placed.outcome,
                relabel_platform::orders::Outcome::Accepted { .. }
            ),
            "{name}"
        );
        tx.commit().await.unwrap();
    }
    run_jobs(&app, &t).await;
    // The poor customer's balance is used up by the order.
    {
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        let left = relabel_platform::orders::account::Entity::find_by_id(poor.id.clone())
            .one(tx.conn())
            .await
            .unwrap()
            .unwrap()
            .balance_minor;
        drop(tx);
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        billing::manual_entry(
            &tx,
            &poor.id,
            "correction",
            &billing::money::decimal(-left),
            "used up",
            "test",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    // Both domains near expiry: move expiry and billing date to 10 days ahead
    // (the registry keeps its own expiry; the renewal extends from there).
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let soon = Utc::now() + Duration::days(10);
    for name in ["reich-verlaengert.de", "arm-verfaellt.de"] {
        let d = relabel_platform::provisioning::by_name(&tx, name)
            .await
            .unwrap()
            .unwrap();
        let mut dm: relabel_platform::provisioning::domain::ActiveModel = d.clone().into();
        dm.expires_at = Set(Some(soon));
        dm.update(tx.conn()).await.unwrap();
        let s = service::Entity::find()
            .filter(service::Column::DomainId.eq(&d.id))
            .one(tx.conn())
            .await
            .unwrap()
            .unwrap();
        let mut sm: service::ActiveModel = s.into();
        sm.next_billing_at = Set(soon);
        sm.update(tx.conn()).await.unwrap();
    }
    tx.commit().await.unwrap();
    // The daily warning: the poor customer cannot cover the renewal.
    assert_eq!(run::renewal_warnings(&app.state, &t).await.unwrap(), 1);
    assert_eq!(run::renewal_warnings(&app.state, &t).await.unwrap(), 1);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    run::start(&tx, Utc::now(), "test").await.unwrap();
    tx.commit().await.unwrap();
    run_jobs(&app, &t).await;
    let (subject, body) = relabel_tests::last_mail(&app, "alpha.test", "poor@example.de").await;
    assert!(subject.contains("arm-verfaellt.de"), "{subject}");
    assert!(
        body.contains("nicht verlängert") || body.contains("not renewed"),
        "{body}"
    );
    relabel_tests::last_mail(&app, "alpha.test", "billing@alpha.test").await;
    // Only the covered renewal was billed, and it was renewed at the registry.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let renewals: Vec<_> = billing::invoice_line::Entity::find()
        .filter(billing::invoice_line::Column::ServiceId.is_not_null())
        .all(tx.conn())
        .await
        .unwrap();
    assert_eq!(renewals.len(), 1);
    let rich_domain = relabel_platform::provisioning::by_name(&tx, "reich-verlaengert.de")
        .await
        .unwrap()
        .unwrap();
    assert!(
        rich_domain.expires_at.unwrap() > Utc::now() + Duration::days(300),
        "{:?}",
        rich_domain.expires_at
    );
    let poor_domain = relabel_platform::provisioning::by_name(&tx, "arm-verfaellt.de")
        .await
        .unwrap()
        .unwrap();
    assert!(poor_domain.expires_at.unwrap() < Utc::now() + Duration::days(11));
    drop(tx);
    // The warning went out once per threshold.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let warnings = relabel_platform::jobs::with_key_prefix(&tx, "renewal-warning:")
        .await
        .unwrap();
    assert_eq!(warnings.len(), 1);
    drop(tx);
    reconcile(&app.state, &t).await;
    app.stop().await;
}

#[tokio::test]
async fn staff_and_customers_use_billing_over_http() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let tb = setup(&app, "Beta", "beta.test").await;
    let now = Utc::now();
    let c = customer(
        &app.state,
        &t,
        NewCustomer {
            email: "web@example.de",
            ..Default::default()
        },
    )
    .await;
    service(
        &app.state,
        &t,
        &c,
        "hosting-business",
        1,
        now - Duration::days(1),
    )
    .await;
    let other = customer(
        &app.state,
        &tb,
        NewCustomer {
            email: "other@example.de",
            ..Default::default()
        },
    )
    .await;
    let tx = app.state.tenancy.begin(&tb).await.unwrap();
    let foreign = billing::one_off(
        &tx,
        "Beta",
        &other.id,
        &[billing::OneOffLine {
            description: "x".into(),
            quantity: "1".into(),
            unit_price: "1".into(),
            vat_rate: "19".into(),
        }],
        "",
        "test",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let staff = app.client();
    relabel_tests::login(
        &staff,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "owner-password-1",
    )
    .await;
    let page = staff
        .get(app.url(
            "alpha.test",
            &format!("/console/billing?preview={}", now.format("%Y-%m-%d")),
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("web@example.de") || page.contains("Kim Kunde"),
        "{page}"
    );
    let token = relabel_tests::input_value(&page, "csrf").unwrap();
    let r = staff
        .post(app.url("alpha.test", "/console/billing"))
        .form(&[
            ("csrf", token.as_str()),
            ("due_by", &now.format("%Y-%m-%d").to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    run_jobs(&app, &t).await;
    let list = staff
        .get(app.url("alpha.test", "/console/invoices"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let number = format!("RE-{}-000001", year());
    assert!(list.contains(&number), "{list}");
    let inv = docs(&app.state, &t).await.remove(0);
    let pdf = staff
        .get(app.url("alpha.test", &format!("/console/invoices/{}/pdf", inv.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    // Beta's invoice is not reachable from alpha's console.
    let r = staff
        .get(app.url(
            "alpha.test",
            &format!("/console/invoices/{}/pdf", foreign.id),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Storno from the console: a credit note with its own number.
    let detail = staff
        .get(app.url("alpha.test", &format!("/console/invoices/{}", inv.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = relabel_tests::input_value(&detail, "csrf").unwrap();
    let r = staff
        .post(app.url(
            "alpha.test",
            &format!("/console/invoices/{}/credit", inv.id),
        ))
        .form(&[
            ("csrf", token.as_str()),
            ("mode", "full"),
            ("reason", "Kulanz"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        docs(&app.state, &t)
            .await
            .iter()
            .filter(|d| d.kind == "credit_note")
            .count(),
        1
    );
    // Exports download.
    let day = now.format("%Y-%m-%d").to_string();
    let datev = staff
        .get(app.url(
            "alpha.test",
            &format!("/console/billing/datev.csv?from={day}&to={day}"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(datev.status(), 200);
    assert!(datev.bytes().await.unwrap().starts_with(b"\"EXTF\";700;21"));
    let bad = staff
        .get(app.url(
            "alpha.test",
            "/console/billing/export.csv?from=2026-13-01&to=x",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    // Settings: bad input names the field and changes nothing.
    let form = staff
        .get(app.url("alpha.test", "/console/billing/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = relabel_tests::input_value(&form, "csrf").unwrap();
    let r = staff
        .post(app.url("alpha.test", "/console/billing/settings"))
        .form(&[
            ("csrf", token.as_str()),
            ("legal_name", "X GmbH"),
            ("country", "DE"),
            ("iban", "DE00 1234"),
            ("invoice_pattern", "RE-{YYYY}"),
            ("credit_note_pattern", "GS-{seq}"),
            ("datev_consultant", "1001"),
            ("datev_client", "1"),
            ("revenue_account", "8400"),
            ("receivables_account", "1400"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"iban-error\""), "{html}");
    assert!(html.contains("id=\"invoice_pattern-error\""));
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    assert_eq!(
        billing::settings(&tx).await.unwrap().legal_name,
        "Alpha GmbH"
    );
    drop(tx);
    // The customer overview lists documents and entries.
    let overview = staff
        .get(app.url(
            "alpha.test",
            &format!("/console/customers/{}/account", c.id),
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(overview.contains(&number));
    assert!(overview.contains("GS-"));
    // Each service is listed at what the run bills for its next period (the
    // current book price less discounts), not at the price it was ordered at.
    {
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        let pricer = app.state.prices.pricer(&tx, Some(&c)).await.unwrap();
        for s in relabel_platform::provisioning::customer_services(&tx, &c.id)
            .await
            .unwrap()
        {
            let (net, _) = run::period_net(&pricer, &c, 0, &s);
            assert_ne!(net, s.net_minor, "the test needs a price that moved");
            let shown = format!("{} {}", billing::money::german(net), s.currency);
            assert!(overview.contains(&shown), "{shown} not in the service list");
        }
    }
    // Staff end the hosting at once from the overview (audited, pro-rata credit).
    let sid = {
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        relabel_platform::provisioning::customer_services(&tx, &c.id)
            .await
            .unwrap()[0]
            .id
            .clone()
    };
    let token = relabel_tests::input_value(&overview, "csrf").unwrap();
    let r = staff
        .post(app.url(
            "alpha.test",
            &format!("/console/customers/{}/services/{sid}/cancel", c.id),
        ))
        .form(&[("csrf", token.as_str()), ("immediate", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let s = service::Entity::find_by_id(sid.clone())
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (s.status.as_str(), s.cancellation.as_str()),
        ("ended", "immediate")
    );
    drop(tx);
    // Another reseller's staff cannot reach it.
    let r = staff
        .post(app.url(
            "alpha.test",
            &format!("/console/customers/{}/services/{sid}/cancel", other.id),
        ))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // The customer sees their documents and can fetch only their own PDFs.
    let customer_client = app.client();
    relabel_tests::billing::customer_login(&app, &t, &c, "alpha.test", &customer_client).await;
    let mine = customer_client
        .get(app.url("alpha.test", "/account/invoices"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(mine.contains(&number), "{mine}");
    let pdf = customer_client
        .get(app.url("alpha.test", &format!("/account/invoices/{}/pdf", inv.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    for id in [foreign.id.as_str(), "0193c0de0000700080000000deadbeef"] {
        let r = customer_client
            .get(app.url("alpha.test", &format!("/account/invoices/{id}/pdf")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    app.stop().await;
}

#[tokio::test]
async fn the_operator_bills_resellers_at_wholesale_with_the_same_machinery() {
    let app = spawn_app_with(|_| {}).await;
    let ta = setup(&app, "Alpha", "alpha.test").await;
    let tb = setup(&app, "Beta", "beta.test").await;
    let c = customer(&app.state, &ta, NewCustomer::default()).await;
    // An order (domain) and a billed hosting period at alpha.
    let tx = app.state.tenancy.begin(&ta).await.unwrap();
    let placed = relabel_platform::orders::place(
        &tx,
        &app.state.prices,
        relabel_platform::orders::Checkout {
            customer_id: &c.id,
            cart_id: "ctest",
            lines: &[relabel_platform::orders::Line {
                domain: Some("grosshandel.de".into()),
                action: "register".into(),
                period_months: 12,
                ..Default::default()
            }],
            coupon: None,
            ip: Some("127.0.0.1"),
            ip_country: None,
            bureau_score: None,
            actor: "test",
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let wholesale = placed.order.wholesale_minor;
    assert!(wholesale > 0);
    service(
        &app.state,
        &ta,
        &c,
        "hosting-starter",
        1,
        Utc::now() - Duration::days(1),
    )
    .await;
    run_jobs(&app, &ta).await;
    let tx = app.state.tenancy.begin(&ta).await.unwrap();
    run::start(&tx, Utc::now(), "test").await.unwrap();
    tx.commit().await.unwrap();
    run_jobs(&app, &ta).await;

    let first = billing::platform::run(&app.state, "operator")
        .await
        .unwrap();
    assert_eq!(first.resellers, 2);
    assert_eq!(
        first.invoices,
        vec![format!("PL-{}-000001", year())],
        "beta had nothing"
    );
    let (docs, _) = billing::platform::invoices(&app.state, Some(ta.id.as_str()))
        .await
        .unwrap();
    assert_eq!(docs.len(), 1);
    let books = app.state.tenancy.platform_books().await.unwrap();
    let tx = app.state.tenancy.begin(&books).await.unwrap();
    let lines = billing::lines(&tx, &docs[0].id).await.unwrap();
    drop(tx);
    assert_eq!(lines.len(), 2, "the order and the hosting period");
    assert_eq!(lines[0].net_minor, wholesale);
    assert_eq!(
        lines[1].net_minor, 199,
        "hosting-starter monthly at wholesale (catalog 1.99)"
    );
    assert_eq!(docs[0].tax_treatment, "vat");
    // The reseller's platform account: debited, the order's reservation released.
    let acc = relabel_platform::orders::wholesale::account(
        app.state.tenancy.backend().shared(),
        ta.id.as_str(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        (acc.balance_minor, acc.reserved_minor),
        (-docs[0].gross_minor, 0)
    );
    let tx = app.state.tenancy.begin(&books).await.unwrap();
    assert_eq!(billing::reconcile(&tx).await.unwrap(), vec![]);
    drop(tx);
    // A second run bills nothing twice.
    let again = billing::platform::run(&app.state, "operator")
        .await
        .unwrap();
    assert!(again.invoices.is_empty());
    // The reseller downloads its own platform invoice; another reseller cannot.
    let (_, pdf, xml) = billing::document::files(&app.state, &books, &docs[0].id)
        .await
        .unwrap()
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert_schema_valid(&xml.unwrap(), "platform");
    let alpha = app.client();
    relabel_tests::login(
        &alpha,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "owner-password-1",
    )
    .await;
    let r = alpha
        .get(app.url(
            "alpha.test",
            &format!("/console/billing/platform/{}/pdf", docs[0].id),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let beta = app.client();
    relabel_tests::login(
        &beta,
        &app.url("beta.test", "/console/login"),
        "owner@beta.test",
        "owner-password-1",
    )
    .await;
    let r = beta
        .get(app.url(
            "beta.test",
            &format!("/console/billing/platform/{}/pdf", docs[0].id),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let _ = tb;
    app.stop().await;
}

#[tokio::test]
async fn a_domain_in_redemption_shows_its_restore_price_and_is_restored_on_order() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let c = customer(
        &app.state,
        &t,
        NewCustomer {
            email: "rita@example.de",
            ..Default::default()
        },
    )
    .await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    relabel_platform::orders::place(
        &tx,
        &app.state.prices,
        relabel_platform::orders::Checkout {
            customer_id: &c.id,
            cart_id: "ctest",
            lines: &[relabel_platform::orders::Line {
                domain: Some("rettung.de".into()),
                action: "register".into(),
                period_months: 12,
                ..Default::default()
            }],
            coupon: None,
            ip: Some("127.0.0.1"),
            ip_country: None,
            bureau_score: None,
            actor: "test",
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    run_jobs(&app, &t).await;
    // Not renewed: deleted at the registry into its redemption period.
    let dev = app.state.dev_registry.clone().expect("test registry");
    dev.registry
        .delete(
            relabel_platform::domains::devregistry::DEV_CLIENT,
            "rettung.de",
        )
        .unwrap();
    // Reads, then writes: takes the write lock first (SQLite, with the app's
    // job runner writing at the same time).
    let tx = app.state.tenancy.begin_write(&t).await.unwrap();
    let d = relabel_platform::provisioning::by_name(&tx, "rettung.de")
        .await
        .unwrap()
        .unwrap();
    let mut dm: relabel_platform::provisioning::domain::ActiveModel = d.into();
    dm.status = Set("redemption".into());
    dm.update(tx.conn()).await.unwrap();
    tx.commit().await.unwrap();

    let client = app.client();
    relabel_tests::billing::customer_login(&app, &t, &c, "alpha.test", &client).await;
    let page = client
        .get(app.url("alpha.test", "/account/domains/rettung.de"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let page = relabel_tests::unescape(&page);
    assert!(page.contains("Restoring it costs"), "{page}");
    // The restore price is the catalog's restore price (class A: 150 %), far above the renewal.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let pricer = app.state.prices.pricer(&tx, Some(&c)).await.unwrap();
    let restore = pricer.quote("domain-de", "restore", 12).unwrap();
    let renew = pricer.quote("domain-de", "renew", 12).unwrap();
    drop(tx);
    assert!(restore.gross_minor > 5 * renew.gross_minor);
    let shown = format!(
        "{}.{:02} EUR",
        restore.gross_minor / 100,
        restore.gross_minor % 100
    );
    assert!(page.contains(&shown), "{shown} in {page}");

    let token = relabel_tests::input_value(&page, "csrf").unwrap();
    let r = client
        .post(app.url("alpha.test", "/account/domains/rettung.de/restore"))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    run_jobs(&app, &t).await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let d = relabel_platform::provisioning::by_name(&tx, "rettung.de")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, "active");
    drop(tx);
    assert!(
        dev.registry
            .domain("rettung.de")
            .unwrap()
            .statuses
            .contains("ok")
    );
    // Invoiced at the restore price.
    let all = docs(&app.state, &t).await;
    assert!(
        all.iter().any(|i| i.gross_minor == restore.gross_minor),
        "{all:?}"
    );
    // A second restore is refused: the domain is not in redemption any more.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let again = relabel_platform::orders::place(
        &tx,
        &app.state.prices,
        relabel_platform::orders::Checkout {
            customer_id: &c.id,
            cart_id: "ctest",
            lines: &[relabel_platform::orders::Line {
                domain: Some("rettung.de".into()),
                action: "restore".into(),
                period_months: 12,
                ..Default::default()
            }],
            coupon: None,
            ip: None,
            ip_country: None,
            bureau_score: None,
            actor: "test",
        },
    )
    .await;
    assert!(matches!(
        again,
        Err(relabel_platform::orders::OrderError::Invalid(_))
    ));
    drop(tx);
    app.stop().await;
}

#[tokio::test]
async fn the_daily_schedule_starts_one_run_a_day_however_often_it_fires() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
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
    for key in ["a", "b"] {
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        relabel_platform::jobs::enqueue(
            &tx,
            relabel_platform::jobs::NewJob {
                kind: run::SCHEDULE,
                reference: "periodic",
                key,
                payload: serde_json::json!({}),
                run_after: None,
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        run_jobs(&app, &t).await;
    }
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let runs = run::runs(&tx, 10).await.unwrap();
    drop(tx);
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].actor.as_str(), runs[0].status.as_str()),
        ("schedule", "done")
    );
    assert_eq!(docs(&app.state, &t).await.len(), 1);
    app.stop().await;
}

/// Rows written in bulk (on PostgreSQL as one JSON parameter) read back column
/// for column as given, on both backends: bytes, nulls, quotes, newlines and
/// non-ASCII text, timestamps to the microsecond; a row whose unique key exists
/// is skipped when asked.
#[tokio::test]
async fn bulk_inserts_write_every_column_as_given() {
    use relabel_platform::billing::invoice;
    use relabel_platform::{bulk, jobs};
    use sea_orm::{QueryOrder, TryIntoModel};
    let app = spawn_app_with(|c| c.jobs.enabled = false).await;
    let t = app
        .reseller("Bulk", "bulk.test", "owner@bulk.test", "bulk-password-1")
        .await;
    let at = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
    let row = |number: &str| -> invoice::Model {
        relabel_tests::billing::invoice_row(number.into(), "c1".into(), at, at + Duration::days(14))
            .try_into_model()
            .unwrap()
    };
    let mut a = row("B-1");
    a.pdf = Some(vec![0, 1, 0x5c, 0x22, 0x7f, 0x80, 0xff]);
    a.note = Some("Zeile \"eins\"\n\tÄÖÜ ß € 😀 \\x00 '; --".into());
    a.period_start = Some(at - Duration::days(30) + Duration::microseconds(7));
    a.gross_minor = i64::MAX;
    a.vat_minor = -1;
    let b = row("B-2");
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    bulk::insert::<invoice::Entity>(&tx, &[a.clone(), b.clone()], None)
        .await
        .unwrap();
    let got = invoice::Entity::find()
        .order_by_asc(invoice::Column::Number)
        .all(tx.conn())
        .await
        .unwrap();
    assert_eq!(got, vec![a, b]);

    let job = |key: &'static str, kind: &'static str| jobs::NewJob {
        kind,
        reference: "bulk",
        key,
        payload: serde_json::json!({ "k": key }),
        run_after: None,
    };
    jobs::enqueue_many(&tx, [job("k1", "first"), job("k2", "first")])
        .await
        .unwrap();
    jobs::enqueue_many(&tx, [job("k2", "second"), job("k3", "second")])
        .await
        .unwrap();
    let kinds: Vec<(String, String)> = jobs::entity::Entity::find()
        .order_by_asc(jobs::entity::Column::IdempotencyKey)
        .all(tx.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|j| (j.idempotency_key, j.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("k1".to_owned(), "first".to_owned()),
            ("k2".to_owned(), "first".to_owned()),
            ("k3".to_owned(), "second".to_owned()),
        ]
    );
    tx.rollback().await.unwrap();
    app.stop().await;
}

/// A customer whose bill is refused inside a run (a service's date moved by
/// another writer between the run's read and its conditional update) holds up
/// nobody: the others are billed with gapless numbers, the refusal is noted on
/// the run, the customer's service stays due and the next run bills it.
#[tokio::test]
async fn a_refused_bill_in_a_run_holds_up_no_one_and_leaves_no_gap() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let now = Utc::now();
    let mut customers = Vec::new();
    let mut services = Vec::new();
    for email in ["a@example.de", "b@example.de", "c@example.de"] {
        let c = customer(
            &app.state,
            &t,
            NewCustomer {
                email,
                ..Default::default()
            },
        )
        .await;
        // Due this month, so the next period falls into the next month (beyond
        // the collective horizon) whatever today's date is.
        let due = month_start(now) + Duration::hours(1);
        services.push(service(&app.state, &t, &c, "hosting-starter", 1, due).await);
        customers.push(c);
    }
    let (b, held) = (&customers[1], &services[1]);
    // Another writer: every update of b's service is skipped, as when its date
    // was moved after the run read it (the conditional update finds no row).
    let postgres = app.state.tenancy.backend().kind() == relabel_tenants::BackendKind::Postgres;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    // The tenant's role does not own its tables: the fault is put in (and
    // taken out below) as the login role.
    let sql = if postgres {
        vec![
            "RESET ROLE".to_owned(),
            "CREATE FUNCTION skip_update() RETURNS trigger AS $$ BEGIN RETURN NULL; END $$ LANGUAGE plpgsql".to_owned(),
            format!(
                "CREATE TRIGGER held BEFORE UPDATE ON services FOR EACH ROW WHEN (OLD.id = '{}') EXECUTE FUNCTION skip_update()",
                held.id
            ),
        ]
    } else {
        vec![format!(
            "CREATE TRIGGER held BEFORE UPDATE ON services WHEN OLD.id = '{}' BEGIN SELECT RAISE(IGNORE); END",
            held.id
        )]
    };
    for s in &sql {
        tx.conn().execute_unprepared(s).await.unwrap();
    }
    tx.commit().await.unwrap();

    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let r = run::start(&tx, now, "test").await.unwrap();
    tx.commit().await.unwrap();
    run_jobs(&app, &t).await;

    let y = year();
    let all = docs(&app.state, &t).await;
    let billed: Vec<(&str, &str)> = all
        .iter()
        .map(|i| (i.number.as_str(), i.customer_id.as_str()))
        .collect();
    assert_eq!(
        billed,
        vec![
            (format!("RE-{y}-000001").as_str(), customers[0].id.as_str()),
            (format!("RE-{y}-000002").as_str(), customers[2].id.as_str()),
        ],
        "the others billed in order, no number lost to the refused attempt"
    );
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let run_row = run_row(&app.state, &t, &r.id).await;
    assert_eq!(run_row.status, "done");
    assert_eq!(run_row.invoices_count, 2);
    let error = run_row.error.unwrap_or_default();
    assert!(
        error.contains(&b.number) && error.contains("service dates changed"),
        "{error}"
    );
    let still = service::Entity::find_by_id(held.id.clone())
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.next_billing_at, held.next_billing_at, "still due");
    let lines = billing::invoice_line::Entity::find()
        .filter(billing::invoice_line::Column::ServiceId.eq(held.id.clone()))
        .count(tx.conn())
        .await
        .unwrap();
    assert_eq!(lines, 0);
    drop(tx);
    assert_eq!(balance(&app.state, &t, b).await, 0);
    reconcile(&app.state, &t).await;

    // The writer is gone: the next run bills b, with the next number.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let drop = if postgres {
        "RESET ROLE; DROP TRIGGER held ON services"
    } else {
        "DROP TRIGGER held"
    };
    tx.conn().execute_unprepared(drop).await.unwrap();
    tx.commit().await.unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    run::start(&tx, now, "test").await.unwrap();
    tx.commit().await.unwrap();
    run_jobs(&app, &t).await;
    let all = docs(&app.state, &t).await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].number, format!("RE-{y}-000003"));
    assert_eq!(all[2].customer_id, b.id);
    assert_eq!(balance(&app.state, &t, b).await, -all[2].gross_minor);
    reconcile(&app.state, &t).await;
    app.stop().await;
}

/// A storno of a recurring service's invoice: by default the next run bills the
/// period again (the service ran); staff may give the period away instead.
#[tokio::test]
async fn a_credited_period_is_billed_again_unless_it_is_given_away() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let now = Utc::now();
    let a = customer(
        &app.state,
        &t,
        NewCustomer {
            email: "a@example.de",
            ..Default::default()
        },
    )
    .await;
    let month = month_start(now);
    let again = service(
        &app.state,
        &t,
        &a,
        "hosting-starter",
        1,
        month + Duration::hours(1),
    )
    .await;
    let away = service(
        &app.state,
        &t,
        &a,
        "hosting-business",
        1,
        month + Duration::hours(2),
    )
    .await;
    let bill = || async {
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        run::start(&tx, now, "test").await.unwrap();
        tx.commit().await.unwrap();
        run_jobs(&app, &t).await;
    };
    bill().await;
    let invoices = || async {
        let mut all: Vec<_> = docs(&app.state, &t)
            .await
            .into_iter()
            .filter(|d| d.kind == "invoice")
            .collect();
        all.sort_by(|x, y| x.number.cmp(&y.number));
        all
    };
    let first = invoices().await.remove(0);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let lines = billing::lines(&tx, &first.id).await.unwrap();
    let position = |s: &service::Model| {
        lines
            .iter()
            .find(|l| l.service_id.as_deref() == Some(s.id.as_str()))
            .unwrap()
            .position
    };
    let (pos_again, pos_away) = (position(&again), position(&away));
    billing::credit_note(
        &tx,
        "Alpha",
        &first.id,
        &[(pos_again, None)],
        None,
        billing::CreditedPeriods::BillAgain,
        "test",
    )
    .await
    .unwrap();
    billing::credit_note(
        &tx,
        "Alpha",
        &first.id,
        &[(pos_away, None)],
        None,
        billing::CreditedPeriods::GiveAway,
        "test",
    )
    .await
    .unwrap();
    let next_of = |id: String| {
        let tx = &tx;
        async move {
            service::Entity::find_by_id(id)
                .one(tx.conn())
                .await
                .unwrap()
                .unwrap()
                .next_billing_at
        }
    };
    assert_eq!(
        next_of(again.id.clone()).await,
        again.next_billing_at,
        "back to its period"
    );
    assert_eq!(
        next_of(away.id.clone()).await,
        away.next_billing_at
            .checked_add_months(chrono::Months::new(1))
            .unwrap(),
        "given away: billing goes on after it"
    );
    tx.commit().await.unwrap();

    // The next run bills the credited period again, and only that one.
    bill().await;
    let all = invoices().await;
    assert_eq!(all.len(), 2, "{all:?}");
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let rebilled = billing::lines(&tx, &all[1].id).await.unwrap();
    assert_eq!(rebilled.len(), 1, "{rebilled:?}");
    assert_eq!(rebilled[0].service_id.as_deref(), Some(again.id.as_str()));
    let original = lines.iter().find(|l| l.position == pos_again).unwrap();
    assert_eq!(
        (rebilled[0].period_start, rebilled[0].period_end),
        (original.period_start, original.period_end)
    );
    drop(tx);
    reconcile(&app.state, &t).await;
    app.stop().await;
}

/// A run "due by" a date months ahead bills every period of a monthly service
/// due by then, one line each, consecutive, and moves the service past it.
#[tokio::test]
async fn a_run_with_a_future_due_by_bills_every_period_due_by_then() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let now = Utc::now();
    let a = customer(
        &app.state,
        &t,
        NewCustomer {
            email: "a@example.de",
            ..Default::default()
        },
    )
    .await;
    let month = month_start(now);
    let s = service(
        &app.state,
        &t,
        &a,
        "hosting-starter",
        1,
        month + Duration::hours(1),
    )
    .await;
    let due_by = month.checked_add_months(chrono::Months::new(3)).unwrap() + Duration::days(2);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    run::start(&tx, due_by, "test").await.unwrap();
    tx.commit().await.unwrap();
    run_jobs(&app, &t).await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let mut lines = Vec::new();
    for d in docs(&app.state, &t).await {
        lines.extend(billing::lines(&tx, &d.id).await.unwrap());
    }
    lines.sort_by_key(|l| l.period_start);
    assert!(lines.len() >= 4, "every month up to {due_by}: {lines:?}");
    assert_eq!(lines[0].period_start, Some(s.next_billing_at));
    for pair in lines.windows(2) {
        assert_eq!(pair[0].period_end, pair[1].period_start, "consecutive");
    }
    let moved = service::Entity::find_by_id(s.id.clone())
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap();
    let last_end = lines.last().unwrap().period_end.unwrap();
    assert_eq!(moved.next_billing_at, last_end);
    assert!(last_end > due_by, "nothing due by then is left");
    drop(tx);
    // Run again over the same date: nothing twice.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    run::start(&tx, due_by, "test").await.unwrap();
    tx.commit().await.unwrap();
    run_jobs(&app, &t).await;
    let mut again = 0;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    for d in docs(&app.state, &t).await {
        again += billing::lines(&tx, &d.id).await.unwrap().len();
    }
    assert_eq!(again, lines.len());
    drop(tx);
    reconcile(&app.state, &t).await;
    app.stop().await;
}

/// The buyer reference (Leitweg-ID): check digits verified through the API,
/// set in the console, and carried by the e-invoice and printed on the PDF.
#[tokio::test]
async fn a_leitweg_id_is_checked_kept_and_printed() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let key = app
        .api_key("alpha.test", &["customers:write", "customers:read"])
        .await;
    let create = |reference: &'static str| {
        let client = app.client();
        let url = app.url("alpha.test", "/api/v1/customers");
        let key = key.clone();
        async move {
            let r = client
                .post(url)
                .bearer_auth(key)
                .json(&serde_json::json!({
                    "kind": "company", "company": "Stadt Musterhausen", "first_name": "Anna",
                    "last_name": "Amt", "street": "Rathausplatz 1", "postal_code": "10115",
                    "city": "Berlin", "country": "DE", "email": format!("{}@amt.example", reference.len()),
                    "buyer_reference": reference,
                }))
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let (status, body) = create("991-33333TEST-34").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["details"][0]["field"], "buyer_reference", "{body}");
    let (status, body) = create("991-33333TEST-33").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["buyer_reference"], "991-33333TEST-33");
    let id = body["id"]
        .as_str()
        .unwrap()
        .trim_start_matches("cus_")
        .to_owned();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let c = customer::Entity::find_by_id(id.clone())
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap();
    let inv = billing::one_off(
        &tx,
        "Alpha",
        &c.id,
        &[billing::OneOffLine {
            description: "Beratung".into(),
            quantity: "1".into(),
            unit_price: "100".into(),
            vat_rate: "19".into(),
        }],
        "",
        "test",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let (_, pdf, xml) = billing::document::files(&app.state, &t, &inv.id)
        .await
        .unwrap()
        .unwrap();
    let xml = xml.unwrap();
    assert!(
        xml.contains("<ram:BuyerReference>991-33333TEST-33</ram:BuyerReference>"),
        "{xml}"
    );
    assert_schema_valid(&xml, "leitweg");
    if let Some(text) = relabel_tests::billing::pdf_text(&pdf) {
        assert!(text.contains("991-33333TEST-33"), "{text}");
        assert!(
            text.contains("Ihre Referenz") || text.contains("Your reference"),
            "{text}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn zero_rate_lines_are_exempt_or_outside_the_scope_as_the_seller_says() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let c = customer(&app.state, &t, NewCustomer::default()).await;
    let tax = |rate: &str, zero: &str, reason: &str| relabel_platform::tax::TaxInput {
        country: "DE".into(),
        vat_rate: rate.into(),
        show_gross: true,
        payment_term_days: "14".into(),
        zero_rate: zero.into(),
        exemption_reason: reason.into(),
    };
    let save = |input: relabel_platform::tax::TaxInput| {
        let state = app.state.clone();
        let t = t.clone();
        async move {
            let tx = state.tenancy.begin(&t).await.unwrap();
            let r = relabel_platform::tax::update_settings(&tx, "staff@test", &input).await;
            if r.is_ok() {
                tx.commit().await.unwrap();
            }
            r.err().map(|e| match e {
                relabel_platform::customers::CustomerError::Invalid(f) => {
                    f.iter().map(|e| e.field.clone()).collect::<Vec<_>>()
                }
                other => panic!("{other}"),
            })
        }
    };
    let line = |d: &str, p: &str, v: &str| billing::OneOffLine {
        description: d.into(),
        quantity: "1".into(),
        unit_price: p.into(),
        vat_rate: v.into(),
    };
    let issue = |lines: Vec<billing::OneOffLine>| {
        let state = app.state.clone();
        let t = t.clone();
        let id = c.id.clone();
        async move {
            let tx = state.tenancy.begin(&t).await.unwrap();
            let r = billing::one_off(&tx, "Alpha", &id, &lines, "", "test").await;
            if r.is_ok() {
                tx.commit().await.unwrap();
            }
            r
        }
    };
    // Exempt needs its reason; a choice not offered is refused. Nothing changes.
    assert_eq!(
        save(tax("0", "exempt", " ")).await,
        Some(vec!["exemption_reason".to_owned()])
    );
    assert_eq!(
        save(tax("0", "tax-free", "x")).await,
        Some(vec!["zero_rate".to_owned()])
    );
    // A small business (§ 19 UStG): every line is exempt, with the reason.
    let reason = "Kein Ausweis von Umsatzsteuer, da Kleinunternehmer gemäß § 19 UStG";
    assert_eq!(save(tax("0", "exempt", reason)).await, None);
    let inv = issue(vec![line("Beratung", "100", "0")]).await.unwrap();
    assert_eq!((inv.vat_minor, inv.gross_minor), (0, 10_000));
    let (_, pdf, xml) = billing::document::files(&app.state, &t, &inv.id)
        .await
        .unwrap()
        .unwrap();
    let xml = xml.unwrap();
    for part in [
        "<ram:CategoryCode>E</ram:CategoryCode>",
        &format!("<ram:ExemptionReason>{reason}</ram:ExemptionReason>"),
        "<ram:RateApplicablePercent>0</ram:RateApplicablePercent>",
    ] {
        assert!(xml.contains(part), "{part} missing: {xml}");
    }
    assert!(
        !xml.contains("<ram:CategoryCode>Z</ram:CategoryCode>"),
        "{xml}"
    );
    assert_schema_valid(&xml, "exempt");
    if let Some(text) = relabel_tests::billing::pdf_layout_text(&pdf) {
        assert!(text.contains("Kleinunternehmer"), "{text}");
        relabel_tests::billing::assert_invoice_adds_up(&text);
    }

    // Outside the scope of VAT: category O, no rate, no VAT ids; such lines
    // cannot share an invoice with taxed ones (BR-O-11).
    assert_eq!(save(tax("19", "outside", "")).await, None);
    let mixed = issue(vec![line("Hosting", "10", "19"), line("Auslage", "5", "0")])
        .await
        .unwrap_err();
    let billing::BillingError::Invalid(f) = mixed else {
        panic!("{mixed}")
    };
    assert_eq!(
        f.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
        ["lines.1.vat_rate"]
    );
    let out = issue(vec![line("Auslage", "5", "0")]).await.unwrap();
    let (_, _, xml) = billing::document::files(&app.state, &t, &out.id)
        .await
        .unwrap()
        .unwrap();
    let xml = xml.unwrap();
    for part in [
        "<ram:CategoryCode>O</ram:CategoryCode>",
        "<ram:ExemptionReason>Not subject to VAT</ram:ExemptionReason>",
        "<ram:ExemptionReasonCode>VATEX-EU-O</ram:ExemptionReasonCode>",
    ] {
        assert!(xml.contains(part), "{part} missing: {xml}");
    }
    assert!(!xml.contains("RateApplicablePercent"), "{xml}");
    assert!(!xml.contains("schemeID=\"VA\""), "{xml}");
    assert_schema_valid(&xml, "outside");

    // The exempt invoice's storno keeps its category and reason, whatever the
    // seller chose since.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let cn = billing::credit_note(
        &tx,
        "Alpha",
        &inv.id,
        &[],
        None,
        billing::CreditedPeriods::default(),
        "test",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let (_, _, cn_xml) = billing::document::files(&app.state, &t, &cn.id)
        .await
        .unwrap()
        .unwrap();
    let cn_xml = cn_xml.unwrap();
    assert!(
        cn_xml.contains("<ram:CategoryCode>E</ram:CategoryCode>"),
        "{cn_xml}"
    );
    assert!(cn_xml.contains(reason), "{cn_xml}");
    assert_schema_valid(&cn_xml, "exempt-credit-note");
    app.stop().await;
}
