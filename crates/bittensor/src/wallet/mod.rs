//! Bittensor wallets on disk, in the layout btcli and the SDK use:
//!
//! ```text
//! <root>/<name>/coldkey              secret, normally $NACL-encrypted
//! <root>/<name>/coldkeypub.txt       public
//! <root>/<name>/hotkeys/<hotkey>     secret, normally plaintext
//! <root>/<name>/hotkeys/<hotkey>pub.txt
//! ```
//!
//! Files are written with mode 0600 (directories 0700), through a temporary file and a rename,
//! so a crash never leaves half a key; existing keys are never overwritten.

mod keyfile;
mod password;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use omron_keys::{AccountId, KeyError, Keypair};
use zeroize::Zeroizing;

pub use keyfile::{
    ARGON2_MEMORY_KIB, ARGON2_PASSES, CRYPTO_TYPE_SR25519, Encryption, KeyfileData, NACL_PREFIX,
    NACL_SALT, NaclKey, decrypt, detect_encryption, encrypt,
};
pub use password::{
    ENV_PASSWORD, ENV_PASSWORD_FILE, deobfuscate_from_env, keyfile_env_var, obfuscate_for_env,
    password_from_env,
};

/// The SDK's default wallet root, relative to the home directory.
pub const DEFAULT_WALLET_PATH: &str = "~/.bittensor/wallets";

/// Everything that can go wrong with wallet files.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// A file or directory operation failed.
    #[error("{path}: {reason}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// A key file does not exist.
    #[error("{path} does not exist (create it with `omron wallet create`)")]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },
    /// Refusing to overwrite an existing key.
    #[error("{path} already exists; refusing to overwrite a key")]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// The password does not decrypt the keyfile.
    #[error("wrong password: the keyfile could not be decrypted")]
    WrongPassword,
    /// The keyfile is encrypted and no password was given.
    #[error("{path} is encrypted: a password is needed (prompt, or BT_WALLET_PASSWORD)")]
    PasswordRequired {
        /// The encrypted file.
        path: PathBuf,
    },
    /// ansible-vault or Fernet: formats of very old SDKs.
    #[error(
        "keyfile uses the legacy {format:?} encryption, which is not supported; re-create or re-encrypt it with a current btcli"
    )]
    LegacyEncryption {
        /// The format found.
        format: Encryption,
    },
    /// The keyfile content is not a valid key.
    #[error("corrupt keyfile: {reason}")]
    Corrupt {
        /// What is wrong.
        reason: String,
    },
    /// The keyfile holds only a public key.
    #[error("keyfile holds no secret (phrase, seed or private key)")]
    NoSecret,
    /// Not an sr25519 key.
    #[error("keyfile has cryptoType {actual}; only sr25519 (1) is supported")]
    UnsupportedCryptoType {
        /// The stored type.
        actual: u8,
    },
    /// A key inside the file is invalid.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The key derivation failed (should not happen with the fixed parameters).
    #[error("argon2: {0}")]
    Kdf(String),
    /// A password variable is set but unreadable.
    #[error("{var}: {reason}")]
    PasswordEnv {
        /// The variable.
        var: String,
        /// What is wrong.
        reason: String,
    },
    /// A wallet or hotkey name that would escape the wallet directory.
    #[error("invalid {what} name {name:?}: use letters, digits, '-', '_' or '.'")]
    InvalidName {
        /// "wallet" or "hotkey".
        what: &'static str,
        /// The name given.
        name: String,
    },
}

fn io_err(path: &Path, e: std::io::Error) -> WalletError {
    if e.kind() == std::io::ErrorKind::NotFound {
        WalletError::NotFound {
            path: path.to_owned(),
        }
    } else {
        WalletError::Io {
            path: path.to_owned(),
            reason: e.to_string(),
        }
    }
}

/// Expands a leading `~` to `$HOME`.
pub fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            let home = std::env::var_os("HOME").unwrap_or_default();
            let mut p = PathBuf::from(home);
            p.push(rest.trim_start_matches('/'));
            p
        }
        _ => PathBuf::from(path),
    }
}

fn check_name(what: &'static str, name: &str) -> Result<(), WalletError> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(WalletError::InvalidName {
            what,
            name: name.to_owned(),
        })
    }
}

/// A key that was just created: its address and the mnemonic to write down.
pub struct CreatedKey {
    /// The address.
    pub account: AccountId,
    /// The 12-word recovery phrase.
    pub mnemonic: Zeroizing<String>,
}

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// One wallet found by [`Wallet::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletSummary {
    /// Wallet name.
    pub name: String,
    /// Coldkey address, if `coldkeypub.txt` is readable.
    pub coldkey: Option<AccountId>,
    /// Hotkeys: name and address (if readable), sorted by name.
    pub hotkeys: Vec<(String, Option<AccountId>)>,
}

