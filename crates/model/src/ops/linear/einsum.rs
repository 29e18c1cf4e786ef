//! `Einsum` of two computed tensors, the batched products some attention exports write as
//! equations (`bhqd,bhkd->bhqk`, `bhqk,bhkd->bhqd`). Every label is a batch label (in both
//! operands and the output), a contraction label (in both operands only) or a free label of
//! one operand (in it and the output); the operands are transposed to `[batch, free, contracted]`
//! and `[batch, contracted, free]`, flattened to three dimensions, multiplied as one IR
//! `BatchMatMul`, and the result unflattened and transposed to the output's order.
//! Ellipses, repeated labels within an operand (traces, diagonals), labels summed out of a
//! single operand, more or fewer than two operands and constant operands are refused with the
//! reason.

use std::sync::Arc;

use omron_ir::Op as IrOp;

use crate::error::ModelError;
use crate::kernel::{float_input, strides};
use crate::op::{Lowerer, OpRef, Parse};
use crate::shape::{Issue, Operand, OutInfo, invalid, is_const, need, need_float, out};
use crate::tensor::{DType, Tensor};

/// A parsed two-operand equation: the labels of each operand and of the output.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Equation {
    a: Vec<char>,
    b: Vec<char>,
    out: Vec<char>,
}

/// Parses `Einsum`'s `equation` attribute.
pub(crate) fn parse(p: &Parse<'_>) -> Result<OpRef, String> {
    p.attrs.only(&["equation"])?;
    let text = p
        .attrs
        .string("equation")?
        .ok_or("Einsum needs an equation")?;
    Ok(Arc::new(super::LinearOp::Einsum(Equation::parse(&text)?)))
}

impl Equation {
    /// Parses `a,b->out` (or `a,b`, the output then being the labels used once, sorted, as
    /// ONNX specifies).
    pub(crate) fn parse(text: &str) -> Result<Equation, String> {
        let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if text.contains("...") {
            return Err(format!("Einsum '{text}': ellipses are not supported"));
        }
        let (lhs, rhs) = match text.split_once("->") {
            Some((l, r)) => (l, Some(r)),
            None => (text.as_str(), None),
        };
        let operands: Vec<&str> = lhs.split(',').collect();
        if operands.len() != 2 {
            return Err(format!(
                "Einsum '{text}' has {} operands; only products of two are supported",
                operands.len()
            ));
        }
        let labels = |s: &str| -> Result<Vec<char>, String> {
            let v: Vec<char> = s.chars().collect();
            if let Some(c) = v.iter().find(|c| !c.is_ascii_alphabetic()) {
                return Err(format!("Einsum '{text}': '{c}' is not a label"));
            }
            for (i, c) in v.iter().enumerate() {
                if v[i + 1..].contains(c) {
                    return Err(format!(
                        "Einsum '{text}': label '{c}' repeats within one term (traces and \
                         diagonals are not supported)"
                    ));
                }
            }
            Ok(v)
        };
        let (a, b) = (labels(operands[0])?, labels(operands[1])?);
        let out = match rhs {
            Some(r) => labels(r)?,
            None => {
                let mut once: Vec<char> = a
                    .iter()
                    .chain(&b)
                    .copied()
                    .filter(|c| a.contains(c) != b.contains(c))
                    .collect();
                once.sort_unstable();
                once
            }
        };
        for c in &out {
            if !a.contains(c) && !b.contains(c) {
                return Err(format!(
                    "Einsum '{text}': output label '{c}' is in no operand"
                ));
            }
        }
        for c in a.iter().chain(&b) {
            if !(out.contains(c) || a.contains(c) && b.contains(c)) {
                return Err(format!(
                    "Einsum '{text}': label '{c}' is summed out of one operand alone \
                     (not supported; reduce it first)"
                ));
            }
        }
        Ok(Equation { a, b, out })
    }

    /// Labels of each role, in the order the product uses: batch (output order), the free
    /// labels of `a` and of `b` (output order), contracted (`a`'s order).
    fn roles(&self) -> [Vec<char>; 4] {
        let in_both = |c: &char| self.a.contains(c) && self.b.contains(c);
        let batch = self.out.iter().copied().filter(in_both).collect();
        let free_a = self
            .out
            .iter()
            .copied()
            .filter(|c| self.a.contains(c) && !self.b.contains(c))
            .collect();
        let free_b = self
            .out
            .iter()
            .copied()
            .filter(|c| self.b.contains(c) && !self.a.contains(c))
            .collect();
        let contracted = self
            .a
            .iter()
            .copied()
            .filter(|c| in_both(c) && !self.out.contains(c))
            .collect();
        [batch, free_a, free_b, contracted]
    }

