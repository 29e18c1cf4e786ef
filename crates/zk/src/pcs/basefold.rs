//! Basefold over Reed-Solomon codes: a transparent, hash-based commitment to a multilinear
//! polynomial with base-field values, and an argument for a batch of evaluation claims.
//!
//! **Commit.** The values `v` of `P` on `{0,1}^n` are read as the coefficients of the univariate
//! `f(X) = sum_i v_i X^i` (degree `< 2^n`), which is evaluated on the subgroup of order
//! `2^(n + log_blowup)` (a Reed-Solomon codeword of rate `2^-log_blowup`, stored in bit-reversed
//! order so every Merkle leaf is a contiguous coset) and Merkle-committed.
//!
//! **Open.** To prove claims `P(z_k) = y_k`, the verifier draws `γ` and the prover runs a
//! sumcheck for `sum_b P(b) E(b) = sum_k γ^k y_k` with `E = sum_k γ^k eq(z_k, .)`. Round `j` binds
//! variable `j` to `α_j`, and the *same* `α_j` folds the codeword: with
//! `f_e(X^2) = (f(X) + f(-X)) / 2` and `f_o(X^2) = (f(X) - f(-X)) / (2X)`, the folded function
//! `(1 - α_j) f_e + α_j f_o` has as coefficients exactly the table of `P` with variable `j` fixed
//! to `α_j`. Every `fold_bits` rounds the prover commits the folded codeword (cosets of
//! `2^fold_bits` points per Merkle leaf). Once at most `2^final_bits` coefficients remain, it sends
//! them in the clear; the verifier finishes the sumcheck with them itself. After a proof of work,
//! the verifier queries random leaves of the first codeword, folds each opened coset down through
//! every committed codeword and finally compares with the clear message.
//!
//! Soundness (unique-decoding regime, rate `ρ`): a folded codeword far from the code passes one
//! query with probability at most `1 - δ`, `δ = (1 - ρ) / 2`; with `q` queries and `g` bits of
//! proof of work the query phase errs with probability `(1 - δ)^q * 2^-g`, and the fold of a
//! codeword of `2^m` points adds at most `2^m / |Fp2|` (proximity gaps for Reed-Solomon codes).
//! The whole proof's error, these terms included, is counted by `omron-circuit`'s soundness
//! report; see `docs/proof-system.md` §7.

use crate::field::P;
use crate::mle::{eq_eval, eq_table};
use crate::par;
use crate::pcs::merkle::{Digest, MerkleTree, hash_leaf, verify_opening};
use crate::pcs::ntt::{evaluate_bitreversed, reverse_bits};
use crate::sumcheck::{fold_product, product_round_base};
use crate::{Ext, Fp, ProverChannel, VerifierChannel, VerifyError, mle::interpolate_at};

/// Parameters of the commitment; both sides must use the same ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcsParams {
    /// `log2` of the inverse code rate.
    pub log_blowup: u32,
    /// Variables folded between two committed codewords.
    pub fold_bits: u32,
    /// Folding stops once at most this many variables remain; those coefficients go in clear.
    pub final_bits: u32,
    /// Number of query positions.
    pub queries: usize,
    /// Proof-of-work difficulty before the queries are drawn.
    pub grinding_bits: u32,
}

/// Leaves hold at most `2^MAX_FOLD_BITS` values.
pub const MAX_FOLD_BITS: u32 = 8;

impl Default for PcsParams {
    fn default() -> PcsParams {
        // Rate 1/8: δ = 7/16 and each query gives log2(16/9) = 0.83 bits; 111 queries and 8
        // bits of work give 100.1 bits for the query phase (see `query_security_bits`).
        PcsParams {
            log_blowup: 3,
            fold_bits: 3,
            final_bits: 4,
            queries: 111,
            grinding_bits: 8,
        }
    }
}