/// A wallet: a root folder, a wallet name and a hotkey name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallet {
    root: PathBuf,
    name: String,
    hotkey: String,
}

impl Wallet {
    /// A handle on `<root>/<name>` with hotkey `hotkey` (nothing is read yet). Names may not
    /// contain path separators.
    pub fn new(root: impl Into<PathBuf>, name: &str, hotkey: &str) -> Result<Self, WalletError> {
        check_name("wallet", name)?;
        check_name("hotkey", hotkey)?;
        Ok(Self {
            root: root.into(),
            name: name.to_owned(),
            hotkey: hotkey.to_owned(),
        })
    }

    /// The wallet name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The hotkey name.
    pub fn hotkey_name(&self) -> &str {
        &self.hotkey
    }

    /// `<root>/<name>`.
    pub fn dir(&self) -> PathBuf {
        self.root.join(&self.name)
    }

    /// `<root>/<name>/coldkey`.
    pub fn coldkey_path(&self) -> PathBuf {
        self.dir().join("coldkey")
    }

    /// `<root>/<name>/coldkeypub.txt`.
    pub fn coldkeypub_path(&self) -> PathBuf {
        self.dir().join("coldkeypub.txt")
    }

    /// `<root>/<name>/hotkeys/<hotkey>`.
    pub fn hotkey_path(&self) -> PathBuf {
        self.dir().join("hotkeys").join(&self.hotkey)
    }

    /// `<root>/<name>/hotkeys/<hotkey>pub.txt`.
    pub fn hotkeypub_path(&self) -> PathBuf {
        self.dir()
            .join("hotkeys")
            .join(format!("{}pub.txt", self.hotkey))
    }

    fn read(path: &Path) -> Result<Vec<u8>, WalletError> {
        fs::read(path).map_err(|e| io_err(path, e))
    }

    fn read_plain(path: &Path) -> Result<KeyfileData, WalletError> {
        let bytes = Self::read(path)?;
        match detect_encryption(&bytes) {
            Encryption::None => KeyfileData::from_json(&bytes).map_err(|e| in_file(path, e)),
            Encryption::Nacl => Err(WalletError::PasswordRequired {
                path: path.to_owned(),
            }),
            format => Err(WalletError::LegacyEncryption { format }),
        }
    }

    fn read_with_password(path: &Path, password: Option<&str>) -> Result<KeyfileData, WalletError> {
        let bytes = Self::read(path)?;
        match (detect_encryption(&bytes), password) {
            (Encryption::None, _) => KeyfileData::from_json(&bytes).map_err(|e| in_file(path, e)),
            (Encryption::Nacl, None) => Err(WalletError::PasswordRequired {
                path: path.to_owned(),
            }),
            (Encryption::Nacl, Some(pw)) => {
                let plain = decrypt(&bytes, pw)?;
                KeyfileData::from_json(&plain).map_err(|e| in_file(path, e))
            }
            (format, _) => Err(WalletError::LegacyEncryption { format }),
        }
    }

    /// The coldkey address, from `coldkeypub.txt`.
    pub fn coldkey_public(&self) -> Result<AccountId, WalletError> {
        let path = self.coldkeypub_path();
        Self::read_plain(&path)?
            .stored_public()
            .map_err(|e| in_file(&path, e))?
            .ok_or_else(|| in_file(&path, WalletError::NoSecret))
    }

    /// True when the coldkey file is encrypted.
    pub fn coldkey_is_encrypted(&self) -> Result<bool, WalletError> {
        let path = self.coldkey_path();
        Ok(detect_encryption(&Self::read(&path)?) != Encryption::None)
    }

    /// The coldkey pair; `password` is needed when it is encrypted. The result must match
    /// `coldkeypub.txt` when that file exists.
    pub fn coldkey(&self, password: Option<&str>) -> Result<Keypair, WalletError> {
        let path = self.coldkey_path();
        let pair = Self::read_with_password(&path, password)?
            .keypair()
            .map_err(|e| in_file(&path, e))?;
        if self.coldkeypub_path().exists() {
            let public = self.coldkey_public()?;
            if public != pair.public() {
                return Err(WalletError::Corrupt {
                    reason: format!(
                        "coldkey is {} but coldkeypub.txt says {}",
                        pair.public(),
                        public
                    ),
                });
            }
        }
        Ok(pair)
    }