    /// The size of every label, checking that the operands agree.
    fn sizes(&self, a: &[usize], b: &[usize]) -> Result<Vec<(char, usize)>, Issue> {
        if a.len() != self.a.len() || b.len() != self.b.len() {
            return invalid(format!(
                "Einsum terms of rank {} and {} for operands {a:?} and {b:?}",
                self.a.len(),
                self.b.len()
            ));
        }
        let mut sizes: Vec<(char, usize)> = self.a.iter().copied().zip(a.iter().copied()).collect();
        for (&c, &d) in self.b.iter().zip(b) {
            match sizes.iter().find(|(l, _)| *l == c) {
                Some(&(_, e)) if e != d => {
                    return invalid(format!(
                        "Einsum label '{c}' is {e} in the first operand and {d} in the second \
                         (broadcasting is not supported)"
                    ));
                }
                Some(_) => {}
                None => sizes.push((c, d)),
            }
        }
        Ok(sizes)
    }

    fn size_of(sizes: &[(char, usize)], c: char) -> usize {
        sizes.iter().find(|(l, _)| *l == c).map_or(1, |&(_, d)| d)
    }

    /// The output shape.
    pub(crate) fn out_shape(&self, a: &[usize], b: &[usize]) -> Result<Vec<usize>, Issue> {
        let sizes = self.sizes(a, b)?;
        Ok(self
            .out
            .iter()
            .map(|&c| Equation::size_of(&sizes, c))
            .collect())
    }

    /// The float reference: `out[o] = sum_k a[..] b[..]`, accumulated in `f64`.
    fn eval(&self, a: &[f32], sa: &[usize], b: &[f32], sb: &[usize]) -> Result<Vec<f32>, Issue> {
        let sizes = self.sizes(sa, sb)?;
        let [_, _, _, contracted] = self.roles();
        let out_shape: Vec<usize> = self
            .out
            .iter()
            .map(|&c| Equation::size_of(&sizes, c))
            .collect();
        let k_shape: Vec<usize> = contracted
            .iter()
            .map(|&c| Equation::size_of(&sizes, c))
            .collect();
        let (st_a, st_b) = (strides(sa), strides(sb));
        // The stride of each label in an operand (0 when absent).
        let stride = |labels: &[char], st: &[usize], c: char| {
            labels.iter().position(|&l| l == c).map_or(0, |i| st[i])
        };
        let (n_out, n_k) = (
            out_shape.iter().product::<usize>(),
            k_shape.iter().product::<usize>(),
        );
        let mut y = Vec::with_capacity(n_out);
        for o in 0..n_out {
            let (mut base_a, mut base_b, mut rest) = (0, 0, o);
            for (i, &c) in self.out.iter().enumerate().rev() {
                let idx = rest % out_shape[i];
                rest /= out_shape[i];
                base_a += idx * stride(&self.a, &st_a, c);
                base_b += idx * stride(&self.b, &st_b, c);
            }
            let mut acc = 0f64;
            for k in 0..n_k {
                let (mut ia, mut ib, mut rest) = (base_a, base_b, k);
                for (i, &c) in contracted.iter().enumerate().rev() {
                    let idx = rest % k_shape[i];
                    rest /= k_shape[i];
                    ia += idx * stride(&self.a, &st_a, c);
                    ib += idx * stride(&self.b, &st_b, c);
                }
                acc += f64::from(a[ia]) * f64::from(b[ib]);
            }
            y.push(acc as f32);
        }
        Ok(y)
    }
}

/// The permutation taking `labels` to `order`.
fn perm(labels: &[char], order: &[char]) -> Vec<usize> {
    order
        .iter()
        .filter_map(|c| labels.iter().position(|l| l == c))
        .collect()
}

