//! Fixtures of the billing and payment tests: a reseller with legal data and
//! billing rules, customers, service entries, and checks on the books.

use crate::TestApp;
use chrono::{Duration, Utc};
use relabel_platform::AppState;
use relabel_platform::billing::{self, invoice};
use relabel_platform::customers::{self, Actor, CustomerInput, customer};
use relabel_platform::provisioning::service;
use relabel_tenants::Tenant;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};

/// A reseller `name` at `host` with the demo catalog and prices and complete
/// billing settings.
pub async fn setup(app: &TestApp, name: &str, host: &str) -> Tenant {
    relabel_platform::catalog::seed_demo(app.state.tenancy.backend().shared())
        .await
        .unwrap();
    let t = app
        .reseller(name, host, &format!("owner@{host}"), "owner-password-1")
        .await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    relabel_platform::pricing::seed_demo(&tx, [("A", 150), ("B", 140), ("C", 130)])
        .await
        .unwrap();
    let mut input: std::collections::BTreeMap<String, String> = [
        ("legal_name", format!("{name} GmbH")),
        ("street", "Musterstraße 1".into()),
        ("postal_code", "10115".into()),
        ("city", "Berlin".into()),
        ("country", "DE".into()),
        ("vat_id", "DE136695976".into()),
        ("tax_number", "30/123/45678".into()),
        ("register", "Amtsgericht Charlottenburg HRB 1".into()),
        ("director", "Erika Mustermann".into()),
        ("email", format!("billing@{host}")),
        ("phone", "+49 30 123456".into()),
        ("bank_name", "Demo Bank".into()),
        ("iban", "DE02120300000000202051".into()),
        ("bic", "BYLADEM1001".into()),
        ("invoice_pattern", "RE-{YYYY}-{seq:06}".into()),
        ("credit_note_pattern", "GS-{YYYY}-{seq:06}".into()),
        ("renewal_warning_days", "30,14,3".into()),
        ("footer", String::new()),
        ("print_mail_url", String::new()),
        ("datev_consultant", "1001".into()),
        ("datev_client", "1".into()),
        ("revenue_account", "8400".into()),
        ("receivables_account", "1400".into()),
        ("collective_monthly", "on".into()),
        ("invoice_on_completion", "on".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    input.insert("prorata_credit".into(), "on".into());
    billing::save_settings(&tx, &input, app.state.outbound.policy())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    t
}

pub struct NewCustomer<'a> {
    pub email: &'a str,
    pub country: &'a str,
    pub company: Option<&'a str>,
    pub vat_id: Option<&'a str>,
    pub credit_limit: &'a str,
}

impl Default for NewCustomer<'_> {
    fn default() -> Self {
        Self {
            email: "kim@example.de",
            country: "DE",
            company: None,
            vat_id: None,
            credit_limit: "1000.00",
        }
    }
}

