//! The LogUp argument for every lookup of the circuit: one fraction-sum GKR over all of them.
//!
//! For a table `T` with rows `t` and lookups `w_1 .. w_L` (a single column, or a pair
//! `w = x + β y` for function tables) LogUp proves `sum_i 1 / (α - w_i) = sum_t m_t / (α - t)`,
//! which (as rational functions of a random `α`, characteristic `p` > number of lookups) holds
//! only if every `w_i` is a row of `T`. The multiplicities `m` are sent before `α` and `β` are
//! drawn, as a list of (row, count): at most one entry per lookup, so their cost scales with
//! the model, not with the table ([`super::multiplicities`] encodes them).
//!
//! The witness sides of all tables are proven together: after `α, β` a challenge `ρ` weighs
//! table `k` by `ρ^k`, and one fraction-sum GKR ([`omron_zk::fraction_sum`]) runs over the
//! concatenation of every lookup's leaves (`ρ^k / (α - w_i)` on real positions, `0/1` on
//! padding), each lookup an aligned block of its layout's size, largest first. Its root is
//! `sum_k ρ^k LHS_k`; the verifier compares it with `sum_k ρ^k RHS_k`, which it sums directly
//! over the declared rows (reading `T` only there). If some table's two sides differ, the
//! difference is a non-zero polynomial of degree below the number of tables in `ρ`. The GKR
//! ends at one point `z`; lookup `i` (block `b_i` of `n_i` variables) receives its claims at
//! `z[..n_i]`, and the leaves' extensions there are
//! `Σ_i eq(z[n_i..], b_i) (leaf_i(z[..n_i]))` plus `1 - Σ_i eq(z[n_i..], b_i)` for the unused
//! blocks' denominators.

use omron_zk::mle::eq_at_index;
use omron_zk::{Ext, Fp, VerifyError, field::batch_inverse, fraction_sum};

use super::multiplicities::{self, DecodeError};
use crate::CircuitError;
use crate::context::{Prover, Verifier};
use crate::layout::Layout;
use crate::plan::{LookupColumn, Plan, Role, TableSpec};
use crate::witness::for_each_run;
use omron_ir::broadcast_index_map;

fn table_totals(plan: &Plan) -> Vec<u64> {
    let mut totals = vec![0u64; plan.tables.len()];
    for inst in &plan.lookups {
        totals[inst.table] += Layout::new(&inst.input.shape).numel() as u64;
    }
    totals
}

fn leaf(alpha: Ext, beta: Ext, x: i64, y: Option<i64>) -> Ext {
    let w = Ext::from(Fp::from_i64(x)) + beta * Fp::from_i64(y.unwrap_or(0));
    alpha - w
}

/// The row-major values of a lookup column.
fn column_values(p: &Prover<'_>, col: &LookupColumn) -> Vec<i64> {
    let n = Layout::new(&col.shape).numel();
    let mut acc = vec![col.constant as i128; n];
    for &(t, coeff) in &col.terms {
        let rows: &[i64] = match p.plan.role(t) {
            Role::Const => p.graph.tensors[t].const_data().unwrap_or(&[]),
            _ => p.witness.rows(t),
        };
        if p.plan.layout(t).dims == col.shape {
            // Same shape (the common case): element i is element i, no index map.
            for (a, &v) in acc.iter_mut().zip(rows) {
                *a += coeff as i128 * v as i128;
            }
            continue;
        }
        let map = broadcast_index_map(&p.plan.layout(t).dims, &col.shape);
        for (a, j) in acc.iter_mut().zip(map) {
            *a += coeff as i128 * rows[j] as i128;
        }
    }
    acc.into_iter().map(|v| v as i64).collect()
}

/// Where each lookup's block sits in the concatenated leaves: its offset (a multiple of its
/// padded length, as blocks are placed largest first) and the leaves' variable count.
struct Placement {
    offsets: Vec<usize>,
    /// Leaves the blocks fill; the rest, up to `2^vars`, are `0/1`.
    used: usize,
    vars: usize,
}

fn placement(plan: &Plan) -> Placement {
    let sizes: Vec<usize> = plan
        .lookups
        .iter()
        .map(|inst| Layout::new(&inst.input.shape).padded_len())
        .collect();
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(sizes[i]), i));
    let mut offsets = vec![0; sizes.len()];
    let mut end = 0;
    for i in order {
        offsets[i] = end;
        end += sizes[i];
    }
    Placement {
        offsets,
        used: end,
        vars: end.max(1).next_power_of_two().trailing_zeros() as usize,
    }
}

