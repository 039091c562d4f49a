//! The demo as `relabel serve --demo` seeds it (operator, alpha and beta, the
//! hosting pools on the built-in panel, alpha's billing customers): an order
//! placed there completes end to end (issue 7's "done when"), and the dunning
//! run takes the reminded customer to the first notice with fee and interest
//! (issue 9's).

use chrono::Utc;
use relabel_platform::customers::customer;
use relabel_platform::orders::{self, Checkout, Line};
use relabel_platform::payments::dunning;
use relabel_platform::{demo, hosting, provisioning};
use relabel_tests::spawn_app;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[tokio::test]
async fn the_demo_completes_an_order_and_dunning_moves_from_reminder_to_first_notice() {
    let app = spawn_app().await;
    let state = &app.state;
    demo::seed(state).await.unwrap();
    let panel = hosting::devpanel::start().await.unwrap();
    demo::seed_pools(state, &panel).await.unwrap();
    demo::seed_billing(state).await.unwrap();
    // Seeding again (a restart on the same data) keeps what exists.
    demo::seed(state).await.unwrap();
    demo::seed_billing(state).await.unwrap();
    let alpha = state
        .tenancy
        .resolve("alpha.localhost")
        .await
        .unwrap()
        .unwrap();
    let by_email = |email: &'static str| {
        let state = state.clone();
        let alpha = alpha.clone();
        async move {
            let tx = state.tenancy.begin(&alpha).await.unwrap();
            customer::Entity::find()
                .filter(customer::Column::Email.eq(email))
                .one(tx.conn())
                .await
                .unwrap()
                .unwrap()
        }
    };
    let maria = by_email("maria@example.com").await;
    let jonas = by_email("jonas@example.com").await;

    // Maria orders a domain and hosting in alpha's shop.
    let lines = [
        Line {
            domain: Some("marias-demo-laden.de".into()),
            action: "register".into(),
            period_months: 12,
            ..Default::default()
        },
        Line {
            product_id: "hosting-starter".into(),
            action: "order".into(),
            period_months: 12,
            ..Default::default()
        },
    ];
    let tx = state.tenancy.begin(&alpha).await.unwrap();
    let placed = orders::place(
        &tx,
        &state.prices,
        Checkout {
            customer_id: &maria.id,
            cart_id: "cdemo",
            lines: &lines,
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
    assert!(
        matches!(placed.outcome, orders::Outcome::Accepted { .. }),
        "{:?}",
        placed.outcome
    );
    let runner = state.runner();
    let mut status = String::new();
    for _ in 0..20 {
        runner.run_due(&alpha).await.unwrap();
        let tx = state.tenancy.begin(&alpha).await.unwrap();
        status = orders::order::Entity::find_by_id(placed.order.id.clone())
            .one(tx.conn())
            .await
            .unwrap()
            .unwrap()
            .status;
        if status == "completed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "completed");

    // Registered at the demo's test registry, zoned in a zone file, hosted on
    // one of the demo pool's servers, with service entries to bill.
    let dev = state
        .dev_registry
        .clone()
        .expect("the demo's test registry");
    assert_eq!(dev.registry.create_count("marias-demo-laden.de"), 1);
    let zone = std::fs::read_to_string(
        state
            .config
            .data_dir
            .join("zones")
            .join("marias-demo-laden.de.zone"),
    )
    .unwrap();
    assert!(zone.contains("IN\tMX\t"), "{zone}");
    let tx = state.tenancy.begin(&alpha).await.unwrap();
    let services = provisioning::customer_services(&tx, &maria.id)
        .await
        .unwrap();
    let hosting_service = services
        .iter()
        .find(|s| s.kind == "hosting" && s.product_id == "hosting-starter")
        .unwrap();
    assert!(hosting_service.next_billing_at > Utc::now() + chrono::Duration::days(360));
    assert!(
        services
            .iter()
            .any(|s| s.kind == "domain" && s.label == "marias-demo-laden.de")
    );
    let account = hosting::account_of_service(&tx, &hosting_service.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.status, "active");
    let server = hosting::server_by_id(state.tenancy.backend().shared(), &account.server_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        server.name.starts_with("demo-hosting-starter-"),
        "{server:?}"
    );
    assert!(
        panel
            .panel
            .accounts()
            .contains_key(&(server.name.clone(), account.username.clone()))
    );
    let mails = relabel_platform::mail::recent(&tx, 50).await.unwrap();
    assert!(
        mails.iter().any(|m| m.to_addr == "maria@example.com"),
        "a status mail to Maria"
    );
    drop(tx);

    // Jonas was reminded 15 days ago; today's run sends the first notice with
    // the 5.00 fee and default interest, once.
    let tx = state.tenancy.begin(&alpha).await.unwrap();
    let before = dunning::letters_of(&tx, &jonas.id).await.unwrap();
    assert_eq!(
        before.iter().map(|l| l.level).collect::<Vec<_>>(),
        [1],
        "the seeded reminder"
    );
    drop(tx);
    let tx = state.tenancy.begin_write(&alpha).await.unwrap();
    let run = dunning::run(&tx, Utc::now(), "test").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!((run.letters, run.fees_minor), (1, 500));
    assert!(run.interest_minor > 0, "{run:?}");
    let tx = state.tenancy.begin(&alpha).await.unwrap();
    let letters = dunning::letters_of(&tx, &jonas.id).await.unwrap();
    assert_eq!(letters.len(), 2);
    assert_eq!(letters[0].level, 2);
    drop(tx);
    app.stop().await;
}
