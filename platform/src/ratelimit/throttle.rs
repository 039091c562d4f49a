//! One throttle for every credential check: customer, staff and operator
//! passwords, TOTP and recovery codes, API keys.
//!
//! Only failures count; a success never does. Three records are kept:
//!
//! - **per account and client** (the pair): the first `free_failures` wrong
//!   attempts are free, then each further one locks the pair for `lockout_secs`,
//!   doubled per further failure up to `max_lockout_secs`. A success clears the
//!   pair. Failures of one client never lock another client out.
//! - **per client across accounts**: a client (an address) with more than
//!   `client_failures` failures in the window is refused everywhere until the
//!   window ends, so one address spraying many accounts is stopped.
//! - **per account across clients** (the ceiling): when an account collects
//!   more than `account_failures` failures in the window, guessing from many
//!   addresses is slowed down: every client that has failed on that account even
//!   once is locked at once (no free attempts). A client that has *not* failed on
//!   the account is still admitted and a right credential signs it in. So the
//!   ceiling costs a distributed attacker one guess per address and lockout,
//!   while the owner, from an address with a clean record, is never refused. We
//!   chose this over refusing everyone at the ceiling, which would let anyone
//!   lock anyone out by guessing.
//!
//! An attempt is counted from the moment it is admitted: `begin` reserves its
//! place in flight in the same step as it reads the records, and while earlier
//! attempts of the pair (or the client) are still being checked they count as
//! failures. So a hundred guesses sent at the same instant get no more tries
//! than a hundred sent one after another: those beyond the free ones are
//! refused (retry in a second) until the ones ahead are recorded.
//!
//! A client is an address from [`crate::http::store::account::client_ip`]; people
//! behind one NAT address share a record. In the embedded default the records
//! live in this process; with Redis they are shared by all nodes (keys under
//! `<prefix>:thr:`; accounts appear only as tenant id and a hash). If Redis
//! cannot be reached the throttle lets attempts through and logs a warning, like
//! the other rate limits. Times come from the throttle's own clock, which tests
//! move forward instead of waiting.

use super::throttle_store::{Keys, Snapshot, Store};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// The settings (`[throttle]`, `RELABEL_THROTTLE__...`).
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(default)]
pub struct ThrottleConfig {
    /// Wrong attempts per account and client before lockouts begin.
    pub free_failures: u32,
    /// The first lockout, in seconds; doubled per further failure.
    pub lockout_secs: u64,
    /// The longest lockout, in seconds.
    pub max_lockout_secs: u64,
    /// The window of the per-client and per-account counters, in seconds; a
    /// pair's failures are forgotten this long after its lockout ends.
    pub window_secs: u64,
    /// Failures per account (all clients) in the window before the ceiling.
    pub account_failures: u32,
    /// Failures per client (all accounts) in the window before it is refused.
    pub client_failures: u32,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            free_failures: 5,
            lockout_secs: 30,
            max_lockout_secs: 3600,
            window_secs: 3600,
            account_failures: 100,
            client_failures: 50,
        }
    }
}

impl ThrottleConfig {
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if !(1..=86_400).contains(&self.lockout_secs) {
            return Err(("throttle.lockout_secs", "must be between 1 and 86400"));
        }
        if self.max_lockout_secs < self.lockout_secs || self.max_lockout_secs > 7 * 86_400 {
            return Err((
                "throttle.max_lockout_secs",
                "must be at least lockout_secs and at most a week",
            ));
        }
        if !(60..=7 * 86_400).contains(&self.window_secs) {
            return Err(("throttle.window_secs", "must be between 60 and 604800"));
        }
        if self.free_failures > 100 || self.account_failures == 0 || self.client_failures == 0 {
            return Err((
                "throttle",
                "free_failures at most 100, account_failures and client_failures at least 1",
            ));
        }
        Ok(())
    }
}

/// Whose credential is checked. Built only here, so every surface names its
/// accounts the same way; user input is hashed, never stored.
#[derive(Clone, Debug)]
pub struct Account {
    key: String,
    /// Whether attempts in flight count (see the module comment). Not for API
    /// keys: an integration sends many requests with one key at once, and a
    /// key's 128 random bits cannot be guessed online anyway.
    counts_in_flight: bool,
}

