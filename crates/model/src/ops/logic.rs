//! Comparisons and boolean logic, whose results are the integers 0 and 1 at scale 0
//! (`Greater`, `Less`, `Equal`, `GreaterOrEqual`, `LessOrEqual`, `And`, `Or`, `Xor`), and `Where`,
//! which selects by such a condition.

use std::sync::Arc;

use omron_ir::{LookupKind, Op as IrOp};

use crate::error::ModelError;
use crate::kernel::{broadcast_map, f64s, input};
use crate::op::{Arg, Lowerer, OnnxOp, OpRef, Parse};
use crate::shape::{Issue, Operand, OutInfo, broadcast_all, invalid, need, out};
use crate::tensor::{DType, Data, Tensor};

/// The ONNX op types this family parses.
pub(crate) const OP_TYPES: &[&str] = &[
    "Greater",
    "Less",
    "Equal",
    "GreaterOrEqual",
    "LessOrEqual",
    "And",
    "Or",
    "Xor",
    "Where",
];

/// A comparison; the result is boolean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cmp {
    Greater,
    Less,
    Equal,
    GreaterOrEqual,
    LessOrEqual,
}

/// A logical operation on booleans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Logic {
    And,
    Or,
    Xor,
}

/// A comparison, a logical operation or a selection by a condition.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Boolean {
    /// Elementwise comparison (boolean result).
    Compare(Cmp),
    /// Elementwise logic on booleans.
    Logic(Logic),
    /// `cond ? a : b` with broadcasting.
    Where,
}

/// Parses a node of one of [`OP_TYPES`].
pub(crate) fn parse(p: &Parse<'_>) -> Result<OpRef, String> {
    let a = &p.attrs;
    let op = match p.op_type {
        "Greater" | "Less" | "Equal" | "GreaterOrEqual" | "LessOrEqual" => {
            a.only(&[])?;
            Boolean::Compare(match p.op_type {
                "Greater" => Cmp::Greater,
                "Less" => Cmp::Less,
                "Equal" => Cmp::Equal,
                "GreaterOrEqual" => Cmp::GreaterOrEqual,
                _ => Cmp::LessOrEqual,
            })
        }
        "And" | "Or" | "Xor" => {
            a.only(&[])?;
            Boolean::Logic(match p.op_type {
                "And" => Logic::And,
                "Or" => Logic::Or,
                _ => Logic::Xor,
            })
        }
        "Where" => {
            a.only(&[])?;
            Boolean::Where
        }
        other => return Err(format!("op '{other}' is not implemented")),
    };
    Ok(Arc::new(op))
}

impl OnnxOp for Boolean {
    fn infer(&self, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue> {
        match self {
            Boolean::Compare(_) | Boolean::Logic(_) => {
                let (a, b) = (need(ins, 0)?, need(ins, 1)?);
                if a.dtype != b.dtype {
                    return invalid("operands have different element types");
                }
                out(broadcast_all(&ins[..2])?, DType::I64)
            }
            Boolean::Where => {
                let (c, a, b) = (need(ins, 0)?, need(ins, 1)?, need(ins, 2)?);
                if c.dtype != DType::I64 {
                    return invalid("the Where condition must be boolean");
                }
                if a.dtype != b.dtype {
                    return invalid("Where branches have different element types");
                }
                out(broadcast_all(&ins[..3])?, a.dtype)
            }
        }
    }

    fn eval(&self, ins: &[Option<&Tensor>], infos: &[OutInfo]) -> Result<Vec<Tensor>, Issue> {
        let shape = infos[0].shape.clone();
        let x = |i: usize| input(ins, i);
        let one = |t: Tensor| -> Result<Vec<Tensor>, Issue> { Ok(vec![t]) };
        match self {
            Boolean::Compare(c) => {
                let (a, b) = (x(0)?, x(1)?);
                let (av, bv) = (f64s(a), f64s(b));
                let (ia, ib) = (
                    broadcast_map(&a.shape, &shape),
                    broadcast_map(&b.shape, &shape),
                );
                let y = ia
                    .iter()
                    .zip(&ib)
                    .map(|(&i, &j)| {
                        let (p, q) = (av[i], bv[j]);
                        i64::from(match c {
                            Cmp::Greater => p > q,
                            Cmp::Less => p < q,
                            Cmp::Equal => p == q,
                            Cmp::GreaterOrEqual => p >= q,
                            Cmp::LessOrEqual => p <= q,
                        })
                    })
                    .collect();
                one(Tensor::i64(shape, y))
            }
            Boolean::Logic(l) => {
                let (a, b) = (x(0)?, x(1)?);
                let (av, bv) = (f64s(a), f64s(b));
                let (ia, ib) = (
                    broadcast_map(&a.shape, &shape),
                    broadcast_map(&b.shape, &shape),
                );
                let y = ia
                    .iter()
                    .zip(&ib)
                    .map(|(&i, &j)| {
                        let (p, q) = (av[i] != 0.0, bv[j] != 0.0);
                        i64::from(match l {
                            Logic::And => p && q,
                            Logic::Or => p || q,
                            Logic::Xor => p != q,
                        })
                    })
                    .collect();
                one(Tensor::i64(shape, y))
            }
            Boolean::Where => {
                let (c, a, b) = (x(0)?, x(1)?, x(2)?);
                let cv = f64s(c);
                let ic = broadcast_map(&c.shape, &shape);
                let (ia, ib) = (
                    broadcast_map(&a.shape, &shape),
                    broadcast_map(&b.shape, &shape),
                );
                let pick = |k: usize| cv[ic[k]] != 0.0;
                let data = match (&a.data, &b.data) {
                    (Data::F32(p), Data::F32(q)) => Data::F32(
                        (0..ic.len())
                            .map(|k| if pick(k) { p[ia[k]] } else { q[ib[k]] })
                            .collect(),
                    ),
                    (Data::I64(p), Data::I64(q)) => Data::I64(
                        (0..ic.len())
                            .map(|k| if pick(k) { p[ia[k]] } else { q[ib[k]] })
                            .collect(),
                    ),
                    _ => return invalid("Where branches have different element types"),
                };
                one(Tensor { shape, data })
            }
        }
    }

    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        match self {
            Boolean::Compare(c) => l.compare(n, *c),
            Boolean::Logic(op) => l.logic(n, *op),
            Boolean::Where => l.where_(n),
        }
    }
}

