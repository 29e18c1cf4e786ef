//! Constants and shape arithmetic: `Constant`, `ConstantOfShape` and `Shape`. They only run on
//! constant inputs (or, for `Shape`, a known input shape) and are folded at load time; a model
//! that needs them at run time is refused.

use std::sync::Arc;

use crate::error::ModelError;
use crate::kernel::input;
use crate::op::{Lowerer, OnnxOp, OpRef, Parse, Runtime};
use crate::shape::{Issue, Operand, OutInfo, const_ints, invalid, need, out};
use crate::tensor::{DType, Data, Tensor};

/// The ONNX op types this family parses.
pub(crate) const OP_TYPES: &[&str] = &["Constant", "ConstantOfShape", "Shape"];

/// A constant or a fold-only shape computation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Folded {
    /// A constant from an attribute.
    Constant(Tensor),
    /// The input's shape (dims `start..end`).
    Shape { start: i64, end: Option<i64> },
    /// A tensor of the shape in input 0, filled with a value (default float 0).
    ConstantOfShape(Option<Tensor>),
}

/// Parses a node of one of [`OP_TYPES`].
pub(crate) fn parse(p: &Parse<'_>) -> Result<OpRef, String> {
    let a = &p.attrs;
    let op = match p.op_type {
        "Constant" => {
            a.only(&[
                "value",
                "value_float",
                "value_floats",
                "value_int",
                "value_ints",
            ])?;
            let t = if let Some(t) = a.tensor("value")? {
                t
            } else if let Some(f) = a.float("value_float")? {
                Tensor::f32(vec![], vec![f])
            } else if let Some(f) = a.floats("value_floats")? {
                Tensor::f32(vec![f.len()], f)
            } else if let Some(i) = a.int("value_int")? {
                Tensor::i64(vec![], vec![i])
            } else if let Some(i) = a.ints("value_ints")? {
                Tensor::i64(vec![i.len()], i)
            } else {
                return Err("Constant has no value attribute".into());
            };
            Folded::Constant(t)
        }
        "Shape" => {
            a.only(&["start", "end"])?;
            Folded::Shape {
                start: a.int("start")?.unwrap_or(0),
                end: a.int("end")?,
            }
        }
        "ConstantOfShape" => {
            a.only(&["value"])?;
            Folded::ConstantOfShape(a.tensor("value")?)
        }
        other => return Err(format!("op '{other}' is not implemented")),
    };
    Ok(Arc::new(op))
}

impl OnnxOp for Folded {
    fn infer(&self, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue> {
        match self {
            Folded::Constant(t) => out(t.shape.clone(), t.dtype()),
            Folded::Shape { start, end } => {
                let x = need(ins, 0)?;
                let r = x.shape.len() as i64;
                let fix = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r);
                let (s, e) = (fix(*start), fix(end.unwrap_or(r)));
                out(vec![(e - s).max(0) as usize], DType::I64)
            }
            Folded::ConstantOfShape(value) => {
                let dims =
                    const_ints(Some(need(ins, 0)?), "ConstantOfShape shape")?.unwrap_or_default();
                let shape = dims
                    .iter()
                    .map(|&d| {
                        usize::try_from(d).map_err(|_| Issue::Invalid(format!("dimension {d}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                out(shape, value.as_ref().map_or(DType::F32, Tensor::dtype))
            }
        }
    }

    fn eval(&self, ins: &[Option<&Tensor>], infos: &[OutInfo]) -> Result<Vec<Tensor>, Issue> {
        let shape = infos[0].shape.clone();
        let x = |i: usize| input(ins, i);
        let one = |t: Tensor| -> Result<Vec<Tensor>, Issue> { Ok(vec![t]) };
        match self {
            Folded::Constant(t) => one(t.clone()),
            Folded::Shape { start, end } => {
                let t = x(0)?;
                let r = t.shape.len() as i64;
                let fix = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
                let (s, e) = (fix(*start), fix(end.unwrap_or(r)));
                let dims = t.shape[s..e.max(s)].iter().map(|&d| d as i64).collect();
                one(Tensor::i64(shape, dims))
            }
            Folded::ConstantOfShape(value) => {
                let n = shape.iter().product();
                let data = match value {
                    None => Data::F32(vec![0.0; n]),
                    Some(v) if v.len() == 1 => match &v.data {
                        Data::F32(f) => Data::F32(vec![f[0]; n]),
                        Data::I64(i) => Data::I64(vec![i[0]; n]),
                    },
                    Some(_) => return invalid("ConstantOfShape value must have one element"),
                };
                one(Tensor { shape, data })
            }
        }
    }

    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        match self {
            Folded::Shape { .. } | Folded::Constant(_) | Folded::ConstantOfShape(_) => Err(l.err(
                n,
                format!("{self:?} is only supported on constants (folded at load time)"),
            )),
        }
    }

    fn runtime(&self) -> Runtime {
        Runtime::FoldOnly
    }

    fn fold_on_shape(&self, x: &[usize]) -> Option<Tensor> {
        let Folded::Shape { start, end } = self else {
            return None;
        };
        let r = x.len() as i64;
        let fix = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
        let s = fix(*start);
        let e = fix(end.unwrap_or(r)).max(s);
        let dims: Vec<i64> = x[s..e].iter().map(|&d| d as i64).collect();
        Some(Tensor::i64(vec![dims.len()], dims))
    }
}
