//! Storefront themes: the embedded templates and assets of a reseller's shop,
//! rendered in a sandbox with the reseller's brand and the visitor's language.

mod brand;
mod i18n;
mod lang;
mod look;
mod plain;
mod samples;

pub use brand::Brand;
pub use i18n::{t, t_args};
pub use lang::{Lang, LangLink};
pub use look::{
    Analytics, FONTS, LEGAL_PAGES, Look, THEMES, is_font, is_google_id, is_matomo_site,
    is_matomo_url, is_theme,
};
pub use plain::{has_link_or_break, plain_name};

use minijinja::value::{Kwargs, Serde, ValueKind, merge_maps};
use minijinja::{
    AutoEscape, Environment, Error, ErrorKind, State, UndefinedBehavior, Value, context,
};
use serde::Serialize;

/// The default theme's stylesheet, served by the app at `/_store/store.css`.
pub const STORE_CSS: &str = include_str!("../assets/default/store.css");
/// The stylesheets each theme adds to `store.css`: `(theme, css)`, served at
/// `/_store/theme-<theme>.css`.
pub const THEME_CSS: &[(&str, &str)] = &[
    (
        "classic",
        include_str!("../assets/default/theme-classic.css"),
    ),
    ("studio", include_str!("../assets/default/theme-studio.css")),
];
/// Shows the consent banner and loads the analytics tracker only after consent.
pub const CONSENT_JS: &str = include_str!("../assets/default/consent.js");
/// Progressive enhancement of the domain search (no other script on the storefront).
pub const SEARCH_JS: &str = include_str!("../assets/default/search.js");
/// Sizes the signup widget's frame to its form.
pub const WIDGET_FRAME_JS: &str = include_str!("../assets/default/widget-frame.js");

/// Every template is compiled into the binary. There is deliberately no loader:
/// a name that is not listed here cannot be rendered, extended or included.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "default/base.html",
        include_str!("../templates/default/base.html"),
    ),
    (
        "default/home.html",
        include_str!("../templates/default/home.html"),
    ),
    (
        "default/_footer.html",
        include_str!("../templates/default/_footer.html"),
    ),
    (
        "default/legal.html",
        include_str!("../templates/default/legal.html"),
    ),
    (
        "default/prices.html",
        include_str!("../templates/default/prices.html"),
    ),
    (
        "default/account/_form.html",
        include_str!("../templates/default/account/_form.html"),
    ),
    (
        "default/account/_nav.html",
        include_str!("../templates/default/account/_nav.html"),
    ),
    (
        "default/account/signup.html",
        include_str!("../templates/default/account/signup.html"),
    ),
    (
        "default/account/login.html",
        include_str!("../templates/default/account/login.html"),
    ),
    (
        "default/newsletter.html",
        include_str!("../templates/default/newsletter.html"),
    ),
    (
        "default/newsletter_unsubscribe.html",
        include_str!("../templates/default/newsletter_unsubscribe.html"),
    ),
    (
        "emails/newsletter_opt_in.txt",
        include_str!("../templates/emails/newsletter_opt_in.txt"),
    ),
    (
        "emails/newsletter.txt",
        include_str!("../templates/emails/newsletter.txt"),
    ),
    (
        "emails/invoice.txt",
        include_str!("../templates/emails/invoice.txt"),
    ),
    (
        "emails/dunning_letter.txt",
        include_str!("../templates/emails/dunning_letter.txt"),
    ),
    (
        "documents/invoice.txt",
        include_str!("../templates/documents/invoice.txt"),
    ),
    (
        "documents/dunning_letter.txt",
        include_str!("../templates/documents/dunning_letter.txt"),
    ),
    (
        "documents/statement.txt",
        include_str!("../templates/documents/statement.txt"),
    ),
    (
        "default/account/message.html",
        include_str!("../templates/default/account/message.html"),
    ),
    (
        "default/account/reset_request.html",
        include_str!("../templates/default/account/reset_request.html"),
    ),
    (
        "default/account/reset.html",
        include_str!("../templates/default/account/reset.html"),
    ),
    (
        "default/account/overview.html",
        include_str!("../templates/default/account/overview.html"),
    ),
    (
        "default/account/profile.html",
        include_str!("../templates/default/account/profile.html"),
    ),
    (
        "default/account/security.html",
        include_str!("../templates/default/account/security.html"),
    ),
    (
        "emails/_link_validity.txt",
        include_str!("../templates/emails/_link_validity.txt"),
    ),
    (
        "emails/verify_email.txt",
        include_str!("../templates/emails/verify_email.txt"),
    ),
    (
        "emails/reset_password.txt",
        include_str!("../templates/emails/reset_password.txt"),
    ),
    (
        "emails/signup_exists.txt",
        include_str!("../templates/emails/signup_exists.txt"),
    ),
    (
        "emails/email_changed.txt",
        include_str!("../templates/emails/email_changed.txt"),
    ),
    (
        "emails/email_in_use.txt",
        include_str!("../templates/emails/email_in_use.txt"),
    ),
    (
        "emails/staff_invite.txt",
        include_str!("../templates/emails/staff_invite.txt"),
    ),
    (
        "default/search.html",
        include_str!("../templates/default/search.html"),
    ),
    (
        "default/cart.html",
        include_str!("../templates/default/cart.html"),
    ),
    (
        "default/checkout.html",
        include_str!("../templates/default/checkout.html"),
    ),
    (
        "default/account/orders.html",
        include_str!("../templates/default/account/orders.html"),
    ),
    (
        "default/account/order.html",
        include_str!("../templates/default/account/order.html"),
    ),
    (
        "default/account/domains.html",
        include_str!("../templates/default/account/domains.html"),
    ),
    (
        "default/account/domain.html",
        include_str!("../templates/default/account/domain.html"),
    ),
    (
        "default/account/credentials.html",
        include_str!("../templates/default/account/credentials.html"),
    ),
    (
        "emails/order_status.txt",
        include_str!("../templates/emails/order_status.txt"),
    ),
    (
        "default/account/contacts.html",
        include_str!("../templates/default/account/contacts.html"),
    ),
    (
        "default/account/invoices.html",
        include_str!("../templates/default/account/invoices.html"),
    ),
    (
        "default/widget.html",
        include_str!("../templates/default/widget.html"),
    ),
    (
        "platform/not_found.html",
        include_str!("../templates/platform/not_found.html"),
    ),
    (
        "platform/suspended.html",
        include_str!("../templates/platform/suspended.html"),
    ),
];

/// The storefront theme; [`Themes::render_page`] names are relative to it.
const THEME: &str = "default";
const HOME: &str = "default/home.html";
const NOT_FOUND: &str = "platform/not_found.html";
const SUSPENDED: &str = "platform/suspended.html";

/// Per-render budget. The home page needs a few thousand; the headroom is for
/// themes that grow, the cap is for templates that loop out of control.
const FUEL: u64 = 50_000;
const RECURSION_LIMIT: usize = 100;
/// The memory one render may allocate, counted by the allocator below: a
/// second line behind the fuel, for anything the fuel does not price.
pub const MEMORY_BUDGET: usize = 16 * 1024 * 1024;

/// Counts each thread's allocations so that a render's [`MEMORY_BUDGET`]
/// holds (`minijinja::budget`, vendor/minijinja/PATCHED.md). Declared here so
/// that every program that renders reseller templates counts them.
#[global_allocator]
static ALLOCATOR: minijinja::budget::CountingAllocator = minijinja::budget::CountingAllocator;
/// A reseller's template may write at most this much; the built-in pages are
/// a few dozen KiB.
pub const OUTPUT_LIMIT: usize = 512 * 1024;

/// The templates a reseller may replace (B10): the storefront's layout, home
/// page, footer and legal pages, and every email. Each is previewed with
/// [`Themes::preview`] before it is published.
pub const EDITABLE: &[&str] = &[
    "default/base.html",
    "default/home.html",
    "default/_footer.html",
    "default/legal.html",
    "emails/verify_email.txt",
    "emails/reset_password.txt",
    "emails/signup_exists.txt",
    "emails/email_changed.txt",
    "emails/email_in_use.txt",
    "emails/staff_invite.txt",
    "emails/order_status.txt",
    "emails/newsletter_opt_in.txt",
    "emails/newsletter.txt",
    "emails/invoice.txt",
    "emails/dunning_letter.txt",
    "documents/invoice.txt",
    "documents/dunning_letter.txt",
    "documents/statement.txt",
];

/// The built-in source of an editable template.
pub fn builtin_source(name: &str) -> Option<&'static str> {
    if !EDITABLE.contains(&name) {
        return None;
    }
    TEMPLATES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// The variables an editable template is rendered with (documented in the
