//! Lowering of `Gemm`, `MatMul` and `Conv`: the float weights (with `alpha`, `beta`, transposes
//! and a constant left operand resolved), the channel-wise neighbours folded in, and the
//! quantised layer (`fold.rs`).

use omron_ir::{ConvAttrs, Op as IrOp};

use super::conv_geometry;
use super::fold::{Linear, per_channel};
use crate::error::ModelError;
use crate::graph::ValueId;
use crate::op::{Arg, Low, Lowerer};
use crate::window::WindowSpec;

impl<'a> Lowerer<'a> {
    pub(crate) fn gemm(
        &mut self,
        n: usize,
        alpha: &f32,
        beta: &f32,
        trans_a: &bool,
        trans_b: &bool,
    ) -> Result<(), ModelError> {
        if matches!(self.arg(n, 1)?, Arg::Act(_)) {
            return self.gemm_product(n, *alpha, *beta, *trans_a, *trans_b);
        }
        let m = self.m;
        let node = &m.graph.nodes[n];
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let b = self.constant(n, 1)?;
        let mut x = self.narrow(a)?;
        if *trans_a {
            x = self.push(
                format!("{label}/transA"),
                IrOp::Transpose { perm: vec![1, 0] },
                vec![x.id],
                format!("{out_name}/A"),
            )?;
        }
        let bv = b.as_f32().unwrap_or_default();
        let (k, cols) = if *trans_b {
            (b.shape[1], b.shape[0])
        } else {
            (b.shape[0], b.shape[1])
        };
        let mut w = Vec::with_capacity(cols * k);
        for j in 0..cols {
            for p in 0..k {
                let v = if *trans_b {
                    bv[j * k + p]
                } else {
                    bv[p * cols + j]
                };
                w.push(*alpha as f64 * v as f64);
            }
        }
        let mut lin = Linear::new(w, vec![cols, k], None);
        let out_shape = self.shape(out).to_vec();
        let mut post: Option<Arg<'a>> = None;
        if node.inputs.get(2).is_some_and(|c| c.is_some()) {
            match self.arg(n, 2)? {
                Arg::Const(c) => match per_channel(c, &out_shape, 1, cols) {
                    Some(vec) => lin.add_bias(
                        &vec.iter().map(|&x| *beta as f64 * x).collect::<Vec<_>>(),
                        1.0,
                    ),
                    None => post = Some(Arg::Const(c)),
                },
                act => {
                    if *beta != 1.0 {
                        return Err(
                            self.err(n, "Gemm with a computed C and beta != 1 is not supported")
                        );
                    }
                    post = Some(act);
                }
            }
        }
        let last = if post.is_none() {
            self.fuse(out, &mut lin, 1)
        } else {
            out
        };
        let y = self.emit_linear(n, x, &lin, None, last, "")?;
        let y = self.gemm_add_c(n, y, out, *beta, post)?;
        self.set(last, y);
        Ok(())
    }

    /// Adds `beta * C` after a `Gemm`'s product `y` (when `C` is not folded into the bias).
    pub(super) fn gemm_add_c(
        &mut self,
        n: usize,
        y: Low,
        out: ValueId,
        beta: f32,
        post: Option<Arg<'a>>,
    ) -> Result<Low, ModelError> {
        let (label, _, out_name) = self.names(n)?;
        Ok(match post {
            None => y,
            Some(Arg::Const(c)) => {
                let vals: Vec<f64> = c.to_f32().iter().map(|&v| beta as f64 * v as f64).collect();
                let q = self.quant_at(n, &vals, y.scale)?;
                let cid = self.const_tensor(format!("{label}/C"), c.shape.clone(), q, y.scale);
                self.push(
                    format!("{label}/addC"),
                    IrOp::Add,
                    vec![y.id, cid],
                    format!("{out_name}/C"),
                )?
            }
            Some(Arg::Act(cv)) => {
                self.add_acts(&label, (y, out), (self.get(cv)?, cv), IrOp::Add, &out_name)?
            }
        })
    }

