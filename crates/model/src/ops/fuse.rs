//! Fusions: patterns of nodes across op families that lower better as one, found before
//! lowering. Each marks the inner nodes absorbed and lowers the pattern at its last node.
//!
//! * `a / sqrt(v)` and `1 / sqrt(v)` (the decomposed LayerNormalization of older exporters):
//!   one `Rsqrt` table instead of a square root and a division.
//! * `0.5 * x * (1 + erf(x / sqrt(2)))` (PyTorch's exact GELU): one `Gelu` table.

use omron_ir::LookupKind;

use super::activation::{Activation, Unary};
use super::arith::Arith;
use crate::error::ModelError;
use crate::facts::NodeStatus;
use crate::graph::{Source, ValueId};
use crate::op::{Arg, Fused, Low, Lowerer, OnnxOp, OpRef, downcast};

/// The op of a node as family type `T`, when it parsed and is one.
fn op_as<T: OnnxOp>(op: &Result<OpRef, String>) -> Option<&T> {
    op.as_ref().ok().and_then(|o| downcast::<T>(o.as_ref()))
}

/// Marks `Sqrt` nodes whose only consumer divides by them (`a / sqrt(v)`, or
/// `Reciprocal(sqrt(v))`): the pair lowers to one `Rsqrt` lookup, which is both cheaper and
/// more precise than a square root followed by a division (the decomposed
/// LayerNormalization of older exporters).
pub(crate) fn rsqrt(l: &mut Lowerer<'_>) {
    let m = l.m;
    let g = &m.graph;
    for (n, node) in g.nodes.iter().enumerate() {
        if !matches!(
            op_as::<Activation>(&node.op),
            Some(Activation::Unary(Unary::Sqrt))
        ) || !matches!(m.analysis.status[n], NodeStatus::Runtime { quant: Ok(()) })
        {
            continue;
        }
        let (Some(Some(s)), Some(Some(v))) = (node.outputs.first(), node.inputs.first()) else {
            continue;
        };
        if g.outputs.contains(s) || m.analysis.consumers[*s].len() != 1 {
            continue;
        }
        let c = m.analysis.consumers[*s][0];
        let user = &g.nodes[c];
        let fused: Option<Box<dyn Fused>> = match op_as::<Arith>(&user.op) {
            Some(Arith::Div) => (user.inputs.get(1) == Some(&Some(*s))
                && user.inputs.first() != Some(&Some(*s)))
            .then(|| Box::new(DivBySqrt { v: *v }) as Box<dyn Fused>),
            _ => match op_as::<Activation>(&user.op) {
                Some(Activation::Unary(Unary::Reciprocal)) => Some(Box::new(RsqrtOf { v: *v })),
                _ => None,
            },
        };
        if let Some(f) = fused
            && matches!(m.analysis.status[c], NodeStatus::Runtime { quant: Ok(()) })
        {
            l.absorbed[n] = true;
            l.fused.insert(c, f);
        }
    }
}

