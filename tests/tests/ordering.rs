//! The ordering flow over HTTP on the demo: search, cart, checkout as a new
//! customer, the case number over the limit, approval in the clearing center; a
//! slow registry; tenant isolation of orders and cases.

use relabel_tests::{TestApp, last_mail, link_path, login, spawn_app, spawn_app_with, unescape};
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
            ("buyer_reference", "991-33333test-33"),
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
    // No customer number yet: it comes with the first accepted order.
    let number_of = || async {
        let t = app.state.tenancy.resolve(ALPHA).await.unwrap().unwrap();
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        let c = relabel_platform::customers::find_by_email(&tx, "gerd@example.de")
            .await
            .unwrap()
            .unwrap();
        relabel_platform::customers::number_of(&c).map(str::to_owned)
    };
    assert_eq!(number_of().await, None);
    // The Leitweg-ID given at checkout is kept (check digits verified).
    {
        let t = app.state.tenancy.resolve(ALPHA).await.unwrap().unwrap();
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        let gerd = relabel_platform::customers::find_by_email(&tx, "gerd@example.de")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(gerd.buyer_reference.as_deref(), Some("991-33333TEST-33"));
    }
    let overview = text(
        shop.get(app.url(ALPHA, "/account?lang=en"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        overview.contains("with your first accepted order"),
        "{overview}"
    );
    assert!(order.contains("exceeds your current credit limit"));
    let (subject, _) = relabel_tests::last_mail(&app, ALPHA, "gerd@example.de").await;
    assert!(
        subject.contains("V-000001") || subject.contains("Confirm"),
        "{subject}"
    );
    // Someone else checks out as a new customer with Gerd's address: asked to
    // sign in, nothing ordered, and Gerd hears of it by mail.
    let other = app.client();
    post(
        &app,
        &other,
        ALPHA,
        "/search?q=fremdbestellung",
        "/cart/add",
        &[
            ("domain", "fremdbestellung.de"),
            ("action", "register"),
            ("period", "12"),
        ],
    )
    .await;
    let r = post(
        &app,
        &other,
        ALPHA,
        "/checkout",
        "/checkout",
        &[
            ("kind", "person"),
            ("first_name", "Fritz"),
            ("last_name", "Fremd"),
            ("email", "gerd@example.de"),
            ("password", "another-password-1"),
            ("street", "Weg 2"),
            ("postal_code", "10115"),
            ("city", "Berlin"),
            ("country", "DE"),
            ("language", "en"),
            ("accept_terms", "1"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    let (subject, body) = relabel_tests::last_mail(&app, ALPHA, "gerd@example.de").await;
    assert!(
        subject.starts_with("Sign-up with your email address at"),
        "{subject}"
    );
    assert!(body.contains("/account/login"), "{body}");

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

    // Accepted with an order number and now a customer number; the items wait
    // as queued provisioning jobs.
    let number = number_of().await.expect("customer number on acceptance");
    let overview = text(
        shop.get(app.url(ALPHA, "/account?lang=en"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(overview.contains(&number));
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

#[tokio::test]
async fn the_order_api_checks_places_and_clears_for_its_reseller_only() {
    use reqwest::Method;
    use serde_json::{Value, json};
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let key = app
        .api_key(
            ALPHA,
            &[
                "orders:read",
                "orders:write",
                "customers:write",
                "clearing:write",
            ],
        )
        .await;
    let beta_key = app
        .api_key(BETA, &["orders:read", "orders:write", "clearing:write"])
        .await;
    let api = app.client();
    let call = |method: Method, host: &str, path: &str, key: &str, body: Option<Value>| {
        let mut req = api
            .request(method, app.url(host, &format!("/api/v1{path}")))
            .bearer_auth(key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
    };
    let json_of = |r: reqwest::Response| async move {
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };

    let (status, avail) = json_of(
        call(Method::GET, ALPHA, "/availability?q=apitest", &key, None)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(avail["results"].as_array().unwrap().len(), 46);
    assert_eq!(avail["results"][0]["domain"], "apitest.de");
    assert_eq!(avail["results"][0]["status"], "available");
    let (status, bad) = json_of(
        call(Method::GET, ALPHA, "/availability?q=a.b.de", &key, None)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, bad["details"][0]["field"].as_str()),
        (422, Some("q"))
    );

    let (_, c) = json_of(call(Method::POST, ALPHA, "/customers", &key, Some(json!({
        "first_name": "Api", "last_name": "Kunde", "street": "Weg 1", "postal_code": "10115",
        "city": "Berlin", "country": "DE", "email": "api@example.de", "credit_limit": "20.00",
    }))).await.unwrap()).await;
    let customer = c["id"].as_str().unwrap().to_owned();

    let (_, cart) = json_of(
        call(
            Method::POST,
            ALPHA,
            "/carts",
            &key,
            Some(json!({ "customer_id": customer })),
        )
        .await
        .unwrap(),
    )
    .await;
    let cart_id = cart["id"].as_str().unwrap().to_owned();
    let (status, err) = json_of(
        call(
            Method::POST,
            ALPHA,
            &format!("/carts/{cart_id}/items"),
            &key,
            Some(json!({ "domain": "ab--cd.de", "period_months": 12 })),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(err["details"][0]["code"], "domain_hyphen_34");
    let (status, cart) = json_of(
        call(
            Method::POST,
            ALPHA,
            &format!("/carts/{cart_id}/items"),
            &key,
            Some(json!({ "domain": "apitest.de", "period_months": 12 })),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, cart["items"].as_array().unwrap().len()), (200, 1));

    // Another customer's cart is refused by name, nothing is ordered.
    let (_, other) = json_of(call(Method::POST, ALPHA, "/customers", &key, Some(json!({
        "first_name": "Otto", "last_name": "Other", "street": "Weg 2", "postal_code": "10115",
        "city": "Berlin", "country": "DE", "email": "otto@example.de",
    }))).await.unwrap()).await;
    let (status, err) = json_of(
        call(
            Method::POST,
            ALPHA,
            "/orders",
            &key,
            Some(json!({ "customer_id": other["id"], "cart_id": cart_id })),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, err["details"][0]["code"].as_str()),
        (422, Some("cart_not_found"))
    );
    // Within the 20.00 limit: accepted and numbered.
    let (status, order) = json_of(
        call(
            Method::POST,
            ALPHA,
            "/orders",
            &key,
            Some(json!({ "customer_id": customer, "cart_id": cart_id })),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["status"], "accepted");
    assert!(order["number"].as_str().unwrap().starts_with("A-"));
    assert_eq!(order["items"][0]["provisioning"], "queued");
    // Over it: a case number, not an error.
    let (_, big) = json_of(call(Method::POST, ALPHA, "/orders", &key, Some(json!({
        "customer_id": customer, "items": [{ "product_id": "hosting-pro", "period_months": 12 }],
    }))).await.unwrap()).await;
    assert_eq!(big["status"], "review");
    assert_eq!(big["case_reason"], "credit_limit");
    let case_number = big["case_number"].as_str().unwrap().to_owned();

    let (_, cases) = json_of(
        call(Method::GET, ALPHA, "/clearing-cases", &key, None)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(cases[0]["number"], case_number.as_str());
    let case_id = cases[0]["id"].as_str().unwrap().to_owned();
    // Beta sees neither the order nor the case, and cannot decide it.
    let (status, _) = json_of(
        call(
            Method::GET,
            BETA,
            &format!("/orders/{}", big["id"].as_str().unwrap()),
            &beta_key,
            None,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    let (_, beta_cases) = json_of(
        call(Method::GET, BETA, "/clearing-cases", &beta_key, None)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(beta_cases, json!([]));
    let (status, _) = json_of(
        call(
            Method::POST,
            BETA,
            &format!("/clearing-cases/{case_id}/approve"),
            &beta_key,
            Some(json!({})),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    // Override needs its own scope; without it the re-check refuses.
    let (status, _) = json_of(
        call(
            Method::POST,
            ALPHA,
            &format!("/clearing-cases/{case_id}/approve"),
            &key,
            Some(json!({ "override_limit": true })),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    let (status, err) = json_of(
        call(
            Method::POST,
            ALPHA,
            &format!("/clearing-cases/{case_id}/approve"),
            &key,
            Some(json!({})),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (409, Some("credit_limit")));
    let (status, decided) = json_of(
        call(
            Method::POST,
            ALPHA,
            &format!("/clearing-cases/{case_id}/reject"),
            &key,
            Some(json!({ "note": "no" })),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, decided["status"].as_str()),
        (200, Some("rejected"))
    );
    let (status, _) = json_of(
        call(
            Method::POST,
            ALPHA,
            &format!("/clearing-cases/{case_id}/reject"),
            &key,
            Some(json!({})),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 409);
    let (_, list) = json_of(
        call(Method::GET, ALPHA, "/orders?status=rejected", &key, None)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn the_signup_widget_is_framed_only_where_allowed_and_answers_a_known_address_as_a_new_one() {
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let staff = app.client();
    relabel_tests::login(
        &staff,
        &app.url(BETA, "/console/login"),
        "owner@beta.example",
        "beta-demo-2026",
    )
    .await;
    let settings = |origins: &'static str| {
        vec![
            ("customer_number_prefix", "K"),
            ("default_credit_limit", "500.00"),
            ("currency", "EUR"),
            ("order_activation", "auto"),
            ("widget_origins", origins),
        ]
    };
    let r = post(
        &app,
        &staff,
        BETA,
        "/console/settings",
        "/console/settings",
        &settings("ftp://x.example/path"),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(text(r).await.contains("scheme and host, no path"));
    let r = post(
        &app,
        &staff,
        BETA,
        "/console/settings",
        "/console/settings",
        &settings("https://www.beta-agency.example\nhttp://localhost:3000"),
    )
    .await;
    assert_eq!(r.status(), 303);

    let shop = app.client();
    let frame = shop.get(app.url(BETA, "/widget")).send().await.unwrap();
    let policy = frame.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        policy.ends_with("; frame-ancestors https://www.beta-agency.example http://localhost:3000"),
        "{policy}"
    );
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(frame.headers().get("x-frame-options").is_none());
    // CORS only for allow-listed origins.
    let ok = shop
        .get(app.url(BETA, "/widget/availability?q=widgetkunde"))
        .header("Origin", "https://www.beta-agency.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://www.beta-agency.example"
    );
    assert!(text(ok).await.contains("\"status\":\"available\""));
    let refused = shop
        .get(app.url(BETA, "/widget/availability?q=widgetkunde"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    let form = [
        ("kind", "person"),
        ("first_name", "Wilma"),
        ("last_name", "Widget"),
        ("email", "wilma@example.de"),
        ("password", "a-good-password-1"),
        ("street", "Weg 1"),
        ("postal_code", "10115"),
        ("city", "Berlin"),
        ("country", "DE"),
        ("language", "en"),
        ("accept_terms", "1"),
        ("domain", "wilma.de"),
    ];
    let host_port = format!("{BETA}:{}", app.addr.port());
    // A form posted from another site is refused (CSRF), nothing is created.
    let forged = shop
        .post(app.url(BETA, "/widget/signup"))
        .header("Origin", "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let no_origin = shop
        .post(app.url(BETA, "/widget/signup"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(no_origin.status(), 403);
    // From the widget frame (the shop's own origin): on to the search with word
    // of the verification mail; signed in only once the address is confirmed.
    let from_frame = |form: Vec<(&'static str, &'static str)>| {
        let shop = app.client();
        let origin = format!("http://{host_port}");
        let app = &app;
        async move {
            let r = shop
                .post(app.url(BETA, "/widget/signup"))
                .header("Origin", origin)
                .form(&form)
                .send()
                .await
                .unwrap();
            let answer = (r.status().as_u16(), location(&r));
            let search = text(
                shop.get(app.url(BETA, "/search?q=wilma.de&lang=en"))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            let account = shop
                .get(app.url(BETA, "/account?lang=en"))
                .send()
                .await
                .unwrap();
            let told = [
                "We have sent you a link to confirm",
                "Wir haben Ihnen einen Link zur Bestätigung",
            ]
            .iter()
            .any(|t| unescape(&search).contains(t));
            (answer, told, account.status().as_u16())
        }
    };
    let first = from_frame(form.to_vec()).await;
    assert_eq!(first.0, (303, "/search?q=wilma.de".to_owned()));
    assert!(first.1, "the search page says a link was mailed");
    assert_eq!(
        first.2, 303,
        "not signed in before the address is confirmed"
    );
    let (subject, body) = last_mail(&app, BETA, "wilma@example.de").await;
    assert!(subject.contains("Beta"), "{subject}");
    let verify = link_path(&body, "/account/verify?token=");
    // The same address again answers exactly the same; its holder is told.
    let again = from_frame(form.to_vec()).await;
    assert_eq!(again, first, "a registered address answers as a new one");
    let (subject, _) = last_mail(&app, BETA, "wilma@example.de").await;
    assert_eq!(subject, "Sign-up with your email address at Beta Domains");
    // Confirmed, Wilma signs in.
    let shop = app.client();
    let r = shop.get(app.url(BETA, &verify)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = login(
        &shop,
        &app.url(BETA, "/account/login"),
        "wilma@example.de",
        "a-good-password-1",
    )
    .await;
    assert_eq!(r.status(), 303);
    let account = text(
        shop.get(app.url(BETA, "/account?lang=en"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(account.contains("Wilma"), "signed in: {account}");
    // Alpha has no such customer.
    let t = app.state.tenancy.resolve(ALPHA).await.unwrap().unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    assert!(
        relabel_platform::customers::find_by_email(&tx, "wilma@example.de")
            .await
            .unwrap()
            .is_none()
    );
    app.stop().await;
}

/// A local peer standing in for the reseller's SMS gateway and credit bureau:
/// records the messages, scores applicants named "Risiko" low.
async fn hooks_peer() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
) {
    use poem::web::{Data, Json};
    use poem::{EndpointExt, Route, handler, listener::Acceptor, listener::Listener, post};
    type Log = std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>;
    #[handler]
    fn sms(Data(log): Data<&Log>, Json(body): Json<serde_json::Value>) -> &'static str {
        log.lock().unwrap().push(body);
        "queued"
    }
    #[handler]
    fn bureau(Json(body): Json<serde_json::Value>) -> Json<serde_json::Value> {
        let score = if body["last_name"] == "Risiko" {
            120
        } else {
            820
        };
        Json(serde_json::json!({ "score": score }))
    }
    let log: Log = Default::default();
    let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().cloned().unwrap();
    let app = Route::new()
        .at("/sms", post(sms))
        .at("/bureau", post(bureau))
        .data(log.clone());
    tokio::spawn(async move { poem::Server::new_with_acceptor(acceptor).run(app).await });
    (format!("http://{addr}"), log)
}

#[tokio::test]
async fn sms_activation_and_the_credit_bureau_run_against_real_peers() {
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let (peer, sms_log) = hooks_peer().await;
    let staff = app.client();
    relabel_tests::login(
        &staff,
        &app.url(ALPHA, "/console/login"),
        "owner@alpha.example",
        "alpha-demo-2026",
    )
    .await;
    let sms_url = format!("{peer}/sms");
    let bureau_url = format!("{peer}/bureau");
    let r = post(
        &app,
        &staff,
        ALPHA,
        "/console/settings",
        "/console/settings",
        &[
            ("customer_number_prefix", "K"),
            ("default_credit_limit", "500.00"),
            ("currency", "EUR"),
            ("order_activation", "sms"),
            ("widget_origins", ""),
            ("sms_url", &sms_url),
            ("bureau_url", &bureau_url),
            ("bureau_threshold", "0"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);

    let checkout = |last_name: &'static str, email: &'static str| {
        let shop = app.client();
        let app = &app;
        async move {
            post(
                app,
                &shop,
                ALPHA,
                "/search?q=smstest",
                "/cart/add",
                &[
                    ("domain", "smstest.de"),
                    ("action", "register"),
                    ("period", "12"),
                ],
            )
            .await;
            let r = post(
                app,
                &shop,
                ALPHA,
                "/checkout",
                "/checkout",
                &[
                    ("kind", "person"),
                    ("first_name", "Sina"),
                    ("last_name", last_name),
                    ("email", email),
                    ("password", "a-good-password-1"),
                    ("street", "Weg 1"),
                    ("postal_code", "10115"),
                    ("city", "Berlin"),
                    ("country", "DE"),
                    ("phone", "+49 170 1234567"),
                    ("language", "en"),
                    ("accept_terms", "1"),
                ],
            )
            .await;
            assert_eq!(r.status(), 303);
            (shop, location(&r))
        }
    };
    // A good score: the order waits for the SMS code.
    let (shop, order_path) = checkout("Sommer", "sina@example.de").await;
    let page = text(
        shop.get(app.url(ALPHA, &format!("{order_path}?lang=en")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(page.contains("Please confirm your order"), "{page}");
    let sms = sms_log
        .lock()
        .unwrap()
        .last()
        .cloned()
        .expect("an SMS was sent");
    assert_eq!(sms["to"], "+491701234567");
    let code = sms["text"]
        .as_str()
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a six-digit code")
        .to_owned();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = post(
        &app,
        &shop,
        ALPHA,
        &order_path,
        &format!("{order_path}/activate"),
        &[("code", wrong)],
    )
    .await;
    assert_eq!(r.status(), 303, "{}", text(r).await);
    let page = text(
        shop.get(app.url(ALPHA, &format!("{order_path}?lang=en")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(page.contains("This code is not right"), "{page}");
    post(
        &app,
        &shop,
        ALPHA,
        &order_path,
        &format!("{order_path}/activate"),
        &[("code", &code)],
    )
    .await;
    let page = text(
        shop.get(app.url(ALPHA, &format!("{order_path}?lang=en")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(page.contains("Order A-000001 is accepted"), "{page}");
    assert!(page.contains("queued for setup"));

    // A low score from the bureau: the risk check sends the order to clearing.
    let (shop, order_path) = checkout("Risiko", "rita@example.de").await;
    let page = text(
        shop.get(app.url(ALPHA, &format!("{order_path}?lang=en")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(page.contains("Case number: V-000001"), "{page}");
    assert!(page.contains("review this order in person"));
    app.stop().await;
}

#[tokio::test]
async fn a_reseller_over_its_platform_limit_sends_orders_to_the_operator() {
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let secret = app
        .operator("ops@relabel.test", "operator-password-1")
        .await;
    let operator = app.client();
    app.operator_login(
        &operator,
        "ops@relabel.test",
        "operator-password-1",
        &secret,
    )
    .await;
    let alpha = app.state.tenancy.resolve(ALPHA).await.unwrap().unwrap();
    // The operator gives alpha 10.00 EUR of platform credit.
    let r = post(
        &app,
        &operator,
        "localhost",
        "/operator/clearing",
        &format!("/operator/clearing/limits/{}", alpha.id),
        &[("limit", "10.00")],
    )
    .await;
    assert_eq!(r.status(), 303);

    let key = app
        .api_key(
            ALPHA,
            &[
                "orders:read",
                "orders:write",
                "customers:write",
                "clearing:write",
                "credit:override",
            ],
        )
        .await;
    let api = app.client();
    let call = |path: &str, body: serde_json::Value| {
        api.post(app.url(ALPHA, &format!("/api/v1{path}")))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let c: serde_json::Value = call("/customers", serde_json::json!({
        "first_name": "Paula", "last_name": "Plattform", "street": "Weg 1", "postal_code": "10115",
        "city": "Berlin", "country": "DE", "email": "paula@example.de",
    })).await.unwrap().json().await.unwrap();
    let order = |domain: &'static str| {
        let body = serde_json::json!({ "customer_id": c["id"], "items": [{ "domain": domain, "period_months": 12 }] });
        async move {
            call("/orders", body)
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    // .de costs alpha 3.49 wholesale: two fit into 10.00, the third does not.
    assert_eq!(order("plattform1.de").await["status"], "accepted");
    assert_eq!(order("plattform2.de").await["status"], "accepted");
    let third = order("plattform3.de").await;
    assert_eq!(
        (third["status"].as_str(), third["case_reason"].as_str()),
        (Some("review"), Some("reseller_limit"))
    );
    // The reseller cannot decide it, not even with override.
    let cases: serde_json::Value = api
        .get(app.url(ALPHA, "/api/v1/clearing-cases"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let case_id = cases[0]["id"].as_str().unwrap().to_owned();
    let r = call(
        &format!("/clearing-cases/{case_id}/approve"),
        serde_json::json!({ "override_limit": true }),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 409);

    // The operator sees it with alpha's numbers and approves beyond the limit.
    let page = text(
        operator
            .get(app.url("localhost", "/operator/clearing?lang=en"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        page.contains("Alpha Hosting") && page.contains("3.49 EUR"),
        "{page}"
    );
    assert!(page.contains("3.02 EUR"), "available 10.00 - 6.98: {page}");
    let op_case = page.split("action=\"/operator/clearing/").nth(1).unwrap();
    let op_case = &op_case[..op_case.find('"').unwrap()];
    assert!(!op_case.starts_with("limits"));
    let r = post(
        &app,
        &operator,
        "localhost",
        "/operator/clearing",
        &format!("/operator/clearing/{op_case}"),
        &[("decision", "approve")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let got: serde_json::Value = api
        .get(app.url(
            ALPHA,
            &format!("/api/v1/orders/{}", third["id"].as_str().unwrap()),
        ))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["status"], "accepted");
    assert_eq!(got["items"][0]["provisioning"], "queued");
    let acc = relabel_platform::orders::wholesale::account(
        app.state.tenancy.backend().shared(),
        alpha.id.as_str(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(acc.reserved_minor, 3 * 349);
    // Deciding twice is refused; beta's staff never see alpha's platform case.
    let r = post(
        &app,
        &operator,
        "localhost",
        "/operator/clearing",
        &format!("/operator/clearing/{op_case}"),
        &[("decision", "reject")],
    )
    .await;
    assert_eq!(r.status(), 409);
    app.stop().await;
}

#[tokio::test]
async fn customers_keep_contacts_and_choose_a_holder_per_domain_in_the_cart() {
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let shop = app.client();
    // A customer through the checkout (signed in afterwards).
    post(
        &app,
        &shop,
        ALPHA,
        "/search?q=erstedomain",
        "/cart/add",
        &[
            ("domain", "erstedomain.de"),
            ("action", "register"),
            ("period", "12"),
        ],
    )
    .await;
    checkout_new_customer(&app, &shop, "agentur@example.de").await;

    let r = post(
        &app,
        &shop,
        ALPHA,
        "/account/contacts",
        "/account/contacts",
        &[
            ("first_name", "Kim"),
            ("last_name", ""),
            ("street", "Weg 2"),
            ("postal_code", "1"),
            ("city", "Wien"),
            ("country", "AT"),
            ("email", "kim@example.at"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    let page = text(r).await;
    assert!(page.contains("field-error"), "{page}");
    let r = post(
        &app,
        &shop,
        ALPHA,
        "/account/contacts",
        "/account/contacts",
        &[
            ("first_name", "Kim"),
            ("last_name", "Kunde"),
            ("street", "Weg 2"),
            ("postal_code", "1010"),
            ("city", "Wien"),
            ("country", "AT"),
            ("email", "kim@example.at"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);

    post(
        &app,
        &shop,
        ALPHA,
        "/search?q=kimsdomain",
        "/cart/add",
        &[
            ("domain", "kimsdomain.eu"),
            ("action", "register"),
            ("period", "12"),
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
    assert!(cart.contains("Kim Kunde, AT"), "{cart}");
    let item = cart.split("name=\"item\" value=\"").nth(1).unwrap();
    let item = &item[..item.find('"').unwrap()];
    let contact = cart
        .split("<option value=\"")
        .find(|s| s.contains("Kim Kunde"))
        .unwrap();
    let contact = &contact[..contact.find('"').unwrap()];
    // Someone else's (or no) contact id is refused.
    post(
        &app,
        &shop,
        ALPHA,
        "/cart",
        "/cart/holder",
        &[
            ("item", item),
            ("contact", "0123456789abcdef0123456789abcdef"),
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
    assert!(cart.contains("belongs to someone else"));
    post(
        &app,
        &shop,
        ALPHA,
        "/cart",
        "/cart/holder",
        &[("item", item), ("contact", contact)],
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
        cart.contains(&format!("<option value=\"{contact}\" selected>")),
        "{cart}"
    );
    app.stop().await;
}

/// A credit bureau that takes `delay` to answer and counts its (paid) calls.
async fn slow_bureau(
    delay: std::time::Duration,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use poem::web::{Data, Json};
    use poem::{EndpointExt, Route, handler, listener::Acceptor, listener::Listener, post};
    use std::sync::atomic::{AtomicUsize, Ordering};
    type Hits = std::sync::Arc<AtomicUsize>;
    #[handler]
    async fn score(Data(state): Data<&(Hits, std::time::Duration)>) -> Json<serde_json::Value> {
        state.0.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(state.1).await;
        Json(serde_json::json!({ "score": 820 }))
    }
    let hits: Hits = Default::default();
    let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().cloned().unwrap();
    let app = Route::new()
        .at("/score", post(score))
        .data((hits.clone(), delay));
    tokio::spawn(async move { poem::Server::new_with_acceptor(acceptor).run(app).await });
    (format!("http://{addr}/score"), hits)
}

#[tokio::test]
async fn a_slow_bureau_holds_up_no_page_and_paid_calls_are_limited_first() {
    use std::sync::atomic::Ordering;
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let (bureau_url, hits) = slow_bureau(std::time::Duration::from_secs(2)).await;
    let staff = app.client();
    relabel_tests::login(
        &staff,
        &app.url(ALPHA, "/console/login"),
        "owner@alpha.example",
        "alpha-demo-2026",
    )
    .await;
    let r = post(
        &app,
        &staff,
        ALPHA,
        "/console/settings",
        "/console/settings",
        &[
            ("customer_number_prefix", "K"),
            ("default_credit_limit", "500.00"),
            ("currency", "EUR"),
            ("order_activation", "auto"),
            ("widget_origins", ""),
            ("bureau_url", &bureau_url),
            ("bureau_threshold", "0"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let key = app.api_key(ALPHA, &["tenant:read"]).await;
    // Eight anonymous checkouts at once, from one client, against a bureau
    // that takes two seconds.
    let mut checkouts = Vec::new();
    for n in 0..8 {
        let shop = app.client();
        let app = &app;
        checkouts.push(async move {
            let domain = format!("slowbureau{n}.de");
            post(
                app,
                &shop,
                ALPHA,
                "/search?q=slowbureau",
                "/cart/add",
                &[
                    ("domain", domain.as_str()),
                    ("action", "register"),
                    ("period", "12"),
                ],
            )
            .await;
            let email = format!("slow{n}@example.de");
            let r = post(
                app,
                &shop,
                ALPHA,
                "/checkout",
                "/checkout",
                &[
                    ("kind", "person"),
                    ("first_name", "Sina"),
                    ("last_name", "Sommer"),
                    ("email", email.as_str()),
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
            (r.status(), r.text().await.unwrap_or_default())
        });
    }
    // Meanwhile the shop keeps answering requests that need its database.
    let probe = async {
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        let started = std::time::Instant::now();
        for _ in 0..3 {
            let r = app
                .client()
                .get(app.url(ALPHA, "/api/v1/tenant"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
        started.elapsed()
    };
    let (statuses, waited) = tokio::join!(futures::future::join_all(checkouts), probe);
    assert!(statuses.iter().all(|(s, _)| *s == 303), "{statuses:?}");
    assert!(
        waited < std::time::Duration::from_millis(1500),
        "the shop waited {waited:?} for a connection"
    );
    // The per-client limit ran before the paid call: five calls, not eight.
    assert_eq!(hits.load(Ordering::SeqCst), 5);
    app.stop().await;
}

/// No request fails because the embedded database is busy (on PostgreSQL the
/// same mix checks the pool): 50 clients at once mix customer logins, sign-ups,
/// API orders and console saves, on one shop and across two.
#[tokio::test]
async fn fifty_clients_at_once_get_no_server_error() {
    use relabel_platform::demo::{DEMO_CUSTOMER_EMAIL, DEMO_CUSTOMER_PASSWORD};
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    relabel_platform::demo::seed_billing(&app.state)
        .await
        .unwrap();
    let scopes = ["orders:read", "orders:write", "customers:write"];
    let mut shops = Vec::new();
    for (host, owner, password) in [
        (ALPHA, "owner@alpha.example", "alpha-demo-2026"),
        (BETA, "owner@beta.example", "beta-demo-2026"),
    ] {
        let key = app.api_key(host, &scopes).await;
        let customer: serde_json::Value = app
            .client()
            .post(app.url(host, "/api/v1/customers"))
            .bearer_auth(&key)
            .json(&serde_json::json!({
                "first_name": "Conny", "last_name": "Current", "street": "Weg 1",
                "postal_code": "10115", "city": "Berlin", "country": "DE",
                "email": "conny@example.de",
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = customer["id"].as_str().unwrap().to_owned();
        shops.push((host, owner, password, key, id));
    }
    // What a request got, with the body when it was a server error.
    async fn answer(
        what: &'static str,
        r: reqwest::Response,
        want: u16,
    ) -> (&'static str, u16, u16, String) {
        let got = r.status().as_u16();
        let body = if got >= 500 {
            r.text().await.unwrap_or_default()
        } else {
            String::new()
        };
        (what, got, want, body.chars().take(300).collect())
    }
    let tasks = (0..50u8).map(|i| {
        let (host, owner, password, key, customer) = shops[usize::from(i % 2)].clone();
        let client = app.client_from([127, 0, 1, 10 + i]);
        let app = &app;
        async move {
            let url = |path: &str| app.url(host, path);
            let mut seen = Vec::new();
            match i % 4 {
                0 => {
                    let r = relabel_tests::login(
                        &client,
                        &app.url(ALPHA, "/account/login"),
                        DEMO_CUSTOMER_EMAIL,
                        DEMO_CUSTOMER_PASSWORD,
                    )
                    .await;
                    seen.push(answer("customer login", r, 303).await);
                    let r = client
                        .get(app.url(ALPHA, "/account/orders"))
                        .send()
                        .await
                        .unwrap();
                    seen.push(answer("order list", r, 200).await);
                }
                1 => {
                    let domain = format!("gleichzeitig-{i}.de");
                    let r = client
                        .post(url("/api/v1/orders"))
                        .bearer_auth(&key)
                        .json(&serde_json::json!({
                            "customer_id": customer,
                            "items": [{ "domain": domain, "period_months": 12 }],
                        }))
                        .send()
                        .await
                        .unwrap();
                    seen.push(answer("API order", r, 200).await);
                }
                2 => {
                    let r = relabel_tests::login(&client, &url("/console/login"), owner, password)
                        .await;
                    seen.push(answer("console login", r, 303).await);
                    let token = relabel_tests::csrf(&client, &url("/console/settings")).await;
                    let r = client
                        .post(url("/console/settings"))
                        .form(&[
                            ("customer_number_prefix", "K"),
                            ("default_credit_limit", "500.00"),
                            ("currency", "EUR"),
                            ("order_activation", "auto"),
                            ("widget_origins", ""),
                            ("csrf", token.as_str()),
                        ])
                        .send()
                        .await
                        .unwrap();
                    seen.push(answer("console save", r, 303).await);
                }
                _ => {
                    let email = format!("neu-{i}@example.de");
                    let token = relabel_tests::csrf(&client, &url("/account/signup")).await;
                    let r = client
                        .post(url("/account/signup"))
                        .form(&[
                            ("kind", "person"),
                            ("first_name", "Nina"),
                            ("last_name", "Neu"),
                            ("email", email.as_str()),
                            ("password", "a-good-password-1"),
                            ("street", "Weg 1"),
                            ("postal_code", "10115"),
                            ("city", "Berlin"),
                            ("country", "DE"),
                            ("language", "de"),
                            ("accept_terms", "1"),
                            ("csrf", token.as_str()),
                        ])
                        .send()
                        .await
                        .unwrap();
                    seen.push(answer("signup", r, 200).await);
                }
            }
            seen
        }
    });
    let seen: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .flatten()
        .collect();
    let wrong: Vec<_> = seen
        .iter()
        .filter(|(_, got, want, _)| got != want)
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} requests: {wrong:?}",
        wrong.len(),
        seen.len()
    );
    app.stop().await;
}
