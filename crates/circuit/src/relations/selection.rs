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

use super::{batching_prover, batching_verifier, padded};
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
    if let Some(sep) = separable(p.plan, p.graph, index) {
        let node = &p.graph.nodes[index];
        let (input, output) = (node.inputs[0], node.output);
        let coeffs = batching_prover(p, b"select-gamma", claims.len());
        let g = separable_table(
            &sep,
            p.plan.layout(output),
            p.plan.layout(input),
            &claims,
            &coeffs,
        );
        let out = sumcheck::prove_product_base(b"select", padded(p, input), g, &mut p.ch);
        p.claim_value(input, out.point, out.values[0]);
        return;
    }
    let Some(m) = map(p.plan, p.graph, index) else {
        return;
    };
    let coeffs = batching_prover(p, b"select-gamma", claims.len());
    let e = combined_eq(&m.output, &claims, &coeffs);
    let g = wiring_tables(&m, &e);
    let inputs = p.graph.nodes[index].inputs.clone();
    if inputs.len() > 1 {
        let parts: Vec<Ext> = inputs
            .iter()
            .zip(&g)
            .map(|(&t, g)| p.padded(t).iter().zip(g).map(|(&x, &w)| w * x).sum())
            .collect();
        p.ch.send_exts(b"select-parts", &parts);
    }
    for (t, g) in inputs.into_iter().zip(g) {
        let out = sumcheck::prove_product_base(b"select", padded(p, t), g, &mut p.ch);
        p.claim_value(t, out.point, out.values[0]);
    }
}

/// Per operand dimension, how output coordinates read operand coordinates, for the selections
/// whose map factors over dimensions: a strided `Slice` (output coordinate `c_d` reads
/// `start_d + c_d step_d`) and `SumPool` (leading dimensions map to themselves; output row `i`
/// sums rows `i stride + u - pad` for `u < kernel`, columns alike). Each entry lists, for one
/// output coordinate, the operand coordinates it reads.
struct Separable {
    /// `reads[d][c]`: the operand coordinates along dimension `d` that output coordinate `c`
    /// reads (each at most once).
    reads: Vec<Vec<Vec<usize>>>,
}

impl Separable {
    /// The per-dimension map of a single-operand `Slice` or `SumPool`, or `None` for other ops
    /// (and for shapes the map does not fit: a malformed key falls back to the generic map).
    fn of(op: &omron_ir::Op, operand: &Layout, output: &Layout) -> Option<Separable> {
        let rank = output.dims.len();
        if operand.dims.len() != rank {
            return None;
        }
        let reads = match op {
            omron_ir::Op::Slice { starts, steps, .. } => {
                if starts.len() != rank || steps.len() != rank {
                    return None;
                }
                (0..rank)
                    .map(|d| {
                        (0..output.dims[d])
                            .map(|c| vec![starts[d] + c * steps[d]])
                            .collect::<Vec<_>>()
                    })
                    .collect::<Vec<_>>()
            }
            omron_ir::Op::SumPool {
                kernel,
                strides,
                pads,
            } if rank >= 2 && output.dims[..rank - 2] == operand.dims[..rank - 2] => {
                let mut reads: Vec<Vec<Vec<usize>>> = (0..rank - 2)
                    .map(|d| (0..output.dims[d]).map(|c| vec![c]).collect())
                    .collect();
                for (axis, d) in [rank - 2, rank - 1].into_iter().enumerate() {
                    let window = |i: usize| {
                        (0..kernel[axis])
                            .filter_map(|u| {
                                let at = (i * strides[axis] + u) as isize - pads[axis] as isize;
                                (at >= 0 && (at as usize) < operand.dims[d]).then_some(at as usize)
                            })
                            .collect::<Vec<_>>()
                    };
                    reads.push((0..output.dims[d]).map(window).collect());
                }
                reads
            }
            _ => return None,
        };
        let fits = (0..rank).all(|d| reads[d].iter().flatten().all(|&j| j < operand.dims[d]));
        fits.then_some(Separable { reads })
    }

