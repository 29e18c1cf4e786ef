//! How each call changes the embedded chain's state, with the runtime's checks in the runtime's
//! order (spec section 3.3) and its error names.

use std::net::IpAddr;

use omron_keys::AccountId;
use rusqlite::Connection;

use super::ChainConfig;
use super::store;
use crate::commit_reveal::weights_commit_hash;
use crate::dev::{Call, CallOutput};
use crate::error::{ChainError, ChainResult, PalletError as E};
use crate::types::{
    AxonInfo, BlockNumber, Hyperparameters, MAX_COMMITMENT_BYTES, NetUid, Rao, ServeAxon,
    SubnetOwner, Uid, epoch_index,
};

/// At most this many unrevealed CRv2 commits per hotkey (the runtime's limit).
const MAX_UNREVEALED_COMMITS: usize = 10;

fn reject<T>(error: E, detail: impl Into<String>) -> ChainResult<T> {
    Err(ChainError::rejected(error, detail))
}

fn subnet(tx: &Connection, netuid: NetUid) -> ChainResult<store::SubnetRow> {
    match store::subnet(tx, netuid)? {
        Some(s) => Ok(s),
        None => reject(E::SubnetNotExists, format!("netuid {netuid}")),
    }
}

fn registered_uid(tx: &Connection, netuid: NetUid, hotkey: &AccountId) -> ChainResult<Uid> {
    match store::uid_of(tx, netuid, hotkey)? {
        Some(uid) => Ok(uid),
        None => reject(
            E::HotKeyNotRegisteredInSubNet,
            format!("{hotkey} on netuid {netuid}"),
        ),
    }
}

fn debit(tx: &Connection, who: &AccountId, amount: Rao, error: E) -> ChainResult<()> {
    let balance = store::balance(tx, who)?;
    if balance < amount {
        return reject(error, format!("{who} has {balance} rao, needs {amount}"));
    }
    store::set_balance(tx, who, balance - amount)
}

/// Applies one call for `signer` at `block`.
pub(super) fn apply(
    tx: &Connection,
    config: &ChainConfig,
    signer: &AccountId,
    block: BlockNumber,
    call: &Call,
) -> ChainResult<CallOutput> {
    match call {
        Call::BurnedRegister { netuid, hotkey } => {
            burned_register(tx, signer, *netuid, hotkey, block).map(CallOutput::Uid)
        }
        Call::ServeAxon { netuid, axon } => serve_axon(tx, signer, *netuid, axon, block),
        Call::SetWeights {
            netuid,
            uids,
            weights,
            version_key,
        } => {
            let s = subnet(tx, *netuid)?;
            if s.hyperparameters.commit_reveal_weights_enabled {
                return reject(
                    E::CommitRevealEnabled,
                    format!("netuid {netuid} uses commit-reveal"),
                );
            }
            set_weights(tx, &s, signer, uids, weights, *version_key, block, true)
        }
        Call::CommitWeights {
            netuid,
            commit_hash,
        } => commit(tx, signer, *netuid, commit_hash, block),
        Call::RevealWeights {
            netuid,
            uids,
            weights,
            salt,
            version_key,
        } => reveal(
            tx,
            signer,
            *netuid,
            uids,
            weights,
            salt,
            *version_key,
            block,
        ),
        Call::SetCommitment { netuid, data } => {
            subnet(tx, *netuid)?;
            if store::uid_of(tx, *netuid, signer)?.is_none() {
                return reject(
                    E::AccountNotAllowedCommit,
                    format!("{signer} not registered on {netuid}"),
                );
            }
            if data.len() > MAX_COMMITMENT_BYTES {
                return Err(ChainError::InvalidArgument {
                    what: "data",
                    reason: format!("{} bytes, at most {MAX_COMMITMENT_BYTES}", data.len()),
                });
            }
            store::set_commitment(tx, *netuid, signer, block, data)?;
            Ok(CallOutput::Done)
        }
        Call::AddStake {
            hotkey,
            netuid,
            amount,
        } => {
            subnet(tx, *netuid)?;
            if store::hotkey_owner(tx, hotkey)?.is_none() {
                return reject(E::HotKeyAccountNotExists, format!("{hotkey}"));
            }
            if *amount == 0 {
                return reject(E::AmountTooLow, "stake of 0 rao");
            }
            debit(tx, signer, *amount, E::NotEnoughBalanceToStake)?;
            store::add_stake(tx, *netuid, hotkey, signer, *amount)?;
            Ok(CallOutput::Done)
        }
        Call::Transfer { dest, amount } => {
            debit(tx, signer, *amount, E::InsufficientBalance)?;
            let to = store::balance(tx, dest)?;
            store::set_balance(tx, dest, to.saturating_add(*amount))?;
            Ok(CallOutput::Done)
        }
        Call::Mint { dest, amount } => {
            if signer != &config.sudo {
                return Err(ChainError::BadOrigin {
                    signer: signer.to_string(),
                    reason: format!("only the sudo key {} may mint", config.sudo),
                });
            }
            let to = store::balance(tx, dest)?;
            store::set_balance(tx, dest, to.saturating_add(*amount))?;
            Ok(CallOutput::Done)
        }
        Call::CreateSubnet {
            hotkey,
            hyperparameters,
        } => create_subnet(tx, config, signer, hotkey, hyperparameters, block)
            .map(CallOutput::NetUid),
        Call::SetHyperparameters {
            netuid,
            hyperparameters,
        } => {
            let s = subnet(tx, *netuid)?;
            if &s.owner.coldkey != signer {
                return reject(
                    E::NotSubnetOwner,
                    format!("{signer} does not own netuid {netuid}"),
                );
            }
            store::set_hyperparameters(tx, *netuid, hyperparameters)?;
            Ok(CallOutput::Done)
        }
    }
}

