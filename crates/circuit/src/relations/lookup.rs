//! The LogUp argument for every lookup of the circuit: one fraction-sum GKR over all of them.
//!
//! For a table `T` with rows `t` and lookups `w_1 .. w_L` (a single column, or a pair
//! `w = x + β y` for function tables) LogUp proves `sum_i 1 / (α - w_i) = sum_t m_t / (α - t)`,
//! which (as rational functions of a random `α`, characteristic `p` > number of lookups) holds
//! only if every `w_i` is a row of `T`. The multiplicities `m` are sent before `α` and `β` are
//! drawn, as a list of (row, count): at most one entry per lookup, so their cost scales with
//! the model, not with the table: per table either `(row step, count)` pairs or, where the
//! declared rows are dense, a bitmap of them and their counts (whichever is shorter).
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

use crate::CircuitError;
use crate::context::{Prover, Verifier};
use crate::layout::Layout;
use crate::plan::{LookupColumn, Plan, Role, TableSpec};
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
        send_multiplicities(p, &count_rows(table_rows));
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
        for (e, pos) in layout.positions().into_iter().enumerate() {
            leaves[offset + pos] = [weight, leaf(alpha, beta, xs[e], ys.map(|y| y[e]))];
        }
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
/// an array over the span; sparse ones (wide tables used at few rows) are sorted.
fn count_rows(mut rows: Vec<u64>) -> Vec<(u64, u64)> {
    let (Some(&lo), Some(&hi)) = (rows.iter().min(), rows.iter().max()) else {
        return Vec::new();
    };
    let span = hi - lo + 1;
    if span <= (4 * rows.len() as u64).max(1 << 16) {
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

/// Bytes of `v` as LEB128.
fn varint_len(v: u64) -> usize {
    (64 - v.leading_zeros() as usize).div_ceil(7).max(1)
}

/// Sends one table's multiplicities in whichever of two encodings is shorter, after a mode
/// varint: `0`, sparse: the number of declared rows, then `(row step, count)` pairs (wide
/// tables used at few rows); `1`, bitmap: the first declared row and the span to the last one,
/// a bitmap of the declared rows over the span (bit `i % 8` of byte `i / 8` is row
/// `first + i`), then one count per declared row (dense use, e.g. remainders and activations:
/// little more than a byte per row, about half of the pairs).
fn send_multiplicities(p: &mut Prover<'_>, table: &[(u64, u64)]) {
    let (first, span) = match (table.first(), table.last()) {
        (Some(&(first, _)), Some(&(last, _))) => (first, last - first + 1),
        _ => (0, 0),
    };
    let mut pairs = Vec::with_capacity(2 * table.len());
    let mut prev = first;
    for &(row, count) in table {
        pairs.push(row - prev);
        pairs.push(count);
        prev = row;
    }
    if let Some(step) = pairs.first_mut() {
        *step = first;
    }
    let counts_len: usize = table.iter().map(|&(_, c)| varint_len(c)).sum();
    let sparse = pairs.iter().map(|&v| varint_len(v)).sum::<usize>();
    let dense = span.div_ceil(8) as usize + counts_len;
    if sparse <= dense {
        p.ch.send_varint(b"lookup-mode", 0);
        p.ch.send_varint(b"lookup-mode", table.len() as u64);
        p.ch.send_varints(b"lookup-multiplicities", &pairs);
        return;
    }
    for v in [1, first, span] {
        p.ch.send_varint(b"lookup-mode", v);
    }
    let mut bitmap = vec![0u8; span.div_ceil(8) as usize];
    for &(row, _) in table {
        let i = (row - first) as usize;
        bitmap[i / 8] |= 1 << (i % 8);
    }
    p.ch.send_bytes(b"lookup-rows", &bitmap);
    let counts: Vec<u64> = table.iter().map(|&(_, c)| c).collect();
    p.ch.send_varints(b"lookup-multiplicities", &counts);
}

/// Reads one table's multiplicities ([`send_multiplicities`]) for a table of `rows` rows and
/// `total` lookups into `(row, count)` entries with strictly increasing rows inside the table
/// and counts in `1 ..= total` summing to `total`. A bitmap's span must start and end on a
/// declared row, with no bits past it (every list has one encoding per mode).
fn recv_multiplicities(
    v: &mut Verifier<'_>,
    rows: u64,
    total: u64,
) -> Result<Result<Vec<(u64, u64)>, DecodeError>, VerifyError> {
    let mode = v.ch.recv_varint(b"lookup-mode", 1)?;
    if mode == 0 {
        let nnz = v.ch.recv_varint(b"lookup-mode", rows.min(total))?;
        let pairs = v.ch.recv_varints(
            b"lookup-multiplicities",
            2 * nnz as usize,
            (rows - 1).max(total),
        )?;
        return Ok(decode_pairs(&pairs, rows, total));
    }
    let first = v.ch.recv_varint(b"lookup-mode", rows - 1)?;
    let span = v.ch.recv_varint(b"lookup-mode", rows - first)?;
    let bitmap = v.ch.recv_bytes(b"lookup-rows", span.div_ceil(8) as usize)?;
    let mut declared = Vec::new();
    for (k, &byte) in bitmap.iter().enumerate() {
        let mut bits = byte;
        while bits != 0 {
            declared.push(first + 8 * k as u64 + bits.trailing_zeros() as u64);
            bits &= bits - 1;
        }
    }
    if declared.len() as u64 > total {
        return Ok(Err(DecodeError::Unbalanced));
    }
    let counts =
        v.ch.recv_varints(b"lookup-multiplicities", declared.len(), total)?;
    Ok(decode_bitmap(span, bitmap, &declared, &counts, total))
}

/// Why a multiplicity list was refused.
#[derive(Debug, PartialEq, Eq)]
enum DecodeError {
    /// A row or count is out of range.
    Integer(VerifyError),
    /// The counts do not add up to the number of lookups.
    Unbalanced,
}

/// Checks a decoded multiplicity list: the bitmap's first and last bits set and nothing past
/// the span, counts in `1 ..= total` summing to exactly `total`. The sum is checked, not
/// wrapped: a list whose counts overflow `u64` must not come back round to `total`.
fn decode_bitmap(
    span: u64,
    bitmap: &[u8],
    declared: &[u64],
    counts: &[u64],
    total: u64,
) -> Result<Vec<(u64, u64)>, DecodeError> {
    let bad = |what: &'static str, detail: String| {
        DecodeError::Integer(VerifyError::InvalidInteger { what, detail })
    };
    if span > 0 {
        let bit = |i: u64| bitmap[(i / 8) as usize] >> (i % 8) & 1 == 1;
        let spare = bitmap
            .last()
            .map_or(0, |&b| b as u32 >> (((span - 1) % 8) + 1));
        if !bit(0) || !bit(span - 1) || spare != 0 {
            return Err(bad(
                "lookup-rows",
                format!("the row bitmap does not start and end its span of {span}"),
            ));
        }
    }
    let mut sum = 0u64;
    for &count in counts {
        if count == 0 {
            return Err(bad("lookup-count", "zero multiplicity listed".into()));
        }
        sum = sum.checked_add(count).ok_or_else(|| {
            bad(
                "lookup-count",
                format!("counts overflow past {sum} (of {total} lookups)"),
            )
        })?;
    }
    if sum != total {
        return Err(DecodeError::Unbalanced);
    }
    Ok(declared
        .iter()
        .copied()
        .zip(counts.iter().copied())
        .collect())
}

/// Reads a table's `(row step, count)` pairs: rows strictly increasing below `rows`, counts in
/// `1 ..= total`, summing to exactly `total` (checked, not wrapped).
fn decode_pairs(pairs: &[u64], rows: u64, total: u64) -> Result<Vec<(u64, u64)>, DecodeError> {
    let bad = |what: &'static str, detail: String| {
        DecodeError::Integer(VerifyError::InvalidInteger { what, detail })
    };
    let mut entries = Vec::with_capacity(pairs.len() / 2);
    let (mut row, mut sum) = (0u64, 0u64);
    for (i, pair) in pairs.chunks_exact(2).enumerate() {
        let (delta, count) = (pair[0], pair[1]);
        if i > 0 && delta == 0 {
            return Err(bad("lookup-row", "rows must be strictly increasing".into()));
        }
        row = if i == 0 {
            delta
        } else {
            row.saturating_add(delta)
        };
        if row >= rows {
            return Err(bad(
                "lookup-row",
                format!("row {row} outside a table of {rows}"),
            ));
        }
        if count == 0 || count > total {
            return Err(bad(
                "lookup-count",
                format!("count {count} outside 1..={total}"),
            ));
        }
        sum = sum.checked_add(count).ok_or_else(|| {
            bad(
                "lookup-count",
                format!("counts overflow past {sum} (of {total} lookups)"),
            )
        })?;
        entries.push((row, count));
    }
    if sum != total {
        return Err(DecodeError::Unbalanced);
    }
    Ok(entries)
}

