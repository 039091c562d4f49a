//! GDPR for one end customer (issue 10, T1): staff download everything stored
//! about a customer and erase their personal data; invoices and bookings stay
//! as the law requires; erasure waits while a contract still runs; another
//! reseller's staff reach nothing.

use relabel_platform::customers::{self, Actor, CustomerInput, customer};
use relabel_platform::{billing, contacts, demo, payments};
use relabel_tests::{TestApp, login, spawn_app};
use sea_orm::EntityTrait;

async fn console(
    app: &TestApp,
    host: &str,
    email: &str,
    password: &str,
) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .resolve(host, app.addr)
        .build()
        .unwrap();
    let base = format!("http://{host}:{}", app.addr.port());
    login(&client, &format!("{base}/console/login"), email, password).await;
    (client, base)
}

#[tokio::test]
async fn staff_export_and_erase_a_customers_personal_data_and_invoices_stay() {
    let app = spawn_app().await;
    demo::seed(&app.state).await.unwrap();
    let alpha = app
        .state
        .tenancy
        .resolve("alpha.localhost")
        .await
        .unwrap()
        .unwrap();
    // Erika: a contact, an invoice (support work), a password.
    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    let erika = customers::create(
        &tx,
        &Actor {
            name: "test",
            ip: None,
        },
        &CustomerInput {
            first_name: Some("Erika".into()),
            last_name: Some("Mustermann".into()),
            street: Some("Heidestraße 17".into()),
            postal_code: Some("51147".into()),
            city: Some("Köln".into()),
            country: Some("DE".into()),
            email: Some("erika@example.de".into()),
            phone: Some("+49 221 1234567".into()),
            ..Default::default()
        },
        Some(&relabel_platform::auth::Password::parse("erika-password-1").unwrap()),
    )
    .await
    .unwrap();
    contacts::create(
        &tx,
        &erika.id,
        &contacts::ContactInput {
            first_name: "Gabi".into(),
            last_name: "Mustermann".into(),
            street: "Heidestraße 17".into(),
            postal_code: "51147".into(),
            city: "Köln".into(),
            country: "DE".into(),
            email: "gabi@example.de".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .unwrap();
    let invoice = billing::one_off(
        &tx,
        "Alpha Hosting",
        &erika.id,
        &[billing::OneOffLine {
            description: "Support".into(),
            quantity: "1".into(),
            unit_price: "50".into(),
            vat_rate: "19".into(),
        }],
        "",
        "test",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // The invoice is rendered and mailed to her.
    relabel_tests::billing::run_jobs(&app, &alpha).await;
    let number = customers::number_of(&erika).unwrap().to_owned();
    let (staff, base) = console(
        &app,
        "alpha.localhost",
        "owner@alpha.example",
        "alpha-demo-2026",
    )
    .await;
    let url = format!("{base}/console/customers/{}", erika.id);

    // The export: the record and what names her, no secrets.
    let rsp = staff
        .get(format!("{url}/privacy/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 200);
    assert!(
        rsp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let data: serde_json::Value = rsp.json().await.unwrap();
    let tables = &data["data"];
    assert_eq!(tables["customers"][0]["email"], "erika@example.de");
    assert!(tables["customers"][0].get("password_hash").is_none());
    assert_eq!(tables["contacts"][0]["first_name"], "Gabi");
    assert_eq!(tables["invoices"][0]["number"], invoice.number.as_str());
    assert!(
        tables["outbox"].as_array().is_some_and(|m| !m.is_empty()),
        "the mails sent to her"
    );

    let erase = |confirm: String| {
        let staff = staff.clone();
        let url = url.clone();
        async move {
            let page = staff.get(&url).send().await.unwrap().text().await.unwrap();
            let csrf = relabel_tests::input_value(&page, "csrf").unwrap();
            staff
                .post(format!("{url}/privacy/erase"))
                .form(&[("csrf", csrf.as_str()), ("confirm", confirm.as_str())])
                .send()
                .await
                .unwrap();
            let page = staff.get(&url).send().await.unwrap().text().await.unwrap();
            relabel_tests::unescape(&page)
        }
    };
    let record = |app: &TestApp| {
        let state = app.state.clone();
        let alpha = alpha.clone();
        let id = erika.id.clone();
        async move {
            let tx = state.tenancy.begin(&alpha).await.unwrap();
            customer::Entity::find_by_id(id)
                .one(tx.conn())
                .await
                .unwrap()
                .unwrap()
        }
    };
    // Without the number typed: nothing happens.
    let page = erase("wrong".into()).await;
    assert!(page.contains("Type the customer number exactly"), "{page}");
    assert_eq!(record(&app).await.email, "erika@example.de");
    // An open invoice: the contract still runs.
    let page = erase(number.clone()).await;
    assert!(page.contains("still has open invoices"));
    assert_eq!(record(&app).await.email, "erika@example.de");
    // Paid: erased.
    let tx = app.state.tenancy.begin_write(&alpha).await.unwrap();
    payments::record(
        &tx,
        &payments::PaymentInput {
            customer_id: erika.id.clone(),
            amount: "59.50".into(),
            method: "transfer".into(),
            invoice_id: invoice.id.clone(),
            ..Default::default()
        },
        "test",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // Ten euros too many: a credit balance the reseller owes her. Erasure waits
    // until it is refunded (here booked out), or nobody could be paid.
    let tx = app.state.tenancy.begin_write(&alpha).await.unwrap();
    payments::record(
        &tx,
        &payments::PaymentInput {
            customer_id: erika.id.clone(),
            amount: "10.00".into(),
            method: "transfer".into(),
            ..Default::default()
        },
        "test",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let page = erase(number.clone()).await;
    assert!(page.contains("has a credit balance"), "{page}");
    assert_eq!(record(&app).await.email, "erika@example.de");
    let tx = app.state.tenancy.begin_write(&alpha).await.unwrap();
    billing::manual_entry(
        &tx,
        &erika.id,
        "refund",
        "-10.00",
        "refunded by transfer",
        "test",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let page = erase(number.clone()).await;
    assert!(page.contains("personal data was erased"), "{page}");
    // The change log still says what was done, but no longer who she is.
    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    let log = relabel_platform::audit::entity_log(&tx, Some(&erika.id), 100)
        .await
        .unwrap();
    drop(tx);
    assert!(log.iter().any(|e| e.action == "customer.erase"));
    assert!(log.len() >= 2, "{log:?}");
    let text = format!("{log:?}");
    for personal in [
        "Erika",
        "Mustermann",
        "Heidestraße",
        "51147",
        "erika@example.de",
        "1234567",
    ] {
        assert!(
            !text.contains(personal),
            "{personal} left in the change log: {text}"
        );
    }
    let gone = record(&app).await;
    assert_eq!(gone.first_name, "");
    assert_eq!(gone.street, "");
    assert!(gone.phone.is_none() && gone.password_hash.is_none());
    assert!(gone.email.ends_with("@erased.invalid"));
    assert!(gone.locked_at.is_some());
    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    assert!(contacts::list(&tx, &erika.id).await.unwrap().is_empty());
    let mails = relabel_platform::mail::recent(&tx, 100).await.unwrap();
    assert!(
        !mails.iter().any(|m| m.to_addr == "erika@example.de"),
        "mails to her are gone"
    );
    // The invoice stays, with the address printed on it.
    let kept = billing::invoice::Entity::find_by_id(invoice.id.clone())
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap();
    assert!(kept.buyer.contains("Erika"), "{}", kept.buyer);
    assert!(kept.pdf.is_some(), "the rendered document stays");
    drop(tx);
    // She can no longer sign in to the customer center.
    let shop = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .resolve("alpha.localhost", app.addr)
        .build()
        .unwrap();
    let login_url = format!("{base}/account/login");
    let rsp = login(&shop, &login_url, "erika@example.de", "erika-password-1").await;
    assert_ne!(rsp.status(), 303, "no session for an erased customer");

    // Beta's staff reach nothing of alpha's customers.
    let (other, beta_base) = console(
        &app,
        "beta.localhost",
        "owner@beta.example",
        "beta-demo-2026",
    )
    .await;
    let rsp = other
        .get(format!(
            "{beta_base}/console/customers/{}/privacy/export",
            erika.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 404);
    app.stop().await;
}