fn claim_hotkey(tx: &Connection, hotkey: &AccountId, coldkey: &AccountId) -> ChainResult<()> {
    match store::hotkey_owner(tx, hotkey)? {
        Some(owner) if &owner != coldkey => reject(
            E::NonAssociatedColdKey,
            format!("{hotkey} belongs to {owner}, not {coldkey}"),
        ),
        _ => store::set_hotkey_owner(tx, hotkey, coldkey),
    }
}

fn create_subnet(
    tx: &Connection,
    config: &ChainConfig,
    coldkey: &AccountId,
    hotkey: &AccountId,
    hyper: &Hyperparameters,
    block: BlockNumber,
) -> ChainResult<NetUid> {
    let netuid = store::next_netuid(tx)?;
    debit(
        tx,
        coldkey,
        config.network_lock_cost,
        E::NotEnoughBalanceToStake,
    )?;
    claim_hotkey(tx, hotkey, coldkey)?;
    let owner = SubnetOwner {
        coldkey: *coldkey,
        hotkey: *hotkey,
    };
    store::insert_subnet(tx, netuid, &owner, block, hyper)?;
    store::put_neuron(tx, netuid, 0, hotkey, coldkey, block)?;
    Ok(netuid)
}

fn burned_register(
    tx: &Connection,
    coldkey: &AccountId,
    netuid: NetUid,
    hotkey: &AccountId,
    block: BlockNumber,
) -> ChainResult<Uid> {
    let s = subnet(tx, netuid)?;
    let h = &s.hyperparameters;
    if !h.registration_allowed {
        return reject(E::SubNetRegistrationDisabled, format!("netuid {netuid}"));
    }
    if store::uid_of(tx, netuid, hotkey)?.is_some() {
        return reject(
            E::HotKeyAlreadyRegisteredInSubNet,
            format!("{hotkey} on netuid {netuid}"),
        );
    }
    claim_hotkey(tx, hotkey, coldkey)?;
    let n = store::neuron_count(tx, netuid)?;
    let uid = if n < h.max_allowed_uids {
        n
    } else {
        prune_candidate(tx, netuid, h, block)?
    };
    debit(tx, coldkey, h.burn, E::NotEnoughBalanceToStake)?;
    store::put_neuron(tx, netuid, uid, hotkey, coldkey, block)?;
    Ok(uid)
}

/// The uid a full subnet gives up: the lowest emission outside the immunity period, then the
/// oldest registration, then the lowest uid. The owner's uid is never pruned.
fn prune_candidate(
    tx: &Connection,
    netuid: NetUid,
    h: &Hyperparameters,
    block: BlockNumber,
) -> ChainResult<Uid> {
    let owner = store::subnet(tx, netuid)?.map(|s| s.owner.hotkey);
    store::neurons(tx, netuid)?
        .into_iter()
        .filter(|n| Some(n.hotkey) != owner)
        .filter(|n| block.saturating_sub(n.block_at_registration) >= u64::from(h.immunity_period))
        .min_by_key(|n| (n.emission, n.block_at_registration, n.uid))
        .map(|n| n.uid)
        .map_or_else(
            || {
                reject(
                    E::NoNeuronIdAvailable,
                    format!("netuid {netuid} full and every neuron immune"),
                )
            },
            Ok,
        )
}

