//! The EPP registrar adapter against the built-in test registry over TLS: every
//! operation of the `Registrar` trait, the registry's result codes, failure
//! injection, and reconnecting after the registry was down.

use relabel_platform::domains::devregistry::{
    self, DEV_CLIENT, DevRegistryConfig, OTHER_CLIENT, PRE_REGISTERED_AUTH, server,
};
use relabel_platform::domains::epp::{EppConfig, EppRegistrar};
use relabel_platform::domains::registrar::{NewDomain, Registrar, RegistryContact};
use std::net::IpAddr;

fn contact(id: &str) -> RegistryContact {
    RegistryContact {
        id: id.into(),
        name: "Erika Mustermann".into(),
        organization: None,
        street: "Hauptstraße 1".into(),
        city: "Berlin".into(),
        postal_code: "10115".into(),
        country: "DE".into(),
        email: "erika@example.de".into(),
        phone: Some("+49.301234567".into()),
    }
}

fn other_registrar(dev: &devregistry::Embedded) -> EppRegistrar {
    EppRegistrar::new(
        &EppConfig {
            host: "localhost".into(),
            port: dev.server.addr.port(),
            client_id: OTHER_CLIENT.into(),
            password: "other-dev-2026".into(),
            ca_file: None,
            connections: 1,
            keepalive_secs: 0,
            timeout_ms: 5000,
        },
        Some(vec![dev.server.cert.clone()]),
    )
    .unwrap()
}

#[tokio::test]
async fn every_registrar_operation_over_epp() {
    relabel_platform::install_crypto();
    let dev = devregistry::embedded(DevRegistryConfig::default())
        .await
        .unwrap();
    let epp = &dev.registrar;

    epp.create_contact(&contact("rl-c1")).await.unwrap();
    // Creating the same contact again is fine (idempotent for retried jobs).
    epp.create_contact(&contact("rl-c1")).await.unwrap();

    let ns = vec![
        "ns1.relabel-dns.net".to_owned(),
        "ns2.relabel-dns.net".to_owned(),
    ];
    let expires = epp
        .create(&NewDomain {
            name: "neu-im-netz.de",
            years: 2,
            registrant: "rl-c1",
            nameservers: &ns,
            auth_code: "Start-1234",
        })
        .await
        .unwrap()
        .expect("expiry date");
    assert!(expires > chrono::Utc::now() + chrono::Duration::days(700));
    let again = epp
        .create(&NewDomain {
            name: "neu-im-netz.de",
            years: 1,
            registrant: "rl-c1",
            nameservers: &[],
            auth_code: "Start-1234",
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some(2302));
    assert!(!again.is_transient());
    assert_eq!(dev.registry.create_count("neu-im-netz.de"), 1);

    let info = epp.info("neu-im-netz.de", None).await.unwrap();
    assert_eq!(info.sponsor, DEV_CLIENT);
    assert_eq!(info.registrant.as_deref(), Some("rl-c1"));
    assert_eq!(info.nameservers, ns);
    assert_eq!(info.auth_code.as_deref(), Some("Start-1234"));

    // Renew from the current expiry.
    let renewed = epp
        .renew("neu-im-netz.de", expires.date_naive(), 1)
        .await
        .unwrap()
        .unwrap();
    assert!(renewed > expires);
    let wrong = epp
        .renew("neu-im-netz.de", expires.date_naive(), 1)
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Some(2306), "curExpDate must match");

    // Own nameservers with glue inside the domain, then the delegation.
    let glue: Vec<IpAddr> = vec!["192.0.2.10".parse().unwrap()];
    epp.create_host("ns1.neu-im-netz.de", &glue).await.unwrap();
    epp.update_host(
        "ns1.neu-im-netz.de",
        &["2001:db8::10".parse().unwrap()],
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        dev.registry
            .host("ns1.neu-im-netz.de")
            .unwrap()
            .addresses
            .len(),
        2
    );
    let no_glue = epp
        .create_host("ns2.neu-im-netz.de", &[])
        .await
        .unwrap_err();
    assert_eq!(no_glue.code(), Some(2003));
    let own = vec!["ns1.neu-im-netz.de".to_owned(), "ns.extern.org".to_owned()];
    epp.set_nameservers("neu-im-netz.de", &own).await.unwrap();
    assert_eq!(
        epp.info("neu-im-netz.de", None).await.unwrap().nameservers,
        own
    );

    // Owner change to a new registrant contact.
    epp.create_contact(&contact("rl-c2")).await.unwrap();
    epp.update_registrant("neu-im-netz.de", "rl-c2")
        .await
        .unwrap();
    assert_eq!(
        dev.registry.domain("neu-im-netz.de").unwrap().registrant,
        "rl-c2"
    );
    let unknown = epp
        .update_registrant("neu-im-netz.de", "rl-none")
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Some(2303));

    // Transfer lock and AuthCode; the other registrar's transfer request.
    epp.set_transfer_lock("neu-im-netz.de", true).await.unwrap();
    let other = other_registrar(&dev);
    let locked = other
        .transfer_request("neu-im-netz.de", "Start-1234", 1)
        .await
        .unwrap_err();
    assert_eq!(locked.code(), Some(2304));
    epp.set_transfer_lock("neu-im-netz.de", false)
        .await
        .unwrap();
    epp.set_auth_code("neu-im-netz.de", "Neu-5678x")
        .await
        .unwrap();
    let bad = other
        .transfer_request("neu-im-netz.de", "Start-1234", 1)
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some(2201));
    let t = other
        .transfer_request("neu-im-netz.de", "Neu-5678x", 1)
        .await
        .unwrap();
    assert_eq!(t.status, "pending");
    assert_eq!(t.losing, DEV_CLIENT);
    assert_eq!(
        epp.transfer_query("neu-im-netz.de").await.unwrap().status,
        "pending"
    );
    // Released by us (transfer out): the domain moves.
    let done = epp.transfer_answer("neu-im-netz.de", true).await.unwrap();
    assert_eq!(done.status, "clientApproved");
    assert_eq!(
        dev.registry.domain("neu-im-netz.de").unwrap().client,
        OTHER_CLIENT
    );

    // Transfer in of a pre-registered name with its AuthCode; the other side rejects once.
    let t = epp
        .transfer_request("example.de", PRE_REGISTERED_AUTH, 1)
        .await
        .unwrap();
    assert_eq!(t.status, "pending");
    other.transfer_answer("example.de", false).await.unwrap();
    assert_eq!(
        epp.transfer_query("example.de").await.unwrap().status,
        "clientRejected"
    );

    // Delete into redemption, restore.
    epp.create(&NewDomain {
        name: "kurz-weg.de",
        years: 1,
        registrant: "rl-c1",
        nameservers: &[],
        auth_code: "Start-1234",
    })
    .await
    .unwrap();
    epp.delete("kurz-weg.de").await.unwrap();
    let deleted = epp.info("kurz-weg.de", None).await.unwrap();
    assert_eq!(deleted.statuses, ["pendingDelete"]);
    epp.restore("kurz-weg.de").await.unwrap();
    assert_eq!(
        epp.info("kurz-weg.de", None).await.unwrap().statuses,
        ["ok"]
    );
    let not_found = epp.info("gibt-es-nicht.de", None).await.unwrap_err();
    assert_eq!(not_found.code(), Some(2303));
}

