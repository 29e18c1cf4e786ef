//! The ciphertext's bytes: arkworks' `CanonicalSerialize` (compressed) of the timelock
//! ciphertext the runtime decrypts (`TLECiphertext<TinyBLS381>` of ideal-lab5's `tle`, the git
//! revision subtensor and `bittensor-drand` pin). Every `Vec<u8>` is a `u64` little-endian
//! length followed by its bytes:
//!
//! ```text
//! offset  size  field
//! 0       96    U = r·G2                      compressed G2 (zcash flag bits)
//! 96      8+32  V = sigma xor H2(e(Q_id, r·P))  Vec<u8>, always 32 bytes
//! 136     8+32  W = key xor sha256(sigma)       Vec<u8>, always 32 bytes
//! 176     8+n   body                            Vec<u8> holding AESOutput:
//!                 8+m  ciphertext               Vec<u8>: AES-256-GCM(plaintext) || 16-byte tag
//!                 8+12 nonce                    Vec<u8>
//! 184+n   8+8   cipher suite                    Vec<u8> = b"AES_GCM_"
//! ```
//!
//! So a plaintext of `p` bytes gives `244 + p` bytes. Decoding checks every length prefix
//! against the bytes left (no allocation is sized by a prefix), takes exactly 32-byte `V`/`W`
//! and a 12-byte nonce, and refuses trailing bytes and inputs over [`MAX_CIPHERTEXT_BYTES`].

use ark_bls12_381::G2Affine;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};

use crate::error::{Result, TimelockError};

/// The cipher suite tag of AES-256-GCM.
pub const CIPHER_SUITE: &[u8] = b"AES_GCM_";
/// Bytes of an AES-GCM nonce.
pub const NONCE_BYTES: usize = 12;
/// Bytes of an AES-GCM tag.
pub const TAG_BYTES: usize = 16;
/// Bytes of a compressed G2 point.
pub const G2_BYTES: usize = 96;
/// Bytes a ciphertext adds to its plaintext (the AES-GCM tag included).
pub const OVERHEAD_BYTES: usize =
    G2_BYTES + 2 * (8 + 32) + 8 + (8 + TAG_BYTES) + (8 + NONCE_BYTES) + 8 + CIPHER_SUITE.len();
/// The most bytes [`TlockCiphertext::from_bytes`] reads (a hard limit; commits are far smaller).
pub const MAX_CIPHERTEXT_BYTES: usize = 1 << 20;

/// A timelock ciphertext: the IBE header that hides the AES key, and the AES-GCM body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlockCiphertext {
    /// `U = r·G2`.
    pub u: G2Affine,
    /// `V = sigma xor H2(e(Q_id, r·P))`.
    pub v: [u8; 32],
    /// `W = key xor sha256(sigma)`.
    pub w: [u8; 32],
    /// AES-256-GCM of the plaintext, the 16-byte tag appended.
    pub body: Vec<u8>,
    /// The AES-GCM nonce.
    pub nonce: [u8; NONCE_BYTES],
}

impl TlockCiphertext {
    /// The serialised ciphertext (see the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(OVERHEAD_BYTES - TAG_BYTES + self.body.len());
        // Writing a valid point into a Vec cannot fail.
        #[allow(clippy::expect_used)]
        self.u
            .serialize_compressed(&mut out)
            .expect("a G2 point serialises into a Vec");
        put_vec(&mut out, &self.v);
        put_vec(&mut out, &self.w);
        let aes_output_len = 8 + self.body.len() + 8 + NONCE_BYTES;
        put_len(&mut out, aes_output_len);
        put_vec(&mut out, &self.body);
        put_vec(&mut out, &self.nonce);
        put_vec(&mut out, CIPHER_SUITE);
        out
    }

    /// Parses a serialised ciphertext (see the module docs for what is checked).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_CIPHERTEXT_BYTES {
            return Err(TimelockError::TooLarge {
                actual: bytes.len(),
                max: MAX_CIPHERTEXT_BYTES,
            });
        }
        let mut r = Reader { bytes, pos: 0 };
        let u_bytes = r.take("U", G2_BYTES as u64)?;
        let u = G2Affine::deserialize_compressed(u_bytes)
            .map_err(|_| TimelockError::InvalidHeaderPoint)?;
        let v = r.fixed_vec::<32>("V")?;
        let w = r.fixed_vec::<32>("W")?;
        let aes_output = r.vec("body")?;
        let mut inner = Reader {
            bytes: aes_output,
            pos: 0,
        };
        let body = inner.vec("body.ciphertext")?.to_vec();
        let nonce = inner.fixed_vec::<NONCE_BYTES>("body.nonce")?;
        inner.finish()?;
        let suite = r.vec("cipher_suite")?;
        if suite != CIPHER_SUITE {
            return Err(TimelockError::UnknownCipherSuite {
                suite: String::from_utf8_lossy(suite).into_owned(),
            });
        }
        r.finish()?;
        Ok(Self {
            u,
            v,
            w,
            body,
            nonce,
        })
    }
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&(len as u64).to_le_bytes());
}

