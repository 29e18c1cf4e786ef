use serde::{Deserialize, Serialize};

use crate::{IrError, LookupFn, TensorDef, broadcast_shape, numel};

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
    /// `y = floor((x + 2^(shift-1)) / 2^shift)` (round half up; `shift = 0` is the identity).
    /// Scale: `scale(x) - shift`. The result must lie in the activation range
    /// [`crate::ACT_MIN`]..=[`crate::ACT_MAX`].
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
}

impl Op {
    /// Short name for reports and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Op::MatMul => "MatMul",
            Op::Conv(_) => "Conv",
            Op::Add => "Add",
            Op::Sub => "Sub",
            Op::Mul => "Mul",
            Op::Rescale { .. } => "Rescale",
            Op::Lookup(f) => f.kind.name(),
            Op::Reshape { .. } => "Reshape",
            Op::Transpose { .. } => "Transpose",
        }
    }

    /// Scale of the output for these operands (operands already checked by
    /// [`Op::output_shape`]).
    pub fn output_scale(&self, inputs: &[&TensorDef]) -> u32 {
        match self {
            Op::MatMul | Op::Conv(_) | Op::Mul => inputs[0].scale + inputs[1].scale,
            Op::Rescale { shift } => inputs[0].scale.saturating_sub(*shift),
            Op::Lookup(f) => f.out_scale,
            Op::Add | Op::Sub | Op::Reshape { .. } | Op::Transpose { .. } => inputs[0].scale,
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
            Op::Add | Op::Sub | Op::Mul => {
                arity(2, 2)?;
                if !matches!(self, Op::Mul) && inputs[0].scale != inputs[1].scale {
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
                if *shift > inputs[0].scale || *shift > 60 {
                    return Err(shape_err(format!(
                        "shift {shift} exceeds the input scale {}",
                        inputs[0].scale
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
