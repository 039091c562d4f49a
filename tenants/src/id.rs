use std::fmt;

/// A reseller's id: a UUIDv7 in lowercase hex. The schema name is derived from it,
/// so no user input ever reaches an identifier in SQL.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TenantId {
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().simple().to_string())
    }

    /// Accepts exactly what [`TenantId::generate`] produces.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `t_<id>`: matches `^t_[a-z0-9_]{1,60}$`.
    pub fn schema_name(&self) -> String {
        format!("t_{}", self.0)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for TenantId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s).ok_or_else(|| format!("not a tenant id: {s}"))
    }
}

impl From<TenantId> for String {
    fn from(id: TenantId) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_safe_identifiers() {
        let id = TenantId::generate();
        let schema = id.schema_name();
        assert!(schema.len() <= 62);
        assert!(schema.starts_with("t_"));
        assert!(
            schema[2..]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        assert_eq!(TenantId::parse(id.as_str()), Some(id));
        assert_eq!(TenantId::parse("t_x; drop schema"), None);
    }
}
