//! Keyfile contents: the btwallet JSON and its `$NACL` encryption.
//!
//! Secret keyfiles are JSON `{"accountId", "publicKey", "privateKey", "secretPhrase",
//! "secretSeed", "ss58Address", "cryptoType"}` (hex with `0x`); public files keep only
//! `accountId`, `publicKey`, `ss58Address` and `cryptoType`. Key order is irrelevant.
//!
//! Encrypted files are `b"$NACL" || nonce(24) || secretbox(json)`: XSalsa20-Poly1305 with a key
//! from argon2i(password, fixed salt, 8 passes, 512 MiB, 1 lane), exactly libsodium's
//! `crypto_pwhash` at the "sensitive" limits as the SDK calls it. Legacy ansible-vault and Fernet
//! files are recognised and refused with a clear message.

use argon2::{Algorithm, Argon2, Params, Version};
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Key, Nonce, XSalsa20Poly1305};
use omron_keys::{AccountId, Keypair};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::WalletError;

/// Prefix of NaCl-encrypted keyfiles.
pub const NACL_PREFIX: &[u8] = b"$NACL";
/// The SDK's fixed argon2 salt (`NACL_SALT`).
pub const NACL_SALT: [u8; 16] = *b"\x13q\x83\xdf\xf1Z\t\xbc\x9c\x90\xb5Q\x879\xe9\xb1";
/// libsodium `OPSLIMIT_SENSITIVE`: argon2 passes.
pub const ARGON2_PASSES: u32 = 8;
/// libsodium `MEMLIMIT_SENSITIVE` (512 MiB) in KiB.
pub const ARGON2_MEMORY_KIB: u32 = 512 * 1024;

/// The `cryptoType` of sr25519 keys.
pub const CRYPTO_TYPE_SR25519: u8 = 1;

/// A keyfile's JSON. Every field is optional: public files have only the public ones.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyfileData {
    /// Public key, `0x` hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Public key, `0x` hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// 64-byte schnorrkel secret key, `0x` hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// The BIP-39 mnemonic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_phrase: Option<String>,
    /// The 32-byte mini-secret, `0x` hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_seed: Option<String>,
    /// The ss58 address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ss58_address: Option<String>,
    /// 1 for sr25519.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crypto_type: Option<u8>,
}

impl std::fmt::Debug for KeyfileData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyfileData")
            .field("ss58_address", &self.ss58_address)
            .field("has_secret", &self.has_secret())
            .finish()
    }
}

impl KeyfileData {
    /// The secret keyfile of `pair`, with its mnemonic when known.
    pub fn secret(pair: &Keypair, phrase: Option<&str>) -> Self {
        let public = pair.public();
        Self {
            account_id: Some(public.to_hex()),
            public_key: Some(public.to_hex()),
            private_key: Some(format!("0x{}", hex::encode(pair.secret_key_bytes()))),
            secret_phrase: phrase.map(str::to_owned),
            secret_seed: pair.seed().map(|s| format!("0x{}", hex::encode(s))),
            ss58_address: Some(public.to_ss58()),
            crypto_type: Some(CRYPTO_TYPE_SR25519),
        }
    }

    /// The public-only keyfile (`coldkeypub.txt`, `<hotkey>pub.txt`).
    pub fn public(account: &AccountId) -> Self {
        Self {
            account_id: Some(account.to_hex()),
            public_key: Some(account.to_hex()),
            ss58_address: Some(account.to_ss58()),
            crypto_type: Some(CRYPTO_TYPE_SR25519),
            ..Self::default()
        }
    }

    /// True when the file holds a secret.
    pub fn has_secret(&self) -> bool {
        self.secret_phrase.is_some() || self.secret_seed.is_some() || self.private_key.is_some()
    }

