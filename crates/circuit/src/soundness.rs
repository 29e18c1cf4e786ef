//! The soundness error of a circuit's proof, counted from every term of the protocol.
//!
//! A cheating prover wins if one of these events happens (the union bound adds them):
//!
//! * **Query phase** of the commitment (unique-decoding regime, `δ = (1 - ρ) / 2`):
//!   `(1 - δ)^q 2^-g` with `q` queries and `g` bits of proof of work.
//! * **Folding**: each folding challenge `α_j` of the commitment is a random point on the line
//!   `(f_e, f_o)` of the codeword it folds; by the unique-decoding proximity gap of Reed–Solomon
//!   codes (Ben-Sasson et al. 2020, Thm 1.2) a far line has a close point with probability at
//!   most its block length over `|Fp2|`. We charge the length before folding, `2^(n + b - j)`.
//! * **Sumchecks**: each round of a degree-`d` sumcheck errs with probability `d / |Fp2|`:
//!   the relations' sumchecks, every layer of the LogUp GKR and the commitment's opening.
//! * **LogUp**: per table, the rational identity in `(α, β)` has total degree at most
//!   `L + R` for `L` lookups and `R <= min(rows, L)` declared rows: `(L + R) / |Fp2|`.
//! * **Random points and batching**: a fresh point `τ` of `m` coordinates meets a non-zero
//!   multilinear polynomial with probability `m / |Fp2|`; the GKR's `λ` and `μ` add `1 / |Fp2|`
//!   per layer; a batching challenge over `k` claims adds `(k - 1) / |Fp2|` (the lookup
//!   argument's `ρ`, weighing `K` tables' identities into one, counts as a batching over `K`).
//!
//! The counts come from the plan alone, walking the nodes in the verifier's order and counting
//! the claims each relation leaves on each tensor. A test checks the walk against the verifier:
//! the number of extension challenges it predicts is the number a real verification draws.

use omron_ir::Op;
use omron_zk::field::P;
use omron_zk::pcs::PcsParams;

use crate::layout::Layout;
use crate::plan::{Plan, Role};
use crate::relations::wiring::same_positions;

/// One term of the soundness error.
#[derive(Debug, Clone, PartialEq)]
pub struct SoundnessTerm {
    /// What the term bounds.
    pub name: &'static str,
    /// `-log2` of its probability.
    pub bits: f64,
    /// How it was counted.
    pub detail: String,
}

/// The soundness error of a circuit, term by term.
#[derive(Debug, Clone, PartialEq)]
pub struct SoundnessReport {
    /// `-log2` of the sum of every term: the circuit's security in bits.
    pub bits_total: f64,
    /// The terms, largest error first as listed in `docs/proof-system.md` §7.
    pub terms: Vec<SoundnessTerm>,
    /// Extension-field challenges a verification draws (the count the terms rest on).
    pub ext_challenges: u64,
}

/// Counts of the protocol's random events, gathered by [`walk`].
#[derive(Debug, Default)]
struct Tally {
    /// Sumcheck rounds (one challenge each).
    rounds: u64,
    /// Sum of `degree` over those rounds (the numerator of their error).
    round_degrees: u64,
    /// Point coordinates and single challenges of degree 1 (`τ`, GKR `λ` and `μ`).
    points: u64,
    /// Batching challenges drawn.
    batchings: u64,
    /// Sum of `claims - 1` over them.
    batching_degrees: u64,
    /// Lookups per table.
    lookups: Vec<u64>,
    /// Claims left on committed tensors for the opening.
    opening_claims: u64,
}

impl Tally {
    fn sumcheck(&mut self, vars: usize, degree: u64) {
        self.rounds += vars as u64;
        self.round_degrees += vars as u64 * degree;
    }

    fn batch(&mut self, claims: u64) {
        if claims > 1 {
            self.batchings += 1;
            self.batching_degrees += claims - 1;
        }
    }
}

