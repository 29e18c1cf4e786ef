//! Padding: `Pad` with a constant (an IR `Pad`), and edge or reflect padding (an IR `Gather`
//! per padded axis with the source indices).

use std::sync::Arc;

use omron_ir::Op as IrOp;

use crate::error::ModelError;
use crate::kernel::{gather_flat as gather, index_walk, input, strides};
use crate::op::{Lowerer, OnnxOp, OpRef, Parse};
use crate::shape::{
    Issue, Operand, OutInfo, const_ints, const_ints_at, invalid, need, optional, out, unsupported,
};
use crate::tensor::{Data, Tensor};

/// The ONNX op types this family parses.
pub(crate) const OP_TYPES: &[&str] = &["Pad"];

/// Padding mode of `Pad`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PadMode {
    /// A constant value.
    Constant,
    /// Repeat the edge element.
    Edge,
    /// Mirror without repeating the edge element.
    Reflect,
}

/// Padding, with a constant or from the edges.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Pad {
    /// Constant-mode padding; pads from the attribute (opset < 11) or input 1.
    Pad { pads: Option<Vec<i64>>, value: f32 },
    /// Padding with a mode (opset 11+ form, or the opset < 11 attribute form with a
    /// non-constant mode).
    PadMode {
        mode: PadMode,
        pads: Option<Vec<i64>>,
    },
}

/// Parses a node of one of [`OP_TYPES`].
pub(crate) fn parse(p: &Parse<'_>) -> Result<OpRef, String> {
    let a = &p.attrs;
    let opset = p.opset;
    let op = match p.op_type {
        "Pad" => {
            a.only(&["mode", "pads", "value"])?;
            let mode = a.string("mode")?.unwrap_or_else(|| "constant".into());
            let mode = match mode.as_str() {
                "constant" => PadMode::Constant,
                "edge" => PadMode::Edge,
                "reflect" => PadMode::Reflect,
                other => {
                    return Err(format!(
                        "Pad mode '{other}' is not supported (only constant, edge and reflect)"
                    ));
                }
            };
            if mode != PadMode::Constant {
                let pads = if opset < 11 {
                    Some(a.ints("pads")?.ok_or("Pad needs the 'pads' attribute")?)
                } else {
                    None
                };
                return Ok(Arc::new(Pad::PadMode { mode, pads }));
            }
            if opset < 11 {
                let pads = a.ints("pads")?.ok_or("Pad needs the 'pads' attribute")?;
                Pad::Pad {
                    pads: Some(pads),
                    value: a.float("value")?.unwrap_or(0.0),
                }
            } else {
                if a.has("pads") || a.has("value") {
                    return Err("Pad takes pads and value as inputs from opset 11".into());
                }
                Pad::Pad {
                    pads: None,
                    value: 0.0,
                }
            }
        }
        other => return Err(format!("op '{other}' is not implemented")),
    };
    Ok(Arc::new(op))
}

