//! Elementwise arithmetic with numpy broadcasting: `Add`, `Sub`, `Mul`, `Div`, `Pow` (constant
//! exponent) and the variadic `Max`, `Min`, `Sum`, `Mean`. Constants are quantised at the
//! operand's scale (additions, exact) or as weights (products); two computed values are brought
//! to a common scale first.

use std::sync::Arc;

use omron_ir::{LookupKind, Op as IrOp, broadcast_shape};

use crate::error::ModelError;
use crate::graph::ValueId;
use crate::kernel::{broadcast_map, f64s, input, to_f32};
use crate::op::{Arg, Low, Lowerer, OnnxOp, OpRef, Parse};
use crate::shape::{
    Issue, Operand, OutInfo, broadcast_all, float_operand, invalid, need, optional, out,
};
use crate::tensor::{DType, Data, Tensor};

/// The ONNX op types this family parses.
pub(crate) const OP_TYPES: &[&str] = &[
    "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean",
];

/// A variadic elementwise op with numpy broadcasting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Nary {
    Max,
    Min,
    Sum,
    Mean,
}

/// An elementwise arithmetic op.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Arith {
    /// Elementwise with numpy broadcasting.
    Add,
    /// Elementwise with numpy broadcasting.
    Sub,
    /// Elementwise with numpy broadcasting.
    Mul,
    /// Elementwise with numpy broadcasting (integer division truncates).
    Div,
    /// `a ^ b` (lowered only for a constant exponent).
    Pow,
    /// Variadic Max, Min, Sum or Mean.
    Nary(Nary),
}

/// Parses a node of one of [`OP_TYPES`].
pub(crate) fn parse(p: &Parse<'_>) -> Result<OpRef, String> {
    let a = &p.attrs;
    let op = match p.op_type {
        "Add" | "Sub" | "Mul" | "Div" => {
            a.only(&[])?;
            match p.op_type {
                "Add" => Arith::Add,
                "Sub" => Arith::Sub,
                "Mul" => Arith::Mul,
                _ => Arith::Div,
            }
        }
        "Pow" => {
            a.only(&[])?;
            Arith::Pow
        }
        "Max" | "Min" | "Sum" | "Mean" => {
            a.only(&[])?;
            Arith::Nary(match p.op_type {
                "Max" => Nary::Max,
                "Min" => Nary::Min,
                "Sum" => Nary::Sum,
                _ => Nary::Mean,
            })
        }
        other => return Err(format!("op '{other}' is not implemented")),
    };
    Ok(Arc::new(op))
}

impl OnnxOp for Arith {
    fn infer(&self, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue> {
        let f32s = DType::F32;
        match self {
            Arith::Add | Arith::Sub | Arith::Mul | Arith::Div => {
                let (a, b) = (need(ins, 0)?, need(ins, 1)?);
                if a.dtype != b.dtype {
                    return invalid("operands have different element types");
                }
                let shape = broadcast_shape(a.shape, b.shape).ok_or_else(|| {
                    Issue::Invalid(format!(
                        "shapes {:?} and {:?} do not broadcast",
                        a.shape, b.shape
                    ))
                })?;
                out(shape, a.dtype)
            }
            Arith::Pow => {
                float_operand(need(ins, 0)?)?;
                need(ins, 1)?;
                out(broadcast_all(&ins[..2])?, f32s)
            }
            Arith::Nary(_) => {
                let first = need(ins, 0)?;
                if ins.iter().flatten().any(|o| o.dtype != first.dtype) {
                    return invalid("operands have different element types");
                }
                out(broadcast_all(ins)?, first.dtype)
            }
        }
    }

    fn eval(&self, ins: &[Option<&Tensor>], infos: &[OutInfo]) -> Result<Vec<Tensor>, Issue> {
        let shape = infos[0].shape.clone();
        let x = |i: usize| input(ins, i);
        let one = |t: Tensor| -> Result<Vec<Tensor>, Issue> { Ok(vec![t]) };
        match self {
            Arith::Add | Arith::Sub | Arith::Mul | Arith::Div => {
                one(binary(self, x(0)?, x(1)?, shape)?)
            }
            Arith::Pow => {
                let (a, b) = (x(0)?, x(1)?);
                let (av, bv) = (f64s(a), f64s(b));
                let (ia, ib) = (
                    broadcast_map(&a.shape, &shape),
                    broadcast_map(&b.shape, &shape),
                );
                one(to_f32(
                    shape,
                    ia.iter().zip(&ib).map(|(&i, &j)| av[i].powf(bv[j])),
                ))
            }
            Arith::Nary(kind) => {
                let parts: Vec<&Tensor> = ins.iter().flatten().copied().collect();
                let maps: Vec<Vec<usize>> = parts
                    .iter()
                    .map(|p| broadcast_map(&p.shape, &shape))
                    .collect();
                let vals: Vec<Vec<f64>> = parts.iter().map(|p| f64s(p)).collect();
                let n: usize = shape.iter().product();
                let y: Vec<f64> = (0..n)
                    .map(|k| {
                        let it = vals.iter().zip(&maps).map(|(v, m)| v[m[k]]);
                        match kind {
                            Nary::Max => it.fold(f64::NEG_INFINITY, f64::max),
                            Nary::Min => it.fold(f64::INFINITY, f64::min),
                            Nary::Sum => it.sum(),
                            Nary::Mean => it.sum::<f64>() / parts.len() as f64,
                        }
                    })
                    .collect();
                one(match infos[0].dtype {
                    DType::F32 => to_f32(shape, y),
                    DType::I64 => Tensor::i64(shape, y.into_iter().map(|v| v as i64).collect()),
                })
            }
        }
    }

    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        match self {
            Arith::Add | Arith::Sub => l.add_sub(n, self),
            Arith::Mul | Arith::Div => l.mul_div(n, self),
            Arith::Pow => l.pow(n),
            Arith::Nary(k) => l.nary(n, *k),
        }
    }

