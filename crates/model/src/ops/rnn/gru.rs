//! One GRU step: the z and r gates, the candidate (with the reset gate before or after the
//! recurrent matmul), and `h_t = h~ + z (h_{t-1} - h~)`.

use omron_ir::{LookupKind, Op as IrOp};

use super::lower::{DirWeights, State};
use super::spec::RnnDims;
use crate::error::ModelError;
use crate::op::{Low, Lowerer};

impl Lowerer<'_> {
    /// One GRU step; returns `h_t` at scale `s`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn gru_step(
        &mut self,
        n: usize,
        sl: &str,
        x_t: Low,
        h_prev: State,
        wts: &DirWeights,
        dims: &RnnDims,
        (s, s_g, s_p, s_r): (u32, u32, u32, u32),
        linear_before_reset: bool,
        cache: &mut [Option<(Low, Low, Low)>; 4],
    ) -> Result<Low, ModelError> {
        let h = dims.hidden;
        let zr = self.gate_matmul(n, sl, x_t, h_prev, wts, 0..2 * h, s_p, &mut cache[0])?;
        let zr = self.rescale(&format!("{sl}/zr_pre"), zr, s_p, sl)?;
        let zr = self.lookup(&format!("{sl}/sigmoid"), zr, LookupKind::Sigmoid, s_g, sl)?;
        let z = self.slice_axis(&format!("{sl}/z"), zr, 1, (0, h, 1), sl)?;
        let r = self.slice_axis(&format!("{sl}/r"), zr, 1, (h, h, 1), sl)?;
        // The candidate's rows of W and R, as a one-gate "layer".
        let cand = DirWeights {
            w: wts.w[2 * h * dims.input..].to_vec(),
            r: wts.r[2 * h * h..].to_vec(),
            wb: wts.wb[2 * h..].to_vec(),
            rb: wts.rb[2 * h..].to_vec(),
        };
        let pre = if !linear_before_reset {
            // tanh(x W_h^T + (r . h) R_h^T + Wb_h + Rb_h)
            let rh = match h_prev {
                State::Zero => State::Zero,
                State::Low(hp) => {
                    let p = self.binary(&format!("{sl}/rh"), IrOp::Mul, r, hp, sl)?;
                    State::Low(self.rescale(&format!("{sl}/rh/q"), p, s, sl)?)
                }
            };
            let p = self.gate_matmul(
                n,
                &format!("{sl}/cand"),
                x_t,
                rh,
                &cand,
                0..h,
                s_p,
                &mut cache[1],
            )?;
            self.rescale(&format!("{sl}/cand_pre"), p, s_p, sl)?
        } else {
            // tanh(x W_h^T + Wb_h + r . (h R_h^T + Rb_h))
            let xw = DirWeights {
                w: cand.w.clone(),
                r: Vec::new(),
                wb: cand.wb.clone(),
                rb: vec![0.0; h],
            };
            let xh = self.gate_matmul(
                n,
                &format!("{sl}/xw"),
                x_t,
                State::Zero,
                &xw,
                0..h,
                s_p,
                &mut cache[2],
            )?;
            let xh = self.rescale(&format!("{sl}/xw/q"), xh, s_p, sl)?;
            let q = match h_prev {
                State::Zero => {
                    let rb = self.quant_at(n, &cand.rb, s_r)?;
                    self.int_const(format!("{sl}/rb"), vec![h], rb, s_r)
                }
                State::Low(hp) => {
                    let hr = DirWeights {
                        w: cand.r.clone(),
                        r: Vec::new(),
                        wb: cand.rb.clone(),
                        rb: vec![0.0; h],
                    };
                    let q = self.gate_matmul(
                        n,
                        &format!("{sl}/hr"),
                        hp,
                        State::Zero,
                        &hr,
                        0..h,
                        s_r,
                        &mut cache[3],
                    )?;
                    self.rescale(&format!("{sl}/hr/q"), q, s_r, sl)?
                }
            };
            let rq = self.product(&format!("{sl}/rq"), r, q, s_p, sl)?;
            let rq = self.rescale(&format!("{sl}/rq/q"), rq, s_p, sl)?;
            self.binary(&format!("{sl}/cand_pre"), IrOp::Add, xh, rq, sl)?
        };
        let hh = self.lookup(&format!("{sl}/tanh"), pre, LookupKind::Tanh, s, sl)?;
        // h = h~ + z (h_prev - h~), everything at s before the product.
        let diff = match h_prev {
            State::Zero => self.mul_int(&format!("{sl}/neg"), hh, -1, 0, sl)?,
            State::Low(hp) => self.binary(&format!("{sl}/diff"), IrOp::Sub, hp, hh, sl)?,
        };
        let zd = self.binary(&format!("{sl}/zd"), IrOp::Mul, z, diff, sl)?;
        let up = self.mul_int(&format!("{sl}/up"), hh, 1 << s_g, s_g, sl)?;
        let sum = self.binary(&format!("{sl}/h_sum"), IrOp::Add, zd, up, sl)?;
        self.rescale(&format!("{sl}/h"), sum, s, &format!("{sl}/h"))
    }
}
