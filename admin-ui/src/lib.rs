//! Server-rendered HTML of the operator console and the reseller console.
//!
//! Templates and the stylesheet are compiled into the binary so a deployment is one
//! file and a template error shows up in `cargo test`, not on a customer's screen.
//!
//! Every page extends `base.html` and expects the common context: `lang`, `title`,
//! `area` (`"operator"` | `"console"`), `brand {name, primary_color, accent_color,
//! logo_url}`, `user {email}` or none, `csrf`, `flash [{kind, message}]`, `nav`
//! (`"resellers"`, `"dashboard"`, `"customers"`, `"staff"`, `"branding"`, `"api_keys"`,
//! `"audit"` or `"outbox"`), `lang_switch [{code, label, url, active}]`, `values` and
//! `errors` (field → translated message). Console pages also pass `perms`, the console
//! sections the staff member may use (`"customers"`, `"staff"`, `"branding"`,
//! `"api_keys"`, `"audit"`, `"outbox"`); the console nav links only those. Without
//! `perms` the console nav shows dashboard, branding and API keys.

mod filters;
mod i18n;

use minijinja::value::{Serde, Value};
use minijinja::{Environment, Error, UndefinedBehavior, escape_formatter};
use serde::Serialize;

pub use i18n::t;

/// The admin stylesheet, served at `/_admin/admin.css`.
pub const ADMIN_CSS: &str = include_str!("../static/admin.css");