pub(crate) fn prove(p: &mut Prover<'_>) -> Result<(), CircuitError> {
    let plan = p.plan;
    let start = std::time::Instant::now();
    let lap =
        |step: &str| tracing::debug!(step, ms = start.elapsed().as_secs_f64() * 1e3, "lookup");
    let columns: Vec<Vec<i64>> = plan
        .lookups
        .iter()
        .map(|inst| column_values(p, &inst.input))
        .collect();
    let mut rows: Vec<Vec<u64>> = vec![Vec::new(); plan.tables.len()];
    for (inst, xs) in plan.lookups.iter().zip(&columns) {
        let spec = &plan.tables[inst.table];
        let table_rows = &mut rows[inst.table];
        table_rows.reserve(xs.len());
        for &x in xs {
            let row = spec.row_of(x).ok_or_else(|| {
                CircuitError::Malformed(format!(
                    "value {x} of a lookup column over {} is not in table {}",
                    inst.input
                        .terms
                        .first()
                        .map_or("constants", |&(t, _)| plan.tensors[t].name.as_str()),
                    spec.name()
                ))
            })?;
            table_rows.push(row);
        }
    }
    lap("columns");
    for table_rows in rows {
        multiplicities::send(&mut p.ch, &count_rows(table_rows));
    }
    lap("multiplicities");
    let alpha = p.ch.challenge_ext(b"lookup-alpha");
    let beta = p.ch.challenge_ext(b"lookup-beta");
    if plan.lookups.is_empty() {
        return Ok(());
    }
    let weights = table_weights(plan.tables.len(), || p.ch.challenge_ext(b"lookup-rho"));
    let place = placement(plan);
    // The unused tail past the last block is left implicit (`0/1` leaves).
    let mut leaves = vec![[Ext::ZERO, Ext::ONE]; place.used];
    for ((inst, xs), &offset) in plan.lookups.iter().zip(&columns).zip(&place.offsets) {
        let layout = Layout::new(&inst.input.shape);
        let ys = inst.output.map(|o| p.witness.rows(o));
        let weight = weights[inst.table];
        for_each_run(&layout, |element, position, len| {
            for e in element..element + len {
                let pos = offset + position + e - element;
                leaves[pos] = [weight, leaf(alpha, beta, xs[e], ys.map(|y| y[e]))];
            }
        });
    }
    lap("leaves");
    let fs = fraction_sum::prove_pairs(leaves, place.vars, &mut p.ch);
    lap("gkr");
    for inst in &plan.lookups {
        let layout = Layout::new(&inst.input.shape);
        let low = &fs.point[..layout.num_vars()];
        for &(t, _) in &inst.input.terms {
            let (point, _) = layout.project(&plan.layout(t).dims, low);
            p.claim(t, point);
        }
        if let Some(o) = inst.output {
            p.claim(o, low.to_vec());
        }
    }
    lap("claims");
    Ok(())
}

/// The declared rows of one table and how often each is looked up, rows ascending. Rows
/// spanning a range not much wider than their number (activations, remainders) are counted in
/// an array over the span (at most `2^16` or twice as many counters as lookups); sparse ones
/// (wide tables used at few rows) are sorted.
fn count_rows(mut rows: Vec<u64>) -> Vec<(u64, u64)> {
    let (Some(&lo), Some(&hi)) = (rows.iter().min(), rows.iter().max()) else {
        return Vec::new();
    };
    let span = hi - lo + 1;
    if span <= (2 * rows.len() as u64).max(1 << 16) {
        let mut counts = vec![0u64; span as usize];
        for &row in &rows {
            counts[(row - lo) as usize] += 1;
        }
        return (lo..=hi)
            .zip(counts)
            .filter(|&(_, count)| count > 0)
            .collect();
    }
    rows.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for row in rows {
        match out.last_mut() {
            Some((last, count)) if *last == row => *count += 1,
            _ => out.push((row, 1)),
        }
    }
    out
}

