//! Partial evaluations of base-field tables: fixing the low or the high variables of a
//! multilinear extension at an extension point.
//!
//! These are the linear passes over a model's weights (the verifier's `O(#params)` work on a
//! matmul, the prover's folding of a weight matrix), so they are written for speed: weights and
//! activations are small signed integers, so products with a challenge's two 64-bit
//! coefficients are summed exactly in 128-bit integers and reduced once per row or column
//! instead of once per term, and rows (or columns) are spread over threads with the `parallel`
//! feature. A table holding a large value (`|v| >= 2^40`, possible only for exotic constants)
//! takes the plain field path for the rows it touches, so results never depend on the values.

use std::ops::Range;

use crate::mle::eq_table;
use crate::par;
use crate::{Ext, Fp};

/// Values below this magnitude take the lazily reduced path: a product with a 64-bit
/// coefficient is below `2^104`, and `2^22` of them stay below `2^126`.
const SMALL: u64 = 1 << 40;
/// The most terms one 128-bit accumulator may take (see [`SMALL`]).
const MAX_TERMS: usize = 1 << 22;

/// The coefficients of each extension element as `u64`s, the form the exact sums take.
fn raw(coeffs: &[Ext]) -> Vec<[u64; 2]> {
    coeffs.iter().map(|e| e.coeffs().map(Fp::as_u64)).collect()
}

/// `x mod p` for a signed 128-bit integer.
fn reduce_i128(x: i128) -> Fp {
    const P: i128 = crate::field::P as i128;
    Fp::new(x.rem_euclid(P) as u64)
}

/// `sum_i values[i] * coeffs[i]`, exactly: in 128-bit integers when every value is small, in
/// the field otherwise. `raw_coeffs` are `coeffs` as returned by [`raw`].
fn dot(values: &[Fp], coeffs: &[Ext], raw_coeffs: &[[u64; 2]]) -> Ext {
    debug_assert!(values.len() <= coeffs.len() && values.len() <= MAX_TERMS);
    let (mut a0, mut a1, mut max) = (0i128, 0i128, 0u64);
    for (v, c) in values.iter().zip(raw_coeffs) {
        let v = v.as_i64();
        max |= v.unsigned_abs();
        let v = v as i128;
        // Wrapping: with a large value the sum is discarded below, and must not panic first.
        a0 = a0.wrapping_add(v.wrapping_mul(c[0] as i128));
        a1 = a1.wrapping_add(v.wrapping_mul(c[1] as i128));
    }
    if max < SMALL {
        Ext::new(reduce_i128(a0), reduce_i128(a1))
    } else {
        values.iter().zip(coeffs).map(|(&v, &e)| e * v).sum()
    }
}

/// Rows per parallel task: enough work per task to amortise scheduling.
fn rows_per_task(row_len: usize) -> usize {
    (1usize << 16).div_ceil(row_len.max(1)).max(1)
}

/// Fixes the low `low_point.len()` variables of the extension of `values` (zero-padded to
/// whole rows): entry `h` of the result is `sum_l values[h, l] eq(low_point, l)`, one entry per
/// row of `2^low_point.len()` values. Evaluating the result's extension at a high point gives
/// the whole extension at `(low_point, high_point)`, so several points sharing their low half
/// cost one pass over `values`.
pub fn fold_low_base(values: &[Fp], low_point: &[Ext]) -> Vec<Ext> {
    let eq = eq_table(low_point);
    let eq_raw = raw(&eq);
    per_row(values.len(), low_point.len(), |r| {
        dot(&values[r], &eq, &eq_raw)
    })
}

