//! Integration tests of the model front end, one binary:
//! - `shared_models`: the benchmark models and the subnet's LSTM and age models from `../shared`;
//! - `ops`, `ops_v2`: hand-built models for each supported op (v1 and the issue-6 ops), against
//!   outputs of onnxruntime;
//! - `refusals`: malformed bytes, unsupported ops and inconsistent models give errors, never panics;
//! - `transformers`: token-id embeddings, products of computed tensors and masked softmax,
//!   proven and tamper-checked;
//! - `ort`: the quantised LSTM and age models against onnxruntime, live (`OMRON_ORT_PYTHON`).

// Helpers outside `#[test]` functions unwrap too: in a test, a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod builder;
mod golden_v2;
mod ops;
mod ops_v2;
mod ort;
mod prove_v2;
mod refusals;
mod shared_models;
mod transformers;