impl PcsParams {
    /// Parameters for a committed polynomial of `2^n` values: rate 1/8 up to `2^16` values
    /// (smallest proofs), then rate 1/4 up to `2^18` and rate 1/2 beyond (the prover's NTT and
    /// hashing scale with the codeword, so large polynomials trade proof size for prover
    /// time). Every choice keeps the query phase at 100 bits or more; the circuit layer adds
    /// queries where the proof's other terms (folding, LogUp, sumchecks) need them.
    pub fn for_size(n: u32) -> PcsParams {
        let base = PcsParams::default();
        match n {
            0..=16 => base,
            17..=18 => PcsParams {
                log_blowup: 2,
                queries: 136,
                ..base
            },
            _ => PcsParams {
                log_blowup: 1,
                queries: 222,
                ..base
            },
        }
    }

    /// Bits of security of the query phase in the unique-decoding regime:
    /// `-log2((1 - δ)^q) + g` with `δ = (1 - 2^-log_blowup) / 2`.
    pub fn query_security_bits(&self) -> f64 {
        let rho = (-(self.log_blowup as f64)).exp2();
        let delta = (1.0 - rho) / 2.0;
        -(self.queries as f64) * (1.0 - delta).log2() + self.grinding_bits as f64
    }

    /// The number of variables folded in each committed round, for a polynomial in `n`
    /// variables.
    pub fn schedule(&self, n: u32) -> Vec<u32> {
        let mut rounds = n.saturating_sub(self.final_bits);
        let mut blocks = Vec::new();
        while rounds > 0 {
            let b = rounds.min(self.fold_bits.max(1));
            blocks.push(b);
            rounds -= b;
        }
        blocks
    }
}

/// A claim `P(point || bits(block)) = value`: `point` fixes the low `m` variables and the high
/// `n - m` variables are the boolean digits of `block` (claims on an aligned segment of `P`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The low coordinates.
    pub point: Vec<Ext>,
    /// The boolean high coordinates, as an integer.
    pub block: usize,
    /// The claimed value.
    pub value: Ext,
}

impl Claim {
    fn full_point(&self, n: usize) -> Vec<Ext> {
        let m = self.point.len();
        let mut p = self.point.clone();
        for i in 0..n - m {
            p.push(if (self.block >> i) & 1 == 1 {
                Ext::ONE
            } else {
                Ext::ZERO
            });
        }
        p
    }
}

/// The prover's data for a committed polynomial.
#[derive(Debug, Clone)]
pub struct Committed {
    n: u32,
    values: Vec<Fp>,
    /// The codeword, in bit-reversed order.
    codeword: Vec<Fp>,
    tree: MerkleTree,
}

impl Committed {
    /// Number of variables.
    pub fn num_vars(&self) -> u32 {
        self.n
    }

    /// The committed values.
    pub fn values(&self) -> &[Fp] {
        &self.values
    }
}

/// Codewords are kept in bit-reversed order, so the coset a Merkle leaf holds (the `2^a` points
/// that fold into one) is the contiguous chunk `[k 2^a, (k + 1) 2^a)`, and folding maps chunk `k`
/// to index `k` of the next codeword.
fn leaf_digests<T: Copy + Sync>(
    codeword: &[T],
    arity_bits: u32,
    bytes: fn(T, &mut [u8]) -> usize,
) -> Vec<Digest> {
    let width = 1usize << arity_bits;
    par::map_range(codeword.len() / width, |k| {
        // A leaf holds at most 2^8 extension elements (4 KiB).
        let mut buf = [0u8; 16 << 8];
        let mut len = 0;
        for &v in &codeword[k * width..(k + 1) * width] {
            len += bytes(v, &mut buf[len..]);
        }
        hash_leaf(&buf[..len])
    })
}

fn fp_bytes(v: Fp, out: &mut [u8]) -> usize {
    out[..8].copy_from_slice(&v.to_le_bytes());
    8
}

fn ext_bytes(v: Ext, out: &mut [u8]) -> usize {
    out[..16].copy_from_slice(&v.to_le_bytes());
    16
}

