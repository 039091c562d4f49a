//! Functions and filters the templates call.

use minijinja::Error;
use minijinja::State;
use minijinja::value::{Kwargs, Value};

/// `t("key")` or `t("key", name=value)`: translates into the language named by the
/// render context's `lang`, filling `{name}` placeholders from the keyword arguments.
pub(crate) fn translate(state: &State, key: &str, args: Kwargs) -> Result<String, Error> {
    let lang = state.lookup("lang");
    let mut text = crate::t(lang.as_ref().and_then(Value::as_str).unwrap_or("en"), key).to_owned();
    for name in args.args() {
        let value: Value = args.get(name)?;
        text = text.replace(&format!("{{{name}}}"), &value.to_string());
    }
    Ok(text)
}

/// `value|css_color("#123456")`: passes a hex colour through and replaces anything
/// else with the fallback.
///
/// Brand colours come from reseller input and land in a `style` attribute; HTML
/// escaping alone would still let `red; background: url(…)` add declarations.
pub(crate) fn css_color(value: &Value, fallback: &str) -> String {
    match value.as_str() {
        Some(color) if parse_hex(color).is_some() => color.to_ascii_lowercase(),
        _ => fallback.to_owned(),
    }
}

/// `value|on_color`: black or white, whichever reads better on the given colour.
pub(crate) fn on_color(value: &Value) -> &'static str {
    let Some([r, g, b]) = value.as_str().and_then(parse_hex) else {
        return "#ffffff";
    };
    // WCAG relative luminance; 0.179 is where black and white text have equal contrast.
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
    if luminance > 0.179 {
        "#111827"
    } else {
        "#ffffff"
    }
}

/// Parses `#rgb` or `#rrggbb`.
fn parse_hex(value: &str) -> Option<[u8; 3]> {
    let digits = value.strip_prefix('#')?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |s: &str| u8::from_str_radix(s, 16).ok();
    match digits.len() {
        3 => {
            let nibble = |i: usize| channel(&digits[i..=i]).map(|n| n * 17);
            Some([nibble(0)?, nibble(1)?, nibble(2)?])
        }
        6 => Some([
            channel(&digits[0..2])?,
            channel(&digits[2..4])?,
            channel(&digits[4..6])?,
        ]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn css_color_only_lets_hex_colours_through() {
        let fallback = "#000000";
        assert_eq!(css_color(&Value::from("#1F3A5F"), fallback), "#1f3a5f");
        assert_eq!(css_color(&Value::from("#abc"), fallback), "#abc");
        for bad in ["red; background: url(x)", "#12345", "#ggg", "", "1f3a5f"] {
            assert_eq!(css_color(&Value::from(bad), fallback), fallback, "{bad}");
        }
        assert_eq!(css_color(&Value::from(()), fallback), fallback);
    }

    #[test]
    fn on_color_picks_readable_text() {
        assert_eq!(on_color(&Value::from("#1f3a5f")), "#ffffff");
        assert_eq!(on_color(&Value::from("#ffd166")), "#111827");
        assert_eq!(on_color(&Value::from("#fff")), "#111827");
    }
}