impl OnnxOp for Pad {
    fn infer(&self, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue> {
        match self {
            Pad::Pad { pads, .. } => {
                let x = need(ins, 0)?;
                let pads = match pads {
                    Some(p) => p.clone(),
                    None => const_ints(Some(need(ins, 1)?), "Pad pads")?.unwrap_or_default(),
                };
                if let Some(Some(v)) = ins.get(2)
                    && v.value.is_none()
                {
                    return unsupported("Pad constant_value must be a constant");
                }
                if ins.get(3).is_some_and(|o| o.is_some()) {
                    return unsupported("Pad with an 'axes' input is not supported");
                }
                let r = x.shape.len();
                if pads.len() != 2 * r {
                    return invalid(format!("Pad has {} pads for rank {r}", pads.len()));
                }
                if pads.iter().any(|&p| p < 0) {
                    return unsupported("negative Pad (cropping) is not supported");
                }
                let shape = (0..r)
                    .map(|i| {
                        usize::try_from(pads[i])
                            .ok()
                            .zip(usize::try_from(pads[i + r]).ok())
                            .and_then(|(b, e)| x.shape[i].checked_add(b)?.checked_add(e))
                            .ok_or_else(|| Issue::Invalid(format!("Pad {pads:?} overflows")))
                    })
                    .collect::<Result<Vec<usize>, Issue>>()?;
                out(shape, x.dtype)
            }
            Pad::PadMode { pads, .. } => {
                let x = need(ins, 0)?;
                let pads = match pads {
                    Some(p) => p.clone(),
                    None => const_ints_at(ins, 1, "Pad pads")?.unwrap_or_default(),
                };
                if optional(ins, 3).is_some() {
                    return unsupported("Pad with an 'axes' input is not supported");
                }
                let r = x.shape.len();
                if pads.len() != 2 * r {
                    return invalid(format!("Pad has {} pads for rank {r}", pads.len()));
                }
                let mut shape = Vec::with_capacity(r);
                for d in 0..r {
                    let (b, e) = (pads[d], pads[d + r]);
                    if b < 0 || e < 0 {
                        return unsupported("negative Pad (cropping) is not supported");
                    }
                    let (b, e) = (b as usize, e as usize);
                    if x.shape[d] == 0 || b >= x.shape[d].max(2) || e >= x.shape[d].max(2) {
                        return unsupported(format!(
                            "edge/reflect padding of {b}/{e} on an axis of {} is not supported",
                            x.shape[d]
                        ));
                    }
                    shape.push(x.shape[d] + b + e);
                }
                out(shape, x.dtype)
            }
        }
    }

    fn eval(&self, ins: &[Option<&Tensor>], infos: &[OutInfo]) -> Result<Vec<Tensor>, Issue> {
        let shape = infos[0].shape.clone();
        let x = |i: usize| input(ins, i);
        let one = |t: Tensor| -> Result<Vec<Tensor>, Issue> { Ok(vec![t]) };
        match self {
            Pad::Pad { pads, value } => {
                let t = x(0)?;
                let r = t.shape.len();
                let pads: Vec<i64> = match pads {
                    Some(p) => p.clone(),
                    None => x(1)?.as_i64().map(<[i64]>::to_vec).unwrap_or_default(),
                };
                let fill = match ins.get(2).copied().flatten() {
                    Some(c) => c.to_f32().first().copied().unwrap_or(0.0),
                    None => *value,
                };
                // Source index of every output element, or usize::MAX for padding.
                let st = strides(&t.shape);
                let src = index_walk(&shape, |idx| {
                    let mut flat = 0;
                    for d in 0..r {
                        let i = idx[d] as i64 - pads[d];
                        if i < 0 || i >= t.shape[d] as i64 {
                            return usize::MAX;
                        }
                        flat += i as usize * st[d];
                    }
                    flat
                });
                let data = match &t.data {
                    Data::F32(v) => Data::F32(
                        src.iter()
                            .map(|&i| if i == usize::MAX { fill } else { v[i] })
                            .collect(),
                    ),
                    Data::I64(v) => Data::I64(
                        src.iter()
                            .map(|&i| if i == usize::MAX { fill as i64 } else { v[i] })
                            .collect(),
                    ),
                };
                one(Tensor { shape, data })
            }
            Pad::PadMode { mode, pads } => {
                let t = x(0)?;
                let pads: Vec<i64> = match pads {
                    Some(p) => p.clone(),
                    None => x(1)?.as_i64().map(<[i64]>::to_vec).unwrap_or_default(),
                };
                let r = t.shape.len();
                let src = pad_sources(&t.shape, &shape, &pads[..r], *mode == PadMode::Reflect);
                one(gather(t, shape, &src))
            }
        }
    }

    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        match self {
            Pad::Pad { value, .. } => l.pad(n, *value),
            Pad::PadMode { mode, pads } => l.pad_mode(n, *mode, pads.clone()),
        }
    }
}