/// Commits to `values` (length `2^n`) and sends the root.
pub fn commit(values: Vec<Fp>, params: &PcsParams, ch: &mut ProverChannel) -> Committed {
    assert!(
        values.len().is_power_of_two(),
        "commit needs a power-of-two length"
    );
    let n = values.len().trailing_zeros();
    let codeword = evaluate_bitreversed(&values, n + params.log_blowup);
    let arity = params.schedule(n).first().copied().unwrap_or(0);
    let tree = MerkleTree::new(leaf_digests(&codeword, arity, fp_bytes));
    ch.send_digest(b"pcs-root", &tree.root());
    Committed {
        n,
        values,
        codeword,
        tree,
    }
}

/// Receives the root of a commitment.
pub fn receive_commitment(ch: &mut VerifierChannel<'_>) -> Result<Digest, VerifyError> {
    ch.recv_digest(b"pcs-root")
}

/// Folds one leaf (a coset of `2^a` points, bit-reversed) by `alphas` (`a` challenges) to the
/// single value of the folded function at the coset's image.
///
/// The leaf at index `k` of a codeword of `2^m` points (domain generator `g`) holds the points
/// `y ζ^bitrev(r)` for `r < 2^a`, with base point `y = g^bitrev_(m-a)(k)` and `ζ = g^(2^(m-a))`.
/// At fold level `j` the pair `(2s, 2s+1)` is `(x, -x)` with `x = (y ζ^bitrev_(a-j-1)(s))^(2^j)`;
/// `y_inv` and `zeta_inv` are the inverses of `y` and `ζ`.
///
/// Each level halves its result; the fold is linear in the values, so the halvings are applied
/// once at the end (`2^-a`), not per pair.
fn fold_leaf(values: &mut [Ext], y_inv: Fp, zeta: &LeafTwiddles, alphas: &[Ext]) -> Ext {
    let mut y_inv = y_inv;
    let mut len = values.len();
    for (j, &alpha) in alphas.iter().enumerate() {
        let half = len / 2;
        for s in 0..half {
            let x_inv = y_inv * zeta.levels[j][s];
            let (u, v) = (values[2 * s], values[2 * s + 1]);
            let sum = u + v;
            let diff = (u - v) * x_inv;
            values[s] = sum + alpha * (diff - sum);
        }
        len = half;
        y_inv = y_inv.square();
    }
    values[0] * zeta.halving
}

/// `1/2` in the field.
const INV2: Fp = Fp::new(P.div_ceil(2));

/// For a leaf of `2^a` points: at fold level `j`, `ζ^-(2^j bitrev_(a-j-1)(s))` for every pair `s`.
struct LeafTwiddles {
    levels: Vec<Vec<Fp>>,
    /// `2^-levels`: the halvings of every level, applied once to the folded value.
    halving: Fp,
}

impl LeafTwiddles {
    fn new(zeta_inv: Fp, a: u32) -> LeafTwiddles {
        let mut levels = Vec::with_capacity(a as usize);
        let mut z = zeta_inv;
        for j in 0..a {
            let bits = a - j - 1;
            levels.push(
                (0..1usize << bits)
                    .map(|s| z.pow(reverse_bits(s, bits) as u64))
                    .collect(),
            );
            z = z.square();
        }
        LeafTwiddles {
            levels,
            halving: INV2.pow(a as u64),
        }
    }
}

/// Folds a whole codeword of `2^m` points (bit-reversed) by `alphas`, leaf by leaf.
fn fold_codeword<T: Copy + Into<Ext> + Sync>(codeword: &[T], m: u32, alphas: &[Ext]) -> Vec<Ext> {
    let a = alphas.len() as u32;
    let width = 1usize << a;
    let leaves = codeword.len() / width;
    let g_inv = Fp::two_adic_generator(m).inverse().unwrap_or(Fp::ONE);
    let zeta_inv = g_inv.pow(1u64 << (m - a));
    // y_inv for leaf k is g^-bitrev_(m-a)(k): a table of g^-i, read in bit-reversed order.
    let powers = powers_table(g_inv, leaves);
    let bits = m - a;
    let twiddles = LeafTwiddles::new(zeta_inv, a);
    par::map_range(leaves, |k| {
        let mut chunk = [Ext::ZERO; 1 << 8];
        for (slot, &v) in chunk.iter_mut().zip(&codeword[k * width..(k + 1) * width]) {
            *slot = v.into();
        }
        fold_leaf(
            &mut chunk[..width],
            powers[reverse_bits(k, bits)],
            &twiddles,
            alphas,
        )
    })
}

