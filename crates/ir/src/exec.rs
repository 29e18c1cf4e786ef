//! The reference executor: the exact integer semantics of every [`Op`], and the witness the
//! circuit layer proves.

use crate::shape::{broadcast_index_map, strides};
use crate::{
    ACT_BITS, ACT_MAX, ACT_MIN, ConvAttrs, Graph, IrError, Node, Op, TensorKind, VALUE_BOUND,
    numel, selection,
};

/// Largest denominator of [`Op::Div`] (exclusive).
pub const DIV_DENOMINATOR_BOUND: i64 = 1 << 32;
/// Largest quotient magnitude of [`Op::Div`] (exclusive).
pub const DIV_QUOTIENT_BOUND: i64 = 1 << 30;

/// The values of every tensor after running a graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// Values of each non-constant tensor (row-major); empty for constants, which live in the
    /// graph.
    values: Vec<Vec<i64>>,
}

impl Trace {
    /// Values of tensor `id` (constants are read from `graph`).
    pub fn get<'a>(&'a self, graph: &'a Graph, id: usize) -> &'a [i64] {
        match &graph.tensors[id].kind {
            TensorKind::Const(data) => data,
            _ => &self.values[id],
        }
    }

    /// The graph outputs, in order.
    pub fn outputs(&self, graph: &Graph) -> Vec<Vec<i64>> {
        graph
            .outputs
            .iter()
            .map(|&id| self.get(graph, id).to_vec())
            .collect()
    }
}

/// `y[r, j] = sum_k x[r, k] w[j, k] (+ b[j])`, exactly.
///
/// The weight rows are the outer loop, so each weight is read from memory once however many
/// rows `x` has (a transformer's 16 to 64 token rows against 124 M weights: reading the weights
/// once per row made execution memory-bound); a row of `x` stays in cache. Sums run in `i64`
/// when the operands' magnitudes prove they cannot overflow (the usual case: 16-bit
/// activations, narrow weights), in `i128` otherwise; the bound is taken per weight row, while
/// the row is in cache.
fn matmul(x: &[i64], w: &[i64], bias: Option<&[i64]>, n: usize, k: usize) -> Vec<i128> {
    let rows = x.len().checked_div(k).unwrap_or(0);
    let max_abs = |v: &[i64]| v.iter().map(|a| a.unsigned_abs()).max().unwrap_or(0) as u128;
    let x_max = max_abs(x);
    let mut out = vec![0i128; rows * n];
    for j in 0..n {
        let wr = &w[j * k..(j + 1) * k];
        let b = bias.map_or(0, |b| b[j]);
        let fits_i64 = x_max
            .checked_mul(max_abs(wr))
            .and_then(|p| p.checked_mul(k as u128))
            .and_then(|p| p.checked_add(u128::from(b.unsigned_abs())))
            .is_some_and(|total| total < (1u128 << 63));
        for r in 0..rows {
            let xr = &x[r * k..(r + 1) * k];
            out[r * n + j] = if fits_i64 {
                let dot: i64 = xr.iter().zip(wr).map(|(a, w)| a * w).sum();
                (dot + b) as i128
            } else {
                xr.iter()
                    .zip(wr)
                    .map(|(&a, &w)| a as i128 * w as i128)
                    .sum::<i128>()
                    + b as i128
            };
        }
    }
    out
}

/// Runs `graph` on already quantised `inputs` (one vector per graph input, row-major).
pub fn execute(graph: &Graph, inputs: &[Vec<i64>]) -> Result<Trace, IrError> {
    if inputs.len() != graph.inputs.len() {
        return Err(IrError::Input {
            index: inputs.len(),
            detail: format!(
                "the model takes {} inputs, got {}",
                graph.inputs.len(),
                inputs.len()
            ),
        });
    }
    let mut values: Vec<Vec<i64>> = vec![Vec::new(); graph.tensors.len()];
    for (index, (&id, data)) in graph.inputs.iter().zip(inputs).enumerate() {
        let want = graph.tensors[id].numel();
        if data.len() != want {
            return Err(IrError::Input {
                index,
                detail: format!("expected {want} values, got {}", data.len()),
            });
        }
        // Inputs quantised from floats are activation-sized or token ids (`quantise_input`);
        // integer inputs (scoring circuits) may be wide, but never near the field's size. Ids
        // outside their table are refused by the embedding itself, naming the node, the input
        // and the value.
        if let Some(v) = data.iter().find(|v| v.unsigned_abs() >= VALUE_BOUND as u64) {
            return Err(IrError::Input {
                index,
                detail: format!("value {v} exceeds 2^62 in magnitude"),
            });
        }
        values[id] = data.clone();
    }
    for node in &graph.nodes {
        let out = {
            let operand = |i: usize| -> &[i64] {
                let id = node.inputs[i];
                match &graph.tensors[id].kind {
                    TensorKind::Const(data) => data,
                    _ => &values[id],
                }
            };
            run_node(graph, node, &operand)?
        };
        values[node.output] = out;
    }
    Ok(Trace { values })
}

