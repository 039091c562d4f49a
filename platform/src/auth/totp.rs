//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits) and
//! single-use recovery codes.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

const STEP: u64 = 30;
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A new random secret (160 bits), base32 without padding.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    base32(&bytes)
}

fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn unbase32(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| *c != b' ' && *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

/// The code for `unix_time` (RFC 4226 dynamic truncation).
pub fn code_at(secret: &str, unix_time: u64) -> Option<String> {
    let key = unbase32(secret)?;
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).ok()?;
    mac.update(&(unix_time / STEP).to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = (h[19] & 0x0f) as usize;
    let bin = (u32::from(h[offset] & 0x7f) << 24)
        | (u32::from(h[offset + 1]) << 16)
        | (u32::from(h[offset + 2]) << 8)
        | u32::from(h[offset + 3]);
    Some(format!("{:06}", bin % 1_000_000))
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Accepts the current code and the ones just before and after (clock drift), but
/// only for a time step later than `last_used` (the step of the last accepted
/// code), so that a code seen once cannot be replayed within its window. Returns
/// the step, which the caller stores as the new `last_used`.
pub fn verify(secret: &str, code: &str, last_used: Option<i64>) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 {
        return None;
    }
    let now = now() / STEP;
    [now.saturating_sub(1), now, now + 1]
        .into_iter()
        .filter(|step| last_used.is_none_or(|last| *step as i64 > last))
        .find(|step| {
            code_at(secret, step * STEP).is_some_and(|c| {
                subtle::ConstantTimeEq::ct_eq(c.as_bytes(), code.as_bytes()).into()
            })
        })
        .map(|step| step as i64)
}

/// `otpauth://` URI for authenticator apps.
pub fn uri(secret: &str, issuer: &str, account: &str) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

/// Ten recovery codes (shown once; 80 random bits each, `xxxx-xxxx-xxxx-xxxx`)
/// and their keyed hashes (stored, comma-separated).
pub fn recovery_codes(sealer: &crate::secrets::Sealer) -> (Vec<String>, String) {
    let codes: Vec<String> = (0..10)
        .map(|_| {
            let raw = base32(&{
                use rand::RngCore;
                let mut b = [0u8; 10];
                rand::rng().fill_bytes(&mut b);
                b
            })
            .to_lowercase();
            format!(
                "{}-{}-{}-{}",
                &raw[..4],
                &raw[4..8],
                &raw[8..12],
                &raw[12..16]
            )
        })
        .collect();
    let hashes = codes
        .iter()
        .map(|c| sealer.keyed_hash(c))
        .collect::<Vec<_>>()
        .join(",");
    (codes, hashes)
}

/// If `code` is one of the stored recovery codes, returns the remaining hashes.
/// Codes are stored as keyed hashes (`k1:`); codes issued before that, as
/// plain SHA-256, are still accepted once each.
pub fn use_recovery_code(
    sealer: &crate::secrets::Sealer,
    stored: &str,
    code: &str,
) -> Option<String> {
    let code = code.trim().to_lowercase();
    let keyed = sealer.keyed_hash(&code);
    let legacy = hex::encode(Sha256::digest(code.as_bytes()));
    let all: Vec<&str> = stored.split(',').filter(|s| !s.is_empty()).collect();
    let hit = all.iter().copied().find(|h| *h == keyed || *h == legacy)?;
    Some(
        all.into_iter()
            .filter(|x| *x != hit)
            .collect::<Vec<_>>()
            .join(","),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, secret "12345678901234567890", 8 digits truncated to 6.
        let secret = base32(b"12345678901234567890");
        for (t, expected) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1111111111, "050471"),
            (1234567890, "005924"),
            (2000000000, "279037"),
        ] {
            assert_eq!(code_at(&secret, t).unwrap(), expected, "t={t}");
        }
        assert_eq!(unbase32(&secret).unwrap(), b"12345678901234567890");
    }

    #[test]
    fn verify_and_recovery() {
        let s = new_secret();
        let code = code_at(&s, now()).unwrap();
        let step = verify(&s, &code, None).unwrap();
        assert!(verify(&s, &code, Some(step)).is_none(), "not twice");
        assert!(verify(&s, &code, Some(step - 2)).is_some());
        assert!(verify(&s, "000000", None).is_none() || code == "000000");
        let sealer = crate::secrets::Sealer::from_hex(&"ab".repeat(32)).unwrap();
        let (codes, hashes) = recovery_codes(&sealer);
        assert_eq!(codes[0].len(), 19, "80 bits in four groups: {}", codes[0]);
        assert!(hashes.split(',').all(|h| h.starts_with("k1:")));
        // Keyed: the hash of a code under another key does not match.
        assert!(!hashes.contains(&hex::encode(Sha256::digest(codes[3].as_bytes()))));
        let other = crate::secrets::Sealer::from_hex(&"cd".repeat(32)).unwrap();
        assert!(use_recovery_code(&other, &hashes, &codes[3]).is_none());
        let rest = use_recovery_code(&sealer, &hashes, &codes[3]).unwrap();
        assert!(
            use_recovery_code(&sealer, &rest, &codes[3]).is_none(),
            "single use"
        );
        assert!(use_recovery_code(&sealer, &rest, &codes[4].to_uppercase()).is_some());
    }
}