/// [`fold_codeword`] for the committed (base-field) codeword: the first level of each leaf
/// folds base-field pairs, where `u + v` and `(u - v) x^-1` stay in the base field and only the
/// combination with `α` is an extension product (same values as the generic fold).
fn fold_base_codeword(codeword: &[Fp], m: u32, alphas: &[Ext]) -> Vec<Ext> {
    let Some((&first, rest)) = alphas.split_first() else {
        return codeword.iter().map(|&v| v.into()).collect();
    };
    let a = alphas.len() as u32;
    let width = 1usize << a;
    let leaves = codeword.len() / width;
    let g_inv = Fp::two_adic_generator(m).inverse().unwrap_or(Fp::ONE);
    let zeta_inv = g_inv.pow(1u64 << (m - a));
    let powers = powers_table(g_inv, leaves);
    let bits = m - a;
    let twiddles = LeafTwiddles::new(zeta_inv, a);
    // The remaining levels see the leaf's base point squared and the twiddles from level 1 on;
    // their fold halves `a - 1` times, this first level once (applied here, in the base field).
    let rest_twiddles = LeafTwiddles {
        levels: twiddles.levels[1..].to_vec(),
        halving: INV2.pow(a as u64 - 1),
    };
    let inv2 = INV2;
    par::map_range(leaves, |k| {
        let y_inv = powers[reverse_bits(k, bits)];
        let leaf = &codeword[k * width..(k + 1) * width];
        let mut chunk = [Ext::ZERO; 1 << 7];
        for (s, slot) in chunk.iter_mut().take(width / 2).enumerate() {
            let x_inv = y_inv * twiddles.levels[0][s];
            let (u, v) = (leaf[2 * s], leaf[2 * s + 1]);
            let half_sum = (u + v) * inv2;
            let half_diff = (u - v) * x_inv * inv2;
            *slot = Ext::from(half_sum) + first * (half_diff - half_sum);
        }
        fold_leaf(
            &mut chunk[..width / 2],
            y_inv.square(),
            &rest_twiddles,
            rest,
        )
    })
}

/// `[1, g, g^2, ..., g^(n-1)]`.
fn powers_table(g: Fp, n: usize) -> Vec<Fp> {
    let chunk = n.div_ceil(64).max(1);
    let mut out = vec![Fp::ZERO; n];
    par::for_each_chunk(&mut out, chunk, |c, slots| {
        let mut w = g.pow((c * chunk) as u64);
        for slot in slots.iter_mut() {
            *slot = w;
            w *= g;
        }
    });
    out
}

/// `E = sum_k γ^k eq(z_k, .)` over the whole hypercube (each claim's table sits on its
/// block).
fn build_eq_sum(claims: &[Claim], n: usize, gamma: Ext) -> Vec<Ext> {
    let mut e = vec![Ext::ZERO; 1 << n];
    let mut coeff = Ext::ONE;
    for c in claims {
        let m = c.point.len();
        let table = par::eq_table_scaled(&c.point, coeff);
        let base = c.block << m;
        par::fill_chunks(
            &mut e[base..base + (1 << m)],
            par::MIN_TASK_LEN,
            1,
            |at, slots| {
                for (slot, t) in slots.iter_mut().zip(&table[at..]) {
                    *slot += *t;
                }
            },
        );
        coeff *= gamma;
    }
    e
}

