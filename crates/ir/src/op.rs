use serde::{Deserialize, Serialize};

use crate::{ExactFn, IrError, LookupFn, TensorDef, broadcast_shape, numel};

/// Largest [`Op::Rescale`] shift. A division by a constant `d` is proven by range-checking the
/// remainder `x + c - d q` to `[0, d)` in the Goldilocks field (`p = 2^64 - 2^32 + 1`); that
/// check pins `q` down only while no quotient in its range can move the remainder by a
/// multiple of `p`. With `|x| < 2^62` and `|q| <= 2^15` (the activation range) that holds up to
/// `d = 2^48`; at `2^49` wrong quotients pass. The circuit layer checks the exact condition
/// (`omron-circuit`'s plan), and a test there checks these limits are exactly its boundary.
pub const MAX_RESCALE_SHIFT: u32 = 48;

/// Largest [`Op::DivRound`] divisor: the largest `d` with
/// `2^62 - 1 + floor(d / 2) + 2^15 d < p` (quotients in the activation range, see
/// [`MAX_RESCALE_SHIFT`]); about `2^48.58`.
pub const MAX_DIV_ROUND_DIVISOR: u64 = 422_206_022_582_272;

/// Largest [`Op::DivFloor`] divisor: the largest `d` with `2^62 - 1 + 3 d <= p` (the quotient
/// range divisors above `2^61` get is `[-2, 3)`, from `|q| <= 2^62 / d + 1`), i.e.
/// `d <= 2^62 - (2^32 - 2) / 3`; every smaller divisor is safe (see [`MAX_RESCALE_SHIFT`]).
pub const MAX_DIV_FLOOR_DIVISOR: u64 = 0x3fff_ffff_aaaa_aaab;

/// Largest contraction length `K` of [`Op::BatchMatMul`]. Both operands lie in the activation
/// range (`|v| <= 2^15`), so each product is at most `2^30` in magnitude and a sum of
/// `K <= 2^31` of them at most `2^61`: below [`crate::VALUE_BOUND`], so the result never wraps
/// modulo the field and the circuit's field identity is the integer one.
pub const MAX_BATCH_MATMUL_DEPTH: usize = 1 << 31;

/// Why the limits above exist, for error messages (the circuit layer gives the same reason).
const WRAP_REASON: &str = "a larger divisor lets a wrong quotient pass the remainder range \
    check modulo the field (the no-wrap bound of a division by a constant)";

/// Attributes of a 2-D convolution (NCHW activations, OIHW weights).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvAttrs {
    /// Vertical and horizontal stride.
    pub strides: [usize; 2],
    /// Zero padding: top, left, bottom, right.
    pub pads: [usize; 4],
    /// Vertical and horizontal dilation.
    pub dilations: [usize; 2],
    /// Number of groups (input and output channels split evenly).
    pub group: usize,
}

impl ConvAttrs {
    /// Output height and width for an input of `h x w` and a kernel of `kh x kw`, or `None` if the
    /// kernel does not fit.
    pub fn output_hw(&self, h: usize, w: usize, kh: usize, kw: usize) -> Option<(usize, usize)> {
        let span_h = self.dilations[0] * (kh.checked_sub(1)?) + 1;
        let span_w = self.dilations[1] * (kw.checked_sub(1)?) + 1;
        let ph = h + self.pads[0] + self.pads[2];
        let pw = w + self.pads[1] + self.pads[3];
        if span_h > ph || span_w > pw || self.strides[0] == 0 || self.strides[1] == 0 {
            return None;
        }
        Some((
            (ph - span_h) / self.strides[0] + 1,
            (pw - span_w) / self.strides[1] + 1,
        ))
    }
}