    fn quant_check(&self, ins: &[Option<Operand<'_>>]) -> Result<(), String> {
        match self {
            Arith::Div => {
                let int = ins
                    .first()
                    .and_then(|o| o.as_ref())
                    .is_some_and(|o| o.dtype == DType::I64);
                if int {
                    Err("integer division of computed values is not supported".into())
                } else {
                    Ok(())
                }
            }
            Arith::Pow if pow_exponent(ins).is_none() => {
                Err("Pow needs a constant exponent (one value)".into())
            }
            _ => Ok(()),
        }
    }
}

impl Lowerer<'_> {
    pub(crate) fn add_sub(&mut self, n: usize, op: &Arith) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let ir = if matches!(op, Arith::Add) {
            IrOp::Add
        } else {
            IrOp::Sub
        };
        let y = match (self.arg(n, 0)?, self.arg(n, 1)?) {
            (Arg::Act(a), Arg::Act(b)) => {
                self.add_acts(&label, (self.get(a)?, a), (self.get(b)?, b), ir, &out_name)?
            }
            (Arg::Act(a), Arg::Const(c)) => {
                let x = self.carry(a, out)?;
                let cid = self.scaled_const(n, &label, c, x.scale)?;
                self.push(label.clone(), ir, vec![x.id, cid], out_name.clone())?
            }
            (Arg::Const(c), Arg::Act(a)) => {
                let x = self.carry(a, out)?;
                let cid = self.scaled_const(n, &label, c, x.scale)?;
                self.push(label.clone(), ir, vec![cid, x.id], out_name.clone())?
            }
            _ => return Err(self.err(n, "both operands are constants")),
        };
        self.set(out, y);
        Ok(())
    }

    pub(crate) fn mul_div(&mut self, n: usize, op: &Arith) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let div = matches!(op, Arith::Div);
        let y = match (self.arg(n, 0)?, self.arg(n, 1)?) {
            (Arg::Act(a), Arg::Act(b)) if !div => {
                let (xa, xb) = self.product_operands(&label, a, b, out)?;
                self.push(
                    label.clone(),
                    IrOp::Mul,
                    vec![xa.id, xb.id],
                    out_name.clone(),
                )?
            }
            (Arg::Act(a), Arg::Act(b)) => self.div_acts(&label, a, b, out)?,
            (Arg::Act(a), Arg::Const(c)) => {
                let x = self.narrow(a)?;
                self.mul_const(n, &label, x, c, div, out)?
            }
            (Arg::Const(c), Arg::Act(b)) if div => {
                // c / b = c * (1 / b): a reciprocal table, then a constant product.
                let xb = self.narrow(b)?;
                let max = self
                    .float_vals(b)
                    .map(|v| v.iter().fold(0f64, |m, &x| m.max(1.0 / x.abs())));
                let s = self.internal_scale(n, "1 / the divisor", max, self.opts.max_scale)?;
                let r = self.lookup(
                    &format!("{label}/reciprocal"),
                    xb,
                    LookupKind::Reciprocal,
                    s,
                    &format!("{out_name}/reciprocal"),
                )?;
                self.mul_const(n, &label, r, c, false, out)?
            }
            (Arg::Const(c), Arg::Act(a)) => {
                let x = self.narrow(a)?;
                self.mul_const(n, &label, x, c, false, out)?
            }
            _ => return Err(self.err(n, "unsupported operands")),
        };
        self.set(out, y);
        Ok(())
    }

    /// `x * c` (or `x / c`) for a float constant `c`, quantised as a weight.
    pub(crate) fn mul_const(
        &mut self,
        n: usize,
        label: &str,
        x: Low,
        c: &Tensor,
        divide: bool,
        out: ValueId,
    ) -> Result<Low, ModelError> {
        let mut vals: Vec<f64> = c.to_f32().iter().map(|&v| v as f64).collect();
        if divide {
            if vals.contains(&0.0) {
                return Err(self.err(n, "division by zero"));
            }
            vals.iter_mut().for_each(|v| *v = 1.0 / *v);
        }
        let cap = self.weight_cap(x.scale, self.cal[out]);
        let (q, s) = self.quant_weight(n, &vals, cap)?;
        let cid = self.const_tensor(format!("{label}/factor"), c.shape.clone(), q, s);
        let out_name = self.m.value_name(out).to_string();
        self.push(label.to_string(), IrOp::Mul, vec![x.id, cid], out_name)
    }

    /// `a / b` for two computed values: `Div` with one extra bit, rounded by a `Rescale`.
    /// `Div` needs a positive denominator: unless the calibration run shows `b > 0`, the sign
    /// moves to the numerator (`a * sign(b) / |b|`, both exact tables).
    fn div_acts(
        &mut self,
        label: &str,
        a: ValueId,
        b: ValueId,
        out: ValueId,
    ) -> Result<Low, ModelError> {
        let out_name = self.m.value_name(out).to_string();
        let xa = self.narrow(a)?;
        let xb = self.narrow(b)?;
        let positive = self
            .float_vals(b)
            .is_some_and(|v| v.iter().all(|&x| x > 0.0));
        let (num, den) = if positive {
            (xa, xb)
        } else {
            let sign = self.lookup(
                &format!("{label}/sign"),
                xb,
                LookupKind::Sign,
                0,
                &format!("{out_name}/sign"),
            )?;
            let abs = self.lookup(
                &format!("{label}/abs"),
                xb,
                LookupKind::Abs,
                xb.scale,
                &format!("{out_name}/abs"),
            )?;
            let num = self.binary(
                &format!("{label}/signed"),
                IrOp::Mul,
                xa,
                sign,
                &format!("{out_name}/num"),
            )?;
            (num, abs)
        };
        let s_out = self.cal[out];
        let want = s_out + den.scale + 1;
        let num = self.rescale(&format!("{label}/num"), num, want, &out_name)?;
        let shift = want - num.scale;
        let q = self.binary(
            &format!("{label}/div"),
            IrOp::Div { shift },
            num,
            den,
            &format!("{out_name}/x2"),
        )?;
        self.rescale(label, q, s_out, &out_name)
    }

    /// Pow with one constant exponent: 1 is the identity, 2 and 3 are products, 0.5, -0.5 and
    /// -1 are the Sqrt, Rsqrt and Reciprocal tables, anything else a Pow table.
    pub(crate) fn pow(&mut self, n: usize) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let e = pow_exponent(&self.operands(n))
            .ok_or_else(|| self.err(n, "Pow needs a constant exponent"))?;
        let y = if e == 1.0 {
            self.carry(a, out)?
        } else if e == 0.0 {
            let x = self.narrow(a)?;
            let zero = self.mul_int(&format!("{label}/zero"), x, 0, 0, &out_name)?;
            let one = self.int_const(format!("{label}/one"), vec![], vec![1 << x.scale], x.scale);
            self.binary(&label, IrOp::Add, zero, one, &out_name)?
        } else if e == 2.0 || e == 3.0 {
            let x = self.narrow(a)?;
            if e == 2.0 {
                self.product(&label, x, x, self.cal[out], &out_name)?
            } else {
                let max = self
                    .float_vals(a)
                    .map(|v| v.iter().fold(0f64, |m, &x| m.max(x * x)));
                let s2 = self.internal_scale(n, "x^2", max, self.opts.max_scale)?;
                let sq = self.product(&format!("{label}/square"), x, x, s2, &out_name)?;
                let sq = self.rescale(&format!("{label}/square/q"), sq, s2, &out_name)?;
                self.product(&label, sq, x, self.cal[out], &out_name)?
            }
        } else {
            let kind = if e == 0.5 {
                LookupKind::Sqrt
            } else if e == -0.5 {
                LookupKind::Rsqrt
            } else if e == -1.0 {
                LookupKind::Reciprocal
            } else {
                let (num, den) = rational(e).ok_or_else(|| {
                    self.err(n, format!("exponent {e} is not a ratio of small integers"))
                })?;
                LookupKind::Pow { num, den }
            };
            let x = self.narrow(a)?;
            self.lookup(&label, x, kind, self.cal[out], &out_name)?
        };
        self.set(out, y);
        Ok(())
    }

    /// Variadic Max/Min (pairwise, at a common range-safe scale) and Sum/Mean (additions at a
    /// common scale; Mean then multiplies by `1/k`).
    pub(crate) fn nary(&mut self, n: usize, k: Nary) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let count = self.m.graph.nodes[n].inputs.iter().flatten().count();
        let idx: Vec<usize> = (0..self.m.graph.nodes[n].inputs.len())
            .filter(|&i| self.m.graph.nodes[n].inputs[i].is_some())
            .collect();
        let ops = self.common_operands(n, &idx, false)?;
        let want = self.shape(out).to_vec();
        let mut y = match k {
            Nary::Max | Nary::Min => self.extreme_tree(&label, ops, k == Nary::Max, &out_name)?,
            Nary::Sum | Nary::Mean => {
                let mut acc = ops[0];
                for (i, o) in ops.iter().enumerate().skip(1) {
                    acc = self.binary(&format!("{label}/add{i}"), IrOp::Add, acc, *o, &out_name)?;
                }
                if k == Nary::Mean && count > 1 {
                    let recip = Tensor::f32(vec![], vec![1.0 / count as f32]);
                    self.mul_const(n, &label, acc, &recip, false, out)?
                } else {
                    acc
                }
            }
        };
        if self.tensors[y.id].shape != want {
            // A single operand smaller than the output (broadcast by nothing): not expected
            // from a well-formed model, refuse rather than guess.
            if self.tensors[y.id].shape.iter().product::<usize>() == want.iter().product::<usize>()
            {
                y = self.reshape(&label, y, want, &out_name)?;
            } else {
                return Err(self.err(n, "operands do not broadcast to the output shape"));
            }
        }
        self.set(out, y);
        Ok(())
    }
}