/// Shape rule.
pub(crate) fn infer(eq: &Equation, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue> {
    let (a, b) = (need(ins, 0)?, need(ins, 1)?);
    need_float(a, "Einsum input")?;
    need_float(b, "Einsum input")?;
    out(eq.out_shape(a.shape, b.shape)?, DType::F32)
}

/// Float reference.
pub(crate) fn eval(
    eq: &Equation,
    ins: &[Option<&Tensor>],
    infos: &[OutInfo],
) -> Result<Vec<Tensor>, Issue> {
    let (a, b) = (float_input(ins, 0)?, float_input(ins, 1)?);
    let (sa, sb) = match (
        ins.first().copied().flatten(),
        ins.get(1).copied().flatten(),
    ) {
        (Some(x), Some(y)) => (x.shape.clone(), y.shape.clone()),
        _ => return invalid("Einsum needs two operands"),
    };
    Ok(vec![Tensor::f32(
        infos[0].shape.clone(),
        eq.eval(a, &sa, b, &sb)?,
    )])
}

/// Operand conditions for lowering: two computed operands.
pub(crate) fn quant_check(ins: &[Option<Operand<'_>>]) -> Result<(), String> {
    if is_const(ins, 0) || is_const(ins, 1) {
        return Err("Einsum with a constant operand is not supported (export it as MatMul)".into());
    }
    Ok(())
}

impl Lowerer<'_> {
    /// `Einsum` of two computed tensors as one `BatchMatMul` between transposes and reshapes.
    pub(crate) fn einsum(&mut self, n: usize, eq: &Equation) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let (a, b) = (self.act(n, 0)?, self.act(n, 1)?);
        let (sa, sb) = (self.shape(a).to_vec(), self.shape(b).to_vec());
        let sizes = eq.sizes(&sa, &sb).map_err(|e| self.issue(n, e))?;
        let [batch, free_a, free_b, contracted] = eq.roles();
        let dims = |ls: &[char]| {
            ls.iter()
                .map(|&c| Equation::size_of(&sizes, c))
                .collect::<Vec<_>>()
        };
        let size = |ls: &[char]| dims(ls).iter().product::<usize>();
        let (bt, m, k, nn) = (
            size(&batch),
            size(&free_a),
            size(&contracted),
            size(&free_b),
        );
        let (xa, xb) = self.product_operands(&label, a, b, out)?;
        let order_a: Vec<char> = [&batch[..], &free_a, &contracted].concat();
        let order_b: Vec<char> = [&batch[..], &contracted, &free_b].concat();
        let xa = self.permute(&format!("{label}/a"), xa, perm(&eq.a, &order_a), &out_name)?;
        let xb = self.permute(&format!("{label}/b"), xb, perm(&eq.b, &order_b), &out_name)?;
        let xa = self.reshape(&format!("{label}/a"), xa, vec![bt, m, k], &out_name)?;
        let xb = self.reshape(&format!("{label}/b"), xb, vec![bt, k, nn], &out_name)?;
        let y = self.push(
            label.clone(),
            IrOp::BatchMatMul,
            vec![xa.id, xb.id],
            out_name.clone(),
        )?;
        let product: Vec<char> = [&batch[..], &free_a, &free_b].concat();
        let y = self.reshape(&format!("{label}/out"), y, dims(&product), &out_name)?;
        let y = self.permute(
            &format!("{label}/out"),
            y,
            perm(&product, &eq.out),
            &out_name,
        )?;
        self.set(out, y);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equations_parse_into_roles() {
        let eq = Equation::parse("bhqd,bhkd->bhqk").unwrap();
        assert_eq!(
            eq.roles(),
            [vec!['b', 'h'], vec!['q'], vec!['k'], vec!['d']]
        );
        assert_eq!(
            eq.out_shape(&[1, 2, 3, 4], &[1, 2, 5, 4]).unwrap(),
            vec![1, 2, 3, 5]
        );
        // Implicit output: the labels used once, sorted.
        assert_eq!(Equation::parse("ij,jk").unwrap().out, vec!['i', 'k']);
        for (bad, why) in [
            ("...ij,jk->ik", "ellipses"),
            ("ii,ij->j", "repeats"),
            ("ij,jk,kl->il", "operands"),
            ("ij,jk->i", "summed out of one operand"),
            ("ij,jk->iz", "in no operand"),
        ] {
            let e = Equation::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert!(eq.out_shape(&[1, 2, 3, 4], &[1, 2, 5, 3]).is_err());
    }

    #[test]
    fn the_reference_matches_a_plain_matmul() {
        // ik,kj->ij and its transposed writing ki,jk->ji.
        let a: Vec<f32> = (0..6).map(|v| v as f32).collect(); // [2, 3]
        let b: Vec<f32> = (0..12).map(|v| v as f32 - 4.0).collect(); // [3, 4]
        let eq = Equation::parse("ik,kj->ij").unwrap();
        let y = eq.eval(&a, &[2, 3], &b, &[3, 4]).unwrap();
        let want: Vec<f32> = (0..8)
            .map(|o| (0..3).map(|k| a[(o / 4) * 3 + k] * b[k * 4 + o % 4]).sum())
            .collect();
        assert_eq!(y, want);
        let at: Vec<f32> = (0..6).map(|e| a[(e % 2) * 3 + e / 2]).collect(); // [3, 2]
        let bt: Vec<f32> = (0..12).map(|e| b[(e % 3) * 4 + e / 3]).collect(); // [4, 3]
        let eq_t = Equation::parse("ki,jk->ji").unwrap();
        let yt = eq_t.eval(&at, &[3, 2], &bt, &[4, 3]).unwrap();
        let want_t: Vec<f32> = (0..8).map(|e| want[(e % 2) * 4 + e / 2]).collect();
        assert_eq!(yt, want_t);
    }
}
