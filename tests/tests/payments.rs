//! Payments (issue 9): payment entry with allocation, conversion and Skonto, CAMT
//! import with matching and a review list, SEPA debit runs validated against the
//! ISO 20022 schema, return debits, isolation between resellers.

use chrono::{Duration, Utc};
use relabel_platform::AppState;
use relabel_platform::billing::{self, invoice};
use relabel_platform::customers::customer;
use relabel_platform::payments::{self, PaymentInput, camt, dunning, sepa};
use relabel_tenants::Tenant;
use relabel_tests::billing::{
    NewCustomer, assert_schema_valid, balance, customer, reconcile, setup, signed, stripe_peer,
};
use relabel_tests::spawn_app_with;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

/// An invoice of `gross` (net at 19 %) for `c`.
async fn invoice_of(
    state: &AppState,
    t: &Tenant,
    c: &customer::Model,
    net: &str,
) -> invoice::Model {
    let tx = state.tenancy.begin(t).await.unwrap();
    let inv = billing::one_off(
        &tx,
        &t.name,
        &c.id,
        &[billing::OneOffLine {
            description: "Support".into(),
            quantity: "1".into(),
            unit_price: net.into(),
            vat_rate: "19".into(),
        }],
        "",
        "test",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    inv
}

async fn item(state: &AppState, t: &Tenant, id: &str) -> invoice::Model {
    let tx = state.tenancy.begin(t).await.unwrap();
    invoice::Entity::find_by_id(id.to_owned())
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap()
}

async fn pay(
    state: &AppState,
    t: &Tenant,
    input: PaymentInput,
) -> Result<payments::payment::Model, billing::BillingError> {
    let tx = state.tenancy.begin(t).await.unwrap();
    let r = payments::record(&tx, &input, "staff@test").await;
    if r.is_ok() {
        tx.commit().await.unwrap();
    }
    r
}

fn fields(e: billing::BillingError) -> Vec<String> {
    match e {
        billing::BillingError::Invalid(f) => f.iter().map(|e| e.field.clone()).collect(),
        other => panic!("expected field errors, got {other}"),
    }
}

#[tokio::test]
async fn payments_settle_items_with_conversion_skonto_and_over_and_under_payment() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let a = customer(&app.state, &t, NewCustomer::default()).await;
    // 2 % Skonto within 10 days.
    let a = {
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        let mut m: customer::ActiveModel = a.into();
        m.skonto_bp = Set(200);
        m.skonto_days = Set(10);
        let a = m.update(tx.conn()).await.unwrap();
        tx.commit().await.unwrap();
        a
    };
    let first = invoice_of(&app.state, &t, &a, "100.00").await; // 119.00
    let second = invoice_of(&app.state, &t, &a, "50.00").await; // 59.50
    assert_eq!((first.gross_minor, second.gross_minor), (11_900, 5_950));

    // Bad input names the field and changes nothing.
    let bad = pay(
        &app.state,
        &t,
        PaymentInput {
            customer_id: a.id.clone(),
            amount: "12,345".into(),
            currency: "JPY".into(),
            method: "barter".into(),
            booked_on: "2026-13-01".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    let mut f = fields(bad);
    f.sort();
    assert_eq!(f, ["amount", "booked_on", "currency", "method"]);
    let bad = pay(
        &app.state,
        &t,
        PaymentInput {
            customer_id: a.id.clone(),
            amount: "10.00".into(),
            currency: "USD".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(fields(bad), ["rate"]);
    assert_eq!(balance(&app.state, &t, &a).await, -17_850);

    // The second invoice named in the reference, paid within the Skonto period
    // with 98 %: settled in full, the 1.19 booked as cash discount.
    let p = pay(
        &app.state,
        &t,
        PaymentInput {
            customer_id: a.id.clone(),
            amount: "58.31".into(),
            reference: format!("Rechnung {} danke", second.number),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(p.invoice_id.as_deref(), Some(second.id.as_str()));
    assert_eq!(p.skonto_minor, 119);
    let s = item(&app.state, &t, &second.id).await;
    assert_eq!((s.status.as_str(), s.settled_minor), ("paid", 5_950));
    assert_eq!(item(&app.state, &t, &first.id).await.settled_minor, 0);

    // Under-payment in USD at a recorded rate: 50.00 USD x 0.92 = 46.00 EUR, the
    // rest of the first invoice stays open.
    let p = pay(
        &app.state,
        &t,
        PaymentInput {
            customer_id: a.id.clone(),
            amount: "50.00".into(),
            currency: "USD".into(),
            rate: "0.92".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!((p.amount_minor, p.original_minor), (4_600, 5_000));
    assert_eq!(
        (p.original_currency.as_str(), p.rate.as_str()),
        ("USD", "0.92")
    );
    let f1 = item(&app.state, &t, &first.id).await;
    assert_eq!((f1.status.as_str(), f1.settled_minor), ("open", 4_600));

    // Over-payment: the first invoice is paid, 26.00 stays on the balance and
    // settles the next invoice at once (B8).
    pay(
        &app.state,
        &t,
        PaymentInput {
            customer_id: a.id.clone(),
            amount: "99.00".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(item(&app.state, &t, &first.id).await.status, "paid");
    assert_eq!(balance(&app.state, &t, &a).await, 2_600);
    let third = invoice_of(&app.state, &t, &a, "10.00").await;
    let th = item(&app.state, &t, &third.id).await;
    assert_eq!((th.status.as_str(), th.settled_minor), ("paid", 1_190));
    assert_eq!(balance(&app.state, &t, &a).await, 1_410);

    // The same bank entry is booked once, however often it arrives (5 at once).
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let state = app.state.clone();
            let t = t.clone();
            let id = a.id.clone();
            tokio::spawn(async move {
                pay(
                    &state,
                    &t,
                    PaymentInput {
                        customer_id: id,
                        amount: "1.00".into(),
                        external_id: Some("camt:X:REF-9".into()),
                        ..Default::default()
                    },
                )
                .await
                .is_ok()
            })
        })
        .collect();
    let mut booked = 0;
    for task in tasks {
        booked += usize::from(task.await.unwrap());
    }
    assert_eq!(booked, 1);
    assert_eq!(balance(&app.state, &t, &a).await, 1_510);

    // Another reseller cannot book onto this customer.
    let other = setup(&app, "Beta", "beta.test").await;
    let e = pay(
        &app.state,
        &other,
        PaymentInput {
            customer_id: a.id.clone(),
            amount: "5.00".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(e, billing::BillingError::NotFound), "{e}");
    reconcile(&app.state, &t).await;
    app.stop().await;
}

#[tokio::test]
async fn a_camt_statement_is_matched_booked_and_reviewed_line_by_line() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let a = customer(&app.state, &t, NewCustomer::default()).await;
    let b = customer(
        &app.state,
        &t,
        NewCustomer {
            email: "b@example.de",
            ..Default::default()
        },
    )
    .await;
    let inv = invoice_of(&app.state, &t, &a, "100.00").await;
    let file = relabel_tests::billing::camt_file(
        "DE02120300000000202051",
        &[
            ("119.00", "EUR", &format!("Zahlung {}", inv.number), "R1"),
            ("20.00", "EUR", &format!("Abschlag Kd {}", b.number), "R2"),
            ("7.00", "EUR", "Miete Dezember", "R3"),
            ("12.3.4", "EUR", "kaputt", "R4"),
            ("5.00", "XYZ", "fremd", "R5"),
        ],
    );
    // The well-formed part of the statement is a valid CAMT.053.
    let valid = relabel_tests::billing::camt_file(
        "DE02120300000000202051",
        &[("119.00", "EUR", "RE-1", "R1"), ("20.00", "EUR", "K", "R2")],
    );
    assert_schema_valid(
        &valid,
        "payments/schema/camt.053.001.02.xsd",
        "camt-credits",
    );
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let imp = camt::import(&tx, "stmt.xml", &file, "staff@test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        (imp.lines, imp.booked, imp.review, imp.errors),
        (5, 2, 1, 2)
    );
    assert_eq!(item(&app.state, &t, &inv.id).await.status, "paid");
    assert_eq!(balance(&app.state, &t, &b).await, 2_000);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let lines: Vec<_> = payments::bank_line::Entity::find()
        .all(tx.conn())
        .await
        .unwrap();
    let by_ref = |r: &str| lines.iter().find(|l| l.entry_ref == r).unwrap().clone();
    assert!(by_ref("R4").error.unwrap().contains("malformed amount"));
    assert!(by_ref("R5").error.unwrap().contains("unknown currency"));
    let review = camt::review_lines(&tx).await.unwrap();
    assert_eq!(review.len(), 1);
    drop(tx);

    // The same file again books nothing twice.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let again = camt::import(&tx, "stmt.xml", &file, "staff@test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!((again.booked, again.review), (0, 0));
    assert_eq!(balance(&app.state, &t, &b).await, 2_000);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    // The waiting line is not put back a second time; the three lines taken
    // before are marked as duplicates (the two broken ones are errors again).
    assert_eq!(camt::review_lines(&tx).await.unwrap().len(), 1);
    assert_eq!(camt::duplicates_of(&tx, &again.id).await.unwrap(), 3);
    drop(tx);

    // Staff book the review line to b.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let line = camt::resolve_line(&tx, &review[0].id, &b.id, "", "", "staff@test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(line.status, "booked");
    assert_eq!(balance(&app.state, &t, &b).await, 2_700);

    // Once booked from review, the same entry imported once more books nothing
    // and waits for no one; a transfer twice in one file is taken once and the
    // second named as a duplicate. Entries without the bank's reference are
    // known by what they say.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let third = camt::import(&tx, "stmt.xml", &file, "staff@test")
        .await
        .unwrap();
    let twice = relabel_tests::billing::camt_file(
        "DE02120300000000202051",
        &[
            ("33.00", "EUR", &format!("Kd {}", b.number), ""),
            ("33.00", "EUR", &format!("Kd {}", b.number), ""),
        ],
    );
    let doubled = camt::import(&tx, "twice.xml", &twice, "staff@test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!((third.booked, third.review), (0, 0));
    assert_eq!((doubled.booked, doubled.review, doubled.errors), (1, 0, 0));
    assert_eq!(balance(&app.state, &t, &b).await, 2_700 + 3_300);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    assert!(camt::review_lines(&tx).await.unwrap().is_empty());
    let dup = payments::bank_line::Entity::find()
        .filter(payments::bank_line::Column::ImportId.eq(doubled.id.as_str()))
        .filter(payments::bank_line::Column::Status.eq("duplicate"))
        .one(tx.conn())
        .await
        .unwrap()
        .expect("the second transfer is a duplicate");
    assert_eq!(dup.error.as_deref(), Some("twice in this file"));
    drop(tx);

    // Not a statement: one clear error on the file.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let e = camt::import(&tx, "x.xml", "<html/>", "staff@test")
        .await
        .unwrap_err();
    assert_eq!(fields(e), ["file"]);
    drop(tx);
    reconcile(&app.state, &t).await;
    app.stop().await;
}

async fn debit_customer(state: &AppState, t: &Tenant, email: &str) -> customer::Model {
    let c = customer(
        state,
        t,
        NewCustomer {
            email,
            ..Default::default()
        },
    )
    .await;
    let tx = state.tenancy.begin(t).await.unwrap();
    let mut m: customer::ActiveModel = c.into();
    m.billing_type = Set("DEBIT".into());
    m.debit_status = Set("ACTIVE".into());
    m.iban = Set(Some("DE89370400440532013000".into()));
    m.bic = Set(Some("COBADEFFXXX".into()));
    m.account_holder = Set(Some("Jörg Müller".into()));
    m.mandate_reference = Set(Some(format!("M-{email}")));
    m.mandate_signed_on = Set(chrono::NaiveDate::from_ymd_opt(2026, 1, 15));
    let c = m.update(tx.conn()).await.unwrap();
    tx.commit().await.unwrap();
    c
}

async fn debit_settings(state: &AppState, t: &Tenant, version: &str) {
    let tx = state.tenancy.begin(t).await.unwrap();
    let input = [
        ("creditor_id", "DE98ZZZ09999999999"),
        ("debit_delay_days", "0"),
        ("debit_lead_days", "2"),
        ("return_fee", "4.50"),
        ("sepa_version", version),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    payments::save_settings(&tx, &input).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_debit_run_collects_once_in_a_valid_pain008_and_return_debits_reopen_items() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    // Bad settings name the field.
    {
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        let input = [
            ("creditor_id", "DE99ZZZ09999999999"),
            ("debit_delay_days", "-1"),
            ("debit_lead_days", "2"),
            ("return_fee", "abc"),
            ("sepa_version", "09"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mut f = fields(payments::save_settings(&tx, &input).await.unwrap_err());
        f.sort();
        assert_eq!(
            f,
            [
                "creditor_id",
                "debit_delay_days",
                "return_fee",
                "sepa_version"
            ]
        );
    }
    debit_settings(&app.state, &t, "08").await;
    let a = debit_customer(&app.state, &t, "a@example.de").await;
    let b = debit_customer(&app.state, &t, "b@example.de").await;
    let transfer = customer(&app.state, &t, NewCustomer::default()).await;
    let ia = invoice_of(&app.state, &t, &a, "100.00").await;
    let ib = invoice_of(&app.state, &t, &b, "20.00").await;
    let ib2 = invoice_of(&app.state, &t, &b, "10.00").await;
    let it = invoice_of(&app.state, &t, &transfer, "10.00").await;

    // A direct-debit invoice carries the SEPA pre-notification (amount, date,
    // mandate, creditor id, masked IBAN) and no transfer request; a transfer
    // customer's invoice asks for the transfer.
    let (_, pdf, xml) = relabel_platform::billing::document::files(&app.state, &t, &ia.id)
        .await
        .unwrap()
        .unwrap();
    // The e-invoice says the same: payment means 59 with the creditor id, the
    // debtor's account as pre-notified (masked) and the mandate; no IBAN to pay to.
    let xml = xml.expect("the direct-debit invoice has its XML");
    for part in [
        "<ram:TypeCode>59</ram:TypeCode>",
        "<ram:CreditorReferenceID>DE98ZZZ09999999999</ram:CreditorReferenceID>",
        "<ram:PayerPartyDebtorFinancialAccount><ram:IBANID>DE89**************3000</ram:IBANID>",
        "<ram:DirectDebitMandateID>M-a@example.de</ram:DirectDebitMandateID>",
    ] {
        assert!(xml.contains(part), "{part} missing: {xml}");
    }
    assert!(!xml.contains("PayeePartyCreditorFinancialAccount"), "{xml}");
    relabel_tests::billing::assert_schema_valid(
        &xml,
        "billing/schema/cii/FACTUR-X_EN16931.xsd",
        "direct-debit-invoice",
    );
    if let Some(text) = relabel_tests::billing::pdf_text(&pdf) {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let sepa = text.contains("SEPA-Lastschrift") || text.contains("SEPA direct debit");
        assert!(sepa, "{text}");
        assert!(text.contains("M-a@example.de"), "{text}");
        assert!(text.contains("DE98ZZZ09999999999"), "{text}");
        assert!(text.contains("DE89**************3000"), "{text}");
        assert!(!text.contains("DE89370400440532013000"), "{text}");
        assert!(
            !text.contains("überweisen Sie") && !text.contains("Please transfer"),
            "{text}"
        );
    }
    let (_, pdf, _) = relabel_platform::billing::document::files(&app.state, &t, &it.id)
        .await
        .unwrap()
        .unwrap();
    if let Some(text) = relabel_tests::billing::pdf_text(&pdf) {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            text.contains("überweisen Sie") || text.contains("Please transfer"),
            "{text}"
        );
        assert!(!text.contains("SEPA"), "{text}");
    }

    // A run that dies before commit leaves nothing behind.
    {
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        sepa::run(&tx, Utc::now(), "staff@test").await.unwrap();
        drop(tx);
    }
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    assert!(sepa::runs(&tx).await.unwrap().is_empty());
    let run = sepa::run(&tx, Utc::now(), "staff@test").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!((run.items, run.total_minor), (3, 11_900 + 2_380 + 1_190));
    assert_schema_valid(
        &run.xml,
        "payments/schema/pain.008.001.08.xsd",
        "pain008-08",
    );
    assert!(run.xml.contains("<SeqTp>FRST</SeqTp>"));
    assert!(run.xml.contains("Joerg Mueller"));
    assert!(run.xml.contains("DE98ZZZ09999999999"));
    // Until the collection date nothing is paid: the items are open with the
    // collection pending, are not reminded even when overdue, and count as
    // pending in the receivables, not as due or collected.
    let collect_on = run.collect_on.date_naive();
    assert_eq!(collect_on, (Utc::now() + Duration::days(2)).date_naive());
    set_due(&app.state, &t, &ia, Utc::now() - Duration::days(20)).await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let pending = sepa::pending(&tx).await.unwrap();
    for inv in [&ia, &ib, &ib2] {
        assert_eq!(pending.get(&inv.id), Some(&collect_on));
    }
    let letters = dunning::plan(&tx, Utc::now()).await.unwrap();
    assert!(
        letters
            .iter()
            .flat_map(|l| &l.steps)
            .all(|s| s.invoice_id != ia.id),
        "a pending collection is not reminded"
    );
    let r = payments::receivables(&tx, Utc::now()).await.unwrap();
    let eur = r.iter().find(|r| r.currency == "EUR").unwrap();
    assert_eq!(eur.collection_pending_minor, 11_900 + 2_380 + 1_190);
    assert_eq!(eur.overdue_minor, [0, 0, 0, 0]);
    assert_eq!(eur.collected_month_minor, 0);
    // Settling before the date books nothing.
    assert_eq!(sepa::settle_due(&tx, Utc::now(), "t").await.unwrap(), 0);
    drop(tx);
    for inv in [&ia, &ib, &ib2] {
        assert_eq!(item(&app.state, &t, &inv.id).await.status, "open");
    }
    assert_eq!(balance(&app.state, &t, &a).await, -11_900);
    // The customer's shop and the console say so, with the date.
    let shopper = app.client();
    relabel_tests::billing::customer_login(&app, &t, &a, "alpha.test", &shopper).await;
    let body = shopper
        .get(app.url("alpha.test", "/account/invoices"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains(&format!("collected by direct debit on {collect_on}"))
            || body.contains(&format!("wird am {collect_on} eingezogen")),
        "{body}"
    );
    // On the collection date the payments are booked, once however often the
    // schedule fires.
    let on = run.collect_on + Duration::hours(1);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    assert_eq!(sepa::settle_due(&tx, on, "schedule").await.unwrap(), 3);
    assert_eq!(sepa::settle_due(&tx, on, "schedule").await.unwrap(), 0);
    tx.commit().await.unwrap();
    for inv in [&ia, &ib, &ib2] {
        assert_eq!(item(&app.state, &t, &inv.id).await.status, "paid");
    }
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    assert!(sepa::pending(&tx).await.unwrap().is_empty());
    let r = payments::receivables(&tx, Utc::now()).await.unwrap();
    let eur = r.iter().find(|r| r.currency == "EUR").unwrap();
    assert_eq!(eur.collection_pending_minor, 0);
    assert_eq!(eur.collected_month_minor, 11_900 + 2_380 + 1_190);
    drop(tx);
    // A second run finds nothing left.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    assert!(matches!(
        sepa::run(&tx, Utc::now(), "staff@test").await,
        Err(billing::BillingError::Refused(_))
    ));
    drop(tx);

    // The next collection of a mandate is RCUR, and the old format validates too.
    debit_settings(&app.state, &t, "02").await;
    let ia2 = invoice_of(&app.state, &t, &a, "5.00").await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let run2 = sepa::run(&tx, Utc::now() + Duration::seconds(1), "staff@test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(run2.items, 1);
    assert!(run2.xml.contains("<SeqTp>RCUR</SeqTp>"));
    assert_schema_valid(
        &run2.xml,
        "payments/schema/pain.008.001.02.xsd",
        "pain008-02",
    );
    // Returned before its collection date: nothing was paid, so nothing is
    // reversed; the fee is charged and the item stays open; the date passing
    // books nothing.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let of_a2 = sepa::items(&tx, &run2.id).await.unwrap().remove(0);
    assert_eq!(of_a2.status, "pending");
    payments::return_debit(&tx, &of_a2.end_to_end_id, "AM04", "staff@test")
        .await
        .unwrap();
    assert_eq!(
        sepa::settle_due(&tx, run2.collect_on + Duration::days(1), "schedule")
            .await
            .unwrap(),
        0
    );
    tx.commit().await.unwrap();
    let back = item(&app.state, &t, &ia2.id).await;
    assert_eq!(
        (back.status.as_str(), back.open_minor()),
        ("open", 595 + 450)
    );
    assert_eq!(balance(&app.state, &t, &a).await, -(595 + 450));

    // b's collection comes back for lack of funds (AM04) on an item already
    // dunned at level 2: open again with the 4.50 fee, the level kept, the
    // mandate still active.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let items = sepa::items(&tx, &run.id).await.unwrap();
    let of_b = items
        .iter()
        .find(|i| i.invoice_id == ib.id)
        .unwrap()
        .clone();
    let mut m: invoice::ActiveModel = item(&app.state, &t, &ib.id).await.into();
    m.dunning_level = Set(2);
    m.update(tx.conn()).await.unwrap();
    tx.commit().await.unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    payments::return_debit(&tx, &of_b.end_to_end_id, "AM04", "staff@test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let back = item(&app.state, &t, &ib.id).await;
    assert_eq!(back.status, "open");
    assert_eq!(back.fees_minor, 450);
    assert_eq!(back.dunning_level, 2);
    assert_eq!(back.open_minor(), 2_380 + 450);
    assert_eq!(balance(&app.state, &t, &b).await, -(2_380 + 450));
    // Returned twice: refused, nothing changes.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    assert!(matches!(
        payments::return_debit(&tx, &of_b.end_to_end_id, "AM04", "staff@test").await,
        Err(billing::BillingError::Refused(_))
    ));
    drop(tx);

    // a's return comes in a bank statement with reason MD06 (refund claimed):
    // the mandate is revoked.
    let of_a = items
        .iter()
        .find(|i| i.invoice_id == ia.id)
        .unwrap()
        .clone();
    let statement = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>M2</MsgId><CreDtTm>2026-12-05T08:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S2</Id><CreDtTm>2026-12-05T08:00:00</CreDtTm><Acct><Id><IBAN>DE02120300000000202051</IBAN></Id></Acct>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-05</Dt></Dt></Bal>
<Ntry><Amt Ccy="EUR">119.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-12-05</Dt></BookgDt>
<ValDt><Dt>2026-12-05</Dt></ValDt><AcctSvcrRef>RET-1</AcctSvcrRef><BkTxCd/>
<NtryDtls><TxDtls><Refs><EndToEndId>{}</EndToEndId></Refs><RtrInf><Rsn><Cd>MD06</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>
</Stmt></BkToCstmrStmt></Document>"#,
        of_a.end_to_end_id
    );
    assert_schema_valid(
        &statement,
        "payments/schema/camt.053.001.02.xsd",
        "camt-return",
    );
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let imp = camt::import(&tx, "ret.xml", &statement, "staff@test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(imp.booked, 1);
    assert_eq!(item(&app.state, &t, &ia.id).await.status, "open");
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let a_now = customer::Entity::find_by_id(a.id.clone())
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a_now.debit_status, "REVOKED");
    drop(tx);

    // Another reseller cannot return this reseller's collection.
    let other = setup(&app, "Beta", "beta.test").await;
    let tx = app.state.tenancy.begin(&other).await.unwrap();
    assert!(matches!(
        payments::return_debit(&tx, &of_a.end_to_end_id, "AM04", "x").await,
        Err(billing::BillingError::NotFound)
    ));
    drop(tx);
    reconcile(&app.state, &t).await;
    app.stop().await;
}

async fn set_due(state: &AppState, t: &Tenant, inv: &invoice::Model, due: chrono::DateTime<Utc>) {
    let tx = state.tenancy.begin(t).await.unwrap();
    let mut m: invoice::ActiveModel = inv.clone().into();
    m.due_at = Set(due);
    m.update(tx.conn()).await.unwrap();
    tx.commit().await.unwrap();
}

async fn dun(
    state: &AppState,
    t: &Tenant,
    at: chrono::DateTime<Utc>,
) -> payments::dunning_run::Model {
    let tx = state.tenancy.begin(t).await.unwrap();
    let r = dunning::run(&tx, at, "staff@test").await.unwrap();
    tx.commit().await.unwrap();
    r
}

#[tokio::test]
async fn dunning_moves_items_up_with_fees_and_interest_once_a_day() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let a = customer(&app.state, &t, NewCustomer::default()).await;
    let mut kinds = Vec::new();
    for (email, kind) in [("b@example.de", "reminder_only"), ("n@example.de", "none")] {
        let c = customer(
            &app.state,
            &t,
            NewCustomer {
                email,
                ..Default::default()
            },
        )
        .await;
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        let mut m: customer::ActiveModel = c.into();
        m.dunning_type = Set(kind.into());
        kinds.push(m.update(tx.conn()).await.unwrap());
        tx.commit().await.unwrap();
    }
    let now = Utc::now();
    let ia = invoice_of(&app.state, &t, &a, "100.00").await;
    let ib = invoice_of(&app.state, &t, &kinds[0], "10.00").await;
    let inn = invoice_of(&app.state, &t, &kinds[1], "10.00").await;
    for inv in [&ia, &ib, &inn] {
        set_due(&app.state, &t, inv, now - Duration::days(10)).await;
    }

    // The preview shows the reminders without writing anything.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let preview = dunning::plan(&tx, now).await.unwrap();
    drop(tx);
    assert_eq!(preview.len(), 2, "{preview:?}");
    assert!(preview.iter().all(|l| l.level == 1 && l.fee_minor == 0));
    assert_eq!(item(&app.state, &t, &ia.id).await.dunning_level, 0);

    let r1 = dun(&app.state, &t, now).await;
    assert_eq!((r1.letters, r1.fees_minor, r1.interest_minor), (2, 0, 0));
    assert_eq!(item(&app.state, &t, &ia.id).await.dunning_level, 1);
    assert_eq!(item(&app.state, &t, &inn.id).await.dunning_level, 0);
    // Twice the same day: no second letter, no fee.
    let again = dun(&app.state, &t, now + Duration::minutes(5)).await;
    assert_eq!((again.letters, again.fees_minor), (0, 0));
    // A run that wrote nothing is not listed.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let listed = dunning::runs(&tx).await.unwrap();
    drop(tx);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].letters, 2);

    // 15 days later (25 days overdue): the first notice with its 5.00 fee and
    // interest at base rate 1.27 + 5 points for a consumer: 119.00 x 6.27 % x
    // 25 / 365 = 0.511 -> 0.51. The reminder-only customer gets nothing more.
    let later = now + Duration::days(15);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let preview = dunning::plan(&tx, later).await.unwrap();
    drop(tx);
    assert_eq!(preview.len(), 1);
    assert_eq!(preview[0].total_minor, 11_900 + 51 + 500);
    let r2 = dun(&app.state, &t, later).await;
    assert_eq!((r2.letters, r2.fees_minor, r2.interest_minor), (1, 500, 51));
    let a2 = item(&app.state, &t, &ia.id).await;
    assert_eq!(
        (a2.dunning_level, a2.fees_minor, a2.interest_minor),
        (2, 500, 51)
    );
    assert_eq!(item(&app.state, &t, &ib.id).await.dunning_level, 1);
    assert_eq!(balance(&app.state, &t, &a).await, -(11_900 + 551));

    // The letters are delivered by mail with the PDF.
    relabel_tests::billing::run_jobs(&app, &t).await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let letters = dunning::letters_of(&tx, &a.id).await.unwrap();
    drop(tx);
    assert_eq!(letters.len(), 2);
    let notice = &letters[0];
    assert_eq!(notice.level, 2);
    assert!(notice.delivered_at.is_some());
    let pdf = notice.pdf.clone().unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    if let Some(text) = relabel_tests::billing::pdf_text(&pdf) {
        assert!(text.contains(&ia.number), "{text}");
        assert!(text.contains(&a.number), "{text}");
    }
    if let Some(text) = relabel_tests::billing::pdf_layout_text(&pdf) {
        // Its printed figures add up: the item row (open before, interest),
        // then open items + interest + fee = the amount payable.
        use relabel_tests::billing::printed_amounts;
        let de = text.contains("Verzugszinsen");
        let label = |de_: &'static str, en: &'static str| if de { de_ } else { en };
        let row = printed_amounts(&text, &ia.number);
        assert!(row.len() >= 2, "{row:?}\n{text}");
        assert_eq!(row[row.len() - 2..], [11_900, 51], "{text}");
        let open = printed_amounts(&text, label("Offene Posten", "Open items"));
        let interest = printed_amounts(&text, label("Verzugszinsen", "Default interest"));
        let fee = printed_amounts(&text, label("Mahngebühr", "Dunning fee"));
        let payable = printed_amounts(&text, label("Zu zahlen", "Amount due"));
        assert_eq!(
            (open, interest, fee),
            (vec![11_900], vec![51], vec![500]),
            "{text}"
        );
        assert_eq!(payable.last(), Some(&(11_900 + 51 + 500)), "{text}");
    }

    // Staff waive the fee with a reason and mark a court order: no more letters.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let bad = dunning::adjust(&tx, &ia.id, "fee", "-5.00", " ", "staff@test")
        .await
        .unwrap_err();
    assert_eq!(fields(bad), ["reason"]);
    let waived = dunning::adjust(&tx, &ia.id, "fee", "-9.00", "goodwill", "staff@test")
        .await
        .unwrap();
    assert_eq!(waived.fees_minor, 0);
    dunning::court_order(&tx, &ia.id, "staff@test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(balance(&app.state, &t, &a).await, -(11_900 + 51));
    let r3 = dun(&app.state, &t, now + Duration::days(40)).await;
    assert_eq!(r3.letters, 0);
    reconcile(&app.state, &t).await;
    app.stop().await;
}

#[tokio::test]
async fn staff_and_api_keys_use_payments_over_http() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let tb = setup(&app, "Beta", "beta.test").await;
    let c = customer(&app.state, &t, NewCustomer::default()).await;
    let inv = invoice_of(&app.state, &t, &c, "100.00").await;
    let other = customer(&app.state, &tb, NewCustomer::default()).await;

    // API: bad input names the field; a payment settles the item; another
    // reseller's key does not see the customer.
    let key = app
        .api_key("alpha.test", &["payments:read", "payments:write"])
        .await;
    let api = |path: &str| app.url("alpha.test", &format!("/api/v1{path}"));
    let client = app.client();
    let r = client
        .post(api(&format!("/customers/cus_{}/payments", c.id)))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "amount": "abc" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["details"][0]["field"], "amount", "{body}");
    let r = client
        .post(api(&format!("/customers/cus_{}/payments", c.id)))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "amount": "19.00", "reference": inv.number, "external_id": "tx-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let paid: serde_json::Value = r.json().await.unwrap();
    assert_eq!(paid["invoice_id"], format!("inv_{}", inv.id));
    // The same external id again: refused, nothing booked.
    let r = client
        .post(api(&format!("/customers/cus_{}/payments", c.id)))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "amount": "19.00", "external_id": "tx-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let items: serde_json::Value = client
        .get(api(&format!("/open-items?customer_id=cus_{}", c.id)))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(items[0]["open_minor"], 11_900 - 1_900, "{items}");
    let r = client
        .post(api(&format!("/customers/cus_{}/payments", other.id)))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "amount": "1.00" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let read_only = app.api_key("alpha.test", &["payments:read"]).await;
    let r = client
        .post(api("/dunning-runs"))
        .bearer_auth(&read_only)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Console: the receivables page, a statement upload booking the rest, and
    // the payment on the customer overview.
    let staff = app.client();
    relabel_tests::login(
        &staff,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "owner-password-1",
    )
    .await;
    let page = staff
        .get(app.url("alpha.test", "/console/payments"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("100,00 EUR"), "{page}");
    let token = relabel_tests::input_value(&page, "csrf").unwrap();
    let file = relabel_tests::billing::camt_file(
        "DE02120300000000202051",
        &[
            ("100.00", "EUR", &inv.number, "WEB-1"),
            ("3.00", "EUR", "unknown", "WEB-2"),
        ],
    );
    let form = reqwest::multipart::Form::new()
        .text("csrf", token.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(file.into_bytes()).file_name("stmt.xml"),
        );
    let r = staff
        .post(app.url("alpha.test", "/console/payments/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(item(&app.state, &t, &inv.id).await.status, "paid");
    let page = staff
        .get(app.url("alpha.test", "/console/payments"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("unknown"),
        "the unmatched line waits for review"
    );
    // Bad settings: the error names the field, nothing saved.
    let r = staff
        .post(app.url("alpha.test", "/console/payments/settings"))
        .form(&[
            ("csrf", token.as_str()),
            ("creditor_id", "XX00"),
            ("debit_delay_days", "3"),
            ("debit_lead_days", "2"),
            ("return_fee", "5.00"),
            ("sepa_version", "08"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let settings = staff
        .get(app.url("alpha.test", "/console/payments/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(settings.contains("creditor_id: "), "{settings}");
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
    assert!(
        overview.contains("19,00 EUR") && overview.contains("100,00 EUR"),
        "{overview}"
    );
    // Beta's customer is not reachable from alpha's console.
    let r = staff
        .post(app.url(
            "alpha.test",
            &format!("/console/payments/customers/{}", other.id),
        ))
        .form(&[("csrf", token.as_str()), ("amount", "1.00")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn customers_pay_through_stripe_and_webhooks_book_once() {
    let (peer, calls) = stripe_peer().await;
    let app = spawn_app_with(|c| c.stripe_api_url = peer.clone()).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let tb = setup(&app, "Beta", "beta.test").await;
    let c = customer(&app.state, &t, NewCustomer::default()).await;
    let inv = invoice_of(&app.state, &t, &c, "100.00").await;
    // Bad keys name the field; good ones are stored sealed.
    for (tenant, secret) in [(&t, "whsec_alpha"), (&tb, "whsec_beta")] {
        let tx = app.state.tenancy.begin(tenant).await.unwrap();
        let bad = payments::stripe::save_keys(&app.state, &tx, "pk_x", "sk_test_1", "whsec_1")
            .await
            .unwrap_err();
        assert_eq!(fields(bad), ["stripe_publishable"]);
        payments::stripe::save_keys(&app.state, &tx, "pk_test_1", "sk_test_secret", secret)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let s = billing::settings(&tx).await.unwrap();
    drop(tx);
    assert!(!s.stripe_secret.clone().unwrap().contains("sk_test_secret"));
    assert!(s.stripe_secret.unwrap().starts_with("v1:"));

    // The customer pays the invoice: a Checkout Session on the reseller's
    // account, for the open amount, with the invoice in its metadata.
    let shop = app.client();
    relabel_tests::billing::customer_login(&app, &t, &c, "alpha.test", &shop).await;
    let page = shop
        .get(app.url("alpha.test", "/account/invoices"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = relabel_tests::input_value(&page, "csrf").unwrap();
    let r = shop
        .post(app.url("alpha.test", "/account/pay"))
        .form(&[("csrf", token.as_str()), ("invoice", inv.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "https://checkout.stripe.test/c/pay/cs_test_1"
    );
    {
        let log = calls.lock().unwrap();
        let (path, key, form) = &log[0];
        assert_eq!(path, "/v1/checkout/sessions");
        assert_eq!(key, "Bearer sk_test_secret");
        let get = |k: &str| form.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
        assert_eq!(
            get("line_items[0][price_data][unit_amount]").as_deref(),
            Some("11900")
        );
        assert_eq!(
            get("metadata[invoice_id]").as_deref(),
            Some(inv.id.as_str())
        );
        assert_eq!(get("metadata[tenant]").as_deref(), Some(t.id.as_str()));
        assert_eq!(get("mode").as_deref(), Some("payment"));
    }
    // Another customer's (or reseller's) invoice cannot be paid from here.
    let r = shop
        .post(app.url("alpha.test", "/account/pay"))
        .form(&[
            ("csrf", token.as_str()),
            ("invoice", "0".repeat(32).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Stripe's callback: the completed session.
    let event = serde_json::json!({
        "id": "evt_1", "type": "checkout.session.completed", "created": 1_700_000_000,
        "data": {"object": {"id": "cs_test_1", "object": "checkout.session", "payment_status": "paid",
            "amount_total": 11_900, "currency": "eur", "payment_intent": "pi_1", "payment_method_types": ["card"],
            "metadata": {"tenant": t.id.as_str(), "customer_id": c.id, "invoice_id": inv.id}}}
    })
    .to_string();
    let hook = |tenant: &Tenant| app.url("localhost", &format!("/hooks/stripe/{}", tenant.id));
    let now = Utc::now().timestamp();
    let client = app.client();
    let post = |url: String, sig: String, body: String| {
        let client = client.clone();
        async move {
            client
                .post(url)
                .header("stripe-signature", sig)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Wrong secret, old timestamp, another reseller's endpoint: 400, nothing booked.
    assert_eq!(
        post(hook(&t), signed("whsec_wrong", now, &event), event.clone()).await,
        400
    );
    assert_eq!(
        post(
            hook(&t),
            signed("whsec_alpha", now - 301, &event),
            event.clone()
        )
        .await,
        400
    );
    assert_eq!(
        post(hook(&tb), signed("whsec_beta", now, &event), event.clone()).await,
        400
    );
    assert_eq!(item(&app.state, &t, &inv.id).await.status, "open");
    // The same event five times at once: booked once.
    let sig = signed("whsec_alpha", now, &event);
    let results =
        futures::future::join_all((0..5).map(|_| post(hook(&t), sig.clone(), event.clone()))).await;
    assert!(results.iter().all(|s| *s == 200), "{results:?}");
    let paid = item(&app.state, &t, &inv.id).await;
    assert_eq!((paid.status.as_str(), paid.settled_minor), ("paid", 11_900));
    assert_eq!(balance(&app.state, &t, &c).await, 0);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let pays = payments::of_customer(&tx, &c.id).await.unwrap();
    drop(tx);
    assert_eq!(pays.len(), 1);
    assert_eq!(pays[0].method, "card");

    // A partial refund from the console goes to Stripe and is booked.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let too_much = payments::stripe::refund(&app.state, &tx, &pays[0].id, "200.00", "staff")
        .await
        .unwrap_err();
    assert_eq!(fields(too_much), ["amount"]);
    payments::stripe::refund(&app.state, &tx, &pays[0].id, "5.00", "staff")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(balance(&app.state, &t, &c).await, -500);
    {
        let log = calls.lock().unwrap();
        let (path, _, form) = log.last().unwrap();
        assert_eq!(path, "/v1/refunds");
        assert!(
            form.contains(&("payment_intent".into(), "pi_1".into())),
            "{form:?}"
        );
        assert!(form.contains(&("amount".into(), "500".into())), "{form:?}");
    }

    // A top-up by SEPA debit through Stripe: the completed session is still
    // unpaid (nothing booked); the later async success books it on the balance
    // as a SEPA payment.
    let session = |kind: &str, id: &str, status: &str| {
        serde_json::json!({
            "id": id, "type": kind, "created": 1_700_000_100,
            "data": {"object": {"id": "cs_test_2", "object": "checkout.session", "payment_status": status,
                "amount_total": 5_000, "currency": "eur", "payment_intent": "pi_2",
                "payment_method_types": ["card", "sepa_debit"],
                "metadata": {"tenant": t.id.as_str(), "customer_id": c.id}}}
        })
        .to_string()
    };
    let pending = session("checkout.session.completed", "evt_2", "unpaid");
    assert_eq!(
        post(hook(&t), signed("whsec_alpha", now, &pending), pending).await,
        200
    );
    assert_eq!(balance(&app.state, &t, &c).await, -500, "not paid yet");
    let done = session("checkout.session.async_payment_succeeded", "evt_3", "paid");
    assert_eq!(
        post(hook(&t), signed("whsec_alpha", now, &done), done).await,
        200
    );
    assert_eq!(
        balance(&app.state, &t, &c).await,
        4_500,
        "the top-up is on the balance"
    );
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let pays = payments::of_customer(&tx, &c.id).await.unwrap();
    drop(tx);
    assert!(
        pays.iter()
            .any(|p| p.method == "sepa_debit" && p.amount_minor == 5_000),
        "{pays:?}"
    );

    // The same payment intent under a new event id: acknowledged, booked once.
    let again = event.replace("evt_1", "evt_4");
    assert_eq!(
        post(hook(&t), signed("whsec_alpha", now, &again), again).await,
        200
    );
    let count = |state: &relabel_platform::app::AppState| {
        let (state, t, c) = (state.clone(), t.clone(), c.id.clone());
        async move {
            let tx = state.tenancy.begin(&t).await.unwrap();
            payments::of_customer(&tx, &c).await.unwrap().len()
        }
    };
    assert_eq!(count(&app.state).await, 2);

    // A second payment for the invoice already paid (another tab), sent to the
    // API's `ten_...` form of the address: booked as an over-payment on the
    // balance, with a reference that says so.
    let second = event
        .replace("evt_1", "evt_5")
        .replace("pi_1", "pi_3")
        .replace("cs_test_1", "cs_test_3");
    let prefixed = app.url(
        "localhost",
        &format!(
            "/hooks/stripe/{}",
            relabel_platform::resellers::public_id(&t.id)
        ),
    );
    let before = balance(&app.state, &t, &c).await;
    assert_eq!(
        post(prefixed, signed("whsec_alpha", now, &second), second).await,
        200
    );
    assert_eq!(balance(&app.state, &t, &c).await, before + 11_900);
    assert_eq!(count(&app.state).await, 3);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let over = payments::of_customer(&tx, &c.id)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.external_id.as_deref() == Some("stripe:pi_3"))
        .unwrap();
    drop(tx);
    assert_eq!(over.invoice_id, None);
    assert!(
        over.reference
            .as_deref()
            .unwrap_or_default()
            .contains("already paid"),
        "{over:?}"
    );

    // A refusal is a sentence, never a message key.
    let bad = event
        .replace("evt_1", "evt_6")
        .replace("pi_1", "pi_6")
        .replace("11900", "-5");
    let r = client
        .post(hook(&t))
        .header("stripe-signature", signed("whsec_alpha", now, &bad))
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(!text.contains("err."), "{text}");
    assert!(
        text.contains("amount: ") && text.contains("negative"),
        "{text}"
    );
    reconcile(&app.state, &t).await;
    app.stop().await;
}

#[tokio::test]
async fn the_daily_schedule_runs_dunning_and_debits_when_turned_on() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let late = customer(&app.state, &t, NewCustomer::default()).await;
    let inv = invoice_of(&app.state, &t, &late, "10.00").await;
    set_due(&app.state, &t, &inv, Utc::now() - Duration::days(10)).await;
    let debtor = debit_customer(&app.state, &t, "d@example.de").await;
    let due = invoice_of(&app.state, &t, &debtor, "20.00").await;
    let schedule = |key: &'static str| {
        let state = app.state.clone();
        let t = t.clone();
        async move {
            let tx = state.tenancy.begin(&t).await.unwrap();
            relabel_platform::jobs::enqueue(
                &tx,
                relabel_platform::jobs::NewJob {
                    kind: billing::run::SCHEDULE,
                    reference: "periodic",
                    key,
                    payload: serde_json::json!({}),
                    run_after: None,
                },
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
    };
    // Off by default: the schedule leaves both alone.
    debit_settings(&app.state, &t, "08").await;
    schedule("a").await;
    relabel_tests::billing::run_jobs(&app, &t).await;
    assert_eq!(item(&app.state, &t, &inv.id).await.dunning_level, 0);
    assert_eq!(item(&app.state, &t, &due.id).await.status, "open");
    // On: one reminder and one collection, however often it fires that day.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let input = [
        ("creditor_id", "DE98ZZZ09999999999"),
        ("debit_delay_days", "0"),
        ("debit_lead_days", "2"),
        ("return_fee", "4.50"),
        ("sepa_version", "08"),
        ("auto_debit", "on"),
        ("auto_dunning", "on"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    payments::save_settings(&tx, &input).await.unwrap();
    tx.commit().await.unwrap();
    for key in ["b", "c"] {
        schedule(key).await;
        relabel_tests::billing::run_jobs(&app, &t).await;
    }
    assert_eq!(item(&app.state, &t, &inv.id).await.dunning_level, 1);
    // Collected on its date: pending until then.
    assert_eq!(item(&app.state, &t, &due.id).await.status, "open");
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    assert!(sepa::pending(&tx).await.unwrap().contains_key(&due.id));
    sepa::settle_due(&tx, Utc::now() + Duration::days(2), "schedule")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(item(&app.state, &t, &due.id).await.status, "paid");
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    assert_eq!(dunning::letters_of(&tx, &late.id).await.unwrap().len(), 1);
    assert_eq!(sepa::runs(&tx).await.unwrap().len(), 1);
    drop(tx);
    reconcile(&app.state, &t).await;
    app.stop().await;
}

#[tokio::test]
async fn the_api_runs_debits_and_dunning_and_serves_their_documents() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let _tb = setup(&app, "Beta", "beta.test").await;
    debit_settings(&app.state, &t, "08").await;
    let lena = debit_customer(&app.state, &t, "lena@example.com").await;
    let debit_inv = invoice_of(&app.state, &t, &lena, "50.00").await;
    let jonas = customer(
        &app.state,
        &t,
        NewCustomer {
            email: "jonas@example.com",
            ..Default::default()
        },
    )
    .await;
    let late = invoice_of(&app.state, &t, &jonas, "100.00").await;
    set_due(
        &app.state,
        &t,
        &late,
        Utc::now() - chrono::Duration::days(10),
    )
    .await;
    let key = app
        .api_key("alpha.test", &["payments:read", "payments:write"])
        .await;
    let beta_key = app
        .api_key("beta.test", &["payments:read", "payments:write"])
        .await;
    let client = app.client();
    let api = |host: &str, path: &str| app.url(host, &format!("/api/v1{path}"));
    let get = |url: String, key: String| {
        let client = client.clone();
        async move { client.get(url).bearer_auth(key).send().await.unwrap() }
    };
    let post = |url: String, key: String, body: serde_json::Value| {
        let client = client.clone();
        async move {
            client
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };

    // A debit run collects Lena; its file is served, to alpha only.
    let r = post(
        api("alpha.test", "/debit-runs"),
        key.clone(),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let run: serde_json::Value = r.json().await.unwrap();
    assert_eq!(run["items"], 1, "{run}");
    assert_eq!(run["total_minor"], debit_inv.gross_minor);
    let runs: serde_json::Value = get(api("alpha.test", "/debit-runs"), key.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1);
    let id = run["id"].as_str().unwrap();
    let xml = get(
        api("alpha.test", &format!("/debit-runs/{id}/xml")),
        key.clone(),
    )
    .await;
    assert_eq!(xml.status(), 200);
    assert_eq!(xml.headers()["content-type"], "application/xml");
    assert!(
        xml.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with(".pain.008.001.08.xml\""),
        "{:?}",
        xml.headers()
    );
    let xml = xml.text().await.unwrap();
    assert!(
        xml.contains("pain.008.001.08") && xml.contains("<MndtId>M-lena"),
        "{xml}"
    );
    assert_eq!(
        get(
            api("beta.test", &format!("/debit-runs/{id}/xml")),
            beta_key.clone()
        )
        .await
        .status(),
        404
    );
    // Pending until the collection date, as the API says; then paid.
    let reader = app.api_key("alpha.test", &["invoices:read"]).await;
    let doc: serde_json::Value = get(
        api("alpha.test", &format!("/invoices/inv_{}", debit_inv.id)),
        reader,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(doc["status"], "open", "{doc}");
    assert_eq!(
        doc["collect_on"],
        (Utc::now() + Duration::days(2)).date_naive().to_string(),
        "{doc}"
    );
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    sepa::settle_due(&tx, Utc::now() + Duration::days(2), "schedule")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(item(&app.state, &t, &debit_inv.id).await.status, "paid");

    // Her bank returns it: a bad reason names the field, AM04 reopens the item
    // with the fee; beta cannot return alpha's debit.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let e2e = payments::debit_item::Entity::find()
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap()
        .end_to_end_id;
    drop(tx);
    let path = format!("/debit-items/{e2e}/return");
    let r = post(
        api("alpha.test", &path),
        key.clone(),
        serde_json::json!({ "reason": "XX" }),
    )
    .await;
    assert_eq!(r.status(), 422);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["details"][0]["field"], "reason", "{body}");
    assert_eq!(
        post(
            api("beta.test", &path),
            beta_key.clone(),
            serde_json::json!({ "reason": "AM04" })
        )
        .await
        .status(),
        404
    );
    let r = post(
        api("alpha.test", &path),
        key.clone(),
        serde_json::json!({ "reason": "AM04" }),
    )
    .await;
    assert_eq!(r.status(), 200);
    let reopened = item(&app.state, &t, &debit_inv.id).await;
    assert_eq!(reopened.status, "open");
    assert_eq!(reopened.fees_minor, 450);
    assert_eq!(
        post(
            api("alpha.test", &path),
            key.clone(),
            serde_json::json!({ "reason": "AM04" })
        )
        .await
        .status(),
        409,
        "returned once"
    );

    // Payments of a customer are listed (the debit and its return).
    let pays: serde_json::Value = get(
        api(
            "alpha.test",
            &format!("/customers/cus_{}/payments", lena.id),
        ),
        key.clone(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(pays.as_array().unwrap().len(), 1, "{pays}");
    assert_eq!(pays[0]["method"], "sepa_debit");

    // Jonas gets his documents by post: the letter goes to the print-mail service.
    let (peer, posted) = relabel_tests::billing::printmail_peer().await;
    let tx = app.state.tenancy.begin_write(&t).await.unwrap();
    let mut bs: billing::billing_settings::ActiveModel =
        billing::settings(&tx).await.unwrap().into();
    bs.print_mail_url = Set(Some(peer));
    bs.update(tx.conn()).await.unwrap();
    let mut m: customer::ActiveModel = jonas.clone().into();
    m.invoice_delivery = Set("postal".into());
    m.update(tx.conn()).await.unwrap();
    tx.commit().await.unwrap();

    // A dunning run reminds Jonas; its letter is listed and served as PDF.
    let r = post(
        api("alpha.test", "/dunning-runs"),
        key.clone(),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let run: serde_json::Value = r.json().await.unwrap();
    assert!(run["letters"].as_i64().unwrap() >= 1, "{run}");
    let again: serde_json::Value = post(
        api("alpha.test", "/dunning-runs"),
        key.clone(),
        serde_json::json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(again["letters"], 0, "once a day");
    // The run that wrote nothing is not listed.
    let runs: serde_json::Value = get(api("alpha.test", "/dunning-runs"), key.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1);
    let letters: serde_json::Value = get(
        api(
            "alpha.test",
            &format!("/customers/cus_{}/dunning-letters", jonas.id),
        ),
        key.clone(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(letters[0]["level"], 1, "{letters}");
    let lid = letters[0]["id"].as_str().unwrap();
    relabel_tests::billing::run_jobs(&app, &t).await;
    let got = posted.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one letter by post");
    assert_eq!(got[0]["reference"], format!("{}:dunning:{lid}", t.id));
    assert!(
        got[0]["pdf_base64"]
            .as_str()
            .unwrap()
            .starts_with("JVBERi0"),
        "the letter's PDF"
    );
    let pdf = get(
        api("alpha.test", &format!("/dunning-letters/{lid}/pdf")),
        key.clone(),
    )
    .await;
    assert_eq!(pdf.status(), 200);
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    assert_eq!(
        get(
            api("beta.test", &format!("/dunning-letters/{lid}/pdf")),
            beta_key.clone()
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        get(
            api(
                "beta.test",
                &format!("/customers/cus_{}/dunning-letters", jonas.id)
            ),
            beta_key
        )
        .await
        .status(),
        404
    );
    app.stop().await;
}
