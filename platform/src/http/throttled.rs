//! How the HTML surfaces answer a credential check the throttle refused: the
//! form again with the wait in words, status 429 and `Retry-After`.

use crate::ratelimit::Refused;
use poem::Response;
use poem::http::{HeaderValue, header};

/// The translated `err.locked_out` text (`template`) with the wait filled in.
pub fn message(template: &str, refused: &Refused) -> String {
    template.replace("{minutes}", &refused.retry_after_minutes().to_string())
}

/// Adds `Retry-After` to a rendered 429 page.
pub fn retry_after(refused: &Refused, page: poem::Result<Response>) -> poem::Result<Response> {
    page.map(|mut resp| {
        resp.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(refused.retry_after_secs()),
        );
        resp
    })
}
