//! Yuma consensus: one epoch of a subnet, as a pure function of stake, weights and bonds.
//!
//! This follows the real runtime's classic path (`epoch/run_epoch.rs`, spec section 3.7) step by
//! step, with dense `n x n` matrices (n <= 4096 on any subnet, 256 by default):
//!
//! 1. `active_i = last_update_i + activity_cutoff >= block`.
//! 2. Stake `S`, zeroed below the stake threshold (the owner exempt), normalised to sum 1.
//! 3. New validator permits: the top-k non-zero stakes (ties to the lower uid) plus the owner.
//!    The epoch itself uses the permits of the *previous* epoch, as the runtime does.
//! 4. Active stake: `S` masked by inactive and non-permitted, normalised.
//! 5. Weights `W`: rows of non-permitted validators dropped, self-weights dropped except the
//!    owner's, weights older than the target's registration dropped, rows normalised.
//! 6. Consensus `C_j`: the stake-weighted kappa-median of column j (over validators with active
//!    stake, zeros included) = the largest `x` with `stake(W_.j >= x) >= kappa`.
//! 7. Clip `Wc = min(W, C)`; validator trust `VT_i = sum_j Wc_ij`; ranks `R = Wc^T S_active`,
//!    trust `T_j = R_j / (W^T S_active)_j`; incentive `I = R / sum R`.
//! 8. Bonds: `Wb = W + penalty (Wc - W)`, `dB = Wb * S_active` column-normalised, EMA
//!    `B = alpha dB + (1 - alpha) B_old` (`alpha = 1 - bonds_moving_avg / 1e6`), column-normalised.
//! 9. Dividends `D = B I`, normalised.
//! 10. Emission: server `I / sum(I + D)`, validator `D / sum(I + D)` of the epoch's rao (a 50/50
//!     split when both are non-zero); when both vanish, validators are paid by active stake.
//!
//! Arithmetic is `f64` throughout (the runtime uses I32F32/I64F64 fixed point); results are
//! stored as the runtime stores them, u16 proportions rounded to nearest and u64 rao floored.

use crate::types::{BlockNumber, Proportion, Rao, Uid};

/// Per-uid input of an epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct YumaNeuron {
    /// Total stake on the hotkey, in rao.
    pub stake: Rao,
    /// Block of the last weight set (or registration).
    pub last_update: BlockNumber,
    /// Block at which this uid was (re-)registered.
    pub block_at_registration: BlockNumber,
    /// Whether the neuron held a validator permit after the previous epoch.
    pub validator_permit: bool,
    /// Weights it set: `(target uid, u16 value)`.
    pub weights: Vec<(Uid, u16)>,
}

/// Subnet parameters an epoch reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct YumaParams {
    /// Consensus majority, u16 proportion.
    pub kappa: u16,
    /// Bonds EMA parameter (alpha = 1 - value / 1e6).
    pub bonds_moving_avg: u64,
    /// Share of clipping applied to bonds, u16 proportion.
    pub bonds_penalty: u16,
    /// Number of validator permits.
    pub max_allowed_validators: u16,
    /// Blocks after which a silent neuron is inactive.
    pub activity_cutoff: u16,
    /// Minimum stake (rao) that counts; the owner is exempt.
    pub stake_threshold: Rao,
}

/// Everything an epoch reads.
#[derive(Clone, Debug, PartialEq)]
pub struct YumaInput {
    /// The block the epoch runs at.
    pub block: BlockNumber,
    /// Neurons, index = uid.
    pub neurons: Vec<YumaNeuron>,
    /// Bonds of the previous epoch, `bonds[i][j]`, `n x n` (missing rows or entries count as 0).
    pub bonds: Vec<Vec<f64>>,
    /// The subnet owner's uid, if the owner hotkey holds one.
    pub owner_uid: Option<Uid>,
    /// Parameters.
    pub params: YumaParams,
    /// Rao to distribute to the neurons this epoch (after the owner's cut).
    pub emission: Rao,
}

