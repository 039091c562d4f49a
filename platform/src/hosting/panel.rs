//! The hosting panel adapter (V7): create, suspend, unsuspend, terminate and
//! change plan of an account on a pool server. [`HttpPanel`] speaks this JSON
//! API, relative to the server's `api_url`, with `Authorization: Bearer <token>`:
//!
//! | call | request | answers |
//! |---|---|---|
//! | create | `POST /accounts` `{"username","password","plan","domain"}` | 201; 409 if the user exists |
//! | suspend / unsuspend | `POST /accounts/{username}/suspend` (`/unsuspend`) | 200; 404 |
//! | change plan | `PUT /accounts/{username}/plan` `{"plan"}` | 200; 404 |
//! | terminate | `DELETE /accounts/{username}` | 200; 404 |
//!
//! 5xx and transport errors are worth retrying; 4xx are refusals.

use super::server;
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum PanelError {
    #[error("panel unavailable: {0}")]
    Unavailable(String),
    #[error("panel refused: {0}")]
    Refused(String),
    #[error("account exists")]
    Exists,
    #[error("account not found")]
    NotFound,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct NewAccount<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub plan: &'a str,
    pub domain: Option<&'a str>,
}

#[async_trait]
pub trait HostingPanel: Send + Sync {
    async fn create(
        &self,
        server: &server::Model,
        account: &NewAccount<'_>,
    ) -> Result<(), PanelError>;
    async fn suspend(&self, server: &server::Model, username: &str) -> Result<(), PanelError>;
    async fn unsuspend(&self, server: &server::Model, username: &str) -> Result<(), PanelError>;
    async fn terminate(&self, server: &server::Model, username: &str) -> Result<(), PanelError>;
    async fn change_plan(
        &self,
        server: &server::Model,
        username: &str,
        plan: &str,
    ) -> Result<(), PanelError>;
}

pub struct HttpPanel {
    http: reqwest::Client,
    /// Opens the servers' API tokens, stored sealed.
    sealer: crate::secrets::Sealer,
}

impl HttpPanel {
    pub fn new(sealer: crate::secrets::Sealer) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(20))
                .build()
                .unwrap_or_default(),
            sealer,
        }
    }
}

impl HttpPanel {
    async fn send(
        &self,
        server: &server::Model,
        req: reqwest::RequestBuilder,
    ) -> Result<(), PanelError> {
        let rsp = req
            .bearer_auth(
                self.sealer
                    .open_or_plain(&server.api_token)
                    .unwrap_or_default(),
            )
            .send()
            .await
            .map_err(|e| PanelError::Unavailable(e.to_string()))?;
        let status = rsp.status();
        if status.is_success() {
            return Ok(());
        }
        let body: String = rsp
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(500)
            .collect();
        Err(match status.as_u16() {
            409 => PanelError::Exists,
            404 => PanelError::NotFound,
            s if s >= 500 => PanelError::Unavailable(format!("{status}: {body}")),
            _ => PanelError::Refused(format!("{status}: {body}")),
        })
    }

    fn url(server: &server::Model, path: &str) -> String {
        format!("{}{path}", server.api_url.trim_end_matches('/'))
    }
}

#[async_trait]
impl HostingPanel for HttpPanel {
    async fn create(
        &self,
        server: &server::Model,
        account: &NewAccount<'_>,
    ) -> Result<(), PanelError> {
        self.send(
            server,
            self.http.post(Self::url(server, "/accounts")).json(account),
        )
        .await
    }

    async fn suspend(&self, server: &server::Model, username: &str) -> Result<(), PanelError> {
        let url = Self::url(server, &format!("/accounts/{username}/suspend"));
        self.send(server, self.http.post(url)).await
    }

    async fn unsuspend(&self, server: &server::Model, username: &str) -> Result<(), PanelError> {
        let url = Self::url(server, &format!("/accounts/{username}/unsuspend"));
        self.send(server, self.http.post(url)).await
    }

    async fn terminate(&self, server: &server::Model, username: &str) -> Result<(), PanelError> {
        let url = Self::url(server, &format!("/accounts/{username}"));
        self.send(server, self.http.delete(url)).await
    }

    async fn change_plan(
        &self,
        server: &server::Model,
        username: &str,
        plan: &str,
    ) -> Result<(), PanelError> {
        let url = Self::url(server, &format!("/accounts/{username}/plan"));
        self.send(
            server,
            self.http
                .put(url)
                .json(&serde_json::json!({ "plan": plan })),
        )
        .await
    }
}
