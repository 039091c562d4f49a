//! `relabel serve --demo`: an operator and two resellers with different brands.
//! Re-running on the same data keeps what exists.

use crate::auth::{Email, Password};
use crate::resellers::{self, NewReseller, ResellerError};
use crate::{AppState, operators};

pub const OPERATOR_EMAIL: &str = "operator@relabel.example";
pub const OPERATOR_PASSWORD: &str = "operator-demo-2026";
/// The demo operator's TOTP secret, printed so the demo can be walked without an
/// enrolment step: add it to an authenticator app or run `relabel totp-code SECRET`.
pub const OPERATOR_TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// A coupon every demo shop has: 10 % on everything.
pub const DEMO_COUPON: &str = "START10";
/// The demo storefront customer who can sign in (Maria Schmidt at Alpha).
pub const DEMO_CUSTOMER_EMAIL: &str = "maria@example.com";
pub const DEMO_CUSTOMER_PASSWORD: &str = "maria-demo-2026";

pub struct DemoReseller {
    pub name: &'static str,
    pub host: &'static str,
    pub owner_email: &'static str,
    pub owner_password: &'static str,
    pub primary: &'static str,
    pub accent: &'static str,
    /// Price classes as percent of the wholesale price; the first is the default.
    pub classes: [(&'static str, i64); 3],
}

pub const RESELLERS: [DemoReseller; 2] = [
    DemoReseller {
        name: "Alpha Hosting",
        host: "alpha.localhost",
        owner_email: "owner@alpha.example",
        owner_password: "alpha-demo-2026",
        primary: "#1f4fd8",
        accent: "#f08c00",
        classes: [
            ("Customers A", 150),
            ("Customers B", 135),
            ("Customers C", 120),
        ],
    },
    DemoReseller {
        name: "Beta Domains",
        host: "beta.localhost",
        owner_email: "owner@beta.example",
        owner_password: "beta-demo-2026",
        primary: "#0f766e",
        accent: "#db2777",
        classes: [
            ("Standard", 170),
            ("Partner", 145),
            ("Premium partner", 125),
        ],
    },
];

pub struct Summary {
    pub created: Vec<&'static str>,
}

pub async fn seed(state: &AppState) -> anyhow::Result<Summary> {
    let shared = state.tenancy.backend().shared();
    let email = Email::parse(OPERATOR_EMAIL).expect("valid demo email");
    let op = match operators::find_by_email(shared, &email).await? {
        Some(op) => op,
        None => {
            let password = Password::parse(OPERATOR_PASSWORD).expect("valid demo password");
            operators::upsert(shared, &email, &password).await?
        }
    };
    if operators::totp(shared, &state.sealer, &op.id)
        .await?
        .is_none()
    {
        let (_, recovery) = crate::auth::totp::recovery_codes(&state.sealer);
        operators::set_totp(
            shared,
            &state.sealer,
            &op.id,
            Some(OPERATOR_TOTP_SECRET),
            &recovery,
        )
        .await?;
    }
    crate::catalog::seed_demo(shared).await?;
    let mut created = vec![];
    for r in &RESELLERS {
        let input = NewReseller {
            name: r.name.into(),
            hostname: Some(r.host.into()),
            owner_email: r.owner_email.into(),
            owner_password: r.owner_password.into(),
            primary_color: Some(r.primary.into()),
            accent_color: Some(r.accent.into()),
        };
        match resellers::create(&state.tenancy, "demo", input).await {
            Ok(_) => created.push(r.host),
            // Already seeded on an earlier run: keep it as it is.
            Err(ResellerError::Invalid(e)) if e.iter().any(|f| f.code == "err.hostname_taken") => {}
            Err(e) => return Err(anyhow::anyhow!("seeding {}: {e:?}", r.host)),
        }
    }
    for r in &RESELLERS {
        if let Some(tenant) = state.tenancy.resolve(r.host).await? {
            let tx = state.tenancy.begin(&tenant).await?;
            crate::pricing::seed_demo(&tx, r.classes)
                .await
                .map_err(|e| anyhow::anyhow!("pricing for {}: {e:?}", r.host))?;
            // The demo page on the platform host may embed the signup widget.
            let port = state
                .config
                .bind
                .rsplit_once(':')
                .map(|(_, p)| p)
                .unwrap_or("8080");
            let s = crate::customers::settings(&tx).await?;
            if s.widget_origins.is_empty() {
                let mut a: crate::customers::settings::ActiveModel = s.into();
                a.widget_origins = sea_orm::Set(format!("http://localhost:{port}"));
                sea_orm::ActiveModelTrait::update(a, tx.conn()).await?;
            }
            if crate::coupons::list(&tx).await?.is_empty() {
                crate::coupons::create(
                    &tx,
                    "demo",
                    crate::coupons::CouponInput {
                        code: DEMO_COUPON.into(),
                        kind: "percent".into(),
                        value: "10".into(),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("coupon for {}: {e:?}", r.host))?;
            }
            tx.commit().await?;
        }
    }
    Ok(Summary { created })
}

/// Billing demo data for the first reseller (alpha): legal data on the
/// letterhead and three customers with services due, so a billing run in the
/// console produces invoices at once. Only when the reseller has no customers yet.
pub async fn seed_billing(state: &AppState) -> anyhow::Result<()> {
    use crate::provisioning::service;
    use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
    let Some(tenant) = state.tenancy.resolve(RESELLERS[0].host).await? else {
        return Ok(());
    };
    let tx = state.tenancy.begin(&tenant).await?;
    if crate::customers::customer::Entity::find()
        .count(tx.conn())
        .await?
        > 0
    {
        return Ok(());
    }
    let bs = crate::billing::settings(&tx).await?;
    let mut a: crate::billing::billing_settings::ActiveModel = bs.into();
    a.legal_name = Set("Alpha Hosting GmbH".into());
    a.street = Set("Musterstraße 1".into());
    a.postal_code = Set("10115".into());
    a.city = Set("Berlin".into());
    a.country = Set("DE".into());
    a.vat_id = Set("DE136695976".into());
    a.tax_number = Set("30/123/45678".into());
    a.register = Set("Amtsgericht Charlottenburg HRB 123456 B".into());
    a.director = Set("Erika Mustermann".into());
    a.email = Set("billing@alpha.localhost".into());
    a.phone = Set("+49 30 1234567".into());
    a.bank_name = Set("Demo Bank".into());
    a.iban = Set("DE02120300000000202051".into());
    a.bic = Set("BYLADEM1001".into());
    // Payments (issue 9): the Bundesbank's test creditor id, and Stripe test keys
    // whose webhook secret signs the demo's local test events (`whsec_demo`).
    a.creditor_id = Set("DE98ZZZ09999999999".into());
    a.debit_delay_days = Set(0);
    a.stripe_publishable = Set("pk_test_demo".into());
    a.stripe_secret = Set(Some(state.sealer.seal("sk_test_demo")));
    a.stripe_webhook_secret = Set(Some(state.sealer.seal("whsec_demo")));
    a.update(tx.conn()).await?;
    let actor = crate::customers::Actor {
        name: "demo",
        ip: None,
    };
    let people = [
        ("Maria", "Schmidt", None, DEMO_CUSTOMER_EMAIL, "zugferd"),
        (
            "Jonas",
            "Weber",
            Some("Weber Design UG"),
            "jonas@example.com",
            "xrechnung",
        ),
        ("Lena", "Fischer", None, "lena@example.com", "none"),
    ];
    let now = chrono::Utc::now();
    for (i, (first, last, company, email, einvoice)) in people.into_iter().enumerate() {
        let input = crate::customers::CustomerInput {
            kind: Some(
                if company.is_some() {
                    "company"
                } else {
                    "person"
                }
                .into(),
            ),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            company: company.map(Into::into),
            street: Some(format!("Beispielweg {}", i + 1)),
            postal_code: Some("20095".into()),
            city: Some("Hamburg".into()),
            country: Some("DE".into()),
            email: Some(email.into()),
            credit_limit: Some("500.00".into()),
            ..Default::default()
        };
        // Maria can sign in to the shop: the returning customer of the demo.
        let password = (i == 0)
            .then(|| crate::auth::Password::parse(DEMO_CUSTOMER_PASSWORD))
            .transpose()
            .map_err(|e| anyhow::anyhow!("demo customer password: {e:?}"))?;
        let c = crate::customers::create(&tx, &actor, &input, password.as_ref())
            .await
            .map_err(|e| anyhow::anyhow!("demo customer: {e:?}"))?;
        if password.is_some() {
            crate::customers::mark_verified(&tx, &c.id)
                .await
                .map_err(|e| anyhow::anyhow!("demo customer: {e:?}"))?;
        }
        let mut cm: crate::customers::customer::ActiveModel = c.clone().into();
        cm.einvoice = Set(einvoice.into());
        if i == 2 {
            // Lena pays by SEPA direct debit: the next debit run collects her.
            cm.billing_type = Set("DEBIT".into());
            cm.debit_status = Set("ACTIVE".into());
            cm.iban = Set(Some("DE89370400440532013000".into()));
            cm.bic = Set(Some("COBADEFFXXX".into()));
            cm.account_holder = Set(Some("Lena Fischer".into()));
            cm.mandate_reference = Set(Some("M-DEMO-0003".into()));
            cm.mandate_signed_on = Set(chrono::NaiveDate::from_ymd_opt(2026, 1, 15));
        }
        cm.update(tx.conn()).await?;
        if i == 1 {
            // Jonas has an invoice overdue for 40 days and was reminded 15 days
            // ago (below): the next dunning run sends the first notice with its
            // fee and default interest.
            let inv = crate::billing::one_off(
                &tx,
                &tenant.name,
                &c.id,
                &[crate::billing::OneOffLine {
                    description: "Domain-Umzug (Support)".into(),
                    quantity: "2".into(),
                    unit_price: "45".into(),
                    vat_rate: "19".into(),
                }],
                "",
                "demo",
            )
            .await
            .map_err(|e| anyhow::anyhow!("demo invoice: {e}"))?;
            let mut im: crate::billing::invoice::ActiveModel = inv.into();
            im.issued_at = Set(now - chrono::Duration::days(54));
            im.due_at = Set(now - chrono::Duration::days(40));
            im.update(tx.conn()).await?;
        }
        let services = [
            ("hosting-business", "hosting", "Hosting Business", 1, 599),
            ("email-team", "email", "E-Mail Team", 12, 2990),
        ];
        for (product, kind, label, months, net) in services.into_iter().take(1 + i % 2) {
            let started = now - chrono::Duration::days(40);
            service::ActiveModel {
                id: Set(uuid::Uuid::now_v7().simple().to_string()),
                customer_id: Set(c.id.clone()),
                product_id: Set(product.into()),
                order_id: Set(None),
                order_item_id: Set(None),
                domain_id: Set(None),
                kind: Set(kind.into()),
                label: Set(label.into()),
                period_months: Set(months),
                price_source: Set("order".into()),
                net_minor: Set(net),
                currency: Set("EUR".into()),
                quantity: Set(1),
                started_at: Set(started),
                next_billing_at: Set(now - chrono::Duration::days(1)),
                ends_at: Set(None),
                cancellation: Set("none".into()),
                status: Set("active".into()),
                created_at: Set(started),
                updated_at: Set(started),
                generation: Set(0),
            }
            .insert(tx.conn())
            .await?;
        }
    }
    // The reminder, as the run 15 days ago wrote it (level 1, no fee).
    crate::payments::dunning::run(&tx, now - chrono::Duration::days(15), "demo")
        .await
        .map_err(|e| anyhow::anyhow!("demo reminder: {e}"))?;
    tx.commit().await?;
    Ok(())
}

pub fn print(summary: &Summary, port: u16) {
    println!();
    println!("relabel demo is running");
    println!(
        "  operator console  http://localhost:{port}/operator   {OPERATOR_EMAIL} / {OPERATOR_PASSWORD}"
    );
    println!("                    second factor: TOTP secret {OPERATOR_TOTP_SECRET}");
    println!("                    current code:  relabel totp-code {OPERATOR_TOTP_SECRET}");
    for r in &RESELLERS {
        let state = if summary.created.contains(&r.host) {
            "new"
        } else {
            "kept"
        };
        println!(
            "  {:<14} http://{}:{port}/   console: /console   {} / {}   ({state})",
            r.name, r.host, r.owner_email, r.owner_password
        );
    }
    println!(
        "  returning customer at {}: /account/login   {DEMO_CUSTOMER_EMAIL} / {DEMO_CUSTOMER_PASSWORD}",
        RESELLERS[0].name
    );
    println!("  signup widget embedded on another origin: http://localhost:{port}/widget-demo");
    println!(
        "  coupon {DEMO_COUPON} (10 %) in every shop; orders over a customer's credit limit (500.00 EUR) go to the clearing center"
    );
    println!();
}

/// Demo server pools: two servers per hosting, email and site-builder product on
/// the built-in dev panel (its address changes per start, so it is set again).
pub async fn seed_pools(
    state: &AppState,
    panel: &crate::hosting::devpanel::Running,
) -> anyhow::Result<()> {
    use crate::hosting::{self, server};
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let shared = state.tenancy.backend().shared();
    let products = crate::catalog::entity::product::Entity::find()
        .all(shared)
        .await?;
    let existing = hosting::servers(shared).await?;
    for p in products
        .iter()
        .filter(|p| hosting::POOL_KINDS.contains(&p.kind.as_str()))
    {
        for n in 1..=2 {
            let name = format!("demo-{}-{n}", p.id);
            let url = panel.url(&name);
            match existing.iter().find(|s| s.name == name) {
                Some(s) => {
                    server::ActiveModel {
                        id: Set(s.id.clone()),
                        api_url: Set(url),
                        ..Default::default()
                    }
                    .update(shared)
                    .await?;
                }
                None => {
                    hosting::add_server(
                        shared,
                        &state.sealer,
                        &p.id,
                        &name,
                        100,
                        &url,
                        crate::hosting::devpanel::TOKEN,
                    )
                    .await?;
                }
            }
        }
    }
    Ok(())
}
