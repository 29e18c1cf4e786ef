//! Helpers of the float reference kernels: operand access, index arithmetic (strides,
//! broadcasting, gathers) and lane-wise reductions.
//!
//! Precision of the kernels: tensors hold `f32` like the ONNX model; sums of products (Gemm,
//! MatMul, Conv, pooling, batch norm, reductions) accumulate in `f64` and round once to `f32`;
//! elementwise arithmetic is plain `f32` (bit-identical to any IEEE implementation);
//! transcendental functions, softmax, normalisation and recurrent states are computed in `f64`
//! and rounded once per output. This keeps us within ~1e-6 of onnxruntime, which accumulates
//! in `f32`.

use crate::shape::Issue;
use crate::tensor::{Data, Tensor};

/// Input `i` of a kernel, which must be present.
pub(crate) fn input<'a>(ins: &[Option<&'a Tensor>], i: usize) -> Result<&'a Tensor, Issue> {
    ins.get(i)
        .copied()
        .flatten()
        .ok_or_else(|| Issue::Invalid(format!("input {i} is missing")))
}

/// The elements of float input `i`.
pub(crate) fn float_input<'a>(ins: &[Option<&'a Tensor>], i: usize) -> Result<&'a [f32], Issue> {
    input(ins, i)?
        .as_f32()
        .ok_or_else(|| Issue::Invalid(format!("input {i} must be a float tensor")))
}

/// Row-major strides.
pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// For each element of `out` (row-major), the flat index into `input` that numpy broadcasting
/// reads. `input` must broadcast to `out`.
pub(crate) fn broadcast_map(input: &[usize], out: &[usize]) -> Vec<usize> {
    let offset = out.len() - input.len();
    let st = strides(input);
    let n: usize = out.iter().product();
    let mut map = Vec::with_capacity(n);
    let mut idx = vec![0usize; out.len()];
    for _ in 0..n {
        let mut flat = 0;
        for d in offset..out.len() {
            if input[d - offset] != 1 {
                flat += idx[d] * st[d - offset];
            }
        }
        map.push(flat);
        for d in (0..out.len()).rev() {
            idx[d] += 1;
            if idx[d] < out[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    map
}

/// Calls `f` with every multi-index of `shape` in row-major order.
pub(crate) fn index_walk(shape: &[usize], mut f: impl FnMut(&[usize]) -> usize) -> Vec<usize> {
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..n {
        out.push(f(&idx));
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// A tensor of `shape` whose element `i` is `t`'s element `src[i]`.
pub(crate) fn gather_flat(t: &Tensor, shape: Vec<usize>, src: &[usize]) -> Tensor {
    let data = match &t.data {
        Data::F32(v) => Data::F32(src.iter().map(|&i| v[i]).collect()),
        Data::I64(v) => Data::I64(src.iter().map(|&i| v[i]).collect()),
    };
    Tensor { shape, data }
}

/// Elements as `f64` (integers converted).
pub(crate) fn f64s(t: &Tensor) -> Vec<f64> {
    match &t.data {
        Data::F32(v) => v.iter().map(|&x| x as f64).collect(),
        Data::I64(v) => v.iter().map(|&x| x as f64).collect(),
    }
}

/// A float tensor from `f64` values, each rounded once.
pub(crate) fn to_f32(shape: Vec<usize>, v: impl IntoIterator<Item = f64>) -> Tensor {
    Tensor::f32(shape, v.into_iter().map(|x| x as f32).collect())
}

/// `outer`, `n` and `inner` sizes around `axis`.
pub(crate) fn around(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis],
        shape[axis + 1..].iter().product(),
    )
}

/// Reduces one axis (keeping it as size 1) with `f` over the `n` values of each lane.
pub(crate) fn reduce_lanes(
    v: &[f64],
    shape: &[usize],
    axis: usize,
    f: impl Fn(&[f64]) -> f64,
) -> Vec<f64> {
    let (outer, n, inner) = around(shape, axis);
    let mut out = Vec::with_capacity(outer * inner);
    let mut lane = Vec::with_capacity(n);
    for o in 0..outer {
        for i in 0..inner {
            lane.clear();
            lane.extend((0..n).map(|k| v[(o * n + k) * inner + i]));
            out.push(f(&lane));
        }
    }
    out
}

/// Applies `f` to each lane along `axis`, writing the lane back (same shape).
pub(crate) fn map_lanes(
    v: &[f64],
    shape: &[usize],
    axis: usize,
    f: impl Fn(&mut [f64]),
) -> Vec<f64> {
    let (outer, n, inner) = around(shape, axis);
    let mut out = v.to_vec();
    let mut lane = vec![0.0; n];
    for o in 0..outer {
        for i in 0..inner {
            for k in 0..n {
                lane[k] = v[(o * n + k) * inner + i];
            }
            f(&mut lane);
            for k in 0..n {
                out[(o * n + k) * inner + i] = lane[k];
            }
        }
    }
    out
}