fn run_node<'a>(
    graph: &Graph,
    node: &Node,
    operand: &dyn Fn(usize) -> &'a [i64],
) -> Result<Vec<i64>, IrError> {
    let shape = |i: usize| graph.tensors[node.inputs[i]].shape.as_slice();
    let out_shape = &graph.tensors[node.output].shape;
    let overflow = || IrError::ValueOverflow {
        node: node.name.clone(),
        op: node.op.name(),
    };
    let bounded = |v: i128| -> Result<i64, IrError> {
        if v.unsigned_abs() >= VALUE_BOUND as u128 {
            Err(overflow())
        } else {
            Ok(v as i64)
        }
    };
    match &node.op {
        Op::MatMul => {
            let (x, w) = (operand(0), operand(1));
            let (n, k) = (shape(1)[0], shape(1)[1]);
            let bias = (node.inputs.len() == 3).then(|| operand(2));
            matmul(x, w, bias, n, k).into_iter().map(bounded).collect()
        }
        Op::BatchMatMul => {
            crate::kernels::batch_matmul(node, operand(0), shape(0), operand(1), shape(1))
        }
        Op::Embedding => {
            let ids_name = &graph.tensors[node.inputs[0]].name;
            crate::kernels::embedding(node, ids_name, operand(0), operand(1), shape(1))
        }
        Op::Conv(attrs) => conv(
            attrs,
            operand(0),
            shape(0),
            operand(1),
            shape(1),
            (node.inputs.len() == 3).then(|| operand(2)),
            out_shape,
        )
        .into_iter()
        .map(bounded)
        .collect(),
        Op::Add | Op::Sub | Op::Mul => {
            let (a, b) = (operand(0), operand(1));
            let ia = broadcast_index_map(shape(0), out_shape);
            let ib = broadcast_index_map(shape(1), out_shape);
            ia.iter()
                .zip(&ib)
                .map(|(&i, &j)| {
                    let (x, y) = (a[i] as i128, b[j] as i128);
                    bounded(match node.op {
                        Op::Add => x + y,
                        Op::Sub => x - y,
                        _ => x * y,
                    })
                })
                .collect()
        }
        Op::Rescale { shift } => operand(0)
            .iter()
            .map(|&x| {
                let q = rescale(x, *shift);
                if (ACT_MIN..=ACT_MAX).contains(&q) {
                    Ok(q)
                } else {
                    Err(IrError::ActivationOverflow {
                        node: node.name.clone(),
                        op: "Rescale",
                        value: q,
                        bits: ACT_BITS,
                    })
                }
            })
            .collect(),
        Op::Lookup(f) => operand(0)
            .iter()
            .map(|&x| {
                if (ACT_MIN..=ACT_MAX).contains(&x) {
                    Ok(f.eval(x))
                } else {
                    Err(IrError::ActivationOverflow {
                        node: node.name.clone(),
                        op: f.kind.name(),
                        value: x,
                        bits: ACT_BITS,
                    })
                }
            })
            .collect(),
        Op::Reshape { .. } => Ok(operand(0).to_vec()),
        Op::Transpose { perm } => Ok(transpose(operand(0), shape(0), perm)),
        Op::Slice { .. }
        | Op::Concat { .. }
        | Op::Pad { .. }
        | Op::Gather { .. }
        | Op::ReduceSum { .. }
        | Op::SumPool { .. } => {
            let shapes: Vec<&[usize]> = (0..node.inputs.len()).map(shape).collect();
            let sel = selection(&node.op, &shapes, out_shape).ok_or_else(|| {
                IrError::Malformed(format!("{} has no selection map", node.op.name()))
            })?;
            let operands: Vec<&[i64]> = (0..node.inputs.len()).map(operand).collect();
            sel.terms
                .iter()
                .map(|t| {
                    if t.is_empty() {
                        return Ok(sel.fill);
                    }
                    bounded(t.iter().map(|&(k, j)| operands[k][j] as i128).sum())
                })
                .collect()
        }
        Op::Max | Op::Min => {
            let (a, b) = (operand(0), operand(1));
            let ia = broadcast_index_map(shape(0), out_shape);
            let ib = broadcast_index_map(shape(1), out_shape);
            ia.iter()
                .zip(&ib)
                .map(|(&i, &j)| {
                    let d = a[i] as i128 - b[j] as i128;
                    if d < ACT_MIN as i128 || d > ACT_MAX as i128 {
                        return Err(IrError::ActivationOverflow {
                            node: node.name.clone(),
                            op: node.op.name(),
                            value: d.clamp(i64::MIN as i128, i64::MAX as i128) as i64,
                            bits: ACT_BITS,
                        });
                    }
                    Ok(if matches!(node.op, Op::Max) {
                        a[i].max(b[j])
                    } else {
                        a[i].min(b[j])
                    })
                })
                .collect()
        }
        Op::DivRound { divisor } => {
            let d = *divisor as i128;
            operand(0)
                .iter()
                .map(|&x| {
                    let q = (x as i128 + d / 2).div_euclid(d) as i64;
                    if (ACT_MIN..=ACT_MAX).contains(&q) {
                        Ok(q)
                    } else {
                        Err(IrError::ActivationOverflow {
                            node: node.name.clone(),
                            op: "DivRound",
                            value: q,
                            bits: ACT_BITS,
                        })
                    }
                })
                .collect()
        }
        Op::DivFloor { divisor } => {
            let d = *divisor as i64;
            Ok(operand(0).iter().map(|&x| x.div_euclid(d)).collect())
        }
        Op::Div { shift } => {
            let (a, b) = (operand(0), operand(1));
            let ia = broadcast_index_map(shape(0), out_shape);
            let ib = broadcast_index_map(shape(1), out_shape);
            ia.iter()
                .zip(&ib)
                .map(|(&i, &j)| {
                    let num = (a[i] as i128) << shift;
                    let den = b[j];
                    if num.unsigned_abs() >= VALUE_BOUND as u128 {
                        return Err(overflow());
                    }
                    if !(1..DIV_DENOMINATOR_BOUND).contains(&den) {
                        return Err(IrError::Shape {
                            node: node.name.clone(),
                            op: "Div",
                            detail: format!("denominator {den} is outside [1, 2^32)"),
                        });
                    }
                    let q = num.div_euclid(den as i128);
                    if q.unsigned_abs() >= DIV_QUOTIENT_BOUND as u128 {
                        return Err(IrError::ActivationOverflow {
                            node: node.name.clone(),
                            op: "Div",
                            value: q.clamp(i64::MIN as i128, i64::MAX as i128) as i64,
                            bits: 31,
                        });
                    }
                    Ok(q as i64)
                })
                .collect()
        }
        Op::IntDiv {
            den_bits,
            quot_bits,
        } => {
            let (a, b) = (operand(0), operand(1));
            let ia = broadcast_index_map(shape(0), out_shape);
            let ib = broadcast_index_map(shape(1), out_shape);
            let fail = |detail: String| IrError::Shape {
                node: node.name.clone(),
                op: "IntDiv",
                detail,
            };
            ia.iter()
                .zip(&ib)
                .map(|(&i, &j)| {
                    let (num, den) = (a[i], b[j]);
                    if num.unsigned_abs() >= 1 << 61 {
                        return Err(fail(format!("numerator {num} exceeds 2^61")));
                    }
                    if den < 1 || den >= 1i64 << den_bits {
                        return Err(fail(format!(
                            "denominator {den} is outside [1, 2^{den_bits})"
                        )));
                    }
                    let q = num.div_euclid(den);
                    if q.unsigned_abs() >= 1 << quot_bits {
                        return Err(fail(format!(
                            "quotient {q} needs more than {quot_bits} bits"
                        )));
                    }
                    Ok(q)
                })
                .collect()
        }
        Op::WideLookup { f, lo, hi } => operand(0)
            .iter()
            .map(|&x| {
                if x < *lo || x >= *hi {
                    return Err(IrError::Shape {
                        node: node.name.clone(),
                        op: f.name(),
                        detail: format!("input {x} is outside the table's domain [{lo}, {hi})"),
                    });
                }
                f.eval(x).ok_or_else(|| IrError::Shape {
                    node: node.name.clone(),
                    op: f.name(),
                    detail: format!("input {x} is outside the function's domain"),
                })
            })
            .collect(),
    }
}

