use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

/// A password that meets the policy. Never logged, never serialized.
pub struct Password(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be at least 10 characters long")]
    TooShort,
    #[error("the password must be at most 200 characters long")]
    TooLong,
}

impl Password {
    pub fn parse(s: &str) -> Result<Self, PasswordError> {
        match s.chars().count() {
            n if n < 10 => Err(PasswordError::TooShort),
            n if n > 200 => Err(PasswordError::TooLong),
            _ => Ok(Self(s.to_owned())),
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Argon2id with the crate's default (OWASP-recommended) parameters.
pub fn hash_password(password: &Password) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.0.as_bytes(), &salt)
        .expect("argon2 hashing with valid parameters")
        .to_string()
}

/// Constant-time verification. A malformed stored hash verifies as false.
pub fn verify_password(candidate: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(candidate.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Verifies `password` against the account's stored hash, or against a dummy hash
/// when there is no such account, so that both cases take the same time.
pub fn check_account<T>(
    account: Option<T>,
    stored_hash: impl Fn(&T) -> &str,
    password: &str,
) -> Option<T> {
    let ok = verify_password(
        password,
        account.as_ref().map(&stored_hash).unwrap_or(dummy_hash()),
    );
    account.filter(|_| ok)
}

/// A hash to verify against when the account does not exist, so that a wrong email
/// takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&Password("dummy-password-never-matches".into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_roundtrip_and_policy() {
        let pw = Password::parse("correct horse battery").unwrap();
        let hash = hash_password(&pw);
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("x", "not a hash"));
        assert_eq!(
            Password::parse("short").err(),
            Some(PasswordError::TooShort)
        );
    }
}
