//! The extrinsics a subnet sends, built from the runtime's own metadata: the call's argument
//! list is read from the metadata and every argument is filled by name from what we know.
//!
//! A call the runtime lacks is [`ChainError::Unsupported`] naming it ("this runtime has no
//! SubtensorModule.commit_timelocked_weights"). An argument the runtime asks for that we cannot
//! fill, or one we must pass that the runtime does not take, is [`ChainError::Metadata`] naming
//! the call and the argument. Some arguments are passed only when the runtime takes them:
//! `register_network`'s `mechid` (spec 218 takes one and accepts only 1, the dynamic-TAO pool;
//! finney's takes none), `serve_axon`'s two placeholders. The values are then encoded by subxt
//! against the argument's type in the metadata, so a newtype (`NetUid(u16)`) or a compact takes
//! the same value.

use omron_keys::AccountId;
use subxt::Metadata;
use subxt::dynamic::Value;
use subxt::ext::scale_value::Composite;
use subxt::tx::DynamicPayload;

use crate::error::{ChainError, ChainResult};
use crate::types::{MAX_COMMITMENT_BYTES, NetUid, Rao, ServeAxon, Uid};

/// The pallet holding registration, serving and weights.
pub const SUBTENSOR: &str = "SubtensorModule";
/// The pallet holding commitments.
pub const COMMITMENTS: &str = "Commitments";
/// The pallet of the subnet hyperparameter setters (`sudo_set_*`).
pub const ADMIN_UTILS: &str = "AdminUtils";
/// The sudo pallet.
pub const SUDO: &str = "Sudo";
/// Balances.
pub const BALANCES: &str = "Balances";

/// The dynamic-TAO mechanism id `register_network` takes where it takes one.
pub const DYNAMIC_MECHANISM: u16 = 1;

/// A call as subxt submits it.
pub type CallPayload = DynamicPayload<Composite<()>>;

/// How an argument is passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// The runtime's call must take it.
    Always,
    /// Passed when the runtime's call takes it, dropped otherwise.
    IfTaken,
}

/// One argument, by the name the runtime gives it.
#[derive(Clone, Debug)]
pub struct Arg {
    /// The argument's name in the metadata.
    pub name: &'static str,
    /// Its value.
    pub value: Value,
    /// Whether the runtime must take it.
    pub pass: Pass,
}

/// An argument the runtime's call must take.
pub fn arg(name: &'static str, value: Value) -> Arg {
    Arg {
        name,
        value,
        pass: Pass::Always,
    }
}

/// An argument passed only when the runtime's call takes it.
pub fn arg_if_taken(name: &'static str, value: Value) -> Arg {
    Arg {
        name,
        value,
        pass: Pass::IfTaken,
    }
}

/// Whether the runtime has the call `pallet.call`.
pub fn has_call(metadata: &Metadata, pallet: &str, call: &str) -> bool {
    metadata
        .pallet_by_name(pallet)
        .and_then(|p| p.call_variant_by_name(call))
        .is_some()
}

/// The call's argument names in the runtime's order.
pub fn call_args(metadata: &Metadata, pallet: &str, call: &str) -> ChainResult<Vec<String>> {
    let variant = metadata
        .pallet_by_name(pallet)
        .and_then(|p| p.call_variant_by_name(call))
        .ok_or_else(|| ChainError::Unsupported(format!("{pallet}.{call}")))?;
    Ok(variant
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| f.name.clone().unwrap_or_else(|| i.to_string()))
        .collect())
}

/// Builds `pallet.call` with the runtime's argument list, each argument taken by name from
/// `args` (see the module docs for the errors).
pub fn build(
    metadata: &Metadata,
    pallet: &str,
    call: &str,
    mut args: Vec<Arg>,
) -> ChainResult<CallPayload> {
    let wanted = call_args(metadata, pallet, call)?;
    if let Some(extra) = args
        .iter()
        .find(|a| a.pass == Pass::Always && !wanted.iter().any(|w| w == a.name))
    {
        return Err(ChainError::Metadata(format!(
            "{pallet}.{call} takes no argument `{}` (it takes {})",
            extra.name,
            wanted.join(", ")
        )));
    }
    let mut fields = Vec::with_capacity(wanted.len());
    for name in wanted {
        let Some(pos) = args.iter().position(|a| a.name == name) else {
            return Err(ChainError::Metadata(format!(
                "{pallet}.{call} takes `{name}`, which this client cannot fill"
            )));
        };
        fields.push((name, args.swap_remove(pos).value));
    }
    Ok(subxt::dynamic::tx(pallet, call, Composite::named(fields)))
}

