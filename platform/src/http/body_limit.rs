//! A ceiling on every request body, checked before any handler or extractor
//! reads it: a client cannot make the server buffer or parse more than the
//! ceiling (a 100 MB JSON body used to be parsed in full).
//!
//! Uploads come as `multipart/form-data` (logos, favicons, bank statements,
//! catalog CSV files) and get the larger `max_upload_bytes`; each upload handler
//! bounds its own fields within that. Every other body gets `max_body_bytes`.
//!
//! A body must also arrive in time: `body_timeout`, plus one second for every
//! [`MIN_BODY_RATE`] bytes that arrived, so a steady upload of any size goes
//! through and a trickle does not. A client
//! that trickles a body in, or stops halfway, gets 408 and loses the connection
//! instead of holding it and its task for ever. The body is read here, before
//! any handler runs, so no handler waits on a slow client while it holds a
//! database connection.

use poem::http::{StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use relabel_themes::Lang;
use std::time::Duration;

/// The slowest a body may arrive once past `body_timeout` (bytes per second):
/// a 20 MiB statement over a 512 kbit/s line still makes it.
pub const MIN_BODY_RATE: u64 = 64 * 1024;

pub struct BodyLimit<E> {
    pub inner: E,
    /// Bodies of any other kind (JSON, forms), in bytes.
    pub body: usize,
    /// `multipart/form-data` bodies, in bytes.
    pub upload: usize,
    /// The time any body may take, before the allowance for its size.
    pub body_timeout: Duration,
}

impl<E: Endpoint> Endpoint for BodyLimit<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let multipart = req
            .content_type()
            .is_some_and(|c| c.trim_start().starts_with("multipart/form-data"));
        let limit = if multipart { self.upload } else { self.body };
        let declared = req
            .header(header::CONTENT_LENGTH)
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(length) = declared
            && length > limit as u64
        {
            return Ok(too_large(&req));
        }
        // Uploads are not gathered here (up to `max_upload_bytes` on any path,
        // before routing, would let anyone make the server hold that much per
        // connection): their stream carries the same deadline and ceiling, and
        // the upload handler that reads it fails when either is passed.
        if multipart {
            let body = req.take_body();
            req.set_body(paced(body, limit, self.body_timeout));
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        // Read here, to the ceiling (a declared length is held to by the
        // server; a chunked body is cut at the ceiling), within the deadline.
        match read_in_time(req.take_body(), limit, self.body_timeout).await {
            Read::Body(bytes) => req.set_body(bytes),
            Read::TooLarge => return Ok(too_large(&req)),
            Read::TooSlow => {
                return Ok(refused(
                    &req,
                    StatusCode::REQUEST_TIMEOUT,
                    "error.body_timeout",
                ));
            }
            Read::Failed(e) => return Err(poem::Error::new(e, StatusCode::BAD_REQUEST)),
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

enum Read {
    Body(bytes::Bytes),
    TooLarge,
    TooSlow,
    Failed(std::io::Error),
}

/// Reads `body` up to `limit` bytes. It has `timeout` to arrive, plus a second
/// for every [`MIN_BODY_RATE`] bytes that did arrive: a steady upload keeps
/// going, a trickle runs out of time (like Apache's `mod_reqtimeout`).
async fn read_in_time(body: poem::Body, limit: usize, timeout: Duration) -> Read {
    use futures::StreamExt;
    let started = tokio::time::Instant::now();
    let mut stream = std::pin::pin!(body.into_bytes_stream());
    let mut buf = bytes::BytesMut::new();
    loop {
        let earned = Duration::from_secs_f64(buf.len() as f64 / MIN_BODY_RATE as f64);
        let deadline = started + timeout + earned;
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => return Read::TooSlow,
            Ok(None) => return Read::Body(buf.freeze()),
            Ok(Some(Err(e))) => return Read::Failed(e),
            Ok(Some(Ok(chunk))) => {
                if buf.len() + chunk.len() > limit {
                    return Read::TooLarge;
                }
                buf.extend_from_slice(&chunk);
            }
        }
    }
}

/// `body` as a stream under the rule of [`read_in_time`]: past the deadline
/// or the ceiling the next read fails (and the connection is not reused).
fn paced(body: poem::Body, limit: usize, timeout: Duration) -> poem::Body {
    use futures::StreamExt;
    let started = tokio::time::Instant::now();
    let stream = Box::pin(body.into_bytes_stream());
    let paced = futures::stream::unfold(
        (stream, 0usize, false),
        move |(mut stream, seen, done)| async move {
            if done {
                return None;
            }
            let earned = Duration::from_secs_f64(seen as f64 / MIN_BODY_RATE as f64);
            let deadline = started + timeout + earned;
            let fail = |kind, why: &str| std::io::Error::new(kind, why.to_owned());
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Err(_) => Some((
                    Err(fail(
                        std::io::ErrorKind::TimedOut,
                        "the upload arrived too slowly",
                    )),
                    (stream, seen, true),
                )),
                Ok(None) => None,
                Ok(Some(Err(e))) => Some((Err(e), (stream, seen, true))),
                Ok(Some(Ok(chunk))) if seen + chunk.len() > limit => Some((
                    Err(fail(
                        std::io::ErrorKind::InvalidData,
                        "the upload is too large",
                    )),
                    (stream, seen, true),
                )),
                Ok(Some(Ok(chunk))) => {
                    let seen = seen + chunk.len();
                    Some((Ok(chunk), (stream, seen, false)))
                }
            }
        },
    );
    poem::Body::from_bytes_stream(paced)
}

/// 413 in the shape of the surface: the API's `{code, message, details}`, a
/// translated sentence elsewhere.
fn too_large(req: &Request) -> Response {
    refused(
        req,
        StatusCode::PAYLOAD_TOO_LARGE,
        "error.payload_too_large",
    )
}

/// A body refused before it was read to its end (too large, too slow).
fn refused(req: &Request, status: StatusCode, key: &str) -> Response {
    let lang = Lang::from_accept_language(req.header(header::ACCEPT_LANGUAGE).unwrap_or_default());
    let message = relabel_admin_ui::t(lang.code(), key);
    let resp = Response::builder()
        .status(status)
        // The rest of the body is not read; the connection cannot be reused.
        .header(header::CONNECTION, "close");
    if req.uri().path().starts_with("/api/") {
        let code = key.trim_start_matches("error.");
        resp.content_type("application/json; charset=utf-8").body(
            serde_json::json!({ "code": code, "message": message, "details": [] }).to_string(),
        )
    } else {
        resp.content_type("text/plain; charset=utf-8")
            .body(message.to_owned())
    }
}
