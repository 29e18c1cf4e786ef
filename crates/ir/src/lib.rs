//! The quantised integer model IR: the contract between the model front end (`omron-model`,
//! which lowers ONNX into it) and the circuit layer (`omron-circuit`, which proves it).
//!
//! A [`Graph`] is a list of [`Node`]s in topological order over integer tensors. Every tensor is
//! fixed point: the integer `v` stands for the real number `v / 2^scale`. Each [`Op`] has exact
//! integer semantics, spelled out on its variant, and [`execute`] is the reference implementation
//! of those semantics: the prover's witness is exactly what it computes, so the circuit layer
//! proves "`execute(graph, input) == output`".
//!
//! This crate knows nothing of ONNX, floats (beyond the deterministic lookup tables of
//! [`LookupFn`]) or proofs. A verify-only node links it through `omron-circuit`.

mod builder;
mod error;
mod exact;
mod exec;
mod graph;
mod input;
mod kernels;
mod lookup;
mod op;
mod select;
mod shape;

pub use builder::GraphBuilder;
pub use error::IrError;
pub use exact::{ExactFn, SN2_CURVE_MAX_INPUT};
pub use exec::{DIV_DENOMINATOR_BOUND, DIV_QUOTIENT_BOUND, Trace, execute};
pub use graph::{Graph, Node, TensorDef, TensorId, TensorKind};
pub use input::{InputRange, input_range, input_ranges, quantise_input};
pub use lookup::{LOOKUP_OUTPUT_BOUND, LookupFn, LookupKind};
pub use op::{
    ConvAttrs, MAX_BATCH_MATMUL_DEPTH, MAX_DIV_FLOOR_DIVISOR, MAX_DIV_ROUND_DIVISOR,
    MAX_RESCALE_SHIFT, Op,
};
pub use select::{Selection, selection};
pub use shape::{broadcast_index_map, broadcast_shape, numel};

/// Bits of a bounded activation: outputs of [`Op::Rescale`] and inputs of [`Op::Lookup`] lie in
/// `[-2^(ACT_BITS-1), 2^(ACT_BITS-1))`. Lookup tables therefore have `2^ACT_BITS` rows.
pub const ACT_BITS: u32 = 16;

/// Smallest bounded activation value.
pub const ACT_MIN: i64 = -(1 << (ACT_BITS - 1));

/// Largest bounded activation value.
pub const ACT_MAX: i64 = (1 << (ACT_BITS - 1)) - 1;

/// Largest magnitude any intermediate value may take. The circuit works in the Goldilocks field
/// (`p ~ 2^64`); keeping every integer below `2^62` in magnitude means field arithmetic never
/// wraps, so a field identity implies the integer identity.
pub const VALUE_BOUND: i64 = 1 << 62;

/// Most elements one tensor may have (2^32). Far above any model we prove (GPT-2 small's token
/// table has 38.6 M), and low enough that sizes computed from shapes never overflow; graphs read
/// from a verifying key with larger shapes are refused by [`Graph::validate`].
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 32;
