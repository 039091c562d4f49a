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

#[tokio::test]
async fn a_visitor_searches_orders_two_domains_and_sees_the_case_number() {
    if relabel_tests::browser::chromium().is_none() {
        // CI installs chromium (.ci/install-test-deps) and must run this test.
        assert!(
            std::env::var("CI").is_err(),
            "chromium is required in CI: run .ci/install-test-deps"
        );
        eprintln!("SKIPPED: chromium is not installed (apt-get install chromium)");
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
    for i in 0..2 {
        and_wait(
            &mut b,
            &format!("const s = document.querySelectorAll('.period-form select')[{i}]; s.value = '120'; s.dispatchEvent(new Event('change'))"),
        )
        .await;
    }
    and_wait(
        &mut b,
        "document.querySelector('.cross-sell input[value=\"hosting-pro\"]').form.querySelector('button').click()",
    )
    .await;
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
    if relabel_tests::browser::chromium().is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "chromium is required in CI: run .ci/install-test-deps"
        );
        eprintln!("SKIPPED: chromium is not installed (apt-get install chromium)");
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