/// Per-uid result of an epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct YumaNeuronOutput {
    /// Updated within the activity cutoff.
    pub active: bool,
    /// Permit for the next epoch.
    pub validator_permit: bool,
    /// Normalised ranks.
    pub rank: Proportion,
    /// Clipped over unclipped support.
    pub trust: Proportion,
    /// Stake-weighted median weight received.
    pub consensus: Proportion,
    /// Miner share.
    pub incentive: Proportion,
    /// Validator share.
    pub dividends: Proportion,
    /// Sum of clipped weights.
    pub validator_trust: Proportion,
    /// Rao earned as a miner.
    pub server_emission: Rao,
    /// Rao earned as a validator.
    pub validator_emission: Rao,
}

impl YumaNeuronOutput {
    /// Total rao emitted to the uid.
    pub fn emission(&self) -> Rao {
        self.server_emission.saturating_add(self.validator_emission)
    }
}

/// Everything an epoch writes.
#[derive(Clone, Debug, PartialEq)]
pub struct YumaOutput {
    /// Index = uid.
    pub neurons: Vec<YumaNeuronOutput>,
    /// New bonds `bonds[i][j]`, column-normalised.
    pub bonds: Vec<Vec<f64>>,
}

/// Runs one epoch. Never panics: out-of-range target uids in weights are ignored.
// The matrix steps index rows and columns together; index loops say that more plainly than
// nested zips.
#[allow(clippy::needless_range_loop)]
pub fn run_epoch(input: &YumaInput) -> YumaOutput {
    let n = input.neurons.len();
    let p = &input.params;
    let owner = input.owner_uid.map(usize::from).filter(|&o| o < n);

    // 1. Activity.
    let active: Vec<bool> = input
        .neurons
        .iter()
        .map(|nr| nr.last_update.saturating_add(u64::from(p.activity_cutoff)) >= input.block)
        .collect();

    // 2. Stake.
    let mut stake: Vec<f64> = input
        .neurons
        .iter()
        .enumerate()
        .map(|(i, nr)| {
            if nr.stake < p.stake_threshold && Some(i) != owner {
                0.0
            } else {
                nr.stake as f64
            }
        })
        .collect();
    normalize(&mut stake);

    // 3. Permits: the epoch uses the previous ones; new ones go to the top-k.
    let forbid: Vec<bool> = input
        .neurons
        .iter()
        .map(|nr| !nr.validator_permit)
        .collect();
    let mut new_permit = top_k_nonzero(&stake, usize::from(p.max_allowed_validators));
    if let Some(o) = owner {
        new_permit[o] = true;
    }

    // 4. Active stake.
    let mut active_stake: Vec<f64> = (0..n)
        .map(|i| {
            if active[i] && !forbid[i] {
                stake[i]
            } else {
                0.0
            }
        })
        .collect();
    normalize(&mut active_stake);

    // 5. Weights.
    let outdated =
        |i: usize, j: usize| input.neurons[i].last_update <= input.neurons[j].block_at_registration;
    let mut w = vec![vec![0.0f64; n]; n];
    for (i, nr) in input.neurons.iter().enumerate() {
        if forbid[i] {
            continue;
        }
        for &(j, value) in &nr.weights {
            let j = usize::from(j);
            if j >= n || (i == j && Some(i) != owner) || outdated(i, j) {
                continue;
            }
            w[i][j] = Proportion(value).as_f64();
        }
        normalize(&mut w[i]);
    }

    // 6. Consensus.
    let kappa = Proportion(p.kappa).as_f64();
    let consensus: Vec<f64> = (0..n)
        .map(|j| {
            let column: Vec<(f64, f64)> = (0..n)
                .filter(|&i| active_stake[i] > 0.0)
                .map(|i| (w[i][j], active_stake[i]))
                .collect();
            weighted_median(&column, kappa)
        })
        .collect();

    // 7. Clip, validator trust, ranks, trust, incentive.
    let clipped: Vec<Vec<f64>> = w
        .iter()
        .map(|row| row.iter().zip(&consensus).map(|(x, c)| x.min(*c)).collect())
        .collect();
    let validator_trust: Vec<f64> = clipped.iter().map(|row| row.iter().sum()).collect();
    let preranks = matmul_transpose(&w, &active_stake);
    let mut ranks = matmul_transpose(&clipped, &active_stake);
    let trust: Vec<f64> = ranks
        .iter()
        .zip(&preranks)
        .map(|(r, pr)| if *pr > 0.0 { r / pr } else { 0.0 })
        .collect();
    normalize(&mut ranks);
    let incentive = ranks.clone();

    // 8. Bonds.
    let penalty = Proportion(p.bonds_penalty).as_f64();
    let mut delta = vec![vec![0.0f64; n]; n];
    for i in 0..n {
        for j in 0..n {
            let wb = w[i][j] + penalty * (clipped[i][j] - w[i][j]);
            delta[i][j] = wb * active_stake[i];
        }
    }
    col_normalize(&mut delta);
    let mut old = vec![vec![0.0f64; n]; n];
    for i in 0..n {
        for j in 0..n {
            let b = input
                .bonds
                .get(i)
                .and_then(|row| row.get(j))
                .copied()
                .unwrap_or(0.0);
            old[i][j] = if outdated(i, j) || !b.is_finite() {
                0.0
            } else {
                b.max(0.0)
            };
        }
    }
    col_normalize(&mut old);
    let alpha = 1.0 - (p.bonds_moving_avg.min(1_000_000) as f64) / 1e6;
    let mut bonds = vec![vec![0.0f64; n]; n];
    for i in 0..n {
        for j in 0..n {
            bonds[i][j] = alpha * delta[i][j] + (1.0 - alpha) * old[i][j];
        }
    }
    col_normalize(&mut bonds);

    // 9. Dividends.
    let mut dividends: Vec<f64> = bonds
        .iter()
        .map(|row| row.iter().zip(&incentive).map(|(b, x)| b * x).sum())
        .collect();
    normalize(&mut dividends);

    // 10. Emission.
    let total: f64 = incentive.iter().sum::<f64>() + dividends.iter().sum::<f64>();
    let (server_share, validator_share): (Vec<f64>, Vec<f64>) = if total > 0.0 {
        (
            incentive.iter().map(|x| x / total).collect(),
            dividends.iter().map(|x| x / total).collect(),
        )
    } else if active_stake.iter().any(|s| *s > 0.0) {
        (vec![0.0; n], active_stake.clone())
    } else {
        (vec![0.0; n], stake.clone())
    };
    let rao = |share: f64| (share * input.emission as f64).floor() as Rao;

    let neurons = (0..n)
        .map(|i| YumaNeuronOutput {
            active: active[i],
            validator_permit: new_permit[i],
            rank: Proportion::from_f64(ranks[i]),
            trust: Proportion::from_f64(trust[i]),
            consensus: Proportion::from_f64(consensus[i]),
            incentive: Proportion::from_f64(incentive[i]),
            dividends: Proportion::from_f64(dividends[i]),
            validator_trust: Proportion::from_f64(validator_trust[i]),
            server_emission: rao(server_share[i]),
            validator_emission: rao(validator_share[i]),
        })
        .collect();
    YumaOutput { neurons, bonds }
}

