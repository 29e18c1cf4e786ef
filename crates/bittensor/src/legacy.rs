//! The SDK's (<= 10.x) request authentication: the signed message, nonce rules and verification.
//!
//! The dendrite signs `"{nonce}.{dendrite_hotkey}.{axon_hotkey}.{uuid}.{computed_body_hash}"`
//! with sr25519; the axon rebuilds it with **its own** hotkey, checks the nonce and the
//! signature, then (later, once the body is parsed) that the body hash matches.
//!
//! Stricter than the SDK, and why:
//! * a signature is always required (9.3-10.2 accepted unsigned requests);
//! * freshness is checked on every request, not only the first of a `(hotkey, uuid)` pair, and
//!   whatever the client's version header says: otherwise a captured request replays forever
//!   once the nonce store forgets its pair (or the axon restarts);
//! * the client's `timeout` header (unsigned) widens the window only up to a cap, and nonces too
//!   far in the future are refused, so the store only has to remember a bounded window and can
//!   be bounded in size.

use std::collections::HashMap;
use std::sync::Mutex;

use omron_keys::{AccountId, Signature};

/// `ALLOWED_DELTA` of the SDK: the freshness window before the client's timeout is added.
pub const ALLOWED_DELTA_NS: u64 = 4_000_000_000;

/// `version_as_int` of the SDK release we speak as (10.5.0). Versions at or above 7.2.0
/// (`7002000`) get the freshness check in a Python axon.
pub const SDK_VERSION_AS_INT: u64 = 10_005_000;

/// The message a dendrite signs.
pub fn dendrite_message(
    nonce: u64,
    dendrite_hotkey: &str,
    axon_hotkey: &str,
    uuid: &str,
    body_hash: &str,
) -> String {
    format!("{nonce}.{dendrite_hotkey}.{axon_hotkey}.{uuid}.{body_hash}")
}

/// Verifies like `bittensor_wallet.Keypair.verify`: the plain message, then the polkadot.js
/// `<Bytes>...</Bytes>` wrapping of it.
pub fn verify_sdk_signature(signer: &AccountId, message: &[u8], signature: &Signature) -> bool {
    if signer.verify(message, signature) {
        return true;
    }
    let mut wrapped = Vec::with_capacity(message.len() + 15);
    wrapped.extend_from_slice(b"<Bytes>");
    wrapped.extend_from_slice(message);
    wrapped.extend_from_slice(b"</Bytes>");
    signer.verify(&wrapped, signature)
}

/// Why a request failed verification (the SDK answers 401 `Not Verified with error: {this}`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VerifyError {
    /// No hotkey header.
    #[error("No SS58 formatted address or public key provided.")]
    MissingHotkey,
    /// The hotkey header is not a Bittensor ss58 address.
    #[error("Invalid SS58 address {hotkey:?}: {reason}")]
    InvalidHotkey {
        /// The header value.
        hotkey: String,
        /// Why it was rejected.
        reason: String,
    },
    /// No nonce header.
    #[error("Missing Nonce")]
    MissingNonce,
    /// The nonce is older than the freshness window.
    #[error(
        "Nonce is too old: acceptable delta is {allowed_secs:.2} seconds but request was {age_secs:.2} seconds old"
    )]
    NonceTooOld {
        /// The window in seconds.
        allowed_secs: f64,
        /// The request's age in seconds.
        age_secs: f64,
    },
    /// The nonce is not above the last one accepted for this `(hotkey, uuid)`.
    #[error("Nonce is too old, a newer one was last processed")]
    NonceNotNewer,
    /// The nonce lies further in the future than clock skew explains.
    #[error(
        "Nonce is too far in the future: {ahead_secs:.2} seconds ahead, at most {allowed_secs:.2} allowed"
    )]
    NonceInFuture {
        /// How far ahead it is.
        ahead_secs: f64,
        /// The allowed skew.
        allowed_secs: f64,
    },
    /// No signature header.
    #[error("Missing Signature")]
    MissingSignature,
    /// The signature is not `0x` + 128 hex characters.
    #[error("Invalid signature format. Expected hex string.")]
    SignatureFormat,
    /// The signature does not verify over the rebuilt message.
    #[error("Signature mismatch with {message} and {signature}")]
    SignatureMismatch {
        /// The message the axon rebuilt.
        message: String,
        /// The signature header.
        signature: String,
    },
    /// The nonce store is full of live entries (too many distinct callers in one window).
    #[error("Nonce store is full ({capacity} live entries); try again shortly")]
    NonceStoreFull {
        /// Its capacity.
        capacity: usize,
    },
}

/// The nonce rules of an axon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NonceRules {
    /// Largest client `timeout` (seconds) that widens the freshness window.
    pub max_timeout_secs: f64,
    /// How far in the future a nonce may be, in nanoseconds (clock skew).
    pub max_future_ns: u64,
}

impl Default for NonceRules {
    fn default() -> Self {
        Self {
            max_timeout_secs: 120.0,
            max_future_ns: 30_000_000_000,
        }
    }
}

impl NonceRules {
    /// The window (ns) for a request with the given timeout header.
    fn window_ns(&self, timeout_secs: Option<f64>) -> u64 {
        let t = timeout_secs.unwrap_or(0.0);
        let t = if t.is_finite() {
            t.clamp(0.0, self.max_timeout_secs)
        } else {
            0.0
        };
        ALLOWED_DELTA_NS + (t * 1e9) as u64
    }

