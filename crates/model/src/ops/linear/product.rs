//! `MatMul` of two computed tensors (attention's `Q K^T` and `P V`): the IR's `BatchMatMul`,
//! both factors narrowed into the activation range and lowered further if their product's
//! scale would need a rescale beyond `max_shift`. The result stays wide (exact) until a
//! consumer needs it bounded, like the product of a constant-weight layer.

use crate::error::ModelError;
use crate::op::{Arg, Lowerer};

/// Why a `MatMul` of two computed tensors of these shapes does not lower, or `None` when it
/// does: both of rank >= 2 and the batch dimensions broadcastable (numpy rules, after padding
/// the shorter shape with leading ones).
pub(crate) fn batch_matmul_issue(a: &[usize], b: &[usize]) -> Option<String> {
    if a.len() < 2 || b.len() < 2 {
        return Some(format!(
            "MatMul of two computed tensors needs both of rank >= 2 (got {a:?} and {b:?})"
        ));
    }
    let r = a.len().max(b.len());
    if batch_shape(&padded(a, r), &padded(b, r)).is_none() {
        return Some(format!(
            "MatMul of two computed tensors with batch dimensions that do not broadcast \
             ({a:?} x {b:?})"
        ));
    }
    None
}

/// The common batch shape of two padded operand shapes, if their batch dimensions broadcast.
fn batch_shape(pa: &[usize], pb: &[usize]) -> Option<Vec<usize>> {
    let r = pa.len();
    omron_ir::broadcast_shape(&pa[..r - 2], &pb[..r - 2])
}

/// `s` with leading ones up to rank `r`.
fn padded(s: &[usize], r: usize) -> Vec<usize> {
    let mut p = vec![1; r - s.len()];
    p.extend_from_slice(s);
    p
}

impl Lowerer<'_> {
    /// `y = a b` of two computed tensors, as an IR `BatchMatMul`.
    pub(crate) fn batch_matmul(&mut self, n: usize) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let (a, b) = (self.act(n, 0)?, self.act(n, 1)?);
        let (sa, sb) = (self.shape(a).to_vec(), self.shape(b).to_vec());
        if let Some(why) = batch_matmul_issue(&sa, &sb) {
            return Err(self.err(n, why));
        }
        let r = sa.len().max(sb.len());
        let (pa, pb) = (padded(&sa, r), padded(&sb, r));
        let batch = batch_shape(&pa, &pb).unwrap_or_default();
        let (xa, xb) = self.product_operands(&label, a, b, out)?;
        let xa = self.reshape(&format!("{label}/a"), xa, pa.clone(), &out_name)?;
        let xb = self.reshape(&format!("{label}/b"), xb, pb.clone(), &out_name)?;
        let xa = self.broadcast_batch(&format!("{label}/a"), xa, &pa, &batch, &out_name)?;
        let xb = self.broadcast_batch(&format!("{label}/b"), xb, &pb, &batch, &out_name)?;
        let y = self.push(
            label.clone(),
            omron_ir::Op::BatchMatMul,
            vec![xa.id, xb.id],
            out_name.clone(),
        )?;
        let y = self.reshape(
            &format!("{label}/out"),
            y,
            self.shape(out).to_vec(),
            &out_name,
        )?;
        self.set(out, y);
        Ok(())
    }
}

impl<'a> Lowerer<'a> {
    /// `x` (shape `padded`) repeated along the batch dimensions where it has 1 and `batch`
    /// more: a product with a constant ones tensor of shape `[batch.., 1, 1]` (exact, and linear
    /// in `x`, so it costs the proof nothing but a claim); `x` itself when nothing repeats.
    fn broadcast_batch(
        &mut self,
        label: &str,
        x: crate::op::Low,
        padded: &[usize],
        batch: &[usize],
        out_name: &str,
    ) -> Result<crate::op::Low, ModelError> {
        let r = padded.len();
        if padded[..r - 2] == *batch {
            return Ok(x);
        }
        let mut shape = batch.to_vec();
        shape.extend([1, 1]);
        let count = shape.iter().product();
        let ones = self.int_const(format!("{label}/batch"), shape, vec![1; count], 0);
        self.binary(
            &format!("{label}/broadcast"),
            omron_ir::Op::Mul,
            x,
            ones,
            out_name,
        )
    }

