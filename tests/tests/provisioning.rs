//! Provisioning (issue 7): an accepted order becomes registered domains at the
//! test registry (EPP over TLS), zones, service entries and a completion mail;
//! registry outages retry and end as technical tickets that complete after the
//! registry is back; a name taken meanwhile fails its item and frees its credit.

use relabel_platform::AppState;
use relabel_platform::customers::{self, Actor, CustomerInput, customer};
use relabel_platform::domains::devregistry::PRE_REGISTERED_AUTH;
use relabel_platform::jobs;
use relabel_platform::orders::{self, Checkout, Line};
use relabel_platform::provisioning::{self, service};
use relabel_tenants::Tenant;
use relabel_tests::{TestApp, spawn_app_with};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

async fn setup(app: &TestApp) -> Tenant {
    relabel_platform::catalog::seed_demo(app.state.tenancy.backend().shared())
        .await
        .unwrap();
    let t = app
        .reseller(
            "Alpha",
            "alpha.test",
            "owner@alpha.test",
            "alpha-password-1",
        )
        .await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    relabel_platform::pricing::seed_demo(&tx, [("A", 150), ("B", 140), ("C", 130)])
        .await
        .unwrap();
    // Orders are invoiced by the next billing run, not by a job of their own:
    // these tests count provisioning jobs only (billing has its own tests).
    let bs = relabel_platform::billing::settings(&tx).await.unwrap();
    let mut bs: relabel_platform::billing::billing_settings::ActiveModel = bs.into();
    bs.invoice_on_completion = sea_orm::Set(false);
    sea_orm::ActiveModelTrait::update(bs, tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    t
}

async fn customer(state: &AppState, t: &Tenant, email: &str) -> customer::Model {
    let tx = state.tenancy.begin(t).await.unwrap();
    let input = CustomerInput {
        first_name: Some("Paula".into()),
        last_name: Some("Provision".into()),
        street: Some("Weg 1".into()),
        postal_code: Some("10115".into()),
        city: Some("Berlin".into()),
        country: Some("DE".into()),
        email: Some(email.into()),
        credit_limit: Some("1000.00".into()),
        ..Default::default()
    };
    let actor = Actor {
        name: "test",
        ip: None,
    };
    let c = customers::create(&tx, &actor, &input, None).await.unwrap();
    tx.commit().await.unwrap();
    c
}

fn register(name: &str) -> Line {
    Line {
        domain: Some(name.into()),
        action: "register".into(),
        period_months: 12,
        ..Default::default()
    }
}

async fn place(
    state: &AppState,
    t: &Tenant,
    c: &customer::Model,
    lines: &[Line],
) -> orders::order::Model {
    let tx = state.tenancy.begin(t).await.unwrap();
    let placed = orders::place(
        &tx,
        &state.prices,
        Checkout {
            customer_id: &c.id,
            cart_id: "ctest",
            lines,
            coupon: None,
            ip: Some("127.0.0.1"),
            ip_country: None,
            bureau_score: None,
            actor: "test",
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(matches!(placed.outcome, orders::Outcome::Accepted { .. }));
    placed.order
}

async fn order(
    state: &AppState,
    t: &Tenant,
    id: &str,
) -> (orders::order::Model, Vec<orders::order_item::Model>) {
    let tx = state.tenancy.begin(t).await.unwrap();
    let o = orders::order::Entity::find_by_id(id.to_owned())
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap();
    let items = orders::items(&tx, id).await.unwrap();
    (o, items)
}

fn fast_jobs(c: &mut relabel_platform::Config) {
    c.dev_registry.transfer_auto_approve_secs = 1;
    c.jobs.transfer_poll_secs = 1;
}

#[tokio::test]
async fn an_accepted_order_is_registered_zoned_and_billed_from_service_entries() {
    let app = spawn_app_with(fast_jobs).await;
    let t = setup(&app).await;
    let c = customer(&app.state, &t, "paula@example.de").await;
    let dev = app.state.dev_registry.clone().expect("test registry");
    let lines = vec![
        register("paulas-neue-seite.de"),
        Line {
            domain: Some("example.com".into()),
            action: "transfer".into(),
            period_months: 12,
            auth_code: Some(PRE_REGISTERED_AUTH.into()),
            ..Default::default()
        },
        Line {
            product_id: "hosting-starter".into(),
            action: "order".into(),
            period_months: 12,
            ..Default::default()
        },
    ];
    // The hosting pool: one full server, one with room (a real HTTP panel).
    let panel = relabel_platform::hosting::devpanel::start().await.unwrap();
    let shared = app.state.tenancy.backend().shared();
    let token = relabel_platform::hosting::devpanel::TOKEN;
    relabel_platform::hosting::add_server(
        shared,
        &app.state.sealer,
        "hosting-starter",
        "web-full",
        0,
        &panel.url("web-full"),
        token,
    )
    .await
    .unwrap();
    let free = relabel_platform::hosting::add_server(
        shared,
        &app.state.sealer,
        "hosting-starter",
        "web-2",
        50,
        &panel.url("web-2"),
        token,
    )
    .await
    .unwrap();
    let o = place(&app.state, &t, &c, &lines).await;
    let runner = app.state.runner();
    // The transfer waits for the losing registrar (auto-approved after 1 s here).
    for _ in 0..30 {
        runner.run_due(&t).await.unwrap();
        if order(&app.state, &t, &o.id).await.0.status == "completed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (o, items) = order(&app.state, &t, &o.id).await;
    assert_eq!(o.status, "completed");
    assert!(items.iter().all(|i| i.status == "done"), "{items:?}");
    // The console says so, not "received".
    let staff = app.client();
    relabel_tests::login(
        &staff,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let list = staff
        .get(app.url("alpha.test", "/console/orders?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(">set up</span>"), "{list}");
    assert!(!list.contains(">received</span>"), "{list}");

    // At the registry: registered once, with our nameservers; the transfer moved.
    assert_eq!(dev.registry.create_count("paulas-neue-seite.de"), 1);
    let reg = dev.registry.domain("paulas-neue-seite.de").unwrap();
    assert_eq!(reg.nameservers, app.state.config.dns.nameservers);
    assert_eq!(
        dev.registry.domain("example.com").unwrap().client,
        "relabel"
    );

    // Domains, history, zone file from the template.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let d = provisioning::for_customer(&tx, &c.id, "paulas-neue-seite.de")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, "active");
    assert!(d.expires_at.unwrap() > chrono::Utc::now() + chrono::Duration::days(360));
    // Locked as the registry holds it: the lock was set there at registration.
    assert!(d.transfer_lock);
    assert!(reg.statuses.contains("clientTransferProhibited"), "{reg:?}");
    let ops: Vec<String> = provisioning::ops(&tx, &d.id)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.op)
        .collect();
    assert!(
        ops.contains(&"create".to_owned())
            && ops.contains(&"zone".to_owned())
            && ops.contains(&"lock_on".to_owned()),
        "{ops:?}"
    );
    let zone = std::fs::read_to_string(
        app.state
            .config
            .data_dir
            .join("zones")
            .join("paulas-neue-seite.de.zone"),
    )
    .unwrap();
    assert!(zone.contains("IN\tMX\t10 mx.relabel-dns.net."), "{zone}");
    assert!(
        zone.contains("www\t3600\tIN\tCNAME\tpaulas-neue-seite.de."),
        "{zone}"
    );
    assert!(zone.contains("IN\tNS\tns1.relabel-dns.net."));

    // One service entry per item, next billing one period on.
    let services = service::Entity::find()
        .filter(service::Column::CustomerId.eq(&c.id))
        .all(tx.conn())
        .await
        .unwrap();
    assert_eq!(services.len(), 3);
    for s in &services {
        let months = (s.next_billing_at - s.started_at).num_days();
        assert!((364..=366).contains(&months), "{s:?}");
        assert_eq!(s.status, "active");
    }
    let hosting = services.iter().find(|s| s.kind == "hosting").unwrap();
    let account = relabel_platform::hosting::account_of_service(&tx, &hosting.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.status, "active");
    assert_eq!(account.server_id, free.id, "placed on the server with room");
    let at_panel = panel.panel.accounts();
    assert_eq!(
        at_panel[&("web-2".to_owned(), account.username.clone())].plan,
        "hosting-starter"
    );
    assert_eq!(
        relabel_platform::hosting::server_by_id(shared, &free.id)
            .await
            .unwrap()
            .unwrap()
            .used,
        1
    );
    // The password is shown once.
    let pw = relabel_platform::hosting::take_password(&tx, &account.id)
        .await
        .unwrap();
    assert!(pw.is_some_and(|p| p.len() >= 12));
    assert!(
        relabel_platform::hosting::take_password(&tx, &account.id)
            .await
            .unwrap()
            .is_none()
    );
    drop(tx);

    // The customer was told.
    let (subject, _) = relabel_tests::last_mail(&app, "alpha.test", "paula@example.de").await;
    assert!(
        subject.contains("set up") || subject.contains("eingerichtet"),
        "{subject}"
    );
    app.stop().await;
}

#[tokio::test]
async fn registry_outage_retries_becomes_a_ticket_and_completes_after_recovery() {
    let app = spawn_app_with(fast_jobs).await;
    let t = setup(&app).await;
    let c = customer(&app.state, &t, "otto@example.de").await;
    let dev = app.state.dev_registry.clone().unwrap();
    let o = place(&app.state, &t, &c, &[register("ausfall-test.de")]).await;

    dev.server.stop();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let mut runner = app.state.runner();
    runner.backoff = chrono::Duration::milliseconds(10);
    runner.max_attempts = 2;
    let first = runner.run_due(&t).await.unwrap();
    assert_eq!(first.retried, 1);
    // The second attempt is due after the backoff; then the job is dead.
    let mut dead = 0;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        dead += runner.run_due(&t).await.unwrap().dead;
        if dead == 1 {
            break;
        }
    }
    assert_eq!(dead, 1);

    // A technical ticket with the registry's answer; the item is untouched.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let dead = jobs::list(&tx, Some("dead"), 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("unreachable")
    );
    drop(tx);
    let (o2, items) = order(&app.state, &t, &o.id).await;
    assert_eq!(o2.status, "accepted");
    assert_eq!(items[0].status, "pending");

    // Staff see the ticket in the console; the operator sees it across resellers.
    let staff = app.client();
    relabel_tests::login(
        &staff,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let jobs_page = staff
        .get(app.url("alpha.test", "/console/jobs?status=dead"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(jobs_page.contains("ausfall-test.de") && jobs_page.contains("unreachable"));
    let secret = app
        .operator("op@platform.test", "operator-password-1")
        .await;
    let op = app.client();
    app.operator_login(&op, "op@platform.test", "operator-password-1", &secret)
        .await;
    let tickets = op
        .get(app.url("localhost", "/operator/tickets"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        tickets.contains("Alpha") && tickets.contains("ausfall-test.de"),
        "{tickets}"
    );

    // Registry back on the same address; staff re-run the ticket.
    let back = relabel_platform::domains::devregistry::server::start(
        dev.registry.clone(),
        dev.server.addr,
        &dev.identity,
    )
    .await
    .unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    assert!(jobs::rerun(&tx, &dead[0].id).await.unwrap());
    tx.commit().await.unwrap();
    let third = runner.run_due(&t).await.unwrap();
    assert_eq!(third.done, 1);
    assert_eq!(order(&app.state, &t, &o.id).await.0.status, "completed");
    assert_eq!(dev.registry.create_count("ausfall-test.de"), 1);
    drop(back);
    app.stop().await;
}

#[tokio::test]
async fn a_name_taken_meanwhile_fails_its_item_and_frees_the_credit() {
    let app = spawn_app_with(fast_jobs).await;
    let t = setup(&app).await;
    let c = customer(&app.state, &t, "tina@example.de").await;
    let dev = app.state.dev_registry.clone().unwrap();
    let o = place(
        &app.state,
        &t,
        &c,
        &[register("schon-weg.de"), register("noch-frei.de")],
    )
    .await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let before = orders::account(&tx, &c.id).await.unwrap().unwrap();
    drop(tx);
    assert!(before.reserved_minor > 0);
    // Someone else registers the first name before our job runs (EPP 2302).
    assert!(dev.registry.register("schon-weg.de"));

    let pass = app.state.runner().run_due(&t).await.unwrap();
    assert_eq!(
        pass.done, 2,
        "a refused item is a finished job, not a ticket"
    );
    let (o, items) = order(&app.state, &t, &o.id).await;
    assert_eq!(o.status, "completed");
    let failed = items
        .iter()
        .find(|i| i.domain.as_deref() == Some("schon-weg.de"))
        .unwrap();
    assert_eq!(failed.status, "failed");
    assert!(
        failed
            .error
            .as_deref()
            .unwrap()
            .contains("already registered")
    );
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let after = orders::account(&tx, &c.id).await.unwrap().unwrap();
    assert_eq!(
        after.reserved_minor,
        before.reserved_minor - failed.gross_minor
    );
    let d = provisioning::by_name(&tx, "schon-weg.de")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, "failed");
    let ok = provisioning::by_name(&tx, "noch-frei.de")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok.status, "active");
    drop(tx);
    app.stop().await;
}

/// A customer with a password, signed in on `host`.
async fn signed_in(
    app: &TestApp,
    t: &Tenant,
    host: &str,
    email: &str,
) -> (reqwest::Client, customer::Model) {
    let tx = app.state.tenancy.begin(t).await.unwrap();
    let input = CustomerInput {
        first_name: Some("Doris".into()),
        last_name: Some("Domain".into()),
        street: Some("Weg 2".into()),
        postal_code: Some("10115".into()),
        city: Some("Berlin".into()),
        country: Some("DE".into()),
        email: Some(email.into()),
        credit_limit: Some("1000.00".into()),
        ..Default::default()
    };
    let pw = relabel_platform::auth::Password::parse("doris-password-1").unwrap();
    let actor = Actor {
        name: "test",
        ip: None,
    };
    let c = customers::create(&tx, &actor, &input, Some(&pw))
        .await
        .unwrap();
    // Signed up and verified long ago.
    customer::Entity::update(customer::ActiveModel {
        id: sea_orm::Set(c.id.clone()),
        email_verified_at: sea_orm::Set(Some(chrono::Utc::now())),
        ..Default::default()
    })
    .exec(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let client = app.client();
    let resp = relabel_tests::login(
        &client,
        &app.url(host, "/account/login"),
        email,
        "doris-password-1",
    )
    .await;
    assert!(resp.status().is_success() || resp.status().is_redirection());
    (client, c)
}

#[tokio::test]
async fn customers_edit_dns_records_request_an_auth_code_and_set_own_nameservers() {
    let app = spawn_app_with(fast_jobs).await;
    let t = setup(&app).await;
    let b = app
        .reseller("Beta", "beta.test", "owner@beta.test", "beta-password-1")
        .await;
    let (client, c) = signed_in(&app, &t, "alpha.test", "doris@example.de").await;
    let dev = app.state.dev_registry.clone().unwrap();
    place(&app.state, &t, &c, &[register("doris-dns.de")]).await;
    app.state.runner().run_due(&t).await.unwrap();

    let page = client
        .get(app.url("alpha.test", "/account/domains"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("doris-dns.de") && page.contains("12 months"),
        "{page}"
    );
    let url = app.url("alpha.test", "/account/domains/doris-dns.de");
    let html = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("mx.relabel-dns.net"));
    let csrf = relabel_tests::input_value(&html, "csrf").unwrap();

    // A bad MX (no priority) and a CNAME beside other records: field errors, nothing saved.
    let bad = client
        .post(format!("{url}/records"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("records.0.name", "@"),
            ("records.0.rtype", "MX"),
            ("records.0.priority", ""),
            ("records.0.content", "mail.doris.example"),
            ("records.0.ttl", "3600"),
            ("records.1.name", "@"),
            ("records.1.rtype", "A"),
            ("records.1.content", "999.1.1.1"),
            ("records.1.ttl", "3600"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let body = bad.text().await.unwrap();
    assert!(body.contains("An MX record needs a priority"), "{body}");
    assert!(body.contains("Enter an IPv4 address"));
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let d = provisioning::by_name(&tx, "doris-dns.de")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(provisioning::records(&tx, &d.id).await.unwrap().len(), 3);
    drop(tx);

    // The customer's own MX: saved, pushed to the zone by a job.
    let ok = client
        .post(format!("{url}/records"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("records.0.name", "@"),
            ("records.0.rtype", "A"),
            ("records.0.content", "198.51.100.7"),
            ("records.0.ttl", "3600"),
            ("records.1.name", "@"),
            ("records.1.rtype", "MX"),
            ("records.1.priority", "5"),
            ("records.1.content", "mail.doris.example"),
            ("records.1.ttl", "600"),
        ])
        .send()
        .await
        .unwrap();
    assert!(ok.status().is_redirection() || ok.status().is_success());
    app.state.runner().run_due(&t).await.unwrap();
    let zone =
        std::fs::read_to_string(app.state.config.data_dir.join("zones/doris-dns.de.zone")).unwrap();
    assert!(zone.contains("MX\t5 mail.doris.example."), "{zone}");
    assert!(!zone.contains("mx.relabel-dns.net"));

    // AuthCode: set at the registry, shown once, transfer lock released.
    client
        .post(format!("{url}/authcode"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let reg = dev.registry.domain("doris-dns.de").unwrap();
    assert!(!reg.statuses.contains("clientTransferProhibited"));
    let html = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&reg.auth), "the registry's AuthCode is shown");

    // Own nameservers with glue inside the domain.
    let resp = client
        .post(format!("{url}/nameservers"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("ns.0.host", "ns1.doris-dns.de"),
            ("ns.0.ip", "198.51.100.53"),
            ("ns.1.host", "ns.extern-dns.net"),
            ("ns.1.ip", ""),
        ])
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_redirection() || resp.status().is_success());
    assert_eq!(
        dev.registry.domain("doris-dns.de").unwrap().nameservers,
        ["ns1.doris-dns.de", "ns.extern-dns.net"]
    );
    assert_eq!(
        dev.registry
            .host("ns1.doris-dns.de")
            .unwrap()
            .addresses
            .len(),
        1
    );
    let missing_glue = client
        .post(format!("{url}/nameservers"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("ns.0.host", "ns2.doris-dns.de"),
            ("ns.1.host", "ns.extern-dns.net"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(missing_glue.status(), 422);
    // The glue stays visible after saving: the form shows what was sent.
    let html = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains(r#"name="ns.0.ip" value="198.51.100.53""#),
        "{html}"
    );
    assert!(html.contains(r#"name="ns.0.host" value="ns1.doris-dns.de""#));

    // Owner change to one of the customer's contacts.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let holder = relabel_platform::contacts::create(
        &tx,
        &c.id,
        &relabel_platform::contacts::ContactInput {
            first_name: "Karla".into(),
            last_name: "Kontakt".into(),
            organization: Some("Kontakt GmbH".into()),
            street: "Allee 5".into(),
            postal_code: "80331".into(),
            city: "München".into(),
            country: "DE".into(),
            email: "karla@example.de".into(),
            phone: None,
        },
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();
    let html = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Karla Kontakt"));
    let owner = client
        .post(format!("{url}/owner"))
        .form(&[("csrf", csrf.as_str()), ("contact_id", holder.id.as_str())])
        .send()
        .await
        .unwrap();
    assert!(owner.status().is_redirection() || owner.status().is_success());
    let reg = dev.registry.domain("doris-dns.de").unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let d = provisioning::by_name(&tx, "doris-dns.de")
        .await
        .unwrap()
        .unwrap();
    drop(tx);
    assert_eq!(d.registry_contact.as_deref(), Some(reg.registrant.as_str()));
    let foreign = client
        .post(format!("{url}/owner"))
        .form(&[("csrf", csrf.as_str()), ("contact_id", "not-mine")])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 422);

    // Nobody else sees or changes it: another customer, another reseller.
    let (other, _) = signed_in(&app, &t, "alpha.test", "otto@example.de").await;
    assert_eq!(other.get(&url).send().await.unwrap().status(), 404);
    let other_csrf = relabel_tests::csrf(&other, &app.url("alpha.test", "/account/domains")).await;
    let post = other
        .post(format!("{url}/records"))
        .form(&[
            ("csrf", other_csrf.as_str()),
            ("records.0.rtype", "TXT"),
            ("records.0.content", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 404);
    // Staff: alpha's console lists and shows the domain with its history; beta's does not.
    let staff = app.client();
    relabel_tests::login(
        &staff,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let list = staff
        .get(app.url("alpha.test", "/console/domains?q=doris"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("doris-dns.de"), "{list}");
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let d = provisioning::by_name(&tx, "doris-dns.de")
        .await
        .unwrap()
        .unwrap();
    drop(tx);
    let detail = staff
        .get(app.url("alpha.test", &format!("/console/domains/{}", d.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The history reads as outcomes, not EPP codes.
    assert!(
        detail.contains("AuthCode set")
            && detail.contains("Nameservers changed")
            && detail.contains("Transfer lock set")
            && detail.contains(">done</span>")
            && detail.contains("mail.doris.example"),
        "{detail}"
    );
    let beta_staff = app.client();
    relabel_tests::login(
        &beta_staff,
        &app.url("beta.test", "/console/login"),
        "owner@beta.test",
        "beta-password-1",
    )
    .await;
    let foreign = beta_staff
        .get(app.url("beta.test", &format!("/console/domains/{}", d.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404);
    let (beta_client, _) = signed_in(&app, &b, "beta.test", "doris@example.de").await;
    let beta = beta_client
        .get(app.url("beta.test", "/account/domains/doris-dns.de"))
        .send()
        .await
        .unwrap();
    assert_eq!(beta.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn zones_are_served_by_powerdns_and_survive_its_outage() {
    let Some(mut pdns) = relabel_tests::pdns::Pdns::start().await else {
        return;
    };
    let url = pdns.url();
    let app = spawn_app_with(|c| {
        fast_jobs(c);
        c.dns.powerdns_url = Some(url);
        c.dns.powerdns_api_key = relabel_tests::pdns::API_KEY.into();
        c.dns.powerdns_zone_kind = "Master".into();
    })
    .await;
    let t = setup(&app).await;
    let c = customer(&app.state, &t, "pia@example.de").await;
    place(&app.state, &t, &c, &[register("pia-pdns.de")]).await;
    app.state.runner().run_due(&t).await.unwrap();
    // A primary zone: the secondary hears of it at once.
    assert_eq!(
        pdns.next_notify(std::time::Duration::from_secs(10))
            .await
            .as_deref(),
        Some("pia-pdns.de")
    );

    // The zone from the template, with our nameservers.
    let zone = pdns.zone("pia-pdns.de").await.expect("zone at PowerDNS");
    let sets = zone["rrsets"].as_array().unwrap();
    let find = |name: &str, ty: &str| {
        sets.iter()
            .find(|r| r["name"] == name && r["type"] == ty)
            .map(|r| r["records"][0]["content"].as_str().unwrap().to_owned())
    };
    assert_eq!(find("pia-pdns.de.", "A").as_deref(), Some("192.0.2.80"));
    assert_eq!(
        find("pia-pdns.de.", "MX").as_deref(),
        Some("10 mx.relabel-dns.net.")
    );
    assert_eq!(
        find("www.pia-pdns.de.", "CNAME").as_deref(),
        Some("pia-pdns.de.")
    );
    assert!(find("pia-pdns.de.", "NS").is_some());

    // PowerDNS down while the customer edits: the change is kept and retried.
    pdns.pause();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let d = provisioning::by_name(&tx, "pia-pdns.de")
        .await
        .unwrap()
        .unwrap();
    let records = vec![
        relabel_platform::dns::Record {
            name: "@".into(),
            rtype: "MX".into(),
            ttl: 600,
            priority: Some(5),
            content: "mail.pia.example".into(),
        },
        relabel_platform::dns::Record {
            name: "_dmarc".into(),
            rtype: "TXT".into(),
            ttl: 600,
            priority: None,
            content: "v=DMARC1; p=none".into(),
        },
    ];
    let records = relabel_platform::dns::check(&d.name, &records).unwrap();
    provisioning::set_records(&tx, &d.id, &records)
        .await
        .unwrap();
    provisioning::handler::queue_zone_push(&tx, &d)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut runner = app.state.runner();
    runner.backoff = chrono::Duration::milliseconds(10);
    assert_eq!(runner.run_due(&t).await.unwrap().retried, 1);

    pdns.resume().await;
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    assert_eq!(runner.run_due(&t).await.unwrap().done, 1);
    let zone = pdns.zone("pia-pdns.de").await.unwrap();
    let sets = zone["rrsets"].as_array().unwrap();
    let mx: Vec<&str> = sets
        .iter()
        .filter(|r| r["type"] == "MX")
        .map(|r| r["records"][0]["content"].as_str().unwrap())
        .collect();
    assert_eq!(mx, ["5 mail.pia.example."]);
    assert_eq!(
        pdns.next_notify(std::time::Duration::from_secs(10))
            .await
            .as_deref(),
        Some("pia-pdns.de")
    );
    assert!(
        sets.iter()
            .any(|r| r["name"] == "_dmarc.pia-pdns.de." && r["type"] == "TXT")
    );
    assert!(
        !sets.iter().any(|r| r["type"] == "A"),
        "removed records are deleted"
    );

    // Deleting the zone.
    app.state.dns.delete_zone("pia-pdns.de").await.unwrap();
    assert!(pdns.zone("pia-pdns.de").await.is_none());
    app.stop().await;
}

#[tokio::test]
async fn the_api_manages_domains_records_nameservers_owner_and_tickets() {
    let app = spawn_app_with(fast_jobs).await;
    let t = setup(&app).await;
    // A second reseller whose key must not reach alpha's domains.
    app.reseller("Beta", "beta.test", "owner@beta.test", "beta-password-1")
        .await;
    let c = customer(&app.state, &t, "api@example.de").await;
    place(&app.state, &t, &c, &[register("api-domain.de")]).await;
    app.state.runner().run_due(&t).await.unwrap();
    let dev = app.state.dev_registry.clone().unwrap();
    let key = app
        .api_key(
            "alpha.test",
            &[
                "domains:read",
                "domains:write",
                "orders:read",
                "orders:write",
            ],
        )
        .await;
    let read_only = app.api_key("alpha.test", &["domains:read"]).await;
    let http = app.client();
    let api = |path: &str| app.url("alpha.test", &format!("/api/v1{path}"));

    let list: serde_json::Value = http
        .get(api("/domains?q=api"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["name"], "api-domain.de");
    assert_eq!(list[0]["status"], "active");

    // Records: bad input names the field; good input is saved and published.
    let bad = http
        .put(api("/domains/api-domain.de/records"))
        .bearer_auth(&key)
        .json(&serde_json::json!([{"name": "www", "type": "CNAME", "content": "x.example"}, {"name": "www", "type": "A", "content": "192.0.2.1"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert!(
        body["details"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "dns_cname_alone"),
        "{body}"
    );
    let ok = http
        .put(api("/domains/api-domain.de/records"))
        .bearer_auth(&key)
        .json(&serde_json::json!([{"name": "@", "type": "MX", "priority": 20, "content": "mx.api.example"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let forbidden = http
        .put(api("/domains/api-domain.de/records"))
        .bearer_auth(&read_only)
        .json(&serde_json::json!([]))
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    app.state.runner().run_due(&t).await.unwrap();
    let zone = std::fs::read_to_string(app.state.config.data_dir.join("zones/api-domain.de.zone"))
        .unwrap();
    assert!(zone.contains("MX\t20 mx.api.example."));

    // Nameservers with glue, AuthCode, lock, owner change.
    let ns = http
        .put(api("/domains/api-domain.de/nameservers"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"nameservers": [{"host": "ns1.api-domain.de", "addresses": ["192.0.2.53"]}, {"host": "ns.other.net"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(ns.status(), 200);
    assert_eq!(
        dev.registry.domain("api-domain.de").unwrap().nameservers,
        ["ns1.api-domain.de", "ns.other.net"]
    );
    let code: serde_json::Value = http
        .post(api("/domains/api-domain.de/authcode"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        code["auth_code"],
        dev.registry.domain("api-domain.de").unwrap().auth.as_str()
    );
    let locked: serde_json::Value = http
        .put(api("/domains/api-domain.de/transfer-lock"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"locked": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(locked["transfer_lock"], true);
    assert!(
        dev.registry
            .domain("api-domain.de")
            .unwrap()
            .statuses
            .contains("clientTransferProhibited")
    );
    let tx = app.state.tenancy.begin_write(&t).await.unwrap();
    let contact = relabel_platform::contacts::create(
        &tx,
        &c.id,
        &relabel_platform::contacts::ContactInput {
            first_name: "Neue".into(),
            last_name: "Inhaberin".into(),
            organization: None,
            street: "Platz 3".into(),
            postal_code: "20095".into(),
            city: "Hamburg".into(),
            country: "DE".into(),
            email: "neu@example.de".into(),
            phone: None,
        },
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();
    let owner: serde_json::Value = http
        .put(api("/domains/api-domain.de/owner"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"contact_id": contact.id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let registrant = owner["registry_contact"].as_str().unwrap();
    assert_eq!(
        dev.registry.domain("api-domain.de").unwrap().registrant,
        registrant
    );
    let unknown = http
        .put(api("/domains/api-domain.de/owner"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"contact_id": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 422);

    // Services and jobs.
    let services: serde_json::Value = http
        .get(api(&format!("/services?customer_id=cus_{}", c.id)))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(services[0]["domain"], "api-domain.de");
    assert_eq!(services[0]["kind"], "domain");
    let jobs: serde_json::Value = http
        .get(api("/jobs?status=done"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        jobs.as_array()
            .unwrap()
            .iter()
            .any(|j| j["kind"] == "domain.register")
    );
    let done_id = jobs[0]["id"].as_str().unwrap();
    let conflict = http
        .post(api(&format!("/jobs/{done_id}/cancel")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(conflict.status(), 409);

    // Another reseller's key sees nothing of it.
    let beta_key = app
        .api_key("beta.test", &["domains:read", "domains:write"])
        .await;
    let foreign = http
        .get(app.url("beta.test", "/api/v1/domains/api-domain.de"))
        .bearer_auth(&beta_key)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404);
    let foreign_write = http
        .post(app.url("beta.test", "/api/v1/domains/api-domain.de/authcode"))
        .bearer_auth(&beta_key)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign_write.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn a_full_or_failing_pool_retries_and_the_account_is_created_once() {
    let app = spawn_app_with(fast_jobs).await;
    let t = setup(&app).await;
    let c = customer(&app.state, &t, "hanna@example.de").await;
    let panel = relabel_platform::hosting::devpanel::start().await.unwrap();
    let shared = app.state.tenancy.backend().shared();
    let token = relabel_platform::hosting::devpanel::TOKEN;
    let o = place(
        &app.state,
        &t,
        &c,
        &[Line {
            product_id: "hosting-business".into(),
            action: "order".into(),
            period_months: 1,
            ..Default::default()
        }],
    )
    .await;
    let mut runner = app.state.runner();
    runner.backoff = chrono::Duration::milliseconds(10);
    // No server in the pool yet: retried, nothing half-done.
    assert_eq!(runner.run_due(&t).await.unwrap().retried, 1);
    let server = relabel_platform::hosting::add_server(
        shared,
        &app.state.sealer,
        "hosting-business",
        "biz-1",
        10,
        &panel.url("biz-1"),
        token,
    )
    .await
    .unwrap();
    // The panel is down: retried; the place stays reserved for this account.
    panel
        .panel
        .down
        .store(true, std::sync::atomic::Ordering::Relaxed);
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    assert_eq!(runner.run_due(&t).await.unwrap().retried, 1);
    panel
        .panel
        .down
        .store(false, std::sync::atomic::Ordering::Relaxed);
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    assert_eq!(runner.run_due(&t).await.unwrap().done, 1);
    assert_eq!(order(&app.state, &t, &o.id).await.0.status, "completed");
    assert_eq!(panel.panel.accounts().len(), 1);
    let used = relabel_platform::hosting::server_by_id(shared, &server.id)
        .await
        .unwrap()
        .unwrap()
        .used;
    assert_eq!(used, 1, "one place for one account");

    // Staff end the service at once: the panel account goes, the place is free
    // again, and a repeated termination changes nothing.
    let service = {
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        let s = provisioning::customer_services(&tx, &c.id).await.unwrap();
        s.into_iter().find(|s| s.kind == "hosting").unwrap()
    };
    let tx = app.state.tenancy.begin_write(&t).await.unwrap();
    relabel_platform::billing::cancel::cancel(
        &tx,
        shared,
        "Test",
        &service.id,
        None,
        true,
        "staff",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let done = runner.run_due(&t).await.unwrap();
    assert_eq!(done.done, 1, "{done:?}");
    assert!(panel.panel.accounts().is_empty());
    let server_now = relabel_platform::hosting::server_by_id(shared, &server.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(server_now.used, 0, "the place is given back");
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let account = relabel_platform::hosting::account_of_service(&tx, &service.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.status, "terminated");
    // The end of the period reached later (the run's sweep) queues nothing new.
    assert_eq!(
        relabel_platform::billing::cancel::end_due(&tx, chrono::Utc::now())
            .await
            .unwrap(),
        0
    );
    drop(tx);
    app.stop().await;
}

#[tokio::test]
async fn the_operator_manages_pools_and_customers_see_their_password_once() {
    let app = spawn_app_with(fast_jobs).await;
    let t = setup(&app).await;
    let panel = relabel_platform::hosting::devpanel::start().await.unwrap();
    let secret = app
        .operator("op@platform.test", "operator-password-1")
        .await;
    let op = app.client();
    app.operator_login(&op, "op@platform.test", "operator-password-1", &secret)
        .await;
    let url = app.url("localhost", "/operator/pools");
    let csrf = relabel_tests::csrf(&op, &url).await;
    let bad = op
        .post(&url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("product_id", "domain-de"),
            ("name", ""),
            ("capacity", "0"),
            ("api_url", "ftp://x"),
            ("api_token", "short"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let body = bad.text().await.unwrap();
    for msg in [
        "Choose a hosting, email or site-builder product",
        "Enter a capacity",
        "http(s) URL",
        "at least 8 characters",
    ] {
        assert!(body.contains(msg), "{msg}");
    }
    assert!(
        relabel_platform::hosting::servers(app.state.tenancy.backend().shared())
            .await
            .unwrap()
            .is_empty()
    );
    let api = panel.url("web-9");
    let ok = op
        .post(&url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("product_id", "hosting-pro"),
            ("name", "web-9"),
            ("capacity", "20"),
            ("api_url", api.as_str()),
            ("api_token", relabel_platform::hosting::devpanel::TOKEN),
        ])
        .send()
        .await
        .unwrap();
    assert!(ok.status().is_redirection() || ok.status().is_success());
    let page = op.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("web-9") && page.contains("0 / 20"));

    // A customer orders hosting-pro and sees the password exactly once.
    let (client, c) = signed_in(&app, &t, "alpha.test", "hosting@example.de").await;
    place(
        &app.state,
        &t,
        &c,
        &[Line {
            product_id: "hosting-pro".into(),
            action: "order".into(),
            period_months: 12,
            ..Default::default()
        }],
    )
    .await;
    app.state.runner().run_due(&t).await.unwrap();
    let list = client
        .get(app.url("alpha.test", "/account/domains"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("Show password once"), "{list}");
    assert!(
        list.contains("Book add-ons") && list.contains("name=\"product\" value=\"email-basic\"")
    );
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let svc = provisioning::customer_services(&tx, &c.id)
        .await
        .unwrap()
        .remove(0);
    drop(tx);
    let csrf = relabel_tests::input_value(&list, "csrf").unwrap();
    let reveal = app.url(
        "alpha.test",
        &format!("/account/services/{}/credentials", svc.id),
    );
    let first = client
        .post(&reveal)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(first.contains("shown this one time"), "{first}");
    let second = client
        .post(&reveal)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(second.contains("was shown already"));
    // Not for another customer.
    let (other, _) = signed_in(&app, &t, "alpha.test", "nosy@example.de").await;
    let other_csrf = relabel_tests::csrf(&other, &app.url("alpha.test", "/account/domains")).await;
    let denied = other
        .post(&reveal)
        .form(&[("csrf", other_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 404);
    app.stop().await;
}

/// A parking provider's API on loopback: Sedo answers nameservers, NameDrive a
/// landing page to forward to.
async fn parking_peer() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    use poem::{
        EndpointExt, Route, delete, handler,
        listener::{Acceptor, Listener, TcpListener},
        post,
        web::Json,
        web::Path,
    };
    #[handler]
    fn park(Path(p): Path<String>, Json(body): Json<serde_json::Value>) -> Json<serde_json::Value> {
        assert!(body["domain"].as_str().is_some());
        if p == "sedo" {
            Json(serde_json::json!({"nameservers": ["ns1.sedoparking.com", "ns2.sedoparking.com"]}))
        } else {
            Json(
                serde_json::json!({"forward_url": format!("https://park.namedrive.example/{}", body["domain"].as_str().unwrap())}),
            )
        }
    }
    #[handler]
    fn unpark() -> &'static str {
        "ok"
    }
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
    let app = Route::new()
        .at("/:p/domains", post(park))
        .at("/:p/domains/:d", delete(unpark))
        .map_to_response();
    let task = tokio::spawn(async move {
        let _ = poem::Server::new_with_acceptor(acceptor).run(app).await;
    });
    (addr, task)
}

#[tokio::test]
async fn web_and_email_forwarding_and_parking() {
    let (peer, _task) = parking_peer().await;
    let app = spawn_app_with(move |c| {
        fast_jobs(c);
        for p in ["sedo", "namedrive"] {
            c.parking.insert(
                p.into(),
                relabel_platform::config::ParkingProvider {
                    url: format!("http://{peer}/{p}"),
                    api_key: "park-key-123".into(),
                },
            );
        }
    })
    .await;
    let t = setup(&app).await;
    let b = app
        .reseller("Beta", "beta.test", "owner@beta.test", "beta-password-1")
        .await;
    let (client, c) = signed_in(&app, &t, "alpha.test", "fwd@example.de").await;
    place(
        &app.state,
        &t,
        &c,
        &[register("fwd-domain.de"), register("park-domain.de")],
    )
    .await;
    app.state.runner().run_due(&t).await.unwrap();
    // The reseller's analytics appear on framed pages.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    relabel_platform::customers::settings::Entity::update_many()
        .col_expr(
            relabel_platform::customers::settings::Column::MatomoUrl,
            sea_orm::sea_query::Expr::value("https://stats.alpha.example"),
        )
        .col_expr(
            relabel_platform::customers::settings::Column::MatomoSiteId,
            sea_orm::sea_query::Expr::value("7"),
        )
        .exec(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let url = app.url("alpha.test", "/account/domains/fwd-domain.de");
    let html = client.get(&url).send().await.unwrap().text().await.unwrap();
    let csrf = relabel_tests::input_value(&html, "csrf").unwrap();
    let bad = client
        .post(format!("{url}/web"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("web.0.host", "@"),
            ("web.0.target", "ftp://x.example"),
            ("web.0.mode", "301"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("Enter an http(s) address")
    );
    let ok = client
        .post(format!("{url}/web"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("web.0.host", "@"),
            ("web.0.target", "https://www.example.org/"),
            ("web.0.mode", "301"),
            ("web.1.host", "shop"),
            ("web.1.target", "https://shop.example.org/"),
            ("web.1.mode", "frame"),
        ])
        .send()
        .await
        .unwrap();
    assert!(ok.status().is_redirection() || ok.status().is_success());
    app.state.runner().run_due(&t).await.unwrap();
    let zone = std::fs::read_to_string(app.state.config.data_dir.join("zones/fwd-domain.de.zone"))
        .unwrap();
    assert!(zone.contains("shop\t3600\tIN\tA\t192.0.2.80"), "{zone}");

    // The platform serves the forwards for hosts pointed at it.
    let plain = app.client();
    let moved = plain
        .get(app.url("fwd-domain.de", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 301);
    assert_eq!(moved.headers()["location"], "https://www.example.org/");
    let framed = plain
        .get(app.url("shop.fwd-domain.de", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(framed.status(), 200);
    let body = framed.text().await.unwrap();
    assert!(
        body.contains("<iframe src=\"https://shop.example.org/\"")
            && body.contains("stats.alpha.example"),
        "{body}"
    );
    assert_eq!(
        plain
            .get(app.url("nothing.fwd-domain.de", "/"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Another reseller cannot take over the host.
    let tx = app.state.tenancy.begin(&b).await.unwrap();
    let cb = customers::create(
        &tx,
        &Actor {
            name: "test",
            ip: None,
        },
        &CustomerInput {
            first_name: Some("B".into()),
            last_name: Some("B".into()),
            street: Some("W 1".into()),
            postal_code: Some("10115".into()),
            city: Some("Berlin".into()),
            country: Some("DE".into()),
            email: Some("b@example.de".into()),
            credit_limit: Some("100.00".into()),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let tx = app.state.tenancy.begin(&b).await.unwrap();
    relabel_platform::pricing::seed_demo(&tx, [("A", 150), ("B", 140), ("C", 130)])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    place(&app.state, &b, &cb, &[register("beta-owned.de")]).await;
    app.state.runner().run_due(&b).await.unwrap();
    let tx = app.state.tenancy.begin(&b).await.unwrap();
    let bd = provisioning::by_name(&tx, "beta-owned.de")
        .await
        .unwrap()
        .unwrap();
    drop(tx);
    let steal = provisioning::ops::set_web_forwards(
        &app.state,
        &b,
        &bd,
        &[relabel_platform::forwarding::WebForward {
            host: "shop.fwd-domain.de".into(),
            target: "https://evil.example/".into(),
            mode: "302".into(),
            title: None,
        }],
        "test",
    )
    .await;
    // A name is always taken inside the reseller's own domain: no takeover.
    let saved = steal.unwrap();
    assert_eq!(saved[0].host, "shop.fwd-domain.de.beta-owned.de");
    let still = plain
        .get(app.url("shop.fwd-domain.de", "/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(still.contains("https://shop.example.org/"));

    // Email forwarding into the Postfix map, through a job.
    let mail = client
        .post(format!("{url}/mail"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("mail.0.local_part", "info"),
            ("mail.0.target", "paula@example.com"),
            ("mail.1.local_part", "*"),
            ("mail.1.target", "all@example.com"),
        ])
        .send()
        .await
        .unwrap();
    assert!(mail.status().is_redirection() || mail.status().is_success());
    app.state.runner().run_due(&t).await.unwrap();
    let map = std::fs::read_to_string(app.state.config.data_dir.join("mail/virtual")).unwrap();
    assert!(
        map.contains("info@fwd-domain.de paula@example.com")
            && map.contains("@fwd-domain.de all@example.com"),
        "{map}"
    );

    // Parking: Sedo takes the delegation; NameDrive gets a framed forward.
    let dev = app.state.dev_registry.clone().unwrap();
    let purl = app.url("alpha.test", "/account/domains/park-domain.de");
    let sedo = client
        .post(format!("{purl}/parking"))
        .form(&[("csrf", csrf.as_str()), ("provider", "sedo")])
        .send()
        .await
        .unwrap();
    assert!(sedo.status().is_redirection() || sedo.status().is_success());
    assert_eq!(
        dev.registry.domain("park-domain.de").unwrap().nameservers,
        ["ns1.sedoparking.com", "ns2.sedoparking.com"]
    );
    client
        .post(format!("{purl}/parking"))
        .form(&[("csrf", csrf.as_str()), ("provider", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        dev.registry.domain("park-domain.de").unwrap().nameservers,
        app.state.config.dns.nameservers
    );
    client
        .post(format!("{purl}/parking"))
        .form(&[("csrf", csrf.as_str()), ("provider", "namedrive")])
        .send()
        .await
        .unwrap();
    let parked = plain
        .get(app.url("park-domain.de", "/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        parked.contains("park.namedrive.example/park-domain.de")
            && parked.contains("stats.alpha.example")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_lifecycle_follows_expiry_and_notices_a_transfer_out() {
    use relabel_platform::domains::registrar::Registrar;
    let app = spawn_app_with(fast_jobs).await;
    let t = setup(&app).await;
    let c = customer(&app.state, &t, "lena@example.de").await;
    place(
        &app.state,
        &t,
        &c,
        &[register("laeuft-ab.de"), register("zieht-um.de")],
    )
    .await;
    let mut runner = app.state.runner();
    runner.run_due(&t).await.unwrap();
    let dev = app.state.dev_registry.clone().unwrap();

    // One expired 40 days ago (past grace: redemption), one moves away.
    let tx = app.state.tenancy.begin_write(&t).await.unwrap();
    let old = provisioning::by_name(&tx, "laeuft-ab.de")
        .await
        .unwrap()
        .unwrap();
    provisioning::domain::Entity::update(provisioning::domain::ActiveModel {
        id: sea_orm::Set(old.id.clone()),
        expires_at: sea_orm::Set(Some(chrono::Utc::now() - chrono::Duration::days(40))),
        ..Default::default()
    })
    .exec(tx.conn())
    .await
    .unwrap();
    let moving = provisioning::by_name(&tx, "zieht-um.de")
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    let code = provisioning::ops::request_auth_code(&app.state, &t, &moving, "test")
        .await
        .unwrap();
    let other = relabel_platform::domains::epp::EppRegistrar::new(
        &relabel_platform::domains::epp::EppConfig {
            host: "localhost".into(),
            port: dev.server.addr.port(),
            client_id: relabel_platform::domains::devregistry::OTHER_CLIENT.into(),
            password: "other-dev-2026".into(),
            ca_file: None,
            connections: 1,
            keepalive_secs: 0,
            timeout_ms: 5000,
        },
        Some(vec![dev.server.cert.clone()]),
    )
    .unwrap();
    other
        .transfer_request("zieht-um.de", &code, 1)
        .await
        .unwrap();
    // Nobody objects: the registry approves after its period (1 s here).
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;

    // The hourly sweep is queued once per period, however often it is asked.
    runner
        .periodic
        .retain(|(kind, _)| *kind == "domains.lifecycle");
    let mut slots = std::collections::HashMap::new();
    runner.queue_periodic(&t, &mut slots).await.unwrap();
    slots.clear();
    runner.queue_periodic(&t, &mut slots).await.unwrap();
    assert_eq!(runner.run_due(&t).await.unwrap().done, 1);

    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let old = provisioning::by_name(&tx, "laeuft-ab.de")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.status, "redemption");
    let moved = provisioning::by_name(&tx, "zieht-um.de")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.status, "transferred_out");
    let services = provisioning::customer_services(&tx, &c.id).await.unwrap();
    let ended = services
        .iter()
        .find(|s| s.domain_id.as_deref() == Some(moved.id.as_str()))
        .unwrap();
    assert_eq!(ended.status, "terminated");
    assert!(ended.ends_at.is_some());
    let ops: Vec<String> = provisioning::ops(&tx, &moved.id)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.message)
        .collect();
    assert!(ops.iter().any(|m| m.contains("other-registrar")), "{ops:?}");
    drop(tx);
    // Our nameservers stop answering for the domain that left; the one in
    // redemption keeps its zone (it may be restored).
    let zones = app.state.config.data_dir.join("zones");
    assert!(zones.join("zieht-um.de.zone").exists());
    assert_eq!(runner.run_due(&t).await.unwrap().done, 1);
    assert!(!zones.join("zieht-um.de.zone").exists());
    assert!(zones.join("laeuft-ab.de.zone").exists());
    app.stop().await;
}

#[tokio::test]
async fn the_hosting_panel_adapter_suspends_changes_plan_and_terminates() {
    use relabel_platform::hosting::panel::{HostingPanel, HttpPanel, NewAccount, PanelError};
    let panel = relabel_platform::hosting::devpanel::start().await.unwrap();
    // The token is stored sealed, as `hosting::add_server` stores it.
    let sealer = relabel_platform::secrets::Sealer::from_hex(&"ab".repeat(32)).unwrap();
    let server = relabel_platform::hosting::server::Model {
        id: "s1".into(),
        product_id: "hosting-starter".into(),
        name: "web-1".into(),
        capacity: 10,
        used: 0,
        api_url: panel.url("web-1"),
        api_token: sealer.seal(relabel_platform::hosting::devpanel::TOKEN),
        active: true,
        created_at: chrono::Utc::now(),
    };
    let http = HttpPanel::new(sealer);
    let account = NewAccount {
        username: "u123456789",
        password: "secret-password-1",
        plan: "hosting-starter",
        domain: Some("x.de"),
    };
    http.create(&server, &account).await.unwrap();
    assert!(matches!(
        http.create(&server, &account).await,
        Err(PanelError::Exists)
    ));
    let key = ("web-1".to_owned(), "u123456789".to_owned());
    http.suspend(&server, "u123456789").await.unwrap();
    assert_eq!(panel.panel.accounts()[&key].status, "suspended");
    http.unsuspend(&server, "u123456789").await.unwrap();
    http.change_plan(&server, "u123456789", "hosting-pro")
        .await
        .unwrap();
    assert_eq!(panel.panel.accounts()[&key].plan, "hosting-pro");
    assert_eq!(panel.panel.accounts()[&key].status, "active");
    http.terminate(&server, "u123456789").await.unwrap();
    assert!(matches!(
        http.suspend(&server, "u123456789").await,
        Err(PanelError::NotFound)
    ));
    let wrong = relabel_platform::hosting::server::Model {
        api_token: "wrong-token".into(),
        ..server.clone()
    };
    assert!(matches!(
        http.create(&wrong, &account).await,
        Err(PanelError::Refused(_))
    ));
    let bad = NewAccount {
        password: "short",
        ..account.clone()
    };
    assert!(matches!(
        http.create(&server, &bad).await,
        Err(PanelError::Refused(_))
    ));
}

#[tokio::test]
async fn the_reseller_sets_the_zone_template_and_analytics_in_the_console() {
    let app = spawn_app_with(fast_jobs).await;
    let t = setup(&app).await;
    let staff = app.client();
    relabel_tests::login(
        &staff,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let url = app.url("alpha.test", "/console/settings");
    let page = staff.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("www CNAME @") && page.contains("@ MX 10 mx.relabel-dns.net"),
        "the default template is shown"
    );
    let csrf = relabel_tests::input_value(&page, "csrf").unwrap();
    let form = |template: &'static str, ga: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("customer_number_prefix", "K".to_owned()),
            ("default_credit_limit", "500.00".to_owned()),
            ("currency", "EUR".to_owned()),
            ("order_activation", "auto".to_owned()),
            ("widget_origins", String::new()),
            ("dns_template", template.to_owned()),
            ("matomo_url", "https://stats.alpha.example".to_owned()),
            ("matomo_site_id", "12".to_owned()),
            ("ga_id", ga.to_owned()),
        ]
    };
    let bad = staff
        .post(&url)
        .form(&form("@ MX mx.alpha.example", "G-ABC123"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("priority"));
    let bad = staff
        .post(&url)
        .form(&form("@ A 198.51.100.1", "not-an-id"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let ok = staff
        .post(&url)
        .form(&form(
            "@ A 198.51.100.1\nwww CNAME @\n@ MX 5 mx.alpha.example\n@ TXT v=spf1 mx -all",
            "G-ABC123",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);

    let c = customer(&app.state, &t, "tpl@example.de").await;
    place(&app.state, &t, &c, &[register("vorlage-test.de")]).await;
    app.state.runner().run_due(&t).await.unwrap();
    let zone =
        std::fs::read_to_string(app.state.config.data_dir.join("zones/vorlage-test.de.zone"))
            .unwrap();
    assert!(zone.contains("@\t3600\tIN\tA\t198.51.100.1"), "{zone}");
    assert!(zone.contains("www\t3600\tIN\tCNAME\tvorlage-test.de."));
    assert!(zone.contains("MX\t5 mx.alpha.example."));
    assert!(zone.contains("\"v=spf1 mx -all\""));
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let s = relabel_platform::customers::settings(&tx).await.unwrap();
    assert_eq!(s.ga_id.as_deref(), Some("G-ABC123"));
    assert_eq!(s.matomo_site_id.as_deref(), Some("12"));
    drop(tx);
    app.stop().await;
}

/// Secondaries fetch a zone only when its SOA serial grows: three changes within
/// a second give three strictly increasing serials (RFC 1982), in master files
/// and at a real PowerDNS.
#[tokio::test]
async fn every_zone_change_increases_the_soa_serial() {
    use relabel_platform::dns::provider::{DnsProvider, PowerDns, ZoneFiles, ZoneHead};
    let head = ZoneHead {
        nameservers: vec!["ns1.relabel-dns.net".into(), "ns2.relabel-dns.net".into()],
        hostmaster: "hostmaster@relabel-dns.net".into(),
    };
    let records = |n: u8| {
        vec![relabel_platform::dns::Record {
            name: "@".into(),
            rtype: "A".into(),
            ttl: 600,
            priority: None,
            content: format!("192.0.2.{n}"),
        }]
    };
    let increasing = |serials: &[u32]| {
        serials
            .windows(2)
            .all(|w| relabel_platform::dns::serial_after(w[1], w[0]))
    };

    let dir = std::env::temp_dir().join(format!("relabel-zones-{}", uuid::Uuid::now_v7()));
    let files = ZoneFiles { dir: dir.clone() };
    let started = std::time::Instant::now();
    let mut serials = Vec::new();
    for n in 1..=3 {
        files
            .put_zone("serial-test.de", &head, &records(n))
            .await
            .unwrap();
        let text = std::fs::read_to_string(files.path("serial-test.de")).unwrap();
        serials.push(relabel_platform::dns::serial_of(&text).expect("SOA serial"));
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert!(increasing(&serials), "zone files: {serials:?}");
    // A file written with the old YYMMDDhhmm scheme (2612071930 is later than
    // today's YYYYMMDDnn in serial arithmetic) still only grows.
    let old = std::fs::read_to_string(files.path("serial-test.de"))
        .unwrap()
        .replacen(&serials[2].to_string(), "2612071930", 1);
    std::fs::write(files.path("serial-test.de"), old).unwrap();
    files
        .put_zone("serial-test.de", &head, &records(4))
        .await
        .unwrap();
    let text = std::fs::read_to_string(files.path("serial-test.de")).unwrap();
    assert_eq!(relabel_platform::dns::serial_of(&text), Some(2612071931));
    let _ = std::fs::remove_dir_all(&dir);

    let Some(pdns) = relabel_tests::pdns::Pdns::start().await else {
        return;
    };
    let api = PowerDns::new(
        &pdns.url(),
        relabel_tests::pdns::API_KEY,
        "localhost",
        "Master",
    );
    let soa_serial = |zone: serde_json::Value| {
        zone["rrsets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "SOA")
            .and_then(|r| r["records"][0]["content"].as_str())
            .and_then(|c| c.split_whitespace().nth(2))
            .and_then(|s| s.parse::<u32>().ok())
            .expect("SOA serial at PowerDNS")
    };
    // A zone made by the earlier release, with the setting PowerDNS's API
    // ignores: the next change switches it over.
    let made = reqwest::Client::new()
        .post(format!("{}/api/v1/servers/localhost/zones", pdns.url()))
        .header("X-API-Key", relabel_tests::pdns::API_KEY)
        .json(&serde_json::json!({
            "name": "serial-test.de.", "kind": "Master",
            "nameservers": ["ns1.relabel-dns.net."], "soa_edit_api": "INCEPTION-INCREMENT",
        }))
        .send()
        .await
        .unwrap();
    assert!(made.status().is_success(), "{}", made.status());
    let mut serials = vec![soa_serial(pdns.zone("serial-test.de").await.unwrap())];
    let started = std::time::Instant::now();
    for n in 1..=3 {
        api.put_zone("serial-test.de", &head, &records(n))
            .await
            .unwrap();
        serials.push(soa_serial(pdns.zone("serial-test.de").await.unwrap()));
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert!(increasing(&serials), "PowerDNS: {serials:?}");
}

#[tokio::test]
async fn the_platform_sends_the_registry_only_names_it_takes() {
    let app = spawn_app_with(fast_jobs).await;
    setup(&app).await;
    let key = app.api_key("alpha.test", &["orders:read"]).await;
    let client = app.client();
    let long = format!("{}.com", "a".repeat(64));
    // Names the test registry refuses (2005) must never reach it: the API
    // refuses the query (naming `q`) or marks the name invalid for its TLD; a
    // name it does ask about is one the registry takes, and is answered.
    for q in [
        "bad_name!.com",
        "-lead.com",
        "trail-.de",
        long.as_str(),
        "nodot",
        "x.com.",
        "ab--cd.de",
        "xn--.com",
        "a.eu",
        "sub.domain.com",
    ] {
        let r = client
            .get(app.url("alpha.test", "/api/v1/availability"))
            .query(&[("q", q)])
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap();
        if status == 422 {
            assert_eq!(body["details"][0]["field"], "q", "{q}: {body}");
            continue;
        }
        assert_eq!(status, 200, "{q}: {body}");
        for row in body["results"].as_array().unwrap() {
            let ascii = row["ascii"].as_str().unwrap_or_default();
            match row["status"].as_str().unwrap() {
                "available" | "taken" | "unknown" => {
                    assert!(
                        relabel_platform::domains::devregistry::valid_name(ascii),
                        "{q}: the platform asked about {ascii:?}, which the registry refuses"
                    );
                    assert_ne!(row["status"], "unknown", "{q}: {row}");
                }
                "invalid" => assert!(row["invalid_code"].is_string(), "{row}"),
                _ => {}
            }
        }
    }
    app.stop().await;
}
