//! A compiled circuit: the quantised graph, its proof plan and its verifying key.

use omron_ir::{Graph, Op};
use omron_zk::Fp;
use omron_zk::fold::SmallInts;
use omron_zk::pcs::PcsParams;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::CircuitError;
use crate::plan::{Plan, Role};
use crate::soundness::{self, SoundnessReport};

/// Magic bytes opening a verifying key.
const VK_MAGIC: &[u8; 8] = b"OMRNVK01";

/// The commitment parameters as stored in a verifying key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitmentParams {
    /// `log2` of the inverse code rate.
    pub log_blowup: u32,
    /// Variables folded per committed codeword.
    pub fold_bits: u32,
    /// Variables sent in the clear at the end.
    pub final_bits: u32,
    /// Query count.
    pub queries: u32,
    /// Proof-of-work bits.
    pub grinding_bits: u32,
}

impl From<PcsParams> for CommitmentParams {
    fn from(p: PcsParams) -> CommitmentParams {
        CommitmentParams {
            log_blowup: p.log_blowup,
            fold_bits: p.fold_bits,
            final_bits: p.final_bits,
            queries: p.queries as u32,
            grinding_bits: p.grinding_bits,
        }
    }
}

impl From<CommitmentParams> for PcsParams {
    fn from(p: CommitmentParams) -> PcsParams {
        PcsParams {
            log_blowup: p.log_blowup,
            fold_bits: p.fold_bits,
            final_bits: p.final_bits,
            queries: p.queries as usize,
            grinding_bits: p.grinding_bits,
        }
    }
}

/// The minimum soundness a loadable circuit must reach, in bits, counting every term of the
/// protocol ([`Circuit::soundness`]), not only the commitment's query phase.
pub const MIN_SECURITY_BITS: f64 = 100.0;

/// How many queries [`Circuit::compile`] may add to [`PcsParams::for_size`]'s choice to reach
/// [`MIN_SECURITY_BITS`]; each adds at least 0.4 bits, so this is far more than any size needs.
const MAX_EXTRA_QUERIES: usize = 256;

/// Everything a verifier needs, serialised as the verifying key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct VkBody {
    name: String,
    params: CommitmentParams,
    graph: Graph,
}

/// A compiled circuit.
#[derive(Debug, Clone)]
pub struct Circuit {
    name: String,
    params: PcsParams,
    graph: Graph,
    plan: Plan,
    /// Padded values of each constant tensor (empty for the others).
    consts: Vec<Vec<Fp>>,
    /// Large constants again in 16 or 32 bits, for the passes over the weights (the
    /// verifier's evaluations, the prover's folds): a quarter of the memory traffic.
    small_consts: Vec<Option<SmallInts>>,
    vk: Vec<u8>,
    id: [u8; 32],
}

/// Constants of at least this many values get a narrow copy: below it the copy saves nothing.
const SMALL_CONST_MIN: usize = 1 << 12;

/// The narrow copies of the large constants (see [`SmallInts`]).
fn small_consts(consts: &[Vec<Fp>]) -> Vec<Option<SmallInts>> {
    consts
        .iter()
        .map(|c| {
            (c.len() >= SMALL_CONST_MIN)
                .then(|| SmallInts::new(c))
                .flatten()
        })
        .collect()
}

impl Circuit {
    /// Compiles a graph with commitment parameters chosen for its size
    /// ([`PcsParams::for_size`]), with as many more queries as the whole proof needs to reach
    /// [`MIN_SECURITY_BITS`] (none for most sizes: the other terms are small until the
    /// commitment is large).
    pub fn compile(name: &str, graph: Graph) -> Result<Circuit, CircuitError> {
        let plan = Plan::new(&graph)?;
        let mut params = PcsParams::for_size(plan.commit_vars);
        for _ in 0..MAX_EXTRA_QUERIES {
            if soundness::report(&plan, &graph, &params).bits_total >= MIN_SECURITY_BITS {
                break;
            }
            params.queries += 1;
        }
        Circuit::compile_with(name, graph, params)
    }

    /// Compiles a graph with explicit commitment parameters.
    pub fn compile_with(
        name: &str,
        graph: Graph,
        params: PcsParams,
    ) -> Result<Circuit, CircuitError> {
        let body = VkBody {
            name: name.to_string(),
            params: params.into(),
            graph,
        };
        let mut vk = VK_MAGIC.to_vec();
        vk.extend(
            postcard::to_stdvec(&body)
                .map_err(|e| CircuitError::Malformed(format!("cannot encode the circuit: {e}")))?,
        );
        Circuit::from_body(body, vk)
    }

    /// Loads a circuit from verifying-key bytes.
    pub fn from_vk_bytes(bytes: &[u8]) -> Result<Circuit, CircuitError> {
        let body = bytes.strip_prefix(VK_MAGIC.as_slice()).ok_or_else(|| {
            CircuitError::Malformed("not an omron verifying key (bad magic)".into())
        })?;
        let (decoded, rest): (VkBody, &[u8]) = postcard::take_from_bytes(body)
            .map_err(|e| CircuitError::Malformed(format!("verifying key does not decode: {e}")))?;
        if !rest.is_empty() {
            return Err(CircuitError::Malformed(format!(
                "verifying key has {} trailing bytes",
                rest.len()
            )));
        }
        Circuit::from_body(decoded, bytes.to_vec())
    }