    /// The longest any entry can matter: beyond it every nonce is stale anyway.
    fn retention_ns(&self) -> u64 {
        ALLOWED_DELTA_NS + (self.max_timeout_secs.max(0.0) * 1e9) as u64 + self.max_future_ns
    }

    /// Freshness of `nonce` at `now_ns`.
    pub fn check_fresh(
        &self,
        nonce: u64,
        timeout_secs: Option<f64>,
        now_ns: u64,
    ) -> Result<(), VerifyError> {
        let window = self.window_ns(timeout_secs);
        if nonce <= now_ns.saturating_sub(window) {
            return Err(VerifyError::NonceTooOld {
                allowed_secs: window as f64 / 1e9,
                age_secs: now_ns.saturating_sub(nonce) as f64 / 1e9,
            });
        }
        if nonce > now_ns.saturating_add(self.max_future_ns) {
            return Err(VerifyError::NonceInFuture {
                ahead_secs: (nonce - now_ns) as f64 / 1e9,
                allowed_secs: self.max_future_ns as f64 / 1e9,
            });
        }
        Ok(())
    }
}

/// The last accepted nonce per `(hotkey, uuid)`, bounded in size. Entries older than the
/// longest window are dropped when room is needed: a nonce that old fails freshness anyway, so
/// forgetting it re-opens nothing.
#[derive(Debug)]
pub struct NonceStore {
    inner: Mutex<HashMap<(AccountId, String), u64>>,
    capacity: usize,
}

impl NonceStore {
    /// A store for at most `capacity` live pairs.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// Number of remembered pairs.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks that `nonce` is above the last one for the pair (without storing it).
    pub fn check(&self, hotkey: &AccountId, uuid: &str, nonce: u64) -> Result<(), VerifyError> {
        let map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(&(*hotkey, uuid.to_owned())) {
            Some(last) if nonce <= *last => Err(VerifyError::NonceNotNewer),
            _ => Ok(()),
        }
    }

    /// Records `nonce` after a valid signature; re-checks monotonicity under the lock so two
    /// concurrent requests cannot both pass with the same nonce.
    pub fn commit(
        &self,
        hotkey: &AccountId,
        uuid: &str,
        nonce: u64,
        rules: &NonceRules,
        now_ns: u64,
    ) -> Result<(), VerifyError> {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let key = (*hotkey, uuid.to_owned());
        if let Some(last) = map.get(&key) {
            if nonce <= *last {
                return Err(VerifyError::NonceNotNewer);
            }
        } else if map.len() >= self.capacity {
            let horizon = now_ns.saturating_sub(rules.retention_ns());
            map.retain(|_, last| *last > horizon);
            if map.len() >= self.capacity {
                return Err(VerifyError::NonceStoreFull {
                    capacity: self.capacity,
                });
            }
        }
        map.insert(key, nonce);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omron_keys::Keypair;

    const NOW: u64 = 1_795_557_216_835_814_590;

    #[test]
    fn message_format() {
        assert_eq!(dendrite_message(1, "a", "b", "u", "h"), "1.a.b.u.h");
    }

    #[test]
    fn bytes_wrapper_is_accepted() {
        let pair = Keypair::from_uri("//Alice").unwrap();
        let sig = pair.sign(b"<Bytes>hello</Bytes>");
        assert!(verify_sdk_signature(&pair.public(), b"hello", &sig));
        assert!(!verify_sdk_signature(&pair.public(), b"hellx", &sig));
    }

    #[test]
    fn freshness_window_is_4s_plus_capped_timeout() {
        let rules = NonceRules::default();
        let s = 1_000_000_000u64;
        assert!(rules.check_fresh(NOW - 15 * s, Some(12.0), NOW).is_ok());
        let err = rules
            .check_fresh(NOW - 17 * s, Some(12.0), NOW)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Nonce is too old: acceptable delta is 16.00 seconds but request was 17.00 seconds old"
        );
        assert!(rules.check_fresh(NOW - 6 * s, None, NOW).is_err());
        // A client-inflated timeout does not open the window past the cap.
        assert!(rules.check_fresh(NOW - 86_400 * s, Some(1e9), NOW).is_err());
        assert!(rules.check_fresh(NOW - 100 * s, Some(1e9), NOW).is_ok());
        assert!(
            rules
                .check_fresh(NOW - 10 * s, Some(f64::NAN), NOW)
                .is_err()
        );
        // The future is bounded.
        assert!(rules.check_fresh(NOW + 3600 * s, None, NOW).is_err());
        assert!(rules.check_fresh(NOW + s, None, NOW).is_ok());
    }

    #[test]
    fn store_is_monotonic_per_pair_and_bounded() {
        let rules = NonceRules::default();
        let a = Keypair::from_uri("//Alice").unwrap().public();
        let store = NonceStore::new(2);
        store.commit(&a, "u1", NOW, &rules, NOW).unwrap();
        assert_eq!(store.check(&a, "u1", NOW), Err(VerifyError::NonceNotNewer));
        assert!(store.check(&a, "u1", NOW + 1).is_ok());
        assert!(store.check(&a, "u2", NOW - 5).is_ok());
        store.commit(&a, "u2", NOW, &rules, NOW).unwrap();
        assert_eq!(
            store.commit(&a, "u3", NOW, &rules, NOW),
            Err(VerifyError::NonceStoreFull { capacity: 2 })
        );
        // Once the old entries are past the retention horizon they make room.
        let later = NOW + rules.retention_ns() + 1;
        store.commit(&a, "u3", later, &rules, later).unwrap();
        assert_eq!(store.len(), 1);
    }
}
