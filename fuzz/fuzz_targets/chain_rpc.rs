//! `cargo fuzz run chain_rpc`: see `omron_fuzz::chain_rpc`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| omron_fuzz::chain_rpc::run(data));
