//! `cargo fuzz run axon`: see `omron_fuzz::axon`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| omron_fuzz::axon::run(data));
