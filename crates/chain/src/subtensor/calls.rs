//! The subtensor extrinsics a subnet sends, as dynamic payloads: pallet, call and field names
//! from spec section 3.3, encoded against whatever runtime metadata the chain serves.

use subxt::dynamic::Value;
use subxt::ext::scale_value::Composite;
use subxt::tx::DynamicPayload;

use crate::error::ChainError;
use crate::types::{MAX_COMMITMENT_BYTES, NetUid, ServeAxon, Uid};

/// The pallet holding registration, serving and weights.
pub const SUBTENSOR: &str = "SubtensorModule";
/// The pallet holding commitments.
pub const COMMITMENTS: &str = "Commitments";

/// A call as subxt submits it.
pub type CallPayload = DynamicPayload<Composite<()>>;

fn uint(v: impl Into<u128>) -> Value {
    Value::u128(v.into())
}

fn u16s(values: &[u16]) -> Value {
    Value::unnamed_composite(values.iter().map(|v| uint(*v)))
}

fn named(pallet: &str, call: &str, fields: Vec<(&str, Value)>) -> CallPayload {
    let fields: Vec<(String, Value)> = fields
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    subxt::dynamic::tx(pallet, call, Composite::named(fields))
}

/// `SubtensorModule.set_weights(netuid, dests, weights, version_key)`, signed by the hotkey.
pub fn set_weights(netuid: NetUid, uids: &[Uid], weights: &[u16], version_key: u64) -> CallPayload {
    named(
        SUBTENSOR,
        "set_weights",
        vec![
            ("netuid", uint(netuid)),
            ("dests", u16s(uids)),
            ("weights", u16s(weights)),
            ("version_key", uint(version_key)),
        ],
    )
}

/// `SubtensorModule.serve_axon(...)`, signed by the hotkey.
pub fn serve_axon(netuid: NetUid, axon: &ServeAxon) -> CallPayload {
    let (ip, ip_type) = axon.ip_parts();
    named(
        SUBTENSOR,
        "serve_axon",
        vec![
            ("netuid", uint(netuid)),
            ("version", uint(axon.version)),
            ("ip", uint(ip)),
            ("port", uint(axon.port)),
            ("ip_type", uint(ip_type)),
            ("protocol", uint(axon.protocol)),
            ("placeholder1", uint(0u8)),
            ("placeholder2", uint(0u8)),
        ],
    )
}

/// `SubtensorModule.burned_register(netuid, hotkey)`, signed by the coldkey.
pub fn burned_register(netuid: NetUid, hotkey: &omron_keys::AccountId) -> CallPayload {
    named(
        SUBTENSOR,
        "burned_register",
        vec![
            ("netuid", uint(netuid)),
            ("hotkey", Value::from_bytes(hotkey.as_bytes())),
        ],
    )
}

/// `SubtensorModule.commit_weights(netuid, commit_hash)` (CRv2), signed by the hotkey.
pub fn commit_weights(netuid: NetUid, commit_hash: &[u8; 32]) -> CallPayload {
    named(
        SUBTENSOR,
        "commit_weights",
        vec![
            ("netuid", uint(netuid)),
            ("commit_hash", Value::from_bytes(commit_hash)),
        ],
    )
}

/// `SubtensorModule.reveal_weights(netuid, uids, values, salt, version_key)`, signed by the hotkey.
pub fn reveal_weights(
    netuid: NetUid,
    uids: &[Uid],
    values: &[u16],
    salt: &[u16],
    version_key: u64,
) -> CallPayload {
    named(
        SUBTENSOR,
        "reveal_weights",
        vec![
            ("netuid", uint(netuid)),
            ("uids", u16s(uids)),
            ("values", u16s(values)),
            ("salt", u16s(salt)),
            ("version_key", uint(version_key)),
        ],
    )
}

/// `Commitments.set_commitment(netuid, info)` with one `Raw<len>` field, signed by the hotkey.
pub fn set_commitment(netuid: NetUid, data: &[u8]) -> Result<CallPayload, ChainError> {
    if data.len() > MAX_COMMITMENT_BYTES {
        return Err(ChainError::InvalidArgument {
            what: "data",
            reason: format!("{} bytes, at most {MAX_COMMITMENT_BYTES}", data.len()),
        });
    }
    let field = Value::unnamed_variant(format!("Raw{}", data.len()), [Value::from_bytes(data)]);
    let info = Value::named_composite([("fields", Value::unnamed_composite([field]))]);
    Ok(named(
        COMMITMENTS,
        "set_commitment",
        vec![("netuid", uint(netuid)), ("info", info)],
    ))
}
