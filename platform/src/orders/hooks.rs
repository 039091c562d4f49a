//! Optional per-reseller hooks of the checkout (O11, O14, Y5): an SMS gateway for
//! activation codes and a credit bureau for scores. Each is a trait with an HTTP
//! implementation speaking a small documented JSON protocol, so a reseller points
//! it at its provider's endpoint (or an adapter in front of it).
//!
//! SMS: `POST {url}` with `{"to": "+49...", "text": "..."}`; any 2xx is success.
//! Bureau: `POST {url}` with the applicant (`first_name`, `last_name`, `street`,
//! `postal_code`, `city`, `country`, `email`, `amount_minor`, `currency`);
//! the answer is `{"score": 0..1000}` (higher is better).

use async_trait::async_trait;
use std::time::Duration;

/// Why a hook failed, in words that can be shown to the reseller (never the
/// peer's own answer).
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{0}")]
    Call(#[from] crate::outbound::OutboundError),
    #[error("{0}")]
    Answer(&'static str),
}

#[async_trait]
pub trait SmsSender: Send + Sync {
    async fn send(&self, to: &str, text: &str) -> Result<(), HookError>;
}

/// The applicant as the bureau sees it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Applicant {
    pub first_name: String,
    pub last_name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub country: String,
    pub email: String,
    pub amount_minor: i64,
    pub currency: String,
}

impl Applicant {
    /// A known customer asking for `amount_minor` (0 at signup).
    pub fn of(c: &crate::customers::customer::Model, amount_minor: i64) -> Self {
        Self {
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            street: c.street.clone(),
            postal_code: c.postal_code.clone(),
            city: c.city.clone(),
            country: c.country.clone(),
            email: c.email.clone(),
            amount_minor,
            currency: c.currency.clone(),
        }
    }
}

#[async_trait]
pub trait CreditBureau: Send + Sync {
    /// A score from 0 (no credit) to 1000 (best).
    async fn score(&self, applicant: &Applicant) -> Result<i32, HookError>;
}

/// The reseller's rule from score to credit limit (Y5): bands `score:limit`
/// separated by commas, e.g. `0:0, 400:100.00, 700:500.00`; a score gets the
/// limit of the highest band it reaches (`0:0; 400:100,00` with decimal commas). `Some(vec![])` = no rule; `None` = not
/// a valid rule (scores 0..1000, limits as amounts, each score once).
pub fn parse_score_limits(input: &str) -> Option<Vec<(i32, i64)>> {
    let mut bands = Vec::new();
    // Semicolons, when used, separate bands so limits may have decimal commas.
    let sep = if input.contains(';') { ';' } else { ',' };
    for part in input.split(sep).map(str::trim).filter(|p| !p.is_empty()) {
        let (score, limit) = part.split_once(':')?;
        let score: i32 = score
            .trim()
            .parse()
            .ok()
            .filter(|s| (0..=1000).contains(s))?;
        let limit = crate::customers::fields::parse_amount(limit.trim())?;
        bands.push((score, limit));
    }
    bands.sort_unstable();
    if bands.windows(2).any(|w| w[0].0 == w[1].0) {
        return None;
    }
    Some(bands)
}

/// The credit limit a score earns under `bands`; none when no band is reached.
pub fn limit_for_score(bands: &[(i32, i64)], score: i32) -> Option<i64> {
    bands
        .iter()
        .rev()
        .find(|(from, _)| score >= *from)
        .map(|(_, limit)| *limit)
}

/// The job that scores a customer who signed up (Y5).
pub const SCORE: &str = "customer.score";

/// Queues scoring a new customer in the signup transaction, when the reseller
/// has a bureau.
pub async fn queue_score(
    tx: &relabel_tenants::TenantTx,
    customer_id: &str,
) -> Result<(), sea_orm::DbErr> {
    if crate::customers::settings(tx).await?.bureau_url.is_none() {
        return Ok(());
    }
    crate::jobs::enqueue(
        tx,
        crate::jobs::NewJob {
            kind: SCORE,
            reference: customer_id,
            key: &format!("score:{customer_id}"),
            payload: serde_json::json!({ "customer_id": customer_id }),
            run_after: None,
        },
    )
    .await?;
    Ok(())
}

/// Asks the bureau for a signed-up customer's score and sets the credit limit
/// by the reseller's rule. An unreachable bureau is retried by the job queue.
pub struct ScoreHandler {
    pub state: crate::app::AppState,
}

