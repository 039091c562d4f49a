use super::*;
use minijinja::context;

const CSRF: &str = "csrf-token-123";

fn operator_brand() -> Value {
    context! {
        name => "relabel operator",
        primary_color => "#1f3a5f",
        accent_color => "#e07a1f",
        logo_url => (),
    }
}

fn reseller_brand() -> Value {
    context! {
        name => "Acme Hosting",
        primary_color => "#ffd166",
        accent_color => "#0a7d5a",
        logo_url => "/assets/acme/logo.png",
    }
}

fn common(area: &str, lang: &str, nav: &str, signed_in: bool) -> Value {
    let brand = if area == "console" {
        reseller_brand()
    } else {
        operator_brand()
    };
    context! {
        lang => lang,
        title => "Test page",
        area => area,
        brand => brand,
        user => signed_in.then(|| context! { email => "staff@acme.test" }),
        csrf => CSRF,
        flash => vec![context! { kind => "success", message => "Flash says hello" }],
        nav => nav,
        lang_switch => vec![
            context! { code => "en", label => "English", url => "?lang=en", active => lang == "en" },
            context! { code => "de", label => "Deutsch", url => "?lang=de", active => lang == "de" },
        ],
    }
}

fn render(name: &str, ctx: Value) -> String {
    let html = AdminUi::new()
        .render(name, ctx)
        .unwrap_or_else(|err| panic!("{name} does not render: {err:#}"));
    // Auto-escaping writes "/" in interpolated values as "&#x2f;", which browsers
    // read as "/"; decode it so assertions can spell URLs plainly.
    let html = html.replace("&#x2f;", "/");
    assert_sound_page(name, &html);
    html
}

