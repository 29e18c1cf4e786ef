//! Which drand round a commit is encrypted to: the SDK's formula.
//!
//! The runtime reveals a commit made in epoch `e` at the start of epoch `e + reveal_period`
//! (`RevealPeriodEpochs`), with the pulse of the commit's `reveal_round` if `pallet_drand` has
//! it by then, retrying every block of that epoch. The client therefore predicts the first
//! block of the reveal epoch, aims 3 blocks past it ([`SECURITY_BLOCK_OFFSET`]) so the pulse has
//! been ingested, turns the blocks into seconds from now and the seconds into the last round
//! emitted by then:
//!
//! ```text
//! blocks = first_reveal_block + 3 - current_block
//! round  = max(1, floor((now + blocks * block_time - 1692803367) / 3))       (f64, as the SDK)
//! ```
//!
//! The first reveal block depends on how the runtime schedules epochs:
//!
//! * [`RevealSchedule::Modulo`] (`bittensor-drand` 1.x, `get_encrypted_commit`; runtimes
//!   without `SubtensorModule.SubnetEpochIndex`, which includes the finney metadata we ship):
//!   the epoch of block `b` is `(b + netuid + 1) / (tempo + 1)`, and the reveal epoch starts at
//!   `reveal_epoch * (tempo + 1) - (netuid + 1)`.
//! * [`RevealSchedule::Stateful`] (`bittensor-drand` 2.x, `get_encrypted_commit_v2`, SDK
//!   10.5 and 11; runtimes with dynamic tempo, `v3.4.8-423` on): the epoch index is the stored
//!   `SubnetEpochIndex`, an epoch runs when a pending owner-triggered epoch is due, when
//!   `BlocksSinceLastStep` exceeds the 50 400-block maximum tempo, or `tempo` blocks after
//!   `LastEpochBlock`; the reveal step of a block runs before that block's epoch. The commit
//!   lands in the next block ([`COMMIT_INCLUSION_BLOCK_OFFSET`]), and the first reveal block is
//!   found by stepping the schedule block by block.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Result, TimelockError};
use crate::quicknet::{GENESIS_TIME, PERIOD_SECS};

/// Blocks past the first reveal block the pulse is aimed at.
pub const SECURITY_BLOCK_OFFSET: u64 = 3;
/// The commit extrinsic lands in the block after the head it was built against.
pub const COMMIT_INCLUSION_BLOCK_OFFSET: u64 = 1;
/// The largest tempo an owner may set (also the `BlocksSinceLastStep` that forces an epoch).
pub const MAX_TEMPO: u64 = 50_400;
/// The storage items of the stateful schedule, all in `SubtensorModule`: a runtime that has
/// them schedules epochs statefully.
pub const STATEFUL_SCHEDULE_STORAGE: [&str; 4] = [
    "LastEpochBlock",
    "PendingEpochAt",
    "SubnetEpochIndex",
    "BlocksSinceLastStep",
];

/// The stateful epoch schedule of one subnet, every field read at `current_block`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochState {
    /// `LastEpochBlock[netuid]`.
    pub last_epoch_block: u64,
    /// `PendingEpochAt[netuid]` (0: none).
    pub pending_epoch_at: u64,
    /// `SubnetEpochIndex[netuid]`.
    pub subnet_epoch_index: u64,
    /// `Tempo[netuid]`.
    pub tempo: u16,
    /// `BlocksSinceLastStep[netuid]`.
    pub blocks_since_last_step: u64,
    /// The chain head the state was read at.
    pub current_block: u64,
}

impl EpochState {
    fn epoch_due(&self, block: u64) -> bool {
        if self.tempo == 0 {
            return false;
        }
        (self.pending_epoch_at > 0 && block >= self.pending_epoch_at)
            || self.blocks_since_last_step > MAX_TEMPO
            || block.saturating_sub(self.last_epoch_block) >= u64::from(self.tempo)
    }

    /// The epoch index the reveal step of `block` sees (it runs before the block's epoch).
    fn epoch_seen_at(&self, block: u64) -> u64 {
        self.subnet_epoch_index + u64::from(self.epoch_due(block))
    }

