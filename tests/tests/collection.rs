//! The rest of payments and dunning (issue 9): the last dunning level suspends a
//! customer's hosting until paid (D1), the operator collects from resellers the
//! same way and pauses their ordering (T5), credit scores set the credit limit
//! by the reseller's rule (Y5), newsletters with double opt-in and mailings
//! (A12), and editable dunning levels and base rates.

use chrono::{Duration, Utc};
use relabel_platform::AppState;
use relabel_platform::billing::{self, invoice};
use relabel_platform::customers::{self, customer};
use relabel_platform::newsletter;
use relabel_platform::orders::{self, Checkout, Line};
use relabel_platform::payments::{self, PaymentInput, dunning};
use relabel_tenants::Tenant;
use relabel_tests::billing::{NewCustomer, balance, customer, reconcile, run_jobs, setup};
use relabel_tests::{spawn_app_with, unescape};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

async fn place(
    state: &AppState,
    t: &Tenant,
    c: &customer::Model,
    line: Line,
    score: Option<i32>,
) -> Result<orders::Placed, orders::OrderError> {
    let tx = state.tenancy.begin(t).await.unwrap();
    let placed = orders::place(
        &tx,
        &state.prices,
        Checkout {
            customer_id: &c.id,
            cart_id: "ctest",
            lines: &[line],
            coupon: None,
            ip: Some("127.0.0.1"),
            ip_country: None,
            bureau_score: score,
            actor: "test",
        },
    )
    .await;
    if placed.is_ok() {
        tx.commit().await.unwrap();
    }
    placed
}

fn hosting() -> Line {
    Line {
        product_id: "hosting-starter".into(),
        action: "order".into(),
        period_months: 1,
        ..Default::default()
    }
}

async fn reload(state: &AppState, t: &Tenant, id: &str) -> customer::Model {
    let tx = state.tenancy.begin(t).await.unwrap();
    customers::get(&tx, id).await.unwrap()
}

/// Levels as staff enter them: (days, fee, interest, suspend) for levels 1-4.
async fn set_levels(
    state: &AppState,
    t: &Tenant,
    levels: [(&str, &str, bool, bool); 4],
) -> Result<(), billing::BillingError> {
    let tx = state.tenancy.begin_write(t).await.unwrap();
    let input: Vec<dunning::LevelInput> = levels
        .iter()
        .enumerate()
        .map(|(k, (days, fee, interest, suspend))| dunning::LevelInput {
            level: i32::try_from(k).unwrap() + 1,
            days: (*days).into(),
            fee: (*fee).into(),
            interest: *interest,
            suspend: *suspend,
        })
        .collect();
    let r = dunning::save_levels(&tx, &input, "staff@test").await;
    if r.is_ok() {
        tx.commit().await.unwrap();
    }
    r
}

fn field_names(e: billing::BillingError) -> Vec<String> {
    match e {
        billing::BillingError::Invalid(f) => f.iter().map(|e| e.field.clone()).collect(),
        other => panic!("expected field errors, got {other}"),
    }
}

async fn overdue(state: &AppState, t: &Tenant, c: &customer::Model, days: i64) -> invoice::Model {
    let tx = state.tenancy.begin(t).await.unwrap();
    let inv = billing::open_items(&tx, &c.id)
        .await
        .unwrap()
        .into_iter()
        .next()
        .expect("an open item");
    let mut m: invoice::ActiveModel = inv.into();
    m.due_at = Set(Utc::now() - Duration::days(days));
    let inv = m.update(tx.conn()).await.unwrap();
    tx.commit().await.unwrap();
    inv
}

