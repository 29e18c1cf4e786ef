//! Elementwise ops: arithmetic (Add, Sub, Mul, Div, Pow, Neg), functions through lookup
//! tables, comparisons and logic (0/1 results at scale 0), Where, Clip and variadic
//! Max/Min/Sum/Mean.

use omron_ir::{LookupKind, Op as IrOp};

use super::{Nary, Op, Unary};
use crate::error::ModelError;
use crate::graph::ValueId;
use crate::op::build::pow2;
use crate::op::{Arg, Low, Lowerer};
use crate::tensor::Tensor;

/// `alpha` in thousandths, when it is one exactly (lookup parameters are integers).
fn milli(alpha: f32) -> Option<i32> {
    let m = alpha as f64 * 1000.0;
    let r = m.round();
    ((m - r).abs() <= 1e-3 && r.abs() < 1e9).then_some(r as i32)
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

impl<'a> Lowerer<'a> {
    pub(crate) fn add_sub(&mut self, n: usize, op: &Op) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let ir = if matches!(op, Op::Add) {
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

    pub(crate) fn mul_div(&mut self, n: usize, op: &Op) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let div = matches!(op, Op::Div);
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

    /// Relu, Sigmoid and Tanh: one lookup (Relu is exact at equal scales).
    pub(crate) fn lookup_node(&mut self, n: usize, kind: LookupKind) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let x = self.narrow(a)?;
        let out_scale = if kind == LookupKind::Relu {
            x.scale
        } else {
            self.cal[out]
        };
        let y = self.lookup(&label, x, kind, out_scale, &out_name)?;
        self.set(out, y);
        Ok(())
    }

    pub(crate) fn unary(&mut self, n: usize, u: Unary) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let y = match u {
            Unary::Neg => {
                let x = self.carry(a, out)?;
                self.mul_int(&label, x, -1, 0, &out_name)?
            }
            Unary::Not => {
                let x = self.get(a)?;
                let one =
                    self.int_const(format!("{label}/one"), vec![], vec![1 << x.scale], x.scale);
                self.binary(&label, IrOp::Sub, one, x, &out_name)?
            }
            Unary::Abs => {
                let x = self.narrow(a)?;
                self.lookup(&label, x, LookupKind::Abs, x.scale, &out_name)?
            }
            Unary::LeakyRelu { alpha } => {
                let alpha_milli = milli(alpha).ok_or_else(|| {
                    self.err(
                        n,
                        format!("LeakyRelu alpha {alpha} is not a multiple of 0.001"),
                    )
                })?;
                let x = self.narrow(a)?;
                self.lookup(
                    &label,
                    x,
                    LookupKind::LeakyRelu { alpha_milli },
                    x.scale,
                    &out_name,
                )?
            }
            Unary::HardSigmoid { alpha, beta } => self.hard_sigmoid(n, a, alpha, beta)?,
            _ => {
                let kind = match u {
                    Unary::Exp => LookupKind::Exp,
                    Unary::Log => LookupKind::Log,
                    Unary::Erf => LookupKind::Erf,
                    Unary::Sqrt => LookupKind::Sqrt,
                    Unary::Reciprocal => LookupKind::Reciprocal,
                    Unary::Softplus => LookupKind::Softplus,
                    Unary::Gelu => LookupKind::Gelu,
                    Unary::Sign => LookupKind::Sign,
                    Unary::Elu { alpha } => LookupKind::Elu {
                        alpha_milli: milli(alpha).ok_or_else(|| {
                            self.err(n, format!("Elu alpha {alpha} is not a multiple of 0.001"))
                        })?,
                    },
                    _ => return Err(self.err(n, format!("{u:?} has no lookup"))),
                };
                let x = self.narrow(a)?;
                self.lookup(&label, x, kind, self.cal[out], &out_name)?
            }
        };
        self.set(out, y);
        Ok(())
    }

    /// `clamp(alpha x + beta, 0, 1)`: a constant product and shift (exact at the product's
    /// scale), rescaled, then an exact clamp table.
    fn hard_sigmoid(
        &mut self,
        n: usize,
        a: ValueId,
        alpha: f32,
        beta: f32,
    ) -> Result<Low, ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let x = self.narrow(a)?;
        let s = self.cal[out];
        let cap = self.weight_cap(x.scale, s);
        let (q, sw) = self.quant_weight(n, &[alpha as f64], cap)?;
        let k = self.int_const(format!("{label}/alpha"), vec![], q, sw);
        let ax = self.binary(&format!("{label}/scale"), IrOp::Mul, x, k, &out_name)?;
        let b = self.quant_at(n, &[beta as f64], ax.scale)?;
        let bc = self.int_const(format!("{label}/beta"), vec![], b, ax.scale);
        let lin = self.binary(&format!("{label}/shift"), IrOp::Add, ax, bc, &out_name)?;
        // The affine part may exceed [0, 1]; size its scale by the calibration run.
        let max = self.float_vals(a).map(|v| {
            v.iter()
                .fold(1f64, |m, &x| m.max((alpha as f64 * x + beta as f64).abs()))
        });
        let t = self.internal_scale(n, "alpha x + beta", max, s)?;
        let lin = self.rescale(&format!("{label}/narrow"), lin, t, &out_name)?;
        self.lookup(
            &label,
            lin,
            LookupKind::Clip { lo: 0, hi: 1 << t },
            t,
            &out_name,
        )
    }

    /// Pow with one constant exponent: 1 is the identity, 2 and 3 are products, 0.5, -0.5 and
    /// -1 are the Sqrt, Rsqrt and Reciprocal tables, anything else a Pow table.
    pub(crate) fn pow(&mut self, n: usize) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let e = super::infer_nn::pow_exponent(&self.operands(n))
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

    /// Clip: an exact clamp table at the input's scale.
    pub(crate) fn clip(
        &mut self,
        n: usize,
        min: Option<f32>,
        max: Option<f32>,
    ) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let bound = |l: &Self, attr: Option<f32>, i: usize| -> Result<Option<f64>, ModelError> {
            if let Some(v) = attr {
                return Ok(Some(v as f64));
            }
            match l.m.graph.nodes[n].inputs.get(i).copied().flatten() {
                None => Ok(None),
                Some(_) => Ok(l.constant(n, i)?.to_f32().first().map(|&v| v as f64)),
            }
        };
        let lo = bound(self, min, 1)?;
        let hi = bound(self, max, 2)?;
        let x = self.narrow(a)?;
        let q = |v: Option<f64>, default: i64| {
            v.map_or(default, |v| {
                (v * pow2(x.scale))
                    .round()
                    .clamp(omron_ir::ACT_MIN as f64, omron_ir::ACT_MAX as f64)
                    as i64
            })
        };
        let lo_q = q(lo, omron_ir::ACT_MIN);
        // ONNX applies max(x, lo) first, then min(., hi): hi wins when lo > hi.
        let hi_q = q(hi, omron_ir::ACT_MAX);
        let (lo_q, hi_q) = if lo_q > hi_q {
            (hi_q, hi_q)
        } else {
            (lo_q, hi_q)
        };
        let y = self.lookup(
            &label,
            x,
            LookupKind::Clip { lo: lo_q, hi: hi_q },
            x.scale,
            &out_name,
        )?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_parameters_are_exact_or_refused() {
        assert_eq!(milli(0.01), Some(10));
        assert_eq!(milli(1.0), Some(1000));
        assert_eq!(milli(1.0 / 6.0), None);
        assert_eq!(rational(1.5), Some((3, 2)));
        assert_eq!(rational(1.0 / 3.0), Some((1, 3)));
        assert_eq!(rational(-2.5), Some((-5, 2)));
    }
}