    pub(crate) fn matmul(&mut self, n: usize) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        match (self.arg(n, 0)?, self.arg(n, 1)?) {
            (Arg::Act(_), Arg::Act(_)) => self.batch_matmul(n)?,
            (Arg::Act(a), Arg::Const(b)) => {
                let x = self.narrow(a)?;
                let bv = b.to_f32();
                if b.shape.len() == 2 {
                    let (k, cols) = (b.shape[0], b.shape[1]);
                    let w = (0..cols)
                        .flat_map(|j| (0..k).map(move |p| (j, p)))
                        .map(|(j, p)| bv[p * cols + j] as f64)
                        .collect();
                    let mut lin = Linear::new(w, vec![cols, k], None);
                    let axis = self.shape(out).len().saturating_sub(1);
                    let last = self.fuse(out, &mut lin, axis);
                    let y = self.emit_linear(n, x, &lin, None, last, "")?;
                    self.set(last, y);
                } else {
                    let lin = Linear::new(
                        bv.iter().map(|&v| v as f64).collect(),
                        vec![1, b.shape[0]],
                        None,
                    );
                    let y = self.emit_linear(n, x, &lin, None, out, "/col")?;
                    let y = self.reshape(&label, y, self.shape(out).to_vec(), &out_name)?;
                    self.set(out, y);
                }
            }
            (Arg::Const(a), Arg::Act(b)) => {
                // A B = (B^T A^T)^T: transpose the activation, multiply by A's rows.
                let xb = self.narrow(b)?;
                let xt = self.push(
                    format!("{label}/transB"),
                    IrOp::Transpose { perm: vec![1, 0] },
                    vec![xb.id],
                    format!("{out_name}/BT"),
                )?;
                let av: Vec<f64> = a.to_f32().iter().map(|&v| v as f64).collect();
                let w_shape = if a.shape.len() == 2 {
                    a.shape.clone()
                } else {
                    vec![1, a.shape[0]]
                };
                let lin = Linear::new(av, w_shape, None);
                let y = self.emit_linear(n, xt, &lin, None, out, "/T")?;
                let y = if a.shape.len() == 2 {
                    self.push(
                        format!("{label}/transY"),
                        IrOp::Transpose { perm: vec![1, 0] },
                        vec![y.id],
                        out_name.clone(),
                    )?
                } else {
                    self.reshape(&label, y, self.shape(out).to_vec(), &out_name)?
                };
                self.set(out, y);
            }
            _ => return Err(self.err(n, "MatMul needs exactly one constant operand")),
        }
        Ok(())
    }

    pub(crate) fn conv(
        &mut self,
        n: usize,
        window: &WindowSpec,
        group: &usize,
    ) -> Result<(), ModelError> {
        let m = self.m;
        let node = &m.graph.nodes[n];
        let (_, out, _) = self.names(n)?;
        let a = self.act(n, 0)?;
        let x = self.narrow(a)?;
        let w = self.constant(n, 1)?;
        let bias = match node.inputs.get(2).copied().flatten() {
            Some(_) => Some(
                self.constant(n, 2)?
                    .to_f32()
                    .iter()
                    .map(|&v| v as f64)
                    .collect(),
            ),
            None => None,
        };
        let g =
            conv_geometry(window, *group, self.shape(a), &w.shape).map_err(|e| self.issue(n, e))?;
        let attrs = ConvAttrs {
            strides: g.strides,
            pads: g.pads,
            dilations: g.dilations,
            group: *group,
        };
        let mut lin = Linear::new(
            w.to_f32().iter().map(|&v| v as f64).collect(),
            w.shape.clone(),
            bias,
        );
        let last = self.fuse(out, &mut lin, 1);
        let y = self.emit_linear(n, x, &lin, Some(attrs), last, "")?;
        self.set(last, y);
        Ok(())
    }
}
