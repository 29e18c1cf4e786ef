//! Shape rules of the v2 ops: elementwise functions, comparisons and selection, reductions,
//! normalisations, splits and the recurrent layers. Like `infer.rs`, the same functions run at
//! load time and inside the float kernels, and the lowering reuses the resolved attributes
//! (axes, split sizes, recurrent dimensions) they compute.

use omron_ir::broadcast_shape;

use super::Op;
use crate::shape::{
    Issue, Operand, OutInfo, broadcast_all, invalid, need as operand, norm_axis, optional,
    out as one, unsupported,
};
use crate::tensor::DType;

/// The single exponent of a Pow node, when it is a constant whose elements are all equal.
pub(crate) fn pow_exponent(ins: &[Option<Operand<'_>>]) -> Option<f32> {
    let t = optional(ins, 1)?.value?;
    let v = t.to_f32();
    let first = *v.first()?;
    v.iter().all(|&e| e == first).then_some(first)
}

/// Infers the results of the v2 ops (the ones `infer.rs` delegates here).
pub(crate) fn infer_nn(op: &Op, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue> {
    let f32s = DType::F32;
    let float_input = |x: &Operand<'_>| {
        if x.dtype != DType::F32 {
            unsupported("the input is an integer tensor; only float data is supported")
        } else {
            Ok(())
        }
    };
    match op {
        Op::Unary(u) => {
            let x = operand(ins, 0)?;
            if *u == super::Unary::Not {
                return one(x.shape.to_vec(), DType::I64);
            }
            float_input(x)?;
            one(x.shape.to_vec(), f32s)
        }
        Op::Pow => {
            float_input(operand(ins, 0)?)?;
            operand(ins, 1)?;
            one(broadcast_all(&ins[..2])?, f32s)
        }
        Op::Clip { .. } => {
            let x = operand(ins, 0)?;
            float_input(x)?;
            for i in [1, 2] {
                if let Some(o) = optional(ins, i)
                    && o.shape.iter().product::<usize>() != 1
                {
                    return invalid("Clip bounds must be scalars");
                }
            }
            one(x.shape.to_vec(), f32s)
        }
        Op::Nary(_) => {
            let first = operand(ins, 0)?;
            if ins.iter().flatten().any(|o| o.dtype != first.dtype) {
                return invalid("operands have different element types");
            }
            one(broadcast_all(ins)?, first.dtype)
        }
        Op::LayerNorm { axis, .. } => {
            let x = operand(ins, 0)?;
            float_input(x)?;
            let a = norm_axis(*axis, x.shape.len())?;
            let inner = &x.shape[a..];
            for i in [1, 2] {
                if let Some(p) = optional(ins, i)
                    && broadcast_shape(inner, p.shape).as_deref() != Some(inner)
                {
                    return invalid(format!(
                        "LayerNormalization parameter {i} {:?} does not broadcast to {inner:?}",
                        p.shape
                    ));
                }
            }
            operand(ins, 1)?;
            let mut stats = x.shape[..a].to_vec();
            stats.resize(x.shape.len(), 1);
            Ok(vec![
                OutInfo {
                    shape: x.shape.to_vec(),
                    dtype: f32s,
                },
                OutInfo {
                    shape: stats.clone(),
                    dtype: f32s,
                },
                OutInfo {
                    shape: stats,
                    dtype: f32s,
                },
            ])
        }
        _ => invalid("internal: not a v2 op"),
    }
}