/// console editor): `(name, description)`.
pub fn placeholders(name: &str) -> &'static [(&'static str, &'static str)] {
    const PAGE: &[(&str, &str)] = &[
        (
            "brand.name, brand.primary_color, brand.accent_color, brand.logo_url",
            "the shop's brand",
        ),
        (
            "look.theme, look.font_stack, look.favicon_url, look.custom_css, look.legal, look.analytics",
            "theme settings",
        ),
        (
            "lang, lang_links",
            "language code (de, en) and the language switch links",
        ),
        ("year", "the current year"),
        (
            "customer",
            "the signed-in customer (number, name, email) or none",
        ),
        ("t(\"key\", ...)", "a text in the visitor's language"),
    ];
    const LEGAL: &[(&str, &str)] = &[
        ("title", "the legal page's title"),
        ("paragraphs", "its text, one entry per paragraph"),
    ];
    const EMAIL: &[(&str, &str)] = &[
        ("brand_name", "the shop's name"),
        ("customer_name", "the recipient's name (may be empty)"),
        (
            "link, expires_hours",
            "the confirmation link and how long it is valid",
        ),
        (
            "order_number, total, status, case_number, note",
            "order status emails",
        ),
        ("inviter, role", "staff invitations"),
        (
            "login_link, reset_link",
            "sign-ups with an address that has an account already",
        ),
        (
            "document (invoice, credit_note), number, total, due_date",
            "invoice and credit note emails",
        ),
        ("title, level", "dunning letter emails"),
        (
            "categories (name, link), subject, body, unsubscribe",
            "newsletter emails",
        ),
        ("lang", "language code (de, en)"),
    ];
    const DOCUMENT: &[(&str, &str)] = &[
        ("lang", "language code (de, en) of the customer"),
        ("brand_name", "the shop's name"),
        ("customer_name, customer_number", "the customer"),
        (
            "document (invoice, credit_note), number",
            "invoices and credit notes: which document (the text above its lines)",
        ),
        (
            "balance",
            "statements of account: the balance (the text above the entries)",
        ),
        (
            "level (1 reminder .. 4 final notice), total, fee, interest",
            "dunning letters: the first line is `Title: ...`, then a blank line and the text above the items",
        ),
    ];
    if name.starts_with("emails/") {
        EMAIL
    } else if name.starts_with("documents/") {
        DOCUMENT
    } else if name == "default/legal.html" {
        LEGAL
    } else {
        PAGE
    }
}

/// A reseller's template failed to compile or to render within the limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    pub name: String,
    pub message: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl std::error::Error for TemplateError {}

fn template_error(name: &str, e: &Error) -> TemplateError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    TemplateError {
        name: name.to_owned(),
        message,
    }
}

/// A reseller's published templates, compiled over the built-in ones. Names
/// resolve only to the built-in templates and this reseller's own versions:
/// there is no loader, no file system and no other reseller's template.
#[derive(Debug, Clone)]
pub struct Custom {
    env: Environment<'static>,
}

/// Collects output up to [`OUTPUT_LIMIT`], then fails the render.
struct Limited(Vec<u8>);

impl std::io::Write for Limited {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > OUTPUT_LIMIT {
            return Err(std::io::Error::other(format!(
                "the output is larger than {} KiB",
                OUTPUT_LIMIT / 1024
            )));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Renders `name` in `env` within the output limit (fuel and recursion are
/// limited by the environment).
fn render_limited(env: &Environment<'static>, name: &str, ctx: Value) -> Result<String, Error> {
    let mut out = Limited(Vec::new());
    env.get_template(name)?.render_captured_to(ctx, &mut out)?;
    String::from_utf8(out.0)
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, "the output is not UTF-8"))
}

/// Served if the template engine itself fails, so that an error page can never
/// turn into a second error.
const NOT_FOUND_FALLBACK: &str = "<!doctype html>\n<html><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>404 · Page not found · Seite nicht gefunden</title></head>\
<body><main><h1>404</h1><p>Page not found.</p><p lang=\"de\">Seite nicht gefunden.</p></main></body></html>\n";

const SUSPENDED_FALLBACK: &str = "<!doctype html>\n<html><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Temporarily unavailable · Vorübergehend nicht erreichbar</title></head>\
<body><main><h1>Temporarily unavailable</h1><p>Please try again later.</p>\
<p lang=\"de\">Vorübergehend nicht erreichbar. Bitte versuchen Sie es später noch einmal.</p></main></body></html>\n";

/// Everything a storefront page is rendered from besides its own context.
#[derive(Clone, Debug)]
pub struct StorePage<'a> {
    pub brand: &'a Brand,
    pub look: &'a Look,
    pub lang: Lang,
    pub lang_links: Vec<LangLink>,
    pub year: i32,
    /// Domains go to the built-in test registry: the page says so.
    pub test_registry: bool,
}

/// The compiled templates, shared by all tenants.
#[derive(Debug)]
pub struct Themes {
    env: Environment<'static>,
}

impl Themes {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        // A typo in a template should fail the tests, not render as blank text.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_memory_budget(Some(MEMORY_BUDGET));
        env.set_recursion_limit(RECURSION_LIMIT);
        env.add_function("t", translate);
        for &(name, source) in TEMPLATES {
            env.add_template(name, source)
                .expect("embedded templates are valid; the tests render each of them");
        }
        Themes { env }
    }

    pub fn render_home(
        &self,
        page: &StorePage<'_>,
        custom: Option<&Custom>,
    ) -> Result<String, Error> {
        self.render_guarded(
            custom,
            HOME,
            merge_maps([page_defaults(), page_context(page)]),
        )
    }

    /// Renders with the reseller's templates when it has any; should one fail
    /// at run time (fuel, recursion, output size, a bad value), the built-in
    /// template serves the page instead, so a template never takes a shop down.
    fn render_guarded(
        &self,
        custom: Option<&Custom>,
        name: &str,
        ctx: Value,
    ) -> Result<String, Error> {
        if let Some(custom) = custom {
            match render_limited(&custom.env, name, ctx.clone()) {
                Ok(html) => return Ok(html),
                Err(e) => {
                    CUSTOM_FAILURES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(template = %name, error = %template_error(name, &e).message, "a reseller template failed; the built-in one served");
                }
            }
        }
        self.env.get_template(name)?.render(ctx)
    }

    /// Compiles a reseller's templates (`(name, source)`) over the built-in
    /// ones. Only [`EDITABLE`] names are accepted.
    pub fn customize(&self, templates: &[(String, String)]) -> Result<Custom, TemplateError> {
        let mut env = self.env.clone();
        for (name, source) in templates {
            if !EDITABLE.contains(&name.as_str()) {
                return Err(TemplateError {
                    name: name.clone(),
                    message: "this template cannot be replaced".into(),
                });
            }
            env.add_template_owned(name.clone(), source.clone())
                .map_err(|e| template_error(name, &e))?;
        }
        Ok(Custom { env })
    }

    /// Renders the editable template `name` of `custom` with sample data,
    /// within the limits, and reports the first error. It is rendered in
    /// every language the shop serves (a branch taken only in German fails
    /// here, not in the German shop), and pages that extend or include `name`
    /// are rendered too: a broken footer breaks the home page. The text shown
    /// is the one in `page.lang`.
    pub fn preview(
        &self,
        custom: &Custom,
        name: &str,
        page: &StorePage<'_>,
    ) -> Result<String, TemplateError> {
        if !EDITABLE.contains(&name) {
            return Err(TemplateError {
                name: name.to_owned(),
                message: "this template cannot be replaced".into(),
            });
        }
        let mut shown = String::new();
        for lang in Lang::ALL {
            let in_lang = StorePage {
                lang,
                lang_links: LangLink::all(lang),
                ..page.clone()
            };
            let text = self
                .preview_in(custom, name, &in_lang)
                .map_err(|e| TemplateError {
                    message: format!("{} (language: {})", e.message, lang.code()),
                    ..e
                })?;
            if lang == page.lang {
                shown = text;
            }
        }
        Ok(shown)
    }

    /// [`Themes::preview`] in one language.
    fn preview_in(
        &self,
        custom: &Custom,
        name: &str,
        page: &StorePage<'_>,
    ) -> Result<String, TemplateError> {
        let render = |n: &str, ctx: Value| {
            render_limited(&custom.env, n, ctx).map_err(|e| template_error(n, &e))
        };
        let page_ctx = || merge_maps([page_defaults(), page_context(page)]);
        let legal_ctx = || {
            merge_maps([
                page_defaults(),
                context! {
                    title => "Imprint",
                    paragraphs => vec!["Example Ltd., 1 Example Street, 12345 Example Town", "Managing director: Jane Doe"],
                },
                page_context(page),
            ])
        };
        if name.starts_with("documents/") {
            let text = render(
                name,
                merge_maps([sample_email(), context! { lang => page.lang.code() }]),
            )?;
            let (title, body) =
                split_document(name, &text).map_err(|e| template_error(name, &e))?;
            return Ok(match title {
                Some(t) => format!("Title: {t}\n\n{body}"),
                None => body,
            });
        }
        if let Some(email) = name.strip_prefix("emails/") {
            let text = render(
                name,
                merge_maps([sample_email(), context! { lang => page.lang.code() }]),
            )?;
            let email = email.trim_end_matches(".txt");
            let (subject, body) =
                split_email(email, &text).map_err(|e| template_error(name, &e))?;
            return Ok(format!("Subject: {subject}\n\n{body}"));
        }
        // Whatever is previewed, the pages built from the layout must render
        // too: every storefront page, with each of its sample contexts.
        let home = render(HOME, page_ctx())?;
        let legal = render("default/legal.html", legal_ctx())?;
        for (name, ctx) in samples::pages() {
            render(
                &format!("{THEME}/{name}"),
                merge_maps([page_defaults(), ctx, page_context(page)]),
            )?;
        }
        Ok(if name == "default/legal.html" {
            legal
        } else {
            home
        })
    }

    /// Renders the storefront page `name` (relative to the theme, e.g.
    /// `"account/login.html"`) with the common context (`brand`, `lang`,
    /// `lang_links`, `year`) plus the keys of `ctx`, which must serialize to a
    /// map. The common keys cannot be overridden by `ctx`.
    ///
    /// `customer` (none), `flash` (empty), `values` and `errors` (empty maps)
    /// default when `ctx` leaves them out; every other key a page reads must be
    /// in `ctx`, as undefined values are render errors. Partials (file names
    /// starting with `_`) cannot be rendered on their own.
    pub fn render_page<S: Serialize>(
        &self,
        name: &str,
        page: &StorePage<'_>,
        ctx: &S,
        custom: Option<&Custom>,
    ) -> Result<String, Error> {
        let name = page_template_name(name)?;
        let extra = map_context(ctx)?;
        self.render_guarded(
            custom,
            &name,
            merge_maps([page_defaults(), extra, page_context(page)]),
        )
    }

    /// Renders the email `emails/<name>.txt` in `lang` with the keys of `ctx`
    /// and returns `(subject, body)`. The template's first line is
    /// `Subject: ...`, followed by a blank line and the plain-text body.
    pub fn render_email<S: Serialize>(
        &self,
        name: &str,
        lang: Lang,
        ctx: &S,
        custom: Option<&Custom>,
    ) -> Result<(String, String), Error> {
        if name.starts_with('_') {
            return Err(Error::new(
                ErrorKind::TemplateNotFound,
                format!("`{name}` is not an email"),
            ));
        }
        let extra = map_context(ctx)?;
        // The addressee's name is typed by whoever signed up: every email, built
        // in or a reseller's own, gets it as one line of plain text.
        let plain = match extra
            .get_attr("customer_name")
            .ok()
            .as_ref()
            .and_then(Value::as_str)
        {
            Some(name) => context! { customer_name => plain_name(name) },
            None => context! {},
        };
        // The last map wins.
        let ctx = merge_maps([extra, context! { lang => lang.code() }, plain]);
        let full = format!("emails/{name}.txt");
        if let Some(custom) = custom {
            // A reseller's email must also split into subject and body.
            let own = render_limited(&custom.env, &full, ctx.clone())
                .and_then(|text| split_email(name, &text));
            match own {
                Ok(mail) => return Ok(mail),
                Err(e) => {
                    CUSTOM_FAILURES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(template = %full, error = %template_error(&full, &e).message, "a reseller email template failed; the built-in one served");
                }
            }
        }
        let text = self.env.get_template(&full)?.render(ctx)?;
        split_email(name, &text)
    }

    /// Renders the document text `documents/<name>.txt` (the text printed on
    /// invoices, credit notes and dunning letters) in `lang` with the keys of
    /// `ctx`: `(title, text)`, the title from a first `Title:` line where the
    /// document has one. A reseller's failing template gives way to the
    /// built-in one, as for pages and emails.
    pub fn render_document_text<S: Serialize>(
        &self,
        name: &str,
        lang: Lang,
        ctx: &S,
        custom: Option<&Custom>,
    ) -> Result<(Option<String>, String), Error> {
        let extra = map_context(ctx)?;
        let ctx = merge_maps([extra, context! { lang => lang.code() }]);
        let full = format!("documents/{name}.txt");
        if let Some(custom) = custom {
            let own = render_limited(&custom.env, &full, ctx.clone())
                .and_then(|text| split_document(&full, &text));
            match own {
                Ok(text) => return Ok(text),
                Err(e) => {
                    CUSTOM_FAILURES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(template = %full, error = %template_error(&full, &e).message, "a reseller document template failed; the built-in one served");
                }
            }
        }
        let text = self.env.get_template(&full)?.render(ctx)?;
        split_document(&full, &text)
    }

    /// The page for hosts that belong to no shop. It is the platform's, not a
    /// reseller's, and says nothing about which shops exist.
    pub fn render_not_found(&self, lang: Lang) -> String {
        self.env
            .get_template(NOT_FOUND)
            .and_then(|template| template.render(context! { lang => lang.code() }))
            .unwrap_or_else(|_| NOT_FOUND_FALLBACK.to_owned())
    }

    /// The page (served as 503) for a shop the platform has switched off; it
    /// keeps the reseller's brand because their customers are the ones reading it.
    pub fn render_suspended(&self, brand: &Brand, lang: Lang) -> String {
        self.env
            .get_template(SUSPENDED)
            .and_then(|template| {
                template.render(context! {
                    brand => brand.to_template_value(),
                    lang => lang.code(),
                })
            })
            .unwrap_or_else(|_| SUSPENDED_FALLBACK.to_owned())
    }
}

