//! The Fiat-Shamir transcript and the prover/verifier channels built on it.
//!
//! The transcript is a chain of keyed BLAKE3 hashes: messages are framed (a tag, the label and
//! the length of every part, so no two message sequences collide) and buffered, and the 32-byte
//! state keys one hash of everything absorbed since the last challenge when the next challenge
//! is squeezed. Buffering costs nothing in soundness (the framing makes the buffered bytes an
//! injective encoding of the message sequence) and saves a hash per message, which matters for
//! the many small messages of a proof (lookup multiplicities, outputs). The channels tie the transcript to the
//! proof bytes: [`ProverChannel::send_ext`] appends the element to the proof *and* absorbs it, and
//! [`VerifierChannel::recv_ext`] reads *and* absorbs it, so a message cannot be sent without being
//! bound into every later challenge. The verifier reads exactly the number of elements its
//! circuit prescribes: the proof carries no lengths the verifier trusts.

use crate::{Ext, Fp, VerifyError};

/// Tags separating the kinds of hash input.
const TAG_ABSORB: u8 = 1;
const TAG_SQUEEZE: u8 = 2;
const TAG_OUTPUT: u8 = 3;
const TAG_POW: u8 = 4;

/// A Fiat-Shamir transcript.
#[derive(Clone, Debug)]
pub struct Transcript {
    state: [u8; 32],
    /// Framed messages absorbed since the state last moved.
    pending: Vec<u8>,
}

impl Transcript {
    /// A transcript for the protocol named `domain`.
    pub fn new(domain: &[u8]) -> Transcript {
        let mut t = Transcript {
            state: *blake3::hash(b"omron-rs transcript v2").as_bytes(),
            pending: Vec::new(),
        };
        t.absorb(b"domain", domain);
        t
    }

    /// Binds `data` (labelled) into the state.
    pub fn absorb(&mut self, label: &[u8], data: &[u8]) {
        self.pending.push(TAG_ABSORB);
        self.pending
            .extend_from_slice(&(label.len() as u64).to_le_bytes());
        self.pending.extend_from_slice(label);
        self.pending
            .extend_from_slice(&(data.len() as u64).to_le_bytes());
        self.pending.extend_from_slice(data);
    }

    /// Moves the state over the buffered messages.
    fn flush(&mut self) {
        if !self.pending.is_empty() {
            self.state = *blake3::keyed_hash(&self.state, &self.pending).as_bytes();
            self.pending.clear();
        }
    }

    /// 32 pseudo-random bytes, after which the state has moved on.
    pub fn squeeze(&mut self, label: &[u8]) -> [u8; 32] {
        self.flush();
        let mut h = blake3::Hasher::new_keyed(&self.state);
        h.update(&[TAG_SQUEEZE]);
        h.update(&(label.len() as u64).to_le_bytes());
        h.update(label);
        self.state = *h.finalize().as_bytes();
        *blake3::keyed_hash(&self.state, &[TAG_OUTPUT]).as_bytes()
    }

    /// A uniformly random extension-field element (rejection sampling, no bias).
    pub fn challenge_ext(&mut self, label: &[u8]) -> Ext {
        loop {
            let out = self.squeeze(label);
            let a = u64::from_le_bytes(out[0..8].try_into().unwrap_or([0; 8]));
            let b = u64::from_le_bytes(out[8..16].try_into().unwrap_or([0; 8]));
            if let (Some(a), Some(b)) = (Fp::from_canonical(a), Fp::from_canonical(b)) {
                return Ext::new(a, b);
            }
        }
    }

    /// `n` challenges.
    pub fn challenge_exts(&mut self, label: &[u8], n: usize) -> Vec<Ext> {
        (0..n).map(|_| self.challenge_ext(label)).collect()
    }

    /// A uniformly random integer below `2^bits` (`bits <= 64`).
    pub fn challenge_bits(&mut self, label: &[u8], bits: u32) -> u64 {
        let out = self.squeeze(label);
        let v = u64::from_le_bytes(out[0..8].try_into().unwrap_or([0; 8]));
        if bits >= 64 {
            v
        } else {
            v & ((1u64 << bits) - 1)
        }
    }

