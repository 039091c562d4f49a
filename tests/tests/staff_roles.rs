//! Staff invitations and roles, enforced on every console route.

use relabel_tests::{
    TestApp, csrf, last_mail, link_path, login, spawn_app, spawn_app_with, unescape,
};

async fn post_form(
    client: &reqwest::Client,
    app: &TestApp,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let token = csrf(client, &app.url("alpha.test", page)).await;
    let mut form = fields.to_vec();
    form.push(("csrf", &token));
    client
        .post(app.url("alpha.test", action))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The reseller Alpha, and its owner signed in to the console.
async fn alpha_with_owner(app: &TestApp) -> reqwest::Client {
    app.reseller(
        "Alpha",
        "alpha.test",
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let owner = app.client();
    login(
        &owner,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    owner
}

/// The owner invites `email` with `role`; the invitee accepts and signs in.
async fn member(
    app: &TestApp,
    owner: &reqwest::Client,
    email: &str,
    role: &str,
) -> reqwest::Client {
    let resp = post_form(
        owner,
        app,
        "/console/staff",
        "/console/staff",
        &[("email", email), ("role", role)],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let (_, body) = last_mail(app, "alpha.test", email).await;
    let link = link_path(&body, "/console/invite?token=");
    let invitee = app.client();
    let page = invitee
        .get(app.url("alpha.test", &link))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let token = relabel_tests::input_value(&page.text().await.unwrap(), "csrf").unwrap();
    let resp = invitee
        .post(app.url("alpha.test", &link))
        .form(&[
            ("name", "Sam Support"),
            ("password", "member-pass-2026"),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    // The invitation works once.
    assert_eq!(
        app.client()
            .get(app.url("alpha.test", &link))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        login(
            &invitee,
            &app.url("alpha.test", "/console/login"),
            email,
            "member-pass-2026"
        )
        .await
        .status(),
        303
    );
    invitee
}

const CUSTOMER: &[(&str, &str)] = &[
    ("kind", "company"),
    ("first_name", "Max"),
    ("last_name", "Mustermann"),
    ("company", "Muster GmbH"),
    ("email", "max@muster.example"),
    ("street", "Weg 2"),
    ("postal_code", "8001"),
    ("city", "Zürich"),
    ("country", "CH"),
    ("language", "de"),
    ("vat_id", ""),
];

#[tokio::test]
async fn support_cannot_change_billing_data_but_billing_can() {
    let app = spawn_app().await;
    let owner = alpha_with_owner(&app).await;

    // The owner creates a customer with a credit limit.
    let mut fields = CUSTOMER.to_vec();
    fields.extend([
        ("credit_limit", "750.00"),
        ("billing_type", "BANKTRANSFER"),
        ("debit_status", "INACTIVE"),
    ]);
    let resp = post_form(
        &owner,
        &app,
        "/console/customers/new",
        "/console/customers/new",
        &fields,
    )
    .await;
    assert_eq!(resp.status(), 303);
    let detail = resp.headers()["location"].to_str().unwrap().to_owned();

    let support = member(&app, &owner, "sam@alpha.test", "support").await;
    // Support sees the customer and its billing data, read-only.
    let page = unescape(
        &support
            .get(app.url("alpha.test", &detail))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(page.contains("750.00"));
    // Changing the credit limit: 403, nothing written.
    let mut change = CUSTOMER.to_vec();
    change.push(("credit_limit", "5000.00"));
    assert_eq!(
        post_form(&support, &app, &detail, &detail, &change)
            .await
            .status(),
        403
    );
    // Master data is fine.
    let mut master = CUSTOMER.to_vec();
    master.retain(|(k, _)| *k != "city");
    master.push(("city", "Basel"));
    master.retain(|(k, _)| *k != "postal_code");
    master.push(("postal_code", "4051"));
    assert_eq!(
        post_form(&support, &app, &detail, &detail, &master)
            .await
            .status(),
        303
    );
    let page = unescape(
        &owner
            .get(app.url("alpha.test", &detail))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(page.contains("750.00") && !page.contains("5000.00"));
    assert!(page.contains("Basel"));
    // Support may not manage staff, branding or API keys.
    for path in ["/console/staff", "/console/branding", "/console/api-keys"] {
        assert_eq!(
            support
                .get(app.url("alpha.test", path))
                .send()
                .await
                .unwrap()
                .status(),
            403,
            "{path}"
        );
    }

    // A billing member can change the credit limit.
    let billing = member(&app, &owner, "bill@alpha.test", "billing").await;
    assert_eq!(
        post_form(&billing, &app, &detail, &detail, &change)
            .await
            .status(),
        303
    );
    let page = unescape(
        &owner
            .get(app.url("alpha.test", &detail))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(page.contains("5000.00"));

    // The owner demotes billing to support: the next request already has the new role.
    let tenant = app
        .state
        .tenancy
        .resolve("alpha.test")
        .await
        .unwrap()
        .unwrap();
    let tx = app.state.tenancy.begin(&tenant).await.unwrap();
    let bill = relabel_platform::staff::find_by_email(&tx, "bill@alpha.test")
        .await
        .unwrap()
        .unwrap();
    drop(tx);
    let resp = post_form(
        &owner,
        &app,
        "/console/staff",
        &format!("/console/staff/{}/role", bill.id),
        &[("role", "support")],
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        post_form(&billing, &app, &detail, &detail, &change)
            .await
            .status(),
        403
    );

    // Staff changes carry who, what and from where.
    let tx = app.state.tenancy.begin(&tenant).await.unwrap();
    let log = relabel_platform::audit::recent_tenant(&tx, 50)
        .await
        .unwrap();
    drop(tx);
    let role_change = log
        .iter()
        .find(|e| e.action == "staff.role")
        .expect("role change audited");
    assert_eq!(role_change.actor, "owner@alpha.test");
    assert_eq!(role_change.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(role_change.entity_id.as_deref(), Some(bill.id.as_str()));

    // The change log of the customer shows who changed what.
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
    assert!(log.contains("bill@alpha.test") && log.contains("sam@alpha.test"));
    assert!(log.contains("500000"), "credit limit diff shown");
    app.stop().await;
}

#[tokio::test]
async fn console_customer_list_searches_filters_and_pages() {
    let app = spawn_app().await;
    app.reseller(
        "Alpha",
        "alpha.test",
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
    for i in 0..120 {
        let input = relabel_platform::customers::CustomerInput {
            first_name: Some(format!("First{i}")),
            last_name: Some(if i % 2 == 0 {
                format!("Even{i}")
            } else {
                format!("Odd{i}")
            }),
            street: Some("Street 1".into()),
            postal_code: Some("10115".into()),
            city: Some("Berlin".into()),
            country: Some("DE".into()),
            email: Some(format!("c{i}@example.com")),
            ..Default::default()
        };
        let actor = relabel_platform::customers::Actor {
            name: "test",
            ip: None,
        };
        relabel_platform::customers::create(&tx, &actor, &input, None)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let owner = app.client();
    login(
        &owner,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let first = unescape(
        &owner
            .get(app.url("alpha.test", "/console/customers"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(first.contains("K10120"), "newest first");
    assert!(!first.contains("K10070"), "50 per page");
    let next_at = first.find("after=").expect("next page link");
    let cursor: String = first[next_at + 6..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let second = unescape(
        &owner
            .get(app.url("alpha.test", &format!("/console/customers?after={cursor}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(second.contains("K10070") && !second.contains("K10120"));
    let search = owner
        .get(app.url("alpha.test", "/console/customers?q=odd11"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(search.contains("Odd11") && search.contains("Odd111") && !search.contains("Even"));
    app.stop().await;
}

#[tokio::test]
async fn a_reseller_can_require_a_second_factor_for_all_staff() {
    let app = spawn_app().await;
    let owner = alpha_with_owner(&app).await;
    let resp = post_form(
        &owner,
        &app,
        "/console/staff",
        "/console/staff/security",
        &[("require_totp", "1")],
    )
    .await;
    assert_eq!(resp.status(), 303);

    // The next login of anyone must enrol first.
    let client = app.client();
    let resp = login(
        &client,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    assert_eq!(resp.headers()["location"], "/console/totp/setup");
    assert_eq!(
        client
            .get(app.url("alpha.test", "/console"))
            .send()
            .await
            .unwrap()
            .status(),
        303,
        "not signed in yet"
    );
    let page = client
        .get(app.url("alpha.test", "/console/totp/setup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let plain = unescape(&page);
    let at = plain.find("secret=").expect("otpauth uri");
    let secret: String = plain[at + 7..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let token = relabel_tests::input_value(&page, "csrf").unwrap();
    let now = relabel_platform::auth::totp::now();
    let enrolled_step = (now / 30) as i64;
    let code = relabel_platform::auth::totp::code_at(&secret, now).unwrap();
    let resp = client
        .post(app.url("alpha.test", "/console/totp/setup"))
        .form(&[("code", code.as_str()), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        client
            .get(app.url("alpha.test", "/console"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // From now on: password, then code. A wrong code is refused.
    let next = app.client();
    let resp = login(
        &next,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    assert_eq!(resp.headers()["location"], "/console/login/totp");
    let token = csrf(&next, &app.url("alpha.test", "/console/login/totp")).await;
    let current =
        relabel_platform::auth::totp::code_at(&secret, relabel_platform::auth::totp::now())
            .unwrap();
    let wrong = if current == "123456" {
        "654321"
    } else {
        "123456"
    };
    let resp = next
        .post(app.url("alpha.test", "/console/login/totp"))
        .form(&[("code", wrong), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        next.get(app.url("alpha.test", "/console"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    // The code that confirmed the enrolment is used up.
    let resp = next
        .post(app.url("alpha.test", "/console/login/totp"))
        .form(&[("code", code.as_str()), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "a code is accepted once");
    let fresh = relabel_tests::totp_code_after(&secret, Some(enrolled_step)).await;
    let resp = next
        .post(app.url("alpha.test", "/console/login/totp"))
        .form(&[("code", fresh.as_str()), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    // Used once, the same code does not sign in a second session.
    let third = app.client();
    login(
        &third,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let token = csrf(&third, &app.url("alpha.test", "/console/login/totp")).await;
    let resp = third
        .post(app.url("alpha.test", "/console/login/totp"))
        .form(&[("code", fresh.as_str()), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "a code is accepted once");
    assert_eq!(
        next.get(app.url("alpha.test", "/console"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn settings_set_the_customer_number_prefix_and_default_credit_limit() {
    let app = spawn_app().await;
    let owner = alpha_with_owner(&app).await;
    let bad = [
        ("customer_number_prefix", "K-1"),
        ("default_credit_limit", "-1"),
        ("currency", "XXX"),
        ("mail_from_name", ""),
        ("mail_from_address", "nope"),
    ];
    let resp = post_form(&owner, &app, "/console/settings", "/console/settings", &bad).await;
    assert_eq!(resp.status(), 422);
    let body = unescape(&resp.text().await.unwrap());
    for message in [
        "1 to 12 letters or digits",
        "Enter an amount",
        "Choose one of the options",
        "valid email address",
    ] {
        assert!(body.contains(message), "{message}");
    }
    let good = [
        ("customer_number_prefix", "AH"),
        ("default_credit_limit", "1000"),
        ("currency", "CHF"),
        ("mail_from_name", "Alpha Support"),
        ("mail_from_address", "support@alpha.test"),
        ("order_activation", "manual"),
    ];
    assert_eq!(
        post_form(
            &owner,
            &app,
            "/console/settings",
            "/console/settings",
            &good
        )
        .await
        .status(),
        303
    );
    let resp = post_form(
        &owner,
        &app,
        "/console/customers/new",
        "/console/customers/new",
        CUSTOMER,
    )
    .await;
    assert_eq!(resp.status(), 303);
    let detail = resp.headers()["location"].to_str().unwrap().to_owned();
    let page = unescape(
        &owner
            .get(app.url("alpha.test", &detail))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(page.contains("AH10001"), "new prefix used");
    assert!(page.contains("1000.00 CHF"), "new default limit shown");
    // Support may not change settings.
    let support = member(&app, &owner, "sam@alpha.test", "support").await;
    assert_eq!(
        post_form(&support, &app, "/console", "/console/settings", &good)
            .await
            .status(),
        403
    );
    app.stop().await;
}

#[tokio::test]
async fn console_login_locks_out_the_guessing_client_only_and_resets_on_success() {
    let app = spawn_app_with(|c| {
        c.throttle.free_failures = 3;
        c.throttle.lockout_secs = 60;
    })
    .await;
    app.reseller(
        "Alpha",
        "alpha.test",
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let url = app.url("alpha.test", "/console/login");
    let guesser = app.client_from([127, 0, 0, 2]);
    let guess = |password: &'static str| login(&guesser, &url, "owner@alpha.test", password);
    for _ in 0..3 {
        assert_eq!(guess("wrong-password-1").await.status(), 401);
    }
    // Locked out: even the right password is refused from this client, with the
    // wait in the header and in words (German when asked for).
    let token = csrf(&guesser, &url).await;
    let resp = guesser
        .post(&url)
        .header("accept-language", "de")
        .form(&[
            ("email", "owner@alpha.test"),
            ("password", "alpha-password-1"),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body = resp.text().await.unwrap();
    assert!(body.contains("Zu viele fehlgeschlagene Versuche"), "{body}");
    assert!(body.contains("1 Min."), "{body}");

    // The owner, from another address, is not locked out.
    assert_eq!(
        login(&app.client(), &url, "owner@alpha.test", "alpha-password-1")
            .await
            .status(),
        303
    );

    // After the lockout the right password works and clears the record: three
    // free failures again (without the reset the next one would lock at once).
    app.state
        .throttle
        .advance(std::time::Duration::from_secs(61));
    assert_eq!(guess("alpha-password-1").await.status(), 303);
    let guesser_url = url.clone();
    let again = app.client_from([127, 0, 0, 2]);
    for _ in 0..3 {
        let resp = login(&again, &guesser_url, "owner@alpha.test", "wrong-password-1").await;
        assert_eq!(resp.status(), 401);
    }
    let resp = login(&again, &guesser_url, "owner@alpha.test", "wrong-password-1").await;
    assert_eq!(resp.status(), 429);
    app.stop().await;
}

/// Guesses sent at the same instant get no more tries than guesses sent one
/// after another: the throttle counts an attempt from the moment it admits it.
#[tokio::test]
async fn guesses_sent_at_once_get_no_more_tries_than_one_after_another() {
    let app = spawn_app_with(|c| {
        c.throttle.free_failures = 3;
        c.throttle.lockout_secs = 60;
    })
    .await;
    app.reseller(
        "Alpha",
        "alpha.test",
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let url = app.url("alpha.test", "/console/login");
    let guesser = app.client_from([127, 0, 0, 3]);
    let token = csrf(&guesser, &url).await;
    let guesses = (0..24).map(|n| {
        let guesser = guesser.clone();
        let (url, token) = (url.clone(), token.clone());
        async move {
            let password = format!("wrong-password-{n}");
            guesser
                .post(&url)
                .form(&[
                    ("email", "owner@alpha.test"),
                    ("password", password.as_str()),
                    ("csrf", token.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let mut statuses = futures::future::join_all(guesses).await;
    statuses.sort_unstable();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((checked, refused), (3, 21), "{statuses:?}");
    // The owner, from another address, signs in at once.
    assert_eq!(
        login(&app.client(), &url, "owner@alpha.test", "alpha-password-1")
            .await
            .status(),
        303
    );
    app.stop().await;
}

/// Creates a key in the console as `client`; the page with the plaintext key
/// (`Ok`) or the page with the error (`Err`).
async fn console_key(
    app: &TestApp,
    client: &reqwest::Client,
    scopes: &[&str],
) -> Result<String, String> {
    let mut fields = vec![("name", "integration")];
    fields.extend(scopes.iter().map(|s| ("scopes", *s)));
    let resp = post_form(
        client,
        app,
        "/console/api-keys",
        "/console/api-keys",
        &fields,
    )
    .await;
    let status = resp.status();
    let page = resp.text().await.unwrap();
    match status.as_u16() {
        200 => Ok(relabel_tests::input_value(&page, "new-key")
            .or_else(|| {
                let at = page.find("id=\"new-key\"")?;
                let value = page[at..].split("value=\"").nth(1)?;
                Some(value[..value.find('"')?].to_owned())
            })
            .expect("the new key is shown")),
        422 => Err(unescape(&page)),
        other => panic!("unexpected status {other}: {page}"),
    }
}

#[tokio::test]
async fn a_key_never_holds_more_than_its_maker_may_do() {
    let app = spawn_app().await;
    let owner = alpha_with_owner(&app).await;
    let admin = member(&app, &owner, "admin@alpha.test", "admin").await;

    // An admin may not approve beyond the credit limit, so may not mint a key
    // that does: the form does not offer it, and a forged request is refused.
    let form = admin
        .get(app.url("alpha.test", "/console/api-keys?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("value=\"clearing:write\""));
    assert!(!form.contains("value=\"credit:override\""), "{form}");
    let err = console_key(&app, &admin, &["clearing:write", "credit:override"])
        .await
        .unwrap_err();
    assert!(
        err.contains("Your role may not grant one of the chosen scopes."),
        "{err}"
    );
    let t = app
        .state
        .tenancy
        .resolve("alpha.test")
        .await
        .unwrap()
        .unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let keys =
        relabel_platform::api_keys::list(tx.conn(), relabel_platform::api_keys::Realm::Tenant)
            .await
            .unwrap();
    assert!(keys.is_empty(), "no key was made");
    drop(tx);

    // What the admin may do, the admin's key may do; the key records its maker.
    let key = console_key(&app, &admin, &["prices:read", "customers:read"])
        .await
        .unwrap();
    let api = app.client();
    let catalog = |key: String| {
        api.get(app.url("alpha.test", "/api/v1/catalog"))
            .bearer_auth(key)
            .send()
    };
    assert_eq!(catalog(key.clone()).await.unwrap().status(), 200);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let keys =
        relabel_platform::api_keys::list(tx.conn(), relabel_platform::api_keys::Realm::Tenant)
            .await
            .unwrap();
    assert_eq!(keys[0].created_by, "admin@alpha.test");
    drop(tx);

    // The admin becomes support, who may not see prices: the key loses the
    // scope with the role, and keeps what support may still do.
    let staff = owner
        .get(app.url("alpha.test", "/console/staff"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let admin_id = relabel_platform::staff::find_by_email(&tx, "admin@alpha.test")
        .await
        .unwrap()
        .unwrap()
        .id;
    drop(tx);
    assert!(staff.contains(&admin_id));
    let r = post_form(
        &owner,
        &app,
        "/console/staff",
        &format!("/console/staff/{admin_id}/role"),
        &[("role", "support")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(catalog(key.clone()).await.unwrap().status(), 403);
    let customers = api
        .get(app.url("alpha.test", "/api/v1/customers"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(customers.status(), 200);

    // The owner's key acts in the owner's name: the change log says who.
    let key = console_key(&app, &owner, &["customers:write", "credit:override"])
        .await
        .unwrap();
    let r = api
        .post(app.url("alpha.test", "/api/v1/customers"))
        .bearer_auth(&key)
        .json(&serde_json::json!({
            "first_name": "Paula", "last_name": "Plattform", "street": "Weg 1",
            "postal_code": "10115", "city": "Berlin", "country": "DE",
            "email": "paula@example.de",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let log = relabel_platform::audit::recent_tenant(&tx, 1)
        .await
        .unwrap();
    assert!(
        log[0].actor.starts_with("owner@alpha.test (api-key:"),
        "{}",
        log[0].actor
    );
    drop(tx);
    app.stop().await;
}

/// The outbox as `client` sees it.
async fn outbox(app: &TestApp, client: &reqwest::Client) -> String {
    let r = client
        .get(app.url("alpha.test", "/console/outbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    unescape(&r.text().await.unwrap())
}

#[tokio::test]
async fn links_that_carry_a_secret_are_shown_only_to_the_owner_while_they_work() {
    let app = spawn_app().await;
    let owner = alpha_with_owner(&app).await;
    let support = member(&app, &owner, "support@alpha.test", "support").await;
    // The owner invites an admin; the mail waits in the outbox (no SMTP).
    let r = post_form(
        &owner,
        &app,
        "/console/staff",
        "/console/staff",
        &[("email", "new-admin@alpha.test"), ("role", "admin")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, mail) = last_mail(&app, "alpha.test", "new-admin@alpha.test").await;
    let link = link_path(&mail, "/console/invite?token=");
    let token = link.split("token=").nth(1).unwrap().to_owned();
    // Support reads the outbox but not the secret: it cannot become admin.
    let seen = outbox(&app, &support).await;
    assert!(seen.contains("new-admin@alpha.test"), "{seen}");
    assert!(seen.contains("/console/invite?token=[hidden]"), "{seen}");
    assert!(!seen.contains(&token));
    // The owner sees the working link (to pass it on by hand)...
    let seen = outbox(&app, &owner).await;
    assert!(seen.contains(&token), "{seen}");
    // ... until it is used.
    let invitee = app.client();
    let page = invitee
        .get(app.url("alpha.test", &link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = relabel_tests::input_value(&page, "csrf").unwrap();
    let r = invitee
        .post(app.url("alpha.test", &link))
        .form(&[
            ("name", "New Admin"),
            ("password", "member-pass-2026"),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let seen = outbox(&app, &owner).await;
    assert!(!seen.contains(&token), "a used link is hidden: {seen}");
    app.stop().await;
}
