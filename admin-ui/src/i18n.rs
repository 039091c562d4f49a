//! The translation table of the admin UI (de, en).
//!
//! Tables are plain static slices so a missing key is a test failure rather than a
//! runtime lookup into a file that might not ship with the binary.

mod de;
mod en;

use de::DE;
use en::EN;

/// Shown for a key that neither the requested language nor English knows. Short and
/// odd-looking on purpose so a gap is noticed on the page, while tests keep the
/// templates from ever reaching it.
const UNKNOWN: &str = "?";

/// Translates `key` into `lang` ("de", "en", or a tag such as "de-AT").
///
/// Falls back to English for a language or key German lacks, and to `"?"` for a key
/// no table knows.
pub fn t(lang: &str, key: &str) -> &'static str {
    let primary = table(lang).and_then(|table| lookup(table, key));
    primary.or_else(|| lookup(EN, key)).unwrap_or(UNKNOWN)
}

fn table(lang: &str) -> Option<&'static [(&'static str, &'static str)]> {
    let base = lang.split(['-', '_']).next().unwrap_or_default();
    if base.eq_ignore_ascii_case("de") {
        Some(DE)
    } else if base.eq_ignore_ascii_case("en") {
        Some(EN)
    } else {
        None
    }
}

fn lookup(table: &'static [(&'static str, &'static str)], key: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, text)| *text)
}

#[cfg(test)]
pub(crate) fn tables() -> [(&'static str, &'static [(&'static str, &'static str)]); 2] {
    [("en", EN), ("de", DE)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn german_and_english_know_the_same_keys_once() {
        let [(_, en), (_, de)] = tables();
        for (lang, table) in tables() {
            let unique: BTreeSet<_> = table.iter().map(|(k, _)| *k).collect();
            assert_eq!(unique.len(), table.len(), "duplicate key in {lang}");
        }
        let en: BTreeSet<_> = en.iter().map(|(k, _)| *k).collect();
        let de: BTreeSet<_> = de.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            en.symmetric_difference(&de).collect::<Vec<_>>(),
            Vec::<&&str>::new()
        );
    }

    #[test]
    fn translates_with_fallbacks() {
        assert_eq!(t("de", "nav.api_keys"), "API-Schlüssel");
        assert_eq!(t("de-AT", "layout.logout"), "Abmelden");
        assert_eq!(t("en", "nav.api_keys"), "API keys");
        assert_eq!(t("fr", "nav.api_keys"), "API keys");
        assert_eq!(t("de", "no.such.key"), "?");
    }
}
