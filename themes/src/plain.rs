//! A name that people typed, made fit for a plain-text email: one line, and
//! nothing a mail program turns into a link. Otherwise a "first name" such as
//! `Bob\nhttp://evil.example/login` puts the sender's words and a live link
//! into the shop's own verification mail.

/// `name` as one line of plain text: control, format and line-separator
/// characters become spaces, runs of spaces one; `://` is broken and the dots
/// of anything shaped like a host name (`www.x`, `evil.example`) become `․`
/// (one dot leader), which reads as a dot but is linked by no mail program.
pub fn plain_name(name: &str) -> String {
    let one_line: String = name
        .chars()
        .map(|c| if invisible(c) { ' ' } else { c })
        .collect();
    let words: Vec<String> = one_line
        .split_whitespace()
        .map(|w| defang_hosts(&w.replace("://", ": //")))
        .collect();
    words.join(" ")
}

/// Whether `text` holds a web address or a line break: what a name field
/// refuses (a name with a host-like part, such as a company `Example.com
/// GmbH`, is allowed and only defanged in mail).
pub fn has_link_or_break(text: &str) -> bool {
    let lower = text.to_lowercase();
    text.chars().any(invisible) || lower.contains("://") || lower.contains("www.")
}

fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// Replaces the dots of host-like runs (letters, digits, `-` and `.`) in `word`.
fn defang_hosts(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if host_like(run) {
            out.push_str(&run.replace('.', "\u{2024}"));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in word.chars() {
        if c.is_alphanumeric() || c == '-' || c == '.' {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// `a.bc`, `www.x`: at least two labels, the last one two or more letters (so
/// initials like `J.R.R.` stay as they are), or starting with `www.`.
fn host_like(run: &str) -> bool {
    let trimmed = run.trim_matches('.');
    if trimmed.to_lowercase().starts_with("www.") {
        return true;
    }
    let labels: Vec<&str> = trimmed.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty())
        && labels
            .last()
            .is_some_and(|tld| tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_mail_are_one_line_without_links() {
        for (name, plain) in [
            ("Erika Mustermann", "Erika Mustermann"),
            ("J.R.R. Tolkien", "J.R.R. Tolkien"),
            ("Dr. Anna-Lena Groß", "Dr. Anna-Lena Groß"),
            (
                "Bob\nhttp://evil.example/login",
                "Bob http: //evil\u{2024}example/login",
            ),
            ("Bob\r\n\r\nClick here", "Bob Click here"),
            (
                "Eve\u{2028}www.evil.example",
                "Eve www\u{2024}evil\u{2024}example",
            ),
            ("Mallory www.x", "Mallory www\u{2024}x"),
            ("bob@evil.example", "bob@evil\u{2024}example"),
            ("Example.com GmbH", "Example\u{2024}com GmbH"),
            ("HTTPS://EVIL.EXAMPLE", "HTTPS: //EVIL\u{2024}EXAMPLE"),
            ("evil\u{200B}.example", "evil .example"),
            ("\tTab\u{7}Bell\u{202E}", "Tab Bell"),
        ] {
            let got = plain_name(name);
            assert_eq!(got, plain, "{name:?}");
            assert!(!got.contains("://") && !got.contains('\n') && !got.contains('\r'));
        }
    }

    #[test]
    fn links_and_line_breaks_are_told_apart_from_names() {
        for bad in [
            "Bob\nBuilder",
            "http://evil.example",
            "Visit WWW.evil.example",
            "x\u{2028}y",
        ] {
            assert!(has_link_or_break(bad), "{bad:?}");
        }
        for good in ["Erika", "J.R.R. Tolkien", "Example.com GmbH", "O'Neil"] {
            assert!(!has_link_or_break(good), "{good:?}");
        }
    }
}
