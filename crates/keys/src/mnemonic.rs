//! BIP-39 mnemonics turned into sr25519 mini-secrets the substrate way.
//!
//! Substrate (and so btwallet and the Bittensor SDK) does not use the BIP-39 seed. It runs
//! PBKDF2-HMAC-SHA512 over the mnemonic's *entropy* with salt `"mnemonic" + password`, 2048
//! rounds, and keeps the first 32 bytes as the schnorrkel mini-secret.

use bip39::{Language, Mnemonic};
use sha2::Sha512;
use zeroize::Zeroize;

use crate::KeyError;

/// The substrate development phrase behind `//Alice`, `//Bob`, ... when a URI has no phrase.
pub const DEV_PHRASE: &str =
    "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

/// PBKDF2 rounds substrate-bip39 uses.
const PBKDF2_ROUNDS: u32 = 2048;

/// The 32-byte mini-secret for an English BIP-39 `phrase` and optional `password`.
pub fn mini_secret_from_mnemonic(
    phrase: &str,
    password: Option<&str>,
) -> Result<[u8; 32], KeyError> {
    let words: Vec<&str> = phrase.split_whitespace().collect();
    let normalized = words.join(" ");
    let mnemonic = Mnemonic::parse_in_normalized(Language::English, &normalized).map_err(|e| {
        KeyError::Mnemonic {
            reason: e.to_string(),
        }
    })?;
    let mut entropy = mnemonic.to_entropy();
    let mut salt = format!("mnemonic{}", password.unwrap_or(""));
    let mut out = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<Sha512>(&entropy, salt.as_bytes(), PBKDF2_ROUNDS, &mut out);
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&out[..32]);
    out.zeroize();
    entropy.zeroize();
    salt.zeroize();
    Ok(seed)
}

/// A fresh random 12-word English mnemonic (128 bits of entropy from the OS).
pub(crate) fn generate_mnemonic() -> String {
    use rand::RngCore;
    let mut entropy = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut entropy);
    // 16 bytes is always a valid BIP-39 entropy length, so this cannot fail.
    let phrase = match Mnemonic::from_entropy_in(Language::English, &entropy) {
        Ok(m) => m.to_string(),
        Err(_) => unreachable!("16 bytes is a valid BIP-39 entropy length"),
    };
    entropy.zeroize();
    phrase
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_phrase_gives_the_known_seed() {
        // From the chain reference (btwallet golden vectors).
        let seed = mini_secret_from_mnemonic(DEV_PHRASE, None).unwrap();
        assert_eq!(
            hex::encode(seed),
            "fac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e"
        );
    }

    #[test]
    fn password_changes_the_seed() {
        let a = mini_secret_from_mnemonic(DEV_PHRASE, None).unwrap();
        let b = mini_secret_from_mnemonic(DEV_PHRASE, Some("pw")).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn extra_whitespace_is_tolerated() {
        let spaced = format!("  {}  ", DEV_PHRASE.replace(' ', "   "));
        assert_eq!(
            mini_secret_from_mnemonic(&spaced, None).unwrap(),
            mini_secret_from_mnemonic(DEV_PHRASE, None).unwrap()
        );
    }

    #[test]
    fn bad_phrases_are_rejected() {
        assert!(matches!(
            mini_secret_from_mnemonic("bottom drive obey", None),
            Err(KeyError::Mnemonic { .. })
        ));
        // Valid words, wrong checksum.
        let bad = DEV_PHRASE.replace("walk", "bottom");
        assert!(mini_secret_from_mnemonic(&bad, None).is_err());
        assert!(mini_secret_from_mnemonic(&DEV_PHRASE.replace("walk", "zzzz"), None).is_err());
    }

    #[test]
    fn generated_mnemonics_parse_and_differ() {
        let a = generate_mnemonic();
        let b = generate_mnemonic();
        assert_eq!(a.split(' ').count(), 12);
        assert_ne!(a, b);
        assert!(mini_secret_from_mnemonic(&a, None).is_ok());
    }
}
