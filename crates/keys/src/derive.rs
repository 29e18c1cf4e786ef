//! Secret URIs (`phrase//hard/soft///password`) and substrate's hierarchical derivation.
//!
//! A junction's 32-byte chain code is the SCALE encoding of its text (a `u64` if it parses as
//! one, otherwise a length-prefixed string), zero-padded, or blake2b-256 of the encoding when it
//! is longer than 32 bytes. `//x` is a hard junction, `/x` a soft one.

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};

use crate::KeyError;

/// One step of a derivation path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Junction {
    /// `//name`: the secret is needed to derive, and the result's public key is unlinkable.
    Hard([u8; 32]),
    /// `/name`: derivable from the public key alone.
    Soft([u8; 32]),
}

/// A parsed secret URI.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SecretUri<'a> {
    /// The mnemonic or `0x` seed; `None` means the dev phrase.
    pub(crate) phrase: Option<&'a str>,
    /// The derivation path, in order.
    pub(crate) path: Vec<Junction>,
    /// The mnemonic password after `///`.
    pub(crate) password: Option<&'a str>,
}

impl<'a> SecretUri<'a> {
    /// Splits `uri` into phrase, path and password.
    pub(crate) fn parse(uri: &'a str) -> Result<Self, KeyError> {
        let (rest, password) = match uri.find("///") {
            Some(at) => (&uri[..at], Some(&uri[at + 3..])),
            None => (uri, None),
        };
        let (phrase, mut path_text) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, ""),
        };
        let phrase = phrase.trim();
        let phrase = (!phrase.is_empty()).then_some(phrase);
        let mut path = Vec::new();
        while !path_text.is_empty() {
            let (hard, body) = match path_text.strip_prefix("//") {
                Some(body) => (true, body),
                None => (false, &path_text[1..]),
            };
            let end = body.find('/').unwrap_or(body.len());
            let name = &body[..end];
            if name.is_empty() {
                return Err(KeyError::Uri {
                    reason: format!("empty junction in {uri:?}"),
                });
            }
            let code = chain_code(name);
            path.push(if hard {
                Junction::Hard(code)
            } else {
                Junction::Soft(code)
            });
            path_text = &body[end..];
        }
        Ok(Self {
            phrase,
            path,
            password,
        })
    }
}

/// The chain code of a junction's text.
fn chain_code(name: &str) -> [u8; 32] {
    let encoded = match name.parse::<u64>() {
        Ok(n) => n.to_le_bytes().to_vec(),
        Err(_) => {
            let mut out = compact_len(name.len());
            out.extend_from_slice(name.as_bytes());
            out
        }
    };
    let mut code = [0u8; 32];
    if encoded.len() > 32 {
        code.copy_from_slice(&Blake2b::<U32>::digest(&encoded));
    } else {
        code[..encoded.len()].copy_from_slice(&encoded);
    }
    code
}

/// SCALE compact encoding of a length.
fn compact_len(len: usize) -> Vec<u8> {
    let n = len as u64;
    if n < 1 << 6 {
        vec![(n as u8) << 2]
    } else if n < 1 << 14 {
        ((n as u16) << 2 | 0b01).to_le_bytes().to_vec()
    } else if n < 1 << 30 {
        ((n as u32) << 2 | 0b10).to_le_bytes().to_vec()
    } else {
        let bytes = n.to_le_bytes();
        let used = 8 - (n.leading_zeros() / 8) as usize;
        let mut out = vec![(((used - 4) as u8) << 2) | 0b11];
        out.extend_from_slice(&bytes[..used]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dev_uris() {
        let uri = SecretUri::parse("//Alice").unwrap();
        assert_eq!(uri.phrase, None);
        assert_eq!(uri.password, None);
        let mut code = [0u8; 32];
        code[0] = 5 << 2;
        code[1..6].copy_from_slice(b"Alice");
        assert_eq!(uri.path, vec![Junction::Hard(code)]);
    }

    #[test]
    fn parses_phrase_path_and_password() {
        let uri = SecretUri::parse("a b c//hard/soft/7///pass/word").unwrap();
        assert_eq!(uri.phrase, Some("a b c"));
        assert_eq!(uri.password, Some("pass/word"));
        assert_eq!(uri.path.len(), 3);
        assert!(matches!(uri.path[0], Junction::Hard(_)));
        assert!(matches!(uri.path[1], Junction::Soft(_)));
        let mut seven = [0u8; 32];
        seven[0] = 7;
        assert_eq!(uri.path[2], Junction::Soft(seven));
    }

    #[test]
    fn rejects_empty_junctions() {
        assert!(SecretUri::parse("//Alice/").is_err());
    }

    #[test]
    fn long_names_are_hashed() {
        let name = "x".repeat(40);
        let code = chain_code(&name);
        let mut encoded = compact_len(40);
        encoded.extend_from_slice(name.as_bytes());
        assert_eq!(code.as_slice(), Blake2b::<U32>::digest(&encoded).as_slice());
    }

    #[test]
    fn compact_lengths() {
        assert_eq!(compact_len(1), vec![4]);
        assert_eq!(compact_len(64), vec![0x01, 0x01]);
        assert_eq!(compact_len(1 << 14), vec![0x02, 0x00, 0x01, 0x00]);
    }
}