impl Default for Themes {
    fn default() -> Self {
        Self::new()
    }
}

/// How often a reseller's template failed and the built-in one served
/// instead (for the metrics to come; the failure is also logged).
pub static CUSTOM_FAILURES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Sample values for previewing emails: every key any email reads.
fn sample_email() -> Value {
    context! {
        brand_name => "Example Shop",
        customer_name => "Kim Example",
        link => "https://shop.example/account/verify/abc123",
        login_link => "https://shop.example/account/login",
        reset_link => "https://shop.example/account/reset",
        expires_hours => 24,
        order_number => "A-1042",
        total => "23.80 EUR",
        status => "completed",
        case_number => "R-7",
        note => "",
        inviter => "Jane Doe",
        role => "staff",
        categories => vec![context! { name => "Product news", link => "https://shop.example/newsletter/confirm/abc" }],
        subject => "Our spring offers",
        body => "Dear customer,\n\nthis month ...",
        unsubscribe => "https://shop.example/newsletter/unsubscribe/abc",
        document => "invoice",
        number => "RE-2026-000042",
        due_date => "15.12.2026",
        title => "Payment reminder",
        level => 2,
        fee => "5.00 EUR",
        interest => "0.51 EUR",
        customer_number => "K-10042",
        balance => "-23.80 EUR",
    }
}

/// The keys every storefront page is rendered with.
fn page_context(page: &StorePage<'_>) -> Value {
    let lang_links: Value = page
        .lang_links
        .iter()
        .map(|link| {
            context! {
                code => link.code,
                label => link.label,
                url => link.url.as_str(),
                active => link.active,
            }
        })
        .collect();
    context! {
        brand => page.brand.to_template_value(),
        look => page.look.to_template_value(),
        lang => page.lang.code(),
        lang_links => lang_links,
        year => page.year,
        test_registry => page.test_registry,
    }
}

/// What `base.html` and the form macros read when a page's context does not
/// say otherwise: nobody signed in, no flash messages, an unfilled form.
fn page_defaults() -> Value {
    context! {
        customer => (),
        flash => Vec::<Value>::new(),
        values => context! {},
        errors => context! {},
    }
}

/// The embedded name of a storefront page; partials are not pages.
fn page_template_name(name: &str) -> Result<String, Error> {
    let file = name.rsplit('/').next().unwrap_or(name);
    if file.starts_with('_') || !file.ends_with(".html") {
        return Err(Error::new(
            ErrorKind::TemplateNotFound,
            format!("`{name}` is not a storefront page"),
        ));
    }
    Ok(format!("{THEME}/{name}"))
}

/// A caller's context as a template value; only maps can be merged into the
/// template context.
fn map_context<S: Serialize>(ctx: &S) -> Result<Value, Error> {
    let value = Value::from(Serde(ctx));
    match value.kind() {
        ValueKind::Map => Ok(value),
        kind => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("the template context must serialize to a map, not {kind}"),
        )),
    }
}

/// Documents with a title line (`Title: ...`, a blank line, the text).
const TITLED: &[&str] = &["documents/dunning_letter.txt"];

/// Splits a document text into its title (where the document has one) and
/// text; a title must not be empty, the text may be.
fn split_document(name: &str, text: &str) -> Result<(Option<String>, String), Error> {
    if !TITLED.contains(&name) {
        return Ok((None, text.trim().to_owned()));
    }
    let (title, body) = split_headed(text.trim_start(), "Title:").ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("`{name}` must start with a `Title:` line and a blank line"),
        )
    })?;
    Ok((Some(title), body.trim().to_owned()))
}

/// The value of a first line `<key> value` (control characters blanked) and
/// the text after the blank line that must follow it; `None` when the text
/// does not have that shape or the value is empty.
fn split_headed<'a>(text: &'a str, key: &str) -> Option<(String, &'a str)> {
    let (first, rest) = text.split_once('\n')?;
    let head: String = first
        .strip_prefix(key)?
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let body = rest
        .strip_prefix('\n')
        .or_else(|| rest.strip_prefix("\r\n"))?;
    (!head.is_empty()).then_some((head, body))
}

/// Splits a rendered email into subject and body. The subject is a single
/// header line: control characters that a value may have brought in are
/// replaced so nothing can be smuggled into the mail headers.
fn split_email(name: &str, text: &str) -> Result<(String, String), Error> {
    let malformed = || {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("email `{name}` must start with a `Subject:` line and a blank line"),
        )
    };
    let (subject, body) = split_headed(text, "Subject:").ok_or_else(malformed)?;
    let body = body.trim_end();
    if body.is_empty() {
        return Err(malformed());
    }
    Ok((subject, format!("{body}\n")))
}

