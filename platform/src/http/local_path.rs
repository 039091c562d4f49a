//! Where a visitor may be sent back to after a form (`next=` after sign-in, `back=`
//! after adding to the cart): a path on this site, never another host.
//!
//! Browsers are generous with `Location`: they drop tabs and line breaks
//! (`/\t/evil.example` becomes `//evil.example`), read `\` as `/`, and treat `//`
//! as the start of a host. So a path qualifies only if it starts with exactly one
//! `/` and holds no control character, no backslash and no `//`, neither as sent
//! nor once percent-decoded (a later hop may decode `/%2F%2Fevil.example`).

/// `candidate` if it is a path on this site, else `None` (the caller goes to its
/// default). Every handler that redirects to a path the client chose asks here.
pub fn same_site_path(candidate: &str) -> Option<&str> {
    let mut text = candidate.to_owned();
    // Decoding twice covers double encoding; anything still encoded after that is
    // refused rather than trusted.
    for _ in 0..3 {
        if !plain_local(&text) {
            return None;
        }
        let decoded = percent_decode(&text);
        if decoded == text {
            return Some(candidate);
        }
        text = decoded;
    }
    None
}

fn plain_local(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
}

/// `%XX` sequences decoded byte-wise; malformed ones are kept as they are. Bytes
/// that do not form UTF-8 are replaced, which keeps the path refusable.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::same_site_path;

    #[test]
    fn hostile_paths_are_refused() {
        for hostile in [
            "",
            "evil.example",
            "https://evil.example/",
            "http:/evil.example",
            "//evil.example/",
            "///evil.example/",
            "/\\evil.example/",
            "\\\\evil.example/",
            "/%5Cevil.example/",
            "/%5cevil.example/",
            "/%09/evil.example/",
            "/\t/evil.example/",
            "/\n/evil.example/",
            "/\r\n/evil.example/",
            "/%0d%0a/evil.example/",
            "/\u{0}evil",
            "/\u{7f}/evil.example/",
            "/\u{85}/evil.example/",
            "/%2F%2Fevil.example",
            "/%2f%2fevil.example",
            "/%252F%252Fevil.example",
            "/%25252F%25252Fevil.example",
            "/%2F/evil.example",
            "%2F%2Fevil.example",
            "/account/../\\evil.example",
            "/cart?x=1\r\nSet-Cookie: a=b",
            " /cart",
            "javascript:alert(1)",
        ] {
            assert_eq!(same_site_path(hostile), None, "{hostile:?} must be refused");
        }
    }

    #[test]
    fn local_paths_are_kept_as_sent() {
        for local in [
            "/",
            "/cart",
            "/checkout",
            "/account/orders/ord_1?tab=items#top",
            "/search?q=m%C3%BCller.de",
            "/search?q=a+b&lang=en",
        ] {
            assert_eq!(same_site_path(local), Some(local), "{local:?} is local");
        }
    }
}
