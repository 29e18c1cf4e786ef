//! [`Signature`]: a 64-byte sr25519 signature, written as `0x` + hex on the wire.

use std::fmt;

use crate::KeyError;

/// A 64-byte sr25519 signature. Shown and serialised as `0x` + 128 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// `0x` + lowercase hex, the form the SDK sends in `bt_header_dendrite_signature`.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// Parses `0x` + 128 hex characters (either case). The `0x` prefix is required, as the SDK's
    /// verifier requires it.
    pub fn from_hex(s: &str) -> Result<Self, KeyError> {
        let Some(digits) = s.strip_prefix("0x") else {
            return Err(KeyError::Hex {
                what: "signature",
                reason: "missing 0x prefix".into(),
            });
        };
        let bytes = hex::decode(digits).map_err(|e| KeyError::Hex {
            what: "signature",
            reason: e.to_string(),
        })?;
        let sig: [u8; 64] = bytes.as_slice().try_into().map_err(|_| KeyError::Length {
            what: "signature",
            expected: 64,
            actual: bytes.len(),
        })?;
        Ok(Self(sig))
    }
}

/// Decodes hex with an optional `0x` prefix.
pub(crate) fn decode_hex(what: &'static str, s: &str) -> Result<Vec<u8>, KeyError> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    hex::decode(digits).map_err(|e| KeyError::Hex {
        what,
        reason: e.to_string(),
    })
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl serde::Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_case() {
        let sig = Signature([0xab; 64]);
        let text = sig.to_hex();
        assert_eq!(text.len(), 130);
        assert_eq!(Signature::from_hex(&text).unwrap(), sig);
        assert_eq!(Signature::from_hex(&text.replace("ab", "AB")).unwrap(), sig);
        let json = serde_json::to_string(&sig).unwrap();
        assert_eq!(serde_json::from_str::<Signature>(&json).unwrap(), sig);
    }

    #[test]
    fn malformed_hex_is_rejected() {
        let sig = Signature([1; 64]).to_hex();
        assert!(matches!(
            Signature::from_hex(&sig[2..]),
            Err(KeyError::Hex { .. })
        ));
        assert_eq!(
            Signature::from_hex("0x0102"),
            Err(KeyError::Length {
                what: "signature",
                expected: 64,
                actual: 2
            })
        );
        assert!(Signature::from_hex("0xzz").is_err());
    }
}
