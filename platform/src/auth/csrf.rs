//! CSRF protection: a per-session token (synchronizer pattern). Every form carries
//! it in the field `csrf`; a POST without the session's token is refused with 403.

use poem::session::Session;
use subtle::ConstantTimeEq;

const KEY: &str = "csrf";

/// The session's token, created on first use.
pub fn token(session: &Session) -> String {
    match session.get::<String>(KEY) {
        Some(t) => t,
        None => {
            let t = super::random_token(32);
            session.set(KEY, &t);
            t
        }
    }
}

pub fn is_valid(session: &Session, submitted: Option<&str>) -> bool {
    match (session.get::<String>(KEY), submitted) {
        (Some(expected), Some(got)) => expected.as_bytes().ct_eq(got.as_bytes()).into(),
        _ => false,
    }
}

/// Refuses the request unless `submitted` matches the session's token.
pub fn verify(session: &Session, submitted: Option<&str>) -> poem::Result<()> {
    if is_valid(session, submitted) {
        Ok(())
    } else {
        Err(poem::Error::from_string(
            "The form has expired or did not come from this site. Reload the page and try again.",
            poem::http::StatusCode::FORBIDDEN,
        ))
    }
}
