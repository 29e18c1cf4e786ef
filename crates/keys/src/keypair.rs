//! [`Keypair`]: an sr25519 secret key with its public key, built from seeds, mnemonics or URIs.

use std::fmt;

use schnorrkel::derive::{ChainCode, Derivation};
use schnorrkel::{ExpansionMode, MiniSecretKey, SecretKey};
use zeroize::Zeroizing;

use crate::derive::{Junction, SecretUri};
use crate::mnemonic::{DEV_PHRASE, generate_mnemonic, mini_secret_from_mnemonic};
use crate::{AccountId, KeyError, SIGNING_CONTEXT, Signature};

/// An sr25519 key pair. `Debug` prints only the public address, never secrets.
#[derive(Clone)]
pub struct Keypair {
    pair: schnorrkel::Keypair,
    /// The 32-byte mini-secret the key was expanded from, when known (it is what keyfiles store
    /// as `secretSeed`). Keys loaded from a 64-byte secret or derived softly have none.
    seed: Option<Zeroizing<[u8; 32]>>,
}

impl Keypair {
    /// Expands a substrate mini-secret (Ed25519 expansion mode, as sp-core does).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let mini = match MiniSecretKey::from_bytes(seed) {
            Ok(mini) => mini,
            // Any 32 bytes are a valid mini-secret; from_bytes only fails on the length.
            Err(_) => unreachable!("a 32-byte array is always a valid mini-secret"),
        };
        Self {
            pair: mini.expand_to_keypair(ExpansionMode::Ed25519),
            seed: Some(Zeroizing::new(*seed)),
        }
    }

    /// Loads a 64-byte schnorrkel secret key (`key || nonce`, the keyfile's `privateKey`).
    pub fn from_secret_key_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != 64 {
            return Err(KeyError::Length {
                what: "sr25519 secret key",
                expected: 64,
                actual: bytes.len(),
            });
        }
        let secret = SecretKey::from_bytes(bytes).map_err(|e| KeyError::SecretKey {
            reason: e.to_string(),
        })?;
        Ok(Self {
            pair: secret.to_keypair(),
            seed: None,
        })
    }

    /// The key of a BIP-39 mnemonic, exactly as substrate, btwallet and the SDK derive it.
    pub fn from_mnemonic(phrase: &str, password: Option<&str>) -> Result<Self, KeyError> {
        let seed = Zeroizing::new(mini_secret_from_mnemonic(phrase, password)?);
        Ok(Self::from_seed(&seed))
    }

    /// The key of a secret URI: `[phrase or 0x-seed][//hard|/soft ...][///password]`. Without a
    /// phrase the substrate dev phrase is used, so `//Alice` is the well-known dev account.
    pub fn from_uri(uri: &str) -> Result<Self, KeyError> {
        let parsed = SecretUri::parse(uri)?;
        let root = match parsed.phrase {
            Some(hex_seed) if hex_seed.starts_with("0x") => {
                if parsed.password.is_some() {
                    return Err(KeyError::Uri {
                        reason: "a password applies to a mnemonic, not to a hex seed".into(),
                    });
                }
                let bytes = Zeroizing::new(crate::signature::decode_hex("seed", hex_seed)?);
                let seed: [u8; 32] = bytes.as_slice().try_into().map_err(|_| KeyError::Length {
                    what: "seed",
                    expected: 32,
                    actual: bytes.len(),
                })?;
                Self::from_seed(&seed)
            }
            Some(phrase) => Self::from_mnemonic(phrase, parsed.password)?,
            None => Self::from_mnemonic(DEV_PHRASE, parsed.password)?,
        };
        Ok(root.derive(&parsed.path))
    }

    /// A fresh random key and its 12-word mnemonic (the only way to recover it: show it once).
    pub fn generate() -> (Self, String) {
        loop {
            let phrase = generate_mnemonic();
            // A freshly generated phrase always parses; loop instead of panicking if it ever
            // does not.
            if let Ok(pair) = Self::from_mnemonic(&phrase, None) {
                return (pair, phrase);
            }
        }
    }

    /// Walks a derivation path the way sp-core does.
    fn derive(self, path: &[Junction]) -> Self {
        path.iter().fold(self, |acc, junction| match junction {
            Junction::Hard(code) => {
                let (mini, _) = acc
                    .pair
                    .secret
                    .hard_derive_mini_secret_key(Some(ChainCode(*code)), b"");
                Self::from_seed(&mini.to_bytes())
            }
            Junction::Soft(code) => {
                let (secret, _) = acc.pair.secret.derived_key_simple(ChainCode(*code), b"");
                Self {
                    pair: secret.to_keypair(),
                    seed: None,
                }
            }
        })
    }

    /// The public key (the address).
    pub fn public(&self) -> AccountId {
        AccountId(self.pair.public.to_bytes())
    }

    /// Signs `message` under the `substrate` context. sr25519 signatures are randomised: two
    /// signatures of the same message differ, and both verify.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.pair.sign_simple(SIGNING_CONTEXT, message).to_bytes())
    }

    /// The 32-byte mini-secret, when the key came from a seed, mnemonic or hard derivation.
    pub fn seed(&self) -> Option<[u8; 32]> {
        self.seed.as_deref().copied()
    }

    /// The 64-byte schnorrkel secret key (`key || nonce`), as keyfiles store `privateKey`.
    pub fn secret_key_bytes(&self) -> [u8; 64] {
        self.pair.secret.to_bytes()
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keypair")
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

    #[test]
    fn dev_accounts_match_substrate() {
        assert_eq!(
            Keypair::from_uri("//Alice").unwrap().public().to_ss58(),
            ALICE
        );
        assert_eq!(Keypair::from_uri("//Bob").unwrap().public().to_ss58(), BOB);
        let explicit = format!("{DEV_PHRASE}//Alice");
        assert_eq!(
            Keypair::from_uri(&explicit).unwrap().public().to_ss58(),
            ALICE
        );
    }

    #[test]
    fn dev_phrase_root_matches_reference() {
        // Chain reference §2.2: the bare dev phrase.
        let pair = Keypair::from_mnemonic(DEV_PHRASE, None).unwrap();
        assert_eq!(
            pair.public().to_ss58(),
            "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV"
        );
        assert_eq!(
            pair.public().to_hex(),
            "0x46ebddef8cd9bb167dc30878d7113b7e168e6f0646beffd77d69d39bad76b47a"
        );
        assert_eq!(Keypair::from_uri("").unwrap().public(), pair.public());
    }

    #[test]
    fn hex_seed_uri_equals_from_seed() {
        let seed = [7u8; 32];
        let uri = format!("0x{}", hex::encode(seed));
        assert_eq!(
            Keypair::from_uri(&uri).unwrap().public(),
            Keypair::from_seed(&seed).public()
        );
        assert!(Keypair::from_uri("0x1234").is_err());
    }

    #[test]
    fn hard_derivation_keeps_a_seed_soft_does_not() {
        assert!(Keypair::from_uri("//Alice").unwrap().seed().is_some());
        let soft = Keypair::from_uri("//Alice/stash").unwrap();
        assert!(soft.seed().is_none());
        // Soft derivation is deterministic in the public key.
        assert_eq!(
            soft.public(),
            Keypair::from_uri("//Alice/stash").unwrap().public()
        );
        assert_ne!(soft.public().to_ss58(), ALICE);
    }

    #[test]
    fn sign_and_verify() {
        let pair = Keypair::from_uri("//Alice").unwrap();
        let sig = pair.sign(b"hello");
        assert!(pair.public().verify(b"hello", &sig));
        assert!(!pair.public().verify(b"hellp", &sig));
        let bob = Keypair::from_uri("//Bob").unwrap();
        assert!(!bob.public().verify(b"hello", &sig));
        // Randomised signatures.
        assert_ne!(pair.sign(b"hello"), sig);
    }

    #[test]
    fn secret_key_bytes_round_trip() {
        let pair = Keypair::from_uri("//Alice").unwrap();
        let again = Keypair::from_secret_key_bytes(&pair.secret_key_bytes()).unwrap();
        assert_eq!(again.public(), pair.public());
        assert!(again.seed().is_none());
        assert!(Keypair::from_secret_key_bytes(&[0u8; 12]).is_err());
    }

    #[test]
    fn generate_gives_a_matching_mnemonic() {
        let (pair, phrase) = Keypair::generate();
        assert_eq!(
            Keypair::from_mnemonic(&phrase, None).unwrap().public(),
            pair.public()
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let pair = Keypair::from_uri("//Alice").unwrap();
        let text = format!("{pair:?}");
        assert!(text.contains(ALICE));
        let seed_hex = hex::encode(pair.seed().unwrap());
        assert!(!text.contains(&seed_hex));
        assert!(!text.contains("secret"));
    }
}