/// `floor((x + 2^(shift-1)) / 2^shift)`: division by a power of two, rounding half up.
pub(crate) fn rescale(x: i64, shift: u32) -> i64 {
    if shift == 0 {
        return x;
    }
    (x + (1i64 << (shift - 1))) >> shift
}

fn transpose(x: &[i64], shape: &[usize], perm: &[usize]) -> Vec<i64> {
    let in_strides = strides(shape);
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let n = numel(&out_shape);
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; out_shape.len()];
    for _ in 0..n {
        let flat: usize = idx.iter().zip(perm).map(|(&i, &p)| i * in_strides[p]).sum();
        out.push(x[flat]);
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

fn conv(
    attrs: &ConvAttrs,
    x: &[i64],
    x_shape: &[usize],
    w: &[i64],
    w_shape: &[usize],
    bias: Option<&[i64]>,
    out_shape: &[usize],
) -> Vec<i128> {
    let chw = &x_shape[x_shape.len() - 3..];
    let (c_in, h, wd) = (chw[0], chw[1], chw[2]);
    let (o_ch, c_per, kh, kw) = (w_shape[0], w_shape[1], w_shape[2], w_shape[3]);
    let ohw = &out_shape[out_shape.len() - 2..];
    let (oh, ow) = (ohw[0], ohw[1]);
    let o_per = o_ch / attrs.group;
    let _ = c_in;
    let mut out = Vec::with_capacity(o_ch * oh * ow);
    for o in 0..o_ch {
        let g = o / o_per;
        for i in 0..oh {
            for j in 0..ow {
                let mut acc: i128 = bias.map_or(0, |b| b[o] as i128);
                for c in 0..c_per {
                    let ci = g * c_per + c;
                    for u in 0..kh {
                        let r = (i * attrs.strides[0] + u * attrs.dilations[0]) as isize
                            - attrs.pads[0] as isize;
                        if r < 0 || r as usize >= h {
                            continue;
                        }
                        for v in 0..kw {
                            let s = (j * attrs.strides[1] + v * attrs.dilations[1]) as isize
                                - attrs.pads[1] as isize;
                            if s < 0 || s as usize >= wd {
                                continue;
                            }
                            let xv = x[(ci * h + r as usize) * wd + s as usize];
                            let wv = w[((o * c_per + c) * kh + u) * kw + v];
                            acc += xv as i128 * wv as i128;
                        }
                    }
                }
                out.push(acc);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LookupFn, LookupKind, TensorDef};

    /// The matmul kernel gives the exact sums on both paths: small operands (i64 sums) and
    /// operands whose sums need 128 bits.
    #[test]
    fn matmul_sums_exactly_on_both_paths() {
        let naive = |x: &[i64], w: &[i64], b: &[i64], n: usize, k: usize| -> Vec<i128> {
            let rows = x.len() / k;
            (0..rows * n)
                .map(|e| {
                    let (r, j) = (e / n, e % n);
                    (0..k)
                        .map(|i| x[r * k + i] as i128 * w[j * k + i] as i128)
                        .sum::<i128>()
                        + b[j] as i128
                })
                .collect()
        };
        let (n, k) = (3, 5);
        let x: Vec<i64> = (0..2 * k as i64).map(|v| v * 7 - 30).collect();
        let w: Vec<i64> = (0..(n * k) as i64).map(|v| 11 - v * 3).collect();
        let b = vec![5, -9, 100];
        assert_eq!(matmul(&x, &w, Some(&b), n, k), naive(&x, &w, &b, n, k));
        // Products near 2^61 each: five of them overflow i64, so the 128-bit path runs.
        let big: Vec<i64> = w.iter().map(|v| v << 56).collect();
        let out = matmul(&x, &big, Some(&b), n, k);
        assert_eq!(out, naive(&x, &big, &b, n, k));
        assert!(out.iter().any(|v| v.unsigned_abs() >= 1 << 63));
        assert_eq!(matmul(&x, &w, None, n, k), naive(&x, &w, &[0; 3], n, k));
    }

    fn t(name: &str, shape: &[usize], scale: u32, kind: TensorKind) -> TensorDef {
        TensorDef {
            name: name.into(),
            shape: shape.to_vec(),
            scale,
            kind,
        }
    }

    #[test]
    fn rescale_rounds_half_up() {
        assert_eq!(rescale(5, 1), 3);
        assert_eq!(rescale(-5, 1), -2);
        assert_eq!(rescale(-6, 1), -3);
        assert_eq!(rescale(383, 8), 1);
        assert_eq!(rescale(384, 8), 2);
        assert_eq!(rescale(-384, 8), -1);
    }

    #[test]
    fn dense_relu_layer_runs() {
        // y = relu(rescale(W x + b, 2)), W = [[1, 2], [-3, 1]], b = [4, 0]
        let graph = Graph {
            tensors: vec![
                t("x", &[1, 2], 2, TensorKind::Input),
                t("w", &[2, 2], 2, TensorKind::Const(vec![1, 2, -3, 1])),
                t("b", &[2], 4, TensorKind::Const(vec![4, 0])),
                t("acc", &[1, 2], 4, TensorKind::Computed),
                t("q", &[1, 2], 2, TensorKind::Computed),
                t("y", &[1, 2], 2, TensorKind::Computed),
            ],
            nodes: vec![
                Node {
                    name: "mm".into(),
                    op: Op::MatMul,
                    inputs: vec![0, 1, 2],
                    output: 3,
                },
                Node {
                    name: "rs".into(),
                    op: Op::Rescale { shift: 2 },
                    inputs: vec![3],
                    output: 4,
                },
                Node {
                    name: "relu".into(),
                    op: Op::Lookup(LookupFn {
                        kind: LookupKind::Relu,
                        in_scale: 2,
                        out_scale: 2,
                    }),
                    inputs: vec![4],
                    output: 5,
                },
            ],
            inputs: vec![0],
            outputs: vec![5],
        };
        graph.validate().unwrap();
        let trace = execute(&graph, &[vec![4, 8]]).unwrap();
        // acc = [4 + 4 + 16, -12 + 8] = [24, -4]; q = [6, -1]; y = [6, 0]
        assert_eq!(trace.get(&graph, 3), &[24, -4]);
        assert_eq!(trace.outputs(&graph), vec![vec![6, 0]]);
    }

    #[test]
    fn conv_with_stride_and_padding_matches_hand_computation() {
        let attrs = ConvAttrs {
            strides: [2, 2],
            pads: [1, 1, 1, 1],
            dilations: [1, 1],
            group: 1,
        };
        // 1 channel 3x3 input 1..9, kernel 2x2 of ones.
        let x: Vec<i64> = (1..=9).collect();
        let out = conv(
            &attrs,
            &x,
            &[1, 1, 3, 3],
            &[1, 1, 1, 1],
            &[1, 1, 2, 2],
            None,
            &[1, 1, 2, 2],
        );
        // padded rows/cols start at -1: windows at (-1,-1), (-1,1), (1,-1), (1,1)
        assert_eq!(out, vec![1, 2 + 3, 4 + 7, 5 + 6 + 8 + 9]);
    }

    fn run_single(
        op: Op,
        inputs: Vec<TensorDef>,
        data: Vec<Vec<i64>>,
    ) -> Result<Vec<i64>, IrError> {
        let defs: Vec<&TensorDef> = inputs.iter().collect();
        let shape = op.output_shape("n", &defs)?;
        let scale = op.output_scale(&defs);
        let mut tensors = inputs.clone();
        let ids: Vec<usize> = (0..inputs.len()).collect();
        tensors.push(t("y", &shape, scale, TensorKind::Computed));
        let graph = Graph {
            tensors,
            nodes: vec![Node {
                name: "n".into(),
                op,
                inputs: ids.clone(),
                output: inputs.len(),
            }],
            inputs: ids,
            outputs: vec![inputs.len()],
        };
        graph.validate()?;
        Ok(execute(&graph, &data)?.outputs(&graph).remove(0))
    }

    #[test]
    fn max_min_and_divisions() {
        let a = t("a", &[4], 0, TensorKind::Input);
        let b = t("b", &[4], 0, TensorKind::Input);
        let data = vec![vec![5, -3, 7, 0], vec![2, 4, 7, -1]];
        assert_eq!(
            run_single(Op::Max, vec![a.clone(), b.clone()], data.clone()).unwrap(),
            vec![5, 4, 7, 0]
        );
        assert_eq!(
            run_single(Op::Min, vec![a.clone(), b.clone()], data).unwrap(),
            vec![2, -3, 7, -1]
        );
        let x = t("x", &[4], 0, TensorKind::Input);
        let xs = vec![vec![7, -7, 10, -10]];
        // Rounding half up: 7/4 = 1.75 -> 2, -7/4 = -1.75 -> -2, 10/4 = 2.5 -> 3, -10/4 -> -2.
        assert_eq!(
            run_single(Op::DivRound { divisor: 4 }, vec![x.clone()], xs.clone()).unwrap(),
            vec![2, -2, 3, -2]
        );
        assert_eq!(
            run_single(Op::DivFloor { divisor: 4 }, vec![x], xs).unwrap(),
            vec![1, -2, 2, -3]
        );
        let a = t("a", &[3], 4, TensorKind::Input);
        let b = t("b", &[3], 2, TensorKind::Input);
        // floor(a * 2^2 / b): scale 4 + 2 - 2 = 4.
        let q = run_single(
            Op::Div { shift: 2 },
            vec![a.clone(), b.clone()],
            vec![vec![10, -10, 9], vec![3, 3, 1]],
        );
        assert_eq!(q.unwrap(), vec![13, -14, 36]);
        let zero = run_single(
            Op::Div { shift: 0 },
            vec![a, b],
            vec![vec![1, 1, 1], vec![1, 0, 1]],
        );
        assert!(matches!(zero, Err(IrError::Shape { .. })), "{zero:?}");
    }

    #[test]
    fn max_with_a_huge_gap_is_an_overflow() {
        let a = t("a", &[1], 0, TensorKind::Input);
        let b = t("b", &[1], 0, TensorKind::Input);
        let r = run_single(Op::Max, vec![a, b], vec![vec![ACT_MAX], vec![ACT_MIN]]);
        assert!(matches!(r, Err(IrError::ActivationOverflow { .. })));
    }

    #[test]
    fn wide_lookup_checks_its_domain() {
        let x = t("x", &[3], 0, TensorKind::Input);
        let op = Op::WideLookup {
            f: crate::ExactFn::Step,
            lo: -(1 << 40),
            hi: 1 << 40,
        };
        assert_eq!(
            run_single(
                op.clone(),
                vec![x.clone()],
                vec![vec![-(1 << 35), 0, 1 << 39]]
            )
            .unwrap(),
            vec![0, 0, 1]
        );
        assert!(run_single(op, vec![x], vec![vec![1 << 41, 0, 0]]).is_err());
    }

    #[test]
    fn selections_execute() {
        let x = t("x", &[2, 3], 0, TensorKind::Input);
        let data = vec![vec![1, 2, 3, 4, 5, 6]];
        let sum = run_single(
            Op::ReduceSum {
                axes: vec![1],
                keepdims: true,
            },
            vec![x.clone()],
            data.clone(),
        );
        assert_eq!(sum.unwrap(), vec![6, 15]);
        let pad = run_single(
            Op::Pad {
                pads: vec![[0, 0], [1, 0]],
                value: 9,
            },
            vec![x.clone()],
            data.clone(),
        );
        assert_eq!(pad.unwrap(), vec![9, 1, 2, 3, 9, 4, 5, 6]);
        let y = t("y", &[2, 1], 0, TensorKind::Input);
        let cat = run_single(
            Op::Concat { axis: 1 },
            vec![x, y],
            vec![data[0].clone(), vec![7, 8]],
        );
        assert_eq!(cat.unwrap(), vec![1, 2, 3, 7, 4, 5, 6, 8]);
    }

    #[test]
    fn transpose_permutes_axes() {
        assert_eq!(
            transpose(&[1, 2, 3, 4, 5, 6], &[2, 3], &[1, 0]),
            vec![1, 4, 2, 5, 3, 6]
        );
    }

    #[test]
    fn overflowing_rescale_is_an_error() {
        let graph = Graph {
            tensors: vec![
                t("x", &[1], 0, TensorKind::Input),
                t("w", &[1, 1], 0, TensorKind::Const(vec![30000])),
                t("acc", &[1], 0, TensorKind::Computed),
                t("q", &[1], 0, TensorKind::Computed),
            ],
            nodes: vec![
                Node {
                    name: "mm".into(),
                    op: Op::MatMul,
                    inputs: vec![0, 1],
                    output: 2,
                },
                Node {
                    name: "rs".into(),
                    op: Op::Rescale { shift: 0 },
                    inputs: vec![2],
                    output: 3,
                },
            ],
            inputs: vec![0],
            outputs: vec![3],
        };
        graph.validate().unwrap();
        let err = execute(&graph, &[vec![2]]).unwrap_err();
        assert!(
            matches!(err, IrError::ActivationOverflow { value: 60000, .. }),
            "{err}"
        );
    }
}
