//! Session storage: in-process for the embedded default, Redis (redis 1.x) in
//! production. poem's own Redis store pins an older redis crate, hence this one.

use poem::session::{MemoryStorage, SessionStorage};
use redis::AsyncCommands;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

pub enum SessionStore {
    Memory(MemoryStorage),
    Redis(RedisSessionStorage),
}

impl SessionStore {
    pub fn new(redis: Option<redis::aio::ConnectionManager>, prefix: &str) -> Self {
        match redis {
            Some(conn) => Self::Redis(RedisSessionStorage {
                conn,
                prefix: format!("{prefix}:session:"),
            }),
            None => Self::Memory(MemoryStorage::default()),
        }
    }
}

pub struct RedisSessionStorage {
    conn: redis::aio::ConnectionManager,
    prefix: String,
}

fn internal(e: impl std::fmt::Display) -> poem::Error {
    tracing::error!(error = %e, "session storage failed");
    poem::Error::from_status(poem::http::StatusCode::SERVICE_UNAVAILABLE)
}

impl SessionStorage for RedisSessionStorage {
    async fn load_session<'a>(
        &'a self,
        session_id: &'a str,
    ) -> poem::Result<Option<BTreeMap<String, Value>>> {
        let mut conn = self.conn.clone();
        let raw: Option<String> = conn
            .get(format!("{}{session_id}", self.prefix))
            .await
            .map_err(internal)?;
        Ok(raw.and_then(|s| serde_json::from_str(&s).ok()))
    }

    async fn update_session<'a>(
        &'a self,
        session_id: &'a str,
        entries: &'a BTreeMap<String, Value>,
        expires: Option<Duration>,
    ) -> poem::Result<()> {
        let mut conn = self.conn.clone();
        let key = format!("{}{session_id}", self.prefix);
        let value = serde_json::to_string(entries).map_err(internal)?;
        let ttl = expires
            .unwrap_or(Duration::from_secs(86_400))
            .as_secs()
            .max(1);
        let _: () = conn.set_ex(key, value, ttl).await.map_err(internal)?;
        Ok(())
    }

    async fn remove_session<'a>(&'a self, session_id: &'a str) -> poem::Result<()> {
        let mut conn = self.conn.clone();
        let _: () = conn
            .del(format!("{}{session_id}", self.prefix))
            .await
            .map_err(internal)?;
        Ok(())
    }
}

impl SessionStorage for SessionStore {
    async fn load_session<'a>(
        &'a self,
        session_id: &'a str,
    ) -> poem::Result<Option<BTreeMap<String, Value>>> {
        match self {
            Self::Memory(m) => m.load_session(session_id).await,
            Self::Redis(r) => r.load_session(session_id).await,
        }
    }

    async fn update_session<'a>(
        &'a self,
        session_id: &'a str,
        entries: &'a BTreeMap<String, Value>,
        expires: Option<Duration>,
    ) -> poem::Result<()> {
        match self {
            Self::Memory(m) => m.update_session(session_id, entries, expires).await,
            Self::Redis(r) => r.update_session(session_id, entries, expires).await,
        }
    }

    async fn remove_session<'a>(&'a self, session_id: &'a str) -> poem::Result<()> {
        match self {
            Self::Memory(m) => m.remove_session(session_id).await,
            Self::Redis(r) => r.remove_session(session_id).await,
        }
    }
}
