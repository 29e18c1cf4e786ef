//! `cargo fuzz run dendrite`: see `omron_fuzz::dendrite`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| omron_fuzz::dendrite::run(data));
