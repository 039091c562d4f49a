//! How a reseller's storefront looks beyond its brand: theme, font, favicon,
//! custom CSS, legal pages and analytics. Validated where the reseller enters
//! it; everything that lands in CSS or script is checked again here.

use minijinja::{Value, context};

/// The built-in storefront themes: `(id, label)`.
pub const THEMES: &[(&str, &str)] = &[("classic", "Classic"), ("studio", "Studio")];

/// Font choices: `(id, label, CSS font stack)`. Only system fonts, so a page
/// never loads a font from elsewhere.
pub const FONTS: &[(&str, &str, &str)] = &[
    (
        "system",
        "System sans-serif",
        "system-ui, -apple-system, \"Segoe UI\", Roboto, \"Helvetica Neue\", Arial, sans-serif",
    ),
    (
        "humanist",
        "Humanist sans-serif",
        "Seravek, \"Gill Sans Nova\", Ubuntu, Calibri, \"DejaVu Sans\", source-sans-pro, sans-serif",
    ),
    (
        "serif",
        "Serif",
        "Charter, \"Bitstream Charter\", \"Sitka Text\", Cambria, Georgia, serif",
    ),
    (
        "rounded",
        "Rounded",
        "ui-rounded, \"Hiragino Maru Gothic ProN\", Quicksand, Comfortaa, Manjari, \"Arial Rounded MT\", Calibri, sans-serif",
    ),
];

/// The legal pages a shop can publish: `(slug, translation key of the title)`.
pub const LEGAL_PAGES: &[(&str, &str)] = &[
    ("imprint", "footer.imprint"),
    ("privacy", "footer.privacy"),
    ("terms", "footer.terms"),
    ("withdrawal", "footer.withdrawal"),
];

/// Web analytics, loaded only after the visitor consents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Analytics {
    /// Matomo (formerly Piwik): tracker base URL ending in `/` and site id.
    Matomo { url: String, site_id: String },
    /// Google Analytics 4 (`G-...`) or Universal Analytics (`UA-...`).
    Google { id: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Look {
    pub theme: String,
    pub font: String,
    pub favicon_url: Option<String>,
    pub custom_css: String,
    /// Slugs of the legal pages the shop has text for.
    pub legal: Vec<String>,
    pub analytics: Option<Analytics>,
}

impl Default for Look {
    fn default() -> Self {
        Self {
            theme: THEMES[0].0.to_owned(),
            font: FONTS[0].0.to_owned(),
            favicon_url: None,
            custom_css: String::new(),
            legal: Vec::new(),
            analytics: None,
        }
    }
}

/// Whether `id` is a built-in theme.
pub fn is_theme(id: &str) -> bool {
    THEMES.iter().any(|(t, _)| *t == id)
}

/// Whether `id` is a font choice.
pub fn is_font(id: &str) -> bool {
    FONTS.iter().any(|(f, _, _)| *f == id)
}

/// A Matomo tracker URL: `http(s)://host[/path]/`, no quotes, spaces or markup.
pub fn is_matomo_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    url.len() <= 200
        && url.ends_with('/')
        && !rest.starts_with('/')
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/:%".contains(&b))
}

/// A Matomo site id: 1 to 9 digits.
pub fn is_matomo_site(id: &str) -> bool {
    (1..=9).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

/// `G-XXXXXXX` (GA4) or `UA-1234-1`.
pub fn is_google_id(id: &str) -> bool {
    if let Some(rest) = id.strip_prefix("G-") {
        return (4..=16).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric());
    }
    if let Some(rest) = id.strip_prefix("UA-") {
        let mut parts = rest.split('-');
        let ok = |p: Option<&str>| {
            p.is_some_and(|p| (1..=12).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
        };
        return ok(parts.next()) && ok(parts.next()) && parts.next().is_none();
    }
    false
}

/// Custom CSS as it goes into a `<style>` element: `<` cannot end the element
/// (CSS escapes it as `\3c `), so a stylesheet cannot turn into markup.
pub fn safe_css(css: &str) -> String {
    css.replace('<', "\\3c ")
}

impl Look {
    pub(crate) fn to_template_value(&self) -> Value {
        let theme = if is_theme(&self.theme) {
            self.theme.as_str()
        } else {
            THEMES[0].0
        };
        let font = FONTS
            .iter()
            .find(|(f, _, _)| *f == self.font)
            .unwrap_or(&FONTS[0])
            .2;
        let legal: Vec<&str> = LEGAL_PAGES
            .iter()
            .filter(|(slug, _)| self.legal.iter().any(|l| l == slug))
            .map(|(slug, _)| *slug)
            .collect();
        // Values that end up in script are checked here again, whatever the caller did.
        let analytics = match &self.analytics {
            Some(Analytics::Matomo { url, site_id })
                if is_matomo_url(url) && is_matomo_site(site_id) =>
            {
                Some(
                    context! { kind => "matomo", url => url.as_str(), site_id => site_id.as_str() },
                )
            }
            Some(Analytics::Google { id }) if is_google_id(id) => {
                Some(context! { kind => "google", id => id.as_str() })
            }
            _ => None,
        };
        context! {
            theme => theme,
            font_stack => Value::from_safe_string(font.to_owned()),
            favicon_url => self.favicon_url.as_deref(),
            custom_css => Value::from_safe_string(safe_css(&self.custom_css)),
            legal => legal,
            analytics => analytics,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_analytics_ids() {
        assert!(is_matomo_url("https://stats.example.com/"));
        assert!(is_matomo_url("https://example.com/matomo/"));
        assert!(!is_matomo_url("https://example.com/matomo"));
        assert!(!is_matomo_url("javascript:alert(1)/"));
        assert!(!is_matomo_url("https://ex\"ample.com/"));
        assert!(!is_matomo_url("https:///evil/"));
        assert!(is_matomo_site("12"));
        assert!(!is_matomo_site("1a"));
        assert!(is_google_id("G-ABC123XYZ"));
        assert!(is_google_id("UA-12345-1"));
        assert!(!is_google_id("G-'x'"));
        assert!(!is_google_id("UA-1"));
    }

    #[test]
    fn css_cannot_close_the_style_element() {
        assert_eq!(
            safe_css("a{}</style><script>"),
            "a{}\\3c /style>\\3c script>"
        );
    }
}