/// Finds `0.5 * x * (1 + erf(x / sqrt(2)))` (PyTorch's exact GELU: Div or Mul by the
/// constant, Erf, Add 1, Mul by x, Mul by 0.5, operands in either order) whose inner values
/// are used only by the chain, and folds it into one `Gelu` table at its last node.
pub(crate) fn gelu(l: &mut Lowerer<'_>) {
    let m = l.m;
    let g = &m.graph;
    let runtime_ok =
        |n: usize| matches!(m.analysis.status[n], NodeStatus::Runtime { quant: Ok(()) });
    // The only consumer of value `v` (not a graph output), if any.
    let sole = |v: ValueId| -> Option<usize> {
        (!g.outputs.contains(&v) && m.analysis.consumers[v].len() == 1)
            .then(|| m.analysis.consumers[v][0])
            .filter(|&c| runtime_ok(c))
    };
    let scalar = |v: Option<ValueId>| -> Option<f64> {
        let t = m.analysis.values[v?].constant.as_ref()?;
        let f = t.to_f32();
        (f.len() == 1).then(|| f[0] as f64)
    };
    let out0 = |n: usize| g.nodes[n].outputs.first().copied().flatten();
    // The operand of binary node `n` that is not `v`, and whether `v` is the first.
    let other = |n: usize, v: ValueId| -> Option<(Option<ValueId>, bool)> {
        let ins = &g.nodes[n].inputs;
        match (
            ins.first().copied().flatten(),
            ins.get(1).copied().flatten(),
        ) {
            (Some(a), b) if a == v && b != Some(v) => Some((b, true)),
            (a, Some(b)) if b == v && a != Some(v) => Some((a, false)),
            _ => None,
        }
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs();
    for (n_erf, node) in g.nodes.iter().enumerate() {
        if !matches!(
            op_as::<Activation>(&node.op),
            Some(Activation::Unary(Unary::Erf))
        ) || !runtime_ok(n_erf)
        {
            continue;
        }
        let chain = (|| {
            let t1 = node.inputs.first().copied().flatten()?;
            let n_scale = match g.values[t1].source {
                Source::Node(p) if runtime_ok(p) && sole(t1) == Some(n_erf) => p,
                _ => return None,
            };
            let x = g.nodes[n_scale].inputs.first().copied().flatten()?;
            let k = scalar(g.nodes[n_scale].inputs.get(1).copied().flatten())?;
            let ok = match op_as::<Arith>(&g.nodes[n_scale].op) {
                Some(Arith::Div) => close(k, std::f64::consts::SQRT_2),
                Some(Arith::Mul) => close(k, std::f64::consts::FRAC_1_SQRT_2),
                _ => false,
            };
            if !ok || m.analysis.values[x].constant.is_some() {
                return None;
            }
            let t2 = out0(n_erf)?;
            let n_add = sole(t2)?;
            let (one, _) = other(n_add, t2)?;
            if !matches!(op_as::<Arith>(&g.nodes[n_add].op), Some(Arith::Add))
                || scalar(one) != Some(1.0)
            {
                return None;
            }
            let t3 = out0(n_add)?;
            let n_mul = sole(t3)?;
            let (xv, _) = other(n_mul, t3)?;
            if !matches!(op_as::<Arith>(&g.nodes[n_mul].op), Some(Arith::Mul)) || xv != Some(x) {
                return None;
            }
            let t4 = out0(n_mul)?;
            let n_half = sole(t4)?;
            let (half, _) = other(n_half, t4)?;
            if !matches!(op_as::<Arith>(&g.nodes[n_half].op), Some(Arith::Mul))
                || scalar(half) != Some(0.5)
            {
                return None;
            }
            Some((x, [n_scale, n_erf, n_add, n_mul], n_half))
        })();
        if let Some((x, inner, last)) = chain {
            for i in inner {
                l.absorbed[i] = true;
            }
            l.fused.insert(last, Box::new(GeluOf { x }));
        }
    }
}

/// `a / sqrt(v)`: `a` times one `Rsqrt` table of `v`.
struct DivBySqrt {
    v: ValueId,
}

impl Fused for DivBySqrt {
    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        let (label, out, out_name) = l.names(n)?;
        let v = self.v;
        // a / sqrt(v) = a * rsqrt(v)
        let r = l.rsqrt(n, &label, v, out)?;
        let y = match l.arg(n, 0)? {
            Arg::Act(a) => {
                let xa = l.narrow(a)?;
                l.product(&label, xa, r, l.cal[out], &out_name)?
            }
            Arg::Const(c) => l.mul_const(n, &label, r, c, false, out)?,
        };
        l.set(out, y);
        Ok(())
    }
}

/// `1 / sqrt(v)`: one `Rsqrt` table of `v`.
struct RsqrtOf {
    v: ValueId,
}

impl Fused for RsqrtOf {
    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        let (label, out, out_name) = l.names(n)?;
        l.act(n, 0)?;
        let x = l.narrow(self.v)?;
        let y = l.lookup(&label, x, LookupKind::Rsqrt, l.cal[out], &out_name)?;
        l.set(out, y);
        Ok(())
    }
}

/// The erf-form GELU chain: one table from `x`.
struct GeluOf {
    x: ValueId,
}

impl Fused for GeluOf {
    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        let (label, out, out_name) = l.names(n)?;
        let xq = l.narrow(self.x)?;
        let y = l.lookup(&label, xq, LookupKind::Gelu, l.cal[out], &out_name)?;
        l.set(out, y);
        Ok(())
    }
}

impl Lowerer<'_> {
    /// `1 / sqrt(v)` through one lookup, at a scale sized by the calibration run.
    fn rsqrt(
        &mut self,
        n: usize,
        label: &str,
        v: ValueId,
        out: ValueId,
    ) -> Result<Low, ModelError> {
        let x = self.narrow(v)?;
        let max = self
            .float_vals(v)
            .map(|f| f.iter().fold(0f64, |m, &x| m.max(1.0 / x.max(0.0).sqrt())));
        let s = self.internal_scale(n, "1 / sqrt(x)", max, self.opts.max_scale)?;
        let name = format!("{}/rsqrt", self.m.value_name(out));
        self.lookup(&format!("{label}/rsqrt"), x, LookupKind::Rsqrt, s, &name)
    }
}
