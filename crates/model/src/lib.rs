//! Model front end: reads ONNX models, reports which ops they use, runs them in float, and
//! quantises them into the fixed-point integer IR of `omron-ir` that the circuit layer proves.
//!
//! The pipeline is
//! 1. [`load_onnx`]: a hermetic protobuf reader (hand-written `prost` messages, no `protoc`,
//!    no tract), value resolution, topological sort, constant folding of shape arithmetic and
//!    shape inference, ending in an [`OnnxModel`] with its [`CoverageReport`];
//! 2. [`OnnxModel::run_float`]: the float reference (the accuracy oracle);
//! 3. [`quantise`]: calibration, scale selection and lowering to an [`omron_ir::Graph`] that
//!    `Graph::validate` accepts, packaged as a [`QuantisedModel`];
//! 4. [`QuantisedModel::accuracy`]: the quantised model against the float model.
//!
//! This crate owns ONNX parsing and quantisation policy. It must not depend on the proof system
//! (`omron-zk`), the circuit layer or any networking: a validator that only verifies proofs
//! never links it. See `docs/onnx-front-end.md` for the design and the error analysis, and
//! `docs/architecture.md` for the layout of this crate (the op families in `ops/`, the op
//! interface in `op/`, the shared machinery below it).

mod accuracy;
mod analysis;
mod attrs;
mod coverage;
mod error;
mod facts;
mod graph;
mod input;
mod kernel;
mod model;
mod op;
mod ops;
pub mod proto;
mod quantise;
mod quantised;
mod shape;
mod tensor;
mod window;

pub use coverage::{CoverageReport, OpUsage, UnsupportedNode};
pub use error::ModelError;
pub use graph::{MAX_MODEL_BYTES, MAX_OPSET, MIN_OPSET};
pub use input::{InputData, InputDataError};
pub use model::{OnnxModel, TensorInfo, load_onnx};
pub use quantise::quantise;
pub use quantised::{
    AccuracyReport, LayerError, OutputAccuracy, Probe, QuantOptions, QuantisedModel,
};
pub use tensor::{MAX_RANK, MAX_TENSOR_ELEMENTS};
