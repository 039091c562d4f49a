//! Coupons: validation, and an exact total limit under concurrent redemptions.

use relabel_platform::coupons::{self, CouponError, CouponInput, Refusal};
use relabel_tests::spawn_app;

#[tokio::test]
async fn the_usage_limit_holds_under_fifty_concurrent_redemptions() {
    let app = spawn_app().await;
    app.reseller(
        "Alpha",
        "alpha.test",
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let tenant = app
        .state
        .tenancy
        .resolve("alpha.test")
        .await
        .unwrap()
        .unwrap();
    let tx = app.state.tenancy.begin(&tenant).await.unwrap();
    let input = CouponInput {
        code: "launch-10".into(),
        kind: "percent".into(),
        value: "10".into(),
        max_total: Some(10),
        max_per_customer: Some(1),
        ..Default::default()
    };
    coupons::create(&tx, "test", input).await.unwrap();
    tx.commit().await.unwrap();

    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (tenancy, tenant) = (app.state.tenancy.clone(), tenant.clone());
            tokio::spawn(async move {
                loop {
                    let tx = tenancy.begin(&tenant).await.unwrap();
                    match coupons::redeem(
                        &tx,
                        "LAUNCH-10",
                        &format!("customer-{i}"),
                        true,
                        &format!("order-{i}"),
                    )
                    .await
                    {
                        Ok(Ok(_)) => {
                            tx.commit().await.unwrap();
                            return true;
                        }
                        Ok(Err(refusal)) => {
                            assert_eq!(refusal, Refusal::UsedUp);
                            return false;
                        }
                        // SQLite under write contention: the transaction is retried, as an order would be.
                        Err(e)
                            if e.to_string().contains("locked")
                                || e.to_string().contains("busy") =>
                        {
                            drop(tx);
                            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() {
            ok += 1;
        }
    }
    assert_eq!(ok, 10, "exactly the limit succeeds");
    let tx = app.state.tenancy.begin(&tenant).await.unwrap();
    let again = coupons::redeem(&tx, "launch-10", "customer-99", true, "late")
        .await
        .unwrap();
    assert_eq!(again.err(), Some(Refusal::UsedUp));
    app.stop().await;
}

#[tokio::test]
async fn coupon_rules_are_checked() {
    let app = spawn_app().await;
    app.reseller(
        "Alpha",
        "alpha.test",
        "owner@alpha.test",
        "alpha-password-1",
    )
    .await;
    let tenant = app
        .state
        .tenancy
        .resolve("alpha.test")
        .await
        .unwrap()
        .unwrap();
    let tx = app.state.tenancy.begin(&tenant).await.unwrap();
    let bad = CouponInput {
        code: "x".into(),
        kind: "absolute".into(),
        value: "-5".into(),
        currency: Some("XXX".into()),
        max_total: Some(0),
        ..Default::default()
    };
    let CouponError::Invalid(errors) = coupons::create(&tx, "test", bad).await.unwrap_err() else {
        panic!()
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["code", "currency", "value", "max_total"]);
    let once = CouponInput {
        code: "WELCOME".into(),
        kind: "absolute".into(),
        value: "5.00".into(),
        currency: Some("EUR".into()),
        max_per_customer: Some(1),
        first_order_only: true,
        ..Default::default()
    };
    coupons::create(&tx, "test", once).await.unwrap();
    tx.commit().await.unwrap();

    let tx = app.state.tenancy.begin(&tenant).await.unwrap();
    assert_eq!(
        coupons::redeem(&tx, "welcome", "c1", false, "o1")
            .await
            .unwrap()
            .err(),
        Some(Refusal::FirstOrderOnly)
    );
    drop(tx);
    let tx = app.state.tenancy.begin(&tenant).await.unwrap();
    assert!(
        coupons::redeem(&tx, "welcome", "c1", true, "o1")
            .await
            .unwrap()
            .is_ok()
    );
    tx.commit().await.unwrap();
    let tx = app.state.tenancy.begin(&tenant).await.unwrap();
    assert_eq!(
        coupons::redeem(&tx, "welcome", "c1", true, "o2")
            .await
            .unwrap()
            .err(),
        Some(Refusal::UsedUpForCustomer)
    );
    drop(tx);
    let tx = app.state.tenancy.begin(&tenant).await.unwrap();
    assert_eq!(
        coupons::redeem(&tx, "nope", "c1", true, "o3")
            .await
            .unwrap()
            .err(),
        Some(Refusal::Unknown)
    );
    app.stop().await;
}