/// The stake-weighted kappa-median of `(value, stake)` pairs: the smallest value `v` with
/// `stake(value <= v) > (1 - kappa) * total`, i.e. the largest value that at least `kappa` of the
/// stake supports. 0 for an empty column.
pub fn weighted_median(column: &[(f64, f64)], kappa: f64) -> f64 {
    let total: f64 = column.iter().map(|(_, s)| s).sum();
    if column.is_empty() || total <= 0.0 {
        return 0.0;
    }
    let minority = total - kappa * total;
    let mut sorted = column.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut cumulative = 0.0;
    let mut k = 0;
    while k < sorted.len() {
        let value = sorted[k].0;
        while k < sorted.len() && sorted[k].0 == value {
            cumulative += sorted[k].1;
            k += 1;
        }
        if cumulative > minority {
            return value;
        }
    }
    sorted.last().map_or(0.0, |(v, _)| *v)
}

/// Scales to sum 1; leaves an all-zero vector alone.
fn normalize(v: &mut [f64]) {
    let sum: f64 = v.iter().sum();
    if sum > 0.0 {
        v.iter_mut().for_each(|x| *x /= sum);
    }
}

/// Scales every column to sum 1; leaves all-zero columns alone.
fn col_normalize(m: &mut [Vec<f64>]) {
    let n = m.first().map_or(0, Vec::len);
    for j in 0..n {
        let sum: f64 = m.iter().map(|row| row[j]).sum();
        if sum > 0.0 {
            m.iter_mut().for_each(|row| row[j] /= sum);
        }
    }
}