    fn pow_ok(&self, nonce: u64, bits: u32) -> bool {
        let mut h = blake3::Hasher::new_keyed(&self.state);
        h.update(&[TAG_POW]);
        h.update(&nonce.to_le_bytes());
        let out = h.finalize();
        let v = u64::from_le_bytes(out.as_bytes()[0..8].try_into().unwrap_or([0xff; 8]));
        bits == 0 || v.leading_zeros() >= bits
    }
}

/// The prover's side: writes the proof and keeps the transcript in step.
#[derive(Debug)]
pub struct ProverChannel {
    transcript: Transcript,
    bytes: Vec<u8>,
}

impl ProverChannel {
    /// A channel over `transcript`.
    pub fn new(transcript: Transcript) -> ProverChannel {
        ProverChannel {
            transcript,
            bytes: Vec::new(),
        }
    }

    /// Appends raw bytes to the proof without absorbing them (headers only).
    pub fn write_header(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// Sends a base-field element.
    pub fn send_fp(&mut self, label: &[u8], v: Fp) {
        let b = v.to_le_bytes();
        self.transcript.absorb(label, &b);
        self.bytes.extend_from_slice(&b);
    }

    /// Sends an extension-field element.
    pub fn send_ext(&mut self, label: &[u8], v: Ext) {
        let b = v.to_le_bytes();
        self.transcript.absorb(label, &b);
        self.bytes.extend_from_slice(&b);
    }

    /// Sends several extension-field elements as one message.
    pub fn send_exts(&mut self, label: &[u8], vs: &[Ext]) {
        let start = self.bytes.len();
        for v in vs {
            self.bytes.extend_from_slice(&v.to_le_bytes());
        }
        self.transcript.absorb(label, &self.bytes[start..]);
    }

    /// Sends a 32-byte digest.
    pub fn send_digest(&mut self, label: &[u8], d: &[u8; 32]) {
        self.transcript.absorb(label, d);
        self.bytes.extend_from_slice(d);
    }

    /// Sends raw bytes as one message (e.g. a bitmap); the receiver must know their number.
    pub fn send_bytes(&mut self, label: &[u8], data: &[u8]) {
        self.transcript.absorb(label, data);
        self.bytes.extend_from_slice(data);
    }

    /// Sends an unsigned integer (LEB128).
    pub fn send_varint(&mut self, label: &[u8], v: u64) {
        self.send_varints(label, &[v]);
    }

    /// Sends unsigned integers (LEB128 each) as one message: the block is absorbed once,
    /// which matters for long lists of small numbers (lookup multiplicities).
    pub fn send_varints(&mut self, label: &[u8], values: &[u64]) {
        let start = self.bytes.len();
        for &value in values {
            let mut v = value;
            loop {
                let byte = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    self.bytes.push(byte);
                    break;
                }
                self.bytes.push(byte | 0x80);
            }
        }
        self.transcript.absorb(label, &self.bytes[start..]);
    }

    /// Finds and sends a nonce whose hash with the state has `bits` leading zeros.
    pub fn grind(&mut self, bits: u32) {
        self.transcript.flush();
        let nonce = (0u64..)
            .find(|&n| self.transcript.pow_ok(n, bits))
            .unwrap_or(0);
        let b = nonce.to_le_bytes();
        self.transcript.absorb(b"pow-nonce", &b);
        self.bytes.extend_from_slice(&b);
    }

    /// A verifier challenge.
    pub fn challenge_ext(&mut self, label: &[u8]) -> Ext {
        self.transcript.challenge_ext(label)
    }

    /// Several verifier challenges.
    pub fn challenge_exts(&mut self, label: &[u8], n: usize) -> Vec<Ext> {
        self.transcript.challenge_exts(label, n)
    }

