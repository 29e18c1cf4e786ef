//! Recurrent layers: ONNX `LSTM` and `GRU`, unrolled over the (fixed) sequence (`lower.rs`,
//! `gru.rs`), with the float reference in `run.rs` and the attributes and dimensions in
//! `spec.rs`.

mod gru;
mod lower;
mod run;
mod spec;

use std::sync::Arc;

use run::run_rnn;
use spec::{Cell, Direction, RnnSpec, rnn_dims};

use crate::attrs::Attrs;
use crate::error::ModelError;
use crate::kernel::to_f32;
use crate::op::{Lowerer, OnnxOp, OpRef, Parse};
use crate::shape::{Issue, Operand, OutInfo, invalid};
use crate::tensor::{DType, Tensor, checked_numel};

/// The ONNX op types this family parses.
pub(crate) const OP_TYPES: &[&str] = &["LSTM", "GRU"];

/// An LSTM or GRU layer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Recurrent {
    /// An LSTM or GRU layer.
    Rnn(RnnSpec),
}

/// Parses a node of one of [`OP_TYPES`].
pub(crate) fn parse(p: &Parse<'_>) -> Result<OpRef, String> {
    let a = &p.attrs;
    let opset = p.opset;
    let op = match p.op_type {
        "LSTM" | "GRU" => Recurrent::Rnn(rnn(a, p.op_type, opset)?),
        other => return Err(format!("op '{other}' is not implemented")),
    };
    Ok(Arc::new(op))
}

impl OnnxOp for Recurrent {
    fn infer(&self, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue> {
        let f32s = DType::F32;
        match self {
            Recurrent::Rnn(spec) => {
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
                if spec.cell == Cell::Lstm {
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
        }
    }

    fn eval(&self, ins: &[Option<&Tensor>], infos: &[OutInfo]) -> Result<Vec<Tensor>, Issue> {
        match self {
            Recurrent::Rnn(spec) => {
                let operands: Vec<Option<Operand<'_>>> =
                    ins.iter().map(|o| o.map(Operand::of)).collect();
                let dims = rnn_dims(spec, &operands)?;
                let run = run_rnn(spec, &dims, ins, &mut |_| {})?;
                let mut outs = vec![
                    to_f32(infos[0].shape.clone(), run.y),
                    to_f32(infos[1].shape.clone(), run.y_h),
                ];
                if spec.cell == Cell::Lstm {
                    outs.push(to_f32(infos[2].shape.clone(), run.y_c));
                }
                Ok(outs)
            }
        }
    }

    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        match self {
            Recurrent::Rnn(spec) => l.rnn(n, spec),
        }
    }

    fn quant_check(&self, ins: &[Option<Operand<'_>>]) -> Result<(), String> {
        match self {
            Recurrent::Rnn(_)
                if !(1..4).all(|i| {
                    ins.get(i)
                        .is_none_or(|o| o.as_ref().is_none_or(|o| o.value.is_some()))
                }) =>
            {
                Err("recurrent weights W, R and B must be constants".into())
            }

            _ => Ok(()),
        }
    }

    fn output_count(&self) -> usize {
        let Recurrent::Rnn(s) = self;
        match s.cell {
            Cell::Lstm => 3,
            Cell::Gru { .. } => 2,
        }
    }
}

/// Parses an `LSTM` or `GRU` node. Only the default activations are accepted (tf2onnx writes
/// them out explicitly); `clip`, `input_forget` and activation parameters change the maths
/// and are refused.
fn rnn(a: &Attrs<'_>, op_type: &str, opset: i64) -> Result<RnnSpec, String> {
    let lstm = op_type == "LSTM";
    let mut known = vec![
        "activation_alpha",
        "activation_beta",
        "activations",
        "clip",
        "direction",
        "hidden_size",
    ];
    known.push(if lstm {
        "input_forget"
    } else {
        "linear_before_reset"
    });
    if opset >= 14 {
        known.push("layout");
    }
    a.only(&known)?;
    let direction = match a.string("direction")?.as_deref() {
        None | Some("forward") => Direction::Forward,
        Some("reverse") => Direction::Reverse,
        Some("bidirectional") => Direction::Bidirectional,
        Some(other) => return Err(format!("{op_type} direction '{other}' is not valid")),
    };
    let defaults: &[&str] = if lstm {
        &["Sigmoid", "Tanh", "Tanh"]
    } else {
        &["Sigmoid", "Tanh"]
    };
    if let Some(acts) = a.strings("activations")? {
        let expected: Vec<&str> = (0..direction.count())
            .flat_map(|_| defaults.iter().copied())
            .collect();
        if acts != expected {
            return Err(format!(
                "{op_type} activations {acts:?} are not supported (only the defaults {expected:?})"
            ));
        }
    }
    for name in ["activation_alpha", "activation_beta", "clip"] {
        if a.has(name) {
            return Err(format!("{op_type} attribute '{name}' is not supported"));
        }
    }
    if a.flag("input_forget", false)? {
        return Err("LSTM input_forget=1 (coupled input and forget gates) is not supported".into());
    }
    let hidden = a
        .int("hidden_size")?
        .and_then(|h| usize::try_from(h).ok())
        .filter(|&h| (1..=1 << 16).contains(&h))
        .ok_or_else(|| format!("{op_type} needs a positive 'hidden_size'"))?;
    let cell = if lstm {
        Cell::Lstm
    } else {
        Cell::Gru {
            linear_before_reset: a.flag("linear_before_reset", false)?,
        }
    };
    // Batch-first recurrent layers are valid ONNX, but onnxruntime refuses them, so there is
    // no reference to check our unrolling against: refuse them too.
    if a.flag("layout", false)? {
        return Err(format!(
            "{op_type} layout=1 (batch-first) is not supported; export with layout=0"
        ));
    }
    Ok(RnnSpec {
        cell,
        hidden,
        direction,
        batch_first: false,
    })
}