/// `ρ^k` for table `k`; `ρ` is drawn only when there are several tables.
fn table_weights(tables: usize, draw: impl FnOnce() -> Ext) -> Vec<Ext> {
    let rho = if tables > 1 { draw() } else { Ext::ONE };
    super::powers(rho, tables)
}

pub(crate) fn verify(v: &mut Verifier<'_>) -> Result<(), VerifyError> {
    let plan = v.plan;
    let totals = table_totals(plan);
    let mut declared: Vec<Vec<(u64, u64)>> = Vec::with_capacity(plan.tables.len());
    for (spec, &total) in plan.tables.iter().zip(&totals) {
        let entries =
            multiplicities::recv(&mut v.ch, spec.rows(), total)?.map_err(|e| match e {
                DecodeError::Integer(e) => e,
                DecodeError::Unbalanced => VerifyError::Lookup { table: spec.name() },
            })?;
        declared.push(entries);
    }
    let alpha = v.ch.challenge_ext(b"lookup-alpha");
    let beta = v.ch.challenge_ext(b"lookup-beta");
    if plan.lookups.is_empty() {
        return Ok(());
    }
    let weights = table_weights(plan.tables.len(), || v.ch.challenge_ext(b"lookup-rho"));
    let place = placement(plan);
    let fs = fraction_sum::verify(place.vars, &mut v.ch)?;
    // The leaves' extensions at the GKR's point, block by block.
    let (mut leaf_p, mut leaf_q, mut covered) = (Ext::ZERO, Ext::ZERO, Ext::ZERO);
    for (inst, &offset) in plan.lookups.iter().zip(&place.offsets) {
        let layout = Layout::new(&inst.input.shape);
        let (low, high) = fs.point.split_at(layout.num_vars());
        let in_block = eq_at_index(high, offset >> layout.num_vars());
        let s = layout.real_indicator(low);
        let mut x = s * Fp::from_i64(inst.input.constant);
        for &(t, coeff) in &inst.input.terms {
            let (point, factor) = layout.project(&plan.layout(t).dims, low);
            x += v.claim(t, point)? * factor * Fp::from_i64(coeff);
        }
        let y = match inst.output {
            Some(o) => v.claim(o, low.to_vec())?,
            None => Ext::ZERO,
        };
        leaf_p += in_block * weights[inst.table] * s;
        leaf_q += in_block * (alpha * s - x - beta * y + (Ext::ONE - s));
        covered += in_block;
    }
    leaf_q += Ext::ONE - covered;
    if fs.leaf_p != leaf_p || fs.leaf_q != leaf_q {
        return Err(VerifyError::Lookup {
            table: "the leaves of the lookup GKR".into(),
        });
    }
    let witness_side = fs
        .root_q
        .inverse()
        .map(|inv| fs.root_p * inv)
        .ok_or_else(|| VerifyError::Lookup {
            table: "the root of the lookup GKR".into(),
        })?;
    let mut table_side = Ext::ZERO;
    for ((spec, entries), &weight) in plan.tables.iter().zip(&declared).zip(&weights) {
        let mut dens: Vec<Ext> = entries
            .iter()
            .map(|&(row, _)| {
                let (x, y) = spec.row_values(row);
                leaf(alpha, beta, x, y)
            })
            .collect();
        if !batch_inverse(&mut dens) {
            return Err(VerifyError::Lookup { table: spec.name() });
        }
        let rhs: Ext = entries
            .iter()
            .zip(&dens)
            .map(|(&(_, m), &d)| d * Fp::new(m))
            .sum();
        table_side += weight * rhs;
    }
    if table_side != witness_side {
        let names: Vec<String> = plan.tables.iter().map(TableSpec::name).collect();
        return Err(VerifyError::Lookup {
            table: names.join(", "),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ways of counting (an array over a dense span, sorting a sparse one) give the rows
    /// ascending with their counts.
    #[test]
    fn rows_are_counted_dense_or_sparse() {
        let dense = vec![5, 3, 5, 9, 3, 5];
        assert_eq!(count_rows(dense), vec![(3, 2), (5, 3), (9, 1)]);
        let sparse = vec![1 << 40, 7, 1 << 40, 1 << 50];
        assert_eq!(count_rows(sparse), vec![(7, 1), (1 << 40, 2), (1 << 50, 1)]);
        assert_eq!(count_rows(Vec::new()), vec![]);
    }
}
