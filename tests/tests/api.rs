//! REST API: keys from the consoles, scopes, error shape, host separation.

use relabel_tests::{TestApp, csrf, login, spawn_app, unescape};
use serde_json::Value;

/// Creates a key through a console's API key page and returns the plaintext.
async fn key_from_console(
    app: &TestApp,
    client: &reqwest::Client,
    host: &str,
    base: &str,
    scopes: &[&str],
) -> String {
    let url = app.url(host, base);
    let token = csrf(client, &url).await;
    let mut form = vec![("name", "integration"), ("csrf", token.as_str())];
    for s in scopes {
        form.push(("scopes", s));
    }
    let resp = client.post(&url).form(&form).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = unescape(&resp.text().await.unwrap());
    let prefix = if base.starts_with("/operator") {
        "rlo_"
    } else {
        "rlk_"
    };
    let at = body.find(prefix).expect("new key shown once");
    body[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

#[tokio::test]
async fn reseller_key_reads_its_own_tenant_only() {
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
    let client = app.client();
    assert_eq!(
        login(
            &client,
            &app.url("alpha.test", "/console/login"),
            "owner@alpha.test",
            "alpha-password-1"
        )
        .await
        .status(),
        303
    );
    let key = key_from_console(
        &app,
        &client,
        "alpha.test",
        "/console/api-keys",
        &["tenant:read"],
    )
    .await;
    let narrow = key_from_console(
        &app,
        &client,
        "alpha.test",
        "/console/api-keys",
        &["customers:read"],
    )
    .await;

    let api = reqwest::Client::new();
    let resp = api.get(app.url("127.0.0.1", "/")).send().await;
    drop(resp);
    let get = |host: &str, key: Option<&str>| {
        let mut req = app.client().get(app.url(host, "/api/v1/tenant"));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        req.send()
    };
    let resp = get("alpha.test", Some(&key)).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["name"], "Alpha");
    assert!(body["id"].as_str().unwrap().starts_with("ten_"));
    assert_eq!(body["hostnames"][0], "alpha.test");

    // The key is Alpha's: on Beta's host it is unknown.
    let resp = get("beta.test", Some(&key)).await.unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
    assert!(body["message"].as_str().unwrap().contains("API key"));
    assert!(body["details"].as_array().unwrap().is_empty());

    assert_eq!(get("alpha.test", None).await.unwrap().status(), 401);
    assert_eq!(
        get("alpha.test", Some("rlk_xxxxxxxxxxxx_nope"))
            .await
            .unwrap()
            .status(),
        401
    );
    let resp = get("alpha.test", Some(&narrow)).await.unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "forbidden");

    // Revoked keys stop working.
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
    tx.commit().await.unwrap();
    let full = keys
        .iter()
        .find(|k| k.scopes == vec!["tenant:read".to_owned()])
        .unwrap();
    let token = csrf(&client, &app.url("alpha.test", "/console/api-keys")).await;
    let resp = client
        .post(app.url(
            "alpha.test",
            &format!("/console/api-keys/{}/revoke", full.id),
        ))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(get("alpha.test", Some(&key)).await.unwrap().status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn operator_api_manages_resellers_with_field_errors() {
    let app = spawn_app().await;
    let secret = app
        .operator("op@platform.test", "operator-password-1")
        .await;
    let client = app.client();
    app.operator_login(&client, "op@platform.test", "operator-password-1", &secret)
        .await;
    let key = key_from_console(
        &app,
        &client,
        "localhost",
        "/operator/api-keys",
        &["resellers:read", "resellers:write"],
    )
    .await;
    let api = app.client();
    let url = app.url("localhost", "/api/v1/operator/resellers");

    let resp = api
        .post(&url)
        .bearer_auth(&key)
        .json(&serde_json::json!({ "name": "Epsilon", "hostname": "bad host", "owner_email": "x", "owner_password": "long-enough-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "validation_failed");
    let fields: Vec<&str> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["hostname", "owner_email"]);
    assert!(
        app.state.tenancy.list().await.unwrap().is_empty(),
        "nothing created"
    );

    let resp = api
        .post(&url)
        .bearer_auth(&key)
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let text = resp.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    assert_eq!(body["code"], "bad_request");

    let resp = api
        .post(&url)
        .bearer_auth(&key)
        .json(&serde_json::json!({ "name": "Epsilon", "hostname": "epsilon.test", "owner_email": "owner@epsilon.test", "owner_password": "long-enough-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["hostnames"][0], "epsilon.test");
    assert_eq!(
        app.client()
            .get(app.url("epsilon.test", "/"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let resp = api
        .post(format!("{url}/{id}/hostnames"))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "hostname": "epsilon.test" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["details"][0]["code"],
        "hostname_taken"
    );

    let list: Value = api
        .get(&url)
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let resp = api
        .post(format!("{url}/{id}/suspend"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "suspended");
    assert_eq!(
        app.client()
            .get(app.url("epsilon.test", "/"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );

    // Operator endpoints are not served on a reseller host, nor without a key.
    let resp = api
        .get(app.url("epsilon.test", "/api/v1/operator/resellers"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        503,
        "suspended host answers 503 for everything"
    );
    assert_eq!(api.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(
        api.get(format!("{url}/ten_0000"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Docs and spec are served.
    let spec = api
        .get(app.url("localhost", "/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.status(), 200);
    assert!(spec.text().await.unwrap().contains("createReseller"));
    assert_eq!(
        api.get(app.url("localhost", "/api/v1/docs"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn customers_api_is_scoped_to_the_keys_reseller_and_validated() {
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
    let alpha = app.client();
    login(
        &alpha,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let rw = key_from_console(
        &app,
        &alpha,
        "alpha.test",
        "/console/api-keys",
        &["customers:read", "customers:write"],
    )
    .await;
    let ro = key_from_console(
        &app,
        &alpha,
        "alpha.test",
        "/console/api-keys",
        &["customers:read"],
    )
    .await;
    let beta = app.client();
    login(
        &beta,
        &app.url("beta.test", "/console/login"),
        "owner@beta.test",
        "beta-password-1",
    )
    .await;
    let beta_key = key_from_console(
        &app,
        &beta,
        "beta.test",
        "/console/api-keys",
        &["customers:read"],
    )
    .await;
    let api = app.client();
    let url = |host: &str, path: &str| app.url(host, &format!("/api/v1{path}"));

    let bad = serde_json::json!({
        "first_name": "Jo", "last_name": "Doe", "street": "Main 1", "postal_code": "ABC", "city": "Wien",
        "country": "AT", "email": "jo@example.com", "iban": "AT00 1234", "vat_id": "ATX", "phone": "0123"
    });
    let resp = api
        .post(url("alpha.test", "/customers"))
        .bearer_auth(&rw)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    let mut fields: Vec<String> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_owned())
        .collect();
    fields.sort();
    assert_eq!(fields, vec!["iban", "phone", "postal_code", "vat_id"]);

    let good = serde_json::json!({
        "first_name": "Jo", "last_name": "Doe", "street": "Main 1", "postal_code": "1010", "city": "Wien",
        "country": "AT", "email": "jo@example.com", "iban": "AT61 1904 3002 3457 3201", "vat_id": "ATU12345678",
        "phone": "+43 1 234567", "credit_limit": "250.00"
    });
    assert_eq!(
        api.post(url("alpha.test", "/customers"))
            .bearer_auth(&ro)
            .json(&good)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let resp = api
        .post(url("alpha.test", "/customers"))
        .bearer_auth(&rw)
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["number"], "K10001");
    assert_eq!(created["iban"], "AT611904300234573201");
    assert_eq!(created["credit_limit"], "250.00");
    assert_eq!(created["debit_status"], "INACTIVE");
    let id = created["id"].as_str().unwrap().to_owned();

    let resp = api
        .patch(url("alpha.test", &format!("/customers/{id}")))
        .bearer_auth(&rw)
        .json(&serde_json::json!({ "credit_limit": "-5" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let resp = api
        .patch(url("alpha.test", &format!("/customers/{id}")))
        .bearer_auth(&rw)
        .json(&serde_json::json!({ "city": "Graz", "postal_code": "8010" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["city"], "Graz");

    let list: Value = api
        .get(url("alpha.test", "/customers?q=doe"))
        .bearer_auth(&ro)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["next"].is_null());

    // Beta sees none of it, with its own key or Alpha's.
    let list: Value = api
        .get(url("beta.test", "/customers"))
        .bearer_auth(&beta_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(list["items"].as_array().unwrap().is_empty());
    assert_eq!(
        api.get(url("beta.test", &format!("/customers/{id}")))
            .bearer_auth(&beta_key)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        api.get(url("beta.test", "/customers"))
            .bearer_auth(&rw)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let resp = api
        .post(url("alpha.test", &format!("/customers/{id}/lock")))
        .bearer_auth(&rw)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["locked"], true);
    app.stop().await;
}

/// `body` as a JSON body of exactly `size` bytes (padded with spaces, which
/// JSON allows after the value).
fn padded(body: &serde_json::Value, size: usize) -> String {
    let text = body.to_string();
    format!("{text}{}", " ".repeat(size - text.len()))
}

#[tokio::test]
async fn request_bodies_over_the_limit_are_refused_before_they_are_read() {
    let app = spawn_app().await;
    app.reseller(
        "Alpha",
        "alpha.test",
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let key = app
        .api_key("alpha.test", &["customers:read", "customers:write"])
        .await;
    let limit = app.state.config.max_body_bytes;
    assert_eq!(limit, 1024 * 1024, "1 MiB by default");
    let customer = |email: &str| {
        serde_json::json!({
            "first_name": "Jo", "last_name": "Doe", "street": "Main 1", "postal_code": "1010",
            "city": "Wien", "country": "AT", "email": email
        })
    };
    let post = |body: String| {
        app.client()
            .post(app.url("alpha.test", "/api/v1/customers"))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let resp = post(padded(&customer("over@example.com"), limit + 1))
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "payload_too_large", "{body}");
    let resp = post(padded(&customer("under@example.com"), limit))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());

    // Without a declared length (chunked), the body is cut off at the limit too.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/customers HTTP/1.1\r\nHost: alpha.test\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let chunk = padded(&customer("chunked@example.com"), limit + 1);
    let _ = conn
        .write_all(format!("{:x}\r\n{chunk}\r\n0\r\n\r\n", chunk.len()).as_bytes())
        .await;
    let mut answer = vec![0; 12];
    conn.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 413");
    app.stop().await;
}

#[tokio::test]
async fn api_key_guessing_is_throttled_per_client() {
    let app = relabel_tests::spawn_app_with(|c| c.throttle.client_failures = 5).await;
    app.reseller(
        "Alpha",
        "alpha.test",
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let key = app.api_key("alpha.test", &["tenant:read"]).await;
    let url = app.url("alpha.test", "/api/v1/tenant");
    let guesser = app.client_from([127, 0, 0, 2]);
    // Every guess names another key prefix, so only the client's own record
    // across accounts can stop it.
    for n in 0..5 {
        let guess = format!("rlk_guess{n:07}_not-the-secret");
        let resp = guesser.get(&url).bearer_auth(&guess).send().await.unwrap();
        assert_eq!(resp.status(), 401);
    }
    let resp = guesser.get(&url).bearer_auth(&key).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "too_many_failures");
    // The key works from the integration's own address.
    let resp = app
        .client()
        .get(&url)
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    app.stop().await;
}

/// Answers of the main reads and writes, each checked against
/// `docs/openapi.json` for its operation and status: what the spec promises is
/// what a client gets (types, required, nullable, enums, status codes).
#[tokio::test]
async fn answers_keep_the_published_contract() {
    use relabel_tests::contract::assert_conforms;
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let host = "alpha.localhost";
    let scopes: Vec<&str> = relabel_platform::api_keys::Realm::Tenant
        .scopes()
        .iter()
        .map(|(s, _)| *s)
        .collect();
    let key = app.api_key(host, &scopes).await;
    let client = app.client();
    let call = |method: reqwest::Method, path: String, body: Option<Value>| {
        let client = client.clone();
        let key = key.clone();
        let url = app.url(host, &format!("/api/v1{path}"));
        async move {
            let mut r = client.request(method, url).bearer_auth(key);
            if let Some(b) = body {
                r = r.json(&b);
            }
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            (status, body)
        }
    };
    let get = |path: &str| call(reqwest::Method::GET, path.to_owned(), None);

    // A person without company, phone or VAT id: nulls where the spec allows them.
    let (status, created) = call(
        reqwest::Method::POST,
        "/customers".into(),
        Some(serde_json::json!({
            "email": "contract@example.de", "first_name": "Conny", "last_name": "Contract",
            "street": "Weg 1", "postal_code": "10115", "city": "Berlin", "country": "DE",
        })),
    )
    .await;
    assert_conforms("POST", "/customers", status, &created);
    let id = created["id"].as_str().unwrap().to_owned();
    let checks: Vec<(&str, String)> = vec![
        ("/tenant", "/tenant".into()),
        ("/customers", "/customers?limit=2".into()),
        ("/customers/{id}", format!("/customers/{id}")),
        ("/customers/{id}/ledger", format!("/customers/{id}/ledger")),
        (
            "/customers/{id}/payments",
            format!("/customers/{id}/payments"),
        ),
        ("/customers/{id}/prices", format!("/customers/{id}/prices")),
        ("/price-classes", "/price-classes".into()),
        ("/catalog", "/catalog".into()),
        ("/coupons", "/coupons".into()),
        ("/invoices", "/invoices".into()),
        ("/orders", "/orders".into()),
        ("/clearing-cases", "/clearing-cases".into()),
        ("/domains", "/domains".into()),
        ("/services", "/services".into()),
        ("/jobs", "/jobs".into()),
        ("/open-items", "/open-items".into()),
        ("/billing-runs", "/billing-runs".into()),
        ("/debit-runs", "/debit-runs".into()),
        ("/dunning-runs", "/dunning-runs".into()),
        ("/availability", "/availability?q=contract-name".into()),
        (
            "/quote",
            "/quote?product=domain-de&action=register&period=12".into(),
        ),
        // Refusals are part of the contract too.
        (
            "/customers/{id}",
            "/customers/cus_00000000000000000000000000000000".into(),
        ),
        ("/customers", "/customers?limit=-690".into()),
    ];
    for (template, path) in checks {
        let (status, body) = get(&path).await;
        assert_conforms("GET", template, status, &body);
    }
    // A billing run as it starts (not finished yet) and as listed.
    let (status, run) = call(
        reqwest::Method::POST,
        "/billing-runs".into(),
        Some(serde_json::json!({})),
    )
    .await;
    assert_conforms("POST", "/billing-runs", status, &run);
    if let Some(run_id) = run["id"].as_str() {
        let (status, body) = get(&format!("/billing-runs/{run_id}")).await;
        assert_conforms("GET", "/billing-runs/{id}", status, &body);
    }

    // Hosts no reseller answers at, and a suspended reseller, answer the API
    // in its own JSON shape, not with a shop page.
    let r = client
        .get(app.url("nobody.test", "/api/v1/tenant"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "unknown_host", "{body}");
    assert!(body["details"].is_array());
    let t = app.state.tenancy.resolve(host).await.unwrap().unwrap();
    relabel_platform::resellers::set_status(
        &app.state.tenancy,
        "operator@test",
        &t.id,
        relabel_tenants::TenantStatus::Suspended,
    )
    .await
    .unwrap();
    let (status, body) = get("/tenant").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("reseller_suspended"))
    );
    app.stop().await;
}

/// Refusals before a handler runs are documented and in the API's shape: a
/// wrong method gets 405 with `Allow`, a body that is not JSON 415.
#[tokio::test]
async fn wrong_methods_and_media_types_are_refused_as_documented() {
    use relabel_tests::contract::{assert_conforms, spec};
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let host = "alpha.localhost";
    let key = app
        .api_key(host, &["customers:read", "customers:write", "tenant:read"])
        .await;
    let client = app.client();
    let r = client
        .delete(app.url(host, "/api/v1/tenant"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed", "{body}");
    assert_conforms("GET", "/tenant", 405, &body);
    let r = client
        .put(app.url(host, "/api/v1/customers"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, POST");
    let r = client
        .post(app.url(host, "/api/v1/customers"))
        .bearer_auth(&key)
        .header("content-type", "text/plain")
        .body("email=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let body: Value = r.json().await.unwrap();
    assert_conforms("POST", "/customers", 415, &body);
    // Every operation documents them, and the suspended host's 503.
    for (path, ops) in spec()["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            for status in ["405", "415", "503"] {
                assert!(
                    op["responses"][status].is_object(),
                    "{method} {path} does not document {status}"
                );
            }
        }
    }
    app.stop().await;
}
