//! Integration tests of the model front end, one binary:
//! - `shared_models`: the benchmark models and the subnet's LSTM and age models from `../shared`;
//! - `ops`: hand-built models for each supported op, against float values from onnxruntime;
//! - `refusals`: malformed bytes, unsupported ops and inconsistent models give errors, never panics;
//! - `ort`: the quantised LSTM and age models against onnxruntime, live (`OMRON_ORT_PYTHON`).

// Helpers outside `#[test]` functions unwrap too: in a test, a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod builder;
mod ops;
mod ort;
mod refusals;
mod shared_models;
