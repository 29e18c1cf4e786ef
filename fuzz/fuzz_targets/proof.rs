//! `cargo fuzz run proof`: see `omron_fuzz::proof`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| omron_fuzz::proof::run(data));
