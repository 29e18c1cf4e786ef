//! A compiled circuit: the quantised graph, its proof plan and its verifying key.

use omron_ir::{Graph, Op};
use omron_zk::Fp;
use omron_zk::pcs::PcsParams;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::CircuitError;
use crate::plan::{Plan, Role};

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

/// The minimum security the query phase of a loadable circuit must reach, in bits.
pub const MIN_SECURITY_BITS: f64 = 100.0;

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
    vk: Vec<u8>,
    id: [u8; 32],
}

impl Circuit {
    /// Compiles a graph with commitment parameters chosen for its size
    /// ([`PcsParams::for_size`]).
    pub fn compile(name: &str, graph: Graph) -> Result<Circuit, CircuitError> {
        let params = PcsParams::for_size(Plan::new(&graph)?.commit_vars);
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
        if params.query_security_bits() < MIN_SECURITY_BITS
            || params.fold_bits == 0
            || params.fold_bits > 8
            || params.log_blowup == 0
            || params.log_blowup > 8
            || params.final_bits > 12
        {
            return Err(CircuitError::Malformed(format!(
                "commitment parameters {:?} are out of range or below {MIN_SECURITY_BITS} bits",
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
        let consts = (0..plan.tensors.len())
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
        let id: [u8; 32] = Sha256::digest(&vk).into();
        Ok(Circuit {
            name: body.name,
            params,
            graph: body.graph,
            plan,
            consts,
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

    pub(crate) fn consts(&self) -> &[Vec<Fp>] {
        &self.consts
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
