use serde::{Deserialize, Serialize};

use crate::{ACT_MAX, ACT_MIN};

/// The function a lookup table tabulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LookupKind {
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
}

impl LookupKind {
    /// The ONNX-style name of the function.
    pub fn name(self) -> &'static str {
        match self {
            LookupKind::Relu => "Relu",
            LookupKind::Sigmoid => "Sigmoid",
            LookupKind::Tanh => "Tanh",
        }
    }
}

/// A tabulated function between two fixed-point scales:
/// `y = round(f(x / 2^in_scale) * 2^out_scale)` for `x` in the activation range.
///
/// Tables are computed with `libm`, a pure-Rust port of musl's maths library, so every platform
/// produces bit-identical tables: a prover on Linux and a verifier on macOS agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LookupFn {
    /// The function.
    pub kind: LookupKind,
    /// Fractional bits of the input.
    pub in_scale: u32,
    /// Fractional bits of the output.
    pub out_scale: u32,
}

impl LookupFn {
    /// Evaluates the table at `x` (any `x` in the activation range).
    pub fn eval(&self, x: i64) -> i64 {
        if self.kind == LookupKind::Relu && self.in_scale == self.out_scale {
            return x.max(0);
        }
        let real = x as f64 / pow2(self.in_scale);
        let y = match self.kind {
            LookupKind::Relu => real.max(0.0),
            LookupKind::Sigmoid => 1.0 / (1.0 + libm::exp(-real)),
            LookupKind::Tanh => libm::tanh(real),
        };
        (y * pow2(self.out_scale)).round() as i64
    }

    /// The whole table: row `i` maps `ACT_MIN + i` to its value.
    pub fn table(&self) -> Vec<i64> {
        (ACT_MIN..=ACT_MAX).map(|x| self.eval(x)).collect()
    }
}

fn pow2(bits: u32) -> f64 {
    (1u64 << bits.min(62)) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_is_exact_at_equal_scales() {
        let f = LookupFn {
            kind: LookupKind::Relu,
            in_scale: 8,
            out_scale: 8,
        };
        assert_eq!(f.eval(-5), 0);
        assert_eq!(f.eval(300), 300);
    }

    #[test]
    fn sigmoid_and_tanh_hit_known_points() {
        let s = LookupFn {
            kind: LookupKind::Sigmoid,
            in_scale: 8,
            out_scale: 8,
        };
        assert_eq!(s.eval(0), 128);
        assert_eq!(s.eval(ACT_MAX), 256);
        assert_eq!(s.eval(ACT_MIN), 0);
        let t = LookupFn {
            kind: LookupKind::Tanh,
            in_scale: 8,
            out_scale: 8,
        };
        assert_eq!(t.eval(0), 0);
        assert_eq!(t.eval(256), (0.7615941559557649f64 * 256.0).round() as i64);
        assert_eq!(t.eval(-256), -t.eval(256));
    }

    #[test]
    fn table_has_one_row_per_activation() {
        let t = LookupFn {
            kind: LookupKind::Tanh,
            in_scale: 8,
            out_scale: 8,
        }
        .table();
        assert_eq!(t.len(), 1 << crate::ACT_BITS);
    }
}