/// The single exponent of a Pow node, when it is a constant whose elements are all equal.
pub(crate) fn pow_exponent(ins: &[Option<Operand<'_>>]) -> Option<f32> {
    let t = optional(ins, 1)?.value?;
    let v = t.to_f32();
    let first = *v.first()?;
    v.iter().all(|&e| e == first).then_some(first)
}

fn binary(op: &Arith, a: &Tensor, b: &Tensor, shape: Vec<usize>) -> Result<Tensor, Issue> {
    let ia = broadcast_map(&a.shape, &shape);
    let ib = broadcast_map(&b.shape, &shape);
    let data = match (&a.data, &b.data) {
        (Data::F32(x), Data::F32(y)) => Data::F32(
            ia.iter()
                .zip(&ib)
                .map(|(&i, &j)| match op {
                    Arith::Add => x[i] + y[j],
                    Arith::Sub => x[i] - y[j],
                    Arith::Mul => x[i] * y[j],
                    _ => x[i] / y[j],
                })
                .collect(),
        ),
        (Data::I64(x), Data::I64(y)) => Data::I64(
            ia.iter()
                .zip(&ib)
                .map(|(&i, &j)| {
                    match op {
                        Arith::Add => x[i].checked_add(y[j]),
                        Arith::Sub => x[i].checked_sub(y[j]),
                        Arith::Mul => x[i].checked_mul(y[j]),
                        _ => x[i].checked_div(y[j]),
                    }
                    .ok_or_else(|| {
                        Issue::Invalid("integer arithmetic overflows or divides by 0".into())
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => return invalid("operands have different element types"),
    };
    Ok(Tensor { shape, data })
}

/// A rational `num / den` (den <= 1000) equal to `e` within `f32` precision (the exponent
/// was stored as an `f32`).
fn rational(e: f32) -> Option<(i32, u32)> {
    let e = e as f64;
    (1u32..=1000).find_map(|den| {
        let num = (e * den as f64).round();
        ((num / den as f64 - e).abs() <= 2e-7 * e.abs().max(1.0) && num.abs() < 1e6)
            .then_some((num as i32, den))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::run as eval;

    #[test]
    fn integer_division_by_zero_is_an_error() {
        let a = Tensor::i64(vec![1], vec![4]);
        let b = Tensor::i64(vec![1], vec![0]);
        assert!(eval(&Arith::Div, &[Some(&a), Some(&b)]).is_err());
    }

    #[test]
    fn exponents_are_exact_ratios_or_refused() {
        assert_eq!(rational(1.5), Some((3, 2)));
        assert_eq!(rational(1.0 / 3.0), Some((1, 3)));
        assert_eq!(rational(-2.5), Some((-5, 2)));
    }
}