fn uint(v: impl Into<u128>) -> Value {
    Value::u128(v.into())
}

fn u16s(values: &[u16]) -> Value {
    Value::unnamed_composite(values.iter().map(|v| uint(*v)))
}

fn account(a: &AccountId) -> Value {
    Value::from_bytes(a.as_bytes())
}

/// An account as a `MultiAddress::Id` (what `Balances` and `Sudo` take for a destination).
fn lookup(a: &AccountId) -> Value {
    Value::unnamed_variant("Id", [account(a)])
}

/// `SubtensorModule.set_weights(netuid, dests, weights, version_key)`, signed by the hotkey.
pub fn set_weights(
    md: &Metadata,
    netuid: NetUid,
    uids: &[Uid],
    weights: &[u16],
    version_key: u64,
) -> ChainResult<CallPayload> {
    build(
        md,
        SUBTENSOR,
        "set_weights",
        vec![
            arg("netuid", uint(netuid)),
            arg("dests", u16s(uids)),
            arg("weights", u16s(weights)),
            arg("version_key", uint(version_key)),
        ],
    )
}

/// `SubtensorModule.serve_axon(...)`, signed by the hotkey.
pub fn serve_axon(md: &Metadata, netuid: NetUid, axon: &ServeAxon) -> ChainResult<CallPayload> {
    let (ip, ip_type) = axon.ip_parts();
    build(
        md,
        SUBTENSOR,
        "serve_axon",
        vec![
            arg("netuid", uint(netuid)),
            arg("version", uint(axon.version)),
            arg("ip", uint(ip)),
            arg("port", uint(axon.port)),
            arg("ip_type", uint(ip_type)),
            arg("protocol", uint(axon.protocol)),
            arg_if_taken("placeholder1", uint(0u8)),
            arg_if_taken("placeholder2", uint(0u8)),
        ],
    )
}

/// `SubtensorModule.burned_register(netuid, hotkey)`, signed by the coldkey.
pub fn burned_register(
    md: &Metadata,
    netuid: NetUid,
    hotkey: &AccountId,
) -> ChainResult<CallPayload> {
    build(
        md,
        SUBTENSOR,
        "burned_register",
        vec![arg("netuid", uint(netuid)), arg("hotkey", account(hotkey))],
    )
}

/// `SubtensorModule.commit_weights(netuid, commit_hash)` (CRv2), signed by the hotkey.
pub fn commit_weights(
    md: &Metadata,
    netuid: NetUid,
    commit_hash: &[u8; 32],
) -> ChainResult<CallPayload> {
    build(
        md,
        SUBTENSOR,
        "commit_weights",
        vec![
            arg("netuid", uint(netuid)),
            arg("commit_hash", Value::from_bytes(commit_hash)),
        ],
    )
}

/// `SubtensorModule.reveal_weights(netuid, uids, values, salt, version_key)`, signed by the hotkey.
pub fn reveal_weights(
    md: &Metadata,
    netuid: NetUid,
    uids: &[Uid],
    values: &[u16],
    salt: &[u16],
    version_key: u64,
) -> ChainResult<CallPayload> {
    build(
        md,
        SUBTENSOR,
        "reveal_weights",
        vec![
            arg("netuid", uint(netuid)),
            arg("uids", u16s(uids)),
            arg("values", u16s(values)),
            arg("salt", u16s(salt)),
            arg("version_key", uint(version_key)),
        ],
    )
}

/// `Commitments.set_commitment(netuid, info)` with one `Raw<len>` field, signed by the hotkey.
pub fn set_commitment(md: &Metadata, netuid: NetUid, data: &[u8]) -> ChainResult<CallPayload> {
    if data.len() > MAX_COMMITMENT_BYTES {
        return Err(ChainError::InvalidArgument {
            what: "data",
            reason: format!("{} bytes, at most {MAX_COMMITMENT_BYTES}", data.len()),
        });
    }
    let field = Value::unnamed_variant(format!("Raw{}", data.len()), [Value::from_bytes(data)]);
    let info = Value::named_composite([("fields", Value::unnamed_composite([field]))]);
    build(
        md,
        COMMITMENTS,
        "set_commitment",
        vec![arg("netuid", uint(netuid)), arg("info", info)],
    )
}

