use poem::{FromRequest, Request, RequestBody};

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