pub(crate) fn verify(v: &mut Verifier<'_>) -> Result<(), VerifyError> {
    let plan = v.plan;
    let totals = table_totals(plan);
    let mut multiplicities: Vec<Vec<(u64, u64)>> = Vec::with_capacity(plan.tables.len());
    for (spec, &total) in plan.tables.iter().zip(&totals) {
        let entries = recv_multiplicities(v, spec.rows(), total)?.map_err(|e| match e {
            DecodeError::Integer(e) => e,
            DecodeError::Unbalanced => VerifyError::Lookup { table: spec.name() },
        })?;
        multiplicities.push(entries);
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
    for ((spec, entries), &weight) in plan.tables.iter().zip(&multiplicities).zip(&weights) {
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

    #[test]
    fn multiplicities_decode_and_balance() {
        // Rows 2 and 7 (first 2, span 6: bits 0 and 5).
        let bitmap = [0b0010_0001u8];
        let entries = decode_bitmap(6, &bitmap, &[2, 7], &[3, 1], 4).unwrap();
        assert_eq!(entries, vec![(2, 3), (7, 1)]);
        assert_eq!(
            decode_bitmap(6, &bitmap, &[2, 7], &[3, 2], 4),
            Err(DecodeError::Unbalanced)
        );
        assert!(matches!(
            decode_bitmap(6, &bitmap, &[2, 7], &[4, 0], 4),
            Err(DecodeError::Integer(_))
        ));
        // A span that does not end on a declared row, or bits past it, has another encoding.
        assert!(matches!(
            decode_bitmap(7, &bitmap, &[2, 7], &[3, 1], 4),
            Err(DecodeError::Integer(_))
        ));
        assert!(matches!(
            decode_bitmap(6, &[0b1010_0001], &[2, 7], &[3, 1], 4),
            Err(DecodeError::Integer(_))
        ));
        assert_eq!(decode_bitmap(0, &[], &[], &[], 0), Ok(vec![]));
        // The sparse encoding.
        let entries = decode_pairs(&[2, 3, 5, 1], 10, 4).unwrap();
        assert_eq!(entries, vec![(2, 3), (7, 1)]);
        assert_eq!(
            decode_pairs(&[2, 3, 5, 2], 10, 4),
            Err(DecodeError::Unbalanced)
        );
        assert!(matches!(
            decode_pairs(&[2, 3, 0, 1], 10, 4),
            Err(DecodeError::Integer(_))
        ));
        assert!(matches!(
            decode_pairs(&[2, 3, 8, 1], 10, 4),
            Err(DecodeError::Integer(_))
        ));
    }

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

    #[test]
    fn overflowing_multiplicities_are_refused_not_wrapped() {
        // Three counts, each within `total`, whose wrapped sum is exactly `total`: an unchecked
        // addition would accept them as balanced.
        let total = 1u64 << 63;
        let counts = [total; 3];
        assert_eq!(
            counts.iter().fold(0u64, |a, &c| a.wrapping_add(c)),
            total,
            "the counts wrap round to total"
        );
        match decode_bitmap(3, &[0b111], &[0, 1, 2], &counts, total) {
            Err(DecodeError::Integer(VerifyError::InvalidInteger { what, detail })) => {
                assert_eq!(what, "lookup-count");
                assert!(detail.contains("overflow"), "{detail}");
            }
            other => panic!("overflow accepted: {other:?}"),
        }
    }
}
