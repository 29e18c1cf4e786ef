//! `cargo fuzz run wallet`: see `omron_fuzz::wallet`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| omron_fuzz::wallet::run(data));
