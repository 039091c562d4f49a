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