#[tokio::test]
async fn levels_and_base_rates_are_edited_with_field_errors() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    // Days must rise from level to level; fees are amounts.
    let bad = set_levels(
        &app.state,
        &t,
        [
            ("7", "0", false, false),
            ("5", "5.00", true, false),
            ("x", "-1", true, false),
            ("60", "15.00", true, true),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(field_names(bad), ["days_2", "days_3", "fee_3"]);
    set_levels(
        &app.state,
        &t,
        [
            ("10", "0", false, false),
            ("20", "2,50", true, false),
            ("30", "7.50", true, false),
            ("40", "12.00", true, true),
        ],
    )
    .await
    .unwrap();
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let levels = dunning::levels(&tx).await.unwrap();
    assert_eq!(
        levels
            .iter()
            .map(|l| (l.days, l.fee_minor, l.suspend))
            .collect::<Vec<_>>(),
        [
            (10, 0, false),
            (20, 250, false),
            (30, 750, false),
            (40, 1200, true)
        ]
    );
    // Base rates: a bad day or rate names the field; a new period is used by the
    // interest from its day on.
    let e = dunning::save_rate(&tx, "2027-13-01", "1,5", "staff@test")
        .await
        .unwrap_err();
    assert_eq!(field_names(e), ["valid_from"]);
    let e = dunning::save_rate(&tx, "2027-01-01", "1.234", "staff@test")
        .await
        .unwrap_err();
    assert_eq!(field_names(e), ["rate"]);
    dunning::save_rate(&tx, "2027-01-01", "-0,5", "staff@test")
        .await
        .unwrap();
    let rates = dunning::rates(&tx).await.unwrap();
    assert!(rates.contains(&(chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(), -50)));
    tx.commit().await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn the_last_dunning_level_suspends_hosting_until_the_customer_pays() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let panel = relabel_platform::hosting::devpanel::start().await.unwrap();
    relabel_platform::hosting::add_server(
        app.state.tenancy.backend().shared(),
        &app.state.sealer,
        "hosting-starter",
        "web-1",
        10,
        &panel.url("web-1"),
        relabel_platform::hosting::devpanel::TOKEN,
    )
    .await
    .unwrap();
    let c = customer(&app.state, &t, NewCustomer::default()).await;
    let other = customer(
        &app.state,
        &t,
        NewCustomer {
            email: "other@example.de",
            ..Default::default()
        },
    )
    .await;
    // Both order hosting; the account is created and the order invoiced.
    place(&app.state, &t, &c, hosting(), None).await.unwrap();
    place(&app.state, &t, &other, hosting(), None)
        .await
        .unwrap();
    run_jobs(&app, &t).await;
    let statuses = || {
        panel
            .panel
            .accounts()
            .values()
            .map(|a| a.status.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(statuses(), ["active", "active"]);
    // The reminder already suspends (the reseller's choice); only `c` is overdue.
    set_levels(
        &app.state,
        &t,
        [
            ("7", "0", false, true),
            ("21", "5.00", true, true),
            ("35", "10.00", true, true),
            ("49", "15.00", true, true),
        ],
    )
    .await
    .unwrap();
    let inv = overdue(&app.state, &t, &c, 10).await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let preview = dunning::plan(&tx, Utc::now()).await.unwrap();
    drop(tx);
    assert_eq!(preview.len(), 1);
    assert!(preview[0].suspend);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    dunning::run(&tx, Utc::now(), "staff@test").await.unwrap();
    tx.commit().await.unwrap();
    assert!(reload(&app.state, &t, &c.id).await.suspended_at.is_some());
    assert!(
        reload(&app.state, &t, &other.id)
            .await
            .suspended_at
            .is_none()
    );
    run_jobs(&app, &t).await;
    let mut s = statuses();
    s.sort();
    assert_eq!(s, ["active", "suspended"], "only the debtor's account");
    // A second run the same day changes nothing.
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let again = dunning::run(&tx, Utc::now(), "staff@test").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(again.letters, 0);

    // Half paid: still suspended. Paid in full: unsuspended.
    let pay = |amount: String| PaymentInput {
        customer_id: c.id.clone(),
        amount,
        currency: String::new(),
        rate: String::new(),
        method: "transfer".into(),
        reference: inv.number.clone(),
        invoice_id: String::new(),
        booked_on: String::new(),
        note: String::new(),
        external_id: None,
    };
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    payments::record(&tx, &pay("1.00".into()), "staff@test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(reload(&app.state, &t, &c.id).await.suspended_at.is_some());
    let open = -balance(&app.state, &t, &c).await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    payments::record(&tx, &pay(billing::money::decimal(open)), "staff@test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(reload(&app.state, &t, &c.id).await.suspended_at.is_none());
    run_jobs(&app, &t).await;
    assert_eq!(statuses(), ["active", "active"]);
    reconcile(&app.state, &t).await;
    app.stop().await;
}

#[tokio::test]
async fn a_bureau_score_sets_the_credit_limit_by_the_resellers_rule() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let mut s: customers::settings::ActiveModel = customers::settings(&tx).await.unwrap().into();
    s.score_limits = Set("0:0, 500:100.00, 800:1000.00".into());
    s.update(tx.conn()).await.unwrap();
    tx.commit().await.unwrap();
    let low = customer(&app.state, &t, NewCustomer::default()).await;
    let good = customer(
        &app.state,
        &t,
        NewCustomer {
            email: "good@example.de",
            ..Default::default()
        },
    )
    .await;
    // A low score lowers the limit to 0: the order waits in clearing.
    let placed = place(&app.state, &t, &low, hosting(), Some(120))
        .await
        .unwrap();
    assert!(
        matches!(placed.outcome, orders::Outcome::Clearing { .. }),
        "{:?}",
        placed.outcome
    );
    let low = reload(&app.state, &t, &low.id).await;
    assert_eq!(
        (low.credit_score, low.credit_limit_minor),
        (Some(120), Some(0))
    );
    // A good score raises it.
    let placed = place(&app.state, &t, &good, hosting(), Some(850))
        .await
        .unwrap();
    assert!(
        matches!(placed.outcome, orders::Outcome::Accepted { .. }),
        "{:?}",
        placed.outcome
    );
    let good = reload(&app.state, &t, &good.id).await;
    assert_eq!(good.credit_limit_minor, Some(100_000));
    assert!(good.scored_at.is_some());
    // A signup is scored too (by a job, against a bureau peer that scores
    // "Risiko" low), so a new customer's limit follows the rule before any order.
    let bureau = bureau_peer().await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let mut s: customers::settings::ActiveModel = customers::settings(&tx).await.unwrap().into();
    s.bureau_url = Set(Some(bureau));
    s.update(tx.conn()).await.unwrap();
    tx.commit().await.unwrap();
    for (last, email) in [
        ("Risiko", "risiko@example.de"),
        ("Sicher", "sicher@example.de"),
    ] {
        let visitor = app.client();
        let csrf = relabel_tests::csrf(&visitor, &app.url("alpha.test", "/account/signup")).await;
        let r = visitor
            .post(app.url("alpha.test", "/account/signup"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("kind", "person"),
                ("first_name", "Erika"),
                ("last_name", last),
                ("email", email),
                ("password", "erika-pass-2026"),
                ("street", "Hauptstr. 1"),
                ("postal_code", "10115"),
                ("city", "Berlin"),
                ("country", "DE"),
                ("language", "de"),
                ("accept_terms", "1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    run_jobs(&app, &t).await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    for (email, score, limit) in [
        ("risiko@example.de", 120, 0),
        ("sicher@example.de", 820, 100_000),
    ] {
        let c = customers::find_by_email(&tx, email).await.unwrap().unwrap();
        assert_eq!(
            (c.credit_score, c.credit_limit_minor),
            (Some(score), Some(limit)),
            "{email}"
        );
    }
    drop(tx);

    // The rule is validated where staff enter it.
    let client = app.client();
    relabel_tests::login(
        &client,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "owner-password-1",
    )
    .await;
    let page = client
        .get(app.url("alpha.test", "/console/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = relabel_tests::input_value(&page, "csrf").unwrap();
    let r = client
        .post(app.url("alpha.test", "/console/settings"))
        .form(&[("csrf", csrf.as_str()), ("score_limits", "500:abc")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = unescape(&r.text().await.unwrap());
    assert!(
        html.contains("Enter bands as score:limit") || html.contains("Geben Sie Stufen als"),
        "the error names the rule"
    );
    app.stop().await;
}

#[tokio::test]
async fn newsletters_need_double_opt_in_and_every_mailing_can_be_left() {
    let app = spawn_app_with(|_| {}).await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let tb = setup(&app, "Beta", "beta.test").await;
    let client = app.client();
    let form_url = app.url("alpha.test", "/newsletter");
    let page = client
        .get(&form_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Produktneuigkeiten"), "the seeded topics");
    let csrf = relabel_tests::input_value(&page, "csrf").unwrap();
    // Bad input names the field and writes nothing.
    let r = client
        .post(&form_url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "nobody"),
            ("categories", "offers"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = client
        .post(&form_url)
        .form(&[("csrf", csrf.as_str()), ("email", "leser@example.de")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = client
        .post(&form_url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "leser@example.de"),
            ("categories", "not-a-topic"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    // Two topics: one mail with a confirmation link for each.
    for email in ["leser@example.de", "zweite@example.de"] {
        let r = client
            .post(&form_url)
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", email),
                ("categories", "offers"),
                ("categories", "maintenance"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let (_, body) = relabel_tests::last_mail(&app, "alpha.test", "leser@example.de").await;
    let confirm = relabel_tests::link_path(&body, "/newsletter/confirm/");
    // Another reseller's host does not know the token.
    let r = client
        .get(app.url("beta.test", &confirm))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = client
        .get(app.url("alpha.test", &confirm))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Only the confirmed subscription gets the mailing ("zweite" never confirmed).
    let staff = app.client();
    relabel_tests::login(
        &staff,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "owner-password-1",
    )
    .await;
    let console = staff
        .get(app.url("alpha.test", "/console/newsletter"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf_staff = relabel_tests::input_value(&console, "csrf").unwrap();
    // Staff rename a topic; an empty name is refused and changes nothing.
    for name in ["", "Angebote & Aktionen"] {
        staff
            .post(app.url("alpha.test", "/console/newsletter/categories/offers"))
            .form(&[
                ("csrf", csrf_staff.as_str()),
                ("name", name),
                ("description", "Rabatte"),
            ])
            .send()
            .await
            .unwrap();
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        let topics = newsletter::categories(&tx, true).await.unwrap();
        let offers = topics.iter().find(|c| c.id == "offers").unwrap();
        let want = if name.is_empty() { "Angebote" } else { name };
        assert_eq!(offers.name, want);
    }
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let confirmed = newsletter::subscription::Entity::find()
        .filter(newsletter::subscription::Column::Status.eq("confirmed"))
        .all(tx.conn())
        .await
        .unwrap();
    drop(tx);
    assert_eq!(confirmed.len(), 1);
    let topic = confirmed[0].category_id.clone();
    // A mailing without a subject is refused, naming the field.
    let r = staff
        .post(app.url("alpha.test", "/console/newsletter/mailings"))
        .form(&[
            ("csrf", csrf_staff.as_str()),
            ("category_id", topic.as_str()),
            ("subject", ""),
            ("body", "Text"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success() || r.status().is_redirection());
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    assert!(newsletter::mailings(&tx).await.unwrap().is_empty());
    drop(tx);
    staff
        .post(app.url("alpha.test", "/console/newsletter/mailings"))
        .form(&[
            ("csrf", csrf_staff.as_str()),
            ("category_id", topic.as_str()),
            ("subject", "Winterangebot"),
            ("body", "Alle Domains 20 % günstiger."),
        ])
        .send()
        .await
        .unwrap();
    run_jobs(&app, &t).await;
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let sent: Vec<_> = relabel_platform::mail::recent(&tx, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.subject == "Winterangebot")
        .collect();
    let mailing = newsletter::mailings(&tx).await.unwrap().remove(0);
    drop(tx);
    assert_eq!(sent.len(), 1, "only the confirmed address");
    assert_eq!(sent[0].to_addr, "leser@example.de");
    assert_eq!((mailing.status.as_str(), mailing.sent), ("sent", 1));
    // The mailing carries its own unsubscribe link, not the opt-in token, and
    // names it in List-Unsubscribe for mail clients' one-click (RFC 8058).
    let leave = relabel_tests::link_path(&sent[0].text_body, "/newsletter/unsubscribe/");
    assert!(
        !sent[0].text_body.contains(&confirmed[0].token),
        "the opt-in token is in the mailing"
    );
    let header = sent[0].list_unsubscribe.clone().expect("List-Unsubscribe");
    assert!(header.ends_with(&leave), "{header} / {leave}");
    // A forged or altered link leaves no one.
    // (Another last character than the real one: a `0` would be no forgery
    // when the token already ends in `0`.)
    let other = if leave.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{other}", &leave[..leave.len() - 1]);
    let r = app
        .client()
        .post(app.url("alpha.test", &forged))
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The one-click POST works without a session; the next mailing skips them.
    let r = app
        .client()
        .post(app.url("alpha.test", &leave))
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tx = app.state.tenancy.begin(&t).await.unwrap();
    let m = newsletter::start_mailing(&tx, &topic, "Zweites", "Text", "staff@test", None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(m.recipients, 0);
    run_jobs(&app, &t).await;
    // Beta has its own topics and no subscribers.
    let tx = app.state.tenancy.begin(&tb).await.unwrap();
    assert!(newsletter::counts(&tx).await.unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn the_operator_collects_from_resellers_and_pauses_their_ordering() {
    let app = spawn_app_with(|_| {}).await;
    let ta = setup(&app, "Alpha", "alpha.test").await;
    let tb = setup(&app, "Beta", "beta.test").await;
    let c = customer(&app.state, &ta, NewCustomer::default()).await;
    let cb = customer(&app.state, &tb, NewCustomer::default()).await;
    let domain = |name: &str| Line {
        domain: Some(name.into()),
        action: "register".into(),
        period_months: 12,
        ..Default::default()
    };
    place(&app.state, &ta, &c, domain("grosshandel.de"), None)
        .await
        .unwrap();
    run_jobs(&app, &ta).await;
    let billed = billing::platform::run(&app.state, "operator")
        .await
        .unwrap();
    assert_eq!(billed.invoices.len(), 1);
    let books = app.state.tenancy.platform_books().await.unwrap();
    let shared = app.state.tenancy.backend().shared();
    let account = || async {
        relabel_platform::orders::wholesale::account(shared, ta.id.as_str())
            .await
            .unwrap()
            .unwrap()
    };
    let gross = -account().await.balance_minor;
    assert!(gross > 0);
    // The operator's levels: the reminder already pauses ordering; the platform
    // invoice is 10 days overdue.
    set_levels(
        &app.state,
        &books,
        [
            ("7", "0", false, true),
            ("21", "5.00", true, true),
            ("35", "10.00", true, true),
            ("49", "15.00", true, true),
        ],
    )
    .await
    .unwrap();
    let reseller = reload(&app.state, &books, ta.id.as_str()).await;
    overdue(&app.state, &books, &reseller, 10).await;

    let secret = app
        .operator("op@platform.test", "operator-password-1")
        .await;
    let op = app.client();
    app.operator_login(&op, "op@platform.test", "operator-password-1", &secret)
        .await;
    let page = op
        .get(app.url("localhost", "/operator/billing"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("Alpha"),
        "the reseller in the dunning preview"
    );
    let csrf = relabel_tests::input_value(&page, "csrf").unwrap();
    let r = op
        .post(app.url("localhost", "/operator/billing/collection/dunning"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(account().await.ordering_suspended_at.is_some());
    // Alpha's storefront takes no orders; beta's does.
    let refused = place(&app.state, &ta, &c, hosting(), None)
        .await
        .unwrap_err();
    match refused {
        orders::OrderError::Invalid(e) => {
            assert_eq!(
                e.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(),
                ["err.ordering_paused"]
            );
        }
        other => panic!("expected the pause, got {other:?}"),
    }
    place(&app.state, &tb, &cb, hosting(), None).await.unwrap();
    // Alpha's console says why.
    let alpha = app.client();
    relabel_tests::login(
        &alpha,
        &app.url("alpha.test", "/console/login"),
        "owner@alpha.test",
        "owner-password-1",
    )
    .await;
    let billing_page = alpha
        .get(app.url("alpha.test", "/console/billing"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        billing_page.contains("flash flash-error"),
        "the pause is shown"
    );

    // Bad input names the field; the payment in full resumes ordering and the
    // reseller's platform balance follows the books.
    let pay = |amount: String| {
        let op = op.clone();
        let csrf = csrf.clone();
        let url = app.url(
            "localhost",
            &format!("/operator/billing/collection/resellers/{}/payment", ta.id),
        );
        async move {
            op.post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("amount", amount.as_str()),
                    ("reference", "Ueberweisung"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    pay("zwölf".into()).await;
    assert_eq!(account().await.balance_minor, -gross, "nothing booked");
    pay(billing::money::decimal(gross)).await;
    let acc = account().await;
    assert_eq!(acc.balance_minor, 0);
    assert!(acc.ordering_suspended_at.is_none());
    place(&app.state, &ta, &c, hosting(), None).await.unwrap();

    // SEPA: the operator enters its legal data and bank, a creditor id and the
    // reseller's mandate; the next platform invoice is collected in a debit run
    // whose pain.008 validates.
    place(&app.state, &ta, &c, domain("zweitens.de"), None)
        .await
        .unwrap();
    run_jobs(&app, &ta).await;
    let second = billing::platform::run(&app.state, "operator")
        .await
        .unwrap();
    assert_eq!(second.invoices.len(), 1);
    let base = "/operator/billing/collection";
    let post = |path: &str, form: Vec<(&str, &str)>| {
        let op = op.clone();
        let url = app.url("localhost", &format!("{base}{path}"));
        let mut form: Vec<(String, String)> = form
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        form.push(("csrf".into(), csrf.clone()));
        async move { op.post(url).form(&form).send().await.unwrap() }
    };
    let legal = op
        .get(app.url("localhost", &format!("{base}/legal")))
        .send()
        .await
        .unwrap();
    assert_eq!(legal.status(), 200);
    let fields: Vec<(&str, &str)> = vec![
        ("legal_name", "relabel Plattform GmbH"),
        ("street", "Plattformweg 1"),
        ("postal_code", "10115"),
        ("city", "Berlin"),
        ("country", "DE"),
        ("vat_id", "DE136695976"),
        ("email", "billing@platform.test"),
        ("bank_name", "Demo Bank"),
        ("iban", "DE02 1203 0000 0000 2020 51"),
        ("bic", "BYLADEM1001"),
        ("invoice_pattern", "PL-{YYYY}-{seq:06}"),
        ("credit_note_pattern", "PG-{YYYY}-{seq:06}"),
        ("renewal_warning_days", "30,14,3"),
        ("revenue_account", "8400"),
        ("receivables_account", "1400"),
        ("datev_consultant", "1001"),
        ("datev_client", "1"),
    ];
    let bad = post("/legal", vec![("legal_name", "x"), ("iban", "DE00 1234")]).await;
    assert_eq!(bad.status(), 422, "the IBAN is checked");
    let saved = post("/legal", fields).await;
    assert_eq!(
        saved.status(),
        303,
        "{}",
        saved.text().await.unwrap_or_default()
    );
    post(
        "/settings",
        vec![
            ("creditor_id", "DE98ZZZ09999999999"),
            ("debit_delay_days", "0"),
            ("debit_lead_days", "2"),
            ("return_fee", "3.00"),
            ("sepa_version", "08"),
        ],
    )
    .await;
    let today = Utc::now().date_naive().to_string();
    let bad = post(
        &format!("/resellers/{}/mandate", ta.id),
        vec![("iban", "DE00 0000"), ("mandate_signed_on", today.as_str())],
    )
    .await;
    assert_eq!(bad.status(), 303);
    assert_eq!(
        reload(&app.state, &books, ta.id.as_str())
            .await
            .billing_type,
        "BANKTRANSFER"
    );
    post(
        &format!("/resellers/{}/mandate", ta.id),
        vec![
            ("iban", "DE89 3704 0044 0532 0130 00"),
            ("mandate_signed_on", today.as_str()),
        ],
    )
    .await;
    let reseller = reload(&app.state, &books, ta.id.as_str()).await;
    assert_eq!(
        (
            reseller.billing_type.as_str(),
            reseller.debit_status.as_str()
        ),
        ("DEBIT", "ACTIVE")
    );
    let r = post("/debit-runs", vec![]).await;
    assert_eq!(r.status(), 303);
    let tx = app.state.tenancy.begin(&books).await.unwrap();
    let runs = payments::sepa::runs(&tx).await.unwrap();
    drop(tx);
    assert_eq!(runs.len(), 1);
    let inv2 = billing::platform::invoices(&app.state, Some(ta.id.as_str()))
        .await
        .unwrap()
        .0
        .remove(0);
    assert_eq!((runs[0].items, runs[0].total_minor), (1, inv2.gross_minor));
    relabel_tests::billing::assert_schema_valid(
        &runs[0].xml,
        "payments/schema/pain.008.001.08.xsd",
        "platform-pain008",
    );
    assert!(runs[0].xml.contains("relabel Plattform GmbH"));
    let xml = op
        .get(app.url(
            "localhost",
            &format!("{base}/debit-runs/{}/xml", runs[0].id),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(xml.status(), 200);
    // Collected on the collection date, not when the file is written.
    assert_eq!(
        account().await.balance_minor,
        -inv2.gross_minor,
        "pending until the collection date"
    );
    let tx = app.state.tenancy.begin(&books).await.unwrap();
    assert_eq!(
        payments::sepa::settle_due(&tx, runs[0].collect_on, "schedule")
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();
    assert_eq!(account().await.balance_minor, 0, "collected");

    // The reseller's bank returns the debit (MD06, mandate revoked): the
    // operator enters the R-transaction; the invoice is open again with the
    // 3.00 return fee, and the mandate is no longer used.
    let tx = app.state.tenancy.begin(&books).await.unwrap();
    let item = payments::debit_item::Entity::find()
        .one(tx.conn())
        .await
        .unwrap()
        .unwrap();
    drop(tx);
    let bad = post(
        "/returns",
        vec![
            ("end_to_end_id", item.end_to_end_id.as_str()),
            ("reason", "XX99"),
        ],
    )
    .await;
    assert_eq!(bad.status(), 303);
    assert_eq!(
        account().await.balance_minor,
        0,
        "an unknown reason books nothing"
    );
    let r = post(
        "/returns",
        vec![
            ("end_to_end_id", item.end_to_end_id.as_str()),
            ("reason", "MD06"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(account().await.balance_minor, -(inv2.gross_minor + 300));
    assert_eq!(
        reload(&app.state, &books, ta.id.as_str())
            .await
            .debit_status,
        "REVOKED"
    );
    let again = post(
        "/returns",
        vec![
            ("end_to_end_id", item.end_to_end_id.as_str()),
            ("reason", "MD06"),
        ],
    )
    .await;
    assert_eq!(again.status(), 303);
    assert_eq!(
        account().await.balance_minor,
        -(inv2.gross_minor + 300),
        "returned once"
    );

    // It pays by transfer instead: the operator's bank statement is imported,
    // the line matched to the invoice by its number; an unknown reference waits
    // for review and is booked by hand to the reseller's number.
    let amount = format!("{}.{:02}", inv2.gross_minor / 100, inv2.gross_minor % 100);
    let statement = relabel_tests::billing::camt_file(
        "DE02120300000000202051",
        &[
            (
                amount.as_str(),
                "EUR",
                &format!("Zahlung {}", inv2.number),
                "BANK-1",
            ),
            ("3.00", "EUR", "Gebuehr", "BANK-2"),
        ],
    );
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(statement.into_bytes()).file_name("camt.xml"),
        );
    let r = op
        .post(app.url("localhost", &format!("{base}/import")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(account().await.balance_minor, -300, "the invoice is paid");
    let tx = app.state.tenancy.begin(&books).await.unwrap();
    let review = payments::camt::review_lines(&tx).await.unwrap();
    drop(tx);
    assert_eq!(review.len(), 1);
    let page = op
        .get(app.url("localhost", "/operator/billing"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Gebuehr"), "the line to review is listed");
    let number = reload(&app.state, &books, ta.id.as_str()).await.number;
    post(
        &format!("/lines/{}", review[0].id),
        vec![("action", "book"), ("customer", number.as_str())],
    )
    .await;
    assert_eq!(account().await.balance_minor, 0, "the fee is paid too");
    reconcile(&app.state, &books).await;
    app.stop().await;
}

#[tokio::test]
async fn resellers_pay_the_platform_through_stripe_and_dashboard_refunds_are_booked() {
    use relabel_tests::billing::{signed, stripe_peer};
    let (peer, calls) = stripe_peer().await;
    let app = spawn_app_with(|c| c.stripe_api_url = peer.clone()).await;
    let ta = setup(&app, "Alpha", "alpha.test").await;
    let _tb = setup(&app, "Beta", "beta.test").await;
    let c = customer(&app.state, &ta, NewCustomer::default()).await;
    let line = Line {
        domain: Some("plattform.de".into()),
        action: "register".into(),
        period_months: 12,
        ..Default::default()
    };
    place(&app.state, &ta, &c, line, None).await.unwrap();
    run_jobs(&app, &ta).await;
    billing::platform::run(&app.state, "operator")
        .await
        .unwrap();
    let books = app.state.tenancy.platform_books().await.unwrap();
    let tx = app.state.tenancy.begin(&books).await.unwrap();
    payments::stripe::save_keys(
        &app.state,
        &tx,
        "pk_test_1",
        "sk_test_platform",
        "whsec_platform",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let inv = billing::platform::invoices(&app.state, Some(ta.id.as_str()))
        .await
        .unwrap()
        .0
        .remove(0);
    let shared = app.state.tenancy.backend().shared();
    let balance_of = || async {
        relabel_platform::orders::wholesale::account(shared, ta.id.as_str())
            .await
            .unwrap()
            .unwrap()
            .balance_minor
    };
    assert_eq!(balance_of().await, -inv.gross_minor);

    let console = |host: &'static str| {
        let client = app.client();
        let app = &app;
        async move {
            relabel_tests::login(
                &client,
                &app.url(host, "/console/login"),
                &format!("owner@{host}"),
                "owner-password-1",
            )
            .await;
            let page = client
                .get(app.url(host, "/console/billing"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let csrf = relabel_tests::input_value(&page, "csrf").unwrap();
            (client, csrf, page)
        }
    };
    let (alpha, csrf, page) = console("alpha.test").await;
    assert!(page.contains(&inv.number));
    let r = alpha
        .post(app.url("alpha.test", "/console/billing/platform/pay"))
        .form(&[("csrf", csrf.as_str()), ("invoice", inv.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "https://checkout.stripe.test/c/pay/cs_test_1"
    );
    {
        let log = calls.lock().unwrap();
        let (_, key, form) = &log[0];
        assert_eq!(key, "Bearer sk_test_platform", "the operator's account");
        let get = |k: &str| form.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
        assert_eq!(get("metadata[tenant]").as_deref(), Some(books.id.as_str()));
        assert_eq!(
            get("metadata[customer_id]").as_deref(),
            Some(ta.id.as_str())
        );
        let amount = inv.gross_minor.to_string();
        assert_eq!(
            get("line_items[0][price_data][unit_amount]").as_deref(),
            Some(amount.as_str())
        );
    }
    // Beta cannot pay (or see) alpha's platform invoice.
    let (beta, csrf_b, _) = console("beta.test").await;
    let r = beta
        .post(app.url("beta.test", "/console/billing/platform/pay"))
        .form(&[("csrf", csrf_b.as_str()), ("invoice", inv.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/console/billing");
    assert_eq!(calls.lock().unwrap().len(), 1, "no session for beta");

    // Stripe's callback to the operator's endpoint books the payment.
    let hook = app.url("localhost", &format!("/hooks/stripe/{}", books.id));
    let client = app.client();
    let post = |body: String| {
        let client = client.clone();
        let hook = hook.clone();
        async move {
            let sig = signed("whsec_platform", Utc::now().timestamp(), &body);
            client
                .post(hook)
                .header("stripe-signature", sig)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let paid = serde_json::json!({
        "id": "evt_p1", "type": "checkout.session.completed", "created": 1_700_000_000,
        "data": {"object": {"id": "cs_test_1", "object": "checkout.session", "payment_status": "paid",
            "amount_total": inv.gross_minor, "currency": "eur", "payment_intent": "pi_9", "payment_method_types": ["card"],
            "metadata": {"tenant": books.id.as_str(), "customer_id": ta.id.as_str(), "invoice_id": inv.id}}}
    })
    .to_string();
    assert_eq!(post(paid).await, 200);
    assert_eq!(balance_of().await, 0);
    // A refund made in Stripe's dashboard: booked once, whatever the replays.
    let refund = |id: &str| {
        serde_json::json!({
            "id": id, "type": "charge.refunded", "created": 1_700_000_100,
            "data": {"object": {"id": "ch_9", "object": "charge", "payment_intent": "pi_9",
                "amount_refunded": 100, "refunds": {"data": [{"id": "re_9"}]}}}
        })
        .to_string()
    };
    assert_eq!(post(refund("evt_r1")).await, 200);
    assert_eq!(post(refund("evt_r1")).await, 200);
    assert_eq!(post(refund("evt_r2")).await, 200);
    assert_eq!(balance_of().await, -100);
    reconcile(&app.state, &books).await;
    app.stop().await;
}

/// A credit bureau peer: scores applicants named "Risiko" 120, others 820.
async fn bureau_peer() -> String {
    use poem::listener::{Acceptor, Listener};
    use poem::web::Json;
    use poem::{Route, handler, post};
    #[handler]
    fn score(Json(body): Json<serde_json::Value>) -> Json<serde_json::Value> {
        let score = if body["last_name"] == "Risiko" {
            120
        } else {
            820
        };
        Json(serde_json::json!({ "score": score }))
    }
    let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().cloned().unwrap();
    tokio::spawn(async move {
        poem::Server::new_with_acceptor(acceptor)
            .run(Route::new().at("/score", post(score)))
            .await
    });
    format!("http://{addr}/score")
}

/// A peer inside the network: counts what reaches it and answers with what
/// must never leak (cloud credentials).
async fn internal_peer(ip: &str) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use poem::listener::{Acceptor, Listener};
    use poem::{EndpointExt, Route, handler};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    #[handler]
    fn secret(poem::web::Data(hits): poem::web::Data<&std::sync::Arc<AtomicUsize>>) -> String {
        hits.fetch_add(1, Ordering::SeqCst);
        r#"{"AccessKeyId": "AKIA-INTERNAL-SECRET"}"#.to_owned()
    }
    #[handler]
    fn fail() -> poem::Response {
        poem::Response::builder()
            .status(poem::http::StatusCode::INTERNAL_SERVER_ERROR)
            .body(r#"{"AccessKeyId": "AKIA-INTERNAL-SECRET"}"#)
    }
    let acceptor = poem::listener::TcpListener::bind(format!("{ip}:0"))
        .into_acceptor()
        .await
        .unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().cloned().unwrap();
    let app = Route::new()
        .at("/fail", fail)
        .at("/*", secret)
        .data(hits.clone());
    tokio::spawn(async move { poem::Server::new_with_acceptor(acceptor).run(app).await });
    (format!("http://{addr}"), hits)
}

/// A peer that redirects every request to `to`.
async fn redirector(ip: &str, to: String) -> String {
    use poem::listener::{Acceptor, Listener};
    use poem::{EndpointExt, handler};
    #[handler]
    fn redirect(poem::web::Data(to): poem::web::Data<&String>) -> poem::Response {
        poem::Response::builder()
            .status(poem::http::StatusCode::FOUND)
            .header("location", to.as_str())
            .finish()
    }
    let acceptor = poem::listener::TcpListener::bind(format!("{ip}:0"))
        .into_acceptor()
        .await
        .unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().cloned().unwrap();
    tokio::spawn(async move {
        poem::Server::new_with_acceptor(acceptor)
            .run(redirect.data(to))
            .await
    });
    format!("http://{addr}/score")
}

#[tokio::test]
async fn outbound_calls_never_reach_inside_the_network() {
    use relabel_platform::outbound::{Outbound, OutboundError, Policy};
    use std::sync::atomic::Ordering;
    let (secret, hits) = internal_peer("127.0.0.1").await;
    // The operator lets in one peer inside the network, at 127.0.0.2.
    let client = Outbound::new(Policy {
        allow_http: true,
        allow: Policy::parse_allow("127.0.0.2/32").unwrap(),
    });
    let get = |url: &str| {
        let client = client.clone();
        let url = url.to_owned();
        async move {
            let req = client.request(reqwest::Method::GET, &url)?;
            client.send(req).await
        }
    };
    let port = secret.rsplit(':').next().unwrap().to_owned();
    // Straight in, by address in its several spellings and by name.
    for url in [
        secret.clone(),
        format!("http://localhost:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://2130706433:{port}/"),
        format!("http://0x7f.0.0.1:{port}/"),
    ] {
        let err = get(&url).await.expect_err(&url);
        assert!(matches!(err, OutboundError::Refused(_)), "{url}: {err:?}");
        assert_eq!(
            err.to_string(),
            "refused: the address is inside the network"
        );
    }
    // Through a redirect from an allowed peer, to an address or a name.
    for to in [
        format!("{secret}/latest/meta-data"),
        format!("http://localhost:{port}/"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
    ] {
        let via = redirector("127.0.0.2", to.clone()).await;
        let err = get(&via).await.expect_err(&to);
        assert!(matches!(err, OutboundError::Refused(_)), "{to}: {err:?}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing reached the inside");
    // An allowed peer is reached; its failure is described, never quoted.
    let (allowed, allowed_hits) = internal_peer("127.0.0.2").await;
    let body = get(&format!("{allowed}/score")).await.unwrap();
    assert!(String::from_utf8_lossy(&body).contains("AccessKeyId"));
    assert_eq!(allowed_hits.load(Ordering::SeqCst), 1);
    let err = get(&format!("{allowed}/fail")).await.unwrap_err();
    assert_eq!(err.to_string(), "the peer answered with HTTP status 500");
    // Plain http only where the operator allows it.
    let strict = Outbound::new(Policy::default());
    let err = strict
        .request(reqwest::Method::GET, "http://bureau.example/score")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "refused: only https:// addresses are allowed"
    );
    // https:// is spoken: the peer receives a TLS handshake (it cannot
    // complete it, having no certificate a browser would trust).
    let tls = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let tls_addr = tls.local_addr().unwrap();
    let first_byte = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let (mut conn, _) = tls.accept().await.unwrap();
        conn.read_u8().await.unwrap()
    });
    let feed = Outbound::new(Policy {
        allow_http: false,
        allow: Policy::parse_allow("127.0.0.2").unwrap(),
    });
    let req = feed
        .request(
            reqwest::Method::GET,
            &format!("https://{tls_addr}/feed.csv"),
        )
        .unwrap();
    let err = feed.send(req).await.unwrap_err();
    assert!(matches!(err, OutboundError::Unreachable), "{err:?}");
    assert_eq!(first_byte.await.unwrap(), 0x16, "a TLS handshake record");
}

#[tokio::test]
async fn a_bureau_inside_the_network_is_never_called_and_its_answer_never_shown() {
    use std::sync::atomic::Ordering;
    let app = spawn_app_with(|c| {
        c.outbound_allow = None;
        c.outbound_allow_http = true;
    })
    .await;
    let t = setup(&app, "Alpha", "alpha.test").await;
    let (secret, hits) = internal_peer("127.0.0.1").await;
    let via = redirector("127.0.0.1", format!("{secret}/latest/meta-data")).await;
    for (n, url) in [format!("{secret}/score"), via].into_iter().enumerate() {
        let tx = app.state.tenancy.begin(&t).await.unwrap();
        let mut s: customers::settings::ActiveModel =
            customers::settings(&tx).await.unwrap().into();
        s.bureau_url = Set(Some(url.clone()));
        s.update(tx.conn()).await.unwrap();
        tx.commit().await.unwrap();
        let email = format!("applicant{n}@example.de");
        let c = customer(
            &app.state,
            &t,
            NewCustomer {
                email: &email,
                ..Default::default()
            },
        )
        .await;
        // The signup's score job (and a checkout's bureau call) go nowhere.
        let placed = place(&app.state, &t, &c, hosting(), None).await;
        assert!(placed.is_ok(), "{url}");
        use relabel_platform::orders::hooks::CreditBureau;
        let err = relabel_platform::orders::hooks::HttpBureau {
            url: url.clone(),
            client: app.state.outbound.clone(),
        }
        .score(&relabel_platform::orders::hooks::Applicant::of(&c, 0))
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "refused: the address is inside the network",
            "{url}"
        );
    }
    run_jobs(&app, &t).await;
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    app.stop().await;
}
