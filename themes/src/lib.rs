//! Storefront themes: the embedded templates and assets of a reseller's shop,
//! rendered in a sandbox with the reseller's brand and the visitor's language.

mod brand;
mod i18n;
mod lang;

pub use brand::Brand;
pub use i18n::t;
pub use lang::{Lang, LangLink};

use minijinja::{
    AutoEscape, Environment, Error, ErrorKind, State, UndefinedBehavior, Value, context,
};

/// The default theme's stylesheet, served by the app at `/_store/store.css`.
pub const STORE_CSS: &str = include_str!("../assets/default/store.css");

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
        "platform/not_found.html",
        include_str!("../templates/platform/not_found.html"),
    ),
    (
        "platform/suspended.html",
        include_str!("../templates/platform/suspended.html"),
    ),
];

const HOME: &str = "default/home.html";
const NOT_FOUND: &str = "platform/not_found.html";
const SUSPENDED: &str = "platform/suspended.html";

/// Per-render budget. The home page needs a few thousand; the headroom is for
/// themes that grow, the cap is for templates that loop out of control.
const FUEL: u64 = 50_000;
const RECURSION_LIMIT: usize = 100;

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

/// Everything the storefront home page is rendered from.
#[derive(Clone, Debug)]
pub struct StorePage<'a> {
    pub brand: &'a Brand,
    pub lang: Lang,
    pub lang_links: Vec<LangLink>,
    pub year: i32,
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
        env.set_recursion_limit(RECURSION_LIMIT);
        env.add_function("t", translate);
        for &(name, source) in TEMPLATES {
            env.add_template(name, source)
                .expect("embedded templates are valid; the tests render each of them");
        }
        Themes { env }
    }

    pub fn render_home(&self, page: &StorePage<'_>) -> Result<String, Error> {
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
        self.env.get_template(HOME)?.render(context! {
            brand => page.brand.to_template_value(),
            lang => page.lang.code(),
            lang_links => lang_links,
            year => page.year,
        })
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

/// `t("key")` in templates. The language is taken from the render context so a
/// page cannot mix languages, and an unknown key is an error rather than a
/// silently empty heading.
fn translate(state: &State, key: &str) -> Result<&'static str, Error> {
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
    i18n::lookup(lang, key).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("unknown translation key `{key}`"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            lang,
            lang_links: LangLink::all(lang),
            year: 2026,
        };
        Themes::new().render_home(&page).unwrap()
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
            lang: Lang::En,
            lang_links: LangLink::all(Lang::En),
            year: 2026,
        };
        themes.render_home(&page).unwrap();

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
}
