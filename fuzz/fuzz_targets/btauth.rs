//! `cargo fuzz run btauth`: see `omron_fuzz::btauth`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| omron_fuzz::btauth::run(data));
