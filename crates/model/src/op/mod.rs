//! The op interface: what every ONNX op implements ([`OnnxOp`]: its shape rule, float kernel,
//! operand conditions and lowering), and what those methods get: operands ([`Operand`]) and
//! tensors, the attributes of the node being parsed ([`Parse`]), and the lowering context
//! ([`Lowerer`]) with its helpers (`build.rs`: IR tensors, nodes and quantised constants;
//! `scale.rs`: rescaling, alignment, products, lookups, slices and max trees). The op
//! families (`crate::ops`) implement the trait; the graph, the analysis, the float run and
//! quantisation call it, and know no family.
//!
//! Lowering: every run-time value `v` has a calibrated activation scale `cal[v]`: at that scale
//! (or any lower one) its integers stay within the activation range with the configured margin.
//! An IR tensor standing for `v` may carry a *higher* scale ("wide"): the exact result of a
//! MatMul/Conv/Mul, or of adding a constant to one. Wide tensors are only rescaled when a
//! consumer needs a bounded operand (lookups, products, the next linear layer, graph outputs),
//! so a bias or batch-norm shift added after a matmul is added exactly, and a value is rounded
//! once per layer. Ops whose lowering has intermediate values of its own (softmax, layer
//! normalisation, the recurrent cells, division) choose their scales from the calibration run:
//! the float values of the node's inputs are at hand (`Lowerer::float`), and the op's internals
//! are recomputed in `f64` to size each intermediate with the same margin as every ONNX value.

pub(crate) mod build;
pub(crate) mod driver;
pub(crate) mod scale;

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use omron_ir::{Node, TensorDef, TensorId};

use crate::attrs::Attrs;
use crate::error::ModelError;
use crate::facts::Analysis;
use crate::graph::{OnnxGraph, ValueId};
use crate::quantised::QuantOptions;
use crate::shape::{Issue, Operand, OutInfo, invalid};
use crate::tensor::Tensor;

/// What the front end can do with an op when one of its inputs is computed at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Runtime {
    /// Runs in the float reference and lowers to the integer IR (subject to the operand
    /// checks of [`OnnxOp::quant_check`]).
    Quantised,
    /// Only supported when every input is a constant (shape arithmetic), folded at load time.
    FoldOnly,
}

