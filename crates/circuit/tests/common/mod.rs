//! Helpers the circuit tests share. Each test binary uses part of them.

#![allow(dead_code)]

pub(crate) mod tamper;
