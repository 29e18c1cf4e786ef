//! Scale arithmetic of the lowering context: rescaling and alignment to common scales,
//! products whose rescale stays within `max_shift`, lookups, reshapes, slices and max trees.

use omron_ir::{LookupFn, LookupKind, Op as IrOp};

use super::{Arg, Low, Lowerer};
use crate::error::ModelError;
use crate::graph::ValueId;

/// Largest magnitude a constant compared with an activation is clamped to (in units of the
/// comparison's scale): any activation within half the range compares the same way with the
/// clamped constant, and the difference stays inside the activation range.
pub(crate) const COMPARE_CLAMP: i64 = 1 << 14;

impl<'a> Lowerer<'a> {
    /// Adds or subtracts two computed values, first bringing them to a common scale that is
    /// range-safe for whichever operands must be rescaled.
    pub(crate) fn add_acts(
        &mut self,
        label: &str,
        a: (Low, ValueId),
        b: (Low, ValueId),
        op: IrOp,
        out_name: &str,
    ) -> Result<Low, ModelError> {
        let mut t = a.0.scale.min(b.0.scale);
        loop {
            let mut changed = false;
            for (low, v) in [a, b] {
                if low.scale > t && t > self.cal[v] {
                    t = self.cal[v];
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut ids = Vec::with_capacity(2);
        for (i, (low, v)) in [a, b].into_iter().enumerate() {
            ids.push(self.lower_to(&format!("{label}/align{i}"), low, v, t)?.id);
        }
        self.push(label.to_string(), op, ids, out_name.to_string())
    }

    /// Rescales `low` (standing for value `v`) down to scale `t <= cal[v]`. When one step would
    /// shift by more than `max_shift`, it first goes to `cal[v]` (a shift within the bound by
    /// construction), then on to `t`.
    pub(crate) fn lower_to(
        &mut self,
        label: &str,
        mut low: Low,
        v: ValueId,
        t: u32,
    ) -> Result<Low, ModelError> {
        let name = self.m.value_name(v).to_string();
        if low.scale > t + self.opts.max_shift {
            let c = self.cal[v];
            let shift = IrOp::Rescale {
                shift: low.scale - c,
            };
            low = self.push(
                format!("{label}/narrow"),
                shift,
                vec![low.id],
                format!("{name}/q"),
            )?;
        }
        if low.scale > t {
            let shift = IrOp::Rescale {
                shift: low.scale - t,
            };
            low = self.push(
                label.to_string(),
                shift,
                vec![low.id],
                format!("{name}/at{t}"),
            )?;
        }
        Ok(low)
    }

    /// `a`'s IR tensor for an op producing `out` that keeps its scale (layout ops, adding a
    /// constant). It is narrowed first if staying wide would later need a rescale shift above
    /// `max_shift` for `out` (whose range may be larger than `a`'s).
    pub(crate) fn carry(&mut self, a: ValueId, out: ValueId) -> Result<Low, ModelError> {
        let x = self.get(a)?;
        if x.scale > self.cal[out] + self.opts.max_shift {
            self.narrow(a)
        } else {
            Ok(x)
        }
    }

    /// Both factors of an activation product, narrowed, and lowered further if the product's
    /// scale would exceed `cal[out] + max_shift`.
    pub(crate) fn product_operands(
        &mut self,
        label: &str,
        a: ValueId,
        b: ValueId,
        out: ValueId,
    ) -> Result<(Low, Low), ModelError> {
        let (xa, xb) = (self.narrow(a)?, self.narrow(b)?);
        let limit = self.cal[out] + self.opts.max_shift;
        let (mut ta, mut tb) = (xa.scale, xb.scale);
        while ta + tb > limit && ta + tb > 0 {
            if ta >= tb { ta -= 1 } else { tb -= 1 }
        }
        Ok((
            self.lower_to(&format!("{label}/lhs"), xa, a, ta)?,
            self.lower_to(&format!("{label}/rhs"), xb, b, tb)?,
        ))
    }

    pub(crate) fn reshape(
        &mut self,
        label: &str,
        x: Low,
        shape: Vec<usize>,
        out_name: &str,
    ) -> Result<Low, ModelError> {
        if self.tensors[x.id].shape == shape {
            return Ok(x);
        }
        self.push(
            format!("{label}/reshape"),
            IrOp::Reshape { shape },
            vec![x.id],
            out_name.to_string(),
        )
    }

    /// A transpose of `x` by `perm`, or `x` itself when `perm` is the identity.
    pub(crate) fn permute(
        &mut self,
        label: &str,
        x: Low,
        perm: Vec<usize>,
        out_name: &str,
    ) -> Result<Low, ModelError> {
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return Ok(x);
        }
        self.push(
            format!("{label}/transpose"),
            IrOp::Transpose { perm },
            vec![x.id],
            out_name.to_string(),
        )
    }

    /// The product `a * b` of two bounded tensors, their scales lowered first if needed so
    /// that the product can later be rescaled to `target` within `max_shift`.
    pub(crate) fn product(
        &mut self,
        label: &str,
        a: Low,
        b: Low,
        target: u32,
        name: &str,
    ) -> Result<Low, ModelError> {
        let limit = target + self.opts.max_shift;
        let (mut ta, mut tb) = (a.scale, b.scale);
        while ta + tb > limit && ta + tb > 0 {
            if ta >= tb { ta -= 1 } else { tb -= 1 }
        }
        let a = self.rescale(&format!("{label}/lhs"), a, ta, name)?;
        let b = self.rescale(&format!("{label}/rhs"), b, tb, name)?;
        self.binary(label, IrOp::Mul, a, b, name)
    }

    /// Brings tensors to one common scale: the lowest of their scales, lowered further to the
    /// range-safe scale (`safe`) of any operand that must be rescaled.
    pub(crate) fn align(
        &mut self,
        label: &str,
        items: &[(Low, u32)],
    ) -> Result<Vec<Low>, ModelError> {
        let Some(mut t) = items.iter().map(|(l, _)| l.scale).min() else {
            return Ok(Vec::new());
        };
        loop {
            let mut changed = false;
            for (low, safe) in items {
                if low.scale > t && t > *safe {
                    t = *safe;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, (low, safe)) in items.iter().enumerate() {
            let name = self.tensors[low.id].name.clone();
            out.push(self.bring_to(&format!("{label}/align{i}"), *low, *safe, t, &name)?);
        }
        Ok(out)
    }

    /// `Rescale` of `x` down to scale `t` (nothing when it is already there).
    pub(crate) fn rescale(
        &mut self,
        label: &str,
        x: Low,
        t: u32,
        name: &str,
    ) -> Result<Low, ModelError> {
        if x.scale <= t {
            return Ok(x);
        }
        self.push(
            label.to_string(),
            IrOp::Rescale { shift: x.scale - t },
            vec![x.id],
            name.to_string(),
        )
    }

    /// A table lookup of `kind` from `x`'s scale to `out_scale`.
    pub(crate) fn lookup(
        &mut self,
        label: &str,
        x: Low,
        kind: LookupKind,
        out_scale: u32,
        name: &str,
    ) -> Result<Low, ModelError> {
        let f = LookupFn {
            kind,
            in_scale: x.scale,
            out_scale,
        };
        self.push(
            label.to_string(),
            IrOp::Lookup(f),
            vec![x.id],
            name.to_string(),
        )
    }

    /// A binary IR op on two tensors.
    pub(crate) fn binary(
        &mut self,
        label: &str,
        op: IrOp,
        a: Low,
        b: Low,
        name: &str,
    ) -> Result<Low, ModelError> {
        self.push(label.to_string(), op, vec![a.id, b.id], name.to_string())
    }

    /// `x` multiplied by the exact integer `k` given at scale `k_scale` (the result has scale
    /// `x.scale + k_scale`; `k = 2^k_scale` relabels `x` at a higher scale, exactly).
    pub(crate) fn mul_int(
        &mut self,
        label: &str,
        x: Low,
        k: i64,
        k_scale: u32,
        name: &str,
    ) -> Result<Low, ModelError> {
        let c = self.int_const(format!("{label}/k"), vec![], vec![k], k_scale);
        self.binary(label, IrOp::Mul, x, c, name)
    }

    /// Brings `x` (range-safe at scale `safe`) to scale `t`: down by rescaling, up by an
    /// exact multiplication by a power of two.
    pub(crate) fn bring_to(
        &mut self,
        label: &str,
        x: Low,
        safe: u32,
        t: u32,
        name: &str,
    ) -> Result<Low, ModelError> {
        match x.scale.cmp(&t) {
            std::cmp::Ordering::Equal => Ok(x),
            std::cmp::Ordering::Greater => {
                let mut x = x;
                if x.scale > t + self.opts.max_shift && safe > t && safe < x.scale {
                    x = self.rescale(&format!("{label}/narrow"), x, safe, name)?;
                }
                self.rescale(label, x, t, name)
            }
            std::cmp::Ordering::Less => {
                let up = t - x.scale;
                if up > 40 {
                    return Err(ModelError::Quantise {
                        node: label.to_string(),
                        detail: format!("cannot raise a value from scale {} to {t}", x.scale),
                    });
                }
                self.mul_int(label, x, 1 << up, up, name)
            }
        }
    }

    /// Slice of `x` along `axis`: `count` elements from `start` with `step`.
    pub(crate) fn slice_axis(
        &mut self,
        label: &str,
        x: Low,
        axis: usize,
        (start, count, step): (usize, usize, usize),
        name: &str,
    ) -> Result<Low, ModelError> {
        let shape = self.tensors[x.id].shape.clone();
        if start == 0 && step == 1 && count == shape[axis] {
            return Ok(x);
        }
        let mut starts = vec![0; shape.len()];
        let mut ends = shape.clone();
        let mut steps = vec![1; shape.len()];
        starts[axis] = start;
        ends[axis] = start + (count - 1) * step + 1;
        steps[axis] = step;
        self.push(
            label.to_string(),
            IrOp::Slice {
                starts,
                ends,
                steps,
            },
            vec![x.id],
            name.to_string(),
        )
    }

    /// Pairwise `Max` (or `Min`) of equal-scale tensors, as a balanced tree.
    pub(crate) fn extreme_tree(
        &mut self,
        label: &str,
        mut parts: Vec<Low>,
        max: bool,
        name: &str,
    ) -> Result<Low, ModelError> {
        let mut level = 0;
        while parts.len() > 1 {
            let mut next = Vec::with_capacity(parts.len().div_ceil(2));
            for (i, pair) in parts.chunks(2).enumerate() {
                next.push(match pair {
                    [a, b] => self.binary(
                        &format!("{label}/max{level}.{i}"),
                        if max { IrOp::Max } else { IrOp::Min },
                        *a,
                        *b,
                        name,
                    )?,
                    [a] => *a,
                    _ => unreachable_empty()?,
                });
            }
            parts = next;
            level += 1;
        }
        parts.pop().ok_or_else(|| ModelError::Quantise {
            node: label.to_string(),
            detail: "a maximum over nothing".into(),
        })
    }

    /// Max (or min) over `axis` of a range-safe `x`, keeping the axis as size 1: the axis is
    /// halved repeatedly (two overlapping halves when odd, which max/min do not mind).
    pub(crate) fn reduce_extreme_axis(
        &mut self,
        label: &str,
        mut x: Low,
        axis: usize,
        max: bool,
        name: &str,
    ) -> Result<Low, ModelError> {
        let mut level = 0;
        loop {
            let len = self.tensors[x.id].shape[axis];
            if len <= 1 {
                return Ok(x);
            }
            let half = len.div_ceil(2);
            let l = format!("{label}/halve{level}");
            let a = self.slice_axis(&format!("{l}/lo"), x, axis, (0, half, 1), name)?;
            let b = self.slice_axis(&format!("{l}/hi"), x, axis, (len - half, half, 1), name)?;
            x = self.binary(&l, if max { IrOp::Max } else { IrOp::Min }, a, b, name)?;
            level += 1;
        }
    }

    /// Operands `idx` of node `n` at one common range-safe scale: computed operands narrowed
    /// and aligned, constants quantised at that scale (clamped to [`COMPARE_CLAMP`] when
    /// `clamp`).
    pub(crate) fn common_operands(
        &mut self,
        n: usize,
        idx: &[usize],
        clamp: bool,
    ) -> Result<Vec<Low>, ModelError> {
        let label = self.label(n);
        let mut acts = Vec::new();
        for &i in idx {
            if let Arg::Act(v) = self.arg(n, i)? {
                let x = self.narrow(v)?;
                acts.push((i, (x, self.cal[v].max(x.scale))));
            }
        }
        let items: Vec<(Low, u32)> = acts.iter().map(|(_, x)| *x).collect();
        let aligned = self.align(&label, &items)?;
        let Some(t) = aligned.first().map(|l| l.scale) else {
            return Err(self.err(n, "all operands are constants"));
        };
        let mut out = Vec::with_capacity(idx.len());
        let mut k = 0;
        for &i in idx {
            match self.arg(n, i)? {
                Arg::Act(_) => {
                    out.push(aligned[k]);
                    k += 1;
                }
                Arg::Const(c) => {
                    let vals: Vec<f64> = c.to_f32().iter().map(|&v| v as f64).collect();
                    let mut q = self.quant_at(n, &vals, t)?;
                    if clamp {
                        q.iter_mut()
                            .for_each(|v| *v = (*v).clamp(-COMPARE_CLAMP, COMPARE_CLAMP));
                    }
                    let id = self.const_tensor(format!("{label}/const{i}"), c.shape.clone(), q, t);
                    out.push(Low { id, scale: t });
                }
            }
        }
        Ok(out)
    }

    /// Node `n`'s input 0 passed through as its output, reusing the operand's tensor (Identity,
    /// inference Dropout, value-preserving Cast, a reduction over no axes).
    pub(crate) fn pass(&mut self, n: usize) -> Result<(), ModelError> {
        let out = self.output(n)?;
        let a = self.act(n, 0)?;
        let x = self.carry(a, out)?;
        self.set(out, x);
        if self.low[a].is_some_and(|l| l.id == x.id) && self.cal[out] == self.cal[a] {
            self.narrow_cache[out] = self.narrow_cache[a];
        }
        Ok(())
    }
}

/// The empty case of a `chunks(2)` match, which cannot happen.
fn unreachable_empty() -> Result<Low, ModelError> {
    Err(ModelError::Quantise {
        node: "max tree".into(),
        detail: "internal: empty chunk".into(),
    })
}
