//! Postal delivery through a print-mail service (B5): the `PrintMail` trait and an
//! HTTP implementation (JSON POST with the PDF in base64, bearer-less; the
//! service's URL is the reseller's setting). Tests run it against a local peer.

use base64::Engine as _;

/// One letter to print and post.
#[derive(Clone, Debug)]
pub struct Letter {
    /// Idempotency reference: the service prints a reference once.
    pub reference: String,
    pub recipient: Vec<String>,
    pub country: String,
    pub pdf: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum PrintMailError {
    #[error("print-mail service unreachable: {0}")]
    Transport(String),
    #[error("print-mail service refused the letter: {0}")]
    Refused(String),
}

#[async_trait::async_trait]
pub trait PrintMail: Send + Sync {
    /// Hands a letter over; returns the service's tracking id.
    async fn send(&self, letter: &Letter) -> Result<String, PrintMailError>;
}

/// `POST {url}` with `{reference, recipient: [lines], country, pdf_base64}`;
/// answers `{id}` with 2xx.
pub struct HttpPrintMail {
    url: String,
    client: reqwest::Client,
}

impl HttpPrintMail {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(20))
                .build()
                .unwrap_or_default(),
        }
    }
}

#[async_trait::async_trait]
impl PrintMail for HttpPrintMail {
    async fn send(&self, letter: &Letter) -> Result<String, PrintMailError> {
        let body = serde_json::json!({
            "reference": letter.reference,
            "recipient": letter.recipient,
            "country": letter.country,
            "pdf_base64": base64::engine::general_purpose::STANDARD.encode(&letter.pdf),
        });
        let res = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| PrintMailError::Transport(e.to_string()))?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        if status.is_server_error() {
            return Err(PrintMailError::Transport(format!("{status}: {text}")));
        }
        if !status.is_success() {
            return Err(PrintMailError::Refused(format!("{status}: {text}")));
        }
        let id = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_owned))
            .ok_or_else(|| PrintMailError::Refused(format!("answer without id: {text}")))?;
        Ok(id)
    }
}