    fn from_body(body: VkBody, vk: Vec<u8>) -> Result<Circuit, CircuitError> {
        let params: PcsParams = body.params.into();
        if params.fold_bits == 0
            || params.fold_bits > 8
            || params.log_blowup == 0
            || params.log_blowup > 8
            || params.final_bits > 12
        {
            return Err(CircuitError::Malformed(format!(
                "commitment parameters {:?} are out of range",
                body.params
            )));
        }
        let plan = Plan::new(&body.graph)?;
        if plan.commit_vars + params.log_blowup > 32 {
            return Err(CircuitError::Unsupported {
                node: body.name.clone(),
                op: "model".into(),
                reason: format!(
                    "{} committed values exceed the field's 2-adic domain",
                    plan.committed_len()
                ),
            });
        }
        let report = soundness::report(&plan, &body.graph, &params);
        if report.bits_total < MIN_SECURITY_BITS {
            return Err(CircuitError::Soundness {
                bits: report.bits_total,
                min: MIN_SECURITY_BITS,
                terms: report
                    .terms
                    .iter()
                    .map(|t| format!("{} {:.1}", t.name, t.bits))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let consts: Vec<Vec<Fp>> = (0..plan.tensors.len())
            .map(|t| {
                match (
                    plan.role(t),
                    body.graph.tensors.get(t).and_then(|d| d.const_data()),
                ) {
                    (Role::Const, Some(data)) => plan.layout(t).pad(data),
                    _ => Vec::new(),
                }
            })
            .collect();
        let small_consts = small_consts(&consts);
        let id: [u8; 32] = Sha256::digest(&vk).into();
        Ok(Circuit {
            name: body.name,
            params,
            graph: body.graph,
            plan,
            consts,
            small_consts,
            vk,
            id,
        })
    }

    /// The circuit id: SHA-256 of the verifying key.
    pub fn id(&self) -> [u8; 32] {
        self.id
    }

    /// The circuit id as lowercase hex.
    pub fn id_hex(&self) -> String {
        hex::encode(self.id)
    }

    /// The verifying-key bytes.
    pub fn vk_bytes(&self) -> &[u8] {
        &self.vk
    }

    /// The circuit's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The quantised graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The proof plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The commitment parameters.
    pub fn params(&self) -> &PcsParams {
        &self.params
    }

    /// The soundness error of this circuit's proofs, term by term
    /// (`docs/proof-system.md` §7); loading refuses circuits below [`MIN_SECURITY_BITS`].
    pub fn soundness(&self) -> SoundnessReport {
        soundness::report(&self.plan, &self.graph, &self.params)
    }

    pub(crate) fn consts(&self) -> &[Vec<Fp>] {
        &self.consts
    }

    pub(crate) fn small_consts(&self) -> &[Option<SmallInts>] {
        &self.small_consts
    }

    /// Fractional bits of each model input.
    pub fn input_scales(&self) -> Vec<u32> {
        self.graph
            .inputs
            .iter()
            .map(|&t| self.graph.tensors[t].scale)
            .collect()
    }

    /// Fractional bits of each model output.
    pub fn output_scales(&self) -> Vec<u32> {
        self.graph
            .outputs
            .iter()
            .map(|&t| self.graph.tensors[t].scale)
            .collect()
    }

    /// Op names and how often each occurs, sorted by name.
    pub fn op_counts(&self) -> Vec<(String, usize)> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for node in &self.graph.nodes {
            let name = match &node.op {
                Op::Lookup(f) => format!("Lookup({})", f.kind.name()),
                op => op.name().to_string(),
            };
            match counts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, c)) => *c += 1,
                None => counts.push((name, 1)),
            }
        }
        counts.sort();
        counts
    }
}

#[cfg(test)]
mod tests {
    use omron_ir::{LookupFn, LookupKind, Node, TensorDef, TensorKind};

    use super::*;

    /// A graph `x -> op -> (relu ->) y` built directly, bypassing the IR's builder checks.
    fn graph(op: Op, scale: u32, relu: bool, n: usize) -> Graph {
        let tensor = |name: &str, scale: u32, kind: TensorKind| TensorDef {
            name: name.into(),
            shape: vec![n],
            scale,
            kind,
        };
        let mut g = Graph {
            tensors: vec![
                tensor("x", scale, TensorKind::Input),
                tensor("q", 0, TensorKind::Computed),
            ],
            nodes: vec![Node {
                name: "forged".into(),
                op,
                inputs: vec![0],
                output: 1,
            }],
            inputs: vec![0],
            outputs: vec![1],
        };
        if relu {
            g.tensors.push(tensor("y", 0, TensorKind::Computed));
            g.nodes.push(Node {
                name: "relu".into(),
                op: Op::Lookup(LookupFn {
                    kind: LookupKind::Relu,
                    in_scale: 0,
                    out_scale: 0,
                }),
                inputs: vec![1],
                output: 2,
            });
            g.outputs = vec![2];
        }
        g
    }

