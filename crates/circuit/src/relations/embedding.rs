//! `y[s.., d] = T[ids[s..], d]`: rows of a public table `T: [V, D]` gathered by public indices
//! (a model input or a constant: token ids).
//!
//! Everything on the right is public, so a claim `y(z_s, z_d) = v` is checked directly, with no
//! sumcheck and no new claims:
//! `y(z_s, z_d) = sum_t eq(z_s, t) T(ids[t], z_d) = sum_{r} w_r sum_d eq(z_d, d) T[r, d]` with
//! `w_r = sum_{t: ids[t] = r} eq(z_s, t)` over the rows `r` that occur. The verifier's work is
//! `O(T + R D)` per claim for `T` positions and `R <= min(T, V)` distinct ids: it never reads
//! rows no token uses, so a vocabulary of any size costs nothing beyond its part of the
//! verifying key. It adds no soundness error (an exact evaluation). Ids outside `[0, V)` are
//! refused, as the executor refuses them.
//!
//! The prover sends nothing. Computed indices would need a lookup argument over `(r, T[r])`
//! rows instead (not implemented; the plan refuses them).

use std::collections::BTreeMap;

use omron_zk::mle::eq_table;
use omron_zk::{Ext, VerifyError};

use crate::context::{Claim, Verifier};
use crate::plan::Role;

pub(crate) fn verify(
    v: &mut Verifier<'_>,
    index: usize,
    claims: Vec<Claim>,
) -> Result<(), VerifyError> {
    let node = &v.graph.nodes[index];
    let (ids_t, table_t, y) = (node.inputs[0], node.inputs[1], node.output);
    let ids: &[i64] = match v.plan.role(ids_t) {
        Role::Input(i) => v.inputs.get(i).map(Vec::as_slice),
        Role::Const => v.graph.tensors[ids_t].const_data(),
        _ => None,
    }
    .ok_or_else(|| {
        VerifyError::Relation(format!(
            "embedding '{}': the index tensor is not public",
            node.name
        ))
    })?;
    let table_layout = v.plan.layout(table_t);
    let (rows, width) = (table_layout.dims[0], table_layout.dims[1]);
    let row_stride = 1usize << table_layout.bits[1];
    let mut rows_used = Vec::with_capacity(ids.len());
    for (position, &id) in ids.iter().enumerate() {
        let row = usize::try_from(id)
            .ok()
            .filter(|&r| r < rows)
            .ok_or_else(|| {
                VerifyError::Relation(format!(
                    "embedding '{}': index {id} at position {position} is outside [0, {rows})",
                    node.name
                ))
            })?;
        rows_used.push(row);
    }
    let table = v.public[table_t];
    let ly = v.plan.layout(y);
    let d_vars = ly.bits[ly.bits.len() - 1] as usize;
    let positions = v.plan.layout(ids_t).positions();
    for c in claims {
        let (zd, zs) = c.point.split_at(d_vars);
        let (eq_d, eq_s) = (eq_table(zd), eq_table(zs));
        let mut weights: BTreeMap<usize, Ext> = BTreeMap::new();
        for (&row, &pos) in rows_used.iter().zip(&positions) {
            *weights.entry(row).or_insert(Ext::ZERO) += eq_s[pos];
        }
        let expected: Ext = weights
            .iter()
            .map(|(&row, &w)| {
                let values = &table[row * row_stride..row * row_stride + width];
                w * eq_d.iter().zip(values).map(|(&e, &t)| e * t).sum::<Ext>()
            })
            .sum();
        if expected != c.value {
            return Err(VerifyError::Relation(format!(
                "embedding '{}' does not match its table rows",
                node.name
            )));
        }
    }
    Ok(())
}
