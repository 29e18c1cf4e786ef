//! 2-D convolution `y[o, i, j] = b[o] + sum_{c,u,v} w[o, c, u, v] x[c, h(i, u), w(j, v)]` with
//! `h(i, u) = i*stride + u*dilation - pad` (reads outside the input are zero).
//!
//! Two sumchecks, so that neither side ever materialises the im2col matrix:
//!
//! 1. Over the kernel index `k = (c, u, v)`: `y(z) - b(z_o) S(z_i) S(z_j) =
//!    sum_k w(z_o, k) P(k)` where `P(k) = sum_{i,j} eq(z_i, i) eq(z_j, j) x[c, h(i,u), w(j,v)]` is
//!    the input patch seen through the output point. The verifier evaluates `w` itself; the
//!    prover sends `P(s)`.
//! 2. Over the input: `P(s) = sum_{c,h,w} x[c,h,w] eq(s_c, c) G_h(h) G_w(w)`, where
//!    `G_h(h) = sum_{u,i: h(i,u) = h} eq(s_u, u) eq(z_i, i)` (and `G_w` alike). The wiring
//!    factors per dimension, so the verifier evaluates it in `O(KH*OH + KW*OW)`.

use omron_ir::{ConvAttrs, Op};
use omron_zk::mle::{eq_eval, eq_table};
use omron_zk::{Ext, Fp, VerifyError, sumcheck};

use super::{batching_prover, batching_verifier, padded};
use crate::context::{Claim, Prover, Verifier};
use crate::layout::Layout;

/// Shapes and the dimension indices of a convolution node.
struct Geometry {
    attrs: ConvAttrs,
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    /// Variables of the kernel blocks (v lowest, then u, then c).
    bits_kw: usize,
    bits_kh: usize,
    bits_c: usize,
    x: Layout,
    y: Layout,
}

impl Geometry {
    fn new(op: &Op, x: &Layout, y: &Layout, w: &Layout) -> Geometry {
        let attrs = match op {
            Op::Conv(a) => a.clone(),
            _ => ConvAttrs {
                strides: [1, 1],
                pads: [0; 4],
                dilations: [1, 1],
                group: 1,
            },
        };
        let rx = x.dims.len();
        let ry = y.dims.len();
        Geometry {
            attrs,
            c: x.dims[rx - 3],
            h: x.dims[rx - 2],
            w: x.dims[rx - 1],
            kh: w.dims[2],
            kw: w.dims[3],
            oh: y.dims[ry - 2],
            ow: y.dims[ry - 1],
            bits_kw: w.bits[3] as usize,
            bits_kh: w.bits[2] as usize,
            bits_c: w.bits[1] as usize,
            x: x.clone(),
            y: y.clone(),
        }
    }

    fn kernel_bits(&self) -> usize {
        self.bits_kw + self.bits_kh + self.bits_c
    }

    fn row(&self, i: usize, u: usize) -> Option<usize> {
        let r = (i * self.attrs.strides[0] + u * self.attrs.dilations[0]) as isize
            - self.attrs.pads[0] as isize;
        (r >= 0 && (r as usize) < self.h).then_some(r as usize)
    }

    fn col(&self, j: usize, v: usize) -> Option<usize> {
        let s = (j * self.attrs.strides[1] + v * self.attrs.dilations[1]) as isize
            - self.attrs.pads[1] as isize;
        (s >= 0 && (s as usize) < self.w).then_some(s as usize)
    }

