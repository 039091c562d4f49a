//! API keys: `<kind>_<prefix>_<secret>`. The prefix finds the row, only a SHA-256 of
//! the secret is stored (the secret has 256 bits of entropy, so a slow hash adds
//! nothing), and the full key is shown once at creation.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub struct NewKey {
    /// Shown to the user once.
    pub plaintext: String,
    pub prefix: String,
    pub secret_hash: String,
}

pub fn generate(kind: &str) -> NewKey {
    let prefix = super::random_token(9).replace(['-', '_'], "x");
    let secret = super::random_token(32);
    NewKey {
        plaintext: format!("{kind}_{prefix}_{secret}"),
        secret_hash: hash(&secret),
        prefix,
    }
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Splits a presented key into (prefix, secret) if it has the given kind.
pub fn split<'a>(kind: &str, presented: &'a str) -> Option<(&'a str, &'a str)> {
    let rest = presented.strip_prefix(kind)?.strip_prefix('_')?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == 12 && !secret.is_empty()).then_some((prefix, secret))
}

pub fn matches(secret: &str, stored_hash: &str) -> bool {
    hash(secret).as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_verify() {
        let key = generate("rlk");
        let (prefix, secret) = split("rlk", &key.plaintext).unwrap();
        assert_eq!(prefix, key.prefix);
        assert!(matches(secret, &key.secret_hash));
        assert!(!matches("nope", &key.secret_hash));
        assert!(split("rlo", &key.plaintext).is_none());
    }
}