impl Account {
    fn scoped(kind: &str, scope: &str, id: &str) -> Self {
        let digest = Sha256::digest(id.trim().to_lowercase().as_bytes());
        Self {
            key: format!("{kind}:{scope}:{}", hex::encode(&digest[..16])),
            counts_in_flight: true,
        }
    }

    /// A storefront customer, by the email typed at login.
    pub fn customer(tenant: &str, email: &str) -> Self {
        Self::scoped("customer", tenant, email)
    }

    /// A reseller's staff member, by the email typed at login.
    pub fn staff(tenant: &str, email: &str) -> Self {
        Self::scoped("staff", tenant, email)
    }

    /// An operator, by the email typed at login.
    pub fn operator(email: &str) -> Self {
        Self::scoped("operator", "platform", email)
    }

    /// The second factor (TOTP or recovery code) of a staff member. Separate from
    /// the password, so that knowing the password cannot clear its failures.
    pub fn staff_second_factor(tenant: &str, staff_id: &str) -> Self {
        Self::scoped("staff-2fa", tenant, staff_id)
    }

    pub fn operator_second_factor(operator_id: &str) -> Self {
        Self::scoped("operator-2fa", "platform", operator_id)
    }

    /// An API key, by the prefix of the presented key (the part that finds the row).
    pub fn api_key(scope: &str, presented: &str) -> Self {
        let prefix = presented.split('_').nth(1).unwrap_or("malformed");
        Self {
            counts_in_flight: false,
            ..Self::scoped("api-key", scope, prefix)
        }
    }
}

/// The throttle refuses this attempt; try again after `retry_after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too many failed attempts; retry after {} s", self.retry_after_secs())]
pub struct Refused {
    pub retry_after: Duration,
}

impl Refused {
    /// Whole seconds for `Retry-After`, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_millis().div_ceil(1000).max(1) as u64
    }

    /// Whole minutes for people, at least 1.
    pub fn retry_after_minutes(&self) -> u64 {
        self.retry_after_secs().div_ceil(60)
    }
}

/// Milliseconds since the epoch, plus an offset tests move forward.
#[derive(Clone, Default)]
struct Clock(Arc<AtomicI64>);

impl Clock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis() + self.0.load(Ordering::Relaxed)
    }
}

#[derive(Clone)]
pub struct CredentialThrottle {
    config: Arc<ThrottleConfig>,
    store: Store,
    clock: Clock,
}

/// An admitted attempt; say how it went with [`Attempt::succeeded`] or
/// [`Attempt::failed`]. Dropped without either (the check itself failed), it
/// gives its place in flight back.
#[must_use = "record whether the credential was right"]
pub struct Attempt<'a> {
    throttle: &'a CredentialThrottle,
    keys: Option<Keys>,
    /// Whether it holds a place in flight, to give back.
    flying: bool,
    /// Whether the pair had failures; a clean pair needs no clearing (which
    /// spares Redis a write on every API request).
    pair_failed: bool,
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if let Some(keys) = self.keys.take().filter(|_| self.flying) {
            let store = self.throttle.store.clone();
            // Without a runtime the place expires on its own (FLIGHT_MS).
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move { store.land(&keys).await });
            }
        }
    }
}

impl CredentialThrottle {
    pub fn new(
        config: ThrottleConfig,
        redis: Option<redis::aio::ConnectionManager>,
        prefix: &str,
    ) -> Self {
        Self {
            config: Arc::new(config),
            store: Store::new(redis, prefix),
            clock: Clock::default(),
        }
    }

    /// Moves this throttle's clock (shared by its clones) forward, as if `by`
    /// had passed. For tests, which should not sleep through lockouts.
    pub fn advance(&self, by: Duration) {
        self.clock
            .0
            .fetch_add(by.as_millis() as i64, Ordering::Relaxed);
    }

    fn keys(&self, account: &Account, client: &str, now_ms: i64) -> Keys {
        let slot = now_ms / (self.config.window_secs as i64 * 1000);
        Keys::new(&account.key, client, slot)
    }