    /// The state after `block`'s epoch step.
    fn after(mut self, block: u64) -> Self {
        self.blocks_since_last_step = self.blocks_since_last_step.saturating_add(1);
        self.current_block = block;
        if self.epoch_due(block) {
            self.last_epoch_block = block;
            self.pending_epoch_at = 0;
            self.subnet_epoch_index = self.subnet_epoch_index.saturating_add(1);
            self.blocks_since_last_step = 0;
        }
        self
    }
}

/// How the subnet's epochs are scheduled, read at the current block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevealSchedule {
    /// The modulo schedule: the epoch of block `b` is `(b + netuid + 1) / (tempo + 1)`.
    Modulo {
        /// The subnet.
        netuid: u16,
        /// `Tempo[netuid]`.
        tempo: u16,
        /// The chain head.
        current_block: u64,
    },
    /// The stateful schedule (dynamic tempo).
    Stateful(EpochState),
}

impl RevealSchedule {
    /// The chain head the schedule was read at.
    pub fn current_block(&self) -> u64 {
        match self {
            Self::Modulo { current_block, .. } => *current_block,
            Self::Stateful(s) => s.current_block,
        }
    }

    /// The first block at which the runtime reveals a commit built against this head.
    pub fn first_reveal_block(&self, reveal_period_epochs: u64) -> Result<u64> {
        match *self {
            Self::Modulo {
                netuid,
                tempo,
                current_block,
            } => {
                if tempo == 0 {
                    return Err(TimelockError::TempoIsZero);
                }
                let tempo_plus_one = u64::from(tempo) + 1;
                let netuid_plus_one = u64::from(netuid) + 1;
                let epoch = current_block.saturating_add(netuid_plus_one) / tempo_plus_one;
                let reveal_epoch = epoch.saturating_add(reveal_period_epochs);
                Ok(reveal_epoch
                    .saturating_mul(tempo_plus_one)
                    .saturating_sub(netuid_plus_one))
            }
            Self::Stateful(state) => stateful_first_reveal_block(state, reveal_period_epochs),
        }
    }
}

fn stateful_first_reveal_block(head: EpochState, reveal_period_epochs: u64) -> Result<u64> {
    if head.tempo == 0 {
        return Err(TimelockError::TempoIsZero);
    }
    let inclusion = head
        .current_block
        .saturating_add(COMMIT_INCLUSION_BLOCK_OFFSET);
    // Blocks strictly between the head and the inclusion block (none with an offset of 1).
    let mut state = head;
    for block in head.current_block.saturating_add(1)..inclusion {
        state = state.after(block);
    }
    let target = state
        .epoch_seen_at(inclusion)
        .saturating_add(reveal_period_epochs);
    let bound = reveal_period_epochs
        .saturating_mul(MAX_TEMPO)
        .saturating_add(MAX_TEMPO);
    for block in inclusion..=inclusion.saturating_add(bound) {
        if state.epoch_seen_at(block) == target {
            return Ok(block);
        }
        state = state.after(block);
    }
    Err(TimelockError::ScheduleBound {
        from: inclusion,
        blocks: bound,
    })
}

/// The round the SDK encrypts to: the last round emitted `blocks_ahead · block_time` seconds
/// after `now_unix_secs` (at least 1).
pub fn round_after_blocks(
    now_unix_secs: f64,
    blocks_ahead: u64,
    block_time_secs: f64,
) -> Result<u64> {
    if !(block_time_secs.is_finite() && block_time_secs > 0.0) {
        return Err(TimelockError::BlockTime(block_time_secs.to_string()));
    }
    let target = now_unix_secs + blocks_ahead as f64 * block_time_secs;
    // `as` saturates: a time before genesis gives 0, then 1.
    let round = ((target - GENESIS_TIME as f64) / PERIOD_SECS as f64).floor() as u64;
    Ok(round.max(1))
}

/// The round a commit built against `schedule` is encrypted to, and the block it aims at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RevealTarget {
    /// The first block of the reveal epoch.
    pub first_reveal_block: u64,
    /// The drand round.
    pub round: u64,
}

/// The SDK's target round (see the module docs) at Unix time `now_unix_secs`.
pub fn round_for(
    schedule: &RevealSchedule,
    reveal_period_epochs: u64,
    block_time_secs: f64,
    now_unix_secs: f64,
) -> Result<RevealTarget> {
    let first_reveal_block = schedule.first_reveal_block(reveal_period_epochs)?;
    let blocks_ahead = first_reveal_block
        .saturating_add(SECURITY_BLOCK_OFFSET)
        .saturating_sub(schedule.current_block());
    Ok(RevealTarget {
        first_reveal_block,
        round: round_after_blocks(now_unix_secs, blocks_ahead, block_time_secs)?,
    })
}

