//! `cargo fuzz run api_rpc`: see `omron_fuzz::api_rpc`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| omron_fuzz::api_rpc::run(data));