    /// The hotkey pair (hotkeys are normally plaintext).
    pub fn hotkey(&self) -> Result<Keypair, WalletError> {
        self.hotkey_with_password(None)
    }

    /// The hotkey pair, decrypting it with `password` if it is encrypted.
    pub fn hotkey_with_password(&self, password: Option<&str>) -> Result<Keypair, WalletError> {
        let path = self.hotkey_path();
        Self::read_with_password(&path, password)?
            .keypair()
            .map_err(|e| in_file(&path, e))
    }

    /// The hotkey address: `<hotkey>pub.txt` if present, else the (plaintext) hotkey file.
    pub fn hotkey_public(&self) -> Result<AccountId, WalletError> {
        let pub_path = self.hotkeypub_path();
        if pub_path.exists()
            && let Some(id) = Self::read_plain(&pub_path)?
                .stored_public()
                .map_err(|e| in_file(&pub_path, e))?
        {
            return Ok(id);
        }
        let path = self.hotkey_path();
        let data = Self::read_plain(&path)?;
        match data.stored_public().map_err(|e| in_file(&path, e))? {
            Some(id) => Ok(id),
            None => Ok(data.keypair().map_err(|e| in_file(&path, e))?.public()),
        }
    }

    /// Creates a new coldkey (and `coldkeypub.txt`), encrypted when `password` is given.
    pub fn create_coldkey(&self, password: Option<&str>) -> Result<CreatedKey, WalletError> {
        for p in [self.coldkey_path(), self.coldkeypub_path()] {
            if p.exists() {
                return Err(WalletError::AlreadyExists { path: p });
            }
        }
        let (pair, phrase) = Keypair::generate();
        let phrase = Zeroizing::new(phrase);
        self.write_coldkey(&pair, Some(&phrase), password)?;
        Ok(CreatedKey {
            account: pair.public(),
            mnemonic: phrase,
        })
    }

    /// Writes a given coldkey (for imports and tests). Refuses to overwrite.
    pub fn write_coldkey(
        &self,
        pair: &Keypair,
        phrase: Option<&str>,
        password: Option<&str>,
    ) -> Result<(), WalletError> {
        let secret = KeyfileData::secret(pair, phrase).to_json();
        let bytes = match password {
            Some(pw) => Zeroizing::new(encrypt(&secret, pw)?),
            None => secret,
        };
        write_new(&self.coldkey_path(), &bytes)?;
        write_new(
            &self.coldkeypub_path(),
            &KeyfileData::public(&pair.public()).to_json(),
        )
    }

    /// Creates a new plaintext hotkey (and its `pub.txt`).
    pub fn create_hotkey(&self) -> Result<CreatedKey, WalletError> {
        for p in [self.hotkey_path(), self.hotkeypub_path()] {
            if p.exists() {
                return Err(WalletError::AlreadyExists { path: p });
            }
        }
        let (pair, phrase) = Keypair::generate();
        let phrase = Zeroizing::new(phrase);
        self.write_hotkey(&pair, Some(&phrase))?;
        Ok(CreatedKey {
            account: pair.public(),
            mnemonic: phrase,
        })
    }

    /// Writes a given plaintext hotkey (for imports and tests). Refuses to overwrite.
    pub fn write_hotkey(&self, pair: &Keypair, phrase: Option<&str>) -> Result<(), WalletError> {
        write_new(
            &self.hotkey_path(),
            &KeyfileData::secret(pair, phrase).to_json(),
        )?;
        write_new(
            &self.hotkeypub_path(),
            &KeyfileData::public(&pair.public()).to_json(),
        )
    }

    /// The wallets under `root`, sorted by name. Unreadable keys show as `None`.
    pub fn list(root: &Path) -> Result<Vec<WalletSummary>, WalletError> {
        let entries = match fs::read_dir(root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(root, e)),
        };
        let mut wallets = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_err(root, e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if !entry.path().is_dir() || check_name("wallet", &name).is_err() {
                continue;
            }
            let probe = Wallet::new(root, &name, "default")?;
            let coldkey = probe.coldkey_public().ok();
            let mut hotkeys = Vec::new();
            if let Ok(dir) = fs::read_dir(probe.dir().join("hotkeys")) {
                for hk in dir.flatten() {
                    let Ok(hk_name) = hk.file_name().into_string() else {
                        continue;
                    };
                    if hk_name.ends_with("pub.txt") || !hk.path().is_file() {
                        continue;
                    }
                    let account = Wallet::new(root, &name, &hk_name)
                        .and_then(|w| w.hotkey_public())
                        .ok();
                    hotkeys.push((hk_name, account));
                }
            }
            hotkeys.sort();
            if coldkey.is_some() || !hotkeys.is_empty() || probe.coldkey_path().exists() {
                wallets.push(WalletSummary {
                    name,
                    coldkey,
                    hotkeys,
                });
            }
        }
        wallets.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(wallets)
    }
}