/// `out_j = sum_i m[i][j] * v[i]`.
fn matmul_transpose(m: &[Vec<f64>], v: &[f64]) -> Vec<f64> {
    let n = m.first().map_or(0, Vec::len);
    (0..n)
        .map(|j| m.iter().zip(v).map(|(row, x)| row[j] * x).sum())
        .collect()
}

/// Marks the `k` largest non-zero entries (ties go to the lower index).
fn top_k_nonzero(v: &[f64], k: usize) -> Vec<bool> {
    let mut order: Vec<usize> = (0..v.len()).filter(|&i| v[i] > 0.0).collect();
    order.sort_by(|&a, &b| v[b].total_cmp(&v[a]).then(a.cmp(&b)));
    let mut out = vec![false; v.len()];
    for &i in order.iter().take(k) {
        out[i] = true;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: u16 = u16::MAX;

    fn params() -> YumaParams {
        YumaParams {
            kappa: 32767,
            bonds_moving_avg: 900_000,
            bonds_penalty: u16::MAX,
            max_allowed_validators: 64,
            activity_cutoff: 5000,
            stake_threshold: 0,
        }
    }

    fn validator(stake: Rao, weights: Vec<(Uid, u16)>) -> YumaNeuron {
        YumaNeuron {
            stake,
            last_update: 100,
            block_at_registration: 1,
            validator_permit: true,
            weights,
        }
    }

    fn miner() -> YumaNeuron {
        YumaNeuron {
            stake: 0,
            last_update: 1,
            block_at_registration: 1,
            validator_permit: false,
            weights: vec![],
        }
    }

    fn input(neurons: Vec<YumaNeuron>) -> YumaInput {
        YumaInput {
            block: 101,
            neurons,
            bonds: vec![],
            owner_uid: None,
            params: params(),
            emission: 1_000_000,
        }
    }

    fn close(actual: Proportion, expected: f64) {
        assert!(
            (actual.as_f64() - expected).abs() < 2e-5,
            "expected {expected}, got {} ({})",
            actual.as_f64(),
            actual.0
        );
    }

    #[test]
    fn one_validator_one_miner_gets_everything() {
        let out = run_epoch(&input(vec![validator(1000, vec![(1, ONE)]), miner()]));
        let (v, m) = (&out.neurons[0], &out.neurons[1]);
        assert_eq!(m.incentive, Proportion::ONE);
        assert_eq!(m.consensus, Proportion::ONE);
        assert_eq!(m.rank, Proportion::ONE);
        assert_eq!(m.trust, Proportion::ONE);
        assert_eq!(v.dividends, Proportion::ONE);
        assert_eq!(v.validator_trust, Proportion::ONE);
        assert_eq!(v.incentive, Proportion::ZERO);
        assert_eq!(m.dividends, Proportion::ZERO);
        // Half the epoch's rao to the miner, half to the validator.
        assert_eq!(m.server_emission, 500_000);
        assert_eq!(v.validator_emission, 500_000);
        assert_eq!(out.bonds[0][1], 1.0);
        assert!(v.validator_permit && !m.validator_permit);
    }

    #[test]
    fn minority_validator_is_clipped() {
        // 70% of stake weights miner 2, 30% weights miner 3: consensus keeps only miner 2.
        let out = run_epoch(&input(vec![
            validator(700, vec![(2, ONE)]),
            validator(300, vec![(3, ONE)]),
            miner(),
            miner(),
        ]));
        close(out.neurons[2].consensus, 1.0);
        close(out.neurons[3].consensus, 0.0);
        close(out.neurons[0].validator_trust, 1.0);
        close(out.neurons[1].validator_trust, 0.0);
        close(out.neurons[2].incentive, 1.0);
        close(out.neurons[3].incentive, 0.0);
        close(out.neurons[3].trust, 0.0);
        close(out.neurons[0].dividends, 1.0);
        close(out.neurons[1].dividends, 0.0);
    }

    #[test]
    fn partial_disagreement_by_hand() {
        // V0 (60%) weights A:B = 3:1, V1 (40%) weights 1:3 (21845 * 3 = 65535 exactly).
        // C_A = 0.75 (60% support it), C_B = 0.25. Clipped: V0 (0.75, 0.25), V1 (0.25, 0.25).
        // R = (0.55, 0.25) -> I = (0.6875, 0.3125); T_B = 0.25 / 0.45.
        // dB col A = (0.45, 0.10)/0.55, col B = (0.15, 0.10)/0.25 -> D = (0.75, 0.25).
        let out = run_epoch(&input(vec![
            validator(600, vec![(2, ONE), (3, 21845)]),
            validator(400, vec![(2, 21845), (3, ONE)]),
            miner(),
            miner(),
        ]));
        close(out.neurons[2].consensus, 0.75);
        close(out.neurons[3].consensus, 0.25);
        close(out.neurons[0].validator_trust, 1.0);
        close(out.neurons[1].validator_trust, 0.5);
        close(out.neurons[2].incentive, 0.6875);
        close(out.neurons[3].incentive, 0.3125);
        close(out.neurons[2].trust, 1.0);
        close(out.neurons[3].trust, 0.25 / 0.45);
        close(out.neurons[0].dividends, 0.75);
        close(out.neurons[1].dividends, 0.25);
        assert!((out.bonds[0][2] - 0.45 / 0.55).abs() < 1e-9);
        assert!((out.bonds[1][3] - 0.4).abs() < 1e-9);
    }

    #[test]
    fn weights_without_permit_are_ignored() {
        // V1 has more stake but no permit yet: its weights on miner 3 count for nothing.
        let mut v1 = validator(900, vec![(3, ONE)]);
        v1.validator_permit = false;
        let out = run_epoch(&input(vec![
            validator(100, vec![(2, ONE)]),
            v1,
            miner(),
            miner(),
        ]));
        close(out.neurons[2].incentive, 1.0);
        close(out.neurons[3].incentive, 0.0);
        close(out.neurons[3].consensus, 0.0);
        close(out.neurons[1].validator_trust, 0.0);
        close(out.neurons[1].dividends, 0.0);
        // But the stake earns it a permit for the next epoch.
        assert!(out.neurons[1].validator_permit);
    }

    #[test]
    fn inactive_validator_is_ignored() {
        let mut stale = validator(900, vec![(3, ONE)]);
        stale.last_update = 1; // 1 + 50 < 101
        let mut inp = input(vec![
            validator(100, vec![(2, ONE)]),
            stale,
            miner(),
            miner(),
        ]);
        inp.params.activity_cutoff = 50;
        let out = run_epoch(&inp);
        assert!(!out.neurons[1].active && out.neurons[0].active);
        close(out.neurons[2].incentive, 1.0);
        close(out.neurons[3].incentive, 0.0);
    }

    #[test]
    fn weights_older_than_the_target_registration_are_dropped() {
        // Miner 2 re-registered at block 150, after the validator's last update at 100.
        let mut m = miner();
        m.block_at_registration = 150;
        m.last_update = 150;
        let mut inp = input(vec![validator(100, vec![(1, ONE), (2, ONE)]), miner(), m]);
        inp.block = 160;
        let out = run_epoch(&inp);
        close(out.neurons[1].incentive, 1.0);
        close(out.neurons[2].incentive, 0.0);
    }

    #[test]
    fn self_weight_counts_only_for_the_owner() {
        let mut inp = input(vec![validator(100, vec![(0, ONE)]), miner()]);
        let out = run_epoch(&inp);
        close(out.neurons[0].incentive, 0.0);
        inp.owner_uid = Some(0);
        let out = run_epoch(&inp);
        close(out.neurons[0].incentive, 1.0);
    }

    #[test]
    fn bonds_follow_the_moving_average() {
        // Epoch 1: both validators (50/50) weight miner 2 -> bonds col 2 = (0.5, 0.5).
        let first = run_epoch(&input(vec![
            validator(500, vec![(2, ONE)]),
            validator(500, vec![(2, ONE)]),
            miner(),
            miner(),
        ]));
        assert!((first.bonds[0][2] - 0.5).abs() < 1e-12);
        // Epoch 2: V1 moves to miner 3. Half the stake (kappa is just under 0.5) keeps both
        // columns at consensus 1, so I = (0.5, 0.5).
        // Col 2: 0.1 (1, 0) + 0.9 (0.5, 0.5) = (0.55, 0.45). Col 3: (0, 0.1) -> (0, 1).
        // D = (0.55 * 0.5, 0.45 * 0.5 + 0.5) = (0.275, 0.725).
        let mut second = input(vec![
            validator(500, vec![(2, ONE)]),
            validator(500, vec![(3, ONE)]),
            miner(),
            miner(),
        ]);
        second.bonds = first.bonds;
        let out = run_epoch(&second);
        close(out.neurons[2].incentive, 0.5);
        close(out.neurons[3].incentive, 0.5);
        assert!(
            (out.bonds[0][2] - 0.55).abs() < 1e-12,
            "{}",
            out.bonds[0][2]
        );
        assert!((out.bonds[1][3] - 1.0).abs() < 1e-12);
        close(out.neurons[0].dividends, 0.275);
        close(out.neurons[1].dividends, 0.725);
    }

    #[test]
    fn permits_go_to_the_top_k_and_the_owner() {
        let mut inp = input(vec![
            validator(10, vec![]),
            validator(30, vec![]),
            validator(20, vec![]),
            miner(),
        ]);
        inp.params.max_allowed_validators = 1;
        inp.owner_uid = Some(3);
        let out = run_epoch(&inp);
        let permits: Vec<bool> = out.neurons.iter().map(|n| n.validator_permit).collect();
        assert_eq!(permits, vec![false, true, false, true]);
    }

    #[test]
    fn stake_below_threshold_does_not_count() {
        let mut inp = input(vec![
            validator(10, vec![(2, ONE)]),
            validator(1000, vec![(3, ONE)]),
            miner(),
            miner(),
        ]);
        inp.params.stake_threshold = 100;
        let out = run_epoch(&inp);
        close(out.neurons[3].incentive, 1.0);
        assert!(!out.neurons[0].validator_permit);
    }

    #[test]
    fn no_weights_pays_validators_by_stake() {
        let out = run_epoch(&input(vec![
            validator(300, vec![]),
            validator(100, vec![]),
            miner(),
        ]));
        assert_eq!(out.neurons[0].validator_emission, 750_000);
        assert_eq!(out.neurons[1].validator_emission, 250_000);
        assert_eq!(out.neurons[2].emission(), 0);
    }

    #[test]
    fn bad_targets_and_empty_subnets_do_not_panic() {
        let out = run_epoch(&input(vec![validator(1, vec![(9, ONE)])]));
        assert_eq!(out.neurons.len(), 1);
        let out = run_epoch(&input(vec![]));
        assert!(out.neurons.is_empty() && out.bonds.is_empty());
    }

    #[test]
    fn weighted_median_examples() {
        assert_eq!(weighted_median(&[], 0.5), 0.0);
        assert_eq!(weighted_median(&[(0.3, 1.0)], 0.5), 0.3);
        // 60% supports >= 0.75, all support >= 0.25.
        assert_eq!(weighted_median(&[(0.75, 0.6), (0.25, 0.4)], 0.5), 0.75);
        assert_eq!(weighted_median(&[(0.75, 0.4), (0.25, 0.6)], 0.5), 0.25);
        // kappa 0.8: needs 80% support.
        assert_eq!(
            weighted_median(&[(1.0, 0.7), (0.5, 0.2), (0.0, 0.1)], 0.8),
            0.5
        );
        assert_eq!(weighted_median(&[(1.0, 0.5), (0.0, 0.5)], 0.0), 1.0);
    }
}
