//! Orders: the exact credit check under concurrency (O13), the clearing center,
//! validation that writes nothing, and tenant isolation.

use relabel_platform::customers::{self, Actor, CustomerInput, customer};
use relabel_platform::orders::{self, Checkout, Decision, Line, OrderError, Outcome};
use relabel_platform::{AppState, jobs};
use relabel_tenants::{Tenant, TenantTx};
use relabel_tests::{TestApp, spawn_app};
use sea_orm::{EntityTrait, PaginatorTrait};

async fn setup(app: &TestApp) -> (Tenant, Tenant) {
    relabel_platform::catalog::seed_demo(app.state.tenancy.backend().shared())
        .await
        .unwrap();
    let a = app
        .reseller(
            "Alpha",
            "alpha.test",
            "owner@alpha.test",
            "alpha-password-1",
        )
        .await;
    let b = app
        .reseller("Beta", "beta.test", "owner@beta.test", "beta-password-1")
        .await;
    for t in [&a, &b] {
        let tx = app.state.tenancy.begin(t).await.unwrap();
        relabel_platform::pricing::seed_demo(&tx, [("A", 150), ("B", 140), ("C", 130)])
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    (a, b)
}

async fn customer(
    state: &AppState,
    t: &Tenant,
    email: &str,
    credit_limit: Option<&str>,
) -> customer::Model {
    let tx = state.tenancy.begin(t).await.unwrap();
    let input = CustomerInput {
        first_name: Some("Olga".into()),
        last_name: Some("Order".into()),
        street: Some("Weg 1".into()),
        postal_code: Some("10115".into()),
        city: Some("Berlin".into()),
        country: Some("DE".into()),
        email: Some(email.into()),
        credit_limit: credit_limit.map(str::to_owned),
        ..Default::default()
    };
    let c = customers::create(
        &tx,
        &Actor {
            name: "test",
            ip: None,
        },
        &input,
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    c
}

fn domain(name: &str) -> Line {
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
    customer_id: &str,
    lines: &[Line],
    coupon: Option<&str>,
) -> Result<orders::Placed, OrderError> {
    let tx = state.tenancy.begin(t).await.unwrap();
    let placed = orders::place(
        &tx,
        &state.prices,
        Checkout {
            customer_id,
            cart_id: "ctest",
            lines,
            coupon,
            ip: Some("127.0.0.1"),
            ip_country: None,
            bureau_score: None,
            actor: "test",
        },
    )
    .await?;
    tx.commit().await.unwrap();
    Ok(placed)
}

async fn de_gross(state: &AppState, t: &Tenant, c: &customer::Model) -> i64 {
    let tx = state.tenancy.begin(t).await.unwrap();
    let pricer = state.prices.pricer(&tx, Some(c)).await.unwrap();
    pricer
        .quote("domain-de", "register", 12)
        .unwrap()
        .gross_minor
}

fn codes(e: OrderError) -> Vec<(String, String)> {
    match e {
        OrderError::Invalid(f) => f
            .iter()
            .map(|e| (e.field.clone(), e.code.clone()))
            .collect(),
        other => panic!("expected field errors, got {other:?}"),
    }
}

async fn count<E>(tx: &TenantTx) -> u64
where
    E: EntityTrait,
    E::Model: Sync,
{
    E::find().count(tx.conn()).await.unwrap()
}

#[tokio::test]
async fn twenty_concurrent_orders_with_credit_for_seven() {
    let app = spawn_app().await;
    let (alpha, _) = setup(&app).await;
    let probe = customer(&app.state, &alpha, "probe@example.de", None).await;
    let gross = de_gross(&app.state, &alpha, &probe).await;
    let limit = relabel_platform::customers::fields::format_amount(gross * 7);
    let c = customer(&app.state, &alpha, "olga@example.de", Some(&limit)).await;

    let mut tasks = Vec::new();
    for i in 0..20 {
        let (state, t, id) = (app.state.clone(), alpha.clone(), c.id.clone());
        tasks.push(tokio::spawn(async move {
            place(
                &state,
                &t,
                &id,
                &[domain(&format!("concurrent-{i}.de"))],
                None,
            )
            .await
            .unwrap()
        }));
    }
    let mut accepted = Vec::new();
    let mut cases = Vec::new();
    for t in tasks {
        match t.await.unwrap().outcome {
            Outcome::Accepted { number } => accepted.push(number),
            Outcome::Clearing {
                case_number,
                reason,
            } => {
                assert_eq!(reason, "credit_limit");
                cases.push(case_number);
            }
            Outcome::AwaitingCode => panic!("automatic activation expected"),
        }
    }
    assert_eq!(accepted.len(), 7, "accepted: {accepted:?}");
    assert_eq!(cases.len(), 13);
    // Gapless numbers: order numbers 1..=7, case numbers 1..=13.
    accepted.sort();
    assert_eq!(
        accepted,
        (1..=7).map(|n| format!("A-{n:06}")).collect::<Vec<_>>()
    );
    cases.sort();
    assert_eq!(
        cases,
        (1..=13).map(|n| format!("V-{n:06}")).collect::<Vec<_>>()
    );

    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    let acc = orders::account(&tx, &c.id).await.unwrap().unwrap();
    assert_eq!(acc.reserved_minor, gross * 7);
    assert!(acc.reserved_minor <= acc.balance_minor + gross * 7);
    // Every accepted order's items wait as queued provisioning jobs.
    let all = jobs::with_key_prefix(&tx, "order:").await.unwrap();
    assert_eq!(all.len(), 7);
    assert!(
        all.iter()
            .all(|j| j.status == "queued" && j.kind == "domain.register")
    );
    drop(tx);

    // Approving a case re-runs the check: still over the limit without override.
    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    let open = orders::cases(&tx, true).await.unwrap();
    assert_eq!(open.len(), 13);
    drop(tx);
    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    let err = orders::decide(
        &tx,
        &open[0].id,
        Decision::Approve {
            override_limit: false,
        },
        "billing@alpha.test",
        None,
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, OrderError::OverLimit { available_minor: 0 }));
    drop(tx);
    // With override (billing role) it is accepted and numbered next in line.
    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    let (case, order) = orders::decide(
        &tx,
        &open[0].id,
        Decision::Approve {
            override_limit: true,
        },
        "billing@alpha.test",
        None,
        Some("known customer, pays on time"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(case.status, "approved");
    assert_eq!(order.number.as_deref(), Some("A-000008"));
    // Deciding again is refused.
    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    assert!(matches!(
        orders::decide(&tx, &open[0].id, Decision::Reject, "x", None, None).await,
        Err(OrderError::Decided)
    ));
    drop(tx);
    // Reject another: order rejected, nothing reserved for it.
    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    let (case, order) = orders::decide(
        &tx,
        &open[1].id,
        Decision::Reject,
        "billing@alpha.test",
        None,
        Some("no"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        (case.status.as_str(), order.status.as_str()),
        ("rejected", "rejected")
    );
    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    let acc = orders::account(&tx, &c.id).await.unwrap().unwrap();
    assert_eq!(acc.reserved_minor, gross * 8);
    let events = orders::events(&tx, &order.id).await.unwrap();
    let states: Vec<&str> = events.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(states, ["received", "review", "rejected"]);
    app.stop().await;
}

#[tokio::test]
async fn bad_input_writes_nothing_and_tenants_stay_apart() {
    let app = spawn_app().await;
    let (alpha, beta) = setup(&app).await;
    let c = customer(&app.state, &alpha, "nina@example.de", None).await;
    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    relabel_platform::coupons::create(
        &tx,
        "test",
        relabel_platform::coupons::CouponInput {
            code: "ONCE".into(),
            kind: "percent".into(),
            value: "10".into(),
            max_total: Some(1),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let transfer = |name: &str, code: &str| Line {
        domain: Some(name.into()),
        action: "transfer".into(),
        period_months: 12,
        auth_code: Some(code.into()),
        ..Default::default()
    };
    let cases: Vec<(Vec<Line>, &str, &str)> = vec![
        (
            vec![domain("-lead.de")],
            "items.0.domain",
            "err.domain_hyphen_edge",
        ),
        (
            vec![domain(&format!("{}.com", "a".repeat(64)))],
            "items.0.domain",
            "err.domain_too_long",
        ),
        (
            vec![domain("ab--cd.com")],
            "items.0.domain",
            "err.domain_hyphen_34",
        ),
        (
            vec![domain("pаypal.com")],
            "items.0.domain",
            "err.domain_mixed_scripts",
        ),
        (
            vec![transfer("move.de", "short")],
            "items.0.auth_code",
            "err.auth_code_format",
        ),
        (
            vec![domain("ok.nosuchtld")],
            "items.0.domain",
            "err.domain_tld_unknown",
        ),
        (
            vec![domain("twice.de"), domain("TWICE.de")],
            "items.1.domain",
            "err.order_duplicate_domain",
        ),
        (vec![], "items", "err.order_empty"),
    ];
    for (lines, field, code) in cases {
        let err = place(&app.state, &alpha, &c.id, &lines, None)
            .await
            .unwrap_err();
        let got = codes(err);
        assert!(
            got.iter().any(|(f, c)| f == field && c == code),
            "{lines:?}: {got:?}"
        );
    }
    // A coupon used up by the first order: the second gets a clear error.
    let ok = place(
        &app.state,
        &alpha,
        &c.id,
        &[domain("first.de")],
        Some("once"),
    )
    .await
    .unwrap();
    assert!(ok.order.discount_minor > 0);
    let err = place(
        &app.state,
        &alpha,
        &c.id,
        &[domain("second.de")],
        Some("ONCE"),
    )
    .await
    .unwrap_err();
    assert_eq!(codes(err), [("coupon".into(), "err.coupon_used_up".into())]);

    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    assert_eq!(count::<orders::order::Entity>(&tx).await, 1);
    assert_eq!(count::<orders::order_item::Entity>(&tx).await, 1);
    assert_eq!(count::<orders::clearing_case::Entity>(&tx).await, 0);
    let acc = orders::account(&tx, &c.id).await.unwrap().unwrap();
    assert_eq!(acc.reserved_minor, ok.order.gross_minor);
    drop(tx);

    // Beta sees nothing of alpha's order, and cannot order for alpha's customer.
    let tx = app.state.tenancy.begin(&beta).await.unwrap();
    assert_eq!(count::<orders::order::Entity>(&tx).await, 0);
    assert!(orders::get(&tx, &ok.order.id).await.unwrap().is_none());
    drop(tx);
    assert!(matches!(
        place(&app.state, &beta, &c.id, &[domain("steal.de")], None).await,
        Err(OrderError::NotFound)
    ));
    app.stop().await;
}

#[tokio::test]
async fn risky_and_manual_orders_go_to_clearing() {
    let app = spawn_app().await;
    let (alpha, _) = setup(&app).await;
    let c = customer(&app.state, &alpha, "spam@mailinator.com", None).await;
    let placed = place(&app.state, &alpha, &c.id, &[domain("risky.de")], None)
        .await
        .unwrap();
    match &placed.outcome {
        Outcome::Clearing { reason, .. } => assert_eq!(reason, "risk"),
        other => panic!("{other:?}"),
    }
    assert_eq!(placed.order.reserved_minor, 0);
    assert!(placed.risk.reasons.contains(&"risk.disposable_email"));

    // Manual activation: reserved, but waiting for a person.
    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    use sea_orm::{ActiveModelTrait, Set};
    customers::settings::ActiveModel {
        id: Set(1),
        order_activation: Set("manual".into()),
        ..Default::default()
    }
    .update(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let d = customer(&app.state, &alpha, "dora@example.de", None).await;
    let placed = place(&app.state, &alpha, &d.id, &[domain("manual.de")], None)
        .await
        .unwrap();
    let Outcome::Clearing { reason, .. } = &placed.outcome else {
        panic!("{:?}", placed.outcome)
    };
    assert_eq!(reason, "manual");
    assert_eq!(placed.order.reserved_minor, placed.order.gross_minor);
    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    let case = orders::case_of(&tx, &placed.order.id)
        .await
        .unwrap()
        .unwrap();
    drop(tx);
    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    let (_, order) = orders::decide(
        &tx,
        &case.id,
        Decision::Approve {
            override_limit: false,
        },
        "staff",
        None,
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(order.status, "accepted");
    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    let acc = orders::account(&tx, &d.id).await.unwrap().unwrap();
    // Reserved once, not twice.
    assert_eq!(acc.reserved_minor, order.gross_minor);
    app.stop().await;
}

#[tokio::test]
async fn residency_rules_apply_to_the_holder_with_a_trustee_option() {
    let app = spawn_app().await;
    let (alpha, _) = setup(&app).await;
    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    let mk = |email: &'static str, country: &'static str| CustomerInput {
        first_name: Some("Res".into()),
        last_name: Some("Ident".into()),
        street: Some("Weg 1".into()),
        postal_code: Some("1010".into()),
        city: Some("Wien".into()),
        country: Some(country.into()),
        email: Some(email.into()),
        ..Default::default()
    };
    let actor = Actor {
        name: "test",
        ip: None,
    };
    let at = customers::create(&tx, &actor, &mk("anna@example.at", "AT"), None)
        .await
        .unwrap();
    let us = customers::create(&tx, &actor, &mk("sam@example.com", "US"), None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let err = place(&app.state, &alpha, &at.id, &[domain("wien.de")], None)
        .await
        .unwrap_err();
    assert_eq!(
        codes(err),
        [("items.0.domain".into(), "err.residency_de_admin".into())]
    );
    let mut with_trustee = domain("wien.de");
    with_trustee.trustee = true;
    let ok = place(&app.state, &alpha, &at.id, &[with_trustee], None)
        .await
        .unwrap();
    assert!(matches!(ok.outcome, Outcome::Accepted { .. }));
    // .eu: an Austrian holder is fine, an American one is not (trustee or not).
    place(&app.state, &alpha, &at.id, &[domain("wien.eu")], None)
        .await
        .unwrap();
    let err = place(&app.state, &alpha, &us.id, &[domain("usa.eu")], None)
        .await
        .unwrap_err();
    assert_eq!(
        codes(err),
        [("items.0.domain".into(), "err.residency_eu".into())]
    );
    app.stop().await;
}

#[tokio::test]
async fn upcoming_tlds_take_pre_registrations_and_sunrise_needs_a_matching_smd() {
    use chrono::{Duration, Utc};
    use relabel_platform::domains::smd;
    let app = spawn_app().await;
    let (alpha, _) = setup(&app).await;
    let c = customer(&app.state, &alpha, "mark@example.de", None).await;
    // .kiez is upcoming: a registration becomes a pre-registration, a transfer is refused.
    let pre = place(&app.state, &alpha, &c.id, &[domain("meinkiez.kiez")], None)
        .await
        .unwrap();
    assert!(matches!(pre.outcome, Outcome::Accepted { .. }));
    let mut transfer = domain("anderer.kiez");
    transfer.action = "transfer".into();
    transfer.auth_code = Some("abc123XYZ".into());
    let err = place(&app.state, &alpha, &c.id, &[transfer], None)
        .await
        .unwrap_err();
    assert_eq!(
        codes(err),
        [(
            "items.0.action".into(),
            "err.domain_not_yet_available".into()
        )]
    );
    // .bio is in sunrise: no SMD, an SMD for another label, an expired one: refused.
    let now = Utc::now();
    let sunrise = |smd: Option<String>| Line {
        smd,
        ..domain("kiezbaecker.bio")
    };
    let cases = [
        (None, "err.smd_required"),
        (
            Some(smd::sample(
                "1-1",
                "Other",
                &["other"],
                now - Duration::days(1),
                now + Duration::days(99),
            )),
            "err.smd_label",
        ),
        (
            Some(smd::sample(
                "1-2",
                "Kiez",
                &["kiezbaecker"],
                now - Duration::days(99),
                now - Duration::days(1),
            )),
            "err.smd_expired",
        ),
        (Some("not an smd".into()), "err.smd_format"),
    ];
    for (file, code) in cases {
        let err = place(&app.state, &alpha, &c.id, &[sunrise(file)], None)
            .await
            .unwrap_err();
        assert_eq!(codes(err), [("items.0.smd".into(), code.into())]);
    }
    let good = smd::sample(
        "1-3",
        "Kiez Bäcker",
        &["kiezbaecker"],
        now - Duration::days(1),
        now + Duration::days(99),
    );
    let ok = place(
        &app.state,
        &alpha,
        &c.id,
        &[sunrise(Some(good.clone()))],
        None,
    )
    .await
    .unwrap();
    assert!(matches!(ok.outcome, Outcome::Accepted { .. }));

    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    let jobs = jobs::with_key_prefix(&tx, "order:").await.unwrap();
    let kiez_ga = relabel_platform::catalog::tlds(tx.conn())
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == "kiez")
        .unwrap()
        .ga_at
        .unwrap();
    let pre_job = jobs
        .iter()
        .find(|j| j.kind == "domain.preregister")
        .unwrap();
    assert_eq!(pre_job.run_after, kiez_ga, "waits for general availability");
    let sun_job = jobs.iter().find(|j| j.kind == "domain.sunrise").unwrap();
    let payload: serde_json::Value = serde_json::from_str(&sun_job.payload).unwrap();
    assert_eq!(payload["smd"], smd::parse(&good).unwrap().encoded);
    app.stop().await;
}

#[tokio::test]
async fn a_domain_can_have_another_holder_from_the_customers_contacts() {
    use relabel_platform::contacts::{self, ContactInput};
    let app = spawn_app().await;
    let (alpha, _) = setup(&app).await;
    let agency = customer(&app.state, &alpha, "agency@example.de", None).await;
    let other = customer(&app.state, &alpha, "other@example.de", None).await;
    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    let bad = contacts::create(
        &tx,
        &agency.id,
        &ContactInput {
            first_name: "".into(),
            country: "XX".into(),
            email: "nope".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .unwrap_err();
    let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
    assert!(
        fields.contains(&"first_name") && fields.contains(&"country") && fields.contains(&"email")
    );
    let client = contacts::create(
        &tx,
        &agency.id,
        &ContactInput {
            first_name: "Sam".into(),
            last_name: "Client".into(),
            street: "Main St 1".into(),
            postal_code: "10001".into(),
            city: "New York".into(),
            country: "US".into(),
            email: "sam@example.com".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();
    // The agency (DE) may hold a .eu; its American client may not.
    let held_by = |contact: Option<&str>| Line {
        contact_id: contact.map(str::to_owned),
        ..domain("client-shop.eu")
    };
    let err = place(
        &app.state,
        &alpha,
        &agency.id,
        &[held_by(Some(&client.id))],
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(
        codes(err),
        [("items.0.domain".into(), "err.residency_eu".into())]
    );
    // A .com for the client is fine, with the contact on the item and in the job.
    let ok = place(
        &app.state,
        &alpha,
        &agency.id,
        &[Line {
            contact_id: Some(client.id.clone()),
            ..domain("client-shop.com")
        }],
        None,
    )
    .await
    .unwrap();
    let tx = app.state.tenancy.begin(&alpha).await.unwrap();
    let items = orders::items(&tx, &ok.order.id).await.unwrap();
    assert_eq!(items[0].contact_id.as_deref(), Some(client.id.as_str()));
    let job = &jobs::with_key_prefix(&tx, &format!("order:{}:", ok.order.id))
        .await
        .unwrap()[0];
    assert!(job.payload.contains(&client.id));
    drop(tx);
    // Another customer cannot use the agency's contact.
    let err = place(
        &app.state,
        &alpha,
        &other.id,
        &[Line {
            contact_id: Some(client.id.clone()),
            ..domain("steal.com")
        }],
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(
        codes(err),
        [("items.0.contact".into(), "err.contact_unknown".into())]
    );
    app.stop().await;
}
