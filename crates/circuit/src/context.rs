//! The prover's and the verifier's running state: the channel, and the claims each tensor has
//! accumulated.
//!
//! A *claim* `(t, z, v)` says "the multilinear extension of tensor `t` takes value `v` at `z`".
//! Relations turn claims on a node's output into claims on its operands. How a claim is settled
//! depends on the tensor's role: public tensors are evaluated by the verifier on the spot,
//! committed tensors are opened by the commitment at the end, and virtual tensors are handed to
//! their producer's relation.

use omron_ir::Graph;
use omron_zk::fold::{SmallInts, fold_high_base, fold_high_small, fold_low_base, fold_low_small};
use omron_zk::mle::evaluate_base;
use omron_zk::{Ext, Fp, ProverChannel, VerifierChannel, VerifyError};

use crate::plan::{Plan, TensorRef};
use crate::witness::Witness;

/// One evaluation claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    pub(crate) point: Vec<Ext>,
    pub(crate) value: Ext,
}

/// The prover's state.
pub(crate) struct Prover<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) graph: &'a Graph,
    pub(crate) consts: &'a [Vec<Fp>],
    /// The large constants in 16 or 32 bits, where they fit (indexed like `consts`).
    pub(crate) small_consts: &'a [Option<SmallInts>],
    pub(crate) witness: &'a Witness,
    pub(crate) ch: ProverChannel,
    pub(crate) pending: Vec<Vec<Claim>>,
}

impl Prover<'_> {
    /// The padded values of tensor `t`.
    pub(crate) fn padded(&self, t: TensorRef) -> &[Fp] {
        if self.plan.role(t) == crate::plan::Role::Const {
            &self.consts[t]
        } else {
            &self.witness.padded[t]
        }
    }

    /// Fixes the high variables of tensor `t` (rows of `2^low_vars`) at `high_point`: one value
    /// per column (see [`omron_zk::fold::fold_high_base`]), from the narrow copy of a constant
    /// when there is one.
    pub(crate) fn fold_high(&self, t: TensorRef, low_vars: usize, high_point: &[Ext]) -> Vec<Ext> {
        match self.small_consts.get(t) {
            Some(Some(small)) => fold_high_small(small, low_vars, high_point),
            _ => fold_high_base(self.padded(t), low_vars, high_point),
        }
    }

    /// Evaluates tensor `t` at `point`.
    pub(crate) fn eval(&self, t: TensorRef, point: &[Ext]) -> Ext {
        evaluate_base(self.padded(t), point)
    }

    /// Makes a claim whose value the verifier learns from the proof (or computes, for public
    /// tensors). Returns the value.
    pub(crate) fn claim(&mut self, t: TensorRef, point: Vec<Ext>) -> Ext {
        let value = self.eval(t, &point);
        self.claim_value(t, point, value);
        value
    }

    /// Like [`Prover::claim`] with the value already known.
    pub(crate) fn claim_value(&mut self, t: TensorRef, point: Vec<Ext>, value: Ext) {
        debug_assert_eq!(
            self.eval(t, &point),
            value,
            "claim on {}",
            self.plan.tensors[t].name
        );
        if !self.plan.role(t).is_public() {
            self.ch.send_ext(b"claim", value);
            self.pending[t].push(Claim { point, value });
        }
    }

    /// Records a claim whose value both sides derive themselves.
    pub(crate) fn derived(&mut self, t: TensorRef, point: Vec<Ext>, value: Ext) {
        debug_assert_eq!(
            self.eval(t, &point),
            value,
            "derived claim on {}",
            self.plan.tensors[t].name
        );
        if !self.plan.role(t).is_public() {
            self.pending[t].push(Claim { point, value });
        }
    }
}

/// The verifier's state.
pub(crate) struct Verifier<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) graph: &'a Graph,
    /// The model inputs as given (integers, row-major).
    pub(crate) inputs: &'a [Vec<i64>],
    /// Padded values of every public tensor (constants, inputs, outputs); empty otherwise.
    pub(crate) public: Vec<&'a [Fp]>,
    /// The large constants in 16 or 32 bits, where they fit (indexed like `public`).
    pub(crate) small_consts: &'a [Option<SmallInts>],
    pub(crate) ch: VerifierChannel<'a>,
    pub(crate) pending: Vec<Vec<Claim>>,
}

impl Verifier<'_> {
    /// Evaluates a public tensor.
    pub(crate) fn eval_public(&self, t: TensorRef, point: &[Ext]) -> Ext {
        evaluate_base(self.public[t], point)
    }

    /// Fixes the low variables of a public tensor at `low_point`: one value per row (see
    /// [`omron_zk::fold::fold_low_base`]), so claims sharing their low coordinates cost one pass.
    pub(crate) fn fold_public_low(&self, t: TensorRef, low_point: &[Ext]) -> Vec<Ext> {
        match self.small_consts.get(t) {
            Some(Some(small)) => fold_low_small(small, low_point),
            _ => fold_low_base(self.public[t], low_point),
        }
    }

    /// Receives (or, for public tensors, computes) the value of a claim.
    pub(crate) fn claim(&mut self, t: TensorRef, point: Vec<Ext>) -> Result<Ext, VerifyError> {
        if self.plan.role(t).is_public() {
            return Ok(self.eval_public(t, &point));
        }
        let value = self.ch.recv_ext(b"claim")?;
        self.pending[t].push(Claim { point, value });
        Ok(value)
    }

    /// Records a claim whose value both sides derive; public tensors are checked on the spot.
    pub(crate) fn derived(
        &mut self,
        t: TensorRef,
        point: Vec<Ext>,
        value: Ext,
    ) -> Result<(), VerifyError> {
        if self.plan.role(t).is_public() {
            if self.eval_public(t, &point) != value {
                return Err(VerifyError::Relation(format!(
                    "public tensor '{}' does not match the proof",
                    self.plan.tensors[t].name
                )));
            }
            return Ok(());
        }
        self.pending[t].push(Claim { point, value });
        Ok(())
    }
}
