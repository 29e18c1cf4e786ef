//! `cargo fuzz run circuit_files`: see `omron_fuzz::circuit_files`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| omron_fuzz::circuit_files::run(data));
