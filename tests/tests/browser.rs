//! In headless Chromium: search a name (answers stream in), add two TLDs, take
//! them for ten years, add hosting and the coupon, check out as a new customer,
//! and see the case number because the order is over the credit limit.

use relabel_tests::browser::Browser;
use relabel_tests::spawn_app;

/// Runs `js` that navigates, then waits until the new page has loaded.
async fn and_wait(b: &mut Browser, js: &str) {
    b.eval("window.__relabel_old_page = true").await.unwrap();
    b.eval(js).await.unwrap();
    b.wait_for("!window.__relabel_old_page && document.readyState === 'complete'")
        .await
        .unwrap();
}

/// Whether chromium is there (installed on first need, see `deps`); CI must
/// run every browser test, so there a missing one fails.
fn have_chromium() -> bool {
    relabel_tests::deps::ensure("Chromium", || relabel_tests::browser::chromium().is_some())
}

/// Adds `name` to the cart from the streamed search page.
async fn add_from_search(b: &mut Browser, base: &str, name: &str) {
    let (label, _) = name.split_once('.').unwrap();
    b.goto(&format!("{base}/search?q={label}&live=1"))
        .await
        .unwrap();
    let button = format!("document.querySelector('tr[data-ascii=\"{name}\"] form button')");
    b.wait_for(&button).await.unwrap();
    and_wait(b, &format!("{button}.click()")).await;
    assert_eq!(b.eval("location.pathname").await.unwrap(), "/cart");
}

/// In the cart: both domains for ten years, then Hosting Pro from the
/// cross-selling.
async fn ten_years_and_hosting(b: &mut Browser) {
    for i in 0..2 {
        and_wait(
            b,
            &format!("const s = document.querySelectorAll('.period-form select')[{i}]; s.value = '120'; s.dispatchEvent(new Event('change'))"),
        )
        .await;
    }
    and_wait(
        b,
        "document.querySelector('.cross-sell input[value=\"hosting-pro\"]').form.querySelector('button').click()",
    )
    .await;
}

