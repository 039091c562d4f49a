//! A ceiling on every request body, checked before any handler or extractor
//! reads it: a client cannot make the server buffer or parse more than the
//! ceiling (a 100 MB JSON body used to be parsed in full).
//!
//! Uploads come as `multipart/form-data` (logos, favicons, bank statements,
//! catalog CSV files) and get the larger `max_upload_bytes`; each upload handler
//! bounds its own fields within that. Every other body gets `max_body_bytes`.

use poem::http::{StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use relabel_themes::Lang;

pub struct BodyLimit<E> {
    pub inner: E,
    /// Bodies of any other kind (JSON, forms), in bytes.
    pub body: usize,
    /// `multipart/form-data` bodies, in bytes.
    pub upload: usize,
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
        match declared {
            Some(length) if length > limit as u64 => return Ok(too_large(&req)),
            // The server holds a body to its declared length.
            Some(_) => {}
            // No length given (chunked): read up to the ceiling here, so that no
            // reader further in can be made to take more.
            None => match req.take_body().into_bytes_limit(limit).await {
                Ok(bytes) => req.set_body(bytes),
                Err(poem::error::ReadBodyError::PayloadTooLarge) => return Ok(too_large(&req)),
                Err(e) => return Err(e.into()),
            },
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

/// 413 in the shape of the surface: the API's `{code, message, details}`, a
/// translated sentence elsewhere.
fn too_large(req: &Request) -> Response {
    let lang = Lang::from_accept_language(req.header(header::ACCEPT_LANGUAGE).unwrap_or_default());
    let message = relabel_admin_ui::t(lang.code(), "error.payload_too_large");
    let resp = Response::builder()
        .status(StatusCode::PAYLOAD_TOO_LARGE)
        // The rest of the body is not read; the connection cannot be reused.
        .header(header::CONNECTION, "close");
    if req.uri().path().starts_with("/api/") {
        resp.content_type("application/json; charset=utf-8").body(
            serde_json::json!({ "code": "payload_too_large", "message": message, "details": [] })
                .to_string(),
        )
    } else {
        resp.content_type("text/plain; charset=utf-8")
            .body(message.to_owned())
    }
}
