//! Selection ops: ops whose every output element is a sum of input elements (or a constant).
//!
//! `Slice`, `Concat`, `Pad`, `Gather`, `ReduceSum`, `SumPool` and `Reshape` are all of this form.
//! [`selection`] computes the map once; the executor applies it and the circuit layer proves it
//! with one wiring relation, so the two cannot disagree.

use crate::shape::strides;
use crate::{ConvAttrs, Op, numel};

/// Where each output element comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// For each output element (row-major), the `(operand, flat index)` pairs summed into it.
    pub terms: Vec<Vec<(usize, usize)>>,
    /// The value of output elements with no terms (the `Pad` value; 0 otherwise).
    pub fill: i64,
}

fn unravel(mut flat: usize, shape: &[usize], out: &mut [usize]) {
    for d in (0..shape.len()).rev() {
        out[d] = flat % shape[d];
        flat /= shape[d];
    }
}

fn ravel(coords: &[usize], strides: &[usize]) -> usize {
    coords.iter().zip(strides).map(|(c, s)| c * s).sum()
}

/// The selection map of `op` for operands of `inputs` shapes and an output of `output` shape,
/// or `None` if `op` is not a selection op. Shapes must already be validated.
pub fn selection(op: &Op, inputs: &[&[usize]], output: &[usize]) -> Option<Selection> {
    let n = numel(output);
    let mut coords = vec![0usize; output.len()];
    let mut terms: Vec<Vec<(usize, usize)>> = Vec::with_capacity(n);
    let mut fill = 0;
    match op {
        Op::Reshape { .. } => terms.extend((0..n).map(|i| vec![(0, i)])),
        Op::Slice { starts, steps, .. } => {
            let st = strides(inputs[0]);
            let mut src = vec![0usize; output.len()];
            for i in 0..n {
                unravel(i, output, &mut coords);
                for d in 0..coords.len() {
                    src[d] = starts[d] + coords[d] * steps[d];
                }
                terms.push(vec![(0, ravel(&src, &st))]);
            }
        }
        Op::Concat { axis } => {
            let offsets: Vec<usize> = inputs
                .iter()
                .scan(0, |acc, s| {
                    let start = *acc;
                    *acc += s[*axis];
                    Some(start)
                })
                .collect();
            let all_strides: Vec<Vec<usize>> = inputs.iter().map(|s| strides(s)).collect();
            for i in 0..n {
                unravel(i, output, &mut coords);
                let c = coords[*axis];
                let k = offsets.iter().rposition(|&o| o <= c).unwrap_or(0);
                let mut src = coords.clone();
                src[*axis] = c - offsets[k];
                terms.push(vec![(k, ravel(&src, &all_strides[k]))]);
            }
        }
        Op::Pad { pads, value } => {
            fill = *value;
            let st = strides(inputs[0]);
            let mut src = vec![0usize; output.len()];
            for i in 0..n {
                unravel(i, output, &mut coords);
                let inside = (0..coords.len())
                    .all(|d| coords[d] >= pads[d][0] && coords[d] - pads[d][0] < inputs[0][d]);
                if inside {
                    for d in 0..coords.len() {
                        src[d] = coords[d] - pads[d][0];
                    }
                    terms.push(vec![(0, ravel(&src, &st))]);
                } else {
                    terms.push(Vec::new());
                }
            }
        }
        Op::Gather { axis, indices } => {
            let st = strides(inputs[0]);
            for i in 0..n {
                unravel(i, output, &mut coords);
                let mut src = coords.clone();
                src[*axis] = indices[coords[*axis]];
                terms.push(vec![(0, ravel(&src, &st))]);
            }
        }
        Op::ReduceSum { axes, keepdims } => {
            let input = inputs[0];
            terms.resize(n, Vec::new());
            let mut in_coords = vec![0usize; input.len()];
            let kept: Vec<usize> = (0..input.len()).filter(|d| !axes.contains(d)).collect();
            let out_st = strides(output);
            for j in 0..numel(input) {
                unravel(j, input, &mut in_coords);
                let out_index = if *keepdims {
                    let c: Vec<usize> = (0..input.len())
                        .map(|d| if axes.contains(&d) { 0 } else { in_coords[d] })
                        .collect();
                    ravel(&c, &out_st)
                } else {
                    let c: Vec<usize> = kept.iter().map(|&d| in_coords[d]).collect();
                    ravel(&c, &out_st)
                };
                terms[out_index].push((0, j));
            }
        }
        Op::SumPool {
            kernel,
            strides: pool_strides,
            pads,
        } => {
            let attrs = ConvAttrs {
                strides: *pool_strides,
                pads: *pads,
                dilations: [1, 1],
                group: 1,
            };
            let input = inputs[0];
            let r = input.len();
            let (h, w) = (input[r - 2], input[r - 1]);
            let (oh, ow) = (output[r - 2], output[r - 1]);
            let channels = numel(&input[..r - 2]);
            for c in 0..channels {
                for i in 0..oh {
                    for j in 0..ow {
                        let mut t = Vec::with_capacity(kernel[0] * kernel[1]);
                        for u in 0..kernel[0] {
                            let y = (i * attrs.strides[0] + u) as isize - attrs.pads[0] as isize;
                            if y < 0 || y as usize >= h {
                                continue;
                            }
                            for v in 0..kernel[1] {
                                let x =
                                    (j * attrs.strides[1] + v) as isize - attrs.pads[1] as isize;
                                if x < 0 || x as usize >= w {
                                    continue;
                                }
                                t.push((0, (c * h + y as usize) * w + x as usize));
                            }
                        }
                        terms.push(t);
                    }
                }
            }
        }
        _ => return None,
    }
    Some(Selection { terms, fill })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(sel: &Selection) -> Vec<usize> {
        sel.terms.iter().map(|t| t[0].1).collect()
    }

    #[test]
    fn slice_with_steps() {
        let op = Op::Slice {
            starts: vec![0, 1],
            ends: vec![2, 5],
            steps: vec![1, 2],
        };
        let sel = selection(&op, &[&[2, 5]], &[2, 2]).unwrap();
        assert_eq!(single(&sel), vec![1, 3, 6, 8]);
    }

    #[test]
    fn concat_picks_the_right_operand() {
        let sel = selection(&Op::Concat { axis: 1 }, &[&[2, 1], &[2, 2]], &[2, 3]).unwrap();
        let t: Vec<(usize, usize)> = sel.terms.iter().map(|t| t[0]).collect();
        assert_eq!(t, vec![(0, 0), (1, 0), (1, 1), (0, 1), (1, 2), (1, 3)]);
    }

    #[test]
    fn pad_fills_the_border() {
        let op = Op::Pad {
            pads: vec![[1, 0], [0, 1]],
            value: -7,
        };
        let sel = selection(&op, &[&[1, 2]], &[2, 3]).unwrap();
        assert_eq!(sel.fill, -7);
        let t: Vec<Option<usize>> = sel.terms.iter().map(|t| t.first().map(|x| x.1)).collect();
        assert_eq!(t, vec![None, None, None, Some(0), Some(1), None]);
    }

    #[test]
    fn reduce_sum_and_sum_pool_sum_many_elements() {
        let sel = selection(
            &Op::ReduceSum {
                axes: vec![1],
                keepdims: false,
            },
            &[&[2, 3]],
            &[2],
        )
        .unwrap();
        assert_eq!(
            sel.terms,
            vec![vec![(0, 0), (0, 1), (0, 2)], vec![(0, 3), (0, 4), (0, 5)]]
        );
        let op = Op::SumPool {
            kernel: [2, 2],
            strides: [2, 2],
            pads: [0; 4],
        };
        let sel = selection(&op, &[&[1, 1, 2, 4]], &[1, 1, 1, 2]).unwrap();
        assert_eq!(sel.terms[1], vec![(0, 2), (0, 3), (0, 6), (0, 7)]);
    }

    #[test]
    fn gather_reorders() {
        let op = Op::Gather {
            axis: 0,
            indices: vec![2, 0, 2],
        };
        let sel = selection(&op, &[&[3, 2]], &[3, 2]).unwrap();
        assert_eq!(single(&sel), vec![4, 5, 0, 1, 4, 5]);
    }
}
