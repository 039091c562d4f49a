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
    assert_eq!(bad.code(), Some(2202), "invalid authorization information");
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
    assert_eq!(
        denied.code(),
        Some(2501),
        "RFC 5730: the server closes the connection"
    );
}

/// A bare EPP client of its own (RFC 5734 framing over TLS, no code of the
/// platform's): what any registrar's software would send.
struct RawEpp {
    tls: tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
}

impl RawEpp {
    async fn connect(dev: &devregistry::Embedded) -> (Self, String) {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(dev.server.cert.clone()).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(dev.server.addr)
            .await
            .unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        let mut me = Self { tls };
        let greeting = me.read().await.expect("a greeting");
        (me, greeting)
    }

    async fn read(&mut self) -> Option<String> {
        use tokio::io::AsyncReadExt;
        let mut len = [0u8; 4];
        self.tls.read_exact(&mut len).await.ok()?;
        let mut body = vec![0u8; (u32::from_be_bytes(len) as usize).checked_sub(4)?];
        self.tls.read_exact(&mut body).await.ok()?;
        String::from_utf8(body).ok()
    }

    /// Sends `<command>` content and returns the answer.
    async fn send(&mut self, command: &str) -> String {
        use tokio::io::AsyncWriteExt;
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command>{command}<clTRID>raw-1</clTRID></command></epp>"#
        );
        let len = u32::try_from(xml.len() + 4).unwrap().to_be_bytes();
        self.tls.write_all(&len).await.unwrap();
        self.tls.write_all(xml.as_bytes()).await.unwrap();
        self.read().await.unwrap_or_default()
    }

    async fn login(&mut self, client: &str, pw: &str) -> String {
        self.send(&format!(
            r#"<login><clID>{client}</clID><pw>{pw}</pw><options><version>1.0</version><lang>en</lang></options><svcs><objURI>urn:ietf:params:xml:ns:domain-1.0</objURI></svcs></login>"#
        ))
        .await
    }
}

fn code(answer: &str) -> u16 {
    let at = answer.find("<result code=\"").expect(answer) + 14;
    answer[at..at + 4].parse().unwrap()
}

const D: &str = r#"xmlns:domain="urn:ietf:params:xml:ns:domain-1.0""#;