/// Seconds since the Unix epoch, as the SDK reads the clock.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(last: u64, pending: u64, tempo: u16, current: u64) -> EpochState {
        EpochState {
            last_epoch_block: last,
            pending_epoch_at: pending,
            subnet_epoch_index: 0,
            tempo,
            blocks_since_last_step: 0,
            current_block: current,
        }
    }

    #[test]
    fn modulo_schedule_by_hand() {
        // netuid 1, tempo 10: epochs run at blocks b with (b + 2) % 11 == 0 (9, 20, 31, ...);
        // block 5 is in epoch (5 + 2) / 11 = 0, so the reveal epoch 1 starts at 11 - 2 = 9.
        let s = RevealSchedule::Modulo {
            netuid: 1,
            tempo: 10,
            current_block: 5,
        };
        assert_eq!(s.first_reveal_block(1).unwrap(), 9);
        assert_eq!(s.first_reveal_block(2).unwrap(), 20);
        // Block 9 is already in epoch 1: reveal in epoch 2, at 20.
        let s = RevealSchedule::Modulo {
            netuid: 1,
            tempo: 10,
            current_block: 9,
        };
        assert_eq!(s.first_reveal_block(1).unwrap(), 20);
        // Finney-like: netuid 2, tempo 360, block 5 000 000: epoch 5000003 / 361 = 13850.
        let s = RevealSchedule::Modulo {
            netuid: 2,
            tempo: 360,
            current_block: 5_000_000,
        };
        assert_eq!(s.first_reveal_block(1).unwrap(), 13851 * 361 - 3);
        let zero = RevealSchedule::Modulo {
            netuid: 2,
            tempo: 0,
            current_block: 1,
        };
        assert_eq!(zero.first_reveal_block(1), Err(TimelockError::TempoIsZero));
    }

    #[test]
    fn stateful_schedule_by_hand() {
        // Tempo 50 with the last epoch at 10: the next epoch runs at 60, and its reveal step
        // (which runs first) already sees epoch 1.
        let s = RevealSchedule::Stateful(state(10, 0, 50, 10));
        assert_eq!(s.first_reveal_block(1).unwrap(), 60);
        assert_eq!(s.first_reveal_block(2).unwrap(), 110);
        // A pending owner-triggered epoch at 95 comes before the automatic one at 100.
        let s = RevealSchedule::Stateful(state(80, 95, 20, 91));
        assert_eq!(s.first_reveal_block(1).unwrap(), 95);
        // Committed in the block where an epoch runs: the commit belongs to the new epoch.
        let s = RevealSchedule::Stateful(state(100, 0, 50, 149));
        assert_eq!(s.first_reveal_block(1).unwrap(), 200);
        let zero = RevealSchedule::Stateful(state(10, 0, 0, 10));
        assert_eq!(zero.first_reveal_block(1), Err(TimelockError::TempoIsZero));
    }

    #[test]
    fn rounds_from_time() {
        // Exactly 3000 s after genesis plus 10 blocks of 12 s: (3000 + 120) / 3 = 1040.
        let now = GENESIS_TIME as f64 + 3000.0;
        assert_eq!(round_after_blocks(now, 10, 12.0).unwrap(), 1040);
        assert_eq!(round_after_blocks(now + 2.9, 10, 12.0).unwrap(), 1040);
        assert_eq!(round_after_blocks(now + 3.0, 10, 12.0).unwrap(), 1041);
        assert_eq!(round_after_blocks(0.0, 0, 12.0).unwrap(), 1);
        assert!(round_after_blocks(now, 1, 0.0).is_err());
        assert!(round_after_blocks(now, 1, f64::NAN).is_err());

        let s = RevealSchedule::Modulo {
            netuid: 1,
            tempo: 10,
            current_block: 5,
        };
        // Aim at block 9 + 3 = 12, 7 blocks ahead.
        let t = round_for(&s, 1, 12.0, now).unwrap();
        assert_eq!(
            t,
            RevealTarget {
                first_reveal_block: 9,
                round: 1000 + 28
            }
        );
    }
}
