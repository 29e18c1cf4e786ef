//! The plaintext of a timelocked weights commit: SCALE, as the runtime decodes it on reveal
//! (`pallets/subtensor/src/coinbase/reveal_commits.rs`).
//!
//! * CRv4: `WeightsTlockPayload { hotkey: Vec<u8>, uids: Vec<u16>, values: Vec<u16>,
//!   version_key: u64 }`, `hotkey` the SCALE encoding of the committer's `AccountId32` (its 32
//!   raw bytes). The runtime refuses the reveal when it is not the committing hotkey.
//! * CRv3 (legacy): `{ uids, values, version_key }`, no hotkey. The runtime still accepts it
//!   (it tries the v4 shape first, then this one).
//!
//! `values` are the u16 weights after the SDK's max-upscaling, as `set_weights` takes them.

use parity_scale_codec::{Decode, Encode};

use crate::error::{Result, TimelockError};

/// The CRv4 payload.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct WeightsTlockPayload {
    /// SCALE of the committer's `AccountId32`: its 32 bytes.
    pub hotkey: Vec<u8>,
    /// Target uids.
    pub uids: Vec<u16>,
    /// Their u16 weights.
    pub values: Vec<u16>,
    /// The subnet's weights version key.
    pub version_key: u64,
}

/// The CRv3 payload (no hotkey).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct LegacyWeightsTlockPayload {
    /// Target uids.
    pub uids: Vec<u16>,
    /// Their u16 weights.
    pub values: Vec<u16>,
    /// The subnet's weights version key.
    pub version_key: u64,
}

/// Weights to commit, with the committing hotkey.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Weights<'a> {
    /// The committing (signing) hotkey's public key.
    pub hotkey: &'a [u8; 32],
    /// Target uids.
    pub uids: &'a [u16],
    /// Their u16 weights.
    pub values: &'a [u16],
    /// The subnet's weights version key.
    pub version_key: u64,
}

impl Weights<'_> {
    /// The CRv4 payload's bytes.
    pub fn encode_v4(&self) -> Result<Vec<u8>> {
        self.check()?;
        Ok(WeightsTlockPayload {
            hotkey: self.hotkey.to_vec(),
            uids: self.uids.to_vec(),
            values: self.values.to_vec(),
            version_key: self.version_key,
        }
        .encode())
    }

    /// The CRv3 (legacy) payload's bytes.
    pub fn encode_v3(&self) -> Result<Vec<u8>> {
        self.check()?;
        Ok(LegacyWeightsTlockPayload {
            uids: self.uids.to_vec(),
            values: self.values.to_vec(),
            version_key: self.version_key,
        }
        .encode())
    }

    fn check(&self) -> Result<()> {
        if self.uids.len() == self.values.len() {
            Ok(())
        } else {
            Err(TimelockError::WeightsLength {
                uids: self.uids.len(),
                values: self.values.len(),
            })
        }
    }
}

/// A decrypted payload, in whichever shape it decodes to exactly (every byte consumed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodedPayload {
    /// CRv4, with its hotkey.
    V4(WeightsTlockPayload),
    /// CRv3.
    V3(LegacyWeightsTlockPayload),
}

impl DecodedPayload {
    /// Decodes the v4 shape with a 32-byte hotkey, else the legacy shape.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if let Ok(p) = WeightsTlockPayload::decode(&mut &bytes[..])
            && p.hotkey.len() == 32
            && p.encode().len() == bytes.len()
        {
            return Ok(Self::V4(p));
        }
        let mut rest = bytes;
        let p =
            LegacyWeightsTlockPayload::decode(&mut rest).map_err(|e| TimelockError::Payload {
                reason: e.to_string(),
            })?;
        if !rest.is_empty() {
            return Err(TimelockError::Payload {
                reason: format!("{} bytes after the payload", rest.len()),
            });
        }
        Ok(Self::V3(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOTKEY: [u8; 32] = [0xd4; 32];

    fn weights() -> Weights<'static> {
        Weights {
            hotkey: &HOTKEY,
            uids: &[0, 1, 3],
            values: &[32768, 16384, 65535],
            version_key: 11002,
        }
    }

    #[test]
    fn v4_bytes_by_hand() {
        let mut expected = vec![0x80]; // compact(32)
        expected.extend_from_slice(&HOTKEY);
        expected.extend_from_slice(&[0x0c, 0, 0, 1, 0, 3, 0]); // compact(3), u16 LE
        expected.extend_from_slice(&[0x0c, 0x00, 0x80, 0x00, 0x40, 0xff, 0xff]);
        expected.extend_from_slice(&11002u64.to_le_bytes());
        let bytes = weights().encode_v4().unwrap();
        assert_eq!(bytes, expected);
        assert_eq!(
            DecodedPayload::decode(&bytes).unwrap(),
            DecodedPayload::V4(WeightsTlockPayload {
                hotkey: HOTKEY.to_vec(),
                uids: vec![0, 1, 3],
                values: vec![32768, 16384, 65535],
                version_key: 11002,
            })
        );
    }

    #[test]
    fn v3_bytes_by_hand() {
        let bytes = weights().encode_v3().unwrap();
        let mut expected = vec![
            0x0c, 0, 0, 1, 0, 3, 0, 0x0c, 0x00, 0x80, 0x00, 0x40, 0xff, 0xff,
        ];
        expected.extend_from_slice(&11002u64.to_le_bytes());
        assert_eq!(bytes, expected);
        assert!(matches!(
            DecodedPayload::decode(&bytes).unwrap(),
            DecodedPayload::V3(_)
        ));
    }

    #[test]
    fn mismatched_lengths_and_garbage_are_errors() {
        let bad = Weights {
            values: &[1],
            ..weights()
        };
        assert_eq!(
            bad.encode_v4(),
            Err(TimelockError::WeightsLength { uids: 3, values: 1 })
        );
        assert!(DecodedPayload::decode(&[0x0c, 0]).is_err());
        let mut long = weights().encode_v3().unwrap();
        long.push(0);
        assert!(DecodedPayload::decode(&long).is_err());
    }
}
