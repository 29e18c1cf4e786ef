//! Epoch arithmetic and the miner-group shuffle (§5.9).
//!
//! The subnet's epochs follow the chain's tempo of 360 with the netuid offset Subtensor uses:
//! with `adj = block + netuid + 1`, the epoch is `adj // 361`, the blocks left are
//! `360 - adj % 361` and the epoch started `360 - blocks_left` blocks ago. Epoch `e` starts at
//! `e * 361 - (netuid + 1)` (negative for epoch 0 of most netuids).
//!
//! Every 8 epochs the uids are reshuffled into 8 groups: the seed is the sha256 of the text of
//! the block hash (`"0x..."`) at the start of the cycle's first epoch, read as a big-endian
//! integer, and the order is `random.Random(seed).shuffle(list(range(n)))` (see
//! [`crate::PyRandom`]). A uid's group is its position in that order modulo 8.

use sha2::{Digest, Sha256};

use crate::constants::{EPOCH_TEMPO, NUM_MINER_GROUPS};
use crate::py_random::PyRandom;

/// Where a block sits in its epoch (`get_current_epoch_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochInfo {
    /// The epoch number.
    pub epoch: u64,
    /// Blocks until the next epoch starts (`0..=360`).
    pub blocks_until_next_epoch: u64,
    /// First block of this epoch.
    pub epoch_start_block: i64,
}

/// `get_current_epoch_info(block, netuid)`.
pub fn current_epoch_info(block: u64, netuid: u16) -> EpochInfo {
    let period = EPOCH_TEMPO + 1;
    let adjusted = block + u64::from(netuid) + 1;
    let epoch = adjusted / period;
    let blocks_until_next_epoch = EPOCH_TEMPO - adjusted % period;
    let epoch_start_block = block as i64 - (EPOCH_TEMPO - blocks_until_next_epoch) as i64;
    EpochInfo {
        epoch,
        blocks_until_next_epoch,
        epoch_start_block,
    }
}

/// `get_epoch_start_block(epoch, netuid)`: `epoch * 361 - (netuid + 1)`.
pub fn epoch_start_block(epoch: u64, netuid: u16) -> i64 {
    (epoch * (EPOCH_TEMPO + 1)) as i64 - (i64::from(netuid) + 1)
}

/// Whether the uids must be reshuffled: never shuffled yet, or a new cycle of 8 epochs began.
pub fn needs_reshuffle(current_epoch: u64, last_shuffle_epoch: Option<u64>) -> bool {
    match last_shuffle_epoch {
        None => true,
        Some(last) => current_epoch / NUM_MINER_GROUPS > last / NUM_MINER_GROUPS,
    }
}

/// First epoch of the 8-epoch cycle containing `epoch`.
pub fn cycle_start_epoch(epoch: u64) -> u64 {
    (epoch / NUM_MINER_GROUPS) * NUM_MINER_GROUPS
}

/// The seed source of a shuffle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShuffleSeed {
    /// `int(sha256(block_hash.encode()).hexdigest(), 16)` for the block hash text.
    BlockHash(String),
    /// The fallback when the block hash is unavailable: the cycle's start epoch.
    Epoch(u64),
}

impl ShuffleSeed {
    fn rng(&self) -> PyRandom {
        match self {
            ShuffleSeed::BlockHash(hash) => {
                PyRandom::from_be_bytes(&Sha256::digest(hash.as_bytes()))
            }
            ShuffleSeed::Epoch(epoch) => PyRandom::from_u64(*epoch),
        }
    }
}

/// `random.Random(seed).shuffle(list(range(n)))`.
pub fn shuffled_uids(seed: &ShuffleSeed, n: usize) -> Vec<u16> {
    let mut uids: Vec<u16> = (0..n)
        .map(|i| u16::try_from(i).unwrap_or(u16::MAX))
        .collect();
    seed.rng().shuffle(&mut uids);
    uids
}

/// The group (`0..8`) of `uid` in a shuffled order, or `None` if it is not in it.
pub fn miner_group(shuffled: &[u16], uid: u16) -> Option<u64> {
    shuffled
        .iter()
        .position(|&u| u == uid)
        .map(|pos| pos as u64 % NUM_MINER_GROUPS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_info_for_netuid_two() {
        // adj = 0 + 3 = 3: epoch 0, 357 blocks left, started at block -3.
        assert_eq!(
            current_epoch_info(0, 2),
            EpochInfo {
                epoch: 0,
                blocks_until_next_epoch: 357,
                epoch_start_block: -3
            }
        );
        // Block 358: adj 361 -> epoch 1 starts here with 360 blocks left.
        assert_eq!(
            current_epoch_info(358, 2),
            EpochInfo {
                epoch: 1,
                blocks_until_next_epoch: 360,
                epoch_start_block: 358
            }
        );
        assert_eq!(current_epoch_info(357, 2).blocks_until_next_epoch, 0);
        assert_eq!(epoch_start_block(1, 2), 358);
        assert_eq!(epoch_start_block(0, 2), -3);
        for block in [0u64, 1, 357, 358, 359, 5_000_000, 5_000_123] {
            let info = current_epoch_info(block, 2);
            assert_eq!(
                epoch_start_block(info.epoch, 2),
                info.epoch_start_block,
                "block {block}"
            );
        }
    }

    #[test]
    fn reshuffle_once_per_cycle_of_eight() {
        assert!(needs_reshuffle(5, None));
        assert!(!needs_reshuffle(7, Some(0)));
        assert!(needs_reshuffle(8, Some(7)));
        assert!(!needs_reshuffle(15, Some(8)));
        assert_eq!(cycle_start_epoch(15), 8);
    }

    #[test]
    fn shuffle_matches_python_for_a_block_hash_seed() {
        // python3 -c 'import random,hashlib; h="0x" + "ab"*32;
        //   s=int(hashlib.sha256(h.encode()).hexdigest(),16); u=list(range(12));
        //   random.Random(s).shuffle(u); print(u)'
        let seed = ShuffleSeed::BlockHash(format!("0x{}", "ab".repeat(32)));
        assert_eq!(
            shuffled_uids(&seed, 12),
            vec![11, 6, 5, 10, 4, 7, 9, 3, 8, 1, 0, 2]
        );
        let order = shuffled_uids(&ShuffleSeed::Epoch(8), 16);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..16).collect::<Vec<u16>>());
        assert_eq!(miner_group(&order, order[9]), Some(1));
        assert_eq!(miner_group(&order, 99), None);
    }
}