/// Adds the file to a corrupt-keyfile message.
fn in_file(path: &Path, e: WalletError) -> WalletError {
    match e {
        WalletError::Corrupt { reason } => WalletError::Corrupt {
            reason: format!("{}: {reason}", path.display()),
        },
        WalletError::NoSecret => WalletError::Corrupt {
            reason: format!("{}: holds no key", path.display()),
        },
        other => other,
    }
}

/// Writes `bytes` to a new file `path` with mode 0600, via a temporary file and a rename.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), WalletError> {
    let dir = path.parent().ok_or_else(|| WalletError::Io {
        path: path.to_owned(),
        reason: "no parent directory".into(),
    })?;
    create_private_dirs(dir)?;
    if path.exists() {
        return Err(WalletError::AlreadyExists {
            path: path.to_owned(),
        });
    }
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(|e| io_err(&tmp, e))?;
        file.write_all(bytes).map_err(|e| io_err(&tmp, e))?;
        file.sync_all().map_err(|e| io_err(&tmp, e))?;
        // hard_link fails if the target exists, so a key created concurrently is never replaced.
        fs::hard_link(&tmp, path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                WalletError::AlreadyExists {
                    path: path.to_owned(),
                }
            } else {
                io_err(path, e)
            }
        })
    })();
    let _ = fs::remove_file(&tmp);
    result
}

/// Creates `dir` and its missing parents with mode 0700.
fn create_private_dirs(dir: &Path) -> Result<(), WalletError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| io_err(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_escape_the_root() {
        assert!(Wallet::new("/tmp", "../x", "default").is_err());
        assert!(Wallet::new("/tmp", "a", "b/c").is_err());
        assert!(Wallet::new("/tmp", "", "b").is_err());
        let w = Wallet::new("/r", "miner", "default").unwrap();
        assert_eq!(
            w.hotkeypub_path(),
            PathBuf::from("/r/miner/hotkeys/defaultpub.txt")
        );
    }

    #[test]
    fn expand_home_only_touches_a_leading_tilde() {
        let home = std::env::var("HOME").unwrap_or_default();
        assert_eq!(
            expand_home("~/.bittensor"),
            PathBuf::from(format!("{home}/.bittensor"))
        );
        assert_eq!(expand_home("/a/~b"), PathBuf::from("/a/~b"));
    }

    #[test]
    fn create_list_load_plaintext_and_refuse_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let w = Wallet::new(dir.path(), "w1", "hk").unwrap();
        let cold = w.create_coldkey(None).unwrap();
        let hot = w.create_hotkey().unwrap();
        assert_eq!(w.coldkey_public().unwrap(), cold.account);
        assert_eq!(w.coldkey(None).unwrap().public(), cold.account);
        assert_eq!(w.hotkey().unwrap().public(), hot.account);
        assert_eq!(w.hotkey_public().unwrap(), hot.account);
        assert_eq!(
            Keypair::from_mnemonic(&hot.mnemonic, None)
                .unwrap()
                .public(),
            hot.account
        );
        assert!(matches!(
            w.create_hotkey(),
            Err(WalletError::AlreadyExists { .. })
        ));
        assert!(matches!(
            w.create_coldkey(None),
            Err(WalletError::AlreadyExists { .. })
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for p in [
                w.coldkey_path(),
                w.coldkeypub_path(),
                w.hotkey_path(),
                w.hotkeypub_path(),
            ] {
                let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", p.display());
            }
        }
        let listed = Wallet::list(dir.path()).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].coldkey, Some(cold.account));
        assert_eq!(
            listed[0].hotkeys,
            vec![("hk".to_owned(), Some(hot.account))]
        );
        // No temporary files left behind.
        let names: Vec<_> = fs::read_dir(w.dir())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(Wallet::list(&dir.path().join("nope")).unwrap().is_empty());
    }

    #[test]
    fn missing_and_corrupt_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let w = Wallet::new(dir.path(), "w", "default").unwrap();
        assert!(matches!(w.hotkey(), Err(WalletError::NotFound { .. })));
        fs::create_dir_all(w.dir().join("hotkeys")).unwrap();
        fs::write(w.hotkey_path(), b"not json").unwrap();
        let err = w.hotkey().unwrap_err();
        assert!(err.to_string().contains("corrupt keyfile"), "{err}");
        assert!(err.to_string().contains("hotkeys/default"), "{err}");
    }
}
