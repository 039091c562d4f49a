//! The translation table for all storefront and platform page text.
//!
//! One row per key holding every language, so a text cannot exist in one
//! language and be missing in the other.

use crate::Lang;

/// `(key, German, English)`. German addresses the customer formally ("Sie").
static TABLE: &[(&str, &str, &str)] = &[
    // Page chrome
    (
        "a11y.skip_to_content",
        "Zum Inhalt springen",
        "Skip to content",
    ),
    ("nav.language", "Sprache wählen", "Choose language"),
    ("footer.legal", "Rechtliches", "Legal"),
    ("footer.imprint", "Impressum", "Imprint"),
    ("footer.privacy", "Datenschutz", "Privacy policy"),
    // Home page
    (
        "home.title",
        "Domains, Hosting und E-Mail",
        "Domains, hosting and email",
    ),
    (
        "home.meta_description",
        "Ihre Wunschdomain, schnelles Webhosting und professionelle E-Mail-Postfächer – alles aus einer Hand.",
        "Your perfect domain, fast web hosting and professional email – all from a single provider.",
    ),
    (
        "home.hero.title",
        "Ihr Auftritt im Netz beginnt mit der richtigen Domain",
        "Your online presence starts with the right domain",
    ),
    (
        "home.hero.lead",
        "Sichern Sie sich Ihre Wunschdomain und bringen Sie Website und E-Mail mit zuverlässigem Hosting an den Start – einfach, schnell und zu fairen Preisen.",
        "Secure the domain you want and launch your website and email on reliable hosting – simple, fast and fairly priced.",
    ),
    (
        "home.search.label",
        "Wunschdomain prüfen",
        "Check your domain",
    ),
    (
        "home.search.placeholder",
        "meine-firma.de",
        "my-company.com",
    ),
    ("home.search.button", "Domain prüfen", "Check availability"),
    (
        "home.search.hint",
        "Mit oder ohne Endung, zum Beispiel meine-firma oder meine-firma.de",
        "With or without an extension, for example my-company or my-company.com",
    ),
    (
        "home.features.title",
        "Alles, was Sie online brauchen",
        "Everything you need online",
    ),
    ("home.features.domains.title", "Domains", "Domains"),
    (
        "home.features.domains.text",
        "Registrieren Sie Ihre Wunschdomain oder ziehen Sie bestehende Domains ganz einfach um – inklusive DNS-Verwaltung.",
        "Register the domain you want or move your existing domains with ease – DNS management included.",
    ),
    ("home.features.hosting.title", "Webhosting", "Web hosting"),
    (
        "home.features.hosting.text",
        "Schnelle, sichere Server für Ihre Website, Ihren Onlineshop oder Ihr WordPress – mit SSL-Zertifikat und regelmäßigen Backups.",
        "Fast, secure servers for your website, online shop or WordPress – with an SSL certificate and regular backups.",
    ),
    ("home.features.email.title", "E-Mail", "Email"),
    (
        "home.features.email.text",
        "Professionelle Postfächer mit Ihrer eigenen Domain – auf allen Geräten abrufbar, mit Spam- und Virenschutz.",
        "Professional mailboxes on your own domain – on all your devices, with spam and virus protection.",
    ),
    (
        "home.why.title",
        "Darum vertrauen uns unsere Kunden",
        "Why customers choose us",
    ),
    (
        "home.why.one_stop.title",
        "Alles aus einer Hand",
        "Everything in one place",
    ),
    (
        "home.why.one_stop.text",
        "Domain, Hosting und E-Mail in einem Kundenkonto – mit einer Rechnung.",
        "Domain, hosting and email in one customer account – on one invoice.",
    ),
    (
        "home.why.support.title",
        "Persönlicher Support",
        "Personal support",
    ),
    (
        "home.why.support.text",
        "Echte Ansprechpartner, die Ihre Fragen verständlich beantworten.",
        "Real people who answer your questions in plain language.",
    ),
    (
        "home.why.prices.title",
        "Transparente Preise",
        "Transparent pricing",
    ),
    (
        "home.why.prices.text",
        "Klare Konditionen ohne versteckte Kosten.",
        "Clear terms with no hidden costs.",
    ),
    (
        "home.why.security.title",
        "Sicher und zuverlässig",
        "Secure and reliable",
    ),
    (
        "home.why.security.text",
        "Verschlüsselte Verbindungen, regelmäßige Backups und laufende Überwachung.",
        "Encrypted connections, regular backups and continuous monitoring.",
    ),
    (
        "home.cta.title",
        "Bereit für Ihren Start?",
        "Ready to get started?",
    ),
    (
        "home.cta.text",
        "Finden Sie jetzt Ihre Domain – in wenigen Minuten ist Ihr Auftritt online.",
        "Find your domain now – your site can be online in minutes.",
    ),
    ("home.cta.button", "Jetzt Domain finden", "Find your domain"),
    // Platform pages
    ("not_found.title", "Seite nicht gefunden", "Page not found"),
    (
        "not_found.text",
        "Die angeforderte Seite existiert nicht oder ist nicht mehr verfügbar. Bitte überprüfen Sie die Adresse.",
        "The page you requested does not exist or is no longer available. Please check the address.",
    ),
    (
        "suspended.title",
        "Dieser Shop ist vorübergehend nicht erreichbar",
        "This shop is temporarily unavailable",
    ),
    (
        "suspended.text",
        "Bitte versuchen Sie es später noch einmal. Vielen Dank für Ihr Verständnis.",
        "Please try again later. Thank you for your patience.",
    ),
];

/// The text for `key` in `lang`, or `None` if the key is unknown.
pub fn lookup(lang: Lang, key: &str) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|&(_, de, en)| match lang {
            Lang::De => de,
            Lang::En => en,
        })
}

/// The text for `key` in `lang`. An unknown key yields an empty string rather
/// than a panic; templates go through [`lookup`] and fail loudly instead, and
/// the tests check every key the templates use.
pub fn t(lang: Lang, key: &str) -> &'static str {
    lookup(lang, key).unwrap_or_default()
}

#[cfg(test)]
pub(crate) fn keys() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|&(key, _, _)| key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique() {
        let mut keys: Vec<_> = keys().collect();
        let total = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), total, "duplicate translation key");
    }

    #[test]
    fn no_translation_is_blank() {
        for key in keys() {
            for lang in Lang::ALL {
                assert!(
                    !t(lang, key).trim().is_empty(),
                    "{key} is blank in {lang:?}"
                );
            }
        }
    }

    #[test]
    fn languages_differ() {
        assert_eq!(t(Lang::De, "not_found.title"), "Seite nicht gefunden");
        assert_eq!(t(Lang::En, "not_found.title"), "Page not found");
    }

    #[test]
    fn unknown_key_is_empty() {
        assert_eq!(lookup(Lang::En, "no.such.key"), None);
        assert_eq!(t(Lang::De, "no.such.key"), "");
    }
}