    /// Output point pieces: (z_o, z_i, z_j).
    fn split_output<'a>(&self, z: &'a [Ext]) -> (&'a [Ext], &'a [Ext], &'a [Ext]) {
        let ry = self.y.dims.len();
        (
            self.y.dim_point(z, ry - 3),
            self.y.dim_point(z, ry - 2),
            self.y.dim_point(z, ry - 1),
        )
    }

    /// Kernel point pieces: (s_c, s_u, s_v).
    fn split_kernel<'a>(&self, s: &'a [Ext]) -> (&'a [Ext], &'a [Ext], &'a [Ext]) {
        let (v, rest) = s.split_at(self.bits_kw);
        let (u, c) = rest.split_at(self.bits_kh);
        (c, u, v)
    }

    /// `G(t) = sum_{a < K, i < O: pos(i, a) = t} eq_k[a] eq_o[i]` for every input position t.
    fn spatial_table(
        &self,
        eq_k: &[Ext],
        eq_o: &[Ext],
        kernel: usize,
        out: usize,
        len: usize,
        rows: bool,
    ) -> Vec<Ext> {
        let mut g = vec![Ext::ZERO; len];
        for (a, &ek) in eq_k.iter().enumerate().take(kernel) {
            for (i, &eo) in eq_o.iter().enumerate().take(out) {
                let pos = if rows { self.row(i, a) } else { self.col(i, a) };
                if let Some(pos) = pos {
                    g[pos] += ek * eo;
                }
            }
        }
        g
    }

    /// The input patch through output point (z_i, z_j), over the padded kernel index.
    fn patch(&self, x: &[i64], z_i: &[Ext], z_j: &[Ext]) -> Vec<Ext> {
        let eq_i = eq_table(z_i);
        let eq_j = eq_table(z_j);
        // t[c][h][v] = sum_j eq_j[j] x[c, h, col(j, v)]
        let mut t = vec![Ext::ZERO; self.c * self.h * self.kw];
        for c in 0..self.c {
            for h in 0..self.h {
                let xrow = &x[(c * self.h + h) * self.w..(c * self.h + h + 1) * self.w];
                for v in 0..self.kw {
                    let mut acc = Ext::ZERO;
                    for (j, e) in eq_j.iter().enumerate().take(self.ow) {
                        if let Some(col) = self.col(j, v) {
                            acc += *e * Fp::from_i64(xrow[col]);
                        }
                    }
                    t[(c * self.h + h) * self.kw + v] = acc;
                }
            }
        }
        let mut p = vec![Ext::ZERO; 1 << self.kernel_bits()];
        for c in 0..self.c {
            for u in 0..self.kh {
                for v in 0..self.kw {
                    let mut acc = Ext::ZERO;
                    for (i, e) in eq_i.iter().enumerate().take(self.oh) {
                        if let Some(h) = self.row(i, u) {
                            acc += *e * t[(c * self.h + h) * self.kw + v];
                        }
                    }
                    let idx = (c << (self.bits_kh + self.bits_kw)) | (u << self.bits_kw) | v;
                    p[idx] = acc;
                }
            }
        }
        p
    }
}

pub(crate) fn prove(p: &mut Prover<'_>, index: usize, claims: Vec<Claim>) {
    let node = &p.graph.nodes[index];
    let (x, w) = (node.inputs[0], node.inputs[1]);
    let geo = Geometry::new(
        &node.op,
        p.plan.layout(x),
        p.plan.layout(node.output),
        p.plan.layout(w),
    );
    let kb = geo.kernel_bits();

    // 1. Kernel sumcheck.
    let coeffs = batching_prover(p, b"conv-gamma", claims.len());
    let mut tables = Vec::with_capacity(2 * claims.len());
    for c in &claims {
        let (z_o, z_i, z_j) = geo.split_output(&c.point);
        tables.push(p.fold_high(w, kb, z_o));
        tables.push(geo.patch(p.witness.rows(x), z_i, z_j));
    }
    let out = sumcheck::prove(
        b"conv-kernel",
        tables,
        2,
        |v| {
            coeffs
                .iter()
                .enumerate()
                .map(|(c, &g)| g * v[2 * c] * v[2 * c + 1])
                .sum()
        },
        &mut p.ch,
    );
    let patches: Vec<Ext> = (0..claims.len()).map(|c| out.values[2 * c + 1]).collect();
    p.ch.send_exts(b"conv-patch", &patches);

    // 2. Input sumcheck.
    let coeffs2 = batching_prover(p, b"conv-gamma2", claims.len());
    let (s_c, s_u, s_v) = geo.split_kernel(&out.point);
    let g = input_wiring_prover(&geo, &claims, &coeffs2, s_c, s_u, s_v);
    let out2 = sumcheck::prove_product_base(b"conv-input", padded(p, x), g, &mut p.ch);
    p.claim_value(x, out2.point, out2.values[0]);
}