/// Checks out the cart as the signed-in customer; returns the page's text.
async fn check_out_signed_in(b: &mut Browser, base: &str) -> String {
    b.goto(&format!("{base}/checkout")).await.unwrap();
    let page = b.eval("document.body.innerText").await.unwrap();
    assert!(
        !page.as_str().unwrap().contains("New here?"),
        "the signed-in checkout asks for a signup: {page}"
    );
    and_wait(
        b,
        r#"document.getElementById('accept_terms').checked = true;
           document.querySelector('form[action="/checkout"]').requestSubmit()"#,
    )
    .await;
    let path = b.eval("location.pathname").await.unwrap();
    assert!(
        path.as_str().unwrap().starts_with("/account/orders/"),
        "checkout went to {path}"
    );
    b.eval("document.body.innerText")
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

/// A returning customer (the demo's Maria) signs in, orders a domain (accepted)
/// and then a larger order over her credit limit (its case number shown), and
/// finds both in her order list, the second under its case number.
#[tokio::test]
async fn a_returning_customer_signs_in_and_orders_twice() {
    if !have_chromium() {
        return;
    }
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    relabel_platform::demo::seed_billing(&app.state)
        .await
        .unwrap();
    let base = format!("http://alpha.localhost:{}", app.addr.port());
    let mut b = Browser::launch().await.expect("headless chromium");

    b.goto(&format!("{base}/account/login?lang=en"))
        .await
        .unwrap();
    and_wait(
        &mut b,
        &format!(
            r#"document.getElementById('email').value = '{}';
               document.getElementById('password').value = '{}';
               document.querySelector('form[action="/account/login"]').requestSubmit()"#,
            relabel_platform::demo::DEMO_CUSTOMER_EMAIL,
            relabel_platform::demo::DEMO_CUSTOMER_PASSWORD
        ),
    )
    .await;
    let page = b.eval("document.body.innerText").await.unwrap();
    assert_eq!(
        b.eval("location.pathname").await.unwrap(),
        "/account",
        "{page}"
    );

    // First order: one domain, well within her limit.
    add_from_search(&mut b, &base, "stammkundin.de").await;
    let first = check_out_signed_in(&mut b, &base).await;
    assert!(
        first.contains("is accepted") || first.contains("is set up"),
        "{first}"
    );
    assert!(!first.contains("Case number"), "{first}");

    // Second order: two domains for ten years and hosting, over her limit.
    for name in ["stammkundin.com", "stammkundin.digital"] {
        add_from_search(&mut b, &base, name).await;
    }
    ten_years_and_hosting(&mut b).await;
    let second = check_out_signed_in(&mut b, &base).await;
    let case = second
        .split("Case number: ")
        .nth(1)
        .map(|s| s.split_whitespace().next().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no case number: {second}"));
    assert!(case.starts_with("V-"), "{case}");
    assert!(second.contains("exceeds your current credit limit"));
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("returning-case.png");
    b.screenshot(&shot).await.unwrap();

    // Her order list: the first by its number, the second by its case number.
    b.goto(&format!("{base}/account/orders")).await.unwrap();
    let list = b.eval("document.body.innerText").await.unwrap();
    let list = list.as_str().unwrap();
    let number_column = |l: &str| l.split('\t').nth(1).map(str::to_owned);
    let numbers: Vec<String> = list.lines().filter_map(number_column).collect();
    assert!(numbers.contains(&format!("Case {case}")), "{list}");
    assert!(numbers.iter().any(|n| n.starts_with("A-")), "{list}");
    drop(b);
    app.stop().await;
}

#[tokio::test]
async fn a_visitor_searches_orders_two_domains_and_sees_the_case_number() {
    if !have_chromium() {
        return;
    }
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let base = format!("http://alpha.localhost:{}", app.addr.port());
    let mut b = Browser::launch().await.expect("headless chromium");

    b.goto(&format!("{base}/?lang=en")).await.unwrap();
    and_wait(
        &mut b,
        "document.getElementById('domain-q').value = 'browserkauf'; document.querySelector('form.domain-search').requestSubmit()",
    )
    .await;
    assert!(
        b.eval("location.search")
            .await
            .unwrap()
            .as_str()
            .unwrap()
            .contains("live=1")
    );
    // The answers stream in: rows turn from "checking" to "available".
    b.wait_for("document.querySelector('tr[data-ascii=\"browserkauf.com\"] .badge-success')")
        .await
        .unwrap();
    b.wait_for("document.querySelectorAll('.badge-pending').length === 0")
        .await
        .unwrap();
    for tld in ["com", "digital"] {
        if b.eval("location.pathname").await.unwrap() != "/search" {
            b.goto(&format!("{base}/search?q=browserkauf&live=1"))
                .await
                .unwrap();
            b.wait_for(&format!(
                "document.querySelector('tr[data-ascii=\"browserkauf.{tld}\"] form button')"
            ))
            .await
            .unwrap();
        }
        and_wait(
            &mut b,
            &format!(
                "document.querySelector('tr[data-ascii=\"browserkauf.{tld}\"] form button').click()"
            ),
        )
        .await;
        assert_eq!(b.eval("location.pathname").await.unwrap(), "/cart");
    }
    // Ten years each, hosting from the cross-selling, the coupon.
    ten_years_and_hosting(&mut b).await;
    and_wait(
        &mut b,
        "document.getElementById('coupon').value = 'START10'; document.querySelector('.coupon-form').requestSubmit()",
    )
    .await;
    let cart = b.eval("document.body.innerText").await.unwrap();
    let cart = cart.as_str().unwrap();
    assert!(cart.contains("browserkauf.com") && cart.contains("browserkauf.digital"));
    assert_eq!(cart.matches("10 years").count(), 2, "{cart}");
    assert!(cart.contains("Coupon START10"));

    b.goto(&format!("{base}/checkout")).await.unwrap();
    and_wait(
        &mut b,
        r#"const set = (id, v) => { document.getElementById(id).value = v; };
           set('first_name', 'Bruno'); set('last_name', 'Browser'); set('email', 'bruno@example.de');
           set('password', 'a-good-password-1'); set('street', 'Weg 1'); set('postal_code', '10115');
           set('city', 'Berlin'); document.getElementById('country').value = 'DE';
           document.getElementById('accept_terms').checked = true;
           document.querySelector('form[action="/checkout"]').requestSubmit()"#,
    )
    .await;
    let page = b.eval("document.body.innerText").await.unwrap();
    let page = page.as_str().unwrap();
    assert!(page.contains("Case number: V-000001"), "{page}");
    assert!(page.contains("exceeds your current credit limit"));
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("case-number.png");
    b.screenshot(&shot).await.unwrap();
    drop(b);
    app.stop().await;
}

/// A reseller's admin publishes a footer with script in it (inline, and in an
/// event handler): the shop serves the footer, and no browser runs the
/// script, because no page allows inline script (`http::csp`).
#[tokio::test]
async fn script_in_a_resellers_template_does_not_run_in_the_browser() {
    if !have_chromium() {
        return;
    }
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let staff = app.client();
    relabel_tests::login(
        &staff,
        &app.url("alpha.localhost", "/console/login"),
        "owner@alpha.example",
        "alpha-demo-2026",
    )
    .await;
    let editor = "/console/appearance/template?name=default/_footer.html";
    let csrf = relabel_tests::csrf(&staff, &app.url("alpha.localhost", editor)).await;
    let footer = "<footer class=\"mine\">Alpha since 1999</footer>\
        <script>document.body.dataset.pwned = 'inline';</script>\
        <img src=\"/no-such-image\" onerror=\"document.body.dataset.pwned = 'handler'\">";
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .text("name", "default/_footer.html")
        .text("source", footer)
        .text("action", "publish");
    let r = staff
        .post(app.url("alpha.localhost", "/console/appearance/template"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let base = format!("http://alpha.localhost:{}", app.addr.port());
    let mut b = Browser::launch().await.expect("headless chromium");
    b.goto(&format!("{base}/?lang=de")).await.unwrap();
    b.wait_for("document.querySelector('footer.mine') && document.readyState === 'complete'")
        .await
        .unwrap();
    // Give a blocked image's error handler the chance it would have had.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        b.eval("document.body.dataset.pwned || 'no'").await.unwrap(),
        "no",
        "the reseller's script ran"
    );
    app.stop().await;
}