/// Proves the `claims` about a committed polynomial. The claimed values must already be bound
/// into the transcript (sent by the caller).
pub fn open(committed: &Committed, claims: &[Claim], params: &PcsParams, ch: &mut ProverChannel) {
    let n = committed.n as usize;
    let gamma = ch.challenge_ext(b"pcs-gamma");
    let e = build_eq_sum(claims, n, gamma);
    // The values stay in the base field until the first round binds a variable: that round's
    // products are base-by-extension, and its fold produces the extension table directly.
    // Afterwards `P` and `E` are kept as pairs, and each fold also sums the next round.
    let schedule = params.schedule(committed.n);
    let values = &committed.values;
    let mut sums = product_round_base(values, &e);
    let mut tables: Option<Vec<[Ext; 2]>> = None;

    let mut log_size = committed.n + params.log_blowup;
    // The committed folded codewords; the last one is the next to fold.
    let mut trees: Vec<MerkleTree> = Vec::new();
    let mut oracles: Vec<Vec<Ext>> = Vec::new();
    for (b, &bits) in schedule.iter().enumerate() {
        let mut alphas = Vec::with_capacity(bits as usize);
        for _ in 0..bits {
            ch.send_exts(b"pcs-sumcheck", &sums);
            let alpha = ch.challenge_ext(b"pcs-alpha");
            let (next, next_sums) = match &tables {
                None => fold_product(values.len(), |i| {
                    let (p0, p1, e0, e1) =
                        (values[2 * i], values[2 * i + 1], e[2 * i], e[2 * i + 1]);
                    [Ext::from(p0) + alpha * (p1 - p0), e0 + alpha * (e1 - e0)]
                }),
                Some(t) => fold_product(t.len(), |i| {
                    let ([p0, e0], [p1, e1]) = (t[2 * i], t[2 * i + 1]);
                    [p0 + alpha * (p1 - p0), e0 + alpha * (e1 - e0)]
                }),
            };
            tables = Some(next);
            sums = next_sums;
            alphas.push(alpha);
        }
        log_size -= bits;
        // The last fold's codeword is checked against the clear message, never committed.
        let Some(&next_bits) = schedule.get(b + 1) else {
            break;
        };
        let folded = match oracles.last() {
            None => fold_base_codeword(&committed.codeword, log_size + bits, &alphas),
            Some(o) => fold_codeword(o, log_size + bits, &alphas),
        };
        let tree = MerkleTree::new(leaf_digests(&folded, next_bits, ext_bytes));
        ch.send_digest(b"pcs-fold-root", &tree.root());
        trees.push(tree);
        oracles.push(folded);
    }
    let p: Vec<Ext> = match &tables {
        None => values.iter().map(|&v| v.into()).collect(),
        Some(t) => t.iter().map(|pair| pair[0]).collect(),
    };
    ch.send_exts(b"pcs-final", &p);
    ch.grind(params.grinding_bits);

    let first_bits = schedule.first().copied().unwrap_or(0);
    let leaves0 = committed.codeword.len() >> first_bits;
    let queries: Vec<usize> = (0..params.queries)
        .map(|_| ch.challenge_bits(b"pcs-query", leaves0.trailing_zeros()) as usize)
        .collect();

    // Oracle 0 (base field).
    let mut positions = sorted_unique(&queries);
    let width = 1usize << first_bits;
    for &k in &positions {
        for &v in &committed.codeword[k * width..(k + 1) * width] {
            ch.send_fp(b"pcs-leaf", v);
        }
    }
    committed.tree.open(&positions, ch);
    // Folded oracles (extension field): the value of leaf k sits at index k. The verifier has
    // folded every opened leaf of the previous oracle itself, so the values at those indices
    // are left out of the opened leaves; it puts its own in before hashing.
    for (i, (tree, oracle)) in trees.iter().zip(&oracles).enumerate() {
        let bits = schedule[i + 1];
        let width = 1usize << bits;
        let known = positions;
        positions = sorted_unique(&known.iter().map(|&k| k >> bits).collect::<Vec<_>>());
        for &leaf in &positions {
            let unknown: Vec<Ext> = (leaf * width..(leaf + 1) * width)
                .filter(|k| known.binary_search(k).is_err())
                .map(|k| oracle[k])
                .collect();
            ch.send_exts(b"pcs-leaf", &unknown);
        }
        tree.open(&positions, ch);
    }
}

