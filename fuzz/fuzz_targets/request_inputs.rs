//! `cargo fuzz run request_inputs`: see `omron_fuzz::request_inputs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| omron_fuzz::request_inputs::run(data));
