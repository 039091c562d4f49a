//! Resolver caches are dropped on every node when a tenant or hostname changes.

use relabel_platform::AppState;
use relabel_tenants::TenantStatus;
use relabel_tests::test_config;
use std::time::Duration;

#[tokio::test]
async fn a_change_on_one_node_reaches_the_cache_of_another() {
    let (mut config, _cleanup) = test_config().await.unwrap();
    // Long TTL: only an invalidation can make node A see the change in time.
    config.resolver_ttl_secs = 3600;
    let with_redis = config.redis_url.is_some();
    if !with_redis {
        // Without Redis there is one node: check that local changes invalidate.
        config.data_dir = config.data_dir.join("single");
    }
    let node_a = AppState::new(config.clone()).await.unwrap();
    let node_b = if with_redis {
        AppState::new(config.clone()).await.unwrap()
    } else {
        node_a.clone()
    };

    let tenant = relabel_platform::resellers::create(
        &node_b.tenancy,
        "test",
        relabel_platform::resellers::NewReseller {
            name: "Alpha".into(),
            hostname: Some("alpha.test".into()),
            owner_email: "owner@alpha.test".into(),
            owner_password: "alpha-password-1".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    if with_redis {
        // Wait until both nodes listen on the channel.
        let client = redis::Client::open(config.redis_url.clone().unwrap().as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let channel = format!("{}:tenancy-changed", config.redis_prefix);
        for _ in 0..100 {
            let (_, n): (String, i64) = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(&channel)
                .query_async::<Vec<(String, i64)>>(&mut conn)
                .await
                .unwrap()
                .remove(0);
            if n >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // Node A caches the active tenant.
    let seen = node_a.tenancy.resolve("alpha.test").await.unwrap().unwrap();
    assert_eq!(seen.status, TenantStatus::Active);

    // Node B suspends it; node A must see that well before its TTL.
    node_b
        .tenancy
        .set_status(&tenant.id, TenantStatus::Suspended)
        .await
        .unwrap();
    let mut status = TenantStatus::Active;
    for _ in 0..100 {
        status = node_a
            .tenancy
            .resolve("alpha.test")
            .await
            .unwrap()
            .unwrap()
            .status;
        if status == TenantStatus::Suspended {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        status,
        TenantStatus::Suspended,
        "node A still serves a stale tenant"
    );

    // Removing the hostname on B makes it unknown on A.
    let host = relabel_tenants::Hostname::parse("alpha.test").unwrap();
    node_b.tenancy.remove_host(&tenant.id, &host).await.unwrap();
    let mut gone = false;
    for _ in 0..100 {
        if node_a
            .tenancy
            .resolve("alpha.test")
            .await
            .unwrap()
            .is_none()
        {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone, "node A still resolves a removed hostname");
}