fn put_vec(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, field: &'static str, needed: u64) -> Result<&'a [u8]> {
        let available = self.bytes.len() - self.pos;
        let truncated = TimelockError::Truncated {
            field,
            offset: self.pos,
            needed,
            available,
        };
        let n = usize::try_from(needed).map_err(|_| truncated.clone())?;
        if n > available {
            return Err(truncated);
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn vec(&mut self, field: &'static str) -> Result<&'a [u8]> {
        let prefix = self.take(field, 8)?;
        let mut len = [0u8; 8];
        len.copy_from_slice(prefix);
        self.take(field, u64::from_le_bytes(len))
    }

    fn fixed_vec<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N]> {
        let bytes = self.vec(field)?;
        <[u8; N]>::try_from(bytes).map_err(|_| TimelockError::FieldLength {
            field,
            expected: N,
            actual: bytes.len() as u64,
        })
    }

    fn finish(self) -> Result<()> {
        match self.bytes.len() - self.pos {
            0 => Ok(()),
            trailing => Err(TimelockError::TrailingBytes { trailing }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::AffineRepr;

    fn sample() -> TlockCiphertext {
        TlockCiphertext {
            u: G2Affine::generator(),
            v: [1; 32],
            w: [2; 32],
            body: vec![3; 21],
            nonce: [4; NONCE_BYTES],
        }
    }

    #[test]
    fn layout_matches_the_documented_offsets() {
        let ct = sample();
        let bytes = ct.to_bytes();
        assert_eq!(bytes.len(), OVERHEAD_BYTES - TAG_BYTES + 21);
        assert_eq!(OVERHEAD_BYTES, 244, "the 16-byte tag included");
        assert_eq!(&bytes[96..104], &32u64.to_le_bytes());
        assert_eq!(&bytes[104..136], &[1; 32]);
        assert_eq!(&bytes[136..144], &32u64.to_le_bytes());
        assert_eq!(&bytes[144..176], &[2; 32]);
        assert_eq!(&bytes[176..184], &((8 + 21 + 8 + 12) as u64).to_le_bytes());
        assert_eq!(&bytes[184..192], &21u64.to_le_bytes());
        assert_eq!(
            &bytes[bytes.len() - 16..bytes.len() - 8],
            &8u64.to_le_bytes()
        );
        assert_eq!(&bytes[bytes.len() - 8..], b"AES_GCM_");
        assert_eq!(TlockCiphertext::from_bytes(&bytes), Ok(ct));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample().to_bytes();
        for cut in 0..bytes.len() {
            assert!(
                TlockCiphertext::from_bytes(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn trailing_bytes_and_huge_prefixes_are_errors() {
        let mut bytes = sample().to_bytes();
        bytes.push(0);
        assert_eq!(
            TlockCiphertext::from_bytes(&bytes),
            Err(TimelockError::TrailingBytes { trailing: 1 })
        );
        let mut bytes = sample().to_bytes();
        bytes[176..184].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            TlockCiphertext::from_bytes(&bytes),
            Err(TimelockError::Truncated {
                field: "body",
                needed: u64::MAX,
                ..
            })
        ));
        let mut bytes = sample().to_bytes();
        bytes[96..104].copy_from_slice(&31u64.to_le_bytes());
        assert!(TlockCiphertext::from_bytes(&bytes).is_err());
        assert!(matches!(
            TlockCiphertext::from_bytes(&vec![0; MAX_CIPHERTEXT_BYTES + 1]),
            Err(TimelockError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_bad_point_or_suite_is_an_error() {
        let mut bytes = sample().to_bytes();
        bytes[5] ^= 0x55;
        assert_eq!(
            TlockCiphertext::from_bytes(&bytes),
            Err(TimelockError::InvalidHeaderPoint)
        );
        let mut bytes = sample().to_bytes();
        let n = bytes.len();
        bytes[n - 1] = b'X';
        assert!(matches!(
            TlockCiphertext::from_bytes(&bytes),
            Err(TimelockError::UnknownCipherSuite { .. })
        ));
    }
}