    /// `Gemm` of two computed 2-D tensors: `A' B'` (the transposes as IR transposes of the
    /// narrowed operands) as a `BatchMatMul`, then `beta * C`. `alpha` must be 1: a scaled
    /// product of two activations would need its own rescale, and exporters write one
    /// (`Mul` or `Div`) when they want it.
    pub(crate) fn gemm_product(
        &mut self,
        n: usize,
        alpha: f32,
        beta: f32,
        trans_a: bool,
        trans_b: bool,
    ) -> Result<(), ModelError> {
        let post = match self.m.graph.nodes[n].inputs.get(2).copied().flatten() {
            Some(_) => Some(self.arg(n, 2)?),
            None => None,
        };
        let computed_c = matches!(post, Some(Arg::Act(_)));
        if let Some(why) = gemm_product_issue(alpha, beta, computed_c) {
            return Err(self.err(n, why));
        }
        let (label, out, out_name) = self.names(n)?;
        let (a, b) = (self.act(n, 0)?, self.act(n, 1)?);
        let (xa, xb) = self.product_operands(&label, a, b, out)?;
        let order = |flip: bool| if flip { vec![1, 0] } else { vec![0, 1] };
        let xa = self.permute(&format!("{label}/A"), xa, order(trans_a), &out_name)?;
        let xb = self.permute(&format!("{label}/B"), xb, order(trans_b), &out_name)?;
        let y = self.push(
            label.clone(),
            omron_ir::Op::BatchMatMul,
            vec![xa.id, xb.id],
            out_name.clone(),
        )?;
        let y = self.gemm_add_c(n, y, out, beta, post)?;
        self.set(out, y);
        Ok(())
    }
}

/// Why a `Gemm` of two computed tensors with these attributes does not lower, or `None`.
pub(crate) fn gemm_product_issue(alpha: f32, beta: f32, computed_c: bool) -> Option<String> {
    if alpha != 1.0 {
        return Some(format!(
            "Gemm of two computed tensors with alpha = {alpha} is not supported (only 1)"
        ));
    }
    if computed_c && beta != 1.0 {
        return Some("Gemm with a computed C and beta != 1 is not supported".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_products_need_rank_two_and_equal_batches() {
        // Attention: [1, H, T, d] x [1, H, d, T], and plain 2-D products.
        assert_eq!(batch_matmul_issue(&[1, 4, 64, 16], &[1, 4, 16, 64]), None);
        assert_eq!(batch_matmul_issue(&[3, 5], &[5, 2]), None);
        // A shorter operand is padded with leading ones: [4, 5] is [1, 4, 5].
        assert_eq!(batch_matmul_issue(&[1, 3, 4], &[4, 5]), None);
        assert_eq!(padded(&[4, 5], 3), vec![1, 4, 5]);
        // Batches broadcast as numpy's do; vectors and batches that do not broadcast are
        // refused with a reason.
        assert_eq!(batch_matmul_issue(&[2, 3, 4], &[4, 5]), None);
        assert_eq!(batch_matmul_issue(&[2, 1, 3, 4], &[5, 4, 6]), None);
        assert_eq!(batch_shape(&[2, 1, 3, 4], &[1, 5, 4, 6]), Some(vec![2, 5]));
        assert!(batch_matmul_issue(&[4], &[4, 5]).is_some_and(|e| e.contains("rank")));
        assert!(batch_matmul_issue(&[2, 3, 4], &[3, 4, 5]).is_some_and(|e| e.contains("batch")));
    }
}
