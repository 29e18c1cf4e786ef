//! Model front end: ONNX import, quantisation to a fixed-point integer IR, integer and float reference execution.