    /// A random integer below `2^bits`.
    pub fn challenge_bits(&mut self, label: &[u8], bits: u32) -> u64 {
        self.transcript.challenge_bits(label, bits)
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The finished proof.
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// The verifier's side: reads the proof in protocol order and keeps the transcript in step.
#[derive(Debug)]
pub struct VerifierChannel<'a> {
    transcript: Transcript,
    bytes: &'a [u8],
    pos: usize,
    /// Extension-field challenges drawn so far (soundness accounting is checked against it).
    ext_challenges: u64,
}

impl<'a> VerifierChannel<'a> {
    /// A channel reading `bytes` (which must be at most `max_len` long).
    pub fn new(
        transcript: Transcript,
        bytes: &'a [u8],
        max_len: usize,
    ) -> Result<VerifierChannel<'a>, VerifyError> {
        if bytes.len() > max_len {
            return Err(VerifyError::TooLarge {
                size: bytes.len(),
                max: max_len,
            });
        }
        Ok(VerifierChannel {
            transcript,
            bytes,
            pos: 0,
            ext_challenges: 0,
        })
    }

    fn take(&mut self, what: &'static str, n: usize) -> Result<&'a [u8], VerifyError> {
        let remaining = self.bytes.len() - self.pos;
        if n > remaining {
            return Err(VerifyError::Truncated {
                what,
                needed: n,
                remaining,
            });
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Receives `n` raw bytes sent with [`ProverChannel::send_bytes`], absorbed as one message.
    pub fn recv_bytes(&mut self, label: &'static [u8], n: usize) -> Result<&'a [u8], VerifyError> {
        let b = self.take(label_str(label), n)?;
        self.transcript.absorb(label, b);
        Ok(b)
    }

    /// Reads raw header bytes without absorbing them.
    pub fn read_header(&mut self, n: usize) -> Result<&'a [u8], VerifyError> {
        self.take("header", n)
    }

    fn parse_fp(what: &'static str, b: &[u8]) -> Result<Fp, VerifyError> {
        let mut arr = [0u8; 8];
        arr.copy_from_slice(b);
        Fp::from_canonical(u64::from_le_bytes(arr)).ok_or(VerifyError::NonCanonical { what })
    }

    /// Receives a base-field element.
    pub fn recv_fp(&mut self, label: &'static [u8]) -> Result<Fp, VerifyError> {
        let what = label_str(label);
        let b = self.take(what, 8)?;
        let v = Self::parse_fp(what, b)?;
        self.transcript.absorb(label, b);
        Ok(v)
    }

    /// Receives an extension-field element.
    pub fn recv_ext(&mut self, label: &'static [u8]) -> Result<Ext, VerifyError> {
        let what = label_str(label);
        let b = self.take(what, 16)?;
        let v = Ext::new(
            Self::parse_fp(what, &b[..8])?,
            Self::parse_fp(what, &b[8..])?,
        );
        self.transcript.absorb(label, b);
        Ok(v)
    }

    /// Receives `n` extension-field elements sent as one message.
    pub fn recv_exts(&mut self, label: &'static [u8], n: usize) -> Result<Vec<Ext>, VerifyError> {
        let what = label_str(label);
        let b = self.take(
            what,
            n.checked_mul(16).ok_or(VerifyError::TooLarge {
                size: usize::MAX,
                max: self.bytes.len(),
            })?,
        )?;
        let mut out = Vec::with_capacity(n);
        for chunk in b.chunks_exact(16) {
            out.push(Ext::new(
                Self::parse_fp(what, &chunk[..8])?,
                Self::parse_fp(what, &chunk[8..])?,
            ));
        }
        self.transcript.absorb(label, b);
        Ok(out)
    }

    /// Receives a 32-byte digest.
    pub fn recv_digest(&mut self, label: &'static [u8]) -> Result<[u8; 32], VerifyError> {
        let b = self.take(label_str(label), 32)?;
        self.transcript.absorb(label, b);
        let mut d = [0u8; 32];
        d.copy_from_slice(b);
        Ok(d)
    }

    /// Receives `n` unsigned integers sent with [`ProverChannel::send_varints`], each minimally
    /// encoded and `<= max`; the block is absorbed once.
    pub fn recv_varints(
        &mut self,
        label: &'static [u8],
        n: usize,
        max: u64,
    ) -> Result<Vec<u64>, VerifyError> {
        let what = label_str(label);
        let start = self.pos;
        // Each integer takes at least one byte: a count beyond the remaining bytes is an error
        // before anything is allocated for it.
        let remaining = self.bytes.len() - self.pos;
        if n > remaining {
            return Err(VerifyError::Truncated {
                what,
                needed: n,
                remaining,
            });
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.read_varint(what, max)?);
        }
        let msg = &self.bytes[start..self.pos];
        self.transcript.absorb(label, msg);
        Ok(out)
    }

    /// Receives an unsigned LEB128 integer, which must be minimally encoded and `<= max`.
    pub fn recv_varint(&mut self, label: &'static [u8], max: u64) -> Result<u64, VerifyError> {
        let what = label_str(label);
        let start = self.pos;
        let v = self.read_varint(what, max)?;
        let msg = &self.bytes[start..self.pos];
        self.transcript.absorb(label, msg);
        Ok(v)
    }

    /// Reads one LEB128 integer without absorbing it.
    fn read_varint(&mut self, what: &'static str, max: u64) -> Result<u64, VerifyError> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let byte = self.take(what, 1)?[0];
            let bits = (byte & 0x7f) as u64;
            if i == 9 && bits > 1 {
                return Err(VerifyError::InvalidInteger {
                    what,
                    detail: "overflows 64 bits".into(),
                });
            }
            v |= bits << (7 * i);
            if byte & 0x80 == 0 {
                if i > 0 && byte == 0 {
                    return Err(VerifyError::InvalidInteger {
                        what,
                        detail: "not minimally encoded".into(),
                    });
                }
                if v > max {
                    return Err(VerifyError::InvalidInteger {
                        what,
                        detail: format!("{v} exceeds the maximum {max}"),
                    });
                }
                return Ok(v);
            }
        }
        Err(VerifyError::InvalidInteger {
            what,
            detail: "longer than 10 bytes".into(),
        })
    }

    /// Reads the proof-of-work nonce and checks it meets `bits` of difficulty.
    pub fn check_grind(&mut self, bits: u32) -> Result<(), VerifyError> {
        let b = self.take("proof-of-work nonce", 8)?;
        let mut arr = [0u8; 8];
        arr.copy_from_slice(b);
        self.transcript.flush();
        if !self.transcript.pow_ok(u64::from_le_bytes(arr), bits) {
            return Err(VerifyError::ProofOfWork { bits });
        }
        self.transcript.absorb(b"pow-nonce", b);
        Ok(())
    }

    /// A verifier challenge (identical to the prover's).
    pub fn challenge_ext(&mut self, label: &[u8]) -> Ext {
        self.ext_challenges += 1;
        self.transcript.challenge_ext(label)
    }

    /// Several verifier challenges.
    pub fn challenge_exts(&mut self, label: &[u8], n: usize) -> Vec<Ext> {
        self.ext_challenges += n as u64;
        self.transcript.challenge_exts(label, n)
    }

    /// How many extension-field challenges have been drawn: each is a point where a cheating
    /// prover's polynomial could vanish, so soundness accounting counts them.
    pub fn ext_challenges(&self) -> u64 {
        self.ext_challenges
    }

    /// A random integer below `2^bits`.
    pub fn challenge_bits(&mut self, label: &[u8], bits: u32) -> u64 {
        self.transcript.challenge_bits(label, bits)
    }

    /// Checks that every byte was consumed.
    pub fn finish(self) -> Result<(), VerifyError> {
        let count = self.bytes.len() - self.pos;
        if count != 0 {
            return Err(VerifyError::TrailingBytes { count });
        }
        Ok(())
    }
}

fn label_str(label: &'static [u8]) -> &'static str {
    core::str::from_utf8(label).unwrap_or("message")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (ProverChannel, Transcript) {
        let t = Transcript::new(b"test");
        (ProverChannel::new(t.clone()), t)
    }

    #[test]
    fn prover_and_verifier_draw_the_same_challenges() {
        let (mut p, t) = pair();
        p.send_ext(b"a", Ext::new(Fp::new(5), Fp::new(6)));
        let c1 = p.challenge_ext(b"c");
        p.send_varint(b"n", 300);
        p.send_digest(b"d", &[7; 32]);
        p.grind(8);
        let c2 = p.challenge_bits(b"i", 10);
        let proof = p.finish();

        let mut v = VerifierChannel::new(t, &proof, 1 << 20).unwrap();
        assert_eq!(v.recv_ext(b"a").unwrap(), Ext::new(Fp::new(5), Fp::new(6)));
        assert_eq!(v.challenge_ext(b"c"), c1);
        assert_eq!(v.recv_varint(b"n", 1000).unwrap(), 300);
        assert_eq!(v.recv_digest(b"d").unwrap(), [7; 32]);
        v.check_grind(8).unwrap();
        assert_eq!(v.challenge_bits(b"i", 10), c2);
        assert!(c2 < 1024);
        v.finish().unwrap();
    }

    #[test]
    fn a_block_of_integers_is_one_message() {
        let values = [0u64, 1, 127, 128, 300, u64::MAX >> 2];
        let (mut p, t) = pair();
        p.send_varints(b"block", &values);
        let c = p.challenge_ext(b"c");
        let proof = p.finish();

        let mut v = VerifierChannel::new(t.clone(), &proof, 1 << 20).unwrap();
        assert_eq!(v.recv_varints(b"block", 6, u64::MAX).unwrap(), values);
        assert_eq!(v.challenge_ext(b"c"), c);
        v.finish().unwrap();
        // A value above the bound, or more values than bytes, is an error.
        let mut v = VerifierChannel::new(t.clone(), &proof, 1 << 20).unwrap();
        assert!(v.recv_varints(b"block", 6, 1000).is_err());
        let mut v = VerifierChannel::new(t, &proof, 1 << 20).unwrap();
        assert!(v.recv_varints(b"block", proof.len() + 1, u64::MAX).is_err());
    }

    #[test]
    fn a_changed_message_changes_later_challenges() {
        let (mut p1, _) = pair();
        let (mut p2, _) = pair();
        p1.send_fp(b"x", Fp::new(1));
        p2.send_fp(b"x", Fp::new(2));
        assert_ne!(p1.challenge_ext(b"c"), p2.challenge_ext(b"c"));
    }

    #[test]
    fn malformed_input_is_an_error() {
        let t = Transcript::new(b"test");
        // Truncated.
        let mut v = VerifierChannel::new(t.clone(), &[1, 2, 3], 100).unwrap();
        assert!(matches!(
            v.recv_fp(b"x"),
            Err(VerifyError::Truncated { .. })
        ));
        // Non-canonical.
        let bytes = u64::MAX.to_le_bytes();
        let mut v = VerifierChannel::new(t.clone(), &bytes, 100).unwrap();
        assert!(matches!(
            v.recv_fp(b"x"),
            Err(VerifyError::NonCanonical { .. })
        ));
        // Non-minimal and over-long varints.
        let mut v = VerifierChannel::new(t.clone(), &[0x80, 0x00], 100).unwrap();
        assert!(matches!(
            v.recv_varint(b"n", 10),
            Err(VerifyError::InvalidInteger { .. })
        ));
        let mut v = VerifierChannel::new(t.clone(), &[0xff; 11], 100).unwrap();
        assert!(matches!(
            v.recv_varint(b"n", u64::MAX),
            Err(VerifyError::InvalidInteger { .. })
        ));
        let mut v = VerifierChannel::new(t.clone(), &[20], 100).unwrap();
        assert!(matches!(
            v.recv_varint(b"n", 10),
            Err(VerifyError::InvalidInteger { .. })
        ));
        // Too large, trailing bytes.
        assert!(matches!(
            VerifierChannel::new(t.clone(), &[0; 10], 5),
            Err(VerifyError::TooLarge { .. })
        ));
        let v = VerifierChannel::new(t, &[0; 3], 100).unwrap();
        assert_eq!(v.finish(), Err(VerifyError::TrailingBytes { count: 3 }));
    }

    #[test]
    fn bad_proof_of_work_is_rejected() {
        let (mut p, t) = pair();
        p.grind(12);
        let mut proof = p.finish();
        proof[0] ^= 1;
        let mut v = VerifierChannel::new(t, &proof, 100).unwrap();
        // A flipped nonce passes 12 bits with probability 2^-12; this seed does not.
        assert_eq!(
            v.check_grind(12),
            Err(VerifyError::ProofOfWork { bits: 12 })
        );
    }
}
