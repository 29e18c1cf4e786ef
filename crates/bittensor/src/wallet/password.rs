//! Where a coldkey password comes from when nobody types it: the SDK's environment variables.
//!
//! * `BT_WALLET_PASSWORD`: the password in clear (SDK 11).
//! * `BT_PW_<PATH>`: per keyfile, `<PATH>` being the keyfile path with `/` and `.` replaced by
//!   `_`, uppercased; the value is base64 of the password XOR-ed with the variable's name
//!   (bittensor-wallet's `save_password_to_environment`; an obfuscation, not encryption).
//! * `BT_WALLET_PASSWORD_FILE`: a file whose first line is the password (SDK 11).

use std::path::Path;

use base64::Engine;
use zeroize::Zeroizing;

use super::WalletError;

/// The clear-text password variable.
pub const ENV_PASSWORD: &str = "BT_WALLET_PASSWORD";
/// The password-file variable.
pub const ENV_PASSWORD_FILE: &str = "BT_WALLET_PASSWORD_FILE";

/// `BT_PW_<PATH>` for a keyfile path.
pub fn keyfile_env_var(keyfile: &Path) -> String {
    let normalized: String = keyfile
        .to_string_lossy()
        .chars()
        .map(|c| if c == '/' || c == '.' { '_' } else { c })
        .collect();
    format!("BT_PW_{}", normalized.to_uppercase())
}

/// XOR `data` with the repeated bytes of `key`.
fn xor_with(data: &[u8], key: &[u8]) -> Vec<u8> {
    data.iter()
        .zip(key.iter().cycle())
        .map(|(d, k)| d ^ k)
        .collect()
}

/// The value bittensor-wallet stores in `var` for `password`.
pub fn obfuscate_for_env(var: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(xor_with(password.as_bytes(), var.as_bytes()))
}

/// Reverses [`obfuscate_for_env`].
pub fn deobfuscate_from_env(var: &str, value: &str) -> Result<Zeroizing<String>, WalletError> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| WalletError::PasswordEnv {
            var: var.to_owned(),
            reason: "invalid base64".into(),
        })?;
    String::from_utf8(xor_with(&raw, var.as_bytes()))
        .map(Zeroizing::new)
        .map_err(|_| WalletError::PasswordEnv {
            var: var.to_owned(),
            reason: "not UTF-8 once decoded".into(),
        })
}

/// The password for `keyfile` from the environment, in the SDK 11 precedence:
/// `BT_WALLET_PASSWORD`, then `BT_PW_<PATH>`, then `BT_WALLET_PASSWORD_FILE`.
pub fn password_from_env(keyfile: &Path) -> Result<Option<Zeroizing<String>>, WalletError> {
    if let Ok(pw) = std::env::var(ENV_PASSWORD)
        && !pw.is_empty()
    {
        return Ok(Some(Zeroizing::new(pw)));
    }
    let var = keyfile_env_var(keyfile);
    if let Ok(value) = std::env::var(&var)
        && !value.is_empty()
    {
        return deobfuscate_from_env(&var, &value).map(Some);
    }
    if let Ok(file) = std::env::var(ENV_PASSWORD_FILE)
        && !file.is_empty()
    {
        let text = std::fs::read_to_string(&file).map_err(|e| WalletError::PasswordEnv {
            var: ENV_PASSWORD_FILE.to_owned(),
            reason: format!("cannot read {file}: {e}"),
        })?;
        let line = text.lines().next().unwrap_or("").trim().to_owned();
        return Ok(Some(Zeroizing::new(line)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_var_name_like_the_sdk() {
        assert_eq!(
            keyfile_env_var(Path::new("/root/.bittensor/wallets/default/coldkey")),
            "BT_PW__ROOT__BITTENSOR_WALLETS_DEFAULT_COLDKEY"
        );
    }

    #[test]
    fn obfuscation_matches_bittensor_wallet() {
        // Produced by bittensor-core's save_password_to_environment("BT_PW_TEST_X", ...).
        assert_eq!(
            obfuscate_for_env("BT_PW_TEST_X", "btwire-Test-Passw0rd!"),
            "ICAoOSU6eRE2Jyt1EjUsIyBvJiFy"
        );
        assert_eq!(
            *deobfuscate_from_env("BT_PW_TEST_X", "ICAoOSU6eRE2Jyt1EjUsIyBvJiFy").unwrap(),
            "btwire-Test-Passw0rd!"
        );
        assert!(deobfuscate_from_env("X", "%%%").is_err());
    }
}
