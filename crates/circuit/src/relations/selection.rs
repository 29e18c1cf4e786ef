//! Selection ops (`Slice`, `Concat`, `Pad`, `Gather`, `ReduceSum`, `SumPool`, and reshapes
//! that move elements): every output element is a sum of operand elements, or the fill value.
//!
//! With `E(pos) = sum_c γ^c eq(z_c, pos)` combining the output claims,
//! `sum_c γ^c y(z_c) - fill * sum_{i empty} E(pos_y(i)) = sum_t sum_j x_t[j] G_t[j]` with
//! `G_t[pos_t(j)] = sum_{i: (t, j) in terms_i} E(pos_y(i))`. With several operands the prover
//! splits the sum per operand; each part is a degree-2 sumcheck over that operand, ending in a
//! claim on the operand and an evaluation of `G_t` that the verifier computes in
//! `O(terms)` from the public selection map (no values involved).

use omron_ir::{Selection, selection};
use omron_zk::mle::eq_table;
use omron_zk::{Ext, VerifyError, sumcheck};

use super::{batching_prover, batching_verifier};
use crate::context::{Claim, Prover, Verifier};
use crate::layout::Layout;
use crate::plan::Plan;

struct Map {
    selection: Selection,
    output: Layout,
    operands: Vec<Layout>,
}

fn map(plan: &Plan, graph: &omron_ir::Graph, index: usize) -> Option<Map> {
    let node = &graph.nodes[index];
    let shapes: Vec<&[usize]> = node
        .inputs
        .iter()
        .map(|&t| graph.tensors[t].shape.as_slice())
        .collect();
    let selection = selection(&node.op, &shapes, &graph.tensors[node.output].shape)?;
    Some(Map {
        selection,
        output: plan.layout(node.output).clone(),
        operands: node
            .inputs
            .iter()
            .map(|&t| plan.layout(t).clone())
            .collect(),
    })
}

/// `E(pos)` over the output layout.
fn combined_eq(output: &Layout, claims: &[Claim], coeffs: &[Ext]) -> Vec<Ext> {
    let mut e = vec![Ext::ZERO; output.padded_len()];
    for (c, &g) in claims.iter().zip(coeffs) {
        for (slot, t) in e.iter_mut().zip(eq_table(&c.point)) {
            *slot += g * t;
        }
    }
    e
}

/// `G_t` for every operand.
fn wiring_tables(m: &Map, e: &[Ext]) -> Vec<Vec<Ext>> {
    let out_pos = m.output.positions();
    let operand_pos: Vec<Vec<usize>> = m.operands.iter().map(Layout::positions).collect();
    let mut g: Vec<Vec<Ext>> = m
        .operands
        .iter()
        .map(|l| vec![Ext::ZERO; l.padded_len()])
        .collect();
    for (i, terms) in m.selection.terms.iter().enumerate() {
        let w = e[out_pos[i]];
        for &(t, j) in terms {
            g[t][operand_pos[t][j]] += w;
        }
    }
    g
}

fn fill_term(m: &Map, e: &[Ext]) -> Ext {
    if m.selection.fill == 0 {
        return Ext::ZERO;
    }
    let out_pos = m.output.positions();
    let empty: Ext = m
        .selection
        .terms
        .iter()
        .enumerate()
        .filter(|(_, t)| t.is_empty())
        .map(|(i, _)| e[out_pos[i]])
        .sum();
    empty * omron_zk::Fp::from_i64(m.selection.fill)
}

pub(crate) fn prove(p: &mut Prover<'_>, index: usize, claims: Vec<Claim>) {
    let Some(m) = map(p.plan, p.graph, index) else {
        return;
    };
    let coeffs = batching_prover(p, b"select-gamma", claims.len());
    let e = combined_eq(&m.output, &claims, &coeffs);
    let g = wiring_tables(&m, &e);
    let inputs = p.graph.nodes[index].inputs.clone();
    let xs: Vec<Vec<Ext>> = inputs
        .iter()
        .map(|&t| p.padded(t).iter().map(|&v| v.into()).collect())
        .collect();
    if inputs.len() > 1 {
        let parts: Vec<Ext> = xs
            .iter()
            .zip(&g)
            .map(|(x, g)| x.iter().zip(g).map(|(a, b)| *a * *b).sum())
            .collect();
        p.ch.send_exts(b"select-parts", &parts);
    }
    for ((t, x), g) in inputs.into_iter().zip(xs).zip(g) {
        let out = sumcheck::prove(b"select", vec![x, g], 2, |v| v[0] * v[1], &mut p.ch);
        p.claim_value(t, out.point, out.values[0]);
    }
}