    /// For one output claim point `z`: per operand dimension, the table
    /// `a_d[j] = sum_{c: c reads j} eq(z_d, c)` over the operand's padded coordinates. The wiring
    /// table of the claim is their tensor product.
    fn factors(&self, output: &Layout, operand: &Layout, z: &[Ext]) -> Vec<Vec<Ext>> {
        (0..output.dims.len())
            .map(|d| {
                let eq_z = eq_table(output.dim_point(z, d));
                let mut a = vec![Ext::ZERO; 1 << operand.bits[d]];
                for (c, reads) in self.reads[d].iter().enumerate() {
                    for &j in reads {
                        a[j] += eq_z[c];
                    }
                }
                a
            })
            .collect()
    }
}

/// The operand's wiring table `G = sum_c γ^c ⊗_d a_{c,d}`, built dimension by dimension
/// (`O(numel)` per claim, no selection map).
fn separable_table(
    sep: &Separable,
    output: &Layout,
    operand: &Layout,
    claims: &[Claim],
    coeffs: &[Ext],
) -> Vec<Ext> {
    let mut g = vec![Ext::ZERO; operand.padded_len()];
    for (c, &gamma) in claims.iter().zip(coeffs) {
        let factors = sep.factors(output, operand, &c.point);
        // Expand from the highest dimension down: each step multiplies the table built so far
        // by the next (lower) dimension's factor.
        let mut table = vec![gamma];
        for a in &factors {
            let mut next = Vec::with_capacity(table.len() * a.len());
            for &t in &table {
                next.extend(a.iter().map(|&x| t * x));
            }
            table = next;
        }
        for (slot, t) in g.iter_mut().zip(table) {
            *slot += t;
        }
    }
    g
}

/// `G(s)` for the separable selections, in `O(Σ_d dim_d)` per claim instead of `O(numel)`:
/// `G(s) = Σ_c γ^c Π_d Σ_j a_{c,d}[j] eq(s_d, j)`.
fn separable_at(
    sep: &Separable,
    output: &Layout,
    operand: &Layout,
    claims: &[Claim],
    coeffs: &[Ext],
    s: &[Ext],
) -> Ext {
    let eq_s: Vec<Vec<Ext>> = (0..operand.dims.len())
        .map(|d| eq_table(operand.dim_point(s, d)))
        .collect();
    claims
        .iter()
        .zip(coeffs)
        .map(|(c, &gamma)| {
            sep.factors(output, operand, &c.point)
                .iter()
                .zip(&eq_s)
                .fold(gamma, |acc, (a, e)| {
                    acc * a.iter().zip(e).map(|(x, y)| *x * *y).sum::<Ext>()
                })
        })
        .sum()
}

/// A single-operand `Slice` or `SumPool`, verified with [`separable_at`].
fn verify_separable(
    v: &mut Verifier<'_>,
    index: usize,
    claims: Vec<Claim>,
    sep: &Separable,
) -> Result<(), VerifyError> {
    let node = &v.graph.nodes[index];
    let (input, output) = (node.inputs[0], node.output);
    let operand = v.plan.layout(input).clone();
    let out = v.plan.layout(output).clone();
    let coeffs = batching_verifier(v, b"select-gamma", claims.len());
    let total: Ext = claims.iter().zip(&coeffs).map(|(c, &g)| g * c.value).sum();
    let (s, fin) = sumcheck::verify(b"select", total, operand.num_vars(), 2, &mut v.ch)?;
    let g_at = separable_at(sep, &out, &operand, &claims, &coeffs, &s);
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

/// The separable map of node `index`, when it has one operand and its op factors.
fn separable(plan: &Plan, graph: &omron_ir::Graph, index: usize) -> Option<Separable> {
    let node = &graph.nodes[index];
    if node.inputs.len() != 1 {
        return None;
    }
    Separable::of(
        &node.op,
        plan.layout(node.inputs[0]),
        plan.layout(node.output),
    )
}

pub(crate) fn verify(
    v: &mut Verifier<'_>,
    index: usize,
    claims: Vec<Claim>,
) -> Result<(), VerifyError> {
    if let Some(sep) = separable(v.plan, v.graph, index) {
        return verify_separable(v, index, claims, &sep);
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
