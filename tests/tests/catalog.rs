//! The operator's wholesale catalog: demo seed, console page, CSV export.

use relabel_tests::{spawn_app, unescape};

#[tokio::test]
async fn the_demo_catalog_is_shown_and_exported_to_operators_only() {
    let app = spawn_app().await;
    let db = app.state.tenancy.backend().shared();
    let added = relabel_platform::catalog::seed_demo(db).await.unwrap();
    assert!(added >= 46, "40+ TLDs and 6 products, got {added}");
    assert_eq!(
        relabel_platform::catalog::seed_demo(db).await.unwrap(),
        0,
        "seeding again keeps what exists"
    );
    assert!(relabel_platform::catalog::tlds(db).await.unwrap().len() >= 40);

    let anonymous = app.client();
    assert_eq!(
        anonymous
            .get(app.url("localhost", "/operator/catalog.csv"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );

    let secret = app
        .operator("op@platform.test", "operator-password-1")
        .await;
    let client = app.client();
    app.operator_login(&client, "op@platform.test", "operator-password-1", &secret)
        .await;
    let page = unescape(
        &client
            .get(app.url("localhost", "/operator/catalog"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(page.contains(".de") && page.contains("3.49") && page.contains("de-admin"));
    assert!(page.contains("Hosting Starter") && page.contains("Site Builder"));

    let resp = client
        .get(app.url("localhost", "/operator/catalog.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = resp.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            relabel_platform::catalog::edit::CSV_HEADER
                .join(",")
                .as_str()
        )
    );
    assert!(csv.contains(
        "domain-de,domain,.de,yes,de,\"top10,europe\",yes,1,63,1,yes,30,de-admin,register,12,EUR,3.49"
    ));
    assert!(csv.contains(
        "hosting-pro,hosting,\"Hosting Pro (200 GB, unlimited domains)\",yes,,,,,,,,,,monthly_fee,1,EUR,9.99"
    ));
    app.stop().await;
}

/// Exports the catalog through the operator console.
async fn export(app: &relabel_tests::TestApp, client: &reqwest::Client) -> String {
    client
        .get(app.url("localhost", "/operator/catalog.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn import(
    app: &relabel_tests::TestApp,
    client: &reqwest::Client,
    csv: String,
) -> reqwest::Response {
    let token = relabel_tests::csrf(client, &app.url("localhost", "/operator/catalog")).await;
    let form = reqwest::multipart::Form::new().text("csrf", token).part(
        "file",
        reqwest::multipart::Part::text(csv)
            .file_name("catalog.csv")
            .mime_str("text/csv")
            .unwrap(),
    );
    client
        .post(app.url("localhost", "/operator/catalog/import"))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_catalog_csv_round_trips_and_a_bad_file_changes_nothing() {
    let app = spawn_app().await;
    let db = app.state.tenancy.backend().shared();
    relabel_platform::catalog::seed_demo(db).await.unwrap();
    let secret = app
        .operator("op@platform.test", "operator-password-1")
        .await;
    let client = app.client();
    app.operator_login(&client, "op@platform.test", "operator-password-1", &secret)
        .await;
    let original = export(&app, &client).await;

    // Re-importing the export changes nothing.
    let resp = import(&app, &client, original.clone()).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(export(&app, &client).await, original);

    // A file with errors: each reported with its line and field, nothing written.
    let header = relabel_platform::catalog::edit::CSV_HEADER.join(",");
    let bad = format!(
        "{header}\n\
         domain-de,domain,.de,yes,de,\"top10,europe\",yes,1,63,1,yes,30,de-admin,register,12,EUR,2.99\n\
         domain-new,domain,.new,yes,new,new-gtld,yes,1,63,1,yes,30,,register,12,EUR,-1\n\
         domain-new,domain,.new,yes,new,new-gtld,yes,1,63,1,yes,30,,renew,12,XYZ,1.001\n\
         hosting-x,hosting,X,maybe,,,,,,,,,,setup,0,EUR,0\n"
    );
    let resp = import(&app, &client, bad).await;
    assert_eq!(resp.status(), 422);
    let page = unescape(&resp.text().await.unwrap());
    assert!(page.contains("Nothing was imported: 4 problems."), "{page}");
    for needle in [
        "Line 3 · <code>amount</code>: Prices cannot be negative.",
        "Line 4 · <code>currency</code>: This currency is not supported",
        "Line 4 · <code>amount</code>: Use at most two decimals.",
        "Line 5 · <code>active</code>: Enter yes or no.",
    ] {
        assert!(page.contains(needle), "missing {needle}");
    }
    assert_eq!(export(&app, &client).await, original, "nothing was written");

    // A wrong header is refused before any line is read.
    let resp = import(&app, &client, "tld,price\nde,3.49\n".into()).await;
    assert_eq!(resp.status(), 422);

    // A good file: .de's register price changes, a new TLD with its rules appears.
    let good = format!(
        "{header}\n\
         domain-de,domain,.de,yes,de,\"top10,europe\",yes,1,63,1,yes,30,de-admin,register,12,EUR,2.99\n\
         domain-de,domain,.de,yes,de,\"top10,europe\",yes,1,63,1,yes,30,de-admin,renew,12,EUR,3.49\n\
         domain-new,domain,.new,yes,new,new-gtld,no,3,40,\"1,2\",no,20,,register,12,EUR,9.99\n"
    );
    let resp = import(&app, &client, good).await;
    assert_eq!(resp.status(), 303);
    let after = export(&app, &client).await;
    assert!(after.contains(",de-admin,register,12,EUR,2.99"));
    assert!(
        !after.contains(
            "domain-de,domain,.de,yes,de,\"top10,europe\",yes,1,63,1,yes,30,de-admin,transfer"
        ),
        "the .de set was replaced"
    );
    assert!(after.contains(
        "domain-new,domain,.new,yes,new,new-gtld,no,3,40,\"1,2\",no,20,,register,12,EUR,9.99"
    ));
    assert!(
        after.contains("domain-com,"),
        "products not in the file stay"
    );
    app.stop().await;
}

#[tokio::test]
async fn operators_edit_a_product_with_field_errors_in_place() {
    let app = spawn_app().await;
    relabel_platform::catalog::seed_demo(app.state.tenancy.backend().shared())
        .await
        .unwrap();
    let secret = app
        .operator("op@platform.test", "operator-password-1")
        .await;
    let client = app.client();
    app.operator_login(&client, "op@platform.test", "operator-password-1", &secret)
        .await;
    let url = app.url("localhost", "/operator/catalog/hosting-pro");
    let page = unescape(&client.get(&url).send().await.unwrap().text().await.unwrap());
    assert!(page.contains("Hosting Pro"));
    let token = relabel_tests::csrf(&client, &url).await;
    let post = |fields: Vec<(&str, &str)>| {
        let mut form: Vec<(String, String)> = fields
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        form.push(("csrf".into(), token.clone()));
        client.post(&url).form(&form).send()
    };
    let base = vec![
        ("kind", "hosting"),
        ("name", "Hosting Pro XL"),
        ("active", "1"),
        ("price.0.action", "monthly_fee"),
        ("price.0.period_months", "1"),
        ("price.0.currency", "EUR"),
    ];
    let mut bad = base.clone();
    bad.push(("price.0.amount", "1000000.01"));
    bad.extend([
        ("price.1.action", "monthly_fee"),
        ("price.1.period_months", "1"),
        ("price.1.currency", "EUR"),
        ("price.1.amount", "5"),
    ]);
    let resp = post(bad).await.unwrap();
    assert_eq!(resp.status(), 422);
    let page = unescape(&resp.text().await.unwrap());
    assert!(page.contains("Prices above 1,000,000.00 are not accepted."));
    assert!(page.contains("This price is given twice."));
    let mut good = base.clone();
    good.push(("price.0.amount", "10.99"));
    let resp = post(good).await.unwrap();
    assert_eq!(resp.status(), 303);
    let form = relabel_platform::catalog::edit::form_of(
        app.state.tenancy.backend().shared(),
        "hosting-pro",
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(form.name, "Hosting Pro XL");
    assert_eq!(form.prices.len(), 1);
    assert_eq!(form.prices[0].amount, "10.99");
    app.stop().await;
}