/// The wiring predicate of a strided slice at `(z_c, s)`, in `O(Σ_d dim_d)` per claim instead
/// of `O(numel)`: output coordinate `c_d` reads operand coordinate `start_d + c_d step_d`, and
/// with per-dimension layouts both `eq`s factor over dimensions, so
/// `G(s) = Σ_c γ^c Π_d Σ_{c_d} eq(z_{c,d}, c_d) eq(s_d, start_d + c_d step_d)`.
fn slice_wiring(
    output: &Layout,
    operand: &Layout,
    starts: &[usize],
    steps: &[usize],
    claims: &[Claim],
    coeffs: &[Ext],
    s: &[Ext],
) -> Ext {
    let dims = output.dims.len();
    let eq_s: Vec<Vec<Ext>> = (0..dims)
        .map(|d| eq_table(operand.dim_point(s, d)))
        .collect();
    claims
        .iter()
        .zip(coeffs)
        .map(|(c, &g)| {
            let mut prod = g;
            for d in 0..dims {
                let eq_z = eq_table(output.dim_point(&c.point, d));
                let sum: Ext = (0..output.dims[d])
                    .map(|i| eq_z[i] * eq_s[d][starts[d] + i * steps[d]])
                    .sum();
                prod *= sum;
            }
            prod
        })
        .sum()
}

/// A strided slice, verified with [`slice_wiring`] (no `O(numel)` tables).
fn verify_slice(
    v: &mut Verifier<'_>,
    index: usize,
    claims: Vec<Claim>,
    starts: &[usize],
    steps: &[usize],
) -> Result<(), VerifyError> {
    let node = &v.graph.nodes[index];
    let (input, output) = (node.inputs[0], node.output);
    let operand = v.plan.layout(input).clone();
    let out = v.plan.layout(output).clone();
    let fits = |l: &Layout| l.dims.len() == starts.len() && l.dims.len() == steps.len();
    let in_range = (0..out.dims.len())
        .all(|d| out.dims[d] == 0 || starts[d] + (out.dims[d] - 1) * steps[d] < operand.dims[d]);
    if !fits(&operand) || !fits(&out) || !in_range {
        return Err(VerifyError::Relation(format!(
            "slice '{}' does not fit its operand",
            node.name
        )));
    }
    let coeffs = batching_verifier(v, b"select-gamma", claims.len());
    let total: Ext = claims.iter().zip(&coeffs).map(|(c, &g)| g * c.value).sum();
    let (s, fin) = sumcheck::verify(b"select", total, operand.num_vars(), 2, &mut v.ch)?;
    let g_at = slice_wiring(&out, &operand, starts, steps, &claims, &coeffs, &s);
    let xv = v.claim(input, s)?;
    if xv * g_at != fin {
        return Err(VerifyError::Sumcheck {
            label: "selection",
            round: operand.num_vars(),
            rounds: operand.num_vars(),
        });
    }
    Ok(())
}

pub(crate) fn verify(
    v: &mut Verifier<'_>,
    index: usize,
    claims: Vec<Claim>,
) -> Result<(), VerifyError> {
    if let omron_ir::Op::Slice { starts, steps, .. } = &v.graph.nodes[index].op
        && v.graph.nodes[index].inputs.len() == 1
    {
        let (starts, steps) = (starts.clone(), steps.clone());
        return verify_slice(v, index, claims, &starts, &steps);
    }
    let node_name = v.graph.nodes[index].name.clone();
    let m = map(v.plan, v.graph, index)
        .ok_or_else(|| VerifyError::Relation(format!("'{node_name}' is not a selection")))?;
    let coeffs = batching_verifier(v, b"select-gamma", claims.len());
    let e = combined_eq(&m.output, &claims, &coeffs);
    let total: Ext = claims
        .iter()
        .zip(&coeffs)
        .map(|(c, &g)| g * c.value)
        .sum::<Ext>()
        - fill_term(&m, &e);
    let inputs = v.graph.nodes[index].inputs.clone();
    let parts = if inputs.len() > 1 {
        let parts = v.ch.recv_exts(b"select-parts", inputs.len())?;
        if parts.iter().copied().sum::<Ext>() != total {
            return Err(VerifyError::Relation(format!(
                "selection '{node_name}': parts do not add up"
            )));
        }
        parts
    } else {
        vec![total]
    };
    let out_pos = m.output.positions();
    for (k, (&t, part)) in inputs.iter().zip(parts).enumerate() {
        let layout = &m.operands[k];
        let (s, fin) = sumcheck::verify(b"select", part, layout.num_vars(), 2, &mut v.ch)?;
        let eq_s = eq_table(&s);
        let operand_pos = layout.positions();
        let mut g_at = Ext::ZERO;
        for (i, terms) in m.selection.terms.iter().enumerate() {
            for &(tt, j) in terms {
                if tt == k {
                    g_at += e[out_pos[i]] * eq_s[operand_pos[j]];
                }
            }
        }
        let xv = v.claim(t, s)?;
        if xv * g_at != fin {
            return Err(VerifyError::Sumcheck {
                label: "selection",
                round: layout.num_vars(),
                rounds: layout.num_vars(),
            });
        }
    }
    Ok(())
}