    /// The key pair, loaded as btwallet does: phrase, then seed, then private key. The result
    /// must match the stored public key and address, or the file is corrupt.
    pub fn keypair(&self) -> Result<Keypair, WalletError> {
        if let Some(t) = self.crypto_type
            && t != CRYPTO_TYPE_SR25519
        {
            return Err(WalletError::UnsupportedCryptoType { actual: t });
        }
        let pair = if let Some(phrase) = &self.secret_phrase {
            Keypair::from_mnemonic(phrase, None)?
        } else if let Some(seed) = &self.secret_seed {
            let bytes = Zeroizing::new(decode_hex("secretSeed", seed)?);
            let seed: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| WalletError::Corrupt {
                    reason: format!("secretSeed is {} bytes, expected 32", bytes.len()),
                })?;
            Keypair::from_seed(&seed)
        } else if let Some(private) = &self.private_key {
            let bytes = Zeroizing::new(decode_hex("privateKey", private)?);
            Keypair::from_secret_key_bytes(&bytes)?
        } else {
            return Err(WalletError::NoSecret);
        };
        let public = pair.public();
        if let Some(stored) = self.stored_public()?
            && stored != public
        {
            return Err(WalletError::Corrupt {
                reason: format!(
                    "secret derives {} but the file says {}",
                    public.to_ss58(),
                    stored.to_ss58()
                ),
            });
        }
        Ok(pair)
    }

    /// The public key the file states (`publicKey`, else `accountId`, else `ss58Address`); all
    /// present ones must agree.
    pub fn stored_public(&self) -> Result<Option<AccountId>, WalletError> {
        let mut found: Option<AccountId> = None;
        let candidates = [
            self.public_key
                .as_deref()
                .map(|h| AccountId::from_hex(h).map_err(WalletError::from)),
            self.account_id
                .as_deref()
                .map(|h| AccountId::from_hex(h).map_err(WalletError::from)),
            self.ss58_address
                .as_deref()
                .map(|s| AccountId::from_ss58(s).map_err(WalletError::from)),
        ];
        for candidate in candidates.into_iter().flatten() {
            let id = candidate?;
            match found {
                Some(prev) if prev != id => {
                    return Err(WalletError::Corrupt {
                        reason: "publicKey, accountId and ss58Address disagree".into(),
                    });
                }
                _ => found = Some(id),
            }
        }
        Ok(found)
    }

    /// Compact JSON bytes.
    pub fn to_json(&self) -> Zeroizing<Vec<u8>> {
        // A struct of strings always serialises.
        Zeroizing::new(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Parses keyfile JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Self, WalletError> {
        serde_json::from_slice(bytes).map_err(|e| WalletError::Corrupt {
            reason: format!("not keyfile JSON: {e}"),
        })
    }
}

fn decode_hex(field: &'static str, text: &str) -> Result<Vec<u8>, WalletError> {
    hex::decode(text.strip_prefix("0x").unwrap_or(text)).map_err(|e| WalletError::Corrupt {
        reason: format!("{field} is not hex: {e}"),
    })
}

/// How a keyfile's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    /// Plain JSON.
    None,
    /// `$NACL`: the current SDK format.
    Nacl,
    /// `$ANSIBLE_VAULT`: a legacy format, not supported.
    AnsibleVault,
    /// Fernet (`gAAAAA`): a legacy format, not supported.
    Fernet,
}

/// Recognises the storage format by its prefix.
pub fn detect_encryption(bytes: &[u8]) -> Encryption {
    if bytes.starts_with(NACL_PREFIX) {
        Encryption::Nacl
    } else if bytes.starts_with(b"$ANSIBLE_VAULT") {
        Encryption::AnsibleVault
    } else if bytes.starts_with(b"gAAAAA") {
        Encryption::Fernet
    } else {
        Encryption::None
    }
}

/// The secretbox key derived from a password. Deriving costs about a second and 512 MiB; keep
/// one around to open or seal several files with the same password.
pub struct NaclKey(Zeroizing<[u8; 32]>);

impl NaclKey {
    /// argon2i(password, [`NACL_SALT`], [`ARGON2_PASSES`], [`ARGON2_MEMORY_KIB`], 1 lane).
    pub fn derive(password: &str) -> Result<Self, WalletError> {
        let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, 1, Some(32))
            .map_err(|e| WalletError::Kdf(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2i, Version::V0x13, params);
        let mut key = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(password.as_bytes(), &NACL_SALT, key.as_mut())
            .map_err(|e| WalletError::Kdf(e.to_string()))?;
        Ok(Self(key))
    }

    fn cipher(&self) -> XSalsa20Poly1305 {
        XSalsa20Poly1305::new(Key::from_slice(self.0.as_ref()))
    }

