//! Customer accounts on the storefront and customer management in the console.

use relabel_tests::{
    TestApp, csrf, last_mail, link_path, login, spawn_app, spawn_app_with, unescape,
};

const SIGNUP: &[(&str, &str)] = &[
    ("kind", "person"),
    ("first_name", "Erika"),
    ("last_name", "Muster"),
    ("email", "erika@example.com"),
    ("password", "erika-pass-2026"),
    ("street", "Hauptstr. 1"),
    ("postal_code", "10115"),
    ("city", "Berlin"),
    ("country", "DE"),
    ("phone", "+49 30 1234567"),
    ("language", "de"),
    ("accept_terms", "1"),
];

async fn post_form(
    client: &reqwest::Client,
    app: &TestApp,
    host: &str,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let token = csrf(client, &app.url(host, page)).await;
    let mut form = fields.to_vec();
    form.push(("csrf", &token));
    client
        .post(app.url(host, action))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn two_resellers(app: &TestApp) {
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

/// Signs up on `host` and follows the verification link from the outbox.
async fn signed_up(app: &TestApp, host: &str) -> reqwest::Client {
    let client = app.client();
    let resp = post_form(
        &client,
        app,
        host,
        "/account/signup",
        "/account/signup",
        SIGNUP,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let (_, body) = last_mail(app, host, "erika@example.com").await;
    let resp = client
        .get(app.url(host, &link_path(&body, "/account/verify?token=")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    client
}

async fn customer_login(
    client: &reqwest::Client,
    app: &TestApp,
    host: &str,
    password: &str,
) -> reqwest::Response {
    login(
        client,
        &app.url(host, "/account/login"),
        "erika@example.com",
        password,
    )
    .await
}

#[tokio::test]
async fn a_customer_signs_up_verifies_logs_in_and_edits_master_data() {
    let app = spawn_app().await;
    two_resellers(&app).await;
    let client = app.client();
    let resp = post_form(
        &client,
        &app,
        "alpha.test",
        "/account/signup",
        "/account/signup",
        SIGNUP,
    )
    .await;
    assert_eq!(resp.status(), 200);

    // Not verified yet: login is refused (and a fresh link is sent).
    assert_eq!(
        customer_login(&client, &app, "alpha.test", "erika-pass-2026")
            .await
            .status(),
        403
    );
    let (subject, body) = last_mail(&app, "alpha.test", "erika@example.com").await;
    assert!(!subject.is_empty());
    assert!(body.contains("Alpha"), "branded mail");
    let verify = link_path(&body, "/account/verify?token=");
    assert_eq!(
        client
            .get(app.url("alpha.test", &verify))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The link works once.
    assert_eq!(
        client
            .get(app.url("alpha.test", &verify))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );

    let resp = customer_login(&client, &app, "alpha.test", "erika-pass-2026").await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        client
            .get(app.url("alpha.test", "/account"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let profile = [
        ("kind", "person"),
        ("first_name", "Erika"),
        ("last_name", "Musterfrau"),
        ("street", "Hauptstr. 1"),
        ("postal_code", "10115"),
        ("city", "Berlin"),
        ("country", "DE"),
        ("language", "de"),
        ("iban", "DE89 3704 0044 0532 0130 00"),
        ("bic", "COBADEFFXXX"),
        ("account_holder", "Erika Musterfrau"),
        ("grant_mandate", "1"),
    ];
    let resp = post_form(
        &client,
        &app,
        "alpha.test",
        "/account/profile",
        "/account/profile",
        &profile,
    )
    .await;
    assert_eq!(resp.status(), 303);
    let page = unescape(
        &client
            .get(app.url("alpha.test", "/account/profile"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(page.contains("DE89370400440532013000"));
    // A storefront signup has no customer number before its first accepted
    // order; the mandate reference is made from its id meanwhile.
    assert!(page.contains("MR-"), "mandate reference assigned");

    // Alpha's owner sees the customer; Beta's does not.
    let alpha = app.client();
    login(
        &alpha,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let list = alpha
        .get(app.url("alpha.test", "/console/customers?q=erika"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("Musterfrau") && !list.contains("K10001"));
    let beta = app.client();
    login(
        &beta,
        &app.url("beta.test", "/console/login"),
        "owner@beta.test",
        "beta-password-1",
    )
    .await;
    let list = beta
        .get(app.url("beta.test", "/console/customers?q=erika"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!list.contains("Musterfrau") && !list.contains("erika@example.com"));

    // A customer of Alpha cannot sign in at Beta, and Alpha's session is not Beta's.
    assert_eq!(
        customer_login(&app.client(), &app, "beta.test", "erika-pass-2026")
            .await
            .status(),
        401
    );
    assert_eq!(
        client
            .get(app.url("beta.test", "/account"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );

    // The change is in the customer's change log, with the client's IP.
    let t = app
        .state
        .tenancy
        .resolve("alpha.test")
        .await
        .unwrap()
        .unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let log = relabel_platform::audit::recent_tenant(&tx, 20)
        .await
        .unwrap();
    let update = log
        .iter()
        .find(|e| e.action == "customer.update")
        .expect("audited");
    // No customer number before the first accepted order: the email names them.
    assert!(
        update.actor.starts_with("customer:") && update.actor.contains('@'),
        "{}",
        update.actor
    );
    assert_eq!(update.ip.as_deref(), Some("127.0.0.1"));
    assert!(update.before.as_deref().unwrap().contains("Muster\""));
    assert!(update.after.as_deref().unwrap().contains("Musterfrau"));
    app.stop().await;
}

#[tokio::test]
async fn invalid_master_data_is_refused_per_field_and_nothing_changes() {
    let app = spawn_app().await;
    two_resellers(&app).await;
    let client = signed_up(&app, "alpha.test").await;
    assert_eq!(
        customer_login(&client, &app, "alpha.test", "erika-pass-2026")
            .await
            .status(),
        303
    );
    let base = [
        ("kind", "person"),
        ("first_name", "Erika"),
        ("last_name", "Muster"),
        ("street", "Hauptstr. 1"),
        ("postal_code", "10115"),
        ("city", "Berlin"),
        ("country", "DE"),
        ("language", "de"),
    ];
    let cases: &[(&str, &str, &str)] = &[
        ("iban", "DE89 3704 0044 0532 0130 01", "valid IBAN"),
        ("bic", "COBAXXFF", "valid BIC"),
        ("vat_id", "DE12345", "VAT ID"),
        ("postal_code", "1011", "postal code"),
        ("phone", "030 1234567", "international format"),
        ("country", "XX", "Choose a country"),
        ("first_name", "", "required"),
        ("kind", "robot", "Choose one of the options"),
    ];
    let long_street = format!("{} 1", "Lange Strasse ".repeat(15));
    let too_long = [("street", long_street.as_str(), "1 to 200 characters")];
    for (field, value, message) in cases.iter().chain(&too_long) {
        let mut form: Vec<(&str, &str)> =
            base.iter().filter(|(k, _)| k != field).copied().collect();
        form.push((field, value));
        let resp = post_form(
            &client,
            &app,
            "alpha.test",
            "/account/profile?lang=en",
            "/account/profile",
            &form,
        )
        .await;
        assert_eq!(resp.status(), 422, "{field}");
        let body = unescape(&resp.text().await.unwrap());
        assert!(body.contains(message), "{field}: expected '{message}'");
    }
    let t = app
        .state
        .tenancy
        .resolve("alpha.test")
        .await
        .unwrap()
        .unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let log = relabel_platform::audit::recent_tenant(&tx, 50)
        .await
        .unwrap();
    assert!(
        log.iter().all(|e| e.action != "customer.update"),
        "nothing was written"
    );
    drop(tx);
    // A street of 150 characters is an address line the form allows.
    let street = format!("{} 1", "Lange Strasse ".repeat(10));
    assert!(street.chars().count() > 100);
    let form: Vec<(&str, &str)> = base
        .iter()
        .map(|&(k, v)| {
            if k == "street" {
                (k, street.as_str())
            } else {
                (k, v)
            }
        })
        .collect();
    let resp = post_form(
        &client,
        &app,
        "alpha.test",
        "/account/profile?lang=en",
        "/account/profile",
        &form,
    )
    .await;
    assert_eq!(resp.status(), 303, "a 150-character street");
    app.stop().await;
}

#[tokio::test]
async fn a_reset_link_works_once_and_expires() {
    let app = spawn_app().await;
    two_resellers(&app).await;
    let client = signed_up(&app, "alpha.test").await;

    // Known and unknown addresses get the same answer.
    let known = post_form(
        &client,
        &app,
        "alpha.test",
        "/account/reset",
        "/account/reset",
        &[("email", "erika@example.com")],
    )
    .await;
    let known_body = known.text().await.unwrap();
    let unknown = post_form(
        &client,
        &app,
        "alpha.test",
        "/account/reset",
        "/account/reset",
        &[("email", "nobody@example.com")],
    )
    .await;
    assert_eq!(unknown.status(), 200);
    assert_eq!(
        unknown.text().await.unwrap(),
        known_body,
        "no account enumeration"
    );

    let (_, body) = last_mail(&app, "alpha.test", "erika@example.com").await;
    let link = link_path(&body, "/account/reset/confirm?token=");
    let token = link.split("token=").nth(1).unwrap().to_owned();
    assert_eq!(
        client
            .get(app.url("alpha.test", &link))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let new = [
        ("token", token.as_str()),
        ("password", "brand-new-pass-1"),
        ("password_confirm", "brand-new-pass-1"),
    ];
    let resp = post_form(
        &client,
        &app,
        "alpha.test",
        &link,
        "/account/reset/confirm",
        &new,
    )
    .await;
    assert_eq!(resp.status(), 200);
    // Used once: the same link is refused.
    let again = post_form(
        &client,
        &app,
        "alpha.test",
        "/account/reset",
        "/account/reset/confirm",
        &new,
    )
    .await;
    assert_eq!(again.status(), 400);
    assert_eq!(
        customer_login(&app.client(), &app, "alpha.test", "brand-new-pass-1")
            .await
            .status(),
        303
    );

    // An expired link is refused.
    post_form(
        &client,
        &app,
        "alpha.test",
        "/account/reset",
        "/account/reset",
        &[("email", "erika@example.com")],
    )
    .await;
    let (_, body) = last_mail(&app, "alpha.test", "erika@example.com").await;
    let link = link_path(&body, "/account/reset/confirm?token=");
    let t = app
        .state
        .tenancy
        .resolve("alpha.test")
        .await
        .unwrap()
        .unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    relabel_platform::tokens::entity::Entity::update_many()
        .col_expr(
            relabel_platform::tokens::entity::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .filter(relabel_platform::tokens::entity::Column::UsedAt.is_null())
        .exec(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        client
            .get(app.url("alpha.test", &link))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    app.stop().await;
}

/// Signs up on Alpha with `email` (otherwise as Erika); returns the status and
/// the page without its per-session tokens.
async fn signup_as(app: &TestApp, email: &str) -> (u16, String) {
    let mut fields = SIGNUP.to_vec();
    fields.retain(|(k, _)| *k != "email");
    fields.push(("email", email));
    let resp = post_form(
        &app.client(),
        app,
        "alpha.test",
        "/account/signup",
        "/account/signup",
        &fields,
    )
    .await;
    let status = resp.status().as_u16();
    let page = resp.text().await.unwrap();
    let without_tokens = page
        .split("name=\"csrf\"")
        .map(|part| part.split_once('>').map_or(part, |(_, rest)| rest))
        .collect::<Vec<_>>()
        .join("");
    (status, without_tokens)
}

#[tokio::test]
async fn signup_with_a_registered_address_answers_as_for_a_new_one_and_tells_the_holder() {
    let app = spawn_app().await;
    two_resellers(&app).await;
    signed_up(&app, "alpha.test").await;
    let (status_new, page_new) = signup_as(&app, "new@example.com").await;
    let (status_taken, page_taken) = signup_as(&app, "Erika@Example.com").await;
    assert_eq!(status_new, 200);
    assert_eq!(status_taken, status_new);
    assert_eq!(page_taken, page_new, "the page does not tell");

    // The holder hears of it, in the account's language (German), with the ways
    // to sign in and to reset the password.
    let (subject, body) = last_mail(&app, "alpha.test", "erika@example.com").await;
    assert_eq!(subject, "Registrierung mit Ihrer E-Mail-Adresse bei Alpha");
    assert!(body.contains("Guten Tag Erika Muster,"), "{body}");
    assert!(body.contains("/account/login\n"), "{body}");
    assert_eq!(link_path(&body, "/account/reset"), "/account/reset");
    // And the account is as it was: one Erika, her password unchanged.
    assert_eq!(
        customer_login(&app.client(), &app, "alpha.test", "erika-pass-2026")
            .await
            .status(),
        303
    );
    app.stop().await;
}

/// Moving an account to another address: a registered address answers as a new
/// one does (the holder is told instead), and a new one takes effect when its
/// owner confirms it.
#[tokio::test]
async fn a_taken_address_answers_an_email_change_as_a_new_one_and_tells_its_holder() {
    let app = spawn_app().await;
    two_resellers(&app).await;
    let client = signed_up(&app, "alpha.test").await;
    assert_eq!(
        customer_login(&client, &app, "alpha.test", "erika-pass-2026")
            .await
            .status(),
        303
    );
    signup_as(&app, "taken@example.com").await;
    let change = |to: &'static str| {
        let client = client.clone();
        let app = &app;
        async move {
            let resp = post_form(
                &client,
                app,
                "alpha.test",
                "/account/security",
                "/account/security/email",
                &[("current_password", "erika-pass-2026"), ("email", to)],
            )
            .await;
            let answer = (
                resp.status().as_u16(),
                resp.headers()
                    .get("location")
                    .map(|l| l.to_str().unwrap().to_owned()),
            );
            let page = client
                .get(app.url("alpha.test", "/account/security"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let page = unescape(&page);
            let told = [
                "Bestätigungslink an die neue Adresse",
                "confirmation link to the new address",
            ]
            .iter()
            .any(|t| page.contains(t));
            (answer, told)
        }
    };
    let taken = change("Taken@Example.com").await;
    let new = change("erika.neu@example.com").await;
    assert_eq!(taken.0, (303, Some("/account/security".to_owned())));
    assert!(
        taken.1,
        "the flash says a link went to the new address: {taken:?}"
    );
    assert_eq!(
        taken, new,
        "the answer does not tell whether the address is taken"
    );

    // The holder of the taken address hears of it (no link with a secret) ...
    let (subject, body) = last_mail(&app, "alpha.test", "taken@example.com").await;
    assert_eq!(subject, "Ihre E-Mail-Adresse bei Alpha");
    assert!(body.contains("anderes Kundenkonto"), "{body}");
    assert!(!body.contains("token="), "{body}");
    // ... the new address gets the confirmation, and only it moves the account.
    let (_, body) = last_mail(&app, "alpha.test", "erika.neu@example.com").await;
    let confirm = link_path(&body, "/account/email/confirm?token=");
    let resp = client
        .get(app.url("alpha.test", &confirm))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let moved = login(
        &app.client(),
        &app.url("alpha.test", "/account/login"),
        "erika.neu@example.com",
        "erika-pass-2026",
    )
    .await;
    assert_eq!(moved.status(), 303);
    // The taken address still belongs to its holder alone.
    let t = app
        .state
        .tenancy
        .resolve("alpha.test")
        .await
        .unwrap()
        .unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let holder = relabel_platform::customers::find_by_email(&tx, "taken@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(holder.email, "taken@example.com");
    drop(tx);
    app.stop().await;
}

#[tokio::test]
async fn a_name_reaches_the_mail_as_plain_text_without_a_link_or_line_break() {
    let app = spawn_app().await;
    two_resellers(&app).await;
    // The form refuses a name with a link or a line break, naming the field.
    for hostile in [
        "Bob http://evil.example/login",
        "Bob\nBuilder",
        "www.evil.example",
    ] {
        let mut fields = SIGNUP.to_vec();
        fields.retain(|(k, _)| *k != "first_name");
        fields.push(("first_name", hostile));
        let client = app.client();
        let resp = post_form(
            &client,
            &app,
            "alpha.test",
            "/account/signup",
            "/account/signup",
            &fields,
        )
        .await;
        assert_eq!(resp.status(), 422, "{hostile:?}");
        let page = unescape(&resp.text().await.unwrap());
        assert!(
            page.contains("Namen dürfen keine Webadressen oder Zeilenumbrüche enthalten.")
                || page.contains("Names cannot contain web addresses or line breaks."),
            "{page}"
        );
    }
    // A name stored before that rule (or by another way in) is still mailed as
    // plain text: the verification mail sent on an unverified login greets it.
    let client = app.client();
    let resp = post_form(
        &client,
        &app,
        "alpha.test",
        "/account/signup",
        "/account/signup",
        SIGNUP,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let t = app
        .state
        .tenancy
        .resolve("alpha.test")
        .await
        .unwrap()
        .unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    use relabel_platform::customers::customer;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    customer::Entity::update_many()
        .col_expr(
            customer::Column::FirstName,
            Expr::value("Bob\nhttp://evil.example/login"),
        )
        .filter(customer::Column::Email.eq("erika@example.com"))
        .exec(tx.conn())
        .await
        .unwrap();
    // The signup's link went out 20 minutes ago: the login sends a new one.
    use relabel_platform::tokens::entity as token;
    token::Entity::update_many()
        .col_expr(
            token::Column::CreatedAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::minutes(20)),
        )
        .exec(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        customer_login(&client, &app, "alpha.test", "erika-pass-2026")
            .await
            .status(),
        403
    );
    let (_, body) = last_mail(&app, "alpha.test", "erika@example.com").await;
    let greeting = body.lines().next().unwrap();
    assert_eq!(
        greeting,
        "Hello Bob http: //evil\u{2024}example/login Muster,"
    );
    assert!(
        !body.contains("evil.example") && !body.contains("http://evil"),
        "{body}"
    );
    // The mail's own link is still there.
    link_path(&body, "/account/verify?token=");
    app.stop().await;
}

/// Signs in with a `next` field; returns where the answer sends the browser.
async fn login_next(app: &TestApp, next: &str) -> String {
    let client = app.client();
    let resp = post_form(
        &client,
        app,
        "alpha.test",
        "/account/login",
        "/account/login",
        &[
            ("email", "erika@example.com"),
            ("password", "erika-pass-2026"),
            ("next", next),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303, "login with next={next:?}");
    resp.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn after_login_next_leads_only_to_a_path_on_the_same_site() {
    let app = spawn_app().await;
    two_resellers(&app).await;
    signed_up(&app, "alpha.test").await;
    // The form does not carry a hostile `next` along (`%09` is a tab, which
    // browsers drop from a Location: `/\t/evil.example/` is `//evil.example/`).
    let page = app
        .client()
        .get(app.url("alpha.test", "/account/login?next=/%09/evil.example/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!unescape(&page).contains("evil.example"), "{page}");
    for hostile in [
        "/\t/evil.example/",
        "/%2F%2Fevil.example/",
        "/\\evil.example/",
    ] {
        assert_eq!(login_next(&app, hostile).await, "/account", "{hostile:?}");
    }
    assert_eq!(login_next(&app, "/cart").await, "/cart");
    app.stop().await;
}

#[tokio::test]
async fn brute_force_logins_are_throttled_without_revealing_the_account() {
    let app = spawn_app().await;
    two_resellers(&app).await;
    signed_up(&app, "alpha.test").await;
    let client = app.client();
    for _ in 0..5 {
        assert_eq!(
            customer_login(&client, &app, "alpha.test", "wrong-password-1")
                .await
                .status(),
            401
        );
    }
    // Over the limit: refused even with the right password, same for unknown accounts.
    assert_eq!(
        customer_login(&client, &app, "alpha.test", "erika-pass-2026")
            .await
            .status(),
        429
    );
    for _ in 0..6 {
        login(
            &client,
            &app.url("alpha.test", "/account/login"),
            "ghost@example.com",
            "whatever-123",
        )
        .await;
    }
    let resp = login(
        &client,
        &app.url("alpha.test", "/account/login"),
        "ghost@example.com",
        "whatever-123",
    )
    .await;
    assert_eq!(resp.status(), 429);
    // Another reseller's customers are not affected by Alpha's counters.
    assert_eq!(
        customer_login(&app.client(), &app, "beta.test", "erika-pass-2026")
            .await
            .status(),
        401
    );
    app.stop().await;
}

#[tokio::test]
async fn mail_goes_out_over_a_real_smtp_conversation() {
    let sink = relabel_tests::smtp::SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(move |c| c.smtp_url = Some(url)).await;
    two_resellers(&app).await;
    let client = app.client();
    let resp = post_form(
        &client,
        &app,
        "alpha.test",
        "/account/signup",
        "/account/signup",
        SIGNUP,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let got = sink.wait_for(1).await;
    let m = &got[0];
    assert_eq!(m.rcpt_to, vec!["erika@example.com".to_owned()]);
    assert_eq!(m.mail_from, "noreply@alpha.test");
    assert!(
        m.data.contains("From: \"Alpha\" <noreply@alpha.test>")
            || m.data.contains("From: Alpha <noreply@alpha.test>"),
        "{}",
        m.data
    );
    let body = m.data.replace("=\r\n", "").replace("=3D", "=");
    let link = link_path(&body, "/account/verify?token=");
    assert_eq!(
        client
            .get(app.url("alpha.test", &link))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The outbox row is marked sent.
    let t = app
        .state
        .tenancy
        .resolve("alpha.test")
        .await
        .unwrap()
        .unwrap();
    // The mailer marks the row after the SMTP conversation ended, which can be
    // a moment after the peer has the message.
    let mut status = String::new();
    for _ in 0..50 {
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        status = relabel_platform::mail::recent(&tx, 5).await.unwrap()[0]
            .status
            .clone();
        if status == "sent" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "sent");
    app.stop().await;
}

#[tokio::test]
async fn sign_out_everywhere_ends_other_sessions_and_support_can_impersonate_with_a_record() {
    let app = spawn_app().await;
    two_resellers(&app).await;
    signed_up(&app, "alpha.test").await;
    let laptop = app.client();
    let phone = app.client();
    assert_eq!(
        customer_login(&laptop, &app, "alpha.test", "erika-pass-2026")
            .await
            .status(),
        303
    );
    assert_eq!(
        customer_login(&phone, &app, "alpha.test", "erika-pass-2026")
            .await
            .status(),
        303
    );
    let page = laptop
        .get(app.url("alpha.test", "/account/security"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.matches("127.0.0.1").count() >= 2,
        "both sessions listed"
    );

    let resp = post_form(
        &laptop,
        &app,
        "alpha.test",
        "/account/security",
        "/account/security/sessions/revoke-all",
        &[],
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        phone
            .get(app.url("alpha.test", "/account"))
            .send()
            .await
            .unwrap()
            .status(),
        303,
        "phone signed out"
    );
    assert_eq!(
        laptop
            .get(app.url("alpha.test", "/account"))
            .send()
            .await
            .unwrap()
            .status(),
        303,
        "laptop signed out"
    );

    // Support opens the customer center as the customer; the log records it.
    let owner = app.client();
    login(
        &owner,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let tenant = app
        .state
        .tenancy
        .resolve("alpha.test")
        .await
        .unwrap()
        .unwrap();
    let tx = app.state.tenancy.begin(&tenant).await.unwrap();
    let customer = relabel_platform::customers::find_by_email(&tx, "erika@example.com")
        .await
        .unwrap()
        .unwrap();
    drop(tx);
    let detail = format!("/console/customers/{}", customer.id);
    let token = csrf(&owner, &app.url("alpha.test", &detail)).await;
    let resp = owner
        .post(app.url("alpha.test", &format!("{detail}/impersonate")))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let handover = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(handover.starts_with("/account/impersonate?token="));
    assert_eq!(
        owner
            .get(app.url("alpha.test", &handover))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let overview = owner
        .get(app.url("alpha.test", "/account"))
        .send()
        .await
        .unwrap();
    assert_eq!(overview.status(), 200);
    let overview = unescape(&overview.text().await.unwrap());
    assert!(
        overview.contains("Kundennummer erhalten Sie mit Ihrer ersten")
            || overview.contains("first accepted order"),
        "{overview}"
    );
    // The hand-over link works once.
    assert_eq!(
        app.client()
            .get(app.url("alpha.test", &handover))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let log = unescape(
        &owner
            .get(app.url("alpha.test", &format!("{detail}/log")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(log.contains("customer.impersonate") && log.contains("owner@alpha.test"));

    // A locked customer cannot sign in.
    let token = csrf(&owner, &app.url("alpha.test", &detail)).await;
    let resp = owner
        .post(app.url("alpha.test", &format!("{detail}/lock")))
        .form(&[("csrf", token.as_str()), ("reason", "fraud check")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(
        customer_login(&app.client(), &app, "alpha.test", "erika-pass-2026")
            .await
            .status(),
        401
    );
    let log = unescape(
        &owner
            .get(app.url("alpha.test", &format!("{detail}/log")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(log.contains("fraud check"), "lock reason recorded");
    // Locking ended every session of the customer, the impersonation one included.
    let tx = app.state.tenancy.begin(&tenant).await.unwrap();
    assert!(
        relabel_platform::customers::sessions::list(&tx, &customer.id)
            .await
            .unwrap()
            .is_empty()
    );
    drop(tx);
    app.stop().await;
}

#[tokio::test]
async fn a_customer_changes_the_password_with_the_current_one() {
    let app = spawn_app().await;
    two_resellers(&app).await;
    let client = signed_up(&app, "alpha.test").await;
    assert_eq!(
        customer_login(&client, &app, "alpha.test", "erika-pass-2026")
            .await
            .status(),
        303
    );
    let wrong = [
        ("current_password", "not-my-password"),
        ("password", "next-password-1"),
        ("password_confirm", "next-password-1"),
    ];
    let resp = post_form(
        &client,
        &app,
        "alpha.test",
        "/account/security",
        "/account/security/password",
        &wrong,
    )
    .await;
    assert_eq!(resp.status(), 422);
    assert!(unescape(&resp.text().await.unwrap()).contains("current password is not correct"));
    let mismatch = [
        ("current_password", "erika-pass-2026"),
        ("password", "next-password-1"),
        ("password_confirm", "other-password-1"),
    ];
    assert_eq!(
        post_form(
            &client,
            &app,
            "alpha.test",
            "/account/security",
            "/account/security/password",
            &mismatch
        )
        .await
        .status(),
        422
    );
    let ok = [
        ("current_password", "erika-pass-2026"),
        ("password", "next-password-1"),
        ("password_confirm", "next-password-1"),
    ];
    assert_eq!(
        post_form(
            &client,
            &app,
            "alpha.test",
            "/account/security",
            "/account/security/password",
            &ok
        )
        .await
        .status(),
        303
    );
    assert_eq!(
        customer_login(&app.client(), &app, "alpha.test", "erika-pass-2026")
            .await
            .status(),
        401
    );
    assert_eq!(
        customer_login(&app.client(), &app, "alpha.test", "next-password-1")
            .await
            .status(),
        303
    );
    app.stop().await;
}

#[tokio::test]
async fn successful_logins_do_not_count_and_a_guesser_cannot_lock_the_customer_out() {
    let app = spawn_app().await;
    two_resellers(&app).await;
    signed_up(&app, "alpha.test").await;
    // More successes than the free failures: none of them counts.
    for _ in 0..8 {
        let resp = customer_login(&app.client(), &app, "alpha.test", "erika-pass-2026").await;
        assert_eq!(resp.status(), 303);
    }
    // Someone else guesses until that client is locked out ...
    let guesser = app.client_from([127, 0, 0, 2]);
    for _ in 0..5 {
        let resp = customer_login(&guesser, &app, "alpha.test", "wrong-password-1").await;
        assert_eq!(resp.status(), 401);
    }
    let resp = customer_login(&guesser, &app, "alpha.test", "wrong-password-1").await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    // ... and the customer, from their own address, still gets in.
    let resp = customer_login(&app.client(), &app, "alpha.test", "erika-pass-2026").await;
    assert_eq!(resp.status(), 303);
    app.stop().await;
}

#[tokio::test]
async fn only_the_newest_reset_link_works_and_none_outlives_a_password_change() {
    let app = spawn_app().await;
    two_resellers(&app).await;
    let client = signed_up(&app, "alpha.test").await;
    let request_link = || async {
        post_form(
            &client,
            &app,
            "alpha.test",
            "/account/reset",
            "/account/reset",
            &[("email", "erika@example.com")],
        )
        .await;
        let (_, body) = last_mail(&app, "alpha.test", "erika@example.com").await;
        link_path(&body, "/account/reset/confirm?token=")
    };
    let status = |link: String| {
        let client = app.client();
        let url = app.url("alpha.test", &link);
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    };
    let first = request_link().await;
    let second = request_link().await;
    assert_ne!(first, second);
    assert_eq!(status(first).await, 400, "a newer link ends the older one");
    assert_eq!(status(second.clone()).await, 200);
    // The password changes (here as the security page and the reset form
    // change it): the link mailed before no longer resets it.
    let t = app
        .state
        .tenancy
        .resolve("alpha.test")
        .await
        .unwrap()
        .unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let c = relabel_platform::customers::find_by_email(&tx, "erika@example.com")
        .await
        .unwrap()
        .unwrap();
    relabel_platform::customers::set_password(
        &tx,
        &relabel_platform::customers::Actor {
            name: "erika@example.com",
            ip: None,
        },
        &c.id,
        &relabel_platform::auth::Password::parse("changed-elsewhere-1").unwrap(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(status(second).await, 400);
    app.stop().await;
}

/// A restart signs nobody out: the customer's and the staff member's sessions
/// are kept by the backend (the platform database on the embedded default,
/// Redis where configured), not in the process.
#[tokio::test]
async fn sessions_survive_a_restart() {
    let app = spawn_app().await;
    two_resellers(&app).await;
    let customer = signed_up(&app, "alpha.test").await;
    let r = customer_login(&customer, &app, "alpha.test", "erika-pass-2026").await;
    assert_eq!(r.status(), 303);
    let staff = app.client();
    let r = login(
        &staff,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    assert_eq!(r.status(), 303);
    let signed_in = |app: &TestApp, client: &reqwest::Client, path: &'static str| {
        let (client, url) = (client.clone(), app.url("alpha.test", path));
        async move { client.get(url).send().await.unwrap().status() }
    };
    assert_eq!(signed_in(&app, &customer, "/account").await, 200);
    assert_eq!(signed_in(&app, &staff, "/console").await, 200);

    let app = app.restart().await;
    assert_eq!(signed_in(&app, &customer, "/account").await, 200);
    assert_eq!(signed_in(&app, &staff, "/console").await, 200);
    // Signing out still ends the session, after the restart as before.
    let token = relabel_tests::csrf(&customer, &app.url("alpha.test", "/account")).await;
    customer
        .post(app.url("alpha.test", "/account/logout"))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in(&app, &customer, "/account").await, 303);
    app.stop().await;
}

/// Signing in before verifying says why and sends the link, but not again on
/// every attempt: one verification mail per quarter hour.
#[tokio::test]
async fn sign_ins_before_verifying_send_no_more_verification_mails() {
    let app = spawn_app().await;
    two_resellers(&app).await;
    let client = app.client();
    let resp = post_form(
        &client,
        &app,
        "alpha.test",
        "/account/signup",
        "/account/signup",
        SIGNUP,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let verify_mails = || async {
        let t = app
            .state
            .tenancy
            .resolve("alpha.test")
            .await
            .unwrap()
            .unwrap();
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        relabel_platform::mail::recent(&tx, 50)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| {
                m.to_addr == "erika@example.com" && m.text_body.contains("/account/verify?token=")
            })
            .count()
    };
    assert_eq!(verify_mails().await, 1);
    for _ in 0..3 {
        let r = customer_login(&app.client(), &app, "alpha.test", "erika-pass-2026").await;
        assert_eq!(r.status(), 403);
    }
    assert_eq!(verify_mails().await, 1, "each sign-in sent another mail");
    app.stop().await;
}

/// The current password asked for on the security page goes through the
/// credential throttle: a stolen session cannot guess it without limit.
#[tokio::test]
async fn guessing_the_current_password_is_throttled() {
    let app = spawn_app().await;
    two_resellers(&app).await;
    let client = signed_up(&app, "alpha.test").await;
    assert_eq!(
        customer_login(&client, &app, "alpha.test", "erika-pass-2026")
            .await
            .status(),
        303
    );
    let mut limited_after = None;
    for n in 1..=30 {
        let guess = format!("guess-number-{n}");
        let resp = post_form(
            &client,
            &app,
            "alpha.test",
            "/account/security?lang=en",
            "/account/security/password",
            &[
                ("current_password", guess.as_str()),
                ("password", "next-password-1"),
                ("password_confirm", "next-password-1"),
            ],
        )
        .await;
        assert_eq!(resp.status(), 422);
        if unescape(&resp.text().await.unwrap()).contains("Too many attempts") {
            limited_after = Some(n);
            break;
        }
    }
    assert!(limited_after.is_some(), "30 guesses went unthrottled");
    app.stop().await;
}
