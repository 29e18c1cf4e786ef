//! Request authentication as the original subnet's external API does it: three headers, the
//! caller's sr25519 signature of the current unix time.
//!
//! * `x-timestamp`: unix seconds, as a decimal string;
//! * `x-origin-ss58`: the caller's key (ss58);
//! * `x-signature`: base64 of the 64-byte sr25519 signature of the timestamp string's bytes.
//!
//! The original accepts any timestamp up to 300 s old and any future one, and never
//! remembers a signature, so a captured header set works for five minutes (and a future-dated
//! one for longer). Here a timestamp may be at most [`MAX_AGE_SECS`] old or
//! [`MAX_SKEW_SECS`] ahead, and [`ReplayGuard`] accepts each signature once within that window.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use omron_keys::{AccountId, Keypair, Signature};

/// Header holding the unix timestamp (seconds).
pub const TIMESTAMP: &str = "x-timestamp";
/// Header holding the caller's ss58 address.
pub const ORIGIN: &str = "x-origin-ss58";
/// Header holding the base64 signature of the timestamp.
pub const SIGNATURE: &str = "x-signature";
/// Header naming the subnet whose validator permits authorise the caller.
pub const NETUID: &str = "x-netuid";
/// The oldest timestamp accepted, in seconds before now (the original's 300).
pub const MAX_AGE_SECS: u64 = 300;
/// How far ahead of the server's clock a timestamp may be.
pub const MAX_SKEW_SECS: u64 = 60;

/// Why a request's headers were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A header is absent.
    #[error("missing header {0}")]
    Missing(&'static str),
    /// A header is present but unreadable.
    #[error("malformed header {header}: {reason}")]
    Malformed {
        /// Which header.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The timestamp is older than the window allows.
    #[error("stale timestamp: {age} s old, at most {max} s allowed")]
    Stale {
        /// Its age in seconds.
        age: u64,
        /// The window.
        max: u64,
    },
    /// The timestamp is ahead of the server's clock by more than the skew allowed.
    #[error("timestamp {ahead} s in the future, at most {max} s allowed")]
    Future {
        /// Seconds ahead.
        ahead: u64,
        /// The skew allowed.
        max: u64,
    },
    /// The signature does not verify for the key and timestamp.
    #[error("bad signature: x-signature is not {0}'s signature of x-timestamp")]
    BadSignature(String),
    /// The signature was already used.
    #[error("replayed signature: this timestamp and signature were already accepted once")]
    Replayed,
    /// The key is valid but not allowed to use the API.
    #[error(
        "key {0} is neither whitelisted nor a validator-permit holder on the subnet named by x-netuid"
    )]
    NotAllowed(String),
}

/// The three authentication headers of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHeaders {
    /// `x-timestamp`.
    pub timestamp: String,
    /// `x-origin-ss58`.
    pub origin_ss58: String,
    /// `x-signature` (base64).
    pub signature: String,
}

impl AuthHeaders {
    /// Signs `now_secs` with `key`.
    pub fn sign(key: &Keypair, now_secs: u64) -> Self {
        let timestamp = now_secs.to_string();
        let signature = key.sign(timestamp.as_bytes());
        Self {
            timestamp,
            origin_ss58: key.public().to_ss58(),
            signature: BASE64.encode(signature.0),
        }
    }

    /// Signs the current time with `key`.
    pub fn sign_now(key: &Keypair) -> Self {
        Self::sign(key, unix_now())
    }

