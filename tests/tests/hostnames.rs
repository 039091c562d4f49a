//! Custom domains (T2): a reseller claims a hostname and proves it by a TXT
//! record or a CNAME, looked up in a real PowerDNS server. Until then the name
//! is not served and gets no TLS certificate; one reseller's claim never helps
//! another.

use relabel_tests::pdns::{API_KEY, Pdns};
use relabel_tests::{TestApp, csrf, login, spawn_app_with, unescape};
use serde_json::json;

async fn staff(app: &TestApp, host: &str) -> reqwest::Client {
    let client = app.client();
    let rsp = login(
        &client,
        &app.url(host, "/console/login"),
        &format!("owner@{host}"),
        "owner-password-1",
    )
    .await;
    assert!(rsp.status().is_redirection());
    client
}

/// Replaces one rrset of `zone` in PowerDNS with `contents`.
async fn record(pdns: &Pdns, zone: &str, name: &str, kind: &str, contents: &[&str]) {
    let records: Vec<_> = contents
        .iter()
        .map(|c| json!({ "content": c, "disabled": false }))
        .collect();
    let rsp = reqwest::Client::new()
        .patch(format!(
            "{}/api/v1/servers/localhost/zones/{zone}.",
            pdns.url()
        ))
        .header("X-API-Key", API_KEY)
        .json(&json!({ "rrsets": [{
            "name": format!("{name}."), "type": kind, "ttl": 60, "changetype": "REPLACE",
            "records": records,
        }]}))
        .send()
        .await
        .unwrap();
    assert!(rsp.status().is_success(), "{}", rsp.text().await.unwrap());
}

