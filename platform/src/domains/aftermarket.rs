//! Aftermarket (O3): names for sale by their owners, shown when the wanted name
//! is taken. Listings come from an [`Aftermarket`] adapter; [`CsvFeed`] reads the
//! CSV feed format brokers publish (`name,price,currency,seller_ref`), from a file
//! or an HTTP URL, and refreshes it periodically.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Listing {
    /// Unicode, lowercase.
    pub name: String,
    pub price_minor: i64,
    pub currency: String,
    /// The broker's reference for the offer.
    pub seller_ref: String,
}

#[async_trait]
pub trait Aftermarket: Send + Sync {
    /// Listings for any of `names` (Unicode, lowercase).
    async fn listings(&self, names: &[String]) -> Vec<Listing>;
}

/// Where a feed comes from.
#[derive(Clone, Debug)]
pub enum Source {
    File(std::path::PathBuf),
    /// Fetched through the guarded client (`crate::outbound`).
    Url(String, crate::outbound::Outbound),
}

pub struct CsvFeed {
    source: Source,
    refresh: Duration,
    state: RwLock<(Option<Instant>, HashMap<String, Listing>)>,
}

/// Parses a feed; bad lines are skipped with a warning (a broker's typo must not
/// hide every other listing).
pub fn parse(csv: &str) -> HashMap<String, Listing> {
    let mut out = HashMap::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(csv.as_bytes());
    for (i, rec) in reader.records().enumerate() {
        let parsed = rec.ok().and_then(|r| {
            let name = r.get(0)?.to_lowercase();
            let price = crate::customers::fields::parse_amount(r.get(1)?)?;
            let currency = r.get(2)?.to_uppercase();
            let seller_ref = r.get(3).unwrap_or_default().to_owned();
            let ok = name.contains('.')
                && price > 0
                && crate::customers::fields::is_choice(
                    crate::customers::fields::CURRENCIES,
                    &currency,
                );
            ok.then_some(Listing {
                name,
                price_minor: price,
                currency,
                seller_ref,
            })
        });
        match parsed {
            Some(l) => {
                out.insert(l.name.clone(), l);
            }
            None => tracing::warn!(line = i + 2, "aftermarket feed: line skipped"),
        }
    }
    out
}

impl CsvFeed {
    pub fn new(source: Source, refresh: Duration) -> Self {
        Self {
            source,
            refresh,
            state: RwLock::new((None, HashMap::new())),
        }
    }

    async fn fetch(&self) -> anyhow::Result<String> {
        Ok(match &self.source {
            Source::File(p) => tokio::fs::read_to_string(p).await?,
            Source::Url(u, client) => {
                let req = client.request(reqwest::Method::GET, u)?;
                String::from_utf8(client.send(req).await?)?
            }
        })
    }

    async fn refresh_if_due(&self) {
        let due = self
            .state
            .read()
            .map(|s| s.0.is_none_or(|at| at.elapsed() >= self.refresh))
            .unwrap_or(true);
        if !due {
            return;
        }
        match self.fetch().await {
            Ok(text) => {
                let parsed = parse(&text);
                if let Ok(mut s) = self.state.write() {
                    *s = (Some(Instant::now()), parsed);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "aftermarket feed could not be loaded");
                // Keep the last good listings; try again after the next interval.
                if let Ok(mut s) = self.state.write() {
                    s.0 = Some(Instant::now());
                }
            }
        }
    }
}

#[async_trait]
impl Aftermarket for CsvFeed {
    async fn listings(&self, names: &[String]) -> Vec<Listing> {
        self.refresh_if_due().await;
        let Ok(s) = self.state.read() else {
            return Vec::new();
        };
        names.iter().filter_map(|n| s.1.get(n).cloned()).collect()
    }
}

/// No aftermarket configured.
pub struct NoAftermarket;

#[async_trait]
impl Aftermarket for NoAftermarket {
    async fn listings(&self, _: &[String]) -> Vec<Listing> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_lines_are_checked() {
        let feed = parse(
            "name,price,currency,seller_ref\nGoogle.de,15000.00,EUR,SEDO-1\nbad,1,EUR,x\nx.com,-5,EUR,y\nshop.com,2500,USD,AFT-9\n",
        );
        assert_eq!(feed.len(), 2);
        assert_eq!(feed["google.de"].price_minor, 1_500_000);
        assert_eq!(feed["shop.com"].currency, "USD");
    }
}