pub async fn customer(state: &AppState, t: &Tenant, n: NewCustomer<'_>) -> customer::Model {
    let tx = state.tenancy.begin(t).await.unwrap();
    let input = CustomerInput {
        kind: Some(
            if n.company.is_some() {
                "company"
            } else {
                "person"
            }
            .into(),
        ),
        first_name: Some("Kim".into()),
        last_name: Some("Kunde".into()),
        company: n.company.map(Into::into),
        street: Some("Weg 1".into()),
        postal_code: Some(
            if n.country == "NL" {
                "1012 AB"
            } else {
                "10115"
            }
            .into(),
        ),
        city: Some("Stadt".into()),
        country: Some(n.country.into()),
        email: Some(n.email.into()),
        vat_id: n.vat_id.map(Into::into),
        credit_limit: Some(n.credit_limit.into()),
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

/// A service entry due at `next` (a month-long hosting product by default).
pub async fn service(
    state: &AppState,
    t: &Tenant,
    c: &customer::Model,
    product: &str,
    months: i32,
    next: chrono::DateTime<Utc>,
) -> service::Model {
    let tx = state.tenancy.begin(t).await.unwrap();
    let s = service::ActiveModel {
        id: Set(uuid::Uuid::now_v7().simple().to_string()),
        customer_id: Set(c.id.clone()),
        product_id: Set(product.into()),
        order_id: Set(None),
        order_item_id: Set(None),
        domain_id: Set(None),
        kind: Set("hosting".into()),
        label: Set(format!("{product} for {}", c.email)),
        period_months: Set(months),
        price_source: Set("order".into()),
        net_minor: Set(1000),
        currency: Set("EUR".into()),
        quantity: Set(1),
        started_at: Set(next - Duration::days(30)),
        next_billing_at: Set(next),
        ends_at: Set(None),
        cancellation: Set("none".into()),
        status: Set("active".into()),
        created_at: Set(next - Duration::days(30)),
        updated_at: Set(next - Duration::days(30)),
        generation: Set(0),
    }
    .insert(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    s
}

/// Runs jobs until none is queued (a retry, e.g. SQLite busy while the mailer
/// writes, comes again after 10 ms).
pub async fn run_jobs(app: &TestApp, t: &Tenant) {
    let mut runner = app.state.runner();
    runner.backoff = Duration::milliseconds(10);
    for _ in 0..200 {
        runner.run_due(t).await.unwrap();
        let tx = app.state.tenancy.begin(t).await.unwrap();
        let queued = relabel_platform::jobs::with_key_prefix(&tx, "")
            .await
            .unwrap()
            .into_iter()
            .filter(|j| j.status == "queued" && j.run_after < Utc::now() + Duration::seconds(5))
            .count();
        drop(tx);
        if queued == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(15)).await;
    }
    panic!("jobs did not settle");
}

pub async fn docs(state: &AppState, t: &Tenant) -> Vec<invoice::Model> {
    use sea_orm::QueryOrder;
    let tx = state.tenancy.begin(t).await.unwrap();
    invoice::Entity::find()
        .order_by_asc(invoice::Column::Number)
        .all(tx.conn())
        .await
        .unwrap()
}

/// A billing run as stored now.
pub async fn run_row(state: &AppState, t: &Tenant, id: &str) -> billing::billing_run::Model {
    let tx = state.tenancy.begin(t).await.unwrap();
    billing::billing_run::Entity::find_by_id(id.to_owned())
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap()
}

pub async fn reconcile(state: &AppState, t: &Tenant) {
    let tx = state.tenancy.begin(t).await.unwrap();
    assert_eq!(billing::reconcile(&tx).await.unwrap(), vec![]);
}

pub async fn balance(state: &AppState, t: &Tenant, c: &customer::Model) -> i64 {
    let tx = state.tenancy.begin(t).await.unwrap();
    relabel_platform::orders::account::Entity::find_by_id(c.id.clone())
        .one(tx.conn())
        .await
        .unwrap()
        .map(|a| a.balance_minor)
        .unwrap_or(0)
}

/// Whether a command-line tool is installed.
pub use crate::deps::tool;

/// A fresh temporary directory.
pub fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("relabel-billing-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `xmllint --schema` against an official schema shipped under `platform/src`
/// (`schema` relative to it).
pub fn assert_schema_valid(xml: &str, schema: &str, what: &str) {
    if !crate::deps::ensure_tools(&["xmllint"]) {
        return;
    }
    let path = tempdir().join(format!("{what}.xml"));
    std::fs::write(&path, xml).unwrap();
    let xsd = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../platform/src")
        .join(schema);
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(xsd)
        .arg(&path)
        .output()
        .expect("xmllint (libxml2-utils, installed by .ci/install-test-deps)");
    assert!(
        out.status.success(),
        "{what} is not schema-valid:\n{}\n{xml}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A plain open invoice row (benchmarks insert many of them at once).
pub fn invoice_row(
    number: String,
    customer_id: String,
    issued_at: chrono::DateTime<Utc>,
    due_at: chrono::DateTime<Utc>,
) -> invoice::ActiveModel {
    invoice::ActiveModel {
        id: Set(uuid::Uuid::now_v7().simple().to_string()),
        kind: Set("invoice".into()),
        number: Set(number),
        customer_id: Set(customer_id),
        status: Set("open".into()),
        issued_at: Set(issued_at),
        due_at: Set(due_at),
        period_start: Set(None),
        period_end: Set(None),
        currency: Set("EUR".into()),
        net_minor: Set(1000),
        vat_minor: Set(190),
        gross_minor: Set(1190),
        settled_minor: Set(0),
        tax_treatment: Set("vat".into()),
        skonto_bp: Set(0),
        skonto_until: Set(None),
        refers_to_id: Set(None),
        refers_to_number: Set(None),
        billing_run_id: Set(None),
        order_id: Set(None),
        einvoice: Set("none".into()),
        delivery: Set("email".into()),
        delivered_at: Set(None),
        buyer: Set("{}".into()),
        seller: Set("{}".into()),
        note: Set(None),
        pdf: Set(None),
        xml: Set(None),
        created_by: Set("bench".into()),
        fees_minor: Set(0),
        interest_minor: Set(0),
        dunning_level: Set(0),
        dunned_at: Set(None),
        court_order_at: Set(None),
    }
}

/// Gives `c` a password and signs `client` in to the customer center at `host`.
pub async fn customer_login(
    app: &TestApp,
    t: &Tenant,
    c: &customer::Model,
    host: &str,
    client: &reqwest::Client,
) {
    let tx = app.state.tenancy.begin(t).await.unwrap();
    let pw = relabel_platform::auth::Password::parse("kunden-passwort-1").unwrap();
    customers::mark_verified(&tx, &c.id).await.unwrap();
    let actor = Actor {
        name: "test",
        ip: None,
    };
    customers::set_password(&tx, &actor, &c.id, &pw)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    crate::login(
        client,
        &app.url(host, "/account/login"),
        &c.email,
        "kunden-passwort-1",
    )
    .await;
}

pub type Calls = std::sync::Arc<std::sync::Mutex<Vec<(String, String, Vec<(String, String)>)>>>;

/// Stripe's API as a local peer: Checkout Sessions and Refunds, answering the
/// minimal objects the client reads; every call is kept (path, key, form).
pub async fn stripe_peer() -> (String, Calls) {
    use poem::listener::{Acceptor, Listener};
    use poem::web::Data;
    use poem::{EndpointExt, Request, Route, handler, post};
    #[handler]
    async fn call(req: &Request, body: String, Data(log): Data<&Calls>) -> poem::Response {
        let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
        let key = req.header("authorization").unwrap_or_default().to_owned();
        let path = req.uri().path().to_owned();
        log.lock().unwrap().push((path.clone(), key, form));
        let body = if path.ends_with("/refunds") {
            serde_json::json!({"id": "re_1", "object": "refund", "amount": 500, "created": 1_700_000_000, "currency": "eur", "payment_intent": "pi_1", "status": "succeeded"})
        } else {
            serde_json::json!({"id": "cs_test_1", "object": "checkout.session", "automatic_tax": {"enabled": false}, "created": 1_700_000_000, "custom_fields": [], "custom_text": {}, "expires_at": 1_700_086_400, "livemode": false, "mode": "payment", "payment_method_types": ["card"], "payment_status": "unpaid", "shipping_options": [], "status": "open", "url": "https://checkout.stripe.test/c/pay/cs_test_1"})
        };
        poem::Response::builder()
            .content_type("application/json")
            .body(body.to_string())
    }
    let log: Calls = Default::default();
    let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().cloned().unwrap();
    let app = Route::new()
        .at("/v1/checkout/sessions", post(call))
        .at("/v1/refunds", post(call))
        .data(log.clone());
    tokio::spawn(async move { poem::Server::new_with_acceptor(acceptor).run(app).await });
    (format!("http://{addr}"), log)
}

pub fn signed(secret: &str, t: i64, body: &str) -> String {
    format!(
        "t={t},v1={}",
        relabel_platform::payments::stripe::sign(secret, t, body.as_bytes())
    )
}

/// The amounts printed on the first line of `text` that contains `label` and
/// an amount, in minor units (every amount has two decimals: its digits are
/// the minor units; dates, with no decimal separator before two final digits,
/// are skipped).
pub fn printed_amounts(text: &str, label: &str) -> Vec<i64> {
    text.lines()
        .filter(|l| l.contains(label))
        .map(amounts_in)
        .find(|a| !a.is_empty())
        .unwrap_or_default()
}

fn amounts_in(line: &str) -> Vec<i64> {
    line.split_whitespace()
        .filter_map(|w| {
            let start = w.find(|c: char| c.is_ascii_digit())?;
            let negative = w[..start].ends_with(['-', '\u{2212}']);
            let value = amount_digits(w.trim_matches(|c: char| !c.is_ascii_digit()))?;
            Some(if negative { -value } else { value })
        })
        .collect()
}

/// `w` (a word trimmed to its digits) in minor units when it is an amount with
/// two decimals.
fn amount_digits(w: &str) -> Option<i64> {
    Some(w)
        .filter(|w| {
            let b = w.as_bytes();
            b.len() >= 4
                && (b[b.len() - 3] == b',' || b[b.len() - 3] == b'.')
                && w.bytes()
                    .all(|c| c.is_ascii_digit() || c == b'.' || c == b',')
                && w.matches(['.', ',']).count() <= 2
                && !(w.len() == 10 && w.matches('.').count() == 2)
        })
        .and_then(|w| w.replace(['.', ','], "").parse().ok())
}

/// The amount printed after `label` on a line that starts with it (a total:
/// the label, then an amount, with or without its currency code before it),
/// e.g. `Total  EUR 68.37` for "Total" but not `Total net  EUR 59.41`.
pub fn printed_total(text: &str, label: &str) -> Option<i64> {
    text.lines().find_map(|l| {
        let rest = l.trim_start().strip_prefix(label)?.trim_start();
        let code = rest.len() > 4
            && rest.as_bytes()[..3].iter().all(u8::is_ascii_uppercase)
            && rest.as_bytes()[3] == b' ';
        let rest = if code { rest[4..].trim_start() } else { rest };
        if !rest.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '\u{2212}') {
            return None;
        }
        amounts_in(rest).first().copied()
    })
}

/// The rows of a document's table as printed: each line that starts with a
/// position number and holds at least `min` amounts, with its amounts.
pub fn printed_rows(text: &str, min: usize) -> Vec<Vec<i64>> {
    text.lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .and_then(|w| w.parse::<u32>().ok())
                .is_some_and(|p| (1..1000).contains(&p))
        })
        .map(amounts_in)
        .filter(|a| a.len() >= min)
        .collect()
}

/// Sums what an invoice or credit note prints (`pdftotext -layout`) and
/// compares with its printed totals: the line amounts make the net total, the
/// VAT groups' bases make it too, net plus the groups' VAT is the grand total,
/// and the grand total less what was settled is the amount due.
pub fn assert_invoice_adds_up(text: &str) {
    let de = text.contains("Summe netto");
    let label = |de_: &'static str, en: &'static str| if de { de_ } else { en };
    let rows = printed_rows(text, 2);
    assert!(!rows.is_empty(), "no rows in:\n{text}");
    let lines: i64 = rows.iter().filter_map(|r| r.last()).sum();
    let net = printed_total(text, label("Summe netto", "Total net"))
        .unwrap_or_else(|| panic!("no net total in:\n{text}"));
    assert_eq!(lines, net, "the lines do not make the net total:\n{text}");
    let vat_label = label("USt.", "VAT");
    let groups: Vec<Vec<i64>> = text
        .lines()
        .filter(|l| l.trim_start().starts_with(vat_label) && l.contains('%'))
        .map(amounts_in)
        .filter(|a| a.len() == 2)
        .collect();
    assert!(!groups.is_empty(), "no VAT groups in:\n{text}");
    let base: i64 = groups.iter().map(|g| g[0]).sum();
    let vat: i64 = groups.iter().map(|g| g[1]).sum();
    assert_eq!(
        base, net,
        "the VAT bases do not make the net total:\n{text}"
    );
    let gross = printed_total(text, label("Gesamtbetrag", "Total"))
        .unwrap_or_else(|| panic!("no grand total in:\n{text}"));
    assert_eq!(net + vat, gross, "net + VAT is not the total:\n{text}");
    if let Some(paid) = printed_total(text, label("Bereits beglichen", "Already settled")) {
        let due = printed_total(text, label("Zu zahlen", "Amount due"))
            .unwrap_or_else(|| panic!("no amount due in:\n{text}"));
        assert_eq!(gross + paid, due, "total less settled is not due:\n{text}");
    }
}

/// Sums a statement of account as printed: every row's balance is the one
/// before plus its amount, and the printed closing balance is the last.
pub fn assert_statement_adds_up(text: &str) {
    let de = text.contains("Saldo");
    let rows = printed_rows(text, 2);
    assert!(!rows.is_empty(), "no rows in:\n{text}");
    let mut running = 0;
    for r in &rows {
        let (amount, balance) = (r[r.len() - 2], r[r.len() - 1]);
        running += amount;
        assert_eq!(
            running, balance,
            "row {r:?} does not carry the balance:\n{text}"
        );
    }
    let closing = printed_total(text, if de { "Saldo" } else { "Balance" })
        .unwrap_or_else(|| panic!("no closing balance in:\n{text}"));
    assert_eq!(
        closing, running,
        "the closing balance is not the rows' sum:\n{text}"
    );
}

/// The text of a PDF as `pdftotext` reads it (installed by
/// `.ci/install-test-deps`; `None` outside CI when it is missing).
pub fn pdf_text(pdf: &[u8]) -> Option<String> {
    pdf_to_text(pdf, &[])
}

/// [`pdf_text`] with the page's layout kept (`-layout`): a table row and a
/// total with its label each stay on one line, as printed.
pub fn pdf_layout_text(pdf: &[u8]) -> Option<String> {
    pdf_to_text(pdf, &["-layout"])
}

fn pdf_to_text(pdf: &[u8], args: &[&str]) -> Option<String> {
    if !crate::deps::ensure_tools(&["pdftotext"]) {
        return None;
    }
    let dir = tempdir();
    std::fs::write(dir.join("d.pdf"), pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(args)
        .arg(dir.join("d.pdf"))
        .arg("-")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A CAMT.053 statement of `iban` with credit entries
/// `(amount, currency, reference, bank reference)`.
pub fn camt_file(iban: &str, entries: &[(&str, &str, &str, &str)]) -> String {
    // (amount, currency, reference, bank ref)
    let mut x = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-11-30T08:00:00</CreDtTm></GrpHdr>
<Stmt><Id>STMT-1</Id><CreDtTm>2026-11-30T08:00:00</CreDtTm>"#,
    );
    x.push_str(&format!("<Acct><Id><IBAN>{iban}</IBAN></Id></Acct>"));
    x.push_str("<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-30</Dt></Dt></Bal>");
    for (amt, ccy, reference, r) in entries {
        x.push_str(&format!(
            "<Ntry><Amt Ccy=\"{ccy}\">{amt}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>\
<BookgDt><Dt>2026-11-29</Dt></BookgDt><ValDt><Dt>2026-11-29</Dt></ValDt><AcctSvcrRef>{r}</AcctSvcrRef>\
<BkTxCd/><NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Payer</Nm></Dbtr></RltdPties>\
<RmtInf><Ustrd>{reference}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
        ));
    }
    x.push_str("</Stmt></BkToCstmrStmt></Document>");
    x
}

/// Letters a print-mail peer received.
pub type Letters = std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>;

/// A print-mail service on loopback: takes letters, answers with an id.
pub async fn printmail_peer() -> (String, Letters) {
    use poem::listener::{Acceptor, Listener};
    use poem::web::{Data, Json};
    use poem::{EndpointExt, Route, handler, post};
    #[handler]
    fn letter(
        Data(log): Data<&Letters>,
        Json(body): Json<serde_json::Value>,
    ) -> Json<serde_json::Value> {
        log.lock().unwrap().push(body);
        Json(serde_json::json!({ "id": "pm-1" }))
    }
    let log: Letters = Default::default();
    let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().cloned().unwrap();
    let app = Route::new().at("/letters", post(letter)).data(log.clone());
    tokio::spawn(async move { poem::Server::new_with_acceptor(acceptor).run(app).await });
    (format!("http://{addr}/letters"), log)
}