fn sorted_unique(v: &[usize]) -> Vec<usize> {
    let mut out = v.to_vec();
    out.sort_unstable();
    out.dedup();
    out
}

/// Verifies the `claims` about the polynomial in `n` variables committed under `root`.
pub fn verify(
    root: &Digest,
    n: u32,
    claims: &[Claim],
    params: &PcsParams,
    ch: &mut VerifierChannel<'_>,
) -> Result<(), VerifyError> {
    let nu = n as usize;
    for c in claims {
        if c.point.len() > nu || (c.block >> (nu - c.point.len()).min(63)) != 0 {
            return Err(VerifyError::Relation(
                "commitment claim outside the polynomial".into(),
            ));
        }
    }
    let gamma = ch.challenge_ext(b"pcs-gamma");
    let mut claim = {
        let mut sum = Ext::ZERO;
        let mut coeff = Ext::ONE;
        for c in claims {
            sum += coeff * c.value;
            coeff *= gamma;
        }
        sum
    };
    let schedule = params.schedule(n);
    let mut alphas: Vec<Ext> = Vec::new();
    let mut roots: Vec<Digest> = Vec::new();
    for (b, &bits) in schedule.iter().enumerate() {
        for _ in 0..bits {
            let msg = ch.recv_exts(b"pcs-sumcheck", 2)?;
            let alpha = ch.challenge_ext(b"pcs-alpha");
            claim = interpolate_at(&[msg[0], claim - msg[0], msg[1]], alpha);
            alphas.push(alpha);
        }
        if b + 1 < schedule.len() {
            roots.push(ch.recv_digest(b"pcs-fold-root")?);
        }
    }
    let rounds = alphas.len();
    let final_vars = nu - rounds;
    let final_msg = ch.recv_exts(b"pcs-final", 1 << final_vars)?;

    // Finish the sumcheck: claim = sum_b P_R(b) E_R(b).
    let mut e_final = vec![Ext::ZERO; 1 << final_vars];
    let mut coeff = Ext::ONE;
    for c in claims {
        let full = c.full_point(nu);
        let w = coeff * eq_eval(&full[..rounds], &alphas);
        for (slot, t) in e_final.iter_mut().zip(eq_table(&full[rounds..])) {
            *slot += w * t;
        }
        coeff *= gamma;
    }
    let sum: Ext = final_msg.iter().zip(&e_final).map(|(a, b)| *a * *b).sum();
    if sum != claim {
        return Err(VerifyError::Sumcheck {
            label: "commitment opening",
            round: rounds,
            rounds,
        });
    }

    ch.check_grind(params.grinding_bits)?;
    let mut log_size = n + params.log_blowup;
    let first_bits = schedule.first().copied().unwrap_or(0);
    let leaves0 = 1usize << (log_size - first_bits);
    let queries: Vec<usize> = (0..params.queries)
        .map(|_| ch.challenge_bits(b"pcs-query", leaves0.trailing_zeros()) as usize)
        .collect();

    // Oracle 0: read leaves and check the Merkle opening.
    let mut positions = sorted_unique(&queries);
    let mut opened: Vec<Vec<Ext>> = Vec::with_capacity(positions.len());
    let mut digests = Vec::with_capacity(positions.len());
    for _ in &positions {
        let mut vals = Vec::with_capacity(1 << first_bits);
        let mut bytes = Vec::with_capacity(8 << first_bits);
        for _ in 0..1usize << first_bits {
            let v = ch.recv_fp(b"pcs-leaf")?;
            bytes.extend_from_slice(&v.to_le_bytes());
            vals.push(Ext::from(v));
        }
        digests.push(hash_leaf(&bytes));
        opened.push(vals);
    }
    verify_opening(
        root,
        log_size - first_bits,
        &positions,
        &digests,
        "codeword",
        ch,
    )?;

    // Fold each opened leaf; `folded` holds (index in the next codeword, value).
    let mut alpha_pos = 0;
    let mut bits = first_bits;
    let mut folded = fold_opened(&positions, opened, log_size, &alphas[..bits as usize]);
    alpha_pos += bits as usize;
    log_size -= bits;
    for (i, root_i) in roots.iter().enumerate() {
        bits = schedule[i + 1];
        let width = 1usize << bits;
        let next: Vec<usize> =
            sorted_unique(&folded.iter().map(|&(k, _)| k >> bits).collect::<Vec<_>>());
        let mut leaves: Vec<Vec<Ext>> = Vec::with_capacity(next.len());
        let mut digests = Vec::with_capacity(next.len());
        // `folded` is sorted by index: the values this verifier folded, leaf by leaf. They fill
        // their slots of the opened leaves; the Merkle check below then covers them, so a
        // committed value that differs from the fold fails as a wrong leaf.
        let mut own = folded.iter().peekable();
        for &leaf in &next {
            let mut vals = vec![Ext::ZERO; width];
            let mut is_known = vec![false; width];
            while let Some(&&(k, v)) = own.peek() {
                if k >> bits != leaf {
                    break;
                }
                vals[k & (width - 1)] = v;
                is_known[k & (width - 1)] = true;
                own.next();
            }
            let unknown = is_known.iter().filter(|&&known| !known).count();
            let mut sent = ch.recv_exts(b"pcs-leaf", unknown)?.into_iter();
            for (slot, known) in vals.iter_mut().zip(&is_known) {
                if !known {
                    *slot = sent.next().unwrap_or(Ext::ZERO);
                }
            }
            let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
            digests.push(hash_leaf(&bytes));
            leaves.push(vals);
        }
        verify_opening(
            root_i,
            log_size - bits,
            &next,
            &digests,
            "folded codeword",
            ch,
        )?;
        folded = fold_opened(
            &next,
            leaves,
            log_size,
            &alphas[alpha_pos..alpha_pos + bits as usize],
        );
        positions = next;
        alpha_pos += bits as usize;
        log_size -= bits;
    }
    let _ = positions;
    // Last: compare with the clear message, read as the coefficients of the final function, at
    // the natural-order point of each bit-reversed index.
    let g = Fp::two_adic_generator(log_size);
    for (q, &(k, v)) in folded.iter().enumerate() {
        let x = g.pow(reverse_bits(k, log_size) as u64);
        let want = final_msg
            .iter()
            .rev()
            .fold(Ext::ZERO, |acc, &c| acc * x + c);
        if want != v {
            return Err(VerifyError::Opening {
                query: q,
                detail: "final message mismatch",
            });
        }
    }
    Ok(())
}

