//! Rate limits for signup, password reset and SMS codes: fixed windows counted per
//! key (IP or account). In production the counters live in Redis so all nodes share
//! them; in the embedded default they are in-process (governor). Credential checks
//! (logins, second factors, API keys) have their own throttle, [`CredentialThrottle`],
//! which counts only failures.

mod throttle;
mod throttle_store;

pub use throttle::{Account, Attempt, CredentialThrottle, Refused, ThrottleConfig};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// One kind of limited action, e.g. "signup per IP".
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub name: &'static str,
    pub max: u32,
    pub window: Duration,
}

pub const SIGNUP_PER_IP: Rule = Rule {
    name: "signup-ip",
    max: 10,
    window: Duration::from_secs(3600),
};
pub const RESET_PER_IP: Rule = Rule {
    name: "reset-ip",
    max: 10,
    window: Duration::from_secs(3600),
};
pub const RESET_PER_ACCOUNT: Rule = Rule {
    name: "reset-account",
    max: 3,
    window: Duration::from_secs(3600),
};
/// SMS activation codes: tries per order, and resends per customer.
pub const CODE_ATTEMPTS: Rule = Rule {
    name: "order-code",
    max: 5,
    window: Duration::from_secs(1800),
};

/// Paid calls to a reseller's credit bureau at checkout: per client, and per
/// shop so that many clients together cannot run up the reseller's bill.
pub const BUREAU_PER_IP: Rule = Rule {
    name: "bureau-ip",
    max: 5,
    window: Duration::from_secs(600),
};
pub const BUREAU_PER_SHOP: Rule = Rule {
    name: "bureau-shop",
    max: 300,
    window: Duration::from_secs(3600),
};

const RULES: [Rule; 6] = [
    SIGNUP_PER_IP,
    RESET_PER_IP,
    RESET_PER_ACCOUNT,
    CODE_ATTEMPTS,
    BUREAU_PER_IP,
    BUREAU_PER_SHOP,
];

#[derive(Clone)]
pub struct Limiter {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Redis {
        conn: redis::aio::ConnectionManager,
        prefix: String,
    },
    Local(Arc<Vec<(&'static str, DefaultKeyedRateLimiter<String>)>>),
}

impl Limiter {
    pub fn new(redis: Option<redis::aio::ConnectionManager>, prefix: &str) -> Self {
        let backend = match redis {
            Some(conn) => Backend::Redis {
                conn,
                prefix: format!("{prefix}:rl:"),
            },
            None => Backend::Local(Arc::new(
                RULES
                    .iter()
                    .map(|r| {
                        let max = NonZeroU32::new(r.max).unwrap_or(NonZeroU32::MIN);
                        let quota = Quota::with_period(r.window / r.max)
                            .expect("non-zero period")
                            .allow_burst(max);
                        (r.name, RateLimiter::keyed(quota))
                    })
                    .collect(),
            )),
        };
        Self { backend }
    }

    /// Counts one attempt for `key` (scoped by the caller, e.g. tenant + IP) and
    /// says whether it is still within the rule. Fails open if Redis is down.
    pub async fn allow(&self, rule: Rule, key: &str) -> bool {
        match &self.backend {
            Backend::Local(limiters) => limiters
                .iter()
                .find(|(n, _)| *n == rule.name)
                .is_none_or(|(_, l)| l.check_key(&key.to_owned()).is_ok()),
            Backend::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let window = rule.window.as_secs().max(1);
                let slot = chrono::Utc::now().timestamp() as u64 / window;
                let k = format!("{prefix}{}:{key}:{slot}", rule.name);
                let res: Result<(u32, bool), _> = redis::pipe()
                    .atomic()
                    .incr(&k, 1u32)
                    .expire(&k, window as i64)
                    .query_async(&mut conn)
                    .await;
                match res {
                    Ok((n, _)) => n <= rule.max,
                    Err(e) => {
                        tracing::warn!(error = %e, "rate limiter cannot reach redis; allowing");
                        true
                    }
                }
            }
        }
    }
}
