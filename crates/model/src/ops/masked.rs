//! Masked softmax: `Softmax(Where(mask, x, fill))` or `Softmax(x + mask)` where the fill (or
//! the masked entries of an additive mask) are constants far below any activation (a causal
//! mask written with `-inf`, `-1e9` or `finfo(float32).min`). Such a fill cannot be quantised,
//! and need not be: every masked entry contributes `exp(fill - max) = 0` to its row. The
//! pattern lowers as one: the kept entries of `x`, the masked ones replaced by the constant
//! `-COMPARE_CLAMP` at a scale chosen so that it still lies at least [`MASKED_GAP`] below
//! every kept entry (so its exponential rounds to 0 at the softmax's exponential scale), then
//! the softmax of that. The masked value itself is never materialised, so calibration skips it.

use omron_ir::Op as IrOp;

use super::arith::Arith;
use super::logic::Boolean;
use super::softmax::Softmax;
use crate::error::ModelError;
use crate::facts::NodeStatus;
use crate::graph::ValueId;
use crate::op::scale::COMPARE_CLAMP;
use crate::op::{Fused, Loaded, Lowerer, OnnxOp, OpRef, downcast};
use crate::tensor::Tensor;

/// A constant at or below `-MASK_FLOOR` masks its entry out (`-1e4` and beyond: far outside
/// what a 16-bit fixed-point activation can hold at any useful scale).
const MASK_FLOOR: f64 = 1e4;

/// How far below every kept entry a masked entry stays, in real units: `exp(-24) 2^16 < 3e-6`,
/// so a masked entry's exponential is 0 at the softmax's exponential scale.
const MASKED_GAP: f64 = 24.0;

/// A masked softmax found in the graph.
#[derive(Clone, Debug)]
pub(crate) struct MaskedSoftmax {
    /// The node computing the masked value (absorbed).
    pub(crate) mask_node: usize,
    /// The masked value (never lowered).
    pub(crate) masked: ValueId,
    /// The computed operand.
    x: ValueId,
    /// Which entries of `x` are kept, 0/1, and the shape of that tensor (broadcast to `x`).
    keep: Vec<i64>,
    keep_shape: Vec<usize>,
    /// The Softmax node.
    softmax: usize,
}

fn op_as<T: OnnxOp>(op: &Result<OpRef, String>) -> Option<&T> {
    op.as_ref().ok().and_then(|o| downcast::<T>(o.as_ref()))
}