#[tokio::test]
async fn the_test_registry_answers_an_independent_client_as_a_registry_would() {
    relabel_platform::install_crypto();
    let dev = devregistry::embedded(DevRegistryConfig::default())
        .await
        .unwrap();

    // A wrong password: 2501, and the registry closes the connection.
    let (mut raw, greeting) = RawEpp::connect(&dev).await;
    assert!(greeting.contains("<greeting>"), "{greeting}");
    let answer = raw.login(DEV_CLIENT, "wrong").await;
    assert_eq!(code(&answer), 2501, "{answer}");
    assert!(raw.read().await.is_none(), "the connection is closed");

    let (mut raw, _) = RawEpp::connect(&dev).await;
    assert_eq!(
        code(&raw.login(DEV_CLIENT, devregistry::DEV_PASSWORD).await),
        1000
    );

    // Names no registry takes: unavailable in a check, 2005 in a command.
    let long = format!("{}.com", "a".repeat(64));
    let bad = [
        "bad_name!.com",
        "-lead.com",
        "trail-.com",
        long.as_str(),
        "nodot",
        "x.com.",
        "ab--cd.com",
        "xn--.com",
        "a.eu",
        "sub.domain.com",
    ];
    for name in bad {
        let answer = raw
            .send(&format!(
                r#"<check><domain:check {D}><domain:name>{name}</domain:name></domain:check></check>"#
            ))
            .await;
        assert_eq!(code(&answer), 1000, "{answer}");
        assert!(answer.contains(r#"avail="0""#), "{name}: {answer}");
        let answer = raw
            .send(&format!(
                r#"<create><domain:create {D}><domain:name>{name}</domain:name><domain:registrant>x</domain:registrant><domain:authInfo><domain:pw>Abc-12345</domain:pw></domain:authInfo></domain:create></create>"#
            ))
            .await;
        assert_eq!(code(&answer), 2005, "{name}: {answer}");
    }
    // Good names pass: an A-label that decodes, a one-letter .de, 63 characters.
    let max = format!("{}.de", "b".repeat(63));
    for name in ["xn--bcher-kva.de", "x.de", max.as_str(), "ok-name.com"] {
        let answer = raw
            .send(&format!(
                r#"<check><domain:check {D}><domain:name>{name}</domain:name></domain:check></check>"#
            ))
            .await;
        assert!(answer.contains(r#"avail="1""#), "{name}: {answer}");
    }

    // contact:check, contact:info and host:info, as RFC 5733 and 5732 have them.
    epp_create_contact(&dev, "rl-raw-1").await;
    let answer = raw
        .send(r#"<check><contact:check xmlns:contact="urn:ietf:params:xml:ns:contact-1.0"><contact:id>rl-raw-1</contact:id><contact:id>rl-free</contact:id></contact:check></check>"#)
        .await;
    assert!(
        answer.contains(r#"<contact:id avail="0">rl-raw-1</contact:id>"#)
            && answer.contains(r#"<contact:id avail="1">rl-free</contact:id>"#),
        "{answer}"
    );
    let answer = raw
        .send(r#"<info><contact:info xmlns:contact="urn:ietf:params:xml:ns:contact-1.0"><contact:id>rl-raw-1</contact:id></contact:info></info>"#)
        .await;
    assert_eq!(code(&answer), 1000, "{answer}");
    assert!(
        answer.contains("<contact:name>Erika Mustermann</contact:name>")
            && answer.contains("<contact:clID>relabel</contact:clID>"),
        "{answer}"
    );
    let answer = raw
        .send(r#"<info><host:info xmlns:host="urn:ietf:params:xml:ns:host-1.0"><host:name>ns1.relabel-dns.net</host:name></host:info></info>"#)
        .await;
    assert_eq!(code(&answer), 2303, "not created yet: {answer}");
    dev.registrar
        .create_host("ns1.relabel-dns.net", &[])
        .await
        .unwrap();
    let answer = raw
        .send(r#"<info><host:info xmlns:host="urn:ietf:params:xml:ns:host-1.0"><host:name>ns1.relabel-dns.net</host:name></host:info></info>"#)
        .await;
    assert_eq!(code(&answer), 1000, "{answer}");
    assert!(
        answer.contains("<host:clID>relabel</host:clID>"),
        "{answer}"
    );

    // Poll: nothing yet (1300). A transfer away from us queues a message for
    // us, the losing registrar (1301 with the transfer); ack dequeues it.
    let answer = raw.send(r#"<poll op="req"/>"#).await;
    assert_eq!(code(&answer), 1300, "{answer}");
    let name = "poll-me.com";
    dev.registrar
        .create(&NewDomain {
            name,
            years: 1,
            registrant: "rl-raw-1",
            nameservers: &[],
            auth_code: "Poll-2026!",
        })
        .await
        .unwrap();
    let other = other_registrar(&dev);
    // A wrong AuthCode: 2202 (invalid authorization information).
    let refused = other.transfer_request(name, "wrong", 1).await.unwrap_err();
    assert_eq!(refused.code(), Some(2202), "{refused}");
    other.transfer_request(name, "Poll-2026!", 1).await.unwrap();
    let answer = raw.send(r#"<poll op="req"/>"#).await;
    assert_eq!(code(&answer), 1301, "{answer}");
    assert!(
        answer.contains(r#"<msgQ count="1""#)
            && answer.contains("<domain:trStatus>pending</domain:trStatus>")
            && answer.contains("<domain:reID>other-registrar</domain:reID>"),
        "{answer}"
    );
    let at = answer.find(r#"id=""#).unwrap() + 4;
    let id: String = answer[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let answer = raw.send(&format!(r#"<poll op="ack" msgID="{id}"/>"#)).await;
    assert_eq!(code(&answer), 1000, "{answer}");
    let answer = raw.send(&format!(r#"<poll op="ack" msgID="{id}"/>"#)).await;
    assert_eq!(code(&answer), 2303, "acked once: {answer}");
    assert_eq!(code(&raw.send(r#"<poll op="req"/>"#).await), 1300);
    // We approve: the gaining registrar hears of it.
    dev.registrar.transfer_answer(name, true).await.unwrap();
    let (mut gaining, _) = RawEpp::connect(&dev).await;
    assert_eq!(
        code(&gaining.login(OTHER_CLIENT, "other-dev-2026").await),
        1000
    );
    let answer = gaining.send(r#"<poll op="req"/>"#).await;
    assert_eq!(code(&answer), 1301, "{answer}");
    assert!(
        answer.contains("<domain:trStatus>clientApproved</domain:trStatus>"),
        "{answer}"
    );
}

async fn epp_create_contact(dev: &devregistry::Embedded, id: &str) {
    dev.registrar.create_contact(&contact(id)).await.unwrap();
}
