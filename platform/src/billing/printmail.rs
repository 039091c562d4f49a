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
    client: crate::outbound::Outbound,
}

impl HttpPrintMail {
    pub fn new(url: &str, client: &crate::outbound::Outbound) -> Self {
        Self {
            url: url.to_owned(),
            client: client.clone(),
        }
    }
}

#[async_trait::async_trait]
impl PrintMail for HttpPrintMail {
    async fn send(&self, letter: &Letter) -> Result<String, PrintMailError> {
        use crate::outbound::OutboundError;
        let body = serde_json::json!({
            "reference": letter.reference,
            "recipient": letter.recipient,
            "country": letter.country,
            "pdf_base64": base64::engine::general_purpose::STANDARD.encode(&letter.pdf),
        });
        // The service's trouble is retried; its refusal is not. Its own words
        // are not passed on (`crate::outbound`).
        let classify = |e: OutboundError| match e {
            OutboundError::Status(s) if s >= 500 => PrintMailError::Transport(e.to_string()),
            OutboundError::Timeout | OutboundError::Unreachable => {
                PrintMailError::Transport(e.to_string())
            }
            e => PrintMailError::Refused(e.to_string()),
        };
        let req = self
            .client
            .request(reqwest::Method::POST, &self.url)
            .map_err(classify)?
            .json(&body)
            .timeout(std::time::Duration::from_secs(20));
        let answer = self.client.send_json(req).await.map_err(classify)?;
        let id = answer["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| PrintMailError::Refused("the service's answer has no id".into()))?;
        Ok(id)
    }
}
