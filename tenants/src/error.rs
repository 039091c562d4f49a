use crate::HostnameError;

#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Hostname(#[from] HostnameError),
    #[error("the hostname {0} already belongs to a reseller")]
    HostnameTaken(String),
    #[error("no reseller with id {0}")]
    NotFound(String),
    #[error("the reseller name must be 1 to 100 characters")]
    InvalidName,
    #[error("{0}")]
    Config(String),
}

impl TenancyError {
    /// Maps a unique violation on `hostnames` to [`TenancyError::HostnameTaken`].
    pub(crate) fn from_host_insert(err: sea_orm::DbErr, host: &str) -> Self {
        match err.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                TenancyError::HostnameTaken(host.to_owned())
            }
            _ => TenancyError::Db(err),
        }
    }
}
