//! `btauth/1`, the SDK 11 request authentication: hotkey-signed plain HTTP.
//!
//! Headers `X-Bittensor-Version: 1`, `-Hotkey`, `-Nonce` (Unix ns), `-Signature` (`0x` hex),
//! `-Receiver` and, for schemes other than sr25519, `-Crypto`. The signed payload is the
//! newline-join of `btauth/1`, the scheme, the uppercase method, the request target
//! (`path?query`), lowercase hex sha256 of the raw body, the nonce, the sender ss58 and the
//! receiver ss58 (or `-`). The verifier checks, in the SDK's order: header shape, receiver,
//! freshness (10 s back, 2 s ahead), signature, replay of `(hotkey, nonce)`.
//!
//! Only sr25519 is supported (every Bittensor hotkey is sr25519); the receiver is always
//! required, as the SDK's server does by default.

use std::collections::HashMap;
use std::sync::Mutex;

use http::HeaderMap;
use omron_keys::{AccountId, Keypair, Signature};
use sha2::{Digest, Sha256};

/// The protocol tag, first line of the payload.
pub const PROTOCOL: &str = "btauth/1";
/// `X-Bittensor-Version`.
pub const HEADER_VERSION: &str = "x-bittensor-version";
/// `X-Bittensor-Hotkey`.
pub const HEADER_HOTKEY: &str = "x-bittensor-hotkey";
/// `X-Bittensor-Receiver`.
pub const HEADER_RECEIVER: &str = "x-bittensor-receiver";
/// `X-Bittensor-Nonce`.
pub const HEADER_NONCE: &str = "x-bittensor-nonce";
/// `X-Bittensor-Crypto`.
pub const HEADER_CRYPTO: &str = "x-bittensor-crypto";
/// `X-Bittensor-Signature`.
pub const HEADER_SIGNATURE: &str = "x-bittensor-signature";

/// How far back a nonce may be (the SDK's `DEFAULT_MAX_AGE`).
pub const MAX_AGE_NS: u64 = 10_000_000_000;
/// How far ahead a nonce may be (the SDK's `DEFAULT_ALLOWED_SKEW`).
pub const ALLOWED_SKEW_NS: u64 = 2_000_000_000;

/// The exact bytes that are signed.
pub fn build_payload(
    method: &str,
    target: &str,
    body: &[u8],
    nonce: u64,
    sender: &str,
    receiver: Option<&str>,
) -> Vec<u8> {
    let lines = [
        PROTOCOL.to_owned(),
        "sr25519".to_owned(),
        method.to_ascii_uppercase(),
        target.to_owned(),
        hex::encode(Sha256::digest(body)),
        nonce.to_string(),
        sender.to_owned(),
        receiver.unwrap_or("-").to_owned(),
    ];
    lines.join("\n").into_bytes()
}

/// Signs a request; returns the `X-Bittensor-*` headers to send with exactly `body`.
pub fn sign_request(
    keypair: &Keypair,
    method: &str,
    target: &str,
    body: &[u8],
    receiver: &AccountId,
    nonce: u64,
) -> Vec<(&'static str, String)> {
    let sender = keypair.public().to_ss58();
    let receiver = receiver.to_ss58();
    let payload = build_payload(method, target, body, nonce, &sender, Some(&receiver));
    vec![
        (HEADER_VERSION, "1".to_owned()),
        (HEADER_HOTKEY, sender),
        (HEADER_NONCE, nonce.to_string()),
        (HEADER_SIGNATURE, keypair.sign(&payload).to_hex()),
        (HEADER_RECEIVER, receiver),
    ]
}

/// Why a btauth/1 request was refused. `Display` gives the SDK's `"<Class>: <message>"` text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BtAuthError {
    /// A header is missing or unparseable.
    #[error("MalformedAuth: {0}")]
    Malformed(String),
    /// Signed for another receiver, or for none.
    #[error("WrongReceiver: {0}")]
    WrongReceiver(String),
    /// Outside the freshness window.
    #[error("StaleRequest: {0}")]
    Stale(String),
    /// The `(hotkey, nonce)` pair was already accepted.
    #[error("ReplayedRequest: this nonce was already accepted from this hotkey")]
    Replayed,
    /// The signature does not verify.
    #[error("BadSignature: signature does not verify against the claimed hotkey")]
    BadSignature,
    /// Too many live nonces remembered.
    #[error("ReplayedRequest: replay store is full ({capacity} live entries); try again shortly")]
    StoreFull {
        /// Its capacity.
        capacity: usize,
    },
}