    /// The lockout after the `excess`-th failure beyond the free ones (0-based).
    fn lockout_ms(&self, excess: u32) -> i64 {
        let c = &self.config;
        let ms = (c.lockout_secs * 1000).saturating_mul(1u64 << excess.min(30));
        ms.min(c.max_lockout_secs * 1000) as i64
    }

    /// Admits or refuses an attempt by `client` on `account`, before the
    /// credential is checked.
    pub async fn begin(&self, account: &Account, client: &str) -> Result<Attempt<'_>, Refused> {
        let now = self.clock.now_ms();
        let keys = self.keys(account, client, now);
        let flying = account.counts_in_flight;
        let s = self.store.reserve(&keys, now, flying).await;
        if let Err(refused) = self.decide(&s, now) {
            if flying {
                self.store.land(&keys).await;
            }
            return Err(refused);
        }
        Ok(Attempt {
            throttle: self,
            keys: Some(keys),
            flying,
            pair_failed: s.pair_failures > 0,
        })
    }

    fn decide(&self, s: &Snapshot, now: i64) -> Result<(), Refused> {
        let c = &self.config;
        let window_ms = c.window_secs as i64 * 1000;
        let refuse = |until: i64| {
            Err(Refused {
                retry_after: Duration::from_millis((until - now).max(1) as u64),
            })
        };
        // Attempts still being checked count as failures until recorded; their
        // refusal lasts only until they are.
        let soon = now + 1000;
        if s.client_failures >= c.client_failures {
            return refuse((now / window_ms + 1) * window_ms);
        }
        if s.client_failures.saturating_add(s.client_in_flight) >= c.client_failures {
            return refuse(soon);
        }
        let free = if s.account_failures >= c.account_failures {
            0
        } else {
            c.free_failures
        };
        let pending = s.pair_failures.saturating_add(s.pair_in_flight);
        if pending > 0 && pending >= free {
            if s.pair_failures > 0 && s.pair_failures >= free {
                let until = s.pair_last_ms + self.lockout_ms(s.pair_failures - free);
                if now < until {
                    return refuse(until);
                }
            }
            if s.pair_in_flight > 0 {
                return refuse(soon);
            }
        }
        Ok(())
    }
}