/// An operation with exact integer semantics. Operands are listed in [`crate::Node::inputs`].
///
/// "Linear" ops ([`Op::MatMul`], [`Op::Conv`], [`Op::Add`], [`Op::Sub`], [`Op::Mul`] with a
/// constant operand, and the layout ops) are exact: no rounding happens, scales add up.
/// Rounding happens only in [`Op::Rescale`]; non-linear functions only in [`Op::Lookup`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Inputs `[x, w, b?]`, `w` and `b` constant. `x: [.., K]`, `w: [N, K]`, `b: [N]`;
    /// `y[.., n] = sum_k x[.., k] * w[n, k] + b[n]`. Scale: `scale(x) + scale(w)`; `b` must
    /// have that scale.
    MatMul,
    /// Inputs `[x, w, b?]`, `w` and `b` constant. `x: [1, C, H, W]` or `[C, H, W]`,
    /// `w: [O, C / group, KH, KW]`, `b: [O]`; the usual cross-correlation with zero padding,
    /// `y[o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] * x[g*C/group + c, i*s0 + u*d0 - p_top,
    /// j*s1 + v*d1 - p_left]` (out-of-range reads are 0). Scale: `scale(x) + scale(w)`.
    Conv(ConvAttrs),
    /// `y = a + b`, numpy broadcasting, equal scales.
    Add,
    /// `y = a - b`, numpy broadcasting, equal scales.
    Sub,
    /// `y = a * b`, numpy broadcasting; scale `scale(a) + scale(b)`.
    Mul,
    /// `y = floor((x + 2^(shift-1)) / 2^shift)` (round half up; `shift = 0` is the identity),
    /// `shift <=` [`MAX_RESCALE_SHIFT`]. Scale: `scale(x) - shift`. The result must lie in the
    /// activation range [`crate::ACT_MIN`]..=[`crate::ACT_MAX`].
    Rescale {
        /// Bits dropped.
        shift: u32,
    },
    /// `y = f(x)` elementwise through a table; `x` must lie in the activation range and have
    /// scale `f.in_scale`; `y` has scale `f.out_scale`.
    Lookup(LookupFn),
    /// Same values, new shape (same element count, row-major order unchanged).
    Reshape {
        /// The new dimensions.
        shape: Vec<usize>,
    },
    /// Axis permutation: output axis `i` is input axis `perm[i]`.
    Transpose {
        /// The permutation.
        perm: Vec<usize>,
    },
    /// Strided sub-tensor: along axis `d`, elements `starts[d], starts[d] + steps[d], ...` below
    /// `ends[d]` (`starts[d] < ends[d] <= dim`, `steps[d] >= 1`).
    Slice {
        /// First index per axis.
        starts: Vec<usize>,
        /// End (exclusive) per axis.
        ends: Vec<usize>,
        /// Step per axis.
        steps: Vec<usize>,
    },
    /// Concatenation of all operands along `axis` (equal scales, other dims equal).
    Concat {
        /// The axis.
        axis: usize,
    },
    /// Constant padding: `pads[d] = [before, after]` elements of `value` on axis `d`.
    Pad {
        /// Padding per axis.
        pads: Vec<[usize; 2]>,
        /// The fill value (in the tensor's fixed point).
        value: i64,
    },
    /// Selection along `axis` with constant indices: output index `i` on that axis reads
    /// input index `indices[i]`.
    Gather {
        /// The axis.
        axis: usize,
        /// Input indices (each below the axis length).
        indices: Vec<usize>,
    },
    /// Sum over `axes` (sorted, distinct), keeping them as size 1 if `keepdims`.
    ReduceSum {
        /// Reduced axes.
        axes: Vec<usize>,
        /// Keep reduced axes as size 1.
        keepdims: bool,
    },
    /// Window sums over the last two axes of `[.., C, H, W]` (zero padding contributes 0).
    SumPool {
        /// Window height and width.
        kernel: [usize; 2],
        /// Vertical and horizontal stride.
        strides: [usize; 2],
        /// Padding: top, left, bottom, right.
        pads: [usize; 4],
    },
    /// `y = max(a, b)`, numpy broadcasting, equal scales; `|a - b|` must lie in the
    /// activation range.
    Max,
    /// `y = min(a, b)`, numpy broadcasting, equal scales; `|a - b|` must lie in the
    /// activation range.
    Min,
    /// `y = floor((x + floor(d / 2)) / d)`: division by a constant `1 <= d <=`
    /// [`MAX_DIV_ROUND_DIVISOR`], rounding half up.
    /// Same scale as `x`; the result must lie in the activation range.
    DivRound {
        /// The divisor.
        divisor: u64,
    },
    /// `y = floor(x / d)`: exact floor division by a constant `1 <= d <=`
    /// [`MAX_DIV_FLOOR_DIVISOR`]. Same scale as `x`.
    DivFloor {
        /// The divisor.
        divisor: u64,
    },
    /// `y = floor(a * 2^shift / b)` with numpy broadcasting; `b` must lie in `[1, 2^32)`,
    /// `|a * 2^shift| < 2^62` and `|y| < 2^30`. Scale: `scale(a) + shift - scale(b)`.
    Div {
        /// Extra fractional bits of the quotient.
        shift: u32,
    },
    /// `y = floor(a / b)` for wide integers (numpy broadcasting): `b` must lie in
    /// `[1, 2^den_bits)`, `|y| < 2^quot_bits` and `|a| < 2^61`, with
    /// `den_bits + quot_bits <= 61`. Same scale as `a` (`b` has scale 0). The integer division
    /// of scoring circuits.
    IntDiv {
        /// Bits of the denominator.
        den_bits: u32,
        /// Bits of the quotient's magnitude.
        quot_bits: u32,
    },
    /// `y = f(x)` for an exact integer function over `[lo, hi)`; `x` must lie there. Same
    /// scale as `x`.
    WideLookup {
        /// The function.
        f: ExactFn,
        /// Smallest allowed input.
        lo: i64,
        /// Largest allowed input plus one.
        hi: i64,
    },
    // New variants go last: verifying keys encode variants by position (postcard), so inserting
    // one earlier would change every shipped circuit's key and id.
    /// Inputs `[a, b]`, both usually computed: `a: [.., M, K]`, `b: [.., K, N]` with the same
    /// leading (batch) dimensions, e.g. attention heads;
    /// `y[.., m, n] = sum_k a[.., m, k] * b[.., k, n]`. Scale: `scale(a) + scale(b)`. Every
    /// operand value must lie in the activation range [`crate::ACT_MIN`]..=[`crate::ACT_MAX`]
    /// and `K <=` [`MAX_BATCH_MATMUL_DEPTH`], so `|y| <= K 2^30 <= 2^61`. A transposed operand
    /// (attention's `Q K^T`) is an explicit [`Op::Transpose`] before it.
    BatchMatMul,
    /// Inputs `[ids, table]`, `table: [V, D]` constant, `ids` integers at scale 0 of any shape
    /// `S`: `y[s.., d] = table[ids[s..], d]`, shape `S ++ [D]`, scale `scale(table)`. Every id
    /// must lie in `[0, V)`. (The circuit proves it only when `ids` is a model input or a
    /// constant: public token ids.)
    Embedding,
}