/// Walks the protocol as the verifier does, counting claims instead of checking them.
fn walk(plan: &Plan, graph: &omron_ir::Graph) -> Tally {
    let mut t = Tally {
        lookups: vec![0; plan.tables.len()],
        ..Tally::default()
    };
    let mut pending = vec![0u64; plan.tensors.len()];
    let add = |pending: &mut Vec<u64>, tensor: usize, n: u64| {
        if !plan.role(tensor).is_public() {
            pending[tensor] += n;
        }
    };
    if !plan.lookups.is_empty() {
        // ρ weighs the tables' identities into one (a batching over the tables).
        t.batch(plan.tables.len() as u64);
        // One GKR over every lookup's leaves, concatenated.
        let leaves: usize = plan
            .lookups
            .iter()
            .map(|inst| Layout::new(&inst.input.shape).padded_len())
            .sum();
        for k in 0..leaves.max(1).next_power_of_two().trailing_zeros() as usize {
            t.points += 2; // λ and μ
            t.sumcheck(k, 3);
        }
    }
    for inst in &plan.lookups {
        let layout = Layout::new(&inst.input.shape);
        t.lookups[inst.table] += layout.numel() as u64;
        for &(tensor, _) in &inst.input.terms {
            add(&mut pending, tensor, 1);
        }
        if let Some(o) = inst.output {
            add(&mut pending, o, 1);
        }
    }
    for (index, node) in graph.nodes.iter().enumerate().rev() {
        let out = node.output;
        let settled = matches!(
            node.op,
            Op::Lookup(_)
                | Op::WideLookup { .. }
                | Op::Rescale { .. }
                | Op::DivRound { .. }
                | Op::DivFloor { .. }
        );
        let k = match plan.role(out) {
            Role::Virtual => std::mem::take(&mut pending[out]),
            Role::Committed | Role::Output(_) if !settled => {
                t.points += plan.layout(out).num_vars() as u64;
                add(&mut pending, out, 1);
                1
            }
            _ => 0,
        };
        relation(plan, graph, index, k, &mut t, &mut |tensor, n| {
            add(&mut pending, tensor, n)
        });
    }
    t.opening_claims = plan.segments.iter().map(|s| pending[s.tensor]).sum();
    t
}

/// The claims and challenges of one node's relation for `k` claims on its output (mirrors
/// `relations::verify_node`).
fn relation(
    plan: &Plan,
    graph: &omron_ir::Graph,
    index: usize,
    k: u64,
    t: &mut Tally,
    add: &mut dyn FnMut(usize, u64),
) {
    let node = &graph.nodes[index];
    let aux = plan.aux[index];
    let is_div = matches!(node.op, Op::Div { .. } | Op::IntDiv { .. });
    if k == 0 && !is_div {
        return;
    }
    let vars = |tensor: usize| plan.layout(tensor).num_vars();
    let (x, out) = (node.inputs[0], node.output);
    let scalar = |tensor: usize| {
        plan.role(tensor) == Role::Const
            && graph.tensors[tensor]
                .const_data()
                .is_some_and(|d| d.len() == 1)
    };
    match &node.op {
        Op::MatMul => {
            t.batch(k);
            t.sumcheck(plan.layout(node.inputs[1]).bits[1] as usize, 2);
            add(x, k);
        }
        Op::BatchMatMul => {
            let (a, b) = (node.inputs[0], node.inputs[1]);
            let bits = &plan.layout(a).bits;
            let batch: u32 = bits[..bits.len() - 2].iter().sum();
            t.batch(k);
            t.sumcheck((bits[bits.len() - 1] + batch) as usize, 3);
            add(a, k);
            add(b, k);
        }
        // Checked by direct evaluation of public operands: no challenge, no claim.
        Op::Embedding => {}
        Op::Conv(_) => {
            let w = &plan.layout(node.inputs[1]).bits;
            t.batch(k);
            t.sumcheck((w[1] + w[2] + w[3]) as usize, 2);
            t.batch(k);
            t.sumcheck(vars(x), 2);
            add(x, 1);
        }
        Op::Add | Op::Sub => {
            add(x, k);
            add(node.inputs[1], k);
        }
        Op::Mul if scalar(x) || scalar(node.inputs[1]) => {
            add(if scalar(x) { node.inputs[1] } else { x }, k);
        }
        Op::Mul => {
            t.batch(k);
            t.sumcheck(vars(out), 3);
            add(x, 1);
            add(node.inputs[1], 1);
        }
        Op::Div { .. } | Op::IntDiv { .. } => {
            let b = node.inputs[1];
            for _ in 0..k {
                aux.remainder.into_iter().for_each(|r| add(r, 1));
                add(x, 1);
                t.sumcheck(vars(out), 3);
                add(out, 1);
                add(b, 1);
            }
            t.points += vars(out) as u64;
            aux.slack.into_iter().for_each(|s| add(s, 1));
            add(b, 1);
            aux.remainder.into_iter().for_each(|r| add(r, 1));
        }
        Op::Max | Op::Min => {
            let kept = if matches!(node.op, Op::Max) {
                node.inputs[1]
            } else {
                x
            };
            add(kept, k);
            if let Some(r) = aux.relu {
                add(r, k);
            }
        }
        Op::Transpose { .. } => add(x, k),
        Op::Reshape { .. } if same_positions(plan.layout(x), plan.layout(out)) => add(x, k),
        Op::Reshape { .. }
        | Op::Slice { .. }
        | Op::Concat { .. }
        | Op::Pad { .. }
        | Op::Gather { .. }
        | Op::ReduceSum { .. }
        | Op::SumPool { .. } => {
            t.batch(k);
            for &input in &node.inputs {
                t.sumcheck(vars(input), 2);
                add(input, 1);
            }
        }
        Op::Lookup(_)
        | Op::WideLookup { .. }
        | Op::Rescale { .. }
        | Op::DivRound { .. }
        | Op::DivFloor { .. } => {}
    }
}

