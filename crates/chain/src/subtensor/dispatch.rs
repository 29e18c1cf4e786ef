//! What the node answers to a submitted extrinsic, as [`ChainError`]s: a failed dispatch by the
//! runtime's own error name (also the inner call of a `Sudo.sudo`, reported in its `Sudid`
//! event), and a transaction the node refuses before dispatch with its `Custom` code.

use crate::error::{ChainError, ChainResult, PalletError};

/// A transaction-validity refusal, with the `Custom` code when the message carries one (a
/// substrate node's `Custom error: 5`, chopsticks' `{"invalid":{"custom":5}}`, or `Custom(5)`).
pub fn invalid_transaction(message: String) -> ChainError {
    let lower = message.to_ascii_lowercase();
    let custom = ["custom error:", "\"custom\":", "custom("]
        .iter()
        .find_map(|tag| {
            let at = lower.find(tag)? + tag.len();
            let digits: String = lower[at..]
                .chars()
                .skip_while(|c| c.is_whitespace())
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        });
    ChainError::InvalidTransaction {
        reason: message,
        custom,
    }
}

/// The inner result of a `Sudo.sudo`: `Sudid { sudo_result: Result<(), DispatchError> }`.
pub(super) fn sudo_result(field_bytes: &[u8], metadata: subxt::ArcMetadata) -> ChainResult<()> {
    match field_bytes.split_first() {
        Some((0, _)) => Ok(()),
        Some((1, err)) => match subxt::error::DispatchError::decode_from(err, metadata) {
            Ok(e) => Err(named_dispatch_error(e)),
            Err(e) => Err(ChainError::Decode {
                what: "Sudo.Sudid result".into(),
                reason: e.to_string(),
            }),
        },
        _ => Err(ChainError::Decode {
            what: "Sudo.Sudid result".into(),
            reason: format!("unexpected bytes {}", hex::encode(field_bytes)),
        }),
    }
}

/// A dispatch error by the runtime's name: typed when this crate names it.
fn named_dispatch_error(err: subxt::error::DispatchError) -> ChainError {
    use subxt::error::DispatchError;
    match err {
        DispatchError::Module(module) => match module.details() {
            Ok(details) => {
                let name = details.variant.name.clone();
                let pallet = details.pallet.name().to_owned();
                match PalletError::from_name(&name).filter(|e| e.pallet() == pallet) {
                    Some(error) => ChainError::rejected(error, format!("{pallet}::{name}")),
                    None => ChainError::OtherDispatch { pallet, name },
                }
            }
            Err(e) => ChainError::Decode {
                what: "module error".into(),
                reason: e.to_string(),
            },
        },
        DispatchError::BadOrigin => ChainError::OtherDispatch {
            pallet: "System".into(),
            name: "BadOrigin".into(),
        },
        other => ChainError::OtherDispatch {
            pallet: "System".into(),
            name: other.to_string(),
        },
    }
}

/// A failed extrinsic's error, by name when it is a pallet error.
pub(super) fn dispatch_error(err: subxt::error::TransactionEventsError) -> ChainError {
    use subxt::error::TransactionEventsError;
    match err {
        TransactionEventsError::ExtrinsicFailed(e) => named_dispatch_error(e),
        other => ChainError::NotIncluded(other.to_string()),
    }
}
