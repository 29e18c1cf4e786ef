//! Multilinear extensions over the boolean hypercube.
//!
//! Convention used everywhere: a vector `v` of length `2^n` is the table of a multilinear
//! polynomial in `n` variables, and bit `i` of an index is variable `i` (bit 0, the least
//! significant, is variable 0). So `v~(r) = sum_b v[b] * eq(r, b)` with
//! `eq(r, b) = prod_i (r_i b_i + (1 - r_i)(1 - b_i))`. Vectors shorter than `2^n` are zero-padded.

use crate::{Ext, Fp};

/// The table `eq(point, b)` for every `b` in `{0,1}^n`, `n = point.len()`.
pub fn eq_table(point: &[Ext]) -> Vec<Ext> {
    let mut table = Vec::with_capacity(1 << point.len());
    table.push(Ext::ONE);
    for &r in point {
        let len = table.len();
        table.resize(2 * len, Ext::ZERO);
        for j in 0..len {
            let hi = table[j] * r;
            table[j + len] = hi;
            table[j] -= hi;
        }
    }
    table
}

/// `eq(a, b)` for two points of the same length.
pub fn eq_eval(a: &[Ext], b: &[Ext]) -> Ext {
    debug_assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| x * y + (Ext::ONE - x) * (Ext::ONE - y))
        .product()
}

/// `eq(point, index)` for a boolean index given by its bits.
pub fn eq_at_index(point: &[Ext], index: usize) -> Ext {
    point
        .iter()
        .enumerate()
        .map(|(i, &r)| {
            if (index >> i) & 1 == 1 {
                r
            } else {
                Ext::ONE - r
            }
        })
        .product()
}

/// `sum_{i < len} eq(point, i)`: the multilinear extension of the indicator of the first `len`
/// indices. Costs `O(n)`.
pub fn prefix_indicator(point: &[Ext], len: usize) -> Ext {
    let n = point.len();
    if n >= usize::BITS as usize || len >= 1 << n {
        return Ext::ONE;
    }
    // i < len iff at the highest bit k where they differ, len has 1 and i has 0. Below k every
    // assignment is allowed (those eq factors sum to 1); above k, i must match len.
    let mut total = Ext::ZERO;
    let mut above = Ext::ONE;
    for k in (0..n).rev() {
        let r = point[k];
        if (len >> k) & 1 == 1 {
            total += above * (Ext::ONE - r);
            above *= r;
        } else {
            above *= Ext::ONE - r;
        }
    }
    total
}

/// Evaluates the multilinear extension of base-field `values` (zero-padded to `2^n`) at `point`.
///
/// The point is split into a low and a high half: `v~(r) = sum_h eq(r_hi, h) sum_l v[h, l]
/// eq(r_lo, l)`. When the values are small signed integers (weights, activations: the common
/// case) the inner sums are accumulated in 128-bit integers and reduced once per row, which is
/// several times faster than field multiplications.
pub fn evaluate_base(values: &[Fp], point: &[Ext]) -> Ext {
    let n = point.len();
    assert!(
        values.len() <= 1 << n,
        "{} values do not fit {n} variables",
        values.len()
    );
    if n == 0 {
        return values.first().map_or(Ext::ZERO, |&v| v.into());
    }
    let low_vars = n.div_ceil(2);
    let rows = crate::fold::fold_low_base(values, &point[..low_vars]);
    evaluate(&rows, &point[low_vars..])
}

/// Evaluates the multilinear extension of `values` (zero-padded to `2^n`) at `point`.
pub fn evaluate(values: &[Ext], point: &[Ext]) -> Ext {
    let n = point.len();
    assert!(
        values.len() <= 1 << n,
        "{} values do not fit {n} variables",
        values.len()
    );
    let mut cur = values.to_vec();
    cur.resize(1 << n, Ext::ZERO);
    fold_all(&mut cur, point);
    cur[0]
}

/// Fixes variable 0 of the table to `r`, halving it.
pub fn fold_first(table: &mut Vec<Ext>, r: Ext) {
    let half = table.len() / 2;
    for j in 0..half {
        let (a, b) = (table[2 * j], table[2 * j + 1]);
        table[j] = a + r * (b - a);
    }
    table.truncate(half);
}

fn fold_all(table: &mut Vec<Ext>, point: &[Ext]) {
    for &r in point {
        fold_first(table, r);
    }
}

