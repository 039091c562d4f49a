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
    if operators::totp(shared, &op.id).await?.is_none() {
        let (_, recovery) = crate::auth::totp::recovery_codes();
        operators::set_totp(shared, &op.id, Some(OPERATOR_TOTP_SECRET), &recovery).await?;
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