/// An ONNX operator with its attributes resolved: one value per graph node, built by its
/// family's parser (`crate::ops`). `ins` holds one entry per ONNX input, `None` when omitted.
pub(crate) trait OnnxOp: fmt::Debug + Send + Sync + Any {
    /// The shape rule: shapes and element types of the results. The float kernel runs it on
    /// its actual operands first, so a kernel never sees an operand shape it did not check.
    fn infer(&self, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue>;

    /// The float reference kernel, given the results `infer` computed on these operands.
    fn eval(&self, ins: &[Option<&Tensor>], infos: &[OutInfo]) -> Result<Vec<Tensor>, Issue>;

    /// Lowers node `n` (whose op this is) to the integer IR.
    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError>;

    /// Whether a run-time node lowers to the IR, given which operands are constant.
    fn quant_check(&self, _ins: &[Option<Operand<'_>>]) -> Result<(), String> {
        Ok(())
    }

    /// How many outputs the op produces.
    fn output_count(&self) -> usize {
        1
    }

    /// What happens to this op when it sees run-time values.
    fn runtime(&self) -> Runtime {
        Runtime::Quantised
    }

    /// The result when it follows from the shape `x` of input 0 alone (`Shape`), so it folds
    /// even when that input is computed at run time.
    fn fold_on_shape(&self, _x: &[usize]) -> Option<Tensor> {
        None
    }

    /// Output `i` when it is a constant whatever the inputs (Dropout's all-true mask).
    fn constant_output(&self, _i: usize, _info: &OutInfo) -> Option<Tensor> {
        None
    }
}

/// A parsed op, shared by the graph and its clones.
pub(crate) type OpRef = Arc<dyn OnnxOp>;

/// The resolved ONNX graph with parsed ops.
pub(crate) type Graph = OnnxGraph<OpRef>;

/// `op` as its concrete type `T`, when it is one (fusions recognise their patterns this way).
pub(crate) fn downcast<T: OnnxOp>(op: &dyn OnnxOp) -> Option<&T> {
    (op as &dyn Any).downcast_ref::<T>()
}

/// What a family's parser gets: the node's op type, its attributes, the model's
/// default-domain opset and the number of outputs the node lists.
pub(crate) struct Parse<'a> {
    pub(crate) op_type: &'a str,
    pub(crate) attrs: Attrs<'a>,
    pub(crate) opset: i64,
    pub(crate) outputs: usize,
}

/// Runs `op` in float on `ins`: the shape rule on the actual operands, then the kernel, whose
/// results must have the inferred shapes.
pub(crate) fn run(op: &dyn OnnxOp, ins: &[Option<&Tensor>]) -> Result<Vec<Tensor>, Issue> {
    let operands: Vec<Option<Operand<'_>>> = ins.iter().map(|t| t.map(Operand::of)).collect();
    let infos = op.infer(&operands)?;
    let outs = op.eval(ins, &infos)?;
    check_outputs(outs, &infos)
}

fn check_outputs(outs: Vec<Tensor>, infos: &[OutInfo]) -> Result<Vec<Tensor>, Issue> {
    for (t, i) in outs.iter().zip(infos) {
        if t.shape != i.shape || t.len() != t.shape.iter().product::<usize>() {
            return invalid(format!(
                "internal: kernel produced {:?}, inferred {:?}",
                t.shape, i.shape
            ));
        }
    }
    Ok(outs)
}

/// A pattern of nodes lowered as one (found by a fusion before lowering), at the node where
/// the pattern ends; the other nodes of the pattern are marked absorbed.
pub(crate) trait Fused {
    /// Lowers the pattern ending at node `n`.
    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError>;
}

/// A fusion: a pass over the graph before lowering that absorbs nodes into [`Fused`] patterns.
pub(crate) type Fusion = fn(&mut Lowerer<'_>);

/// What lowering reads of a loaded model: its graph and the load-time analysis.
#[derive(Clone, Copy)]
pub(crate) struct Loaded<'a> {
    pub(crate) graph: &'a Graph,
    pub(crate) analysis: &'a Analysis,
}

impl<'a> Loaded<'a> {
    /// The name of value `v`.
    pub(crate) fn value_name(&self, v: ValueId) -> &'a str {
        &self.graph.values[v].name
    }
}

/// An IR tensor standing for an ONNX value (or an intermediate), and its scale.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Low {
    pub(crate) id: TensorId,
    pub(crate) scale: u32,
}

/// An operand of an ONNX node.
#[derive(Clone, Copy)]
pub(crate) enum Arg<'a> {
    /// A constant (initialiser or folded).
    Const(&'a Tensor),
    /// A value computed at run time.
    Act(ValueId),
}

/// The lowering state: the IR built so far and what each ONNX value lowered to.
pub(crate) struct Lowerer<'a> {
    pub(crate) m: Loaded<'a>,
    pub(crate) opts: &'a QuantOptions,
    pub(crate) cal: &'a [u32],
    /// Float values of every run-time value on the calibration input.
    pub(crate) trace: Option<&'a [Option<Tensor>]>,
    pub(crate) tensors: Vec<TensorDef>,
    pub(crate) nodes: Vec<Node>,
    pub(crate) low: Vec<Option<Low>>,
    pub(crate) narrow_cache: Vec<Option<Low>>,
    pub(crate) absorbed: Vec<bool>,
    /// Nodes lowered as the end of a fused pattern, and how.
    pub(crate) fused: BTreeMap<usize, Box<dyn Fused>>,
}
