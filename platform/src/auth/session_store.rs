//! Session storage: Redis (redis 1.x) when configured, else the platform's own
//! database (`shared.http_sessions`), so sessions survive a restart on the
//! embedded default too. poem's own Redis store pins an older redis crate,
//! hence this one.

use poem::session::SessionStorage;
use redis::AsyncCommands;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

pub enum SessionStore {
    Database(DatabaseSessionStorage),
    Redis(RedisSessionStorage),
}

impl SessionStore {
    pub fn new(
        redis: Option<redis::aio::ConnectionManager>,
        prefix: &str,
        shared: DatabaseConnection,
    ) -> Self {
        match redis {
            Some(conn) => Self::Redis(RedisSessionStorage {
                conn,
                prefix: format!("{prefix}:session:"),
            }),
            None => Self::Database(DatabaseSessionStorage { db: shared }),
        }
    }
}

/// Sessions in `shared.http_sessions`, keyed by a hash of the cookie value.
pub struct DatabaseSessionStorage {
    db: DatabaseConnection,
}

impl DatabaseSessionStorage {
    fn key(session_id: &str) -> String {
        hex(&Sha256::digest(session_id.as_bytes()))
    }

    fn stmt(&self, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
        let backend = self.db.get_database_backend();
        // Written with `$n`; SQLite takes them as `?n`.
        let sql = match backend {
            DbBackend::Sqlite => sql.replace('$', "?"),
            _ => sql.to_owned(),
        };
        Statement::from_sql_and_values(backend, sql, values)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

impl SessionStorage for DatabaseSessionStorage {
    async fn load_session<'a>(
        &'a self,
        session_id: &'a str,
    ) -> poem::Result<Option<BTreeMap<String, Value>>> {
        let row = self
            .db
            .query_one_raw(self.stmt(
                "SELECT data FROM shared.http_sessions WHERE id = $1 AND expires_at > $2",
                vec![Self::key(session_id).into(), now_secs().into()],
            ))
            .await
            .map_err(internal)?;
        let data: Option<String> = row
            .map(|r| r.try_get::<String>("", "data"))
            .transpose()
            .map_err(internal)?;
        Ok(data.and_then(|s| serde_json::from_str(&s).ok()))
    }

    async fn update_session<'a>(
        &'a self,
        session_id: &'a str,
        entries: &'a BTreeMap<String, Value>,
        expires: Option<Duration>,
    ) -> poem::Result<()> {
        let key = Self::key(session_id);
        let value = serde_json::to_string(entries).map_err(internal)?;
        let ttl = expires
            .unwrap_or(Duration::from_secs(86_400))
            .as_secs()
            .max(1);
        let expires_at = now_secs().saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX / 2));
        // About one write in 256 (by the key's first byte) clears expired rows.
        if key.starts_with("00") {
            self.db
                .execute_raw(self.stmt(
                    "DELETE FROM shared.http_sessions WHERE expires_at <= $1",
                    vec![now_secs().into()],
                ))
                .await
                .map_err(internal)?;
        }
        self.db
            .execute_raw(self.stmt(
                "INSERT INTO shared.http_sessions (id, data, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
                vec![key.into(), value.into(), expires_at.into()],
            ))
            .await
            .map_err(internal)?;
        Ok(())
    }

    async fn remove_session<'a>(&'a self, session_id: &'a str) -> poem::Result<()> {
        self.db
            .execute_raw(self.stmt(
                "DELETE FROM shared.http_sessions WHERE id = $1",
                vec![Self::key(session_id).into()],
            ))
            .await
            .map_err(internal)?;
        Ok(())
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
            Self::Database(m) => m.load_session(session_id).await,
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
            Self::Database(m) => m.update_session(session_id, entries, expires).await,
            Self::Redis(r) => r.update_session(session_id, entries, expires).await,
        }
    }

    async fn remove_session<'a>(&'a self, session_id: &'a str) -> poem::Result<()> {
        match self {
            Self::Database(m) => m.remove_session(session_id).await,
            Self::Redis(r) => r.remove_session(session_id).await,
        }
    }
}
