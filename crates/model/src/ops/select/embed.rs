//! `Gather(constant table, token ids)` along axis 0: an IR `Embedding`, rows of the table by
//! public token ids. The ids must reach the node as integers at scale 0 (an integer graph
//! input, possibly through a no-op `Cast` or a reshape); the circuit refuses ids computed from
//! anything else, naming the node. Such an input, read only by embeddings, may hold any id of
//! its table (`omron_ir::input_range`), not only the 16-bit activation range: GPT-2's 50257
//! ids quantise as they are (up to 2^24 rows, the ids an `f32` input names exactly).

use omron_ir::Op as IrOp;

use crate::error::ModelError;
use crate::op::{Arg, Lowerer};

impl Lowerer<'_> {
    /// Gather of rows of a constant table (axis 0) by computed integer ids.
    pub(crate) fn embedding(&mut self, n: usize) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let table = match self.arg(n, 0)? {
            Arg::Const(t) if t.as_f32().is_some() => t,
            _ => {
                return Err(self.err(
                    n,
                    "Gather by computed indices needs a constant float table (an embedding)",
                ));
            }
        };
        let ids_v = self.act(n, 1)?;
        let ids = self.get(ids_v)?;
        if ids.scale != 0 {
            return Err(self.err(
                n,
                "the indices are not integers at scale 0: only integer model inputs (token ids) \
                 can index an embedding table",
            ));
        }
        let rows = table.shape[0];
        let width: usize = table.shape[1..].iter().product();
        let vals: Vec<f64> = table.to_f32().iter().map(|&x| f64::from(x)).collect();
        // The whole table must fit at the output's scale, not only the rows the calibration
        // input selected: any id may come.
        let max_abs = vals.iter().fold(0f64, |m, &x| m.max(x.abs()));
        let scale = self.internal_scale(n, "the embedding table", Some(max_abs), self.cal[out])?;
        let q = self.quant_at(n, &vals, scale)?;
        let t = self.const_tensor(format!("{label}/table"), vec![rows, width], q, scale);
        let y = self.push(
            format!("{label}/embedding"),
            IrOp::Embedding,
            vec![ids.id, t],
            out_name.clone(),
        )?;
        let y = self.reshape(&label, y, self.shape(out).to_vec(), &out_name)?;
        self.set(out, y);
        Ok(())
    }
}