fn serve_axon(
    tx: &Connection,
    hotkey: &AccountId,
    netuid: NetUid,
    axon: &ServeAxon,
    block: BlockNumber,
) -> ChainResult<CallOutput> {
    let s = subnet(tx, netuid)?;
    let uid = registered_uid(tx, netuid, hotkey)?;
    let (ip, ip_type) = axon.ip_parts();
    let forbidden = match axon.ip {
        IpAddr::V4(v4) => u32::from(v4) == 0x7f00_0001,
        IpAddr::V6(v6) => v6.is_loopback() || u128::from(v6) == u128::MAX,
    };
    if forbidden {
        return reject(
            E::InvalidIpAddress,
            format!("{} is reserved (use 127.0.0.2 or another)", axon.ip),
        );
    }
    if axon.port == 0 {
        return reject(E::InvalidPort, "port 0");
    }
    let current = store::neuron(tx, netuid, uid)?
        .map(|n| n.axon)
        .unwrap_or_default();
    let limit = s.hyperparameters.serving_rate_limit;
    if current.block != 0 && block.saturating_sub(current.block) < limit {
        return reject(
            E::ServingRateLimitExceeded,
            format!(
                "last served at block {}, now {block}, limit {limit}",
                current.block
            ),
        );
    }
    let info = AxonInfo {
        block,
        version: axon.version,
        ip,
        port: axon.port,
        ip_type,
        protocol: axon.protocol,
    };
    store::set_axon(tx, netuid, uid, &info)?;
    Ok(CallOutput::Done)
}