/// Claims `host` from `shop`'s console; returns the response status.
async fn claim(app: &TestApp, client: &reqwest::Client, shop: &str, host: &str) -> u16 {
    let page = app.url(shop, "/console/hostnames");
    let token = csrf(client, &page).await;
    client
        .post(&page)
        .form(&[("csrf", token.as_str()), ("hostname", host)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The claim of `host` on `shop`'s page: `(id, txt value)`.
async fn claim_of(
    app: &TestApp,
    client: &reqwest::Client,
    shop: &str,
    host: &str,
) -> (String, String) {
    let html = client
        .get(app.url(shop, "/console/hostnames"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let html = unescape(&html);
    let row = html
        .split("<tr>")
        .find(|r| r.contains(&format!("<code>{host}</code>")))
        .unwrap_or_else(|| panic!("no row for {host}"));
    let id = row
        .split("/console/hostnames/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap()
        .to_owned();
    let txt = row
        .split("relabel-verify=")
        .nth(1)
        .map(|s| format!("relabel-verify={}", &s[..32]))
        .unwrap_or_default();
    (id, txt)
}

/// Asks `shop`'s console to check claim `id`; returns the status.
async fn check(app: &TestApp, client: &reqwest::Client, shop: &str, id: &str) -> u16 {
    let token = csrf(client, &app.url(shop, "/console/hostnames")).await;
    client
        .post(app.url(shop, &format!("/console/hostnames/{id}/check")))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn ask(app: &TestApp, host: &str) -> u16 {
    app.client()
        .get(app.url("caddy.internal", &format!("/tls/ask?domain={host}")))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn home(app: &TestApp, host: &str) -> (u16, String) {
    let rsp = app.client().get(app.url(host, "/")).send().await.unwrap();
    (rsp.status().as_u16(), rsp.text().await.unwrap())
}

#[tokio::test]
async fn a_custom_domain_is_served_only_after_dns_proves_it() {
    let Some(pdns) = Pdns::start().await else {
        return;
    };
    let dns = format!("127.0.0.1:{}", pdns.dns_port);
    let app = spawn_app_with(move |c| c.dns_resolver = Some(dns)).await;
    for (name, host) in [("Alpha", "alpha.test"), ("Beta", "beta.test")] {
        app.reseller(name, host, &format!("owner@{host}"), "owner-password-1")
            .await;
    }
    let rsp = reqwest::Client::new()
        .post(format!("{}/api/v1/servers/localhost/zones", pdns.url()))
        .header("X-API-Key", API_KEY)
        .json(&json!({ "name": "shop-alpha.test.", "kind": "Native", "nameservers": ["ns1.shop-alpha.test."] }))
        .send()
        .await
        .unwrap();
    assert!(rsp.status().is_success(), "{}", rsp.text().await.unwrap());
    let alpha = staff(&app, "alpha.test").await;
    let beta = staff(&app, "beta.test").await;

    // Bad input names the field and claims nothing.
    for bad in ["not a host!", "shop.localhost", "beta.test"] {
        assert_eq!(claim(&app, &alpha, "alpha.test", bad).await, 422, "{bad}");
    }

    // Claimed, not yet proven: not served, no certificate.
    let host = "www.shop-alpha.test";
    assert_eq!(claim(&app, &alpha, "alpha.test", host).await, 303);
    assert_eq!(claim(&app, &alpha, "alpha.test", host).await, 422, "twice");
    let (id, txt) = claim_of(&app, &alpha, "alpha.test", host).await;
    assert!(txt.starts_with("relabel-verify="));
    assert_eq!(check(&app, &alpha, "alpha.test", &id).await, 303);
    let page = alpha
        .get(app.url("alpha.test", "/console/hostnames"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        unescape(&page).contains("no TXT record _relabel-challenge.www.shop-alpha.test"),
        "{page}"
    );
    assert_eq!(home(&app, host).await.0, 404);
    assert_eq!(ask(&app, host).await, 404);

    // Beta claims the same name; it cannot check alpha's claim.
    assert_eq!(claim(&app, &beta, "beta.test", host).await, 303);
    let (beta_id, _) = claim_of(&app, &beta, "beta.test", host).await;
    assert_eq!(check(&app, &beta, "beta.test", &id).await, 404);

    // A wrong token proves nothing; the right one does.
    let challenge = format!("_relabel-challenge.{host}");
    record(
        &pdns,
        "shop-alpha.test",
        &challenge,
        "TXT",
        &["\"relabel-verify=0000\""],
    )
    .await;
    check(&app, &alpha, "alpha.test", &id).await;
    assert_eq!(home(&app, host).await.0, 404);
    record(
        &pdns,
        "shop-alpha.test",
        &challenge,
        "TXT",
        &[&format!("\"{txt}\"")],
    )
    .await;
    check(&app, &alpha, "alpha.test", &id).await;
    let (status, html) = home(&app, host).await;
    assert_eq!(status, 200);
    assert!(html.contains("Alpha"), "alpha's shop on its own domain");
    assert_eq!(ask(&app, host).await, 200);

    // Beta proves the same name too, later: the name is taken, alpha keeps it.
    let (_, beta_txt) = claim_of(&app, &beta, "beta.test", host).await;
    let both = [format!("\"{txt}\""), format!("\"{beta_txt}\"")];
    record(
        &pdns,
        "shop-alpha.test",
        &challenge,
        "TXT",
        &[&both[0], &both[1]],
    )
    .await;
    check(&app, &beta, "beta.test", &beta_id).await;
    let page = beta
        .get(app.url("beta.test", "/console/hostnames"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("This hostname already belongs to a reseller."),
        "{page}"
    );
    let (_, html) = home(&app, host).await;
    assert!(html.contains("Alpha"));

    // A CNAME to the platform host proves a name as well.
    let shop = "shop.shop-alpha.test";
    assert_eq!(claim(&app, &alpha, "alpha.test", shop).await, 303);
    let (shop_id, _) = claim_of(&app, &alpha, "alpha.test", shop).await;
    record(&pdns, "shop-alpha.test", shop, "CNAME", &["localhost."]).await;
    check(&app, &alpha, "alpha.test", &shop_id).await;
    assert_eq!(home(&app, shop).await.0, 200);
    assert_eq!(ask(&app, shop).await, 200);

    // Removing the domain stops serving it.
    let token = csrf(&alpha, &app.url("alpha.test", "/console/hostnames")).await;
    let rsp = alpha
        .post(app.url("alpha.test", &format!("/console/hostnames/{id}/remove")))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 303);
    assert_eq!(home(&app, host).await.0, 404);
    assert_eq!(ask(&app, host).await, 404);
    app.stop().await;
}

/// Signups from `clients` addresses through `base`: the status of each.
async fn signup_statuses(app: &TestApp, base: &str, clients: &[[u8; 4]]) -> Vec<u16> {
    let mut statuses = Vec::new();
    for ip in clients {
        let client = app.client_from(*ip);
        let token = csrf(&client, &format!("{base}/account/signup")).await;
        // Invalid on purpose: the rate limit is checked first, so the answer
        // is 429 when limited and 422 otherwise, and no account is made.
        let r = client
            .post(format!("{base}/account/signup"))
            .header("X-Forwarded-For", "198.51.100.1")
            .form(&[("csrf", token.as_str()), ("email", "x")])
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_visitor_is_counted_as_themselves() {
    let addrs: Vec<[u8; 4]> = (10..22).map(|i| [127, 0, 0, i]).collect();
    // Behind Caddy, told to trust it: twelve visitors are twelve clients,
    // whatever they claim in their own X-Forwarded-For.
    let app = spawn_app_with(|c| c.trusted_proxies = Some("127.0.0.1/32".into())).await;
    app.reseller(
        "Alpha",
        "alpha.test",
        "owner@alpha.test",
        "owner-password-1",
    )
    .await;
    let Some(caddy) = relabel_tests::proxy::Caddy::start(app.addr).await else {
        return;
    };
    let base = format!("http://alpha.test:{}", caddy.port);
    assert_eq!(signup_statuses(&app, &base, &addrs).await, vec![422; 12]);
    // One visitor is still one: the eleventh try within the hour is refused.
    let one = vec![addrs[0]; 11];
    let statuses = signup_statuses(&app, &base, &one).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}"
    );
    // The change log records the visitor, not the proxy.
    let owner = app.client_from(addrs[3]);
    let r = login(
        &owner,
        &format!("{base}/console/login"),
        "owner@alpha.test",
        "owner-password-1",
    )
    .await;
    assert!(r.status().is_redirection());
    let token = csrf(&owner, &format!("{base}/console/api-keys")).await;
    let r = owner
        .post(format!("{base}/console/api-keys"))
        .header("X-Forwarded-For", "198.51.100.1")
        .form(&[
            ("csrf", token.as_str()),
            ("name", "shop sync"),
            ("scopes", "tenant:read"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = owner
        .get(format!("{base}/console/audit"))
        .send()
        .await
        .unwrap();
    let log = r.text().await.unwrap();
    assert!(log.contains("127.0.0.13"), "{log}");
    assert!(!log.contains("198.51.100.1"), "{log}");
    drop(caddy);
    app.stop().await;

    // Without the setting the proxy is the client: every visitor shares its
    // ten signups an hour. A visitor talking to relabel directly cannot
    // choose its address by the header either.
    let app = spawn_app_with(|_| {}).await;
    app.reseller(
        "Alpha",
        "alpha.test",
        "owner@alpha.test",
        "owner-password-1",
    )
    .await;
    let caddy = relabel_tests::proxy::Caddy::start(app.addr).await.unwrap();
    let base = format!("http://alpha.test:{}", caddy.port);
    let statuses = signup_statuses(&app, &base, &addrs).await;
    assert_eq!(&statuses[10..], &[429, 429], "{statuses:?}");
    drop(caddy);
    app.stop().await;
}