#[async_trait]
impl crate::jobs::runner::Handler for ScoreHandler {
    async fn run(
        &self,
        tenant: &relabel_tenants::Tenant,
        job: &crate::jobs::entity::Model,
    ) -> Result<(), crate::jobs::runner::JobError> {
        use crate::jobs::runner::JobError;
        let retry = |e: &dyn std::fmt::Display| JobError::Retry(e.to_string());
        let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or_default();
        let customer_id = payload["customer_id"].as_str().unwrap_or_default();
        let tx = self
            .state
            .tenancy
            .begin(tenant)
            .await
            .map_err(|e| retry(&e))?;
        let s = crate::customers::settings(&tx)
            .await
            .map_err(|e| retry(&e))?;
        let Some(url) = s.bureau_url.clone() else {
            return Ok(());
        };
        let Ok(c) = crate::customers::get(&tx, customer_id).await else {
            return Err(JobError::Fatal(format!("customer {customer_id} not found")));
        };
        drop(tx);
        let applicant = Applicant::of(&c, 0);
        let score = (HttpBureau {
            url,
            client: self.state.outbound.clone(),
        })
        .score(&applicant)
        .await
        .map_err(|e| retry(&e))?;
        let tx = self
            .state
            .tenancy
            .begin(tenant)
            .await
            .map_err(|e| retry(&e))?;
        let c = crate::customers::get(&tx, customer_id)
            .await
            .map_err(|e| retry(&e))?;
        let actor = crate::customers::Actor {
            name: "bureau",
            ip: None,
        };
        crate::customers::apply_score(&tx, &actor, c, score, &s)
            .await
            .map_err(|e| retry(&e))?;
        tx.commit().await.map_err(|e| retry(&e))?;
        Ok(())
    }
}

/// The reseller's SMS gateway, reached through the guarded client.
pub struct HttpSms {
    pub url: String,
    pub client: crate::outbound::Outbound,
}

#[async_trait]
impl SmsSender for HttpSms {
    async fn send(&self, to: &str, text: &str) -> Result<(), HookError> {
        let req = self
            .client
            .request(reqwest::Method::POST, &self.url)?
            .json(&serde_json::json!({ "to": to, "text": text }));
        self.client.send(req).await?;
        Ok(())
    }
}

/// The reseller's credit bureau, reached through the guarded client.
pub struct HttpBureau {
    pub url: String,
    pub client: crate::outbound::Outbound,
}

#[async_trait]
impl CreditBureau for HttpBureau {
    async fn score(&self, applicant: &Applicant) -> Result<i32, HookError> {
        let req = self
            .client
            .request(reqwest::Method::POST, &self.url)?
            .json(applicant)
            .timeout(Duration::from_secs(5));
        let v = self.client.send_json(req).await?;
        v["score"]
            .as_i64()
            .filter(|s| (0..=1000).contains(s))
            .map(|s| s as i32)
            .ok_or(HookError::Answer("no score from 0 to 1000 in the answer"))
    }
}

/// A six-digit activation code.
pub fn new_code() -> String {
    format!("{:06}", rand::random::<u32>() % 1_000_000)
}

pub fn hash_code(order_id: &str, code: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(format!("{order_id}:{}", code.trim())))
}

/// A phone number an SMS can go to: `+` and 8 to 15 digits once spaces,
/// dashes, dots and brackets are removed.
pub fn sms_number(phone: &str) -> Option<String> {
    let digits: String = phone
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '/'))
        .collect();
    let rest = digits.strip_prefix('+')?;
    ((8..=15).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_bands_pick_the_highest_reached() {
        let bands = parse_score_limits("700:500.00, 0:0,400:100").unwrap();
        assert_eq!(bands, vec![(0, 0), (400, 10_000), (700, 50_000)]);
        assert_eq!(limit_for_score(&bands, 0), Some(0));
        assert_eq!(limit_for_score(&bands, 399), Some(0));
        assert_eq!(limit_for_score(&bands, 400), Some(10_000));
        assert_eq!(limit_for_score(&bands, 1000), Some(50_000));
        assert_eq!(
            limit_for_score(&parse_score_limits("500:10").unwrap(), 100),
            None
        );
        assert_eq!(parse_score_limits(""), Some(vec![]));
        assert_eq!(
            parse_score_limits("400:100,50; 0:0"),
            Some(vec![(0, 0), (400, 10_050)])
        );
        for bad in ["x:1", "1001:5", "5", "10:-1", "10:1,10:2", "10:abc"] {
            assert_eq!(parse_score_limits(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers_and_codes() {
        assert_eq!(
            sms_number("+49 (30) 123-456").as_deref(),
            Some("+4930123456")
        );
        assert_eq!(sms_number("030 123456"), None);
        assert_eq!(sms_number("+49 12"), None);
        let c = new_code();
        assert_eq!(c.len(), 6);
        assert_eq!(hash_code("o1", &c), hash_code("o1", &format!(" {c} ")));
        assert_ne!(hash_code("o1", &c), hash_code("o2", &c));
    }
}