/// `|Fp2| = p^2`.
fn ext_field_size() -> f64 {
    (P as f64) * (P as f64)
}

fn bits(probability: f64) -> f64 {
    -probability.log2()
}

/// The soundness report of `plan` (for `graph`) under commitment parameters `params`.
pub(crate) fn report(plan: &Plan, graph: &omron_ir::Graph, params: &PcsParams) -> SoundnessReport {
    let t = walk(plan, graph);
    let field = ext_field_size();
    let n = plan.commit_vars;
    let fold_rounds: u32 = params.schedule(n).iter().sum();

    let query = (-params.query_security_bits()).exp2();
    let folding: f64 = (0..fold_rounds)
        .map(|j| ((n + params.log_blowup - j) as f64).exp2())
        .sum::<f64>()
        / field;
    // The opening's sumcheck has one degree-2 round per folded variable.
    let rounds = t.rounds + fold_rounds as u64;
    let round_degrees = t.round_degrees + 2 * fold_rounds as u64;
    let sumchecks = round_degrees as f64 / field;
    let logup_degree: u64 = t
        .lookups
        .iter()
        .zip(&plan.tables)
        .map(|(&l, spec)| l + spec.rows().min(l))
        .sum();
    let logup = logup_degree as f64 / field;
    // The opening batches its claims with one more challenge, drawn even for one claim.
    let batching_degree = t.batching_degrees + t.opening_claims.saturating_sub(1);
    let points = (t.points + batching_degree) as f64 / field;

    let terms = vec![
        SoundnessTerm {
            name: "query phase",
            bits: bits(query),
            detail: format!(
                "{} queries at rate 2^-{}, {} bits of proof of work",
                params.queries, params.log_blowup, params.grinding_bits
            ),
        },
        SoundnessTerm {
            name: "folding",
            bits: bits(folding),
            detail: format!(
                "{fold_rounds} folds of a 2^{} codeword",
                n + params.log_blowup
            ),
        },
        SoundnessTerm {
            name: "LogUp",
            bits: bits(logup),
            detail: format!(
                "{} tables, lookups + declared rows <= {logup_degree}",
                plan.tables.len()
            ),
        },
        SoundnessTerm {
            name: "sumchecks",
            bits: bits(sumchecks),
            detail: format!("{rounds} rounds, total degree {round_degrees}"),
        },
        SoundnessTerm {
            name: "points and batching",
            bits: bits(points),
            detail: format!(
                "{} point coordinates; {} batching challenges, total degree {batching_degree}",
                t.points,
                t.batchings + 1
            ),
        },
    ];
    let total = query + folding + sumchecks + logup + points;
    // α and β, the opening's γ, one challenge per sumcheck round, the rest as counted.
    let ext_challenges = 2 + 1 + rounds + t.points + t.batchings;
    SoundnessReport {
        bits_total: bits(total),
        terms,
        ext_challenges,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use omron_ir::{GraphBuilder, LookupFn, LookupKind};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::{Circuit, InputData, StoredCircuit, pow_nonce, request_context};

    /// Proves and verifies, and checks the walk predicted every challenge the verifier drew.
    fn check_count(circuit: &Circuit, inputs: &[Vec<i64>], context: &[u8]) {
        let proof = circuit.prove(inputs, context).expect("proves");
        let (_, drawn) = circuit
            .verify_counting(inputs, &proof.proof, context)
            .expect("verifies");
        let report = circuit.soundness();
        assert_eq!(
            report.ext_challenges,
            drawn,
            "{}: the soundness walk must count exactly the verifier's challenges",
            circuit.name()
        );
        assert!(
            report.bits_total >= MIN_BITS,
            "{}: {report:?}",
            circuit.name()
        );
    }

    const MIN_BITS: f64 = crate::MIN_SECURITY_BITS;

    /// One small graph with most relations: products, max/min, transpose, both kinds of
    /// reshape, concat, pad, gather, reduce, slice, integer and constant divisions, lookups.
    #[test]
    fn the_walk_counts_every_challenge_of_many_relations() {
        let mut g = GraphBuilder::new();
        let x = g.input("x", &[2, 3], 8);
        let relu = LookupFn {
            kind: LookupKind::Relu,
            in_scale: 8,
            out_scale: 8,
        };
        let node = |g: &mut GraphBuilder, name: &str, op: Op, inputs: &[usize]| {
            g.node(name, op, inputs).expect("valid node")
        };
        let a = node(&mut g, "a", Op::Add, &[x, x]);
        let m = node(&mut g, "m", Op::Mul, &[x, x]);
        let r = node(&mut g, "r", Op::Rescale { shift: 8 }, &[m]);
        let two = g.scalar("two", 0, 2);
        let d = node(&mut g, "d", Op::Mul, &[r, two]);
        let mx = node(&mut g, "mx", Op::Max, &[a, d]);
        let mn = node(&mut g, "mn", Op::Min, &[x, r]);
        let l = node(&mut g, "l", Op::Lookup(relu), &[mn]);
        let t = node(&mut g, "t", Op::Transpose { perm: vec![1, 0] }, &[mx]);
        let flat = node(&mut g, "flat", Op::Reshape { shape: vec![6] }, &[t]);
        let c = node(&mut g, "c", Op::Concat { axis: 0 }, &[a, l]);
        let p = node(
            &mut g,
            "p",
            Op::Pad {
                pads: vec![[1, 0], [0, 1]],
                value: 3,
            },
            &[c],
        );
        let ga = node(
            &mut g,
            "ga",
            Op::Gather {
                axis: 1,
                indices: vec![2, 0],
            },
            &[p],
        );
        let s = node(
            &mut g,
            "s",
            Op::ReduceSum {
                axes: vec![0],
                keepdims: false,
            },
            &[ga],
        );
        let dr = node(&mut g, "dr", Op::DivRound { divisor: 3 }, &[s]);
        let sl = node(
            &mut g,
            "sl",
            Op::Slice {
                starts: vec![0, 1],
                ends: vec![2, 3],
                steps: vec![1, 1],
            },
            &[x],
        );
        let df = node(&mut g, "df", Op::DivFloor { divisor: 5 }, &[sl]);
        let den = g.constant("den", &[2, 3], 0, vec![1, 2, 3, 4, 5, 6]);
        let q = node(
            &mut g,
            "q",
            Op::IntDiv {
                den_bits: 8,
                quot_bits: 20,
            },
            &[a, den],
        );
        let graph = g.finish(&[flat, dr, df, q]).expect("valid graph");
        let circuit = Circuit::compile("many", graph).expect("compiles");
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let input: Vec<i64> = (0..6).map(|_| rng.gen_range(-100..=100)).collect();
        check_count(&circuit, &[input], b"ctx");
    }

    /// The transformer relations: an embedding, batched products of computed tensors (one
    /// operand transposed, one range-checked by the plan), broadcast products and a softmax
    /// division; the walk agrees with the verifier.
    #[test]
    fn the_walk_counts_the_transformer_relations() {
        let mut g = GraphBuilder::new();
        let ids = g.input("ids", &[4], 0);
        let table: Vec<i64> = (0..6 * 4).map(|i| (i * 29) % 61 - 30).collect();
        let wte = g.constant("wte", &[6, 4], 6, table);
        let node = |g: &mut GraphBuilder, name: &str, op: Op, inputs: &[usize]| {
            g.node(name, op, inputs).expect("valid node")
        };
        let x = node(&mut g, "embed", Op::Embedding, &[ids, wte]);
        let h = node(
            &mut g,
            "h",
            Op::Reshape {
                shape: vec![2, 2, 4],
            },
            &[x],
        );
        let ht = node(
            &mut g,
            "ht",
            Op::Transpose {
                perm: vec![0, 2, 1],
            },
            &[h],
        );
        let scores = node(&mut g, "qk", Op::BatchMatMul, &[h, ht]);
        let s = node(&mut g, "s", Op::Rescale { shift: 6 }, &[scores]);
        let sum = node(
            &mut g,
            "sum",
            Op::ReduceSum {
                axes: vec![2],
                keepdims: true,
            },
            &[s],
        );
        // p = s sum 2^8 / (sum(s^2) + 1): broadcast products and a per-row divisor.
        let num = node(&mut g, "num", Op::Mul, &[s, sum]);
        let sq = node(&mut g, "sq", Op::Mul, &[s, s]);
        let energy = node(
            &mut g,
            "energy",
            Op::ReduceSum {
                axes: vec![2],
                keepdims: true,
            },
            &[sq],
        );
        let one = g.scalar("one", 12, 1);
        let den = node(&mut g, "den", Op::Add, &[energy, one]);
        let p = node(&mut g, "p", Op::Div { shift: 8 }, &[num, den]);
        // `p` is not known to be an activation: the plan range-checks it.
        let out = node(&mut g, "pv", Op::BatchMatMul, &[p, h]);
        let graph = g.finish(&[out]).expect("valid graph");
        let circuit = Circuit::compile("transformer", graph).expect("compiles");
        check_count(&circuit, &[vec![5, 0, 2, 5]], b"ctx");
    }

    /// The shipped circuits (matmul, convolution, pooling, LSTM gates, the scoring circuits):
    /// the walk agrees with the verifier and every one reaches the floor.
    #[test]
    fn shipped_circuits_are_counted_exactly_and_reach_100_bits() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../circuits");
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let miner = [3u8; 32];
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("circuits folder") {
            let path = entry.expect("entry").path();
            if !path.join(crate::VK_FILE).exists() {
                continue;
            }
            let sc = StoredCircuit::load(&path).expect("loads");
            seen += 1;
            if sc.is_proof_of_weights() {
                let inputs = sc.generate_pow_inputs(&mut rng).expect("pow inputs");
                let columns = sc.pow_columns(&inputs).expect("columns");
                check_count(
                    &sc.circuit,
                    &columns,
                    &request_context(&pow_nonce(&inputs), &miner),
                );
            } else {
                let req = sc.generate_input(&mut rng);
                let data = InputData {
                    input_data: req
                        .input_data
                        .iter()
                        .map(|v| serde_json::json!(v))
                        .collect(),
                };
                let inputs = data.quantise(&sc.circuit).expect("quantises");
                let nonce = req.nonce_bytes().expect("nonce");
                check_count(&sc.circuit, &inputs, &request_context(&nonce, &miner));
            }
        }
        assert!(seen >= 8, "every shipped circuit was checked ({seen})");
    }
}
