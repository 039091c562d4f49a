//! The per-tenant price book: cached, dropped when a pricing change commits (on this
//! node at once, on other nodes through Redis), never shared across tenants, and
//! never filled from an uncommitted transaction.

use relabel_platform::AppState;
use relabel_platform::pricing::{self, PriceInput};
use relabel_tests::test_config;
use std::time::Duration;

fn set(reg: &str) -> Vec<PriceInput> {
    vec![
        ("register".into(), 12, reg.into()),
        ("renew".into(), 12, "5.00".into()),
        ("transfer".into(), 12, "0".into()),
        ("restore".into(), 12, "30.00".into()),
    ]
}

async fn register_price(node: &AppState, host: &str) -> Option<i64> {
    let t = node.tenancy.resolve(host).await.unwrap().unwrap();
    let tx = node.tenancy.begin(&t).await.unwrap();
    pricing::resolve(&node.prices, &tx, None, "domain-de", "register", 12)
        .await
        .unwrap()
        .map(|q| q.net_minor)
}

/// Waits until `n` nodes listen on the data-change channel.
async fn wait_for_listeners(config: &relabel_platform::config::Config, n: i64) {
    let client = redis::Client::open(config.redis_url.clone().unwrap().as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let channel = format!("{}:data-changed", config.redis_prefix);
    for _ in 0..100 {
        let (_, got): (String, i64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&channel)
            .query_async::<Vec<(String, i64)>>(&mut conn)
            .await
            .unwrap()
            .remove(0);
        if got >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nodes do not listen on {channel}");
}

#[tokio::test]
async fn price_changes_reach_every_nodes_cache_and_uncommitted_ones_none() {
    let (config, _cleanup) = test_config().await.unwrap();
    let with_redis = config.redis_url.is_some();
    let node_a = AppState::new(config.clone()).await.unwrap();
    let node_b = if with_redis {
        AppState::new(config.clone()).await.unwrap()
    } else {
        node_a.clone()
    };
    relabel_platform::catalog::seed_demo(node_a.tenancy.backend().shared())
        .await
        .unwrap();
    for (name, host) in [("Alpha", "alpha.test"), ("Beta", "beta.test")] {
        relabel_platform::resellers::create(
            &node_a.tenancy,
            "test",
            relabel_platform::resellers::NewReseller {
                name: name.into(),
                hostname: Some(host.into()),
                owner_email: format!("owner@{host}"),
                owner_password: "a-good-password-1".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    if with_redis {
        wait_for_listeners(&config, 2).await;
    }
    let alpha = node_a.tenancy.resolve("alpha.test").await.unwrap().unwrap();
    let tx = node_a.tenancy.begin(&alpha).await.unwrap();
    let class = pricing::create_class(&tx, "test", "A", "EUR", true)
        .await
        .unwrap();
    pricing::enable(&tx, &["domain-de".into()]).await.unwrap();
    pricing::set_class_prices(&tx, "test", &class.id, "domain-de", &set("5.00"))
        .await
        .unwrap();
    // Inside the writing transaction the new price is seen, from a private book.
    assert_eq!(
        pricing::resolve(&node_a.prices, &tx, None, "domain-de", "register", 12)
            .await
            .unwrap()
            .map(|q| q.net_minor),
        Some(500)
    );
    tx.commit().await.unwrap();

    // Both nodes load and cache the book; Beta has no prices of its own.
    assert_eq!(register_price(&node_a, "alpha.test").await, Some(500));
    assert_eq!(register_price(&node_b, "alpha.test").await, Some(500));
    assert_eq!(register_price(&node_b, "beta.test").await, None);

    // A rolled-back change leaves every cache as it was.
    let tx = node_a.tenancy.begin(&alpha).await.unwrap();
    pricing::set_class_prices(&tx, "test", &class.id, "domain-de", &set("1.00"))
        .await
        .unwrap();
    drop(tx);
    assert_eq!(register_price(&node_a, "alpha.test").await, Some(500));

    // A committed change on node A: node A sees it at once, node B within a second.
    let tx = node_a.tenancy.begin(&alpha).await.unwrap();
    pricing::set_class_prices(&tx, "test", &class.id, "domain-de", &set("6.00"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(register_price(&node_a, "alpha.test").await, Some(600));
    let mut seen = None;
    for _ in 0..20 {
        seen = register_price(&node_b, "alpha.test").await;
        if seen == Some(600) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, Some(600), "node B still serves the old price");
    assert_eq!(register_price(&node_b, "beta.test").await, None);

    // A wholesale catalog change (operator) drops every tenant's book: the cost
    // (and so the margin) of the quote follows.
    let db = node_a.tenancy.backend().shared();
    let txn = sea_orm::TransactionTrait::begin(db).await.unwrap();
    let mut form = relabel_platform::catalog::edit::form_of(&txn, "domain-de")
        .await
        .unwrap()
        .unwrap();
    for p in &mut form.prices {
        if p.action == "register" {
            p.amount = "3.99".into();
        }
    }
    relabel_platform::catalog::edit::save(&txn, &form)
        .await
        .unwrap()
        .unwrap();
    txn.commit().await.unwrap();
    node_a
        .tenancy
        .changes()
        .publish(relabel_tenants::Change {
            tenant: None,
            topic: relabel_platform::catalog::TOPIC.into(),
        })
        .await;
    let cost = |node: AppState| async move {
        let t = node.tenancy.resolve("alpha.test").await.unwrap().unwrap();
        let tx = node.tenancy.begin(&t).await.unwrap();
        pricing::resolve(&node.prices, &tx, None, "domain-de", "register", 12)
            .await
            .unwrap()
            .unwrap()
            .wholesale_minor
    };
    assert_eq!(cost(node_a.clone()).await, Some(399));
    let mut seen = None;
    for _ in 0..20 {
        seen = cost(node_b.clone()).await;
        if seen == Some(399) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, Some(399));
}