#[tokio::test]
async fn injected_failures_and_reconnect_after_the_registry_was_down() {
    relabel_platform::install_crypto();
    let dev = devregistry::embedded(DevRegistryConfig {
        fail: vec!["eurid".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    let epp = &dev.registrar;
    let failed = epp.info("irgendwas.eu", None).await.unwrap_err();
    assert_eq!(failed.code(), Some(2400));
    assert!(failed.is_transient());

    // Take the listener down: the registrar reports a transport error ...
    epp.create_contact(&contact("rl-x")).await.unwrap();
    let addr = dev.server.addr;
    dev.server.stop();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let down = epp.info("irgendwas.de", None).await.unwrap_err();
    assert!(down.code().is_none() && down.is_transient(), "{down}");

    // ... and reconnects by itself once the registry is back on the same port.
    let back = server::start(dev.registry.clone(), addr, &dev.identity)
        .await
        .unwrap();
    let ok = epp
        .create(&NewDomain {
            name: "wieder-da.de",
            years: 1,
            registrant: "rl-x",
            nameservers: &[],
            auth_code: "Start-1234",
        })
        .await
        .unwrap();
    assert!(ok.is_some());

    // Wrong credentials are an authentication error, not a hang.
    let wrong = EppRegistrar::new(
        &EppConfig {
            host: "localhost".into(),
            port: addr.port(),
            client_id: DEV_CLIENT.into(),
            password: "wrong".into(),
            ca_file: None,
            connections: 1,
            keepalive_secs: 0,
            timeout_ms: 5000,
        },
        Some(vec![back.cert.clone()]),
    )
    .unwrap();
    let denied = wrong.info("wieder-da.de", None).await.unwrap_err();
    assert_eq!(denied.code(), Some(2200));
}
