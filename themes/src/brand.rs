//! A reseller's brand and how the templates see it.

use minijinja::{Value, context};
use serde::Serialize;

/// What a reseller's storefront is dressed in.
#[derive(Clone, Debug, Serialize)]
pub struct Brand {
    pub name: String,
    /// `#rrggbb`, validated where the reseller enters it.
    pub primary_color: String,
    /// `#rrggbb`, validated where the reseller enters it.
    pub accent_color: String,
    pub logo_url: Option<String>,
}

/// Used when a colour is not `#rrggbb` after all: the colours are written into
/// a `<style>` element, where HTML escaping does not stop CSS injection.
const FALLBACK_PRIMARY: (&str, [u8; 3]) = ("#1d4ed8", [0x1d, 0x4e, 0xd8]);
const FALLBACK_ACCENT: (&str, [u8; 3]) = ("#f59e0b", [0xf5, 0x9e, 0x0b]);

const LIGHT_TEXT: &str = "#ffffff";
const DARK_TEXT: &str = "#111827";

impl Brand {
    /// The brand as a template value. Besides the stored fields it carries
    /// `on_primary`/`on_accent`: a text colour that stays readable on the
    /// brand colour, since resellers pick light and dark colours alike.
    pub(crate) fn to_template_value(&self) -> Value {
        let (primary, primary_rgb) = checked_color(&self.primary_color, FALLBACK_PRIMARY);
        let (accent, accent_rgb) = checked_color(&self.accent_color, FALLBACK_ACCENT);
        context! {
            name => self.name.as_str(),
            primary_color => primary,
            accent_color => accent,
            on_primary => readable_text_on(primary_rgb),
            on_accent => readable_text_on(accent_rgb),
            logo_url => self.logo_url.as_deref(),
        }
    }
}

fn checked_color<'a>(color: &'a str, fallback: (&'static str, [u8; 3])) -> (&'a str, [u8; 3]) {
    match parse_hex_color(color) {
        Some(rgb) => (color, rgb),
        None => fallback,
    }
}

fn parse_hex_color(color: &str) -> Option<[u8; 3]> {
    let hex = color.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// Light or dark text, whichever contrasts more with the background (WCAG 2
/// relative luminance).
fn readable_text_on([r, g, b]: [u8; 3]) -> &'static str {
    fn linear(channel: u8) -> f32 {
        let c = f32::from(channel) / 255.0;
        if c <= 0.040_45 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    }
    let luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
    // White wins when 1.05 / (L + 0.05) > (L + 0.05) / 0.05.
    if (luminance + 0.05) * (luminance + 0.05) < 0.0525 {
        LIGHT_TEXT
    } else {
        DARK_TEXT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_six_digit_hex_colors() {
        assert_eq!(parse_hex_color("#1D4ed8"), Some([0x1d, 0x4e, 0xd8]));
        assert_eq!(parse_hex_color("1d4ed8"), None);
        assert_eq!(parse_hex_color("#fff"), None);
        assert_eq!(parse_hex_color("#12345g"), None);
        assert_eq!(parse_hex_color("red;}body{x:y"), None);
        assert_eq!(parse_hex_color("#ääää"), None);
    }

    #[test]
    fn fallbacks_are_consistent() {
        for (css, rgb) in [FALLBACK_PRIMARY, FALLBACK_ACCENT] {
            assert_eq!(parse_hex_color(css), Some(rgb));
        }
    }

    #[test]
    fn invalid_colors_are_replaced() {
        assert_eq!(checked_color("#abcdef", FALLBACK_PRIMARY).0, "#abcdef");
        assert_eq!(
            checked_color("#000;}</style>", FALLBACK_PRIMARY).0,
            FALLBACK_PRIMARY.0
        );
    }

    #[test]
    fn text_contrasts_with_background() {
        assert_eq!(readable_text_on([0x1d, 0x4e, 0xd8]), LIGHT_TEXT);
        assert_eq!(readable_text_on([0, 0, 0]), LIGHT_TEXT);
        assert_eq!(readable_text_on([0xf5, 0x9e, 0x0b]), DARK_TEXT);
        assert_eq!(readable_text_on([0xff, 0xeb, 0x3b]), DARK_TEXT);
        assert_eq!(readable_text_on([0xff, 0xff, 0xff]), DARK_TEXT);
    }
}
