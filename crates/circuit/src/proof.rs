//! Proving and verifying: the order of the protocol, shared by both sides.
//!
//! 1. Bind the circuit id, the caller's context (e.g. request nonce and miner hotkey), the public
//!    inputs and the outputs into the transcript.
//! 2. Commit to every committed tensor in one multilinear polynomial.
//! 3. Lookups: multiplicities, then one LogUp fraction-sum GKR over every lookup (claims on
//!    looked-up tensors).
//! 4. Walk the nodes from the outputs back to the inputs. A virtual tensor's accumulated claims
//!    are reduced by its producer's relation; a committed or public tensor (other than a lookup
//!    output) is checked against its producer at a fresh random point.
//! 5. Open every claim on committed tensors with one batched commitment opening.

use omron_ir::{Op, Trace};
use omron_zk::pcs::{Claim as PcsClaim, basefold};
use omron_zk::{Fp, ProverChannel, Transcript, VerifierChannel, VerifyError};

use crate::CircuitError;
use crate::circuit::Circuit;
use crate::context::{Claim, Prover, Verifier};
use crate::plan::{Role, output_range};
use crate::relations::{lookup, prove_node, verify_node};
use crate::witness::Witness;

/// Magic bytes opening a proof (format version 3: one lookup GKR for all lookups, keyed
/// Merkle hashing, packed multiplicities).
pub const PROOF_MAGIC: &[u8; 8] = b"OMRNPRF3";

/// No valid proof is larger than this; bigger inputs are rejected before parsing.
pub const MAX_PROOF_BYTES: usize = 64 << 20;

/// A proof and the outputs it proves.
#[derive(Debug, Clone)]
pub struct ProofOutput {
    /// The proof bytes.
    pub proof: Vec<u8>,
    /// The model outputs (quantised), one vector per output.
    pub outputs: Vec<Vec<i64>>,
}

fn transcript(circuit: &Circuit, inputs: &[Vec<i64>], context: &[u8]) -> Transcript {
    let mut t = Transcript::new(b"omron-rs proof v3");
    t.absorb(b"circuit", &circuit.id());
    t.absorb(b"context", context);
    for input in inputs {
        let bytes: Vec<u8> = input.iter().flat_map(|v| v.to_le_bytes()).collect();
        t.absorb(b"input", &bytes);
    }
    t
}

impl Circuit {
    /// Runs the model on quantised `inputs` and proves the result. `context` is bound into the
    /// proof (a proof for one context does not verify under another).
    pub fn prove(&self, inputs: &[Vec<i64>], context: &[u8]) -> Result<ProofOutput, CircuitError> {
        let graph = self.graph();
        let plan = self.plan();
        let start = std::time::Instant::now();
        let lap =
            |step: &str| tracing::debug!(step, ms = start.elapsed().as_secs_f64() * 1e3, "prove");
        let trace: Trace = omron_ir::execute(graph, inputs)?;
        lap("execute");
        let witness = Witness::new(plan, graph, &trace);
        lap("witness");
        self.prove_witness(inputs, context, &witness)
    }

    /// Proves the values of `witness` (outputs included) as they are. [`Circuit::prove`] passes
    /// the executor's; tests pass forged ones to check that the verifier, not the prover's
    /// honesty, refuses them.
    pub(crate) fn prove_witness(
        &self,
        inputs: &[Vec<i64>],
        context: &[u8],
        witness: &Witness,
    ) -> Result<ProofOutput, CircuitError> {
        let graph = self.graph();
        let plan = self.plan();
        let start = std::time::Instant::now();
        let lap =
            |step: &str| tracing::debug!(step, ms = start.elapsed().as_secs_f64() * 1e3, "prove");
        let outputs: Vec<Vec<i64>> = graph
            .outputs
            .iter()
            .map(|&t| witness.rows(t).to_vec())
            .collect();

        let mut ch = ProverChannel::new(transcript(self, inputs, context));
        ch.write_header(PROOF_MAGIC);
        for out in &outputs {
            for &v in out {
                ch.send_fp(b"output", Fp::from_i64(v));
            }
        }
        let mut committed = vec![Fp::ZERO; 1 << plan.commit_vars];
        for seg in &plan.segments {
            let values = &witness.padded[seg.tensor];
            committed[seg.offset..seg.offset + values.len()].copy_from_slice(values);
        }
        let commitment = basefold::commit(committed, self.params(), &mut ch);
        lap("commit");

        let mut p = Prover {
            plan,
            graph,
            consts: self.consts(),
            small_consts: self.small_consts(),
            witness,
            ch,
            pending: vec![Vec::new(); plan.tensors.len()],
        };
        lookup::prove(&mut p)?;
        lap("lookups");
        for (index, node) in graph.nodes.iter().enumerate().rev() {
            let out = node.output;
            let claims = match plan.role(out) {
                Role::Virtual => std::mem::take(&mut p.pending[out]),
                Role::Committed | Role::Output(_) if !settled_by_lookup(&node.op) => {
                    let tau = p.ch.challenge_exts(b"tau", plan.layout(out).num_vars());
                    let value = p.claim(out, tau.clone());
                    vec![Claim { point: tau, value }]
                }
                _ => Vec::new(),
            };
            prove_node(&mut p, index, claims);
        }
        lap("relations");
        let claims = pcs_claims(plan, &p.pending);
        basefold::open(&commitment, &claims, self.params(), &mut p.ch);
        lap("open");
        Ok(ProofOutput {
            proof: p.ch.finish(),
            outputs,
        })
    }