impl Op {
    /// Short name for reports and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Op::MatMul => "MatMul",
            Op::Conv(_) => "Conv",
            Op::BatchMatMul => "BatchMatMul",
            Op::Embedding => "Embedding",
            Op::Add => "Add",
            Op::Sub => "Sub",
            Op::Mul => "Mul",
            Op::Rescale { .. } => "Rescale",
            Op::Lookup(f) => f.kind.name(),
            Op::Reshape { .. } => "Reshape",
            Op::Transpose { .. } => "Transpose",
            Op::Slice { .. } => "Slice",
            Op::Concat { .. } => "Concat",
            Op::Pad { .. } => "Pad",
            Op::Gather { .. } => "Gather",
            Op::ReduceSum { .. } => "ReduceSum",
            Op::SumPool { .. } => "SumPool",
            Op::Max => "Max",
            Op::Min => "Min",
            Op::DivRound { .. } => "DivRound",
            Op::DivFloor { .. } => "DivFloor",
            Op::Div { .. } => "Div",
            Op::IntDiv { .. } => "IntDiv",
            Op::WideLookup { f, .. } => f.name(),
        }
    }

    /// Scale of the output for these operands (operands already checked by
    /// [`Op::output_shape`]).
    pub fn output_scale(&self, inputs: &[&TensorDef]) -> u32 {
        match self {
            Op::MatMul | Op::Conv(_) | Op::Mul | Op::BatchMatMul => {
                inputs[0].scale + inputs[1].scale
            }
            Op::Embedding => inputs[1].scale,
            Op::Rescale { shift } => inputs[0].scale.saturating_sub(*shift),
            Op::Lookup(f) => f.out_scale,
            Op::Div { shift } => (inputs[0].scale + shift).saturating_sub(inputs[1].scale),
            Op::Add
            | Op::Sub
            | Op::Reshape { .. }
            | Op::Transpose { .. }
            | Op::Slice { .. }
            | Op::Concat { .. }
            | Op::Pad { .. }
            | Op::Gather { .. }
            | Op::ReduceSum { .. }
            | Op::SumPool { .. }
            | Op::Max
            | Op::Min
            | Op::DivRound { .. }
            | Op::DivFloor { .. }
            | Op::IntDiv { .. }
            | Op::WideLookup { .. } => inputs[0].scale,
        }
    }

    /// Checks the operands (count, shapes, constness, scales) and returns the output shape.
    pub fn output_shape(&self, node: &str, inputs: &[&TensorDef]) -> Result<Vec<usize>, IrError> {
        let op = self.name();
        let shape_err = |detail: String| IrError::Shape {
            node: node.to_string(),
            op,
            detail,
        };
        let arity = |lo: usize, hi: usize| {
            if inputs.len() < lo || inputs.len() > hi {
                Err(IrError::Arity {
                    node: node.to_string(),
                    op,
                    expected: hi,
                    actual: inputs.len(),
                })
            } else {
                Ok(())
            }
        };
        let need_const = |index: usize| {
            if inputs[index].const_data().is_none() {
                Err(IrError::NotConst {
                    node: node.to_string(),
                    op,
                    index,
                })
            } else {
                Ok(())
            }
        };
        match self {
            Op::MatMul => {
                arity(2, 3)?;
                need_const(1)?;
                let (x, w) = (&inputs[0].shape, &inputs[1].shape);
                if w.len() != 2 || x.is_empty() || x[x.len() - 1] != w[1] {
                    return Err(shape_err(format!(
                        "x {x:?} and w {w:?} do not fit [.., K] x [N, K]"
                    )));
                }
                if inputs.len() == 3 {
                    need_const(2)?;
                    check_bias(inputs, w[0]).map_err(shape_err)?;
                }
                let mut out = x.clone();
                let last = out.len() - 1;
                out[last] = w[0];
                Ok(out)
            }
            Op::Conv(attrs) => {
                arity(2, 3)?;
                need_const(1)?;
                let (x, w) = (&inputs[0].shape, &inputs[1].shape);
                let chw = match x.len() {
                    3 => &x[..],
                    4 if x[0] == 1 => &x[1..],
                    _ => {
                        return Err(shape_err(format!(
                            "input {x:?} is not [1, C, H, W] or [C, H, W]"
                        )));
                    }
                };
                if w.len() != 4
                    || attrs.group == 0
                    || chw[0] % attrs.group != 0
                    || w[0] % attrs.group != 0
                    || w[1] * attrs.group != chw[0]
                {
                    return Err(shape_err(format!(
                        "weight {w:?} does not fit input {x:?} with {} groups",
                        attrs.group
                    )));
                }
                if inputs.len() == 3 {
                    need_const(2)?;
                    check_bias(inputs, w[0]).map_err(shape_err)?;
                }
                let (oh, ow) = attrs
                    .output_hw(chw[1], chw[2], w[2], w[3])
                    .ok_or_else(|| shape_err(format!("kernel {w:?} does not fit input {x:?}")))?;
                let mut out = vec![w[0], oh, ow];
                if x.len() == 4 {
                    out.insert(0, 1);
                }
                Ok(out)
            }
            Op::BatchMatMul => {
                arity(2, 2)?;
                let (a, b) = (&inputs[0].shape, &inputs[1].shape);
                let r = a.len();
                if r < 2 || b.len() != r || a[..r - 2] != b[..r - 2] || a[r - 1] != b[r - 2] {
                    return Err(shape_err(format!(
                        "a {a:?} and b {b:?} do not fit [.., M, K] x [.., K, N] with equal \
                         batch dimensions"
                    )));
                }
                if a[r - 1] > MAX_BATCH_MATMUL_DEPTH {
                    return Err(shape_err(format!(
                        "contraction length {} exceeds {MAX_BATCH_MATMUL_DEPTH}: the result's \
                         bound K 2^30 would pass 2^61 (values stay below 2^62 so that no sum \
                         wraps modulo the field)",
                        a[r - 1]
                    )));
                }
                let mut out = a.clone();
                out[r - 1] = b[r - 1];
                Ok(out)
            }
            Op::Embedding => {
                arity(2, 2)?;
                need_const(1)?;
                let (ids, table) = (&inputs[0], &inputs[1].shape);
                if table.len() != 2 || table[0] == 0 || table[1] == 0 {
                    return Err(shape_err(format!("table {table:?} is not [V, D]")));
                }
                if ids.scale != 0 {
                    return Err(shape_err(format!(
                        "ids have scale {}; token ids are integers at scale 0",
                        ids.scale
                    )));
                }
                let mut out = ids.shape.clone();
                out.push(table[1]);
                Ok(out)
            }
            Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Max
            | Op::Min
            | Op::Div { .. }
            | Op::IntDiv { .. } => {
                arity(2, 2)?;
                if let Op::IntDiv {
                    den_bits,
                    quot_bits,
                } = self
                    && (den_bits + quot_bits > 61 || *den_bits == 0 || inputs[1].scale != 0)
                {
                    return Err(shape_err(format!(
                        "bounds 2^{den_bits} x 2^{quot_bits} exceed 2^61, or the denominator has a scale"
                    )));
                }
                if let Op::Div { shift } = self
                    && (inputs[0].scale + shift < inputs[1].scale || *shift > 62)
                {
                    return Err(shape_err(format!(
                        "quotient scale {} + {shift} - {} would be negative",
                        inputs[0].scale, inputs[1].scale
                    )));
                }
                if !matches!(self, Op::Mul | Op::Div { .. } | Op::IntDiv { .. })
                    && inputs[0].scale != inputs[1].scale
                {
                    return Err(shape_err(format!(
                        "operand scales differ ({} and {})",
                        inputs[0].scale, inputs[1].scale
                    )));
                }
                broadcast_shape(&inputs[0].shape, &inputs[1].shape).ok_or_else(|| {
                    shape_err(format!(
                        "shapes {:?} and {:?} do not broadcast",
                        inputs[0].shape, inputs[1].shape
                    ))
                })
            }
            Op::Rescale { shift } => {
                arity(1, 1)?;
                if *shift > inputs[0].scale {
                    return Err(shape_err(format!(
                        "shift {shift} exceeds the input scale {}",
                        inputs[0].scale
                    )));
                }
                if *shift > MAX_RESCALE_SHIFT {
                    return Err(shape_err(format!(
                        "shift {shift} exceeds {MAX_RESCALE_SHIFT}: {WRAP_REASON}"
                    )));
                }
                Ok(inputs[0].shape.clone())
            }
            Op::Lookup(f) => {
                arity(1, 1)?;
                if inputs[0].scale != f.in_scale {
                    return Err(shape_err(format!(
                        "input scale {} differs from the table's {}",
                        inputs[0].scale, f.in_scale
                    )));
                }
                Ok(inputs[0].shape.clone())
            }
            Op::Reshape { shape } => {
                arity(1, 1)?;
                if numel(shape) != inputs[0].numel() {
                    return Err(shape_err(format!(
                        "cannot reshape {:?} into {shape:?}",
                        inputs[0].shape
                    )));
                }
                Ok(shape.clone())
            }
            Op::Transpose { perm } => {
                arity(1, 1)?;
                let x = &inputs[0].shape;
                let mut seen = vec![false; x.len()];
                if perm.len() != x.len()
                    || perm
                        .iter()
                        .any(|&p| p >= x.len() || std::mem::replace(&mut seen[p], true))
                {
                    return Err(shape_err(format!("{perm:?} is not a permutation of {x:?}")));
                }
                Ok(perm.iter().map(|&p| x[p]).collect())
            }
            Op::Slice {
                starts,
                ends,
                steps,
            } => {
                arity(1, 1)?;
                let x = &inputs[0].shape;
                if starts.len() != x.len() || ends.len() != x.len() || steps.len() != x.len() {
                    return Err(shape_err(format!(
                        "slice needs one start/end/step per axis of {x:?}"
                    )));
                }
                (0..x.len())
                    .map(|d| {
                        if steps[d] == 0 || starts[d] >= ends[d] || ends[d] > x[d] {
                            Err(shape_err(format!(
                                "axis {d}: {}..{} step {} does not fit {}",
                                starts[d], ends[d], steps[d], x[d]
                            )))
                        } else {
                            Ok((ends[d] - starts[d]).div_ceil(steps[d]))
                        }
                    })
                    .collect()
            }
            Op::Concat { axis } => {
                arity(1, usize::MAX)?;
                let first = &inputs[0].shape;
                if *axis >= first.len() {
                    return Err(shape_err(format!("axis {axis} out of range for {first:?}")));
                }
                let mut out = first.clone();
                out[*axis] = 0;
                for t in inputs {
                    let same_rest = t.shape.len() == first.len()
                        && (0..first.len()).all(|d| d == *axis || t.shape[d] == first[d]);
                    if !same_rest || t.scale != inputs[0].scale {
                        return Err(shape_err(format!(
                            "operand {:?} (scale {}) does not concatenate with {first:?} (scale {})",
                            t.shape, t.scale, inputs[0].scale
                        )));
                    }
                    out[*axis] += t.shape[*axis];
                }
                Ok(out)
            }
            Op::Pad { pads, .. } => {
                arity(1, 1)?;
                let x = &inputs[0].shape;
                if pads.len() != x.len() {
                    return Err(shape_err(format!(
                        "pad needs one [before, after] per axis of {x:?}"
                    )));
                }
                Ok(x.iter().zip(pads).map(|(d, p)| d + p[0] + p[1]).collect())
            }
            Op::Gather { axis, indices } => {
                arity(1, 1)?;
                let x = &inputs[0].shape;
                if *axis >= x.len() || indices.is_empty() || indices.iter().any(|&i| i >= x[*axis])
                {
                    return Err(shape_err(format!(
                        "indices do not fit axis {axis} of {x:?}"
                    )));
                }
                let mut out = x.clone();
                out[*axis] = indices.len();
                Ok(out)
            }
            Op::ReduceSum { axes, keepdims } => {
                arity(1, 1)?;
                let x = &inputs[0].shape;
                if axes.is_empty()
                    || axes.windows(2).any(|w| w[0] >= w[1])
                    || axes.iter().any(|&a| a >= x.len())
                {
                    return Err(shape_err(format!(
                        "axes {axes:?} must be sorted, distinct and within {x:?}"
                    )));
                }
                Ok(if *keepdims {
                    x.iter()
                        .enumerate()
                        .map(|(d, &n)| if axes.contains(&d) { 1 } else { n })
                        .collect()
                } else {
                    x.iter()
                        .enumerate()
                        .filter(|(d, _)| !axes.contains(d))
                        .map(|(_, &n)| n)
                        .collect()
                })
            }
            Op::SumPool {
                kernel,
                strides,
                pads,
            } => {
                arity(1, 1)?;
                let x = &inputs[0].shape;
                if x.len() < 3 {
                    return Err(shape_err(format!("pooling needs [.., C, H, W], got {x:?}")));
                }
                let attrs = ConvAttrs {
                    strides: *strides,
                    pads: *pads,
                    dilations: [1, 1],
                    group: 1,
                };
                let r = x.len();
                let (oh, ow) = attrs
                    .output_hw(x[r - 2], x[r - 1], kernel[0], kernel[1])
                    .ok_or_else(|| shape_err(format!("window {kernel:?} does not fit {x:?}")))?;
                let mut out = x.clone();
                out[r - 2] = oh;
                out[r - 1] = ow;
                Ok(out)
            }
            Op::DivRound { divisor } | Op::DivFloor { divisor } => {
                arity(1, 1)?;
                let max = match self {
                    Op::DivRound { .. } => MAX_DIV_ROUND_DIVISOR,
                    _ => MAX_DIV_FLOOR_DIVISOR,
                };
                if *divisor == 0 {
                    return Err(shape_err("divisor 0".into()));
                }
                if *divisor > max {
                    return Err(shape_err(format!(
                        "divisor {divisor} exceeds {max}: {WRAP_REASON}"
                    )));
                }
                Ok(inputs[0].shape.clone())
            }
            Op::WideLookup { lo, hi, .. } => {
                arity(1, 1)?;
                if lo >= hi || hi.checked_sub(*lo).is_none() {
                    return Err(shape_err(format!(
                        "empty or overflowing domain [{lo}, {hi})"
                    )));
                }
                Ok(inputs[0].shape.clone())
            }
        }
    }
}

