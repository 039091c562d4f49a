//! Where the credential throttle keeps its records: in this process (embedded
//! default) or in Redis (shared by all nodes). Both hold the same three records,
//! with times from the throttle's clock so that both behave alike.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The keys of one attempt: the pair, the account's and the client's counter in
/// the current window (`slot`).
pub struct Keys {
    pair: String,
    account: String,
    client: String,
    slot: i64,
}

impl Keys {
    pub fn new(account: &str, client: &str, slot: i64) -> Self {
        Self {
            pair: format!("pair:{account}:{client}"),
            account: format!("acct:{account}:{slot}"),
            client: format!("client:{client}:{slot}"),
            slot,
        }
    }
}

/// What the throttle knows before an attempt.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub pair_failures: u32,
    pub pair_last_ms: i64,
    pub account_failures: u32,
    pub client_failures: u32,
}

#[derive(Clone)]
pub enum Store {
    Redis {
        conn: redis::aio::ConnectionManager,
        prefix: String,
    },
    Local(Arc<Mutex<Local>>),
}

#[derive(Default)]
pub struct Local {
    /// Pair key -> (failures, last failure, forget after).
    pairs: HashMap<String, (u32, i64, i64)>,
    /// Counter key -> (failures, its window).
    counters: HashMap<String, (u32, i64)>,
}

/// Past this many entries, stale ones are dropped on the next failure.
const LOCAL_PRUNE_AT: usize = 10_000;

impl Store {
    pub fn new(redis: Option<redis::aio::ConnectionManager>, prefix: &str) -> Self {
        match redis {
            Some(conn) => Self::Redis {
                conn,
                prefix: format!("{prefix}:thr:"),
            },
            None => Self::Local(Arc::default()),
        }
    }

    pub async fn snapshot(&self, keys: &Keys, now_ms: i64) -> Snapshot {
        match self {
            Self::Local(local) => {
                let l = local.lock().unwrap_or_else(|e| e.into_inner());
                let (pair_failures, pair_last_ms) = l
                    .pairs
                    .get(&keys.pair)
                    .filter(|(_, _, until)| *until > now_ms)
                    .map(|(n, last, _)| (*n, *last))
                    .unwrap_or_default();
                let count = |k: &str| l.counters.get(k).map_or(0, |(n, _)| *n);
                Snapshot {
                    pair_failures,
                    pair_last_ms,
                    account_failures: count(&keys.account),
                    client_failures: count(&keys.client),
                }
            }
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let res: Result<RedisSnapshot, _> = redis::pipe()
                    .cmd("HMGET")
                    .arg(format!("{prefix}{}", keys.pair))
                    .arg("n")
                    .arg("last")
                    .get(format!("{prefix}{}", keys.account))
                    .get(format!("{prefix}{}", keys.client))
                    .query_async(&mut conn)
                    .await;
                match res {
                    Ok(((n, last), account, client)) => Snapshot {
                        pair_failures: n.unwrap_or(0),
                        pair_last_ms: last.unwrap_or(0),
                        account_failures: account.unwrap_or(0),
                        client_failures: client.unwrap_or(0),
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "credential throttle cannot reach redis; allowing");
                        Snapshot::default()
                    }
                }
            }
        }
    }

    /// Counts a failure for the pair (kept for `keep`) and for the account's and
    /// client's counters of the current window.
    pub async fn record_failure(&self, keys: &Keys, now_ms: i64, keep: Duration, window_secs: u64) {
        match self {
            Self::Local(local) => {
                let mut l = local.lock().unwrap_or_else(|e| e.into_inner());
                if l.pairs.len() + l.counters.len() > LOCAL_PRUNE_AT {
                    l.pairs.retain(|_, (_, _, until)| *until > now_ms);
                    l.counters.retain(|_, (_, slot)| *slot >= keys.slot);
                }
                let until = now_ms + keep.as_millis() as i64;
                let pair = l.pairs.entry(keys.pair.clone()).or_insert((0, 0, 0));
                if pair.2 <= now_ms {
                    *pair = (0, 0, 0);
                }
                *pair = (pair.0 + 1, now_ms, until);
                for k in [&keys.account, &keys.client] {
                    l.counters.entry(k.clone()).or_insert((0, keys.slot)).0 += 1;
                }
            }
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let pair = format!("{prefix}{}", keys.pair);
                let account = format!("{prefix}{}", keys.account);
                let client = format!("{prefix}{}", keys.client);
                // Counters outlive their window a little, so a late reader of the
                // same slot still finds them.
                let ttl = (window_secs * 2) as i64;
                let res: Result<(), _> = redis::pipe()
                    .atomic()
                    .hincr(&pair, "n", 1u32)
                    .ignore()
                    .hset(&pair, "last", now_ms)
                    .ignore()
                    .pexpire(&pair, keep.as_millis() as i64)
                    .ignore()
                    .incr(&account, 1u32)
                    .ignore()
                    .expire(&account, ttl)
                    .ignore()
                    .incr(&client, 1u32)
                    .ignore()
                    .expire(&client, ttl)
                    .ignore()
                    .query_async(&mut conn)
                    .await;
                if let Err(e) = res {
                    tracing::warn!(error = %e, "credential throttle cannot record a failure in redis");
                }
            }
        }
    }

    /// Forgets the pair's failures (after a success).
    pub async fn clear_pair(&self, keys: &Keys) {
        match self {
            Self::Local(local) => {
                local
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .pairs
                    .remove(&keys.pair);
            }
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let res: Result<(), _> = redis::cmd("DEL")
                    .arg(format!("{prefix}{}", keys.pair))
                    .query_async(&mut conn)
                    .await;
                if let Err(e) = res {
                    tracing::warn!(error = %e, "credential throttle cannot clear a record in redis");
                }
            }
        }
    }
}

/// The pipeline's answer: the pair's (failures, last), the account's and the client's failures.
type RedisSnapshot = ((Option<u32>, Option<i64>), Option<u32>, Option<u32>);
