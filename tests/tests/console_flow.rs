//! The reseller console over real HTTP: login, branding, logo upload.

use relabel_tests::{TestApp, csrf, login, spawn_app, unescape};
use reqwest::multipart::{Form, Part};

async fn owner_client(app: &TestApp, host: &str, email: &str, password: &str) -> reqwest::Client {
    let client = app.client();
    let resp = login(&client, &app.url(host, "/console/login"), email, password).await;
    assert_eq!(resp.status(), 303);
    client
}

fn png(len: usize) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.resize(len, 7);
    v
}

fn branding_form(token: &str, name: &str, primary: &str, logo: Option<(Vec<u8>, &str)>) -> Form {
    let mut form = Form::new()
        .text("csrf", token.to_owned())
        .text("name", name.to_owned())
        .text("primary_color", primary.to_owned())
        .text("accent_color", "#123456");
    if let Some((bytes, filename)) = logo {
        form = form.part("logo", Part::bytes(bytes).file_name(filename.to_owned()));
    }
    form
}

#[tokio::test]
async fn branding_change_is_visible_on_the_storefront_at_once() {
    let app = spawn_app().await;
    app.reseller(
        "Alpha",
        "alpha.test",
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    app.reseller("Beta", "beta.test", "owner@beta.test", "beta-password-1")
        .await;
    let client = owner_client(&app, "alpha.test", "owner@alpha.test", "alpha-password-1").await;

    // Warm the resolver cache, so the change must invalidate it.
    assert!(
        client
            .get(app.url("alpha.test", "/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("Alpha")
    );

    let url = app.url("alpha.test", "/console/branding");
    let token = csrf(&client, &url).await;
    let resp = client
        .post(&url)
        .multipart(branding_form(
            &token,
            "Alpha Reloaded",
            "#aa0011",
            Some((png(2000), "logo.png")),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);

    let home = client
        .get(app.url("alpha.test", "/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("Alpha Reloaded"));
    assert!(home.contains("#aa0011"));
    let home = unescape(&home);
    let logo_at = home.find("/assets/").expect("logo on the storefront");
    let logo_path: String = home[logo_at..].chars().take_while(|c| *c != '"').collect();
    let logo = client
        .get(app.url("alpha.test", &logo_path))
        .send()
        .await
        .unwrap();
    assert_eq!(logo.status(), 200);
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(logo.bytes().await.unwrap().len(), 2000);
    // The logo is Alpha's: Beta's host does not serve it.
    assert_eq!(
        client
            .get(app.url("beta.test", &logo_path))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // Beta is untouched.
    let beta = client
        .get(app.url("beta.test", "/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(beta.contains("Beta") && !beta.contains("Alpha Reloaded"));

    // Audited in the tenant's own log.
    let tenant = app
        .state
        .tenancy
        .resolve("alpha.test")
        .await
        .unwrap()
        .unwrap();
    let tx = app.state.tenancy.begin(&tenant).await.unwrap();
    let log = relabel_platform::audit::recent_tenant(&tx, 10)
        .await
        .unwrap();
    let entry = log
        .iter()
        .find(|e| e.action == "branding.update")
        .expect("audit entry");
    assert_eq!(entry.actor, "owner@alpha.test");
    assert!(entry.before.as_deref().unwrap().contains("\"Alpha\""));
    assert!(entry.after.as_deref().unwrap().contains("Alpha Reloaded"));
    app.stop().await;
}

#[tokio::test]
async fn bad_logos_and_colors_are_refused_and_nothing_changes() {
    let app = spawn_app().await;
    app.reseller(
        "Alpha",
        "alpha.test",
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let client = owner_client(&app, "alpha.test", "owner@alpha.test", "alpha-password-1").await;
    let url = app.url("alpha.test", "/console/branding");

    let cases: Vec<(Form, &str)> = vec![
        (
            branding_form("", "X", "#000000", Some((png(600 * 1024), "big.png"))),
            "too large",
        ),
        (
            branding_form(
                "",
                "X",
                "#000000",
                Some((b"<svg onload=alert(1)></svg>".to_vec(), "x.svg")),
            ),
            "PNG, JPEG or WebP",
        ),
        (
            branding_form(
                "",
                "X",
                "#000000",
                Some((b"MZ\x90\x00 not an image".to_vec(), "x.png")),
            ),
            "PNG, JPEG or WebP",
        ),
        (
            branding_form("", "X", "red; } body { display:none", None),
            "#rrggbb",
        ),
        (
            branding_form("", "", "#000000", None),
            "1 to 100 characters",
        ),
    ];
    for (form, message) in cases {
        let token = csrf(&client, &url).await;
        let form = form.text("csrf", token);
        let resp = client.post(&url).multipart(form).send().await.unwrap();
        assert_eq!(resp.status(), 422, "{message}");
        let body = unescape(&resp.text().await.unwrap());
        assert!(body.contains(message), "expected '{message}'");
    }
    let t = app
        .state
        .tenancy
        .resolve("alpha.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.name, "Alpha");
    assert!(t.brand.logo_asset_id.is_none());
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    assert!(
        relabel_platform::audit::recent_tenant(&tx, 10)
            .await
            .unwrap()
            .iter()
            .all(|e| e.action != "branding.update")
    );
    drop(tx);

    // Without the CSRF token: 403, nothing written.
    let resp = client
        .post(&url)
        .multipart(branding_form("nope", "Hacked", "#000000", None))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(
        app.state
            .tenancy
            .resolve("alpha.test")
            .await
            .unwrap()
            .unwrap()
            .name,
        "Alpha"
    );
    app.stop().await;
}

#[tokio::test]
async fn storefront_speaks_german_and_english() {
    let app = spawn_app().await;
    app.reseller(
        "Alpha",
        "alpha.test",
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let client = app.client();
    let de = client
        .get(app.url("alpha.test", "/"))
        .header("accept-language", "de-DE,de;q=0.9")
        .send()
        .await
        .unwrap();
    assert!(de.text().await.unwrap().contains("lang=\"de\""));
    let en = client
        .get(app.url("alpha.test", "/"))
        .header("accept-language", "en-US")
        .send()
        .await
        .unwrap();
    assert!(en.text().await.unwrap().contains("lang=\"en\""));
    // The switcher remembers the choice in a cookie.
    let switched = client
        .get(app.url("alpha.test", "/?lang=de"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert!(switched.text().await.unwrap().contains("lang=\"de\""));
    let after = client
        .get(app.url("alpha.test", "/"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert!(after.text().await.unwrap().contains("lang=\"de\""));
    app.stop().await;
}
