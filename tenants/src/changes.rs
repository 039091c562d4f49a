//! Notices that a tenant's committed data changed, for caches that must not serve
//! stale answers (prices, ...). A [`TenantTx`](crate::TenantTx) collects the topics it
//! touched and publishes them after a successful commit: listeners on this node run
//! synchronously before `commit` returns, other nodes hear it through Redis pub/sub.

use crate::TenantId;
use futures::StreamExt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// What changed: one tenant's topic, or (`tenant: None`) the topic for every tenant,
/// e.g. the shared wholesale catalog. Topic `"*"` means "anything".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub tenant: Option<TenantId>,
    pub topic: String,
}

impl Change {
    /// Whether a listener interested in `topic` must react.
    pub fn concerns(&self, topic: &str) -> bool {
        self.topic == topic || self.topic == "*"
    }

    fn encode(&self) -> String {
        format!(
            "{}|{}",
            self.tenant.as_ref().map(TenantId::as_str).unwrap_or("*"),
            self.topic
        )
    }

    fn decode(s: &str) -> Option<Self> {
        let (tenant, topic) = s.split_once('|')?;
        let tenant = match tenant {
            "*" => None,
            t => Some(TenantId::parse(t)?),
        };
        Some(Self {
            tenant,
            topic: topic.to_owned(),
        })
    }
}

type Listener = Arc<dyn Fn(&Change) + Send + Sync>;

#[derive(Clone)]
pub struct Changes {
    listeners: Arc<RwLock<Vec<Listener>>>,
    redis: Option<(redis::aio::ConnectionManager, String)>,
}

fn channel(prefix: &str) -> String {
    format!("{prefix}:data-changed")
}

impl Changes {
    pub(crate) fn new(redis: Option<(redis::aio::ConnectionManager, String)>) -> Self {
        Self {
            listeners: Arc::default(),
            redis,
        }
    }

    /// Calls `f` for every change, local or from another node.
    pub fn subscribe(&self, f: impl Fn(&Change) + Send + Sync + 'static) {
        self.listeners
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(f));
    }

    fn deliver(&self, change: &Change) {
        let listeners = self
            .listeners
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for l in listeners {
            l(change);
        }
    }

    /// Tells this node (before returning) and every other node about `change`.
    pub async fn publish(&self, change: Change) {
        self.deliver(&change);
        if let Some((redis, prefix)) = &self.redis {
            let mut conn = redis.clone();
            let sent: Result<i64, _> = redis::cmd("PUBLISH")
                .arg(channel(prefix))
                .arg(change.encode())
                .query_async(&mut conn)
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, "could not publish a data change; other nodes rely on their cache TTL");
            }
        }
    }

    /// Delivers changes published by other nodes. While Redis is unreachable nothing
    /// is known, so every (re)subscription starts with "anything changed".
    pub(crate) fn listen(&self, client: redis::Client, prefix: String) {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                match client.get_async_pubsub().await {
                    Ok(mut pubsub) => {
                        if pubsub.subscribe(channel(&prefix)).await.is_ok() {
                            this.deliver(&Change {
                                tenant: None,
                                topic: "*".into(),
                            });
                            let mut messages = pubsub.on_message();
                            while let Some(msg) = messages.next().await {
                                let payload: String = msg.get_payload().unwrap_or_default();
                                if let Some(change) = Change::decode(&payload) {
                                    this.deliver(&change);
                                }
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "data change listener cannot reach redis")
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_survive_the_wire() {
        let id = TenantId::generate();
        for c in [
            Change {
                tenant: Some(id.clone()),
                topic: "pricing".into(),
            },
            Change {
                tenant: None,
                topic: "*".into(),
            },
        ] {
            assert_eq!(Change::decode(&c.encode()), Some(c));
        }
        assert_eq!(Change::decode("garbage"), None);
        assert_eq!(Change::decode("not-an-id|pricing"), None);
    }
}