/// `SubtensorModule.register_network(hotkey[, mechid])`, signed by the owner coldkey: the
/// runtime's current lock cost is burned and `hotkey` becomes uid 0 of the new subnet.
pub fn register_network(md: &Metadata, hotkey: &AccountId) -> ChainResult<CallPayload> {
    build(
        md,
        SUBTENSOR,
        "register_network",
        vec![
            arg("hotkey", account(hotkey)),
            arg_if_taken("mechid", uint(DYNAMIC_MECHANISM)),
        ],
    )
}

/// `SubtensorModule.add_stake(hotkey, netuid, amount_staked)`, signed by the coldkey.
pub fn add_stake(
    md: &Metadata,
    hotkey: &AccountId,
    netuid: NetUid,
    amount: Rao,
) -> ChainResult<CallPayload> {
    build(
        md,
        SUBTENSOR,
        "add_stake",
        vec![
            arg("hotkey", account(hotkey)),
            arg("netuid", uint(netuid)),
            arg("amount_staked", uint(amount)),
        ],
    )
}

/// `Balances.transfer_keep_alive(dest, value)`, signed by the payer.
pub fn transfer(md: &Metadata, dest: &AccountId, amount: Rao) -> ChainResult<CallPayload> {
    build(
        md,
        BALANCES,
        "transfer_keep_alive",
        vec![arg("dest", lookup(dest)), arg("value", uint(amount))],
    )
}

/// `Balances.force_set_balance(who, new_free)` (root only: wrap it in [`sudo`]).
pub fn force_set_balance(md: &Metadata, who: &AccountId, free: Rao) -> ChainResult<CallPayload> {
    build(
        md,
        BALANCES,
        "force_set_balance",
        vec![arg("who", lookup(who)), arg("new_free", uint(free))],
    )
}

/// `Sudo.sudo(call)`: `call` dispatched with the root origin, signed by the sudo key. The
/// inner call's own result comes back in the `Sudo.Sudid` event, not as the extrinsic's.
pub fn sudo(md: &Metadata, call: CallPayload) -> ChainResult<CallPayload> {
    build(md, SUDO, "sudo", vec![arg("call", call.into_value())])
}

/// `AdminUtils.<setter>(netuid, <value>)`: a per-subnet hyperparameter setter such as
/// `sudo_set_tempo`, whose second argument's name is read from the metadata (root only or
/// subnet owner, depending on the setter: wrap it in [`sudo`] for root).
pub fn admin_set(
    md: &Metadata,
    setter: &str,
    netuid: NetUid,
    value: Value,
) -> ChainResult<CallPayload> {
    let args = call_args(md, ADMIN_UTILS, setter)?;
    let [first, second] = args.as_slice() else {
        return Err(ChainError::Metadata(format!(
            "{ADMIN_UTILS}.{setter} takes ({}), not (netuid, value)",
            args.join(", ")
        )));
    };
    if first != "netuid" {
        return Err(ChainError::Metadata(format!(
            "{ADMIN_UTILS}.{setter} takes ({first}, {second}), not (netuid, value)"
        )));
    }
    let fields = vec![("netuid".to_owned(), uint(netuid)), (second.clone(), value)];
    Ok(subxt::dynamic::tx(
        ADMIN_UTILS,
        setter,
        Composite::named(fields),
    ))
}

/// `AdminUtils.<setter>(<value>)`: a global setter such as `sudo_set_network_rate_limit`
/// (root only: wrap it in [`sudo`]).
pub fn admin_set_global(md: &Metadata, setter: &str, value: Value) -> ChainResult<CallPayload> {
    let args = call_args(md, ADMIN_UTILS, setter)?;
    let [only] = args.as_slice() else {
        return Err(ChainError::Metadata(format!(
            "{ADMIN_UTILS}.{setter} takes ({}), not one value",
            args.join(", ")
        )));
    };
    Ok(subxt::dynamic::tx(
        ADMIN_UTILS,
        setter,
        Composite::named([(only.clone(), value)]),
    ))
}