    /// Encrypts keyfile bytes into the `$NACL` format with a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, WalletError> {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(Nonce::from_slice(&nonce), plaintext)
            .map_err(|_| WalletError::Kdf("secretbox encryption failed".into()))?;
        let mut out = Vec::with_capacity(NACL_PREFIX.len() + nonce.len() + sealed.len());
        out.extend_from_slice(NACL_PREFIX);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts `$NACL` bytes; a wrong key (password) or any tampering is
    /// [`WalletError::WrongPassword`].
    pub fn open(&self, bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>, WalletError> {
        let (nonce, sealed) = split_nacl(bytes)?;
        self.cipher()
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map(Zeroizing::new)
            .map_err(|_| WalletError::WrongPassword)
    }
}

impl std::fmt::Debug for NaclKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NaclKey(..)")
    }
}

/// Checks the format and splits `$NACL` bytes into nonce and sealed box.
fn split_nacl(bytes: &[u8]) -> Result<(&[u8], &[u8]), WalletError> {
    match detect_encryption(bytes) {
        Encryption::Nacl => {}
        Encryption::None => {
            return Err(WalletError::Corrupt {
                reason: "keyfile is not encrypted".into(),
            });
        }
        legacy => return Err(WalletError::LegacyEncryption { format: legacy }),
    }
    let body = &bytes[NACL_PREFIX.len()..];
    if body.len() < 24 + 16 {
        return Err(WalletError::Corrupt {
            reason: format!("$NACL keyfile is {} bytes, too short", bytes.len()),
        });
    }
    Ok(body.split_at(24))
}

/// Encrypts keyfile bytes the SDK way (`$NACL`).
pub fn encrypt(plaintext: &[u8], password: &str) -> Result<Vec<u8>, WalletError> {
    NaclKey::derive(password)?.seal(plaintext)
}

/// Decrypts keyfile bytes; plaintext passes through. A wrong password is
/// [`WalletError::WrongPassword`].
pub fn decrypt(bytes: &[u8], password: &str) -> Result<Zeroizing<Vec<u8>>, WalletError> {
    if detect_encryption(bytes) == Encryption::None {
        return Ok(Zeroizing::new(bytes.to_vec()));
    }
    // Check the format before paying for the key derivation.
    split_nacl(bytes)?;
    NaclKey::derive(password)?.open(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats() {
        assert_eq!(detect_encryption(b"$NACLxxxx"), Encryption::Nacl);
        assert_eq!(
            detect_encryption(b"$ANSIBLE_VAULT;1.1"),
            Encryption::AnsibleVault
        );
        assert_eq!(detect_encryption(b"gAAAAABk"), Encryption::Fernet);
        assert_eq!(detect_encryption(b"{\"a\":1}"), Encryption::None);
        assert!(matches!(
            decrypt(b"gAAAAABk", "pw"),
            Err(WalletError::LegacyEncryption {
                format: Encryption::Fernet
            })
        ));
        assert!(matches!(
            decrypt(b"$NACLshort", "pw"),
            Err(WalletError::Corrupt { .. })
        ));
    }

    #[test]
    fn secret_keyfile_round_trips_and_detects_corruption() {
        let (pair, phrase) = Keypair::generate();
        let data = KeyfileData::secret(&pair, Some(&phrase));
        let parsed = KeyfileData::from_json(&data.to_json()).unwrap();
        assert_eq!(parsed.keypair().unwrap().public(), pair.public());
        // Only the private key: still loads.
        let only_private = KeyfileData {
            private_key: data.private_key.clone(),
            ..KeyfileData::default()
        };
        assert_eq!(only_private.keypair().unwrap().public(), pair.public());
        // Mismatched public key: refused.
        let other = Keypair::from_uri("//Bob").unwrap().public();
        let mut bad = parsed.clone();
        bad.public_key = Some(other.to_hex());
        assert!(matches!(bad.keypair(), Err(WalletError::Corrupt { .. })));
        let public = KeyfileData::public(&pair.public());
        assert!(matches!(public.keypair(), Err(WalletError::NoSecret)));
        assert_eq!(public.stored_public().unwrap(), Some(pair.public()));
        assert!(format!("{data:?}").contains("has_secret: true"));
        assert!(!format!("{data:?}").contains(&phrase));
    }
}
