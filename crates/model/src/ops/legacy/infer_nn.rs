//! Shape rules of the v2 ops: elementwise functions, comparisons and selection, reductions,
//! normalisations, splits and the recurrent layers. Like `infer.rs`, the same functions run at
//! load time and inside the float kernels, and the lowering reuses the resolved attributes
//! (axes, split sizes, recurrent dimensions) they compute.

use omron_ir::broadcast_shape;

use super::{Op, RnnSpec};
use crate::shape::{
    Issue, Operand, OutInfo, broadcast_all, invalid, need as operand, norm_axis, optional,
    out as one, unsupported,
};
use crate::tensor::{DType, Tensor, checked_numel};

/// Dimensions of a recurrent layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RnnDims {
    /// Time steps.
    pub(crate) steps: usize,
    /// Batch size.
    pub(crate) batch: usize,
    /// Input features.
    pub(crate) input: usize,
    /// Hidden units.
    pub(crate) hidden: usize,
    /// Directions.
    pub(crate) dirs: usize,
}

impl RnnDims {
    /// Shape of `Y`.
    pub(crate) fn y_shape(&self, spec: &RnnSpec) -> Vec<usize> {
        if spec.batch_first {
            vec![self.batch, self.steps, self.dirs, self.hidden]
        } else {
            vec![self.steps, self.dirs, self.batch, self.hidden]
        }
    }

    /// Shape of `Y_h` / `Y_c` and of the initial states.
    pub(crate) fn state_shape(&self, spec: &RnnSpec) -> Vec<usize> {
        if spec.batch_first {
            vec![self.batch, self.dirs, self.hidden]
        } else {
            vec![self.dirs, self.batch, self.hidden]
        }
    }
}

/// Checks the operands of an LSTM/GRU node and resolves its dimensions.
pub(crate) fn rnn_dims(spec: &RnnSpec, ins: &[Option<Operand<'_>>]) -> Result<RnnDims, Issue> {
    let (x, w, r) = (operand(ins, 0)?, operand(ins, 1)?, operand(ins, 2)?);
    if x.dtype != DType::F32 {
        return unsupported("the recurrent input is an integer tensor");
    }
    if x.shape.len() != 3 {
        return invalid(format!("input {:?} is not rank 3", x.shape));
    }
    let (steps, batch) = if spec.batch_first {
        (x.shape[1], x.shape[0])
    } else {
        (x.shape[0], x.shape[1])
    };
    let dims = RnnDims {
        steps,
        batch,
        input: x.shape[2],
        hidden: spec.hidden,
        dirs: spec.direction.count(),
    };
    let rows = spec.cell.gates() * spec.hidden;
    if w.shape != [dims.dirs, rows, dims.input] {
        return invalid(format!(
            "W {:?}, expected {:?}",
            w.shape,
            [dims.dirs, rows, dims.input]
        ));
    }
    if r.shape != [dims.dirs, rows, dims.hidden] {
        return invalid(format!(
            "R {:?}, expected {:?}",
            r.shape,
            [dims.dirs, rows, dims.hidden]
        ));
    }
    if let Some(b) = optional(ins, 3)
        && b.shape != [dims.dirs, 2 * rows]
    {
        return invalid(format!(
            "B {:?}, expected {:?}",
            b.shape,
            [dims.dirs, 2 * rows]
        ));
    }
    if steps == 0 {
        return invalid("the sequence is empty");
    }
    if let Some(lens) = optional(ins, 4) {
        match lens.value.and_then(Tensor::as_i64) {
            Some(v) if v.len() == batch && v.iter().all(|&l| l == steps as i64) => {}
            Some(_) => {
                return unsupported(
                    "sequence_lens shorter than the sequence (padded batches) are not supported",
                );
            }
            None => return unsupported("sequence_lens must be a constant"),
        }
    }
    let state = dims.state_shape(spec);
    let state_inputs: &[usize] = if spec.cell == super::Cell::Lstm {
        &[5, 6]
    } else {
        &[5]
    };
    for &i in state_inputs {
        if let Some(s) = optional(ins, i)
            && s.shape != state.as_slice()
        {
            return invalid(format!("initial state {:?}, expected {state:?}", s.shape));
        }
    }
    if spec.cell == super::Cell::Lstm && optional(ins, 7).is_some() {
        return unsupported("LSTM peephole weights (input P) are not supported");
    }
    Ok(dims)
}

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
        Op::Compare(_) | Op::Logic(_) => {
            let (a, b) = (operand(ins, 0)?, operand(ins, 1)?);
            if a.dtype != b.dtype {
                return invalid("operands have different element types");
            }
            one(broadcast_all(&ins[..2])?, DType::I64)
        }
        Op::Where => {
            let (c, a, b) = (operand(ins, 0)?, operand(ins, 1)?, operand(ins, 2)?);
            if c.dtype != DType::I64 {
                return invalid("the Where condition must be boolean");
            }
            if a.dtype != b.dtype {
                return invalid("Where branches have different element types");
            }
            one(broadcast_all(&ins[..3])?, a.dtype)
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
        Op::Rnn(spec) => {
            let d = rnn_dims(spec, ins)?;
            let mut outs = vec![
                OutInfo {
                    shape: d.y_shape(spec),
                    dtype: f32s,
                },
                OutInfo {
                    shape: d.state_shape(spec),
                    dtype: f32s,
                },
            ];
            if spec.cell == super::Cell::Lstm {
                outs.push(OutInfo {
                    shape: d.state_shape(spec),
                    dtype: f32s,
                });
            }
            if outs.iter().any(|o| checked_numel(&o.shape).is_none()) {
                return invalid("the recurrent outputs are too large");
            }
            Ok(outs)
        }
        _ => invalid("internal: not a v2 op"),
    }
}