/// Evaluates at `x` the polynomial of degree `< evals.len()` with `p(i) = evals[i]` for
/// `i = 0, 1, ..., evals.len() - 1` (Lagrange interpolation on consecutive integers).
pub fn interpolate_at(evals: &[Ext], x: Ext) -> Ext {
    let d = evals.len();
    // Barycentric form: p(x) = prod_j (x - j) * sum_i w_i evals[i] / (x - i), with
    // w_i = 1 / prod_{j != i} (i - j). At a node x = i the sum is replaced by evals[i].
    let diffs: Vec<Ext> = (0..d).map(|j| x - Fp::new(j as u64)).collect();
    if let Some(i) = diffs.iter().position(|v| v.is_zero()) {
        return evals[i];
    }
    let mut inv = diffs.clone();
    crate::field::batch_inverse(&mut inv);
    let full: Ext = diffs.iter().copied().product();
    let weights = barycentric_weights(d);
    let sum: Ext = (0..d).map(|i| evals[i] * inv[i] * weights[i]).sum();
    full * sum
}

/// `1 / prod_{j != i} (i - j)` for the nodes `0 .. d`, cached for small `d`.
fn barycentric_weights(d: usize) -> Vec<Fp> {
    static CACHE: std::sync::OnceLock<Vec<Vec<Fp>>> = std::sync::OnceLock::new();
    let compute = |d: usize| -> Vec<Fp> {
        (0..d)
            .map(|i| {
                let den: Fp = (0..d)
                    .filter(|&j| j != i)
                    .map(|j| Fp::from_i64(i as i64 - j as i64))
                    .product();
                // A product of non-zero small integers: invertible.
                den.inverse().unwrap_or(Fp::ZERO)
            })
            .collect()
    };
    let cache = CACHE.get_or_init(|| (0..=8).map(compute).collect());
    cache.get(d).cloned().unwrap_or_else(|| compute(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn rand_ext(rng: &mut impl Rng) -> Ext {
        Ext::new(Fp::new(rng.r#gen()), Fp::new(rng.r#gen()))
    }

    #[test]
    fn eq_table_matches_pointwise_eq() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let point: Vec<Ext> = (0..4).map(|_| rand_ext(&mut rng)).collect();
        let table = eq_table(&point);
        for (i, t) in table.iter().enumerate() {
            assert_eq!(*t, eq_at_index(&point, i));
        }
        assert_eq!(table.iter().copied().sum::<Ext>(), Ext::ONE);
    }

    #[test]
    fn evaluation_at_boolean_points_reads_the_table() {
        let values: Vec<Fp> = (0..13).map(|i| Fp::new(i * 7 + 1)).collect();
        for i in 0..16usize {
            let point: Vec<Ext> = (0..4)
                .map(|b| {
                    if (i >> b) & 1 == 1 {
                        Ext::ONE
                    } else {
                        Ext::ZERO
                    }
                })
                .collect();
            let want = values.get(i).copied().unwrap_or(Fp::ZERO);
            assert_eq!(evaluate_base(&values, &point), want.into());
        }
    }

    #[test]
    fn evaluation_agrees_with_eq_table_sum() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let point: Vec<Ext> = (0..5).map(|_| rand_ext(&mut rng)).collect();
        let values: Vec<Fp> = (0..29).map(|_| Fp::new(rng.r#gen())).collect();
        let eq = eq_table(&point);
        let want: Ext = values.iter().zip(&eq).map(|(&v, &e)| e * v).sum();
        assert_eq!(evaluate_base(&values, &point), want);
        let ext_values: Vec<Ext> = values.iter().map(|&v| v.into()).collect();
        assert_eq!(evaluate(&ext_values, &point), want);
    }

    #[test]
    fn prefix_indicator_sums_the_prefix() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let point: Vec<Ext> = (0..5).map(|_| rand_ext(&mut rng)).collect();
        let eq = eq_table(&point);
        for len in 0..=32 {
            let want: Ext = eq[..len].iter().copied().sum();
            assert_eq!(prefix_indicator(&point, len), want, "len {len}");
        }
        assert_eq!(prefix_indicator(&[], 1), Ext::ONE);
        assert_eq!(prefix_indicator(&[], 0), Ext::ZERO);
    }

    #[test]
    fn interpolation_recovers_a_cubic() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let coeffs: Vec<Ext> = (0..4).map(|_| rand_ext(&mut rng)).collect();
        let eval = |x: Ext| coeffs.iter().rev().fold(Ext::ZERO, |acc, &c| acc * x + c);
        let evals: Vec<Ext> = (0..4).map(|i| eval(Fp::new(i).into())).collect();
        let x = rand_ext(&mut rng);
        assert_eq!(interpolate_at(&evals, x), eval(x));
    }
}
