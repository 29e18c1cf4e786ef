//! [`AccountId`]: an sr25519 public key and its ss58 address.

use std::fmt;
use std::str::FromStr;

use blake2::{Blake2b512, Digest};
use schnorrkel::PublicKey;

use crate::{KeyError, SIGNING_CONTEXT, Signature};

/// The ss58 network prefix of Bittensor (generic substrate): every address starts with `5`.
pub const SS58_PREFIX: u8 = 42;

/// Length of a prefix-42 ss58 payload: 1 prefix byte, 32 key bytes, 2 checksum bytes.
const SS58_LEN: usize = 35;

/// An sr25519 public key: a hotkey or coldkey address.
///
/// `Display`/`FromStr` and serde use the ss58 form (prefix 42); `Debug` shows it too.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(pub [u8; 32]);

impl AccountId {
    /// Parses an ss58 address. Only the Bittensor prefix (42) is accepted: an address of another
    /// network is almost certainly a mistake.
    pub fn from_ss58(s: &str) -> Result<Self, KeyError> {
        let bytes = bs58::decode(s)
            .into_vec()
            .map_err(|_| KeyError::Ss58NotBase58 {
                address: s.to_owned(),
            })?;
        if bytes.len() != SS58_LEN {
            return Err(KeyError::Ss58Length {
                address: s.to_owned(),
                expected: SS58_LEN,
                actual: bytes.len(),
            });
        }
        if bytes[0] != SS58_PREFIX {
            return Err(KeyError::Ss58Prefix {
                address: s.to_owned(),
                expected: SS58_PREFIX,
                actual: bytes[0],
            });
        }
        let checksum = ss58_checksum(&bytes[..33]);
        if checksum != bytes[33..] {
            return Err(KeyError::Ss58Checksum {
                address: s.to_owned(),
            });
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes[1..33]);
        Ok(Self(key))
    }

    /// The ss58 address (prefix 42).
    pub fn to_ss58(&self) -> String {
        let mut payload = Vec::with_capacity(SS58_LEN);
        payload.push(SS58_PREFIX);
        payload.extend_from_slice(&self.0);
        let checksum = ss58_checksum(&payload);
        payload.extend_from_slice(&checksum);
        bs58::encode(payload).into_string()
    }

    /// The raw public key.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The public key as `0x` + lowercase hex, the way keyfiles store it.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// Parses `0x`-prefixed (or bare) hex of a 32-byte public key.
    pub fn from_hex(s: &str) -> Result<Self, KeyError> {
        let bytes = crate::signature::decode_hex("public key", s)?;
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| KeyError::Length {
            what: "public key",
            expected: 32,
            actual: bytes.len(),
        })?;
        Ok(Self(key))
    }

    /// Verifies an sr25519 signature over `message` under the `substrate` context. Returns false
    /// (never panics) for keys that are not valid curve points.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> bool {
        let Ok(public) = PublicKey::from_bytes(&self.0) else {
            return false;
        };
        let Ok(sig) = schnorrkel::Signature::from_bytes(&signature.0) else {
            return false;
        };
        public.verify_simple(SIGNING_CONTEXT, message, &sig).is_ok()
    }
}

/// The first two bytes of `blake2b-512("SS58PRE" || payload)`.
fn ss58_checksum(payload: &[u8]) -> [u8; 2] {
    let mut hasher = Blake2b512::new();
    hasher.update(b"SS58PRE");
    hasher.update(payload);
    let digest = hasher.finalize();
    [digest[0], digest[1]]
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_ss58())
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.to_ss58())
    }
}

impl FromStr for AccountId {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_ss58(s)
    }
}

impl serde::Serialize for AccountId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_ss58())
    }
}

impl<'de> serde::Deserialize<'de> for AccountId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_ss58(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    const ALICE_HEX: &str = "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";

    #[test]
    fn ss58_round_trips_alice() {
        let id = AccountId::from_ss58(ALICE).unwrap();
        assert_eq!(id.to_hex(), ALICE_HEX);
        assert_eq!(id.to_ss58(), ALICE);
        assert_eq!(id.to_string(), ALICE);
        assert_eq!(AccountId::from_hex(ALICE_HEX).unwrap(), id);
    }

    #[test]
    fn checksum_typo_is_rejected() {
        // Same length, last character changed: the key bytes survive, the checksum does not.
        let typo = format!("{}Z", &ALICE[..ALICE.len() - 1]);
        assert!(matches!(
            AccountId::from_ss58(&typo),
            Err(KeyError::Ss58Checksum { .. })
        ));
    }

    #[test]
    fn other_network_prefix_is_rejected() {
        // Alice on Polkadot (prefix 0).
        let err =
            AccountId::from_ss58("15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5").unwrap_err();
        assert_eq!(
            err,
            KeyError::Ss58Prefix {
                address: "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5".into(),
                expected: 42,
                actual: 0
            }
        );
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(matches!(
            AccountId::from_ss58("0OIl"),
            Err(KeyError::Ss58NotBase58 { .. })
        ));
        assert!(matches!(
            AccountId::from_ss58("5Grwva"),
            Err(KeyError::Ss58Length { expected: 35, .. })
        ));
        assert!(AccountId::from_hex("0x1234").is_err());
    }

    #[test]
    fn serde_uses_the_ss58_string() {
        let id = AccountId::from_ss58(ALICE).unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{ALICE}\""));
        assert_eq!(serde_json::from_str::<AccountId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<AccountId>("\"5Grwva\"").is_err());
    }

    #[test]
    fn invalid_point_does_not_verify() {
        // 0xff..ff is not a valid Ristretto encoding.
        let id = AccountId([0xff; 32]);
        assert!(!id.verify(b"msg", &Signature([0u8; 64])));
    }
}