fn input_wiring_prover(
    geo: &Geometry,
    claims: &[Claim],
    coeffs: &[Ext],
    s_c: &[Ext],
    s_u: &[Ext],
    s_v: &[Ext],
) -> Vec<Ext> {
    let lx = &geo.x;
    let rx = lx.dims.len();
    let (off_c, off_h) = (lx.offset(rx - 3), lx.offset(rx - 2));
    let eq_c = eq_table(s_c);
    let eq_u = eq_table(s_u);
    let eq_v = eq_table(s_v);
    let mut g = vec![Ext::ZERO; lx.padded_len()];
    for (claim, &coeff) in claims.iter().zip(coeffs) {
        let (_, z_i, z_j) = geo.split_output(&claim.point);
        let gh = geo.spatial_table(&eq_u, &eq_table(z_i), geo.kh, geo.oh, geo.h, true);
        let gw = geo.spatial_table(&eq_v, &eq_table(z_j), geo.kw, geo.ow, geo.w, false);
        for (c, &ec) in eq_c.iter().enumerate() {
            let ec = coeff * ec;
            for (h, &eh) in gh.iter().enumerate() {
                let ech = ec * eh;
                for (wi, &ew) in gw.iter().enumerate() {
                    g[(c << off_c) | (h << off_h) | wi] += ech * ew;
                }
            }
        }
    }
    g
}

pub(crate) fn verify(
    v: &mut Verifier<'_>,
    index: usize,
    claims: Vec<Claim>,
) -> Result<(), VerifyError> {
    let node = &v.graph.nodes[index];
    let (x, w, bias) = (node.inputs[0], node.inputs[1], node.inputs.get(2).copied());
    let geo = Geometry::new(
        &node.op,
        v.plan.layout(x),
        v.plan.layout(node.output),
        v.plan.layout(w),
    );
    let kb = geo.kernel_bits();

    let coeffs = batching_verifier(v, b"conv-gamma", claims.len());
    let mut sum = Ext::ZERO;
    for (c, &g) in claims.iter().zip(&coeffs) {
        let (z_o, z_i, z_j) = geo.split_output(&c.point);
        let bias_term = match bias {
            Some(b) => {
                v.eval_public(b, z_o)
                    * omron_zk::mle::prefix_indicator(z_i, geo.oh)
                    * omron_zk::mle::prefix_indicator(z_j, geo.ow)
            }
            None => Ext::ZERO,
        };
        sum += g * (c.value - bias_term);
    }
    let (s, fin) = sumcheck::verify(b"conv-kernel", sum, kb, 2, &mut v.ch)?;
    let patches = v.ch.recv_exts(b"conv-patch", claims.len())?;
    // Every claim's kernel evaluation shares the low point `s`: one pass over the kernel.
    let w_rows = v.fold_public_low(w, &s);
    let mut expected = Ext::ZERO;
    for ((c, &g), &patch) in claims.iter().zip(&coeffs).zip(&patches) {
        let (z_o, _, _) = geo.split_output(&c.point);
        expected += g * omron_zk::mle::evaluate(&w_rows, z_o) * patch;
    }
    if expected != fin {
        return Err(VerifyError::Sumcheck {
            label: "conv kernel",
            round: kb,
            rounds: kb,
        });
    }

    let coeffs2 = batching_verifier(v, b"conv-gamma2", claims.len());
    let sum2: Ext = patches.iter().zip(&coeffs2).map(|(&p, &g)| g * p).sum();
    let lx = geo.x.clone();
    let (t, fin2) = sumcheck::verify(b"conv-input", sum2, lx.num_vars(), 2, &mut v.ch)?;
    let rx = lx.dims.len();
    let (t_c, t_h, t_w) = (
        lx.dim_point(&t, rx - 3),
        lx.dim_point(&t, rx - 2),
        lx.dim_point(&t, rx - 1),
    );
    let (s_c, s_u, s_v) = geo.split_kernel(&s);
    let (eq_u, eq_v) = (eq_table(s_u), eq_table(s_v));
    let (eq_th, eq_tw) = (eq_table(t_h), eq_table(t_w));
    let ec = eq_eval(s_c, t_c);
    let mut g_at = Ext::ZERO;
    for (claim, &coeff) in claims.iter().zip(&coeffs2) {
        let (_, z_i, z_j) = geo.split_output(&claim.point);
        let gh = geo.spatial_table(&eq_u, &eq_table(z_i), geo.kh, geo.oh, geo.h, true);
        let gw = geo.spatial_table(&eq_v, &eq_table(z_j), geo.kw, geo.ow, geo.w, false);
        let gh_t: Ext = gh.iter().zip(&eq_th).map(|(a, b)| *a * *b).sum();
        let gw_t: Ext = gw.iter().zip(&eq_tw).map(|(a, b)| *a * *b).sum();
        g_at += coeff * ec * gh_t * gw_t;
    }
    let xv = v.claim(x, t)?;
    if xv * g_at != fin2 {
        return Err(VerifyError::Sumcheck {
            label: "conv input",
            round: lx.num_vars(),
            rounds: lx.num_vars(),
        });
    }
    Ok(())
}
