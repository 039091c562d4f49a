//! The storefront languages and how a visitor's language is chosen.

use serde::Serialize;

/// A language the storefront is translated into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    De,
    En,
}

impl Lang {
    /// Every supported language, in the order the language switcher shows them.
    pub const ALL: [Lang; 2] = [Lang::De, Lang::En];

    /// The ISO 639-1 code, as used in `?lang=`, `<html lang>` and the templates.
    pub fn code(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    /// The language's name in itself; a switcher must be readable by someone
    /// who does not understand the current page language.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::De => "Deutsch",
            Lang::En => "English",
        }
    }

    /// Parses a language tag such as `de`, `DE`, `de-AT` or `en_GB`; only the
    /// primary subtag decides, regional variants share one translation.
    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?;
        Lang::ALL
            .into_iter()
            .find(|lang| primary.eq_ignore_ascii_case(lang.code()))
    }

    /// Picks the supported language the visitor prefers most, honouring
    /// q-values (RFC 9110 §12.5.4). Unsupported languages, `*` and entries
    /// with `q=0` are skipped; among equal weights the earlier entry wins.
    /// Anything unusable falls back to English.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for entry in header.split(',') {
            let mut params = entry.split(';');
            let tag = params.next().unwrap_or_default();
            let Some(lang) = Lang::parse(tag) else {
                continue;
            };
            let Some(weight) = q_value(params) else {
                continue;
            };
            if weight > 0.0 && best.is_none_or(|(best_weight, _)| weight > best_weight) {
                best = Some((weight, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }
}

/// The q-value among an entry's parameters; 1 when absent, `None` when malformed
/// so that a garbled entry cannot outrank a well-formed one.
fn q_value(params: std::str::Split<'_, char>) -> Option<f32> {
    for param in params {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("q") {
            let q: f32 = value.trim().parse().ok()?;
            return (0.0..=1.0).contains(&q).then_some(q);
        }
    }
    Some(1.0)
}

/// One entry of the language switcher.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LangLink {
    pub code: &'static str,
    pub label: &'static str,
    pub url: String,
    pub active: bool,
}

impl LangLink {
    /// Switcher entries for every language. The URLs are relative query strings
    /// so a switch keeps the visitor on the page they are reading.
    pub fn all(current: Lang) -> Vec<LangLink> {
        Lang::ALL
            .into_iter()
            .map(|lang| LangLink {
                code: lang.code(),
                label: lang.native_name(),
                url: format!("?lang={}", lang.code()),
                active: lang == current,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_regional_tags_case_insensitively() {
        assert_eq!(Lang::parse("de"), Some(Lang::De));
        assert_eq!(Lang::parse("DE-de"), Some(Lang::De));
        assert_eq!(Lang::parse("de_AT"), Some(Lang::De));
        assert_eq!(Lang::parse(" en-GB "), Some(Lang::En));
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::parse("deu"), None);
        assert_eq!(Lang::parse(""), None);
    }

    #[test]
    fn code_round_trips_through_parse() {
        for lang in Lang::ALL {
            assert_eq!(Lang::parse(lang.code()), Some(lang));
        }
    }

    #[test]
    fn accept_language_prefers_highest_weight() {
        assert_eq!(
            Lang::from_accept_language("de-DE,de;q=0.9,en;q=0.8"),
            Lang::De
        );
        assert_eq!(
            Lang::from_accept_language("en-US,en;q=0.9,de;q=0.5"),
            Lang::En
        );
        assert_eq!(Lang::from_accept_language("en;q=0.4, de;q=0.7"), Lang::De);
        assert_eq!(
            Lang::from_accept_language("de;q=0.5, en-GB ; Q=0.6"),
            Lang::En
        );
    }

    #[test]
    fn accept_language_skips_unsupported_languages() {
        assert_eq!(Lang::from_accept_language("fr, de;q=0.1"), Lang::De);
        assert_eq!(
            Lang::from_accept_language("fr-FR,fr;q=0.9,*;q=0.5"),
            Lang::En
        );
    }

    #[test]
    fn accept_language_defaults_to_english() {
        assert_eq!(Lang::from_accept_language(""), Lang::En);
        assert_eq!(Lang::from_accept_language("fr"), Lang::En);
        assert_eq!(Lang::from_accept_language(";;,,"), Lang::En);
    }

    #[test]
    fn accept_language_ignores_refused_and_malformed_entries() {
        assert_eq!(Lang::from_accept_language("de;q=0, en;q=0.1"), Lang::En);
        assert_eq!(Lang::from_accept_language("de;q=abc, en;q=0.2"), Lang::En);
        assert_eq!(Lang::from_accept_language("de;q=2, en;q=0.2"), Lang::En);
        assert_eq!(Lang::from_accept_language("de;q=0"), Lang::En);
    }

    #[test]
    fn equal_weights_keep_the_first_entry() {
        assert_eq!(Lang::from_accept_language("de, en"), Lang::De);
        assert_eq!(Lang::from_accept_language("en;q=0.8, de;q=0.8"), Lang::En);
    }

    #[test]
    fn lang_links_mark_only_the_current_language() {
        let links = LangLink::all(Lang::De);
        assert_eq!(links.len(), Lang::ALL.len());
        let active: Vec<_> = links.iter().filter(|l| l.active).map(|l| l.code).collect();
        assert_eq!(active, ["de"]);
        assert!(links.iter().any(|l| l.url == "?lang=en"));
    }
}