/// `set_weights` checks in the runtime's order; `rate_limited` is false for a reveal.
#[allow(clippy::too_many_arguments)]
fn set_weights(
    tx: &Connection,
    s: &store::SubnetRow,
    hotkey: &AccountId,
    uids: &[Uid],
    values: &[u16],
    version_key: u64,
    block: BlockNumber,
    rate_limited: bool,
) -> ChainResult<CallOutput> {
    let netuid = s.netuid;
    let h = &s.hyperparameters;
    if netuid == 0 {
        return reject(E::CanNotSetRootNetworkWeights, "netuid 0");
    }
    if uids.len() != values.len() {
        return reject(
            E::WeightVecNotEqualSize,
            format!("{} uids, {} weights", uids.len(), values.len()),
        );
    }
    let n = store::neuron_count(tx, netuid)?;
    if uids.len() > usize::from(n) {
        return reject(
            E::UidsLengthExceedUidsInSubNet,
            format!("{} uids, subnet has {n}", uids.len()),
        );
    }
    let uid = registered_uid(tx, netuid, hotkey)?;
    let me = store::neuron(tx, netuid, uid)?
        .ok_or_else(|| ChainError::NotFound(format!("uid {uid} on netuid {netuid}")))?;
    let is_owner = &s.owner.hotkey == hotkey;
    if me.stake < h.stake_threshold && !is_owner {
        return reject(
            E::NotEnoughStakeToSetWeights,
            format!("stake {} rao, threshold {}", me.stake, h.stake_threshold),
        );
    }
    if version_key != 0 && version_key < h.weights_version {
        return reject(
            E::IncorrectWeightVersionKey,
            format!(
                "version_key {version_key}, subnet requires {}",
                h.weights_version
            ),
        );
    }
    let first_set = me.last_update == me.block_at_registration;
    if rate_limited && !first_set && block.saturating_sub(me.last_update) < h.weights_rate_limit {
        return reject(
            E::SettingWeightsTooFast,
            format!(
                "last update at block {}, now {block}, rate limit {}",
                me.last_update, h.weights_rate_limit
            ),
        );
    }
    let self_only = uids.len() == 1 && uids[0] == uid;
    if !me.validator_permit && !self_only && !is_owner {
        return reject(
            E::NeuronNoValidatorPermit,
            format!("uid {uid} on netuid {netuid}"),
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = uids.iter().find(|u| !seen.insert(**u)) {
        return reject(E::DuplicateUids, format!("uid {dup} twice"));
    }
    if let Some(bad) = uids.iter().find(|u| **u >= n) {
        return reject(
            E::UidVecContainInvalidOne,
            format!("uid {bad}, subnet has {n}"),
        );
    }
    let min = h.min_allowed_weights.min(n);
    if !self_only && uids.len() < usize::from(min) {
        return reject(
            E::WeightVecLengthIsLow,
            format!("{} weights, at least {min}", uids.len()),
        );
    }
    let upscaled = max_upscale(values);
    if !self_only && h.max_weight_limit < u16::MAX {
        let sum: f64 = upscaled.iter().map(|v| f64::from(*v)).sum();
        let max = upscaled.iter().copied().max().map_or(0.0, f64::from);
        if sum > 0.0 && max / sum > f64::from(h.max_weight_limit) / f64::from(u16::MAX) {
            return reject(
                E::MaxWeightExceeded,
                format!(
                    "largest weight {:.4} of the total, limit {}",
                    max / sum,
                    h.max_weight_limit
                ),
            );
        }
    }
    let pairs: Vec<(Uid, u16)> = uids
        .iter()
        .copied()
        .zip(upscaled)
        .filter(|(_, v)| *v > 0)
        .collect();
    store::set_weights(tx, netuid, uid, &pairs)?;
    store::set_last_update(tx, netuid, uid, block)?;
    Ok(CallOutput::Done)
}

/// Scales so the largest value is 65535 (the runtime's `vec_u16_max_upscale_to_u16`).
fn max_upscale(values: &[u16]) -> Vec<u16> {
    let max = values.iter().copied().max().unwrap_or(0);
    if max == 0 || max == u16::MAX {
        return values.to_vec();
    }
    values
        .iter()
        .map(|v| {
            ((u64::from(*v) * u64::from(u16::MAX) + u64::from(max) / 2) / u64::from(max)) as u16
        })
        .collect()
}

fn commit(
    tx: &Connection,
    hotkey: &AccountId,
    netuid: NetUid,
    hash: &[u8; 32],
    block: BlockNumber,
) -> ChainResult<CallOutput> {
    let s = subnet(tx, netuid)?;
    let h = &s.hyperparameters;
    if !h.commit_reveal_weights_enabled {
        return reject(E::CommitRevealDisabled, format!("netuid {netuid}"));
    }
    let uid = registered_uid(tx, netuid, hotkey)?;
    let me = store::neuron(tx, netuid, uid)?
        .ok_or_else(|| ChainError::NotFound(format!("uid {uid} on netuid {netuid}")))?;
    let first_set = me.last_update == me.block_at_registration;
    if !first_set && block.saturating_sub(me.last_update) < h.weights_rate_limit {
        return reject(
            E::CommittingWeightsTooFast,
            format!(
                "last update at block {}, now {block}, rate limit {}",
                me.last_update, h.weights_rate_limit
            ),
        );
    }
    let epoch = epoch_index(netuid, h.tempo, block);
    // Expired commits no longer count towards the limit.
    let mut pending = 0;
    for c in store::commits(tx, netuid, hotkey)? {
        if c.commit_epoch + h.commit_reveal_period < epoch {
            store::delete_commit(tx, c.id)?;
        } else {
            pending += 1;
        }
    }
    if pending >= MAX_UNREVEALED_COMMITS {
        return reject(
            E::TooManyUnrevealedCommits,
            format!("{pending} unrevealed commits"),
        );
    }
    store::insert_commit(tx, netuid, hotkey, hash, block, epoch)?;
    store::set_last_update(tx, netuid, uid, block)?;
    Ok(CallOutput::Done)
}

#[allow(clippy::too_many_arguments)]
fn reveal(
    tx: &Connection,
    hotkey: &AccountId,
    netuid: NetUid,
    uids: &[Uid],
    values: &[u16],
    salt: &[u16],
    version_key: u64,
    block: BlockNumber,
) -> ChainResult<CallOutput> {
    let s = subnet(tx, netuid)?;
    let h = &s.hyperparameters;
    if !h.commit_reveal_weights_enabled {
        return reject(E::CommitRevealDisabled, format!("netuid {netuid}"));
    }
    if uids.len() != values.len() {
        return reject(
            E::InputLengthsUnequal,
            format!("{} uids, {} weights", uids.len(), values.len()),
        );
    }
    let commits = store::commits(tx, netuid, hotkey)?;
    if commits.is_empty() {
        return reject(
            E::NoWeightsCommitFound,
            format!("{hotkey} on netuid {netuid}"),
        );
    }
    let hash = weights_commit_hash(hotkey, netuid, uids, values, salt, version_key);
    let Some(found) = commits.iter().find(|c| c.hash == hash) else {
        return reject(
            E::InvalidRevealCommitHashNotMatch,
            format!("0x{}", hex::encode(hash)),
        );
    };
    let epoch = epoch_index(netuid, h.tempo, block);
    let reveal_epoch = found.commit_epoch + h.commit_reveal_period;
    if epoch < reveal_epoch {
        return reject(
            E::RevealTooEarly,
            format!("epoch {epoch}, reveal in epoch {reveal_epoch}"),
        );
    }
    if epoch > reveal_epoch {
        store::delete_commit(tx, found.id)?;
        return reject(
            E::ExpiredWeightCommit,
            format!("epoch {epoch}, reveal was due in {reveal_epoch}"),
        );
    }
    store::delete_commit(tx, found.id)?;
    set_weights(tx, &s, hotkey, uids, values, version_key, block, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_upscale_matches_the_sdk_example() {
        // spec 3.3: [0.5, 0.25, 1.0] -> [32768, 16384, 65535].
        assert_eq!(max_upscale(&[2, 1, 4]), vec![32768, 16384, 65535]);
        assert_eq!(max_upscale(&[0, 0]), vec![0, 0]);
        assert_eq!(max_upscale(&[65535, 1]), vec![65535, 1]);
    }
}