    /// Verifies `proof` for quantised `inputs` under `context` and returns the proven outputs.
    pub fn verify(
        &self,
        inputs: &[Vec<i64>],
        proof: &[u8],
        context: &[u8],
    ) -> Result<Vec<Vec<i64>>, VerifyError> {
        self.verify_counting(inputs, proof, context)
            .map(|(outputs, _)| outputs)
    }

    /// [`Circuit::verify`], also returning how many extension challenges it drew (the
    /// soundness accounting's tests compare it with their count).
    pub(crate) fn verify_counting(
        &self,
        inputs: &[Vec<i64>],
        proof: &[u8],
        context: &[u8],
    ) -> Result<(Vec<Vec<i64>>, u64), VerifyError> {
        let graph = self.graph();
        let plan = self.plan();
        if inputs.len() != graph.inputs.len()
            || inputs
                .iter()
                .zip(&graph.inputs)
                .any(|(v, &t)| v.len() != graph.tensors[t].numel())
        {
            return Err(VerifyError::Relation(
                "inputs do not fit the circuit's input shapes".into(),
            ));
        }
        let mut ch =
            VerifierChannel::new(transcript(self, inputs, context), proof, MAX_PROOF_BYTES)?;
        if ch.read_header(PROOF_MAGIC.len())? != PROOF_MAGIC {
            return Err(VerifyError::Format("bad magic bytes".into()));
        }
        let producers = producers(graph);
        let mut outputs = Vec::with_capacity(graph.outputs.len());
        for &t in &graph.outputs {
            let n = graph.tensors[t].numel();
            let mut values = Vec::with_capacity(n);
            for _ in 0..n {
                values.push(ch.recv_fp(b"output")?.as_i64());
            }
            if let Some((lo, hi)) = producers[t].and_then(|i| output_range(&graph.nodes[i].op))
                && let Some(bad) = values.iter().find(|v| !(lo..hi).contains(*v))
            {
                return Err(VerifyError::Relation(format!(
                    "output value {bad} is outside its range [{lo}, {hi})"
                )));
            }
            outputs.push(values);
        }
        let padded_inputs: Vec<Vec<Fp>> = graph
            .inputs
            .iter()
            .zip(inputs)
            .map(|(&t, v)| plan.layout(t).pad(v))
            .collect();
        let padded_outputs: Vec<Vec<Fp>> = graph
            .outputs
            .iter()
            .zip(&outputs)
            .map(|(&t, v)| plan.layout(t).pad(v))
            .collect();
        let public: Vec<&[Fp]> = (0..plan.tensors.len())
            .map(|t| match plan.role(t) {
                Role::Const => self.consts()[t].as_slice(),
                Role::Input(i) => padded_inputs[i].as_slice(),
                Role::Output(i) => padded_outputs[i].as_slice(),
                _ => &[],
            })
            .collect();
        let root = basefold::receive_commitment(&mut ch)?;
        let mut v = Verifier {
            plan,
            graph,
            inputs,
            public,
            small_consts: self.small_consts(),
            ch,
            pending: vec![Vec::new(); plan.tensors.len()],
        };
        lookup::verify(&mut v)?;
        for (index, node) in graph.nodes.iter().enumerate().rev() {
            let out = node.output;
            let claims = match plan.role(out) {
                Role::Virtual => std::mem::take(&mut v.pending[out]),
                Role::Committed | Role::Output(_) if !settled_by_lookup(&node.op) => {
                    let tau = v.ch.challenge_exts(b"tau", plan.layout(out).num_vars());
                    let value = v.claim(out, tau.clone())?;
                    vec![Claim { point: tau, value }]
                }
                _ => Vec::new(),
            };
            verify_node(&mut v, index, claims)?;
        }
        let claims = pcs_claims(plan, &v.pending);
        basefold::verify(&root, plan.commit_vars, &claims, self.params(), &mut v.ch)?;
        let drawn = v.ch.ext_challenges();
        v.ch.finish()?;
        Ok((outputs, drawn))
    }
}

/// Lookup outputs and quotients of constant divisions are pinned down by the lookup argument
/// (the latter through their remainder column); no relation reduces their claims.
fn settled_by_lookup(op: &Op) -> bool {
    matches!(
        op,
        Op::Lookup(_)
            | Op::WideLookup { .. }
            | Op::Rescale { .. }
            | Op::DivRound { .. }
            | Op::DivFloor { .. }
    )
}

/// The node producing each tensor, if any.
fn producers(graph: &omron_ir::Graph) -> Vec<Option<usize>> {
    let mut out = vec![None; graph.tensors.len()];
    for (i, node) in graph.nodes.iter().enumerate() {
        out[node.output] = Some(i);
    }
    out
}

fn pcs_claims(plan: &crate::plan::Plan, pending: &[Vec<Claim>]) -> Vec<PcsClaim> {
    let mut claims = Vec::new();
    for seg in &plan.segments {
        let vars = plan.layout(seg.tensor).num_vars();
        for c in &pending[seg.tensor] {
            claims.push(PcsClaim {
                point: c.point.clone(),
                block: seg.offset >> vars,
                value: c.value,
            });
        }
    }
    claims
}