    /// Verifying-key bytes for `graph`, written without compiling it.
    fn vk_bytes(graph: Graph, params: PcsParams) -> Vec<u8> {
        let body = VkBody {
            name: "forged".into(),
            params: params.into(),
            graph,
        };
        let mut vk = VK_MAGIC.to_vec();
        vk.extend(postcard::to_stdvec(&body).expect("encodes"));
        vk
    }

    /// The graphs of the review's five accepted forgeries (issue 12, F1), scaled so that the
    /// division's own scale check passes.
    fn forgeries() -> Vec<Graph> {
        vec![
            graph(Op::Rescale { shift: 49 }, 49, false, 4),
            graph(Op::Rescale { shift: 50 }, 50, false, 4),
            graph(Op::Rescale { shift: 51 }, 51, true, 4),
            graph(Op::DivRound { divisor: 1 << 52 }, 0, true, 4),
            graph(
                Op::DivFloor {
                    divisor: (1 << 62) - 1,
                },
                0,
                false,
                4,
            ),
        ]
    }

    fn assert_refused(result: Result<Circuit, CircuitError>, what: &str) {
        let e = result.expect_err(what).to_string();
        assert!(
            e.contains("'forged'") && e.contains("modulo the field"),
            "{what}: {e}"
        );
    }

    #[test]
    fn issue_12_f1_forgeries_are_refused_at_compile_and_at_load() {
        for g in forgeries() {
            let what = format!("{:?}", g.nodes[0].op);
            assert_refused(Circuit::compile("forged", g.clone()), &what);
            let vk = vk_bytes(g, PcsParams::default());
            assert_refused(Circuit::from_vk_bytes(&vk), &what);
        }
    }

    #[test]
    fn divisions_at_the_no_wrap_bound_compile() {
        let safe = [
            graph(Op::Rescale { shift: 48 }, 48, false, 4),
            graph(
                Op::DivRound {
                    divisor: omron_ir::MAX_DIV_ROUND_DIVISOR,
                },
                0,
                true,
                4,
            ),
            graph(
                Op::DivFloor {
                    divisor: omron_ir::MAX_DIV_FLOOR_DIVISOR,
                },
                0,
                false,
                4,
            ),
        ];
        for g in safe {
            let what = format!("{:?}", g.nodes[0].op);
            let c = Circuit::compile("safe", g).unwrap_or_else(|e| panic!("{what}: {e}"));
            Circuit::from_vk_bytes(c.vk_bytes()).unwrap_or_else(|e| panic!("{what}: {e}"));
        }
    }

    /// Issue 12, F2: the query count [`PcsParams::for_size`] picks for the query phase alone
    /// leaves a proof committing `2^24` values under 100 bits (folding and LogUp grow with the
    /// size): a key with those parameters is refused at load, and compiling adds queries until
    /// the total reaches the floor. At `2^28` lookups the LogUp term alone is 99 bits over
    /// `Fp2`, which no query count fixes: compiling refuses too.
    #[test]
    fn issue_12_f2_large_commitments_need_the_whole_bound() {
        let below_floor = |r: Result<Circuit, CircuitError>, what: &str| match r {
            Err(CircuitError::Soundness { bits, .. }) => assert!(bits < MIN_SECURITY_BITS),
            other => panic!("{what}: {other:?}"),
        };
        for vars in [24, 28] {
            let g = graph(Op::Rescale { shift: 8 }, 8, true, 1 << vars);
            let short = PcsParams::for_size(vars);
            assert!(short.query_security_bits() >= MIN_SECURITY_BITS);
            let what = format!("2^{vars} values at {short:?}");
            below_floor(Circuit::from_vk_bytes(&vk_bytes(g.clone(), short)), &what);
            if vars == 28 {
                below_floor(Circuit::compile("large", g), "2^28 lookups");
                continue;
            }
            let c = Circuit::compile("large", g).expect("compile reaches the floor");
            let report = c.soundness();
            assert!(report.bits_total >= MIN_SECURITY_BITS, "{report:?}");
            assert!(c.params().queries > short.queries, "{:?}", c.params());
            assert_eq!(c.plan().commit_vars, vars);
            Circuit::from_vk_bytes(c.vk_bytes()).expect("its own key loads");
        }
    }

    #[test]
    fn small_circuits_keep_the_size_default() {
        let g = graph(Op::Rescale { shift: 8 }, 8, false, 64);
        let c = Circuit::compile("small", g).expect("compiles");
        assert_eq!(*c.params(), PcsParams::for_size(c.plan().commit_vars));
        assert!(c.soundness().bits_total >= MIN_SECURITY_BITS);
    }
}
