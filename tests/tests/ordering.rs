//! The ordering flow over HTTP on the demo: search, cart, checkout as a new
//! customer, the case number over the limit, approval in the clearing center; a
//! slow registry; tenant isolation of orders and cases.

use relabel_tests::{TestApp, spawn_app, spawn_app_with, unescape};
use std::time::{Duration, Instant};

const ALPHA: &str = "alpha.localhost";
const BETA: &str = "beta.localhost";

async fn text(resp: reqwest::Response) -> String {
    unescape(&resp.text().await.unwrap())
}

async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    host: &str,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let token = relabel_tests::csrf(client, &app.url(host, page)).await;
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf", &token));
    client
        .post(app.url(host, action))
        .form(&form)
        .send()
        .await
        .unwrap()
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()["location"].to_str().unwrap().to_owned()
}

/// Signs up through the checkout and returns the order page.
async fn checkout_new_customer(app: &TestApp, client: &reqwest::Client, email: &str) -> String {
    let resp = post(
        app,
        client,
        ALPHA,
        "/checkout",
        "/checkout",
        &[
            ("kind", "person"),
            ("first_name", "Gerd"),
            ("last_name", "Gross"),
            ("email", email),
            ("password", "a-good-password-1"),
            ("street", "Weg 1"),
            ("postal_code", "10115"),
            ("city", "Berlin"),
            ("country", "DE"),
            ("language", "en"),
            ("accept_terms", "1"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let order_page = location(&resp);
    assert!(order_page.starts_with("/account/orders/"), "{order_page}");
    text(
        client
            .get(app.url(ALPHA, &order_page))
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_new_customer_orders_over_the_limit_and_staff_approve_it() {
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let shop = app.client();

    // Search: every enabled TLD with a status and a price; google.* are taken.
    let page = text(
        shop.get(app.url(ALPHA, "/search?q=grossbestellung&lang=en"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(page.contains("grossbestellung.de"));
    assert_eq!(
        page.matches("badge-success").count(),
        44,
        "all 44 TLDs free"
    );
    let taken = text(
        shop.get(app.url(ALPHA, "/search?q=google"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(taken.contains("badge-muted"));
    assert!(taken.contains("suggestion-name"), "alternatives offered");
    // Invalid input is named, not a crash.
    let bad = shop
        .get(app.url(ALPHA, "/search?q=-bad-.de&lang=en"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    assert!(
        text(bad)
            .await
            .contains("cannot start or end with a hyphen")
    );

    // Cart: two domains for ten years, a hosting plan, the demo coupon.
    for domain in ["grossbestellung.com", "grossbestellung.digital"] {
        let r = post(
            &app,
            &shop,
            ALPHA,
            "/search?q=grossbestellung",
            "/cart/add",
            &[
                ("domain", domain),
                ("action", "register"),
                ("period", "120"),
            ],
        )
        .await;
        assert_eq!(r.status(), 303);
    }
    post(
        &app,
        &shop,
        ALPHA,
        "/cart",
        "/cart/add",
        &[("product", "hosting-pro"), ("period", "12")],
    )
    .await;
    // A wrong AuthCode format is refused with the field's message.
    post(
        &app,
        &shop,
        ALPHA,
        "/cart",
        "/cart/add",
        &[
            ("domain", "google.de"),
            ("action", "transfer"),
            ("auth_code", "short"),
        ],
    )
    .await;
    let cart = text(
        shop.get(app.url(ALPHA, "/cart?lang=en"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        cart.contains("An AuthCode has 6 to 32 characters"),
        "{cart}"
    );
    post(
        &app,
        &shop,
        ALPHA,
        "/cart",
        "/cart/coupon",
        &[("coupon", "start10")],
    )
    .await;
    let cart = text(
        shop.get(app.url(ALPHA, "/cart?lang=en"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(cart.contains("Coupon START10"));
    assert!(cart.contains("Hosting Pro"));
    let cart_id = cart.split("Cart no. ").nth(1).unwrap()[..12].to_owned();

    let order = checkout_new_customer(&app, &shop, "gerd@example.de").await;
    assert!(order.contains("Case number: V-000001"), "{order}");
    assert!(order.contains("exceeds your current credit limit"));
    let (subject, _) = relabel_tests::last_mail(&app, ALPHA, "gerd@example.de").await;
    assert!(
        subject.contains("V-000001") || subject.contains("Confirm"),
        "{subject}"
    );

    // Staff find the cart by its id and the case in the clearing center.
    let staff = app.client();
    relabel_tests::login(
        &staff,
        &app.url(ALPHA, "/console/login"),
        "owner@alpha.example",
        "alpha-demo-2026",
    )
    .await;
    let orders = text(
        staff
            .get(app.url(ALPHA, &format!("/console/orders?q={cart_id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(orders.contains(&format!("Cart {cart_id}")), "{orders}");
    let clearing = text(
        staff
            .get(app.url(ALPHA, "/console/clearing?lang=en"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let case_path = clearing
        .split("href=\"/console/clearing/")
        .nth(1)
        .map(|s| format!("/console/clearing/{}", &s[..s.find('"').unwrap()]))
        .unwrap();
    // Without override the credit check still says no.
    let r = post(
        &app,
        &staff,
        ALPHA,
        &case_path,
        &case_path,
        &[("decision", "approve")],
    )
    .await;
    assert_eq!(r.status(), 409);
    assert!(text(r).await.contains("does not cover this order"));
    let r = post(
        &app,
        &staff,
        ALPHA,
        &case_path,
        &case_path,
        &[
            ("decision", "approve"),
            ("override", "1"),
            ("note", "known business"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);

    // Accepted with a number; the items wait as queued provisioning jobs.
    let orders = text(
        shop.get(app.url(ALPHA, "/account/orders?lang=en"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(orders.contains("A-000001"));
    let t = app.state.tenancy.resolve(ALPHA).await.unwrap().unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let jobs = relabel_platform::jobs::with_key_prefix(&tx, "order:")
        .await
        .unwrap();
    let kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["domain.register", "domain.register", "service.create"]
    );
    assert!(jobs.iter().all(|j| j.status == "queued"));
    drop(tx);
    let (subject, _) = relabel_tests::last_mail(&app, ALPHA, "gerd@example.de").await;
    assert!(subject.contains("A-000001"), "{subject}");

    // Beta's staff see none of it.
    let beta = app.client();
    relabel_tests::login(
        &beta,
        &app.url(BETA, "/console/login"),
        "owner@beta.example",
        "beta-demo-2026",
    )
    .await;
    let list = text(
        beta.get(app.url(BETA, "/console/orders"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(!list.contains("A-000001") && !list.contains(&cart_id));
    let other = beta.get(app.url(BETA, &case_path)).send().await.unwrap();
    assert_eq!(other.status(), 404);
    // Nor does a support user decide cases.
    app.stop().await;
}

#[tokio::test]
async fn a_hanging_registry_leaves_the_page_fast_with_the_other_tlds() {
    let app = spawn_app_with(|c| {
        c.registry_timeout_ms = 400;
        c.dev_registry.hang = vec!["denic".into()];
        c.dev_registry.latency_ms = 20;
    })
    .await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let shop = app.client();
    let start = Instant::now();
    let page = text(
        shop.get(app.url(ALPHA, "/search?q=langsam&lang=en"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
    let de_row = page.split("data-ascii=\"langsam.de\"").nth(1).unwrap();
    assert!(
        de_row[..400].contains("unknown – please try again"),
        "{}",
        &de_row[..400]
    );
    assert_eq!(page.matches("badge-success").count(), 43);
    // The streamed answers say the same, registry by registry.
    let stream = text(
        shop.get(app.url(ALPHA, "/search/stream?q=langsamer"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let lines: Vec<&str> = stream.lines().collect();
    assert!(lines.len() > 5, "one line per registry: {stream}");
    assert!(stream.contains("{\"ascii\":\"langsamer.de\",\"status\":\"unknown\"}"));
    assert!(lines.last().unwrap().contains("\"done\":true"));
    app.stop().await;
}
