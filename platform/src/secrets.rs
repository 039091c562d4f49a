//! Secrets at rest (resellers' Stripe keys, TOTP secrets of operators and
//! staff, hosting-panel tokens): sealed with AES-256-GCM under the
//! deployment's key, a fresh random nonce per value. A sealed value reads
//! `v1:` + base64(nonce || ciphertext); it opens only with the same key.
//!
//! Values that are only ever compared (recovery codes) are stored as a keyed
//! hash under a key derived from the same secret ([`Sealer::keyed_hash`]): a
//! copy of the database alone does not let anyone test guesses.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::path::Path;
use std::sync::Arc;

#[derive(Clone)]
pub struct Sealer {
    aead: Arc<Aes256Gcm>,
    /// HMAC key for [`Sealer::keyed_hash`], derived from the deployment key.
    mac: Arc<[u8; 32]>,
}

impl Sealer {
    /// From 32 bytes as hex.
    pub fn from_hex(hex_key: &str) -> anyhow::Result<Self> {
        let bytes = hex::decode(hex_key.trim())?;
        anyhow::ensure!(
            bytes.len() == 32,
            "secret_key must be 32 bytes (64 hex digits)"
        );
        use hmac::{Hmac, Mac};
        let mut derive = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&bytes)?;
        derive.update(b"relabel/keyed-hash/v1");
        let mac: [u8; 32] = derive.finalize().into_bytes().into();
        Ok(Self {
            aead: Arc::new(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes))),
            mac: Arc::new(mac),
        })
    }

    /// The configured key, else the key file in `data_dir` (created once, 0600).
    pub fn load(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(k) = configured {
            return Self::from_hex(k);
        }
        let path = data_dir.join("secret.key");
        match std::fs::read_to_string(&path) {
            Ok(k) => Self::from_hex(&k),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir)?;
                let key = Aes256Gcm::generate_key(OsRng);
                let text = hex::encode(key);
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                use std::io::Write;
                match opts.open(&path) {
                    Ok(mut f) => f.write_all(text.as_bytes())?,
                    // Another process made it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        return Self::from_hex(&std::fs::read_to_string(&path)?);
                    }
                    Err(e) => return Err(e.into()),
                }
                Self::from_hex(&text)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub fn seal(&self, plain: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        // Encryption with a valid key and nonce does not fail.
        out.extend(
            self.aead
                .encrypt(&nonce, plain.as_bytes())
                .unwrap_or_default(),
        );
        format!("v1:{}", B64.encode(out))
    }

    /// The plain value, or none when it was sealed under another key or altered.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = B64.decode(sealed.strip_prefix("v1:")?).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, data) = bytes.split_at(12);
        let plain = self.aead.decrypt(Nonce::from_slice(nonce), data).ok()?;
        String::from_utf8(plain).ok()
    }

    /// A value stored sealed, or (written before it was sealed) in clear.
    pub fn open_or_plain(&self, stored: &str) -> Option<String> {
        if stored.starts_with("v1:") {
            self.open(stored)
        } else {
            Some(stored.to_owned())
        }
    }

    /// A keyed hash of `value` (`k1:` + hex HMAC-SHA256), for values that are
    /// only compared, never read back.
    pub fn keyed_hash(&self, value: &str) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.mac[..])
            .expect("HMAC takes a key of any length");
        mac.update(value.as_bytes());
        format!("k1:{}", hex::encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key() {
        let a = Sealer::from_hex(&"11".repeat(32)).unwrap();
        let b = Sealer::from_hex(&"22".repeat(32)).unwrap();
        let sealed = a.seal("sk_test_123");
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("sk_test_123"));
        assert_ne!(a.seal("sk_test_123"), sealed, "fresh nonce each time");
        assert_eq!(a.open(&sealed).as_deref(), Some("sk_test_123"));
        assert_eq!(b.open(&sealed), None);
        assert_eq!(a.open("v1:AAAA"), None);
        assert!(Sealer::from_hex("abcd").is_err());
    }
}
