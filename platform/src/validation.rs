//! Field errors shared by forms and the API: each names the field and carries a
//! message code that the consoles translate and the API returns with its English text.

use serde::Serialize;

#[derive(Clone, Debug, Default, Serialize)]
pub struct FieldErrors(Vec<FieldError>);

#[derive(Clone, Debug, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: String,
}

impl FieldErrors {
    pub fn add(&mut self, field: &str, code: &str) {
        if !self.0.iter().any(|e| e.field == field) {
            self.0.push(FieldError {
                field: field.to_owned(),
                code: code.to_owned(),
            });
        }
    }

    pub fn single(field: &str, code: &str) -> Self {
        let mut e = Self::default();
        e.add(field, code);
        e
    }

    /// Removes the error `code` on `field`; whether it was there.
    pub fn take(&mut self, field: &str, code: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|e| !(e.field == field && e.code == code));
        self.0.len() != before
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    /// `Ok(())` when empty, else `Err(self)`.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }

    /// field -> translated message, for templates.
    pub fn translated(&self, lang: &str) -> std::collections::BTreeMap<String, String> {
        self.0
            .iter()
            .map(|e| {
                (
                    e.field.clone(),
                    relabel_admin_ui::t(lang, &e.code).to_owned(),
                )
            })
            .collect()
    }
}

/// `#rrggbb`, lowercased.
pub fn parse_color(s: &str) -> Option<String> {
    let s = s.trim();
    let hex = s.strip_prefix('#')?;
    (hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("#{}", hex.to_ascii_lowercase()))
}

/// A display name: trimmed, 1..=100 characters, no control characters.
pub fn parse_name(s: &str) -> Option<String> {
    parse_line(s, 100)
}

/// One line of text of 1 to `max` characters, trimmed, without control
/// characters (names, address lines).
pub fn parse_line(s: &str, max: usize) -> Option<String> {
    let s = s.trim();
    let n = s.chars().count();
    ((1..=max).contains(&n) && !s.chars().any(char::is_control)).then(|| s.to_owned())
}

pub fn hostname_code(e: &relabel_tenants::HostnameError) -> String {
    format!("err.{}", e.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colors_and_names() {
        assert_eq!(parse_color("#A1b2C3").as_deref(), Some("#a1b2c3"));
        for bad in ["a1b2c3", "#abc", "#ggg000", "#a1b2c3;}", ""] {
            assert!(parse_color(bad).is_none(), "{bad}");
        }
        assert!(parse_name("  ").is_none());
        assert!(parse_name(&"x".repeat(101)).is_none());
        assert_eq!(parse_name(" Alpha ").as_deref(), Some("Alpha"));
    }
}