/// `row(range)` for the index range of every row of `2^low_vars` in a table of `len` values (the
/// last row may be short), rows spread over threads when there are enough of them.
fn per_row(len: usize, low_vars: usize, row: impl Fn(Range<usize>) -> Ext + Sync) -> Vec<Ext> {
    let row_len = 1usize << low_vars;
    assert!(row_len <= MAX_TERMS, "rows of 2^{low_vars} values");
    let rows = len.div_ceil(row_len);
    let at = |h: usize| h * row_len..((h + 1) * row_len).min(len);
    let per_task = rows_per_task(row_len);
    if rows <= per_task {
        // Small tables (biases, most claims): no thread hand-off.
        return (0..rows).map(|h| row(at(h))).collect();
    }
    par::map_range(rows.div_ceil(per_task), |t| {
        let first = t * per_task;
        (first..(first + per_task).min(rows))
            .map(|h| row(at(h)))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

/// `band(columns)` for every band of [`BAND`] columns of a table with rows of `2^low_vars`
/// values (each band a task that walks every row: its accumulators stay in cache while the rows
/// stream past); the bands' results concatenated.
fn per_band(low_vars: usize, band: impl Fn(Range<usize>) -> Vec<Ext> + Sync) -> Vec<Ext> {
    let row_len = 1usize << low_vars;
    par::map_range(row_len.div_ceil(BAND), |b| {
        band(b * BAND..((b + 1) * BAND).min(row_len))
    })
    .into_iter()
    .flatten()
    .collect()
}

/// A base-field table whose values are all small integers, stored in 16 or 32 bits: a quarter
/// or half of the memory traffic of `Fp` when the same weights are folded proof after proof
/// (the verifier's matmuls are memory-bound on large models).
#[derive(Clone, Debug)]
pub enum SmallInts {
    /// Every value in `[-2^15, 2^15)`.
    I16(Vec<i16>),
    /// Every value in `[-2^31, 2^31)`.
    I32(Vec<i32>),
}

impl SmallInts {
    /// The table in the narrowest width that holds it, or `None` if a value needs more than
    /// 32 bits.
    pub fn new(values: &[Fp]) -> Option<SmallInts> {
        const TASK: usize = 1 << 16;
        let (lo, hi) = par::map_ranges(values.len(), TASK, |r| {
            values[r]
                .iter()
                .map(|v| v.as_i64())
                .fold((0i64, 0i64), |(lo, hi), v| (lo.min(v), hi.max(v)))
        })
        .into_iter()
        .fold((0i64, 0i64), |(lo, hi), (l, h)| (lo.min(l), hi.max(h)));
        if i16::try_from(lo).is_ok() && i16::try_from(hi).is_ok() {
            Some(SmallInts::I16(par::collect(values.len(), TASK, |i| {
                values[i].as_i64() as i16
            })))
        } else if i32::try_from(lo).is_ok() && i32::try_from(hi).is_ok() {
            Some(SmallInts::I32(par::collect(values.len(), TASK, |i| {
                values[i].as_i64() as i32
            })))
        } else {
            None
        }
    }
}

/// `sum_i values[i] * coeffs[i]` for values below `2^31` in magnitude: every product is below
/// `2^95`, so [`MAX_TERMS`] of them fit the 128-bit sums without a check.
fn dot_ints<T: Copy + Into<i64>>(values: &[T], raw_coeffs: &[[u64; 2]]) -> Ext {
    let (mut a0, mut a1) = (0i128, 0i128);
    for (&v, c) in values.iter().zip(raw_coeffs) {
        let v = v.into() as i128;
        a0 += v * c[0] as i128;
        a1 += v * c[1] as i128;
    }
    Ext::new(reduce_i128(a0), reduce_i128(a1))
}

/// [`fold_low_base`] of a table held as [`SmallInts`]; the same result.
pub fn fold_low_small(values: &SmallInts, low_point: &[Ext]) -> Vec<Ext> {
    match values {
        SmallInts::I16(v) => fold_low_ints(v, low_point),
        SmallInts::I32(v) => fold_low_ints(v, low_point),
    }
}

fn fold_low_ints<T: Copy + Into<i64> + Sync>(values: &[T], low_point: &[Ext]) -> Vec<Ext> {
    let eq_raw = raw(&eq_table(low_point));
    per_row(values.len(), low_point.len(), |r| {
        dot_ints(&values[r], &eq_raw)
    })
}

/// [`fold_high_base`] of a table held as [`SmallInts`]; the same result.
pub fn fold_high_small(values: &SmallInts, low_vars: usize, high_point: &[Ext]) -> Vec<Ext> {
    match values {
        SmallInts::I16(v) => fold_high_ints(v, low_vars, high_point),
        SmallInts::I32(v) => fold_high_ints(v, low_vars, high_point),
    }
}

fn fold_high_ints<T: Copy + Into<i64> + Sync>(
    values: &[T],
    low_vars: usize,
    high_point: &[Ext],
) -> Vec<Ext> {
    let row_len = 1usize << low_vars;
    let eq_raw = raw(&eq_table(high_point));
    let rows = values.len().div_ceil(row_len).min(eq_raw.len());
    assert!(rows <= MAX_TERMS, "2^{} rows", high_point.len());
    per_band(low_vars, |cols| {
        let mut acc = vec![[0i128; 2]; cols.len()];
        for (h, c) in eq_raw.iter().enumerate().take(rows) {
            let seg = &values[(h * row_len + cols.start).min(values.len())
                ..(h * row_len + cols.end).min(values.len())];
            let [c0, c1] = c.map(|c| c as i128);
            for (a, &v) in acc.iter_mut().zip(seg) {
                let v = v.into() as i128;
                a[0] += v * c0;
                a[1] += v * c1;
            }
        }
        acc.iter()
            .map(|a| Ext::new(reduce_i128(a[0]), reduce_i128(a[1])))
            .collect()
    })
}

/// Columns per parallel task of the high folds: a band's accumulators stay in cache while the
/// rows stream past.
const BAND: usize = 1 << 10;

/// Fixes the high variables of the extension of `values` (rows of `2^low_vars`, zero-padded):
/// entry `l` of the result is `sum_h eq(high_point, h) values[h, l]`, a table of `2^low_vars`.
pub fn fold_high_base(values: &[Fp], low_vars: usize, high_point: &[Ext]) -> Vec<Ext> {
    let row_len = 1usize << low_vars;
    let eq = eq_table(high_point);
    let eq_raw = raw(&eq);
    let rows = values.len().div_ceil(row_len).min(eq.len());
    assert!(rows <= MAX_TERMS, "2^{} rows", high_point.len());
    per_band(low_vars, |cols| {
        let mut acc = vec![[0i128; 2]; cols.len()];
        let mut field = vec![Ext::ZERO; cols.len()];
        for h in 0..rows {
            let seg = &values[(h * row_len + cols.start).min(values.len())
                ..(h * row_len + cols.end).min(values.len())];
            let max = seg.iter().map(|v| v.as_i64().unsigned_abs()).max();
            if max.unwrap_or(0) < SMALL {
                let [c0, c1] = eq_raw[h].map(|c| c as i128);
                for (a, v) in acc.iter_mut().zip(seg) {
                    let v = v.as_i64() as i128;
                    a[0] += v * c0;
                    a[1] += v * c1;
                }
            } else {
                for (f, &v) in field.iter_mut().zip(seg) {
                    *f += eq[h] * v;
                }
            }
        }
        acc.iter()
            .zip(field)
            .map(|(a, f)| Ext::new(reduce_i128(a[0]), reduce_i128(a[1])) + f)
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mle::{evaluate, evaluate_base};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn rand_ext(rng: &mut ChaCha8Rng) -> Ext {
        Ext::new(Fp::new(rng.r#gen()), Fp::new(rng.r#gen()))
    }

    fn table(rng: &mut ChaCha8Rng, len: usize, large: bool) -> Vec<Fp> {
        (0..len)
            .map(|i| {
                if large && i % 7 == 3 {
                    Fp::new(rng.r#gen())
                } else {
                    Fp::from_i64(rng.gen_range(-40_000..40_000))
                }
            })
            .collect()
    }

    /// Both folds agree with a full evaluation, for small and large values and for tables
    /// that end part-way through a row.
    #[test]
    fn folds_agree_with_full_evaluation() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for (low, high, len, large) in [
            (3, 4, 128, false),
            (5, 3, 200, false),
            (11, 2, 4096, false),
            (4, 5, 500, true),
            (11, 3, 1 << 14, true),
            (2, 2, 9, false),
        ] {
            let values = table(&mut rng, len, large);
            let point: Vec<Ext> = (0..low + high).map(|_| rand_ext(&mut rng)).collect();
            let want = evaluate_base(&values, &point);
            let rows = fold_low_base(&values, &point[..low]);
            assert_eq!(
                evaluate(&rows, &point[low..]),
                want,
                "fold_low {low}+{high}"
            );
            if let Some(small) = SmallInts::new(&values) {
                let rows = fold_low_small(&small, &point[..low]);
                assert_eq!(evaluate(&rows, &point[low..]), want, "fold_low_small");
                let cols = fold_high_small(&small, low, &point[low..]);
                assert_eq!(evaluate(&cols, &point[..low]), want, "fold_high_small");
            }
            let cols = fold_high_base(&values, low, &point[low..]);
            assert_eq!(cols.len(), 1 << low);
            assert_eq!(
                evaluate(&cols, &point[..low]),
                want,
                "fold_high {low}+{high}"
            );
        }
    }

    /// Tables pick the narrowest width that holds every value.
    #[test]
    fn small_ints_pick_their_width() {
        let f = |v: &[i64]| v.iter().map(|&x| Fp::from_i64(x)).collect::<Vec<_>>();
        assert!(matches!(
            SmallInts::new(&f(&[-32768, 32767])),
            Some(SmallInts::I16(_))
        ));
        assert!(matches!(
            SmallInts::new(&f(&[-32769, 5])),
            Some(SmallInts::I32(_))
        ));
        assert!(SmallInts::new(&f(&[1 << 31])).is_none());
        assert!(matches!(
            SmallInts::new(&f(&[-(1 << 31)])),
            Some(SmallInts::I32(_))
        ));
        // The 16-bit path folds like the field path.
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let values: Vec<Fp> = (0..3000)
            .map(|_| Fp::from_i64(rng.gen_range(-32768..32768)))
            .collect();
        let small = SmallInts::new(&values).unwrap();
        assert!(matches!(small, SmallInts::I16(_)));
        let point: Vec<Ext> = (0..12).map(|_| rand_ext(&mut rng)).collect();
        assert_eq!(
            fold_low_small(&small, &point[..7]),
            fold_low_base(&values, &point[..7])
        );
        assert_eq!(
            fold_high_small(&small, 7, &point[7..]),
            fold_high_base(&values, 7, &point[7..])
        );
    }

    /// A sign flip of one value changes the fold (the exact sums do not lose terms).
    #[test]
    fn one_changed_value_changes_the_fold() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let mut values = table(&mut rng, 1 << 10, false);
        let point: Vec<Ext> = (0..6).map(|_| rand_ext(&mut rng)).collect();
        let before = fold_low_base(&values, &point);
        values[517] = -values[517] + Fp::ONE;
        let after = fold_low_base(&values, &point);
        assert_eq!(before.len(), 16);
        assert_ne!(before[8], after[8]);
        assert_eq!(before[7], after[7]);
    }
}