/// Folds opened leaves (at leaf indices `positions` of a codeword of `2^log_size` points).
fn fold_opened(
    positions: &[usize],
    leaves: Vec<Vec<Ext>>,
    log_size: u32,
    alphas: &[Ext],
) -> Vec<(usize, Ext)> {
    let a = alphas.len() as u32;
    let g_inv = Fp::two_adic_generator(log_size)
        .inverse()
        .unwrap_or(Fp::ONE);
    let twiddles = LeafTwiddles::new(g_inv.pow(1u64 << (log_size - a)), a);
    positions
        .iter()
        .zip(leaves)
        .map(|(&k, mut vals)| {
            let y_inv = g_inv.pow(reverse_bits(k, log_size - a) as u64);
            (k, fold_leaf(&mut vals, y_inv, &twiddles, alphas))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Transcript;
    use crate::mle::evaluate_base;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn rand_ext(rng: &mut impl Rng) -> Ext {
        Ext::new(Fp::new(rng.r#gen()), Fp::new(rng.r#gen()))
    }

    fn params() -> PcsParams {
        PcsParams {
            queries: 30,
            grinding_bits: 4,
            ..PcsParams::default()
        }
    }

    fn setup(n: u32, seed: u64) -> (Vec<Fp>, Vec<Claim>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let values: Vec<Fp> = (0..1u64 << n)
            .map(|_| Fp::new(rng.r#gen::<u64>() % 1000))
            .collect();
        let mut claims = Vec::new();
        // A full-width claim and a segment claim on the upper half.
        let point: Vec<Ext> = (0..n).map(|_| rand_ext(&mut rng)).collect();
        claims.push(Claim {
            value: evaluate_base(&values, &point),
            point,
            block: 0,
        });
        if n >= 1 {
            let m = n as usize - 1;
            let point: Vec<Ext> = (0..m).map(|_| rand_ext(&mut rng)).collect();
            let upper = &values[1 << m..];
            claims.push(Claim {
                value: evaluate_base(upper, &point),
                point,
                block: 1,
            });
        }
        (values, claims)
    }

    fn prove_and_verify(
        n: u32,
        seed: u64,
        tamper: impl Fn(&mut Vec<u8>, &mut Vec<Claim>),
    ) -> Result<usize, VerifyError> {
        let (values, mut claims) = setup(n, seed);
        let p = params();
        let t = Transcript::new(b"pcs-test");
        let mut pc = ProverChannel::new(t.clone());
        let committed = commit(values, &p, &mut pc);
        open(&committed, &claims, &p, &mut pc);
        let mut proof = pc.finish();
        let size = proof.len();
        tamper(&mut proof, &mut claims);
        let mut vc = VerifierChannel::new(t, &proof, 1 << 24)?;
        let root = receive_commitment(&mut vc)?;
        verify(&root, n, &claims, &p, &mut vc)?;
        vc.finish()?;
        Ok(size)
    }

    /// The base-field first fold computes exactly what the generic fold computes.
    #[test]
    fn base_field_fold_matches_the_generic_fold() {
        let mut rng = ChaCha8Rng::seed_from_u64(77);
        for (m, a) in [(6u32, 1usize), (8, 3), (10, 4), (9, 8)] {
            let codeword: Vec<Fp> = (0..1usize << m).map(|_| Fp::new(rng.r#gen())).collect();
            let alphas: Vec<Ext> = (0..a).map(|_| rand_ext(&mut rng)).collect();
            assert_eq!(
                fold_base_codeword(&codeword, m, &alphas),
                fold_codeword(&codeword, m, &alphas),
                "m={m}, a={a}"
            );
        }
    }

    #[test]
    fn honest_openings_verify_for_many_sizes() {
        // 15: large enough for the folds and sums to split over threads.
        for n in [0, 1, 3, 4, 5, 7, 10, 12, 15] {
            prove_and_verify(n, n as u64, |_, _| {}).unwrap_or_else(|e| panic!("n={n}: {e}"));
        }
    }

    #[test]
    fn wrong_claimed_values_are_rejected() {
        for n in [0, 4, 9] {
            let r = prove_and_verify(n, 1, |_, claims| claims[0].value += Ext::ONE);
            assert!(r.is_err(), "n={n}");
        }
    }

    #[test]
    fn tampered_proof_bytes_are_rejected() {
        let size = prove_and_verify(9, 2, |_, _| {}).unwrap();
        for i in (0..size).step_by(size / 97) {
            let r = prove_and_verify(9, 2, |proof, _| proof[i] ^= 0x20);
            assert!(r.is_err(), "byte {i} of {size} flipped but accepted");
        }
    }

    #[test]
    fn every_size_reaches_100_bits() {
        assert!(PcsParams::default().query_security_bits() >= 100.0);
        for n in 0..26 {
            let p = PcsParams::for_size(n);
            assert!(
                p.query_security_bits() >= 100.0,
                "n = {n}: {}",
                p.query_security_bits()
            );
        }
    }
}
