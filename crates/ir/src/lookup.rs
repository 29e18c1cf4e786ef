use serde::{Deserialize, Serialize};

use crate::{ACT_MAX, ACT_MIN};

/// The function a lookup table tabulates. Parameters are integers so tables are exactly
/// reproducible: `*_milli` values are thousandths, `Pow` is the rational exponent `num / den`,
/// and `Clip` bounds are in units of the input's fixed point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LookupKind {
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `e^x`.
    Exp,
    /// `ln(x)`; inputs `<= 0` read as the smallest positive input.
    Log,
    /// The error function.
    Erf,
    /// `x * Phi(x)` (exact GELU, with the error function).
    Gelu,
    /// `sqrt(x)`; negative inputs give 0.
    Sqrt,
    /// `1 / sqrt(x)`; inputs `<= 0` read as the smallest positive input.
    Rsqrt,
    /// `1 / x`; zero reads as the smallest positive input.
    Reciprocal,
    /// `|x|`.
    Abs,
    /// `ln(1 + e^x)`.
    Softplus,
    /// `x * sigmoid(x)`.
    Silu,
    /// `x` if `x >= 0`, else `alpha * x`.
    LeakyRelu {
        /// `alpha` in thousandths.
        alpha_milli: i32,
    },
    /// `x` if `x > 0`, else `alpha * (e^x - 1)`.
    Elu {
        /// `alpha` in thousandths.
        alpha_milli: i32,
    },
    /// `max(0, min(1, alpha * x + beta))`.
    HardSigmoid {
        /// `alpha` in thousandths.
        alpha_milli: i32,
        /// `beta` in thousandths.
        beta_milli: i32,
    },
    /// `x^(num/den)`; a negative base gives 0 unless the exponent is an integer.
    Pow {
        /// Numerator of the exponent.
        num: i32,
        /// Denominator of the exponent (at least 1).
        den: u32,
    },
    /// `clamp(x, lo, hi)` with bounds in input units.
    Clip {
        /// Lower bound (input units).
        lo: i64,
        /// Upper bound (input units).
        hi: i64,
    },
    /// `1` if `x > 0`, else `0` (comparisons `a > b` as `Step(a - b)`).
    Step,
    /// `1` if `x >= 0`, else `0`.
    NonNegative,
    /// `1` if `x == 0`, else `0`.
    IsZero,
    /// `-1`, `0` or `1`.
    Sign,
}

impl LookupKind {
    /// The ONNX-style name of the function.
    pub fn name(self) -> &'static str {
        match self {
            LookupKind::Relu => "Relu",
            LookupKind::Sigmoid => "Sigmoid",
            LookupKind::Tanh => "Tanh",
            LookupKind::Exp => "Exp",
            LookupKind::Log => "Log",
            LookupKind::Erf => "Erf",
            LookupKind::Gelu => "Gelu",
            LookupKind::Sqrt => "Sqrt",
            LookupKind::Rsqrt => "Rsqrt",
            LookupKind::Reciprocal => "Reciprocal",
            LookupKind::Abs => "Abs",
            LookupKind::Softplus => "Softplus",
            LookupKind::Silu => "Silu",
            LookupKind::LeakyRelu { .. } => "LeakyRelu",
            LookupKind::Elu { .. } => "Elu",
            LookupKind::HardSigmoid { .. } => "HardSigmoid",
            LookupKind::Pow { .. } => "Pow",
            LookupKind::Clip { .. } => "Clip",
            LookupKind::Step => "Step",
            LookupKind::NonNegative => "NonNegative",
            LookupKind::IsZero => "IsZero",
            LookupKind::Sign => "Sign",
        }
    }
}

