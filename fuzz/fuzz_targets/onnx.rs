//! `cargo fuzz run onnx`: see `omron_fuzz::onnx`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| omron_fuzz::onnx::run(data));
