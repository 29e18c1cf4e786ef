//! `y = a + b`, `a - b`, `a * b` with numpy broadcasting.
//!
//! Broadcasting is free on the hypercube: an operand that is constant along output dimension `d`
//! simply ignores that dimension's variables, and the sum over the dimension's real indices
//! becomes the factor `S_d(z_d) = sum_{i < dim} eq(z_d, i)`. So a claim `y(z) = v` on a sum gives
//! claims `a(z_a), b(z_b)` with `v = κ_a a(z_a) ± κ_b b(z_b)`. Multiplying by a constant scalar
//! is the same linear check; a product of two tensors is a degree-3 sumcheck of
//! `sum_i eq(z, i) A(i) B(i)` over the output, ending in claims on both operands.

use omron_ir::{Op, broadcast_index_map};
use omron_zk::mle::{eq_eval, eq_table};
use omron_zk::{Ext, Fp, VerifyError, sumcheck};

use super::{batching_prover, batching_verifier};
use crate::context::{Claim, Prover, Verifier};
use crate::layout::Layout;
use crate::plan::{Plan, Role, TensorRef};

/// Where an operand's point lies, and the factor its broadcast dimensions contribute.
pub(crate) struct Projection {
    pub(crate) point: Vec<Ext>,
    pub(crate) factor: Ext,
}

pub(crate) fn project(operand: &[usize], y: &Layout, z: &[Ext]) -> Projection {
    let (point, factor) = y.project(operand, z);
    Projection { point, factor }
}

/// The scalar value of a one-element constant operand.
fn scalar_const(plan: &Plan, graph: &omron_ir::Graph, t: TensorRef) -> Option<i64> {
    if plan.role(t) != Role::Const {
        return None;
    }
    match graph.tensors[t].const_data() {
        Some([c]) => Some(*c),
        _ => None,
    }
}

fn is_linear(op: &Op, scalars: [Option<i64>; 2]) -> bool {
    !matches!(op, Op::Mul) || scalars.iter().any(Option::is_some)
}

pub(crate) fn prove(p: &mut Prover<'_>, index: usize, claims: Vec<Claim>) {
    let node = &p.graph.nodes[index];
    let (a, b, y) = (node.inputs[0], node.inputs[1], node.output);
    let ly = p.plan.layout(y).clone();
    let shapes = [
        p.graph.tensors[a].shape.clone(),
        p.graph.tensors[b].shape.clone(),
    ];
    let scalars = [
        scalar_const(p.plan, p.graph, a),
        scalar_const(p.plan, p.graph, b),
    ];
    if is_linear(&node.op, scalars) {
        for c in claims {
            // For a product with a scalar, only the other operand carries a claim (the
            // verifier picks it the same way).
            let skip = match (&node.op, scalars) {
                (Op::Mul, [Some(_), _]) => Some(a),
                (Op::Mul, [None, Some(_)]) => Some(b),
                _ => None,
            };
            for (t, shape) in [(a, &shapes[0]), (b, &shapes[1])] {
                if skip == Some(t) {
                    continue;
                }
                let pr = project(shape, &ly, &c.point);
                p.claim(t, pr.point);
            }
        }
        return;
    }
    let coeffs = batching_prover(p, b"mul-gamma", claims.len());
    let mut e = vec![Ext::ZERO; ly.padded_len()];
    for (c, &g) in claims.iter().zip(&coeffs) {
        for (slot, t) in e.iter_mut().zip(eq_table(&c.point)) {
            *slot += g * t;
        }
    }
    let positions = ly.positions();
    let expand = |t: TensorRef, shape: &[usize]| -> Vec<Ext> {
        let map = broadcast_index_map(shape, &ly.dims);
        let rows: &[i64] = match p.plan.role(t) {
            Role::Const => p.graph.tensors[t].const_data().unwrap_or(&[]),
            _ => p.witness.rows(t),
        };
        let mut out = vec![Ext::ZERO; ly.padded_len()];
        for (&pos, &src) in positions.iter().zip(&map) {
            out[pos] = Fp::from_i64(rows[src]).into();
        }
        out
    };
    let tables = vec![e, expand(a, &shapes[0]), expand(b, &shapes[1])];
    let out = sumcheck::prove(b"mul", tables, 3, |v| v[0] * v[1] * v[2], &mut p.ch);
    for (t, shape) in [(a, &shapes[0]), (b, &shapes[1])] {
        let pr = project(shape, &ly, &out.point);
        p.claim(t, pr.point);
    }
}

