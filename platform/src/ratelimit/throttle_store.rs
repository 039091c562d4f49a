//! Where the credential throttle keeps its records: in this process (embedded
//! default) or in Redis (shared by all nodes). Both hold the same three records,
//! plus the attempts in flight, with times from the throttle's clock so that
//! both behave alike.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The keys of one attempt: the pair, the account's and the client's counter in
/// the current window (`slot`), and the attempts in flight for the pair and the
/// client.
pub struct Keys {
    pair: String,
    account: String,
    client: String,
    pair_flight: String,
    client_flight: String,
    slot: i64,
}

impl Keys {
    pub fn new(account: &str, client: &str, slot: i64) -> Self {
        Self {
            pair: format!("pair:{account}:{client}"),
            account: format!("acct:{account}:{slot}"),
            client: format!("client:{client}:{slot}"),
            pair_flight: format!("fly:pair:{account}:{client}"),
            client_flight: format!("fly:client:{client}"),
            slot,
        }
    }
}

/// Gives back places in flight (Lua, one step): each key down by one, removed
/// at zero, never negative.
const LAND: &str = "for _, k in ipairs(KEYS) do \
  if redis.call('DECR', k) <= 0 then redis.call('DEL', k) end \
end";

/// How long an attempt in flight is counted at most: a node that dies between
/// admitting and recording an attempt does not hold the pair for longer.
pub const FLIGHT_MS: i64 = 30_000;

/// A pair's hash in Redis: failures and the time of the last one.
type PairRow = (Option<u32>, Option<i64>);

/// What the throttle knows when an attempt arrives. The attempt has already
/// reserved its place in flight; `*_in_flight` count the others admitted before
/// it and not yet recorded, so attempts sent at the same instant each see the
/// ones ahead of them (check and reservation are one step).
#[derive(Debug, Default)]
pub struct Snapshot {
    pub pair_failures: u32,
    pub pair_last_ms: i64,
    pub account_failures: u32,
    pub client_failures: u32,
    pub pair_in_flight: u32,
    pub client_in_flight: u32,
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
    /// In-flight key -> (attempts, forget after).
    flights: HashMap<String, (u32, i64)>,
}

impl Local {
    /// Reserves a place in flight under `key`; the attempts ahead.
    fn fly(&mut self, key: &str, now_ms: i64) -> u32 {
        let f = self.flights.entry(key.to_owned()).or_insert((0, 0));
        if f.1 <= now_ms {
            *f = (0, 0);
        }
        let ahead = f.0;
        *f = (f.0 + 1, now_ms + FLIGHT_MS);
        ahead
    }

    fn land(&mut self, key: &str) {
        if let Some(f) = self.flights.get_mut(key) {
            f.0 = f.0.saturating_sub(1);
            if f.0 == 0 {
                self.flights.remove(key);
            }
        }
    }
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

