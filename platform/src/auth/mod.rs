//! Authentication building blocks: passwords, emails, sessions, CSRF, API keys.

pub mod api_key;
pub mod csrf;
mod email;
mod password;
pub mod session_store;
pub mod totp;

pub use email::Email;
pub use password::{Password, PasswordError, check_account, hash_password, verify_password};

/// A random token of `bytes` bytes, URL-safe base64 without padding.
pub fn random_token(bytes: usize) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}