pub(crate) fn verify(
    v: &mut Verifier<'_>,
    index: usize,
    claims: Vec<Claim>,
) -> Result<(), VerifyError> {
    let node = &v.graph.nodes[index];
    let (a, b, y) = (node.inputs[0], node.inputs[1], node.output);
    let ly = v.plan.layout(y).clone();
    let shapes = [
        v.graph.tensors[a].shape.clone(),
        v.graph.tensors[b].shape.clone(),
    ];
    let scalars = [
        scalar_const(v.plan, v.graph, a),
        scalar_const(v.plan, v.graph, b),
    ];
    if is_linear(&node.op, scalars) {
        for c in claims {
            let pa = project(&shapes[0], &ly, &c.point);
            let pb = project(&shapes[1], &ly, &c.point);
            let expected = match node.op {
                Op::Add => pa.factor * v.claim(a, pa.point)? + pb.factor * v.claim(b, pb.point)?,
                Op::Sub => pa.factor * v.claim(a, pa.point)? - pb.factor * v.claim(b, pb.point)?,
                // A product with a scalar constant (`is_linear` guarantees one): the constant
                // scales the other operand's broadcast claim; the indicator factors appear once.
                _ => {
                    let (k, t, pr) = match scalars {
                        [Some(k), _] => (k, b, pb),
                        [None, k] => (k.unwrap_or(0), a, pa),
                    };
                    pr.factor * v.claim(t, pr.point)? * Fp::from_i64(k)
                }
            };
            if expected != c.value {
                return Err(VerifyError::Relation(format!(
                    "{} node '{}' does not match its operands",
                    node.op.name(),
                    node.name
                )));
            }
        }
        return Ok(());
    }
    let coeffs = batching_verifier(v, b"mul-gamma", claims.len());
    let sum: Ext = claims.iter().zip(&coeffs).map(|(c, &g)| g * c.value).sum();
    let (s, fin) = sumcheck::verify(b"mul", sum, ly.num_vars(), 3, &mut v.ch)?;
    let e: Ext = claims
        .iter()
        .zip(&coeffs)
        .map(|(c, &g)| g * eq_eval(&c.point, &s))
        .sum();
    let pa = project(&shapes[0], &ly, &s);
    let pb = project(&shapes[1], &ly, &s);
    let va = pa.factor * v.claim(a, pa.point)?;
    let vb = pb.factor * v.claim(b, pb.point)?;
    if e * va * vb != fin {
        return Err(VerifyError::Sumcheck {
            label: "mul",
            round: s.len(),
            rounds: s.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_drops_broadcast_dimensions() {
        let y = Layout::new(&[2, 3, 4]);
        let z: Vec<Ext> = (0..y.num_vars())
            .map(|i| Ext::from(Fp::new(10 + i as u64)))
            .collect();
        // [3, 1] broadcasts over the first and last dims of [2, 3, 4].
        let pr = project(&[3, 1], &y, &z);
        assert_eq!(pr.point, y.dim_point(&z, 1).to_vec());
        let s = omron_zk::mle::prefix_indicator;
        let want = s(y.dim_point(&z, 0), 2) * s(y.dim_point(&z, 2), 4);
        assert_eq!(pr.factor, want);
        let full = project(&[2, 3, 4], &y, &z);
        assert_eq!(full.point, z);
        assert_eq!(full.factor, Ext::ONE);
    }
}