/// Checks that hold for every page: a title, CSRF in every POST form, a label for
/// every visible input, existing targets for `aria-describedby`, no untranslated
/// key and no "none" leaking from a null value.
fn assert_sound_page(name: &str, html: &str) {
    assert!(html.contains("<title>Test page · "), "{name}: title");
    assert!(html.contains("/_admin/admin.css"), "{name}: stylesheet");
    let posts = html.matches(r#"method="post""#).count();
    let csrf = html
        .matches(&format!(r#"name="csrf" value="{CSRF}""#))
        .count();
    assert_eq!(
        posts, csrf,
        "{name}: every POST form carries the CSRF token"
    );
    for tag in html.split("<input").skip(1) {
        let tag = &tag[..tag.find('>').unwrap()];
        if tag.contains(r#"type="hidden""#) {
            continue;
        }
        let id = attr(tag, "id").unwrap_or_else(|| panic!("{name}: input without id: {tag}"));
        assert!(
            html.contains(&format!(r#"for="{id}""#)),
            "{name}: input {id} has no label"
        );
        for target in attr(tag, "aria-describedby").unwrap_or_default().split(' ') {
            if !target.is_empty() {
                assert!(
                    html.contains(&format!(r#"id="{target}""#)),
                    "{name}: {id} is described by missing {target}"
                );
            }
        }
    }
    assert!(
        !html.contains(">?<") && !html.contains(r#"="?""#),
        "{name}: unknown key"
    );
    assert!(!html.contains("none"), "{name}: a null value was printed");
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(r#" {name}=""#))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

#[test]
fn login_page_shows_brand_error_and_refilled_email() {
    let html = render(
        "login.html",
        context! {
            action => "/console/login",
            values => context! { email => "owner@acme.test" },
            error => "Wrong email or password",
            ..common("console", "de", "", false)
        },
    );
    assert!(html.contains(r#"<html lang="de">"#));
    assert!(html.contains(r#"action="/console/login""#));
    assert!(html.contains(r#"value="owner@acme.test""#));
    assert!(html.contains("Wrong email or password"));
    assert!(html.contains("<h1 id=\"login-heading\">Acme Hosting</h1>"));
    assert!(html.contains("Passwort"));
    assert!(
        !html.contains("/console/logout"),
        "no session controls when signed out"
    );
}

#[test]
fn error_page_shows_status_message_and_request_id() {
    let html = render(
        "error.html",
        context! {
            status => 404,
            message => "No such reseller",
            request_id => "req_01HX",
            ..common("operator", "en", "", true)
        },
    );
    assert!(html.contains("Page not found"));
    assert!(html.contains("No such reseller"));
    assert!(html.contains("<code>req_01HX</code>"));
    assert!(html.contains(r#"action="/operator/logout""#));
}

#[test]
fn reseller_list_links_rows_and_shows_inline_errors() {
    let html = render(
        "operator/resellers.html",
        context! {
            resellers => vec![
                context! {
                    id => "rsl_1", name => "<b>Acme</b>", schema => "t_acme", status => "active",
                    hostnames => vec!["admin.acme.test", "shop.acme.test"], created_at => "2025-01-02",
                },
                context! {
                    id => "rsl_2", name => "Beta", schema => "t_beta", status => "suspended",
                    hostnames => Vec::<&str>::new(), created_at => "2025-02-03",
                },
            ],
            values => context! { name => "Gamma", owner_email => "owner@gamma.test" },
            errors => context! { hostname => "Not a valid hostname" },
            ..common("operator", "en", "resellers", true)
        },
    );
    assert!(html.contains(r#"href="/operator/resellers/rsl_1""#));
    assert!(
        html.contains("&lt;b&gt;Acme&lt;/b&gt;"),
        "names are escaped"
    );
    assert!(html.contains("<code>t_acme</code>"));
    assert!(html.contains("badge-success") && html.contains("badge-warning"));
    assert!(html.contains("shop.acme.test"));
    assert!(html.contains(r#"<a href="/operator" aria-current="page">Resellers</a>"#));
    assert!(html.contains(r#"action="/operator/resellers""#));
    assert!(html.contains(r#"value="Gamma""#) && html.contains(r#"value="owner@gamma.test""#));
    assert!(
        html.contains(r#"aria-describedby="hostname-hint hostname-error" aria-invalid="true""#)
    );
    assert!(html.contains("Not a valid hostname"));
    assert!(html.contains(r#"name="owner_password" type="password""#));
}

fn reseller_page(status: &str) -> String {
    render(
        "operator/reseller.html",
        context! {
            reseller => context! {
                id => "rsl_1", name => "Acme", schema => "t_acme", status => status,
                created_at => "2025-01-02", hostnames => vec!["admin.acme.test"],
            },
            values => context! { hostname => "new.acme.test" },
            errors => context! { confirm => "The name does not match" },
            ..common("operator", "de", "resellers", true)
        },
    )
}

#[test]
fn reseller_page_offers_host_management_and_the_matching_status_action() {
    let active = reseller_page("active");
    assert!(active.contains(r#"action="/operator/resellers/rsl_1/suspend""#));
    assert!(!active.contains("/resume"));
    assert!(active.contains(r#"action="/operator/resellers/rsl_1/hosts/remove""#));
    assert!(active.contains(r#"name="hostname" value="admin.acme.test""#));
    assert!(active.contains(r#"action="/operator/resellers/rsl_1/hosts""#));
    assert!(active.contains(r#"value="new.acme.test""#));
    assert!(active.contains(r#"action="/operator/resellers/rsl_1/delete""#));
    assert!(active.contains("Geben Sie zur Bestätigung „Acme“ ein"));
    assert!(active.contains(r#"aria-invalid="true" aria-describedby="confirm-error""#));
    assert!(active.contains("<code>t_acme</code>"));

    let suspended = reseller_page("suspended");
    assert!(suspended.contains(r#"action="/operator/resellers/rsl_1/resume""#));
    assert!(!suspended.contains("/suspend"));
    assert!(suspended.contains("Gesperrt"));
}

#[test]
fn api_keys_page_shows_new_key_once_and_revokes_only_active_keys() {
    let html = render(
        "api_keys.html",
        context! {
            base_path => "/console/api-keys",
            keys => vec![
                context! {
                    id => "key_1", name => "Billing sync", prefix => "rlk_ab12",
                    scopes => vec!["domains:read"], created_at => "2025-01-02", revoked_at => (),
                },
                context! {
                    id => "key_2", name => "Old", prefix => "rlk_cd34",
                    scopes => Vec::<&str>::new(), created_at => "2024-01-02", revoked_at => "2025-03-04",
                },
            ],
            available_scopes => vec![
                context! { value => "domains:read", label => "Read domains" },
                context! { value => "domains:write", label => "Register domains" },
            ],
            new_key => "rlk_ab12_secretsecret",
            values => context! { name => "CI", scopes => vec!["domains:write"] },
            errors => context! { scopes => "Select at least one scope." },
            ..common("console", "en", "api_keys", true)
        },
    );
    assert!(html.contains(r#"value="rlk_ab12_secretsecret" readonly"#));
    assert!(html.contains("It will not be shown again."));
    assert!(html.contains(r#"action="/console/api-keys/key_1/revoke""#));
    assert!(!html.contains("key_2/revoke"));
    assert!(html.contains("2025-03-04"));
    assert!(html.contains(r#"action="/console/api-keys""#));
    assert!(html.contains(r#"name="scopes" value="domains:write" checked"#));
    assert!(!html.contains(r#"name="scopes" value="domains:read" checked"#));
    assert!(html.contains("Select at least one scope."));
    assert!(html.contains(r#"<a href="/console/api-keys" aria-current="page">API keys</a>"#));
}

#[test]
fn dashboard_links_to_branding_keys_and_storefront() {
    let html = render(
        "console/dashboard.html",
        context! {
            tenant => context! {
                name => "Acme Hosting", schema => "t_acme", status => "suspended",
                hostnames => vec!["admin.acme.test"],
            },
            storefront_url => "https://shop.acme.test/",
            ..common("console", "de", "dashboard", true)
        },
    );
    assert!(html.contains("Willkommen, Acme Hosting"));
    assert!(html.contains(r#"href="/console/branding""#));
    assert!(html.contains(r#"href="https://shop.acme.test/""#));
    assert!(html.contains("Ihr Konto ist gesperrt."));
    assert!(html.contains(r#"action="/console/logout""#));
    assert!(html.contains("--primary: #ffd166; --on-primary: #111827"));
}

#[test]
fn branding_form_uploads_logo_and_shows_current_one() {
    let html = render(
        "console/branding.html",
        context! {
            values => context! { name => "Acme Hosting", primary_color => "#ffd166", accent_color => "#0a7d5a" },
            errors => context! { logo => "The logo must not be larger than 512 KB." },
            logo_url => "/assets/acme/logo.png",
            ..common("console", "en", "branding", true)
        },
    );
    assert!(html.contains(r#"enctype="multipart/form-data""#));
    assert!(html.contains(r##"type="color" value="#ffd166""##));
    assert!(html.contains("<code id=\"accent_color-value\">#0a7d5a</code>"));
    assert!(html.contains(r#"accept="image/png,image/jpeg,image/webp""#));
    assert!(html.contains("max. 512 KB"));
    assert!(html.contains(r#"aria-describedby="logo-hint logo-error" aria-invalid="true""#));
    assert!(html.contains(r#"<img src="/assets/acme/logo.png" alt="Your current logo">"#));
    assert!(html.contains(r#"name="remove_logo""#));
}

#[test]
fn hostile_brand_colours_fall_back_to_defaults() {
    let html = render(
        "error.html",
        context! {
            status => 500,
            message => "Boom",
            request_id => (),
            brand => context! {
                name => "Evil", primary_color => "red; background: url(//evil.test)",
                accent_color => "#e07a1f", logo_url => (),
            },
            ..common("console", "en", "", true)
        },
    );
    assert!(html.contains("--primary: #1f3a5f;"));
    assert!(!html.contains("evil.test"));
    assert!(!html.contains("<code>"), "no request id, no code block");
}

/// The console context with `perms`, as console pages of signed-in staff get it.
fn console(lang: &str, nav: &str, perms: &[&str]) -> Value {
    context! {
        perms => perms.iter().map(|p| p.to_string()).collect::<Vec<String>>(),
        ..common("console", lang, nav, true)
    }
}

const ALL_PERMS: &[&str] = &[
    "customers",
    "staff",
    "branding",
    "api_keys",
    "audit",
    "outbox",
];

#[test]
fn console_nav_shows_only_permitted_sections() {
    let html = render(
        "console/outbox.html",
        context! {
            messages => Vec::<Value>::new(),
            ..console("en", "outbox", &["customers", "audit", "outbox"])
        },
    );
    assert!(html.contains(r#"<a href="/console">Dashboard</a>"#));
    assert!(html.contains(r#"<a href="/console/customers">Customers</a>"#));
    assert!(html.contains(r#"<a href="/console/audit">Change log</a>"#));
    assert!(html.contains(r#"<a href="/console/outbox" aria-current="page">Outbox</a>"#));
    for hidden in ["/console/staff", "/console/branding", "/console/api-keys"] {
        assert!(!html.contains(&format!(r#"href="{hidden}""#)), "{hidden}");
    }

    let everything = render(
        "console/outbox.html",
        context! {
            messages => Vec::<Value>::new(),
            ..console("de", "staff", ALL_PERMS)
        },
    );
    assert!(everything.contains(r#"<a href="/console/staff" aria-current="page">Team</a>"#));
    assert!(everything.contains(r#"<a href="/console/branding">Markenauftritt</a>"#));
    assert!(everything.contains(r#"<a href="/console/api-keys">API-Schlüssel</a>"#));
    assert!(everything.contains(r#"<a href="/console/audit">Änderungsprotokoll</a>"#));
}

#[test]
fn customer_list_links_rows_keeps_filters_and_pages() {
    let html = render(
        "console/customers.html",
        context! {
            customers => vec![
                context! {
                    id => "cus_1", number => "K10001", name => "Jane Doe", company => "Doe <GmbH>",
                    email => "jane@doe.test", country => "DE", billing_type => "DEBIT",
                    debit_status => "ACTIVE", locked => true, verified => true, created_at => "2025-01-02",
                },
                context! {
                    id => "cus_2", number => "K10002", name => "Max Muster", company => (),
                    email => "max@muster.test", country => "AT", billing_type => "BANKTRANSFER",
                    debit_status => "INACTIVE", locked => false, verified => false, created_at => "2025-02-03",
                },
            ],
            q => "doe",
            filter_status => "locked",
            filter_billing => "DEBIT",
            next_url => "/console/customers?after=K10002&q=doe",
            first_url => "/console/customers?q=doe",
            can_create => true,
            ..console("de", "customers", ALL_PERMS)
        },
    );
    assert!(html.contains(r#"<a href="/console/customers" aria-current="page">Kunden</a>"#));
    assert!(
        html.contains(
            r#"<a class="btn btn-primary" href="/console/customers/new">Neuer Kunde</a>"#
        )
    );
    assert!(html.contains(r#"method="get" action="/console/customers""#));
    assert!(html.contains(r#"name="q" type="search" value="doe""#));
    assert!(html.contains(r#"<option value="locked" selected>Gesperrt</option>"#));
    assert!(html.contains(r#"<option value="DEBIT" selected>Lastschrift</option>"#));
    assert!(!html.contains(r#"<option value="" selected>"#));
    assert!(html.contains(r#"<a href="/console/customers/cus_1">K10001</a>"#));
    assert!(html.contains(r#"<a href="/console/customers/cus_2">K10002</a>"#));
    assert!(html.contains("Doe &lt;GmbH&gt;"), "companies are escaped");
    assert!(html.contains("Überweisung"));
    assert!(html.contains(r#"<span class="badge badge-danger">Gesperrt</span>"#));
    assert!(html.contains(r#"<span class="badge badge-muted">Inaktiv</span>"#));
    assert!(html.contains("Nicht verifiziert"));
    assert!(html.contains(r#"href="/console/customers?after=K10002&amp;q=doe" rel="next""#));
    assert!(html.contains(r#"href="/console/customers?q=doe""#));
    assert!(html.contains("Erste Seite") && html.contains("Nächste Seite"));
}

#[test]
fn customer_list_explains_empty_results() {
    let empty = |q: &str| {
        render(
            "console/customers.html",
            context! {
                customers => Vec::<Value>::new(),
                q => q,
                filter_status => "",
                filter_billing => "",
                next_url => (),
                first_url => (),
                can_create => false,
                ..console("en", "customers", &["customers"])
            },
        )
    };
    let fresh = empty("");
    assert!(fresh.contains("No customers yet."));
    assert!(
        !fresh.contains("/console/customers/new"),
        "no create button"
    );
    assert!(!fresh.contains("<table"));
    assert!(!fresh.contains("Next page") && !fresh.contains("First page"));
    assert!(empty("zzz").contains("No customers match your search."));
}

fn customer_options() -> Value {
    let choices = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|&(value, label)| context! { value => value, label => label })
            .collect::<Vec<_>>()
    };
    context! {
        countries => vec![
            context! { code => "AT", name => "Austria" },
            context! { code => "DE", name => "Germany" },
        ],
        kinds => choices(&[("private", "Private person"), ("company", "Company")]),
        languages => choices(&[("de", "German"), ("en", "English")]),
        currencies => choices(&[("EUR", "Euro"), ("CHF", "Swiss franc")]),
        billing_types => choices(&[("DEBIT", "Direct debit"), ("BANKTRANSFER", "Bank transfer")]),
        debit_statuses => choices(&[("INACTIVE", "Inactive"), ("ACTIVE", "Active"), ("REVOKED", "Revoked")]),
        billing_intervals => choices(&[("monthly", "Monthly"), ("yearly", "Yearly")]),
        payment_methods => choices(&[("debit", "Direct debit"), ("invoice", "Invoice")]),
        dunning_types => choices(&[("standard", "Standard"), ("off", "No dunning")]),
        invoice_deliveries => choices(&[("email", "Email"), ("post", "Post")]),
        newsletter_categories => choices(&[("news", "Product news"), ("offers", "Offers")]),
    }
}

fn customer_edit_page(locked: bool, can_edit: bool, can_edit_billing: bool) -> String {
    render(
        "console/customer_form.html",
        context! {
            mode => "edit",
            action => "/console/customers/cus_1",
            customer => context! {
                id => "cus_1", number => "K10001", locked => locked, verified => false,
                mandate_reference => "REL-K10001-1", created_at => "2025-01-02",
            },
            can_edit => can_edit,
            can_edit_billing => can_edit_billing,
            options => customer_options(),
            default_credit_limit => "500.00 EUR",
            can_impersonate => !locked,
            values => context! {
                kind => "company", first_name => "Jane", last_name => "Doe", company => "Doe GmbH",
                email => "jane@doe.test", language => "de", currency => "EUR", country => "DE",
                street => "Hauptstraße 1", postal_code => "10115", city => "Berlin",
                iban => "DE00 1234", billing_type => "DEBIT", debit_status => "ACTIVE",
                billing_interval => "monthly", payment_method => "debit", dunning_type => "standard",
                invoice_delivery => "email", newsletter => vec!["offers"], excluded_from_invoicing => "1",
                mandate_signed_on => "2025-01-01",
            },
            errors => context! {
                iban => "Enter a valid IBAN (check digits and country format).",
                credit_limit => "Enter an amount like 500.00 (not negative).",
            },
            ..console("en", "customers", ALL_PERMS)
        },
    )
}

#[test]
fn customer_edit_form_refills_values_and_shows_inline_errors() {
    let html = customer_edit_page(false, true, true);
    assert!(html.contains(r#"<a href="/console/customers">Customers</a>"#));
    assert!(html.contains("<h1>Customer K10001</h1>"));
    assert!(html.contains(r#"method="post" action="/console/customers/cus_1" class="form""#));
    assert!(html.contains(r#"name="first_name" type="text" value="Jane""#));
    assert!(html.contains(r#"name="street" type="text" value="Hauptstraße 1""#));
    assert!(html.contains(r#"<option value="company" selected>Company</option>"#));
    assert!(html.contains(r#"<option value="DE" selected>Germany</option>"#));
    assert!(html.contains(r#"<option value="AT">Austria</option>"#));
    assert!(html.contains(r#"name="phone" type="tel""#));
    assert!(html.contains("International format, e.g. +49 30 1234567"));
    assert!(html.contains(r#"type="date" value="2025-01-01""#));
    assert!(
        html.contains(r#"value="DE00 1234""#)
            && html.contains(r#"aria-describedby="iban-error" aria-invalid="true""#)
    );
    assert!(html.contains(r#"<p class="field-error" id="iban-error">Enter a valid IBAN"#));
    assert!(html.contains(r#"placeholder="500.00 EUR""#));
    assert!(html.contains(
        r#"aria-describedby="credit_limit-hint credit_limit-error" aria-invalid="true""#
    ));
    assert!(html.contains("Leave empty for the default."));
    assert!(
        !html.contains(r#"name="newsletter""#),
        "subscriptions take the customer's own opt-in (/newsletter), not a staff tick"
    );
    assert!(html.contains(r#"name="excluded_from_invoicing" value="1" checked"#));
    assert!(html.contains(r#"value="REL-K10001-1" readonly"#));
    assert!(!html.contains(" disabled"), "everything is editable");
    assert!(!html.contains("Your role can view but not change billing data."));
    assert!(
        html.contains(r#"<button type="submit" class="btn btn-primary">Save changes</button>"#)
    );
    // The side card.
    assert!(html.contains("<code>K10001</code>"));
    assert!(html.contains(r#"<span class="badge badge-warning">Not verified</span>"#));
    assert!(html.contains(r#"action="/console/customers/cus_1/lock""#));
    assert!(html.contains(r#"name="reason" type="text""#));
    assert!(!html.contains("/unlock"));
    assert!(html.contains(r#"href="/console/customers/cus_1/log""#));
    assert!(html.contains(r#"action="/console/customers/cus_1/impersonate""#));
    assert!(html.contains("This is recorded in the change log."));
}

#[test]
fn customer_edit_form_locks_billing_fields_for_restricted_roles() {
    let billing_locked = customer_edit_page(true, true, false);
    assert_eq!(
        billing_locked
            .matches(r#"<fieldset class="form-section" disabled>"#)
            .count(),
        2,
        "bank and billing fieldsets"
    );
    assert_eq!(
        billing_locked
            .matches("Your role can view but not change billing data.")
            .count(),
        2
    );
    assert!(billing_locked.contains("Save changes"));
    let billing_section = billing_locked
        .find("<legend>Account &amp; billing</legend>")
        .unwrap();
    assert!(
        billing_locked.find(r#"id="currency""#).unwrap() > billing_section,
        "the currency is billing data"
    );
    assert!(billing_locked.contains(r#"action="/console/customers/cus_1/unlock""#));
    assert!(!billing_locked.contains("/lock\""));
    assert!(billing_locked.contains(r#"<span class="badge badge-danger">Locked</span>"#));
    assert!(!billing_locked.contains("/impersonate"));

    let read_only = customer_edit_page(false, false, false);
    assert_eq!(
        read_only
            .matches(r#"<fieldset class="form-section" disabled>"#)
            .count(),
        4
    );
    assert!(read_only.contains("You can view this customer but not change it."));
    assert!(!read_only.contains("Save changes"));
    assert!(!read_only.contains("/lock\"") && !read_only.contains("/unlock\""));
    assert!(read_only.contains(r#"href="/console/customers/cus_1/log""#));
}

#[test]
fn customer_create_form_starts_blank() {
    let html = render(
        "console/customer_form.html",
        context! {
            mode => "create",
            action => "/console/customers",
            customer => (),
            can_edit => true,
            can_edit_billing => true,
            options => customer_options(),
            default_credit_limit => "500.00 EUR",
            can_impersonate => true,
            values => context! { billing_type => "BANKTRANSFER", debit_status => "INACTIVE" },
            errors => context! { email => "An account with this email address already exists." },
            ..console("de", "customers", ALL_PERMS)
        },
    );
    assert!(html.contains("<h1>Neuer Kunde</h1>"));
    assert!(html.contains(r#"method="post" action="/console/customers" class="form""#));
    assert!(html.contains(r#"<option value="" selected>Bitte auswählen</option>"#));
    assert!(html.contains(r#"<option value="BANKTRANSFER" selected>Bank transfer</option>"#));
    assert!(html.contains(r#"aria-describedby="email-error" aria-invalid="true""#));
    assert!(
        html.contains("Bankverbindung &amp; Mandat") && html.contains("Konto &amp; Abrechnung")
    );
    assert!(html.contains("Kunden anlegen"));
    assert!(!html.contains(r#"id="mandate_reference""#));
    assert!(!html.contains("/lock") && !html.contains("/impersonate") && !html.contains("/log\""));
}

#[test]
fn change_log_shows_before_and_after() {
    let html = render(
        "console/change_log.html",
        context! {
            subject => "K10001 · Jane Doe",
            back_url => "/console/customers/cus_1",
            entries => vec![
                context! {
                    at => "2025-03-04 10:11", actor => "staff@acme.test", action => "customer.update",
                    entity => "customer", entity_id => "cus_1", ip => "203.0.113.7",
                    changes => vec![
                        context! { field => "city", before => "Bonn", after => "Berlin" },
                        context! { field => "vat_id", before => (), after => "DE123456789" },
                    ],
                },
                context! {
                    at => "2025-03-05 09:00", actor => "owner@acme.test", action => "staff.invite",
                    entity => (), entity_id => (), ip => (), changes => Vec::<Value>::new(),
                },
            ],
            ..console("de", "audit", ALL_PERMS)
        },
    );
    assert!(html.contains("<h1>Änderungsprotokoll: K10001 · Jane Doe</h1>"));
    assert!(html.contains(r#"href="/console/customers/cus_1""#) && html.contains("Zurück"));
    assert!(html.contains("<code>customer.update</code>"));
    assert!(html.contains("<code>203.0.113.7</code>"));
    assert!(html.contains(r#"<span class="diff-field">city</span>"#));
    assert!(html.contains(r#"<span class="visually-hidden">Vorher: </span>Bonn</del>"#));
    assert!(html.contains(r#"<span class="visually-hidden">Nachher: </span>Berlin</ins>"#));
    assert!(html.contains(r#"<span class="diff-empty">(leer)</span>"#));
    assert!(html.contains(r#"<a href="/console/audit" aria-current="page">"#));

    let empty = render(
        "console/change_log.html",
        context! {
            subject => (),
            back_url => (),
            entries => Vec::<Value>::new(),
            ..console("en", "audit", ALL_PERMS)
        },
    );
    assert!(empty.contains("<h1>Change log</h1>"));
    assert!(empty.contains("No changes recorded yet."));
    assert!(!empty.contains("Back"));
}

#[test]
fn outbox_lists_kept_emails_with_their_bodies() {
    let html = render(
        "console/outbox.html",
        context! {
            messages => vec![
                context! {
                    id => "msg_1", to => "jane@doe.test", from => "shop@acme.test",
                    subject => "Welcome <Jane>", status => "stored", created_at => "2025-03-04 10:11",
                    sent_at => (), body => "Hello Jane,\n<b>welcome</b>!",
                },
                context! {
                    id => "msg_2", to => "max@muster.test", from => "shop@acme.test",
                    subject => "Invoice", status => "failed", created_at => "2025-03-05 09:00",
                    sent_at => "2025-03-05 09:01", body => "Your invoice",
                },
            ],
            ..console("en", "outbox", ALL_PERMS)
        },
    );
    assert!(html.contains("emails are not sent"));
    assert!(html.contains("<details class=\"message\">"));
    assert!(
        html.contains("Welcome &lt;Jane&gt;"),
        "subjects are escaped"
    );
    assert!(
        html.contains("<pre class=\"message-body\">Hello Jane,\n&lt;b&gt;welcome&lt;/b&gt;!</pre>")
    );
    assert!(html.contains(r#"<span class="badge badge-muted">Stored</span>"#));
    assert!(html.contains(r#"<span class="badge badge-danger">Failed</span>"#));
    assert!(html.contains("2025-03-05 09:01"));
    assert_eq!(
        html.matches("<dt>Sent</dt>").count(),
        1,
        "only sent messages"
    );

    let empty = render(
        "console/outbox.html",
        context! { messages => Vec::<Value>::new(), ..console("de", "outbox", ALL_PERMS) },
    );
    assert!(empty.contains("Noch keine E-Mails."));
    assert!(empty.contains("In der eingebetteten Installation"));
}

#[test]
fn staff_page_manages_other_members_only() {
    let html = render(
        "console/staff.html",
        context! {
            members => vec![
                context! { id => "u1", email => "owner@acme.test", name => "Olga Owner", role => "owner", totp => true, is_self => false },
                context! { id => "u2", email => "staff@acme.test", name => (), role => "admin", totp => false, is_self => true },
                context! { id => "u3", email => "bill@acme.test", name => "Bill", role => "billing", totp => false, is_self => false },
                context! { id => "u4", email => "sue@acme.test", name => (), role => "support", totp => true, is_self => false },
            ],
            roles => vec![
                context! { value => "admin", label => "Administrator" },
                context! { value => "billing", label => "Billing" },
                context! { value => "support", label => "Support" },
            ],
            values => context! { email => "new@acme.test", role => "support" },
            errors => context! { email => "This person is already on your team." },
            ..console("en", "staff", ALL_PERMS)
        },
    );
    assert!(html.contains(r#"<a href="/console/staff" aria-current="page">Staff</a>"#));
    for own in ["u1", "u2"] {
        assert!(!html.contains(&format!("/console/staff/{own}/")), "{own}");
    }
    for other in ["u3", "u4"] {
        assert!(html.contains(&format!(r#"action="/console/staff/{other}/role""#)));
        assert!(html.contains(&format!(r#"action="/console/staff/{other}/remove""#)));
        assert!(html.contains(&format!(r#"<select id="role-{other}" name="role">"#)));
    }
    assert!(html.contains(
        r#"<label for="role-u3" class="visually-hidden">Role of bill@acme.test</label>"#
    ));
    assert!(html.contains(r#"<option value="billing" selected>Billing</option>"#));
    assert!(html.contains("Olga Owner") && html.contains("Owner"));
    assert!(html.contains(r#"<span class="badge badge-info">You</span>"#));
    assert!(html.contains(r#"<span class="badge badge-success">On</span>"#));
    // The invite form.
    assert!(html.contains(r#"method="post" action="/console/staff""#));
    assert!(html.contains(r#"value="new@acme.test""#));
    assert!(html.contains(r#"aria-invalid="true" aria-describedby="email-error""#));
    assert!(html.contains("This person is already on your team."));
    assert!(html.contains("Everything except managing the team."));
    assert!(html.contains("Customers; billing data is read-only."));
}

#[test]
fn totp_setup_shows_key_link_and_code_field() {
    let html = render(
        "totp_setup.html",
        context! {
            secret => "JBSWY3DPEHPK3PXP",
            otpauth_uri => "otpauth://totp/Acme:staff@acme.test?secret=JBSWY3DPEHPK3PXP&issuer=Acme",
            action => "/console/totp",
            recovery_codes => (),
            errors => context! { code => "The code is not valid. Try the current code from your authenticator app." },
            ..console("en", "", ALL_PERMS)
        },
    );
    assert!(
        html.contains(r#"<code class="totp-secret" id="totp-secret">JBSW Y3DP EHPK 3PXP</code>"#)
    );
    assert!(html.contains(
        r#"value="otpauth://totp/Acme:staff@acme.test?secret=JBSWY3DPEHPK3PXP&amp;issuer=Acme" readonly"#
    ));
    assert!(html.contains(r#"method="post" action="/console/totp""#));
    assert!(html.contains(r#"inputmode="numeric" autocomplete="one-time-code""#));
    assert!(html.contains(r#"aria-describedby="code-hint code-error" aria-invalid="true""#));
    assert!(html.contains("The code is not valid."));
    assert!(!html.contains("recovery-codes"));
}

#[test]
fn totp_setup_shows_recovery_codes_once_instead_of_the_form() {
    let html = render(
        "totp_setup.html",
        context! {
            secret => "JBSWY3DPEHPK3PXP",
            otpauth_uri => "otpauth://totp/relabel:op@relabel.test?secret=JBSWY3DPEHPK3PXP",
            action => "/operator/totp",
            recovery_codes => vec!["abcd-efgh", "ijkl-mnop"],
            continue_url => "/operator",
            ..common("operator", "de", "", true)
        },
    );
    assert!(html.contains(
        "Speichern Sie diese Wiederherstellungscodes jetzt; jeder funktioniert nur einmal."
    ));
    assert!(html.contains("<li><code>abcd-efgh</code></li>"));
    assert!(html.contains(r#"<a class="btn btn-primary" href="/operator">Weiter</a>"#));
    assert!(!html.contains(r#"name="code""#));
    assert!(!html.contains("/operator/totp"));
    assert!(html.contains(r#"action="/operator/logout""#));
}

#[test]
fn totp_verify_accepts_code_or_recovery_code() {
    let html = render(
        "totp_verify.html",
        context! {
            action => "/operator/login/totp",
            error => "The code is not valid. Try the current code from your authenticator app.",
            ..common("operator", "en", "", false)
        },
    );
    assert!(html.contains(r#"method="post" action="/operator/login/totp""#));
    assert!(html.contains(r#"autocomplete="one-time-code""#));
    assert!(html.contains("or one of your recovery codes"));
    assert!(html.contains(r#"aria-describedby="code-hint totp-error" aria-invalid="true""#));
    assert!(html.contains(r#"role="alert" id="totp-error""#));
    assert!(!html.contains("/operator/logout"), "not signed in yet");

    let fresh = render(
        "totp_verify.html",
        context! { action => "/console/login/totp", error => (), ..common("console", "de", "", false) },
    );
    assert!(fresh.contains("Zwei-Faktor-Authentifizierung"));
    assert!(fresh.contains(r#"aria-describedby="code-hint">"#));
    assert!(!fresh.contains("aria-invalid"));
}

#[test]
fn invite_acceptance_asks_for_name_and_password() {
    let html = render(
        "console/invite_accept.html",
        context! {
            email => "new@acme.test",
            action => "/console/invite/tok_123",
            values => context! { name => "Nina New" },
            errors => context! { password => "The password must be at least 10 characters long." },
            ..common("console", "de", "", false)
        },
    );
    assert!(html.contains("Dem Team von Acme Hosting beitreten"));
    assert!(html.contains(r#"method="post" action="/console/invite/tok_123""#));
    assert!(html.contains(r#"value="new@acme.test" autocomplete="username" readonly"#));
    assert!(html.contains(r#"name="name" type="text" value="Nina New""#));
    assert!(html.contains(r#"autocomplete="new-password""#));
    assert!(html.contains("Mindestens 10 Zeichen."));
    assert!(
        html.contains(r#"aria-describedby="password-hint password-error" aria-invalid="true""#)
    );
    assert!(
        !html.contains("/console/logout"),
        "no session controls when signed out"
    );
}

#[test]
fn message_keys_the_handlers_emit_exist_in_both_languages() {
    let keys = [
        "err.required",
        "err.iban",
        "err.bic",
        "err.vat_id",
        "err.postal_code",
        "err.phone",
        "err.country",
        "err.choice",
        "err.amount",
        "err.date",
        "err.email_taken",
        "err.company_required",
        "err.mandate_required",
        "err.debit_active_needs_mandate",
        "err.totp",
        "err.password_mismatch",
        "err.current_password",
        "err.role",
        "err.staff_exists",
        "err.rate_limited",
        "err.locked_out",
        "flash.customer_created",
        "flash.customer_saved",
        "flash.customer_locked",
        "flash.customer_unlocked",
        "flash.staff_invited",
        "flash.staff_role_changed",
        "flash.staff_removed",
        "flash.totp_enabled",
        "title.customers",
        "title.customer",
        "title.new_customer",
        "title.change_log",
        "title.outbox",
        "title.staff",
        "title.totp_setup",
        "title.totp_verify",
        "title.invite_accept",
    ];
    for (lang, table) in i18n::tables() {
        for key in keys {
            assert!(
                table.iter().any(|(k, _)| *k == key),
                "{key} is missing in {lang}"
            );
        }
    }
    assert_eq!(
        t("de", "err.bic"),
        "Geben Sie eine gültige BIC ein: 8 oder 11 Zeichen, z. B. COBADEFFXXX."
    );
}

/// Keys passed to `t("…")` or `t('…')` in the template sources.
fn template_keys() -> Vec<(&'static str, &'static str)> {
    let mut keys = Vec::new();
    for &(name, source) in TEMPLATES {
        let mut rest = source;
        while let Some(pos) = rest.find("t(") {
            let preceding = rest[..pos].chars().next_back();
            rest = &rest[pos + 2..];
            if preceding.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let args = rest.trim_start();
            let Some(quote) = args.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                continue;
            };
            let body = &args[1..];
            let end = body
                .find(quote)
                .unwrap_or_else(|| panic!("{name}: unterminated t() key"));
            keys.push((name, &body[..end]));
        }
    }
    keys
}

#[test]
fn every_translation_key_used_by_a_template_exists_in_both_languages() {
    let keys = template_keys();
    assert!(keys.len() > 100, "the scan found only {} keys", keys.len());
    for (lang, table) in i18n::tables() {
        for (template, key) in &keys {
            assert!(
                table.iter().any(|(k, _)| k == key),
                "{template}: key {key:?} is missing in {lang}"
            );
        }
    }
}

#[test]
fn stylesheet_is_embedded() {
    assert!(ADMIN_CSS.contains("--primary"));
}