    /// Reserves the attempt's place in flight and reads the records, in one
    /// step. Every reservation is given back by [`Store::record_failure`] or
    /// [`Store::land`].
    /// Without `fly` it only reads, and the in-flight counts are 0.
    pub async fn reserve(&self, keys: &Keys, now_ms: i64, fly: bool) -> Snapshot {
        match self {
            Self::Local(local) => {
                let mut l = local.lock().unwrap_or_else(|e| e.into_inner());
                let (pair_in_flight, client_in_flight) = if fly {
                    (
                        l.fly(&keys.pair_flight, now_ms),
                        l.fly(&keys.client_flight, now_ms),
                    )
                } else {
                    (0, 0)
                };
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
                    pair_in_flight,
                    client_in_flight,
                }
            }
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let pair_flight = format!("{prefix}{}", keys.pair_flight);
                let client_flight = format!("{prefix}{}", keys.client_flight);
                // MULTI/EXEC: the increments and the reads happen as one, so
                // each of many simultaneous attempts gets its own place.
                let mut pipe = redis::pipe();
                pipe.atomic();
                if fly {
                    pipe.incr(&pair_flight, 1u32)
                        .pexpire(&pair_flight, FLIGHT_MS)
                        .ignore()
                        .incr(&client_flight, 1u32)
                        .pexpire(&client_flight, FLIGHT_MS)
                        .ignore();
                }
                pipe.cmd("HMGET")
                    .arg(format!("{prefix}{}", keys.pair))
                    .arg("n")
                    .arg("last")
                    .get(format!("{prefix}{}", keys.account))
                    .get(format!("{prefix}{}", keys.client));
                type Records = (PairRow, Option<u32>, Option<u32>);
                // Signed and clamped: a count never reads below zero.
                let ahead = |n: i64| u32::try_from(n.saturating_sub(1).max(0)).unwrap_or(u32::MAX);
                let res: redis::RedisResult<((u32, u32), Records)> = if fly {
                    pipe.query_async(&mut conn).await.map(
                        |(p, c, pair, a, cl): (i64, i64, PairRow, Option<u32>, Option<u32>)| {
                            ((ahead(p), ahead(c)), (pair, a, cl))
                        },
                    )
                } else {
                    pipe.query_async(&mut conn)
                        .await
                        .map(|r: Records| ((0, 0), r))
                };
                match res {
                    Ok(((pair_in_flight, client_in_flight), ((n, last), account, client))) => {
                        Snapshot {
                            pair_failures: n.unwrap_or(0),
                            pair_last_ms: last.unwrap_or(0),
                            account_failures: account.unwrap_or(0),
                            client_failures: client.unwrap_or(0),
                            pair_in_flight,
                            client_in_flight,
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "credential throttle cannot reach redis; allowing");
                        Snapshot::default()
                    }
                }
            }
        }
    }

    /// Gives back an attempt's place in flight (admitted and done without a
    /// failure, or refused).
    pub async fn land(&self, keys: &Keys) {
        match self {
            Self::Local(local) => {
                let mut l = local.lock().unwrap_or_else(|e| e.into_inner());
                l.land(&keys.pair_flight);
                l.land(&keys.client_flight);
            }
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                // Down by one, never below zero: a key at zero is removed, so a
                // place that expired first, or a reservation Redis never took,
                // leaves no negative count behind.
                let res: Result<(), _> = redis::cmd("EVAL")
                    .arg(LAND)
                    .arg(2)
                    .arg(format!("{prefix}{}", keys.pair_flight))
                    .arg(format!("{prefix}{}", keys.client_flight))
                    .query_async(&mut conn)
                    .await;
                if let Err(e) = res {
                    tracing::warn!(error = %e, "credential throttle cannot land an attempt in redis");
                }
            }
        }
    }

    /// Counts a failure for the pair (kept for `keep`) and for the account's and
    /// client's counters of the current window, and gives back the attempt's
    /// place in flight, in one step.
    pub async fn record_failure(
        &self,
        keys: &Keys,
        now_ms: i64,
        keep: Duration,
        window_secs: u64,
        flew: bool,
    ) {
        match self {
            Self::Local(local) => {
                let mut l = local.lock().unwrap_or_else(|e| e.into_inner());
                if l.pairs.len() + l.counters.len() + l.flights.len() > LOCAL_PRUNE_AT {
                    l.pairs.retain(|_, (_, _, until)| *until > now_ms);
                    l.counters.retain(|_, (_, slot)| *slot >= keys.slot);
                    l.flights.retain(|_, (_, until)| *until > now_ms);
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
                if flew {
                    l.land(&keys.pair_flight);
                    l.land(&keys.client_flight);
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
                let mut pipe = redis::pipe();
                pipe.atomic()
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
                    .ignore();
                let res: Result<(), _> = pipe.query_async(&mut conn).await;
                if let Err(e) = res {
                    tracing::warn!(error = %e, "credential throttle cannot record a failure in redis");
                }
                // Then its place in flight goes (counted twice for that moment,
                // never not at all).
                if flew {
                    self.land(keys).await;
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
