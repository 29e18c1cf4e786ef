//! The soundness checks the circuit tests share: a proof with one bit flipped, cut short or
//! with a byte appended; a claimed output or an input moved by one; another context (nonce or
//! hotkey). Each tampered case goes through the test's own `verify` and must be refused. A
//! [`Refusals`] counts the cases, so each test reports how many it checked.

use std::fmt::Debug;

/// One byte of a proof with some of its bits flipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Flip {
    /// The byte's offset in the proof.
    pub(crate) at: usize,
    /// The bits flipped (xor), never zero.
    pub(crate) mask: u8,
}

/// Flips spread over a proof of `len` bytes: every `len / samples`-th byte (so about `samples`
/// of them) plus the middle and the last byte, each flipping bit `at % 8`, so that every bit
/// position is hit somewhere in the proof.
pub(crate) fn spread_flips(len: usize, samples: usize) -> Vec<Flip> {
    let step = (len / samples.max(1)).max(1);
    let mut at: Vec<usize> = (0..len).step_by(step).collect();
    if len > 0 {
        at.extend([len / 2, len - 1]);
    }
    let mut flips: Vec<Flip> = at
        .into_iter()
        .map(|at| Flip {
            at,
            mask: 1 << (at % 8),
        })
        .collect();
    flips.sort_unstable();
    flips.dedup();
    flips
}

/// `mask` flipped at each of `positions`: the bytes a test names itself.
pub(crate) fn flips_at(positions: &[usize], mask: u8) -> Vec<Flip> {
    positions.iter().map(|&at| Flip { at, mask }).collect()
}

/// Copies of `bytes` one bit away from it (the lowest bit of the first byte, the highest of
/// the last): a hotkey or a context as close to the right one as can be.
pub(crate) fn one_bit_off<const N: usize>(bytes: &[u8; N]) -> Vec<[u8; N]> {
    if N == 0 {
        return Vec::new();
    }
    let mut first = *bytes;
    first[0] ^= 0x01;
    let mut last = *bytes;
    last[N - 1] ^= 0x80;
    vec![first, last]
}

/// A copy of `values` with `values[tensor][index]` moved up by one.
pub(crate) fn nudged(values: &[Vec<i64>], tensor: usize, index: usize) -> Vec<Vec<i64>> {
    let mut copy = values.to_vec();
    copy[tensor][index] += 1;
    copy
}

/// The first and the last cell of every non-empty tensor of `values`.
pub(crate) fn end_cells(values: &[Vec<i64>]) -> Vec<(usize, usize)> {
    let mut cells = Vec::new();
    for (t, tensor) in values.iter().enumerate() {
        if let Some(last) = tensor.len().checked_sub(1) {
            cells.push((t, 0));
            if last > 0 {
                cells.push((t, last));
            }
        }
    }
    cells
}

/// The tampered cases of one test, each asserted refused as it is checked, and counted.
#[derive(Debug)]
pub(crate) struct Refusals {
    name: String,
    cases: usize,
}

impl Refusals {
    /// No cases yet; `name` labels the failures and the report.
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            cases: 0,
        }
    }

    /// Asserts that verifying one tampered case was refused; returns the error, for tests that
    /// check its kind.
    #[track_caller]
    pub(crate) fn refused<T: Debug, E>(&mut self, case: &str, result: Result<T, E>) -> E {
        self.cases += 1;
        match result {
            Ok(accepted) => panic!("{}: {case} was accepted: {accepted:?}", self.name),
            Err(e) => e,
        }
    }

    /// Applies each flip to its own copy of `proof` and asserts that `verify` refuses it.
    #[track_caller]
    pub(crate) fn flipped<T: Debug, E>(
        &mut self,
        proof: &[u8],
        flips: &[Flip],
        mut verify: impl FnMut(&[u8]) -> Result<T, E>,
    ) {
        let len = proof.len();
        let mut flips = flips.to_vec();
        flips.sort_unstable();
        flips.dedup();
        for flip in flips {
            assert!(
                flip.at < len && flip.mask != 0,
                "{}: {flip:?} changes nothing in a {len}-byte proof",
                self.name
            );
            let mut bad = proof.to_vec();
            bad[flip.at] ^= flip.mask;
            let case = format!("byte {}/{len} ^ {:#04x}", flip.at, flip.mask);
            self.refused(&case, verify(&bad));
        }
    }

    /// `proof` cut short (by one byte, to half, to nothing) and with one zero byte appended:
    /// asserts that `verify` refuses each. Returns the appended byte's refusal.
    #[track_caller]
    pub(crate) fn resized<T: Debug, E>(
        &mut self,
        proof: &[u8],
        mut verify: impl FnMut(&[u8]) -> Result<T, E>,
    ) -> E {
        let len = proof.len();
        let mut keep = vec![len.saturating_sub(1), len / 2, 0];
        keep.dedup();
        for k in keep {
            self.refused(
                &format!("proof cut to {k}/{len} bytes"),
                verify(&proof[..k]),
            );
        }
        let longer = [proof, &[0]].concat();
        self.refused("proof with one byte appended", verify(&longer))
    }

    /// Verifies under each of `contexts` (another nonce, another hotkey) and asserts that each
    /// is refused.
    #[track_caller]
    pub(crate) fn other_contexts<C: Debug, T: Debug, E>(
        &mut self,
        contexts: &[C],
        mut verify: impl FnMut(&C) -> Result<T, E>,
    ) {
        for context in contexts {
            self.refused(&format!("context {context:?}"), verify(context));
        }
    }

    /// Moves each of `cells` of `values` (claimed outputs or inputs, named by `what`) up by
    /// one, on its own, and asserts that `verify` refuses each copy.
    #[track_caller]
    pub(crate) fn nudged_each<T: Debug, E>(
        &mut self,
        what: &str,
        values: &[Vec<i64>],
        cells: &[(usize, usize)],
        mut verify: impl FnMut(&[Vec<i64>]) -> Result<T, E>,
    ) {
        let mut cells = cells.to_vec();
        cells.sort_unstable();
        cells.dedup();
        for (tensor, index) in cells {
            let changed = nudged(values, tensor, index);
            self.refused(&format!("{what} [{tensor}][{index}] + 1"), verify(&changed));
        }
    }

    /// Reports (on stderr) and returns the number of cases refused.
    pub(crate) fn finish(self) -> usize {
        eprintln!("{}: {} tampered cases refused", self.name, self.cases);
        self.cases
    }
}
