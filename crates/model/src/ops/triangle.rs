//! `Trilu`: the upper (or lower) triangle of the last two dimensions, the rest zero (how some
//! exports build a causal mask). On constants it folds at load time; on a computed tensor it
//! lowers to a product with a constant 0/1 mask (exact: no rounding).

use std::sync::Arc;

use omron_ir::Op as IrOp;

use crate::error::ModelError;
use crate::kernel::input;
use crate::op::{Lowerer, OnnxOp, OpRef, Parse};
use crate::shape::{Issue, Operand, OutInfo, const_ints_at, invalid, need, out};
use crate::tensor::{Data, Tensor};

/// The ONNX op types this family parses.
pub(crate) const OP_TYPES: &[&str] = &["Trilu"];

/// `Trilu`: keeps `j - i >= k` (upper) or `j - i <= k` (lower) of each `[.., i, j]`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Trilu {
    upper: bool,
}

/// Parses a `Trilu` node.
pub(crate) fn parse(p: &Parse<'_>) -> Result<OpRef, String> {
    p.attrs.only(&["upper"])?;
    Ok(Arc::new(Trilu {
        upper: p.attrs.int("upper")?.unwrap_or(1) != 0,
    }))
}

impl Trilu {
    /// Whether entry `(i, j)` of the last two dimensions is kept for diagonal offset `k`.
    fn keeps(&self, i: usize, j: usize, k: i64) -> bool {
        let d = j as i64 - i as i64;
        if self.upper { d >= k } else { d <= k }
    }

    /// The 0/1 mask `[rows, cols]` of kept entries.
    fn mask(&self, rows: usize, cols: usize, k: i64) -> Vec<i64> {
        (0..rows * cols)
            .map(|e| i64::from(self.keeps(e / cols, e % cols, k)))
            .collect()
    }
}

/// The diagonal offset `k` (input 1, a constant scalar; 0 when absent).
fn offset(ins: &[Option<Operand<'_>>]) -> Result<i64, Issue> {
    match const_ints_at(ins, 1, "the Trilu offset k")? {
        None => Ok(0),
        Some(k) if k.len() == 1 => Ok(k[0]),
        Some(_) => invalid("the Trilu offset k must be a scalar"),
    }
}

impl OnnxOp for Trilu {
    fn infer(&self, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue> {
        let x = need(ins, 0)?;
        if x.shape.len() < 2 {
            return invalid("Trilu needs an input of rank >= 2");
        }
        offset(ins)?;
        out(x.shape.to_vec(), x.dtype)
    }

    fn eval(&self, ins: &[Option<&Tensor>], infos: &[OutInfo]) -> Result<Vec<Tensor>, Issue> {
        let x = input(ins, 0)?;
        let operands: Vec<Option<Operand<'_>>> = ins.iter().map(|t| t.map(Operand::of)).collect();
        let k = offset(&operands)?;
        let r = x.shape.len();
        let (rows, cols) = (x.shape[r - 2], x.shape[r - 1]);
        let mask = self.mask(rows, cols, k);
        let keep = |e: usize| mask[e % (rows * cols)] != 0;
        let data = match &x.data {
            Data::F32(v) => Data::F32(
                v.iter()
                    .enumerate()
                    .map(|(e, &x)| if keep(e) { x } else { 0.0 })
                    .collect(),
            ),
            Data::I64(v) => Data::I64(
                v.iter()
                    .enumerate()
                    .map(|(e, &x)| if keep(e) { x } else { 0 })
                    .collect(),
            ),
        };
        Ok(vec![Tensor {
            shape: infos[0].shape.clone(),
            data,
        }])
    }

    fn quant_check(&self, ins: &[Option<Operand<'_>>]) -> Result<(), String> {
        offset(ins).map(|_| ()).map_err(|e| match e {
            Issue::Invalid(d) | Issue::Unsupported(d) => d,
        })
    }

    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        let (label, out, out_name) = l.names(n)?;
        let a = l.act(n, 0)?;
        let k = offset(&l.operands(n)).map_err(|e| l.issue(n, e))?;
        let shape = l.shape(a).to_vec();
        let r = shape.len();
        let (rows, cols) = (shape[r - 2], shape[r - 1]);
        let x = l.carry(a, out)?;
        let mask = l.int_const(
            format!("{label}/mask"),
            vec![rows, cols],
            self.mask(rows, cols, k),
            0,
        );
        let y = l.binary(&label, IrOp::Mul, x, mask, &out_name)?;
        l.set(out, y);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::run;

    #[test]
    fn keeps_the_triangle_of_the_last_two_dimensions() {
        let x = Tensor::f32(vec![2, 2, 3], (1..=12).map(|v| v as f32).collect());
        let upper = run(&Trilu { upper: true }, &[Some(&x)]).unwrap().remove(0);
        assert_eq!(
            upper.as_f32().unwrap(),
            &[1.0, 2.0, 3.0, 0.0, 5.0, 6.0, 7.0, 8.0, 9.0, 0.0, 11.0, 12.0]
        );
        // Lower with k = -1: strictly below the diagonal; integer tensors keep their type.
        let k = Tensor::i64(vec![], vec![-1]);
        let ones = Tensor::i64(vec![3, 3], vec![1; 9]);
        let lower = run(&Trilu { upper: false }, &[Some(&ones), Some(&k)])
            .unwrap()
            .remove(0);
        assert_eq!(lower.as_i64().unwrap(), &[0, 0, 0, 1, 0, 0, 1, 1, 0]);
        let v = Tensor::f32(vec![3], vec![1.0; 3]);
        assert!(run(&Trilu { upper: true }, &[Some(&v)]).is_err());
    }
}