/// Every template by the name callers render it with.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    (
        "console/domains.html",
        include_str!("../templates/console/domains.html"),
    ),
    (
        "console/domain.html",
        include_str!("../templates/console/domain.html"),
    ),
    (
        "console/jobs.html",
        include_str!("../templates/console/jobs.html"),
    ),
    (
        "operator/pools.html",
        include_str!("../templates/operator/pools.html"),
    ),
    (
        "operator/tickets.html",
        include_str!("../templates/operator/tickets.html"),
    ),
    (
        "operator/clearing.html",
        include_str!("../templates/operator/clearing.html"),
    ),
    (
        "console/orders.html",
        include_str!("../templates/console/orders.html"),
    ),
    (
        "console/order.html",
        include_str!("../templates/console/order.html"),
    ),
    (
        "console/clearing.html",
        include_str!("../templates/console/clearing.html"),
    ),
    (
        "console/case.html",
        include_str!("../templates/console/case.html"),
    ),
    (
        "partials/order_status.html",
        include_str!("../templates/partials/order_status.html"),
    ),
    (
        "console/newsletter.html",
        include_str!("../templates/console/newsletter.html"),
    ),
    (
        "partials/collection_settings.html",
        include_str!("../templates/partials/collection_settings.html"),
    ),
    (
        "partials/bank_import.html",
        include_str!("../templates/partials/bank_import.html"),
    ),
    (
        "partials/bank_review.html",
        include_str!("../templates/partials/bank_review.html"),
    ),
    (
        "partials/case_reason.html",
        include_str!("../templates/partials/case_reason.html"),
    ),
    (
        "partials/order_detail.html",
        include_str!("../templates/partials/order_detail.html"),
    ),
    (
        "operator/catalog_product.html",
        include_str!("../templates/operator/catalog_product.html"),
    ),
    (
        "partials/pricing_nav.html",
        include_str!("../templates/partials/pricing_nav.html"),
    ),
    (
        "console/catalog.html",
        include_str!("../templates/console/catalog.html"),
    ),
    (
        "console/tax.html",
        include_str!("../templates/console/tax.html"),
    ),
    (
        "console/price_classes.html",
        include_str!("../templates/console/price_classes.html"),
    ),
    (
        "console/price_class.html",
        include_str!("../templates/console/price_class.html"),
    ),
    (
        "console/coupons.html",
        include_str!("../templates/console/coupons.html"),
    ),
    (
        "partials/status_badge.html",
        include_str!("../templates/partials/status_badge.html"),
    ),
    (
        "console/billing.html",
        include_str!("../templates/console/billing.html"),
    ),
    (
        "console/invoices.html",
        include_str!("../templates/console/invoices.html"),
    ),
    (
        "console/invoice.html",
        include_str!("../templates/console/invoice.html"),
    ),
    (
        "console/customer_account.html",
        include_str!("../templates/console/customer_account.html"),
    ),
    (
        "console/billing_settings.html",
        include_str!("../templates/console/billing_settings.html"),
    ),
    (
        "console/payments.html",
        include_str!("../templates/console/payments.html"),
    ),
    (
        "console/payment_settings.html",
        include_str!("../templates/console/payment_settings.html"),
    ),
    (
        "partials/doc_state.html",
        include_str!("../templates/partials/doc_state.html"),
    ),
    (
        "operator/billing.html",
        include_str!("../templates/operator/billing.html"),
    ),
    ("login.html", include_str!("../templates/login.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("api_keys.html", include_str!("../templates/api_keys.html")),
    (
        "operator/resellers.html",
        include_str!("../templates/operator/resellers.html"),
    ),
    (
        "operator/reseller.html",
        include_str!("../templates/operator/reseller.html"),
    ),
    (
        "console/dashboard.html",
        include_str!("../templates/console/dashboard.html"),
    ),
    (
        "console/branding.html",
        include_str!("../templates/console/branding.html"),
    ),
    (
        "console/hostnames.html",
        include_str!("../templates/console/hostnames.html"),
    ),
    (
        "console/appearance.html",
        include_str!("../templates/console/appearance.html"),
    ),
    (
        "console/templates.html",
        include_str!("../templates/console/templates.html"),
    ),
    (
        "console/template_edit.html",
        include_str!("../templates/console/template_edit.html"),
    ),
    (
        "console/customers.html",
        include_str!("../templates/console/customers.html"),
    ),
    (
        "operator/catalog.html",
        include_str!("../templates/operator/catalog.html"),
    ),
    (
        "console/customer_prices.html",
        include_str!("../templates/console/customer_prices.html"),
    ),
    (
        "console/settings.html",
        include_str!("../templates/console/settings.html"),
    ),
    (
        "console/customer_form.html",
        include_str!("../templates/console/customer_form.html"),
    ),
    (
        "console/change_log.html",
        include_str!("../templates/console/change_log.html"),
    ),
    (
        "console/outbox.html",
        include_str!("../templates/console/outbox.html"),
    ),
    (
        "console/staff.html",
        include_str!("../templates/console/staff.html"),
    ),
    (
        "console/invite_accept.html",
        include_str!("../templates/console/invite_accept.html"),
    ),
    (
        "totp_setup.html",
        include_str!("../templates/totp_setup.html"),
    ),
    (
        "totp_verify.html",
        include_str!("../templates/totp_verify.html"),
    ),
];

/// The template environment of both consoles; build once and share.
pub struct AdminUi {
    env: Environment<'static>,
}

impl AdminUi {
    /// Loads all embedded templates.
    ///
    /// # Panics
    ///
    /// If an embedded template does not parse, which the tests rule out.
    pub fn new() -> Self {
        let mut env = Environment::new();
        // Forms render with partial `values`/`errors`; a missing field is blank,
        // not a 500.
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        // Nullable fields (`logo_url`, `revoked_at`, …) render as nothing, not "none".
        env.set_formatter(|out, state, value| {
            if value.is_none() {
                Ok(())
            } else {
                escape_formatter(out, state, value)
            }
        });
        env.add_function("t", filters::translate);
        env.add_filter("css_color", filters::css_color);
        env.add_filter("on_color", filters::on_color);
        for &(name, source) in TEMPLATES {
            if let Err(err) = env.add_template(name, source) {
                panic!("embedded admin template {name} does not parse: {err:#}");
            }
        }
        Self { env }
    }

    /// Renders template `name` (e.g. `"operator/resellers.html"`) with `ctx`.
    pub fn render<S: Serialize>(&self, name: &str, ctx: S) -> Result<String, Error> {
        self.env.get_template(name)?.render(Value::from(Serde(ctx)))
    }
}

impl Default for AdminUi {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests;