fn check_bias(inputs: &[&TensorDef], n: usize) -> Result<(), String> {
    let b = inputs[2];
    if b.shape != [n] {
        return Err(format!("bias shape {:?}, expected [{n}]", b.shape));
    }
    let scale = inputs[0].scale + inputs[1].scale;
    if b.scale != scale {
        return Err(format!("bias scale {}, expected {scale}", b.scale));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TensorKind;

    fn operand(scale: u32) -> TensorDef {
        TensorDef {
            name: "x".into(),
            shape: vec![4],
            scale,
            kind: TensorKind::Input,
        }
    }

    fn check(op: Op) -> Result<Vec<usize>, IrError> {
        op.output_shape("div", &[&operand(62)])
    }

    #[test]
    fn constant_divisions_stop_at_the_no_wrap_bound() {
        let refused = |op: Op| {
            let e = check(op.clone()).expect_err("beyond the no-wrap bound");
            let text = e.to_string();
            assert!(
                text.contains("'div'") && text.contains("modulo the field"),
                "{op:?}: {text}"
            );
        };
        check(Op::Rescale { shift: 48 }).expect("shift 48 is safe");
        refused(Op::Rescale { shift: 49 });
        refused(Op::Rescale { shift: 60 });
        check(Op::DivRound {
            divisor: MAX_DIV_ROUND_DIVISOR,
        })
        .expect("largest safe DivRound divisor");
        refused(Op::DivRound {
            divisor: MAX_DIV_ROUND_DIVISOR + 1,
        });
        refused(Op::DivRound { divisor: 1 << 52 });
        check(Op::DivFloor {
            divisor: MAX_DIV_FLOOR_DIVISOR,
        })
        .expect("largest safe DivFloor divisor");
        refused(Op::DivFloor {
            divisor: MAX_DIV_FLOOR_DIVISOR + 1,
        });
        refused(Op::DivFloor {
            divisor: (1 << 62) - 1,
        });
        assert!(check(Op::DivFloor { divisor: 0 }).is_err());
    }
}
