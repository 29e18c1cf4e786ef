//! Proof-of-weights circuits: validators' scoring functions, written by hand as IR graphs.
//!
//! `sn2` is this subnet's own incentive function, bit-exact with the reference's integer
//! arithmetic, which validators prove over their score-update batches. `sn27` (the Compute
//! subnet's miner scoring) and `sn48` (tiered weights) are other subnets' scoring functions,
//! in fixed point, each checked against a float reference of the reference's formulas.

pub mod sn2;
pub mod sn27;
pub mod sn48;

use serde_json::{Map, Value};

use crate::CircuitError;

/// A request's `inputs` JSON (the reference's dict of lists), read field by field with errors
/// that name the subnet and the field.
pub(crate) struct JsonInputs<'a> {
    subnet: &'static str,
    map: &'a Map<String, Value>,
}

impl<'a> JsonInputs<'a> {
    pub(crate) fn new(subnet: &'static str, value: &'a Value) -> Result<Self, CircuitError> {
        let map = value.as_object().ok_or_else(|| {
            CircuitError::Input(format!("{subnet} scoring inputs must be a JSON object"))
        })?;
        Ok(JsonInputs { subnet, map })
    }

    /// An error about field `name`.
    pub(crate) fn err(&self, name: &str, detail: impl std::fmt::Display) -> CircuitError {
        CircuitError::Input(format!("{} scoring input '{name}': {detail}", self.subnet))
    }

    fn list(&self, name: &str) -> Result<&'a Vec<Value>, CircuitError> {
        self.map
            .get(name)
            .ok_or_else(|| self.err(name, "is missing"))?
            .as_array()
            .ok_or_else(|| self.err(name, "is not a list"))
    }

    /// A list of finite numbers.
    pub(crate) fn floats(&self, name: &str) -> Result<Vec<f64>, CircuitError> {
        self.list(name)?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_f64()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| self.err(name, format!("item {i} ({v}) is not a finite number")))
            })
            .collect()
    }

    /// A list of integers (integral floats such as `7.0` are accepted, as Python sends them),
    /// each of magnitude below `2^53`.
    pub(crate) fn ints(&self, name: &str) -> Result<Vec<i64>, CircuitError> {
        self.list(name)?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let exact = v.as_i64().or_else(|| {
                    v.as_f64()
                        .filter(|x| x.fract() == 0.0 && x.abs() < 9.0e15)
                        .map(|x| x as i64)
                });
                exact
                    .filter(|x| x.unsigned_abs() < 1 << 53)
                    .ok_or_else(|| self.err(name, format!("item {i} ({v}) is not an integer")))
            })
            .collect()
    }

    /// A list of booleans (`true`/`false`, or the numbers 0 and 1).
    pub(crate) fn bools(&self, name: &str) -> Result<Vec<bool>, CircuitError> {
        self.list(name)?
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Bool(b) => Ok(*b),
                _ => match v.as_i64() {
                    Some(0) => Ok(false),
                    Some(1) => Ok(true),
                    _ => Err(self.err(name, format!("item {i} ({v}) is not a boolean"))),
                },
            })
            .collect()
    }

    /// A one-element list holding the constant `want` (up to float32 rounding, as torch
    /// tensors carry it); the circuit's constants are baked into its verifying key.
    pub(crate) fn constant(&self, name: &str, want: f64) -> Result<(), CircuitError> {
        let v = self.floats(name)?;
        match v.as_slice() {
            [x] if (x - want).abs() <= 1e-6 * want.abs().max(1.0) => Ok(()),
            [x] => Err(self.err(name, format!("is {x}; this circuit is built for {want}"))),
            _ => Err(self.err(name, format!("has {} items, expected 1", v.len()))),
        }
    }

    /// The one-element integer `nonce` list.
    pub(crate) fn nonce(&self) -> Result<i64, CircuitError> {
        let v = self.ints("nonce")?;
        match v.as_slice() {
            [x] => Ok(*x),
            _ => Err(self.err("nonce", format!("has {} items, expected 1", v.len()))),
        }
    }

    /// Checks that a list has exactly `n` items.
    pub(crate) fn exact_len<T>(
        &self,
        name: &str,
        v: Vec<T>,
        n: usize,
    ) -> Result<Vec<T>, CircuitError> {
        if v.len() == n {
            Ok(v)
        } else {
            Err(self.err(
                name,
                format!("has {} items, the circuit takes {n}", v.len()),
            ))
        }
    }
}

/// Smallest `b` with `2^b > x` (at least 1).
pub(crate) fn bits_for(x: u64) -> u32 {
    (64 - x.leading_zeros()).max(1)
}