    /// The headers as (name, value) pairs.
    pub fn pairs(&self) -> [(&'static str, &str); 3] {
        [
            (TIMESTAMP, &self.timestamp),
            (ORIGIN, &self.origin_ss58),
            (SIGNATURE, &self.signature),
        ]
    }

    /// Reads the headers through `get` (a header map lookup).
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<Self, AuthError> {
        let need = |name: &'static str| get(name).ok_or(AuthError::Missing(name));
        Ok(Self {
            timestamp: need(TIMESTAMP)?,
            origin_ss58: need(ORIGIN)?,
            signature: need(SIGNATURE)?,
        })
    }

    /// Checks the timestamp window and the signature; returns the caller's key and the
    /// decoded signature (for the [`ReplayGuard`]). Says nothing of whether the key is allowed.
    pub fn verify(&self, now_secs: u64) -> Result<(AccountId, u64, Signature), AuthError> {
        let ts: u64 = self
            .timestamp
            .trim()
            .parse()
            .map_err(|e| AuthError::Malformed {
                header: TIMESTAMP,
                reason: format!("{e} (expected unix seconds)"),
            })?;
        if now_secs > ts && now_secs - ts > MAX_AGE_SECS {
            return Err(AuthError::Stale {
                age: now_secs - ts,
                max: MAX_AGE_SECS,
            });
        }
        if ts > now_secs && ts - now_secs > MAX_SKEW_SECS {
            return Err(AuthError::Future {
                ahead: ts - now_secs,
                max: MAX_SKEW_SECS,
            });
        }
        let key =
            AccountId::from_ss58(self.origin_ss58.trim()).map_err(|e| AuthError::Malformed {
                header: ORIGIN,
                reason: e.to_string(),
            })?;
        let raw = BASE64
            .decode(self.signature.trim())
            .map_err(|e| AuthError::Malformed {
                header: SIGNATURE,
                reason: format!("not base64: {e}"),
            })?;
        let bytes: [u8; 64] = raw.try_into().map_err(|v: Vec<u8>| AuthError::Malformed {
            header: SIGNATURE,
            reason: format!("{} bytes, expected 64", v.len()),
        })?;
        let signature = Signature(bytes);
        if !key.verify(self.timestamp.as_bytes(), &signature) {
            return Err(AuthError::BadSignature(key.to_ss58()));
        }
        Ok((key, ts, signature))
    }
}

/// Remembers the signatures accepted inside the timestamp window, so each is accepted once.
/// Entries leave when their timestamp falls out of the window; the guard never holds more than
/// `capacity` (when full, a new signature is refused rather than an old one forgotten).
#[derive(Debug)]
pub struct ReplayGuard {
    seen: HashMap<[u8; 64], u64>,
    capacity: usize,
}

impl ReplayGuard {
    /// A guard holding at most `capacity` signatures.
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// Records `signature` (of timestamp `ts`); an error if it was seen before or the guard is
    /// full of live entries.
    pub fn accept(
        &mut self,
        signature: &Signature,
        ts: u64,
        now_secs: u64,
    ) -> Result<(), AuthError> {
        if self.seen.contains_key(&signature.0) {
            return Err(AuthError::Replayed);
        }
        if self.seen.len() >= self.capacity {
            let oldest = now_secs.saturating_sub(MAX_AGE_SECS);
            self.seen.retain(|_, t| *t >= oldest);
            if self.seen.len() >= self.capacity {
                return Err(AuthError::Malformed {
                    header: SIGNATURE,
                    reason: "too many signed requests in the last 5 minutes; try again later"
                        .into(),
                });
            }
        }
        self.seen.insert(signature.0, ts);
        Ok(())
    }

    /// Signatures remembered now.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// Seconds since the unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Keypair {
        Keypair::from_uri("//Alice").unwrap()
    }

    #[test]
    fn signed_headers_verify_and_name_the_key() {
        let h = AuthHeaders::sign(&alice(), 1_000_000);
        let (key, ts, _) = h.verify(1_000_100).unwrap();
        assert_eq!(key, alice().public());
        assert_eq!(ts, 1_000_000);
    }

    #[test]
    fn stale_future_tampered_and_malformed_headers_are_refused() {
        let h = AuthHeaders::sign(&alice(), 1_000_000);
        assert!(matches!(
            h.verify(1_000_301),
            Err(AuthError::Stale { age: 301, .. })
        ));
        assert!(matches!(
            h.verify(999_900),
            Err(AuthError::Future { ahead: 100, .. })
        ));
        let mut other = h.clone();
        other.timestamp = "1000001".into();
        assert!(matches!(
            other.verify(1_000_001),
            Err(AuthError::BadSignature(_))
        ));
        let mut bob = h.clone();
        bob.origin_ss58 = Keypair::from_uri("//Bob").unwrap().public().to_ss58();
        assert!(matches!(
            bob.verify(1_000_000),
            Err(AuthError::BadSignature(_))
        ));
        let mut short = h.clone();
        short.signature = BASE64.encode([1u8; 10]);
        assert!(matches!(
            short.verify(1_000_000),
            Err(AuthError::Malformed {
                header: SIGNATURE,
                ..
            })
        ));
        let mut junk = h.clone();
        junk.timestamp = "yesterday".into();
        assert!(matches!(
            junk.verify(1_000_000),
            Err(AuthError::Malformed {
                header: TIMESTAMP,
                ..
            })
        ));
        assert_eq!(
            AuthHeaders::read(|_| None),
            Err(AuthError::Missing(TIMESTAMP))
        );
    }

    #[test]
    fn the_signature_is_the_python_sdks_over_the_timestamp_string() {
        // What `Keypair.sign(str(ts).encode())` gives can be checked by our verifier: the
        // signing context is substrate's, as for every other sr25519 signature of the SDK.
        let h = AuthHeaders::sign(&alice(), 1_700_000_000);
        let raw = BASE64.decode(&h.signature).unwrap();
        let sig = Signature(raw.try_into().unwrap());
        assert!(alice().public().verify(b"1700000000", &sig));
    }

    #[test]
    fn a_signature_is_accepted_once_and_the_guard_stays_bounded() {
        let mut guard = ReplayGuard::new(2);
        let (_, ts, sig) = AuthHeaders::sign(&alice(), 100).verify(100).unwrap();
        guard.accept(&sig, ts, 100).unwrap();
        assert_eq!(guard.accept(&sig, ts, 101), Err(AuthError::Replayed));
        let (_, ts2, sig2) = AuthHeaders::sign(&alice(), 101).verify(101).unwrap();
        guard.accept(&sig2, ts2, 101).unwrap();
        let (_, ts3, sig3) = AuthHeaders::sign(&alice(), 102).verify(102).unwrap();
        assert!(
            guard.accept(&sig3, ts3, 102).is_err(),
            "full of live entries"
        );
        // Once the first two age out, room is made.
        guard.accept(&sig3, ts3, 102 + MAX_AGE_SECS + 10).unwrap();
        assert_eq!(guard.len(), 1);
    }
}
