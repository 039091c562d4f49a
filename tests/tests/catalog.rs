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
        Some("product_id,kind,name,tld,action,period_months,currency,amount")
    );
    assert!(csv.contains("domain-de,domain,\".de\",de,register,12,EUR,3.49"));
    assert!(csv.contains(
        "hosting-pro,hosting,\"Hosting Pro (200 GB, unlimited domains)\",,monthly_fee,1,EUR,9.99"
    ));
    app.stop().await;
}