/// Every masked softmax of `m`, in node order.
pub(crate) fn masked_softmaxes(m: Loaded<'_>) -> Vec<MaskedSoftmax> {
    let g = m.graph;
    let a = m.analysis;
    let runtime_ok = |n: usize| matches!(a.status[n], NodeStatus::Runtime { quant: Ok(()) });
    let constant = |v: Option<ValueId>| v.and_then(|v| a.values[v].constant.as_ref());
    let computed = |v: Option<ValueId>| v.filter(|&v| a.values[v].constant.is_none());
    let is_fill = |t: &Tensor| {
        let f = t.to_f32();
        !f.is_empty() && f.iter().all(|&x| f64::from(x) <= -MASK_FLOOR)
    };
    let mut found = Vec::new();
    for (n, node) in g.nodes.iter().enumerate() {
        if !runtime_ok(n) {
            continue;
        }
        let Some(Some(masked)) = node.outputs.first().copied() else {
            continue;
        };
        if g.outputs.contains(&masked) || a.consumers[masked].len() != 1 {
            continue;
        }
        let softmax = a.consumers[masked][0];
        let is_softmax = matches!(
            op_as::<Softmax>(&g.nodes[softmax].op),
            Some(Softmax::Softmax { log: false, .. })
        );
        if !is_softmax || !runtime_ok(softmax) {
            continue;
        }
        let input = |i: usize| node.inputs.get(i).copied().flatten();
        // (x, keep as 0/1 floats, keep's shape)
        let pattern: Option<(ValueId, Vec<i64>, Vec<usize>)> =
            if matches!(op_as::<Boolean>(&node.op), Some(Boolean::Where)) {
                (|| {
                    let cond = constant(input(0))?;
                    let (x, keep_if) = match (computed(input(1)), computed(input(2))) {
                        (Some(x), None) if is_fill(constant(input(2))?) => (x, true),
                        (None, Some(x)) if is_fill(constant(input(1))?) => (x, false),
                        _ => return None,
                    };
                    let keep = cond
                        .to_f32()
                        .iter()
                        .map(|&c| i64::from((c != 0.0) == keep_if))
                        .collect();
                    Some((x, keep, cond.shape.clone()))
                })()
            } else if matches!(op_as::<Arith>(&node.op), Some(Arith::Add)) {
                (|| {
                    let (x, mask) = match (computed(input(0)), computed(input(1))) {
                        (Some(x), None) => (x, constant(input(1))?),
                        (None, Some(x)) => (x, constant(input(0))?),
                        _ => return None,
                    };
                    let f = mask.to_f32();
                    // Only a pure mask: entries 0 (kept) or far below (masked), some masked.
                    let pure = f.iter().all(|&v| v == 0.0 || f64::from(v) <= -MASK_FLOOR);
                    let any = f.iter().any(|&v| v != 0.0);
                    (pure && any).then(|| {
                        let keep = f.iter().map(|&v| i64::from(v == 0.0)).collect();
                        (x, keep, mask.shape.clone())
                    })
                })()
            } else {
                None
            };
        let Some((x, keep, keep_shape)) = pattern else {
            continue;
        };
        // The masked value must have x's shape (the mask broadcasts into x, not beyond).
        if a.values[x].shape != a.values[masked].shape
            || keep_shape.len() > a.values[x].shape.as_ref().map_or(0, Vec::len)
        {
            continue;
        }
        found.push(MaskedSoftmax {
            mask_node: n,
            masked,
            x,
            keep,
            keep_shape,
            softmax,
        });
    }
    found
}

/// The fusion: absorbs each mask node into its softmax.
pub(crate) fn masked_softmax(l: &mut Lowerer<'_>) {
    for p in masked_softmaxes(l.m) {
        l.absorbed[p.mask_node] = true;
        let s = p.softmax;
        l.fused.insert(s, Box::new(p));
    }
}

impl Fused for MaskedSoftmax {
    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        let label = l.label(self.mask_node);
        let name = l.m.value_name(self.masked).to_string();
        let xq = l.narrow(self.x)?;
        // The largest scale s at which kept entries (up to the calibrated maximum, with the
        // margin) and the gap both fit below COMPARE_CLAMP: 2^s (max |x| margin + gap) <= 2^14.
        let reach = l
            .float_vals(self.x)
            .map(|v| v.iter().fold(0f64, |m, &x| m.max(x.abs())) * l.opts.margin);
        let s = match reach {
            Some(r) => (0..=xq.scale)
                .rev()
                .find(|&s| (r + MASKED_GAP) * f64::from(1u32 << s) <= COMPARE_CLAMP as f64)
                .ok_or_else(|| {
                    l.err(
                        self.mask_node,
                        format!("masked scores reach {r}: no scale leaves room for the mask"),
                    )
                })?,
            None => xq.scale.min(8),
        };
        let xs = l.rescale(&format!("{label}/scale"), xq, s, &name)?;
        let keep = l.int_const(
            format!("{label}/keep"),
            self.keep_shape.clone(),
            self.keep.clone(),
            0,
        );
        let fill: Vec<i64> = self.keep.iter().map(|&k| (k - 1) * COMPARE_CLAMP).collect();
        let fill = l.int_const(format!("{label}/fill"), self.keep_shape.clone(), fill, s);
        let kept = l.binary(&format!("{label}/kept"), IrOp::Mul, xs, keep, &name)?;
        let masked = l.binary(&label, IrOp::Add, kept, fill, &name)?;
        let Some(Softmax::Softmax { axis, legacy, log }) =
            op_as::<Softmax>(&l.m.graph.nodes[n].op).cloned()
        else {
            return Err(l.err(n, "not a Softmax"));
        };
        l.softmax_of(n, masked, axis, legacy, log)
    }
}