/// The authenticated sender of a verified btauth/1 request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The sender's hotkey.
    pub hotkey: AccountId,
    /// The request nonce.
    pub nonce: u64,
}

/// Accepted `(hotkey, nonce)` pairs, kept for the freshness window and bounded in size.
#[derive(Debug)]
pub struct ReplayStore {
    seen: Mutex<HashMap<(AccountId, u64), u64>>,
    capacity: usize,
}

impl ReplayStore {
    /// A store for at most `capacity` live pairs.
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// Records the pair; false if it was already there.
    fn check_and_store(
        &self,
        hotkey: AccountId,
        nonce: u64,
        now_ns: u64,
    ) -> Result<bool, BtAuthError> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.contains_key(&(hotkey, nonce)) {
            return Ok(false);
        }
        if seen.len() >= self.capacity {
            seen.retain(|_, expiry| *expiry > now_ns);
            if seen.len() >= self.capacity {
                return Err(BtAuthError::StoreFull {
                    capacity: self.capacity,
                });
            }
        }
        // A nonce stays replayable-in-principle until it leaves the window.
        let expiry = nonce
            .saturating_add(MAX_AGE_NS)
            .max(now_ns.saturating_add(ALLOWED_SKEW_NS));
        seen.insert((hotkey, nonce), expiry);
        Ok(true)
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// True when a request carries btauth/1 headers.
pub fn is_btauth(headers: &HeaderMap) -> bool {
    headers.contains_key(HEADER_VERSION)
}

/// The claimed sender, before anything is verified (for blacklisting).
pub fn claimed_hotkey(headers: &HeaderMap) -> Result<AccountId, BtAuthError> {
    let sender = header(headers, HEADER_HOTKEY)
        .ok_or_else(|| BtAuthError::Malformed("missing X-Bittensor-Hotkey".into()))?;
    AccountId::from_ss58(sender)
        .map_err(|_| BtAuthError::Malformed("invalid hotkey address or signature encoding".into()))
}

/// Verifies a request addressed to `self_hotkey`, in the SDK's order.
pub fn verify_request(
    headers: &HeaderMap,
    body: &[u8],
    method: &str,
    target: &str,
    self_hotkey: &AccountId,
    now_ns: u64,
    store: &ReplayStore,
) -> Result<Caller, BtAuthError> {
    if header(headers, HEADER_VERSION) != Some("1") {
        return Err(BtAuthError::Malformed(
            "missing or unsupported X-Bittensor-Version (expected '1')".into(),
        ));
    }
    let sender_text = header(headers, HEADER_HOTKEY)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| BtAuthError::Malformed("missing X-Bittensor-Hotkey".into()))?;
    let nonce_text = header(headers, HEADER_NONCE)
        .ok_or_else(|| BtAuthError::Malformed("missing X-Bittensor-Nonce".into()))?;
    let nonce: u64 = nonce_text
        .trim()
        .parse()
        .map_err(|_| BtAuthError::Malformed("X-Bittensor-Nonce is not a decimal integer".into()))?;
    match header(headers, HEADER_CRYPTO) {
        None => {}
        Some(s) if s.eq_ignore_ascii_case("sr25519") => {}
        Some(_) => {
            return Err(BtAuthError::Malformed(
                "unsupported X-Bittensor-Crypto".into(),
            ));
        }
    }
    let signature_text = header(headers, HEADER_SIGNATURE)
        .ok_or_else(|| BtAuthError::Malformed("missing X-Bittensor-Signature".into()))?;
    let receiver = match header(headers, HEADER_RECEIVER) {
        None => {
            return Err(BtAuthError::WrongReceiver(
                "missing X-Bittensor-Receiver: this server requires receiver-bound requests".into(),
            ));
        }
        Some(r) if r != self_hotkey.to_ss58() => {
            return Err(BtAuthError::WrongReceiver(
                "request was signed for a different receiving hotkey".into(),
            ));
        }
        Some(r) => r,
    };
    if now_ns.saturating_sub(nonce) > MAX_AGE_NS {
        return Err(BtAuthError::Stale(
            "nonce is older than the 10s freshness window".into(),
        ));
    }
    if nonce.saturating_sub(now_ns) > ALLOWED_SKEW_NS {
        return Err(BtAuthError::Stale(
            "nonce is more than 2s in the future".into(),
        ));
    }
    let malformed =
        || BtAuthError::Malformed("invalid hotkey address or signature encoding".into());
    let sender = AccountId::from_ss58(sender_text).map_err(|_| malformed())?;
    let hex_digits = signature_text.strip_prefix("0x").unwrap_or(signature_text);
    let signature = Signature::from_hex(&format!("0x{hex_digits}")).map_err(|_| malformed())?;
    let payload = build_payload(method, target, body, nonce, sender_text, Some(receiver));
    // btauth/1 pins the scheme and never tries the <Bytes> wrapping.
    if !sender.verify(&payload, &signature) {
        return Err(BtAuthError::BadSignature);
    }
    if !store.check_and_store(sender, nonce, now_ns)? {
        return Err(BtAuthError::Replayed);
    }
    Ok(Caller {
        hotkey: sender,
        nonce,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_of(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn sign_then_verify_and_every_negative() {
        let alice = Keypair::from_uri("//Alice").unwrap();
        let bob = Keypair::from_uri("//Bob").unwrap().public();
        let now = 1_752_076_800_000_000_000u64;
        let body = br#"{"prompt": "hello"}"#;
        let signed = sign_request(&alice, "post", "/generate?stream=false", body, &bob, now);
        let h = headers_of(&signed);
        let store = ReplayStore::new(16);
        let verify = |h: &HeaderMap, body: &[u8], target: &str, now: u64, store: &ReplayStore| {
            verify_request(h, body, "POST", target, &bob, now, store)
        };
        let target = "/generate?stream=false";
        assert_eq!(
            verify(&h, body, target, now, &store).unwrap().hotkey,
            alice.public()
        );
        assert_eq!(
            verify(&h, body, target, now, &store),
            Err(BtAuthError::Replayed)
        );
        let fresh = ReplayStore::new(16);
        assert_eq!(
            verify(&h, b"x", target, now, &fresh),
            Err(BtAuthError::BadSignature)
        );
        assert_eq!(
            verify(&h, body, "/generate", now, &fresh),
            Err(BtAuthError::BadSignature)
        );
        assert!(matches!(
            verify(&h, body, target, now + 11_000_000_000, &fresh),
            Err(BtAuthError::Stale(_))
        ));
        assert!(matches!(
            verify(&h, body, target, now - 3_000_000_000, &fresh),
            Err(BtAuthError::Stale(_))
        ));
        let mut no_receiver = h.clone();
        no_receiver.remove(HEADER_RECEIVER);
        assert!(matches!(
            verify(&no_receiver, body, target, now, &fresh),
            Err(BtAuthError::WrongReceiver(_))
        ));
        let to_alice = headers_of(&sign_request(
            &alice,
            "POST",
            target,
            body,
            &alice.public(),
            now,
        ));
        assert!(matches!(
            verify(&to_alice, body, target, now, &fresh),
            Err(BtAuthError::WrongReceiver(_))
        ));
        let mut no_nonce = h.clone();
        no_nonce.remove(HEADER_NONCE);
        assert!(matches!(
            verify(&no_nonce, body, target, now, &fresh),
            Err(BtAuthError::Malformed(_))
        ));
        let mut ed = h.clone();
        ed.insert(HEADER_CRYPTO, "ed25519".parse().unwrap());
        assert!(matches!(
            verify(&ed, body, target, now, &fresh),
            Err(BtAuthError::Malformed(_))
        ));
        assert_eq!(
            BtAuthError::BadSignature.to_string(),
            "BadSignature: signature does not verify against the claimed hotkey"
        );
    }

    #[test]
    fn replay_store_is_bounded_and_expires() {
        let a = Keypair::from_uri("//Alice").unwrap().public();
        let store = ReplayStore::new(1);
        let now = 1_000 * MAX_AGE_NS;
        assert!(store.check_and_store(a, now, now).unwrap());
        assert!(matches!(
            store.check_and_store(a, now + 1, now),
            Err(BtAuthError::StoreFull { .. })
        ));
        let later = now + MAX_AGE_NS + ALLOWED_SKEW_NS + 1;
        assert!(store.check_and_store(a, later, later).unwrap());
    }
}