impl Attempt<'_> {
    /// The credential was right: the pair's failures are forgotten.
    pub async fn succeeded(mut self) {
        let Some(keys) = self.keys.take() else { return };
        let store = &self.throttle.store;
        if self.pair_failed {
            store.clear_pair(&keys).await;
        }
        if self.flying {
            store.land(&keys).await;
        }
    }

    /// The credential was wrong (or the account does not exist): counted for the
    /// pair, the client and the account.
    pub async fn failed(mut self) {
        let Some(keys) = self.keys.take() else { return };
        let t = self.throttle;
        let c = &t.config;
        let now = t.clock.now_ms();
        // Kept until the longest lockout and a window after it have passed.
        let keep = Duration::from_secs(c.max_lockout_secs + c.window_secs);
        t.store
            .record_failure(&keys, now, keep, c.window_secs, self.flying)
            .await;
    }

    /// Records the outcome of a check that yields the account when it was right.
    pub async fn record<T>(self, found: Option<T>) -> Option<T> {
        if found.is_some() {
            self.succeeded().await;
        } else {
            self.failed().await;
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> CredentialThrottle {
        CredentialThrottle::new(
            ThrottleConfig {
                free_failures: 2,
                lockout_secs: 10,
                max_lockout_secs: 40,
                window_secs: 600,
                account_failures: 5,
                client_failures: 6,
            },
            None,
            "t",
        )
    }

    async fn fail(t: &CredentialThrottle, a: &Account, client: &str) {
        t.begin(a, client).await.unwrap().failed().await;
    }

    #[tokio::test]
    async fn pairs_back_off_progressively_and_reset_on_success() {
        let t = throttle();
        let a = Account::staff("t1", "ann@example.com");
        fail(&t, &a, "1.1.1.1").await;
        fail(&t, &a, "1.1.1.1").await;
        let r = t.begin(&a, "1.1.1.1").await.err().unwrap();
        assert_eq!(r.retry_after_secs(), 10);
        t.advance(Duration::from_secs(10));
        fail(&t, &a, "1.1.1.1").await;
        assert_eq!(
            t.begin(&a, "1.1.1.1")
                .await
                .err()
                .unwrap()
                .retry_after_secs(),
            20
        );
        // Another client is not affected; a different account neither.
        t.begin(&a, "2.2.2.2").await.unwrap().succeeded().await;
        let b = Account::staff("t1", "bob@example.com");
        t.begin(&b, "1.1.1.1").await.unwrap().succeeded().await;
        t.advance(Duration::from_secs(20));
        t.begin(&a, "1.1.1.1").await.unwrap().succeeded().await;
        // Cleared: two free failures again.
        fail(&t, &a, "1.1.1.1").await;
        assert!(t.begin(&a, "1.1.1.1").await.is_ok());
    }

    /// Guesses sent at the same instant: only the free ones are admitted while
    /// they are in flight; once they are recorded the pair is locked as if they
    /// had come one after another. A right credential in flight frees its place.
    #[tokio::test]
    async fn attempts_in_flight_count_so_simultaneous_guesses_get_no_extra_tries() {
        let t = throttle();
        let a = Account::customer("t1", "eve@example.com");
        let mut admitted = Vec::new();
        let mut refused = 0;
        for _ in 0..20 {
            match t.begin(&a, "3.3.3.3").await {
                Ok(attempt) => admitted.push(attempt),
                Err(r) => {
                    assert_eq!(r.retry_after_secs(), 1);
                    refused += 1;
                }
            }
        }
        assert_eq!((admitted.len(), refused), (2, 18));
        for attempt in admitted {
            attempt.failed().await;
        }
        assert_eq!(
            t.begin(&a, "3.3.3.3")
                .await
                .err()
                .unwrap()
                .retry_after_secs(),
            10
        );
        // Another client is not held up by them.
        let ok = t.begin(&a, "4.4.4.4").await.unwrap();
        let second = t.begin(&a, "4.4.4.4").await.unwrap();
        ok.succeeded().await;
        second.succeeded().await;
        // Nothing left in flight: the free failures are all there again.
        fail(&t, &a, "4.4.4.4").await;
        t.begin(&a, "4.4.4.4").await.unwrap().succeeded().await;
        // An attempt dropped without an outcome gives its place back.
        let b = Account::customer("t1", "bob@example.com");
        drop(t.begin(&b, "5.5.5.5").await.unwrap());
        tokio::task::yield_now().await;
        let x = t.begin(&b, "5.5.5.5").await.unwrap();
        let y = t.begin(&b, "5.5.5.5").await.unwrap();
        assert!(t.begin(&b, "5.5.5.5").await.is_err());
        x.succeeded().await;
        y.succeeded().await;
        // API keys are used many at once by one integration: never held up by
        // their own requests in flight.
        let key = Account::api_key("t1", "rk_abcdef_secret");
        let many: Vec<_> =
            futures::future::join_all((0..20).map(|_| t.begin(&key, "7.7.7.7"))).await;
        assert!(many.iter().all(Result::is_ok));
        for attempt in many {
            attempt.unwrap().succeeded().await;
        }
    }

    #[tokio::test]
    async fn the_ceiling_spares_clean_clients_and_the_client_limit_spans_accounts() {
        let t = throttle();
        let a = Account::operator("op@example.com");
        for ip in ["1.0.0.1", "1.0.0.2", "1.0.0.3", "1.0.0.4", "1.0.0.5"] {
            fail(&t, &a, ip).await;
        }
        // Over the ceiling: one failure is enough to lock a client out ...
        assert!(t.begin(&a, "1.0.0.1").await.is_err());
        // ... but a client that has not failed is still admitted.
        t.begin(&a, "9.9.9.9").await.unwrap().succeeded().await;
        for n in 0..6 {
            fail(
                &t,
                &Account::customer("t1", &format!("c{n}@x.de")),
                "5.5.5.5",
            )
            .await;
        }
        let fresh = Account::customer("t1", "new@x.de");
        assert!(t.begin(&fresh, "5.5.5.5").await.is_err());
        assert!(t.begin(&fresh, "6.6.6.6").await.is_ok());
    }
}
