//! Price classes, overrides and the price resolver.

use relabel_platform::customers::{self, Actor, CustomerInput};
use relabel_platform::pricing::{self, PriceInput, PricingError, Source};
use relabel_tests::{TestApp, spawn_app, unescape};

fn set(reg: &str, renew: &str, transfer: &str, restore: &str) -> Vec<PriceInput> {
    vec![
        ("register".into(), 12, reg.into()),
        ("renew".into(), 12, renew.into()),
        ("transfer".into(), 12, transfer.into()),
        ("restore".into(), 12, restore.into()),
    ]
}

async fn customer(tx: &relabel_tenants::TenantTx, email: &str) -> customers::customer::Model {
    let input = CustomerInput {
        first_name: Some("Pat".into()),
        last_name: Some("Price".into()),
        street: Some("Weg 1".into()),
        postal_code: Some("10115".into()),
        city: Some("Berlin".into()),
        country: Some("DE".into()),
        email: Some(email.into()),
        ..Default::default()
    };
    customers::create(
        tx,
        &Actor {
            name: "test",
            ip: None,
        },
        &input,
        None,
    )
    .await
    .unwrap()
}

async fn setup(app: &TestApp) {
    relabel_platform::catalog::seed_demo(app.state.tenancy.backend().shared())
        .await
        .unwrap();
    app.reseller(
        "Alpha",
        "alpha.test",
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    app.reseller("Beta", "beta.test", "owner@beta.test", "beta-password-1")
        .await;
}

fn codes(e: PricingError) -> Vec<(String, String)> {
    match e {
        PricingError::Invalid(f) => f
            .iter()
            .map(|e| (e.field.clone(), e.code.clone()))
            .collect(),
        other => panic!("expected field errors, got {other:?}"),
    }
}

#[tokio::test]
async fn override_wins_over_class_which_wins_over_nothing() {
    let app = spawn_app().await;
    setup(&app).await;
    let t = app
        .state
        .tenancy
        .resolve("alpha.test")
        .await
        .unwrap()
        .unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let a = pricing::create_class(&tx, "test", "Customers A", "EUR", true)
        .await
        .unwrap();
    let b = pricing::create_class(&tx, "test", "Customers B", "EUR", false)
        .await
        .unwrap();
    // Not enabled yet: not for sale, whatever the class says.
    pricing::set_class_prices(
        &tx,
        "test",
        &a.id,
        "domain-de",
        &set("5.00", "5.00", "0", "30.00"),
    )
    .await
    .unwrap();
    assert!(
        pricing::resolve(&app.state.prices, &tx, None, "domain-de", "register", 12)
            .await
            .unwrap()
            .is_none()
    );
    pricing::enable(&tx, &["domain-de".into(), "domain-com".into()])
        .await
        .unwrap();
    pricing::set_class_prices(
        &tx,
        "test",
        &b.id,
        "domain-de",
        &set("4.00", "4.00", "0", "28.00"),
    )
    .await
    .unwrap();

    let anon = pricing::resolve(&app.state.prices, &tx, None, "domain-de", "register", 12)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(anon.net_minor, 500);
    assert_eq!(
        anon.source,
        Source::Class {
            id: a.id.clone(),
            name: "Customers A".into()
        }
    );
    assert_eq!(anon.wholesale_minor, Some(349));
    assert_eq!(anon.margin_minor(), Some(151));

    let c = customer(&tx, "pat@example.com").await;
    pricing::assign_class(&tx, "test", &c, Some(&b.id))
        .await
        .unwrap();
    let c = customers::get(&tx, &c.id).await.unwrap();
    assert_eq!(
        pricing::resolve(
            &app.state.prices,
            &tx,
            Some(&c),
            "domain-de",
            "register",
            12
        )
        .await
        .unwrap()
        .unwrap()
        .net_minor,
        400
    );

    // An override below cost is accepted with a visible warning.
    let below = pricing::set_override(
        &tx,
        "test",
        &c,
        "domain-de",
        "EUR",
        &set("3.00", "3.50", "0", "25.00"),
    )
    .await
    .unwrap();
    assert_eq!(below.len(), 1, "register 3.00 < wholesale 3.49");
    let q = pricing::resolve(
        &app.state.prices,
        &tx,
        Some(&c),
        "domain-de",
        "register",
        12,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!((q.net_minor, q.source), (300, Source::Override));
    // .com is enabled but has no class prices: nothing for sale.
    assert!(
        pricing::resolve(
            &app.state.prices,
            &tx,
            Some(&c),
            "domain-com",
            "register",
            12
        )
        .await
        .unwrap()
        .is_none()
    );
    tx.commit().await.unwrap();

    // Beta has no prices; Alpha's customer model used in Beta's transaction gets nothing of Alpha's.
    let beta = app
        .state
        .tenancy
        .resolve("beta.test")
        .await
        .unwrap()
        .unwrap();
    let tx = app.state.tenancy.begin(&beta).await.unwrap();
    assert!(
        pricing::resolve(
            &app.state.prices,
            &tx,
            Some(&c),
            "domain-de",
            "register",
            12
        )
        .await
        .unwrap()
        .is_none()
    );
    app.stop().await;
}

#[tokio::test]
async fn overrides_are_refused_for_mixed_currencies_incomplete_sets_and_bad_amounts() {
    let app = spawn_app().await;
    setup(&app).await;
    let t = app
        .state
        .tenancy
        .resolve("alpha.test")
        .await
        .unwrap()
        .unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let a = pricing::create_class(&tx, "test", "Customers A", "EUR", true)
        .await
        .unwrap();
    pricing::enable(&tx, &["domain-de".into()]).await.unwrap();
    pricing::set_class_prices(
        &tx,
        "test",
        &a.id,
        "domain-de",
        &set("5.00", "5.00", "0", "30.00"),
    )
    .await
    .unwrap();
    let c = customer(&tx, "pat@example.com").await;

    let mixed = pricing::set_override(
        &tx,
        "test",
        &c,
        "domain-de",
        "CHF",
        &set("5", "5", "0", "30"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        codes(mixed),
        vec![("currency".into(), "err.currency_mixed".into())]
    );
    let mut incomplete = set("5", "5", "0", "30");
    incomplete.pop();
    let e = pricing::set_override(&tx, "test", &c, "domain-de", "EUR", &incomplete)
        .await
        .unwrap_err();
    assert_eq!(
        codes(e),
        vec![("price.restore.12".into(), "err.price_incomplete".into())]
    );
    let e = pricing::set_override(
        &tx,
        "test",
        &c,
        "domain-de",
        "EUR",
        &set("-1", "5.001", "abc", "1000000.01"),
    )
    .await
    .unwrap_err();
    let got = codes(e);
    assert!(got.contains(&("price.register.12".into(), "err.amount_negative".into())));
    assert!(got.contains(&("price.renew.12".into(), "err.amount_precision".into())));
    assert!(got.contains(&("price.transfer.12".into(), "err.amount".into())));
    assert!(got.contains(&("price.restore.12".into(), "err.price_too_high".into())));
    let mut dup = set("5", "5", "0", "30");
    dup.push(("register".into(), 12, "6".into()));
    assert_eq!(
        codes(
            pricing::set_override(&tx, "test", &c, "domain-de", "EUR", &dup)
                .await
                .unwrap_err()
        ),
        vec![("price.register.12".into(), "err.price_duplicate".into())]
    );
    assert!(matches!(
        pricing::create_class(&tx, "test", "Customers A", "EUR", false).await,
        Err(PricingError::Invalid(_))
    ));
    assert!(matches!(
        pricing::create_class(&tx, "test", "X", "XYZ", false).await,
        Err(PricingError::Invalid(_))
    ));
    // Nothing was written: the class price still applies.
    let q = pricing::resolve(
        &app.state.prices,
        &tx,
        Some(&c),
        "domain-de",
        "register",
        12,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        (q.net_minor, q.source),
        (
            500,
            Source::Class {
                id: a.id.clone(),
                name: "Customers A".into()
            }
        )
    );

    // Copying the class's set is the safe start for an override.
    pricing::copy_class_to_override(&tx, "test", &c, "domain-de")
        .await
        .unwrap();
    let q = pricing::resolve(
        &app.state.prices,
        &tx,
        Some(&c),
        "domain-de",
        "register",
        12,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!((q.net_minor, q.source), (500, Source::Override));
    app.stop().await;
}

#[tokio::test]
async fn demo_resellers_show_different_price_lists() {
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let client = app.client();
    let alpha = unescape(
        &client
            .get(app.url("alpha.localhost", "/prices?lang=en"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let beta = unescape(
        &client
            .get(app.url("beta.localhost", "/prices?lang=en"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let row = |html: &str, tld: &str| -> String {
        let at = html
            .find(&format!(">.{tld}</th>"))
            .unwrap_or_else(|| panic!("no .{tld} row"));
        html[at..at + html[at..].find("</tr>").unwrap()].to_owned()
    };
    // .de wholesale 3.49: Alpha's default class is 150 % (5.29 net), Beta's 170 %
    // (5.99 net); the storefronts show gross with 19 % VAT.
    assert!(row(&alpha, "de").contains("6.30"), "{}", row(&alpha, "de"));
    assert!(row(&beta, "de").contains("7.13"), "{}", row(&beta, "de"));
    assert!(alpha.contains("All prices include 19% VAT."));
    assert_ne!(row(&alpha, "com"), row(&beta, "com"));
    app.stop().await;
}

#[tokio::test]
async fn console_sets_class_and_overrides_and_refuses_mixed_currencies_with_a_reason() {
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let t = app
        .state
        .tenancy
        .resolve("alpha.localhost")
        .await
        .unwrap()
        .unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let c = customer(&tx, "pat@example.com").await;
    let classes = pricing::classes(&tx).await.unwrap();
    tx.commit().await.unwrap();
    let class_b = classes.iter().find(|c| c.name == "Customers B").unwrap();

    let owner = app.client();
    relabel_tests::login(
        &owner,
        &app.url("alpha.localhost", "/console/login"),
        "owner@alpha.example",
        "alpha-demo-2026",
    )
    .await;
    let page_url = app.url(
        "alpha.localhost",
        &format!("/console/customers/{}/prices", c.id),
    );
    let token = relabel_tests::csrf(&owner, &page_url).await;
    let resp = owner
        .post(app.url(
            "alpha.localhost",
            &format!("/console/customers/{}/prices/class", c.id),
        ))
        .form(&[
            ("price_class_id", class_b.id.as_str()),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);

    // Without an override only the picker is shown; picking a product opens its form
    // with the class's prices (Customers B: .de at 135 % of 3.49 = 4.79).
    let get = |url: String| {
        let owner = owner.clone();
        async move { unescape(&owner.get(url).send().await.unwrap().text().await.unwrap()) }
    };
    let page = get(page_url.clone()).await;
    assert!(!page.contains("name=\"price.register.12\"") && page.contains("value=\"domain-de\""));
    let page = get(format!("{page_url}?product=domain-de")).await;
    assert!(
        page.contains(
            "name=\"price.register.12\" type=\"text\" inputmode=\"decimal\" value=\"4.79\""
        )
    );

    // Mixed currency: refused, with the reason, nothing written.
    let post = |fields: Vec<(&'static str, String)>| {
        let owner = owner.clone();
        let url = app.url(
            "alpha.localhost",
            &format!("/console/customers/{}/prices/domain-de", c.id),
        );
        let token = token.clone();
        async move {
            let mut form = fields;
            form.push(("csrf", token));
            owner.post(url).form(&form).send().await.unwrap()
        }
    };
    let prices = |reg: &str| {
        vec![
            ("price.register.12", reg.to_owned()),
            ("price.renew.12", "4.00".to_owned()),
            ("price.transfer.12", "0.00".to_owned()),
            ("price.restore.12", "30.00".to_owned()),
        ]
    };
    let mut mixed = prices("4.00");
    mixed.push(("currency", "CHF".into()));
    let resp = post(mixed).await;
    assert_eq!(resp.status(), 422);
    let body = unescape(&resp.text().await.unwrap());
    assert!(
        body.contains("never mixes currencies"),
        "the message says why"
    );

    // Below cost: saved, with a visible warning.
    let mut cheap = prices("3.00");
    cheap.push(("currency", "EUR".into()));
    let resp = post(cheap).await;
    assert_eq!(resp.status(), 200);
    assert!(unescape(&resp.text().await.unwrap()).contains("below your wholesale cost"));
    let page = get(page_url.clone()).await;
    assert!(page.contains("value=\"3.00\"") && page.contains("Remove override"));

    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let c = customers::get(&tx, &c.id).await.unwrap();
    assert_eq!(c.price_class_id.as_deref(), Some(class_b.id.as_str()));
    let q = pricing::resolve(
        &app.state.prices,
        &tx,
        Some(&c),
        "domain-de",
        "register",
        12,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!((q.net_minor, q.source), (300, Source::Override));
    let com = pricing::resolve(
        &app.state.prices,
        &tx,
        Some(&c),
        "domain-com",
        "register",
        12,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        com.source,
        Source::Class {
            id: class_b.id.clone(),
            name: "Customers B".into()
        }
    );
    app.stop().await;
}

#[tokio::test]
async fn the_api_quotes_prices_for_the_keys_reseller_only() {
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let key = |host: &'static str| app.api_key(host, &["prices:read"]);
    let alpha_key = key("alpha.localhost").await;
    let t = app
        .state
        .tenancy
        .resolve("alpha.localhost")
        .await
        .unwrap()
        .unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let c = customer(&tx, "pat@example.com").await;
    pricing::set_override(
        &tx,
        "test",
        &c,
        "domain-de",
        "EUR",
        &set("4.44", "4.44", "0", "30.00"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let api = app.client();
    let get = |host: &str, query: String, key: &str| {
        api.get(app.url(host, &format!("/api/v1/quote?{query}")))
            .bearer_auth(key)
            .send()
    };
    let anon: serde_json::Value = get(
        "alpha.localhost",
        "product=domain-de&action=register&period=12".into(),
        &alpha_key,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(anon["net"], "5.29");
    // A misspelt parameter is refused, naming it, instead of quoting the default.
    let typo = get(
        "alpha.localhost",
        "product=domain-de&action=register&period=12&custmer=cus_x".into(),
        &alpha_key,
    )
    .await
    .unwrap();
    assert_eq!(typo.status(), 422);
    let typo: serde_json::Value = typo.json().await.unwrap();
    assert_eq!(typo["details"][0]["field"], "custmer", "{typo}");
    assert_eq!(anon["source"], "class");
    assert_eq!(anon["price_class"], "Customers A");
    assert_eq!(anon["wholesale"], "3.49");
    assert_eq!(anon["margin"], "1.80");
    let own: serde_json::Value = get(
        "alpha.localhost",
        format!(
            "product=domain-de&action=register&period=12&customer=cus_{}",
            c.id
        ),
        &alpha_key,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        (own["net"].as_str(), own["source"].as_str()),
        (Some("4.44"), Some("override"))
    );
    assert_eq!(
        get(
            "alpha.localhost",
            "product=domain-de&action=register&period=24".into(),
            &alpha_key
        )
        .await
        .unwrap()
        .status(),
        404
    );
    // Alpha's key on Beta's host: unknown there.
    assert_eq!(
        get(
            "beta.localhost",
            "product=domain-de&action=register&period=12".into(),
            &alpha_key
        )
        .await
        .unwrap()
        .status(),
        401
    );
    let classes: serde_json::Value = api
        .get(app.url("alpha.localhost", "/api/v1/price-classes"))
        .bearer_auth(&alpha_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(classes.as_array().unwrap().len(), 3);
    app.stop().await;
}
