//! The reseller's pricing pages (catalog enablement, price classes with the matrix
//! editor, coupons, tax settings, customer terms) and the pricing API, on the demo.

use relabel_platform::customers::{self, Actor, CustomerInput};
use relabel_platform::pricing;
use relabel_tests::{TestApp, spawn_app, unescape};
use serde_json::{Value, json};

const ALPHA: &str = "alpha.localhost";

async fn owner(app: &TestApp) -> reqwest::Client {
    let client = app.client();
    let resp = relabel_tests::login(
        &client,
        &app.url(ALPHA, "/console/login"),
        "owner@alpha.example",
        "alpha-demo-2026",
    )
    .await;
    assert_eq!(resp.status(), 303);
    client
}

/// Posts a console form (with a fresh CSRF token from `page`).
async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let token = relabel_tests::csrf(client, &app.url(ALPHA, page)).await;
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf", &token));
    client
        .post(app.url(ALPHA, action))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn text(resp: reqwest::Response) -> String {
    unescape(&resp.text().await.unwrap())
}

async fn storefront_prices(app: &TestApp) -> String {
    text(
        app.client()
            .get(app.url(ALPHA, "/prices?lang=en"))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn new_customer(app: &TestApp, email: &str, country: &str, vat_id: Option<&str>) -> String {
    let t = app.state.tenancy.resolve(ALPHA).await.unwrap().unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let input = CustomerInput {
        kind: Some(
            if vat_id.is_some() {
                "company"
            } else {
                "person"
            }
            .into(),
        ),
        company: vat_id.map(|_| "Firma GmbH".into()),
        vat_id: vat_id.map(str::to_owned),
        first_name: Some("Pat".into()),
        last_name: Some("Price".into()),
        street: Some("Weg 1".into()),
        postal_code: Some(if country == "AT" { "1010" } else { "10115" }.into()),
        city: Some("Stadt".into()),
        country: Some(country.into()),
        email: Some(email.into()),
        ..Default::default()
    };
    let c = customers::create(
        &tx,
        &Actor {
            name: "test",
            ip: None,
        },
        &input,
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    c.id
}

async fn class_id(app: &TestApp, name: &str) -> String {
    let t = app.state.tenancy.resolve(ALPHA).await.unwrap().unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    pricing::classes(&tx)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap()
        .id
}

#[tokio::test]
async fn resellers_enable_tlds_edit_the_class_matrix_and_set_tax_display() {
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let client = owner(&app).await;
    assert!(storefront_prices(&app).await.contains(">.de</th>"));

    // Disabling .de on a filtered page leaves the rest of the catalog alone.
    let resp = post(
        &app,
        &client,
        "/console/catalog",
        "/console/catalog",
        &[
            ("group", "europe"),
            ("shown", "domain-de"),
            ("shown", "domain-at"),
            ("enabled", "domain-at"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let list = storefront_prices(&app).await;
    assert!(
        !list.contains(">.de</th>") && list.contains(">.at</th>") && list.contains(">.com</th>")
    );
    // Something the operator does not offer: refused, nothing changed.
    let resp = post(
        &app,
        &client,
        "/console/catalog",
        "/console/catalog",
        &[("shown", "domain-nope"), ("enabled", "domain-nope")],
    )
    .await;
    assert_eq!(resp.status(), 422);
    assert!(text(resp).await.contains("not offered in the catalog"));
    let resp = post(
        &app,
        &client,
        "/console/catalog",
        "/console/catalog",
        &[("shown", "domain-de"), ("enabled", "domain-de")],
    )
    .await;
    assert_eq!(resp.status(), 303);

    // The matrix: one bad cell refuses the whole save.
    let a = class_id(&app, "Customers A").await;
    let matrix = format!("/console/price-classes/{a}");
    let page = text(client.get(app.url(ALPHA, &matrix)).send().await.unwrap()).await;
    assert!(page.contains("name=\"p.domain-de.register.12\""));
    let resp = post(
        &app,
        &client,
        &matrix,
        &matrix,
        &[
            ("p.domain-de.register.12", "4.00"),
            ("p.domain-de.renew.12", "4,001"),
            ("p.domain-de.transfer.12", "0"),
            ("p.domain-de.restore.12", "30"),
            ("p.domain-com.register.12", "-3"),
            ("p.domain-com.renew.12", "12"),
            ("p.domain-com.transfer.12", "12"),
            ("p.domain-com.restore.12", "90"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 422);
    let page = text(resp).await;
    assert!(page.contains("Nothing was saved: 2 fields need attention."));
    assert!(page.contains("Use at most two decimals."));
    assert!(page.contains("Prices cannot be negative."));
    assert!(page.contains("value=\"4,001\""), "typed values stay");
    assert!(
        storefront_prices(&app).await.contains("6.30"),
        "5.29 net unchanged"
    );

    // A good save (one price below cost: saved, and shown as a warning).
    let resp = post(
        &app,
        &client,
        &matrix,
        &matrix,
        &[
            ("p.domain-de.register.12", "3.00"),
            ("p.domain-de.renew.12", "5.00"),
            ("p.domain-de.transfer.12", "0"),
            ("p.domain-de.restore.12", "30"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let page = text(resp).await;
    assert!(page.contains("These prices are below your wholesale cost"));
    assert!(page.contains(".de · Registration 12: 3.00 < 3.49"));
    let row = |html: &str| {
        let at = html.find(">.de</th>").unwrap();
        html[at..at + html[at..].find("</tr>").unwrap()].to_owned()
    };
    // 3.00 net + 19 % = 3.57 gross.
    assert!(row(&storefront_prices(&app).await).contains("3.57"));

    // Tax settings: net display, and a bad rate refused.
    let resp = post(
        &app,
        &client,
        "/console/tax",
        "/console/tax",
        &[
            ("tax_country", "DE"),
            ("vat_rate", "45"),
            ("payment_term_days", "14"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 422);
    assert!(
        text(resp)
            .await
            .contains("Enter a VAT rate from 0 to 30 %.")
    );
    // Exempt 0 % lines need the reason printed on the invoice.
    let resp = post(
        &app,
        &client,
        "/console/tax",
        "/console/tax",
        &[
            ("tax_country", "DE"),
            ("vat_rate", "0"),
            ("payment_term_days", "14"),
            ("zero_rate", "exempt"),
            ("exemption_reason", ""),
        ],
    )
    .await;
    assert_eq!(resp.status(), 422);
    let page = text(resp).await;
    assert!(
        page.contains("Enter the reason the lines are exempt"),
        "{page}"
    );
    assert!(
        page.contains(r#"<option value="exempt" selected>"#),
        "{page}"
    );
    let resp = post(
        &app,
        &client,
        "/console/tax",
        "/console/tax",
        &[
            ("tax_country", "DE"),
            ("vat_rate", "19"),
            ("payment_term_days", "30"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let list = storefront_prices(&app).await;
    assert!(row(&list).contains("3.00"));
    assert!(list.contains("All prices net, plus 19% VAT."));
    app.stop().await;
}

#[tokio::test]
async fn classes_in_use_or_default_cannot_be_deleted_and_coupons_are_managed() {
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let client = owner(&app).await;
    let b = class_id(&app, "Customers B").await;
    let customer = new_customer(&app, "b@example.com", "DE", None).await;
    let t = app.state.tenancy.resolve(ALPHA).await.unwrap().unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let c = customers::get(&tx, &customer).await.unwrap();
    pricing::assign_class(&tx, "test", &c, Some(&b))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let list = "/console/price-classes";
    let page = text(client.get(app.url(ALPHA, list)).send().await.unwrap()).await;
    assert!(page.contains("Customers B"));
    let resp = post(&app, &client, list, &format!("{list}/{b}/delete"), &[]).await;
    assert_eq!(resp.status(), 422);
    assert!(text(resp).await.contains("still used by customers"));
    let a = class_id(&app, "Customers A").await;
    let resp = post(&app, &client, list, &format!("{list}/{a}/delete"), &[]).await;
    assert_eq!(resp.status(), 422);
    assert!(text(resp).await.contains("default class cannot be deleted"));
    // Bad names and currencies are refused by field.
    let resp = post(
        &app,
        &client,
        list,
        list,
        &[("name", ""), ("currency", "XYZ")],
    )
    .await;
    assert_eq!(resp.status(), 422);
    let page = text(resp).await;
    assert!(page.contains("Enter a name of 1 to 100 characters."));
    assert!(page.contains("This currency is not supported"));
    // A new class in CHF, unused: deleted.
    let resp = post(
        &app,
        &client,
        list,
        list,
        &[("name", "Swiss"), ("currency", "CHF")],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let swiss = class_id(&app, "Swiss").await;
    let resp = post(&app, &client, list, &format!("{list}/{swiss}/delete"), &[]).await;
    assert_eq!(resp.status(), 303);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    assert!(
        pricing::classes(&tx)
            .await
            .unwrap()
            .iter()
            .all(|c| c.name != "Swiss")
    );
    drop(tx);

    // Coupons: field errors, then created, listed and ended.
    let page = "/console/coupons";
    let resp = post(
        &app,
        &client,
        page,
        page,
        &[
            ("code", "x"),
            ("kind", "absolute"),
            ("value", "5"),
            ("currency", "EUR"),
            ("products", ".nope"),
            ("valid_until", "2026-02-30"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 422);
    let html = text(resp).await;
    assert!(html.contains("Use 3 to 32 letters, digits or hyphens."));
    assert!(html.contains("Unknown product or TLD in the list."));
    assert!(html.contains("Enter a date like"));
    // A real date in the past is refused for what it is, not as malformed.
    let resp = post(
        &app,
        &client,
        page,
        page,
        &[
            ("code", "late10"),
            ("kind", "percent"),
            ("value", "10"),
            ("valid_until", "2020-01-31"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 422);
    let html = text(resp).await;
    assert!(
        html.contains("must be after the start date and not in the past"),
        "{html}"
    );
    assert!(!html.contains("Enter a date like"));
    let resp = post(
        &app,
        &client,
        page,
        page,
        &[
            ("code", "welcome10"),
            ("kind", "percent"),
            ("value", "10"),
            ("products", ".de, .com"),
            ("actions", "register"),
            ("max_total", "100"),
            ("first_order_only", "1"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let html = text(client.get(app.url(ALPHA, page)).send().await.unwrap()).await;
    assert!(html.contains("WELCOME10") && html.contains(".de, .com") && html.contains("0 / 100"));
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let coupon = relabel_platform::coupons::list(&tx)
        .await
        .unwrap()
        .remove(0);
    drop(tx);
    let resp = post(
        &app,
        &client,
        page,
        &format!("{page}/{}/end", coupon.id),
        &[],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let ended = relabel_platform::coupons::get(&tx, &coupon.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        relabel_platform::coupons::state(&ended, chrono::Utc::now()),
        "ended"
    );
    app.stop().await;
}

#[tokio::test]
async fn customer_terms_are_checked_and_stored_for_billing() {
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let client = owner(&app).await;
    let id = new_customer(&app, "terms@example.com", "DE", None).await;
    let page = format!("/console/customers/{id}/prices");
    let resp = post(
        &app,
        &client,
        &page,
        &format!("/console/customers/{id}/terms"),
        &[
            ("discount", "5"),
            ("skonto", "2"),
            ("skonto_days", ""),
            ("payment_term_days", ""),
        ],
    )
    .await;
    assert_eq!(resp.status(), 422);
    assert!(
        text(resp)
            .await
            .contains("A cash discount needs the number of days")
    );
    let resp = post(
        &app,
        &client,
        &page,
        &format!("/console/customers/{id}/terms"),
        &[
            ("discount", "5"),
            ("skonto", "2"),
            ("skonto_days", "10"),
            ("payment_term_days", ""),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let resp = post(
        &app,
        &client,
        &page,
        &format!("/console/customers/{id}/discounts"),
        &[("product_id", "hosting-pro"), ("discount", "12.5")],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let t = app.state.tenancy.resolve(ALPHA).await.unwrap().unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let c = customers::get(&tx, &id).await.unwrap();
    let hosting = relabel_platform::terms::effective(&tx, &c, "hosting-pro")
        .await
        .unwrap();
    assert_eq!(
        (
            hosting.discount_bp,
            hosting.skonto_bp,
            hosting.skonto_days,
            hosting.payment_term_days
        ),
        (1250, 200, 10, 14),
        "the larger discount; the reseller's default term"
    );
    let domain = relabel_platform::terms::effective(&tx, &c, "domain-de")
        .await
        .unwrap();
    assert_eq!(domain.discount_bp, 500);
    app.stop().await;
}

#[tokio::test]
async fn the_pricing_api_covers_catalog_overrides_coupons_and_vat_for_its_reseller_only() {
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let key = app.api_key(ALPHA, &["prices:read", "prices:write"]).await;
    let beta_key = app
        .api_key("beta.localhost", &["prices:read", "prices:write"])
        .await;
    let read_only = app.api_key(ALPHA, &["prices:read"]).await;
    let api = app.client();
    let call = |method: reqwest::Method, host: &str, path: &str, key: &str, body: Option<Value>| {
        let mut req = api
            .request(method, app.url(host, &format!("/api/v1{path}")))
            .bearer_auth(key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
    };
    use reqwest::Method;

    let catalog: Value = call(Method::GET, ALPHA, "/catalog", &key, None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let de = catalog
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["product_id"] == "domain-de")
        .unwrap();
    assert_eq!(de["enabled"], true);
    assert_eq!(de["groups"], json!(["top10", "europe"]));
    let resp = call(
        Method::PUT,
        ALPHA,
        "/catalog/domain-de",
        &read_only,
        Some(json!({ "enabled": false })),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 403);

    // VAT per customer: DE private pays 19 %, an AT business with a valid id none.
    let de_customer = new_customer(&app, "de@example.com", "DE", None).await;
    let at_business = new_customer(&app, "at@example.com", "AT", Some("ATU13585627")).await;
    let quote = |customer: String| {
        let path =
            format!("/quote?product=domain-de&action=register&period=12&customer=cus_{customer}");
        let key = key.clone();
        let call = &call;
        async move {
            call(Method::GET, ALPHA, &path, &key, None)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let q = quote(de_customer.clone()).await;
    assert_eq!(
        (&q["net"], &q["vat"], &q["gross"], &q["vat_treatment"]),
        (
            &json!("5.29"),
            &json!("1.01"),
            &json!("6.30"),
            &json!("vat")
        )
    );
    let q = quote(at_business.clone()).await;
    assert_eq!(
        (&q["net"], &q["gross"], &q["vat_treatment"]),
        (&json!("5.29"), &json!("5.29"), &json!("reverse_charge"))
    );

    // Overrides: mixed currency and incomplete sets refused with the field named.
    let path = format!("/customers/cus_{de_customer}/prices/domain-de");
    let set = |currency: &str, reg: &str, full: bool| {
        let mut prices = vec![
            json!({ "action": "register", "period_months": 12, "amount": reg }),
            json!({ "action": "renew", "period_months": 12, "amount": "4.00" }),
            json!({ "action": "transfer", "period_months": 12, "amount": "0" }),
        ];
        if full {
            prices.push(json!({ "action": "restore", "period_months": 12, "amount": "30" }));
        }
        json!({ "currency": currency, "prices": prices })
    };
    let resp = call(
        Method::PUT,
        ALPHA,
        &path,
        &key,
        Some(set("CHF", "4.00", true)),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["details"][0]["field"], "currency");
    assert_eq!(body["details"][0]["code"], "currency_mixed");
    let resp = call(
        Method::PUT,
        ALPHA,
        &path,
        &key,
        Some(set("EUR", "4.00", false)),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["details"][0]["field"], "price.restore.12");
    let resp = call(
        Method::PUT,
        ALPHA,
        &path,
        &key,
        Some(set("EUR", "3.00", true)),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["below_cost"][0]["cost"], "3.49");
    assert_eq!(quote(de_customer.clone()).await["source"], "override");
    // Beta's key cannot see or touch Alpha's customer.
    let resp = call(
        Method::GET,
        "beta.localhost",
        &format!("/customers/cus_{de_customer}/prices"),
        &beta_key,
        None,
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = call(Method::DELETE, "beta.localhost", &path, &beta_key, None)
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let a = class_id(&app, "Customers A").await;
    let resp = call(
        Method::PUT,
        "beta.localhost",
        &format!("/price-classes/{a}/prices/domain-de"),
        &beta_key,
        Some(set("EUR", "1.00", true)),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = call(Method::DELETE, ALPHA, &path, &key, None)
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(quote(de_customer.clone()).await["source"], "class");

    // Class prices through the API.
    let resp = call(
        Method::PUT,
        ALPHA,
        &format!("/price-classes/{a}/prices/domain-de"),
        &key,
        Some(set("EUR", "5.55", true)),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let sets: Value = call(
        Method::GET,
        ALPHA,
        &format!("/price-classes/{a}/prices"),
        &key,
        None,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let de_set = sets
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["product_id"] == "domain-de")
        .unwrap();
    assert!(
        de_set["prices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["amount"] == "5.55")
    );

    // Coupons.
    let resp = call(
        Method::POST,
        ALPHA,
        "/coupons",
        &key,
        Some(json!({ "code": "SPRING", "kind": "absolute", "value": "5.00" })),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["details"][0]["field"], "currency");
    let resp = call(
        Method::POST,
        ALPHA,
        "/coupons",
        &key,
        Some(json!({ "code": "SPRING", "kind": "absolute", "value": "5.00", "currency": "EUR", "products": ["domain-de"] })),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let list: Value = call(Method::GET, ALPHA, "/coupons", &key, None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["code"], "SPRING");
    assert_eq!(list[0]["state"], "active");
    let list: Value = call(Method::GET, "beta.localhost", "/coupons", &beta_key, None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Only beta's own demo coupon, none of alpha's.
    let codes: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, [relabel_platform::demo::DEMO_COUPON]);
    app.stop().await;
}