impl Lowerer<'_> {
    /// The pads of a Pad node (attribute or constant input), ONNX order (all begins, then all
    /// ends).
    fn pads_of(&self, n: usize, attr: Option<Vec<i64>>) -> Result<Vec<i64>, ModelError> {
        match attr {
            Some(p) => Ok(p),
            None => const_ints_at(&self.operands(n), 1, "Pad pads")
                .map_err(|e| self.issue(n, e))?
                .ok_or_else(|| self.err(n, "Pad needs pads")),
        }
    }

    /// Constant padding: an IR `Pad` with the value quantised at the operand's scale.
    pub(crate) fn pad(&mut self, n: usize, attr_value: f32) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let attr = match self.m.graph.nodes[n]
            .op
            .as_ref()
            .ok()
            .and_then(|o| crate::op::downcast::<Pad>(o.as_ref()))
        {
            Some(Pad::Pad { pads, .. }) => pads.clone(),
            _ => None,
        };
        let pads = self.pads_of(n, attr)?;
        let x = self.carry(a, out)?;
        if pads.iter().all(|&p| p == 0) {
            self.set(out, x);
            return Ok(());
        }
        let value = match self.m.graph.nodes[n].inputs.get(2).copied().flatten() {
            Some(_) => self
                .constant(n, 2)?
                .to_f32()
                .first()
                .copied()
                .unwrap_or(0.0),
            None => attr_value,
        };
        let q = self.quant_at(n, &[value as f64], x.scale)?[0];
        let r = pads.len() / 2;
        let pads: Vec<[usize; 2]> = (0..r)
            .map(|d| [pads[d] as usize, pads[d + r] as usize])
            .collect();
        let y = self.push(label, IrOp::Pad { pads, value: q }, vec![x.id], out_name)?;
        self.set(out, y);
        Ok(())
    }

    /// Edge and reflect padding: one `Gather` per padded axis with the source indices.
    pub(crate) fn pad_mode(
        &mut self,
        n: usize,
        mode: PadMode,
        attr: Option<Vec<i64>>,
    ) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let pads = self.pads_of(n, attr)?;
        let mut x = self.carry(a, out)?;
        let shape = self.shape(a).to_vec();
        let r = shape.len();
        for d in 0..r {
            let (b, e) = (pads[d] as usize, pads[d + r] as usize);
            if b == 0 && e == 0 {
                continue;
            }
            let indices = (0..shape[d] + b + e)
                .map(|j| pad_source(j, b, shape[d], mode == PadMode::Reflect))
                .collect();
            x = self.push(
                format!("{label}/axis{d}"),
                IrOp::Gather { axis: d, indices },
                vec![x.id],
                out_name.clone(),
            )?;
        }
        self.set(out, x);
        Ok(())
    }
}

/// Source index along one axis of edge or reflect padding (`j` in the padded axis).
pub(crate) fn pad_source(j: usize, before: usize, dim: usize, reflect: bool) -> usize {
    let s = j as i64 - before as i64;
    let last = dim as i64 - 1;
    let i = if reflect {
        if s < 0 {
            -s
        } else if s > last {
            2 * last - s
        } else {
            s
        }
    } else {
        s.clamp(0, last)
    };
    i.clamp(0, last) as usize
}

/// Flat source index of every element of an edge/reflect padded tensor.
pub(crate) fn pad_sources(
    in_shape: &[usize],
    out_shape: &[usize],
    before: &[i64],
    reflect: bool,
) -> Vec<usize> {
    let st = strides(in_shape);
    let n: usize = out_shape.iter().product();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; out_shape.len()];
    for _ in 0..n {
        let flat = (0..in_shape.len())
            .map(|d| pad_source(idx[d], before[d] as usize, in_shape[d], reflect) * st[d])
            .sum();
        out.push(flat);
        for d in (0..out_shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_pads_are_errors_not_overflows() {
        let x = Tensor::f32(vec![1, 2], vec![0.0; 2]);
        let op = Pad::Pad {
            pads: Some(vec![0, i64::MAX, 0, i64::MAX]),
            value: 0.0,
        };
        assert!(matches!(
            op.infer(&[Some(Operand::of(&x))]),
            Err(Issue::Invalid(_))
        ));
    }

    #[test]
    fn edge_and_reflect_sources() {
        let edge: Vec<usize> = (0..7).map(|j| pad_source(j, 2, 3, false)).collect();
        assert_eq!(edge, vec![0, 0, 0, 1, 2, 2, 2]);
        let refl: Vec<usize> = (0..7).map(|j| pad_source(j, 2, 3, true)).collect();
        assert_eq!(refl, vec![2, 1, 0, 1, 2, 1, 0]);
    }
}