/// `t("key")` in templates. The language is taken from the render context so a
/// page cannot mix languages, and an unknown key is an error rather than a
/// silently empty heading.
///
/// Placeholders are filled from keyword arguments:
/// `t("account.overview.greeting", name=customer.name)`. A placeholder without
/// an argument, an undefined argument and an argument the text has no
/// placeholder for are all errors. The result is a plain string, so values are
/// escaped like any other output.
fn translate(state: &State, key: &str, args: Kwargs) -> Result<String, Error> {
    let lang = state
        .lookup("lang")
        .as_ref()
        .and_then(Value::as_str)
        .and_then(Lang::parse)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                "t() needs a supported `lang` in the template context",
            )
        })?;
    let text = i18n::lookup(lang, key).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("unknown translation key `{key}`"),
        )
    })?;
    let filled = i18n::fill(text, |name| {
        let value: Value = args.get(name).map_err(|_| {
            Error::new(
                ErrorKind::MissingArgument,
                format!("`{key}` needs a value for {{{name}}}"),
            )
        })?;
        if value.is_undefined() {
            return Err(Error::new(
                ErrorKind::UndefinedError,
                format!("the value for {{{name}}} in `{key}` is undefined"),
            ));
        }
        Ok(value.to_string())
    })?;
    args.assert_all_used().map_err(|err| {
        Error::new(
            ErrorKind::TooManyArguments,
            format!("`{key}` has no placeholder for an argument"),
        )
        .with_source(err)
    })?;
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static LOOK: std::sync::LazyLock<Look> = std::sync::LazyLock::new(Look::default);

    fn brand(name: &str) -> Brand {
        Brand {
            name: name.to_owned(),
            primary_color: "#0a7b83".to_owned(),
            accent_color: "#ffb400".to_owned(),
            logo_url: None,
        }
    }

    fn home(brand: &Brand, lang: Lang) -> String {
        let page = StorePage {
            brand,
            look: &LOOK,
            lang,
            lang_links: LangLink::all(lang),
            year: 2026,
            test_registry: false,
        };
        Themes::new().render_home(&page, None).unwrap()
    }

    /// Keys of every `t("...")` call in a template source.
    fn translation_keys_used(source: &str) -> Vec<&str> {
        let mut keys = Vec::new();
        let mut rest = source;
        while let Some(pos) = rest.find("t(") {
            let preceding = rest[..pos].chars().next_back();
            rest = &rest[pos + 2..];
            // `rgba(`, `translateY(`, `clamp(` ... are not calls of `t`.
            if preceding.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.') {
                continue;
            }
            let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'');
            let quote = quote.expect("t() must be called with a literal key so it can be checked");
            let body = &rest[1..];
            let end = body.find(quote).expect("unterminated key");
            keys.push(&body[..end]);
        }
        keys
    }

    #[test]
    fn every_translation_key_used_in_templates_exists_in_both_languages() {
        let mut checked = 0;
        for &(name, source) in TEMPLATES {
            for key in translation_keys_used(source) {
                for lang in Lang::ALL {
                    assert!(
                        i18n::lookup(lang, key).is_some(),
                        "{name}: `{key}` has no {lang:?} translation"
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 30, "the key scanner found only {checked} keys");
    }

    #[test]
    fn home_escapes_the_brand_name() {
        let html = home(&brand("<script>alert(1)</script>"), Lang::En);
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;"));
    }

    #[test]
    fn home_shows_brand_name_colors_and_year() {
        let html = home(&brand("Acme Hosting"), Lang::En);
        assert!(html.contains("<span class=\"brand-wordmark\">Acme Hosting</span>"));
        assert!(html.contains("--primary: #0a7b83;"));
        assert!(html.contains("--accent: #ffb400;"));
        assert!(html.contains("&copy; 2026 Acme Hosting"));
        assert!(html.contains("<title>Acme Hosting"));
    }

    #[test]
    fn home_shows_logo_instead_of_wordmark() {
        let mut with_logo = brand("Acme Hosting");
        with_logo.logo_url = Some("https://cdn.example.com/acme.png".to_owned());
        let html = home(&with_logo, Lang::En);
        assert!(html.contains("<img class=\"brand-logo\""));
        assert!(html.contains("alt=\"Acme Hosting\""));
        assert!(!html.contains("brand-wordmark"));
    }

    #[test]
    fn home_replaces_colors_that_are_not_hex() {
        let mut hostile = brand("Acme Hosting");
        hostile.primary_color = "red;}body{display:none".to_owned();
        let html = home(&hostile, Lang::En);
        assert!(!html.contains("display:none"));
        assert!(html.contains("--primary: #1d4ed8;"));
    }

    #[test]
    fn home_in_german_is_german() {
        let html = home(&brand("Acme Hosting"), Lang::De);
        assert!(html.contains("<html lang=\"de\">"));
        assert!(html.contains(t(Lang::De, "home.hero.title")));
        assert!(html.contains("Alles aus einer Hand"));
        assert!(html.contains("Domain prüfen"));
        assert!(!html.contains(t(Lang::En, "home.hero.title")));
    }

    #[test]
    fn home_in_english_is_english() {
        let html = home(&brand("Acme Hosting"), Lang::En);
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains(t(Lang::En, "home.hero.title")));
        assert!(!html.contains(t(Lang::De, "home.hero.title")));
    }

    #[test]
    fn home_marks_the_current_language_in_the_switcher() {
        let html = home(&brand("Acme Hosting"), Lang::De);
        assert!(html.contains(
            "href=\"?lang=de\" hreflang=\"de\" lang=\"de\" aria-current=\"true\">Deutsch</a>"
        ));
        assert!(html.contains("href=\"?lang=en\" hreflang=\"en\" lang=\"en\">English</a>"));
    }

    #[test]
    fn home_has_a_working_domain_search_form() {
        let html = home(&brand("Acme Hosting"), Lang::En);
        assert!(html.contains("<form class=\"domain-search\" action=\"/search\" method=\"get\""));
        assert!(html.contains("<label for=\"domain-q\">Check your domain</label>"));
        assert!(html.contains("<input id=\"domain-q\" name=\"q\""));
        assert!(html.contains("<button type=\"submit\">"));
    }

    #[test]
    fn not_found_is_neutral() {
        let themes = Themes::new();
        let page = StorePage {
            brand: &brand("Acme Hosting"),
            look: &LOOK,
            lang: Lang::En,
            lang_links: LangLink::all(Lang::En),
            year: 2026,
            test_registry: false,
        };
        themes.render_home(&page, None).unwrap();

        let de = themes.render_not_found(Lang::De);
        assert!(de.contains("<html lang=\"de\">"));
        assert!(de.contains("Seite nicht gefunden"));
        assert!(de.contains("relabel"));
        assert!(!de.contains("Acme"));
        assert!(!de.contains("/_store/"), "must not pull in a shop's assets");

        let en = themes.render_not_found(Lang::En);
        assert!(en.contains("Page not found"));
        assert!(!en.contains("Acme"));
    }

    #[test]
    fn suspended_page_carries_the_brand() {
        let html = Themes::new().render_suspended(&brand("Acme Hosting"), Lang::De);
        assert!(html.contains("Acme Hosting"));
        assert!(html.contains("--primary: #0a7b83;"));
        assert!(html.contains("Dieser Shop ist vorübergehend nicht erreichbar"));

        let html = Themes::new().render_suspended(&brand("<b>Acme</b>"), Lang::En);
        assert!(html.contains("This shop is temporarily unavailable"));
        assert!(html.contains("&lt;b&gt;Acme"));
        assert!(!html.contains("<b>"));
    }

    #[test]
    fn error_pages_fall_back_when_rendering_fails() {
        let broken = Themes {
            env: Environment::new(),
        };
        assert_eq!(broken.render_not_found(Lang::De), NOT_FOUND_FALLBACK);
        assert_eq!(
            broken.render_suspended(&brand("Acme Hosting"), Lang::De),
            SUSPENDED_FALLBACK
        );
    }

    #[test]
    fn runaway_templates_run_out_of_fuel() {
        let mut env = Themes::new().env;
        env.add_template(
            "loop.html",
            "{% for a in range(1000) %}{% for b in range(1000) %}.{% endfor %}{% endfor %}",
        )
        .unwrap();
        let err = env
            .get_template("loop.html")
            .unwrap()
            .render(context! {})
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::OutOfFuel);
    }

    #[test]
    fn unknown_translation_key_is_a_render_error() {
        let mut env = Themes::new().env;
        env.add_template("typo.html", "{{ t(\"home.no_such_key\") }}")
            .unwrap();
        let template = env.get_template("typo.html").unwrap();
        assert!(template.render(context! { lang => "en" }).is_err());
        assert!(
            template.render(context! {}).is_err(),
            "missing lang must not default silently"
        );
    }

    #[test]
    fn stylesheet_is_self_contained() {
        assert!(STORE_CSS.contains("var(--primary)"));
        assert!(STORE_CSS.contains("var(--accent)"));
        assert!(!STORE_CSS.contains("@import"));
        assert!(!STORE_CSS.contains("url("));
    }

    #[test]
    fn stylesheet_styles_the_account_pages() {
        for selector in [
            ".header-actions",
            ".flash-error",
            ".auth-card",
            ".form-section",
            ".field-error",
            ".field-invalid",
            ".account-nav a[aria-current]",
            ".data-table",
        ] {
            assert!(STORE_CSS.contains(selector), "no rule for {selector}");
        }
    }

    // Account pages and emails

    const CSRF: &str = "csrf-test-token";

    const ACCOUNT_PAGES: &[&str] = &[
        "account/signup.html",
        "account/login.html",
        "account/message.html",
        "account/reset_request.html",
        "account/reset.html",
        "account/overview.html",
        "account/profile.html",
        "account/security.html",
    ];

    const EMAILS: &[&str] = &[
        "verify_email",
        "reset_password",
        "email_changed",
        "staff_invite",
    ];

    fn store_page(brand: &Brand, lang: Lang) -> StorePage<'_> {
        StorePage {
            brand,
            look: &LOOK,
            lang,
            lang_links: LangLink::all(lang),
            year: 2026,
            test_registry: false,
        }
    }

    /// Overwrites `ctx`'s keys with those of `extra`.
    fn merge(ctx: &mut serde_json::Value, extra: serde_json::Value) {
        let (Some(ctx), serde_json::Value::Object(extra)) = (ctx.as_object_mut(), extra) else {
            panic!("contexts are objects");
        };
        ctx.extend(extra);
    }

    fn customer() -> serde_json::Value {
        json!({
            "number": "K-10042",
            "name": "Erika Mustermann",
            "email": "erika@example.com",
        })
    }

    fn sessions() -> serde_json::Value {
        json!([
            {
                "id": "s1",
                "user_agent": "Firefox on Linux",
                "ip": "192.0.2.10",
                "created_at": "2026-03-01 09:15",
                "last_seen_at": "2026-03-02 18:40",
                "current": true,
            },
            {
                "id": "s2",
                "user_agent": null,
                "ip": null,
                "created_at": "2026-02-11 07:02",
                "last_seen_at": "2026-02-12 21:30",
                "current": false,
            },
        ])
    }

    /// Everything the app passes to the account page `name`.
    fn account_page_context(name: &str) -> serde_json::Value {
        let mut ctx = json!({
            "csrf": CSRF,
            "flash": [],
            "customer": null,
            "values": {},
            "errors": {},
            "options": {
                "countries": [
                    {"code": "DE", "name": "Deutschland"},
                    {"code": "AT", "name": "Österreich"},
                ],
                "languages": [
                    {"value": "de", "label": "Deutsch"},
                    {"value": "en", "label": "English"},
                ],
                "newsletter_categories": [
                    {"value": "offers", "label": "Offers"},
                    {"value": "product_news", "label": "Product news"},
                ],
                "kinds": [
                    {"value": "person", "label": "Private customer"},
                    {"value": "company", "label": "Company customer"},
                ],
            },
        });
        let extra = match name {
            "account/login.html" => json!({ "error": null }),
            "account/message.html" => json!({
                "heading": "Check your inbox",
                "message": "We have sent you a link.",
                "link": {"href": "/account/login", "label": "Go to sign in"},
            }),
            "account/reset.html" => json!({ "token": "reset-token-abc" }),
            "account/overview.html" => json!({ "customer": customer() }),
            "account/profile.html" => json!({ "customer": customer(), "mandate": null }),
            "account/security.html" => json!({ "customer": customer(), "sessions": sessions() }),
            _ => json!({}),
        };
        merge(&mut ctx, extra);
        ctx
    }

    fn render_account(name: &str, lang: Lang, extra: serde_json::Value) -> String {
        let brand = brand("Acme Hosting");
        let mut ctx = account_page_context(name);
        merge(&mut ctx, extra);
        Themes::new()
            .render_page(name, &store_page(&brand, lang), &ctx, None)
            .unwrap_or_else(|err| panic!("{name}: {err:?}"))
    }

    /// The ids of all visible form controls; panics on a control without one.
    fn form_control_ids(html: &str) -> Vec<&str> {
        let mut ids = Vec::new();
        for tag in ["<input ", "<select ", "<textarea "] {
            for (start, _) in html.match_indices(tag) {
                let end = html[start..]
                    .find('>')
                    .map_or(html.len(), |len| start + len);
                let element = &html[start..end];
                if element.contains("type=\"hidden\"") {
                    continue;
                }
                let id = element
                    .split(" id=\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .unwrap_or_else(|| panic!("form control without an id: {element}"));
                ids.push(id);
            }
        }
        ids
    }

    #[test]
    fn every_account_page_renders_in_both_languages() {
        for &name in ACCOUNT_PAGES {
            for lang in Lang::ALL {
                let html = render_account(name, lang, json!({}));
                assert!(html.contains(&format!("<html lang=\"{}\">", lang.code())));
                assert!(
                    html.contains("<meta name=\"robots\" content=\"noindex\">"),
                    "{name}"
                );
                assert!(html.contains("&copy; 2026 Acme Hosting"), "{name}");
            }
        }
    }

    #[test]
    fn every_post_form_carries_the_csrf_token() {
        let token_input = format!("<input type=\"hidden\" name=\"csrf\" value=\"{CSRF}\">");
        for &name in ACCOUNT_PAGES {
            let html = render_account(name, Lang::En, json!({}));
            let forms = html.matches("method=\"post\"").count();
            assert_eq!(html.matches(&token_input).count(), forms, "{name}");
            assert!(!html.contains("method=\"get\""), "{name}");
        }
        let html = render_account("account/security.html", Lang::En, json!({}));
        assert_eq!(
            html.matches("method=\"post\"").count(),
            4,
            "three forms and sign-out"
        );
    }

    #[test]
    fn every_form_control_has_a_label_and_a_unique_id() {
        for &name in ACCOUNT_PAGES {
            let html = render_account(name, Lang::De, json!({}));
            for id in form_control_ids(&html) {
                assert!(
                    html.contains(&format!(" for=\"{id}\"")),
                    "{name}: no label for #{id}"
                );
                assert_eq!(
                    html.matches(&format!(" id=\"{id}\"")).count(),
                    1,
                    "{name}: #{id} is not unique"
                );
            }
        }
        let signup = render_account("account/signup.html", Lang::En, json!({}));
        let ids = form_control_ids(&signup);
        assert!(
            ids.contains(&"accept_terms") && ids.contains(&"country"),
            "{ids:?}"
        );
    }

    #[test]
    fn header_offers_sign_in_or_account_and_sign_out() {
        let brand = brand("Acme Hosting");
        let html = Themes::new()
            .render_home(&store_page(&brand, Lang::En), None)
            .unwrap();
        assert!(html.contains("<a href=\"/account/login\">Sign in</a>"));
        assert!(!html.contains("/account/logout"));

        let html = render_account("account/overview.html", Lang::De, json!({}));
        assert!(html.contains("<a href=\"/account\">Mein Konto</a>"));
        assert!(
            html.contains(
                "<form class=\"logout-form\" action=\"/account/logout\" method=\"post\">"
            )
        );
        assert!(html.contains("<button class=\"link-button\" type=\"submit\">Abmelden</button>"));
        assert!(!html.contains("href=\"/account/login\""));

        // The home page through the generic API, for a signed-in customer.
        let ctx = json!({ "customer": customer(), "csrf": CSRF });
        let html = Themes::new()
            .render_page("home.html", &store_page(&brand, Lang::En), &ctx, None)
            .unwrap();
        assert!(html.contains("<a href=\"/account\">My account</a>"));
        assert!(html.contains(&format!("value=\"{CSRF}\"")));
    }

    #[test]
    fn flash_messages_are_shown_and_escaped() {
        let flash = json!({ "flash": [
            {"kind": "success", "message": "You have been signed out."},
            {"kind": "error", "message": "Too many attempts."},
            {"kind": "\"><script>", "message": "<b>Hi"},
        ]});
        let html = render_account("account/login.html", Lang::En, flash);
        assert!(html.contains(
            "<p class=\"flash flash-success\" role=\"status\">You have been signed out.</p>"
        ));
        assert!(
            html.contains("<p class=\"flash flash-error\" role=\"alert\">Too many attempts.</p>")
        );
        assert!(html.contains("<p class=\"flash flash-info\" role=\"status\">&lt;b&gt;Hi</p>"));
        assert!(!html.contains("<script>") && !html.contains("<b>"));

        let html = render_account("account/login.html", Lang::En, json!({}));
        assert!(!html.contains("flash-list"));
    }

    #[test]
    fn signup_refills_values_and_marks_errors() {
        let html = render_account(
            "account/signup.html",
            Lang::En,
            json!({
                "values": {
                    "kind": "company",
                    "first_name": "<Erika>",
                    "email": "erika@example.com",
                    "password": "hunter2-very-secret",
                    "country": "AT",
                    "language": "de",
                },
                "errors": {
                    "email": "Please enter a valid email address.",
                    "accept_terms": "Please accept the terms and conditions to continue.",
                },
            }),
        );
        assert!(html.contains("<form class=\"form\" action=\"/account/signup\" method=\"post\">"));
        assert!(html.contains(
            "<p class=\"alert alert-error\" role=\"alert\">Please check the highlighted fields.</p>"
        ));
        assert!(html.contains("name=\"first_name\" type=\"text\" value=\"&lt;Erika&gt;\""));
        assert!(html.contains("value=\"erika@example.com\""));
        assert!(
            !html.contains("hunter2-very-secret"),
            "passwords are never sent back"
        );
        assert!(html.contains("type=\"radio\" value=\"company\" checked required>"));
        assert!(html.contains("type=\"radio\" value=\"person\" required>"));
        assert!(html.contains("<option value=\"AT\" selected>Österreich</option>"));
        assert!(html.contains("<option value=\"DE\">Deutschland</option>"));
        assert!(html.contains("<option value=\"de\" selected>Deutsch</option>"));

        assert!(html.contains("required aria-invalid=\"true\" aria-describedby=\"email-error\">"));
        assert!(html.contains(
            "<p class=\"field-error\" id=\"email-error\">Please enter a valid email address.</p>"
        ));
        assert!(html.contains("<div class=\"field field-check field-invalid\">"));
        assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"accept_terms-error\">"));
        assert!(!html.contains("aria-describedby=\"first_name-error\""));

        assert!(html.contains("minlength=\"10\" required aria-describedby=\"password-hint\">"));
        assert!(
            html.contains(
                "<p class=\"field-hint\" id=\"password-hint\">At least 10 characters</p>"
            )
        );
        assert!(html.contains(
            "<label for=\"company\">Company <span class=\"optional\">(optional)</span></label>"
        ));
        assert!(html.contains("maxlength=\"200\" aria-describedby=\"company-hint\">"));
        assert!(html.contains("e.g. +49 30 1234567"));
        assert!(html.contains("name=\"accept_terms\" type=\"checkbox\" value=\"1\""));
        assert!(html.contains("<a href=\"/account/login\">Sign in</a>"));
    }

    #[test]
    fn signup_defaults_to_the_page_language_and_the_first_kind() {
        let html = render_account("account/signup.html", Lang::De, json!({}));
        assert!(html.contains("<option value=\"de\" selected>Deutsch</option>"));
        assert!(html.contains("type=\"radio\" value=\"person\" checked required>"));
        assert!(html.contains("<option value=\"\">Bitte wählen</option>"));
        assert!(html.contains("Kundenkonto erstellen"));
        assert!(html.contains("Straße und Hausnummer"));
        assert!(!html.contains("Create your account"));
        assert!(!html.contains("role=\"alert\""));
        assert!(!html.contains("aria-invalid"));

        let html = render_account("account/signup.html", Lang::En, json!({}));
        assert!(html.contains("<option value=\"en\" selected>English</option>"));
    }

    #[test]
    fn login_shows_the_error_banner_and_the_links() {
        let html = render_account("account/login.html", Lang::En, json!({}));
        assert!(html.contains("<form class=\"form\" action=\"/account/login\" method=\"post\">"));
        assert!(html.contains("<a href=\"/account/reset\">Forgot your password?</a>"));
        assert!(html.contains("<a href=\"/account/signup\">Create an account</a>"));
        assert!(html.contains("autocomplete=\"current-password\""));
        assert!(!html.contains("role=\"alert\""));

        let html = render_account(
            "account/login.html",
            Lang::De,
            json!({
                "error": t(Lang::De, "account.error.login_failed"),
                "values": {"email": "erika@example.com", "password": "wrong-password"},
            }),
        );
        assert!(html.contains(
            "<p class=\"alert alert-error\" role=\"alert\">E-Mail-Adresse oder Passwort ist nicht korrekt.</p>"
        ));
        assert!(html.contains("value=\"erika@example.com\""));
        assert!(!html.contains("wrong-password"));
        assert!(html.contains("Passwort vergessen?"));
    }

    #[test]
    fn login_tolerates_a_missing_error_key() {
        let brand = brand("Acme Hosting");
        let ctx = json!({ "csrf": CSRF });
        let html = Themes::new()
            .render_page(
                "account/login.html",
                &store_page(&brand, Lang::En),
                &ctx,
                None,
            )
            .unwrap();
        assert!(html.contains("Forgot your password?"));
    }

    #[test]
    fn message_page_shows_heading_text_and_optional_link() {
        let html = render_account("account/message.html", Lang::En, json!({}));
        assert!(html.contains("<title>Acme Hosting – Check your inbox</title>"));
        assert!(html.contains("<h1 id=\"page-title\">Check your inbox</h1>"));
        assert!(html.contains("<p>We have sent you a link.</p>"));
        assert!(html.contains(
            "<a class=\"button button-primary\" href=\"&#x2f;account&#x2f;login\">Go to sign in</a>"
        ));

        let html = render_account(
            "account/message.html",
            Lang::En,
            json!({ "heading": "<i>Expired</i>", "link": null }),
        );
        assert!(html.contains("&lt;i&gt;Expired"));
        assert!(!html.contains("button-primary"));
    }

    #[test]
    fn password_reset_pages() {
        let html = render_account("account/reset_request.html", Lang::En, json!({}));
        assert!(html.contains("<form class=\"form\" action=\"/account/reset\" method=\"post\">"));
        assert!(html.contains("If an account with this address exists"));
        assert!(html.contains("name=\"email\" type=\"email\""));

        let html = render_account("account/reset.html", Lang::De, json!({}));
        assert!(
            html.contains(
                "<form class=\"form\" action=\"/account/reset/confirm\" method=\"post\">"
            )
        );
        assert!(html.contains("<input type=\"hidden\" name=\"token\" value=\"reset-token-abc\">"));
        assert!(html.contains("name=\"password\" type=\"password\""));
        assert!(html.contains("name=\"password_confirm\" type=\"password\""));
        assert!(html.contains("Neues Passwort wiederholen"));
        assert!(html.contains("<meta name=\"referrer\" content=\"no-referrer\">"));
    }

    #[test]
    fn overview_greets_the_customer_and_links_the_sections() {
        let html = render_account("account/overview.html", Lang::En, json!({}));
        assert!(html.contains("<h1 id=\"page-title\">Welcome, Erika Mustermann</h1>"));
        assert!(html.contains("Your customer number: K-10042"));
        assert!(html.contains("<a href=\"/account\" aria-current=\"page\">Overview</a>"));
        assert!(html.contains("<a href=\"/account/profile\">Master data</a>"));
        assert!(html.contains("<h2><a href=\"/account/security\">Security</a></h2>"));
        assert_eq!(html.matches("aria-current=\"page\"").count(), 1);

        let mut hostile = customer();
        hostile["name"] = json!("<script>x");
        let html = render_account(
            "account/overview.html",
            Lang::De,
            json!({ "customer": hostile }),
        );
        assert!(html.contains("Willkommen, &lt;script&gt;x"));
        assert!(html.contains("Ihre Kundennummer: K-10042"));
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn profile_offers_the_mandate_until_it_is_signed() {
        let html = render_account(
            "account/profile.html",
            Lang::En,
            json!({ "values": {"newsletter": ["offers"], "iban": "DE02 1203 0000 0000 2020 51"} }),
        );
        assert!(
            html.contains(
                "<form class=\"form panel\" action=\"/account/profile\" method=\"post\">"
            )
        );
        assert!(
            html.contains("<a href=\"/account/profile\" aria-current=\"page\">Master data</a>")
        );
        assert!(html.contains("You sign in with erika@example.com."));
        assert!(html.contains("<legend>Bank account and SEPA direct debit</legend>"));
        assert!(html.contains("value=\"DE02 1203 0000 0000 2020 51\""));
        assert!(html.contains("name=\"grant_mandate\" type=\"checkbox\" value=\"1\""));
        assert!(html.contains("I authorise SEPA direct debit"));
        assert!(html.contains("you authorise (A) Acme Hosting to send instructions"));
        assert!(html.contains("aria-describedby=\"grant_mandate-hint\""));
        assert!(html.contains("For example DE123456789"));
        // Newsletters are subscribed with their own opt-in, linked from here.
        assert!(html.contains("href=\"/newsletter\""));
        assert!(!html.contains("name=\"newsletter\""));
        assert!(html.contains("name=\"vat_id\""));

        let html = render_account(
            "account/profile.html",
            Lang::En,
            json!({ "mandate": {"reference": "RL-2026-0001", "signed_on": "2026-03-01"} }),
        );
        assert!(html.contains("Mandate RL-2026-0001 signed on 2026-03-01"));
        assert!(!html.contains("name=\"grant_mandate\""));
        assert!(!html.contains(" checked>"), "no newsletter chosen");

        let html = render_account("account/profile.html", Lang::De, json!({}));
        assert!(html.contains("Bankverbindung und SEPA-Lastschrift"));
        assert!(html.contains("Ich ermächtige Acme Hosting, Zahlungen von meinem Konto"));
        assert!(html.contains("Ich erteile das SEPA-Lastschriftmandat"));
    }

    #[test]
    fn security_page_has_three_forms_and_the_sessions() {
        let html = render_account("account/security.html", Lang::En, json!({}));
        for action in [
            "/account/security/password",
            "/account/security/email",
            "/account/security/sessions/revoke-all",
        ] {
            assert!(
                html.contains(&format!("action=\"{action}\" method=\"post\"")),
                "{action}"
            );
        }
        assert!(html.contains("<a href=\"/account/security\" aria-current=\"page\">Security</a>"));
        assert!(html.contains("Your current email address: erika@example.com"));
        assert!(html.contains("The change takes effect once you open that link."));
        assert!(
            html.contains("<td>Firefox on Linux <span class=\"badge\">This device</span></td>")
        );
        assert!(html.contains("<td>Unknown device</td>"));
        assert!(html.contains("<td>192.0.2.10</td>"));
        assert!(
            html.contains("<td>–</td>"),
            "a session without a known address"
        );
        assert!(html.contains("<td>2026-02-12 21:30</td>"));
        assert_eq!(html.matches("class=\"is-current\"").count(), 1);
        assert!(html.contains("Sign out everywhere"));

        let html = render_account("account/security.html", Lang::De, json!({ "sessions": [] }));
        assert!(html.contains("Keine aktiven Sitzungen."));
        assert!(!html.contains("<table"));
        assert!(html.contains("Überall abmelden"));
    }

    #[test]
    fn security_page_shows_errors_on_the_submitted_form_only() {
        let password_error = json!({
            "errors": {"current_password": "The password is incorrect."},
        });
        let html = render_account("account/security.html", Lang::En, password_error);
        assert!(html.contains("id=\"password-current_password-error\""));
        assert!(!html.contains("id=\"email-current_password-error\""));

        let email_error = json!({
            "active_form": "email",
            "values": {"email": "new@example.com"},
            "errors": {"current_password": "The password is incorrect."},
        });
        let html = render_account("account/security.html", Lang::En, email_error);
        assert!(html.contains("id=\"email-current_password-error\""));
        assert!(!html.contains("id=\"password-current_password-error\""));
        assert!(html.contains(
            "id=\"email-email\" name=\"email\" type=\"email\" value=\"new@example.com\""
        ));

        let inferred =
            json!({ "values": {"email": "new@example.com"}, "errors": {"email": "Taken"} });
        let html = render_account("account/security.html", Lang::En, inferred);
        assert!(html.contains("<p class=\"field-error\" id=\"email-email-error\">Taken</p>"));
    }

    #[test]
    fn pages_fit_in_the_fuel_budget_with_every_country() {
        let countries: Vec<_> = (0..250)
            .map(|i| json!({"code": format!("C{i}"), "name": format!("Country {i}")}))
            .collect();
        let brand = brand("Acme Hosting");
        for name in ["account/signup.html", "account/profile.html"] {
            let mut ctx = account_page_context(name);
            ctx["options"]["countries"] = json!(countries);
            let html = Themes::new()
                .render_page(name, &store_page(&brand, Lang::De), &ctx, None)
                .unwrap_or_else(|err| panic!("{name}: {err:?}"));
            assert!(html.contains("<option value=\"C249\">Country 249</option>"));
        }
    }

    #[test]
    fn render_page_matches_render_home_and_keeps_the_common_keys() {
        let brand = brand("Acme Hosting");
        let page = store_page(&brand, Lang::En);
        let themes = Themes::new();
        let home = themes.render_home(&page, None).unwrap();
        assert_eq!(
            themes
                .render_page("home.html", &page, &json!({}), None)
                .unwrap(),
            home
        );

        let spoofed = json!({ "lang": "de", "year": 1999, "brand": {"name": "Evil"} });
        let html = themes
            .render_page("home.html", &page, &spoofed, None)
            .unwrap();
        assert_eq!(
            html, home,
            "the caller's context cannot replace the common keys"
        );
    }

    #[test]
    fn render_page_refuses_partials_emails_and_non_maps() {
        let brand = brand("Acme Hosting");
        let page = store_page(&brand, Lang::En);
        let themes = Themes::new();
        for name in [
            "account/_form.html",
            "account/_nav.html",
            "emails/verify_email.txt",
            "account/no_such_page.html",
            "../platform/not_found.html",
        ] {
            let err = themes
                .render_page(name, &page, &json!({}), None)
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::TemplateNotFound, "{name}");
        }
        let err = themes
            .render_page("home.html", &page, &vec![1, 2], None)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidOperation);
        let err = themes
            .render_page("home.html", &page, &(), None)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidOperation);
    }

    #[test]
    fn account_pages_without_their_required_keys_fail() {
        let brand = brand("Acme Hosting");
        let page = store_page(&brand, Lang::En);
        let themes = Themes::new();
        assert!(
            themes
                .render_page("account/login.html", &page, &json!({}), None)
                .is_err(),
            "csrf"
        );
        let no_customer = json!({ "csrf": CSRF });
        assert!(
            themes
                .render_page("account/overview.html", &page, &no_customer, None)
                .is_err()
        );
    }

    fn email_context() -> serde_json::Value {
        json!({
            "brand_name": "Müller & Söhne",
            "customer_name": "Erika Mustermann",
            "link": "https://shop.example.com/account/verify?token=abc&next=/account",
            "expires_hours": 24,
            "inviter": "Max Muster",
            "role": "Support",
        })
    }

    #[test]
    fn every_email_renders_in_both_languages() {
        let themes = Themes::new();
        for &name in EMAILS {
            for lang in Lang::ALL {
                let (subject, body) = themes
                    .render_email(name, lang, &email_context(), None)
                    .unwrap_or_else(|err| panic!("{name}: {err:?}"));
                assert!(subject.contains("Müller & Söhne"), "{name}: {subject}");
                assert!(!subject.contains('\n') && !subject.starts_with(' '));
                assert!(
                    body.contains(
                        "\n\nhttps://shop.example.com/account/verify?token=abc&next=/account\n\n"
                    ),
                    "{name}: the link stands on its own line, unescaped"
                );
                let signature = t_args(lang, "email.signature", &[("brand", "Müller & Söhne")]);
                let sign_off = format!("{}\n{signature}\n", t(lang, "email.sign_off"));
                assert!(body.ends_with(&sign_off), "{name}: {body}");
                assert!(!body.contains("Subject:") && !body.contains("&amp;"));
                assert!(!body.starts_with(char::is_whitespace));
                assert!(!body.contains("\n\n\n"), "{name}: stray blank lines");
                assert!(
                    body.contains(
                        t_args(lang, "email.link_valid_other", &[("hours", "24")]).as_str()
                    )
                );
            }
        }
    }

    /// The notices to an address's holder (someone signed up with it, or asked
    /// to move another account to it) carry no link with a secret.
    #[test]
    fn the_notices_to_an_address_holder_render_in_both_languages() {
        let themes = Themes::new();
        let mut ctx = email_context();
        ctx["login_link"] = json!("https://shop.example.com/account/login");
        ctx["reset_link"] = json!("https://shop.example.com/account/reset");
        for (name, text) in [
            ("signup_exists", "email.signup_exists.text"),
            ("email_in_use", "email.email_in_use.text"),
        ] {
            for lang in Lang::ALL {
                let (subject, body) = themes.render_email(name, lang, &ctx, None).unwrap();
                assert!(subject.contains("Müller & Söhne"), "{name}: {subject}");
                let said = t_args(lang, text, &[("brand", "Müller & Söhne")]);
                assert!(body.contains(said.as_str()), "{name}: {body}");
                assert!(body.contains("\nhttps://shop.example.com/account/login\n"));
                assert!(
                    !body.contains("token=") && !body.contains("\n\n\n"),
                    "{body}"
                );
            }
        }
    }

    #[test]
    fn a_name_reaches_every_email_as_one_line_without_a_link() {
        let themes = Themes::new();
        let mut ctx = email_context();
        ctx["customer_name"] = json!("Bob\nhttp://evil.example/login");
        let custom = custom(
            &themes,
            "emails/verify_email.txt",
            "Subject: Hi\n\nDear {{ customer_name }}, {{ link }}\n",
        )
        .unwrap();
        for look in [None, Some(&custom)] {
            for name in EMAILS {
                let (_, body) = themes.render_email(name, Lang::En, &ctx, look).unwrap();
                assert!(
                    body.contains("Bob http: //evil\u{2024}example/login"),
                    "{body}"
                );
                assert!(
                    !body.contains("evil.example") && !body.contains("Bob\n"),
                    "{body}"
                );
            }
        }
    }

    #[test]
    fn email_texts() {
        let themes = Themes::new();
        let (subject, body) = themes
            .render_email("verify_email", Lang::De, &email_context(), None)
            .unwrap();
        assert_eq!(
            subject,
            "Bitte bestätigen Sie Ihre E-Mail-Adresse für Müller & Söhne"
        );
        assert!(body.starts_with(
            "Guten Tag Erika Mustermann,\n\nvielen Dank für Ihre Registrierung bei Müller & Söhne."
        ));

        let mut ctx = email_context();
        ctx["expires_hours"] = json!(1);
        ctx["customer_name"] = json!(null);
        let (subject, body) = themes
            .render_email("reset_password", Lang::En, &ctx, None)
            .unwrap();
        assert_eq!(subject, "Reset your password for Müller & Söhne");
        assert!(body.starts_with("Hello,\n\n"));
        assert!(body.contains("The link is valid for 1 hour."));
        assert!(body.contains("If you did not request this, you can ignore this email."));

        let (_, body) = themes
            .render_email("email_changed", Lang::En, &email_context(), None)
            .unwrap();
        assert!(body.contains("Please confirm the new address using the following link:"));

        let mut ctx = email_context();
        ctx.as_object_mut().unwrap().remove("customer_name");
        let (subject, body) = themes
            .render_email("staff_invite", Lang::En, &ctx, None)
            .unwrap();
        assert_eq!(subject, "Invitation to the Müller & Söhne admin console");
        assert!(body.starts_with("Hello,\n\n"));
        assert!(body.contains(
            "Max Muster has invited you to the Müller & Söhne admin console as Support."
        ));
        let (_, body) = themes
            .render_email("staff_invite", Lang::De, &ctx, None)
            .unwrap();
        assert!(body.contains(
            "Max Muster hat Sie als Support in die Admin-Konsole von Müller & Söhne eingeladen."
        ));
    }

    #[test]
    fn email_link_validity_in_hours_or_days() {
        let themes = Themes::new();
        for (hours, en, de) in [
            (
                1,
                "The link is valid for 1 hour.",
                "Der Link ist 1 Stunde gültig.",
            ),
            (
                24,
                "The link is valid for 24 hours.",
                "Der Link ist 24 Stunden gültig.",
            ),
            (
                36,
                "The link is valid for 36 hours.",
                "Der Link ist 36 Stunden gültig.",
            ),
            (
                48,
                "The link is valid for 2 days.",
                "Der Link ist 2 Tage gültig.",
            ),
            (
                168,
                "The link is valid for 7 days.",
                "Der Link ist 7 Tage gültig.",
            ),
        ] {
            let mut ctx = email_context();
            ctx["expires_hours"] = json!(hours);
            for (lang, text) in [(Lang::En, en), (Lang::De, de)] {
                let (_, body) = themes
                    .render_email("staff_invite", lang, &ctx, None)
                    .unwrap();
                assert!(body.contains(&format!("\n\n{text}\n\n")), "{hours}: {body}");
            }
        }
        let (_, body) = themes
            .render_email("email_changed", Lang::En, &email_context(), None)
            .unwrap();
        assert!(body.contains(
            "\n\nThe link is valid for 24 hours. Until you confirm, your previous email address remains in use.\n\n"
        ));
    }

    #[test]
    fn email_subject_cannot_carry_extra_headers() {
        let mut ctx = email_context();
        ctx["brand_name"] = json!("Acme\rBcc: victim@example.com");
        let (subject, _) = Themes::new()
            .render_email("verify_email", Lang::En, &ctx, None)
            .unwrap();
        assert!(!subject.contains('\r') && !subject.contains('\n'));
        assert!(subject.starts_with("Confirm your email address for Acme Bcc:"));
    }

    #[test]
    fn email_errors() {
        let themes = Themes::new();
        let mut ctx = email_context();
        ctx.as_object_mut().unwrap().remove("link");
        assert!(
            themes
                .render_email("verify_email", Lang::En, &ctx, None)
                .is_err(),
            "missing link"
        );
        assert!(
            themes
                .render_email("no_such_email", Lang::En, &email_context(), None)
                .is_err()
        );
        let err = themes
            .render_email("_link_validity", Lang::En, &email_context(), None)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TemplateNotFound);
        assert!(
            themes
                .render_email("verify_email", Lang::En, &"text", None)
                .is_err()
        );
    }

    #[test]
    fn split_email_needs_subject_and_blank_line() {
        assert_eq!(
            split_email("x", "Subject:  Hi there \n\nBody\n\n").unwrap(),
            ("Hi there".to_owned(), "Body\n".to_owned())
        );
        assert!(split_email("x", "Hi\n\nBody").is_err());
        assert!(split_email("x", "Subject: Hi\nBody").is_err());
        assert!(split_email("x", "Subject: \n\nBody").is_err());
        assert!(split_email("x", "Subject: Hi\n\n  \n").is_err());
    }

    #[test]
    fn translations_fill_placeholders_from_keyword_arguments() {
        let mut env = Themes::new().env;
        env.add_template(
            "args.html",
            "{{ t(\"account.overview.greeting\", name=name) }}",
        )
        .unwrap();
        env.add_template("missing.html", "{{ t(\"account.overview.greeting\") }}")
            .unwrap();
        env.add_template("extra.html", "{{ t(\"nav.sign_in\", name=\"x\") }}")
            .unwrap();
        let args = env.get_template("args.html").unwrap();
        assert_eq!(
            args.render(context! { lang => "en", name => "<Erika>" })
                .unwrap(),
            "Welcome, &lt;Erika&gt;"
        );
        assert_eq!(
            args.render(context! { lang => "de", name => "{name}" })
                .unwrap(),
            "Willkommen, {name}"
        );
        assert!(
            args.render(context! { lang => "en" }).is_err(),
            "undefined value"
        );
        let missing = env.get_template("missing.html").unwrap();
        assert!(missing.render(context! { lang => "en" }).is_err());
        let extra = env.get_template("extra.html").unwrap();
        assert!(extra.render(context! { lang => "en" }).is_err());
    }

    fn custom(themes: &Themes, name: &str, source: &str) -> Result<Custom, TemplateError> {
        themes.customize(&[(name.to_owned(), source.to_owned())])
    }

    #[test]
    fn a_resellers_footer_replaces_the_built_in_one_on_every_page() {
        let themes = Themes::new();
        let brand = brand("Acme");
        let page = store_page(&brand, Lang::En);
        let c = custom(
            &themes,
            "default/_footer.html",
            "<footer class=\"mine\">{{ brand.name }} since 1999 {{ t(\"footer.imprint\") }}</footer>",
        )
        .unwrap();
        let preview = themes.preview(&c, "default/_footer.html", &page).unwrap();
        assert!(preview.contains("Acme since 1999 Imprint"), "{preview}");
        let html = themes.render_home(&page, Some(&c)).unwrap();
        assert!(html.contains("class=\"mine\""));
        let login = themes
            .render_page("account/login.html", &page, &json!({"csrf": "x"}), Some(&c))
            .unwrap();
        assert!(login.contains("Acme since 1999"));
        assert!(
            !themes
                .render_home(&page, None)
                .unwrap()
                .contains("since 1999")
        );
    }

    #[test]
    fn runaway_templates_fail_in_preview_and_the_built_in_one_serves() {
        let themes = Themes::new();
        let list_doubled = format!(
            "{{% set l = [1, 2] %}}{}{{{{ l|length }}}}",
            "{% set l = l + l %}".repeat(40)
        );
        let brand = brand("Acme");
        let page = store_page(&brand, Lang::En);
        let cases = [
            (
                "infinite loop",
                "{% for i in range(10000) %}{% for j in range(10000) %}{{ j }}{% endfor %}{% endfor %}",
                "fuel",
            ),
            (
                "deep recursion",
                "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
                "recursion",
            ),
            ("huge output", "{{ \"x\" * 600000 }}", "larger than"),
            (
                "huge output in a loop",
                "{% for i in range(9000) %}{{ \"0123456789\" * 60 }}{% endfor %}",
                "larger than",
            ),
            (
                "another reseller's template",
                "{% include \"t_0123456789abcdef0123456789abcdef/default/_footer.html\" %}",
                "not found",
            ),
            ("a file", "{% include \"/etc/passwd\" %}", "not found"),
            // Memory, not output: values that grow without being written out
            // are paid for by the byte, checked before they are allocated, so
            // doubling a string 64 times stops at the budget instead of asking
            // for 2^64 bytes.
            (
                "a string doubled in a loop",
                "{% set ns = namespace(s=\"0123456789\") %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
                "fuel",
            ),
            (
                "a string doubled by recursion",
                "{% macro f(s, n) %}{% if n > 0 %}{{ f(s ~ s, n - 1) }}{% else %}{{ s|length }}{% endif %}{% endmacro %}{{ f(\"0123456789\" * 10000, 20) }}",
                "fuel",
            ),
            (
                "a string squared by replace",
                "{% set s = \"xxxxxxxxxx\" %}{% set s = s|replace(\"x\", s) %}{% set s = s|replace(\"x\", s) %}{% set s = s|replace(\"x\", s) %}{% set s = s|replace(\"x\", s) %}{{ s|length }}",
                "fuel",
            ),
            (
                "a 100 MB string",
                "{% set s = \"x\" * 100000000 %}{{ s|length }}",
                "fuel",
            ),
            // Lists concatenate lazily until the chain is 32 deep, then `+`
            // copies them: the copy is checked against the fuel first (patched
            // minijinja, vendor/minijinja/PATCHED.md). Unpatched, these abort
            // the process asking for 2^35 slots.
            (
                "a list doubled in a loop",
                "{% set ns = namespace(l=[1, 2]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l|length }}",
                "fuel",
            ),
            ("a list doubled 40 times", list_doubled.as_str(), "fuel"),
            (
                "a sum of large lists",
                "{{ ([[1, 2] * 40000000] * 40)|sum(start=[])|length }}",
                "fuel",
            ),
        ];
        for (what, source, expected) in cases {
            let c = custom(&themes, "default/_footer.html", source).unwrap();
            let started = std::time::Instant::now();
            let err = themes
                .preview(&c, "default/_footer.html", &page)
                .expect_err(what);
            assert!(
                err.message.to_lowercase().contains(expected),
                "{what}: {}",
                err.message
            );
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "{what}"
            );
            // Served anyway: the built-in footer stands in.
            let html = themes.render_home(&page, Some(&c)).unwrap();
            assert!(html.contains("class=\"site-footer\""), "{what}");
        }
        assert!(CUSTOM_FAILURES.load(std::sync::atomic::Ordering::Relaxed) >= cases.len() as u64);
    }

    #[test]
    fn only_editable_templates_can_be_replaced_and_syntax_errors_name_the_template() {
        let themes = Themes::new();
        let err = custom(&themes, "platform/not_found.html", "x").unwrap_err();
        assert_eq!(err.name, "platform/not_found.html");
        let err = custom(&themes, "default/home.html", "{% if %}").unwrap_err();
        assert_eq!(err.name, "default/home.html");
        assert!(err.message.contains("syntax error"), "{}", err.message);
        assert!(
            builtin_source("default/_footer.html")
                .unwrap()
                .contains("site-footer")
        );
        assert!(builtin_source("platform/suspended.html").is_none());
    }

    #[test]
    fn a_resellers_email_must_keep_its_subject_line() {
        let themes = Themes::new();
        let brand = brand("Acme");
        let page = store_page(&brand, Lang::De);
        let c = custom(
            &themes,
            "emails/verify_email.txt",
            "Hallo {{ customer_name }}",
        )
        .unwrap();
        let err = themes
            .preview(&c, "emails/verify_email.txt", &page)
            .unwrap_err();
        assert!(err.message.contains("Subject"), "{}", err.message);
        let c = custom(
            &themes,
            "emails/verify_email.txt",
            "Subject: Willkommen bei {{ brand_name }}\n\nBitte bestätigen: {{ link }}",
        )
        .unwrap();
        let preview = themes
            .preview(&c, "emails/verify_email.txt", &page)
            .unwrap();
        assert!(preview.starts_with("Subject: Willkommen bei Example Shop"));
        let (subject, body) = themes
            .render_email("verify_email", Lang::De, &email_context(), Some(&c))
            .unwrap();
        assert!(subject.starts_with("Willkommen bei"));
        assert!(body.contains("Bitte bestätigen"));
    }

    #[test]
    fn look_sets_theme_font_css_legal_links_and_analytics() {
        let themes = Themes::new();
        let brand = brand("Acme");
        let look = Look {
            theme: "studio".into(),
            font: "serif".into(),
            favicon_url: Some("/_assets/abc".into()),
            custom_css: ".hero{color:red}</style><script>alert(1)</script>".into(),
            legal: vec!["imprint".into(), "terms".into()],
            analytics: Some(Analytics::Matomo {
                url: "https://stats.example.com/".into(),
                site_id: "7".into(),
            }),
        };
        let page = StorePage {
            look: &look,
            ..store_page(&brand, Lang::De)
        };
        let html = themes.render_home(&page, None).unwrap();
        assert!(html.contains("/_store/theme-studio.css"));
        assert!(html.contains("class=\"theme-studio\""));
        assert!(html.contains("Charter"));
        assert!(html.contains("rel=\"icon\" href=\"&#x2f;_assets&#x2f;abc\""));
        assert!(html.contains(".hero{color:red}\\3c /style>\\3c script>"));
        assert!(!html.contains("<script>alert(1)"));
        assert!(html.contains("href=\"/legal/imprint\">Impressum"));
        assert!(html.contains("href=\"/legal/terms\">AGB"));
        assert!(!html.contains("/legal/privacy"));
        assert!(
            html.contains("data-url=\"https:&#x2f;&#x2f;stats.example.com&#x2f;\" data-site=\"7\"")
        );
        assert!(html.contains("/_store/consent.js"));
        let plain = themes
            .render_home(&store_page(&brand, Lang::De), None)
            .unwrap();
        assert!(!plain.contains("consent.js"));
        assert!(plain.contains("/_store/theme-classic.css"));
    }
}
