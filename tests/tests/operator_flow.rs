//! The operator console over real HTTP.

use relabel_tests::{TestApp, csrf, input_value, login, spawn_app, spawn_app_with, unescape};

const OP_EMAIL: &str = "op@platform.test";
const OP_PASSWORD: &str = "operator-password-1";

async fn logged_in(app: &TestApp) -> reqwest::Client {
    let secret = app.operator(OP_EMAIL, OP_PASSWORD).await;
    let client = app.client();
    app.operator_login(&client, OP_EMAIL, OP_PASSWORD, &secret)
        .await;
    client
}

async fn create_reseller(
    app: &TestApp,
    client: &reqwest::Client,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let url = app.url("localhost", "/operator/resellers");
    let token = csrf(client, &url).await;
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf", &token));
    client.post(&url).form(&form).send().await.unwrap()
}

#[tokio::test]
async fn login_rejects_wrong_password_and_requires_csrf() {
    let app = spawn_app().await;
    let secret = app.operator(OP_EMAIL, OP_PASSWORD).await;
    let client = app.client();
    let url = app.url("localhost", "/operator/login");

    let resp = login(&client, &url, OP_EMAIL, "wrong-password-1").await;
    assert_eq!(resp.status(), 401);
    let body = resp.text().await.unwrap();
    assert!(body.contains("name=\"email\""), "login form shown again");
    assert_eq!(
        client
            .get(app.url("localhost", "/operator/resellers"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );

    // A form without the session's CSRF token is refused, even with the right password.
    let _ = client.get(&url).send().await.unwrap();
    let resp = client
        .post(&url)
        .form(&[("email", OP_EMAIL), ("password", OP_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = client
        .post(&url)
        .form(&[
            ("email", OP_EMAIL),
            ("password", OP_PASSWORD),
            ("csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(
        client
            .get(app.url("localhost", "/operator/resellers"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );

    // The password alone is not enough: the second factor is required.
    let resp = login(&client, &url, OP_EMAIL, OP_PASSWORD).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/operator/login/totp");
    let page = |c: &reqwest::Client| c.get(app.url("localhost", "/operator/resellers")).send();
    assert_eq!(page(&client).await.unwrap().status(), 303);
    let token = csrf(&client, &app.url("localhost", "/operator/login/totp")).await;
    let current =
        relabel_platform::auth::totp::code_at(&secret, relabel_platform::auth::totp::now())
            .unwrap();
    let wrong = if current == "000000" {
        "111111"
    } else {
        "000000"
    };
    let resp = client
        .post(app.url("localhost", "/operator/login/totp"))
        .form(&[("code", wrong), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "wrong TOTP refused");
    assert_eq!(page(&client).await.unwrap().status(), 303);
    let resp = client
        .post(app.url("localhost", "/operator/login/totp"))
        .form(&[("code", current.as_str()), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(page(&client).await.unwrap().status(), 200);

    // The operator console is only on the platform host.
    app.reseller(
        "Alpha",
        "alpha.test",
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    assert_eq!(
        client
            .get(app.url("alpha.test", "/operator/resellers"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn operator_creates_a_reseller_adds_a_hostname_and_it_serves_its_brand() {
    let app = spawn_app().await;
    let client = logged_in(&app).await;

    let resp = create_reseller(
        &app,
        &client,
        &[
            ("name", "Gamma Web"),
            ("hostname", "gamma.test"),
            ("owner_email", "owner@gamma.test"),
            ("owner_password", "gamma-password-1"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let detail = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(detail.starts_with("/operator/resellers/ten_"));

    let page = client
        .get(app.url("localhost", &detail))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let page = unescape(&page);
    assert!(page.contains("Gamma Web"));
    assert!(page.contains("gamma.test"));
    assert!(page.contains("t_"), "schema shown");

    // Add a second hostname (IDN in punycode form) and use it.
    let token = input_value(&page, "csrf").unwrap();
    let resp = client
        .post(app.url("localhost", &format!("{detail}/hosts")))
        .form(&[
            ("hostname", "xn--mnchen-3ya.test"),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    for host in ["gamma.test", "xn--mnchen-3ya.test"] {
        let home = client.get(app.url(host, "/")).send().await.unwrap();
        assert_eq!(home.status(), 200, "{host}");
        assert!(home.text().await.unwrap().contains("Gamma Web"));
    }
    // The owner can log into the new reseller's console.
    let owner = app.client();
    let resp = login(
        &owner,
        &app.url("gamma.test", "/console/login"),
        "owner@gamma.test",
        "gamma-password-1",
    )
    .await;
    assert_eq!(resp.status(), 303);

    // Suspend: the storefront answers 503 in the reseller's brand; resume restores it.
    let token = csrf(&client, &app.url("localhost", &detail)).await;
    let resp = client
        .post(app.url("localhost", &format!("{detail}/suspend")))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let home = client.get(app.url("gamma.test", "/")).send().await.unwrap();
    assert_eq!(home.status(), 503);
    assert!(home.text().await.unwrap().contains("Gamma Web"));
    let resp = client
        .post(app.url("localhost", &format!("{detail}/resume")))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(
        client
            .get(app.url("gamma.test", "/"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Delete needs the name typed; then the hostnames stop resolving.
    let resp = client
        .post(app.url("localhost", &format!("{detail}/delete")))
        .form(&[("confirm", "wrong"), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert_eq!(
        client
            .get(app.url("gamma.test", "/"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let resp = client
        .post(app.url("localhost", &format!("{detail}/delete")))
        .form(&[("confirm", "Gamma Web"), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(
        client
            .get(app.url("gamma.test", "/"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Every change is in the audit log.
    let log = relabel_platform::audit::recent_operator(app.state.tenancy.backend().shared(), 50)
        .await
        .unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "tenant.create",
        "hostname.add",
        "tenant.suspend",
        "tenant.resume",
        "tenant.delete",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    assert!(log.iter().all(|e| e.actor == OP_EMAIL));
    app.stop().await;
}

#[tokio::test]
async fn bad_hostnames_are_refused_with_a_clear_error_and_nothing_is_written() {
    let app = spawn_app().await;
    let client = logged_in(&app).await;
    app.reseller(
        "Alpha",
        "alpha.test",
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;

    let cases = [
        ("my shop.test", "spaces"),
        ("my_shop.test", "underscores"),
        ("192.168.1.1", "IP address"),
        ("alpha.test", "already belongs"),
        ("ALPHA.test", "already belongs"),
        ("-bad.test", "hyphens"),
    ];
    for (host, message) in cases {
        let resp = create_reseller(
            &app,
            &client,
            &[
                ("name", "Delta"),
                ("hostname", host),
                ("owner_email", "owner@delta.test"),
                ("owner_password", "delta-password-1"),
            ],
        )
        .await;
        assert_eq!(resp.status(), 422, "{host}");
        let body = unescape(&resp.text().await.unwrap());
        assert!(
            body.contains(message),
            "{host}: expected '{message}' in the form"
        );
        assert!(
            body.contains("aria-invalid=\"true\""),
            "{host}: field marked invalid"
        );
    }
    // Other fields too, all at once.
    let resp = create_reseller(
        &app,
        &client,
        &[
            ("name", ""),
            ("hostname", "ok.test"),
            ("owner_email", "nope"),
            ("owner_password", "short"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 422);
    let body = unescape(&resp.text().await.unwrap());
    assert!(body.contains("valid email address"));
    assert!(body.contains("at least 10 characters"));

    // In German, the errors are German.
    let resp = client
        .get(app.url("localhost", "/operator/resellers?lang=de"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = create_reseller(
        &app,
        &client,
        &[
            ("name", "Delta"),
            ("hostname", "my_shop.test"),
            ("owner_email", "owner@delta.test"),
            ("owner_password", "delta-password-1"),
        ],
    )
    .await;
    assert!(unescape(&resp.text().await.unwrap()).contains("keine Unterstriche"));

    let all = app.state.tenancy.list().await.unwrap();
    assert_eq!(
        all.len(),
        1,
        "nothing was created: {:?}",
        all.iter().map(|t| &t.name).collect::<Vec<_>>()
    );
    assert!(
        app.state
            .tenancy
            .resolve("ok.test")
            .await
            .unwrap()
            .is_none()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_new_operator_must_enrol_a_second_factor() {
    let app = spawn_app().await;
    let email = relabel_platform::auth::Email::parse("new@platform.test").unwrap();
    let password = relabel_platform::auth::Password::parse("new-operator-pass").unwrap();
    relabel_platform::operators::upsert(app.state.tenancy.backend().shared(), &email, &password)
        .await
        .unwrap();
    let client = app.client();
    let resp = login(
        &client,
        &app.url("localhost", "/operator/login"),
        "new@platform.test",
        "new-operator-pass",
    )
    .await;
    assert_eq!(resp.headers()["location"], "/operator/totp/setup");
    let page = client
        .get(app.url("localhost", "/operator/totp/setup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let uri = unescape(&page);
    let at = uri.find("secret=").expect("otpauth uri with the secret");
    let secret: String = uri[at + 7..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let token = relabel_tests::input_value(&page, "csrf").unwrap();
    let bad = client
        .post(app.url("localhost", "/operator/totp/setup"))
        .form(&[("code", "12345"), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let code = relabel_platform::auth::totp::code_at(&secret, relabel_platform::auth::totp::now())
        .unwrap();
    let done = client
        .post(app.url("localhost", "/operator/totp/setup"))
        .form(&[("code", code.as_str()), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let body = done.text().await.unwrap();
    let codes: Vec<&str> = body
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.len() == 9 && w.as_bytes()[4] == b'-' && *w != "skip-link")
        .collect();
    assert!(codes.len() >= 10, "recovery codes shown once: {codes:?}");
    assert_eq!(
        client
            .get(app.url("localhost", "/operator/resellers"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A recovery code works once instead of a TOTP code.
    let other = app.client();
    login(
        &other,
        &app.url("localhost", "/operator/login"),
        "new@platform.test",
        "new-operator-pass",
    )
    .await;
    let token = csrf(&other, &app.url("localhost", "/operator/login/totp")).await;
    let resp = other
        .post(app.url("localhost", "/operator/login/totp"))
        .form(&[("code", codes[0]), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let third = app.client();
    login(
        &third,
        &app.url("localhost", "/operator/login"),
        "new@platform.test",
        "new-operator-pass",
    )
    .await;
    let token = csrf(&third, &app.url("localhost", "/operator/login/totp")).await;
    let resp = third
        .post(app.url("localhost", "/operator/login/totp"))
        .form(&[("code", codes[0]), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "recovery code used up");
    app.stop().await;
}

#[tokio::test]
async fn operator_password_guessing_is_throttled_per_client() {
    let app = spawn_app_with(|c| c.throttle.free_failures = 3).await;
    app.operator(OP_EMAIL, OP_PASSWORD).await;
    let url = app.url("localhost", "/operator/login");
    let guesser = app.client_from([127, 0, 0, 2]);
    for _ in 0..3 {
        let resp = login(&guesser, &url, OP_EMAIL, "wrong-password-1").await;
        assert_eq!(resp.status(), 401);
    }
    let resp = login(&guesser, &url, OP_EMAIL, OP_PASSWORD).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let body = resp.text().await.unwrap();
    assert!(body.contains("Too many failed attempts"), "{body}");
    // The operator's own address is not affected.
    let resp = login(&app.client(), &url, OP_EMAIL, OP_PASSWORD).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/operator/login/totp");
    app.stop().await;
}

#[tokio::test]
async fn a_totp_code_signs_in_once() {
    let app = spawn_app().await;
    let secret = app.operator(OP_EMAIL, OP_PASSWORD).await;
    let totp_url = app.url("localhost", "/operator/login/totp");
    let code = relabel_tests::totp_code_after(&secret, None).await;
    let mut statuses = vec![];
    for _ in 0..2 {
        let client = app.client();
        let resp = login(
            &client,
            &app.url("localhost", "/operator/login"),
            OP_EMAIL,
            OP_PASSWORD,
        )
        .await;
        assert_eq!(resp.headers()["location"], "/operator/login/totp");
        let token = csrf(&client, &totp_url).await;
        let resp = client
            .post(&totp_url)
            .form(&[("code", code.as_str()), ("csrf", token.as_str())])
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(
        statuses,
        [303, 401],
        "the second use of the code is refused"
    );
    // The next code works.
    let client = app.client();
    app.operator_login(&client, OP_EMAIL, OP_PASSWORD, &secret)
        .await;
    app.stop().await;
}

#[tokio::test]
async fn second_factors_and_panel_tokens_are_sealed_and_the_data_is_private() {
    use sea_orm::EntityTrait;
    let app = spawn_app().await;
    let secret = app
        .operator("sealed@relabel.test", "operator-password-1")
        .await;
    let shared = app.state.tenancy.backend().shared();
    let row = relabel_platform::operators::entity::Entity::find()
        .all(shared)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.email == "sealed@relabel.test")
        .unwrap();
    // The TOTP secret is stored sealed, not in clear; it still signs in.
    let stored = row.totp_secret.unwrap();
    assert!(stored.starts_with("v1:"), "{stored}");
    assert!(!stored.contains(&secret));
    let client = app.client();
    app.operator_login(
        &client,
        "sealed@relabel.test",
        "operator-password-1",
        &secret,
    )
    .await;
    // Recovery codes: 80 bits each, stored as keyed hashes.
    let hashes = row.recovery_codes.unwrap();
    assert_eq!(hashes.split(',').count(), 10);
    assert!(
        hashes
            .split(',')
            .all(|h| h.starts_with("k1:") && h.len() == 67),
        "{hashes}"
    );
    // A hosting panel's token, too.
    relabel_platform::catalog::seed_demo(shared).await.unwrap();
    let server = relabel_platform::hosting::add_server(
        shared,
        &app.state.sealer,
        "hosting-starter",
        "web-sealed",
        1,
        "https://panel.example",
        "panel-token-123",
    )
    .await
    .unwrap();
    assert!(server.api_token.starts_with("v1:"));
    assert!(!server.api_token.contains("panel-token-123"));
    // The data directory and its files are relabel's own.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = &app.state.config.data_dir;
        assert_eq!(mode(&dir.join("secret.key")), 0o600);
        if !relabel_tests::is_postgres() {
            assert_eq!(mode(dir), 0o700);
            assert_eq!(mode(&dir.join("tenants")), 0o700);
            assert_eq!(mode(&dir.join("shared.db")), 0o600);
            for f in std::fs::read_dir(dir.join("tenants")).unwrap() {
                let f = f.unwrap().path();
                assert_eq!(mode(&f) & 0o077, 0, "{}", f.display());
            }
        }
    }
    app.stop().await;
}
