//! Keys from the ways Python callers give them: a secret URI (`//Alice`, `PHRASE//hard/soft`,
//! `0x<seed>`) or a BIP-39 mnemonic. Error messages never repeat the secret.

use omron_keys::{AccountId, Keypair};

use crate::error::Error;

/// The key of a secret URI.
pub(crate) fn from_uri(uri: &str, what: &str) -> Result<Keypair, Error> {
    Keypair::from_uri(uri).map_err(|e| Error::Key(format!("{what}: {e}")))
}

/// The caller's key from exactly one of `key_uri` and `mnemonic`.
pub(crate) fn caller(key_uri: Option<&str>, mnemonic: Option<&str>) -> Result<Keypair, Error> {
    match (key_uri, mnemonic) {
        (Some(uri), None) => from_uri(uri, "key_uri"),
        (None, Some(phrase)) => {
            Keypair::from_mnemonic(phrase, None).map_err(|e| Error::Key(format!("mnemonic: {e}")))
        }
        (None, None) => Err(Error::Key(
            "give key_uri (e.g. '//Alice' or 'PHRASE//path') or mnemonic: requests are signed \
             with a key the validator allows"
                .into(),
        )),
        (Some(_), Some(_)) => Err(Error::Key("give key_uri or mnemonic, not both".into())),
    }
}

/// A hotkey from its ss58 address.
pub(crate) fn account(ss58: &str, what: &str) -> Result<AccountId, Error> {
    AccountId::from_ss58(ss58.trim()).map_err(|e| Error::Input(format!("{what}: {e}")))
}

/// The ss58 address of the key of `key_uri` or `mnemonic` (exactly one): what a validator's
/// whitelist names, and what `Client.hotkey` shows.
#[pyo3::pyfunction]
#[pyo3(signature = (key_uri=None, mnemonic=None))]
pub(crate) fn ss58_address(
    key_uri: Option<&str>,
    mnemonic: Option<&str>,
) -> pyo3::PyResult<String> {
    Ok(caller(key_uri, mnemonic)?.public().to_ss58())
}
