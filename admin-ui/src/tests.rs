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
