use poem::web::Multipart;
use poem::{FromRequest, Request, RequestBody};
use tokio::io::AsyncReadExt;

/// A submitted `application/x-www-form-urlencoded` form, keeping repeated fields
/// (checkbox groups) that a struct-based form would lose.
pub struct FormData(Vec<(String, String)>);

const MAX_FORM_BYTES: usize = 64 * 1024;

impl FormData {
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    pub fn opt(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every submitted (name, value) pair, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl<'a> FromRequest<'a> for FormData {
    async fn from_request(_req: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = body.take()?.into_bytes_limit(MAX_FORM_BYTES).await?;
        let pairs = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .map_err(|_| poem::Error::from_status(poem::http::StatusCode::BAD_REQUEST))?;
        Ok(Self(pairs))
    }
}

/// Reads a multipart form: up to 32 text fields of at most `limit` bytes
/// each, and the file field `file_field` up to `file_limit + 1` bytes (enough
/// to tell that it is too large). A file field left empty counts as absent.
pub async fn read_multipart(
    mut multipart: Multipart,
    limit: usize,
    file_field: &str,
    file_limit: usize,
) -> poem::Result<(std::collections::HashMap<String, String>, Option<Vec<u8>>)> {
    let mut fields = std::collections::HashMap::new();
    let mut file = None;
    while let Some(field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == file_field {
            let has_file = field.file_name().is_some_and(|f| !f.is_empty());
            let mut buf = Vec::new();
            field
                .into_async_read()
                .take(file_limit as u64 + 1)
                .read_to_end(&mut buf)
                .await
                .map_err(poem::error::InternalServerError)?;
            if has_file || !buf.is_empty() {
                file = Some(buf);
            }
        } else if fields.len() < 32 {
            let mut buf = Vec::new();
            field
                .into_async_read()
                .take(limit as u64 + 1)
                .read_to_end(&mut buf)
                .await
                .map_err(poem::error::InternalServerError)?;
            fields.insert(name, String::from_utf8_lossy(&buf).into_owned());
        }
    }
    Ok((fields, file))
}
