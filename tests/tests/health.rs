use relabel_tests::spawn_app;

#[tokio::test]
async fn health_and_readiness_answer_on_any_host() {
    let app = spawn_app().await;
    let client = app.client();
    for host in ["localhost", "unknown.test"] {
        let h = client.get(app.url(host, "/healthz")).send().await.unwrap();
        assert_eq!(h.status(), 200);
        let r = client.get(app.url(host, "/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), "ready");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_tls_ask_endpoint_allows_only_hostnames_served_here() {
    let app = spawn_app().await;
    let t = app
        .reseller(
            "Alpha",
            "alpha.test",
            "owner@alpha.test",
            "owner-password-1",
        )
        .await;
    let client = app.client();
    let ask = |domain: &str| {
        let url = app.url(
            "caddy-upstream.internal",
            &format!("/tls/ask?domain={domain}"),
        );
        let client = client.clone();
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(ask("alpha.test").await, 200);
    assert_eq!(
        ask("ALPHA.test.").await,
        200,
        "normalised like a Host header"
    );
    assert_eq!(ask("unknown.test").await, 404);
    assert_eq!(ask("evil.alpha.test").await, 404);
    assert_eq!(ask("").await, 400);
    assert_eq!(ask("a%20b").await, 400);
    // A deleted reseller's hostnames get no certificate.
    relabel_platform::resellers::delete(&app.state.tenancy, "test", &t.id)
        .await
        .unwrap();
    assert_eq!(ask("alpha.test").await, 404);
    app.stop().await;
}
