use crate::{Tenancy, TenancyError, Tenant, normalize_host_header};
use futures::StreamExt;
use moka::future::Cache;
use std::sync::Arc;
use std::time::Duration;

/// Host header -> tenant, with an in-process cache. Misses are cached too, so a
/// flood of unknown hosts does not reach the database. Any change to tenants or
/// hostnames drops the cache here and (through Redis pub/sub) on every node.
#[derive(Clone)]
pub struct Resolver {
    cache: Cache<String, Option<Arc<Tenant>>>,
}

fn channel(prefix: &str) -> String {
    format!("{prefix}:tenancy-changed")
}

impl Resolver {
    pub fn new(ttl: Duration) -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(200_000)
                .time_to_live(ttl)
                .build(),
        }
    }

    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    /// Subscribes to change notices from other nodes. Reconnects when Redis drops.
    pub(crate) fn listen(&self, client: redis::Client, prefix: String) {
        let cache = self.cache.clone();
        tokio::spawn(async move {
            loop {
                match client.get_async_pubsub().await {
                    Ok(mut pubsub) => {
                        if pubsub.subscribe(channel(&prefix)).await.is_ok() {
                            // Whatever changed while we were not listening is unknown.
                            cache.invalidate_all();
                            let mut messages = pubsub.on_message();
                            while messages.next().await.is_some() {
                                cache.invalidate_all();
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "tenancy change listener cannot reach redis")
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}

pub(crate) async fn publish_change(redis: &redis::aio::ConnectionManager, prefix: &str) {
    let mut conn = redis.clone();
    let sent: Result<i64, _> = redis::cmd("PUBLISH")
        .arg(channel(prefix))
        .arg("changed")
        .query_async(&mut conn)
        .await;
    if let Err(e) = sent {
        tracing::warn!(error = %e, "could not publish tenancy change; other nodes rely on their TTL");
    }
}

impl Tenancy {
    /// Resolves a host through the cache, loading misses from the registry.
    pub(crate) async fn resolve_cached(
        &self,
        host: &str,
    ) -> Result<Option<Arc<Tenant>>, TenancyError> {
        let Some(key) = normalize_host_header(host) else {
            return Ok(None);
        };
        let cache = &self.resolver().cache;
        if let Some(hit) = cache.get(&key).await {
            return Ok(hit);
        }
        let loaded = self.find_by_host(&key).await?.map(Arc::new);
        cache.insert(key, loaded.clone()).await;
        Ok(loaded)
    }
}
