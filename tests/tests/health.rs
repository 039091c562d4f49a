use relabel_tests::{spawn_app, spawn_app_with};

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

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_only() {
    let app = spawn_app().await;
    app.reseller(
        "Alpha",
        "alpha.test",
        "owner@alpha.test",
        "owner-password-1",
    )
    .await;
    let metrics = relabel_platform::app::spawn_metrics(app.state.clone(), "127.0.0.1:0")
        .await
        .unwrap();
    let client = app.client();
    for _ in 0..3 {
        let home = client.get(app.url("alpha.test", "/")).send().await.unwrap();
        assert_eq!(home.status(), 200);
    }
    let missing = client
        .get(app.url("alpha.test", "/console/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // Not on the public port.
    let public = client
        .get(app.url("alpha.test", "/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404);

    let text = reqwest::get(format!("http://{}/metrics", metrics.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count = |series: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    };
    assert!(
        count(
            "relabel_http_request_duration_seconds_count{area=\"home\",method=\"GET\",status=\"200\"}"
        ) >= 3
    );
    assert!(
        count(
            "relabel_http_request_duration_seconds_count{area=\"console\",method=\"GET\",status=\"404\"}"
        ) >= 1
    );
    assert!(text.contains("relabel_http_request_duration_seconds_bucket{area=\"home\",method=\"GET\",status=\"200\",le=\"+Inf\"}"));
    assert!(text.contains("# TYPE relabel_jobs_queued gauge"));
    assert!(text.contains("relabel_template_fallbacks_total"));
    assert!(!text.contains("alpha.test"), "no tenant or host labels");
    metrics.shutdown().await;
    app.stop().await;
}

#[tokio::test]
async fn every_response_carries_its_request_id() {
    let app = spawn_app().await;
    let client = app.client();
    // A proxy's sane id is kept; a bogus one is replaced.
    let r = client
        .get(app.url("localhost", "/healthz"))
        .header("x-request-id", "proxy-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "proxy-0123456789");
    let r = client
        .get(app.url("localhost", "/healthz"))
        .header("x-request-id", "bad id; drop table")
        .send()
        .await
        .unwrap();
    let made = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made.len(), 32);
    assert!(made.bytes().all(|b| b.is_ascii_hexdigit()));
    app.stop().await;
}

/// Reads until the server closes the connection (or resets it); how long that took.
async fn closed_after(r: &mut tokio::net::tcp::OwnedReadHalf, what: &str) -> std::time::Duration {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(6), r.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
            Err(_) => panic!("the server kept the {what} connection open"),
        }
    }
}

/// Writes `bit` every 200 ms, 40 times or until the server hangs up.
fn trickle(
    mut w: tokio::net::tcp::OwnedWriteHalf,
    bit: &'static [u8],
) -> tokio::task::JoinHandle<()> {
    use tokio::io::AsyncWriteExt;
    tokio::spawn(async move {
        for _ in 0..40 {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            if w.write_all(bit).await.is_err() {
                break;
            }
        }
    })
}

#[tokio::test]
async fn slow_and_idle_clients_are_disconnected() {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|c| {
        c.header_timeout_secs = 1;
        c.idle_timeout_secs = 2;
        c.body_timeout_secs = 1;
    })
    .await;
    let connect = || async {
        tokio::net::TcpStream::connect(app.addr)
            .await
            .unwrap()
            .into_split()
    };

    // A head that trickles in, a byte at a time, never finishing.
    let (mut r, mut w) = connect().await;
    w.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    let writer = trickle(w, b"a");
    let took = closed_after(&mut r, "trickling").await;
    assert!(took < Duration::from_secs(3), "closed after {took:?}");
    writer.abort();

    // A connection that never says anything.
    let (mut r, _w) = connect().await;
    let took = closed_after(&mut r, "silent").await;
    assert!(took < Duration::from_secs(3), "closed after {took:?}");

    // A whole request is answered; the idle connection is closed afterwards.
    let (mut r, mut w) = connect().await;
    w.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 12];
    r.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    let took = closed_after(&mut r, "idle").await;
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(4),
        "idle connection closed after {took:?}"
    );

    // A body that trickles in after a prompt head: 408 once its time is up
    // (1 s here), and the connection is closed; nothing was handled.
    for (path, declared) in [
        ("/account/login", "Content-Length: 200"),
        ("/api/v1/customers", "Transfer-Encoding: chunked"),
    ] {
        let (mut r, mut w) = connect().await;
        w.write_all(
            format!("POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n{declared}\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let chunked = declared.contains("chunked");
        let writer = trickle(w, if chunked { &b"1\r\na\r\n"[..] } else { b"a" });
        let started = std::time::Instant::now();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(6), r.read_to_end(&mut answer)).await;
        let took = started.elapsed();
        assert!(
            read.is_ok(),
            "{path}: the server kept a trickling body's connection open"
        );
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(
            took < Duration::from_secs(3),
            "{path}: answered after {took:?}"
        );
        writer.abort();
    }
    // An upload (multipart) is not gathered before its handler: a trickling
    // one is answered and its connection closed all the same, within seconds.
    {
        let (mut r, mut w) = connect().await;
        w.write_all(
            b"POST /account/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 5000\r\n\r\n--x\r\n",
        )
        .await
        .unwrap();
        let writer = trickle(w, b"a");
        let took = closed_after(&mut r, "trickling upload").await;
        assert!(took < Duration::from_secs(4), "closed after {took:?}");
        writer.abort();
    }
    // A body sent at once is read and handled as before.
    let client = reqwest::Client::new();
    let resp = client
        .post(app.url("localhost", "/api/v1/customers"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "a prompt body reaches the handler");
    app.stop().await;
}

/// The `Content-Security-Policy` of a response.
fn csp(r: &reqwest::Response) -> String {
    r.headers()
        .get("content-security-policy")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_page_forbids_inline_script_and_console_cookies_stay_in_the_console() {
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    let shop = app.client();
    for (host, path) in [
        ("alpha.localhost", "/"),
        ("alpha.localhost", "/search?q=example"),
        ("alpha.localhost", "/account/login"),
        ("alpha.localhost", "/console/login"),
        ("alpha.localhost", "/no-such-page"),
        ("localhost", "/operator/login"),
        ("unknown.test", "/"),
    ] {
        let r = shop.get(app.url(host, path)).send().await.unwrap();
        let policy = csp(&r);
        assert!(
            policy.contains("script-src 'self';") && policy.contains("frame-ancestors 'none'"),
            "{host}{path}: {policy}"
        );
        assert!(
            !policy.contains("unsafe-inline'; connect"),
            "{host}{path}: {policy}"
        );
    }
    // A reseller's footer with a script: published, served, and not run,
    // because no page allows inline script (the browser test runs it in a
    // real browser; here the policy and the page).
    let r = shop
        .get(app.url("alpha.localhost", "/widget"))
        .send()
        .await
        .unwrap();
    let policy = csp(&r);
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(!r.text().await.unwrap().contains("<script>"));

    // The console's session cookie is sent to the console only, and never
    // along with a request another site starts.
    let r = relabel_tests::login(
        &app.client(),
        &app.url("alpha.localhost", "/console/login"),
        "owner@alpha.example",
        "alpha-demo-2026",
    )
    .await;
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .filter(|c| c.starts_with("relabel_console="))
        .collect();
    assert!(!cookies.is_empty());
    for c in &cookies {
        assert!(c.contains("Path=/console"), "{c}");
        assert!(c.contains("SameSite=Strict"), "{c}");
        assert!(c.contains("HttpOnly"), "{c}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_test_registry_runs_only_when_asked_for_and_says_so() {
    // Asked for (as the tests and `serve --demo` do): shop and console say so.
    let app = spawn_app().await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    assert!(app.state.dev_registry.is_some());
    let client = app.client();
    let home = client
        .get(app.url("alpha.localhost", "/?lang=de"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("Testbetrieb: Domains werden bei einer Test-Registry angelegt"),
        "{home}"
    );
    let login = client
        .get(app.url("alpha.localhost", "/console/login?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains("test-registry-banner"), "{login}");
    app.stop().await;

    // Not configured: no registry at all. Nothing is "registered", checks
    // answer that the registry cannot be asked, and no banner claims a test.
    let app = relabel_tests::spawn_app_with(|c| c.dev_registry.enabled = false).await;
    relabel_platform::demo::seed(&app.state).await.unwrap();
    assert!(app.state.dev_registry.is_none());
    let client = app.client();
    let home = client
        .get(app.url("alpha.localhost", "/?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!home.contains("test-registry-banner"));
    let search = client
        .get(app.url("alpha.localhost", "/search?q=grossbestellung&lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(search.contains("grossbestellung.de"), "{search}");
    assert!(
        !search.contains("badge-success"),
        "nothing shows as free: {search}"
    );
    app.stop().await;
}
