//! Storefront design and the reseller's own templates (T3, A6, B10, V6): theme,
//! legal pages, analytics with consent; templates previewed in the sandbox,
//! published, rolled back; runaway templates never reach the storefront; one
//! reseller never sees another's.

use relabel_tests::{TestApp, csrf, input_value, login, spawn_app, unescape};
use reqwest::multipart::Form;

const FOOTER: &str = "default/_footer.html";

async fn staff(app: &TestApp, host: &str) -> reqwest::Client {
    let client = app.client();
    let rsp = login(
        &client,
        &app.url(host, "/console/login"),
        &format!("owner@{host}"),
        "owner-password-1",
    )
    .await;
    assert!(rsp.status().is_redirection(), "login on {host}");
    client
}

async fn two_shops(app: &TestApp) {
    for (name, host) in [("Alpha", "alpha.test"), ("Beta", "beta.test")] {
        app.reseller(name, host, &format!("owner@{host}"), "owner-password-1")
            .await;
    }
}

/// Publishes version `id` from `host`'s console; returns the status.
async fn publish(app: &TestApp, client: &reqwest::Client, host: &str, id: &str) -> u16 {
    let token = csrf(client, &app.url(host, "/console/appearance/templates")).await;
    client
        .post(app.url(host, "/console/appearance/template/publish"))
        .form(&[("csrf", token.as_str()), ("version_id", id)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn home(app: &TestApp, host: &str) -> String {
    app.client()
        .get(app.url(host, "/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn look_form(token: &str, fields: &[(&str, &str)]) -> Form {
    let mut form = Form::new().text("csrf", token.to_owned());
    let defaults = [
        ("theme", "classic"),
        ("font", "system"),
        ("analytics_kind", ""),
    ];
    for (k, v) in defaults {
        if !fields.iter().any(|(f, _)| *f == k) {
            form = form.text(k, v);
        }
    }
    for (k, v) in fields {
        form = form.text((*k).to_owned(), (*v).to_owned());
    }
    form
}

/// Saves `source` for the footer with `action`; returns the redirect target.
async fn save_footer(
    app: &TestApp,
    client: &reqwest::Client,
    host: &str,
    source: &str,
    action: &str,
) -> String {
    let token = csrf(
        client,
        &app.url(host, &format!("/console/appearance/template?name={FOOTER}")),
    )
    .await;
    let form = Form::new()
        .text("csrf", token)
        .text("name", FOOTER)
        .text("source", source.to_owned())
        .text("action", action.to_owned());
    let rsp = client
        .post(app.url(host, "/console/appearance/template"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(rsp.status().is_redirection(), "{}", rsp.status());
    rsp.headers()["location"].to_str().unwrap().to_owned()
}

fn version_id(location: &str) -> String {
    location
        .split("version=")
        .nth(1)
        .expect("a version in the redirect")
        .to_owned()
}

#[tokio::test]
async fn a_reseller_sets_theme_legal_pages_and_analytics_with_field_errors() {
    let app = spawn_app().await;
    two_shops(&app).await;
    let alpha = staff(&app, "alpha.test").await;
    let page = app.url("alpha.test", "/console/appearance");
    assert!(
        home(&app, "alpha.test")
            .await
            .contains("/_store/theme-classic.css")
    );

    // Bad analytics settings: 422, the field is named, nothing changes.
    let token = csrf(&alpha, &page).await;
    let rsp = alpha
        .post(&page)
        .multipart(look_form(
            &token,
            &[
                ("theme", "studio"),
                ("analytics_kind", "matomo"),
                ("matomo_url", "javascript:alert(1)"),
                ("matomo_site_id", "x1"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 422);
    let html = rsp.text().await.unwrap();
    assert!(html.contains("id=\"matomo_url-error\""), "{html}");
    assert!(html.contains("id=\"matomo_site_id-error\""));
    assert!(
        home(&app, "alpha.test")
            .await
            .contains("/_store/theme-classic.css")
    );
    let rsp = alpha
        .post(&page)
        .multipart(look_form(&token, &[("theme", "neon")]))
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 422);

    // A good one: theme, font, CSS, imprint, Matomo.
    let rsp = alpha
        .post(&page)
        .multipart(look_form(
            &token,
            &[
                ("theme", "studio"),
                ("font", "serif"),
                ("custom_css", ".hero h1 { letter-spacing: 0 }"),
                (
                    "imprint",
                    "Alpha GmbH\nMusterweg 1\n\nGeschäftsführer: A. Alpha",
                ),
                ("analytics_kind", "matomo"),
                ("matomo_url", "https://stats.alpha.test/"),
                ("matomo_site_id", "3"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert!(rsp.status().is_redirection(), "{}", rsp.status());
    let html = home(&app, "alpha.test").await;
    assert!(html.contains("/_store/theme-studio.css"));
    assert!(html.contains(".hero h1 { letter-spacing: 0 }"));
    assert!(html.contains("href=\"/legal/imprint\""));
    assert!(!html.contains("href=\"/legal/privacy\""));
    assert!(unescape(&html).contains("data-url=\"https://stats.alpha.test/\" data-site=\"3\""));
    let css = app
        .client()
        .get(app.url("alpha.test", "/_store/theme-studio.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert!(css.text().await.unwrap().contains(".site-header"));

    let imprint = app
        .client()
        .get(app.url("alpha.test", "/legal/imprint"))
        .send()
        .await
        .unwrap();
    assert_eq!(imprint.status(), 200);
    let imprint = unescape(&imprint.text().await.unwrap());
    assert!(
        imprint.contains("<p>Alpha GmbH\nMusterweg 1</p>"),
        "{imprint}"
    );
    assert!(imprint.contains("Geschäftsführer: A. Alpha"));
    let none = app
        .client()
        .get(app.url("alpha.test", "/legal/privacy"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 404);

    // Beta is untouched and cannot read alpha's legal page.
    let beta_home = home(&app, "beta.test").await;
    assert!(beta_home.contains("/_store/theme-classic.css"));
    assert!(!beta_home.contains("stats.alpha.test"));
    let rsp = app
        .client()
        .get(app.url("beta.test", "/legal/imprint"))
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn templates_are_previewed_published_rolled_back_and_sandboxed() {
    let app = spawn_app().await;
    two_shops(&app).await;
    let alpha = staff(&app, "alpha.test").await;

    // The editor starts from the built-in template and documents placeholders.
    let editor = alpha
        .get(app.url(
            "alpha.test",
            &format!("/console/appearance/template?name={FOOTER}"),
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(unescape(&editor).contains("class=\"site-footer\""));
    assert!(editor.contains("brand.name"));

    // A draft with preview: the preview shows it, the storefront does not yet.
    let v1 = "<footer class=\"site-footer\">Alpha footer one {{ brand.name }}</footer>";
    let location = save_footer(&app, &alpha, "alpha.test", v1, "preview").await;
    let v1_id = version_id(&location);
    let preview = alpha
        .get(app.url("alpha.test", &location))
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status(), 200);
    let preview = unescape(&preview.text().await.unwrap());
    assert!(
        preview.contains("Alpha footer one Alpha"),
        "the preview renders the draft"
    );
    assert!(!home(&app, "alpha.test").await.contains("Alpha footer one"));

    // Publish it: the storefront serves it at once.
    assert_eq!(publish(&app, &alpha, "alpha.test", &v1_id).await, 303);
    assert!(
        home(&app, "alpha.test")
            .await
            .contains("Alpha footer one Alpha")
    );
    // Pages that share the layout use it too.
    let login_page = app
        .client()
        .get(app.url("alpha.test", "/account/login"))
        .send()
        .await
        .unwrap();
    assert!(
        login_page
            .text()
            .await
            .unwrap()
            .contains("Alpha footer one")
    );

    // Version 2, saved and published in one step.
    let v2 = "<footer class=\"site-footer\">Alpha footer two</footer>";
    save_footer(&app, &alpha, "alpha.test", v2, "publish").await;
    assert!(home(&app, "alpha.test").await.contains("Alpha footer two"));

    // Runaway and foreign templates are refused in the preview and never published.
    let bad = [
        (
            "{% for i in range(10000) %}{% for j in range(10000) %}{{ j }}{% endfor %}{% endfor %}",
            "fuel",
        ),
        (
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
            "recursion",
        ),
        ("{{ \"x\" * 600000 }}", "larger than"),
        (
            "{% include \"t_0123456789abcdef0123456789abcdef/default/_footer.html\" %}",
            "not found",
        ),
    ];
    for (source, expected) in bad {
        let started = std::time::Instant::now();
        let location = save_footer(&app, &alpha, "alpha.test", source, "publish").await;
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        let page = alpha
            .get(app.url("alpha.test", &location))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 422, "{source}");
        let page = page.text().await.unwrap();
        assert!(page.to_lowercase().contains(expected), "{source}: {page}");
        assert!(
            home(&app, "alpha.test").await.contains("Alpha footer two"),
            "{source}"
        );
    }

    // Roll back to version 1.
    assert_eq!(publish(&app, &alpha, "alpha.test", &v1_id).await, 303);
    let html = home(&app, "alpha.test").await;
    assert!(html.contains("Alpha footer one"));
    assert!(!html.contains("Alpha footer two"));
    let list = alpha
        .get(app.url("alpha.test", "/console/appearance/templates"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(">v1<"), "v1 is live: {list}");

    // Beta: its own footer, alpha's version is not found for it.
    assert!(!home(&app, "beta.test").await.contains("Alpha footer"));
    let beta = staff(&app, "beta.test").await;
    let rsp = beta
        .get(app.url(
            "beta.test",
            &format!("/console/appearance/template?name={FOOTER}&version={v1_id}"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 404);
    assert_eq!(publish(&app, &beta, "beta.test", &v1_id).await, 404);
    assert!(!home(&app, "beta.test").await.contains("Alpha footer"));

    // Back to the built-in footer.
    let token = csrf(
        &alpha,
        &app.url("alpha.test", "/console/appearance/templates"),
    )
    .await;
    let rsp = alpha
        .post(app.url("alpha.test", "/console/appearance/template/builtin"))
        .form(&[("csrf", token.as_str()), ("name", FOOTER)])
        .send()
        .await
        .unwrap();
    assert!(rsp.status().is_redirection());
    assert!(!home(&app, "alpha.test").await.contains("Alpha footer"));
    app.stop().await;
}

#[tokio::test]
async fn a_resellers_email_template_is_used_for_its_mails() {
    let app = spawn_app().await;
    let t = app
        .reseller(
            "Alpha",
            "alpha.test",
            "owner@alpha.test",
            "owner-password-1",
        )
        .await;
    let alpha = staff(&app, "alpha.test").await;
    let token = csrf(
        &alpha,
        &app.url(
            "alpha.test",
            "/console/appearance/template?name=emails/reset_password.txt",
        ),
    )
    .await;
    let form = Form::new()
        .text("csrf", token)
        .text("name", "emails/reset_password.txt")
        .text(
            "source",
            "Subject: Neues Passwort für {{ brand_name }}\n\nHier entlang: {{ link }}\nIhr Alpha-Team",
        )
        .text("action", "publish");
    let rsp = alpha
        .post(app.url("alpha.test", "/console/appearance/template"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(rsp.status().is_redirection());

    // A customer asks for a new password: the mail uses the reseller's text.
    let shop = app.client();
    let reset = app.url("alpha.test", "/account/reset");
    let page = shop.get(&reset).send().await.unwrap().text().await.unwrap();
    let token = input_value(&page, "csrf").expect("reset form");
    relabel_tests::billing::customer(
        &app.state,
        &t,
        relabel_tests::billing::NewCustomer {
            email: "kim@example.com",
            ..Default::default()
        },
    )
    .await;
    let rsp = shop
        .post(&reset)
        .form(&[("csrf", token.as_str()), ("email", "kim@example.com")])
        .send()
        .await
        .unwrap();
    assert!(rsp.status().is_success() || rsp.status().is_redirection());
    let (subject, body) = relabel_tests::last_mail(&app, "alpha.test", "kim@example.com").await;
    assert_eq!(subject, "Neues Passwort für Alpha");
    assert!(body.contains("Ihr Alpha-Team"), "{body}");
    app.stop().await;
}

/// Saves and publishes `source` as `name` from alpha's console; whether it
/// was published (a draft that does not render is kept unpublished and the
/// editor opens on it).
async fn publish_source(app: &TestApp, client: &reqwest::Client, name: &str, source: &str) -> bool {
    let token = csrf(
        client,
        &app.url(
            "alpha.test",
            &format!("/console/appearance/template?name={name}"),
        ),
    )
    .await;
    let form = Form::new()
        .text("csrf", token)
        .text("name", name.to_owned())
        .text("source", source.to_owned())
        .text("action", "publish");
    let rsp = client
        .post(app.url("alpha.test", "/console/appearance/template"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 303);
    !rsp.headers()["location"]
        .to_str()
        .unwrap()
        .contains("version=")
}

#[tokio::test]
async fn invoices_dunning_letters_and_their_mails_use_the_resellers_templates() {
    use relabel_platform::{billing, payments::dunning};
    use relabel_tests::billing::{NewCustomer, customer, pdf_text, run_jobs, setup};
    use sea_orm::EntityTrait;
    let app = spawn_app().await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let alpha = staff(&app, "alpha.test").await;
    for (name, source) in [
        (
            "documents/invoice.txt",
            "{% if document == 'invoice' %}Mit Dank für Ihren Auftrag, {{ customer_name }}:{% else %}Gutgeschrieben:{% endif %}",
        ),
        (
            "emails/invoice.txt",
            "Subject: Beleg {{ number }} von {{ brand_name }}\n\nAnbei Ihr Beleg über {{ total }}.",
        ),
        (
            "documents/dunning_letter.txt",
            "Title: Freundliche Erinnerung {{ level }}\n\nHallo {{ customer_name }}, bitte zahlen Sie {{ total }}.\n\nDanke!",
        ),
        (
            "emails/dunning_letter.txt",
            "Subject: {{ title }} ({{ brand_name }})\n\nBitte zahlen Sie {{ total }}.",
        ),
        (
            "documents/statement.txt",
            "Ihr Kontostand bei {{ brand_name }}: {{ balance }}",
        ),
    ] {
        assert!(
            publish_source(&app, &alpha, name, source).await,
            "{name} publishes"
        );
    }
    // A letter text without its title line is refused; the published one stays.
    assert!(
        !publish_source(
            &app,
            &alpha,
            "documents/dunning_letter.txt",
            "Hallo {{ customer_name }}"
        )
        .await
    );

    let c = customer(
        &app.state,
        &t,
        NewCustomer {
            email: "kim@example.com",
            ..Default::default()
        },
    )
    .await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let inv = billing::one_off(
        &tx,
        "Alpha",
        &c.id,
        &[billing::OneOffLine {
            description: "Support".into(),
            quantity: "1".into(),
            unit_price: "100".into(),
            vat_rate: "19".into(),
        }],
        "",
        "test",
    )
    .await
    .unwrap();
    // Due long ago: a reminder today.
    let mut im: billing::invoice::ActiveModel = inv.clone().into();
    im.due_at = sea_orm::Set(chrono::Utc::now() - chrono::Duration::days(10));
    sea_orm::ActiveModelTrait::update(im, tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    run_jobs(&app, &t).await;
    let (subject, body) = relabel_tests::last_mail(&app, "alpha.test", "kim@example.com").await;
    assert_eq!(subject, format!("Beleg {} von Alpha", inv.number));
    assert!(body.contains("119,00") || body.contains("119.00"), "{body}");
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let stored = billing::invoice::Entity::find_by_id(inv.id.clone())
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap();
    drop(tx);
    if let Some(text) = pdf_text(&stored.pdf.unwrap()) {
        assert!(text.contains("Mit Dank für Ihren Auftrag"), "{text}");
    }

    let tx = app.state.tenancy.begin_write(&t).await.unwrap();
    let run = dunning::run(&tx, chrono::Utc::now(), "test").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(run.letters, 1);
    run_jobs(&app, &t).await;
    let (subject, body) = relabel_tests::last_mail(&app, "alpha.test", "kim@example.com").await;
    assert_eq!(subject, "Freundliche Erinnerung 1 (Alpha)");
    assert!(body.starts_with("Bitte zahlen Sie"), "{body}");
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let letter = dunning::letters_of(&tx, &c.id).await.unwrap().remove(0);
    drop(tx);
    if let Some(text) = pdf_text(&letter.pdf.unwrap()) {
        assert!(text.contains("Freundliche Erinnerung 1"), "{text}");
        assert!(text.contains("bitte zahlen Sie"), "{text}");
        assert!(text.contains("Danke!"), "{text}");
    }
    let statement = billing::document::statement(&app.state, &t, &c.id)
        .await
        .unwrap()
        .unwrap();
    if let Some(text) = pdf_text(&statement) {
        assert!(text.contains("Ihr Kontostand bei Alpha"), "{text}");
    }
    app.stop().await;
}
