//! Block production: each block accrues the subnets' emission, and at each subnet's epoch block
//! runs Yuma consensus over the stored state and pays the result out as stake.

use omron_keys::AccountId;
use rusqlite::Connection;

use super::ChainConfig;
use super::store::{self, EpochRow, SubnetRow};
use crate::error::ChainResult;
use crate::types::{BlockNumber, NetUid, Rao, blocks_until_next_epoch};
use crate::yuma::{YumaInput, YumaNeuron, YumaParams, run_epoch};

/// Advances the chain by one block; returns the new height and the netuids whose epoch ran.
pub(super) fn produce_block(
    tx: &Connection,
    config: &ChainConfig,
) -> ChainResult<(BlockNumber, Vec<NetUid>)> {
    let block = store::block(tx)?.saturating_add(1);
    store::set_meta_u64(tx, "block", block)?;
    let mut epochs = Vec::new();
    for s in store::subnets(tx)? {
        let pending = s
            .pending_emission
            .saturating_add(config.subnet_emission_per_block);
        if blocks_until_next_epoch(s.netuid, s.hyperparameters.tempo, block) == 0 {
            run_subnet_epoch(tx, config, &s, block, pending)?;
            store::set_pending_emission(tx, s.netuid, 0)?;
            epochs.push(s.netuid);
        } else {
            store::set_pending_emission(tx, s.netuid, pending)?;
        }
    }
    Ok((block, epochs))
}

fn run_subnet_epoch(
    tx: &Connection,
    config: &ChainConfig,
    s: &SubnetRow,
    block: BlockNumber,
    pending: Rao,
) -> ChainResult<()> {
    let netuid = s.netuid;
    let h = &s.hyperparameters;
    let neurons = store::neurons(tx, netuid)?;
    let n = neurons.len();
    let mut inputs: Vec<YumaNeuron> = neurons
        .iter()
        .map(|nr| YumaNeuron {
            stake: nr.stake,
            last_update: nr.last_update,
            block_at_registration: nr.block_at_registration,
            validator_permit: nr.validator_permit,
            weights: Vec::new(),
        })
        .collect();
    for (uid, target, value) in store::weights(tx, netuid)? {
        if let Some(row) = inputs.get_mut(usize::from(uid)) {
            row.weights.push((target, value));
        }
    }
    let mut bonds = vec![vec![0.0; n]; n];
    for (uid, target, value) in store::bonds(tx, netuid)? {
        if let Some(cell) = bonds
            .get_mut(usize::from(uid))
            .and_then(|r| r.get_mut(usize::from(target)))
        {
            *cell = value;
        }
    }
    let owner_cut =
        (u128::from(pending) * u128::from(config.owner_cut) / u128::from(u16::MAX)) as Rao;
    let input = YumaInput {
        block,
        neurons: inputs,
        bonds,
        owner_uid: neurons
            .iter()
            .find(|nr| nr.hotkey == s.owner.hotkey)
            .map(|nr| nr.uid),
        params: YumaParams {
            kappa: h.kappa,
            bonds_moving_avg: h.bonds_moving_avg,
            bonds_penalty: h.bonds_penalty,
            max_allowed_validators: h.max_allowed_validators,
            activity_cutoff: h.activity_cutoff,
            stake_threshold: h.stake_threshold,
        },
        emission: pending - owner_cut,
    };
    let out = run_epoch(&input);
    for (nr, o) in neurons.iter().zip(&out.neurons) {
        let row = EpochRow {
            validator_permit: o.validator_permit,
            active: o.active,
            proportions: [
                o.rank,
                o.trust,
                o.consensus,
                o.incentive,
                o.dividends,
                o.validator_trust,
            ],
            emission: o.emission(),
        };
        store::set_epoch_row(tx, netuid, nr.uid, &row)?;
        if o.server_emission > 0 {
            store::add_stake(tx, netuid, &nr.hotkey, &nr.coldkey, o.server_emission)?;
        }
        if o.validator_emission > 0 {
            pay_stakers(tx, netuid, &nr.hotkey, &nr.coldkey, o.validator_emission)?;
        }
    }
    store::replace_bonds(tx, netuid, &out.bonds)?;
    if owner_cut > 0 {
        store::add_stake(tx, netuid, &s.owner.hotkey, &s.owner.coldkey, owner_cut)?;
    }
    tracing::debug!(
        netuid,
        block,
        neurons = n,
        emission = pending,
        owner_cut,
        "epoch"
    );
    Ok(())
}

/// Splits a validator's dividend among the coldkeys staked on it, pro rata (the runtime's
/// share-based pool reduced to plain amounts); with no stakers it goes to the hotkey's owner.
fn pay_stakers(
    tx: &Connection,
    netuid: NetUid,
    hotkey: &AccountId,
    owner: &AccountId,
    amount: Rao,
) -> ChainResult<()> {
    let stakers = store::stakers(tx, netuid, hotkey)?;
    let total: u128 = stakers.iter().map(|(_, a)| u128::from(*a)).sum();
    if total == 0 {
        return store::add_stake(tx, netuid, hotkey, owner, amount);
    }
    let mut paid: Rao = 0;
    for (coldkey, stake) in &stakers {
        let share = (u128::from(amount) * u128::from(*stake) / total) as Rao;
        if share > 0 {
            store::add_stake(tx, netuid, hotkey, coldkey, share)?;
            paid += share;
        }
    }
    // Rounding dust goes to the hotkey's owner so no rao is lost.
    if amount > paid {
        store::add_stake(tx, netuid, hotkey, owner, amount - paid)?;
    }
    Ok(())
}