impl Lowerer<'_> {
    /// Comparisons: the exact difference of the two operands at a common scale, then a 0/1
    /// table (`Step` for strict order, `NonNegative` for `>=`/`<=`, `IsZero` for equality).
    pub(crate) fn compare(&mut self, n: usize, c: Cmp) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let ops = self.common_operands(n, &[0, 1], true)?;
        let (a, b) = (ops[0], ops[1]);
        let (p, q) = match c {
            Cmp::Less | Cmp::LessOrEqual => (b, a),
            _ => (a, b),
        };
        let d = self.binary(
            &format!("{label}/diff"),
            IrOp::Sub,
            p,
            q,
            &format!("{out_name}/diff"),
        )?;
        let kind = match c {
            Cmp::Greater | Cmp::Less => LookupKind::Step,
            Cmp::GreaterOrEqual | Cmp::LessOrEqual => LookupKind::NonNegative,
            Cmp::Equal => LookupKind::IsZero,
        };
        let y = self.lookup(&label, d, kind, 0, &out_name)?;
        self.set(out, y);
        Ok(())
    }

    /// Logic on 0/1 tensors at scale 0: `a b`, `a + b - a b`, `a + b - 2 a b`.
    pub(crate) fn logic(&mut self, n: usize, l: Logic) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let mut ops = Vec::with_capacity(2);
        for i in 0..2 {
            ops.push(match self.arg(n, i)? {
                Arg::Act(v) => {
                    let x = self.get(v)?;
                    if x.scale != 0 {
                        return Err(self.err(n, "a logic operand is not a 0/1 tensor"));
                    }
                    x
                }
                Arg::Const(c) => {
                    let vals: Vec<i64> = c.to_f32().iter().map(|&v| i64::from(v != 0.0)).collect();
                    self.int_const(format!("{label}/const{i}"), c.shape.clone(), vals, 0)
                }
            });
        }
        let (a, b) = (ops[0], ops[1]);
        let ab = self.binary(&format!("{label}/and"), IrOp::Mul, a, b, &out_name)?;
        let y = match l {
            Logic::And => ab,
            Logic::Or | Logic::Xor => {
                let sum = self.binary(&format!("{label}/sum"), IrOp::Add, a, b, &out_name)?;
                let k = if l == Logic::Or { 1 } else { 2 };
                let both = self.mul_int(&format!("{label}/both"), ab, k, 0, &out_name)?;
                self.binary(&label, IrOp::Sub, sum, both, &out_name)?
            }
        };
        self.set(out, y);
        Ok(())
    }

    /// `where(c, a, b) = b + c (a - b)`: exact at the branches' common scale, with `c` a 0/1
    /// tensor at scale 0.
    pub(crate) fn where_(&mut self, n: usize) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let cond = match self.arg(n, 0)? {
            Arg::Act(v) => {
                let x = self.get(v)?;
                if x.scale != 0 {
                    return Err(self.err(n, "the Where condition is not a 0/1 tensor"));
                }
                x
            }
            Arg::Const(c) => {
                let vals: Vec<i64> = c.to_f32().iter().map(|&v| i64::from(v != 0.0)).collect();
                self.int_const(format!("{label}/cond"), c.shape.clone(), vals, 0)
            }
        };
        let ops = self.common_operands(n, &[1, 2], false)?;
        let (a, b) = (ops[0], ops[1]);
        let d = self.binary(&format!("{label}/diff"), IrOp::Sub, a, b, &out_name)?;
        let pick = self.binary(&format!("{label}/pick"), IrOp::Mul, cond, d, &out_name)?;
        let y = self.binary(&label, IrOp::Add, b, pick, &out_name)?;
        // The IR broadcast may not reach the full output shape when `b` and `c (a - b)` are
        // both smaller than it (a broadcast condition); reshape is only for equal sizes.
        let want = self.shape(out).to_vec();
        if self.tensors[y.id].shape != want {
            return Err(self.err(n, "Where operands do not broadcast to the output shape"));
        }
        self.set(out, y);
        Ok(())
    }
}