/// Largest magnitude a lookup output may take; function values beyond it are clamped.
pub const LOOKUP_OUTPUT_BOUND: i64 = 1 << 40;

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
        if self.in_scale == self.out_scale {
            match self.kind {
                LookupKind::Relu => return x.max(0),
                LookupKind::Abs => return x.abs(),
                LookupKind::Clip { lo, hi } => return x.clamp(lo, hi.max(lo)),
                _ => {}
            }
        }
        let unit = 1.0 / pow2(self.in_scale);
        let real = x as f64 * unit;
        let positive = if x > 0 { real } else { unit };
        let milli = |m: i32| m as f64 / 1000.0;
        let y = match self.kind {
            LookupKind::Relu => real.max(0.0),
            LookupKind::Sigmoid => sigmoid(real),
            LookupKind::Tanh => libm::tanh(real),
            LookupKind::Exp => libm::exp(real),
            LookupKind::Log => libm::log(positive),
            LookupKind::Erf => libm::erf(real),
            LookupKind::Gelu => 0.5 * real * (1.0 + libm::erf(real / core::f64::consts::SQRT_2)),
            LookupKind::Sqrt => libm::sqrt(real.max(0.0)),
            LookupKind::Rsqrt => 1.0 / libm::sqrt(positive),
            LookupKind::Reciprocal => {
                if x == 0 {
                    1.0 / unit
                } else {
                    1.0 / real
                }
            }
            LookupKind::Abs => real.abs(),
            LookupKind::Softplus => libm::log1p(libm::exp(real)),
            LookupKind::Silu => real * sigmoid(real),
            LookupKind::LeakyRelu { alpha_milli } => {
                if real >= 0.0 {
                    real
                } else {
                    milli(alpha_milli) * real
                }
            }
            LookupKind::Elu { alpha_milli } => {
                if real > 0.0 {
                    real
                } else {
                    milli(alpha_milli) * libm::expm1(real)
                }
            }
            LookupKind::HardSigmoid {
                alpha_milli,
                beta_milli,
            } => (milli(alpha_milli) * real + milli(beta_milli)).clamp(0.0, 1.0),
            LookupKind::Pow { num, den } => {
                let e = num as f64 / den.max(1) as f64;
                if real < 0.0 && den > 1 {
                    0.0
                } else {
                    libm::pow(real, e)
                }
            }
            LookupKind::Clip { lo, hi } => (x.clamp(lo, hi.max(lo))) as f64 * unit,
            LookupKind::Step => f64::from(u8::from(x > 0)),
            LookupKind::NonNegative => f64::from(u8::from(x >= 0)),
            LookupKind::IsZero => f64::from(u8::from(x == 0)),
            LookupKind::Sign => x.signum() as f64,
        };
        let scaled = (y * pow2(self.out_scale)).round();
        if scaled.is_nan() {
            0
        } else {
            (scaled.clamp(-(LOOKUP_OUTPUT_BOUND as f64), LOOKUP_OUTPUT_BOUND as f64)) as i64
        }
    }

    /// The whole table: row `i` maps `ACT_MIN + i` to its value.
    pub fn table(&self) -> Vec<i64> {
        (ACT_MIN..=ACT_MAX).map(|x| self.eval(x)).collect()
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + libm::exp(-x))
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
    fn new_functions_hit_known_points() {
        let f = |kind| LookupFn {
            kind,
            in_scale: 8,
            out_scale: 8,
        };
        assert_eq!(f(LookupKind::Exp).eval(0), 256);
        assert_eq!(
            f(LookupKind::Exp).eval(256),
            (std::f64::consts::E * 256.0).round() as i64
        );
        assert_eq!(f(LookupKind::Log).eval(256), 0);
        assert_eq!(
            f(LookupKind::Log).eval(0),
            f(LookupKind::Log).eval(1),
            "log(0) reads as log(1 unit)"
        );
        assert_eq!(f(LookupKind::Sqrt).eval(1024), 512);
        assert_eq!(f(LookupKind::Sqrt).eval(-5), 0);
        assert_eq!(f(LookupKind::Reciprocal).eval(512), 128);
        assert_eq!(f(LookupKind::Rsqrt).eval(1024), 128);
        assert_eq!(f(LookupKind::Abs).eval(-77), 77);
        assert_eq!(f(LookupKind::Step).eval(3), 256);
        assert_eq!(f(LookupKind::Step).eval(0), 0);
        assert_eq!(f(LookupKind::NonNegative).eval(0), 256);
        assert_eq!(f(LookupKind::IsZero).eval(0), 256);
        assert_eq!(f(LookupKind::Sign).eval(-9), -256);
        assert_eq!(f(LookupKind::Clip { lo: -100, hi: 100 }).eval(500), 100);
        assert_eq!(
            f(LookupKind::LeakyRelu { alpha_milli: 100 }).eval(-1000),
            -100
        );
        assert_eq!(f(LookupKind::Pow { num: 3, den: 2 }).eval(1024), 2048);
        assert_eq!(f(LookupKind::Gelu).eval(0), 0);
        assert_eq!(f(LookupKind::Erf).eval(ACT_MAX), 256);
        let g = LookupFn {
            kind: LookupKind::Step,
            in_scale: 8,
            out_scale: 0,
        };
        assert_eq!(g.eval(1), 1);
    }

    #[test]
    fn outputs_are_clamped() {
        let f = LookupFn {
            kind: LookupKind::Exp,
            in_scale: 4,
            out_scale: 16,
        };
        assert_eq!(f.eval(ACT_MAX), LOOKUP_OUTPUT_BOUND);
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
